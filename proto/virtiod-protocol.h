/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The contract between hvisord and hvisor-virtiod (org.hvisor.Virtiod):
 * varlink messages, one per SOCK_SEQPACKET packet with its descriptors.
 * hvisord starts the backend with one end of a socketpair (--control-fd)
 * and a bound socket, RUNDIR/zone<N>/control.sock (--listen-fd), on which
 * the backend listens so that a restarted hvisord can reach it again.
 * hv_virtiod_idl is the interface description; both sides' messages are
 * checked against it in the tests.
 *
 * Versions: GetInfo reports HV_VIRTIOD_PROTO_VERSION. A backend that does
 * not know GetInfo (MethodNotFound) speaks version 1. hvisord re-adopts
 * backends of a version it speaks and replaces the others (docs/protocol.md
 * "Restarts").
 */
#ifndef HV_PROTO_VIRTIOD_PROTOCOL_H
#define HV_PROTO_VIRTIOD_PROTOCOL_H

#include <stdint.h>

#include <json-c/json.h>

#include "config.h"

#define HV_VIRTIOD_IFACE	  "org.hvisor.Virtiod"
#define HV_VIRTIOD_PROTO_VERSION  2
#define HV_VIRTIOD_CONTROL_SOCKET "control.sock" /* in RUNDIR/zone<N>/ */
/* RAM regions of one zone a backend maps (also upstream's memory_region
 * entries per zone) */
#define HV_VIRTIOD_MAX_RAM 64
/* Size of the state memfd: the devices' transport state, kept across
 * backend restarts */
#define HV_VIRTIOD_STATE_BYTES (64u << 10)

#define HV_VIRTIOD_SETUP	 HV_VIRTIOD_IFACE ".Setup"
#define HV_VIRTIOD_SERVE	 HV_VIRTIOD_IFACE ".Serve"
#define HV_VIRTIOD_ADD_DEVICE	 HV_VIRTIOD_IFACE ".AddDevice"
#define HV_VIRTIOD_REMOVE_DEVICE HV_VIRTIOD_IFACE ".RemoveDevice"
#define HV_VIRTIOD_LIST		 HV_VIRTIOD_IFACE ".List"
#define HV_VIRTIOD_SET_LOG_LEVEL HV_VIRTIOD_IFACE ".SetLogLevel"
#define HV_VIRTIOD_GET_INFO	 HV_VIRTIOD_IFACE ".GetInfo"

/* One RAM region: guest physical address, size, offset in the memory fd. */
struct hv_virtiod_ram {
	uint64_t gpa, size, offset;
};

extern const char hv_virtiod_idl[];

/* A call to hvisor-virtiod against the IDL (a method it has, parameters of
 * their declared types): 0, or -ENOENT / -EINVAL and why in err. */
int hv_virtiod_check_call(const char *method, json_object *params, char *err, size_t size);
/* A message hvisor-virtiod sent, as the answer to method (its errors are
 * org.hvisor's and org.varlink.service's): 0, or < 0 and why in err. */
int hv_virtiod_check_reply(const char *method, json_object *msg, char *err, size_t size);

json_object *hv_virtiod_ram_to_json(const struct hv_virtiod_ram *r, unsigned n);
/* [{gpa, size, offset}] with 1..HV_VIRTIOD_MAX_RAM non-empty regions whose
 * ends do not overflow; err names the entry (path "ram[i]"). */
int hv_virtiod_ram_from_json(json_object *a, struct hv_virtiod_ram *r, unsigned *ret_n,
			     struct hv_error *err);

#endif
