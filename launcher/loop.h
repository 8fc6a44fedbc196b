/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The supervisor's event loop: one io_uring that owns every source the
 * supervisor waits on, so nothing ever happens in a signal handler and
 * there is exactly one place where the process sleeps.
 *
 * Sources:
 *   signalfd  reads signalfd_siginfo records, re-armed after each one
 *   pidfd     one IORING_OP_POLL_ADD; fires once when the process exits
 *   stream    a connected socket: RECV into the source's buffer (re-armed
 *             until EOF or error), SEND (MSG_NOSIGNAL) of queued bytes
 *   timer     IORING_OP_TIMEOUT on CLOCK_MONOTONIC, one-shot or periodic
 *
 * Each submitted operation carries its source pointer and the kind of
 * operation in user_data (the pointer's low bits hold the kind), so a
 * stream with a read and a write in flight tells the two completions apart.
 *
 * Ownership: a source belongs to the loop. loop_add_*() with ret == NULL
 * makes it floating: the loop frees it once it is finished (a pidfd fired,
 * a one-shot timer expired, a stream hit EOF or an error). With ret !=
 * NULL the caller holds it until loop_source_free(), which also cancels
 * it; its callbacks are never called after that. Memory a pending kernel
 * operation writes into is freed only after the operation completed.
 * The loop never closes the fds it is given.
 *
 * Usage:
 *   _cleanup_(loop_freep) struct loop *l = NULL;
 *   loop_new(&l);
 *   loop_add_signalfd(l, sfd, on_signal, ctx, NULL);
 *   loop_add_timer(l, 2 * USEC_PER_SEC, true, on_tick, ctx, &tick);
 *   r = loop_run(l);         returns what a callback passed to loop_exit()
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>

#define USEC_PER_SEC  1000000ULL
#define USEC_PER_MSEC 1000ULL

struct loop;
struct loop_source;

/* si is NULL when reading the signalfd failed (error < 0); the source is then finished. */
typedef void (*loop_signal_cb)(struct loop_source *s, const struct signalfd_siginfo *si, int error,
			       void *userdata);
/* The process behind the pidfd exited (or error < 0: polling failed). Fires once. */
typedef void (*loop_pidfd_cb)(struct loop_source *s, int error, void *userdata);
/*
 * Bytes arrived (n > 0, error 0), or end of input (n == 0, error 0), or a
 * read or write failed (error < 0). After EOF or an error the stream is
 * finished: no more reads, queued output is dropped.
 */
typedef void (*loop_stream_cb)(struct loop_source *s, const void *buf, size_t n, int error,
			       void *userdata);
typedef void (*loop_timer_cb)(struct loop_source *s, void *userdata);

int loop_new(struct loop **ret);
/* Cancels every source and waits (bounded) for the kernel to let go of their buffers. */
void loop_free(struct loop *l);
static inline void loop_freep(struct loop **l)
{
	if (*l)
		loop_free(*l);
}

int loop_add_signalfd(struct loop *l, int fd, loop_signal_cb cb, void *userdata,
		      struct loop_source **ret);
int loop_add_pidfd(struct loop *l, int pidfd, loop_pidfd_cb cb, void *userdata,
		   struct loop_source **ret);
int loop_add_stream(struct loop *l, int fd, loop_stream_cb cb, void *userdata,
		    struct loop_source **ret);
/* Fires usec from now; periodic ones every usec after that (no drift, no bursts). */
int loop_add_timer(struct loop *l, uint64_t usec, bool periodic, loop_timer_cb cb, void *userdata,
		   struct loop_source **ret);

/*
 * Queues a copy of buf for sending on a stream source; the bytes go out in
 * order. -EPIPE once the stream is finished, -EINVAL for another kind.
 */
int loop_stream_write(struct loop_source *s, const void *buf, size_t len);
/* Bytes queued and not yet sent. */
size_t loop_stream_pending(const struct loop_source *s);

/* Cancels (if still active) and releases the caller's handle. NULL-safe; returns NULL. */
struct loop_source *loop_source_free(struct loop_source *s);
static inline void loop_source_freep(struct loop_source **s)
{
	*s = loop_source_free(*s);
}
/* Still waiting for something: not fired (one-shot), not finished, not cancelled. */
bool loop_source_is_active(const struct loop_source *s);

/*
 * Runs until a callback calls loop_exit(); returns its code. A failure of
 * the ring itself returns a negative errno.
 */
int loop_run(struct loop *l);
void loop_exit(struct loop *l, int code);
/* CLOCK_MONOTONIC in microseconds (the timers' clock). */
uint64_t loop_now_usec(void);
