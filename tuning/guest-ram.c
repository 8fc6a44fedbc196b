/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM's hugepage RAM, faulted in by pinned threads (see guest-ram.h).
 */
#include <errno.h>
#include <linux/memfd.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest-ram.h"
#include "macro.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define GUEST_RAM_MAX_THREADS 1024u

/* The start line: every thread waits on it until all exist. */
struct guest_ram_start {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go;
	bool abort; /* a thread could not be created: nobody touches anything */
};

struct guest_ram_slice {
	char *base;
	size_t len;
	size_t page;
	int cpu; /* -1: unpinned */
	struct guest_ram_start *start;
	int error; /* 0 or a negative errno */
};

static bool guest_ram_wait_start(struct guest_ram_start *st)
{
	bool abort;

	pthread_mutex_lock(&st->lock);
	while (!st->go)
		pthread_cond_wait(&st->cond, &st->lock);
	abort = st->abort;
	pthread_mutex_unlock(&st->lock);
	return !abort;
}

static void guest_ram_release_start(struct guest_ram_start *st, bool abort)
{
	pthread_mutex_lock(&st->lock);
	st->go = true;
	st->abort = abort;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

static void *guest_ram_populate(void *arg)
{
	struct guest_ram_slice *s = arg;

	if (s->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(s->cpu, &set);
		/* A CPU gamevm may not use (a cpuset) only costs the speed. */
		(void)sched_setaffinity(0, sizeof(set), &set);
	}
	/*
	 * Every thread exists before any takes the mmap lock: creating one
	 * (its stack) needs the lock for write, and would wait for a whole
	 * slice.
	 */
	if (!guest_ram_wait_start(s->start))
		return NULL;
	if (madvise(s->base, s->len, MADV_POPULATE_WRITE) == 0)
		return NULL;
	if (errno != EINVAL) {
		/* A hugetlb fault that finds no page is SIGBUS, returned as EFAULT. */
		s->error = errno == EFAULT || errno == ENOMEM ? -ENOMEM : NEG_ERRNO();
		return NULL;
	}
	/* Before Linux 5.14: a write to each page. The reservation made at mmap covers them. */
	for (size_t off = 0; off < s->len; off += s->page)
		*(volatile char *)(s->base + off) = 0;
	return NULL;
}

static int guest_ram_check(const struct guest_ram_spec *spec)
{
	if (spec->page_size == 0 || (spec->page_size & (spec->page_size - 1)) != 0 ||
	    spec->page_size < 4096)
		return -EINVAL;
	if (spec->size == 0 || spec->size % spec->page_size != 0 || spec->size > SIZE_MAX / 2)
		return -EINVAL;
	if (spec->threads == 0 || spec->threads > GUEST_RAM_MAX_THREADS)
		return -EINVAL;
	if (spec->node >= 1024)
		return -EINVAL;
	return 0;
}

static int guest_ram_bind(void *base, size_t len, int node)
{
	unsigned long mask[1024 / (8 * sizeof(unsigned long))] = { 0 };

	mask[node / (8 * sizeof(unsigned long))] |= 1UL << (node % (8 * sizeof(unsigned long)));
	/* maxnode counts one past the last bit the kernel reads. */
	if (mbind(base, len, MPOL_BIND, mask, 1024 + 1, 0) < 0)
		return NEG_ERRNO();
	return 0;
}

static int guest_ram_fault_in(const struct guest_ram_spec *spec, char *base)
{
	uint64_t pages = spec->size / spec->page_size;
	unsigned n = (unsigned)MIN((uint64_t)spec->threads, pages);
	_cleanup_free_ struct guest_ram_slice *slices = calloc(n, sizeof(*slices));
	_cleanup_free_ pthread_t *tids = calloc(n, sizeof(*tids));
	struct guest_ram_start st = { .lock = PTHREAD_MUTEX_INITIALIZER,
				      .cond = PTHREAD_COND_INITIALIZER };
	unsigned started = 0;
	uint64_t at = 0;
	cpu_set_t old;
	bool restore;
	int r = 0;

	if (!slices || !tids)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		/* Whole pages each; the first (pages % n) slices take one more. */
		uint64_t np = pages / n + (i < pages % n ? 1 : 0);

		slices[i] = (struct guest_ram_slice){
			.base = base + at * spec->page_size,
			.len = (size_t)(np * spec->page_size),
			.page = (size_t)spec->page_size,
			.cpu = spec->cpus && spec->n_cpus ? (int)spec->cpus[i % spec->n_cpus] : -1,
			.start = &st,
		};
		at += np;
	}
	/* Slice 0 is this thread's, the others get one each. */
	for (unsigned i = 1; i < n; i++) {
		int e = pthread_create(&tids[i], NULL, guest_ram_populate, &slices[i]);

		if (e != 0) {
			r = -e;
			break;
		}
		started = i;
	}
	restore = sched_getaffinity(0, sizeof(old), &old) == 0;
	guest_ram_release_start(&st, r < 0);
	if (r >= 0)
		guest_ram_populate(&slices[0]);
	/* The supervisor goes on where it ran before. */
	if (restore)
		(void)sched_setaffinity(0, sizeof(old), &old);
	for (unsigned i = 1; i <= started; i++)
		pthread_join(tids[i], NULL);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++)
		if (slices[i].error < 0)
			return slices[i].error;
	return 0;
}

int guest_ram_create(const struct guest_ram_spec *spec, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	unsigned shift = 0;
	void *base;
	int r;

	r = guest_ram_check(spec);
	if (r < 0)
		return r;
	while ((UINT64_C(1) << shift) < spec->page_size)
		shift++;
	fd = memfd_create("gamevm-ram", MFD_CLOEXEC | MFD_HUGETLB | (shift << MFD_HUGE_SHIFT));
	if (fd < 0)
		return NEG_ERRNO();
	if (ftruncate(fd, (off_t)spec->size) < 0)
		return NEG_ERRNO();
	/* Shared, as QEMU maps it: the pages are reserved now, for the file. */
	base = mmap(NULL, (size_t)spec->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return NEG_ERRNO();
	if (spec->node >= 0)
		r = guest_ram_bind(base, (size_t)spec->size, spec->node);
	if (r >= 0)
		r = guest_ram_fault_in(spec, base);
	/* The pages stay in the file; only this mapping goes. */
	(void)munmap(base, (size_t)spec->size);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}
