/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the host preparation tests (test-vfio.c, test-hugepages.c,
 * test-handoff.c) share: the fake kernel's tree opened as a host root with
 * a run dir for the journal, the diagnostics of one level joined one per
 * line, and a substring check that prints them when it fails.
 * Include after cmocka.h and fakekernel.h.
 */
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "plan.h"

struct env {
	struct host_root h;
	int run_fd;
	struct journal *j;
	struct plan_diags d;
};

/* The fake kernel's root and run dir; no journal yet. */
static inline void env_open(struct env *e)
{
	*e = (struct env){ .h = HOST_ROOT_NULL, .run_fd = -1 };
	assert_int_equal(host_root_open(fk_root, &e->h), 0);
	e->run_fd = open(fk_run, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(e->run_fd >= 0);
}

/* The same with a fresh journal for VM "demo". */
static inline void env_open_journal(struct env *e)
{
	env_open(e);
	assert_int_equal(journal_create(e->run_fd, "demo", NULL, &e->j), 0);
}

static inline void env_close(struct env *e)
{
	journal_free(e->j);
	plan_diags_done(&e->d);
	host_root_close(&e->h);
	if (e->run_fd >= 0)
		close(e->run_fd);
}

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
