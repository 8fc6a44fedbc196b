/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host preparation for one VM: the plan's host changes made in order, each
 * journaled first; teardown is the journal replayed.
 *
 * Usage (gamevm start):
 *   _cleanup_(journal_freep) struct journal *j = NULL;
 *   _cleanup_(prepare_state_done) struct prepare_state st = {};
 *   struct prepare_params pp = { .h = &root, .c = c, .p = &plan, .f = &facts,
 *                                .vfio = VFIO_OPTS_INIT };
 *   pp.vfio.uid = qemu_uid; pp.vfio.gid = qemu_gid;
 *   r = journal_create(dirs.run_fd, c->name, &j);
 *   if (r == -EEXIST) ... a stale journal: replay it (prepare_teardown) and say so, or refuse
 *   r = prepare_host(&pp, j, &st, &diags);       print diags (the tuning report too);
 *                                                on r < 0 tear down
 *   ... keep st (st.pmqos_fd) until QEMU is gone ...
 *   ... spawn QEMU (-S), pin, cont ...
 *   prepare_after_start(&root, j, &st, &diags);  hugepages: release the pool target
 *   ... QEMU exits ...
 *   prepare_after_vm(&root, &st, &diags);        devices still answering?
 *   prepare_state_done(&st);                     closes st.pmqos_fd: C-states allowed again
 *   r = prepare_teardown(j, &root, &st.vfio, &diags);  the journal, backwards
 *
 * gamevm cleanup NAME: journal_open_existing(run_fd) + prepare_teardown().
 */
#pragma once

#include <stddef.h>

#include "hugepages.h"
#include "journal.h"
#include "tuning.h"
#include "plan.h"
#include "vfio.h"

struct prepare_params {
	const struct host_root *h;
	const struct vm_config *c;
	const struct plan *p;
	const struct host_facts *f; /* the hugepage node for node = auto */
	struct vfio_opts vfio;	    /* uid/gid of the QEMU user, timeouts; single_gpu from c */
};

struct prepare_state {
	struct vfio_dev *devs; /* the plan's host devices */
	size_t n_devs;
	struct vfio_opts vfio;
	struct hugepages_reservation hugepages; /* seq 0: none changed */
	/*
	 * [tuning] cstates: dev/cpu_dma_latency held open at 0 (tuning/pmqos.c).
	 * The PM QoS request lasts exactly as long as this fd is open, so the
	 * supervisor keeps st alive until QEMU has exited; prepare_state_done()
	 * closes it. -1 (or 0, a zeroed state): none held. Always >= 3 when held.
	 */
	int pmqos_fd;
};

void prepare_state_done(struct prepare_state *s);

/* The plan's hostdevs as vfio_dev (managed, primary_display from their [pci] section). */
int prepare_devs_from_plan(const struct plan *p, struct vfio_dev **ret, size_t *ret_n);

/*
 * Reserves the hugepages, binds the devices (vfio_prepare), then applies
 * [tuning] (tuning_apply: governor, C-states, IRQs, workqueues, cpusets,
 * THP defrag, stat_interval; a host that refuses one is reported, not
 * fatal). Returns
 * 0, or negative errno with diagnostics; the journal holds whatever was
 * done, so the caller tears down on failure. *ret is filled in either case
 * (prepare_state_done it).
 */
int prepare_host(const struct prepare_params *pp, struct journal *j, struct prepare_state *ret,
		 struct plan_diags *d);

/*
 * The desktop sections' host changes (prepare-desktop.c), each journaled:
 * [input] each evdev node opened to the QEMU user (pp->vfio.uid) by an ACL
 * entry, so that QEMU can open it; [looking-glass] /dev/shm/looking-glass
 * created or /dev/kvmfr0, owned by the desktop
 * user with group pp->vfio.gid, 0660; [audio] ACL entries that let the
 * QEMU user reach the desktop user's sound server socket. Called by
 * prepare_host().
 */
int prepare_desktop(const struct prepare_params *pp, struct journal *j, struct plan_diags *d);

/* After cont (QEMU holds its preallocated pages): hugepages_release_target(). */
int prepare_after_start(const struct host_root *h, struct journal *j, struct prepare_state *s,
			struct plan_diags *d);

/* After QEMU exited, before teardown: vfio_check_health() of the devices. */
int prepare_after_vm(const struct host_root *h, const struct prepare_state *s,
		     struct plan_diags *d);

/* The journal_undo_fn for every kind; userdata: const struct vfio_opts * or NULL. */
int prepare_undo(const struct host_root *h, const struct journal_record *rec, void *userdata,
		 struct plan_diags *d);

/* journal_replay() with prepare_undo(); o may be NULL (default timeouts). */
int prepare_teardown(struct journal *j, const struct host_root *h, const struct vfio_opts *o,
		     struct plan_diags *d);
