/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM's hugepage RAM, created and faulted in by gamevm before QEMU
 * starts, and handed to QEMU as a file descriptor:
 *
 *   _cleanup_close_ int fd = -1;
 *   r = guest_ram_create(&(struct guest_ram_spec){ ... }, &fd);
 *   ... spawn QEMU with fd as PLAN_RAM_FD
 *       (-object memory-backend-file,mem-path=/proc/self/fd/N,share=on,prealloc=off),
 *   close(fd): QEMU holds the pages from then on; they go back to the pool
 *   when it exits.
 *
 * Why not QEMU's own prealloc=on: QEMU 7.2 populates with several threads,
 * each holding the mmap lock (read) for its whole slice, and each thread's
 * first free() creates a malloc arena (mmap + mprotect: the lock for
 * write). Whenever one thread gets to its slice before another one has
 * started, the late one waits for the whole slice: on a 2-CPU host, 2
 * threads back 8 GiB in 0.45 s or in 0.8 s (one thread: 0.8 s), at random.
 * Here every thread is created and pinned first, then all start at once
 * behind a barrier, and nothing takes the lock for write until they end.
 *
 * The memfd is hugetlb-backed: its pages come from the pool (reserved at
 * mmap, so a pool too small fails here with -ENOMEM, not with a SIGBUS in
 * QEMU), bound to the node when one is given (the pool of that node), and
 * zeroed by the kernel on first touch.
 *
 * Library code: no printing; 0 or a negative errno.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct guest_ram_spec {
	uint64_t size;	      /* bytes, a multiple of page_size */
	uint64_t page_size;   /* bytes: 2 MiB or 1 GiB */
	int node;	      /* NUMA node the pages must come from, -1: any */
	const unsigned *cpus; /* the threads' CPUs, one each in turn; NULL: unpinned */
	size_t n_cpus;
	unsigned threads; /* >= 1 */
};

/*
 * A new memfd of spec->size bytes of huge pages, every page faulted in,
 * CLOEXEC. -EINVAL for a bad spec, -ENOMEM when the pool (of the node) has
 * too few free pages, or the error of memfd_create, mmap or mbind.
 */
int guest_ram_create(const struct guest_ram_spec *spec, int *ret_fd);
