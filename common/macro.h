/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small macros used everywhere: cleanup attributes, ownership transfer,
 * array sizes, EINTR retry. Modeled on systemd's cleanup-fundamental.h and
 * bubblewrap's utils.h.
 *
 * Usage:
 *   _cleanup_free_ char *s = strdup("x");
 *   _cleanup_close_ int fd = openat(...);
 *   return TAKE_FD(fd);        ownership leaves the scope, no close
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define _unused_	 __attribute__((unused))
#define _printf_(a, b)	 __attribute__((format(printf, a, b)))
#define _must_check_	 __attribute__((warn_unused_result))
#define _cleanup_(f)	 __attribute__((cleanup(f)))
#define _cleanup_free_	 _cleanup_(freep)
#define _cleanup_close_	 _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p_ = (p);                                                           \
		(p) = NULL;                                                                        \
		_p_;                                                                               \
	})

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd_ = (fd);                                                                   \
		(fd) = -1;                                                                         \
		_fd_;                                                                              \
	})

#define RETRY_EINTR(expr)                                                                          \
	({                                                                                         \
		__typeof__(expr) _r_;                                                              \
		do                                                                                 \
			_r_ = (expr);                                                              \
		while (_r_ < 0 && errno == EINTR);                                                 \
		_r_;                                                                               \
	})

/* Negative errno from a libc call that returns -1 and sets errno. */
#define NEG_ERRNO() (errno > 0 ? -errno : -EIO)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define streq(a, b) (strcmp((a), (b)) == 0)

/* streq() that takes NULL: equal when both are NULL or both hold the same string. */
static inline bool streq_ptr(const char *a, const char *b)
{
	return a && b ? streq(a, b) : a == b;
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

#include <stdio.h>
static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline const char *strna(const char *s)
{
	return s ? s : "n/a";
}

static inline bool isempty(const char *s)
{
	return !s || !*s;
}
