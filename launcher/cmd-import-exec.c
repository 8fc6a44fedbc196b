/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm import-libvirt: runs gamevm-import-libvirt (cmd-import.c), which
 * carries the XML parser gamevm itself does without. Looked for next to
 * this program first (the build tree), then in LIBEXECDIR/gamevm.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config-build.h"
#include "log.h"
#include "macro.h"

#define IMPORT_HELPER "gamevm-import-libvirt"

int verb_import_libvirt_exec(const struct cli *cl)
{
	char self[PATH_MAX], helper[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *argv[5] = { IMPORT_HELPER, cl->args[0], NULL, NULL, NULL };
	char *slash;

	if (cl->output) {
		argv[2] = "-o";
		argv[3] = cl->output;
	}
	helper[0] = 0;
	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(helper, sizeof(helper), "%s/%s", self, IMPORT_HELPER);
			if (access(helper, X_OK) < 0)
				helper[0] = 0;
		}
	}
	if (!helper[0])
		snprintf(helper, sizeof(helper), "%s/%s", GAMEVM_LIBEXEC_DIR, IMPORT_HELPER);
	execv(helper, (char *const *)argv);
	return log_error_errno(NEG_ERRNO(),
			       "Cannot run '%s': %m (it comes with gamevm; reinstall it).", helper);
}
