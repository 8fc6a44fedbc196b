/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prints every config key as "SECTION KEY", one a line, from the parser's
 * own table (config-keys.c), for test-man.py: gamevm.conf(5) must name
 * each one under its section.
 */
#include <stdio.h>

#include "config-internal.h"

int main(void)
{
	const struct config_key *keys;
	size_t n;

	keys = config_keys_all(&n);
	for (size_t i = 0; i < n; i++)
		printf("%s %s\n", section_kind_to_string(keys[i].section), keys[i].name);
	return 0;
}
