/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm import-libvirt, the pure part: parse the domain XML safely, run
 * the converters (import-libvirt-domain.c, import-libvirt-devices.c), list
 * what nobody read, write the config and check it with the config parser.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "config.h"
#include "import-libvirt-internal.h"
#include "import-libvirt.h"
#include "parse-util.h"

#define LINE_MAX_BYTES 199 /* the config reader's limit (libinih's 200-byte buffer) */
#define COMMENT_WIDTH  80
#define CHECK_PATH     "@" /* the name the config parser gets for the converted text */

/* ---- the config being written ---------------------------------------------- */

struct out_section *section(struct import_ctx *ctx, const char *name, xmlNode *from)
{
	struct out_section **v, *s;

	for (size_t i = 0; i < ctx->n_sections; i++)
		if (streq(ctx->sections[i]->name, name))
			return ctx->sections[i];
	s = calloc(1, sizeof(*s));
	v = s ? realloc(ctx->sections, (ctx->n_sections + 1) * sizeof(*v)) : NULL;
	if (!v || !(s->name = strdup(name))) {
		if (v)
			ctx->sections = v;
		free(s);
		ctx->err = ctx->err ?: -ENOMEM;
		return NULL;
	}
	ctx->sections = v;
	s->from = from;
	s->named = strchr(name, ' ') != NULL;
	v[ctx->n_sections++] = s;
	return s;
}

bool section_exists(const struct import_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->n_sections; i++)
		if (streq(ctx->sections[i]->name, name))
			return true;
	return false;
}

bool section_has(const struct out_section *s, const char *key)
{
	for (size_t i = 0; s && i < s->n_keys; i++)
		if (streq(s->keys[i].key, key))
			return true;
	return false;
}

/* NULL when an INI line can hold key = value, else why not. */
static const char *ini_refuses(const char *key, const char *value)
{
	size_t n = strlen(value);

	for (const char *p = value; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "it has a control character, which a config file line cannot hold";
		if ((*p == ';' || *p == '#') && p > value && (p[-1] == ' ' || p[-1] == '\t'))
			return "it has ' ;' or ' #', which the config file would read as a comment";
	}
	if (n == 0)
		return "it is empty";
	if (isspace((unsigned char)value[0]) || isspace((unsigned char)value[n - 1]))
		return "it starts or ends with a space, which the config file would drop";
	if (strlen(key) + 3 + n > LINE_MAX_BYTES)
		return "it is too long for a config file line (199 bytes)";
	return NULL;
}

static void put_value(struct import_ctx *ctx, struct out_section *s, xmlNode *from, const char *key,
		      char *value, bool required)
{
	const char *why;
	struct out_key *v;
	char *k;

	if (!s || !value) {
		free(value);
		ctx->err = ctx->err ?: -ENOMEM;
		return;
	}
	why = ini_refuses(key, value);
	if (why) {
		item(ctx, IMPORT_DROPPED, from, NULL, "[%s] %s: %s", s->name, key, why);
		free(value);
		if (required)
			s->dropped = true;
		return;
	}
	for (size_t i = 0; i < s->n_keys && !streq(key, "extra"); i++)
		if (streq(s->keys[i].key, key)) {
			free(s->keys[i].value);
			s->keys[i].value = value;
			s->keys[i].from = from;
			return;
		}
	k = strdup(key);
	v = k ? realloc(s->keys, (s->n_keys + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(k);
		free(value);
		ctx->err = ctx->err ?: -ENOMEM;
		return;
	}
	s->keys = v;
	v[s->n_keys++] =
		(struct out_key){ .key = k, .value = value, .from = from, .required = required };
}

void put(struct import_ctx *ctx, struct out_section *s, xmlNode *from, const char *key,
	 const char *fmt, ...)
{
	char *value;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&value, fmt, ap);
	va_end(ap);
	put_value(ctx, s, from, key, r < 0 ? NULL : value, false);
}

void put_bool(struct import_ctx *ctx, struct out_section *s, xmlNode *from, const char *key, bool b)
{
	put_value(ctx, s, from, key, strdup(b ? "yes" : "no"), false);
}

void put_required(struct import_ctx *ctx, struct out_section *s, xmlNode *from, const char *key,
		  const char *value)
{
	put_value(ctx, s, from, key, value ? strdup(value) : NULL, true);
}

void add_feature(struct import_ctx *ctx, const char *word)
{
	char **v;
	char *w = strdup(word);

	v = w ? realloc(ctx->features, (ctx->n_features + 2) * sizeof(*v)) : NULL;
	if (!v) {
		free(w);
		ctx->err = ctx->err ?: -ENOMEM;
		return;
	}
	ctx->features = v;
	v[ctx->n_features++] = w;
	v[ctx->n_features] = NULL;
}

char *sanitize_name(const char *s)
{
	char *out = malloc(NAME_MAX_LEN + 1);
	size_t n = 0;

	if (!out)
		return NULL;
	/* "Windows 11 (gaming)" is "Windows-11-gaming". */
	for (; *s && n < NAME_MAX_LEN; s++) {
		bool ok = isalnum((unsigned char)*s) || *s == '_' || *s == '-';

		if (ok)
			out[n++] = *s;
		else if (n > 0 && out[n - 1] != '-')
			out[n++] = '-';
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = 0;
	if (n == 0 || out[0] == '-') {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- rendering and the check ----------------------------------------------- */

static void out_section_free(struct out_section *s)
{
	for (size_t i = 0; i < s->n_keys; i++) {
		free(s->keys[i].key);
		free(s->keys[i].value);
	}
	free(s->keys);
	free(s->name);
	free(s);
}

/* Where each line of the rendered text came from: a section header or a key. */
struct line_origin {
	struct out_section *s;
	struct out_key *k; /* NULL: the header */
};

/*
 * "; text", wrapped at spaces to COMMENT_WIDTH columns with cont in front of
 * the continuation lines; a word longer than a line is cut to the reader's
 * line limit. Returns the number of lines.
 */
static size_t comment(FILE *f, const char *cont, const char *fmt, ...) _printf_(3, 4);
static size_t comment(FILE *f, const char *cont, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	const char *prefix = "; ";
	size_t col = 0, lines = 1;
	bool empty = true;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		s = NULL;
		return 0;
	}
	defang(s);
	for (char *save = NULL, *w = strtok_r(s, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (!empty && col + 1 + strlen(w) > COMMENT_WIDTH) {
			fputc('\n', f);
			prefix = cont;
			empty = true;
			lines++;
		}
		if (empty) {
			fputs(prefix, f);
			col = strlen(prefix);
		}
		cut_utf8(w, LINE_MAX_BYTES - col - 1);
		fprintf(f, "%s%s", empty ? "" : " ", w);
		col += !empty + strlen(w);
		empty = false;
	}
	fputs(empty ? ";\n" : "\n", f);
	return lines;
}

static int render(struct import_ctx *ctx, const char *source, bool with_items, char **ret,
		  struct line_origin **ret_map, size_t *ret_n_map)
{
	_cleanup_free_ struct line_origin *map = NULL;
	size_t n_map = 0, len = 0;
	char *s = NULL;
	FILE *f;

	if (ret_map) {
		size_t n = 64;
		for (size_t i = 0; i < ctx->n_sections; i++)
			n += ctx->sections[i]->n_keys + 2;
		map = calloc(n, sizeof(*map));
		if (!map)
			return -ENOMEM;
	}
	f = open_memstream(&s, &len);
	if (!f)
		return -ENOMEM;
#define LINE(sec, key)                                                                             \
	do {                                                                                       \
		if (map)                                                                           \
			map[n_map] = (struct line_origin){ (sec), (key) };                         \
		n_map++;                                                                           \
	} while (0)

	n_map += comment(f, "; ",
			 "Converted by 'gamevm import-libvirt' from the libvirt domain '%s' in %s.",
			 ctx->name ? ctx->name : "?", source);
	n_map += comment(
		f, "; ",
		"docs/import-libvirt.md says how each element maps, docs/config.md what each key does; keys not written here take gamevm's defaults.");
	if (with_items && ctx->n_items) {
		n_map += comment(
			f, "; ",
			"What was not carried over as in libvirt (line numbers are the XML's):");
		for (size_t i = 0; i < ctx->n_items; i++) {
			const struct import_item *it = &ctx->items[i];
			n_map += comment(f, ";     ", "  line %u: %s: %s: %s", it->line, it->what,
					 import_item_kind_to_string(it->kind), it->why);
		}
	}
	for (size_t i = 0; i < ctx->n_sections; i++) {
		struct out_section *sec = ctx->sections[i];

		if (sec->dropped || sec->n_keys == 0)
			continue;
		fputc('\n', f);
		LINE(NULL, NULL);
		fprintf(f, "[%s]\n", sec->name);
		LINE(sec, NULL);
		for (size_t j = 0; j < sec->n_keys; j++) {
			fprintf(f, "%s = %s\n", sec->keys[j].key, sec->keys[j].value);
			LINE(sec, &sec->keys[j]);
		}
	}
#undef LINE
	if (fclose(f) != 0) {
		free(s);
		return -ENOMEM;
	}
	*ret = s;
	if (ret_map) {
		*ret_map = TAKE_PTR(map);
		*ret_n_map = n_map;
	}
	return 0;
}

static void drop_key(struct out_section *s, struct out_key *k)
{
	size_t i = (size_t)(k - s->keys);

	free(k->key);
	free(k->value);
	memmove(&s->keys[i], &s->keys[i + 1], (s->n_keys - i - 1) * sizeof(*k));
	s->n_keys--;
}

/* The origin of the line the parser names, or of "[label] key" when it names none. */
static bool find_origin(struct import_ctx *ctx, const char *msg, const struct line_origin *map,
			size_t n_map, struct line_origin *ret, const char **ret_why)
{
	const char *p = msg + strlen(CHECK_PATH ":");
	unsigned long long line;
	char *end;

	if (strncmp(msg, CHECK_PATH ":", strlen(CHECK_PATH ":")) != 0)
		return false;
	if (isdigit((unsigned char)*p)) {
		line = strtoull(p, &end, 10);
		if (*end != ':' || line == 0 || line > n_map || !map[line - 1].s)
			return false;
		*ret = map[line - 1];
		*ret_why = end + 1 + strspn(end + 1, " ");
		return true;
	}
	/* "@: [cpu] pin: ..." */
	p += strspn(p, " ");
	*ret_why = p;
	if (*p != '[')
		return false;
	for (size_t i = 0; i < ctx->n_sections; i++) {
		struct out_section *s = ctx->sections[i];
		size_t n = strlen(s->name);

		if (s->dropped || strncmp(p + 1, s->name, n) != 0 || p[1 + n] != ']')
			continue;
		*ret = (struct line_origin){ s, NULL };
		for (size_t j = 0; j < s->n_keys; j++) {
			size_t m = strlen(s->keys[j].key);
			if (p[2 + n] == ' ' && strncmp(p + 3 + n, s->keys[j].key, m) == 0 &&
			    p[3 + n + m] == ':')
				ret->k = &s->keys[j];
		}
		return true;
	}
	return false;
}

/*
 * The parser's reasons point at lines of the text it checked ("rombar = no
 * (line 87)"), which are neither the XML's nor those of the file written:
 * " (line N)", " (first on line N)" and ", line N)" are cut out.
 */
static void strip_config_lines(char *s)
{
	static const char *const pre[] = { " (first on line ", " (line ", ", line " };

	for (char *p = s; (p = strstr(p, "line "));) {
		char *end = p + 5 + strspn(p + 5, "0123456789"), *from = NULL;

		if (end == p + 5 || *end != ')') {
			p = end;
			continue;
		}
		for (size_t i = 0; i < ELEMENTSOF(pre) && !from; i++) {
			size_t n = strlen(pre[i]) - strlen("line ");

			if ((size_t)(p - s) >= n && strncmp(p - n, pre[i], n) == 0)
				from = p - n;
		}
		if (!from) {
			p = end;
			continue;
		}
		if (*from == ' ')
			end++; /* the ')' goes with " (line N" */
		memmove(from, end, strlen(end) + 1);
		p = from;
	}
}

/*
 * Loads the text with the real config parser until it passes: each key it
 * refuses is left out (a named section without its required key goes
 * whole) and becomes an item with the parser's reason. Each round drops a
 * line, so this ends.
 */
static int check_config(struct import_ctx *ctx, const char *source)
{
	for (;;) {
		_cleanup_(config_error_done) struct config_error e = {};
		_cleanup_free_ struct line_origin *map = NULL;
		_cleanup_free_ char *text = NULL;
		struct vm_config *c = NULL;
		struct line_origin o;
		const char *why;
		size_t n_map;
		int r;

		r = render(ctx, source, false, &text, &map, &n_map);
		if (r < 0)
			return r;
		r = config_load_string(CHECK_PATH, text, &c, &e);
		if (r == 0) {
			config_free(c);
			return 0;
		}
		if (r != -EINVAL)
			return r;
		if (!e.msg || !find_origin(ctx, e.msg, map, n_map, &o, &why)) {
			if (asprintf(
				    &ctx->error,
				    "the converted config does not load, and the converter cannot tell which element is to blame: %s",
				    e.msg ? e.msg : "?") < 0)
				ctx->error = NULL;
			return ctx->error ? -EINVAL : -ENOMEM;
		}
		if (!o.s->named && (!o.k || o.k->required)) {
			if (asprintf(&ctx->error, "the domain cannot be converted: %s", why) < 0)
				ctx->error = NULL;
			return ctx->error ? -EINVAL : -ENOMEM;
		}
		strip_config_lines((char *)why);
		if (!o.k || o.k->required) {
			item(ctx, IMPORT_DROPPED, o.k ? o.k->from : o.s->from, NULL,
			     "gamevm refuses [%s]: %s", o.s->name, why);
			o.s->dropped = true;
		} else {
			item(ctx, IMPORT_DROPPED, o.k->from, NULL, "gamevm refuses %s", why);
			drop_key(o.s, o.k);
		}
		if (ctx->err)
			return ctx->err;
	}
}

/* ---- what nobody read ------------------------------------------------------ */

static void sweep(struct import_ctx *ctx, xmlNode *n)
{
	xforeach(c, n)
	{
		if (!c->_private) {
			item(ctx, IMPORT_DROPPED, c, NULL,
			     "no gamevm equivalent; [qemu] extra can add QEMU options gamevm does not generate");
			continue;
		}
		for (xmlAttr *a = c->properties; a; a = a->next)
			if (!a->_private)
				item(ctx, IMPORT_DROPPED, c, (const char *)a->name,
				     "attribute not converted: no gamevm equivalent");
		sweep(ctx, c);
	}
}

static int cmp_item(const void *a, const void *b)
{
	const struct import_item *x = a, *y = b;
	int c;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	c = strcmp(x->what, y->what);
	return c ? c : strcmp(x->why, y->why);
}

/* ---- parsing --------------------------------------------------------------- */

/* A document with a DTD is refused as soon as its <!DOCTYPE> is seen. */
static void refuse_dtd(void *user, const xmlChar *name, const xmlChar *external_id,
		       const xmlChar *system_id)
{
	xmlParserCtxt *p = user;

	*(bool *)p->_private = true;
	xmlStopParser(p);
}

static int parse(const char *xml, size_t len, xmlDoc **ret, char **ret_error)
{
	/*
	 * No XML_PARSE_NOENT (entities stay unexpanded), no DTD loading or
	 * validation, no network, no XInclude; errors are taken from the
	 * context, never printed. BIG_LINES: line numbers past 65535.
	 */
	const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
			    XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES;
	xmlParserCtxt *p;
	xmlDoc *doc;
	bool dtd = false;
	int r = 0;

	p = xmlNewParserCtxt();
	if (!p)
		return -ENOMEM;
	p->_private = &dtd;
	p->sax->internalSubset = refuse_dtd;
	doc = xmlCtxtReadMemory(p, xml, (int)len, NULL, NULL, options);
	if (dtd) {
		r = asprintf(
			    ret_error,
			    "the XML has a document type declaration (<!DOCTYPE>), which libvirt never writes; refusing it") <
				    0
			    ? -ENOMEM
			    : -EINVAL;
	} else if (!doc || !p->wellFormed) {
		const xmlError *e = xmlCtxtGetLastError(p);
		_cleanup_free_ char *m = strdup(e && e->message ? e->message : "not well-formed");

		if (m) {
			m[strcspn(m, "\n")] = 0;
			defang(m);
		}
		r = !m || asprintf(ret_error, "line %d: malformed XML: %s", e ? e->line : 0, m) < 0
			    ? -ENOMEM
			    : -EINVAL;
	}
	if (r < 0) {
		xmlFreeDoc(doc);
		xmlFreeParserCtxt(p);
		return r;
	}
	xmlFreeParserCtxt(p);
	*ret = doc;
	return 0;
}

static void ctx_done(struct import_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_sections; i++)
		out_section_free(ctx->sections[i]);
	free(ctx->sections);
	for (size_t i = 0; i < ctx->n_owned; i++)
		free(ctx->owned[i]);
	free(ctx->owned);
	for (size_t i = 0; i < ctx->n_items; i++) {
		free(ctx->items[i].what);
		free(ctx->items[i].why);
	}
	free(ctx->items);
	for (size_t i = 0; i < ctx->n_features; i++)
		free(ctx->features[i]);
	free(ctx->features);
	free(ctx->uuid);
	free(ctx->error);
	xmlFreeDoc(ctx->doc);
}

static int fail(struct import_result *res, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(struct import_result *res, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&res->error, fmt, ap) < 0) {
		res->error = NULL;
		r = -ENOMEM;
	}
	va_end(ap);
	return r;
}

int import_libvirt(const char *source, const char *xml, size_t len, struct import_result *ret)
{
	static const char *const plain[] = { "vm",	 "memory",   "cpu",    "hyperv",
					     "firmware", "tpm",	     "smbios", "clock",
					     "power",	 "watchdog", "devices" };
	_cleanup_(ctx_done) struct import_ctx ctx = {};
	_cleanup_free_ char *text = NULL;
	xmlNode *root;
	int r;

	*ret = (struct import_result){};
	if (len > IMPORT_MAX_INPUT)
		return fail(
			ret, -EFBIG,
			"the XML is %zu bytes; a libvirt domain is far smaller (at most %u bytes are read)",
			len, IMPORT_MAX_INPUT);
	if (len == 0)
		return fail(ret, -EINVAL,
			    "the XML is empty; expected a libvirt domain ('virsh dumpxml NAME')");
	r = parse(xml, len, &ctx.doc, &ret->error);
	if (r < 0)
		return r;
	root = xmlDocGetRootElement(ctx.doc);
	if (!xis(root, "domain"))
		return fail(
			ret, -EINVAL,
			"line %u: the root element is <%s>; expected a libvirt <domain> ('virsh dumpxml NAME')",
			xline(root), root ? (const char *)root->name : "?");
	ctx.domain = root;
	xmark(root);

	for (size_t i = 0; i < ELEMENTSOF(plain); i++)
		section(&ctx, plain[i], root);
	if (ctx.err)
		return ctx.err;

	r = import_domain(&ctx);
	if (r == -EINVAL) {
		ret->error = TAKE_PTR(ctx.error);
		return r;
	}
	if (r < 0)
		return r;
	if (ctx.err)
		return ctx.err;
	sweep(&ctx, root);
	for (xmlAttr *a = root->properties; a; a = a->next)
		if (!a->_private)
			item(&ctx, IMPORT_DROPPED, root, (const char *)a->name,
			     "attribute not converted: no gamevm equivalent");
	if (ctx.err)
		return ctx.err;

	r = check_config(&ctx, source);
	if (r == -EINVAL) {
		ret->error = TAKE_PTR(ctx.error);
		return r;
	}
	if (r < 0)
		return r;

	if (ctx.n_items > 1)
		qsort(ctx.items, ctx.n_items, sizeof(*ctx.items), cmp_item);
	if (ctx.n_more) {
		struct import_item *it;

		if (grow((void **)&ctx.items, sizeof(*ctx.items), ctx.n_items, &ctx.items_cap) < 0)
			return -ENOMEM;
		it = &ctx.items[ctx.n_items];
		*it = (struct import_item){ .kind = IMPORT_DROPPED };
		if (asprintf(&it->why, "%zu more elements or attributes, not listed", ctx.n_more) <
		    0)
			return -ENOMEM;
		it->what = strdup("...");
		if (!it->what) {
			free(it->why);
			return -ENOMEM;
		}
		ctx.n_items++;
	}
	r = render(&ctx, source, true, &text, NULL, NULL);
	if (r < 0)
		return r;
	ret->name = strdup(ctx.name ? ctx.name : "");
	if (!ret->name)
		return -ENOMEM;
	ret->config = TAKE_PTR(text);
	ret->items = TAKE_PTR(ctx.items);
	ret->n_items = ctx.n_items;
	ctx.n_items = 0;
	return 0;
}

void import_result_done(struct import_result *r)
{
	free(r->config);
	free(r->name);
	for (size_t i = 0; i < r->n_items; i++) {
		free(r->items[i].what);
		free(r->items[i].why);
	}
	free(r->items);
	free(r->error);
	*r = (struct import_result){};
}
