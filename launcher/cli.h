/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parsed command line, handed to one verb_*() function per verb.
 * A verb returns 0 or negative errno; it has already printed its one
 * message for the failure, main() only maps the result to an exit code.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct cli {
	const char *root;      /* --root DIR, default "/" */
	bool json;	       /* --json */
	const char *run_dir;   /* --run-dir, default /run/gamevm */
	const char *state_dir; /* --state-dir, default /var/lib/gamevm */
	char **args;	       /* positional arguments after the verb */
	size_t n_args;
};

int verb_cmdline(const struct cli *c);
int verb_iommu(const struct cli *c);
int verb_topology(const struct cli *c);
