// SPDX-License-Identifier: GPL-2.0-only
/* hvctl: talk to hvisord. Invoked as "hvisor" it speaks the upstream
 * hvisor-tool command line instead (compat.c). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "hvctl.h"

static const struct command *const command_tables[] = {zone_commands, virtio_commands,
						       console_commands, daemon_commands};

void command_help(const struct hvctl *h, const struct command *cmd, FILE *f)
{
	fprintf(f, "Usage: %s [--socket PATH] %s%s%s [--json]\n\n%c%s.\n", h->prog, cmd->name,
		cmd->args[0] ? " " : "", cmd->args, cmd->summary[0] - 32, cmd->summary + 1);
	if (cmd->options)
		fprintf(f, "\n%s", cmd->options);
	fprintf(f, "\n  --json    print the reply as JSON (for scripts)\n"
		   "  --help    this text\n");
}

int command_args(struct hvctl *h, const struct command *cmd, int argc, char **argv, char **pos,
		 int min, int max)
{
	int n = 0;
	bool opts = true;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (opts && strcmp(a, "--") == 0) {
			opts = false;
		} else if (opts && strcmp(a, "--json") == 0) {
			h->json = true;
		} else if (opts && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			command_help(h, cmd, stdout);
			return -1;
		} else if (opts && a[0] == '-' && a[1]) {
			fprintf(stderr, "%s: %s: unknown option '%s'\n", h->prog, cmd->name, a);
			command_help(h, cmd, stderr);
			return -2;
		} else {
			if (n == max) {
				fprintf(stderr, "%s: %s: unexpected argument '%s'\n", h->prog,
					cmd->name, a);
				command_help(h, cmd, stderr);
				return -2;
			}
			pos[n++] = argv[i];
		}
	}
	if (n < min) {
		fprintf(stderr, "%s: %s: missing %s\n", h->prog, cmd->name, cmd->args);
		command_help(h, cmd, stderr);
		return -2;
	}
	return n;
}

static void usage(const struct hvctl *h, FILE *f)
{
	fprintf(f,
		"Usage: %s [--socket PATH] [--json] COMMAND [ARGS]\n"
		"\n"
		"Manage hvisor zones through hvisord.\n"
		"\n"
		"Commands:\n",
		h->prog);
	for (size_t t = 0; t < sizeof(command_tables) / sizeof(command_tables[0]); t++)
		for (const struct command *c = command_tables[t]; c->name; c++) {
			char left[64];

			snprintf(left, sizeof(left), "%s %s", c->name, c->args);
			fprintf(f, "  %-24s %s\n", left, c->summary);
		}
	fprintf(f,
		"\n"
		"Options:\n"
		"  --socket PATH   hvisord's socket (default: $HVISOR_SOCKET, else %s)\n"
		"  --json          JSON output for scripts\n"
		"  --help          this text; COMMAND --help for one command\n"
		"  --version       hvctl's version\n"
		"\n"
		"Exit status: 0 success, 1 refused or failed, 2 usage error, 3 hvisord unreachable.\n"
		"Invoked as 'hvisor', the upstream hvisor-tool commands are accepted too.\n",
		HVCTL_DEFAULT_SOCKET);
}

static const struct command *find_command(int argc, char **argv, int *ret_used)
{
	for (size_t t = 0; t < sizeof(command_tables) / sizeof(command_tables[0]); t++)
		for (const struct command *c = command_tables[t]; c->name; c++) {
			const char *sp = strchr(c->name, ' ');

			if (!sp) {
				if (strcmp(argv[0], c->name) == 0) {
					*ret_used = 1;
					return c;
				}
			} else if (argc >= 2 &&
				   strncmp(argv[0], c->name, (size_t)(sp - c->name)) == 0 &&
				   argv[0][sp - c->name] == '\0' && strcmp(argv[1], sp + 1) == 0) {
				*ret_used = 2;
				return c;
			}
		}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{},
	};
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	struct hvctl h = {.prog = "hvctl"};
	const struct command *cmd;
	int c, used;

	h.socket = getenv("HVISOR_SOCKET");
	if (!h.socket || !*h.socket)
		h.socket = HVCTL_DEFAULT_SOCKET;
	if (strcmp(base, "hvisor") == 0) {
		h.prog = "hvisor";
		h.compat = true;
		return compat_main(&h, argc - 1, argv + 1);
	}
	/* "+": options before the command are ours, the rest the command's */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			h.socket = optarg;
			break;
		case 'j':
			h.json = true;
			break;
		case 'h':
			usage(&h, stdout);
			return EXIT_OK;
		case 'V':
			printf("hvctl %s\n", HV_VERSION);
			return EXIT_OK;
		default:
			usage(&h, stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(&h, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		if (argc > 1 && (cmd = find_command(argc - 1, argv + 1, &used))) {
			command_help(&h, cmd, stdout);
			return EXIT_OK;
		}
		usage(&h, stdout);
		return EXIT_OK;
	}
	cmd = find_command(argc, argv, &used);
	if (!cmd) {
		fprintf(stderr, "%s: unknown command '%s%s%s'\n\n", h.prog, argv[0],
			argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		usage(&h, stderr);
		return EXIT_USAGE;
	}
	return cmd->fn(&h, argc - used, argv + used);
}
