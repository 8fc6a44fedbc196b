/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm confining itself once the host is prepared and its children run.
 *
 * gamevm stays root for the whole run (teardown needs it) and parses QMP
 * from QEMU, which a hostile guest may control. After the children are
 * spawned it never needs the syscalls that would turn code execution in
 * that parser into a host compromise (ptrace, mounts, namespaces, module
 * loading, kexec, bpf, clock setting, ...): confine_self() denies them
 * with EPERM through a seccomp filter, allowing everything else.
 *
 * Not denied, because teardown needs them: fork/clone without namespace
 * flags (the sysfs writer with a deadline in vfio-host.c), delete_module
 * (vfio-pci unloaded again). execve is denied in a second step,
 * confine_no_exec(), once no child is to be started any more: under
 * accel = auto the VM may still be started again under TCG in its first
 * seconds (supervise.h, kvm_fallback_s). The filters are inherited by
 * whatever is spawned after them: QEMU and swtpm of that restart, and
 * teardown's writer children, which need none of the list.
 *
 * In a build with AddressSanitizer, ptrace stays allowed: LeakSanitizer
 * stops the process with it to look for leaks at exit.
 */
#pragma once

#include <stddef.h>

/*
 * Installs the filter on the calling process (single-threaded: it covers
 * the calling thread only), with PR_SET_NO_NEW_PRIVS. *ret_n_denied (may
 * be NULL): the number of syscalls the filter denies. Logs nothing.
 * Returns 0 or negative errno; on failure nothing is installed.
 */
int confine_self(size_t *ret_n_denied);

/*
 * Adds a filter that denies execve and execveat (EPERM): from here on
 * gamevm starts no program. Same contract as confine_self().
 */
int confine_no_exec(void);
