// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvisor.ko: /dev/hvisor for the root zone of the hvisor hypervisor.
 *
 * The lifecycle ioctls keep upstream's numbers and argument conventions
 * bit for bit (proto/uapi/hvisor.h), but every argument is checked before
 * it reaches hvisor, which trusts its caller. Virtio traffic goes through
 * per-zone channels (channel.c), or through legacy mode (legacy.c) for
 * upstream's daemon.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/compat.h>
#include <linux/device.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"

struct hvisor hvisor = {
	.lock = __MUTEX_INITIALIZER(hvisor.lock),
	.zones_lock = __SPIN_LOCK_UNLOCKED(hvisor.zones_lock),
	.drain_lock = __MUTEX_INITIALIZER(hvisor.drain_lock),
	.res_lock = __MUTEX_INITIALIZER(hvisor.res_lock),
	.req_lock = __SPIN_LOCK_UNLOCKED(hvisor.req_lock),
	.irq = -ENODEV,
};

/* The UAPI is fixed-width: the same layout for 32- and 64-bit callers. */
static_assert(sizeof(struct hvisor_zone_list_args) == 16);
static_assert(sizeof(struct hvisor_load_image_args) == 24);
static_assert(sizeof(struct hvisor_boot_mode_args) == 16);
static_assert(sizeof(struct hvisor_irq_line_args) == 8);
static_assert(sizeof(struct hvisor_zone_attach) == 24);
static_assert(sizeof(struct hvisor_ioreq) == 40);
static_assert(sizeof(struct hvisor_iocomp) == 24);

/* A kernel buffer for a hypercall: hvisor reads it by physical address. */
static u64 pa_of(void *p)
{
	return virt_to_phys(p);
}

static long config_check(u64 *ret_magic)
{
	u64 *magic = kzalloc(sizeof(*magic), GFP_KERNEL);
	long r;

	if (!magic)
		return -ENOMEM;
	r = hvisor_hypercall(HVISOR_HC_CONFIG_CHECK, pa_of(magic), 0);
	if (!r)
		*ret_magic = READ_ONCE(*magic);
	kfree(magic);
	return r;
}

static long ioctl_config_check(u64 __user *argp)
{
	u64 magic;
	long r = config_check(&magic);

	if (r)
		return r;
	return put_user(magic, argp) ? -EFAULT : 0;
}

/* Copies exactly the zone_config size hvisor expects for its magic. */
static long ioctl_zone_start(const void __user *argp)
{
	struct hv_cfg_head *cfg;
	size_t size;
	u64 magic;
	long r;

	r = config_check(&magic);
	if (r)
		return r;
	size = hvisor_arch_config_size(magic);
	if (!size) {
		pr_err("ZONE_START: hvisor speaks config magic %#llx, unknown here\n",
		       magic);
		return -EINVAL;
	}
	cfg = memdup_user(argp, size);
	if (IS_ERR(cfg))
		return PTR_ERR(cfg);
	mutex_lock(&hvisor.lock);
	r = hvisor_zone_check(cfg);
	if (!r)
		r = hvisor_hypercall(HVISOR_HC_START_ZONE, pa_of(cfg), size);
	if (!r && hvisor_zone_add(cfg))
		pr_warn("zone %u runs, but its channel cannot map its RAM\n",
			cfg->zone_id);
	mutex_unlock(&hvisor.lock);
	kfree(cfg);
	return r;
}

static long ioctl_zone_shutdown(unsigned long zone_id)
{
	long r;

	if (zone_id > U32_MAX)
		return -EINVAL;
	mutex_lock(&hvisor.lock);
	r = hvisor_hypercall(HVISOR_HC_SHUTDOWN_ZONE, zone_id, 0);
	if (!r) {
		hvisor_zone_remove(zone_id);
		hvisor_channel_end(zone_id);
	}
	mutex_unlock(&hvisor.lock);
	return r;
}

static long ioctl_zone_list(struct hvisor_zone_list_args __user *argp)
{
	struct hvisor_zone_list_args a;
	struct hvisor_zone_info *zi;
	long n;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (!a.cnt)
		return -EINVAL;
	/* more than any hvisor has; the caller's buffer is at least this */
	a.cnt = min_t(u64, a.cnt, HVISOR_MAX_ZONES);
	zi = kcalloc(a.cnt, sizeof(*zi), GFP_KERNEL);
	if (!zi)
		return -ENOMEM;
	mutex_lock(&hvisor.lock);
	n = hvisor_hypercall(HVISOR_HC_ZONE_LIST, pa_of(zi), a.cnt);
	if (n > (long)a.cnt)
		n = -EIO;
	/* a complete list tells which zones stopped behind our back */
	if (n >= 0 && n < (long)a.cnt)
		hvisor_zones_reconcile(zi, n);
	mutex_unlock(&hvisor.lock);
	if (n > 0 && copy_to_user(u64_to_user_ptr(a.zones), zi,
				  n * sizeof(*zi)))
		n = -EFAULT;
	kfree(zi);
	return n;
}

static long ioctl_set_boot_mode(const void __user *argp)
{
	struct hvisor_boot_mode_args *a = memdup_user(argp, sizeof(*a));
	long r;

	if (IS_ERR(a))
		return PTR_ERR(a);
	r = hvisor_hypercall(HVISOR_HC_SET_BOOT_MODE, pa_of(a), sizeof(*a));
	kfree(a);
	return r;
}

static long ioctl_get_ecam_base(u64 __user *argp)
{
	u64 *base = kzalloc(sizeof(*base), GFP_KERNEL);
	long r;

	if (!base)
		return -ENOMEM;
	r = hvisor_hypercall(HVISOR_HC_GET_ECAM_BASE, pa_of(base), 0);
	if (!r && put_user(READ_ONCE(*base), argp))
		r = -EFAULT;
	kfree(base);
	return r;
}

static long ioctl_deassert_irq(const void __user *argp)
{
	struct hvisor_irq_line_args a;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	return hvisor_hypercall(HVISOR_HC_CLEAR_INJECT_IRQ, a.zone_id,
				a.irq_id);
}

static long ioctl_load_image(const void __user *argp)
{
	struct hvisor_load_image_args a;
	long r;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	/* against a zone start taking that memory meanwhile */
	mutex_lock(&hvisor.lock);
	r = hvisor_load_image(&a);
	mutex_unlock(&hvisor.lock);
	return r;
}

static long ioctl_attach(const void __user *argp)
{
	struct hvisor_zone_attach a;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	return hvisor_channel_attach(&a);
}

static long hvisor_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case HVISOR_ZONE_START:
		return ioctl_zone_start(argp);
	case HVISOR_ZONE_SHUTDOWN:
		return ioctl_zone_shutdown(arg); /* by value */
	case HVISOR_ZONE_LIST:
		return ioctl_zone_list(argp);
	case HVISOR_CONFIG_CHECK:
		return ioctl_config_check(argp);
	case HVISOR_LOAD_IMAGE:
		return ioctl_load_image(argp);
	case HVISOR_SET_BOOT_MODE:
		return ioctl_set_boot_mode(argp);
	case HVISOR_GET_ECAM_BASE:
		return ioctl_get_ecam_base(argp);
	case HVISOR_DEASSERT_IRQ:
		return ioctl_deassert_irq(argp);
	case HVISOR_ZONE_ATTACH:
		return ioctl_attach(argp);
	case HVISOR_INIT_VIRTIO:
	case HVISOR_SET_EVENTFD:
	case HVISOR_FINISH_REQ:
		return hvisor_legacy_ioctl(f, cmd, arg);
	default:
		return -ENOTTY;
	}
}

#ifdef CONFIG_COMPAT
/* Every struct is fixed-width; only pointers need converting. */
static long hvisor_compat_ioctl(struct file *f, unsigned int cmd,
				unsigned long arg)
{
	if (cmd == HVISOR_ZONE_SHUTDOWN || cmd == HVISOR_SET_EVENTFD)
		return hvisor_ioctl(f, cmd, arg); /* by value */
	return hvisor_ioctl(f, cmd, (unsigned long)compat_ptr(arg));
}
#endif

static int hvisor_release(struct inode *inode, struct file *f)
{
	hvisor_legacy_release(f);
	return 0;
}

static const struct file_operations hvisor_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = hvisor_ioctl,
#ifdef CONFIG_COMPAT
	.compat_ioctl = hvisor_compat_ioctl,
#endif
	.mmap = hvisor_legacy_mmap,
	.release = hvisor_release,
	.llseek = noop_llseek,
};

static ssize_t virtio_irq_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	if (hvisor.irq < 0)
		return sysfs_emit(buf, "none\n");
	return sysfs_emit(buf, "%d\n", hvisor.irq);
}
static DEVICE_ATTR_RO(virtio_irq);

static struct attribute *hvisor_attrs[] = {
	&dev_attr_virtio_irq.attr,
	NULL,
};

static const struct attribute_group hvisor_group = {
	.attrs = hvisor_attrs,
};

static ssize_t stat_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	struct dev_ext_attribute *ea =
		container_of(attr, struct dev_ext_attribute, attr);

	return sysfs_emit(buf, "%ld\n", atomic_long_read(ea->var));
}

#define HVISOR_STAT(s)							\
	static struct dev_ext_attribute stat_ ## s = {			\
		.attr = { .attr = { .name = #s, .mode = 0444 },		\
			  .show = stat_show },				\
		.var = &hvisor.stats[HV_STAT_ ## s],			\
	}

HVISOR_STAT(requests);
HVISOR_STAT(notifies);
HVISOR_STAT(coalesced);
HVISOR_STAT(queue_full);
HVISOR_STAT(orphan_answers);
HVISOR_STAT(bad_requests);
HVISOR_STAT(bad_completions);
HVISOR_STAT(irqs);
HVISOR_STAT(res_full);
HVISOR_STAT(res_drops);
HVISOR_STAT(wakeups);
HVISOR_STAT(rechecks);
HVISOR_STAT(recheck_found);

static struct attribute *hvisor_stats_attrs[] = {
	&stat_requests.attr.attr,
	&stat_notifies.attr.attr,
	&stat_coalesced.attr.attr,
	&stat_queue_full.attr.attr,
	&stat_orphan_answers.attr.attr,
	&stat_bad_requests.attr.attr,
	&stat_bad_completions.attr.attr,
	&stat_irqs.attr.attr,
	&stat_res_full.attr.attr,
	&stat_res_drops.attr.attr,
	&stat_wakeups.attr.attr,
	&stat_rechecks.attr.attr,
	&stat_recheck_found.attr.attr,
	NULL,
};

static const struct attribute_group hvisor_stats_group = {
	.name = "stats",
	.attrs = hvisor_stats_attrs,
};

static const struct attribute_group *hvisor_groups[] = {
	&hvisor_group,
	&hvisor_stats_group,
	NULL,
};

static struct miscdevice hvisor_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hvisor",
	.fops = &hvisor_fops,
	.mode = 0600,
	.groups = hvisor_groups,
};

static int __init hvisor_init(void)
{
	int r;

	hvisor_bridge_init(); /* without it only virtio is missing */
	r = misc_register(&hvisor_misc);
	if (r) {
		hvisor_bridge_exit();
		return r;
	}
	pr_info("/dev/hvisor ready; virtio %s\n",
		hvisor.irq < 0 ? "unavailable" : "available");
	return 0;
}

static void __exit hvisor_exit(void)
{
	misc_deregister(&hvisor_misc);
	hvisor_bridge_exit();
	hvisor_zones_free();
}

module_init(hvisor_init);
module_exit(hvisor_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Root-zone driver of the hvisor hypervisor");
