/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by plan*.c and qemu-argv*.c only: the diagnostic helpers and the
 * per-area steps plan_build() runs in order. Not a public interface.
 */
#pragma once

#include <stdarg.h>

#include "macro.h"
#include "plan.h"

/* Appends one diagnostic; returns 0 or -ENOMEM. */
int plan_diag(struct plan_diags *d, int level, const char *fmt, ...) _printf_(3, 4);

/*
 * Same, prefixed with where the config says it: "FILE:LINE: [section] key: "
 * (or "FILE: [section] key (default): " when the key is not in the file).
 * fallback_line is used when the key itself has no line (a section header).
 */
int plan_diag_key(struct plan_diags *d, int level, const struct vm_config *c, const char *section,
		  const char *key, unsigned fallback_line, const char *fmt, ...) _printf_(7, 8);

/* Steps of plan_build(), in the order it runs them; each adds diagnostics. */
int plan_hyperv(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		struct plan_diags *d);
int plan_pci(const struct vm_config *c, const struct host_facts *f, struct plan *p,
	     struct plan_diags *d);
int plan_disks(const struct vm_config *c, struct plan *p, struct plan_diags *d);
int plan_nets(const struct vm_config *c, struct plan *p, struct plan_diags *d);
int plan_smbios(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		struct plan_diags *d);
void plan_smbios_done(struct vm_smbios *s);
/* plan-desktop.c: [input]; its root ports go last (n: the ports so far, updated). */
int plan_desktop(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		 struct plan_diags *d);
void plan_desktop_ports(const struct vm_config *c, struct plan *p, unsigned *n);
void plan_desktop_done(struct plan *p);

/*
 * Name-based UUID (RFC 4122 version 5, SHA-1) in gamevm's namespace
 * 6c5efcff-dc33-519d-96ec-5ac6ff96ef4f = uuid5(NAMESPACE_DNS, "gamevm.invalid"),
 * so Python's uuid.uuid5(ns, name) gives the same string. ret: 37 bytes.
 */
void plan_uuid5(const char *name, char ret[static 37]);
/* 52:54:00:xx:xx:xx from the first bytes of uuid5(ns, "VM/net/NET"). ret: 18 bytes. */
void plan_mac(const char *vm, const char *net, char ret[static 18]);

/*
 * A QEMU option value being built, "driver,key=value,...": pieces are
 * joined with commas; user strings go through qopts_str(), which escapes
 * them (a comma is doubled). The first allocation failure sticks in ->err.
 */
struct qopts {
	char *s;
	size_t len;
	int err;
};

void qopts_add(struct qopts *o, const char *fmt, ...) _printf_(2, 3);
void qopts_str(struct qopts *o, const char *key, const char *value);
/* Pushes opt and the built value onto a (an allocation error ends up in a->err). */
void qopts_push(struct strv *a, const char *opt, struct qopts *o);

/* qemu-argv-devices.c: root ports, passthrough, USB, disks, TPM, NICs, display, serial. */
void qemu_argv_devices(const struct vm_config *c, const struct plan *p, struct strv *a);
/* qemu-argv-desktop.c: evdev input objects and the virtio input devices. */
void qemu_argv_desktop(const struct vm_config *c, const struct plan *p, struct strv *a);
