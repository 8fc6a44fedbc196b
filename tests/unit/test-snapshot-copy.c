/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The snapshot copier (launcher/snapshot-copy.c) on temporary files in /tmp
 * and, where it exists, /dev/shm (tmpfs): the sparse copy keeps every hole
 * (the same SEEK_DATA/SEEK_HOLE map and st_blocks as the source) and the
 * content, a copy is named only when complete (commit never overwrites
 * unless asked, a replace is one rename), a failure half-way leaves no
 * file behind, owner and mode are set. The reflink path is taken where the
 * filesystem has one (tests/integration/test-snapshot.py covers btrfs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "macro.h"
#include "snapshot-copy.h"

#define MIB (1024ULL * 1024)

struct fixture {
	char dir[128];
	int dir_fd;
};

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *f)
{
	return remove(p);
}

static int setup_in(void **state, const char *base)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct stat st;

	assert_non_null(f);
	if (stat(base, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(f);
		*state = NULL;
		return 0;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/gamevm-test-snapcopy-XXXXXX", base);
	assert_non_null(mkdtemp(f->dir));
	f->dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dir_fd >= 0);
	*state = f;
	return 0;
}

static int setup_tmp(void **state)
{
	return setup_in(state, "/tmp");
}

static int setup_shm(void **state)
{
	return setup_in(state, "/dev/shm");
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	close(f->dir_fd);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

#define NEED_FIXTURE(f)                                                                            \
	do {                                                                                       \
		if (!(f))                                                                          \
			skip();                                                                    \
	} while (0)

/* Deterministic bytes that differ per offset (no two chunks alike). */
static void fill(uint8_t *buf, size_t len, uint64_t off)
{
	uint64_t x = off * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

struct range {
	uint64_t off, len;
};

/* A file of size bytes with data at ranges and holes everywhere else. */
static int make_sparse(int dir_fd, const char *name, uint64_t size, const struct range *r, size_t n)
{
	int fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = malloc(r[i].len);

		assert_non_null(buf);
		fill(buf, r[i].len, r[i].off);
		assert_int_equal(pwrite(fd, buf, r[i].len, (off_t)r[i].off), (ssize_t)r[i].len);
		free(buf);
	}
	assert_int_equal(fsync(fd), 0);
	return fd;
}

/* The SEEK_DATA / SEEK_HOLE map: pairs of (data start, hole start). */
static size_t data_map(int fd, uint64_t *map, size_t max)
{
	off_t pos = 0, d, h;
	size_t n = 0;

	for (;;) {
		d = lseek(fd, pos, SEEK_DATA);
		if (d < 0) {
			assert_int_equal(errno, ENXIO);
			return n;
		}
		h = lseek(fd, d, SEEK_HOLE);
		assert_true(h > d);
		assert_true(n + 2 <= max);
		map[n++] = (uint64_t)d;
		map[n++] = (uint64_t)h;
		pos = h;
	}
}

static void assert_same_content(int a, int b)
{
	struct stat sa, sb;
	uint8_t *x = malloc(MIB), *y = malloc(MIB);

	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_int_equal(sa.st_size, sb.st_size);
	for (off_t off = 0; off < sa.st_size; off += (off_t)MIB) {
		ssize_t n = pread(a, x, MIB, off);

		assert_true(n > 0);
		assert_int_equal(pread(b, y, MIB, off), n);
		assert_memory_equal(x, y, (size_t)n);
	}
	free(x);
	free(y);
}

static void assert_same_map(int a, int b)
{
	uint64_t ma[64], mb[64];
	size_t na = data_map(a, ma, ELEMENTSOF(ma)), nb = data_map(b, mb, ELEMENTSOF(mb));
	struct stat sa, sb;

	assert_int_equal(na, nb);
	assert_memory_equal(ma, mb, na * sizeof(ma[0]));
	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	/*
	 * The same space, give or take ext4's extent tree blocks (st_blocks
	 * counts them): the copy may need more extents where free space is
	 * fragmented.
	 */
	assert_true(llabs((long long)sa.st_blocks - (long long)sb.st_blocks) * 512 <= 64 * 1024);
}

static size_t dir_entries(int dir_fd)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fdopendir(fd);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Data at the start, across a chunk boundary, a lone page, and the unaligned tail. */
static const uint64_t img_size = 64 * MIB + 12345;
static const struct range img_ranges[] = {
	{ 0, 8192 },
	{ 5 * MIB - 4096, 3 * MIB + 8192 },
	{ 40 * MIB, 4096 },
	{ 64 * MIB, 12345 },
};

/* ---- tests -------------------------------------------------------------------------- */

static void test_tags(void **state)
{
	char buf[SNAPSHOT_TAG_MAX + 1];
	char long_tag[SNAPSHOT_TAG_MAX + 2];
	struct tm tm = { .tm_year = 126,
			 .tm_mon = 11,
			 .tm_mday = 6,
			 .tm_hour = 10,
			 .tm_min = 30,
			 .tm_isdst = -1 };

	assert_true(snapshot_tag_is_valid("before-drivers"));
	assert_true(snapshot_tag_is_valid("2026-12-06T10-30-00"));
	assert_true(snapshot_tag_is_valid("v1.2_final"));
	assert_true(snapshot_tag_is_valid("A"));
	assert_false(snapshot_tag_is_valid(""));
	assert_false(snapshot_tag_is_valid(NULL));
	assert_false(snapshot_tag_is_valid(".hidden"));
	assert_false(snapshot_tag_is_valid("-rf"));
	assert_false(snapshot_tag_is_valid("a/b"));
	assert_false(snapshot_tag_is_valid(".."));
	assert_false(snapshot_tag_is_valid("with space"));
	assert_false(snapshot_tag_is_valid("tab\t"));
	assert_false(snapshot_tag_is_valid("caf\xc3\xa9"));
	memset(long_tag, 'a', sizeof(long_tag) - 1);
	long_tag[SNAPSHOT_TAG_MAX] = '\0';
	assert_true(snapshot_tag_is_valid(long_tag));
	long_tag[SNAPSHOT_TAG_MAX] = 'a';
	long_tag[SNAPSHOT_TAG_MAX + 1] = '\0';
	assert_false(snapshot_tag_is_valid(long_tag));

	assert_int_equal(snapshot_tag_default(mktime(&tm), buf), 0);
	assert_string_equal(buf, "2026-12-06T10-30-00");
	assert_true(snapshot_tag_is_valid(buf));

	format_bytes(512, buf, sizeof(buf));
	assert_string_equal(buf, "512 B");
	format_bytes(3 * MIB / 2, buf, sizeof(buf));
	assert_string_equal(buf, "1.5 MiB");
	format_bytes(64ULL << 30, buf, sizeof(buf));
	assert_string_equal(buf, "64.0 GiB");
}

struct progress_log {
	uint64_t last, total;
	unsigned calls;
	uint64_t cancel_after; /* 0: never */
};

static int progress(uint64_t done, uint64_t total, void *userdata)
{
	struct progress_log *p = userdata;

	assert_true(done >= p->last);
	assert_true(done <= total);
	p->last = done;
	p->total = total;
	p->calls++;
	if (p->cancel_after && done >= p->cancel_after)
		return -ECANCELED;
	return 0;
}

/* The sparse copy through copy_to_tmp() and a commit: holes, content, owner, mode. */
static void sparse_roundtrip(struct fixture *f, bool named)
{
	_cleanup_(copy_tmp_done) struct copy_tmp t = COPY_TMP_NULL;
	_cleanup_close_ int src = -1, dst = -1;
	_cleanup_free_ char *why = NULL;
	struct progress_log p = {};
	struct copy_opts o = { .no_reflink = true,
			       .named_tmp = named,
			       .uid = geteuid(),
			       .gid = getegid(),
			       .mode = 0640,
			       .progress = progress,
			       .userdata = &p };
	uint64_t data = 0;
	struct stat st;

	src = make_sparse(f->dir_fd, "image.raw", img_size, img_ranges, ELEMENTSOF(img_ranges));
	assert_int_equal(mkdirat(f->dir_fd, "snaps", 0700), 0);
	dst = openat(f->dir_fd, "snaps", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dst >= 0);

	assert_int_equal(copy_to_tmp(src, dst, &o, &t, &why), 0);
	assert_int_equal(t.method, COPY_METHOD_SPARSE);
	assert_int_equal(t.size, img_size);
	/* Until the commit the copy has no name (or only its temporary one). */
	assert_int_equal(faccessat(dst, "tag", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(dir_entries(dst), named ? 1 : 0);

	assert_int_equal(file_data_bytes(src, img_size, &data), 0);
	assert_int_equal(t.copied, data);
	assert_true(data < img_size / 4);
	assert_int_equal(p.total, data);
	assert_int_equal(p.last, data);
	assert_true(p.calls >= 2);

	assert_int_equal(copy_tmp_commit(&t, "tag", false, &why), 0);
	assert_int_equal(dir_entries(dst), 1);
	close(dst);
	dst = openat(f->dir_fd, "snaps/tag", O_RDONLY | O_CLOEXEC);
	assert_true(dst >= 0);
	assert_same_content(src, dst);
	assert_same_map(src, dst);
	assert_int_equal(fstat(dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, geteuid());
}

static void test_sparse(void **state)
{
	NEED_FIXTURE(*state);
	sparse_roundtrip(*state, false);
}

static void test_sparse_named(void **state)
{
	NEED_FIXTURE(*state);
	sparse_roundtrip(*state, true);
}

/* Whatever the filesystem offers (a reflink on btrfs/XFS): the same bytes and length. */
static void test_default_method(void **state)
{
	struct fixture *f = *state;
	_cleanup_(copy_tmp_done) struct copy_tmp t = COPY_TMP_NULL;
	_cleanup_close_ int src = -1, dst = -1;
	struct copy_opts o = { .uid = geteuid(), .gid = getegid(), .mode = 0600 };
	struct statfs sf;

	NEED_FIXTURE(f);
	src = make_sparse(f->dir_fd, "image.raw", img_size, img_ranges, ELEMENTSOF(img_ranges));
	assert_int_equal(copy_to_tmp(src, f->dir_fd, &o, &t, NULL), 0);
	assert_int_equal(fstatfs(f->dir_fd, &sf), 0);
	/* ext4 and tmpfs have no reflink. */
	if (sf.f_type == 0xEF53 || sf.f_type == 0x01021994)
		assert_int_equal(t.method, COPY_METHOD_SPARSE);
	assert_int_equal(copy_tmp_commit(&t, "copy", false, NULL), 0);
	dst = openat(f->dir_fd, "copy", O_RDONLY | O_CLOEXEC);
	assert_true(dst >= 0);
	assert_same_content(src, dst);
	if (t.method == COPY_METHOD_REFLINK)
		assert_int_equal(file_shares_extents(dst, 1000), 1);
	else
		assert_true(file_shares_extents(dst, 1000) <= 0);
}

/* An error half-way (here the progress callback's): nothing under any name. */
static void cancel_midway(struct fixture *f, bool named)
{
	_cleanup_(copy_tmp_done) struct copy_tmp t = COPY_TMP_NULL;
	_cleanup_close_ int src = -1;
	struct progress_log p = { .cancel_after = 1 };
	struct copy_opts o = { .no_reflink = true,
			       .named_tmp = named,
			       .uid = geteuid(),
			       .gid = getegid(),
			       .mode = 0600,
			       .progress = progress,
			       .userdata = &p };
	const struct range big[] = { { 0, 24 * MIB } };

	src = make_sparse(f->dir_fd, "image.raw", 32 * MIB, big, ELEMENTSOF(big));
	assert_int_equal(copy_to_tmp(src, f->dir_fd, &o, &t, NULL), -ECANCELED);
	assert_true(p.last > 0 && p.last < 24 * MIB);
	assert_int_equal(t.fd, -1);
	assert_int_equal(copy_tmp_commit(&t, "tag", false, NULL), -EINVAL);
	/* Only the source is left. */
	assert_int_equal(dir_entries(f->dir_fd), 1);
}

static void test_cancel(void **state)
{
	NEED_FIXTURE(*state);
	cancel_midway(*state, false);
}

static void test_cancel_named(void **state)
{
	NEED_FIXTURE(*state);
	cancel_midway(*state, true);
}

/* A snapshot never overwrites; a restore replaces in one rename. */
static void test_commit(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int src = -1, old = -1, cur = -1;
	struct copy_opts o = {
		.no_reflink = true, .uid = geteuid(), .gid = getegid(), .mode = 0644
	};
	const struct range r[] = { { 0, 4096 } };
	uint8_t a[4096], b[4096], expect[3] = { 'o', 'l', 'd' };

	NEED_FIXTURE(f);
	src = make_sparse(f->dir_fd, "image.raw", 1 * MIB, r, ELEMENTSOF(r));
	old = openat(f->dir_fd, "taken", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(old >= 0);
	assert_int_equal(write(old, "old", 3), 3);

	for (int named = 0; named < 2; named++) {
		_cleanup_(copy_tmp_done) struct copy_tmp t = COPY_TMP_NULL;
		_cleanup_free_ char *why = NULL;

		o.named_tmp = named;
		assert_int_equal(copy_to_tmp(src, f->dir_fd, &o, &t, &why), 0);
		assert_int_equal(copy_tmp_commit(&t, "taken", false, &why), -EEXIST);
		assert_non_null(why);
		assert_int_equal(copy_tmp_commit(&t, "taken", true, NULL), 0);
		/* The old file is still what old holds open; the name is the copy's. */
		cur = openat(f->dir_fd, "taken", O_RDONLY | O_CLOEXEC);
		assert_true(cur >= 0);
		assert_int_equal(pread(cur, a, sizeof(a), 0), (ssize_t)sizeof(a));
		assert_int_equal(pread(src, b, sizeof(b), 0), (ssize_t)sizeof(b));
		assert_memory_equal(a, b, sizeof(a));
		close(TAKE_FD(cur));
		assert_int_equal(pread(old, a, 3, 0), 3);
		assert_memory_equal(a, expect, 3);
		/* No temporary name is left behind. */
		assert_int_equal(dir_entries(f->dir_fd), 2);
		close(old);
		old = openat(f->dir_fd, "taken", O_RDONLY | O_CLOEXEC);
		assert_true(old >= 0);
		memcpy(expect, b, sizeof(expect));
	}
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	_cleanup_(copy_tmp_done) struct copy_tmp t = COPY_TMP_NULL;
	_cleanup_free_ char *why = NULL;
	struct copy_opts o = { .mode = 0600, .uid = geteuid(), .gid = getegid() };
	int fds[2];

	NEED_FIXTURE(f);
	/* A directory, a pipe: no image file. */
	assert_int_equal(copy_to_tmp(f->dir_fd, f->dir_fd, &o, &t, &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_int_equal(copy_to_tmp(fds[0], f->dir_fd, &o, &t, NULL), -EINVAL);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(dir_entries(f->dir_fd), 0);
}

/* An empty file and a file that is all hole copy to the same. */
static void test_empty(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int a = -1, b = -1, ca = -1, cb = -1;
	struct copy_opts o = {
		.no_reflink = true, .mode = 0600, .uid = geteuid(), .gid = getegid()
	};

	NEED_FIXTURE(f);
	a = make_sparse(f->dir_fd, "empty", 0, NULL, 0);
	b = make_sparse(f->dir_fd, "hole", 16 * MIB, NULL, 0);
	for (int i = 0; i < 2; i++) {
		_cleanup_(copy_tmp_done) struct copy_tmp t = COPY_TMP_NULL;

		assert_int_equal(copy_to_tmp(i ? b : a, f->dir_fd, &o, &t, NULL), 0);
		assert_int_equal(t.copied, 0);
		assert_int_equal(copy_tmp_commit(&t, i ? "hole.copy" : "empty.copy", false, NULL),
				 0);
	}
	ca = openat(f->dir_fd, "empty.copy", O_RDONLY | O_CLOEXEC);
	cb = openat(f->dir_fd, "hole.copy", O_RDONLY | O_CLOEXEC);
	assert_true(ca >= 0 && cb >= 0);
	assert_same_map(a, ca);
	assert_same_map(b, cb);
	assert_same_content(b, cb);
}

#define BOTH(fn)                                                                                   \
	cmocka_unit_test_setup_teardown(fn, setup_tmp, teardown),                                  \
		cmocka_unit_test_setup_teardown(fn, setup_shm, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags), BOTH(test_sparse), BOTH(test_sparse_named),
		BOTH(test_default_method),   BOTH(test_cancel), BOTH(test_cancel_named),
		BOTH(test_commit),	     BOTH(test_errors), BOTH(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
