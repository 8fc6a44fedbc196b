/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading and writing small files relative to a directory fd. Every host
 * access in gamevm goes through these with a host_root fd, never through an
 * absolute /sys, /proc or /dev path.
 *
 * All return 0 or negative errno; ret_* are set only on success.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads at most max bytes; -EFBIG if the file is longer. Result NUL-terminated. */
int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);
/* First line without its trailing newline (sysfs attributes are one line). */
int read_one_line_at(int dirfd, const char *path, char **ret);
int read_u64_at(int dirfd, const char *path, uint64_t *ret);
int read_int_at(int dirfd, const char *path, int *ret);
/* Hex attribute such as sysfs "vendor" (0x10de). */
int read_hex_at(int dirfd, const char *path, uint64_t *ret);
/* Target of a symlink, basename only (e.g. the "driver" link -> "vfio-pci"). */
int read_link_basename_at(int dirfd, const char *path, char **ret);
/* Writes s (no newline added) with one write(2), as sysfs wants. */
int write_string_at(int dirfd, const char *path, const char *s);
/*
 * dirfd/name (no '/') replaced atomically by text: a ".name.tmp" beside it,
 * written, chmod'ed to mode, fsync'ed and renamed over. Whoever reads name
 * sees the old or the new file, never half of one.
 */
int write_file_atomic_at(int dirfd, const char *name, const char *text, mode_t mode);
/* 1 if path exists, 0 if not, negative errno on other errors. */
int file_exists_at(int dirfd, const char *path);

/*
 * A read error that means the host part is not there for us: absent
 * (ENOENT, ENOTDIR) or closed to this process (EACCES, EPERM: not root, a
 * container's masked /proc and /sys). A probe records such a part as
 * unknown; anything else (a malformed file, EIO, ENOMEM) stays an error.
 */
static inline bool read_err_is_absent(int r)
{
	return r == -ENOENT || r == -ENOTDIR || r == -EACCES || r == -EPERM;
}

/*
 * A write error that means the host does not let gamevm change the file at
 * all, whatever the value: EACCES, EPERM, EROFS (a read-only /sys or /proc,
 * as in containers).
 */
static inline bool write_err_is_refusal(int r)
{
	return r == -EACCES || r == -EPERM || r == -EROFS;
}

/* readdir over dirfd/path; NULL with errno set when absent (or dirfd < 0). */
DIR *opendir_at(int dirfd, const char *path);
/* For _cleanup_(closedirp) DIR *d. */
void closedirp(DIR **d);
