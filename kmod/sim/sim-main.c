// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvisor_sim.ko: a stand-in for the hvisor hypervisor inside a test VM,
 * for tests only. hvisor.ko's test build calls hvisor_sim_hypercall()
 * instead of trapping to a hypervisor; the sim answers with hvisor's rules
 * and plays the zones' guests through a loopback virtio transport.
 *
 * Module parameters, the counters in /sys/class/misc/hvisor_sim/stats/
 * and the test device /dev/hvisor_sim (hvisor-sim-uapi.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>

#include "hvisor-sim-uapi.h"
#include "sim.h"

unsigned int sim_magic = HV_CONFIG_MAGIC_0x06;
unsigned int sim_ncpus = 4;
unsigned long long sim_root_cpus = 0x3;
unsigned int sim_timeout_ms = 10000;
unsigned int sim_lose_wakeup;
bool sim_virtio_irq = true;
char *sim_devices;

struct sim_stats sim_stats;
struct workqueue_struct *sim_irq_wq;
struct workqueue_struct *sim_life_wq;

static int sim_param_set_magic(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) ||
	    (v != HV_CONFIG_MAGIC_0x05 && v != HV_CONFIG_MAGIC_0x06))
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static const struct kernel_param_ops sim_magic_ops = {
	.set = sim_param_set_magic,
	.get = param_get_uint,
};

static int sim_param_set_timeout(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) || !v || v > 3600000)
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static const struct kernel_param_ops sim_timeout_ops = {
	.set = sim_param_set_timeout,
	.get = param_get_uint,
};

module_param_cb(magic, &sim_magic_ops, &sim_magic, 0644);
MODULE_PARM_DESC(magic, "CONFIG_CHECK answer: 5 (hvisor v0.4) or 6 (default); the zone_config size follows arch x magic");
module_param_named(ncpus, sim_ncpus, uint, 0444);
MODULE_PARM_DESC(ncpus, "physical CPUs of the simulated machine, 1..64 (default 4)");
module_param_named(root_cpus, sim_root_cpus, ullong, 0444);
MODULE_PARM_DESC(root_cpus, "CPU mask of zone 0, root-linux (default 0x3)");
module_param_cb(timeout_ms, &sim_timeout_ops, &sim_timeout_ms, 0644);
MODULE_PARM_DESC(timeout_ms, "a stalled access not completed within this is a FAILURE (default 10000)");
module_param_named(devices, sim_devices, charp, 0644);
MODULE_PARM_DESC(devices, "the guests' virtio-mmio devices, <zone>:<size>@<base>:<irq>[,...]; read when a zone starts");
module_param_named(virtio_irq, sim_virtio_irq, bool, 0444);
MODULE_PARM_DESC(virtio_irq, "0: no wake-up IRQ (hypercall 86 answers 0 on x86); default 1");
module_param_named(lose_wakeup, sim_lose_wakeup, uint, 0644);
MODULE_PARM_DESC(lose_wakeup, "N > 0: skip every Nth wake-up raised within 5 ms of the previous one (hvisor's race; fault injection)");

/* One read-only decimal file per counter, in this order. */
static atomic_long_t *const sim_stat_vals[] = {
	&sim_stats.posted, &sim_stats.notifies, &sim_stats.wakeups,
	&sim_stats.wakeups_lost, &sim_stats.ring_full, &sim_stats.timeouts,
	&sim_stats.irqs, &sim_stats.finish_req,
};

static ssize_t sim_stat_show(struct device *dev, struct device_attribute *attr,
			     char *buf);

static struct device_attribute sim_stat_attrs[] = {
	__ATTR(posted, 0444, sim_stat_show, NULL),
	__ATTR(notifies, 0444, sim_stat_show, NULL),
	__ATTR(wakeups, 0444, sim_stat_show, NULL),
	__ATTR(wakeups_lost, 0444, sim_stat_show, NULL),
	__ATTR(ring_full, 0444, sim_stat_show, NULL),
	__ATTR(timeouts, 0444, sim_stat_show, NULL),
	__ATTR(irqs, 0444, sim_stat_show, NULL),
	__ATTR(finish_req, 0444, sim_stat_show, NULL),
};

static ssize_t sim_stat_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	size_t i = attr - sim_stat_attrs;

	if (i >= ARRAY_SIZE(sim_stat_vals))
		return -EINVAL;
	return sysfs_emit(buf, "%ld\n", atomic_long_read(sim_stat_vals[i]));
}

static struct attribute *sim_stats_attrs[] = {
	&sim_stat_attrs[0].attr, &sim_stat_attrs[1].attr,
	&sim_stat_attrs[2].attr, &sim_stat_attrs[3].attr,
	&sim_stat_attrs[4].attr, &sim_stat_attrs[5].attr,
	&sim_stat_attrs[6].attr, &sim_stat_attrs[7].attr,
	NULL,
};

static const struct attribute_group sim_stats_group = {
	.name = "stats",
	.attrs = sim_stats_attrs,
};

static const struct attribute_group *sim_groups[] = {
	&sim_stats_group,
	NULL,
};

static long sim_ioctl_access(struct hvsim_access __user *uarg)
{
	struct hvsim_access a;
	struct sim_zone *z;
	struct sim_io io;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (memchr_inv(a.__pad, 0, sizeof(a.__pad)) || a.is_write > 1 ||
	    a.zone_id == 0 || a.cpu >= HVISOR_BRIDGE_MAX_CPUS)
		return -EINVAL;
	io = (struct sim_io){
		.addr = a.address, .value = a.value, .size = a.size,
		.is_write = a.is_write,
	};
	z = sim_zone_get(a.zone_id);
	if (!z)
		return -ENOENT;
	ret = sim_access(z, a.cpu, &io);
	sim_zone_put(z);
	if (ret)
		return ret;
	a.value = io.value;
	if (copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;
	return 0;
}

static long sim_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (cmd != HVSIM_IOC_ACCESS)
		return -ENOTTY;
	return sim_ioctl_access((struct hvsim_access __user *)arg);
}

/*
 * read/write at a physical address (the file offset): the hypervisor's view
 * of memory root Linux does not use, such as zone RAM, so that tests can
 * check what LOAD_IMAGE wrote there. Never System RAM; at most one
 * SIM_PHYS_WINDOW-aligned window per call, mapped as hvisor.ko maps it.
 */
#define SIM_PHYS_WINDOW SZ_1M

static ssize_t sim_phys_rw(loff_t *ppos, void __user *ubuf, size_t len, bool write)
{
	u64 pa = *ppos, base, end;
	size_t off, maplen;
	ssize_t ret;
	void *va;

	if (*ppos < 0)
		return -EINVAL;
	len = min_t(size_t, len, SIM_PHYS_WINDOW - (pa & (SIM_PHYS_WINDOW - 1)));
	if (!len)
		return 0;
	if (check_add_overflow(pa, (u64)len, &end))
		return -EINVAL;
	base = round_down(pa, PAGE_SIZE);
	off = pa - base;
	maplen = PAGE_ALIGN(off + len);
	if (region_intersects(base, maplen, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT)
		return -EPERM;
	va = memremap(base, maplen, MEMREMAP_WB);
	if (!va)
		return -ENOMEM;
	if (write)
		ret = copy_from_user(va + off, ubuf, len) ? -EFAULT : (ssize_t)len;
	else
		ret = copy_to_user(ubuf, va + off, len) ? -EFAULT : (ssize_t)len;
	memunmap(va);
	if (ret > 0)
		*ppos += ret;
	return ret;
}

static ssize_t sim_read(struct file *file, char __user *buf, size_t len,
			loff_t *ppos)
{
	return sim_phys_rw(ppos, buf, len, false);
}

static ssize_t sim_write(struct file *file, const char __user *buf,
			 size_t len, loff_t *ppos)
{
	return sim_phys_rw(ppos, (void __user *)buf, len, true);
}

static const struct file_operations sim_fops = {
	.owner = THIS_MODULE,
	.read = sim_read,
	.write = sim_write,
	.unlocked_ioctl = sim_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_seek_end_llseek,
};

static struct miscdevice sim_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hvisor_sim",
	.fops = &sim_fops,
	.mode = 0600,
	.groups = sim_groups,
};

static int __init sim_check_params(void)
{
	if (sim_ncpus < 1 || sim_ncpus > HV_CONFIG_MAX_CPUS) {
		pr_err("ncpus=%u: must be 1..%u\n", sim_ncpus, HV_CONFIG_MAX_CPUS);
		return -EINVAL;
	}
	if (!sim_root_cpus ||
	    (sim_ncpus < 64 && (sim_root_cpus >> sim_ncpus))) {
		pr_err("root_cpus=0x%llx: must be a non-empty subset of the %u CPUs\n",
		       sim_root_cpus, sim_ncpus);
		return -EINVAL;
	}
	return 0;
}

static int __init sim_init(void)
{
	int ret = sim_check_params();

	if (ret)
		return ret;
	/* unbound: a CPU spinning for its device must not hold our works */
	sim_irq_wq = alloc_workqueue("hvisor_sim_irq",
				     WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	sim_life_wq = alloc_ordered_workqueue("hvisor_sim_life", WQ_MEM_RECLAIM);
	if (!sim_irq_wq || !sim_life_wq) {
		ret = -ENOMEM;
		goto err_wq;
	}
	ret = sim_zones_init();
	if (ret)
		goto err_wq;
	ret = sim_irq_init();
	if (ret)
		goto err_zones;
	ret = misc_register(&sim_misc);
	if (ret)
		goto err_irq;
	pr_info("hvisor stand-in for %s: magic 0x%02x, %u CPUs, root CPUs 0x%llx, timeout %u ms\n",
		sim_arch_name(), sim_magic, sim_ncpus, sim_root_cpus,
		sim_timeout_ms);
	return 0;

err_irq:
	sim_irq_exit();
err_zones:
	sim_zones_exit();
err_wq:
	if (sim_life_wq)
		destroy_workqueue(sim_life_wq);
	if (sim_irq_wq)
		destroy_workqueue(sim_irq_wq);
	return ret;
}

static void __exit sim_exit(void)
{
	misc_deregister(&sim_misc);
	sim_zones_exit();
	flush_workqueue(sim_irq_wq);
	sim_bridge_exit();
	sim_irq_exit();
	destroy_workqueue(sim_life_wq);
	destroy_workqueue(sim_irq_wq);
	pr_info("unloaded\n");
}

module_init(sim_init);
module_exit(sim_exit);

MODULE_DESCRIPTION("hvisor hypervisor stand-in for VM tests of hvisor.ko");
MODULE_LICENSE("GPL");
