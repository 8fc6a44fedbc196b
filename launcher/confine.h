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
 * Not denied, because teardown needs them: execve (teardown runs
 * 'modprobe -r'), fork/clone without namespace flags (spawn.c, the sysfs
 * writer with a deadline in vfio-host.c), delete_module (modprobe -r).
 * The filter is inherited by whatever is spawned after it: those are
 * teardown's modprobe and writer children, which need none of the list.
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
