/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A growable NULL-terminated string vector, used for argv. Appends record
 * the first allocation failure in ->err so a builder can append many items
 * and check once at the end.
 */
#pragma once

#include <stddef.h>

#include "macro.h"

struct strv {
	char **v; /* NULL-terminated */
	size_t n;
	size_t cap;
	int err; /* first error, 0 if none */
};

int strv_push(struct strv *s, const char *item);
/* Takes ownership of item (frees it on failure). */
int strv_push_take(struct strv *s, char *item);
int strv_pushf(struct strv *s, const char *fmt, ...) _printf_(2, 3);
void strv_done(struct strv *s);
/* Frees a plain NULL-terminated char ** (e.g. one taken out of a struct strv). */
void strv_free(char **v);
/* Shell-quotes one word (single quotes where needed); caller frees. */
char *shell_quote(const char *s);

#define strv_foreach(p, v) for (char **p = (v); p && *p; p++)
