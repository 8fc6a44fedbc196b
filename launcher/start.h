/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm start and gamevm prepare, shared between cmd-start.c (the verb,
 * the plan, the supervisor and the restart policies), start-state.c (NVRAM,
 * TPM, disk images), start-host.c (host preparation and its undoing, the
 * sleep inhibitor) and cmd-prepare.c. Launcher code: each function logs its
 * failures. Not for use elsewhere.
 */
#pragma once

#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli.h"
#include "journal.h"
#include "plan.h"
#include "prepare.h"
#include "spawn.h"
#include "strv.h"
#include "supervise.h"
#include "vm-dirs.h"
#include "vm-load.h"

#define MAX_GROUPS 64
/* Locked guest RAM plus room for QEMU's own pinned allocations (VFIO DMA maps, rings). */
#define MEMLOCK_SLACK (1ULL << 30)

struct start {
	struct vm_load l; /* config, host facts, QEMU, firmware, directories */
	struct plan plan;
	struct strv argv;

	/* the QEMU user */
	char *user;
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	size_t n_groups;
	bool switch_user;

	/* host preparation */
	struct journal *journal;
	struct prepare_state prep;
	bool prepared; /* prepare_host() ran: teardown owes the host a replay */
	struct supervise_hostdev *hostdevs;
	char (*hostdev_addr)[PCI_ADDR_STRLEN];
	char (*hostdev_id)[32];

	/* The disk images, opened here and handed to QEMU (plan.h, PLAN_DISK_FD). */
	struct spawn_fd *disk_fds;
	size_t n_disk_fds;

	/* The sleep inhibitor: systemd-inhibit holding the lock while its stdin is open. */
	struct child inhibitor;
	int inhibitor_fd;

	/* The housekeeping CPUs QEMU and swtpm start on (spawn.h), CPU_ALLOC'd; NULL: none. */
	cpu_set_t *hk_cpus;
	size_t hk_cpus_size;

	/* QEMU's environment when it needs more than PATH ([audio]); empty: spawn's default */
	struct strv qemu_env;
	bool may_restart;   /* on-crash or on-poweroff = restart */
	bool poweroff_host; /* the guest powered off and on-poweroff = host-poweroff */
};

void start_done(struct start *s);
/* Library diagnostics (prepare.h): errors and warnings as such, what was done as info. */
void start_diags_flush(struct plan_diags *d);
/* A line for systemd (Type=notify); not being under systemd is fine. */
void start_notify(const char *msg);
/* Config, host facts, plan, argv: the same steps and messages as `gamevm cmdline`. */
int start_plan(const struct cli *cl, struct start *s);
/* The unprivileged user QEMU and swtpm run as, with its groups (kvm). */
int start_resolve_user(struct start *s);
/*
 * The VM's directories opened and locked, the stop signals blocked (in
 * *ret_mask), status.json written with state; logs its failures.
 */
int start_lock_vm(struct start *s, struct vm_dirs *d, enum vm_state state, sigset_t *ret_mask);
/*
 * Files QEMU opens by path itself ([pci] romfile), opened as QEMU's user
 * before the host is touched; logs which and how to fix it.
 */
int start_check_qemu_paths(struct start *s);
/* spawn_opts for a child running as the QEMU user. */
void start_child_opts(const struct start *s, struct spawn_opts *o);
/* Whether one of the stop signals in mask (blocked) is pending; it stays pending. */
bool start_stop_pending(const sigset_t *mask);

/* start-state.c */
int start_find_binary(struct start *s, const char *name, char **ret);
/* NVRAM copy and TPM state: made once, never overwritten. */
int start_prepare_state(struct start *s, struct vm_dirs *d);
/* The disk images, opened to be handed to QEMU as fds. */
int start_open_disks(struct start *s);

/* start-host.c */
int start_replay_stale(struct start *s, struct vm_dirs *d);
int start_check_memlock(const struct start *s, uint64_t want);
int start_hostdevs(struct start *s);
int start_prepare_host(struct start *s, struct vm_dirs *d);
/*
 * For a gamevm start that does not run as root: the host as 'gamevm
 * prepare' leaves it (devices on vfio-pci and open to this user, the
 * hugepages free), or an error saying to run it.
 */
int start_verify_prepared(struct start *s);
void start_on_running(void *userdata);
int start_restore_host(struct start *s);
void start_poweroff_host(const struct start *s);
void start_inhibit_sleep(struct start *s);

/*
 * start-desktop.c. [audio]: a copy of the desktop user's PulseAudio cookie
 * in the run dir, readable by QEMU's user alone, and QEMU's environment
 * naming it (PULSE_COOKIE) in s->qemu_env / qemu_o->env. Nothing without
 * [audio] or without a cookie (pipewire-pulse needs none).
 */
int start_audio_env(struct start *s, struct vm_dirs *d, struct spawn_opts *qemu_o);
