/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm stop NAME [--timeout S]: asks the supervisor of a running VM to
 * stop it, and waits until it has. It never talks to QMP itself (QEMU
 * takes one QMP client, the supervisor): it sends the supervisor SIGTERM
 * with the timeout as the sigqueue() value, which the supervisor reads from
 * its signalfd, and runs the same stop sequence as for Ctrl-C.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "supervise.h"
#include "vm-dirs.h"

/* On top of the guest's timeout: quit, SIGKILL, swtpm, teardown. */
#define STOP_WAIT_SLACK_S (SUPERVISE_KILL_AFTER_S + 15)

int vm_open_running(const struct cli *cl, const char *name, int *ret_fd, pid_t *ret_pid)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -1;
	pid_t pid = 0;
	int r;

	if (!name_is_valid(name))
		return log_error_errno(
			-EINVAL, "'%s' is not a VM name (letters, digits, _ and -, at most %d).",
			name, NAME_MAX_LEN);
	if (asprintf(&dir, "%s/%s", cl->run_dir, name) < 0) {
		dir = NULL;
		return log_error_errno(-ENOMEM, "Out of memory.");
	}
	r = vm_run_dir_open(dir, &fd);
	if (r == -ENOENT)
		return log_error_errno(-ESRCH, "VM '%s' is not running.", name);
	if (r < 0)
		return log_error_errno(r, "Failed to open '%s': %m", dir);
	r = vm_lock_probe(fd, &pid);
	if (r < 0)
		return log_error_errno(r, "Failed to check the lock in '%s': %m", dir);
	if (r == 0)
		return log_error_errno(-ESRCH, "VM '%s' is not running.", name);
	*ret_fd = TAKE_FD(fd);
	if (ret_pid)
		*ret_pid = pid;
	return 0;
}

static int pidfd_open_pid(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int verb_stop(const struct cli *cl)
{
	const char *name = cl->args[0];
	_cleanup_close_ int run_fd = -1, pidfd = -1;
	/* Without --timeout the supervisor uses its own (start --timeout, else the default). */
	unsigned timeout = cl->timeout_s ? cl->timeout_s : SUPERVISE_STOP_TIMEOUT_DEFAULT_S;
	siginfo_t si = { 0 };
	struct pollfd pfd;
	struct timespec t0, t1;
	pid_t pid, again;
	int r;

	r = vm_open_running(cl, name, &run_fd, &pid);
	if (r < 0)
		return r;
	if (pid <= 0)
		return log_error_errno(
			-EAGAIN,
			"VM '%s' is starting and has not written %s/%s/%s yet; try again in a moment.",
			name, cl->run_dir, name, VM_STATUS_FILE);

	/* Hold the process first, then check it still is the lock holder: no pid reuse race. */
	pidfd = pidfd_open_pid(pid);
	if (pidfd < 0) {
		if (errno == ESRCH)
			return log_error_errno(-ESRCH, "VM '%s' is not running.", name);
		return log_error_errno(NEG_ERRNO(), "Failed to open gamevm pid %d: %m", (int)pid);
	}
	r = vm_lock_probe(run_fd, &again);
	if (r <= 0 || again != pid)
		return log_error_errno(-ESRCH, "VM '%s' is not running.", name);

	si.si_signo = SIGTERM;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = cl->timeout_s ? (int)cl->timeout_s : 0;
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, &si, 0) < 0)
		return log_error_errno(NEG_ERRNO(), "Failed to signal gamevm (pid %d): %m",
				       (int)pid);
	if (cl->timeout_s)
		log_info("Stopping VM '%s' (gamevm pid %d, guest timeout %u s)...", name, (int)pid,
			 timeout);
	else
		log_info("Stopping VM '%s' (gamevm pid %d, its stop timeout)...", name, (int)pid);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pfd = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	for (;;) {
		long left;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = (long)(timeout + STOP_WAIT_SLACK_S) * 1000 -
		       ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return log_error_errno(
				-ETIMEDOUT,
				"gamevm (pid %d) has not finished stopping VM '%s' after %u s; it goes on, see its log.",
				(int)pid, name, timeout + STOP_WAIT_SLACK_S);
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return log_error_errno(NEG_ERRNO(),
					       "Failed to wait for gamevm (pid %d): %m", (int)pid);
		if (r > 0)
			break;
	}
	printf("VM '%s' stopped.\n", name);
	return 0;
}
