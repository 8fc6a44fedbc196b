/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where a VM's config file is. On the command line CONF is a path (it has a
 * '/' or ends in ".conf") or a VM name, looked up in order in
 *   --config-dir (default /etc/gamevm)/NAME.conf             the system's
 *   $XDG_CONFIG_HOME/gamevm/NAME.conf (~/.config/gamevm)     the user's
 * For a user who is not root the user's directory comes first: their own
 * VMs shadow the system's of the same name. Launcher code: logs its errors.
 */
#pragma once

#include <stddef.h>

#include "cli.h"

/*
 * *ret: the config path for arg (malloc'd). -ENOENT (logged, naming every
 * place looked at) when arg is a name no directory has.
 */
int vm_config_find(const struct cli *cl, const char *arg, char **ret);

struct vm_defined {
	char *name;
	char *path;
};

/* Every NAME.conf in the directories above, by name; the first one found wins. */
int vm_configs_list(const struct cli *cl, struct vm_defined **ret, size_t *ret_n);
void vm_defined_free(struct vm_defined *v, size_t n);
