/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the lab's small driver programs (prep-tool, tune-tool): they
 * run gamevm's host-preparation code on the lab's real kernel and print
 * its diagnostics in a form the guest-side scripts grep.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <syslog.h>

#include "plan.h"

/* "error: ...", "warning: ...", "notice: ...", "info: ...", one per line; frees d. */
static inline void lab_print_diags(struct plan_diags *d)
{
	static const char *const names[] = { [LOG_ERR] = "error",
					     [LOG_WARNING] = "warning",
					     [LOG_NOTICE] = "notice",
					     [LOG_INFO] = "info" };

	for (size_t i = 0; i < d->n; i++) {
		int l = d->v[i].level;

		printf("%s: %s\n", l >= LOG_ERR && l <= LOG_INFO ? names[l] : "?", d->v[i].msg);
	}
	fflush(stdout);
	plan_diags_done(d);
}

/* The VM's lock as gamevm start holds it (an OFD lock on run_dir/lock). */
static inline int lab_lock_take(int run_fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = openat(run_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return -errno;
	return fd;
}
