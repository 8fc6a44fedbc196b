/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The doctor on memory: whether the hugepages the VM needs can be had at
 * start (free pages, fragmentation in proc/buddyinfo), 1G pages without
 * pdpe1gb, compaction on ZFS hosts, THP when the VM has no hugepages, and
 * RLIMIT_MEMLOCK for a start without root.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "doctor.h"
#include "fileio.h"
#include "macro.h"

/* Free blocks of at least 2 MiB in proc/buddyinfo, counted in 2 MiB pages; -1: unreadable. */
static int64_t buddy_2m_blocks(const struct doctor *d)
{
	_cleanup_free_ char *text = NULL;
	int64_t pages = 0;
	char *line, *save = NULL;

	if (d->h->proc_fd < 0 ||
	    read_full_file_at(d->h->proc_fd, "buddyinfo", 1u << 20, &text, NULL) < 0)
		return -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *zone = strstr(line, "zone");
		char *p;
		int order = 0;

		if (!zone)
			continue;
		p = zone + 4;
		p += strspn(p, " ");
		p += strcspn(p, " "); /* the zone's name */
		for (;;) {
			char *end;
			unsigned long long n = strtoull(p, &end, 10);

			if (end == p)
				break;
			/* order 9 = 512 4K pages = 2 MiB with 4K base pages */
			if (order >= 9)
				pages += (int64_t)(n << (order - 9));
			order++;
			p = end;
		}
	}
	return pages;
}

static int check_hugepages(struct doctor *d)
{
	const struct vm_config *c = d->c;
	uint64_t page, need, have = 0;
	int64_t blocks;

	if (!c || c->hugepages == HUGEPAGES_NONE)
		return 0;
	page = c->hugepages == HUGEPAGES_1G ? UINT64_C(1) << 30 : UINT64_C(2) << 20;
	need = c->memory_bytes / page;
	for (size_t i = 0; i < d->f->memory.n_pools; i++) {
		const struct host_hugepool *p = &d->f->memory.pools[i];

		if (p->page_size == page && p->node < 0)
			have = p->free > p->resv ? p->free - p->resv : 0;
	}
	if (c->hugepages == HUGEPAGES_1G) {
		if (!doctor_cpu_flag(d, "pdpe1gb"))
			return doctor_add(
				d, "memory.pdpe1gb", DOCTOR_FAIL, "proc/cpuinfo",
				"set [memory] hugepages = 2M",
				"1G huge pages need the CPU flag pdpe1gb, which this CPU lacks");
		if (have >= need)
			return doctor_add(d, "memory.hugepages", DOCTOR_PASS,
					  "sys/kernel/mm/hugepages/hugepages-1048576kB", NULL,
					  "%" PRIu64 " 1G pages free for the VM's %" PRIu64, have,
					  need);
		return doctor_add(
			d, "memory.hugepages", DOCTOR_WARN,
			"sys/kernel/mm/hugepages/hugepages-1048576kB",
			"reserve them at boot: add hugepagesz=1G hugepages=N (N = the VM's GiB) to the kernel command line ('gamevm check' lists the words)",
			"%" PRIu64 " 1G pages free of the %" PRIu64
			" the VM needs: 1G pages are rarely free after boot",
			have, need);
	}
	if (have >= need)
		return doctor_add(d, "memory.hugepages", DOCTOR_PASS,
				  "sys/kernel/mm/hugepages/hugepages-2048kB", NULL,
				  "%" PRIu64 " 2M pages free for the VM's %" PRIu64, have, need);
	blocks = buddy_2m_blocks(d);
	if (blocks < 0)
		return doctor_add(d, "memory.hugepages", DOCTOR_SKIP, "proc/buddyinfo", NULL,
				  "%" PRIu64 " 2M pages free of %" PRIu64
				  "; gamevm reserves the rest at start, fragmentation unknown",
				  have, need);
	if ((uint64_t)blocks + have >= need)
		return doctor_add(d, "memory.hugepages", DOCTOR_PASS, "proc/buddyinfo", NULL,
				  "%" PRIu64 " 2M pages free, and %" PRId64
				  " free 2 MiB blocks for the rest: gamevm reserves them at start",
				  have, blocks);
	return doctor_add(
		d, "memory.hugepages", DOCTOR_WARN, "proc/buddyinfo",
		"start the VM soon after boot, or reserve at boot (hugepages=N on the kernel command line); gamevm compacts memory once before it gives up",
		"only %" PRId64 " free 2 MiB blocks for the %" PRIu64
		" pages still needed: memory is fragmented (or short), the start may fail",
		blocks, need - have);
}

/* Compaction with the ZFS ARC holding most of memory has stalled and crashed hosts. */
static int check_zfs(struct doctor *d)
{
	if (!d->c || d->c->hugepages != HUGEPAGES_2M ||
	    faccessat(d->h->sys_fd, "module/zfs", F_OK, 0) < 0)
		return 0;
	return doctor_add(
		d, "memory.zfs", DOCTOR_WARN, "sys/module/zfs",
		"reserve the pages at boot (hugepages=N) so none has to be compacted, or cap the ARC (zfs_arc_max)",
		"ZFS is loaded: compacting memory for huge pages while the ARC holds it is slow and has hung hosts");
}

static int check_thp(struct doctor *d)
{
	_cleanup_free_ char *v = NULL;
	const char *src = "sys/kernel/mm/transparent_hugepage/enabled";

	if (!d->c || d->c->hugepages != HUGEPAGES_NONE)
		return 0;
	if (read_one_line_at(d->h->sys_fd, "kernel/mm/transparent_hugepage/enabled", &v) < 0)
		return 0;
	if (strstr(v, "[never]"))
		return doctor_add(
			d, "memory.thp", DOCTOR_WARN, src,
			"set [memory] hugepages = 2M, or echo madvise > /sys/kernel/mm/transparent_hugepage/enabled",
			"no hugepages and THP off: guest RAM on 4K pages, with many more TLB misses");
	return doctor_add(
		d, "memory.thp", DOCTOR_PASS, src,
		"[memory] hugepages = 2M is faster still and is reserved up front",
		"no hugepages: guest RAM on transparent huge pages where the kernel finds them (%s)",
		v);
}

/*
 * VFIO pins all of guest RAM. As root gamevm raises QEMU's limit itself; a
 * user's start can only go as high as its own hard limit.
 */
static int check_memlock(struct doctor *d)
{
	struct rlimit rl;
	uint64_t need;

	if (!d->c || (d->c->n_pci == 0 && !d->c->memory_lock) || !d->h->is_real)
		return 0;
	if (geteuid() == 0)
		return doctor_add(
			d, "memory.memlock", DOCTOR_PASS, NULL, NULL,
			"gamevm raises QEMU's RLIMIT_MEMLOCK to the guest's RAM and 1 GiB");
	need = d->c->memory_bytes + (UINT64_C(1) << 30);
	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		return 0;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need)
		return doctor_add(d, "memory.memlock", DOCTOR_PASS, "getrlimit(RLIMIT_MEMLOCK)",
				  NULL, "the hard memlock limit covers the guest's RAM");
	return doctor_add(
		d, "memory.memlock", DOCTOR_FAIL, "getrlimit(RLIMIT_MEMLOCK)",
		"raise it: LimitMEMLOCK=infinity in the unit, or '@USER hard memlock unlimited' in /etc/security/limits.conf; or start as root",
		"the hard memlock limit (%" PRIu64
		" KiB) is below the guest's RAM plus 1 GiB: VFIO cannot pin it",
		(uint64_t)rl.rlim_max >> 10);
}

int doctor_check_memory(struct doctor *d)
{
	int r = check_hugepages(d);

	if (r >= 0)
		r = check_zfs(d);
	if (r >= 0)
		r = check_thp(d);
	if (r >= 0)
		r = check_memlock(d);
	return r;
}
