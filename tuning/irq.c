/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host IRQs to the housekeeping CPUs while the VM runs, so that a NIC or
 * disk interrupt does not preempt a vCPU: every proc/irq/N/smp_affinity_list,
 * and proc/irq/default_smp_affinity for IRQs set up while the VM runs.
 * Each is journaled (JOURNAL_PROCFS) before it is written. The kernel
 * refuses some (managed IRQs of multi-queue devices: EIO; the timer,
 * per-CPU IRQs: EIO or EINVAL; IRQs whose chip cannot move them, such as
 * some virtio ones in VMs: EPERM): they are skipped and counted. A host
 * that refuses every write (a read-only /proc in a container: EROFS) or
 * has no proc/irq gets one notice. The record of a refused write restores
 * nothing, since the undo finds the old value.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fileio.h"
#include "macro.h"
#include "parse-util.h"
#include "tuning.h"

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* The IRQ numbers under proc/irq, sorted (a stable journal order). */
static int irq_list(const struct host_root *h, unsigned **ret, size_t *ret_n)
{
	_cleanup_(closedirp) DIR *dir = NULL;
	_cleanup_free_ unsigned *v = NULL;
	size_t n = 0;
	struct dirent *de;
	int fd;

	fd = openat(h->proc_fd, "irq", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NEG_ERRNO();
	dir = fdopendir(fd);
	if (!dir) {
		int r = NEG_ERRNO();

		close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(dir))) {
		unsigned irq, *t;

		if (safe_atou(de->d_name, &irq) < 0)
			continue;
		t = reallocarray(v, n + 1, sizeof(*v));
		if (!t)
			return -ENOMEM;
		v = t;
		v[n++] = irq;
	}
	if (errno)
		return NEG_ERRNO();
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_unsigned);
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

int tuning_irq_apply(const struct host_root *h, struct journal *j, const struct tuning_cpus *t,
		     struct plan_diags *d)
{
	_cleanup_free_ char *list = NULL, *mask = NULL;
	_cleanup_free_ unsigned *irqs = NULL;
	unsigned moved = 0, already = 0, kept = 0, refused = 0, failed = 0;
	int r, def_r, err = 0, def_err = 0, first_err = 0, refused_err = 0;
	size_t n = 0;
	char path[64], where[512], first[512] = "";

	if (t->n_housekeeping == 0)
		return 0;
	host_root_path(h, "proc", "irq", where, sizeof(where));
	if (h->proc_fd < 0)
		return tuning_skip(d, "irq-affinity", where, -ENOENT, NULL);
	r = format_cpu_list(t->housekeeping, t->n_housekeeping, &list);
	if (r >= 0)
		r = format_cpumask_hex(t->housekeeping, t->n_housekeeping, &mask);
	if (r < 0)
		return r;
	r = irq_list(h, &irqs, &n);
	if (r == -ENOMEM)
		return r;
	if (read_err_is_absent(r))
		return tuning_skip(d, "irq-affinity", where, r, NULL);
	if (r < 0)
		return prepare_diag(d, LOG_WARNING, "irq-affinity: cannot list '%s': %s, skipped",
				    where, strerror(-r));

	/* New IRQs first, so none set up meanwhile lands on a vCPU. */
	def_r = tuning_write(j, h, JOURNAL_PROCFS, "irq/default_smp_affinity", mask, &err);
	if (def_r < 0)
		return def_r;
	if (def_r == 1)
		def_err = err;

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "irq/%u/smp_affinity_list", irqs[i]);
		r = tuning_write(j, h, JOURNAL_PROCFS, path, list, &err);
		if (r < 0)
			return r;
		if (r == 0)
			moved++;
		else if (r == 2)
			already++;
		else if (err == -EIO || err == -EINVAL)
			kept++;
		else if (write_err_is_refusal(err)) {
			if (refused++ == 0)
				refused_err = err;
		} else if (err != -ENOENT) { /* freed meanwhile: not ours to count */
			failed++;
			if (!first_err) {
				first_err = err;
				host_root_path(h, "proc", path, first, sizeof(first));
			}
		}
	}

	/* Every write tried was refused outright (a read-only /proc): one notice. */
	if (write_err_is_refusal(def_err))
		refused_err = def_err;
	if (refused_err && moved + kept + failed == 0 &&
	    (def_r == 2 || write_err_is_refusal(def_err)))
		return tuning_skip(d, "irq-affinity", where, refused_err, NULL);

	if (def_err) {
		r = prepare_diag(
			d, LOG_WARNING, "irq-affinity: cannot set '%s' to %s: %s",
			host_root_path(h, "proc", "irq/default_smp_affinity", where, sizeof(where)),
			mask, strerror(-def_err));
		if (r < 0)
			return r;
	}
	if (failed > 0) {
		r = prepare_diag(
			d, LOG_WARNING,
			"irq-affinity: %u IRQs could not be moved to CPUs %s (first: '%s': %s)",
			failed, list, first, strerror(-first_err));
		if (r < 0)
			return r;
	}
	return prepare_diag(
		d, LOG_INFO,
		"irq-affinity: %u IRQs moved to CPUs %s, %u were there already, %u skipped (the kernel keeps managed and per-CPU IRQs where they are)",
		moved, list, already, kept + refused);
}
