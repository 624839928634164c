// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include <json-c/json.h>

#include "fuzz-common.h"

uint64_t fuzz_get(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

uint64_t fuzz_guest_addr(struct fuzz_in *in)
{
	if (fuzz_get(in, 1) & 0x80)
		return fuzz_get(in, 8);
	return FUZZ_RING_BASE + fuzz_get(in, 2);
}

void fuzz_mem_write(struct vtest *t, uint64_t gpa, const void *src, size_t len)
{
	uint64_t off = gpa - FUZZ_RING_BASE; /* below the window: wraps, dropped */

	if (off >= FUZZ_WINDOW)
		return;
	len = len < FUZZ_WINDOW - off ? len : FUZZ_WINDOW - off;
	memcpy((uint8_t *)vtest_host(t, FUZZ_RING_BASE) + off, src, len);
}

void fuzz_mem_op(struct vtest *t, struct fuzz_in *in)
{
	uint64_t off = fuzz_get(in, 2);
	size_t len = fuzz_get(in, 1);

	len = len < in->n ? len : in->n;
	fuzz_mem_write(t, FUZZ_RING_BASE + off, in->p, len);
	in->p += len;
	in->n -= len;
}

void fuzz_quick_setup(struct vtest *t, uint64_t features, uint32_t num, unsigned nq)
{
	vtest_negotiate(t, 0, features);
	for (unsigned q = 0; q < nq; q++)
		vtest_queue_setup(t, 0, q, num, FUZZ_DESC(q), FUZZ_AVAIL(q), FUZZ_USED(q));
	/* FEATURES_OK again with DRIVER_OK, even if the features were refused */
	vtest_write(t, 0, VIRTIO_MMIO_STATUS, 4,
		    VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			    VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

void fuzz_describe(struct virtio_dev *d)
{
	struct json_object *o = json_object_new_object();

	d->ops->describe(d, o);
	json_object_to_json_string(o);
	json_object_put(o);
}

bool fuzz_guest_op(struct vtest *t, struct virtio_dev *d, struct fuzz_in *in, unsigned code)
{
	switch (code) {
	case 0: { /* register write */
		uint64_t off = fuzz_get(in, 2) % VTEST_DEV_LEN;
		unsigned size = 1u << (fuzz_get(in, 1) % 4);

		vtest_write(t, 0, off, size, fuzz_get(in, 4));
		break;
	}
	case 1: /* register read */
		vtest_read(t, 0, fuzz_get(in, 2) % VTEST_DEV_LEN, 1u << (fuzz_get(in, 1) % 4));
		break;
	case 2:
		fuzz_mem_op(t, in);
		break;
	case 3: { /* a descriptor of queue q */
		unsigned q = fuzz_get(in, 1) & 1, i = fuzz_get(in, 1);
		struct vring_desc dsc;

		dsc.addr = fuzz_guest_addr(in);
		dsc.len = (uint32_t)fuzz_get(in, 1) << (fuzz_get(in, 1) % 17);
		dsc.flags = (uint16_t)fuzz_get(in, 1);
		dsc.next = (uint16_t)fuzz_get(in, 1);
		fuzz_mem_write(t, FUZZ_DESC(q) + (i % 256) * 16, &dsc, sizeof(dsc));
		break;
	}
	case 4: { /* publish a head on queue q's avail ring */
		unsigned q = fuzz_get(in, 1) & 1;
		struct vring_avail *a = vtest_host(t, FUZZ_AVAIL(q));
		uint16_t idx = a->idx, mask = (uint16_t)(fuzz_get(in, 1) | 1);

		a->ring[idx & 255 & mask] = (uint16_t)fuzz_get(in, 2);
		a->idx = (uint16_t)(idx + 1 + (fuzz_get(in, 1) == 0xff ? fuzz_get(in, 2) : 0));
		break;
	}
	case 5: /* notify, sometimes of a queue the device does not have */
		vtest_write(t, 0, VIRTIO_MMIO_QUEUE_NOTIFY, 4, fuzz_get(in, 1) % 3);
		break;
	case 8:
		vtest_poll(t, 0);
		break;
	case 9: {
		uint64_t features = fuzz_get(in, 4) | (1ull << VIRTIO_F_VERSION_1);

		fuzz_quick_setup(t, features, 1u << (fuzz_get(in, 1) % 9), 2);
		break;
	}
	case 10:
		d->ops->drain(d);
		break;
	case 11:
		vtest_write(t, 0, VIRTIO_MMIO_STATUS, 4, 0);
		break;
	default:
		return false;
	}
	return true;
}
