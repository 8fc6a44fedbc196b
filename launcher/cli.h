/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parsed command line, handed to one verb_*() function per verb.
 * A verb returns 0 or negative errno; it has already printed its one
 * message for the failure, main() only maps the result to an exit code.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cli {
	const char *root;	/* --root DIR, default "/" */
	bool json;		/* --json */
	const char *run_dir;	/* --run-dir, default /run/gamevm */
	const char *state_dir;	/* --state-dir, default /var/lib/gamevm */
	const char *config_dir; /* --config-dir, default /etc/gamevm: NAME.conf (vm-find.h) */
	char **args;		/* positional arguments after the verb */
	size_t n_args;
	unsigned timeout_s; /* --timeout S (stop, start): stop timeout, 0 = default */
	unsigned run_for_s; /* --run-for S (start): stop after S seconds, 0 = never */
	bool list;	    /* --list (snapshot): list instead of taking one */
	const char *output; /* -o FILE (import-libvirt): where the config goes, NULL: stdout */
	uint64_t t0_usec;   /* CLOCK_MONOTONIC when gamevm started, for start's timing line */
};

int verb_cmdline(const struct cli *c);
int verb_iommu(const struct cli *c);
int verb_topology(const struct cli *c);
/* Kernel command line advice for CONF; changes nothing. */
int verb_check(const struct cli *c);
/*
 * start returns its exit status (>= 0: 0, 1, 128 + N; docs/supervisor.md)
 * or a negative errno for a failure before anything ran; status returns 3
 * for a VM that is not running.
 */
int verb_start(const struct cli *c);
/* The host side of start alone, held until a stop signal (cmd-prepare.c). */
int verb_prepare(const struct cli *c);
int verb_stop(const struct cli *c);
int verb_status(const struct cli *c);
int verb_list(const struct cli *c);
/* Replays the undo journal a killed gamevm left in --run-dir/NAME. */
int verb_cleanup(const struct cli *c);
/* Copies of the VM's raw disk images, taken and put back while it is off (docs/snapshots.md). */
int verb_snapshot(const struct cli *c);
int verb_restore(const struct cli *c);
/* A libvirt domain XML to a gamevm config (docs/import-libvirt.md). */
int verb_import_libvirt(const struct cli *c);
/* gamevm's verb: runs gamevm-import-libvirt, which has verb_import_libvirt (cmd-import-exec.c). */
int verb_import_libvirt_exec(const struct cli *c);

/*
 * For stop and status: opens --run-dir/NAME and checks its lock is held.
 * -ESRCH ("VM 'NAME' is not running", logged) otherwise. *ret_pid: the
 * supervisor's pid from status.json, 0 while it has not written one.
 */
int vm_open_running(const struct cli *c, const char *name, int *ret_fd, pid_t *ret_pid);
