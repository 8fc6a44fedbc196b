/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * planner_build(): the CPU plan (rules in planner.h and docs/planner.md).
 *
 * pin = auto works on the planner's view of the host (pl_host): cores with
 * their online threads, grouped into L3 domains, each tagged with its NUMA
 * node and core type. The vCPUs fill the domains in a ranked order (the
 * GPU's node first, larger L3 first), whole cores at a time, while one
 * core is held back for housekeeping. Where that core goes is decided by
 * trying two domain orders (plain, and "the housekeeping core's domain
 * last") and keeping the better result: fewer L3 domains, housekeeping not
 * shared with a vCPU, housekeeping on the first core, vCPUs not in the
 * housekeeping core's L3 domain.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "planner-internal.h"

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

void cpu_plan_done(struct cpu_plan *p)
{
	if (!p)
		return;
	free(p->vcpu_pin);
	free(p->housekeeping);
	for (size_t i = 0; i < p->n_diags; i++)
		free(p->diags[i].msg);
	free(p->diags);
	*p = (struct cpu_plan){ .node = -1 };
}

bool cpu_plan_has_error(const struct cpu_plan *p)
{
	for (size_t i = 0; i < p->n_diags; i++)
		if (p->diags[i].level <= LOG_ERR)
			return true;
	return false;
}

static bool node_has_cpus(const struct pl_host *h, int node)
{
	return node >= 0 && pl_node_threads(h, node) > 0;
}

/*
 * The node the vCPUs belong on: the first passthrough GPU's, else the
 * memory node, else the first node with CPUs. -1 on a single-node host.
 */
static int choose_node(const struct pl_host *h, const struct planner_input *in)
{
	const struct host_cpus *c = h->c;

	if (c->n_nodes <= 1)
		return -1;
	if (node_has_cpus(h, in->gpu_node))
		return in->gpu_node;
	if (node_has_cpus(h, in->memory_node))
		return in->memory_node;
	for (size_t i = 0; i < c->n_nodes; i++)
		if (node_has_cpus(h, c->nodes[i].id))
			return c->nodes[i].id;
	return -1;
}

/* The first core of node (any core when node < 0): CPU 0's core on most hosts. */
static size_t first_core_of_node(const struct pl_host *h, int node)
{
	for (size_t k = 0; k < h->n_cores; k++)
		if (node < 0 || h->cores[k].node == node)
			return k;
	return 0;
}

/* A core without vCPUs, on node first; SIZE_MAX if every core runs one. */
static size_t first_free_core(const struct pl_host *h, const size_t *used, int node)
{
	for (size_t k = 0; k < h->n_cores; k++)
		if (used[k] == 0 && (node < 0 || h->cores[k].node == node))
			return k;
	for (size_t k = 0; k < h->n_cores; k++)
		if (used[k] == 0)
			return k;
	return SIZE_MAX;
}

static int set_housekeeping_core(const struct pl_host *h, size_t k, struct cpu_plan *p)
{
	const struct pl_core *core = &h->cores[k];

	free(p->housekeeping);
	p->housekeeping = malloc(core->n * sizeof(unsigned));
	if (!p->housekeeping)
		return -ENOMEM;
	memcpy(p->housekeeping, core->cpus, core->n * sizeof(unsigned));
	p->n_housekeeping = core->n;
	return 0;
}

/* Hybrid: every E-core CPU without a vCPU (used == NULL: all of them). */
static int set_housekeeping_ecores(const struct pl_host *h, const size_t *used, struct cpu_plan *p)
{
	_cleanup_free_ unsigned *v = malloc(MAX(h->n_threads, 1) * sizeof(unsigned));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t k = 0; k < h->n_cores; k++)
		if (h->cores[k].type == CORE_TYPE_EFFICIENCY && (!used || used[k] == 0))
			for (size_t t = 0; t < h->cores[k].n; t++)
				v[n++] = h->cores[k].cpus[t];
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_unsigned);
	free(p->housekeeping);
	p->housekeeping = TAKE_PTR(v);
	p->n_housekeeping = n;
	return 1;
}

/* ---- pin = auto ------------------------------------------------------------------ */

struct pl_auto {
	const struct pl_host *h;
	const struct planner_input *in;
	unsigned vcpus;
	size_t per_core; /* threads taken per core: 1 for threads = 1 on an SMT host */
	int node;	 /* chosen node, -1 single node */
	bool *reserved;	 /* per core: keep the vCPUs off it if they fit elsewhere */
	size_t first;	 /* the default housekeeping core */
	bool avoid;	 /* they fit without the reserved cores */
};

/* One attempt: a map, its vCPUs per core, and the housekeeping core it leaves. */
struct pl_try {
	unsigned *pin;
	size_t *used;
	size_t hk;     /* housekeeping core (auto, not hybrid) */
	bool shared;   /* a vCPU runs on a housekeeping core */
	bool moved;    /* housekeeping is not on the first core */
	bool near;     /* vCPUs in the L3 domain of a housekeeping core (host work pollutes it) */
	size_t n_doms; /* L3 domains used */
};

static void pl_try_done(struct pl_try *t)
{
	free(t->pin);
	free(t->used);
	*t = (struct pl_try){ 0 };
}

static size_t core_cap(const struct pl_auto *a, size_t k)
{
	return MIN(a->per_core, a->h->cores[k].n);
}

static int node_rank(const struct pl_auto *a, int node)
{
	const struct host_cpus *c = a->h->c;

	if (c->n_nodes <= 1 || node == a->node)
		return 0;
	for (size_t i = 0; i < c->n_nodes; i++)
		if (c->nodes[i].id == node)
			return 1 + (int)i;
	return 1 + (int)c->n_nodes;
}

static bool dom_reserved(const struct pl_auto *a, size_t d)
{
	const struct pl_dom *dom = &a->h->doms[d];

	for (size_t j = 0; j < dom->n_cores; j++)
		if (a->reserved[dom->cores[j]])
			return true;
	return false;
}

/* Domain x before y: chosen node first, larger L3 first, then (variant) unreserved first. */
static bool dom_before(const struct pl_auto *a, bool variant, size_t x, size_t y)
{
	const struct pl_dom *dx = &a->h->doms[x], *dy = &a->h->doms[y];
	int rx = node_rank(a, dx->node), ry = node_rank(a, dy->node);

	if (rx != ry)
		return rx < ry;
	if (dx->size != dy->size)
		return dx->size > dy->size;
	if (variant && dom_reserved(a, x) != dom_reserved(a, y))
		return !dom_reserved(a, x);
	return x < y;
}

static size_t *dom_order(const struct pl_auto *a, bool variant)
{
	size_t *o = malloc(MAX(a->h->n_doms, 1) * sizeof(size_t));

	if (!o)
		return NULL;
	for (size_t i = 0; i < a->h->n_doms; i++) {
		size_t j = i;

		for (; j > 0 && dom_before(a, variant, i, o[j - 1]); j--)
			o[j] = o[j - 1];
		o[j] = i;
	}
	return o;
}

/*
 * Places vCPUs from..vcpus-1 on the cores of type type (-1: any) in domain
 * order, each core filled up to its cap before the next, cores with skip[]
 * set left out. Returns the first vCPU left unplaced.
 */
static unsigned fill(const struct pl_auto *a, const size_t *order, int type, const bool *skip,
		     unsigned from, struct pl_try *t)
{
	const struct pl_host *h = a->h;
	unsigned v = from;

	for (size_t o = 0; o < h->n_doms && v < a->vcpus; o++) {
		const struct pl_dom *d = &h->doms[order[o]];

		for (size_t j = 0; j < d->n_cores && v < a->vcpus; j++) {
			size_t k = d->cores[j];

			if ((type >= 0 && (int)h->cores[k].type != type) || (skip && skip[k]))
				continue;
			while (t->used[k] < core_cap(a, k) && v < a->vcpus)
				t->pin[v++] = h->cores[k].cpus[t->used[k]++];
		}
	}
	return v;
}

/*
 * Whether the vCPUs stay off the reserved cores in this domain order
 * without changing how many land in each domain: the reserved cores sit
 * in domains left empty or filled only partly, with room to spare.
 */
static bool can_skip_reserved(const struct pl_auto *a, const size_t *order)
{
	const struct pl_host *h = a->h;
	size_t remaining = a->vcpus;

	if (!a->avoid)
		return false;
	for (size_t o = 0; o < h->n_doms; o++) {
		const struct pl_dom *d = &h->doms[order[o]];
		size_t cap = 0, cap_reserved = 0, take;

		for (size_t j = 0; j < d->n_cores; j++) {
			cap += core_cap(a, d->cores[j]);
			if (a->reserved[d->cores[j]])
				cap_reserved += core_cap(a, d->cores[j]);
		}
		take = MIN(cap, remaining);
		remaining -= take;
		if (take > 0 && cap - cap_reserved < take)
			return false;
	}
	return true;
}

static int try_place(const struct pl_auto *a, bool variant, struct pl_try *ret)
{
	const struct pl_host *h = a->h;
	_cleanup_(pl_try_done) struct pl_try t = { 0 };
	_cleanup_free_ size_t *order = dom_order(a, variant);
	_cleanup_free_ bool *dom_used = calloc(MAX(h->n_doms, 1), sizeof(bool));
	unsigned v;

	t.pin = malloc(a->vcpus * sizeof(unsigned));
	t.used = calloc(MAX(h->n_cores, 1), sizeof(size_t));
	if (!order || !dom_used || !t.pin || !t.used)
		return -ENOMEM;

	if (h->hybrid) {
		const bool *skip = a->avoid ? a->reserved : NULL;

		/* P-cores, then cores of no known type, then E-cores. */
		v = fill(a, order, CORE_TYPE_PERFORMANCE, skip, 0, &t);
		v = fill(a, order, CORE_TYPE_UNKNOWN, skip, v, &t);
		v = fill(a, order, CORE_TYPE_EFFICIENCY, skip, v, &t);
	} else {
		v = fill(a, order, -1, can_skip_reserved(a, order) ? a->reserved : NULL, 0, &t);
	}
	v = fill(a, order, -1, NULL, v, &t);
	if (v < a->vcpus)
		return -ERANGE; /* the caller checked the capacity */

	for (size_t k = 0; k < h->n_cores; k++) {
		if (t.used[k] > 0)
			dom_used[h->cores[k].dom] = true;
		t.shared = t.shared || (t.used[k] > 0 && a->reserved[k]);
	}
	for (size_t d = 0; d < h->n_doms; d++)
		t.n_doms += dom_used[d];

	/* The default housekeeping core, moved when the vCPUs needed it. */
	t.hk = a->first;
	if (!a->in->housekeeping && t.used[a->first] > 0) {
		size_t k = first_free_core(h, t.used, a->node);

		if (k != SIZE_MAX) {
			t.hk = k;
			t.moved = true;
			t.shared = false;
		}
	}
	if (a->in->housekeeping) {
		for (size_t k = 0; k < h->n_cores; k++)
			t.near = t.near || (a->reserved[k] && dom_used[h->cores[k].dom]);
	} else {
		t.near = dom_used[h->cores[t.hk].dom];
	}
	*ret = t;
	t = (struct pl_try){ 0 };
	return 0;
}

static bool try_better(const struct pl_try *x, const struct pl_try *y)
{
	if (x->n_doms != y->n_doms)
		return x->n_doms < y->n_doms;
	if (x->shared != y->shared)
		return !x->shared;
	if (x->moved != y->moved)
		return !x->moved;
	return !x->near && y->near;
}

/* threads = 1 on an SMT host: one vCPU per core, while there are cores enough. */
static size_t threads_per_core(const struct pl_host *h, const struct planner_input *in)
{
	if (in->topology.threads == 1 && h->c->smt && in->vcpus <= h->n_cores)
		return 1;
	return PL_THREADS_MAX;
}

static int plan_auto(const struct pl_host *h, const struct planner_input *in, int node,
		     struct cpu_plan *p)
{
	_cleanup_free_ bool *reserved = calloc(MAX(h->n_cores, 1), sizeof(bool));
	_cleanup_(pl_try_done) struct pl_try best = { 0 }, other = { 0 };
	struct pl_auto a = {
		.h = h,
		.in = in,
		.vcpus = in->vcpus,
		.per_core = threads_per_core(h, in),
		.node = node,
		.first = first_core_of_node(h, node),
	};
	size_t cap = 0, cap_reserved = 0;
	int r;

	if (!reserved)
		return -ENOMEM;
	a.reserved = reserved;
	if (in->housekeeping) {
		for (size_t i = 0; i < in->n_housekeeping; i++) {
			int k = pl_core_of_cpu(h, in->housekeeping[i]);

			if (k >= 0)
				reserved[k] = true;
		}
	} else if (!h->hybrid) {
		/* Without a housekeeping set the first core stays the host's too. */
		reserved[a.first] = true;
	}
	for (size_t k = 0; k < h->n_cores; k++) {
		cap += core_cap(&a, k);
		cap_reserved += reserved[k] ? core_cap(&a, k) : 0;
	}
	a.avoid = cap - cap_reserved >= a.vcpus;

	r = try_place(&a, false, &best);
	if (r < 0)
		return r;
	if (!h->hybrid) {
		r = try_place(&a, true, &other);
		if (r < 0)
			return r;
		if (try_better(&other, &best)) {
			pl_try_done(&best);
			best = other;
			other = (struct pl_try){ 0 };
		}
	}

	if (in->housekeeping_auto) {
		r = h->hybrid ? set_housekeeping_ecores(h, best.used, p) : 0;
		if (r == 0) {
			/* Hybrid with every E-core busy: the first E-core, shared. */
			for (size_t k = 0; h->hybrid && k < h->n_cores; k++)
				if (h->cores[k].type == CORE_TYPE_EFFICIENCY) {
					best.hk = k;
					break;
				}
			r = set_housekeeping_core(h, best.hk, p);
		}
		if (r < 0)
			return r;
		p->housekeeping_planned = true;
	}
	p->vcpu_pin = TAKE_PTR(best.pin);
	p->pin_planned = true;
	return 0;
}

/* housekeeping = auto beside an explicit pin list, or no pinning at all. */
static int plan_housekeeping(const struct pl_host *h, int node, struct cpu_plan *p,
			     const unsigned *pin, unsigned vcpus)
{
	_cleanup_free_ size_t *used = calloc(MAX(h->n_cores, 1), sizeof(size_t));
	size_t k;
	int r;

	if (!used)
		return -ENOMEM;
	for (unsigned v = 0; pin && v < vcpus; v++) {
		int c = pl_core_of_cpu(h, pin[v]);

		if (c >= 0)
			used[c]++;
	}
	p->housekeeping_planned = true;
	if (h->hybrid) {
		r = set_housekeeping_ecores(h, used, p);
		if (r != 0)
			return r;
	}
	if (pin) {
		int k0 = pl_core_of_cpu(h, pin[0]);

		/* Beside the vCPUs: on the node of vCPU 0. */
		if (k0 >= 0 && h->c->n_nodes > 1)
			node = h->cores[k0].node;
	}
	k = first_core_of_node(h, node);
	if (used[k] > 0) {
		size_t f = first_free_core(h, used, node);

		k = f != SIZE_MAX ? f : k;
	}
	return h->n_cores > 0 ? set_housekeeping_core(h, k, p) : 0;
}

/* ---- messages ----------------------------------------------------------------- */

/* vCPUs a..b-1 as "vCPU 3" / "vCPUs 0-15". */
static int format_vcpu_range(unsigned a, unsigned b, char **ret)
{
	if (b - a == 1)
		return asprintf(ret, "vCPU %u", a) < 0 ? -ENOMEM : 0;
	return asprintf(ret, "vCPUs %u-%u", a, b - 1) < 0 ? -ENOMEM : 0;
}

/* "vCPUs 0-15 on CPUs 8-15,24-31 (L3 #1, 32M); vCPUs 16-23 on ..." */
static int describe_map(const struct pl_host *h, const unsigned *pin, unsigned n, char **ret)
{
	_cleanup_free_ char *s = NULL;
	unsigned v0 = 0;
	int r;

	while (v0 < n) {
		_cleanup_free_ char *range = NULL, *cpus = NULL;
		const struct pl_core *c0 = &h->cores[pl_core_of_cpu(h, pin[v0])];
		const struct pl_dom *d = &h->doms[c0->dom];
		unsigned v1 = v0 + 1;
		char size[32];

		while (v1 < n) {
			const struct pl_core *c1 = &h->cores[pl_core_of_cpu(h, pin[v1])];

			if (c1->dom != c0->dom || c1->type != c0->type)
				break;
			v1++;
		}
		r = format_vcpu_range(v0, v1, &range);
		if (r >= 0)
			r = pl_format_set(pin + v0, v1 - v0, &cpus);
		if (r >= 0)
			r = pl_appendf(&s, "%s%s on CPU%s %s (", v0 ? "; " : "", range,
				       v1 - v0 > 1 ? "s" : "", cpus);
		if (r >= 0 && h->c->n_nodes > 1)
			r = pl_appendf(&s, "node %d, ", c0->node);
		if (r >= 0 && d->l3 >= 0)
			r = pl_appendf(&s, "L3 #%d, %s", d->l3,
				       pl_format_l3(d, size, sizeof(size)));
		else if (r >= 0)
			r = pl_appendf(&s, "no L3 information");
		if (r >= 0 && h->hybrid && c0->type != CORE_TYPE_UNKNOWN)
			r = pl_appendf(&s, ", %s",
				       c0->type == CORE_TYPE_PERFORMANCE ? "P-cores" : "E-cores");
		if (r >= 0)
			r = pl_appendf(&s, ")");
		if (r < 0)
			return -ENOMEM;
		v0 = v1;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

/* vCPUs sharing a core with the housekeeping set, as "vCPUs 0,1"; NULL when none. */
static int vcpus_on_housekeeping(const struct pl_host *h, const struct cpu_plan *p, unsigned vcpus,
				 char **ret)
{
	_cleanup_free_ unsigned *v = malloc(MAX(vcpus, 1) * sizeof(unsigned));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < vcpus; i++) {
		int k = pl_core_of_cpu(h, p->vcpu_pin[i]);

		for (size_t j = 0; k >= 0 && j < p->n_housekeeping; j++)
			if (pl_core_of_cpu(h, p->housekeeping[j]) == k) {
				v[n++] = i;
				break;
			}
	}
	*ret = NULL;
	return n ? format_cpu_list(v, n, ret) : 0;
}

static int notice_auto(const struct pl_host *h, const struct planner_input *in, int node,
		       struct cpu_plan *p)
{
	_cleanup_free_ char *map = NULL, *hk = NULL, *shared = NULL, *why = NULL;
	const struct pl_core *first = &h->cores[first_core_of_node(h, node)];
	int r;

	r = describe_map(h, p->vcpu_pin, in->vcpus, &map);
	if (r < 0)
		return r;
	if (p->housekeeping_planned) {
		_cleanup_free_ char *fl = NULL;

		r = pl_format_set(p->housekeeping, p->n_housekeeping, &hk);
		if (r >= 0)
			r = vcpus_on_housekeeping(h, p, in->vcpus, &shared);
		if (r >= 0 && shared)
			r = asprintf(&why, " (shared with vCPU%s %s: every core runs a vCPU)",
				     strpbrk(shared, ",-") ? "s" : "", shared) < 0
				    ? -ENOMEM
				    : 0;
		else if (r >= 0 && !h->hybrid && p->housekeeping[0] != first->cpus[0]) {
			r = pl_format_set(first->cpus, first->n, &fl);
			if (r >= 0 &&
			    asprintf(&why, " (the first core, CPUs %s, runs vCPUs)", fl) < 0)
				r = -ENOMEM;
		}
		if (r < 0)
			return r;
	}
	return pl_diag(p, LOG_NOTICE, "cpu", "pin",
		       "auto: %s; guest topology %u core%s x %u thread%s%s%s%s", map,
		       p->topology.cores, p->topology.cores == 1 ? "" : "s", p->topology.threads,
		       p->topology.threads == 1 ? "" : "s", hk ? "; housekeeping CPUs " : "",
		       hk ? hk : "", why ? why : "");
}

/* What pin = auto had to give up: E-cores, other NUMA nodes, SMT pairs. */
static int warn_auto(const struct pl_host *h, const struct planner_input *in, int node,
		     struct cpu_plan *p)
{
	_cleanup_free_ unsigned *off = malloc(MAX(in->vcpus, 1) * sizeof(unsigned)),
				*offc = malloc(MAX(in->vcpus, 1) * sizeof(unsigned));
	size_t n_off = 0, p_threads = 0;
	int r;

	if (!off || !offc)
		return -ENOMEM;

	if (h->hybrid) {
		for (size_t k = 0; k < h->n_cores; k++)
			if (h->cores[k].type == CORE_TYPE_PERFORMANCE)
				p_threads += h->cores[k].n;
		for (unsigned v = 0; v < in->vcpus; v++) {
			const struct pl_core *c = &h->cores[pl_core_of_cpu(h, p->vcpu_pin[v])];

			if (c->type == CORE_TYPE_EFFICIENCY) {
				off[n_off] = v;
				offc[n_off++] = p->vcpu_pin[v];
			}
		}
		if (n_off > 0) {
			_cleanup_free_ char *vl = NULL, *cl = NULL;

			r = format_cpu_list(off, n_off, &vl);
			if (r >= 0)
				r = pl_format_set(offc, n_off, &cl);
			if (r >= 0)
				r = pl_diag(
					p, LOG_WARNING, "cpu", "vcpus",
					"%u vCPUs, but this host has %zu P-core threads: vCPUs %s run on E-cores (CPUs %s), which are slower, and the guest cannot tell which vCPUs are slow; it also gets threads = 1, since one topology cannot mix SMT pairs and single cores; vcpus = %zu keeps the VM on P-cores",
					in->vcpus, p_threads, vl, cl, p_threads);
			if (r < 0)
				return r;
		}
	}

	n_off = 0;
	for (unsigned v = 0; node >= 0 && v < in->vcpus; v++)
		if (h->cores[pl_core_of_cpu(h, p->vcpu_pin[v])].node != node) {
			off[n_off] = v;
			offc[n_off++] = p->vcpu_pin[v];
		}
	if (n_off > 0) {
		_cleanup_free_ char *vl = NULL, *cl = NULL;

		r = format_cpu_list(off, n_off, &vl);
		if (r >= 0)
			r = pl_format_set(offc, n_off, &cl);
		if (r >= 0)
			r = pl_diag(
				p, LOG_WARNING, "cpu", "vcpus",
				"%u vCPUs do not fit on NUMA node %d (%zu CPU threads%s%s): vCPUs %s run on CPUs %s of other nodes, and reach guest memory and the GPU across the link between nodes; vcpus = %zu keeps the VM on node %d",
				in->vcpus, node, pl_node_threads(h, node),
				in->gpu_node == node ? ", with the GPU " : "",
				in->gpu_node == node ? in->gpu : "", vl, cl,
				pl_node_threads(h, node), node);
		if (r < 0)
			return r;
	}

	if (!in->topology.threads && h->c->smt && !h->hybrid && in->vcpus % 2 == 1 && in->vcpus > 1)
		return pl_diag(
			p, LOG_NOTICE, "cpu", "vcpus",
			"%u vCPUs, an odd number: they run on SMT pairs like an even number would, but the guest cannot be told so (its topology needs whole cores) and sees %u single-thread cores; %u or %u vCPUs give it threads = 2",
			in->vcpus, in->vcpus, in->vcpus - 1, in->vcpus + 1);
	return 0;
}

/* ---- topology ---------------------------------------------------------------------- */

static int check_topology(const struct pl_host *h, const struct planner_input *in,
			  struct cpu_plan *p)
{
	struct vm_topology t = in->topology;
	int r;

	t.sockets = t.sockets ? t.sockets : 1;
	t.dies = t.dies ? t.dies : 1;
	t.threads = t.threads ? t.threads : 1;
	if (!t.cores)
		t.cores = in->vcpus / (t.sockets * t.dies * t.threads);
	if (t.sockets * t.dies * t.cores * t.threads != in->vcpus) {
		r = pl_diag(p, LOG_ERR, "cpu", "threads",
			    "sockets %u x dies %u x cores %u x threads %u is not vcpus = %u",
			    t.sockets, t.dies, t.cores, t.threads, in->vcpus);
		if (r < 0)
			return r;
	}
	if (t.threads > 1 && !h->c->smt) {
		r = pl_diag(
			p, LOG_WARNING, "cpu", "threads",
			"the guest gets %u threads per core but this host has no SMT: the guest scheduler will treat independent CPUs as siblings",
			t.threads);
		if (r < 0)
			return r;
	}
	p->topology = t;
	return 0;
}

/* vCPUs 2i and 2i+1 on the two threads of one host core, for every i. */
static bool pin_keeps_smt_pairs(const struct pl_host *h, const unsigned *pin, unsigned vcpus)
{
	if (!pin || vcpus < 2 || vcpus % 2 != 0)
		return false;
	for (unsigned i = 0; i + 1 < vcpus; i += 2) {
		int a = pl_core_of_cpu(h, pin[i]), b = pl_core_of_cpu(h, pin[i + 1]);

		if (a < 0 || a != b || pin[i] == pin[i + 1])
			return false;
	}
	return true;
}

/* ---- explicit lists ------------------------------------------------------------------ */

/* Each CPU of a list exists and is online; each one that is not is an error. */
static int check_host_cpus(const struct pl_host *h, const char *key, const unsigned *cpus, size_t n,
			   struct cpu_plan *p)
{
	const struct host_cpus *c = h->c;
	_cleanup_free_ char *all = NULL;
	int r;

	for (size_t i = 0; i < n; i++) {
		const struct host_cpu *hc = host_cpus_find(c, cpus[i]);

		if (!hc) {
			if (!all) {
				_cleanup_free_ unsigned *ids =
					calloc(c->n_cpus + 1, sizeof(unsigned));

				if (!ids)
					return -ENOMEM;
				for (size_t j = 0; j < c->n_cpus; j++)
					ids[j] = c->cpus[j].id;
				r = format_cpu_list(ids, c->n_cpus, &all);
				if (r < 0)
					return r;
			}
			r = pl_diag(
				p, LOG_ERR, "cpu", key,
				"host CPU %u does not exist (/sys/devices/system/cpu/cpu%u); this host has CPUs %s",
				cpus[i], cpus[i], all);
		} else if (!hc->online) {
			r = pl_diag(
				p, LOG_ERR, "cpu", key,
				"host CPU %u is offline (/sys/devices/system/cpu/cpu%u/online is 0): bring it online (echo 1 > /sys/devices/system/cpu/cpu%u/online) or use another CPU",
				cpus[i], cpus[i], cpus[i]);
		} else {
			r = 0;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int copy_list(const unsigned *v, size_t n, bool sort, unsigned **ret)
{
	unsigned *c = malloc(MAX(n, 1) * sizeof(unsigned));

	if (!c)
		return -ENOMEM;
	memcpy(c, v, n * sizeof(unsigned));
	if (sort)
		qsort(c, n, sizeof(unsigned), cmp_unsigned);
	*ret = c;
	return 0;
}

/* The node all vCPUs run on, -1 when spread, unpinned or on a single-node host. */
static int pin_node(const struct pl_host *h, const struct cpu_plan *p, unsigned vcpus)
{
	int node = -2;

	if (!p->vcpu_pin || h->c->n_nodes <= 1)
		return -1;
	for (unsigned v = 0; v < vcpus; v++) {
		int k = pl_core_of_cpu(h, p->vcpu_pin[v]);
		int n = k >= 0 ? h->cores[k].node : -1;

		if (n < 0 || (node != -2 && n != node))
			return -1;
		node = n;
	}
	return node < 0 ? -1 : node;
}

int planner_build(const struct host_cpus *c, const struct planner_input *in, struct cpu_plan *ret)
{
	_cleanup_(cpu_plan_done) struct cpu_plan p = { .node = -1 };
	_cleanup_(pl_host_done) struct pl_host h = { 0 };
	bool explicit_topology = in->topology.sockets || in->topology.dies || in->topology.cores ||
				 in->topology.threads;
	bool pins_ok = true;
	size_t n_before;
	int node, r;

	r = pl_host_build(c, &h);
	if (r < 0)
		return r;
	node = choose_node(&h, in);

	if (explicit_topology) {
		r = check_topology(&h, in, &p);
		if (r < 0)
			return r;
	}
	if (c->n_nodes > 1 && in->gpu_node >= 0 && in->memory_node >= 0 &&
	    in->gpu_node != in->memory_node) {
		r = pl_diag(
			&p, LOG_WARNING, "memory", "node",
			"guest memory on node %d, but the GPU %s is on node %d: the vCPUs go with the GPU, so their memory accesses and the GPU's DMA cross the link between nodes; node = %d keeps memory, GPU and vCPUs together",
			in->memory_node, in->gpu, in->gpu_node, in->gpu_node);
		if (r < 0)
			return r;
	}

	n_before = p.n_diags;
	if (in->pin && in->n_pin != in->vcpus) {
		/* config.c refuses this already; the planner must not read past the list. */
		r = pl_diag(&p, LOG_ERR, "cpu", "pin", "%zu CPUs listed but vcpus = %u", in->n_pin,
			    in->vcpus);
		if (r < 0)
			return r;
		pins_ok = false;
	} else if (in->pin) {
		r = check_host_cpus(&h, "pin", in->pin, in->n_pin, &p);
		if (r < 0)
			return r;
		pins_ok = p.n_diags == n_before;
		r = copy_list(in->pin, in->n_pin, false, &p.vcpu_pin);
		if (r < 0)
			return r;
	}
	if (in->housekeeping) {
		r = check_host_cpus(&h, "housekeeping", in->housekeeping, in->n_housekeeping, &p);
		if (r < 0)
			return r;
		r = copy_list(in->housekeeping, in->n_housekeeping, true, &p.housekeeping);
		if (r < 0)
			return r;
		p.n_housekeeping = in->n_housekeeping;
	}

	if (in->pin_auto && in->vcpus > h.n_threads) {
		r = pl_diag(
			&p, LOG_ERR, "cpu", "vcpus",
			"%u vCPUs, but this host has %zu online CPU threads: pin = auto gives each vCPU a thread of its own; set vcpus = %zu or less, or list the CPUs in pin",
			in->vcpus, h.n_threads, h.n_threads);
		if (r < 0)
			return r;
	} else if (in->pin_auto && in->vcpus > 0) {
		r = plan_auto(&h, in, node, &p);
		if (r < 0)
			return r;
	}
	if (in->housekeeping_auto && !p.housekeeping_planned) {
		r = plan_housekeeping(&h, node, &p, pins_ok && in->vcpus ? p.vcpu_pin : NULL,
				      in->vcpus);
		if (r < 0)
			return r;
	}

	if (!explicit_topology) {
		unsigned threads =
			pins_ok && pin_keeps_smt_pairs(&h, p.vcpu_pin, in->vcpus) ? 2 : 1;

		p.topology = (struct vm_topology){
			.sockets = 1, .dies = 1, .cores = in->vcpus / threads, .threads = threads
		};
	}

	/*
	 * An automatic map keeps the rules by construction, except SMT pairs against a
	 * topology the config asked for (threads = 2 on E-cores, threads = 1 past the cores).
	 */
	if (p.vcpu_pin && pins_ok && (!p.pin_planned || explicit_topology)) {
		r = pl_check_pins(&h, in, p.pin_planned, &p);
		if (r < 0)
			return r;
	}
	if (p.pin_planned) {
		r = notice_auto(&h, in, node, &p);
		if (r >= 0)
			r = warn_auto(&h, in, node, &p);
		if (r < 0)
			return r;
	} else if (p.housekeeping_planned && p.housekeeping) {
		_cleanup_free_ char *hk = NULL;

		r = pl_format_set(p.housekeeping, p.n_housekeeping, &hk);
		if (r >= 0)
			r = pl_diag(&p, LOG_NOTICE, "cpu", "housekeeping", "auto: CPUs %s", hk);
		if (r < 0)
			return r;
	}
	p.node = pin_node(&h, &p, in->vcpus);

	*ret = p;
	p = (struct cpu_plan){ .node = -1 };
	return 0;
}

void planner_input_from_config(const struct vm_config *c, const struct host_pci *pci,
			       struct planner_input *ret)
{
	struct planner_input in = {
		.vcpus = c->vcpus,
		.topology = c->topology,
		.pin = c->pin_auto ? NULL : c->pin,
		.n_pin = c->pin_auto ? 0 : c->n_pin,
		.pin_auto = c->pin_auto,
		.housekeeping = c->housekeeping_auto ? NULL : c->housekeeping,
		.n_housekeeping = c->housekeeping_auto ? 0 : c->n_housekeeping,
		.housekeeping_auto = c->housekeeping_auto,
		.gpu_node = -1,
		.memory_node = c->memory_node,
	};

	if (in.n_pin == 0)
		in.pin = NULL;
	if (in.n_housekeeping == 0)
		in.housekeeping = NULL;
	for (size_t i = 0; pci && i < c->n_pci; i++) {
		const struct host_pci_dev *d = host_pci_find(pci, &c->pci[i].addr);

		if (d && (d->class_code >> 16) == 0x03) {
			in.gpu_node = d->numa_node;
			format_pci_addr(&d->addr, in.gpu);
			break;
		}
	}
	*ret = in;
}
