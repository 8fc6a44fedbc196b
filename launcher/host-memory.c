/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Memory facts: proc/meminfo MemTotal and the hugetlb pools, global
 * (sys/kernel/mm/hugepages/hugepages-<N>kB) and per NUMA node
 * (sys/devices/system/node/nodeN/hugepages/hugepages-<N>kB). Every page
 * size the kernel offers is listed, whatever its count, so the plan can tell
 * "no 1G pool on this CPU" from "a 1G pool with nothing reserved".
 *
 * A part that is absent or closed to us (read_err_is_absent()) is left out:
 * no meminfo is an unknown total, a pool directory or a pool whose counts
 * cannot be read is no pool, and the plan says so with the path when the
 * config asks for those pages.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "host.h"
#include "macro.h"
#include "parse-util.h"

static int read_meminfo_total(const struct host_root *h, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	char *p, *end;
	uint64_t kib;
	int r;

	if (h->proc_fd < 0)
		return -ENOENT;
	r = read_full_file_at(h->proc_fd, "meminfo", 1024 * 1024, &text, NULL);
	if (r < 0)
		return r;
	p = strstr(text, "MemTotal:");
	if (!p || (p != text && p[-1] != '\n'))
		return -ENODATA;
	p += strlen("MemTotal:");
	end = strchr(p, '\n');
	if (end)
		*end = 0;
	p = strstrip(p);
	if (strlen(p) < 3 || !streq(p + strlen(p) - 3, " kB"))
		return -EINVAL;
	p[strlen(p) - 3] = 0;
	r = safe_atou64(strstrip(p), &kib);
	if (r < 0)
		return r;
	if (kib > UINT64_MAX / 1024)
		return -ERANGE;
	*ret = kib * 1024;
	return 0;
}

static int pool_add(struct host_memory *m, const struct host_hugepool *p)
{
	struct host_hugepool *v = realloc(m->pools, (m->n_pools + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	m->pools = v;
	m->pools[m->n_pools++] = *p;
	return 0;
}

/* "hugepages-2048kB" -> 2 MiB */
static int parse_pool_dir_name(const char *name, uint64_t *ret)
{
	_cleanup_free_ char *num = NULL;
	size_t len = strlen(name);
	uint64_t kib;

	if (strncmp(name, "hugepages-", 10) != 0 || len < 13 || !streq(name + len - 2, "kB"))
		return -EINVAL;
	num = strndup(name + 10, len - 12);
	if (!num)
		return -ENOMEM;
	if (safe_atou64(num, &kib) < 0 || kib == 0 || kib > UINT64_MAX / 1024)
		return -EINVAL;
	*ret = kib * 1024;
	return 0;
}

/*
 * Reads one pool's counts: 0, 1 when the pool cannot be read (absent or
 * closed to us: left out), or negative errno.
 */
static int read_pool(int sys_fd, const char *dir, const char *name, struct host_hugepool *p)
{
	char path[512];
	int r;

	snprintf(path, sizeof(path), "%s/%s/nr_hugepages", dir, name);
	r = read_u64_at(sys_fd, path, &p->nr);
	if (r >= 0) {
		snprintf(path, sizeof(path), "%s/%s/free_hugepages", dir, name);
		r = read_u64_at(sys_fd, path, &p->free);
	}
	if (read_err_is_absent(r))
		return 1;
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s/surplus_hugepages", dir, name);
	r = read_u64_at(sys_fd, path, &p->surplus);
	if (read_err_is_absent(r))
		p->surplus = 0;
	else if (r < 0)
		return r;
	if (p->node < 0) {
		/* Per-node pools have no resv_hugepages; reservations are global. */
		snprintf(path, sizeof(path), "%s/%s/resv_hugepages", dir, name);
		r = read_u64_at(sys_fd, path, &p->resv);
		if (read_err_is_absent(r))
			p->resv = 0;
		else if (r < 0)
			return r;
	}
	return 0;
}

/* Adds one pool per hugepages-<N>kB entry of dir; the global pool has resv. */
static int scan_pools(int sys_fd, const char *dir, int node, struct host_memory *m)
{
	DIR *d;
	int fd, r = 0;

	fd = openat(sys_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return read_err_is_absent(NEG_ERRNO()) ? 0 : NEG_ERRNO();
	d = fdopendir(fd);
	if (!d) {
		r = NEG_ERRNO();
		close(fd);
		return r;
	}
	for (struct dirent *de; (de = readdir(d));) {
		struct host_hugepool p = { .node = node };

		if (parse_pool_dir_name(de->d_name, &p.page_size) < 0)
			continue;
		r = read_pool(sys_fd, dir, de->d_name, &p);
		if (r < 0)
			break;
		if (r > 0)
			continue;
		r = pool_add(m, &p);
		if (r < 0)
			break;
	}
	closedir(d);
	return r < 0 ? r : 0;
}

static int cmp_pool(const void *a, const void *b)
{
	const struct host_hugepool *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return x->page_size < y->page_size ? -1 : x->page_size > y->page_size;
}

static int scan_node_pools(int sys_fd, struct host_memory *m)
{
	DIR *d;
	int fd, r = 0;

	fd = openat(sys_fd, "devices/system/node", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return read_err_is_absent(NEG_ERRNO()) ? 0 : NEG_ERRNO();
	d = fdopendir(fd);
	if (!d) {
		r = NEG_ERRNO();
		close(fd);
		return r;
	}
	for (struct dirent *de; (de = readdir(d));) {
		char path[300];
		int node;

		if (strncmp(de->d_name, "node", 4) != 0 || safe_atoi(de->d_name + 4, &node) < 0 ||
		    node < 0)
			continue;
		snprintf(path, sizeof(path), "devices/system/node/%s/hugepages", de->d_name);
		r = scan_pools(sys_fd, path, node, m);
		if (r < 0)
			break;
	}
	closedir(d);
	return r < 0 ? r : 0;
}

void host_memory_done(struct host_memory *m)
{
	if (!m)
		return;
	free(m->pools);
	*m = (struct host_memory){};
}

int host_memory_probe(const struct host_root *h, struct host_memory *ret)
{
	_cleanup_(host_memory_done) struct host_memory m = {};
	int r;

	r = read_meminfo_total(h, &m.mem_total_bytes);
	if (r < 0 && !read_err_is_absent(r))
		return r;

	if (h->sys_fd >= 0) {
		r = scan_pools(h->sys_fd, "kernel/mm/hugepages", -1, &m);
		if (r < 0)
			return r;
		r = scan_node_pools(h->sys_fd, &m);
		if (r < 0)
			return r;
	}
	if (m.n_pools > 1)
		qsort(m.pools, m.n_pools, sizeof(*m.pools), cmp_pool);

	*ret = m;
	m = (struct host_memory){};
	return 0;
}

const struct host_hugepool *host_memory_find_pool(const struct host_memory *m, uint64_t page_size,
						  int node)
{
	for (size_t i = 0; m && i < m->n_pools; i++)
		if (m->pools[i].page_size == page_size && m->pools[i].node == node)
			return &m->pools[i];
	return NULL;
}
