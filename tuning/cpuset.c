/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Other workloads kept off the VM's CPUs with cgroup v2 cpusets while the
 * VM runs: cpuset.cpus of system.slice, user.slice and init.scope (what
 * systemd calls AllowedCPUs; systemctl set-property --runtime writes the
 * same files) limited to the housekeeping CPUs, each journaled
 * (JOURNAL_SYSFS; "" before, which the undo writes back as "inherit
 * everything"). The cpuset controller must be enabled in the root's
 * cgroup.subtree_control for those files to exist; when it is not,
 * gamevm enables it first (JOURNAL_CGROUP_CONTROLLER) and disables it again
 * last. QEMU itself stays where the supervisor put it: its threads are
 * pinned per thread (launcher/pin.c).
 *
 * TODO(issue 5): QEMU in a cgroup of its own with the VM's CPUs
 * (gamevm.slice/NAME, cpuset.cpus = vCPUs + housekeeping), created here and
 * journaled, QEMU moved in by the start side (cgroup.procs) once spawned.
 * TODO: systemd may write its own AllowedCPUs back on daemon-reload when a
 * unit sets them; going through systemd's D-Bus (SetUnitProperties,
 * runtime) would survive that.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "fileio.h"
#include "macro.h"
#include "tuning.h"

#define CGROUP_ROOT "fs/cgroup"

static const char *const limited[] = { "system.slice", "user.slice", "init.scope" };

static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

/* 0: enabled now or before; 1: could not (a warning was added); < 0: fatal. */
static int controller_enable(const struct host_root *h, struct journal *j, struct plan_diags *d)
{
	_cleanup_free_ char *ctl = NULL;
	struct journal_record rec = {
		.kind = JOURNAL_CGROUP_CONTROLLER,
		.target = (char *)CGROUP_ROOT,
		.new = (char *)"cpuset",
	};
	char where[512];
	int r;

	host_root_path(h, "sys", CGROUP_ROOT "/cgroup.subtree_control", where, sizeof(where));
	r = read_one_line_at(h->sys_fd, CGROUP_ROOT "/cgroup.subtree_control", &ctl);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		r = prepare_diag(d, LOG_WARNING, "cpusets: cannot read %s: %s, skipped", where,
				 strerror(-r));
		return r < 0 ? r : 1;
	}
	if (word_in(ctl, "cpuset"))
		return 0;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;
	r = write_string_at(h->sys_fd, CGROUP_ROOT "/cgroup.subtree_control", "+cpuset");
	if (r < 0) {
		r = prepare_diag(d, LOG_WARNING,
				 "cpusets: cannot enable the cpuset controller in %s: %s, skipped",
				 where, strerror(-r));
		return r < 0 ? r : 1;
	}
	r = prepare_diag(d, LOG_INFO, "cpusets: cpuset controller enabled in %s", where);
	return r < 0 ? r : 0;
}

int tuning_cpuset_apply(const struct host_root *h, struct journal *j, const struct tuning_cpus *t,
			struct plan_diags *d)
{
	_cleanup_free_ char *list = NULL, *ctl = NULL;
	char path[128], where[512];
	unsigned done = 0;
	int r, err = 0;

	if (h->sys_fd < 0 || t->n_housekeeping == 0)
		return 0;
	r = read_one_line_at(h->sys_fd, CGROUP_ROOT "/cgroup.controllers", &ctl);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return prepare_diag(
			d, LOG_NOTICE,
			"cpusets: not available, skipped (no cgroup v2 hierarchy at %s)",
			host_root_path(h, "sys", CGROUP_ROOT, where, sizeof(where)));
	if (!word_in(ctl, "cpuset"))
		return prepare_diag(
			d, LOG_NOTICE,
			"cpusets: not available, skipped (the cgroup v2 hierarchy has no cpuset controller; a cgroup v1 cpuset mount holds it)");
	r = controller_enable(h, j, d);
	if (r != 0)
		return r < 0 ? r : 0;

	r = format_cpu_list(t->housekeeping, t->n_housekeeping, &list);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(limited); i++) {
		snprintf(path, sizeof(path), CGROUP_ROOT "/%s/cpuset.cpus", limited[i]);
		r = tuning_write(j, h, JOURNAL_SYSFS, path, list, &err);
		if (r < 0)
			return r;
		if (r == 1 && err == -ENOENT)
			continue; /* no such cgroup on this host (not systemd) */
		if (r == 1) {
			r = prepare_diag(d, LOG_WARNING, "cpusets: cannot limit %s to CPUs %s: %s",
					 host_root_path(h, "sys", path, where, sizeof(where)), list,
					 strerror(-err));
			if (r < 0)
				return r;
			continue;
		}
		done++;
		r = prepare_diag(d, LOG_INFO, "cpusets: %s limited to CPUs %s", limited[i], list);
		if (r < 0)
			return r;
	}
	if (done == 0)
		return prepare_diag(
			d, LOG_NOTICE,
			"cpusets: none of system.slice, user.slice, init.scope could be limited");
	return 0;
}

int tuning_cpuset_undo_controller(const struct host_root *h, const struct journal_record *rec,
				  struct plan_diags *d)
{
	_cleanup_free_ char *ctl = NULL, *minus = NULL;
	char path[1100], where[512];
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", rec->target);
	host_root_path(h, "sys", path, where, sizeof(where));
	r = h->sys_fd < 0 ? -ENOENT : read_one_line_at(h->sys_fd, path, &ctl);
	if (r < 0) {
		(void)prepare_diag(d, LOG_ERR, "cannot read %s to disable '%s' again: %s", where,
				   rec->new, strerror(-r));
		return r;
	}
	if (!word_in(ctl, rec->new))
		return 0;
	if (asprintf(&minus, "-%s", rec->new) < 0)
		return -ENOMEM;
	r = write_string_at(h->sys_fd, path, minus);
	if (r < 0) {
		/* EBUSY: a child cgroup enabled it for its own children meanwhile. */
		(void)prepare_diag(d, LOG_ERR, "cannot disable the %s controller in %s again: %s",
				   rec->new, where, strerror(-r));
		return r;
	}
	return prepare_diag(d, LOG_INFO, "the %s controller disabled again in %s", rec->new, where);
}
