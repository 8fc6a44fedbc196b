/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "macro.h"
#include "snapshot-copy.h"

/* Reads and writes in flight: COPY_SLOTS buffers of COPY_CHUNK bytes. */
#define COPY_CHUNK   (1024 * 1024)
#define COPY_SLOTS   8
#define FIEMAP_BATCH 128

/* Replaces *error (if error is non-NULL); keeps errno. */
static int msg_set(char **error, const char *fmt, ...) _printf_(2, 3);
static int msg_set(char **error, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	char *s;

	if (!error)
		return 0;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(*error);
	*error = s;
	errno = saved;
	return 0;
}

bool snapshot_tag_is_valid(const char *tag)
{
	size_t n;

	if (isempty(tag) || tag[0] == '.' || tag[0] == '-')
		return false;
	n = strspn(tag, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
	return n == strlen(tag) && n <= SNAPSHOT_TAG_MAX;
}

int snapshot_tag_default(time_t t, char buf[static SNAPSHOT_TAG_MAX + 1])
{
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return -EINVAL;
	if (strftime(buf, SNAPSHOT_TAG_MAX + 1, "%Y-%m-%dT%H-%M-%S", &tm) == 0)
		return -EINVAL;
	return 0;
}

void format_bytes(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t i = 0;

	if (bytes < 1024) {
		snprintf(buf, size, "%" PRIu64 " B", bytes);
		return;
	}
	v /= 1024;
	while (v >= 1024 && i + 1 < ELEMENTSOF(units)) {
		v /= 1024;
		i++;
	}
	snprintf(buf, size, "%.1f %s", v, units[i]);
}

const char *copy_method_to_string(enum copy_method m)
{
	switch (m) {
	case COPY_METHOD_REFLINK:
		return "reflink";
	case COPY_METHOD_SPARSE:
		return "sparse copy";
	default:
		return "none";
	}
}

/* A cursor over the data ranges of a file, handing out chunks of at most COPY_CHUNK. */
struct data_cursor {
	int fd;
	uint64_t size; /* the file's length: nothing at or past it counts */
	uint64_t pos;  /* next byte to hand out */
	uint64_t end;  /* end of the data range pos is in; pos == end: find the next one */
};

/* 1 with the next chunk, 0 at the end, negative errno. */
static int data_cursor_next(struct data_cursor *c, uint64_t *ret_off, size_t *ret_len)
{
	if (c->pos >= c->end) {
		off_t d, h;

		if (c->pos >= c->size)
			return 0;
		d = lseek(c->fd, (off_t)c->pos, SEEK_DATA);
		if (d < 0 && errno == ENXIO)
			return 0;
		if (d < 0 && errno == EINVAL) {
			/* No SEEK_DATA here: everything is data. */
			c->end = c->size;
		} else if (d < 0) {
			return -errno;
		} else {
			if ((uint64_t)d >= c->size)
				return 0;
			h = lseek(c->fd, d, SEEK_HOLE);
			if (h < 0)
				return -errno;
			if (h <= d)
				return -EIO;
			c->pos = (uint64_t)d;
			c->end = MIN((uint64_t)h, c->size);
		}
	}
	*ret_off = c->pos;
	*ret_len = (size_t)MIN((uint64_t)COPY_CHUNK, c->end - c->pos);
	c->pos += *ret_len;
	return 1;
}

int file_data_bytes(int fd, uint64_t size, uint64_t *ret)
{
	struct data_cursor c = { .fd = fd, .size = size };
	uint64_t total = 0, off;
	size_t len;
	int r;

	while ((r = data_cursor_next(&c, &off, &len)) > 0)
		total += len;
	if (r < 0)
		return r;
	*ret = total;
	return 0;
}

struct slot {
	uint8_t *buf;
	uint64_t off; /* where the chunk is, in both files */
	size_t len;
	size_t done; /* bytes of the current phase (read, then write) done */
	bool writing;
	bool busy;
};

static int slot_submit(struct io_uring *ring, int src_fd, int dst_fd, struct slot *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		/* Never with one operation per slot and as many entries as slots; be safe. */
		int r = io_uring_submit(ring);

		if (r < 0)
			return r;
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return -EBUSY;
	}
	if (s->writing)
		io_uring_prep_write(sqe, dst_fd, s->buf + s->done, (unsigned)(s->len - s->done),
				    s->off + s->done);
	else
		io_uring_prep_read(sqe, src_fd, s->buf + s->done, (unsigned)(s->len - s->done),
				   s->off + s->done);
	io_uring_sqe_set_data(sqe, s);
	return 0;
}

static void buf_freep(uint8_t **p)
{
	free(*p);
}

int copy_sparse(int src_fd, int dst_fd, uint64_t size, const struct copy_opts *o,
		uint64_t *ret_copied)
{
	struct data_cursor cur = { .fd = src_fd, .size = size };
	struct slot slots[COPY_SLOTS] = {};
	_cleanup_(buf_freep) uint8_t *bufs = NULL;
	struct io_uring ring;
	uint64_t total, copied = 0;
	unsigned inflight = 0;
	bool more = true;
	int r, err = 0;

	r = file_data_bytes(src_fd, size, &total);
	if (r < 0)
		return r;
	if (o && o->progress) {
		r = o->progress(0, total, o->userdata);
		if (r < 0)
			return r;
	}
	/* The length first: every range not written below stays a hole. */
	if (ftruncate(dst_fd, (off_t)size) < 0)
		return -errno;

	r = posix_memalign((void **)&bufs, 4096, (size_t)COPY_SLOTS * COPY_CHUNK);
	if (r != 0)
		return -r;
	for (size_t i = 0; i < COPY_SLOTS; i++)
		slots[i].buf = bufs + i * COPY_CHUNK;

	r = io_uring_queue_init(COPY_SLOTS, &ring, 0);
	if (r < 0)
		return r;

	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		/* Every free slot reads the next chunk. */
		for (size_t i = 0; i < COPY_SLOTS && more && !err; i++) {
			struct slot *s = &slots[i];

			if (s->busy)
				continue;
			r = data_cursor_next(&cur, &s->off, &s->len);
			if (r <= 0) {
				more = false;
				err = r;
				break;
			}
			s->done = 0;
			s->writing = false;
			r = slot_submit(&ring, src_fd, dst_fd, s);
			if (r < 0) {
				err = r;
				break;
			}
			s->busy = true;
			inflight++;
		}
		if (inflight == 0)
			break;

		do
			r = io_uring_submit_and_wait(&ring, 1);
		while (r == -EINTR);
		if (r < 0) {
			/* The ring itself failed: the kernel may still use the buffers. */
			io_uring_queue_exit(&ring);
			bufs = NULL; /* leaked on purpose rather than freed under I/O */
			return r;
		}

		io_uring_for_each_cqe(&ring, head, cqe)
		{
			struct slot *s = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			seen++;
			if (res == 0)
				res = -EIO; /* the source got shorter, or the disk is full */
			if (res < 0 || err) {
				err = err ? err : res;
				s->busy = false;
				inflight--;
				continue;
			}
			s->done += (size_t)res;
			if (s->done < s->len) {
				/* Short read or write: the rest of it. */
				r = slot_submit(&ring, src_fd, dst_fd, s);
			} else if (!s->writing) {
				s->writing = true;
				s->done = 0;
				r = slot_submit(&ring, src_fd, dst_fd, s);
			} else {
				s->busy = false;
				inflight--;
				copied += s->len;
				r = o && o->progress ? o->progress(copied, total, o->userdata) : 0;
			}
			if (r < 0) {
				err = r;
				if (s->busy) {
					s->busy = false;
					inflight--;
				}
			}
		}
		io_uring_cq_advance(&ring, seen);
	}
	io_uring_queue_exit(&ring);
	if (err < 0)
		return err;
	/* The data ranges changed between the count and the copy: the source was written. */
	if (copied != total)
		return -ESTALE;
	if (ret_copied)
		*ret_copied = copied;
	return 0;
}

int file_shares_extents(int fd, uint64_t max_extents)
{
	_cleanup_free_ struct fiemap *fm = NULL;
	uint64_t start = 0, seen = 0;

	fm = malloc(sizeof(*fm) + FIEMAP_BATCH * sizeof(struct fiemap_extent));
	if (!fm)
		return -ENOMEM;
	for (;;) {
		const struct fiemap_extent *last;

		memset(fm, 0, sizeof(*fm));
		fm->fm_start = start;
		fm->fm_length = FIEMAP_MAX_OFFSET - start;
		fm->fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0)
			return errno == ENOTTY || errno == EOPNOTSUPP ? -EOPNOTSUPP : -errno;
		if (fm->fm_mapped_extents == 0)
			return 0;
		for (unsigned i = 0; i < fm->fm_mapped_extents; i++)
			if (fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_SHARED)
				return 1;
		last = &fm->fm_extents[fm->fm_mapped_extents - 1];
		seen += fm->fm_mapped_extents;
		if ((last->fe_flags & FIEMAP_EXTENT_LAST) || seen >= max_extents ||
		    last->fe_logical + last->fe_length <= start)
			return 0;
		start = last->fe_logical + last->fe_length;
	}
}

static int random_name(char buf[static 32])
{
	uint32_t x;

	if (getrandom(&x, sizeof(x), 0) != sizeof(x))
		return -EIO;
	snprintf(buf, 32, ".gamevm-copy-%08" PRIx32, x);
	return 0;
}

/* A new empty file in dir_fd: without a name where the filesystem can, else a random one. */
static int tmp_open(struct copy_tmp *t, bool named)
{
	char name[32];

	if (!named) {
		t->fd = openat(t->dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (t->fd >= 0)
			return 0;
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -errno;
	}
	for (int i = 0; i < 16; i++) {
		int r = random_name(name);

		if (r < 0)
			return r;
		t->fd = openat(t->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			       0600);
		if (t->fd >= 0) {
			t->tmp_name = strdup(name);
			if (!t->tmp_name)
				return -ENOMEM;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static bool errno_means_no_reflink(int e)
{
	/* EINVAL: XFS without reflink, btrfs between nodatacow and datacow files. */
	return e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == EINVAL || e == ENOSYS;
}

static int space_check(int fd, int src_fd, uint64_t size, char **error)
{
	char need_s[32], free_s[32];
	struct statfs sf;
	uint64_t need, avail;
	int r;

	r = file_data_bytes(src_fd, size, &need);
	if (r < 0)
		return r;
	if (fstatfs(fd, &sf) < 0)
		return -errno;
	avail = (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize;
	if (need <= avail)
		return 0;
	format_bytes(need, need_s, sizeof(need_s));
	format_bytes(avail, free_s, sizeof(free_s));
	return msg_set(error,
		       "the copy needs %s (the image's data; this filesystem cannot share "
		       "extents) and only %s are free",
		       need_s, free_s),
	       -ENOSPC;
}

int copy_to_tmp(int src_fd, int dir_fd, const struct copy_opts *o, struct copy_tmp *ret,
		char **error)
{
	_cleanup_(copy_tmp_done) struct copy_tmp t = COPY_TMP_NULL;
	struct stat src, after, dst;
	int r;

	if (!o || !ret)
		return -EINVAL;
	if (fstat(src_fd, &src) < 0)
		return -errno;
	if (!S_ISREG(src.st_mode))
		return msg_set(error, "not a regular file"), -EINVAL;

	t.dir_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
	if (t.dir_fd < 0)
		return -errno;
	r = tmp_open(&t, o->named_tmp);
	if (r < 0)
		return msg_set(error, "cannot create the copy: %s", strerror(-r)), r;
	t.size = (uint64_t)src.st_size;

	if (!o->no_reflink && ioctl(t.fd, FICLONE, src_fd) == 0) {
		t.method = COPY_METHOD_REFLINK;
	} else if (o->no_reflink || errno_means_no_reflink(errno)) {
		r = space_check(t.fd, src_fd, t.size, error);
		if (r < 0)
			return r;
		t.method = COPY_METHOD_SPARSE;
		r = copy_sparse(src_fd, t.fd, t.size, o, &t.copied);
		if (r == -ESTALE)
			return msg_set(error, "the image changed while it was copied"), -EIO;
		if (r < 0)
			return r;
	} else {
		return msg_set(error, "cannot clone the image: %m"), -errno;
	}

	/* Verify: the copy as long as the source, and the source as it was. */
	if (fstat(t.fd, &dst) < 0 || fstat(src_fd, &after) < 0)
		return -errno;
	if (after.st_size != src.st_size)
		return msg_set(error, "the image changed its length while it was copied"), -EIO;
	if (dst.st_size != src.st_size)
		return msg_set(error, "the copy has %jd bytes, the image %jd",
			       (intmax_t)dst.st_size, (intmax_t)src.st_size),
		       -EIO;

	if ((dst.st_uid != o->uid || dst.st_gid != o->gid) && fchown(t.fd, o->uid, o->gid) < 0)
		return msg_set(error, "cannot give the copy owner %u:%u: %m", (unsigned)o->uid,
			       (unsigned)o->gid),
		       -errno;
	if (fchmod(t.fd, o->mode & 07777) < 0)
		return msg_set(error, "cannot set the copy's mode: %m"), -errno;
	/* The copy's mtime is when it was made (a reflink may keep the source's). */
	if (futimens(t.fd, NULL) < 0)
		return -errno;
	if (fsync(t.fd) < 0)
		return msg_set(error, "cannot write the copy to disk (fsync): %m"), -errno;

	*ret = t;
	t = (struct copy_tmp)COPY_TMP_NULL;
	return 0;
}

int copy_tmp_commit(struct copy_tmp *t, const char *name, bool replace, char **error)
{
	char proc[64], tmp[32];
	int r;

	if (!t || t->fd < 0 || t->committed || isempty(name))
		return -EINVAL;

	if (t->tmp_name) {
		if (replace)
			r = renameat(t->dir_fd, t->tmp_name, t->dir_fd, name);
		else {
			r = renameat2(t->dir_fd, t->tmp_name, t->dir_fd, name, RENAME_NOREPLACE);
			if (r < 0 && errno == EINVAL) {
				/* No RENAME_NOREPLACE here: link (never replaces), then unlink. */
				r = linkat(t->dir_fd, t->tmp_name, t->dir_fd, name, 0);
				if (r == 0)
					(void)unlinkat(t->dir_fd, t->tmp_name, 0);
			}
		}
		if (r < 0)
			return msg_set(error, "cannot rename the copy to '%s': %m", name), -errno;
	} else {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
		if (!replace) {
			if (linkat(AT_FDCWD, proc, t->dir_fd, name, AT_SYMLINK_FOLLOW) < 0)
				return msg_set(error, "cannot name the copy '%s': %m", name),
				       -errno;
		} else {
			/* Named aside first, then renamed over: the replacement is atomic. */
			for (int i = 0;; i++) {
				r = random_name(tmp);
				if (r < 0)
					return r;
				if (linkat(AT_FDCWD, proc, t->dir_fd, tmp, AT_SYMLINK_FOLLOW) == 0)
					break;
				if (errno != EEXIST || i == 15)
					return msg_set(error, "cannot name the copy: %m"), -errno;
			}
			if (renameat(t->dir_fd, tmp, t->dir_fd, name) < 0) {
				int err = errno;

				(void)unlinkat(t->dir_fd, tmp, 0);
				errno = err;
				return msg_set(error, "cannot rename the copy to '%s': %m", name),
				       -err;
			}
		}
	}
	t->committed = true;
	if (fsync(t->dir_fd) < 0)
		return msg_set(error, "cannot write the directory to disk (fsync): %m"), -errno;
	return 0;
}

void copy_tmp_done(struct copy_tmp *t)
{
	int saved = errno;

	if (!t)
		return;
	if (t->tmp_name && !t->committed && t->dir_fd >= 0)
		(void)unlinkat(t->dir_fd, t->tmp_name, 0);
	if (t->fd >= 0)
		close(t->fd);
	if (t->dir_fd >= 0)
		close(t->dir_fd);
	free(t->tmp_name);
	*t = (struct copy_tmp)COPY_TMP_NULL;
	errno = saved;
}
