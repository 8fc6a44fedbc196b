/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Memory management knobs while the VM runs, as [tuning] asks: THP defrag
 * (sys/kernel/mm/transparent_hugepage/defrag, a "[madvise] never" choice,
 * JOURNAL_SYSFS_CHOICE) and vm.stat_interval (proc/sys/vm/stat_interval,
 * JOURNAL_PROCFS). Both are no-ops for keep, the default.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "macro.h"
#include "tuning.h"

#define THP_DEFRAG    "kernel/mm/transparent_hugepage/defrag"
#define STAT_INTERVAL "sys/vm/stat_interval"

static int report(const struct host_root *h, const char *top, const char *path, const char *what,
		  const char *value, int r, int err, struct plan_diags *d)
{
	char where[512];

	host_root_path(h, top, path, where, sizeof(where));
	if (r == 1 && tuning_err_is_skip(err))
		return tuning_skip(d, what, where, err, NULL);
	if (r == 1)
		return prepare_diag(d, LOG_WARNING, "%s: cannot set '%s' to %s: %s", what, where,
				    value, strerror(-err));
	return prepare_diag(d, LOG_INFO, "%s: '%s' is %s%s", what, where, value,
			    r == 2 ? " already" : " while the VM runs");
}

int tuning_vm_apply(const struct host_root *h, struct journal *j, const struct vm_config *c,
		    struct plan_diags *d)
{
	const char *defrag = thp_defrag_to_string(c->thp_defrag);
	int r, err = 0;

	if (defrag) {
		r = tuning_write(j, h, JOURNAL_SYSFS_CHOICE, THP_DEFRAG, defrag, &err);
		if (r < 0)
			return r;
		r = report(h, "sys", THP_DEFRAG, "thp-defrag", defrag, r, err, d);
		if (r < 0)
			return r;
	}
	if (c->stat_interval > 0) {
		char v[16];

		snprintf(v, sizeof(v), "%u", c->stat_interval);
		r = tuning_write(j, h, JOURNAL_PROCFS, STAT_INTERVAL, v, &err);
		if (r < 0)
			return r;
		r = report(h, "proc", STAT_INTERVAL, "stat-interval", v, r, err, d);
		if (r < 0)
			return r;
	}
	return 0;
}
