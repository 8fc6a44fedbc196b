/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The checks of a pin list against the host: each rule of the planner that
 * an explicit list breaks becomes a warning saying what it costs in the
 * guest and what to write instead. A list is never changed: the user may
 * know better (a CPU kept for something else), and a warning is enough.
 *
 * Only costs that a better list would avoid are reported: the seed's map
 * shares core 0 between vCPUs 0-1 and housekeeping because all 32 threads
 * are vCPUs, and that is not worth a warning.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "planner-internal.h"

/* The pin list resolved once: core and domain of each vCPU (-1: not a usable CPU). */
struct pl_check {
	const struct pl_host *h;
	const struct planner_input *in;
	struct cpu_plan *p;
	unsigned vcpus;
	unsigned threads; /* guest threads per core */
	int *core;	  /* per vCPU */
	size_t *used;	  /* per core: vCPUs on it */
	bool *hk_core;	  /* per core: holds a housekeeping CPU */
};

/* "0,1" for vCPU / CPU lists in the written order (not a set). */
static int format_seq(const unsigned *v, size_t n, char **ret)
{
	_cleanup_free_ char *s = NULL;

	for (size_t i = 0; i < n; i++)
		if (pl_appendf(&s, "%s%u", i ? "," : "", v[i]) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(s);
	return *ret ? 0 : -ENOMEM;
}

/* A host CPU that runs several vCPUs. */
static int check_overcommit(struct pl_check *k)
{
	_cleanup_free_ char *msg = NULL;
	_cleanup_free_ unsigned *vs = malloc(k->vcpus * sizeof(unsigned));
	_cleanup_free_ bool *done = calloc(k->vcpus, sizeof(bool));

	if (!vs || !done)
		return -ENOMEM;
	for (unsigned v = 0; v < k->vcpus; v++) {
		_cleanup_free_ char *list = NULL;
		size_t n = 0;

		if (done[v] || k->core[v] < 0)
			continue;
		for (unsigned w = v; w < k->vcpus; w++)
			if (k->p->vcpu_pin[w] == k->p->vcpu_pin[v]) {
				vs[n++] = w;
				done[w] = true;
			}
		if (n < 2)
			continue;
		if (format_seq(vs, n, &list) < 0 ||
		    pl_appendf(&msg, "%shost CPU %u runs vCPUs %s", msg ? "; " : "",
			       k->p->vcpu_pin[v], list) < 0)
			return -ENOMEM;
	}
	if (!msg)
		return 0;
	return pl_diag(
		k->p, LOG_WARNING, "cpu", "pin",
		"%s: vCPUs on one CPU thread take turns at a fraction of its speed, and the guest stalls whenever one waits for another that is not running (spinlocks, IPIs); give every vCPU a host CPU of its own",
		msg);
}

/*
 * Guest cores (threads > 1) that are not one host core: split across L3
 * domains (the worse case, reported on its own) or on separate cores.
 * Returns 1 when something was reported.
 */
static int check_guest_pairs(struct pl_check *k)
{
	const struct pl_host *h = k->h;
	_cleanup_free_ char *split = NULL, *apart = NULL;
	unsigned t = k->threads;
	int r;

	if (t < 2 || !h->c->smt)
		return 0;
	for (unsigned g = 0; (g + 1) * t <= k->vcpus; g++) {
		const unsigned *cpus = k->p->vcpu_pin + g * t;
		_cleanup_free_ char *vl = NULL, *cl = NULL;
		bool same_core = true, same_dom = true, valid = true, dup = false;
		char **dst;

		for (unsigned i = 0; i < t; i++) {
			int ci = k->core[g * t + i], c0 = k->core[g * t];

			valid = valid && ci >= 0;
			if (!valid)
				break;
			same_core = same_core && ci == c0;
			same_dom = same_dom && h->cores[ci].dom == h->cores[c0].dom;
			for (unsigned j = 0; j < i; j++)
				dup = dup || cpus[j] == cpus[i];
		}
		/* Unusable CPUs are errors already, a CPU named twice is overcommit. */
		if (!valid || dup || same_core)
			continue;
		dst = same_dom ? &apart : &split;
		{
			unsigned vs[PL_THREADS_MAX];

			for (unsigned i = 0; i < t && i < PL_THREADS_MAX; i++)
				vs[i] = g * t + i;
			if (format_seq(vs, MIN(t, PL_THREADS_MAX), &vl) < 0 ||
			    format_seq(cpus, t, &cl) < 0)
				return -ENOMEM;
		}
		r = pl_appendf(dst, "%svCPUs %s on CPUs %s", *dst ? "; " : "", vl, cl);
		if (r >= 0 && !same_dom) {
			for (unsigned i = 0; r >= 0 && i < t; i++) {
				const struct pl_dom *d = &h->doms[h->cores[k->core[g * t + i]].dom];

				r = pl_appendf(dst,
					       i ? (i + 1 == t ? " and #%d" : ", #%d") : " (L3 #%d",
					       d->l3);
			}
			r = r < 0 ? r : pl_appendf(dst, ")");
		}
		if (r < 0)
			return -ENOMEM;
	}
	if (split) {
		r = pl_diag(
			k->p, LOG_WARNING, "cpu", "pin",
			"guest SMT pairs split across L3 domains: %s; the guest (threads = %u) takes these vCPUs for siblings of one core and keeps related threads on them, but they share no cache and every exchange between them crosses the link between the domains (several times the latency of an L3 hit); pin each guest core to the threads of one host core ('gamevm topology' lists them)",
			split, t);
		if (r < 0)
			return r;
	}
	if (apart) {
		r = pl_diag(
			k->p, LOG_WARNING, "cpu", "threads",
			"guest threads = %u on host CPUs that are not SMT siblings: %s; the guest's scheduler places threads by that topology (it fills one thread of each core before the siblings) and gets it wrong; pin each guest core to the threads of one host core ('gamevm topology' lists them), or set threads = 1",
			t, apart);
		if (r < 0)
			return r;
	}
	return split || apart;
}

/* SMT siblings that run vCPUs of different guest cores. */
static int check_siblings(struct pl_check *k)
{
	const struct pl_host *h = k->h;
	_cleanup_free_ char *msg = NULL;
	unsigned t = k->threads;

	if (!h->c->smt)
		return 0;
	for (size_t c = 0; c < h->n_cores; c++) {
		const struct pl_core *core = &h->cores[c];
		_cleanup_free_ char *vl = NULL, *cl = NULL;
		unsigned vs[PL_THREADS_MAX], cs[PL_THREADS_MAX];
		size_t n = 0;
		bool mixed = false;

		if (core->n < 2 || k->used[c] < 2)
			continue;
		/* The first vCPU on each thread of this core. */
		for (size_t i = 0; i < core->n; i++)
			for (unsigned v = 0; v < k->vcpus; v++)
				if (k->p->vcpu_pin[v] == core->cpus[i]) {
					vs[n] = v;
					cs[n++] = core->cpus[i];
					break;
				}
		for (size_t i = 1; i < n; i++)
			mixed = mixed || vs[i] / t != vs[0] / t;
		if (!mixed)
			continue;
		if (format_seq(vs, n, &vl) < 0 || format_seq(cs, n, &cl) < 0 ||
		    pl_appendf(&msg, "%svCPUs %s on CPUs %s", msg ? "; " : "", vl, cl) < 0)
			return -ENOMEM;
	}
	if (!msg)
		return 0;
	if (t == 1)
		return pl_diag(
			k->p, LOG_WARNING, "cpu", "pin",
			"SMT siblings that the guest sees as separate cores (threads = 1): %s; the guest treats each of these vCPUs as a full core and puts two busy threads on one host core, each then running at SMT speed; list the two threads of a core next to each other (as 'gamevm topology' shows them) so the guest gets threads = 2, or give each vCPU a core of its own",
			msg);
	return pl_diag(
		k->p, LOG_WARNING, "cpu", "pin",
		"SMT siblings that the guest sees as parts of different cores (threads = %u): %s; the guest puts two busy threads on what it thinks are separate cores, and they run at SMT speed; pin each guest core to the threads of one host core ('gamevm topology' lists them)",
		t, msg);
}

/* The vCPUs spread over more L3 domains than they need. */
static int check_domains(struct pl_check *k)
{
	const struct pl_host *h = k->h;
	_cleanup_free_ size_t *caps = calloc(MAX(h->n_doms, 1), sizeof(size_t));
	_cleanup_free_ unsigned *vs = malloc(k->vcpus * sizeof(unsigned));
	_cleanup_free_ char *detail = NULL, *example = NULL;
	size_t used = 0, needed = 0, sum = 0, best = SIZE_MAX;
	bool unknown = false;

	if (!caps || !vs)
		return -ENOMEM;
	for (size_t d = 0; d < h->n_doms; d++) {
		_cleanup_free_ char *vl = NULL;
		size_t n = 0;

		for (unsigned v = 0; v < k->vcpus; v++)
			if (k->core[v] >= 0 && h->cores[k->core[v]].dom == d)
				vs[n++] = v;
		if (n == 0)
			continue;
		used++;
		/* Without L3 information there is nothing to say about L3 domains. */
		unknown = unknown || h->doms[d].l3 < 0;
		if (format_cpu_list(vs, n, &vl) < 0 ||
		    pl_appendf(&detail, "%sL3 #%d: vCPUs %s", detail ? "; " : "", h->doms[d].l3,
			       vl) < 0)
			return -ENOMEM;
	}
	/* Fewest domains that hold them all: the largest first. */
	for (size_t d = 0; d < h->n_doms; d++) {
		size_t j = d;

		for (; j > 0 && caps[j - 1] < h->doms[d].n_threads; j--)
			caps[j] = caps[j - 1];
		caps[j] = h->doms[d].n_threads;
		if (h->doms[d].n_threads >= k->vcpus &&
		    (best == SIZE_MAX || h->doms[d].size > h->doms[best].size))
			best = d;
	}
	for (size_t d = 0; d < h->n_doms && sum < k->vcpus; d++) {
		sum += caps[d];
		needed++;
	}
	if (used <= needed || unknown)
		return 0;
	if (best != SIZE_MAX) {
		_cleanup_free_ unsigned *cpus =
			malloc(MAX(h->doms[best].n_threads, 1) * sizeof(unsigned));
		_cleanup_free_ char *cl = NULL;
		size_t n = 0;

		if (!cpus)
			return -ENOMEM;
		for (size_t j = 0; j < h->doms[best].n_cores; j++) {
			const struct pl_core *c = &h->cores[h->doms[best].cores[j]];

			for (size_t i = 0; i < c->n; i++)
				cpus[n++] = c->cpus[i];
		}
		if (pl_format_set(cpus, n, &cl) < 0 ||
		    asprintf(&example, ", such as L3 #%d (CPUs %s)", h->doms[best].l3, cl) < 0)
			return -ENOMEM;
	}
	return pl_diag(
		k->p, LOG_WARNING, "cpu", "pin",
		"the vCPUs span %zu L3 domains (%s), but %u vCPUs fit in %zu: threads of a game share data through the L3, and between domains each exchange crosses the link between them (on Ryzen several times the latency of an L3 hit), felt as uneven frame times; keep them in %s%s",
		used, detail, k->vcpus, needed, needed == 1 ? "one domain" : "fewer domains",
		example ? example : "");
}

/* The vCPUs away from the GPU's (else the memory's) node, or spread over nodes. */
static int check_nodes(struct pl_check *k)
{
	const struct pl_host *h = k->h;
	const struct planner_input *in = k->in;
	_cleanup_free_ unsigned *vs = malloc(k->vcpus * sizeof(unsigned));
	_cleanup_free_ unsigned *cpus = malloc(MAX(h->n_threads, 1) * sizeof(unsigned));
	_cleanup_free_ char *vl = NULL, *cl = NULL, *what = NULL;
	int target = -1, span = -1;
	size_t n = 0, nc = 0;
	bool spread = false;

	if (!vs || !cpus)
		return -ENOMEM;
	if (h->c->n_nodes <= 1)
		return 0;
	if (in->gpu_node >= 0 && pl_node_threads(h, in->gpu_node) > 0) {
		target = in->gpu_node;
		if (asprintf(&what, "the GPU %s", in->gpu) < 0)
			return -ENOMEM;
	} else if (in->memory_node >= 0 && pl_node_threads(h, in->memory_node) > 0) {
		target = in->memory_node;
		if (asprintf(&what, "guest memory ([memory] node)") < 0)
			return -ENOMEM;
	}
	for (unsigned v = 0; v < k->vcpus; v++) {
		int node;

		if (k->core[v] < 0)
			continue;
		node = h->cores[k->core[v]].node;
		if (span == -1)
			span = node;
		spread = spread || node != span;
		if (target >= 0 && node != target)
			vs[n++] = v;
	}
	if (n == 0 && !spread)
		return 0;
	if (n == 0) {
		/* Spread without a target: worth it only when one node would hold them. */
		for (size_t i = 0; i < h->c->n_nodes && target < 0; i++)
			if (pl_node_threads(h, h->c->nodes[i].id) >= k->vcpus)
				target = h->c->nodes[i].id;
		if (target < 0)
			return 0;
	}
	for (size_t c = 0; c < h->n_cores; c++)
		for (size_t i = 0; h->cores[c].node == target && i < h->cores[c].n; i++)
			cpus[nc++] = h->cores[c].cpus[i];
	if (pl_format_set(cpus, nc, &cl) < 0)
		return -ENOMEM;
	if (n == 0)
		return pl_diag(
			k->p, LOG_WARNING, "cpu", "pin",
			"the vCPUs span several NUMA nodes: guest memory is local to one node at most, and the vCPUs of the others reach it across the link between nodes; %u vCPUs fit on node %d (CPUs %s)",
			k->vcpus, target, cl);
	if (format_cpu_list(vs, n, &vl) < 0)
		return -ENOMEM;
	return pl_diag(
		k->p, LOG_WARNING, "cpu", "pin",
		"vCPUs %s run outside NUMA node %d, where %s is: their memory accesses and the GPU's interrupts cross the link between nodes, adding latency to every frame; node %d has CPUs %s",
		vl, target, what, target, cl);
}

/* vCPUs on the housekeeping cores while a core could take the housekeeping instead. */
static int check_housekeeping(struct pl_check *k)
{
	const struct pl_host *h = k->h;
	_cleanup_free_ unsigned *vs = malloc(k->vcpus * sizeof(unsigned));
	_cleanup_free_ unsigned *cs = malloc(k->vcpus * sizeof(unsigned));
	_cleanup_free_ char *vl = NULL, *cl = NULL, *hl = NULL, *fl = NULL;
	size_t n = 0, free_core = SIZE_MAX;

	if (!vs || !cs)
		return -ENOMEM;
	if (!k->p->housekeeping || k->p->n_housekeeping == 0)
		return 0;
	for (unsigned v = 0; v < k->vcpus; v++)
		if (k->core[v] >= 0 && k->hk_core[k->core[v]]) {
			vs[n] = v;
			cs[n++] = k->p->vcpu_pin[v];
		}
	for (size_t c = 0; c < h->n_cores && free_core == SIZE_MAX; c++)
		if (k->used[c] == 0 && !k->hk_core[c])
			free_core = c;
	if (n == 0 || free_core == SIZE_MAX)
		return 0;
	if (format_cpu_list(vs, n, &vl) < 0 || pl_format_set(cs, n, &cl) < 0 ||
	    pl_format_set(k->p->housekeeping, k->p->n_housekeeping, &hl) < 0 ||
	    pl_format_set(h->cores[free_core].cpus, h->cores[free_core].n, &fl) < 0)
		return -ENOMEM;
	return pl_diag(
		k->p, LOG_WARNING, "cpu", "pin",
		"vCPU%s %s on CPU%s %s, on the cores of the housekeeping CPUs %s (QEMU's emulator and I/O threads, host interrupts): host work preempts %s, felt as stutter; CPUs %s run no vCPU and could take housekeeping = %s",
		n > 1 ? "s" : "", vl, n > 1 ? "s" : "", cl, hl, n > 1 ? "these vCPUs" : "it", fl,
		fl);
}

/* Hybrid: vCPUs on E-cores while P-core CPUs are left idle. */
static int check_ecores(struct pl_check *k)
{
	const struct pl_host *h = k->h;
	_cleanup_free_ unsigned *vs = malloc(k->vcpus * sizeof(unsigned));
	_cleanup_free_ unsigned *cs = malloc(k->vcpus * sizeof(unsigned));
	_cleanup_free_ unsigned *idle = malloc(MAX(h->n_threads, 1) * sizeof(unsigned));
	_cleanup_free_ char *vl = NULL, *cl = NULL, *il = NULL;
	size_t n = 0, ni = 0;

	if (!vs || !cs || !idle)
		return -ENOMEM;
	if (!h->hybrid)
		return 0;
	for (unsigned v = 0; v < k->vcpus; v++)
		if (k->core[v] >= 0 && h->cores[k->core[v]].type == CORE_TYPE_EFFICIENCY) {
			vs[n] = v;
			cs[n++] = k->p->vcpu_pin[v];
		}
	for (size_t c = 0; c < h->n_cores; c++) {
		if (h->cores[c].type != CORE_TYPE_PERFORMANCE || k->hk_core[c])
			continue;
		for (size_t i = 0; i < h->cores[c].n; i++) {
			bool busy = false;

			for (unsigned v = 0; v < k->vcpus && !busy; v++)
				busy = k->p->vcpu_pin[v] == h->cores[c].cpus[i];
			if (!busy)
				idle[ni++] = h->cores[c].cpus[i];
		}
	}
	if (n == 0 || ni == 0)
		return 0;
	if (format_cpu_list(vs, n, &vl) < 0 || pl_format_set(cs, n, &cl) < 0 ||
	    pl_format_set(idle, ni, &il) < 0)
		return -ENOMEM;
	return pl_diag(
		k->p, LOG_WARNING, "cpu", "pin",
		"vCPU%s %s on E-cores (CPU%s %s) while the P-core CPUs %s run no vCPU: E-cores run at lower clocks with less cache, the guest cannot tell which vCPUs are slow, and a game thread there is the one every frame waits for; pin the vCPUs to P-cores first",
		n > 1 ? "s" : "", vl, n > 1 ? "s" : "", cl, il);
}

int pl_check_pins(const struct pl_host *h, const struct planner_input *in, bool pairs_only,
		  struct cpu_plan *p)
{
	_cleanup_free_ int *core = malloc(MAX(in->vcpus, 1) * sizeof(int));
	_cleanup_free_ size_t *used = calloc(MAX(h->n_cores, 1), sizeof(size_t));
	_cleanup_free_ bool *hk_core = calloc(MAX(h->n_cores, 1), sizeof(bool));
	struct pl_check k = {
		.h = h,
		.in = in,
		.p = p,
		.vcpus = in->vcpus,
		.threads = MAX(p->topology.threads, 1),
	};
	int r;

	if (!core || !used || !hk_core)
		return -ENOMEM;
	k.core = core;
	k.used = used;
	k.hk_core = hk_core;
	for (unsigned v = 0; v < in->vcpus; v++) {
		core[v] = pl_core_of_cpu(h, p->vcpu_pin[v]);
		if (core[v] >= 0)
			used[core[v]]++;
	}
	for (size_t i = 0; i < p->n_housekeeping; i++) {
		int c = pl_core_of_cpu(h, p->housekeeping[i]);

		if (c >= 0)
			hk_core[c] = true;
	}

	if (!pairs_only) {
		r = check_overcommit(&k);
		if (r < 0)
			return r;
	}
	r = check_guest_pairs(&k);
	if (r == 0)
		r = check_siblings(&k);
	if (r < 0 || pairs_only)
		return r < 0 ? r : 0;
	r = check_domains(&k);
	if (r >= 0)
		r = check_nodes(&k);
	if (r >= 0)
		r = check_housekeeping(&k);
	if (r >= 0)
		r = check_ecores(&k);
	return r < 0 ? r : 0;
}
