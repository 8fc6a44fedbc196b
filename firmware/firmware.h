/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU firmware descriptors (docs/interop/firmware.json in QEMU): discovery
 * with the spec's precedence and matching against what a VM needs.
 *
 * Search order (later directories override earlier ones by file basename;
 * a zero-length file masks a lower-priority one of the same name; the union
 * is sorted by basename and the first match wins):
 *   1. <root>/usr/share/qemu/firmware
 *   2. <root>/etc/qemu/firmware
 *   3. $XDG_CONFIG_HOME/qemu/firmware (default $HOME/.config/qemu/firmware),
 *      taken relative to the root as well
 *
 * Library code: returns 0 or negative errno, never prints.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Descriptors are a few hundred bytes; anything past this is not one. */
#define FIRMWARE_DESC_MAX_SIZE (64 * 1024)

enum firmware_feature {
	FW_FEATURE_ACPI_S3 = 1 << 0,
	FW_FEATURE_ACPI_S4 = 1 << 1,
	FW_FEATURE_AMD_SEV = 1 << 2,
	FW_FEATURE_AMD_SEV_ES = 1 << 3,
	FW_FEATURE_ENROLLED_KEYS = 1 << 4,
	FW_FEATURE_REQUIRES_SMM = 1 << 5,
	FW_FEATURE_SECURE_BOOT = 1 << 6,
	FW_FEATURE_VERBOSE_DYNAMIC = 1 << 7,
	FW_FEATURE_VERBOSE_STATIC = 1 << 8,
	FW_FEATURE_AMD_SEV_SNP = 1 << 9,
	FW_FEATURE_INTEL_TDX = 1 << 10,
	/* needs QEMU's uefi-vars device (QEMU 10); gamevm does not set it up */
	FW_FEATURE_HOST_UEFI_VARS = 1 << 11,
};

enum firmware_interface {
	FW_INTERFACE_UEFI = 1 << 0,
	FW_INTERFACE_BIOS = 1 << 1,
};

struct firmware_target {
	char *architecture; /* "x86_64" */
	char **machines;    /* fnmatch globs, "pc-q35-*" */
};

struct firmware_desc {
	char *file; /* the descriptor's path, as found (for messages) */
	char *name; /* its basename, the precedence key */
	char *description;
	unsigned interfaces; /* enum firmware_interface bits */
	bool flash;	     /* mapping.device == "flash" and mode split */
	char *code;	     /* executable.filename (flash) or filename (memory) */
	char *code_format;   /* "raw" / "qcow2"; NULL for memory (-bios) */
	char *vars_template; /* nvram-template.filename, NULL for memory/stateless */
	char *vars_format;
	struct firmware_target *targets;
	size_t n_targets;
	unsigned features; /* enum firmware_feature bits */
};

struct firmware_list {
	struct firmware_desc *descs; /* in precedence order */
	size_t n_descs;
	char **skipped;	  /* "file: reason" for descriptors that failed to load */
	size_t n_skipped; /* skipped is NULL-terminated, or NULL when empty */
};

/*
 * Parses one descriptor from a buffer. -EINVAL on bad JSON or missing
 * required members; -EOPNOTSUPP for mappings gamevm cannot use (kernel,
 * combined or stateless flash).
 */
int firmware_desc_parse(const char *file, const char *json, struct firmware_desc *ret);
/*
 * Same, for a buffer of len bytes (embedded NULs are rejected); on failure
 * *error (if error is non-NULL) gets a malloc'd reason without the file name,
 * e.g. "member 'mapping.executable.filename' is not a string".
 */
int firmware_desc_parse_buf(const char *file, const char *json, size_t len,
			    struct firmware_desc *ret, char **error);
void firmware_desc_done(struct firmware_desc *d);

/*
 * root_fd: the host root; every path (the user directory from
 * xdg_config_home, else home + "/.config", both optional) is resolved inside
 * it. desc->file is the path as the host sees it ("/etc/qemu/firmware/x.json").
 * A zero-length file or a symlink to /dev/null masks its name. Files that
 * cannot be read or parsed, and mappings gamevm cannot use, go to ->skipped;
 * only allocation failure (or root_fd < 0) fails the load.
 */
int firmware_list_load(int root_fd, const char *xdg_config_home, const char *home,
		       struct firmware_list *ret);
void firmware_list_done(struct firmware_list *l);

struct firmware_want {
	unsigned interface;  /* FW_INTERFACE_UEFI */
	const char *arch;    /* "x86_64" */
	const char *machine; /* concrete: "pc-q35-7.2" */
	int secure_boot;     /* 1 must, 0 must not, -1 don't care */
	int enrolled_keys;   /* 1 must, 0 must not, -1 prefer enrolled */
	int smm_available;   /* 0: reject requires-smm firmware */
	bool need_s3, need_s4;
};

/*
 * First descriptor in precedence order that satisfies want. For UEFI only
 * split flash descriptors qualify (the VM gets its own NVRAM copy), and
 * none that needs host-uefi-vars. With
 * enrolled_keys == -1, one with enrolled keys is preferred over an earlier
 * one without. -ENOENT when none matches; *ret_why then says, for the
 * closest candidate, which requirement failed (malloc'd, may be NULL).
 */
int firmware_list_match(const struct firmware_list *l, const struct firmware_want *want,
			const struct firmware_desc **ret, char **ret_why);

const char *firmware_feature_to_string(enum firmware_feature f);
/* 0 for a name gamevm does not know (the spec keeps adding features) */
enum firmware_feature firmware_feature_from_string(const char *s);
const char *firmware_interface_to_string(enum firmware_interface i);
