/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Other workloads kept off the VM's CPUs with cgroup v2 cpusets while the
 * VM runs: cpuset.cpus of system.slice, user.slice and init.scope (what
 * systemd calls AllowedCPUs; systemctl set-property --runtime writes the
 * same files) limited to the housekeeping CPUs, each journaled
 * (JOURNAL_CGROUP_CPUS; "" before, which the undo writes back as
 * "inherit everything"). The cpuset controller must be enabled in the root's
 * cgroup.subtree_control for those files to exist; when it is not,
 * gamevm enables it first (JOURNAL_CGROUP_CONTROLLER) and disables it again
 * last. QEMU gets a cgroup of its own, gamevm/NAME at the top of the
 * hierarchy (cpuset.cpus = the VM's CPUs + housekeeping): as gamevm's child
 * it would otherwise stay in gamevm's own, now limited, slice, where its
 * vCPU threads cannot be pinned to the VM's CPUs. Each directory and
 * controller gamevm creates is journaled, so the replay removes them after
 * QEMU is gone. The start side moves QEMU in before pinning.
 * TODO: systemd may write its own AllowedCPUs back on daemon-reload when a
 * unit sets them; going through systemd's D-Bus (SetUnitProperties,
 * runtime) would survive that.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* 0: enabled now or before; 1: could not (a notice or warning was added); < 0: fatal. */
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
	if (read_err_is_absent(r)) {
		r = tuning_skip(d, "cpusets", where, r, NULL);
		return r < 0 ? r : 1;
	}
	if (r < 0) {
		r = prepare_diag(d, LOG_WARNING, "cpusets: cannot read '%s': %s, skipped", where,
				 strerror(-r));
		return r < 0 ? r : 1;
	}
	if (word_in(ctl, "cpuset"))
		return 0;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;
	r = write_string_at(h->sys_fd, CGROUP_ROOT "/cgroup.subtree_control", "+cpuset");
	if (r < 0 && write_err_is_refusal(r)) {
		r = tuning_skip(d, "cpusets", where, r, NULL);
		return r < 0 ? r : 1;
	}
	if (r < 0) {
		r = prepare_diag(
			d, LOG_WARNING,
			"cpusets: cannot enable the cpuset controller in '%s': %s, skipped", where,
			strerror(-r));
		return r < 0 ? r : 1;
	}
	r = prepare_diag(d, LOG_INFO, "cpusets: cpuset controller enabled in '%s'", where);
	return r < 0 ? r : 0;
}

int tuning_qemu_cgroup_path(const char *name, char **ret)
{
	char *p;

	if (asprintf(&p, TUNING_QEMU_CGROUP_PARENT "/%s", name) < 0)
		return -ENOMEM;
	*ret = p;
	return 0;
}

/* 0: there now (made or found); 1: could not (a warning was added); < 0: fatal. */
static int cgroup_mkdir(const struct host_root *h, struct journal *j, const char *path,
			struct plan_diags *d)
{
	struct journal_record rec = { .kind = JOURNAL_CGROUP_DIR, .target = (char *)path };
	char where[512];
	int r;

	r = file_exists_at(h->sys_fd, path);
	if (r != 0)
		return r < 0 ? r : 0;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;
	if (mkdirat(h->sys_fd, path, 0755) < 0 && errno != EEXIST) {
		r = prepare_diag(d, LOG_WARNING, "cpusets: cannot create the cgroup %s: %m",
				 host_root_path(h, "sys", path, where, sizeof(where)));
		return r < 0 ? r : 1;
	}
	return 0;
}

static int qemu_cgroup_create(const struct host_root *h, struct journal *j, const char *name,
			      const struct tuning_cpus *t, struct plan_diags *d)
{
	_cleanup_free_ char *path = NULL, *ctl = NULL, *list = NULL, *cpus_path = NULL;
	_cleanup_free_ unsigned *all = NULL;
	struct journal_record rec = {
		.kind = JOURNAL_CGROUP_CONTROLLER,
		.target = (char *)TUNING_QEMU_CGROUP_PARENT,
		.new = (char *)"cpuset",
	};
	size_t n = 0;
	char where[512];
	int r;

	r = tuning_qemu_cgroup_path(name, &path);
	if (r < 0)
		return r;
	r = cgroup_mkdir(h, j, TUNING_QEMU_CGROUP_PARENT, d);
	if (r != 0)
		return r < 0 ? r : 0;
	/* The child's cpuset files exist only with the controller on in its parent. */
	r = read_one_line_at(h->sys_fd, TUNING_QEMU_CGROUP_PARENT "/cgroup.subtree_control", &ctl);
	if (r == -ENOMEM)
		return r;
	if (r >= 0 && !word_in(ctl, "cpuset")) {
		r = journal_append(j, &rec, NULL);
		if (r < 0)
			return r;
		r = write_string_at(h->sys_fd, TUNING_QEMU_CGROUP_PARENT "/cgroup.subtree_control",
				    "+cpuset");
	}
	if (r < 0) {
		r = prepare_diag(
			d, LOG_WARNING, "cpusets: cannot enable the cpuset controller in %s: %s",
			host_root_path(h, "sys", TUNING_QEMU_CGROUP_PARENT, where, sizeof(where)),
			strerror(-r));
		return r < 0 ? r : 0;
	}
	r = cgroup_mkdir(h, j, path, d);
	if (r != 0)
		return r < 0 ? r : 0;

	all = malloc((t->n_vm + t->n_housekeeping) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_vm; i++)
		all[n++] = t->vm[i];
	for (size_t i = 0; i < t->n_housekeeping; i++) {
		bool dup = false;
		for (size_t k = 0; k < t->n_vm; k++)
			dup = dup || t->vm[k] == t->housekeeping[i];
		if (!dup)
			all[n++] = t->housekeeping[i];
	}
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && all[k - 1] > all[k]; k--) {
			unsigned x = all[k];
			all[k] = all[k - 1];
			all[k - 1] = x;
		}
	if (format_cpu_list(all, n, &list) < 0 || asprintf(&cpus_path, "%s/cpuset.cpus", path) < 0)
		return -ENOMEM;
	/* No journal record: the directory is gamevm's and goes away whole. */
	r = write_string_at(h->sys_fd, cpus_path, list);
	if (r < 0)
		r = prepare_diag(d, LOG_WARNING, "cpusets: cannot set %s to %s: %s",
				 host_root_path(h, "sys", cpus_path, where, sizeof(where)), list,
				 strerror(-r));
	else
		r = prepare_diag(d, LOG_INFO, "cpusets: QEMU runs in the cgroup %s (CPUs %s)",
				 host_root_path(h, "sys", path, where, sizeof(where)), list);
	return r < 0 ? r : 0;
}

/*
 * A cpuset.cpus that was "" (inherit the parent's CPUs) cannot be written
 * back to "" while the cgroup holds tasks: the kernel refuses an empty
 * cpus_allowed for a populated cpuset with ENOSPC (validate_change() in
 * kernel/cgroup/cpuset.c), and system.slice always holds tasks, gamevm's
 * own among them when it runs as a service. Its parent's effective CPUs are
 * the same set; only a later CPU hotplug would tell them apart, and systemd
 * rewrites the file on its next change anyway.
 */
int tuning_cpuset_undo_cpus(const struct host_root *h, const struct journal_record *rec,
			    struct plan_diags *d)
{
	_cleanup_free_ char *cur = NULL, *parent = NULL, *eff_path = NULL, *eff = NULL;
	const char *slash;
	char where[512];
	int r;

	if (!isempty(rec->old))
		return journal_undo_sysfs(h, rec, d);
	host_root_path(h, "sys", rec->target, where, sizeof(where));
	r = h->sys_fd < 0 ? -ENOENT : read_one_line_at(h->sys_fd, rec->target, &cur);
	if (r == -ENOENT)
		return 0; /* the cgroup is gone: nothing is limited */
	if (r < 0)
		return prepare_diag(d, LOG_ERR, "cannot read '%s' to restore it: %s", where,
				    strerror(-r)),
		       r;
	if (isempty(cur))
		return 0;
	r = write_string_at(h->sys_fd, rec->target, "\n");
	if (r >= 0)
		return prepare_diag(d, LOG_INFO, "'%s' set back to '' (was '%s')", where, cur);
	if (r != -ENOSPC)
		goto fail;

	slash = strrchr(rec->target, '/');
	parent = slash ? strndup(rec->target, (size_t)(slash - rec->target)) : NULL;
	slash = parent ? strrchr(parent, '/') : NULL;
	if (!slash)
		goto fail;
	if (asprintf(&eff_path, "%.*s/cpuset.cpus.effective", (int)(slash - parent), parent) < 0)
		return -ENOMEM;
	if (read_one_line_at(h->sys_fd, eff_path, &eff) < 0 || isempty(eff))
		goto fail;
	if (streq(cur, eff))
		return 0;
	r = write_string_at(h->sys_fd, rec->target, eff);
	if (r < 0)
		goto fail;
	return prepare_diag(
		d, LOG_INFO,
		"'%s' set back to all of its parent's CPUs, %s (was '%s'; the kernel does not let a cgroup with tasks go back to '')",
		where, eff, cur);
fail:
	(void)prepare_diag(d, LOG_ERR, "cannot write '' back to '%s': %s", where,
			   strerror(r < 0 ? -r : ENOSPC));
	return r < 0 ? r : -ENOSPC;
}

int tuning_cpuset_undo_dir(const struct host_root *h, const struct journal_record *rec,
			   struct plan_diags *d)
{
	char where[512];

	host_root_path(h, "sys", rec->target, where, sizeof(where));
	if (h->sys_fd < 0)
		return 0;
	if (unlinkat(h->sys_fd, rec->target, AT_REMOVEDIR) >= 0)
		return prepare_diag(d, LOG_INFO, "removed the cgroup %s", where);
	if (errno == ENOENT)
		return 0;
	if (errno == EBUSY)
		return prepare_diag(
			       d, LOG_ERR,
			       "cannot remove the cgroup %s: processes are still in it (an orphaned QEMU? stop it, then run gamevm cleanup again)",
			       where),
		       -EBUSY;
	return prepare_diag(d, LOG_ERR, "cannot remove the cgroup %s: %m", where), NEG_ERRNO();
}

int tuning_cpuset_apply(const struct host_root *h, struct journal *j, const char *name,
			const struct tuning_cpus *t, struct plan_diags *d)
{
	_cleanup_free_ char *list = NULL, *ctl = NULL;
	char path[128], where[512], first[512] = "";
	unsigned done = 0, refused = 0;
	int r, err = 0, first_err = 0;

	if (t->n_housekeeping == 0)
		return 0;
	host_root_path(h, "sys", CGROUP_ROOT, where, sizeof(where));
	r = h->sys_fd < 0 ? -ENOENT
			  : read_one_line_at(h->sys_fd, CGROUP_ROOT "/cgroup.controllers", &ctl);
	if (r == -ENOMEM)
		return r;
	if (r == -ENOENT || r == -ENOTDIR)
		/* cgroup v1, or systemd's hybrid mode with an empty cgroup2 at fs/cgroup/unified.
		 */
		return prepare_diag(
			d, LOG_NOTICE,
			"cpusets: not available, skipped (no cgroup v2 hierarchy at '%s': the host uses cgroup v1 or systemd's hybrid mode; booting with systemd.unified_cgroup_hierarchy=1 gives one)",
			where);
	if (read_err_is_absent(r))
		return tuning_skip(d, "cpusets", where, r, NULL);
	if (r < 0)
		return prepare_diag(d, LOG_WARNING,
				    "cpusets: cannot read '%s/cgroup.controllers': %s, skipped",
				    where, strerror(-r));
	if (!word_in(ctl, "cpuset"))
		return prepare_diag(
			d, LOG_NOTICE,
			"cpusets: not available, skipped (the cgroup v2 hierarchy at '%s' has no cpuset controller; a cgroup v1 cpuset mount holds it)",
			where);
	r = controller_enable(h, j, d);
	if (r != 0)
		return r < 0 ? r : 0;

	r = format_cpu_list(t->housekeeping, t->n_housekeeping, &list);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(limited); i++) {
		snprintf(path, sizeof(path), CGROUP_ROOT "/%s/cpuset.cpus", limited[i]);
		r = tuning_write(j, h, JOURNAL_CGROUP_CPUS, path, list, &err);
		if (r < 0)
			return r;
		if (r == 1 && err == -ENOENT)
			continue; /* no such cgroup on this host (not systemd) */
		if (r == 1 && write_err_is_refusal(err)) {
			/* A read-only cgroup tree refuses them all alike: said once below. */
			if (refused++ == 0) {
				host_root_path(h, "sys", path, first, sizeof(first));
				first_err = err;
			}
			continue;
		}
		if (r == 1) {
			r = prepare_diag(d, LOG_WARNING,
					 "cpusets: cannot limit '%s' to CPUs %s: %s",
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
	if (done == 0 && refused > 0)
		return tuning_skip(d, "cpusets", first, first_err, NULL);
	if (refused > 0) {
		r = prepare_diag(d, LOG_WARNING, "cpusets: cannot limit '%s' to CPUs %s: %s", first,
				 list, strerror(-first_err));
		if (r < 0)
			return r;
	}
	if (done == 0)
		return prepare_diag(
			d, LOG_NOTICE,
			"cpusets: none of system.slice, user.slice, init.scope could be limited");
	return qemu_cgroup_create(h, j, name, t, d);
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
