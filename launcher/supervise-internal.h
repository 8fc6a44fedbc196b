/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The supervisor's state, shared by supervise.c (children, signals, the
 * stop sequence, setup and teardown) and supervise-qmp.c (the QMP
 * connection, events, and the startup: queries, pinning, cont). Not for
 * use outside these two files.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loop.h"
#include "pin.h"
#include "qmp.h"
#include "spawn.h"
#include "supervise.h"
#include "vm-dirs.h"

#define TICK_USEC	  (1 * USEC_PER_SEC)
#define SWEEP_EVERY_TICKS 2
/* Ticks after cont before the tick goes (query-pci may keep it a little longer). */
#define TICK_WINDOW 60
/* QEMU under TCG may take a while to reach its main loop, but not this long. */
#define STARTUP_TIMEOUT_S  60
#define QMP_CMD_TIMEOUT_MS 10000
/*
 * QEMU closes its sockets (QMP, the TPM) before its pidfd reports the exit:
 * a socket closing is only a failure if QEMU still runs a moment later.
 */
#define EXIT_GRACE_USEC (500 * USEC_PER_MSEC)
/*
 * query-pci lists a device behind a root port only once the firmware has
 * numbered the buses, which under TCG takes a few seconds of guest time.
 */
#define PCI_WAIT_TICKS	    60
#define QEMU_LOG_TAIL_BYTES 4096
#define QEMU_LOG_TAIL_LINES 10

enum phase {
	PHASE_STARTING, /* QEMU paused (-S): QMP handshake, queries, pinning, cont */
	PHASE_RUNNING,
	PHASE_STOPPING,
};

enum stop_step {
	STOP_NONE,
	STOP_POWERDOWN, /* ACPI power button pressed, waiting for the guest */
	STOP_QUIT,	/* quit sent (or SIGTERM to QEMU without QMP) */
	STOP_KILL,	/* SIGKILL sent */
};

struct sv {
	const struct supervise_params *p;
	struct loop *loop;
	int sfd;
	struct child qemu, swtpm;
	bool qemu_gone, swtpm_gone;
	int swtpm_status, swtpm_reap_error; /* how swtpm ended, for on_swtpm_grace */

	struct qmp_client *qmp;
	int qmp_fd;
	bool qmp_broken;
	int qmp_error;
	struct loop_source *qmp_src, *qemu_src, *swtpm_src, *sig_src;
	struct loop_source *tick, *run_for, *startup_timer;
	struct loop_source *qmp_timer; /* the earliest QMP deadline, armed while commands wait */
	uint64_t qmp_timer_usec;       /* its deadline, 0 when not armed */
	struct loop_source *repeat_timer, *step_timer, *swtpm_kill_timer, *swtpm_grace, *qmp_grace;
	/* kvm_fallback_s after cont: until it fires, a KVM internal error means "retry under TCG"
	 */
	struct loop_source *kvm_window;

	/* threads, from query-cpus-fast and query-iothreads */
	struct qmp_cpu *cpus;
	size_t n_cpus;
	struct qmp_iothread *iothreads;
	size_t n_iothreads;
	bool have_cpus, have_iothreads;
	/* query-pci after cont, repeated on the tick until every passthrough device shows */
	bool pci_pending, pci_inflight;
	unsigned pci_tries;
	struct pin_vcpu *pin_vcpus;
	struct pin_iothread *pin_iothreads;
	struct pin_target pin;
	unsigned ticks;

	struct vm_status st;
	enum phase phase;
	enum stop_step step;
	unsigned stop_timeout_s;
	bool guest_shutdown; /* SHUTDOWN event: QEMU is on its way out */
	bool guest_poweroff; /* ...because the guest powered itself off */
	/*
	 * Resets of the machine while it ran: all of them, and those in a row
	 * that came less than RESET_LOOP_GAP_S apart (a boot loop, see
	 * sv_on_reset()).
	 */
	unsigned n_resets, quick_resets;
	uint64_t last_reset_usec, first_quick_reset_usec;
	uint64_t running_since_usec; /* CLOCK_MONOTONIC at cont, 0 before */
	bool failed;		     /* something went wrong: exit 1 whatever QEMU does */
	bool stop_requested;	     /* by a signal or --run-for, as opposed to a failure */
	bool ready;		     /* READY=1 sent and on_running called */
	bool status_inflight;	     /* query-status after an unexpected STOP */
	bool cont_sent;
	bool stopped_early; /* STOP came between cont and its reply */
	bool retry_tcg;	    /* KVM failed within the window: SUPERVISE_RETRY_TCG */
	bool exec_denied;   /* confine_no_exec() done */
	int exit_code;	    /* -1 until decided */
	off_t qemu_log_start;
	/* The start, CLOCK_MONOTONIC: QEMU spawned, its first QMP bytes, cont sent. */
	uint64_t t_spawn_usec, t_qmp_usec, t_answers_usec, t_cont_usec;
	uint64_t ram_usec; /* of the time before the spawn: creating the RAM (guest-ram.h) */
};

/* supervise.c */
const char *sv_escape(const char *s, char *buf, size_t size);
void sv_status_write(struct sv *sv);
void sv_set_state(struct sv *sv, enum vm_state s);
void sv_notify(const char *msg);
void sv_fail(struct sv *sv);
int sv_fd_close(int fd);
void sv_log_qemu_tail(struct sv *sv, int level);
int sv_arm(struct sv *sv, struct loop_source **slot, uint64_t usec, loop_timer_cb cb);
/*
 * graceful: ACPI power button first (the guest was running); else straight
 * to quit (it never ran, or it cannot be trusted to run on: swtpm is gone).
 */
void sv_stop_begin(struct sv *sv, bool graceful, unsigned timeout_s, const char *why);
void sv_step_quit(struct sv *sv);
/* confine_no_exec(), once: no child is to be started any more. */
void sv_confine_exec(struct sv *sv);

/* supervise-qmp.c */
void sv_qmp_flush(struct sv *sv);
int sv_qmp_send(struct sv *sv, const char *cmd, qmp_reply_cb cb);
void sv_on_qmp_broken(struct sv *sv, int error);
void sv_log_reply_error(const char *cmd, int error, const struct qmp_error *err);
void sv_on_qmp_stream(struct loop_source *s, const void *buf, size_t n, int error, void *userdata);
void sv_on_qmp_event(struct qmp_client *c, const struct qmp_event *e, void *userdata);
void sv_on_cpus(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		const struct qmp_error *err, void *userdata);
void sv_on_iothreads(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		     const struct qmp_error *err, void *userdata);
void sv_pci_query(struct sv *sv);
void sv_on_startup_timeout(struct loop_source *s, void *userdata);
void sv_on_kvm_window(struct loop_source *s, void *userdata);
/* query-status after an unexpected STOP: a KVM internal error stops the VM (or retries). */
void sv_status_query(struct sv *sv);
