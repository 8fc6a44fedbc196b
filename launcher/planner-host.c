/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The planner's view of the host (pl_host, planner-internal.h), built from
 * the probed host_cpus: online threads grouped into cores, cores into L3
 * domains, each tagged with its NUMA node and core type. Plus the small
 * helpers planner.c and planner-check.c share for their messages.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner-internal.h"

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* ---- the host ------------------------------------------------------------------ */

void pl_host_done(struct pl_host *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_doms; i++)
		free(h->doms[i].cores);
	free(h->doms);
	free(h->cores);
	free(h->core_of);
	*h = (struct pl_host){ 0 };
}

static int host_add_core_to_dom(struct pl_host *h, const struct host_cpu *cpu, size_t k)
{
	const struct host_cpus *c = h->c;
	struct pl_dom *d = NULL;
	size_t *t;

	for (size_t i = 0; i < h->n_doms && !d; i++) {
		struct pl_dom *x = &h->doms[i];

		if (cpu->l3 >= 0 ? x->l3 == cpu->l3
				 : x->l3 < 0 && x->package == cpu->package && x->node == cpu->node)
			d = x;
	}
	if (!d) {
		struct pl_dom *v = realloc(h->doms, (h->n_doms + 1) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->doms = v;
		d = &h->doms[h->n_doms++];
		*d = (struct pl_dom){
			.l3 = cpu->l3,
			.package = cpu->package,
			.node = cpu->node,
			/* The plan tests build hosts without l3s[]: size unknown then. */
			.size = cpu->l3 >= 0 && (size_t)cpu->l3 < c->n_l3s
					? c->l3s[cpu->l3].size_bytes
					: 0,
		};
	}
	t = realloc(d->cores, (d->n_cores + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	d->cores = t;
	d->cores[d->n_cores++] = k;
	h->cores[k].dom = (size_t)(d - h->doms);
	return 0;
}

int pl_host_build(const struct host_cpus *c, struct pl_host *ret)
{
	_cleanup_(pl_host_done) struct pl_host h = { .c = c };
	_cleanup_free_ int *by_index = NULL;
	bool seen_p = false, seen_e = false;
	int max_index = -1, r;

	h.core_of = malloc(MAX(c->n_cpus, 1) * sizeof(int));
	h.cores = calloc(MAX(c->n_cpus, 1), sizeof(*h.cores));
	if (!h.core_of || !h.cores)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_cpus; i++)
		if (c->cpus[i].online)
			max_index = MAX(max_index, c->cpus[i].core_index);
	by_index = malloc((size_t)(max_index + 1) * sizeof(int) + 1);
	if (!by_index)
		return -ENOMEM;
	for (int i = 0; i <= max_index; i++)
		by_index[i] = -1;

	/* cpus[] is sorted by id, so cores and domains come in order of their lowest CPU. */
	for (size_t i = 0; i < c->n_cpus; i++) {
		const struct host_cpu *cpu = &c->cpus[i];
		struct pl_core *core;
		int k;

		h.core_of[i] = -1;
		if (!cpu->online)
			continue;
		k = cpu->core_index >= 0 ? by_index[cpu->core_index] : -1;
		if (k < 0) {
			k = (int)h.n_cores++;
			h.cores[k] = (struct pl_core){ .index = cpu->core_index,
						       .node = cpu->node,
						       .type = cpu->type };
			if (cpu->core_index >= 0)
				by_index[cpu->core_index] = k;
			r = host_add_core_to_dom(&h, cpu, (size_t)k);
			if (r < 0)
				return r;
		}
		core = &h.cores[k];
		if (core->n == PL_THREADS_MAX)
			continue;
		core->cpus[core->n++] = cpu->id;
		h.doms[core->dom].n_threads++;
		h.n_threads++;
		h.core_of[i] = k;
		seen_p = seen_p || cpu->type == CORE_TYPE_PERFORMANCE;
		seen_e = seen_e || cpu->type == CORE_TYPE_EFFICIENCY;
	}
	h.hybrid = seen_p && seen_e;

	*ret = h;
	h = (struct pl_host){ 0 };
	return 0;
}

int pl_core_of_cpu(const struct pl_host *h, unsigned cpu)
{
	const struct host_cpu *hc = host_cpus_find(h->c, cpu);

	return hc ? h->core_of[hc - h->c->cpus] : -1;
}

size_t pl_node_threads(const struct pl_host *h, int node)
{
	size_t n = 0;

	for (size_t k = 0; k < h->n_cores; k++)
		if (node < 0 || h->cores[k].node == node)
			n += h->cores[k].n;
	return n;
}

/* ---- helpers ------------------------------------------------------------------------ */

int pl_diag(struct cpu_plan *p, int level, const char *section, const char *key, const char *fmt,
	    ...)
{
	struct planner_diag *t;
	va_list ap;
	char *msg;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	t = realloc(p->diags, (p->n_diags + 1) * sizeof(*t));
	if (!t) {
		free(msg);
		return -ENOMEM;
	}
	p->diags = t;
	p->diags[p->n_diags++] =
		(struct planner_diag){ .level = level, .section = section, .key = key, .msg = msg };
	return 0;
}

int pl_format_set(const unsigned *v, size_t n, char **ret)
{
	_cleanup_free_ unsigned *s = NULL;

	if (n == 0) {
		*ret = strdup("none");
		return *ret ? 0 : -ENOMEM;
	}
	s = malloc(n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_unsigned);
	/* A set: a CPU named twice (overcommit) is listed once. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || s[m - 1] != s[i])
			s[m++] = s[i];
	return format_cpu_list(s, m, ret);
}

const char *pl_format_l3(const struct pl_dom *d, char *buf, size_t size)
{
	if (d->size == 0)
		snprintf(buf, size, "size unknown");
	else
		format_size(d->size, buf, size);
	return buf;
}

int pl_appendf(char **s, const char *fmt, ...)
{
	_cleanup_free_ char *add = NULL;
	va_list ap;
	char *n;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&add, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (asprintf(&n, "%s%s", *s ? *s : "", add) < 0)
		return -ENOMEM;
	free(*s);
	*s = n;
	return 0;
}
