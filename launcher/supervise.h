/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The supervisor: from "directories ready, argv built" to "every child
 * reaped". Spawns swtpm and QEMU (-S), drives QMP (capabilities,
 * query-cpus-fast, query-iothreads), pins the threads, sends cont, then
 * supervises until the VM ends, all in one io_uring loop (loop.h):
 *
 *   signalfd   SIGTERM/SIGINT/SIGHUP/SIGQUIT start the stop sequence; the
 *              sigqueue() value (gamevm stop --timeout) is the timeout
 *   pidfds     QEMU or swtpm exiting is seen at once
 *   QMP        events logged with their meaning; commands
 *   timers     QMP timeouts and the thread sweep (1 s tick), --run-for,
 *              the steps of the stop sequence
 *
 * Stop sequence: system_powerdown; again after 3 s; quit when the timeout
 * passes; SIGKILL 15 s after that. swtpm dying stops the VM (quit, then
 * SIGKILL); QEMU exiting stops swtpm (SIGTERM, then SIGKILL).
 *
 * This is launcher code: it logs (common/log.h) and sends sd_notify.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "guest-ram.h"
#include "hostroot.h"
#include "spawn.h"
#include "vm-dirs.h"

#define SUPERVISE_STOP_TIMEOUT_DEFAULT_S 60
/* Between the first and the second ACPI power button press. */
#define SUPERVISE_POWERDOWN_REPEAT_S 3
/* From quit (or SIGTERM to a child) to SIGKILL. */
/*
 * After quit (or SIGTERM to swtpm): QEMU may need seconds to exit, freeing
 * tens of GiB of hugepage-backed RAM or joining TCG vCPU threads on a busy
 * host. SIGKILL comes only after this.
 */
#define SUPERVISE_KILL_AFTER_S 15

/* gamevm start's exit statuses (docs/supervisor.md); 128 + N: QEMU was killed by signal N. */
enum {
	SUPERVISE_EXIT_OK = 0,	    /* guest shut down, or an orderly stop completed */
	SUPERVISE_EXIT_FAILURE = 1, /* QEMU error, swtpm died, start failed, SIGKILL needed */
	/*
	 * Not an exit status: KVM stopped the guest with an internal error
	 * within kvm_fallback_s of cont (see supervise_params). QEMU and
	 * swtpm are gone; the caller may start the VM again under TCG.
	 */
	SUPERVISE_RETRY_TCG = 256,
};

struct supervise_hostdev {
	const char *host;    /* "0000:81:00.0" */
	const char *qdev_id; /* "hostdev0": the -device id */
};

/* How the run ended, beyond the exit status (the restart policies need it). */
struct supervise_result {
	bool guest_poweroff; /* the guest powered itself off (SHUTDOWN, guest-shutdown) */
	bool stop_requested; /* a signal or --run-for asked for the stop */
	bool ran;	     /* the guest ran (cont went through) */
	uint64_t ran_usec;   /* for how long, from cont to QEMU's exit */
};

struct supervise_params {
	const char *name;
	const struct host_root *root; /* proc_fd: QEMU's threads */
	/*
	 * Opened and locked. Its listening sockets are handed to the children
	 * and then closed here, so a dead child shows up as a closed
	 * connection, not a hang; its logs receive the children's output.
	 */
	struct vm_dirs *dirs;

	/* Both carry argv, user, groups, rlimits; fds and stdio are filled in here. */
	const struct spawn_opts *qemu;
	/* More fds for QEMU besides the QMP socket: the disk images (plan.h, PLAN_DISK_FD). */
	const struct spawn_fd *qemu_fds;
	size_t n_qemu_fds;
	/*
	 * Hugepage RAM, created and faulted in right before each QEMU start
	 * and handed over as PLAN_RAM_FD (tuning/guest-ram.h); NULL: QEMU
	 * allocates its RAM itself.
	 */
	const struct guest_ram_spec *ram;
	const struct spawn_opts *swtpm; /* NULL: no TPM */

	const unsigned *vcpu_pin; /* per vCPU index, NULL = not pinned */
	size_t n_vcpus;
	const unsigned *housekeeping;
	size_t n_housekeeping;

	unsigned stop_timeout_s; /* for signals without a value and --run-for; 0 = default */
	unsigned run_for_s;	 /* 0 = until stopped */

	/*
	 * Passed-through host devices: before cont, query-pci must show each
	 * under its qdev id (a missing one fails the start), and the log says
	 * which guest address it got.
	 */
	const struct supervise_hostdev *hostdevs;
	size_t n_hostdevs;

	/*
	 * Called once the guest runs (after cont): host preparation that must
	 * wait until QEMU holds its resources (the hugepage pool target).
	 */
	void (*on_running)(void *userdata);
	void *userdata;

	/*
	 * A cgroup (path under root's sys/) QEMU moves into right after it is
	 * spawned, before pinning; NULL: QEMU stays in gamevm's cgroup.
	 */
	const char *qemu_cgroup;

	/*
	 * accel = auto chose KVM: for this many seconds after cont, a KVM
	 * internal error (QEMU stops the guest in state internal-error) ends
	 * the run with SUPERVISE_RETRY_TCG instead of a failure, and READY=1
	 * and on_running wait until the window has passed, so that nothing
	 * is handed over to a QEMU that is about to be replaced. 0: a KVM
	 * internal error stops the VM as a failure.
	 */
	unsigned kvm_fallback_s;

	/*
	 * CLOCK_MONOTONIC when the command started (0: unknown), for the line
	 * that splits the start time into gamevm's share and QEMU's.
	 */
	uint64_t t0_usec;

	/* Filled in when supervise_run() returns; NULL: not wanted. */
	struct supervise_result *result;
	/*
	 * The VM may be started again in this process (on-crash, on-poweroff =
	 * restart): execve stays allowed after confinement (confine.h).
	 */
	bool may_restart;
	/* Programs are started after QEMU (stop hooks): execve stays allowed. */
	bool keep_exec;
};

/*
 * Runs the VM to its end and returns gamevm start's exit status (>= 0, see
 * above); every child is reaped by then, whatever happened. The caller
 * closes the dirs (removing sockets and status.json, releasing the lock).
 */
int supervise_run(const struct supervise_params *p);
