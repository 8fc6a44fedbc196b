/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm-import-libvirt DOMAIN.xml [-o NAME.conf]: the program behind
 * 'gamevm import-libvirt' (cmd-import-exec.c), which parses the options and
 * runs it; on its own it takes the same arguments.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "log.h"
#include "macro.h"

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{},
	};
	struct cli c = {};
	int opt, r;

	log_setup();
	while ((opt = getopt_long(argc, argv, "o:", options, NULL)) >= 0) {
		if (opt != 'o') {
			fprintf(stderr, "Usage: %s DOMAIN.xml [-o NAME.conf]\n", argv[0]);
			return 2;
		}
		c.output = optarg;
	}
	if (argc - optind != 1) {
		fprintf(stderr, "Usage: %s DOMAIN.xml [-o NAME.conf]\n", argv[0]);
		return 2;
	}
	c.args = argv + optind;
	c.n_args = 1;
	r = verb_import_libvirt(&c);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
