/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hugepage reservation and give-back (see hugepages.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fileio.h"
#include "hugepages.h"
#include "macro.h"
#include "parse-util.h"

void hugepages_reservation_done(struct hugepages_reservation *r)
{
	if (!r)
		return;
	free(r->pool);
	*r = (struct hugepages_reservation){};
}

int hugepages_pool_dir(uint64_t page_size, int node, char **ret)
{
	uint64_t kib = page_size >> 10;
	int r;

	if (page_size == 0 || page_size % 1024 != 0)
		return -EINVAL;
	if (node >= 0)
		r = asprintf(ret, "devices/system/node/node%d/hugepages/hugepages-%" PRIu64 "kB",
			     node, kib);
	else
		r = asprintf(ret, "kernel/mm/hugepages/hugepages-%" PRIu64 "kB", kib);
	return r < 0 ? -ENOMEM : 0;
}

int hugepages_request_from_plan(const struct vm_config *c, const struct plan *p,
				const struct host_facts *f, struct hugepages_request *ret)
{
	struct hugepages_request req = { .page_size = p->hugepage_size, .node = -1 };

	if (p->hugepage_size == 0)
		return -ENODATA;
	req.pages = c->memory_bytes / p->hugepage_size;
	if (c->memory_node >= 0) {
		req.node = c->memory_node;
	} else {
		/* auto: the GPU's node, where its DMA to guest RAM is local. */
		for (size_t i = 0; i < p->n_hostdevs; i++) {
			const struct host_pci_dev *dev =
				host_pci_find(&f->pci, &p->hostdevs[i].host);

			if (!dev || (dev->class_code >> 16) != 0x03 || dev->numa_node < 0)
				continue;
			if (host_memory_find_pool(&f->memory, p->hugepage_size, dev->numa_node))
				req.node = dev->numa_node;
			break;
		}
	}
	*ret = req;
	return 0;
}

struct pool_state {
	uint64_t nr, free, resv, surplus;
};

static int pool_read(const struct host_root *h, const char *dir, bool global,
		     struct pool_state *ret)
{
	struct pool_state s = {};
	char path[300];
	int r;

	snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
	r = read_u64_at(h->sys_fd, path, &s.nr);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/free_hugepages", dir);
	r = read_u64_at(h->sys_fd, path, &s.free);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/surplus_hugepages", dir);
	r = read_u64_at(h->sys_fd, path, &s.surplus);
	if (r < 0 && r != -ENOENT)
		return r;
	s.surplus = MIN(s.surplus, s.nr);
	if (global) {
		/* Promised to a mapping already (another hugetlb user): not ours. */
		snprintf(path, sizeof(path), "%s/resv_hugepages", dir);
		r = read_u64_at(h->sys_fd, path, &s.resv);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	*ret = s;
	return 0;
}

/*
 * Pages that stay when their users free them: writing nr_hugepages sets
 * this count (the kernel turns surplus pages into persistent ones first
 * when it rises). Surplus pages belong to whoever holds them now: another
 * VM whose pool target gamevm lowered already.
 */
static uint64_t pool_persistent(const struct pool_state *s)
{
	return s->nr - s->surplus;
}

static uint64_t pool_usable(const struct pool_state *s)
{
	return s->free > s->resv ? s->free - s->resv : 0;
}

static int pool_write(const struct host_root *h, const char *dir, uint64_t nr)
{
	char path[300], value[32];

	snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
	snprintf(value, sizeof(value), "%" PRIu64, nr);
	return write_string_at(h->sys_fd, path, value);
}

static const char *where_node(int node, char *buf, size_t size)
{
	if (node >= 0)
		snprintf(buf, size, "on NUMA node %d", node);
	else
		snprintf(buf, size, "in the global pool");
	return buf;
}

static int diag_shortfall(const struct host_root *h, const struct hugepages_reservation *res,
			  uint64_t target, struct plan_diags *d)
{
	char sz[32], where[512], node[32];

	format_size(res->page_size, sz, sizeof(sz));
	return prepare_diag(
		d, LOG_ERR,
		"only %" PRIu64 " of the %" PRIu64
		" %s huge pages the VM needs could be had %s (%s/nr_hugepages is %" PRIu64
		", %" PRIu64
		" was asked for)%s: memory is too fragmented for %s pages now. Reserve them at boot instead (kernel command line: hugepagesz=%s hugepages=%" PRIu64
		"), free memory and try again, or %s",
		res->obtained, res->wanted, sz, where_node(res->node, node, sizeof(node)),
		host_root_path(h, "sys", res->pool, where, sizeof(where)), res->nr_after, target,
		res->compacted ? ", even after compacting memory" : "", sz, sz, target,
		res->page_size >= (UINT64_C(1) << 30) ? "use 2M pages ([memory] hugepages = 2M)"
						      : "use 1G pages, reserved at boot");
}

int hugepages_reserve(const struct host_root *h, struct journal *j,
		      const struct hugepages_request *req, struct hugepages_reservation *ret,
		      struct plan_diags *d)
{
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	struct journal_record rec = { .kind = JOURNAL_HUGEPAGES };
	struct pool_state s;
	char old[32], new[32], sz[32], where[512], node[32];
	uint64_t target;
	int r;

	if (!req || req->pages == 0)
		return -EINVAL;
	res.page_size = req->page_size;
	res.node = req->node;
	res.wanted = req->pages;
	format_size(req->page_size, sz, sizeof(sz));
	r = hugepages_pool_dir(req->page_size, req->node, &res.pool);
	if (r < 0)
		return r;
	host_root_path(h, "sys", res.pool, where, sizeof(where));
	r = h->sys_fd < 0 ? -ENOENT : pool_read(h, res.pool, req->node < 0, &s);
	if (r == -ENOENT || r == -ENOTDIR) {
		int q = prepare_diag(
			d, LOG_ERR,
			"this host has no %s huge pages %s ('%s' is missing): reserve them at boot (kernel command line: hugepagesz=%s hugepages=%" PRIu64
			") or set [memory] hugepages = none",
			sz, where_node(req->node, node, sizeof(node)), where, sz, req->pages);
		return q < 0 ? q : -ENOENT;
	}
	if (r < 0) {
		int q = prepare_diag(d, LOG_ERR, "cannot read the %s huge page pool '%s': %s", sz,
				     where, strerror(-r));
		return q < 0 ? q : r;
	}
	res.nr_before = res.nr_after = s.nr;
	res.free_before = pool_usable(&s);

	if (res.free_before >= res.wanted) {
		res.obtained = res.wanted;
		r = prepare_diag(d, LOG_INFO,
				 "%" PRIu64 " %s huge pages needed, %" PRIu64
				 " already free %s (%s)",
				 res.wanted, sz, res.free_before,
				 where_node(req->node, node, sizeof(node)), where);
		if (r < 0)
			return r;
		*ret = res;
		res = (struct hugepages_reservation){};
		return 0;
	}

	/*
	 * Only the shortfall: pages already free count. The write turns the
	 * surplus pages (another VM's, in use) into persistent ones before it
	 * allocates, so the target counts them, and the undo goes back to the
	 * persistent count from before: theirs become surplus again.
	 */
	target = s.nr + (res.wanted - res.free_before);
	snprintf(old, sizeof(old), "%" PRIu64, pool_persistent(&s));
	snprintf(new, sizeof(new), "%" PRIu64, target);
	rec.target = res.pool;
	rec.old = old;
	rec.new = new;
	r = journal_append(j, &rec, &res.seq);
	if (r < 0)
		return r;

	/*
	 * The kernel takes what it can get and reports success either way:
	 * only reading back tells how many it found.
	 */
	for (int attempt = 0; attempt < 2; attempt++) {
		r = pool_write(h, res.pool, target);
		if (r < 0) {
			int q = prepare_diag(d, LOG_ERR, "cannot write %s to '%s/nr_hugepages': %s",
					     new, where, strerror(-r));
			return q < 0 ? q : r;
		}
		r = pool_read(h, res.pool, req->node < 0, &s);
		if (r < 0) {
			int q = prepare_diag(d, LOG_ERR, "cannot read '%s' back: %s", where,
					     strerror(-r));
			return q < 0 ? q : r;
		}
		res.nr_after = s.nr;
		res.obtained = MIN(pool_usable(&s), res.wanted);
		if (res.obtained >= res.wanted || attempt > 0 || h->proc_fd < 0)
			break;
		/* Free 1G (or 2M) of contiguous memory out of fragmented RAM. */
		r = write_string_at(h->proc_fd, "sys/vm/compact_memory", "1");
		if (r < 0)
			break;
		res.compacted = true;
	}

	if (res.obtained < res.wanted) {
		r = diag_shortfall(h, &res, target, d);
		return r < 0 ? r : -ENOMEM;
	}
	r = prepare_diag(d, LOG_INFO,
			 "reserved %" PRIu64 " %s huge pages %s (%s/nr_hugepages %" PRIu64
			 " -> %" PRIu64 ")%s",
			 target - res.nr_before, sz, where_node(req->node, node, sizeof(node)),
			 where, res.nr_before, res.nr_after,
			 res.compacted ? " after compacting memory" : "");
	if (r < 0)
		return r;
	*ret = res;
	res = (struct hugepages_reservation){};
	return 0;
}

/*
 * Lowers the pool's persistent pages by what gamevm added; 1 when it
 * wrote, 0 when nothing to do.
 */
static int pool_give_back(const struct host_root *h, const struct journal_record *rec,
			  uint64_t *ret_cur, uint64_t *ret_target)
{
	uint64_t old, new, added, cur, target;
	struct pool_state s;
	int r;

	if (safe_atou64(rec->old, &old) < 0 || safe_atou64(rec->new, &new) < 0)
		return -EBADMSG;
	added = new > old ? new - old : 0;
	r = h->sys_fd < 0 ? -ENOENT : pool_read(h, rec->target, false, &s);
	if (r < 0)
		return r;
	cur = pool_persistent(&s);
	*ret_cur = cur;
	/* Already back, or lowered by someone else: leave their pages alone. */
	if (cur <= old) {
		*ret_target = cur;
		return 0;
	}
	target = cur >= old + added ? cur - added : old;
	r = pool_write(h, rec->target, target);
	if (r < 0)
		return r;
	*ret_target = target;
	return 1;
}

int hugepages_undo(const struct host_root *h, const struct journal_record *rec,
		   struct plan_diags *d)
{
	char where[512];
	uint64_t cur = 0, target = 0;
	int r;

	host_root_path(h, "sys", rec->target, where, sizeof(where));
	r = pool_give_back(h, rec, &cur, &target);
	if (r < 0) {
		int q = prepare_diag(d, LOG_ERR, "cannot give back the huge pages of %s: %s", where,
				     strerror(-r));
		return q < 0 ? q : r;
	}
	if (r == 0)
		return 0;
	return prepare_diag(d, LOG_INFO,
			    "gave back %" PRIu64 " huge pages (%s/nr_hugepages %" PRIu64
			    " -> %" PRIu64 ")",
			    cur - target, where, cur, target);
}

int hugepages_release_target(const struct host_root *h, struct journal *j,
			     const struct hugepages_reservation *res, struct plan_diags *d)
{
	const struct journal_record *rec;
	char where[512];
	uint64_t cur = 0, target = 0;
	int r;

	if (!res || res->seq == 0)
		return 0;
	rec = journal_find(j, res->seq);
	if (!rec || rec->kind != JOURNAL_HUGEPAGES)
		return -ENOENT;
	if (rec->done)
		return 0;
	host_root_path(h, "sys", rec->target, where, sizeof(where));
	r = pool_give_back(h, rec, &cur, &target);
	if (r < 0) {
		int q = prepare_diag(
			d, LOG_WARNING,
			"cannot lower %s/nr_hugepages back (the pages are given back when the VM ends instead): %s",
			where, strerror(-r));
		return q < 0 ? q : r;
	}
	r = journal_mark_done(j, res->seq);
	if (r < 0)
		return r;
	return prepare_diag(
		d, LOG_INFO,
		"%s/nr_hugepages set back to %" PRIu64
		": the VM's pages return to the system as QEMU frees them, even if gamevm is gone",
		where, target);
}
