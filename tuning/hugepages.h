/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hugepages for the VM's RAM: reserved when it starts, given back when it
 * ends, nothing held while it is off.
 *
 * Usage (gamevm start):
 *   struct hugepages_request req;
 *   _cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
 *   r = hugepages_request_from_plan(c, p, f, &req);   -ENODATA: no hugepages
 *   r = hugepages_reserve(h, j, &req, &res, &diags);  -ENOMEM: too few (diags say
 *                                                     how many and what to do)
 *   ... the RAM faulted in (guest-ram.h), QEMU started, cont sent ...
 *   hugepages_release_target(h, j, &res, &diags);
 *   ... teardown: journal_replay() -> hugepages_undo() for what is left
 *
 * The pool is per NUMA node (sys/devices/system/node/nodeN/hugepages/
 * hugepages-SIZEkB) when the plan names a node, or when [memory] node =
 * auto and a passed GPU sits on a node, else the global pool
 * (sys/kernel/mm/hugepages/hugepages-SIZEkB). Pages already free count
 * (global pool: free minus reserved), so only the shortfall is added. When
 * the kernel gives fewer pages than asked, memory is compacted
 * (proc/sys/vm/compact_memory) and the write retried once.
 *
 * Give-back: the journal records the pool's persistent pages before
 * (nr_hugepages - surplus_hugepages) and the target written; the undo
 * lowers the persistent pages by what gamevm added (and never below the
 * old count), so pages someone else added in the meantime stay. Persistent,
 * not nr_hugepages: another VM's pages, surplus since its own give-back,
 * become persistent again when the pool is raised under them; counted
 * this way, the undo makes them surplus again instead of leaving them in
 * the pool after that VM.
 * hugepages_release_target() does that undo early, as soon as QEMU holds
 * its pages: lowering nr_hugepages below the pages in use turns those into
 * surplus pages, which the kernel frees as QEMU releases them
 * (mm/hugetlb.c set_max_huge_pages, adjust_pool_surplus). So the pages
 * return even if gamevm itself dies while QEMU runs on (Proxmox does the
 * same, PVE::QemuServer::Memory::hugepages_reset).
 *
 * Library code: no printing; 0 or negative errno plus diagnostics.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "host.h"
#include "journal.h"
#include "plan.h"

struct hugepages_request {
	uint64_t page_size; /* bytes */
	uint64_t pages;	    /* the VM's RAM in pages */
	int node;	    /* NUMA node, -1: the global pool */
};

struct hugepages_reservation {
	uint64_t page_size;
	int node;
	char *pool;	      /* the pool dir under sys/ */
	uint64_t wanted;      /* pages the VM needs */
	uint64_t free_before; /* usable free pages before (the global pool: free - resv) */
	uint64_t nr_before;   /* nr_hugepages before */
	uint64_t nr_after;    /* nr_hugepages after (what the kernel gave) */
	uint64_t obtained;    /* usable free pages for the VM now, at most wanted */
	bool compacted;	      /* memory was compacted for a second try */
	unsigned seq;	      /* the journal record of the change; 0: nothing changed */
};

void hugepages_reservation_done(struct hugepages_reservation *r);

/* "kernel/mm/hugepages/hugepages-1048576kB" or "devices/system/node/node0/hugepages/..." */
int hugepages_pool_dir(uint64_t page_size, int node, char **ret);

/*
 * What the plan asks for: size and count from [memory], the node from
 * [memory] node, or for node = auto the NUMA node of the first passed
 * display device (when the host has a pool on that node).
 * -ENODATA when the VM uses no hugepages.
 */
int hugepages_request_from_plan(const struct vm_config *c, const struct plan *p,
				const struct host_facts *f, struct hugepages_request *ret);

/*
 * Makes req->pages pages free in the pool, journaling the pool's count
 * before changing it. Returns 0 (*ret filled), -ENOENT when the host has no
 * such pool, -ENOMEM when fewer could be had (a LOG_ERR diagnostic with the
 * exact numbers and what to do; the change is journaled, replay gives it
 * back), or another negative errno.
 */
int hugepages_reserve(const struct host_root *h, struct journal *j,
		      const struct hugepages_request *req, struct hugepages_reservation *ret,
		      struct plan_diags *d);

/*
 * Once QEMU holds its pages: lowers the pool target back by what gamevm
 * added and marks the record done (see above). No-op when nothing was
 * added or it was released already.
 */
int hugepages_release_target(const struct host_root *h, struct journal *j,
			     const struct hugepages_reservation *res, struct plan_diags *d);

/* Undo of JOURNAL_HUGEPAGES (see above). Idempotent. */
int hugepages_undo(const struct host_root *h, const struct journal_record *rec,
		   struct plan_diags *d);
