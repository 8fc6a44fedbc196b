/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm import-libvirt: a libvirt domain (what 'virsh dumpxml' prints) in,
 * the text of a gamevm config file out, with a list of what could not be
 * carried over. docs/import-libvirt.md has the mapping, element by element.
 *
 * Pure: the XML is a buffer, the config is a string, nothing is read or
 * written and nothing is printed. The XML is untrusted (gamevm runs as
 * root): libxml2 parses it without network access, without loading or
 * expanding a DTD (a document with a <!DOCTYPE> is refused), and the
 * input is capped at IMPORT_MAX_INPUT bytes.
 *
 *   _cleanup_(import_result_done) struct import_result res = {};
 *   r = import_libvirt("win11.xml", xml, len, &res);
 *   -EINVAL: res.error says why (malformed XML, no <vcpu> or <memory>, ...)
 *   0: res.config is the config file; res.items what it could not map
 *
 * The config is checked with the config parser before it is returned:
 * a value gamevm refuses is left out and listed as an item with the
 * parser's reason, so the result always loads.
 */
#pragma once

#include <stddef.h>

#define IMPORT_MAX_INPUT (4u << 20)

enum import_item_kind {
	IMPORT_DROPPED, /* nothing in the config stands for it */
	IMPORT_CHANGED, /* converted, but the VM differs from libvirt's in this */
};

struct import_item {
	enum import_item_kind kind;
	unsigned line; /* in the XML (xmlGetLineNo), 0 when unknown */
	char *what;    /* "<shmem name='looking-glass'>" */
	char *why;     /* "no gamevm equivalent; ..." */
};

struct import_result {
	char *config;		   /* the config file, starting with a comment naming the source */
	char *name;		   /* [vm] name it got */
	struct import_item *items; /* sorted by line */
	size_t n_items;
	char *error; /* set on -EINVAL */
};

/*
 * source names the XML in the config's header comment (a file name, or
 * "standard input"). Returns 0, -EINVAL (res->error set), -EFBIG (larger
 * than IMPORT_MAX_INPUT; res->error set) or -ENOMEM.
 */
int import_libvirt(const char *source, const char *xml, size_t len, struct import_result *ret);
void import_result_done(struct import_result *r);

const char *import_item_kind_to_string(enum import_item_kind k);
