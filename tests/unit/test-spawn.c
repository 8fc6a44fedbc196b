/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * launcher/spawn.c: the child launch sequence, run for real (as root, the
 * uid-changing tests drop to 'nobody'), and launcher/notify.c. The clone3
 * and pidfd fallbacks are exercised in a subprocess whose seccomp filter
 * makes those syscalls fail with ENOSYS.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "notify.h"
#include "spawn.h"

/* ---- helpers ------------------------------------------------------------------------ */

static void skip_unless_root(void)
{
	if (geteuid() != 0) {
		print_message("needs root, skipped\n");
		skip();
	}
}

static char *read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	assert_non_null(buf);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/*
 * Runs o with stdout captured (o->stdout_fd is replaced by a pipe), waits
 * for it, returns its output; *ret_status gets the wait status.
 */
static char *run_capture(struct spawn_opts *o, int *ret_status)
{
	struct child c = CHILD_NULL;
	_cleanup_free_ char *why = NULL;
	int p[2];
	char *out;
	int r;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	o->stdout_fd = p[1];
	r = spawn_child(o, "test", &c, &why);
	if (r < 0)
		print_message("spawn failed: %s: %s\n", strna(why), strerror(-r));
	assert_int_equal(r, 0);
	assert_true(c.pid > 0);
	close(p[1]);
	o->stdout_fd = -1;
	out = read_all(p[0]);
	close(p[0]);
	assert_int_equal(child_reap(&c, ret_status), 0);
	assert_int_equal(c.pid, 0);
	assert_int_equal(c.pidfd, -1);
	return out;
}

/* The value after "Key:" on its line of a /proc status text, trimmed. */
static char *status_field(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, klen) == 0 && l[klen] == ':') {
			const char *v = l + klen + 1;
			size_t n;

			v += strspn(v, " \t");
			n = strcspn(v, "\n");
			while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			return strndup(v, n);
		}
	}
	return NULL;
}

static void assert_field(const char *text, const char *key, const char *want)
{
	_cleanup_free_ char *v = status_field(text, key);

	if (!v || strcmp(v, want) != 0)
		print_message("%s: got '%s', want '%s'\n", key, strna(v), want);
	assert_non_null(v);
	assert_string_equal(v, want);
}

static uid_t nobody_uid(gid_t *ret_gid)
{
	struct passwd *pw = getpwnam("nobody");

	if (!pw)
		skip();
	*ret_gid = pw->pw_gid;
	return pw->pw_uid;
}

/* ---- exit statuses and errors ---------------------------------------------------------- */

static void test_exit_status(void **state)
{
	char *const argv_true[] = { (char *)"/bin/true", NULL };
	char *const argv_sh[] = { (char *)"/bin/sh", (char *)"-c", (char *)"exit 3", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	char buf[64];
	int status;

	o.drop_caps = false;
	o.argv = argv_true;
	free(run_capture(&o, &status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(child_exit_code(status), 0);

	o.argv = argv_sh;
	free(run_capture(&o, &status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	assert_int_equal(child_exit_code(status), 3);
	assert_string_equal(child_status_to_string(status, buf, sizeof(buf)),
			    "exited with status 3");
}

static void test_killed_status(void **state)
{
	char *const argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)"kill -TERM $$", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	char buf[64];
	int status;

	o.drop_caps = false;
	o.argv = argv;
	free(run_capture(&o, &status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	assert_int_equal(child_exit_code(status), 128 + SIGTERM);
	assert_non_null(
		strstr(child_status_to_string(status, buf, sizeof(buf)), "killed by signal 15"));
}

static void test_missing_binary(void **state)
{
	char *const argv[] = { (char *)"/nonexistent/qemu-system-x86_64", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	struct child c = CHILD_NULL;
	_cleanup_free_ char *why = NULL;
	int r;

	o.argv = argv;
	o.drop_caps = false;
	r = spawn_child(&o, "qemu", &c, &why);
	assert_int_equal(r, -ENOENT);
	assert_non_null(why);
	assert_string_equal(why, "executing '/nonexistent/qemu-system-x86_64'");
	/* Nothing is left: ret untouched, the failed child reaped. */
	assert_int_equal(c.pid, 0);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_not_executable(void **state)
{
	char path[] = "/tmp/gamevm-test-noexec-XXXXXX";
	int fd = mkstemp(path);
	char *const argv[] = { path, NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	struct child c = CHILD_NULL;
	_cleanup_free_ char *why = NULL;
	char want[128];
	int r;

	assert_true(fd >= 0);
	close(fd);
	o.argv = argv;
	o.drop_caps = false;
	/* As nobody so that root's permission override cannot apply. */
	if (geteuid() == 0)
		o.uid = nobody_uid(&o.gid);
	r = spawn_child(&o, "x", &c, &why);
	unlink(path);
	assert_int_equal(r, -EACCES);
	snprintf(want, sizeof(want), "executing '%s'", path);
	assert_string_equal(why, want);
}

static void test_bad_opts(void **state)
{
	char *const argv[] = { (char *)"/bin/true", NULL };
	struct spawn_fd fds[] = { { .src_fd = 0, .target_fd = 1 } };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	struct child c = CHILD_NULL;
	_cleanup_free_ char *why = NULL;

	assert_int_equal(spawn_child(&o, "x", &c, &why), -EINVAL); /* no argv */
	free(why);
	why = NULL;
	o.argv = argv;
	o.fds = fds; /* target 1 would replace stdout */
	o.n_fds = 1;
	assert_int_equal(spawn_child(&o, "x", &c, &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(c.pid, 0);
}

/* ---- credentials, capabilities, signals, session -------------------------------------- */

static void test_drop_to_nobody(void **state)
{
	char *const argv[] = { (char *)"/bin/cat", (char *)"/proc/self/status", NULL };
	gid_t groups[] = { 100 };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	_cleanup_free_ char *out = NULL, *pid = NULL, *sid = NULL;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int;
	sigset_t block, old_mask;
	char want[64];
	uid_t uid;
	gid_t gid;
	int status;

	skip_unless_root();
	uid = nobody_uid(&gid);

	/* What the supervisor has when it spawns: blocked and ignored signals. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGCHLD);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old_mask), 0);
	assert_int_equal(sigaction(SIGINT, &ign, &old_int), 0);

	o.argv = argv;
	o.uid = uid;
	o.gid = gid;
	o.groups = groups;
	o.n_groups = 1;
	o.user_name = "nobody";
	out = run_capture(&o, &status);

	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGINT, &old_int, NULL);

	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)uid, (unsigned)uid, (unsigned)uid,
		 (unsigned)uid);
	assert_field(out, "Uid", want);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)gid, (unsigned)gid, (unsigned)gid,
		 (unsigned)gid);
	assert_field(out, "Gid", want);
	assert_field(out, "Groups", "100");
	assert_field(out, "CapInh", "0000000000000000");
	assert_field(out, "CapPrm", "0000000000000000");
	assert_field(out, "CapEff", "0000000000000000");
	assert_field(out, "CapBnd", "0000000000000000");
	assert_field(out, "CapAmb", "0000000000000000");
	assert_field(out, "NoNewPrivs", "1");
	assert_field(out, "SigBlk", "0000000000000000");
	assert_field(out, "SigIgn", "0000000000000000");
	/* setsid(): the child leads its own session. */
	pid = status_field(out, "NSpid");
	sid = status_field(out, "NSsid");
	assert_non_null(pid);
	assert_non_null(sid);
	assert_string_equal(pid, sid);
}

/* Without a uid change, drop_caps alone still empties every set. */
static void test_drop_caps_as_root(void **state)
{
	char *const argv[] = { (char *)"/bin/cat", (char *)"/proc/self/status", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	_cleanup_free_ char *out = NULL;
	int status;

	skip_unless_root();
	o.argv = argv;
	out = run_capture(&o, &status);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_field(out, "CapEff", "0000000000000000");
	assert_field(out, "CapPrm", "0000000000000000");
	assert_field(out, "CapBnd", "0000000000000000");
	assert_field(out, "NoNewPrivs", "1");
}

static void test_rlimit_memlock(void **state)
{
	char *const argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)"ulimit -l; ulimit -H -l",
			       NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	_cleanup_free_ char *out = NULL, *why = NULL;
	struct child c = CHILD_NULL;
	struct rlimit rl;
	gid_t gid;
	int status, r;

	skip_unless_root();
	assert_int_equal(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	if (rl.rlim_max < (2 << 20) || rl.rlim_max == RLIM_INFINITY)
		skip();
	o.argv = argv;
	o.uid = nobody_uid(&gid);
	o.gid = gid;

	/* Within the hard limit: no privilege needed; both limits become the value. */
	o.rlimit_memlock = 1 << 20;
	out = run_capture(&o, &status);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_string_equal(out, "1024\n1024\n");
	free(out);
	out = NULL;

	/* Above it: needs CAP_SYS_RESOURCE, which some containers do not grant. */
	o.rlimit_memlock = 3ULL << 30;
	capng_get_caps_process();
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_RESOURCE)) {
		out = run_capture(&o, &status);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_string_equal(out, "3145728\n3145728\n");
	} else {
		r = spawn_child(&o, "sh", &c, &why);
		assert_int_equal(r, -EPERM);
		assert_string_equal(why, "raising RLIMIT_MEMLOCK to 3221225472 bytes");
		assert_int_equal(c.pid, 0);
	}
}

/* ---- fds ------------------------------------------------------------------------------ */

static ino_t fd_inode(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

/* The fds open in process pid as a sorted "0 1 2 3" string, and fd 3's inode. */
static void proc_fds(pid_t pid, char *buf, size_t size, unsigned long *ret_ino3,
		     unsigned long *ret_ino4)
{
	char path[64], link[128];
	int present[64] = { 0 };
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (fd >= 0 && fd < 64)
			present[fd] = 1;
		else
			present[63] = 1; /* anything high counts as a leak */
	}
	closedir(d);
	buf[0] = '\0';
	for (int i = 0; i < 64; i++)
		if (present[i])
			snprintf(buf + strlen(buf), size - strlen(buf), "%s%d", buf[0] ? " " : "",
				 i);
	*ret_ino3 = *ret_ino4 = 0;
	for (int i = 3; i <= 4; i++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, i);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			if (sscanf(link, "socket:[%lu]", i == 3 ? ret_ino3 : ret_ino4) != 1)
				sscanf(link, "pipe:[%lu]", i == 3 ? ret_ino3 : ret_ino4);
		}
	}
}

/*
 * Waits until the child (sleep) shows exactly the expected fd list: the
 * dynamic loader may hold a library open for a moment after exec.
 */
static void wait_fds(pid_t pid, const char *want, unsigned long *ino3, unsigned long *ino4)
{
	char got[256];

	for (int i = 0; i < 200; i++) {
		proc_fds(pid, got, sizeof(got), ino3, ino4);
		if (streq(got, want))
			return;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	print_message("child fds: '%s', want '%s'\n", got, want);
	fail();
}

static void test_fd_handover(void **state)
{
	char *const argv[] = { (char *)"/bin/sleep", (char *)"30", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	_cleanup_(child_kill_and_reap) struct child c = CHILD_NULL;
	_cleanup_free_ char *why = NULL;
	unsigned long ino3, ino4;
	int sp[2], leak;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	/* Not CLOEXEC: spawn must close it anyway. */
	leak = dup(sp[0]);
	assert_true(leak >= 0);

	struct spawn_fd fds[] = { { .src_fd = sp[1], .target_fd = 3 } };
	o.argv = argv;
	o.drop_caps = false;
	o.fds = fds;
	o.n_fds = 1;
	assert_int_equal(spawn_child(&o, "sleep", &c, &why), 0);
	assert_true(c.pidfd >= 0);

	wait_fds(c.pid, "0 1 2 3", &ino3, &ino4);
	assert_int_equal(ino3, (unsigned long)fd_inode(sp[1]));

	child_kill_and_reap(&c);
	close(leak);
	close(sp[0]);
	close(sp[1]);
}

/* Sources sitting on each other's targets (3 -> 4 and 4 -> 3) must not clobber. */
static void test_fd_swap(void **state)
{
	char *const argv[] = { (char *)"/bin/sleep", (char *)"30", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	_cleanup_(child_kill_and_reap) struct child c = CHILD_NULL;
	_cleanup_free_ char *why = NULL;
	unsigned long ino3, ino4, want3, want4;
	int a[2], b[2];
	int saved3, saved4;

	/* Park whatever holds 3 and 4 in this process, then put a at 3, b at 4. */
	saved3 = fcntl(3, F_DUPFD_CLOEXEC, 100);
	saved4 = fcntl(4, F_DUPFD_CLOEXEC, 100);
	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	for (int i = 0; i < 2; i++) {
		int ha = fcntl(a[i], F_DUPFD_CLOEXEC, 20), hb = fcntl(b[i], F_DUPFD_CLOEXEC, 20);

		close(a[i]);
		close(b[i]);
		a[i] = ha;
		b[i] = hb;
	}
	close(3);
	close(4);
	assert_int_equal(dup3(a[0], 3, O_CLOEXEC), 3);
	assert_int_equal(dup3(b[0], 4, O_CLOEXEC), 4);
	want3 = (unsigned long)fd_inode(b[0]);
	want4 = (unsigned long)fd_inode(a[0]);

	struct spawn_fd fds[] = { { .src_fd = 3, .target_fd = 4 },
				  { .src_fd = 4, .target_fd = 3 } };
	o.argv = argv;
	o.drop_caps = false;
	o.fds = fds;
	o.n_fds = 2;
	o.stderr_fd = 3; /* stdio sourced from a handed-over number, too */
	assert_int_equal(spawn_child(&o, "sleep", &c, &why), 0);
	wait_fds(c.pid, "0 1 2 3 4", &ino3, &ino4);
	assert_int_equal(ino3, want3);
	assert_int_equal(ino4, want4);
	child_kill_and_reap(&c);

	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	close(3);
	close(4);
	if (saved3 >= 0)
		dup3(saved3, 3, O_CLOEXEC), close(saved3);
	if (saved4 >= 0)
		dup3(saved4, 4, O_CLOEXEC), close(saved4);
}

static void test_stdin_reads_eof(void **state)
{
	char *const argv[] = { (char *)"/bin/cat", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	_cleanup_free_ char *out = NULL;
	int status;

	o.argv = argv;
	o.drop_caps = false;
	out = run_capture(&o, &status);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_string_equal(out, "");
}

static void test_clean_env(void **state)
{
	char *const argv[] = { (char *)"/usr/bin/env", NULL };
	char *const env[] = { (char *)"A=1", (char *)"B=two", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	_cleanup_free_ char *out = NULL, *out2 = NULL;
	int status;

	setenv("GAMEVM_TEST_SECRET", "x", 1);
	o.argv = argv;
	o.drop_caps = false;
	out = run_capture(&o, &status);
	assert_string_equal(out,
			    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
	o.env = env;
	out2 = run_capture(&o, &status);
	assert_string_equal(out2, "A=1\nB=two\n");
	unsetenv("GAMEVM_TEST_SECRET");
}

/* ---- reaping ---------------------------------------------------------------------------- */

static void test_kill_and_reap(void **state)
{
	char *const argv[] = { (char *)"/bin/sleep", (char *)"30", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	struct child c = CHILD_NULL;
	_cleanup_free_ char *why = NULL;
	char path[64];
	pid_t pid;
	int status;

	o.argv = argv;
	o.drop_caps = false;
	assert_int_equal(spawn_child(&o, "sleep", &c, &why), 0);
	pid = c.pid;
	assert_int_equal(child_try_reap(&c, &status), -EAGAIN);
	assert_int_equal(child_wait(&c, 50, &status), -ETIMEDOUT);
	assert_int_equal(c.pid, pid);

	child_kill_and_reap(&c);
	assert_int_equal(c.pid, 0);
	assert_int_equal(c.pidfd, -1);
	/* No zombie: the pid is gone from /proc and cannot be waited for. */
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	/* Idempotent, and harmless on a reaped child. */
	child_kill_and_reap(&c);
	assert_int_equal(child_signal(&c, SIGTERM), -ESRCH);
	assert_int_equal(child_reap(&c, NULL), -ECHILD);
}

static void test_cleanup_on_error_path(void **state)
{
	char *const argv[] = { (char *)"/bin/sleep", (char *)"30", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	pid_t pid;

	o.argv = argv;
	o.drop_caps = false;
	{
		_cleanup_(child_kill_and_reap) struct child c = CHILD_NULL;

		assert_int_equal(spawn_child(&o, "sleep", &c, NULL), 0);
		pid = c.pid;
	}
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

static void test_wait_signal(void **state)
{
	char *const argv[] = { (char *)"/bin/sleep", (char *)"30", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	_cleanup_(child_kill_and_reap) struct child c = CHILD_NULL;
	int status;

	o.argv = argv;
	o.drop_caps = false;
	assert_int_equal(spawn_child(&o, "sleep", &c, NULL), 0);
	assert_int_equal(child_signal(&c, SIGTERM), 0);
	assert_int_equal(child_wait(&c, 5000, &status), 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
}

/* ---- fallbacks: clone3 and pidfd_open failing with ENOSYS ------------------------------- */

static int fallback_child(bool no_pidfd)
{
	char *const argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)"exit 7", NULL };
	char *const argv_sleep[] = { (char *)"/bin/sleep", (char *)"30", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	struct child c = CHILD_NULL;
	scmp_filter_ctx ctx;
	pid_t pid;
	int status;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0)
		return 10;
	/* The no-pidfd variant also loses close_range(): fds are walked instead. */
	if (no_pidfd &&
	    (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(pidfd_open), 0) < 0 ||
	     seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(close_range), 0) < 0))
		return 11;
	if (seccomp_load(ctx) < 0)
		return 12;
	seccomp_release(ctx);

	o.argv = argv;
	o.drop_caps = false;
	if (spawn_child(&o, "sh", &c, NULL) < 0)
		return 13;
	if (no_pidfd != (c.pidfd < 0))
		return 14;
	if (child_reap(&c, &status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
		return 15;

	o.argv = argv_sleep;
	if (spawn_child(&o, "sleep", &c, NULL) < 0)
		return 16;
	pid = c.pid;
	if (child_wait(&c, 20, &status) != -ETIMEDOUT)
		return 17;
	child_kill_and_reap(&c);
	if (c.pid != 0 || kill(pid, 0) == 0)
		return 18;

	/* No fd leaks either way: a non-CLOEXEC fd at 10 must not reach ls. */
	char *const argv_ls[] = { (char *)"/bin/ls", (char *)"/proc/self/fd", NULL };
	char out[256];
	int p[2];
	ssize_t n;

	if (dup2(2, 10) != 10 || pipe2(p, O_CLOEXEC) < 0)
		return 19;
	o.argv = argv_ls;
	o.stdout_fd = p[1];
	if (spawn_child(&o, "ls", &c, NULL) < 0)
		return 20;
	close(p[1]);
	n = read(p[0], out, sizeof(out) - 1);
	if (n < 0 || child_reap(&c, &status) < 0)
		return 21;
	out[n] = '\0';
	/* 3 is the directory ls itself opened. */
	if (!streq(out, "0\n1\n2\n3\n"))
		return 22;
	return 0;
}

static void run_fallback(bool no_pidfd)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fallback_child(no_pidfd));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		print_message("fallback subprocess status 0x%x\n", (unsigned)status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_fallback_fork(void **state)
{
	run_fallback(false);
}

static void test_fallback_no_pidfd(void **state)
{
	run_fallback(true);
}

/* ---- spawn_find_binary ---------------------------------------------------------------- */

static void test_find_binary(void **state)
{
	_cleanup_close_ int root = open("/", O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *p = NULL, *q = NULL;

	assert_true(root >= 0);
	assert_int_equal(spawn_find_binary(root, "sh", &p), 0);
	assert_true(streq(p, "/usr/bin/sh") || streq(p, "/bin/sh"));
	assert_int_equal(spawn_find_binary(root, "/bin/sh", &q), 0);
	assert_string_equal(q, "/bin/sh");
	assert_int_equal(spawn_find_binary(root, "gamevm-no-such-binary", &p), -ENOENT);
}

static void test_user_lookup(void **state)
{
	_cleanup_(spawn_user_done) struct spawn_user u = { 0 };
	struct passwd *pw = getpwnam("nobody");
	bool primary = false;

	if (!pw)
		skip();
	assert_int_equal(spawn_user_lookup("nobody", &u), 0);
	assert_string_equal(u.name, "nobody");
	assert_int_equal(u.uid, pw->pw_uid);
	assert_int_equal(u.gid, pw->pw_gid);
	assert_true(u.n_groups >= 1);
	for (size_t i = 0; i < u.n_groups; i++)
		primary |= u.groups[i] == pw->pw_gid;
	assert_true(primary);
	assert_int_equal(spawn_user_lookup("gamevm-no-such-user", &u), -ENOENT);
	assert_string_equal(u.name, "nobody"); /* untouched on failure */
	assert_int_equal(spawn_user_lookup("", &u), -EINVAL);
}

/* ---- notify ----------------------------------------------------------------------------- */

static void check_notify(const char *addr, int fd)
{
	char buf[256];
	ssize_t n;

	assert_int_equal(notify_send_to(addr, "READY=1\nSTATUS=Guest running"), 1);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "READY=1\nSTATUS=Guest running");
}

static void test_notify(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[64], abstract[64];
	int fd;

	/* A path socket. */
	snprintf(path, sizeof(path), "/tmp/gamevm-test-notify-%d", (int)getpid());
	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	check_notify(path, fd);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(notify_send("STOPPING=1"), 1);
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(path);

	/* An abstract one: "@name", bound with a leading NUL and no trailing one. */
	snprintf(abstract, sizeof(abstract), "@gamevm-test-notify-%d", (int)getpid());
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(sa.sun_path, 0, sizeof(sa.sun_path));
	memcpy(sa.sun_path + 1, abstract + 1, strlen(abstract) - 1);
	assert_int_equal(
		bind(fd, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(abstract))),
		0);
	check_notify(abstract, fd);
	close(fd);

	/* Unset: a no-op. Nobody listening: an error, not a crash. */
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0);
	assert_int_equal(notify_send_to("/tmp/gamevm-test-notify-nobody-listens", "READY=1"),
			 -ENOENT);
	assert_int_equal(notify_send_to("vsock:2:1234", "READY=1"), -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_killed_status),
		cmocka_unit_test(test_missing_binary),
		cmocka_unit_test(test_not_executable),
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test(test_drop_to_nobody),
		cmocka_unit_test(test_drop_caps_as_root),
		cmocka_unit_test(test_rlimit_memlock),
		cmocka_unit_test(test_fd_handover),
		cmocka_unit_test(test_fd_swap),
		cmocka_unit_test(test_stdin_reads_eof),
		cmocka_unit_test(test_clean_env),
		cmocka_unit_test(test_kill_and_reap),
		cmocka_unit_test(test_cleanup_on_error_path),
		cmocka_unit_test(test_wait_signal),
		cmocka_unit_test(test_fallback_fork),
		cmocka_unit_test(test_fallback_no_pidfd),
		cmocka_unit_test(test_find_binary),
		cmocka_unit_test(test_user_lookup),
		cmocka_unit_test(test_notify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
