/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deep C-states off while the VM runs, through the PM QoS interface: a
 * process that holds /dev/cpu_dma_latency open with a 0 s32 written to it
 * keeps every CPU out of idle states with any exit latency, and the
 * request ends when the file is closed (Documentation/power/pm_qos_interface.rst).
 * Nothing changes on the host beyond the fd's life, so nothing is
 * journaled: if gamevm dies, the kernel closes the fd and the request ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "macro.h"
#include "tuning.h"

int tuning_pmqos_hold(const struct host_root *h, int *ret_fd, struct plan_diags *d)
{
	_cleanup_close_ int fd = -1;
	int32_t zero = 0;
	char where[512];
	ssize_t n;
	int r = 0;

	host_root_path(h, "dev", "cpu_dma_latency", where, sizeof(where));
	*ret_fd = -1;
	if (h->dev_fd < 0)
		r = -ENOENT;
	else if ((fd = openat(h->dev_fd, "cpu_dma_latency", O_WRONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		r = NEG_ERRNO();
	if (fd < 0 && tuning_err_is_skip(r))
		return tuning_skip(
			d, "cstates", where, r,
			"the kernel offers no PM QoS device; deep C-states stay allowed");
	if (fd < 0)
		return prepare_diag(d, LOG_WARNING, "cstates: cannot open '%s': %s", where,
				    strerror(-r));
	/* The holder is the supervisor: keep the fd clear of the std streams it may redirect. */
	if (fd < 3) {
		int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);

		if (nfd < 0)
			return NEG_ERRNO();
		closep(&fd);
		fd = nfd;
	}
	n = RETRY_EINTR(write(fd, &zero, sizeof(zero)));
	if (n != (ssize_t)sizeof(zero)) {
		r = n < 0 ? NEG_ERRNO() : -EIO;
		return prepare_diag(d, LOG_WARNING, "cstates: cannot write 0 to '%s': %s", where,
				    strerror(-r));
	}
	r = prepare_diag(d, LOG_INFO,
			 "cstates: deep C-states off while the VM runs ('%s' held open at 0 us)",
			 where);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}
