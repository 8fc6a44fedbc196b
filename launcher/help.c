/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verbs' full help texts (help.h), one row per verb. The arguments and
 * options many verbs share are flags, printed with this build's defaults.
 * Keep the rows in step with docs/gamevm.md.
 */
#include <stdio.h>
#include <string.h>

#include "config-build.h"
#include "help.h"
#include "macro.h"
#include "testhook.h"

enum {
	ARG_CONF = 1 << 0,     /* CONF */
	ARG_CONF_OPT = 1 << 1, /* [CONF] */
	ARG_NAME = 1 << 2,     /* NAME */
	OPT_ROOT = 1 << 3,     /* --root DIR */
	OPT_RUN_DIR = 1 << 4,  /* --run-dir DIR */
	OPT_STATE_DIR = 1 << 5,
	OPT_CONFIG_DIR = 1 << 6,
};

#define EXIT_USAGE "  2  usage error: unknown verb or option, wrong number of arguments\n"

static const struct verb_help {
	const char *verb;
	const char *usage; /* after "Usage: gamevm " */
	const char *what;  /* what it does, wrapped at 78 columns */
	unsigned flags;
	const char *args;    /* the verb's own arguments, after CONF or NAME if any */
	const char *options; /* the verb's own options, before the shared ones */
	const char *exit;    /* every exit status, EXIT_USAGE among them */
	const char *example;
} help_table[] = {
	{
		.verb = "cmdline",
		.usage = "cmdline CONF [--json]",
		.what = "Print the QEMU command line that 'gamevm start CONF' would run on this host,\n"
			"after every check of the plan: one option with its value per line,\n"
			"shell-quoted, or a JSON array of strings. Every problem the host has with\n"
			"CONF is reported instead, before QEMU would ever run. Changes nothing.\n",
		.flags = ARG_CONF | OPT_ROOT | OPT_RUN_DIR | OPT_STATE_DIR | OPT_CONFIG_DIR,
		.options = "  --json           the command line as a JSON array of strings\n",
		.exit = "  0  the command line was printed\n"
			"  1  the config or the plan has errors (each one printed)\n" EXIT_USAGE,
		.example = "gamevm cmdline /etc/gamevm/win11.conf",
	},
	{
		.verb = "iommu",
		.usage = "iommu [--json]",
		.what = "List every IOMMU group with its devices (address, vendor and device IDs,\n"
			"class, names, driver, reset method) and a verdict per group: isolated, or\n"
			"shared with which devices (a shared group goes to a guest as a whole).\n"
			"Use it to find the [pci NAME] address of the GPU. Changes nothing.\n",
		.flags = OPT_ROOT,
		.options =
			"  --json           the same as JSON ({\"iommu\": false, ...} without an IOMMU)\n",
		.exit = "  0  the groups were listed\n"
			"  1  the IOMMU is off (the message says what to enable), or an error\n" EXIT_USAGE,
		.example = "gamevm iommu",
	},
	{
		.verb = "topology",
		.usage = "topology [CONF] [--json]",
		.what = "Show the host's CPU layout as a pinning plan needs it: packages, L3\n"
			"domains with their SMT sibling pairs, P/E core types, NUMA nodes with their\n"
			"memory, and the hugepage pools. With CONF, the CPU plan for the VM follows:\n"
			"the pin map ([cpu] pin, or the planner's choice for auto), the housekeeping\n"
			"CPUs, the guest topology and the planner's warnings. Changes nothing.\n",
		.flags = ARG_CONF_OPT | OPT_ROOT | OPT_CONFIG_DIR,
		.options = "  --json           the same data as JSON\n",
		.exit = "  0  reported (a CPU plan with errors too: they are part of the report)\n"
			"  1  the host or CONF could not be read\n" EXIT_USAGE,
		.example = "gamevm topology /etc/gamevm/win11.conf",
	},
	{
		.verb = "check",
		.usage = "check CONF [--json]",
		.what = "Say what this host's KVM can do (usable, usable without SMM, unusable or\n"
			"absent, and the firmware probe that decided), the accelerator CONF gets\n"
			"and why, and the kernel command line words the VM wants (iommu=pt,\n"
			"intel_iommu=on, nohz_full=, rcu_nocbs=, isolcpus=, 1G hugepages) against\n"
			"/proc/cmdline, with the exact line to add. Changes nothing.\n",
		.flags = ARG_CONF | OPT_ROOT | OPT_CONFIG_DIR,
		.options = "  --json           the same as JSON\n",
		.exit = "  0  the checks were printed (also when the plan has errors: they are\n"
			"     logged, and 'gamevm cmdline CONF' lists them)\n"
			"  1  CONF or the host could not be read\n" EXIT_USAGE,
		.example = "gamevm check /etc/gamevm/win11.conf",
	},
	{
		.verb = "start",
		.usage = "start CONF [--run-for S] [--timeout S]",
		.what = "Run the VM in the foreground until it ends, as root: plan it as 'gamevm\n"
			"cmdline' does, prepare the host (hugepages, vfio-pci binding; each change\n"
			"written to an undo journal first), start swtpm and QEMU paused as the\n"
			"unprivileged [vm] user, pin every vCPU, I/O and emulator thread, resume\n"
			"the guest and supervise it; then put the host back. SIGTERM, SIGINT or\n"
			"'gamevm stop' run the stop sequence: ACPI power button (twice), 'quit'\n"
			"after the timeout, SIGKILL 15 s later. Under systemd (Type=notify) it\n"
			"sends READY=1 once the guest runs.\n",
		.flags = ARG_CONF | OPT_RUN_DIR | OPT_STATE_DIR | OPT_CONFIG_DIR,
		.options = "  --run-for S      stop the VM after S seconds (1 to 86400)\n"
			   "  --timeout S      seconds the guest gets to power off before 'quit'\n"
			   "                   (1 to 86400, default 60)\n",
		.exit = "  0  the guest shut down, or a requested stop completed\n"
			"  1  the VM could not be started, the host could not be fully restored,\n"
			"     QEMU exited with a non-zero status, or swtpm died\n" EXIT_USAGE
			"  128 + N\n"
			"     QEMU was killed by signal N, not by gamevm\n",
		.example = "gamevm start /etc/gamevm/win11.conf\n"
			   "  systemctl start gamevm@win11     (the same, as a service)",
	},
	{
		.verb = "prepare",
		.usage = "prepare CONF",
		.what = "As root, prepare the host for a VM that its [vm] user then starts\n"
			"without root (gamevm start as that user, or systemctl --user start\n"
			"gamevm@NAME): reserve the hugepages, move the [pci] devices to vfio-pci\n"
			"and give /dev/vfio/GROUP to [vm] user, apply [tuning], hold a sleep\n"
			"inhibitor; each change written to the undo journal first. Then hold\n"
			"(READY=1 under systemd) until SIGTERM, SIGINT, SIGHUP or SIGQUIT, and put\n"
			"the host back. As a service: gamevm-prepare@NAME.service.\n",
		.flags = ARG_CONF | OPT_RUN_DIR | OPT_STATE_DIR | OPT_CONFIG_DIR,
		.options = "",
		.exit = "  0  the host was prepared, held and put back\n"
			"  1  not root, the plan has errors, or the host could not be prepared\n"
			"     (it is put back) or fully restored after\n" EXIT_USAGE,
		.example =
			"systemctl start gamevm-prepare@win11; systemctl --user start gamevm@win11",
	},
	{
		.verb = "stop",
		.usage = "stop NAME [--timeout S]",
		.what = "Ask the supervisor ('gamevm start') of a running VM to stop it and wait\n"
			"until it has: ACPI power button, again after 3 s, 'quit' when the timeout\n"
			"passes, SIGKILL 15 s after that; each step logged. It never talks to QMP\n"
			"itself. A second stop while the guest is powering off skips to 'quit'.\n",
		.flags = ARG_NAME | OPT_RUN_DIR,
		.options =
			"  --timeout S      seconds the guest gets to power off (1 to 86400; default\n"
			"                   the start's --timeout, else 60)\n",
		.exit = "  0  the VM stopped\n"
			"  1  the VM is not running, or it did not stop in time\n" EXIT_USAGE,
		.example = "gamevm stop win11 --timeout 120",
	},
	{
		.verb = "status",
		.usage = "status NAME [--json]",
		.what = "Show a running VM's state (starting, running, paused, stopping), the pids\n"
			"of gamevm, QEMU and swtpm, start time and uptime, QEMU's version, and for\n"
			"each vCPU and I/O thread its thread id, its planned host CPU and the CPUs\n"
			"it may run on right now, read back from the kernel.\n",
		.flags = ARG_NAME | OPT_RUN_DIR,
		.options =
			"  --json           the same as JSON ({\"running\": false, ...} when stopped)\n",
		.exit = "  0  the VM is running\n"
			"  1  an error\n" EXIT_USAGE "  3  the VM is not running\n",
		.example = "gamevm status win11",
	},
	{
		.verb = "list",
		.usage = "list [--json]",
		.what = "List every VM: those defined by a config file (NAME.conf in --config-dir\n"
			"and in $XDG_CONFIG_HOME/gamevm) and those with a directory under --run-dir,\n"
			"with their state (running, stopped, ...), the supervisor's pid and the\n"
			"config file.\n",
		.flags = OPT_RUN_DIR | OPT_CONFIG_DIR,
		.options =
			"  --json           a JSON array of {name, running, state, gamevm_pid, config}\n",
		.exit = "  0  listed (also when there is no VM)\n"
			"  1  an error\n" EXIT_USAGE,
		.example = "gamevm list --json",
	},
	{
		.verb = "cleanup",
		.usage = "cleanup NAME",
		.what = "After a 'gamevm start' that was killed (SIGKILL, the OOM killer, a crash)\n"
			"left host changes behind: replay the VM's undo journal (devices back on\n"
			"their drivers, hugepages given back, vfio-pci unloaded if gamevm loaded\n"
			"it) and say what was restored. It takes the VM's lock, so it refuses a\n"
			"running VM. With nothing left behind it says 'Nothing to clean up'.\n",
		.flags = ARG_NAME | OPT_RUN_DIR,
		.exit = "  0  the host is restored, or there was nothing to do\n"
			"  1  the VM is running, or a change could not be undone (it stays in\n"
			"     the journal and is reported)\n" EXIT_USAGE,
		.example = "gamevm cleanup win11",
	},
	{
		.verb = "snapshot",
		.usage = "snapshot NAME [TAG]\n"
			 "       gamevm snapshot --list [NAME] [--json]",
		.what = "Copy the disk images of VM NAME aside as snapshot TAG while the VM is\n"
			"off: each raw image the guest can write ([disk] media = disk, not\n"
			"read-only) to IMAGE.snapshots/TAG next to it, a reflink where the\n"
			"filesystem shares extents (btrfs, XFS), else a sparse copy. qcow2 images\n"
			"and block devices are refused, with what to use instead. It holds the\n"
			"VM's lock: a running VM is refused, and no start begins while it copies.\n"
			"Prints the tag. With --list: the snapshots of NAME (or of every VM) with\n"
			"their time, disks and sizes.\n",
		.flags = ARG_NAME | OPT_RUN_DIR | OPT_CONFIG_DIR,
		.args = "  TAG              1 to 64 of A-Z a-z 0-9 . _ -, not starting with . or -;\n"
			"                   default: the local time, 2026-12-06T10-30-00\n",
		.options =
			"  --list           list snapshots instead of taking one\n"
			"  --json           with --list: a JSON array of {vm, tag, time, complete,\n"
			"                   disks}\n",
		.exit = "  0  the snapshot was taken (or listed)\n"
			"  1  the VM is running, a disk cannot be snapshotted, or a copy failed\n"
			"     (nothing was changed)\n" EXIT_USAGE,
		.example = "gamevm snapshot win11 before-driver-update",
	},
	{
		.verb = "restore",
		.usage = "restore NAME TAG",
		.what = "Put the disk images of VM NAME back as snapshot TAG has them, while the\n"
			"VM is off: every disk's snapshot must exist before anything is copied;\n"
			"each image is replaced by a copy of its snapshot (a reflink where the\n"
			"filesystem can), keeping its owner and mode. The snapshot stays. It holds\n"
			"the VM's lock, so a running VM is refused.\n",
		.flags = ARG_NAME | OPT_RUN_DIR | OPT_CONFIG_DIR,
		.args = "  TAG              the snapshot ('gamevm snapshot --list NAME' lists them)\n",
		.exit = "  0  the VM's disks are as the snapshot has them\n"
			"  1  the VM is running, the snapshot is missing or incomplete, or a copy\n"
			"     failed (the message says which disks were restored)\n" EXIT_USAGE,
		.example = "gamevm restore win11 before-driver-update",
	},
	{
		.verb = "import-libvirt",
		.usage = "import-libvirt DOMAIN.xml [-o NAME.conf]",
		.what = "Convert a libvirt domain (what 'virsh dumpxml NAME' prints) into a gamevm\n"
			"config file. Each element that could not be carried over is listed on\n"
			"stderr with its line in the XML and the reason; that is not a failure.\n"
			"The result always loads: a value gamevm refuses is left out and listed.\n"
			"The XML is parsed without network access and without a DTD (a document\n"
			"with <!DOCTYPE> is refused). Changes nothing on the host.\n",
		.args = "  DOMAIN.xml       the domain's XML file, or - for standard input\n",
		.options = "  -o, --output NAME.conf\n"
			   "                   write the config there (atomically, never over an\n"
			   "                   existing file) instead of to standard output\n",
		.exit = "  0  converted (also when elements were not carried over)\n"
			"  1  the XML cannot be read or converted, or the output file exists or\n"
			"     cannot be written\n" EXIT_USAGE,
		.example =
			"virsh dumpxml win11 | gamevm import-libvirt - -o /etc/gamevm/win11.conf",
	},
	{
		.verb = "help",
		.usage = "help [VERB]",
		.what = "Print the overview of all verbs and options, or VERB's full usage: its\n"
			"arguments, options, exit status and an example. 'gamevm VERB --help' is\n"
			"the same as 'gamevm help VERB'.\n",
		.exit = "  0  printed\n" EXIT_USAGE,
		.example = "gamevm help start",
	},
};

static const struct verb_help *help_find(const char *verb)
{
	for (size_t i = 0; i < ELEMENTSOF(help_table); i++)
		if (strcmp(help_table[i].verb, verb) == 0)
			return &help_table[i];
	return NULL;
}

bool help_verb_print(FILE *f, const char *verb)
{
	const struct verb_help *h = help_find(verb);

	if (!h)
		return false;
	fprintf(f, "Usage: gamevm %s\n\n%s", h->usage, h->what);
	if (h->flags & (ARG_CONF | ARG_CONF_OPT))
		fprintf(f,
			"\nArguments:\n"
			"  CONF             %sa config file (a path with a '/', or a name ending\n"
			"                   in .conf), or a VM name: NAME.conf in --config-dir\n"
			"                   (default %s), then $XDG_CONFIG_HOME/gamevm\n"
			"                   (~/.config/gamevm); a user's own directory comes first\n",
			h->flags & ARG_CONF_OPT ? "optional: " : "", GAMEVM_CONF_DIR);
	if (h->flags & ARG_NAME)
		fprintf(f, "\nArguments:\n"
			   "  NAME             the VM's name ([vm] name in its config)\n");
	if (h->args)
		fprintf(f, "%s%s",
			h->flags & (ARG_CONF | ARG_CONF_OPT | ARG_NAME) ? "" : "\nArguments:\n",
			h->args);
	if (h->options || (h->flags & (OPT_ROOT | OPT_RUN_DIR | OPT_STATE_DIR | OPT_CONFIG_DIR))) {
		fprintf(f, "\nOptions:\n%s", h->options ?: "");
		if (h->flags & OPT_ROOT)
			fprintf(f,
				"  --root DIR       read the host from DIR instead of / (a fixture tree,\n"
				"                   a lab VM's root)\n");
		if (h->flags & OPT_RUN_DIR)
			fprintf(f, "  --run-dir DIR    runtime files in DIR/NAME (default %s)\n",
				GAMEVM_RUN_DIR);
		if (h->flags & OPT_STATE_DIR)
			fprintf(f, "  --state-dir DIR  persistent state in DIR/NAME (default %s)\n",
				GAMEVM_STATE_DIR);
		if (h->flags & OPT_CONFIG_DIR)
			fprintf(f, "  --config-dir DIR where a VM name is looked up (default %s)\n",
				GAMEVM_CONF_DIR);
	}
	fprintf(f, "\nExit status:\n%s\nExample:\n  %s\n", h->exit, h->example);
	return true;
}

void help_version(FILE *f)
{
	fprintf(f,
		"gamevm %s\n"
		"  run dir:     %s\n"
		"  state dir:   %s\n"
		"  config dir:  %s\n"
		"  test hooks:  %s\n",
		GAMEVM_VERSION, GAMEVM_RUN_DIR, GAMEVM_STATE_DIR, GAMEVM_CONF_DIR,
		testhook_enabled() ? "on (a test build: GAMEVM_TEST_* variables are honoured)"
				   : "off");
}
