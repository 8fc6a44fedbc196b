/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

int strv_push_take(struct strv *s, char *item)
{
	if (s->err) {
		free(item);
		return s->err;
	}
	if (!item)
		return s->err = -ENOMEM;
	if (s->n + 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 32;
		char **t = realloc(s->v, ncap * sizeof(char *));
		if (!t) {
			free(item);
			return s->err = -ENOMEM;
		}
		s->v = t;
		s->cap = ncap;
	}
	s->v[s->n++] = item;
	s->v[s->n] = NULL;
	return 0;
}

int strv_push(struct strv *s, const char *item)
{
	return strv_push_take(s, item ? strdup(item) : NULL);
}

int strv_pushf(struct strv *s, const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		p = NULL;
	return strv_push_take(s, p);
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void strv_done(struct strv *s)
{
	if (!s)
		return;
	if (s->v) {
		for (size_t i = 0; i < s->n; i++)
			free(s->v[i]);
		free(s->v);
	}
	*s = (struct strv){ 0 };
}

char *shell_quote(const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789-_./:=,+@%";
	size_t n = 0;
	char *out, *o;

	if (*s && strspn(s, safe) == strlen(s))
		return strdup(s);
	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	out = malloc(n + 3);
	if (!out)
		return NULL;
	o = out;
	*o++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = 0;
	return out;
}
