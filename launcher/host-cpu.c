/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CPU topology from sysfs under the host root:
 *   devices/system/cpu/{present,online}
 *   devices/system/cpu/cpuN/{online,topology/...,cache/indexM/...}
 *   devices/system/node/nodeN/{cpulist,meminfo}
 *   devices/cpu_core/cpus, devices/cpu_atom/cpus  (Intel hybrid)
 * and vendor/model from proc/cpuinfo.
 *
 * sysfs under the root is the source of truth, so fixture trees and the lab
 * VM answer like a real host. libnuma is consulted only on the real root and
 * only for what sysfs did not say (a node's memory), since it reads the real
 * /sys whatever --root says.
 *
 * The kernel drops topology/ and cache/ of an offline CPU; such CPUs are
 * listed with online=false and -1 in every topology field.
 *
 * Only the CPU list itself is required. Any other part that is absent or
 * closed to us (read_err_is_absent(): a VM without cache/ or node/, a
 * container's masked sysfs, cpuinfo not readable) is recorded as unknown
 * (no L3, no node, no SMT siblings, no model name), which the planner and
 * "gamevm topology" show as such; a malformed file stays an error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "host.h"
#include "macro.h"
#include "parse-util.h"

/* Upper bound for CPU numbers in sysfs lists (NR_CPUS is at most 8192). */
#define CPU_NUMBER_MAX 16384

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

/* Reads a sysfs CPU list; an empty file is an empty set, not an error. */
static int read_cpu_list_at(int dirfd, const char *path, unsigned **ret, size_t *ret_n)
{
	_cleanup_free_ char *s = NULL;
	unsigned *v = NULL;
	size_t n = 0;
	int r;

	r = read_one_line_at(dirfd, path, &s);
	if (r < 0)
		return r;
	strstrip(s);
	if (*s) {
		r = parse_cpu_list(s, CPU_NUMBER_MAX, 0, &v, &n);
		if (r < 0)
			return r;
		qsort(v, n, sizeof(*v), cmp_unsigned);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static bool cpu_set_contains(const unsigned *v, size_t n, unsigned cpu)
{
	return v && bsearch(&cpu, v, n, sizeof(*v), cmp_unsigned);
}

static int read_int_or(int dirfd, const char *path, int fallback)
{
	int v;

	return read_int_at(dirfd, path, &v) < 0 ? fallback : v;
}

/* Lists the numeric suffixes of entries "<prefix>N" in a directory, sorted. */
static int list_numbered(int dirfd, const char *path, const char *prefix, unsigned **ret,
			 size_t *ret_n)
{
	_cleanup_free_ unsigned *v = NULL;
	size_t n = 0, cap = 0, plen = strlen(prefix);
	DIR *d;
	int fd;

	fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NEG_ERRNO();
	d = fdopendir(fd);
	if (!d) {
		int r = NEG_ERRNO();
		close(fd);
		return r;
	}
	for (struct dirent *de; (de = readdir(d));) {
		unsigned x;

		if (strncmp(de->d_name, prefix, plen) != 0 || safe_atou(de->d_name + plen, &x) < 0)
			continue;
		if (n == cap) {
			unsigned *p = realloc(v, (cap = cap ? cap * 2 : 32) * sizeof(*v));
			if (!p) {
				closedir(d);
				return -ENOMEM;
			}
			v = p;
		}
		v[n++] = x;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_unsigned);
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

/* vendor_id and model name of the first processor in proc/cpuinfo. */
static int read_cpuinfo(const struct host_root *h, char **ret_vendor, char **ret_model)
{
	_cleanup_free_ char *vendor = NULL, *model = NULL, *line = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t cap = 0;
	int fd;

	if (h->proc_fd < 0)
		return -ENOENT;
	fd = openat(h->proc_fd, "cpuinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NEG_ERRNO();
	f = fdopen(fd, "re");
	if (!f) {
		int r = NEG_ERRNO();
		close(fd);
		return r;
	}
	/* cpuinfo repeats per CPU and gets large; the first block is enough. */
	while ((!vendor || !model) && getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':'), **dst = NULL;

		if (!colon)
			continue;
		*colon = 0;
		strstrip(line);
		if (streq(line, "vendor_id") && !vendor)
			dst = &vendor;
		else if (streq(line, "model name") && !model)
			dst = &model;
		if (!dst)
			continue;
		*dst = strdup(strstrip(colon + 1));
		if (!*dst)
			return -ENOMEM;
	}
	*ret_vendor = TAKE_PTR(vendor);
	*ret_model = TAKE_PTR(model);
	return 0;
}

/* "Node 0 MemTotal:       131836556 kB" */
static int read_node_memtotal(int sys_fd, unsigned node, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "devices/system/node/node%u/meminfo", node);
	r = read_full_file_at(sys_fd, path, 64 * 1024, &text, NULL);
	if (r < 0)
		return r;
	for (char *l = text, *next; l && *l; l = next) {
		char *p;
		uint64_t kib;

		next = strchr(l, '\n');
		if (next)
			*next++ = 0;
		p = strstr(l, "MemTotal:");
		if (!p)
			continue;
		p = strstrip(p + strlen("MemTotal:"));
		if (strlen(p) < 3 || !streq(p + strlen(p) - 3, " kB"))
			return -EINVAL;
		p[strlen(p) - 3] = 0;
		r = safe_atou64(strstrip(p), &kib);
		if (r < 0)
			return r;
		if (kib > UINT64_MAX / 1024)
			return -ERANGE;
		*ret = kib * 1024;
		return 0;
	}
	return -ENODATA;
}

static void l3_done(struct host_l3 *l)
{
	free(l->cpus);
}

static void node_done(struct host_node *n)
{
	free(n->cpus);
}

void host_cpus_done(struct host_cpus *c)
{
	if (!c)
		return;
	free(c->cpus);
	for (size_t i = 0; i < c->n_l3s; i++)
		l3_done(&c->l3s[i]);
	free(c->l3s);
	for (size_t i = 0; i < c->n_nodes; i++)
		node_done(&c->nodes[i]);
	free(c->nodes);
	free(c->vendor);
	free(c->model_name);
	*c = (struct host_cpus){};
}

const struct host_cpu *host_cpus_find(const struct host_cpus *c, unsigned id)
{
	size_t lo = 0, hi = c ? c->n_cpus : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->cpus[mid].id == id)
			return &c->cpus[mid];
		if (c->cpus[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Finds the L3 of one CPU: the cache/indexM with level 3 (unified). Returns
 * its dense index in c->l3s, adding the domain the first time it is seen.
 */
static int cpu_find_l3(int sys_fd, unsigned cpu, struct host_cpus *c, int *ret)
{
	_cleanup_free_ unsigned *idx = NULL;
	size_t n_idx = 0;
	char path[128];
	int r;

	snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/cache", cpu);
	r = list_numbered(sys_fd, path, "index", &idx, &n_idx);
	if (read_err_is_absent(r)) {
		*ret = -1;
		return 0;
	}
	if (r < 0)
		return r;

	for (size_t i = 0; i < n_idx; i++) {
		_cleanup_free_ char *type = NULL, *size = NULL;
		_cleanup_free_ unsigned *cpus = NULL;
		size_t n = 0;
		uint64_t bytes = 0;
		int level;

		snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/cache/index%u/level", cpu,
			 idx[i]);
		if (read_int_at(sys_fd, path, &level) < 0 || level != 3)
			continue;
		snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/cache/index%u/type", cpu,
			 idx[i]);
		if (read_one_line_at(sys_fd, path, &type) >= 0 &&
		    streq(strstrip(type), "Instruction"))
			continue;
		snprintf(path, sizeof(path),
			 "devices/system/cpu/cpu%u/cache/index%u/shared_cpu_list", cpu, idx[i]);
		r = read_cpu_list_at(sys_fd, path, &cpus, &n);
		if (read_err_is_absent(r))
			continue; /* which CPUs share it is unknown: not an L3 domain */
		if (r < 0)
			return r;
		if (n == 0)
			continue;
		snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/cache/index%u/size", cpu,
			 idx[i]);
		if (read_one_line_at(sys_fd, path, &size) >= 0 &&
		    parse_size(strstrip(size), &bytes) < 0)
			bytes = 0;

		for (size_t j = 0; j < c->n_l3s; j++)
			if (c->l3s[j].n_cpus == n &&
			    memcmp(c->l3s[j].cpus, cpus, n * sizeof(*cpus)) == 0) {
				*ret = (int)j;
				return 0;
			}
		struct host_l3 *p = realloc(c->l3s, (c->n_l3s + 1) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->l3s = p;
		c->l3s[c->n_l3s] = (struct host_l3){
			.cpus = TAKE_PTR(cpus),
			.n_cpus = n,
			.size_bytes = bytes,
		};
		*ret = (int)c->n_l3s++;
		return 0;
	}
	*ret = -1;
	return 0;
}

static int probe_nodes(const struct host_root *h, struct host_cpus *c)
{
	_cleanup_free_ unsigned *ids = NULL;
	size_t n_ids = 0;
	bool libnuma;
	int r;

	r = list_numbered(h->sys_fd, "devices/system/node", "node", &ids, &n_ids);
	if (read_err_is_absent(r))
		return 0; /* kernel without NUMA (or not readable): no node facts */
	if (r < 0)
		return r;
	if (n_ids == 0)
		return 0;

	libnuma = h->is_real && numa_available() >= 0;
	c->nodes = calloc(n_ids, sizeof(*c->nodes));
	if (!c->nodes)
		return -ENOMEM;
	for (size_t i = 0; i < n_ids; i++) {
		struct host_node *nd = &c->nodes[c->n_nodes++];
		char path[64];

		nd->id = (int)ids[i];
		snprintf(path, sizeof(path), "devices/system/node/node%u/cpulist", ids[i]);
		r = read_cpu_list_at(h->sys_fd, path, &nd->cpus, &nd->n_cpus);
		if (r < 0 && !read_err_is_absent(r))
			return r;
		if (read_node_memtotal(h->sys_fd, ids[i], &nd->mem_total_bytes) < 0 && libnuma) {
			long long sz = numa_node_size64((int)ids[i], NULL);
			if (sz > 0)
				nd->mem_total_bytes = (uint64_t)sz;
		}
		for (size_t j = 0; j < nd->n_cpus; j++) {
			struct host_cpu *cpu = (struct host_cpu *)host_cpus_find(c, nd->cpus[j]);
			if (cpu)
				cpu->node = nd->id;
		}
	}
	return 0;
}

/* Intel hybrid parts name their P and E cores through two PMUs. */
static int probe_core_types(const struct host_root *h, struct host_cpus *c)
{
	_cleanup_free_ unsigned *p = NULL, *e = NULL;
	size_t n_p = 0, n_e = 0;
	int r;

	r = read_cpu_list_at(h->sys_fd, "devices/cpu_core/cpus", &p, &n_p);
	if (read_err_is_absent(r))
		return 0;
	if (r < 0)
		return r;
	r = read_cpu_list_at(h->sys_fd, "devices/cpu_atom/cpus", &e, &n_e);
	if (read_err_is_absent(r))
		return 0;
	if (r < 0)
		return r;
	if (n_p == 0 || n_e == 0)
		return 0;

	for (size_t i = 0; i < c->n_cpus; i++) {
		if (cpu_set_contains(p, n_p, c->cpus[i].id))
			c->cpus[i].type = CORE_TYPE_PERFORMANCE;
		else if (cpu_set_contains(e, n_e, c->cpus[i].id))
			c->cpus[i].type = CORE_TYPE_EFFICIENCY;
	}
	c->hybrid = true;
	return 0;
}

/* Reads topology/ of one online CPU; core_index/smt_index come later. */
static int probe_cpu(int sys_fd, struct host_cpu *cpu, unsigned **ret_siblings,
		     size_t *ret_n_siblings)
{
	char path[128];
	int r;

	snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/topology/physical_package_id",
		 cpu->id);
	cpu->package = read_int_or(sys_fd, path, 0);
	snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/topology/die_id", cpu->id);
	cpu->die = read_int_or(sys_fd, path, 0);
	snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/topology/core_id", cpu->id);
	cpu->core = read_int_or(sys_fd, path, (int)cpu->id);
	snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/topology/thread_siblings_list",
		 cpu->id);
	r = read_cpu_list_at(sys_fd, path, ret_siblings, ret_n_siblings);
	if (read_err_is_absent(r)) {
		*ret_siblings = NULL;
		*ret_n_siblings = 0;
		return 0;
	}
	return r;
}

/*
 * Dense indexes. A core is a set of SMT siblings (thread_siblings_list, or
 * the CPU alone when the kernel does not say); cores and L3 domains are
 * numbered in the order of their lowest CPU, so on the usual layouts core
 * index k holds the k-th first thread.
 */
static int assign_cores(int sys_fd, struct host_cpus *c)
{
	_cleanup_free_ int *first_of_core =
		NULL; /* per cpus[] slot: slot of its core's first CPU */
	int n_cores = 0, r;

	first_of_core = malloc(MAX(c->n_cpus, 1) * sizeof(int));
	if (!first_of_core)
		return -ENOMEM;

	for (size_t i = 0; i < c->n_cpus; i++) {
		struct host_cpu *cpu = &c->cpus[i];
		_cleanup_free_ unsigned *sib = NULL;
		size_t n_sib = 0;
		int l3 = -1;

		first_of_core[i] = -1;
		if (!cpu->online)
			continue;
		r = probe_cpu(sys_fd, cpu, &sib, &n_sib);
		if (r < 0)
			return r;

		/* The core's first online sibling decides; it was seen before us. */
		for (size_t j = 0; j < n_sib && sib[j] < cpu->id; j++) {
			const struct host_cpu *o = host_cpus_find(c, sib[j]);
			if (o && o->online) {
				size_t slot = (size_t)(o - c->cpus);
				first_of_core[i] = first_of_core[slot];
				break;
			}
		}
		if (first_of_core[i] < 0) {
			first_of_core[i] = (int)i;
			cpu->core_index = n_cores++;
			cpu->smt_index = 0;
		} else {
			const struct host_cpu *first = &c->cpus[first_of_core[i]];
			int smt = 0;

			for (size_t j = 0; j < i; j++)
				if (first_of_core[j] == first_of_core[i])
					smt++;
			cpu->core_index = first->core_index;
			cpu->smt_index = smt;
			c->smt = true;
		}

		r = cpu_find_l3(sys_fd, cpu->id, c, &l3);
		if (r < 0)
			return r;
		cpu->l3 = l3;
	}
	c->n_cores = (unsigned)n_cores;

	/* Packages: count distinct ids among online CPUs. */
	for (size_t i = 0; i < c->n_cpus; i++) {
		bool seen = false;
		if (!c->cpus[i].online)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = c->cpus[j].online && c->cpus[j].package == c->cpus[i].package;
		if (!seen)
			c->n_packages++;
	}
	return 0;
}

int host_cpus_probe(const struct host_root *h, struct host_cpus *ret)
{
	_cleanup_(host_cpus_done) struct host_cpus c = {};
	_cleanup_free_ unsigned *present = NULL, *online = NULL;
	size_t n_present = 0, n_online = 0;
	bool have_online_list;
	int r;

	if (h->sys_fd < 0)
		return -ENOENT;

	r = read_cpu_list_at(h->sys_fd, "devices/system/cpu/present", &present, &n_present);
	if (read_err_is_absent(r))
		r = list_numbered(h->sys_fd, "devices/system/cpu", "cpu", &present, &n_present);
	if (r < 0)
		return r;
	if (n_present == 0)
		return -ENODATA;

	r = read_cpu_list_at(h->sys_fd, "devices/system/cpu/online", &online, &n_online);
	if (r < 0 && !read_err_is_absent(r))
		return r;
	have_online_list = r >= 0;

	c.cpus = calloc(n_present, sizeof(*c.cpus));
	if (!c.cpus)
		return -ENOMEM;
	for (size_t i = 0; i < n_present; i++) {
		struct host_cpu *cpu = &c.cpus[c.n_cpus++];
		char path[64];
		int on;

		*cpu = (struct host_cpu){
			.id = present[i],
			.package = -1,
			.die = -1,
			.core = -1,
			.core_index = -1,
			.smt_index = -1,
			.l3 = -1,
			.node = -1,
		};
		if (have_online_list) {
			cpu->online = cpu_set_contains(online, n_online, cpu->id);
		} else {
			/* cpu0 usually has no "online" file: it cannot go offline. */
			snprintf(path, sizeof(path), "devices/system/cpu/cpu%u/online", cpu->id);
			on = read_int_or(h->sys_fd, path, 1);
			cpu->online = on != 0;
		}
	}

	r = assign_cores(h->sys_fd, &c);
	if (r < 0)
		return r;
	r = probe_core_types(h, &c);
	if (r < 0)
		return r;
	r = probe_nodes(h, &c);
	if (r < 0)
		return r;
	r = read_cpuinfo(h, &c.vendor, &c.model_name);
	if (r < 0 && !read_err_is_absent(r))
		return r;

	*ret = c;
	c = (struct host_cpus){};
	return 0;
}
