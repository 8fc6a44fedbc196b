/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Built twice (launcher/meson.build): GAMEVM_TEST_HOOKS=0 for gamevm, 1 for the tests. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testhook.h"

#ifndef GAMEVM_TEST_HOOKS
#error "build testhook.c with -DGAMEVM_TEST_HOOKS=0 or 1"
#endif

bool testhook_enabled(void)
{
	return GAMEVM_TEST_HOOKS;
}

const char *testhook_getenv(const char *name)
{
	return GAMEVM_TEST_HOOKS ? getenv(name) : NULL;
}

void testhook_point(const char *point)
{
	const char *at = testhook_getenv("GAMEVM_TEST_KILL_AT");

	if (at && strcmp(at, point) == 0)
		(void)kill(getpid(), SIGKILL);
}

void testhook_point_n(const char *point, size_t n)
{
	char name[64];

	if (!testhook_getenv("GAMEVM_TEST_KILL_AT"))
		return;
	snprintf(name, sizeof(name), "%s:%zu", point, n);
	testhook_point(name);
}
