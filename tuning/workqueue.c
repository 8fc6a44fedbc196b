/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's unbound workqueues (writeback, crypto, ...) to the
 * housekeeping CPUs while the VM runs: sys/devices/virtual/workqueue/cpumask
 * (Documentation/core-api/workqueue.rst), a hex cpumask, journaled
 * (JOURNAL_SYSFS) and restored after. Per-CPU workqueues stay: they run
 * where they were queued.
 */
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "macro.h"
#include "tuning.h"

#define WQ_CPUMASK "devices/virtual/workqueue/cpumask"

int tuning_workqueue_apply(const struct host_root *h, struct journal *j,
			   const struct tuning_cpus *t, struct plan_diags *d)
{
	_cleanup_free_ char *mask = NULL;
	char where[512];
	int r, err = 0;

	if (t->n_housekeeping == 0)
		return 0;
	r = format_cpumask_hex(t->housekeeping, t->n_housekeeping, &mask);
	if (r < 0)
		return r;
	host_root_path(h, "sys", WQ_CPUMASK, where, sizeof(where));
	r = tuning_write(j, h, JOURNAL_SYSFS, WQ_CPUMASK, mask, &err);
	if (r < 0)
		return r;
	if (r == 1 && tuning_err_is_skip(err))
		return tuning_skip(d, "workqueues", where, err,
				   "the kernel does not let unbound workqueues be moved");
	if (r == 1)
		return prepare_diag(d, LOG_WARNING, "workqueues: cannot set '%s' to %s: %s", where,
				    mask, strerror(-err));
	return prepare_diag(d, LOG_INFO, "workqueues: unbound workqueues on CPU mask %s ('%s')%s",
			    mask, where, r == 2 ? ", already so" : "");
}
