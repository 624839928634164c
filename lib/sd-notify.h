/* SPDX-License-Identifier: GPL-2.0-only */
/* systemd integration without libsystemd: the notify datagram and socket
 * activation are both tiny, documented protocols (sd_notify(3),
 * sd_listen_fds(3)). */
#ifndef HV_SD_NOTIFY_H
#define HV_SD_NOTIFY_H

/* Sends `state` (e.g. "READY=1\nSTATUS=...") to $NOTIFY_SOCKET. Returns 1
 * if sent, 0 if not running under a notify-aware manager, -errno. */
int sd_notify_send(const char *state);
int sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Number of sockets passed by socket activation (fds 3..3+n-1), or 0.
 * Checks LISTEN_PID, sets FD_CLOEXEC on them and unsets the variables so
 * children do not inherit them. */
int sd_listen_fds(void);
#define SD_LISTEN_FDS_START 3

#endif
