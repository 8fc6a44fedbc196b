/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm prepare CONF: the host side of gamevm start alone, for a VM that
 * its user runs without root (gamevm start as that user, or the user unit
 * gamevm@.service under systemd --user). As root it reserves the
 * hugepages, binds the [pci] devices to vfio-pci with /dev/vfio/GROUP given
 * to [vm] user, applies [tuning] and takes the sleep inhibitor, every change
 * in the undo journal as for start; tells systemd it is ready
 * (gamevm-prepare@NAME.service, Type=notify); then holds until SIGTERM,
 * SIGINT, SIGHUP or SIGQUIT and puts the host back. A SIGKILL leaves the
 * journal for 'gamevm cleanup NAME', as for start. While it holds, the VM's
 * lock is taken: a gamevm start of the same VM as root is refused.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "start.h"

int verb_prepare(const struct cli *cl)
{
	_cleanup_(start_done) struct start s = { .l = VM_LOAD_NULL,
						 .inhibitor = CHILD_NULL,
						 .inhibitor_fd = -1 };
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	char msg[256];
	sigset_t mask;
	siginfo_t si;
	int r;

	log_set_timestamps(true);
	if (geteuid() != 0)
		return log_error_errno(
			-EPERM,
			"gamevm prepare changes the host (hugepages, vfio-pci, tuning): run it as root, e.g. 'systemctl start gamevm-prepare@NAME'.");
	r = start_plan(cl, &s);
	if (r < 0)
		return r;
	r = start_resolve_user(&s);
	if (r < 0)
		return r;

	/* As for start: a stop request waits until the host is prepared, then undoes it. */
	r = start_lock_vm(&s, &d, VM_STATE_PREPARED, &mask);
	if (r < 0)
		return r;

	r = start_replay_stale(&s, &d);
	if (r < 0)
		return r;
	start_notify("STATUS=Preparing the host");
	r = start_prepare_host(&s, &d);
	if (r < 0)
		return r;
	start_inhibit_sleep(&s);

	log_info(
		"The host is prepared for VM '%s': start it as %s ('gamevm start %s', or 'systemctl --user start gamevm@%s'). Stopping this puts the host back.",
		s.l.c->name, s.user, s.l.c->name, s.l.c->name);
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=Host prepared for VM %s (run by %s)",
		 s.l.c->name, s.user);
	start_notify(msg);

	while (sigwaitinfo(&mask, &si) < 0)
		if (errno != EINTR)
			break;
	log_info("Putting the host back for VM '%s'.", s.l.c->name);
	start_notify("STOPPING=1\nSTATUS=Putting the host back");
	r = start_restore_host(&s);
	return r < 0 ? r : 0;
}
