/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The CPU planner: where the vCPUs run, what topology the guest sees, and
 * which host CPUs keep the housekeeping (QEMU's emulator and I/O threads,
 * host IRQs), decided from the host's CPU facts alone. docs/planner.md
 * states the rules with examples; in short:
 *   - SMT siblings stay together: a guest core (threads = 2) is one host
 *     core, both threads;
 *   - vCPUs fill one L3 domain before the next, larger L3 first (X3D), and
 *     on hybrid Intel P-cores before E-cores;
 *   - the housekeeping set is a whole core, the first one (CPU 0 and its
 *     sibling) unless the vCPUs need its L3 domain whole; on hybrid Intel
 *     the E-cores the vCPUs leave free;
 *   - on NUMA hosts the vCPUs go to the node of the first passthrough GPU,
 *     else the memory node, else node 0.
 * An explicit pin list is kept as written and checked against the same
 * rules: each cost is a warning that says what it costs and what to write
 * instead.
 *
 * Pure: no I/O, no printing; the same input gives the same plan. Problems
 * come back as diagnostics naming the config key they are about, for the
 * caller (plan.c, cmd-topology.c) to print.
 *
 * Usage:
 *   struct planner_input in;
 *   planner_input_from_config(conf, &facts.pci, &in);
 *   _cleanup_(cpu_plan_done) struct cpu_plan cp = {0};
 *   r = planner_build(&facts.cpus, &in, &cp);   // r < 0: out of memory only
 *   if (cpu_plan_has_error(&cp)) ...            // see cp.diags
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "host.h"
#include "parse-util.h"

struct planner_input {
	unsigned vcpus;
	struct vm_topology topology; /* all 0 = auto; else complete (config.c fills it in) */
	const unsigned *pin;	     /* explicit list, n_pin == vcpus; NULL = none or auto */
	size_t n_pin;
	bool pin_auto;
	const unsigned *housekeeping; /* explicit set; NULL = none or auto */
	size_t n_housekeeping;
	bool housekeeping_auto;
	int gpu_node; /* NUMA node of the first passthrough GPU, -1 = none or unknown */
	char gpu[PCI_ADDR_STRLEN]; /* that GPU's address, for messages; "" = none */
	int memory_node;	   /* [memory] node, -1 = auto */
};

struct planner_diag {
	int level;	     /* LOG_ERR, LOG_WARNING, LOG_NOTICE */
	const char *section; /* the config key the message is about: "cpu" ... */
	const char *key;     /* ... "pin", "housekeeping", "vcpus", "threads"; "memory" "node" */
	char *msg;
};

struct cpu_plan {
	struct vm_topology topology; /* complete, product == vcpus */
	unsigned *vcpu_pin;	     /* host CPU per vCPU; NULL = vCPUs not pinned */
	unsigned *housekeeping;	     /* sorted; NULL = QEMU's threads not pinned */
	size_t n_housekeeping;
	bool pin_planned;	   /* vcpu_pin chosen here (pin = auto) */
	bool housekeeping_planned; /* housekeeping chosen here (housekeeping = auto) */
	/*
	 * Host NUMA node the vCPUs are on (where guest memory belongs), -1
	 * when the host has a single node or the vCPUs are spread or unpinned.
	 */
	int node;
	struct planner_diag *diags;
	size_t n_diags;
};

/*
 * Plans for in on host c. Returns 0 with the decisions and diagnostics in
 * *ret (errors included: check cpu_plan_has_error()), or -ENOMEM. An
 * error leaves vcpu_pin NULL when pin = auto had no valid answer.
 */
int planner_build(const struct host_cpus *c, const struct planner_input *in, struct cpu_plan *ret);
void cpu_plan_done(struct cpu_plan *p);
bool cpu_plan_has_error(const struct cpu_plan *p);

/*
 * The planner's input for a config: its [cpu] keys, [memory] node, and the
 * NUMA node of the first [pci] device that is a display controller on this
 * host (pci may be NULL: no GPU node). Pointers into c; c must outlive it.
 */
void planner_input_from_config(const struct vm_config *c, const struct host_pci *pci,
			       struct planner_input *ret);
