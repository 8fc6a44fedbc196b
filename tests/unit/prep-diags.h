/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host preparation tests' view of diagnostics (test-vfio.c,
 * test-hugepages.c, test-handoff.c): the messages of one level joined, one
 * per line, and a substring check that prints them when it fails.
 * Include after cmocka.h.
 */
#pragma once

#include <stdlib.h>
#include <string.h>

#include "plan.h"

static inline char *diags_text(const struct plan_diags *d, int level)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < d->n; i++)
		len += strlen(d->v[i].msg) + 1;
	s = calloc(1, len);
	assert_non_null(s);
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level == level)
			strcat(strcat(s, d->v[i].msg), "\n");
	return s;
}

static inline void assert_contains(const char *s, const char *what)
{
	if (!strstr(s, what))
		fail_msg("'%s' not found in:\n%s", what, s);
}
