/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm topology [CONF]: the host's CPU layout as a pinning plan needs it:
 * packages, L3 domains (size, CPUs, and the SMT sibling groups inside each,
 * "0,16  1,17 ..."), P/E core types on hybrid Intel, NUMA nodes with their
 * memory, and the hugepage pools. With CONF, the CPU plan for it follows
 * (planner.h: the pin map, auto or from the config, per L3 domain and per
 * vCPU, the housekeeping set, the guest topology and the planner's
 * warnings). It only reports: a plan with errors still exits 0, the errors
 * are part of the report. --json prints the same data.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "config.h"
#include "host.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "planner.h"
#include "vm-find.h"

/* Items per output line in the SMT group lists. */
#define GROUPS_PER_LINE 8

static void json_object_putp(struct json_object **o)
{
	json_object_put(*o);
}

static void config_freep(struct vm_config **c)
{
	config_free(*c);
}

/* ---- shared helpers ------------------------------------------------------------ */

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

/* "64G" when exact, else one decimal: MemTotal is never a round number. */
static const char *format_mem(uint64_t bytes, char *buf, size_t size)
{
	if (bytes == 0)
		snprintf(buf, size, "unknown");
	else if (bytes % (1ULL << 20) == 0)
		format_size(bytes, buf, size);
	else if (bytes >= (1ULL << 30))
		snprintf(buf, size, "%.1fG", (double)bytes / (double)(1ULL << 30));
	else
		snprintf(buf, size, "%.1fM", (double)bytes / (double)(1ULL << 20));
	return buf;
}

static const char *core_type_to_string(enum core_type t)
{
	switch (t) {
	case CORE_TYPE_PERFORMANCE:
		return "performance";
	case CORE_TYPE_EFFICIENCY:
		return "efficiency";
	case CORE_TYPE_UNKNOWN:
		break;
	}
	return NULL;
}

/* The online threads of one core (by core_index), in CPU order. */
static size_t core_threads(const struct host_cpus *c, int core_index, unsigned *buf, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_cpus && n < max; i++)
		if (c->cpus[i].online && c->cpus[i].core_index == core_index)
			buf[n++] = c->cpus[i].id;
	return n;
}

static const struct host_cpu *core_first(const struct host_cpus *c, int core_index)
{
	for (size_t i = 0; i < c->n_cpus; i++)
		if (c->cpus[i].online && c->cpus[i].core_index == core_index)
			return &c->cpus[i];
	return NULL;
}

/* Package of an L3 domain: that of its first CPU. */
static int l3_package(const struct host_cpus *c, size_t l3)
{
	const struct host_cpu *cpu;

	if (c->l3s[l3].n_cpus == 0)
		return -1;
	cpu = host_cpus_find(c, c->l3s[l3].cpus[0]);
	return cpu ? cpu->package : -1;
}

static size_t count_cores_of_type(const struct host_cpus *c, enum core_type t)
{
	size_t n = 0;

	for (unsigned k = 0; k < c->n_cores; k++) {
		const struct host_cpu *f = core_first(c, (int)k);
		n += f && f->type == t;
	}
	return n;
}

/* ---- human output ------------------------------------------------------------- */

/*
 * One line of SMT groups, "cores (SMT pairs): 0,16  1,17 ...", for the cores
 * in L3 domain l3 (-1: cores without L3 information) of one package and one
 * core type. Prints nothing when no core matches.
 */
static int print_core_groups(const struct host_cpus *c, int package, int l3, enum core_type type,
			     const char *label)
{
	size_t n_printed = 0, indent = 0;
	bool smt = false;

	for (unsigned k = 0; k < c->n_cores; k++) {
		const struct host_cpu *f = core_first(c, (int)k);
		unsigned t[8];
		if (f && f->package == package && f->l3 == l3 && f->type == type &&
		    core_threads(c, (int)k, t, ELEMENTSOF(t)) > 1)
			smt = true;
	}

	for (unsigned k = 0; k < c->n_cores; k++) {
		const struct host_cpu *f = core_first(c, (int)k);
		_cleanup_free_ char *s = NULL;
		unsigned t[64];
		size_t n;

		if (!f || f->package != package || f->l3 != l3 || f->type != type)
			continue;
		n = core_threads(c, (int)k, t, ELEMENTSOF(t));
		/* A core's threads are listed as the kernel numbers them: "0,16". */
		s = malloc(n * 12 + 1);
		if (!s)
			return log_error_errno(-ENOMEM, "Out of memory.");
		s[0] = 0;
		for (size_t i = 0, len = 0; i < n; i++)
			len += (size_t)snprintf(s + len, 12, "%s%u", i ? "," : "", t[i]);

		if (n_printed == 0) {
			printf("    %s%s:", label, smt ? " (SMT pairs)" : "");
			indent = 4 + strlen(label) + (smt ? strlen(" (SMT pairs)") : 0) + 1;
		} else if (n_printed % GROUPS_PER_LINE == 0) {
			printf("\n%*s", (int)indent, "");
		}
		printf(n_printed % GROUPS_PER_LINE == 0 ? " %s" : "  %s", s);
		n_printed++;
	}
	if (n_printed > 0)
		printf("\n");
	return 0;
}

static int print_l3_cores(const struct host_cpus *c, int package, int l3)
{
	int r;

	if (!c->hybrid)
		return print_core_groups(c, package, l3, CORE_TYPE_UNKNOWN, "cores");
	r = print_core_groups(c, package, l3, CORE_TYPE_PERFORMANCE, "P-cores");
	if (r < 0)
		return r;
	r = print_core_groups(c, package, l3, CORE_TYPE_EFFICIENCY, "E-cores");
	if (r < 0)
		return r;
	return print_core_groups(c, package, l3, CORE_TYPE_UNKNOWN, "other cores");
}

static int print_cpus(const struct host_cpus *c)
{
	_cleanup_free_ unsigned *offline = NULL;
	size_t n_online = 0, n_offline = 0;
	int r;

	offline = malloc(MAX(c->n_cpus, 1) * sizeof(*offline));
	if (!offline)
		return log_error_errno(-ENOMEM, "Out of memory.");
	for (size_t i = 0; i < c->n_cpus; i++) {
		if (c->cpus[i].online)
			n_online++;
		else
			offline[n_offline++] = c->cpus[i].id;
	}

	printf("CPU: %s", c->model_name ?: "unknown model");
	if (c->vendor)
		printf(" (%s)", c->vendor);
	printf("\n     %u package%s, %u cores", c->n_packages, c->n_packages == 1 ? "" : "s",
	       c->n_cores);
	if (c->hybrid)
		printf(" (%zu P-cores, %zu E-cores)", count_cores_of_type(c, CORE_TYPE_PERFORMANCE),
		       count_cores_of_type(c, CORE_TYPE_EFFICIENCY));
	printf(", %zu threads (SMT %s)\n", n_online, c->smt ? "on" : "off");
	if (n_offline > 0) {
		_cleanup_free_ char *list = NULL;
		r = format_cpu_list(offline, n_offline, &list);
		if (r < 0)
			return log_error_errno(r, "Out of memory.");
		printf("     offline: CPUs %s\n", list);
	}

	for (size_t i = 0; i < c->n_cpus; i++) {
		int package = c->cpus[i].package;
		bool seen = false, orphans = false;

		if (!c->cpus[i].online)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = c->cpus[j].online && c->cpus[j].package == package;
		if (seen)
			continue;

		printf("\nPackage %d\n", package);
		for (size_t l = 0; l < c->n_l3s; l++) {
			_cleanup_free_ char *list = NULL;
			char size[32];

			if (l3_package(c, l) != package)
				continue;
			r = format_cpu_list(c->l3s[l].cpus, c->l3s[l].n_cpus, &list);
			if (r < 0)
				return log_error_errno(r, "Out of memory.");
			printf("  L3 #%zu: %s, CPUs %s\n", l,
			       c->l3s[l].size_bytes
				       ? format_mem(c->l3s[l].size_bytes, size, sizeof(size))
				       : "size unknown",
			       list);
			r = print_l3_cores(c, package, (int)l);
			if (r < 0)
				return r;
		}
		for (size_t j = 0; j < c->n_cpus; j++)
			orphans |= c->cpus[j].online && c->cpus[j].package == package &&
				   c->cpus[j].l3 < 0;
		if (orphans) {
			printf("  no L3 information\n");
			r = print_l3_cores(c, package, -1);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int print_nodes(const struct host_cpus *c)
{
	printf("\nNUMA nodes\n");
	if (c->n_nodes == 0)
		printf("  none (kernel without NUMA)\n");
	for (size_t i = 0; i < c->n_nodes; i++) {
		_cleanup_free_ char *list = NULL;
		char mem[32];
		int r;

		if (c->nodes[i].n_cpus > 0) {
			r = format_cpu_list(c->nodes[i].cpus, c->nodes[i].n_cpus, &list);
			if (r < 0)
				return log_error_errno(r, "Out of memory.");
		}
		printf("  node %d: CPUs %s, memory %s\n", c->nodes[i].id, list ?: "none",
		       format_mem(c->nodes[i].mem_total_bytes, mem, sizeof(mem)));
	}
	return 0;
}

static void print_memory(const struct host_memory *m)
{
	char buf[32];

	printf("\nMemory: %s total\n", format_mem(m->mem_total_bytes, buf, sizeof(buf)));
	printf("\nHugepages\n");
	if (m->n_pools == 0)
		printf("  none (kernel without hugetlbfs)\n");
	for (size_t i = 0; i < m->n_pools; i++) {
		const struct host_hugepool *p = &m->pools[i];
		char size[32], total[32];

		if (p->node >= 0)
			continue;
		format_size(p->page_size, size, sizeof(size));
		if (p->nr == 0 && p->surplus == 0) {
			printf("  %s: no pages\n", size);
			continue;
		}
		format_size(p->nr * p->page_size, total, sizeof(total));
		printf("  %s: %" PRIu64 " pages (%s), %" PRIu64 " free, %" PRIu64
		       " reserved, %" PRIu64 " surplus\n",
		       size, p->nr, total, p->free, p->resv, p->surplus);
		for (size_t j = 0; j < m->n_pools; j++) {
			const struct host_hugepool *q = &m->pools[j];
			if (q->node < 0 || q->page_size != p->page_size)
				continue;
			printf("      node %d: %" PRIu64 " pages, %" PRIu64 " free, %" PRIu64
			       " surplus\n",
			       q->node, q->nr, q->free, q->surplus);
		}
	}
}

static const char *level_to_string(int level)
{
	return level <= LOG_ERR ? "error" : level == LOG_WARNING ? "warning" : "notice";
}

static bool cpu_in(const unsigned *v, size_t n, unsigned cpu)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == cpu)
			return true;
	return false;
}

/* "L3 #0 (96M): vCPUs 0-15 on CPUs 0-7,16-23; housekeeping on CPUs 8,24; idle CPUs ..." */
static int print_plan_domains(const struct host_cpus *c, const struct vm_config *conf,
			      const struct cpu_plan *p)
{
	size_t n = MAX(c->n_cpus, 1);
	_cleanup_free_ unsigned *vs = malloc(MAX(conf->vcpus, 1) * sizeof(unsigned)),
				*vc = malloc(MAX(conf->vcpus, 1) * sizeof(unsigned)),
				*hk = malloc(n * sizeof(unsigned)),
				*idle = malloc(n * sizeof(unsigned));

	if (!vs || !vc || !hk || !idle)
		return log_error_errno(-ENOMEM, "Out of memory.");
	printf("  by L3 domain:\n");
	for (int l = -1; l < (int)c->n_l3s; l++) {
		_cleanup_free_ char *vl = NULL, *cl = NULL, *hl = NULL, *il = NULL;
		size_t nv = 0, nh = 0, ni = 0;
		char size[32];
		bool any = false;

		for (size_t i = 0; i < c->n_cpus; i++) {
			const struct host_cpu *cpu = &c->cpus[i];
			bool vcpu = p->vcpu_pin && cpu_in(p->vcpu_pin, conf->vcpus, cpu->id);

			if (!cpu->online || cpu->l3 != l)
				continue;
			any = true;
			if (cpu_in(p->housekeeping, p->n_housekeeping, cpu->id))
				hk[nh++] = cpu->id;
			else if (!vcpu)
				idle[ni++] = cpu->id;
		}
		if (!any)
			continue;
		for (unsigned v = 0; p->vcpu_pin && v < conf->vcpus; v++) {
			const struct host_cpu *cpu = host_cpus_find(c, p->vcpu_pin[v]);

			if (cpu && cpu->online && cpu->l3 == l) {
				vs[nv] = v;
				vc[nv++] = p->vcpu_pin[v];
			}
		}
		if (l >= 0)
			printf("    L3 #%d (%s):", l,
			       c->l3s[l].size_bytes
				       ? format_mem(c->l3s[l].size_bytes, size, sizeof(size))
				       : "size unknown");
		else
			printf("    no L3 information:");
		if (nv > 0) {
			qsort(vc, nv, sizeof(*vc), cmp_unsigned);
			/* A CPU pinned twice is listed once. */
			size_t m = 0;
			for (size_t i = 0; i < nv; i++)
				if (m == 0 || vc[m - 1] != vc[i])
					vc[m++] = vc[i];
			if (format_cpu_list(vs, nv, &vl) < 0 || format_cpu_list(vc, m, &cl) < 0)
				return log_error_errno(-ENOMEM, "Out of memory.");
			printf(" vCPU%s %s on CPU%s %s", nv > 1 ? "s" : "", vl, m > 1 ? "s" : "",
			       cl);
		}
		if (nh > 0) {
			if (format_cpu_list(hk, nh, &hl) < 0)
				return log_error_errno(-ENOMEM, "Out of memory.");
			printf("%s housekeeping on CPU%s %s", nv ? ";" : "", nh > 1 ? "s" : "", hl);
		}
		if (ni > 0) {
			if (format_cpu_list(idle, ni, &il) < 0)
				return log_error_errno(-ENOMEM, "Out of memory.");
			printf("%s idle CPU%s %s", nv || nh ? ";" : "", ni > 1 ? "s" : "", il);
		}
		printf("\n");
	}
	return 0;
}

static void print_vcpu_lines(const struct host_cpus *c, const struct vm_config *conf,
			     const struct cpu_plan *p)
{
	for (unsigned i = 0; i < conf->vcpus; i++) {
		const struct host_cpu *cpu = host_cpus_find(c, p->vcpu_pin[i]);

		printf("  vCPU %2u -> CPU %2u", i, p->vcpu_pin[i]);
		if (!cpu) {
			printf("  (not on this host)\n");
			continue;
		}
		if (!cpu->online) {
			printf("  (offline)\n");
			continue;
		}
		if (cpu->l3 >= 0)
			printf("  L3 #%d", cpu->l3);
		printf("  core %2d thread %d", cpu->core_index, cpu->smt_index);
		if (c->n_nodes > 1 && cpu->node >= 0)
			printf("  node %d", cpu->node);
		if (cpu->type != CORE_TYPE_UNKNOWN)
			printf("  %s", cpu->type == CORE_TYPE_PERFORMANCE ? "P-core" : "E-core");
		printf("\n");
	}
}

static int print_housekeeping(const struct vm_config *conf, const struct cpu_plan *p)
{
	_cleanup_free_ char *list = NULL;
	size_t n_shared = 0;

	if (p->n_housekeeping == 0) {
		printf("  no housekeeping set: QEMU's own threads float over all host CPUs.\n");
		return 0;
	}
	if (format_cpu_list(p->housekeeping, p->n_housekeeping, &list) < 0)
		return log_error_errno(-ENOMEM, "Out of memory.");
	printf("  emulator and I/O threads -> CPUs %s", list);
	/* The seed shares core 0 with vCPUs 0-1 on purpose; say so. */
	for (unsigned i = 0; p->vcpu_pin && i < conf->vcpus; i++)
		if (cpu_in(p->housekeeping, p->n_housekeeping, p->vcpu_pin[i]))
			printf(n_shared++ ? ", %u" : " (shared with vCPU %u", i);
	printf("%s\n", n_shared ? ")" : "");
	return 0;
}

/* The plan for CONF beside the host layout printed above it. */
static int print_plan(const struct host_cpus *c, const struct vm_config *conf,
		      const struct planner_input *in, const struct cpu_plan *p)
{
	const struct vm_topology *t = &p->topology;
	bool explicit_topology = conf->topology.sockets || conf->topology.dies ||
				 conf->topology.cores || conf->topology.threads;
	int r;

	printf("\nCPU plan for '%s' (%u vCPUs)\n", conf->path, conf->vcpus);
	printf("  %s, %s, topology from the %s\n",
	       conf->pin_auto ? "pin = auto"
	       : conf->n_pin  ? "pin from the config"
			      : "no pin",
	       conf->housekeeping_auto ? "housekeeping = auto"
	       : conf->n_housekeeping  ? "housekeeping from the config"
				       : "no housekeeping",
	       explicit_topology ? "config" : "plan");
	printf("  guest topology: %u socket%s, %u die%s, %u core%s, %u thread%s per core\n",
	       t->sockets, t->sockets == 1 ? "" : "s", t->dies, t->dies == 1 ? "" : "s", t->cores,
	       t->cores == 1 ? "" : "s", t->threads, t->threads == 1 ? "" : "s");
	if (c->n_nodes > 1) {
		if (p->node >= 0)
			printf("  NUMA: vCPUs on node %d", p->node);
		else
			printf("  NUMA: vCPUs %s", p->vcpu_pin ? "on several nodes" : "not pinned");
		if (in->gpu_node >= 0)
			printf("; GPU %s on node %d", in->gpu, in->gpu_node);
		if (in->memory_node >= 0)
			printf("; [memory] node = %d", in->memory_node);
		printf("\n");
	}

	if (p->vcpu_pin) {
		r = print_plan_domains(c, conf, p);
		if (r < 0)
			return r;
		print_vcpu_lines(c, conf, p);
	} else if (conf->pin_auto) {
		printf("  no pin map: see the error below.\n");
	} else {
		printf("  not pinned: vCPUs float over all host CPUs.\n");
	}
	r = print_housekeeping(conf, p);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n_diags; i++)
		printf("  %s: [%s] %s: %s\n", level_to_string(p->diags[i].level),
		       p->diags[i].section, p->diags[i].key, p->diags[i].msg);
	return 0;
}

/* ---- JSON ------------------------------------------------------------------------- */

static int json_add(struct json_object *o, const char *key, struct json_object *v, bool may_be_null)
{
	if (!v && !may_be_null)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int json_push(struct json_object *a, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *json_cpu_array(const unsigned *cpus, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_push(a, json_object_new_int64(cpus[i])) < 0) {
			json_object_put(a);
			return NULL;
		}
	return a;
}

/* "0-7,16-23" next to the array: what a person greps for. */
static int json_add_cpus(struct json_object *o, const char *key, const char *list_key,
			 const unsigned *cpus, size_t n)
{
	_cleanup_free_ char *list = NULL;
	int r;

	r = format_cpu_list(cpus, n, &list);
	if (r < 0)
		return r;
	r = json_add(o, key, json_cpu_array(cpus, n), false);
	return r ?: json_add(o, list_key, json_object_new_string(list), false);
}

static struct json_object *json_int_or_null(int v)
{
	return v < 0 ? NULL : json_object_new_int(v);
}

static int cpus_to_json(const struct host_cpus *c, struct json_object *o)
{
	struct json_object *cpus = NULL, *l3s = NULL, *nodes = NULL;
	int r = 0;

	r = r
		    ?: json_add(o, "vendor", c->vendor ? json_object_new_string(c->vendor) : NULL,
				!c->vendor);
	r = r
		    ?: json_add(o, "model_name",
				c->model_name ? json_object_new_string(c->model_name) : NULL,
				!c->model_name);
	r = r ?: json_add(o, "packages", json_object_new_int64(c->n_packages), false);
	r = r ?: json_add(o, "cores", json_object_new_int64(c->n_cores), false);
	r = r ?: json_add(o, "smt", json_object_new_boolean(c->smt), false);
	r = r ?: json_add(o, "hybrid", json_object_new_boolean(c->hybrid), false);
	r = r ?: json_add(o, "cpus", cpus = json_object_new_array(), false);
	r = r ?: json_add(o, "l3", l3s = json_object_new_array(), false);
	r = r ?: json_add(o, "nodes", nodes = json_object_new_array(), false);
	if (r < 0)
		return r;

	for (size_t i = 0; i < c->n_cpus; i++) {
		const struct host_cpu *cpu = &c->cpus[i];
		const char *type = core_type_to_string(cpu->type);
		struct json_object *e = json_object_new_object();

		r = json_push(cpus, e);
		r = r ?: json_add(e, "id", json_object_new_int64(cpu->id), false);
		r = r ?: json_add(e, "online", json_object_new_boolean(cpu->online), false);
		r = r ?: json_add(e, "package", json_int_or_null(cpu->package), cpu->package < 0);
		r = r ?: json_add(e, "die", json_int_or_null(cpu->die), cpu->die < 0);
		r = r ?: json_add(e, "core_id", json_int_or_null(cpu->core), cpu->core < 0);
		r = r
			    ?: json_add(e, "core", json_int_or_null(cpu->core_index),
					cpu->core_index < 0);
		r = r
			    ?: json_add(e, "thread", json_int_or_null(cpu->smt_index),
					cpu->smt_index < 0);
		r = r ?: json_add(e, "l3", json_int_or_null(cpu->l3), cpu->l3 < 0);
		r = r ?: json_add(e, "node", json_int_or_null(cpu->node), cpu->node < 0);
		r = r ?: json_add(e, "type", type ? json_object_new_string(type) : NULL, !type);
		if (r < 0)
			return r;
	}

	for (size_t l = 0; l < c->n_l3s; l++) {
		struct json_object *e = json_object_new_object(), *groups = NULL;

		r = json_push(l3s, e);
		r = r ?: json_add(e, "index", json_object_new_int64((int64_t)l), false);
		r = r
			    ?: json_add(e, "package", json_int_or_null(l3_package(c, l)),
					l3_package(c, l) < 0);
		r = r
			    ?: json_add(e, "size_bytes",
					json_object_new_int64((int64_t)c->l3s[l].size_bytes),
					false);
		r = r ?: json_add_cpus(e, "cpus", "cpu_list", c->l3s[l].cpus, c->l3s[l].n_cpus);
		r = r ?: json_add(e, "smt_groups", groups = json_object_new_array(), false);
		for (unsigned k = 0; r >= 0 && k < c->n_cores; k++) {
			const struct host_cpu *f = core_first(c, (int)k);
			unsigned t[64];
			size_t n;

			if (!f || f->l3 != (int)l)
				continue;
			n = core_threads(c, (int)k, t, ELEMENTSOF(t));
			r = json_push(groups, json_cpu_array(t, n));
		}
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < c->n_nodes; i++) {
		struct json_object *e = json_object_new_object();

		r = json_push(nodes, e);
		r = r ?: json_add(e, "id", json_object_new_int(c->nodes[i].id), false);
		r = r ?: json_add_cpus(e, "cpus", "cpu_list", c->nodes[i].cpus, c->nodes[i].n_cpus);
		r = r
			    ?: json_add(e, "mem_total_bytes",
					json_object_new_int64((int64_t)c->nodes[i].mem_total_bytes),
					false);
		if (r < 0)
			return r;
	}
	return 0;
}

static int memory_to_json(const struct host_memory *m, struct json_object *o)
{
	struct json_object *pools = NULL;
	int r = 0;

	r = r
		    ?: json_add(o, "mem_total_bytes",
				json_object_new_int64((int64_t)m->mem_total_bytes), false);
	r = r ?: json_add(o, "hugepages", pools = json_object_new_array(), false);
	for (size_t i = 0; r >= 0 && i < m->n_pools; i++) {
		const struct host_hugepool *p = &m->pools[i];
		struct json_object *e = json_object_new_object();

		r = json_push(pools, e);
		r = r
			    ?: json_add(e, "page_size",
					json_object_new_int64((int64_t)p->page_size), false);
		r = r ?: json_add(e, "node", json_int_or_null(p->node), p->node < 0);
		r = r ?: json_add(e, "nr", json_object_new_int64((int64_t)p->nr), false);
		r = r ?: json_add(e, "free", json_object_new_int64((int64_t)p->free), false);
		if (p->node < 0)
			r = r
				    ?: json_add(e, "resv", json_object_new_int64((int64_t)p->resv),
						false);
		r = r ?: json_add(e, "surplus", json_object_new_int64((int64_t)p->surplus), false);
	}
	return r;
}

static int pin_map_to_json(const struct vm_config *conf, struct json_object *o)
{
	int r = 0;

	r = r ?: json_add(o, "path", json_object_new_string(conf->path), false);
	r = r ?: json_add(o, "vcpus", json_object_new_int64(conf->vcpus), false);
	r = r ?: json_add(o, "pin_auto", json_object_new_boolean(conf->pin_auto), false);
	r = r
		    ?: json_add(o, "pin",
				conf->n_pin ? json_cpu_array(conf->pin, conf->n_pin) : NULL,
				conf->n_pin == 0);
	r = r
		    ?: json_add(o, "housekeeping_auto",
				json_object_new_boolean(conf->housekeeping_auto), false);
	r = r
		    ?: json_add(o, "housekeeping",
				conf->n_housekeeping
					? json_cpu_array(conf->housekeeping, conf->n_housekeeping)
					: NULL,
				conf->n_housekeeping == 0);
	return r;
}

static int plan_vcpu_to_json(const struct host_cpus *c, unsigned v, unsigned id,
			     struct json_object *a)
{
	const struct host_cpu *cpu = host_cpus_find(c, id);
	bool known = cpu && cpu->online;
	const char *type = known ? core_type_to_string(cpu->type) : NULL;
	struct json_object *e = json_object_new_object();
	int r;

	r = json_push(a, e);
	r = r ?: json_add(e, "vcpu", json_object_new_int64(v), false);
	r = r ?: json_add(e, "cpu", json_object_new_int64(id), false);
	r = r ?: json_add(e, "exists", json_object_new_boolean(known), false);
	r = r ?: json_add(e, "l3", known ? json_int_or_null(cpu->l3) : NULL, !known || cpu->l3 < 0);
	r = r
		    ?: json_add(e, "core", known ? json_int_or_null(cpu->core_index) : NULL,
				!known || cpu->core_index < 0);
	r = r
		    ?: json_add(e, "thread", known ? json_int_or_null(cpu->smt_index) : NULL,
				!known || cpu->smt_index < 0);
	r = r
		    ?: json_add(e, "node", known ? json_int_or_null(cpu->node) : NULL,
				!known || cpu->node < 0);
	r = r ?: json_add(e, "type", type ? json_object_new_string(type) : NULL, !type);
	return r;
}

static int plan_to_json(const struct host_cpus *c, const struct vm_config *conf,
			const struct planner_input *in, const struct cpu_plan *p,
			struct json_object *o)
{
	struct json_object *t = NULL, *vcpus = NULL, *diags = NULL;
	_cleanup_free_ char *hk = NULL;
	int r = 0;

	if (p->n_housekeeping > 0 && format_cpu_list(p->housekeeping, p->n_housekeeping, &hk) < 0)
		return -ENOMEM;
	r = r ?: json_add(o, "topology", t = json_object_new_object(), false);
	r = r ?: json_add(t, "sockets", json_object_new_int64(p->topology.sockets), false);
	r = r ?: json_add(t, "dies", json_object_new_int64(p->topology.dies), false);
	r = r ?: json_add(t, "cores", json_object_new_int64(p->topology.cores), false);
	r = r ?: json_add(t, "threads", json_object_new_int64(p->topology.threads), false);
	r = r
		    ?: json_add(o, "vcpu_pin",
				p->vcpu_pin ? json_cpu_array(p->vcpu_pin, conf->vcpus) : NULL,
				!p->vcpu_pin);
	r = r ?: json_add(o, "pin_planned", json_object_new_boolean(p->pin_planned), false);
	r = r
		    ?: json_add(o, "housekeeping",
				hk ? json_cpu_array(p->housekeeping, p->n_housekeeping) : NULL,
				!hk);
	r = r ?: json_add(o, "housekeeping_list", hk ? json_object_new_string(hk) : NULL, !hk);
	r = r
		    ?: json_add(o, "housekeeping_planned",
				json_object_new_boolean(p->housekeeping_planned), false);
	r = r ?: json_add(o, "node", json_int_or_null(p->node), p->node < 0);
	r = r
		    ?: json_add(o, "gpu", in->gpu[0] ? json_object_new_string(in->gpu) : NULL,
				!in->gpu[0]);
	r = r ?: json_add(o, "gpu_node", json_int_or_null(in->gpu_node), in->gpu_node < 0);
	r = r ?: json_add(o, "vcpus", vcpus = json_object_new_array(), false);
	for (unsigned v = 0; r >= 0 && p->vcpu_pin && v < conf->vcpus; v++)
		r = plan_vcpu_to_json(c, v, p->vcpu_pin[v], vcpus);
	r = r ?: json_add(o, "diagnostics", diags = json_object_new_array(), false);
	for (size_t i = 0; r >= 0 && i < p->n_diags; i++) {
		struct json_object *e = json_object_new_object();

		r = json_push(diags, e);
		r = r
			    ?: json_add(e, "level",
					json_object_new_string(level_to_string(p->diags[i].level)),
					false);
		r = r ?: json_add(e, "section", json_object_new_string(p->diags[i].section), false);
		r = r ?: json_add(e, "key", json_object_new_string(p->diags[i].key), false);
		r = r ?: json_add(e, "message", json_object_new_string(p->diags[i].msg), false);
	}
	return r;
}

static int print_json(const struct host_cpus *c, const struct host_memory *m,
		      const struct vm_config *conf, const struct planner_input *in,
		      const struct cpu_plan *p)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *mem = NULL, *cfg = NULL, *plan = NULL;
	int r = 0;

	if (!o)
		return log_error_errno(-ENOMEM, "Out of memory.");
	r = cpus_to_json(c, o);
	r = r ?: json_add(o, "memory", mem = json_object_new_object(), false);
	r = r ?: memory_to_json(m, mem);
	if (conf) {
		r = r ?: json_add(o, "config", cfg = json_object_new_object(), false);
		r = r ?: pin_map_to_json(conf, cfg);
		r = r ?: json_add(o, "plan", plan = json_object_new_object(), false);
		r = r ?: plan_to_json(c, conf, in, p, plan);
	}
	if (r < 0)
		return log_error_errno(r, "Failed to format the topology as JSON: %m");
	printf("%s\n",
	       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

/*
 * The plan for conf on this host. The GPU's NUMA node needs the PCI
 * devices; a host whose PCI devices cannot be read plans without it.
 */
static int plan_config(const struct host_root *h, const struct host_cpus *cpus,
		       const struct vm_config *conf, struct planner_input *ret_in,
		       struct cpu_plan *ret)
{
	_cleanup_(host_pci_done) struct host_pci pci = {};
	bool have_pci = false;
	int r;

	if (conf->n_pci > 0) {
		r = host_pci_probe(h, &pci);
		if (r < 0)
			log_debug_errno(
				r,
				"Failed to read the PCI devices, planning without the GPU's NUMA node: %m");
		have_pci = r >= 0;
	}
	planner_input_from_config(conf, have_pci ? &pci : NULL, ret_in);
	r = planner_build(cpus, ret_in, ret);
	if (r < 0)
		return log_error_errno(r, "Failed to plan the CPUs of '%s': %m", conf->path);
	return 0;
}

int verb_topology(const struct cli *c)
{
	_cleanup_(host_root_close) struct host_root h = HOST_ROOT_NULL;
	_cleanup_(host_cpus_done) struct host_cpus cpus = {};
	_cleanup_(host_memory_done) struct host_memory mem = {};
	_cleanup_(config_freep) struct vm_config *conf = NULL;
	_cleanup_(cpu_plan_done) struct cpu_plan plan = { .node = -1 };
	struct planner_input in = { .gpu_node = -1, .memory_node = -1 };
	char path[4096];
	int r;

	if (c->n_args > 0) {
		_cleanup_(config_error_done) struct config_error e = {};
		_cleanup_free_ char *file = NULL;

		r = vm_config_find(c, c->args[0], &file);
		if (r < 0)
			return r;
		r = config_load(file, &conf, &e);
		if (r < 0)
			return log_error_errno(r, "%s", e.msg ?: "Failed to load the config.");
	}

	r = host_root_open(c->root, &h);
	if (r < 0)
		return log_error_errno(r, "Failed to open the host root '%s': %m", c->root);
	r = host_cpus_probe(&h, &cpus);
	if (r < 0)
		return log_error_errno(
			r, "Failed to read the CPU topology in '%s': %m",
			host_root_path(&h, "sys", "devices/system/cpu", path, sizeof(path)));
	r = host_memory_probe(&h, &mem);
	if (r < 0)
		return log_error_errno(r,
				       "Failed to read the memory and hugepage pools in '%s': %m",
				       host_root_path(&h, "", NULL, path, sizeof(path)));

	if (conf) {
		r = plan_config(&h, &cpus, conf, &in, &plan);
		if (r < 0)
			return r;
	}

	if (c->json)
		return print_json(&cpus, &mem, conf, &in, &plan);

	r = print_cpus(&cpus);
	if (r < 0)
		return r;
	r = print_nodes(&cpus);
	if (r < 0)
		return r;
	print_memory(&mem);
	if (conf)
		return print_plan(&cpus, conf, &in, &plan);
	return 0;
}
