/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by planner.c (the automatic plan) and planner-check.c (the checks
 * of an explicit pin list): the planner's view of the host, built once per
 * planner_build() call. Not a public interface.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "planner.h"

/* Threads per core the planner keeps track of; x86 has at most 2 (Xeon Phi 4). */
#define PL_THREADS_MAX 8

/* One host core: its online threads, lowest first ("0,16"). */
struct pl_core {
	int index; /* host_cpu.core_index */
	unsigned cpus[PL_THREADS_MAX];
	size_t n;
	size_t dom; /* index into pl_host.doms */
	int node;   /* NUMA node of its first thread, -1 unknown */
	enum core_type type;
};

/*
 * An L3 domain (CCD/CCX on AMD, the whole die on most Intel parts). Cores
 * without L3 information form one domain per package and node.
 */
struct pl_dom {
	int l3; /* index into host_cpus.l3s, -1 = no L3 information */
	int package;
	int node;
	uint64_t size; /* bytes, 0 unknown */
	size_t *cores; /* indexes into pl_host.cores, lowest CPU first */
	size_t n_cores;
	size_t n_threads;
};

struct pl_host {
	const struct host_cpus *c;
	struct pl_core *cores; /* by lowest CPU */
	size_t n_cores;
	struct pl_dom *doms; /* by lowest CPU */
	size_t n_doms;
	size_t n_threads; /* online CPUs */
	bool hybrid;	  /* P- and E-cores both online */
	int *core_of;	  /* per host_cpus.cpus[] slot: index into cores, -1 offline */
};

int pl_host_build(const struct host_cpus *c, struct pl_host *ret);
void pl_host_done(struct pl_host *h);
/* Index into h->cores of the core running CPU cpu, -1 if none (missing, offline). */
int pl_core_of_cpu(const struct pl_host *h, unsigned cpu);
/* Online CPU threads of node (all of them when node < 0). */
size_t pl_node_threads(const struct pl_host *h, int node);

/* Appends a diagnostic to p; returns 0 or -ENOMEM. */
int pl_diag(struct cpu_plan *p, int level, const char *section, const char *key, const char *fmt,
	    ...) _printf_(5, 6);

/* Sorted copy of v formatted as a CPU list, "0-7,16-23"; "none" for n == 0. Caller frees. */
int pl_format_set(const unsigned *v, size_t n, char **ret);
/* Appends printf output to *s (NULL: starts it); 0 or -ENOMEM. */
int pl_appendf(char **s, const char *fmt, ...) _printf_(2, 3);
/* "32M", or "size unknown". */
const char *pl_format_l3(const struct pl_dom *d, char *buf, size_t size);

/*
 * The checks of an explicit pin list (planner-check.c): overcommit, guest
 * SMT pairs on non-siblings or across L3 domains, siblings the guest sees
 * as separate cores, more L3 domains or NUMA nodes than needed, vCPUs on
 * the housekeeping cores, E-cores while P-cores are free. pairs_only runs
 * just the two SMT checks (for an automatic map with an explicit topology).
 */
int pl_check_pins(const struct pl_host *h, const struct planner_input *in, bool pairs_only,
		  struct cpu_plan *p);
