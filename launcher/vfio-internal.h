/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by vfio.c and vfio-host.c only. Not a public interface.
 */
#pragma once

#include "strv.h"
#include "vfio.h"

/*
 * Writes value to sys/path in a helper child and waits up to timeout_ms.
 * Returns the write's result, or -ETIMEDOUT: the helper was killed and,
 * if even that did not end it (a write stuck in the kernel), abandoned.
 */
int vfio_write_timed(const struct host_root *h, const char *path, const char *value,
		     int timeout_ms);

/*
 * Why dev is in use by the host display ("it is the boot VGA device and
 * the firmware framebuffer efi-framebuffer.0 (fb0) is on it; its DRM card
 * /dev/dri/card0 is open by Xorg (pid 812)"), or NULL when it is not.
 */
int vfio_display_use(const struct host_root *h, const struct host_pci_dev *dev, char **ret);

/* The driver bound to A now (NULL: none) and its driver_override (NULL: none). */
int vfio_read_binding(const struct host_root *h, const char *addr, char **ret_driver,
		      char **ret_override);

/* A firmware framebuffer's platform device: "efi-framebuffer.0", "simple-framebuffer.0". */
bool vfio_is_firmware_fb(const char *dev);

/* The pids (decimal strings) of the processes holding a's nodes, appended to ret_pids. */
int vfio_find_holder_pids(const struct host_root *h, const struct pci_addr *a,
			  struct strv *ret_pids);
