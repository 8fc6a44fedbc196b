/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "spawn.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Children get this PATH and nothing else unless the caller passes env. */
static const char *const spawn_clean_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	NULL,
};

/* struct clone_args of <linux/sched.h> (kernel 5.3+), without its header,
 * whose CLONE_* macros clash with glibc's <sched.h>. */
struct spawn_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
};

static int safe_close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
	return -1;
}

static pid_t syscall_clone3(struct spawn_clone_args *args)
{
	return (pid_t)syscall(SYS_clone3, args, sizeof(*args));
}

static int syscall_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int syscall_pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static int syscall_close_range(unsigned first, unsigned last, unsigned flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}

/* The steps of the child, in order; the parent turns one into a message. */
enum spawn_step {
	STEP_PDEATHSIG,
	STEP_SIGNALS,
	STEP_FDS,
	STEP_SETSID,
	STEP_AFFINITY,
	STEP_RLIMIT,
	STEP_GROUPS,
	STEP_CAPS,
	STEP_SETID,
	STEP_NNP,
	STEP_EXEC,
};

/* What a failed child writes to the error pipe before _exit(127). */
struct spawn_error {
	int step;
	int err;
	int detail; /* libcap-ng's step code for STEP_CAPS */
};

_Noreturn static void child_fail(int errfd, enum spawn_step step, int err, int detail)
{
	struct spawn_error e = { .step = step, .err = err > 0 ? err : EIO, .detail = detail };

	/* Nothing to do if this fails: the parent then sees EOF and status 127. */
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

/*
 * Puts the handed-over fds and stdio at their numbers and leaves every other
 * fd >= 3 to close on exec. Sources are first moved above every target, so a
 * source that sits on another entry's target number (the log on 3, the
 * socket on 1, ...) is never overwritten before it has been copied.
 */
static int child_setup_fds(const struct spawn_opts *o, int stdin_fd, int *errfd)
{
	int stdio_src[3] = { stdin_fd, o->stdout_fd, o->stderr_fd };
	int moved[3 + SPAWN_FDS_MAX];
	int top = 3;
	int fd;

	for (size_t i = 0; i < o->n_fds; i++)
		top = MAX(top, o->fds[i].target_fd + 1);

	fd = fcntl(*errfd, F_DUPFD_CLOEXEC, top);
	if (fd < 0)
		return -errno;
	*errfd = fd;

	for (size_t i = 0; i < 3; i++) {
		moved[i] = -1;
		if (stdio_src[i] < 0)
			continue;
		moved[i] = fcntl(stdio_src[i], F_DUPFD_CLOEXEC, top);
		if (moved[i] < 0)
			return -errno;
	}
	for (size_t i = 0; i < o->n_fds; i++) {
		moved[3 + i] = fcntl(o->fds[i].src_fd, F_DUPFD_CLOEXEC, top);
		if (moved[3 + i] < 0)
			return -errno;
	}

	/* dup2() clears FD_CLOEXEC on the new fd: exactly these survive exec. */
	for (int i = 0; i < 3; i++)
		if (moved[i] >= 0 && dup2(moved[i], i) < 0)
			return -errno;
	for (size_t i = 0; i < o->n_fds; i++)
		if (dup2(moved[3 + i], o->fds[i].target_fd) < 0)
			return -errno;

	/*
	 * Everything else >= 3 closes on exec: marking instead of closing keeps
	 * the error pipe open until execve() succeeds. close_range() needs
	 * Linux 5.11 for CLOSE_RANGE_CLOEXEC; without it, walk up to the fd
	 * limit. FIXME: drop the fallback once the baseline kernel is >= 5.11.
	 */
	if (syscall_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		struct rlimit rl;
		int max = 65536;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			max = (int)MIN(rl.rlim_cur, (rlim_t)(1 << 20));
		for (fd = 3; fd < max; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	for (size_t i = 0; i < o->n_fds; i++)
		if (fcntl(o->fds[i].target_fd, F_SETFD, 0) < 0)
			return -errno;
	return 0;
}

/*
 * The child between clone and exec. Only async-signal-safe calls, except
 * libcap-ng's (see spawn.h: single-threaded parent). Never returns.
 */
_Noreturn static void child_run(const struct spawn_opts *o, const char *path, char *const *env,
				pid_t parent, int stdin_fd, int errfd)
{
	int sig = o->pdeathsig > 0 ? o->pdeathsig : SIGKILL;
	bool change_id = o->uid != (uid_t)-1 || o->gid != (gid_t)-1;
	sigset_t none;
	int r;

	/*
	 * 1. Die with gamevm: a QEMU that outlives its supervisor would hold
	 * the GPU with nobody to stop it. If gamevm died before the prctl, we
	 * were reparented already and must not go on.
	 */
	if (prctl(PR_SET_PDEATHSIG, sig) < 0)
		child_fail(errfd, STEP_PDEATHSIG, errno, 0);
	if (getppid() != parent)
		_exit(127);

	/*
	 * 2. gamevm blocks SIGTERM/SIGINT/SIGCHLD for its signalfd and may have
	 * handlers: exec keeps the mask and ignored signals. Dispositions go
	 * first so nothing unblocked lands in an inherited handler.
	 */
	for (int s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		/* glibc reserves 32 and 33 (EINVAL): nothing to reset there. */
		(void)sigaction(s, &(struct sigaction){ .sa_handler = SIG_DFL }, NULL);
	}
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		child_fail(errfd, STEP_SIGNALS, errno, 0);

	/* 3. fds: stdio and the handed-over list; nothing else leaks to the child. */
	r = child_setup_fds(o, stdin_fd, &errfd);
	if (r < 0)
		child_fail(errfd, STEP_FDS, -r, 0);

	/*
	 * 4. Own session and process group: a Ctrl-C on gamevm's terminal goes
	 * to gamevm only, which stops the guest gracefully, rather than killing
	 * QEMU under it.
	 */
	if (setsid() < 0)
		child_fail(errfd, STEP_SETSID, errno, 0);

	/*
	 * 4b. The CPUs it starts on (QEMU: the housekeeping ones). Threads
	 * inherit their creator's affinity, so whatever QEMU starts later lands
	 * there too without gamevm polling for it; its vCPU threads are then
	 * pinned one by one over QMP.
	 */
	if (o->cpus && sched_setaffinity(0, o->cpus_size, o->cpus) < 0)
		child_fail(errfd, STEP_AFFINITY, errno, 0);

	/*
	 * 5. Raising RLIMIT_MEMLOCK above the hard limit needs
	 * CAP_SYS_RESOURCE, so before the capabilities go. VFIO pins all of
	 * guest RAM.
	 */
	if (o->rlimit_memlock > 0) {
		struct rlimit rl = { .rlim_cur = o->rlimit_memlock, .rlim_max = o->rlimit_memlock };

		if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
			child_fail(errfd, STEP_RLIMIT, errno, 0);
	}

	/*
	 * 6. Supplementary groups (kvm) are set here, as root, because
	 * capng_change_id() leaves us without CAP_SETGID. It is then called
	 * without CAPNG_DROP_SUPP_GRP, which would setgroups(0) after this and
	 * drop them again. With an empty list this drops root's groups, which
	 * is what CAPNG_DROP_SUPP_GRP would have done.
	 */
	if (change_id && setgroups(o->n_groups, o->groups) < 0)
		child_fail(errfd, STEP_GROUPS, errno, 0);

	/*
	 * 7. Capabilities and ids. capng_change_id() keeps CAP_SETUID/SETGID/
	 * SETPCAP just long enough (PR_SET_KEEPCAPS) to clear the bounding set,
	 * setresgid and setresuid, then applies the empty set we cleared:
	 * nothing is left in any set, and exec cannot regain anything since
	 * the bounding set is empty. libcap-ng caches the thread id of the
	 * first caller; after clone3 that may be the parent's (no atfork
	 * handler runs), hence capng_setpid().
	 */
	if (o->drop_caps) {
		capng_clear(CAPNG_SELECT_BOTH);
		capng_setpid((int)getpid());
		errno = 0;
		if (change_id)
			r = capng_change_id(o->uid == (uid_t)-1 ? -1 : (int)o->uid,
					    o->gid == (gid_t)-1 ? -1 : (int)o->gid,
					    CAPNG_CLEAR_BOUNDING);
		else
			r = capng_apply(CAPNG_SELECT_BOTH);
		if (r != 0)
			child_fail(errfd, STEP_CAPS, errno ? errno : EPERM, r);
	} else if (change_id) {
		if (o->gid != (gid_t)-1 && setresgid(o->gid, o->gid, o->gid) < 0)
			child_fail(errfd, STEP_SETID, errno, 0);
		if (o->uid != (uid_t)-1 && setresuid(o->uid, o->uid, o->uid) < 0)
			child_fail(errfd, STEP_SETID, errno, 0);
	}

	/*
	 * 8. A change of effective uid or gid clears the parent-death signal
	 * (prctl(2)), so set it again, and check again that gamevm is alive.
	 */
	if (change_id) {
		if (prctl(PR_SET_PDEATHSIG, sig) < 0)
			child_fail(errfd, STEP_PDEATHSIG, errno, 0);
		if (getppid() != parent)
			_exit(127);
	}

	/* 9. No setuid binary or file capability can give anything back. */
	if (o->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(errfd, STEP_NNP, errno, 0);

	/*
	 * 10. TODO: a seccomp filter compiled in the parent (libseccomp,
	 * seccomp_export_bpf into a memfd) would be loaded here, as the last
	 * step before execve, and must allow execve. For now QEMU confines
	 * itself with -sandbox on,... and swtpm runs without a filter.
	 */

	execve(path, o->argv, env);
	child_fail(errfd, STEP_EXEC, errno, 0);
}

static const char *capng_step_to_string(int code)
{
	switch (code) {
	case -1:
		return "not initialised";
	case -2:
		return "PR_SET_KEEPCAPS failed";
	case -3:
		return "setting the temporary capabilities failed";
	case -4:
		return "setresgid failed";
	case -5:
		return "setgroups failed";
	case -6:
		return "setresuid failed";
	case -7:
		return "clearing PR_SET_KEEPCAPS failed";
	case -8:
		return "clearing the bounding set failed";
	case -9:
		return "applying the empty capability set failed";
	case -10:
		return "getpwuid failed";
	default:
		return "failed";
	}
}

static char *spawn_error_message(const struct spawn_opts *o, const char *path,
				 const struct spawn_error *e)
{
	char user[64];
	char *s = NULL;
	int r;

	if (o->user_name)
		snprintf(user, sizeof(user), "user '%s'", o->user_name);
	else
		snprintf(user, sizeof(user), "uid %d", o->uid == (uid_t)-1 ? -1 : (int)o->uid);

	switch (e->step) {
	case STEP_PDEATHSIG:
		r = asprintf(&s, "setting the parent death signal");
		break;
	case STEP_SIGNALS:
		r = asprintf(&s, "resetting the signal mask");
		break;
	case STEP_FDS:
		r = asprintf(&s, "passing file descriptors");
		break;
	case STEP_SETSID:
		r = asprintf(&s, "creating a session");
		break;
	case STEP_AFFINITY:
		r = asprintf(&s, "setting the CPU affinity");
		break;
	case STEP_RLIMIT:
		r = asprintf(&s, "raising RLIMIT_MEMLOCK to %" PRIu64 " bytes", o->rlimit_memlock);
		break;
	case STEP_GROUPS:
		r = asprintf(&s, "setting the supplementary groups for %s", user);
		break;
	case STEP_CAPS:
		r = asprintf(&s, "dropping capabilities for %s (libcap-ng: %s)", user,
			     capng_step_to_string(e->detail));
		break;
	case STEP_SETID:
		r = asprintf(&s, "changing to %s", user);
		break;
	case STEP_NNP:
		r = asprintf(&s, "setting no_new_privs");
		break;
	case STEP_EXEC:
		r = asprintf(&s, "executing '%s'", path);
		break;
	default:
		r = asprintf(&s, "starting '%s' (unknown step %d)", path, e->step);
		break;
	}
	return r < 0 ? NULL : s;
}

/* Hands msg (owned) to *error and returns -err; errno is not trusted after strdup. */
static int spawn_fail(char **error, char *msg, int err)
{
	if (error)
		*error = msg;
	else
		free(msg);
	return -(err > 0 ? err : EIO);
}

int spawn_child(const struct spawn_opts *o, const char *name, struct child *ret, char **error)
{
	_cleanup_close_ int err_rd = -1, err_wr = -1, null_rd = -1;
	_cleanup_(child_kill_and_reap) struct child c = CHILD_NULL;
	char *const *env = o->env ? o->env : (char *const *)spawn_clean_env;
	const char *path;
	struct spawn_error e;
	pid_t parent = getpid();
	ssize_t n;
	int fds[2];
	int pidfd = -1;
	pid_t pid;

	if (!o->argv || !o->argv[0])
		return spawn_fail(error, strdup("no command to run"), EINVAL);
	path = o->path ? o->path : o->argv[0];
	if (o->n_fds > SPAWN_FDS_MAX)
		return spawn_fail(error, strdup("too many file descriptors to hand over"), EINVAL);
	for (size_t i = 0; i < o->n_fds; i++)
		if (o->fds[i].target_fd < 3 || o->fds[i].src_fd < 0)
			return spawn_fail(error, strdup("invalid file descriptor to hand over"),
					  EINVAL);

	if (pipe2(fds, O_CLOEXEC) < 0)
		return spawn_fail(error, strdup("creating the error pipe"), errno);
	err_rd = fds[0];
	err_wr = fds[1];

	/* An empty pipe reads EOF at once, like /dev/null, without opening /dev. */
	if (o->stdin_fd < 0) {
		if (pipe2(fds, O_CLOEXEC) < 0)
			return spawn_fail(error, strdup("creating the stdin pipe"), errno);
		null_rd = fds[0];
		close(fds[1]);
	}

	/*
	 * clone3(CLONE_PIDFD) gives the pidfd atomically with the child, so it
	 * can never name a recycled pid. Without clone3 (ENOSYS, or a seccomp
	 * filter returning EPERM), fork() and pidfd_open() right after: the
	 * child cannot have been reaped in between since we are its parent.
	 */
	struct spawn_clone_args args = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
	};
	pid = syscall_clone3(&args);
	if (pid < 0 && (errno == ENOSYS || errno == EPERM || errno == EINVAL)) {
		pidfd = -1;
		pid = fork();
		if (pid > 0) {
			pidfd = syscall_pidfd_open(pid);
			/* FIXME: drop once the baseline kernel is >= 5.3 (no pidfd: pid only). */
			if (pidfd < 0 && errno != ENOSYS) {
				int err = errno;

				c = (struct child){ .pid = pid, .pidfd = -1, .name = name };
				return spawn_fail(error, strdup("opening a pidfd for the child"),
						  err);
			}
		}
	}
	if (pid < 0)
		return spawn_fail(error, strdup("creating the child process"), errno);
	if (pid == 0)
		child_run(o, path, env, parent, o->stdin_fd >= 0 ? o->stdin_fd : null_rd, err_wr);

	c = (struct child){ .pid = pid, .pidfd = pidfd, .name = name };
	err_wr = safe_close_fd(err_wr);

	/* EOF: the write end closed on a successful exec. */
	n = RETRY_EINTR(read(err_rd, &e, sizeof(e)));
	if (n < 0)
		return spawn_fail(error, strdup("reading the child's setup result"), errno);
	if (n == 0) {
		*ret = TAKE_CHILD(c);
		return 0;
	}
	if (n != (ssize_t)sizeof(e))
		return spawn_fail(error, strdup("reading the child's setup result (short read)"),
				  EIO);
	/* Reap it now so the caller is not left with a zombie. */
	(void)child_reap(&c, NULL);
	return spawn_fail(error, spawn_error_message(o, path, &e), e.err);
}

int child_signal(const struct child *c, int sig)
{
	if (!c || c->pid <= 0)
		return -ESRCH;
	if (c->pidfd >= 0) {
		if (syscall_pidfd_send_signal(c->pidfd, sig) == 0)
			return 0;
		if (errno != ENOSYS)
			return -errno;
	}
	return kill(c->pid, sig) < 0 ? -errno : 0;
}

static void child_forget(struct child *c)
{
	c->pidfd = safe_close_fd(c->pidfd);
	c->pid = 0;
}

/* waitid() reports in a siginfo; callers want waitpid()'s status word. */
static int status_from_siginfo(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED:
		return W_EXITCODE(si->si_status & 0xff, 0);
	case CLD_DUMPED:
		return W_EXITCODE(0, si->si_status) | 0x80;
	default: /* CLD_KILLED */
		return W_EXITCODE(0, si->si_status);
	}
}

static int child_reap_flags(struct child *c, int flags, int *ret_status)
{
	siginfo_t si = { 0 };
	int status;

	if (!c || c->pid <= 0)
		return -ECHILD;

	if (c->pidfd >= 0) {
		if (RETRY_EINTR(waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si, WEXITED | flags)) ==
		    0) {
			if (si.si_pid == 0)
				return -EAGAIN;
			status = status_from_siginfo(&si);
			goto done;
		}
		/* FIXME: drop once the baseline kernel is >= 5.4 (P_PIDFD). */
		if (errno != EINVAL)
			return -errno;
	}

	pid_t p = RETRY_EINTR(waitpid(c->pid, &status, flags));
	if (p < 0)
		return -errno;
	if (p == 0)
		return -EAGAIN;
done:
	child_forget(c);
	if (ret_status)
		*ret_status = status;
	return 0;
}

int child_reap(struct child *c, int *ret_status)
{
	return child_reap_flags(c, 0, ret_status);
}

int child_try_reap(struct child *c, int *ret_status)
{
	return child_reap_flags(c, WNOHANG, ret_status);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int child_wait(struct child *c, int timeout_ms, int *ret_status)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
	int r;

	if (!c || c->pid <= 0)
		return -ECHILD;
	if (timeout_ms < 0)
		return child_reap(c, ret_status);

	for (;;) {
		int64_t left = deadline - now_ms();

		r = child_try_reap(c, ret_status);
		if (r != -EAGAIN)
			return r;
		if (left <= 0)
			return -ETIMEDOUT;
		if (c->pidfd >= 0) {
			struct pollfd p = { .fd = c->pidfd, .events = POLLIN };

			if (poll(&p, 1, (int)MIN(left, (int64_t)INT32_MAX)) < 0 && errno != EINTR)
				return -errno;
		} else {
			/* No pidfd to poll: check again every 10 ms. */
			(void)nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
		}
	}
}

void child_kill_and_reap(struct child *c)
{
	int saved = errno;

	if (c && c->pid > 0) {
		(void)child_signal(c, SIGKILL);
		if (child_reap(c, NULL) < 0)
			child_forget(c);
	}
	errno = saved;
}

int child_exit_code(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 255;
}

const char *child_status_to_string(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "was killed by signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, size, "ended with wait status 0x%x", (unsigned)status);
	return buf;
}

int spawn_find_binary(int root_fd, const char *name, char **ret)
{
	static const char *const dirs[] = {
		"usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin",
	};
	char rel[4096];
	char *s;

	if (isempty(name))
		return -EINVAL;
	if (strchr(name, '/')) {
		const char *p = name;

		while (*p == '/')
			p++;
		if (faccessat(root_fd, p, X_OK, 0) < 0)
			return -errno;
		s = strdup(name);
		if (!s)
			return -ENOMEM;
		*ret = s;
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		if ((size_t)snprintf(rel, sizeof(rel), "%s/%s", dirs[i], name) >= sizeof(rel))
			return -ENAMETOOLONG;
		if (faccessat(root_fd, rel, X_OK, 0) < 0)
			continue;
		if (asprintf(&s, "/%s", rel) < 0)
			return -ENOMEM;
		*ret = s;
		return 0;
	}
	return -ENOENT;
}

int spawn_user_lookup(const char *name, struct spawn_user *ret)
{
	_cleanup_free_ char *buf = NULL, *copy = NULL;
	_cleanup_free_ gid_t *groups = NULL;
	struct passwd pw, *found = NULL;
	size_t size = 16384;
	int n = 32, r;

	if (isempty(name))
		return -EINVAL;
	for (;;) {
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		r = getpwnam_r(name, &pw, buf, size, &found);
		if (r != ERANGE || size >= (1 << 20))
			break;
		free(buf);
		buf = NULL;
		size *= 4;
	}
	if (r != 0)
		return -r;
	if (!found)
		return -ENOENT;

	/* getgrouplist() says how many it needs when the array is too small. */
	for (int tries = 0; tries < 4; tries++) {
		int want = n;

		free(groups);
		groups = calloc((size_t)n, sizeof(gid_t));
		if (!groups)
			return -ENOMEM;
		if (getgrouplist(name, pw.pw_gid, groups, &want) >= 0) {
			n = want;
			break;
		}
		if (want <= n || tries == 3)
			return -E2BIG;
		n = want;
	}
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	*ret = (struct spawn_user){ .name = TAKE_PTR(copy),
				    .uid = pw.pw_uid,
				    .gid = pw.pw_gid,
				    .groups = TAKE_PTR(groups),
				    .n_groups = (size_t)n };
	return 0;
}

void spawn_user_done(struct spawn_user *u)
{
	if (!u)
		return;
	free(u->name);
	free(u->groups);
	*u = (struct spawn_user){ 0 };
}
