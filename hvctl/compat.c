// SPDX-License-Identifier: GPL-2.0-only
/* The upstream hvisor-tool command line, so existing scripts and hvisor's
 * own system tests keep working:
 *   hvisor zone start <config.json>
 *   hvisor zone shutdown -id <id>     (also --id <id>, or just <id>)
 *   hvisor zone list                  (the byte-compatible table; exit 0)
 *   hvisor virtio start <virtio.json> (devices are handed to hvisord, which
 *                                      serves them; the command returns)
 *   hvisor virtio start --device blk,addr=...,zone_id=1,img=... [--device ...]
 * Unlike upstream, success exits 0, --help works and --socket PATH (first)
 * picks hvisord's socket, as for hvctl. */
#include <string.h>

#include "hvctl.h"

static int compat_usage(struct hvctl *h, FILE *f, int code)
{
	fprintf(f,
		"Usage: hvisor zone start <config.json>\n"
		"       hvisor zone shutdown -id <zone_id>   (also --id <zone_id>, or <zone_id>)\n"
		"       hvisor zone list\n"
		"       hvisor virtio start <virtio.json>\n"
		"       hvisor virtio start --device <spec> [--device <spec>]...\n"
		"\n"
		"The upstream hvisor-tool spelling of hvctl (see hvctl --help for more).\n"
		"\n"
		"Options (before the command):\n"
		"  --socket PATH   hvisord's socket (default: $HVISOR_SOCKET, else %s)\n",
		HVCTL_DEFAULT_SOCKET);
	return code;
}

int compat_main(struct hvctl *h, int argc, char **argv)
{
	uint32_t id;

	/* hvctl's --socket, which the unreachable error points to */
	while (argc >= 1 && strncmp(argv[0], "--socket", 8) == 0) {
		if (argv[0][8] == '=') {
			h->socket = argv[0] + 9;
		} else if (argv[0][8] == '\0' && argc >= 2) {
			h->socket = argv[1];
			argc--;
			argv++;
		} else
			return compat_usage(h, stderr, EXIT_USAGE);
		argc--;
		argv++;
	}

	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
			  strcmp(argv[0], "help") == 0))
		return compat_usage(h, stdout, EXIT_OK);
	if (argc >= 2 && strcmp(argv[0], "virtio") == 0 && strcmp(argv[1], "start") == 0)
		return command_run(h, command_find("virtio start"), argc - 2, argv + 2);
	if (argc < 2 || strcmp(argv[0], "zone") != 0)
		return compat_usage(h, stderr, EXIT_USAGE);

	if (strcmp(argv[1], "start") == 0 && argc == 3)
		return zone_start_file(h, argv[2]);
	if (strcmp(argv[1], "shutdown") == 0) {
		const char *arg = NULL;

		if (argc == 4 && (strcmp(argv[2], "-id") == 0 || strcmp(argv[2], "--id") == 0))
			arg = argv[3];
		else if (argc == 3)
			arg = argv[2];
		if (!arg)
			return compat_usage(h, stderr, EXIT_USAGE);
		if (parse_zone_id(h, arg, &id) != EXIT_OK)
			return EXIT_USAGE;
		return zone_shutdown_id(h, id);
	}
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return zone_list_upstream(h);
	return compat_usage(h, stderr, EXIT_USAGE);
}
