/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What cmdline, check and start all do first: the config, the host root,
 * the host facts (with the user QEMU will run as), the QEMU binary, the
 * firmware descriptors, the VM's directories, and then the plan. Launcher
 * code: every failure is logged here, once, and the caller only returns.
 *
 *   _cleanup_(vm_load_done) struct vm_load l = VM_LOAD_NULL;
 *   r = vm_load(cl, &l);                  config errors, host probe failures
 *   r = vm_load_plan(&l, &plan);          every diagnostic logged; -EINVAL:
 *                                         the config cannot run on this host
 */
#pragma once

#include "cli.h"
#include "config.h"
#include "firmware.h"
#include "host.h"
#include "hostroot.h"
#include "plan.h"

struct vm_load {
	struct config_error err;
	struct vm_config *c;
	struct host_root root;
	struct host_facts facts;
	struct host_qemu qemu;
	struct firmware_list fw;
	char *run_dir;	 /* --run-dir/NAME */
	char *state_dir; /* --state-dir/NAME */
};

#define VM_LOAD_NULL                                                                               \
	{                                                                                          \
		.root = HOST_ROOT_NULL                                                             \
	}

int vm_load(const struct cli *cl, struct vm_load *ret);
/*
 * plan_build() on what vm_load() read, its diagnostics logged at their
 * level; -EINVAL (also logged: "not starting QEMU with this config on this
 * host") when the plan has errors.
 */
int vm_load_plan(struct vm_load *l, struct plan *ret);
void vm_load_done(struct vm_load *l);
