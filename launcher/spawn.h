/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Launching a child (QEMU, swtpm, swtpm_setup) in one fixed sequence, and
 * holding it by pidfd until it is reaped.
 *
 * Usage:
 *   _cleanup_(child_kill_and_reap) struct child qemu = CHILD_NULL;
 *   _cleanup_free_ char *why = NULL;
 *   struct spawn_fd fds[] = { { .src_fd = qmp_listen_fd, .target_fd = 3 } };
 *   struct spawn_opts o = SPAWN_OPTS_INIT;
 *   o.argv = argv; o.uid = uid; o.gid = gid; o.user_name = "gamevm";
 *   o.fds = fds; o.n_fds = 1; o.stdout_fd = o.stderr_fd = log_fd;
 *   r = spawn_child(&o, "qemu", &qemu, &why);
 *   if (r < 0)
 *           return log_error_errno(r, "Failed to start QEMU: %s: %m", why);
 *   ...                       any error return from here kills and reaps it
 *   handed = TAKE_CHILD(qemu); ownership passes to the supervisor
 *
 * The child runs, in order (see spawn.c for why each step is where it is):
 *   PR_SET_PDEATHSIG, parent check; signal mask and dispositions reset;
 *   fds handed over, everything else closed; setsid; rlimits; supplementary
 *   groups, then uid/gid with every capability (and the bounding set)
 *   cleared by libcap-ng; PDEATHSIG again (a uid change clears it);
 *   PR_SET_NO_NEW_PRIVS; (seccomp: not yet); execve.
 * A failure in any step before execve comes back to the parent as
 * {step, errno} over a CLOEXEC pipe; spawn_child() then returns -errno and a
 * message naming the step ("dropping capabilities for user 'gamevm'",
 * "executing '/usr/bin/qemu-system-x86_64'").
 *
 * Must be called from a single-threaded process: the child calls into
 * libcap-ng, which uses stdio (malloc) to read the bounding set.
 */
#pragma once

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPAWN_FDS_MAX 160 /* the QMP socket and two per disk image */

struct spawn_fd {
	int src_fd;    /* an fd of the parent (CLOEXEC or not, either is fine) */
	int target_fd; /* the number the child sees it under, >= 3 */
};

struct spawn_opts {
	const char *path;	    /* file to execute; NULL = argv[0] (no PATH lookup) */
	char *const *argv;	    /* argv[0] is what the child sees as its name */
	char *const *env;	    /* NULL = a minimal clean environment: PATH only */
	const char *user_name;	    /* for messages only ("gamevm"), may be NULL */
	uid_t uid;		    /* (uid_t)-1 = keep the parent's */
	gid_t gid;		    /* (gid_t)-1 = keep the parent's */
	const gid_t *groups;	    /* supplementary groups (e.g. kvm); set when uid or */
	size_t n_groups;	    /* gid changes: n_groups = 0 drops root's groups */
	bool drop_caps;		    /* clear every capability and the bounding set */
	bool no_new_privs;	    /* PR_SET_NO_NEW_PRIVS before exec */
	const struct spawn_fd *fds; /* handed over (<= SPAWN_FDS_MAX); others closed */
	size_t n_fds;
	int stdin_fd;		  /* -1 = an empty pipe (reads EOF at once) */
	int stdout_fd, stderr_fd; /* -1 = inherit the parent's 1 / 2 */
	uint64_t rlimit_memlock;  /* bytes for RLIMIT_MEMLOCK, 0 = leave as is */
	int pdeathsig;		  /* sent to the child when gamevm dies; 0 = SIGKILL */
	/*
	 * The CPUs the child starts on (sched_setaffinity before exec); every
	 * thread it creates inherits them. NULL: gamevm's own. CPU_ALLOC'd or
	 * a cpu_set_t, cpus_size bytes.
	 */
	const cpu_set_t *cpus;
	size_t cpus_size;
};

#define SPAWN_OPTS_INIT                                                                            \
	{                                                                                          \
		.uid = (uid_t)-1, .gid = (gid_t)-1, .drop_caps = true, .no_new_privs = true,       \
		.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1                                   \
	}

struct child {
	pid_t pid;	  /* 0 = none (reaped or never started) */
	int pidfd;	  /* -1 when the kernel has no pidfds */
	const char *name; /* "qemu", "swtpm": for messages, not owned */
};

#define CHILD_NULL                                                                                 \
	{                                                                                          \
		.pid = 0, .pidfd = -1, .name = NULL                                                \
	}

#define TAKE_CHILD(c)                                                                              \
	({                                                                                         \
		struct child _c_ = (c);                                                            \
		(c) = (struct child)CHILD_NULL;                                                    \
		_c_;                                                                               \
	})

/*
 * Starts o->argv as described above. name is stored in ret->name.
 * Returns 0 once the child has exec'd (*ret set), or negative errno; then
 * *error (if non-NULL) gets a malloc'd message naming the failed step,
 * without the errno text (log it with %m), and no child is left behind.
 */
int spawn_child(const struct spawn_opts *o, const char *name, struct child *ret, char **error);

/* Sends sig through the pidfd (or kill() without one). -ESRCH once reaped. */
int child_signal(const struct child *c, int sig);

/*
 * Waits for the child to exit and reaps it: waitid(P_PIDFD), falling back
 * to waitpid. *ret_status (if non-NULL) gets a waitpid(2)-style status
 * (WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG work on it). Closes the pidfd
 * and sets c->pid = 0. -ECHILD when there is no child.
 */
int child_reap(struct child *c, int *ret_status);
/* Same without blocking: -EAGAIN while the child still runs. */
int child_try_reap(struct child *c, int *ret_status);
/*
 * Waits up to timeout_ms (< 0: forever) for the child to exit, then reaps
 * it. -ETIMEDOUT when it is still running (it is left running).
 */
int child_wait(struct child *c, int timeout_ms, int *ret_status);

/* SIGKILL and reap; for _cleanup_. No-op on CHILD_NULL. */
void child_kill_and_reap(struct child *c);

/* The user a child runs as, resolved once by name (NSS: /etc/passwd, ...). */
struct spawn_user {
	char *name;
	uid_t uid;
	gid_t gid;     /* primary group */
	gid_t *groups; /* every group the user is in, the primary one included */
	size_t n_groups;
};

/*
 * Looks up name (getpwnam_r + getgrouplist). -ENOENT when there is no such
 * user: the caller says how to create it. ret->groups suits spawn_opts.
 */
int spawn_user_lookup(const char *name, struct spawn_user *ret);
void spawn_user_done(struct spawn_user *u);

/*
 * Finds name in the standard directories (usr/local/sbin, usr/local/bin,
 * usr/sbin, usr/bin, sbin, bin) inside root_fd, for children run with the
 * clean environment. An absolute name is checked as is. *ret: the path as
 * the host sees it ("/usr/bin/swtpm"). -ENOENT when not found.
 */
int spawn_find_binary(int root_fd, const char *name, char **ret);

/* 128 + signal for a child killed by a signal, else its exit status. */
int child_exit_code(int status);
/* "exited with status 3" / "was killed by signal 9 (Killed)" into buf. */
const char *child_status_to_string(int status, char *buf, size_t size);
