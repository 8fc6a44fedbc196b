/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the parts of the libvirt importer: import-libvirt.c (the entry
 * point, the config writer and its check), import-libvirt-xml.c (reading
 * the XML, the items),
 * import-libvirt-domain.c (the domain outside <devices>, but for)
 * import-libvirt-cpu.c (vCPUs, CPU model, pinning, <features>) and
 * import-libvirt-devices.c (<devices>). Not an API: import-libvirt.h is.
 *
 * Every element and attribute the converter reads is marked as read; what
 * nobody read is listed at the end as "no gamevm equivalent", so nothing in
 * the domain goes missing without an item. Allocation failures are
 * recorded in ctx->err (the first one) so the converters can run on and
 * the entry point checks once, like struct strv.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "import-libvirt.h"
#include "macro.h"

/* A hostile file can hold 100000 unknown elements; the list stops here. */
#define IMPORT_MAX_ITEMS 1000

struct out_key {
	char *key, *value;
	xmlNode *from; /* element the value came from, for an item if gamevm refuses it */
	bool required; /* the section is nothing without it */
};

struct out_section {
	char *name;    /* "cpu", "disk system" */
	xmlNode *from; /* element the section came from */
	bool named;    /* [disk NAME], [pci NAME], [net NAME]: may be dropped whole */
	bool dropped;
	struct out_key *keys;
	size_t n_keys;
};

struct import_ctx {
	xmlDoc *doc;
	xmlNode *domain;
	struct out_section **sections; /* each allocated alone: section() pointers stay valid */
	size_t n_sections;
	struct import_item *items;
	size_t n_items, items_cap;
	size_t n_more; /* items past IMPORT_MAX_ITEMS, counted only */
	char **owned;  /* strings handed out by xattr(), xtext(), own() */
	size_t n_owned, owned_cap;
	char *error; /* the reason for -EINVAL */
	int err;     /* first -ENOMEM */

	/* facts one part of the domain needs from another */
	const char *name; /* [vm] name */
	char *uuid;	  /* <uuid>, lower case */
	unsigned vcpus;
	bool hypervclock; /* <timer name='hypervclock' present='yes'/> */
	int smm;	  /* <smm state=...>: 1, 0, -1 when absent */
	xmlNode *smm_node;
	bool hidden; /* <kvm><hidden state='on'/> */
	xmlNode *hidden_node;
	unsigned n_scsi_disks; /* disks with bus = virtio-scsi */
	char **features;       /* [cpu] features words, NULL-terminated */
	size_t n_features;
};

/* ---- XML: reading marks what was read ------------------------------------ */

/* An element without a namespace named name (libvirt's own elements). */
bool xis(const xmlNode *n, const char *name);
/* First child element called name, marked read; NULL if none. */
xmlNode *xchild(xmlNode *n, const char *name);
/* The attribute's value (owned by ctx), marked read; NULL if absent. */
const char *xattr(struct import_ctx *ctx, xmlNode *n, const char *name);
/* The element's text, trimmed (owned by ctx); "" when empty. */
const char *xtext(struct import_ctx *ctx, xmlNode *n);
void xmark(xmlNode *n);
/* The element, its attributes and everything below it: read (libvirt's own bookkeeping). */
void xmark_tree(xmlNode *n);
unsigned xline(const xmlNode *n);

#define xforeach(c, n)                                                                             \
	for (xmlNode *c = (n) ? (n)->children : NULL; c; c = c->next)                              \
		if (c->type == XML_ELEMENT_NODE)

/* ---- items and values ---------------------------------------------------- */

/* An item about element n (its attribute attr when not NULL); marks them read. */
void item(struct import_ctx *ctx, enum import_item_kind kind, xmlNode *n, const char *attr,
	  const char *fmt, ...) _printf_(5, 6);
/* Keeps s (may be NULL: records -ENOMEM) until the conversion ends. */
const char *own(struct import_ctx *ctx, char *s);
const char *ownf(struct import_ctx *ctx, const char *fmt, ...) _printf_(2, 3);

/* Makes room for one more element in *v (of *cap elements), doubling. */
int grow(void **v, size_t size, size_t n, size_t *cap);
/* For a terminal: control characters become '?'. */
void defang(char *s);
/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
void cut_utf8(char *s, size_t max);

/* "on"/"yes" 1, "off"/"no" 0, else -1 (absent too). */
int xbool(const char *s);
/* A whole number; -EINVAL for anything else. */
int xuint(const char *s, unsigned long long max, unsigned long long *ret);

/*
 * libvirt cpusets ("0-3,^2,16"): the CPUs in ascending order, at most
 * max_cpu (exclusive). -EINVAL for a malformed set or an empty one.
 */
int parse_libvirt_cpuset(const char *s, unsigned max_cpu, unsigned **ret, size_t *ret_n);
/* "0,16,1,17" (in order), or with ranges "0-7,16" when sorted. */
char *format_cpus(const unsigned *v, size_t n, bool ranges);

/* ---- the config being written -------------------------------------------- */

/* The section called name, created (at the end) when new. */
struct out_section *section(struct import_ctx *ctx, const char *name, xmlNode *from);
bool section_exists(const struct import_ctx *ctx, const char *name);
bool section_has(const struct out_section *s, const char *key);
/*
 * key = value in s, replacing an earlier value ("extra" adds a line). A value the INI file
 * cannot hold (a control character, ' ;' or ' #' that would read as a
 * comment, spaces at either end, a line over 199 bytes) is not written but
 * listed as an item of from.
 */
void put(struct import_ctx *ctx, struct out_section *s, xmlNode *from, const char *key,
	 const char *fmt, ...) _printf_(5, 6);
void put_bool(struct import_ctx *ctx, struct out_section *s, xmlNode *from, const char *key,
	      bool b);
void put_required(struct import_ctx *ctx, struct out_section *s, xmlNode *from, const char *key,
		  const char *value);
void add_feature(struct import_ctx *ctx, const char *word);
/* A name valid as [vm] name or a section NAME, made from s; NULL if none can be. */
char *sanitize_name(const char *s);

/* ---- the converters -------------------------------------------------------- */

/* Sets ctx->error to "line N: what" and returns -EINVAL (-ENOMEM). */
int import_fail(struct import_ctx *ctx, xmlNode *n, const char *what);

/* Return 0 or -EINVAL (ctx->error set) when the domain lacks something essential. */
int import_domain(struct import_ctx *ctx);
int import_cpu(struct import_ctx *ctx);
/* Also sets ctx->smm, ctx->hidden and the -pmu feature for import_cpu(). */
void import_features(struct import_ctx *ctx);
void import_devices(struct import_ctx *ctx, xmlNode *devices);
