/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM's own copy of the firmware's UEFI variable store, made once from
 * the descriptor's nvram-template and never overwritten: it holds the boot
 * entries and Secure Boot keys the guest has written since.
 *
 * Library code: returns 0 or negative errno, never prints.
 */
#pragma once

#include <sys/types.h>

/*
 * Copies template (a path inside root_fd; a leading '/' is ignored, so the
 * descriptor's "/usr/share/OVMF/OVMF_VARS_4M.ms.fd" works as is) to
 * state_fd/name, owned by uid:gid, mode 0600, through an O_EXCL temporary
 * file, fsync and rename, so a crash never leaves a half-copied store under
 * the real name. Returns 1 when it copied, 0 when state_fd/name already
 * existed (it is left untouched), negative errno on failure (-ENOENT: no
 * template; -EFBIG: template larger than 64 MiB).
 */
int nvram_copy_once(int root_fd, const char *template_path, int state_fd, const char *name,
		    uid_t uid, gid_t gid);
