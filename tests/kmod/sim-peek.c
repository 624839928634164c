// SPDX-License-Identifier: GPL-2.0-only
/* sim-peek SOCKET PADDR LEN: writes LEN bytes of hvisor-sim's physical
 * memory at PADDR to stdout (tests compare them with the loaded files). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim.h"
#include "util.h"

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct hvsim_msg m = {.op = HVSIM_OP_PHYS_MEMFD};
	uint64_t paddr, len;
	int fd, mem = -1;
	size_t n = 0;
	char buf[65536];

	if (argc != 4 || parse_u64(argv[2], UINT64_MAX, &paddr) < 0 ||
	    parse_u64(argv[3], UINT64_MAX, &len) < 0 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: sim-peek SOCKET PADDR LEN\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, &m, sizeof(m), 0) < 0 ||
	    recv_with_fds(fd, &m, sizeof(m), &mem, 1, &n, 0) < (ssize_t)sizeof(m) || n != 1) {
		fprintf(stderr, "sim-peek: cannot get the memory of %s\n", argv[1]);
		return 1;
	}
	while (len > 0) {
		ssize_t k = pread(mem, buf, MIN(len, sizeof(buf)), (off_t)paddr);

		if (k <= 0 || write_full(1, buf, (size_t)k) < 0)
			return 1;
		paddr += (uint64_t)k;
		len -= (uint64_t)k;
	}
	return 0;
}
