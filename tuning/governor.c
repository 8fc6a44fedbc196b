/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpufreq governor "performance" on the vCPUs' host CPUs while the VM runs:
 * a vCPU that idles between frames must not come back at a low clock.
 * Each CPU's governor is journaled (JOURNAL_SYSFS) and restored after. A
 * CPU whose policy covers others changes them too (a shared policy); the
 * journal restores each CPU's own file, which restores the policy.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "fileio.h"
#include "macro.h"
#include "tuning.h"

#define GOVERNOR "performance"

static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

int tuning_governor_apply(const struct host_root *h, struct journal *j, const struct tuning_cpus *t,
			  struct plan_diags *d)
{
	unsigned changed = 0, already = 0, failed = 0, refused = 0;
	char path[128], where[512], first[512] = "", tail[640];
	int r, err = 0, first_err = 0;

	if (t->n_vm == 0)
		return 0;
	snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/cpufreq/scaling_governor", t->vm[0]);
	host_root_path(h, "sys", path, where, sizeof(where));
	r = h->sys_fd < 0 ? 0 : file_exists_at(h->sys_fd, path);
	if (r == 0)
		/* VMs, the lab, and hosts whose firmware keeps frequency control to itself. */
		return prepare_diag(
			d, LOG_NOTICE,
			"governor: not available, skipped (this host has no cpufreq: '%s' is missing; the firmware or hypervisor sets the clock)",
			where);
	if (r < 0 && read_err_is_absent(r))
		return tuning_skip(d, "governor", where, r, NULL);
	if (r < 0)
		return prepare_diag(d, LOG_WARNING, "governor: cannot look at '%s': %s", where,
				    strerror(-r));

	for (size_t i = 0; i < t->n_vm; i++) {
		_cleanup_free_ char *avail = NULL;

		snprintf(path, sizeof(path),
			 "devices/system/cpu/cpu%u/cpufreq/scaling_available_governors", t->vm[i]);
		if (read_one_line_at(h->sys_fd, path, &avail) >= 0 && !word_in(avail, GOVERNOR)) {
			r = prepare_diag(d, LOG_WARNING,
					 "governor: CPU %u offers no '" GOVERNOR "' governor (%s)",
					 t->vm[i], avail);
			if (r < 0)
				return r;
			failed++;
			continue;
		}
		snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/cpufreq/scaling_governor",
			 t->vm[i]);
		r = tuning_write(j, h, JOURNAL_SYSFS, path, GOVERNOR, &err);
		if (r < 0)
			return r;
		if (r == 1 && write_err_is_refusal(err)) {
			/* Said once below: the host refuses them all alike. */
			failed++;
			if (refused++ == 0) {
				host_root_path(h, "sys", path, first, sizeof(first));
				first_err = err;
			}
		} else if (r == 1) {
			failed++;
			r = prepare_diag(d, LOG_WARNING,
					 "governor: cannot set '%s' to " GOVERNOR ": %s",
					 host_root_path(h, "sys", path, where, sizeof(where)),
					 strerror(-err));
			if (r < 0)
				return r;
		} else if (r == 2) {
			already++;
		} else {
			changed++;
		}
	}
	if (refused == t->n_vm)
		return tuning_skip(d, "governor", first, first_err, NULL);
	if (refused)
		snprintf(tail, sizeof(tail), " (the host refused '%s': %s)", first,
			 strerror(-first_err));
	return prepare_diag(
		d, failed ? LOG_WARNING : LOG_INFO,
		"governor: " GOVERNOR
		" on %u of the VM's %zu CPUs (%u changed, %u already), %u could not be set%s",
		changed + already, t->n_vm, changed, already, failed, refused ? tail : "");
}
