/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm: the command line. Parses the verb and its options, then calls one
 * verb_*() function; nothing else happens here.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config-build.h"
#include "help.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"

static const struct verb {
	const char *name;
	int (*run)(const struct cli *c);
	size_t min_args, max_args;
	const char *usage;
} verbs[] = {
	{ "cmdline", verb_cmdline, 1, 1,
	  "cmdline CONF        print the QEMU command line for CONF (a file, or a VM name)" },
	{ "iommu", verb_iommu, 0, 0,
	  "iommu               list IOMMU groups with a verdict per group" },
	{ "topology", verb_topology, 0, 1,
	  "topology [CONF]     show packages, L3 domains, SMT pairs, NUMA nodes" },
	{ "check", verb_check, 1, 1,
	  "check CONF          kernel command line advice for CONF (changes nothing)" },
	{ "start", verb_start, 1, 1,
	  "start CONF [--run-for S] [--timeout S]\n"
	  "                      run the VM in the foreground until it ends" },
	{ "prepare", verb_prepare, 1, 1,
	  "prepare CONF        as root: prepare the host for a VM its user starts, hold, then undo" },
	{ "stop", verb_stop, 1, 1,
	  "stop NAME [--timeout S]\n"
	  "                      shut the VM down (ACPI, then quit after S s, default 60)" },
	{ "status", verb_status, 1, 1,
	  "status NAME         state, pids, vCPU threads and where they run" },
	{ "list", verb_list, 0, 0,
	  "list                every VM under the run directory, running or not" },
	{ "cleanup", verb_cleanup, 1, 1,
	  "cleanup NAME        undo the host changes a killed gamevm left behind" },
	{ "snapshot", verb_snapshot, 0, 2,
	  "snapshot NAME [TAG] copy the VM's disk images aside (VM off; TAG: the time)\n"
	  "  snapshot --list [NAME] [--json]\n"
	  "                      the snapshots of NAME (or of every VM)" },
	{ "restore", verb_restore, 2, 2,
	  "restore NAME TAG    put the VM's disk images back as snapshot TAG has them" },
	{ "import-libvirt", verb_import_libvirt_exec, 1, 1,
	  "import-libvirt DOMAIN.xml [-o NAME.conf]\n"
	  "                      convert a libvirt domain ('virsh dumpxml') to a config" },
};

static const struct verb *verb_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (streq(name, verbs[i].name))
			return &verbs[i];
	return NULL;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void help(FILE *f);

/* gamevm help [VERB], gamevm VERB --help: help.c has the full texts. */
static int help_verb(const char *name)
{
	const struct verb *v;

	if (!name) {
		help(stdout);
		return EXIT_SUCCESS;
	}
	if (help_verb_print(stdout, name))
		return EXIT_SUCCESS;
	v = verb_find(name);
	if (!v) {
		log_error("Unknown verb '%s'; run 'gamevm --help' for the list.", name);
		return 2;
	}
	/* A verb without a full text in help.c yet: its one line. */
	printf("Usage: gamevm %s\n", v->usage);
	return EXIT_SUCCESS;
}

static void help(FILE *f)
{
	fprintf(f, "Usage: gamevm [OPTIONS] VERB [ARGS]\n\n"
		   "Host a Windows gaming VM with a passed-through GPU, without libvirt.\n\n"
		   "Verbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		fprintf(f, "  %s\n", verbs[i].usage);
	fprintf(f, "  help [VERB]         this text, or VERB's full usage\n");
	fprintf(f,
		"\nOptions:\n"
		"  --root DIR       read the host from DIR instead of / (fixture trees, labs)\n"
		"  --json           machine-readable output\n"
		"  --run-dir DIR    runtime files (default %s/NAME)\n"
		"  --state-dir DIR  persistent state (default %s/NAME)\n"
		"  --config-dir DIR where CONF given as a VM name is looked up first (default %s;\n"
		"                   then $XDG_CONFIG_HOME/gamevm; a user's own directory comes first)\n"
		"  --timeout S      stop, start: seconds the guest gets to power off\n"
		"  --run-for S      start: stop the VM after S seconds\n"
		"  --list           snapshot: list the snapshots instead of taking one\n"
		"  -h, --help       this text; with a verb, that verb's full usage\n"
		"  --version        print the version and the build's directories\n"
		"\nRun 'gamevm help VERB' for a verb's options, exit status and an example.\n",
		GAMEVM_RUN_DIR, GAMEVM_STATE_DIR, GAMEVM_CONF_DIR);
}

int main(int argc, char **argv)
{
	enum {
		OPT_ROOT = 256,
		OPT_JSON,
		OPT_RUN_DIR,
		OPT_STATE_DIR,
		OPT_CONFIG_DIR,
		OPT_VERSION,
		OPT_TIMEOUT,
		OPT_RUN_FOR,
		OPT_LIST
	};
	static const struct option options[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "config-dir", required_argument, NULL, OPT_CONFIG_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "run-for", required_argument, NULL, OPT_RUN_FOR },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "output", required_argument, NULL, 'o' },
		{},
	};
	struct cli c = {
		.root = "/",
		.run_dir = GAMEVM_RUN_DIR,
		.state_dir = GAMEVM_STATE_DIR,
		.config_dir = GAMEVM_CONF_DIR,
	};
	const struct verb *v = NULL;
	bool want_help = false;
	int opt, r;

	/*
	 * A reader of our output that goes away (gamevm start | head, a closed
	 * terminal) must not kill gamevm before it has put the host back: writes
	 * then fail with EPIPE, which logging ignores. Children get SIG_DFL back
	 * before exec (spawn.c).
	 */
	signal(SIGPIPE, SIG_IGN);
	c.t0_usec = now_usec();
	log_setup();

	/* Options may come before or after the verb: "gamevm cmdline --json X". */
	while ((opt = getopt_long(argc, argv, "ho:", options, NULL)) >= 0) {
		switch (opt) {
		case OPT_ROOT:
			c.root = optarg;
			break;
		case OPT_JSON:
			c.json = true;
			break;
		case OPT_LIST:
			c.list = true;
			break;
		case 'o':
			c.output = optarg;
			break;
		case OPT_RUN_DIR:
			c.run_dir = optarg;
			break;
		case OPT_STATE_DIR:
			c.state_dir = optarg;
			break;
		case OPT_CONFIG_DIR:
			c.config_dir = optarg;
			break;
		case 'h':
			want_help = true; /* "gamevm VERB --help": the verb is not known yet */
			break;
		case OPT_VERSION:
			help_version(stdout);
			return EXIT_SUCCESS;
		case OPT_TIMEOUT:
		case OPT_RUN_FOR: {
			unsigned secs;

			/* sigqueue() carries the timeout as an int; a day is plenty. */
			if (safe_atou(optarg, &secs) < 0 || secs == 0 || secs > 86400) {
				log_error("--%s: '%s' is not a number of seconds (1 to 86400).",
					  opt == OPT_TIMEOUT ? "timeout" : "run-for", optarg);
				return 2;
			}
			if (opt == OPT_TIMEOUT)
				c.timeout_s = secs;
			else
				c.run_for_s = secs;
			break;
		}
		default:
			help(stderr);
			return 2;
		}
	}

	if (want_help || (optind < argc && streq(argv[optind], "help"))) {
		const char *name = optind < argc ? argv[optind] : NULL;

		if (name && streq(name, "help")) {
			if (argc - optind > 2) {
				log_error("Usage: gamevm help [VERB]");
				return 2;
			}
			/* "help VERB"; "help": the overview; "help --help": help's own */
			name = argv[optind + 1] ?: (want_help ? "help" : NULL);
		}
		return help_verb(name);
	}
	if (optind >= argc) {
		help(stderr);
		return 2;
	}
	v = verb_find(argv[optind]);
	if (!v) {
		log_error("Unknown verb '%s'; run 'gamevm --help' for the list.", argv[optind]);
		return 2;
	}
	c.args = argv + optind + 1;
	c.n_args = (size_t)(argc - optind - 1);
	if (c.n_args < v->min_args || c.n_args > v->max_args) {
		log_error("Usage: gamevm %s", v->usage);
		return 2;
	}
	if (c.output && v->run != verb_import_libvirt_exec) {
		log_error("-o/--output is an option of import-libvirt only.");
		return 2;
	}

	r = v->run(&c);
	/* A verb returns its exit status (start: how the VM ended) or -errno. */
	return r < 0 ? EXIT_FAILURE : MIN(r, 255);
}
