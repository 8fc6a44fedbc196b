/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copies a disk image into a new file of the same filesystem, the way gamevm
 * snapshot and restore need it (docs/snapshots.md): either an instant
 * reflink (ioctl FICLONE: btrfs, XFS with reflink=1, bcachefs) that shares
 * every extent with the source, or, where the filesystem cannot, a sparse
 * copy: only the source's data ranges (SEEK_DATA / SEEK_HOLE) are read and
 * written, through a small io_uring of its own, so holes stay holes.
 *
 * The copy goes into a file without a name (O_TMPFILE; a named ".NAME.XXXXXX"
 * where the filesystem has no O_TMPFILE, removed on failure), its length is
 * checked against the source, owner and mode are set, it is fsync'd, and
 * only then does copy_tmp_commit() give it its name and fsync the directory.
 * A copy that failed or was interrupted leaves nothing under the final name.
 *
 *   _cleanup_(copy_tmp_done) struct copy_tmp t = COPY_TMP_NULL;
 *   struct copy_opts o = { .uid = st.st_uid, .gid = st.st_gid, .mode = st.st_mode & 07777 };
 *   r = copy_to_tmp(src_fd, dir_fd, &o, &t, &error);
 *   r = copy_tmp_commit(&t, "TAG", false, &error);      -EEXIST: TAG exists
 *
 * Library code: returns 0 or negative errno and never prints; messages for
 * the user come back through char **error (malloc'd, set on failure only).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* DIR/IMAGE holds its snapshots in DIR/IMAGE.snapshots/TAG (docs/snapshots.md). */
#define SNAPSHOT_DIR_SUFFIX ".snapshots"
#define SNAPSHOT_TAG_MAX    64

/* 1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.' or '-'. */
bool snapshot_tag_is_valid(const char *tag);
/* The default tag: t as local time, "2026-12-06T10-30-00". */
int snapshot_tag_default(time_t t, char buf[static SNAPSHOT_TAG_MAX + 1]);
/* For people: "12.3 GiB", "512 B". */
void format_bytes(uint64_t bytes, char *buf, size_t size);

enum copy_method {
	COPY_METHOD_NONE,
	COPY_METHOD_REFLINK, /* FICLONE: shares the source's extents, no data moved */
	COPY_METHOD_SPARSE,  /* data ranges read and written, holes kept */
};

const char *copy_method_to_string(enum copy_method m);

/*
 * Called after each chunk written (and once at the start) with the data
 * bytes done and the total (the sum of the source's data ranges). A
 * negative return ends the copy with that error (Ctrl-C: -ECANCELED).
 */
typedef int (*copy_progress_cb)(uint64_t done, uint64_t total, void *userdata);

struct copy_opts {
	bool no_reflink; /* always the sparse copy (tests, benchmarks) */
	bool named_tmp;	 /* a named temporary even where O_TMPFILE works (tests) */
	uid_t uid;	 /* the copy's owner, group and mode (chmod bits) */
	gid_t gid;
	mode_t mode;
	copy_progress_cb progress; /* NULL: none */
	void *userdata;
};

struct copy_tmp {
	int dir_fd;	/* where the copy lives (owned, a dup) */
	int fd;		/* the copy */
	char *tmp_name; /* the named fallback; NULL for an O_TMPFILE */
	enum copy_method method;
	uint64_t size;	 /* bytes, the source's length */
	uint64_t copied; /* data bytes read and written (0 for a reflink) */
	bool committed;
};

#define COPY_TMP_NULL                                                                              \
	{                                                                                          \
		.dir_fd = -1, .fd = -1                                                             \
	}

/*
 * Copies src_fd (a regular file) into a new unnamed file in dir_fd: a
 * reflink where dir_fd's filesystem can do it, else the sparse copy (when
 * o->no_reflink too). Checks the copy's length and the source's (it must not
 * change under the copy), sets owner and mode, updates the copy's mtime (the
 * snapshot's date), fsyncs it. -ENOSPC (with *error saying how much is
 * needed) before writing when the filesystem has less free space than the
 * source has data; the callback's error when it returned one.
 */
int copy_to_tmp(int src_fd, int dir_fd, const struct copy_opts *o, struct copy_tmp *ret,
		char **error);
/*
 * Gives the copy its name in its directory, then fsyncs the directory.
 * replace = false: -EEXIST when name exists (a snapshot is never
 * overwritten); replace = true: renames it over name atomically (restore).
 */
int copy_tmp_commit(struct copy_tmp *t, const char *name, bool replace, char **error);
/* Closes; removes the named temporary unless it was committed. */
void copy_tmp_done(struct copy_tmp *t);

/* The sparse copy alone: data ranges of src into dst at the same offsets, via io_uring. */
int copy_sparse(int src_fd, int dst_fd, uint64_t size, const struct copy_opts *o,
		uint64_t *ret_copied);
/* The sum of the data ranges of fd (SEEK_DATA/SEEK_HOLE) up to size. */
int file_data_bytes(int fd, uint64_t size, uint64_t *ret);
/*
 * 1 when some extent of fd is shared with another file (FIEMAP_EXTENT_SHARED:
 * a reflink or a btrfs snapshot), 0 when none is, -EOPNOTSUPP without
 * FIEMAP. Gives up with 0 after max_extents extents without a shared one.
 */
int file_shares_extents(int fd, uint64_t max_extents);
