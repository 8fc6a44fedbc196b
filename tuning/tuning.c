/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tuning actions in order, and the CPU sets they share (see tuning.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fileio.h"
#include "macro.h"
#include "tuning.h"

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

void tuning_cpus_done(struct tuning_cpus *t)
{
	if (!t)
		return;
	free(t->vm);
	free(t->housekeeping);
	*t = (struct tuning_cpus){};
}

int tuning_cpus_from_plan(const struct plan *p, unsigned vcpus, struct tuning_cpus *ret)
{
	_cleanup_(tuning_cpus_done) struct tuning_cpus t = {};
	size_t n = 0;

	if (p->vcpu_pin && vcpus > 0) {
		t.vm = malloc(vcpus * sizeof(*t.vm));
		if (!t.vm)
			return -ENOMEM;
		memcpy(t.vm, p->vcpu_pin, vcpus * sizeof(*t.vm));
		qsort(t.vm, vcpus, sizeof(*t.vm), cmp_unsigned);
		/* Overcommit names a host CPU twice: once is enough here. */
		for (size_t i = 0; i < vcpus; i++)
			if (n == 0 || t.vm[n - 1] != t.vm[i])
				t.vm[n++] = t.vm[i];
		t.n_vm = n;
	}
	if (p->housekeeping && p->n_housekeeping > 0) {
		t.housekeeping = malloc(p->n_housekeeping * sizeof(*t.housekeeping));
		if (!t.housekeeping)
			return -ENOMEM;
		memcpy(t.housekeeping, p->housekeeping, p->n_housekeeping * sizeof(unsigned));
		qsort(t.housekeeping, p->n_housekeeping, sizeof(unsigned), cmp_unsigned);
		t.n_housekeeping = p->n_housekeeping;
	}
	*ret = t;
	t = (struct tuning_cpus){};
	return 0;
}

int format_cpumask_hex(const unsigned *cpus, size_t n, char **ret)
{
	_cleanup_free_ uint32_t *words = NULL;
	unsigned max = 0;
	size_t n_words, len = 0;
	char *s;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		max = MAX(max, cpus[i]);
	n_words = max / 32 + 1;
	words = calloc(n_words, sizeof(*words));
	if (!words)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		words[cpus[i] / 32] |= UINT32_C(1) << (cpus[i] % 32);
	s = malloc(n_words * 9 + 1);
	if (!s)
		return -ENOMEM;
	/* Most significant group first, the first one without leading zeros. */
	for (size_t i = n_words; i > 0; i--)
		len += (size_t)sprintf(s + len, i == n_words ? "%" PRIx32 : ",%08" PRIx32,
				       words[i - 1]);
	*ret = s;
	return 0;
}

bool tuning_err_is_skip(int err)
{
	return err == -ENOENT || err == -ENOTDIR || write_err_is_refusal(err);
}

int tuning_skip(struct plan_diags *d, const char *what, const char *where, int err, const char *why)
{
	if (err == -ENOENT || err == -ENOTDIR)
		return prepare_diag(d, LOG_NOTICE,
				    "%s: not available, skipped ('%s' is missing%s%s)", what, where,
				    why ? ": " : "", why ? why : "");
	return prepare_diag(
		d, LOG_NOTICE,
		"%s: not available, skipped (this host does not let gamevm change '%s': %s)", what,
		where, strerror(-err));
}

int tuning_write(struct journal *j, const struct host_root *h, enum journal_kind kind,
		 const char *path, const char *value, int *ret_err)
{
	_cleanup_free_ char *line = NULL, *old = NULL;
	struct journal_record rec = { .kind = kind };
	int dir_fd = kind == JOURNAL_PROCFS ? h->proc_fd : h->sys_fd;
	int r;

	r = dir_fd < 0 ? -ENOENT : read_one_line_at(dir_fd, path, &line);
	if (r >= 0 && kind == JOURNAL_SYSFS_CHOICE)
		r = sysfs_choice_current(line, &old);
	else if (r >= 0)
		old = TAKE_PTR(line);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		*ret_err = r;
		return 1;
	}
	if (streq(old, value))
		return 2;
	rec.target = (char *)path;
	rec.old = old;
	rec.new = (char *)value;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;
	/* An attribute read back empty is cleared with "\n": a write of nothing never reaches the
	 * kernel. */
	r = write_string_at(dir_fd, path, isempty(value) ? "\n" : value);
	if (r < 0) {
		*ret_err = r;
		return 1;
	}
	return 0;
}

int tuning_apply(const struct host_root *h, struct journal *j, const struct vm_config *c,
		 const struct plan *p, int *ret_pmqos_fd, struct plan_diags *d)
{
	_cleanup_(tuning_cpus_done) struct tuning_cpus t = {};
	int fd = -1, r;

	r = tuning_cpus_from_plan(p, c->vcpus, &t);
	if (r < 0)
		return r;

	if (!t.vm) {
		if (c->tune_governor || c->tune_cstates || c->tune_irq_affinity ||
		    c->tune_workqueues || c->tune_cpusets) {
			r = prepare_diag(
				d, LOG_NOTICE,
				"CPU tuning skipped: the vCPUs are not pinned ([cpu] pin), so there are no VM CPUs to keep quiet");
			if (r < 0)
				return r;
		}
	} else {
		if (c->tune_governor) {
			r = (tuning_governor_apply(h, j, &t, d));
			if (r < 0)
				return r;
		}
		if (c->tune_cstates) {
			r = (tuning_pmqos_hold(h, &fd, d));
			if (r < 0)
				return r;
		}
		if (!t.housekeeping &&
		    (c->tune_irq_affinity || c->tune_workqueues || c->tune_cpusets)) {
			r = prepare_diag(
				d, LOG_NOTICE,
				"IRQ, workqueue and cpuset tuning skipped: no housekeeping CPUs ([cpu] housekeeping) to move the host's work to");
			if (r < 0)
				goto fail;
		} else if (t.housekeeping) {
			if (c->tune_irq_affinity) {
				r = (tuning_irq_apply(h, j, &t, d));
				if (r < 0)
					goto fail;
			}
			if (c->tune_workqueues) {
				r = (tuning_workqueue_apply(h, j, &t, d));
				if (r < 0)
					goto fail;
			}
			if (c->tune_cpusets) {
				r = (tuning_cpuset_apply(h, j, c->name, &t, d));
				if (r < 0)
					goto fail;
			}
		}
	}

	r = (tuning_vm_apply(h, j, c, d));
	if (r < 0)
		goto fail;
	*ret_pmqos_fd = fd;
	return 0;
fail:
	closep(&fd);
	return r;
}
