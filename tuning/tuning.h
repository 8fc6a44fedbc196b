/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host tuning while the VM runs (issue 5, docs/config.md [tuning]): each
 * action journals what it changes before changing it (launcher/journal.h),
 * the journal's replay undoes it (prepare_undo dispatches by kind), and
 * what was done, skipped or refused goes into the diagnostics as the
 * start report (LOG_INFO: changed, LOG_NOTICE: skipped and why,
 * LOG_WARNING: could not be changed).
 *
 * Usage (prepare_host):
 *   int pmqos_fd = -1;
 *   r = tuning_apply(h, j, c, p, &pmqos_fd, &diags);  r < 0: the journal failed
 *   ... the VM runs, pmqos_fd held open ...
 *   close(pmqos_fd); journal_replay() -> prepare_undo()
 *
 * The CPU actions need pinned vCPUs; without pinning each is a no-op (one
 * notice). A host that refuses a change (no cpufreq, a managed IRQ, no
 * cgroup v2) is reported and the start goes on: tuning makes the VM
 * faster, never possible. Only journal errors (and -ENOMEM) are returned,
 * since a change made without its record could not be undone.
 *
 * Library code: no printing.
 */
#pragma once

#include <stddef.h>

#include "config.h"
#include "hostroot.h"
#include "journal.h"
#include "plan.h"

/* The CPU sets the actions work with, from the plan. */
struct tuning_cpus {
	unsigned *vm; /* the vCPUs' host CPUs, sorted, each once; NULL: not pinned */
	size_t n_vm;
	unsigned *housekeeping; /* sorted; NULL: no housekeeping set */
	size_t n_housekeeping;
};

int tuning_cpus_from_plan(const struct plan *p, unsigned vcpus, struct tuning_cpus *ret);
void tuning_cpus_done(struct tuning_cpus *t);

/*
 * Reads path (under sys/, or proc/ for JOURNAL_PROCFS), journals it as a
 * record of kind, then writes value. 0: written; 2: it already was value
 * (nothing journaled); 1: the host refused (reading or writing), the error
 * in *ret_err; negative errno: the journal failed, nothing was written.
 */
int tuning_write(struct journal *j, const struct host_root *h, enum journal_kind kind,
		 const char *path, const char *value, int *ret_err);

/*
 * Whether err (from tuning_write() or an open) means the host does not
 * offer the knob (ENOENT, ENOTDIR) or does not let gamevm change it at all
 * (write_err_is_refusal(): EACCES, EPERM, EROFS, as in a container): the
 * action is skipped with one notice (tuning_skip()), not a warning.
 */
bool tuning_err_is_skip(int err);
/*
 * The one notice for a skipped action: "WHAT: not available, skipped
 * ('WHERE' is missing[: why])" for an absent file, else "WHAT: not
 * available, skipped (this host does not let gamevm change 'WHERE': ERR)".
 * why (may be NULL) says what the absence means or how to get the knob.
 */
int tuning_skip(struct plan_diags *d, const char *what, const char *where, int err,
		const char *why);

/* "10001" for {0,16}; 32-bit groups joined by ',' as the kernel prints cpumasks. */
int format_cpumask_hex(const unsigned *cpus, size_t n, char **ret);

/* governor.c: scaling_governor = performance on t->vm. */
int tuning_governor_apply(const struct host_root *h, struct journal *j, const struct tuning_cpus *t,
			  struct plan_diags *d);

/*
 * pmqos.c: opens dev/cpu_dma_latency and writes a 0 s32; the request
 * lasts while the fd is open (kernel/power/qos.c), so nothing is
 * journaled. *ret_fd is >= 3 (never a std stream), or -1 when the host
 * has no such device or does not let gamevm open it (one notice).
 */
int tuning_pmqos_hold(const struct host_root *h, int *ret_fd, struct plan_diags *d);

/* irq.c: proc/irq/N/smp_affinity_list and proc/irq/default_smp_affinity to housekeeping. */
int tuning_irq_apply(const struct host_root *h, struct journal *j, const struct tuning_cpus *t,
		     struct plan_diags *d);

/* workqueue.c: sys/devices/virtual/workqueue/cpumask to housekeeping. */
int tuning_workqueue_apply(const struct host_root *h, struct journal *j,
			   const struct tuning_cpus *t, struct plan_diags *d);

/*
 * cpuset.c: cgroup v2 cpuset.cpus of system.slice, user.slice and
 * init.scope to housekeeping; the root's cpuset controller enabled first
 * when needed (JOURNAL_CGROUP_CONTROLLER, undone by
 * tuning_cpuset_undo_controller).
 */
int tuning_cpuset_apply(const struct host_root *h, struct journal *j, const char *name,
			const struct tuning_cpus *t, struct plan_diags *d);
/*
 * QEMU's own cgroup while system.slice, user.slice and init.scope are held
 * to the housekeeping CPUs: QEMU is gamevm's child, so it starts in
 * gamevm's slice, where its vCPU threads could not be pinned to the VM's
 * CPUs. tuning_cpuset_apply() creates it (journaled, cpuset.cpus = the VM's
 * CPUs and the housekeeping ones); the start side moves QEMU in (its pid to
 * cgroup.procs) before pinning. Path relative to the host root's sys/.
 */
#define TUNING_QEMU_CGROUP_PARENT "fs/cgroup/gamevm"
int tuning_qemu_cgroup_path(const char *name, char **ret);
int tuning_cpuset_undo_cpus(const struct host_root *h, const struct journal_record *rec,
			    struct plan_diags *d);
int tuning_cpuset_undo_dir(const struct host_root *h, const struct journal_record *rec,
			   struct plan_diags *d);
int tuning_cpuset_undo_controller(const struct host_root *h, const struct journal_record *rec,
				  struct plan_diags *d);

/* vm.c: [tuning] thp-defrag and stat-interval (no-ops for keep). */
int tuning_vm_apply(const struct host_root *h, struct journal *j, const struct vm_config *c,
		    struct plan_diags *d);

/* Every action the config asks for, in order; see above. */
int tuning_apply(const struct host_root *h, struct journal *j, const struct vm_config *c,
		 const struct plan *p, int *ret_pmqos_fd, struct plan_diags *d);
