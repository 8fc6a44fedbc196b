/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fixture host tree in a temporary directory, and a small fake kernel
 * that reacts to gamevm's sysfs writes the way the kernel would, for the
 * tests of host preparation (test-vfio.c, test-hugepages.c).
 *
 * The test binary is linked with -Wl,--wrap=write_string_at: every write
 * gamevm's libraries make through common/fileio.h lands in
 * __wrap_write_string_at() below, which does the write, then plays the
 * kernel's part. It emulates only what the code under test relies on, and
 * only as the kernel documents it:
 *   bus/pci/devices/A/driver_override  the value, "(null)" once cleared
 *   .../driver/unbind, drivers/X/unbind  the driver link goes away
 *   drivers/X/bind                      links the driver (refused, -ENODEV,
 *                                       when driver_override names another)
 *   bus/pci/drivers_probe               binds the driver_override driver
 *                                       if loaded, else the device's own
 *   vfio-pci binding                    creates dev/vfio/GROUP; the last
 *                                       device of a group leaving removes it
 *   nr_hugepages                        takes at most the pool's capacity
 *                                       (set by the test), never below the
 *                                       pages in use (then: surplus)
 *   proc/sys/vm/compact_memory          raises capacity to its compacted value
 *   proc/irq/N/smp_affinity_list        -EIO, unchanged, when the test put a
 *                                       file proc/irq/N/fk_managed there
 *   cgroup.subtree_control              "+X" adds X to the words, "-X" drops it
 *   transparent_hugepage/defrag         the written word becomes the [chosen] one
 *   proc/ files, scaling_governor,      the value replaces the content (one
 *   workqueue/cpumask, cpuset.cpus      trailing newline, as the kernel shows it)
 *   anything under a prefix given to    the error given (-EROFS for a read-only
 *   fk_refuse()                         /proc or cgroup tree, -EPERM for an IRQ
 *                                       the kernel keeps), unchanged
 * The write itself happens first, so a FIFO in place of an attribute
 * blocks like a driver that never lets go. Write-only attributes are
 * emptied again after the reaction, as they read on a real kernel.
 * usr/sbin/modprobe in the tree is a script: "modprobe vfio-pci" creates
 * sys/module/ entries for the VFIO stack and sys/bus/pci/drivers/vfio-pci,
 * "modprobe -r -a M..." removes those modules (and the driver with
 * vfio_pci); it logs its arguments to modprobe.log.
 *
 * Processes forked by the code under test (the timed writes) run the
 * wrapper too; the fake keeps its state in the tree, except the capacities
 * and the list of native drivers, which children only read.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

/* ---- the fake kernel's state ------------------------------------------------------------ */

#define FK_MAX_DEVS  64
#define FK_MAX_POOLS 8

struct fk_pool {
	char dir[256]; /* under sys/ */
	uint64_t cap, cap_compacted;
};

/* snprintf that must not truncate (and says so to -Wformat-truncation). */
#define fk_fmt(buf, size, ...)                                                                     \
	assert_true((size_t)snprintf((buf), (size), __VA_ARGS__) < (size_t)(size))

static char fk_root[PATH_MAX]; /* the host root; "" = fake kernel off */
static char fk_run[PATH_MAX];  /* a run dir for the journal, outside the root */
static char fk_native[FK_MAX_DEVS][2][64];
static size_t fk_n_native;
static struct fk_pool fk_pools[FK_MAX_POOLS];
static size_t fk_n_pools;
static bool fk_compacted;
#define FK_MAX_REFUSALS 8
static struct {
	char prefix[256]; /* relative to the root: "proc/irq/", "sys/fs/cgroup/" */
	int err;
} fk_refusals[FK_MAX_REFUSALS];
static size_t fk_n_refusals;
static uint64_t fk_hp_writes; /* writes to any nr_hugepages */

int __real_write_string_at(int dirfd, const char *path, const char *s);
int __wrap_write_string_at(int dirfd, const char *path, const char *s);

static inline void fk_path(char *buf, size_t size, const char *rel)
{
	fk_fmt(buf, size, "%s/%s", fk_root, rel);
}

/* Every write to a path under prefix (relative to the root) fails with err, changing nothing. */
static inline void fk_refuse(const char *prefix, int err)
{
	assert_true(fk_n_refusals < FK_MAX_REFUSALS);
	fk_fmt(fk_refusals[fk_n_refusals].prefix, sizeof(fk_refusals[0].prefix), "%s", prefix);
	fk_refusals[fk_n_refusals++].err = err;
}

static inline int fk_put(const char *rel, const char *content)
{
	char p[PATH_MAX];
	FILE *f;

	fk_path(p, sizeof(p), rel);
	f = fopen(p, "we");
	if (!f)
		return -errno;
	fputs(content, f);
	return fclose(f) == 0 ? 0 : -errno;
}

static inline char *fk_get(const char *rel)
{
	char p[PATH_MAX];
	char *s = NULL;

	fk_path(p, sizeof(p), rel);
	if (read_one_line_at(AT_FDCWD, p, &s) < 0)
		return NULL;
	return s;
}

/* The whole file. */
static inline char *fk_read_all(const char *rel)
{
	char p[PATH_MAX];
	char *s = NULL;

	fk_path(p, sizeof(p), rel);
	if (read_full_file_at(AT_FDCWD, p, 1 << 20, &s, NULL) < 0)
		return NULL;
	return s;
}

static inline uint64_t fk_get_u64(const char *rel)
{
	_cleanup_free_ char *s = fk_get(rel);

	return s ? strtoull(s, NULL, 10) : UINT64_MAX;
}

static inline int fk_put_u64(const char *rel, uint64_t v)
{
	char buf[32];

	fk_fmt(buf, sizeof(buf), "%" PRIu64 "\n", v);
	return fk_put(rel, buf);
}

static inline int fk_mkdirs(const char *rel)
{
	char p[PATH_MAX];

	fk_path(p, sizeof(p), rel);
	for (char *s = p + strlen(fk_root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static inline int fk_symlink(const char *target, const char *rel)
{
	char p[PATH_MAX];

	fk_path(p, sizeof(p), rel);
	return symlink(target, p) < 0 ? -errno : 0;
}

static inline int fk_unlink(const char *rel)
{
	char p[PATH_MAX];

	fk_path(p, sizeof(p), rel);
	return unlink(p) < 0 ? -errno : 0;
}

static inline bool fk_exists(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	fk_path(p, sizeof(p), rel);
	return lstat(p, &st) == 0;
}

static inline const char *fk_native_driver(const char *addr)
{
	for (size_t i = 0; i < fk_n_native; i++)
		if (streq(fk_native[i][0], addr))
			return fk_native[i][1];
	return NULL;
}

static inline char *fk_driver(const char *addr)
{
	char rel[128], p[PATH_MAX];
	char *s = NULL;

	fk_fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver", addr);
	fk_path(p, sizeof(p), rel);
	if (read_link_basename_at(AT_FDCWD, p, &s) < 0)
		return NULL;
	return s;
}

static inline char *fk_group(const char *addr)
{
	char rel[128], p[PATH_MAX];
	char *s = NULL;

	fk_fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/iommu_group", addr);
	fk_path(p, sizeof(p), rel);
	if (read_link_basename_at(AT_FDCWD, p, &s) < 0)
		return NULL;
	return s;
}

/* Whether any device of group g is bound to vfio-pci. */
static inline bool fk_group_on_vfio(const char *g)
{
	char p[PATH_MAX];
	bool any = false;
	DIR *d;

	fk_path(p, sizeof(p), "sys/bus/pci/devices");
	d = opendir(p);
	for (struct dirent *de; d && (de = readdir(d));) {
		_cleanup_free_ char *drv = NULL, *grp = NULL;

		if (de->d_name[0] == '.')
			continue;
		drv = fk_driver(de->d_name);
		grp = fk_group(de->d_name);
		any = any || (drv && grp && streq(drv, "vfio-pci") && streq(grp, g));
	}
	if (d)
		closedir(d);
	return any;
}

/* The device's driver link, relative like the kernel's (../../../bus/pci/drivers/X). */
static inline int fk_link_driver(const char *addr, const char *drv)
{
	char p[PATH_MAX], real[PATH_MAX], sys[PATH_MAX], sys_real[PATH_MAX], target[PATH_MAX],
		rel[256];
	_cleanup_free_ char *g = NULL;
	size_t depth = 0;
	char *e;

	fk_path(sys, sizeof(sys), "sys");
	fk_fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s", addr);
	fk_path(p, sizeof(p), rel);
	if (!realpath(p, real) || !realpath(sys, sys_real))
		return -errno;
	for (const char *s = real + strlen(sys_real); *s; s++)
		depth += *s == '/';
	e = target;
	for (size_t i = 0; i < depth; i++)
		e = stpcpy(e, "../");
	fk_fmt(e, sizeof(target) - (size_t)(e - target), "bus/pci/drivers/%s", drv);
	fk_fmt(p, sizeof(p), "%s/driver", real);
	if (symlink(target, p) < 0)
		return -errno;
	fk_fmt(rel, sizeof(rel), "sys/bus/pci/drivers/%s/%s", drv, addr);
	(void)fk_symlink("../../devices/x", rel);
	g = fk_group(addr);
	if (g && streq(drv, "vfio-pci")) {
		fk_fmt(rel, sizeof(rel), "dev/vfio/%s", g);
		if (!fk_exists(rel)) {
			(void)fk_mkdirs("dev/vfio");
			(void)fk_put(rel, "");
			fk_path(p, sizeof(p), rel);
			(void)chmod(p, 0600);
		}
	}
	return 0;
}

static inline int fk_unbind(const char *addr)
{
	_cleanup_free_ char *drv = fk_driver(addr), *g = fk_group(addr);
	char rel[256];

	if (!drv)
		return -ENODEV;
	fk_fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver", addr);
	(void)fk_unlink(rel);
	fk_fmt(rel, sizeof(rel), "sys/bus/pci/drivers/%s/%s", drv, addr);
	(void)fk_unlink(rel);
	if (g && streq(drv, "vfio-pci") && !fk_group_on_vfio(g)) {
		fk_fmt(rel, sizeof(rel), "dev/vfio/%s", g);
		(void)fk_unlink(rel);
	}
	return 0;
}

static inline char *fk_override(const char *addr)
{
	char rel[128];
	char *s;

	fk_fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver_override", addr);
	s = fk_get(rel);
	if (s && streq(s, "(null)")) {
		free(s);
		return NULL;
	}
	return s;
}

static inline bool fk_driver_loaded(const char *drv)
{
	char rel[256];

	fk_fmt(rel, sizeof(rel), "sys/bus/pci/drivers/%s", drv);
	return fk_exists(rel);
}

/* drivers_probe: the override decides alone when set (drivers/base/dd.c + pci_match_device). */
static inline int fk_probe(const char *addr)
{
	_cleanup_free_ char *cur = fk_driver(addr), *ov = fk_override(addr);
	const char *want = ov ? ov : fk_native_driver(addr);

	if (cur || !want || !fk_driver_loaded(want))
		return 0;
	return fk_link_driver(addr, want);
}

static inline struct fk_pool *fk_find_pool(const char *dir)
{
	for (size_t i = 0; i < fk_n_pools; i++)
		if (streq(fk_pools[i].dir, dir))
			return &fk_pools[i];
	return NULL;
}

static inline void fk_set_pool(const char *dir, uint64_t cap, uint64_t cap_compacted)
{
	struct fk_pool *p = fk_find_pool(dir);

	if (!p) {
		assert_true(fk_n_pools < FK_MAX_POOLS);
		p = &fk_pools[fk_n_pools++];
		fk_fmt(p->dir, sizeof(p->dir), "%s", dir);
	}
	p->cap = cap;
	p->cap_compacted = cap_compacted;
}

/* dir: the pool under sys/. nr_hugepages counts surplus pages too, as the kernel's does. */
static inline int fk_hugepages(const char *dir, const char *value)
{
	char nr_rel[300], free_rel[300], surplus_rel[300];
	struct fk_pool *p = fk_find_pool(dir);
	uint64_t want = strtoull(value, NULL, 10), nr, fr, in_use, cap, got;

	fk_fmt(nr_rel, sizeof(nr_rel), "sys/%s/nr_hugepages", dir);
	fk_fmt(free_rel, sizeof(free_rel), "sys/%s/free_hugepages", dir);
	fk_fmt(surplus_rel, sizeof(surplus_rel), "sys/%s/surplus_hugepages", dir);
	nr = fk_get_u64(nr_rel);
	fr = fk_get_u64(free_rel);
	if (nr == UINT64_MAX || fr == UINT64_MAX)
		return -ENOENT;
	in_use = nr - fr;
	cap = !p ? UINT64_MAX : fk_compacted ? p->cap_compacted : p->cap;
	got = MIN(want, cap);
	fk_hp_writes++;
	if (got < in_use) {
		/* Pages in use above the target become surplus, freed when released. */
		fk_put_u64(surplus_rel, in_use - got);
		fk_put_u64(free_rel, 0);
		return fk_put_u64(nr_rel, in_use);
	}
	fk_put_u64(free_rel, got - in_use);
	return fk_put_u64(nr_rel, got);
}

static inline bool fk_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && streq(s + a - b, suffix);
}

/* A value attribute: the write replaces it, read back with one newline. */
static inline int fk_store(const char *rel, const char *s)
{
	char out[4096];
	size_t len = strlen(s);

	if (len >= sizeof(out) - 1)
		return -EINVAL;
	fk_fmt(out, sizeof(out), "%.*s\n", (int)(len > 0 && s[len - 1] == '\n' ? len - 1 : len), s);
	return fk_put(rel, out);
}

/* "+cpuset" / "-cpuset" on a cgroup.subtree_control of space-separated words. */
static inline int fk_subtree_control(const char *rel, const char *s)
{
	_cleanup_free_ char *cur = fk_get(rel);
	char out[1024] = "", word[64];
	bool have = false;

	if (!cur || (s[0] != '+' && s[0] != '-') || strlen(s) >= sizeof(word))
		return -EINVAL;
	fk_fmt(word, sizeof(word), "%s", s + 1);
	word[strcspn(word, "\n")] = 0;
	for (char *save = NULL, *t = strtok_r(cur, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (streq(t, word)) {
			have = true;
			if (s[0] == '-')
				continue;
		}
		strcat(strcat(out, out[0] ? " " : ""), t);
	}
	if (s[0] == '+' && !have)
		strcat(strcat(out, out[0] ? " " : ""), word);
	strcat(out, "\n");
	return fk_put(rel, out);
}

/* "always defer [madvise] never": the written word becomes the chosen one. */
static inline int fk_choice(const char *rel, const char *s)
{
	_cleanup_free_ char *cur = fk_get(rel);
	char out[1024] = "", word[64];
	bool found = false;

	if (!cur || strlen(s) >= sizeof(word))
		return -EINVAL;
	fk_fmt(word, sizeof(word), "%s", s);
	word[strcspn(word, "\n")] = 0;
	for (char *save = NULL, *t = strtok_r(cur, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char plain[64];

		fk_fmt(plain, sizeof(plain), "%s", t[0] == '[' ? t + 1 : t);
		plain[strcspn(plain, "]")] = 0;
		found |= streq(plain, word);
		strcat(out, out[0] ? " " : "");
		if (streq(plain, word))
			strcat(strcat(strcat(out, "["), plain), "]");
		else
			strcat(out, plain);
	}
	if (!found)
		return -EINVAL;
	strcat(out, "\n");
	return fk_put(rel, out);
}

int __wrap_write_string_at(int dirfd, const char *path, const char *s)
{
	char dir[PATH_MAX], fd_link[64], full[PATH_MAX * 2];
	const char *rel;
	char addr[64], drv[64];
	ssize_t n;
	int r;

	if (!fk_root[0])
		return __real_write_string_at(dirfd, path, s);
	if (path[0] == '/') {
		fk_fmt(full, sizeof(full), "%s", path);
	} else {
		fk_fmt(fd_link, sizeof(fd_link), "/proc/self/fd/%d", dirfd);
		n = dirfd == AT_FDCWD ? -1 : readlink(fd_link, dir, sizeof(dir) - 1);
		if (n < 0)
			return __real_write_string_at(dirfd, path, s);
		dir[n] = 0;
		fk_fmt(full, sizeof(full), "%s/%s", dir, path);
	}
	if (strncmp(full, fk_root, strlen(fk_root)) != 0 || full[strlen(fk_root)] != '/')
		return __real_write_string_at(dirfd, path, s);
	rel = full + strlen(fk_root) + 1;

	for (size_t i = 0; i < fk_n_refusals; i++)
		if (strncmp(rel, fk_refusals[i].prefix, strlen(fk_refusals[i].prefix)) == 0)
			return fk_refusals[i].err;
	if (strncmp(rel, "proc/irq/", 9) == 0 && fk_ends_with(rel, "/smp_affinity_list")) {
		char marker[PATH_MAX];

		fk_fmt(marker, sizeof(marker), "%.*s/fk_managed", (int)(strlen(full) - 18), full);
		if (access(marker, F_OK) == 0)
			return -EIO; /* a managed IRQ: the kernel keeps its affinity */
	}
	if (fk_ends_with(rel, "/cgroup.subtree_control"))
		return fk_subtree_control(rel, s);
	if ((strncmp(rel, "proc/", 5) == 0 && !streq(rel, "proc/sys/vm/compact_memory")) ||
	    fk_ends_with(rel, "/scaling_governor") || fk_ends_with(rel, "/workqueue/cpumask") ||
	    (strncmp(rel, "sys/class/vtconsole/", 20) == 0 && fk_ends_with(rel, "/bind")) ||
	    fk_ends_with(rel, "/cpuset.cpus"))
		return fk_store(rel, s);
	if (fk_ends_with(rel, "/transparent_hugepage/defrag"))
		return fk_choice(rel, s);

	/* The pool's counters change as a whole: the fake does this write itself. */
	if (strncmp(rel, "sys/", 4) == 0 && fk_ends_with(rel, "/nr_hugepages")) {
		char pool[300];

		fk_fmt(pool, sizeof(pool), "%.*s", (int)(strlen(rel) - 4 - 13), rel + 4);
		return fk_hugepages(pool, s);
	}

	r = __real_write_string_at(dirfd, path, s);
	if (r < 0)
		return r;

#define TRUNCATE() (void)truncate(full, 0)
	if (sscanf(rel, "sys/bus/pci/devices/%63[^/]/driver_override", addr) == 1 &&
	    fk_ends_with(rel, "/driver_override")) {
		char v[256];
		size_t len;

		fk_fmt(v, sizeof(v), "%s", s);
		len = strlen(v);
		if (len > 0 && v[len - 1] == '\n')
			v[--len] = 0;
		fk_fmt(full, sizeof(full), "%s\n", len ? v : "(null)");
		fk_fmt(v, sizeof(v), "sys/bus/pci/devices/%s/driver_override", addr);
		return fk_put(v, full);
	}
	if (sscanf(rel, "sys/bus/pci/devices/%63[^/]/driver/unbind", addr) == 1 &&
	    fk_ends_with(rel, "/driver/unbind")) {
		TRUNCATE();
		return fk_unbind(s);
	}
	if (sscanf(rel, "sys/bus/pci/drivers/%63[^/]/unbind", drv) == 1 &&
	    fk_ends_with(rel, "/unbind")) {
		_cleanup_free_ char *cur = fk_driver(s);

		TRUNCATE();
		return cur && streq(cur, drv) ? fk_unbind(s) : -ENODEV;
	}
	if (sscanf(rel, "sys/bus/pci/drivers/%63[^/]/bind", drv) == 1 &&
	    fk_ends_with(rel, "/bind")) {
		_cleanup_free_ char *cur = fk_driver(s), *ov = fk_override(s);

		TRUNCATE();
		if (cur || (ov && !streq(ov, drv)))
			return -ENODEV;
		return fk_link_driver(s, drv);
	}
	/* Platform devices (firmware framebuffers): the link alone. */
	if (sscanf(rel, "sys/bus/platform/drivers/%63[^/]/unbind", drv) == 1 &&
	    fk_ends_with(rel, "/unbind")) {
		char link[256], target[256];

		TRUNCATE();
		fk_fmt(link, sizeof(link), "sys/bus/platform/devices/%s/driver", s);
		fk_path(target, sizeof(target), link);
		n = readlink(target, dir, sizeof(dir) - 1);
		if (n < 0)
			return -ENODEV;
		dir[n] = 0;
		if (!streq(strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir, drv))
			return -ENODEV;
		return fk_unlink(link);
	}
	if (sscanf(rel, "sys/bus/platform/drivers/%63[^/]/bind", drv) == 1 &&
	    fk_ends_with(rel, "/bind")) {
		char link[256], target[256];

		TRUNCATE();
		fk_fmt(link, sizeof(link), "sys/bus/platform/devices/%s/driver", s);
		fk_fmt(target, sizeof(target), "../../../bus/platform/drivers/%s", drv);
		return fk_symlink(target, link);
	}
	if (streq(rel, "sys/bus/pci/drivers_probe")) {
		TRUNCATE();
		return fk_probe(s);
	}
	if (streq(rel, "proc/sys/vm/compact_memory")) {
		TRUNCATE();
		fk_compacted = true;
		return 0;
	}
#undef TRUNCATE
	return r;
}

/* ---- the tree ------------------------------------------------------------------------ */

static const char fk_modprobe[] =
	"#!/bin/sh\n"
	"# Stands in for modprobe: modules and the driver directory appear or go, as the kernel's.\n"
	"root=$(dirname \"$0\")/../..\n"
	"echo \"$*\" >> \"$root/modprobe.log\"\n"
	"case \"$1\" in\n"
	"vfio-pci)\n"
	"\tfor m in irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio_pci_core vfio_pci; do\n"
	"\t\tmkdir -p \"$root/sys/module/$m\"\n"
	"\tdone\n"
	"\tmkdir -p \"$root/sys/bus/pci/drivers/vfio-pci\" &&\n"
	"\t: > \"$root/sys/bus/pci/drivers/vfio-pci/bind\" &&\n"
	"\t: > \"$root/sys/bus/pci/drivers/vfio-pci/unbind\" ;;\n"
	"-r)\n"
	"\tshift; [ \"$1\" = -a ] && shift\n"
	"\tfor m in \"$@\"; do\n"
	"\t\trmdir \"$root/sys/module/$m\" || exit 1\n"
	"\t\t[ \"$m\" = vfio_pci ] && rm -rf \"$root/sys/bus/pci/drivers/vfio-pci\"\n"
	"\tdone ;;\n"
	"*) echo \"modprobe: FATAL: Module $* not found.\" >&2; exit 1 ;;\n"
	"esac\n"
	"exit 0\n";

static inline void fk_add_driver_dir(const char *drv)
{
	char rel[256];

	fk_fmt(rel, sizeof(rel), "sys/bus/pci/drivers/%s", drv);
	assert_int_equal(fk_mkdirs(rel), 0);
	fk_fmt(rel, sizeof(rel), "sys/bus/pci/drivers/%s/bind", drv);
	assert_int_equal(fk_put(rel, ""), 0);
	fk_fmt(rel, sizeof(rel), "sys/bus/pci/drivers/%s/unbind", drv);
	assert_int_equal(fk_put(rel, ""), 0);
}

/*
 * Copies tests/hosts/HOST to a fresh temporary root and adds what the
 * fixture leaves out because only writes need it: driver directories with
 * bind/unbind and the devices' links in them, drivers_probe, each
 * device's config space (vendor and device ID), dev/vfio/N for groups
 * already on vfio-pci, and the modprobe script.
 */
static inline void fk_setup(const char *host)
{
	const char *src = getenv("GAMEVM_SRCDIR");
	char base[] = "/tmp/gamevm-test-prep-XXXXXX", cmd[PATH_MAX * 3], p[PATH_MAX];
	DIR *d;

	assert_non_null(src);
	assert_non_null(mkdtemp(base));
	fk_fmt(fk_root, sizeof(fk_root), "%s/root", base);
	fk_fmt(fk_run, sizeof(fk_run), "%s/run", base);
	assert_int_equal(mkdir(fk_run, 0755), 0);
	/* The parts host preparation reads (CPUs, DMI, firmware files would only cost time). */
	fk_fmt(cmd, sizeof(cmd),
	       "mkdir '%s' && cd '%s/tests/hosts/%s' && for p in sys/bus sys/kernel sys/devices/pci* sys/devices/system/node proc dev; do "
	       "if [ -e \"$p\" ]; then cp -a --parents \"$p\" '%s' || exit 1; fi; done",
	       fk_root, src, host, fk_root);
	assert_int_equal(system(cmd), 0);
	fk_n_native = 0;
	fk_n_pools = 0;
	fk_n_refusals = 0;
	fk_compacted = false;
	fk_hp_writes = 0;

	assert_int_equal(fk_put("sys/bus/pci/drivers_probe", ""), 0);
	fk_path(p, sizeof(p), "sys/bus/pci/devices");
	d = opendir(p);
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));) {
		_cleanup_free_ char *drv = NULL, *vendor = NULL, *device = NULL, *g = NULL;
		char rel[256];
		unsigned char id[4];
		unsigned v, dv;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		drv = fk_driver(de->d_name);
		if (drv) {
			assert_true(fk_n_native < FK_MAX_DEVS);
			fk_fmt(fk_native[fk_n_native][0], 64, "%s", de->d_name);
			fk_fmt(fk_native[fk_n_native][1], 64, "%s", drv);
			fk_n_native++;
			if (!fk_driver_loaded(drv))
				fk_add_driver_dir(drv);
			fk_fmt(rel, sizeof(rel), "sys/bus/pci/drivers/%s/%s", drv, de->d_name);
			assert_int_equal(fk_symlink("../../devices/x", rel), 0);
			g = fk_group(de->d_name);
			if (g && streq(drv, "vfio-pci")) {
				fk_fmt(rel, sizeof(rel), "dev/vfio/%s", g);
				assert_int_equal(fk_mkdirs("dev/vfio"), 0);
				assert_int_equal(fk_put(rel, ""), 0);
			}
		}
		fk_fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/vendor", de->d_name);
		vendor = fk_get(rel);
		fk_fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/device", de->d_name);
		device = fk_get(rel);
		assert_true(vendor && device && sscanf(vendor, "%x", &v) == 1 &&
			    sscanf(device, "%x", &dv) == 1);
		id[0] = v & 0xff, id[1] = v >> 8, id[2] = dv & 0xff, id[3] = dv >> 8;
		fk_fmt(rel, sizeof(rel), "sys/bus/pci/devices/%s/config", de->d_name);
		fk_path(p, sizeof(p), rel);
		f = fopen(p, "we");
		assert_non_null(f);
		assert_int_equal(fwrite(id, 1, sizeof(id), f), sizeof(id));
		assert_int_equal(fclose(f), 0);
	}
	closedir(d);

	assert_int_equal(fk_mkdirs("usr/sbin"), 0);
	assert_int_equal(fk_put("usr/sbin/modprobe", fk_modprobe), 0);
	fk_path(p, sizeof(p), "usr/sbin/modprobe");
	assert_int_equal(chmod(p, 0755), 0);
	assert_int_equal(fk_mkdirs("sys/module"), 0);
	assert_int_equal(fk_mkdirs("proc/sys/vm"), 0);
	assert_int_equal(fk_put("proc/sys/vm/compact_memory", ""), 0);
}

static inline int fk_rm_entry(const char *p, const struct stat *st, int type, struct FTW *f)
{
	return remove(p);
}

static inline void fk_teardown(void)
{
	char base[PATH_MAX];

	if (!fk_root[0])
		return;
	fk_fmt(base, sizeof(base), "%s", fk_root);
	*strrchr(base, '/') = 0;
	nftw(base, fk_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	fk_root[0] = 0;
	fk_run[0] = 0;
}

/* ---- snapshots: every entry of sys/, dev/ and proc/ with its content ----------------------- */

static char **fk_snap_lines;
static size_t fk_snap_n;

static inline int fk_snap_entry(const char *p, const struct stat *st, int type, struct FTW *f)
{
	char line[PATH_MAX * 2 + 256], extra[PATH_MAX] = "";
	const char *rel = p + strlen(fk_root);

	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlink(p, extra, sizeof(extra) - 1);
		extra[n < 0 ? 0 : n] = 0;
	} else if (S_ISREG(st->st_mode)) {
		_cleanup_free_ char *c = NULL;
		size_t len = 0;

		if (read_full_file_at(AT_FDCWD, p, 4096, &c, &len) >= 0)
			for (size_t i = 0; i < len && i * 2 + 2 < sizeof(extra); i++)
				sprintf(extra + i * 2, "%02x", (unsigned char)c[i]);
	}
	fk_fmt(line, sizeof(line), "%s mode=%o uid=%u gid=%u %s", rel, (unsigned)st->st_mode,
	       (unsigned)st->st_uid, (unsigned)st->st_gid, extra);
	fk_snap_lines = realloc(fk_snap_lines, (fk_snap_n + 1) * sizeof(char *));
	assert_non_null(fk_snap_lines);
	fk_snap_lines[fk_snap_n] = strdup(line);
	assert_non_null(fk_snap_lines[fk_snap_n]);
	fk_snap_n++;
	return 0;
}

static inline int fk_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The state of sys/, dev/ and proc/ as one string, sorted by path. */
static inline char *fk_snapshot(void)
{
	static const char *const tops[] = { "sys", "dev", "proc" };
	size_t len = 1;
	char *s, *e;

	fk_snap_lines = NULL;
	fk_snap_n = 0;
	for (size_t i = 0; i < ELEMENTSOF(tops); i++) {
		char p[PATH_MAX];

		fk_path(p, sizeof(p), tops[i]);
		if (access(p, F_OK) == 0)
			assert_int_equal(nftw(p, fk_snap_entry, 16, FTW_PHYS), 0);
	}
	qsort(fk_snap_lines, fk_snap_n, sizeof(char *), fk_cmp_str);
	for (size_t i = 0; i < fk_snap_n; i++)
		len += strlen(fk_snap_lines[i]) + 1;
	s = malloc(len);
	assert_non_null(s);
	e = s;
	*e = 0;
	for (size_t i = 0; i < fk_snap_n; i++) {
		e = stpcpy(stpcpy(e, fk_snap_lines[i]), "\n");
		free(fk_snap_lines[i]);
	}
	free(fk_snap_lines);
	fk_snap_lines = NULL;
	return s;
}

/* Shows the first differing line on failure, which a plain string compare would not. */
static inline void fk_assert_same(const char *before, const char *after)
{
	if (streq(before, after))
		return;
	for (const char *a = before, *b = after; *a || *b;) {
		const char *ea = strchrnul(a, '\n'), *eb = strchrnul(b, '\n');

		if (ea - a != eb - b || strncmp(a, b, (size_t)(ea - a)) != 0) {
			fprintf(stderr, "tree differs:\n  before: %.*s\n  after:  %.*s\n",
				(int)(ea - a), a, (int)(eb - b), b);
			break;
		}
		a = *ea ? ea + 1 : ea;
		b = *eb ? eb + 1 : eb;
	}
	fail_msg("sys/, dev/ and proc/ are not as before");
}
