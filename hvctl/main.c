// SPDX-License-Identifier: GPL-2.0-only
/* hvctl: talk to hvisord. Invoked as "hvisor" it speaks the upstream
 * hvisor-tool command line instead (compat.c). */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hvctl.h"
#include "util.h"

static const struct command *const command_tables[] = {
	zone_commands, virtio_commands, console_commands, daemon_commands, check_commands};

void command_help(const struct hvctl *h, const struct command *cmd, FILE *f)
{
	bool data = cmd->flags & CMD_DATA;

	fprintf(f, "Usage: %s [--socket PATH] %s%s%s%s\n\n%c%s.\n", h->prog, cmd->name,
		cmd->args[0] ? " " : "", cmd->args, data ? " [--json]" : "", cmd->summary[0] - 32,
		cmd->summary + 1);
	if (cmd->options)
		fprintf(f, "\n%s", cmd->options);
	fprintf(f, "\n%s  --help    this text\n",
		data ? "  --json    print the reply as JSON (for scripts)\n" : "");
}

static int usage_error(const struct hvctl *h, const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int usage_error(const struct hvctl *h, const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", h->prog, cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	command_help(h, cmd, stderr);
	return EXIT_USAGE;
}

/* The options every command takes (--help; --json and --device where the
 * command has them) and its positional arguments, into a: EXIT_OK,
 * EXIT_HELP after --help, or EXIT_USAGE after a message and the help. */
static int command_args(struct hvctl *h, const struct command *cmd, struct cmd_args *a)
{
	bool opts = true;

	for (int i = 0; i < a->argc; i++) {
		char *arg = a->argv[i];

		if (opts && strcmp(arg, "--") == 0) {
			opts = false;
		} else if (opts && strcmp(arg, "--json") == 0 && (cmd->flags & CMD_DATA)) {
			h->json = true;
		} else if (opts && strcmp(arg, "--json") == 0) {
			return usage_error(h, cmd, "%s: the command prints no data to give as JSON",
					   arg);
		} else if (opts && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
			command_help(h, cmd, stdout);
			return EXIT_HELP;
		} else if (opts && strcmp(arg, "--device") == 0 && (cmd->flags & CMD_DEVICES)) {
			if (i + 1 == a->argc)
				return usage_error(h, cmd, "%s needs a SPEC", arg);
			if (a->n_devices == VIRTIO_MAX_SPECS)
				return usage_error(h, cmd, "at most %d --device", VIRTIO_MAX_SPECS);
			a->devices[a->n_devices++] = a->argv[++i];
		} else if (opts && arg[0] == '-' && arg[1]) {
			return usage_error(h, cmd, "unknown option '%s'", arg);
		} else if (a->n == cmd->max_args) {
			return usage_error(h, cmd, "unexpected argument '%s'", arg);
		} else {
			a->pos[a->n++] = arg;
		}
	}
	if (a->n < cmd->min_args)
		return usage_error(h, cmd, "missing %s", cmd->args);
	return EXIT_OK;
}

int command_run(struct hvctl *h, const struct command *cmd, int argc, char **argv)
{
	struct cmd_args a = {.argc = argc, .argv = argv};
	int r = cmd->flags & CMD_OWN_ARGS ? EXIT_OK : command_args(h, cmd, &a);

	if (r == EXIT_OK)
		r = cmd->fn(h, cmd, &a);
	return r == EXIT_HELP ? EXIT_OK : r;
}

static bool same_group(const char *a, const char *b)
{
	size_t la = strcspn(a, " "), lb = strcspn(b, " ");

	return la == lb && strncmp(a, b, la) == 0;
}

/* Does a command of first's group come before it (in table order)? */
static bool group_listed_before(size_t t, const struct command *first)
{
	for (size_t u = 0; u <= t; u++)
		for (const struct command *c = command_tables[u]; c->name && c != first; c++)
			if (same_group(c->name, first->name))
				return true;
	return false;
}

/* Grouped by first word ("zone ..." together, whichever table they are
 * in), the groups in the order they first appear. */
static void list_commands(FILE *f, const char *group)
{
	const size_t n_tables = ARRAY_SIZE(command_tables);

	for (size_t t = 0; t < n_tables; t++)
		for (const struct command *first = command_tables[t]; first->name; first++) {
			if (group_listed_before(t, first) ||
			    (group && !same_group(group, first->name)))
				continue;
			for (size_t u = t; u < n_tables; u++)
				for (const struct command *c = command_tables[u]; c->name; c++) {
					char left[64];

					if (!same_group(c->name, first->name))
						continue;
					snprintf(left, sizeof(left), "%s %s", c->name, c->args);
					fprintf(f, "  %-24s %s\n", left, c->summary);
				}
		}
}

/* Is `word` the first word of commands ("zone", "virtio")? */
static bool is_group(const char *word)
{
	size_t len = strlen(word);

	for (size_t t = 0; t < ARRAY_SIZE(command_tables); t++)
		for (const struct command *c = command_tables[t]; c->name; c++)
			if (strncmp(c->name, word, len) == 0 && c->name[len] == ' ')
				return true;
	return false;
}

static void group_help(const struct hvctl *h, const char *group, FILE *f)
{
	fprintf(f, "Usage: %s [--socket PATH] [--json] %s COMMAND [ARGS]\n\nCommands:\n", h->prog,
		group);
	list_commands(f, group);
	fprintf(f, "\n%s %s COMMAND --help describes one command.\n", h->prog, group);
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
	list_commands(f, NULL);
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
	for (size_t t = 0; t < ARRAY_SIZE(command_tables); t++)
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

const struct command *command_find(const char *name)
{
	for (size_t t = 0; t < ARRAY_SIZE(command_tables); t++)
		for (const struct command *c = command_tables[t]; c->name; c++)
			if (strcmp(c->name, name) == 0)
				return c;
	return NULL;
}

/* hvctl help [COMMAND | GROUP] */
static int help_main(const struct hvctl *h, int argc, char **argv)
{
	const struct command *cmd;
	int used;

	if (argc > 0 && (cmd = find_command(argc, argv, &used))) {
		command_help(h, cmd, stdout);
		return EXIT_OK;
	}
	if (argc == 1 && is_group(argv[0])) {
		group_help(h, argv[0], stdout);
		return EXIT_OK;
	}
	if (argc > 0) {
		fprintf(stderr, "%s: help: unknown command '%s%s%s'\n\n", h->prog, argv[0],
			argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		usage(h, stderr);
		return EXIT_USAGE;
	}
	usage(h, stdout);
	return EXIT_OK;
}

/* "hvctl zone --help", or "hvctl zone" / "hvctl zone frobnicate" */
static int group_main(const struct hvctl *h, int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		group_help(h, argv[0], stdout);
		return EXIT_OK;
	}
	if (argc == 1)
		fprintf(stderr, "%s: %s: missing COMMAND\n\n", h->prog, argv[0]);
	else
		fprintf(stderr, "%s: unknown command '%s %s'\n\n", h->prog, argv[0], argv[1]);
	group_help(h, argv[0], stderr);
	return EXIT_USAGE;
}

/* The options before the command: -1 to go on, else the exit status. */
static int parse_argv(struct hvctl *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{},
	};
	int c;

	/* "+": options before the command are ours, the rest the command's */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			h->socket = optarg;
			break;
		case 'j':
			h->json = true;
			break;
		case 'h':
			usage(h, stdout);
			return EXIT_OK;
		case 'V':
			printf("hvctl %s\n", HV_VERSION);
			return EXIT_OK;
		default:
			usage(h, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		usage(h, stderr);
		return EXIT_USAGE;
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	struct hvctl h = {.prog = "hvctl"};
	const struct command *cmd;
	int r, used;

	h.socket = getenv("HVISOR_SOCKET");
	if (!h.socket || !*h.socket)
		h.socket = HVCTL_DEFAULT_SOCKET;
	if (strcmp(base, "hvisor") == 0) {
		h.prog = "hvisor";
		h.compat = true;
		return compat_main(&h, argc - 1, argv + 1);
	}
	r = parse_argv(&h, argc, argv);
	if (r >= 0)
		return r;
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "help") == 0)
		return help_main(&h, argc - 1, argv + 1);
	cmd = find_command(argc, argv, &used);
	if (cmd)
		return command_run(&h, cmd, argc - used, argv + used);
	if (is_group(argv[0]))
		return group_main(&h, argc, argv);
	fprintf(stderr, "%s: unknown command '%s%s%s'\n\n", h.prog, argv[0], argc > 1 ? " " : "",
		argc > 1 ? argv[1] : "");
	usage(&h, stderr);
	return EXIT_USAGE;
}
