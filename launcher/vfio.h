/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VFIO binding: hands the passthrough devices to vfio-pci before QEMU
 * starts and gives the managed ones back to their drivers after, every step
 * written to the undo journal first.
 *
 * Usage (gamevm start, after the plan):
 *   struct vfio_opts o = VFIO_OPTS_INIT;
 *   o.single_gpu = c->single_gpu; o.uid = qemu_uid; o.gid = qemu_gid;
 *   r = vfio_prepare(h, j, devs, n, &o, &diags);    checks, then binds
 *   ... QEMU runs, QEMU exits ...
 *   vfio_check_health(h, devs, n, &diags);          before giving them back
 *   journal_replay(j, h, prepare_undo, &o, &diags); vfio_undo_driver & co.
 *
 * vfio_prepare() reads the devices afresh (the plan may be minutes old)
 * and refuses, with one LOG_ERR diagnostic per problem and -EINVAL, when:
 * the IOMMU is off; a device's IOMMU group holds another endpoint that is
 * neither passed nor on vfio-pci; a device is in use by the host display
 * (boot VGA with a framebuffer on it, or a DRM card node held open) and
 * the config does not say single-gpu; an unmanaged device is not on
 * vfio-pci. A device without a reset method gets a LOG_WARNING.
 *
 * Then for each managed device not on vfio-pci: journal its driver and
 * driver_override, set driver_override, unbind, drivers_probe (see
 * vfio.c for why in this order); vfio-pci is loaded first when it is not
 * (journaled: unloaded again after). Writes to unbind, bind and
 * drivers_probe run in a helper process with a deadline: the kernel's
 * unbind waits for the driver to let go, forever if a program keeps the
 * device open. On timeout the helper is abandoned and the error names the
 * processes holding the device's nodes. Last, each group's dev/vfio/N is
 * waited for and given to the QEMU user (journaled).
 *
 * Library code: no printing; 0 or negative errno plus diagnostics.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "host.h"
#include "journal.h"
#include "parse-util.h"

#define VFIO_DRIVER		 "vfio-pci"
#define VFIO_UNBIND_TIMEOUT_MS	 10000
#define VFIO_NODE_TIMEOUT_MS	 5000
#define VFIO_MODPROBE_TIMEOUT_MS 30000

/* One host PCI function for the VM (one plan_hostdev). */
struct vfio_dev {
	struct pci_addr addr;
	bool managed;	      /* gamevm binds it to vfio-pci and back */
	bool primary_display; /* [pci] primary-display: may be the host's display */
};

struct vfio_opts {
	bool single_gpu; /* [vm] single-gpu: the host display may be handed over */
	uid_t uid;	 /* owner for dev/vfio/N (the QEMU user); (uid_t)-1 = leave */
	gid_t gid;
	int unbind_timeout_ms; /* per write to unbind/bind/drivers_probe */
	int node_timeout_ms;   /* waiting for dev/vfio/N */
	/*
	 * The plan already warned about devices without a reset method (it
	 * does in gamevm start): say it again at LOG_INFO only, not twice.
	 */
	bool reset_warned;
};

#define VFIO_OPTS_INIT                                                                             \
	{                                                                                          \
		.uid = (uid_t)-1, .gid = (gid_t)-1, .unbind_timeout_ms = VFIO_UNBIND_TIMEOUT_MS,   \
		.node_timeout_ms = VFIO_NODE_TIMEOUT_MS                                            \
	}

/*
 * The checks alone, against facts the caller probed (read-only).
 * Returns 0, -EINVAL when an error diagnostic was added, -ENOMEM.
 */
int vfio_check(const struct host_root *h, const struct host_pci *pci, const struct vfio_dev *devs,
	       size_t n, const struct vfio_opts *o, struct plan_diags *d);

/*
 * Probes the PCI devices, runs vfio_check(), then binds (see above). On
 * failure the journal holds what was already done: replay it.
 */
int vfio_prepare(const struct host_root *h, struct journal *j, const struct vfio_dev *devs,
		 size_t n, const struct vfio_opts *o, struct plan_diags *d);

/*
 * Undo of JOURNAL_DRIVER: clears driver_override, unbinds from whatever
 * it is on now, probes, checks it landed on the old driver (else tries that
 * driver's bind), then restores the old driver_override. Nothing is written
 * when the device is already as recorded. o may be NULL (default timeout).
 */
int vfio_undo_driver(const struct host_root *h, const struct journal_record *rec,
		     const struct vfio_opts *o, struct plan_diags *d);
/*
 * Undo of JOURNAL_MODULE: unloads the modules of the VFIO stack that were
 * not loaded before (the record's old value lists them; modprobe -r of
 * vfio-pci alone leaves vfio, vfio_iommu_type1, ... behind), unless a
 * device is still bound to vfio-pci.
 */
int vfio_undo_module(const struct host_root *h, const struct journal_record *rec,
		     struct plan_diags *d);

/*
 * After the VM: each device's config space must still answer (the first
 * two bytes, the vendor ID, readable and not 0xffff). A LOG_ERR diagnostic
 * per device that does not, then -EIO.
 */
int vfio_check_health(const struct host_root *h, const struct vfio_dev *devs, size_t n,
		      struct plan_diags *d);

/*
 * The processes holding the device's nodes (DRM card and render nodes,
 * ALSA nodes of its sound card, dev/vfio/N of its group): "Xorg (pid 812,
 * /dev/dri/card1), pipewire (pid 1500, /dev/snd/controlC1)". *ret is NULL
 * when none (0 is returned either way). cards_only: DRM card nodes only.
 */
int vfio_find_holders(const struct host_root *h, const struct pci_addr *a, bool cards_only,
		      char **ret);

/*
 * Runs "modprobe ARGS..." (args NULL-terminated) from the host root, with
 * gamevm's privileges. *ret_output (may be NULL): what it printed.
 */
int vfio_modprobe(const struct host_root *h, const char *const *args, char **ret_output);
