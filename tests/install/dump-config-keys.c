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
	const struct config_key *k;

	for (size_t i = 0; (k = config_key_at(i)); i++)
		printf("%s %s\n", section_kind_to_string(k->section), k->name);
	return 0;
}
