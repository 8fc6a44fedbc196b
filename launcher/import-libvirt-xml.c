/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm import-libvirt: reading the parsed domain (each element and
 * attribute read is marked, for the sweep that lists the rest), small
 * value parsers, and the items that say what was not carried over.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "import-libvirt-internal.h"

#define DESCRIBE_VALUE 40 /* attribute values in an item's "what" */

static const char read_mark; /* node->_private of what a converter read */

const char *import_item_kind_to_string(enum import_item_kind k)
{
	return k == IMPORT_CHANGED ? "converted differently" : "not converted";
}

/* ---- XML helpers ----------------------------------------------------------- */

bool xis(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !n->ns && streq((const char *)n->name, name);
}

void xmark(xmlNode *n)
{
	if (n)
		n->_private = (void *)&read_mark;
}

void xmark_tree(xmlNode *n)
{
	if (!n || n->type != XML_ELEMENT_NODE)
		return;
	xmark(n);
	for (xmlAttr *a = n->properties; a; a = a->next)
		a->_private = (void *)&read_mark;
	for (xmlNode *c = n->children; c; c = c->next)
		xmark_tree(c);
}

xmlNode *xchild(xmlNode *n, const char *name)
{
	xforeach(c, n) if (xis(c, name))
	{
		xmark(c);
		return c;
	}
	return NULL;
}

unsigned xline(const xmlNode *n)
{
	long l = n ? xmlGetLineNo(n) : 0;

	return l > 0 && l <= UINT_MAX ? (unsigned)l : 0;
}

/* Makes room for one more element in *v (of *cap), doubling. */
int grow(void **v, size_t size, size_t n, size_t *cap)
{
	void *t;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	t = reallocarray(*v, c, size);
	if (!t)
		return -ENOMEM;
	*v = t;
	*cap = c;
	return 0;
}

const char *own(struct import_ctx *ctx, char *s)
{
	if (!s || grow((void **)&ctx->owned, sizeof(char *), ctx->n_owned, &ctx->owned_cap) < 0) {
		free(s);
		ctx->err = ctx->err ?: -ENOMEM;
		return NULL;
	}
	ctx->owned[ctx->n_owned++] = s;
	return s;
}

const char *ownf(struct import_ctx *ctx, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return own(ctx, r < 0 ? NULL : s);
}

static const char *own_xml(struct import_ctx *ctx, xmlChar *x)
{
	char *s;

	if (!x)
		return own(ctx, strdup(""));
	s = strdup((const char *)x);
	xmlFree(x);
	return own(ctx, s);
}

const char *xattr(struct import_ctx *ctx, xmlNode *n, const char *name)
{
	if (!n)
		return NULL;
	for (xmlAttr *a = n->properties; a; a = a->next)
		if (!a->ns && streq((const char *)a->name, name)) {
			a->_private = (void *)&read_mark;
			return own_xml(ctx, xmlNodeListGetString(ctx->doc, a->children, 1));
		}
	return NULL;
}

const char *xtext(struct import_ctx *ctx, xmlNode *n)
{
	const char *s = own_xml(ctx, xmlNodeGetContent(n));
	char *t;
	size_t len;

	if (!s)
		return "";
	t = (char *)s + strspn(s, " \t\r\n");
	len = strlen(t);
	while (len > 0 && strchr(" \t\r\n", t[len - 1]))
		t[--len] = 0;
	return t;
}

int xbool(const char *s)
{
	if (!s)
		return -1;
	if (streq(s, "on") || streq(s, "yes"))
		return 1;
	if (streq(s, "off") || streq(s, "no"))
		return 0;
	return -1;
}

int xuint(const char *s, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_libvirt_cpuset(const char *s, unsigned max_cpu, unsigned **ret, size_t *ret_n)
{
	_cleanup_free_ unsigned char *set = calloc(max_cpu, 1);
	_cleanup_free_ char *copy = strdup(s);
	char *save = NULL;
	unsigned *v;
	size_t n = 0;

	if (!set || !copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned long long a, b;
		bool exclude;
		char *dash;

		t += strspn(t, " \t");
		for (size_t l = strlen(t); l > 0 && (t[l - 1] == ' ' || t[l - 1] == '\t'); l--)
			t[l - 1] = 0;
		exclude = t[0] == '^';
		t += exclude;
		dash = strchr(t, '-');
		if (dash)
			*dash = 0;
		if (xuint(t, max_cpu - 1, &a) < 0)
			return -EINVAL;
		b = a;
		if (dash && (exclude || xuint(dash + 1, max_cpu - 1, &b) < 0 || b < a))
			return -EINVAL;
		for (unsigned long long i = a; i <= b; i++)
			set[i] = !exclude;
	}
	for (unsigned i = 0; i < max_cpu; i++)
		n += set[i];
	if (n == 0)
		return -EINVAL;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (unsigned i = 0; i < max_cpu; i++)
		if (set[i])
			v[n++] = i;
	*ret = v;
	*ret_n = n;
	return 0;
}

char *format_cpus(const unsigned *v, size_t n, bool ranges)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		if (ranges)
			while (j + 1 < n && v[j + 1] == v[j] + 1)
				j++;
		fprintf(f, "%s%u", i ? "," : "", v[i]);
		if (j > i + 1)
			fprintf(f, "-%u", v[j]);
		else if (j == i + 1)
			fprintf(f, ",%u", v[j]);
		i = j;
	}
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* Printable for a terminal: control characters become '?'. */
void defang(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
void cut_utf8(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	s[max] = 0;
}

static void describe_attr(FILE *f, const char *name, xmlDoc *doc, xmlAttr *a)
{
	xmlChar *x = xmlNodeListGetString(doc, a->children, 1);
	char *v = strdup(x ? (const char *)x : "");

	xmlFree(x);
	if (!v)
		return;
	if (strlen(v) > DESCRIBE_VALUE) {
		cut_utf8(v, DESCRIBE_VALUE);
		fprintf(f, " %s='%s...'", name, v);
	} else {
		fprintf(f, " %s='%s'", name, v);
	}
	free(v);
}

/* "<disk type='file' device='disk'>", or with attr "<driver queues='4'>". */
static char *describe(xmlDoc *doc, xmlNode *n, const char *attr)
{
	char *s = NULL;
	size_t len = 0, shown = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	fprintf(f, "<%s%s%s", n->ns && n->ns->prefix ? (const char *)n->ns->prefix : "",
		n->ns && n->ns->prefix ? ":" : "", (const char *)n->name);
	for (xmlAttr *a = n->properties; a; a = a->next) {
		const char *name = (const char *)a->name;

		if (attr ? streq(name, attr) : shown++ < 2)
			describe_attr(f, name, doc, a);
	}
	fputc('>', f);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	defang(s);
	return s;
}

void item(struct import_ctx *ctx, enum import_item_kind kind, xmlNode *n, const char *attr,
	  const char *fmt, ...)
{
	char *what, *why;
	va_list ap;
	int r;

	if (!n)
		return;
	/* A dropped element goes with everything in it; a changed one was read. */
	if (attr) {
		for (xmlAttr *a = n->properties; a; a = a->next)
			if (!a->ns && streq((const char *)a->name, attr))
				a->_private = (void *)&read_mark;
	} else if (kind == IMPORT_DROPPED) {
		xmark_tree(n);
	} else {
		xmark(n);
	}
	if (ctx->n_items >= IMPORT_MAX_ITEMS) {
		ctx->n_more++;
		return;
	}
	va_start(ap, fmt);
	r = vasprintf(&why, fmt, ap);
	va_end(ap);
	if (r < 0) {
		ctx->err = ctx->err ?: -ENOMEM;
		return;
	}
	what = describe(ctx->doc, n, attr);
	if (!what ||
	    grow((void **)&ctx->items, sizeof(*ctx->items), ctx->n_items, &ctx->items_cap) < 0) {
		free(what);
		free(why);
		ctx->err = ctx->err ?: -ENOMEM;
		return;
	}
	defang(why);
	ctx->items[ctx->n_items++] = (struct import_item){
		.kind = kind,
		.line = xline(n),
		.what = what,
		.why = why,
	};
}

int import_fail(struct import_ctx *ctx, xmlNode *n, const char *what)
{
	if (asprintf(&ctx->error, "line %u: %s", xline(n), what) < 0) {
		ctx->error = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}
