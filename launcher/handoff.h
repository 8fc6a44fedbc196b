/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Single-GPU handoff ([vm] single-gpu = yes): the host's own display GPU
 * goes to the VM and comes back after, so the host lets go of it first.
 *
 * Usage (prepare_host, between the hugepages and vfio_prepare):
 *   struct handoff_opts o = { .units = c->single_gpu_stop, .release_ms = ... };
 *   r = handoff_prepare(h, j, devs, n, &o, &diags);
 *   ... vfio_prepare() moves the GPU to vfio-pci (timed unbind) ...
 *   teardown: journal_replay() runs handoff_undo_unit / _platform, last first
 *
 * handoff_prepare, each step journaled before it is made:
 *   1. stops the units that keep the desktop on the GPU (the display
 *      manager, and with it the sessions it started) that are active, when
 *      systemd runs the host (run/systemd/system);
 *   2. with end_sessions, ends each login session (session-N.scope, as
 *      logind made it) one of whose processes still holds a display
 *      device's nodes: GDM, for one, keeps its sessions (gdm-x-session)
 *      alive after its own stop;
 *   3. waits up to release_ms for every process to close the display
 *      devices' DRM nodes, and fails (-EBUSY, naming them) when some still
 *      hold them: unbinding the driver under them could hang in the kernel;
 *   4. unless keep_consoles, unbinds the framebuffer console from its VT consoles
 *      (class/vtconsole/vtconN/bind = 0), so fbcon lets go of the
 *      framebuffer of the GPU's driver;
 *   5. when a display device is the boot VGA device, unbinds the firmware
 *      framebuffers (efifb, simplefb, vesafb, simpledrm) that draw into its
 *      memory, in a helper with a deadline.
 * Steps 2 to 5 only when a passed device is a display controller (PCI
 * class 03) or the boot VGA device. The replay undoes them in the reverse
 * order after the GPU is back on its driver: framebuffers rebound (unless
 * the driver took their memory over and removed them), consoles rebound,
 * units started again.
 *
 * Library code: no printing; 0 or negative errno plus diagnostics.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "journal.h"
#include "vfio.h"

#define HANDOFF_UNIT_DEFAULT	  "display-manager.service"
#define HANDOFF_RELEASE_MS	  10000
#define HANDOFF_UNIT_TIMEOUT_MS	  90000
#define HANDOFF_UNBIND_TIMEOUT_MS 10000

struct handoff_opts {
	char *const *units; /* NULL-terminated; NULL: HANDOFF_UNIT_DEFAULT */
	int release_ms;	    /* how long programs get to close the GPU's nodes */
	int unit_timeout_ms;
	int unbind_timeout_ms;
	bool end_sessions;  /* end login sessions still holding the GPU after the units stop */
	bool keep_consoles; /* leave the VT consoles bound (step 3 skipped) */
};

int handoff_prepare(const struct host_root *h, struct journal *j, const struct vfio_dev *devs,
		    size_t n, const struct handoff_opts *o, struct plan_diags *d);

/* Undo of JOURNAL_UNIT: starts the unit again unless it is active. */
int handoff_undo_unit(const struct host_root *h, const struct journal_record *rec,
		      struct plan_diags *d);
/*
 * Undo of JOURNAL_PLATFORM_DRIVER: binds the device to its old driver again,
 * unless it is bound already or gone (the GPU's own driver, back on the
 * device, removes the firmware framebuffer it replaces).
 */
int handoff_undo_platform(const struct host_root *h, const struct journal_record *rec,
			  struct plan_diags *d);

/* One sysfs path component: a device or driver name, no '/', not "." or "..". */
bool handoff_sysfs_name_is_valid(const char *s);
