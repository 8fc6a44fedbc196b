/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Thread placement for a running QEMU: each vCPU thread on its one planned
 * host CPU, every other thread (I/O threads, the main loop, RCU, workers)
 * on the housekeeping set. Runs while the guest is still paused (-S), so
 * the guest never executes an instruction on the wrong CPU.
 *
 * Every placement is read back with sched_getaffinity() and reported; the
 * caller logs the report and writes it to status.json. Threads are found
 * under /proc/PID/task through the host root's proc fd.
 *
 * Usage:
 *   struct pin_target t = { .pid = qemu_pid, .vcpus = v, .n_vcpus = n, ...,
 *                           .vcpu_pin = plan.vcpu_pin, .n_vcpu_pin = vcpus,
 *                           .housekeeping = plan.housekeeping, ... };
 *   _cleanup_(pin_report_done) struct pin_report rep = {0};
 *   r = pin_apply(&root, &t, &rep);      // r < 0: could not even look
 *   if (pin_report_failed(&rep)) ...     // a vCPU or I/O thread is not where planned
 *   periodically: pin_sweep_new_threads(&root, &t, &moved);
 *
 * Library code: never prints; 0 or negative errno.
 */
#pragma once

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "hostroot.h"

struct pin_vcpu {
	unsigned index; /* QMP cpu-index */
	pid_t tid;
};

struct pin_iothread {
	const char *id; /* -object iothread,id=... */
	pid_t tid;
};

struct pin_target {
	pid_t pid; /* QEMU */
	const struct pin_vcpu *vcpus;
	size_t n_vcpus;
	const struct pin_iothread *iothreads;
	size_t n_iothreads;
	const unsigned *vcpu_pin; /* host CPU per vCPU index; NULL: vCPUs stay where they are */
	size_t n_vcpu_pin;
	const unsigned *housekeeping; /* n == 0: other threads stay where they are */
	size_t n_housekeeping;
};

enum pin_role {
	PIN_ROLE_VCPU,
	PIN_ROLE_IOTHREAD,
	PIN_ROLE_EMULATOR, /* anything else under /proc/PID/task */
};

struct pin_entry {
	enum pin_role role;
	pid_t tid;
	int vcpu;      /* cpu-index for vCPUs, -1 otherwise */
	char *name;    /* iothread id, or the thread's comm ("CPU 0/TCG", "qemu-system-x86") */
	char *planned; /* CPU list, "3" or "0-1,8" */
	char *applied; /* read back after setting; NULL when that failed */
	int error;     /* 0, or the -errno of setting or reading back */
};

struct pin_report {
	bool configured; /* false: the plan pins nothing, entries empty */
	struct pin_entry *v;
	size_t n;
};

void pin_report_done(struct pin_report *r);
/* True when a vCPU or I/O thread could not be placed or did not end up as planned. */
bool pin_report_failed(const struct pin_report *r);
/* True when the entry was applied and reads back as planned. */
bool pin_entry_ok(const struct pin_entry *e);
/* "vCPU 0 (tid 1234) -> CPU 3", "I/O thread io1 (tid 1240) -> CPUs 0-1"; caller frees. */
int pin_entry_format(const struct pin_entry *e, char **ret);
const char *pin_role_to_string(enum pin_role r); /* "vcpu", "iothread", "emulator" */

/* Nothing to do for this plan (no vCPU pinning and no housekeeping set). */
bool pin_target_is_empty(const struct pin_target *t);

/*
 * Places every thread of t->pid and reports each one. A thread that exits
 * meanwhile (-ESRCH) is dropped unless it is a vCPU or I/O thread.
 */
int pin_apply(const struct host_root *h, const struct pin_target *t, struct pin_report *ret);
/*
 * Moves threads that are neither vCPUs nor I/O threads and are not on the
 * housekeeping set yet (threads QEMU created since). ret gets one entry per
 * moved thread (n == 0: nothing new).
 */
int pin_sweep_new_threads(const struct host_root *h, const struct pin_target *t,
			  struct pin_report *ret);

/* Thread tids of pid, from /proc/PID/task (malloc'd). */
int pin_list_threads(const struct host_root *h, pid_t pid, pid_t **ret, size_t *ret_n);
/* Cpus_allowed_list of /proc/PID/task/TID/status, as the kernel writes it; caller frees. */
int pin_read_cpus_allowed(const struct host_root *h, pid_t pid, pid_t tid, char **ret);

/* --- pure helpers --- */

/* The Cpus_allowed_list value of a /proc .../status text; caller frees. -ENOENT without one. */
int pin_status_cpus_allowed(const char *status, char **ret);
/* Role of tid given the vCPU and I/O thread lists; *ret_index the vCPU or iothread index. */
enum pin_role pin_classify(const struct pin_target *t, pid_t tid, size_t *ret_index);
/* Sorted set <-> cpu_set_t (CPUs >= CPU_SETSIZE: -ERANGE). */
int pin_cpuset_from_list(const unsigned *cpus, size_t n, cpu_set_t *ret);
int pin_cpuset_to_list(const cpu_set_t *set, unsigned **ret, size_t *ret_n);
/* cpu_set_t -> "0-1,8"; caller frees. */
int pin_cpuset_format(const cpu_set_t *set, char **ret);
