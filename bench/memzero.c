/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * This machine's memory-zeroing bandwidth, the yardstick for QEMU's RAM
 * preallocation (bench/prealloc.py):
 *
 *   memzero GIB PAGE_KB THREADS
 *
 * maps GIB GiB of huge pages of PAGE_KB kB (the pool must hold them) and
 * prints one JSON line:
 *   fault:  first touch of every page by THREADS threads, each page zeroed
 *           by the kernel: what QEMU's prealloc does;
 *   memset: memset(0) of the already faulted memory by THREADS threads
 *           (best of three): how fast this machine's CPUs and memory zero.
 * Both in GiB/s. Threads take equal slices, pinned to CPUs 0..THREADS-1
 * modulo the CPUs this process may use.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

struct slice {
	char *base;
	size_t len;
	size_t page;
	int cpu;
	int touch; /* 1: one byte per page; 0: memset */
	pthread_barrier_t *start;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *slice_run(void *arg)
{
	struct slice *s = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
	pthread_barrier_wait(s->start);
	if (s->touch) {
		for (size_t off = 0; off < s->len; off += s->page)
			*(volatile char *)(s->base + off) = 0;
	} else {
		memset(s->base, 0, s->len);
	}
	return NULL;
}

/* Seconds for THREADS threads to run over buf, -errno on failure. */
static int run_threads(char *buf, size_t len, size_t page, unsigned threads, const int *cpus,
		       int touch, double *ret_s)
{
	pthread_t tid[256];
	struct slice sl[256];
	pthread_barrier_t start;
	size_t pages = len / page;
	double t0;
	int r;

	if (pthread_barrier_init(&start, NULL, threads + 1) != 0)
		return -ENOMEM;
	for (unsigned i = 0; i < threads; i++) {
		size_t first = pages * i / threads, last = pages * (i + 1) / threads;

		sl[i] = (struct slice){ .base = buf + first * page,
					.len = (last - first) * page,
					.page = page,
					.cpu = cpus[i],
					.touch = touch,
					.start = &start };
		r = pthread_create(&tid[i], NULL, slice_run, &sl[i]);
		if (r != 0)
			return -r; /* the process exits: no clean-up needed */
	}
	pthread_barrier_wait(&start);
	t0 = now();
	for (unsigned i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	*ret_s = now() - t0;
	pthread_barrier_destroy(&start);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long gib, page_kb, threads;
	int cpus[256], n_allowed = 0;
	double fault_s, memset_s = 0;
	cpu_set_t allowed;
	size_t len, page;
	char *buf;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: %s GIB PAGE_KB THREADS\n", argv[0]);
		return 2;
	}
	gib = strtoul(argv[1], NULL, 10);
	page_kb = strtoul(argv[2], NULL, 10);
	threads = strtoul(argv[3], NULL, 10);
	if (gib == 0 || gib > 4096 || (page_kb != 2048 && page_kb != 1048576) || threads == 0 ||
	    threads > 256) {
		fprintf(stderr, "%s: GIB 1-4096, PAGE_KB 2048 or 1048576, THREADS 1-256\n",
			argv[0]);
		return 2;
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
		perror("sched_getaffinity");
		return 1;
	}
	for (int c = 0; c < CPU_SETSIZE && n_allowed < 256; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[n_allowed++] = c;
	for (unsigned long i = (unsigned long)n_allowed; i < threads; i++)
		cpus[i] = cpus[i % (unsigned long)n_allowed];

	len = (size_t)gib << 30;
	page = (size_t)page_kb << 10;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			   ((page_kb == 2048 ? 21 : 30) << MAP_HUGE_SHIFT),
		   -1, 0);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "mmap of %lu GiB of %lu kB pages: %s (reserve them first)\n", gib,
			page_kb, strerror(errno));
		return 1;
	}
	r = run_threads(buf, len, page, (unsigned)threads, cpus, 1, &fault_s);
	for (int i = 0; r == 0 && i < 3; i++) {
		double s;

		r = run_threads(buf, len, page, (unsigned)threads, cpus, 0, &s);
		if (r == 0 && (memset_s == 0 || s < memset_s))
			memset_s = s;
	}
	if (r < 0) {
		fprintf(stderr, "threads: %s\n", strerror(-r));
		return 1;
	}
	printf("{\"gib\": %lu, \"page_kb\": %lu, \"threads\": %lu, \"fault_s\": %.4f, "
	       "\"fault_gibps\": %.2f, \"memset_s\": %.4f, \"memset_gibps\": %.2f}\n",
	       gib, page_kb, threads, fault_s, (double)gib / fault_s, memset_s,
	       (double)gib / memset_s);
	munmap(buf, len);
	return 0;
}
