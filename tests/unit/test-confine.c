/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * launcher/confine.c: the filter is installed in a forked child (it cannot
 * be taken off again), which checks that the denied syscalls fail with
 * EPERM while what the supervisor and its teardown use still works, and
 * reports the first failed check as its exit status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine.h"
#include "macro.h"
#include "spawn.h"

static bool denied(long r)
{
	return r == -1 && errno == EPERM;
}

static int seccomp_mode(void)
{
	char line[256];
	int mode = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Seccomp:", 8) == 0)
			mode = atoi(line + 8);
	fclose(f);
	return mode;
}

static int confined_child(void)
{
	char *const argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)"exit 7", NULL };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	struct child c = CHILD_NULL;
	char path[] = "/tmp/gamevm-test-confine-XXXXXX";
	cpu_set_t set;
	siginfo_t si;
	size_t n = 0;
	long r;
	pid_t pid;
	int fd, status;

	if (seccomp_mode() != 0)
		return 2;
	if (confine_self(&n) < 0)
		return 3;
	if (n < 30 || seccomp_mode() != 2)
		return 4;

		/* Denied: each of these would succeed (or fail otherwise) unconfined, root or not.
		 */
#if !defined(__SANITIZE_ADDRESS__)
	/* (LeakSanitizer needs ptrace: an ASan build keeps it, confine.c.) */
	if (!denied(ptrace(PTRACE_TRACEME, 0, NULL, NULL)))
		return 10;
#endif
	if (!denied(unshare(0)))
		return 11;
	/* A missing mount point: ENOENT unconfined. */
	if (!denied(mount("none", "/nonexistent/gamevm-confine", "tmpfs", 0, NULL)))
		return 12;
	if (!denied(syscall(SYS_setns, -1, 0)))
		return 13;
	if (!denied(syscall(SYS_bpf, -1, NULL, 0)))
		return 14;
	if (!denied(syscall(SYS_kexec_load, 0, 0, NULL, 0)))
		return 15;
	if (!denied(personality(PER_LINUX32)))
		return 16;
	/* clone with a namespace flag, like unshare; should it succeed, the child leaves. */
	r = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, NULL, NULL, NULL, NULL);
	if (r == 0)
		_exit(0);
	if (!denied(r))
		return 17;
	/* clone3: ENOSYS, so glibc and spawn_child() fall back to clone. */
	r = syscall(SYS_clone3, NULL, 0);
	if (r != -1 || errno != ENOSYS)
		return 18;

	/* Allowed: what the loop, the pinning and the teardown use. */
	if (getpid() <= 1)
		return 20;
	if (personality(PER_LINUX) < 0)
		return 21;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return 22;
	unlink(path);
	if (write(fd, "x", 1) != 1)
		return 23;
	close(fd);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 24;
	close(fd);
	if (sched_getaffinity(0, sizeof(set), &set) < 0 ||
	    sched_setaffinity(0, sizeof(set), &set) < 0)
		return 25;
	if (kill(getpid(), 0) < 0)
		return 26;

	/* fork (vfio-host.c's sysfs writer with a deadline) and waitid. */
	pid = fork();
	if (pid < 0)
		return 27;
	if (pid == 0)
		_exit(5);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 || si.si_code != CLD_EXITED ||
	    si.si_status != 5)
		return 28;

	/* spawn_child and execve: QEMU may be started again under TCG (accel = auto). */
	o.argv = argv;
	o.drop_caps = false;
	if (spawn_child(&o, "sh", &c, NULL) < 0)
		return 29;
	if (child_reap(&c, &status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
		return 30;

	/* Then no more programs: execve and execveat fail, fork still works. */
	if (confine_no_exec() < 0)
		return 40;
	if (!denied(execve("/bin/sh", argv, environ)))
		return 41;
	if (!denied(syscall(SYS_execveat, AT_FDCWD, "/bin/sh", argv, environ, 0)))
		return 42;
	if (spawn_child(&o, "sh", &c, NULL) != -EPERM)
		return 43;
	pid = fork();
	if (pid < 0)
		return 44;
	if (pid == 0)
		_exit(6);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 6)
		return 45;
	return 0;
}

static void test_confine_self(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(confined_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The filter stays in the child: the test process itself is not confined. */
static void test_parent_unconfined(void **state)
{
	(void)state;
	assert_int_equal(seccomp_mode(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confine_self),
		cmocka_unit_test(test_parent_unconfined),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
