/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The seccomp filter gamevm puts on itself before it parses QMP
 * (confine.h). Default allow, a deny list: gamevm must keep working through
 * teardown, which needs much of the system (sysfs, cgroups, fork, modprobe),
 * while what it never needs again is exactly what an attacker is after.
 *
 * io_uring: operations submitted through the ring are not syscalls and
 * bypass seccomp. The supervisor's loop (loop.c) only submits the ops it
 * needs (read, poll, recv, send, timeouts, cancel), and none of the denied
 * syscalls has an io_uring op; an attacker with code execution could still
 * submit file and socket ops, which gamevm as root may do anyway.
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>

#include "confine.h"
#include "macro.h"

/*
 * Never needed after the children are spawned. Names unknown to libseccomp
 * or absent on this architecture (iopl, ioperm, uselib, ...) are skipped.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CONFINE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONFINE_ASAN 1
#endif
#endif

static const char *const confine_denied[] = {
/* other processes' memory */
#ifndef CONFINE_ASAN
	"ptrace", /* LeakSanitizer's tracer needs it in sanitizer builds */
#endif
	"process_vm_readv",
	"process_vm_writev",
	"pidfd_getfd",
	/* replacing or stopping the kernel */
	"kexec_load",
	"kexec_file_load",
	"reboot",
	"init_module",
	"finit_module",
	/* the file system tree; the new mount API as well as mount(2) */
	"mount",
	"umount2",
	"pivot_root",
	"chroot",
	"fsopen",
	"fsconfig",
	"fsmount",
	"move_mount",
	"open_tree",
	"fspick",
	"mount_setattr",
	/* namespaces (clone's namespace flags: below) */
	"setns",
	"unshare",
	/* kernel attack surface */
	"bpf",
	"perf_event_open",
	"userfaultfd",
	"keyctl",
	"add_key",
	"request_key",
	"open_by_handle_at",
	"name_to_handle_at",
	"lookup_dcookie",
	"uselib",
	"nfsservctl",
	"_sysctl",
	/* host-wide state */
	"swapon",
	"swapoff",
	"acct",
	"settimeofday",
	"clock_settime",
	"adjtimex",
	"clock_adjtime",
	"iopl",
	"ioperm",
	"quotactl",
	"quotactl_fd",
	"vhangup",
	"syslog",
};

/* clone flags that make a namespace: clone(2) with any of them is denied like unshare. */
static const uint64_t confine_clone_ns_flags[] = {
	CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWUSER, CLONE_NEWPID,	CLONE_NEWNET,
};

static int confine_add(scmp_filter_ctx ctx, size_t *n)
{
	int nr, r;

	for (size_t i = 0; i < ELEMENTSOF(confine_denied); i++) {
		nr = seccomp_syscall_resolve_name(confine_denied[i]);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0)
			return r;
		(*n)++;
	}

	/*
	 * Only the default execution domain (PER_LINUX, 0) stays allowed, as
	 * systemd's LockPersonality= does: libseccomp takes one comparison
	 * per argument and rule, so the query (0xffffffff) is denied too;
	 * nothing gamevm or modprobe runs asks.
	 */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
			     SCMP_A0(SCMP_CMP_NE, 0));
	if (r < 0)
		return r;
	(*n)++;

#if !defined(__s390__) && !defined(__s390x__)
	/* clone(2) takes the flags first everywhere but on s390. */
	for (size_t i = 0; i < ELEMENTSOF(confine_clone_ns_flags); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, confine_clone_ns_flags[i],
					     confine_clone_ns_flags[i]));
		if (r < 0)
			return r;
	}
#endif
	/*
	 * clone3 takes its flags in memory, out of the filter's reach: ENOSYS
	 * makes glibc and spawn_child() fall back to clone(2), which is
	 * filtered above.
	 */
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

int confine_self(size_t *ret_n_denied)
{
	scmp_filter_ctx ctx;
	size_t n = 0;
	int r;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* gamevm execs nothing setuid from here on: QEMU and swtpm drop privileges themselves. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (r >= 0)
		r = confine_add(ctx, &n);
	if (r >= 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return r;
	if (ret_n_denied)
		*ret_n_denied = n;
	return 0;
}

int confine_no_exec(void)
{
	scmp_filter_ctx ctx;
	int r;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (r >= 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execve), 0);
	if (r >= 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execveat), 0);
	if (r >= 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}
