/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * [hook NAME] sections (config.h, struct vm_hook): programs gamevm runs
 * itself when a VM starts (the host prepared, before QEMU) and after it
 * stopped (the host put back; also when QEMU failed to start once the start
 * hooks had run), e.g. to switch
 * the monitor's input:
 *
 *   [hook monitor-in]
 *   when = start
 *   command = /usr/bin/ddcutil setvcp 60 0x0f
 *
 * No shell: argv comes from the config, split into words there. The
 * program runs as gamevm does (root, for /dev/i2c-*), with no_new_privs,
 * PATH and GAMEVM_VM / GAMEVM_EVENT (start or stop) as its environment,
 * stdin empty; its output goes to gamevm's log line by line ("hook NAME:
 * ..."), control characters replaced. After [hook] timeout seconds
 * (default 10) it is killed. As root, gamevm loads only a config that
 * only root can change (vm-load), so only root names what runs as root.
 * Launcher code: it logs.
 */
#pragma once

#include <stdbool.h>

#include "config.h"

/*
 * The hooks of that point, in config order, each run to its end. A hook
 * that fails (non-zero exit, signal, timeout, not startable) is logged;
 * returns the error of the first failing `required = yes` start hook, 0
 * otherwise (stop hooks never fail the run: the VM is over).
 */
int hooks_run(const struct vm_config *c, enum hook_when when);
bool hooks_any(const struct vm_config *c, enum hook_when when);
