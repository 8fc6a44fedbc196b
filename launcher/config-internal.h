/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared between config.c (reader, loader, cross-key checks) and
 * config-keys.c (the key table and the per-key value parsers). Not part of
 * the config API: other modules include config.h only.
 *
 * A value parser gets the object its section fills (struct vm_config for
 * the plain sections, struct vm_disk / vm_pci / vm_net for the named ones)
 * and the value as inih hands it over (stripped, inline ';' comment gone).
 * On a bad value it returns -EINVAL and sets *ret_why to "what was wrong;
 * expected WHAT"; the caller adds "FILE:LINE: [section] key: " in front.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "config.h"
#include "macro.h"

enum section_kind {
	SECTION_NONE,
	SECTION_VM,
	SECTION_MEMORY,
	SECTION_CPU,
	SECTION_HYPERV,
	SECTION_FIRMWARE,
	SECTION_TPM,
	SECTION_SMBIOS,
	SECTION_CLOCK,
	SECTION_POWER,
	SECTION_WATCHDOG,
	SECTION_DEVICES,
	SECTION_QEMU,
	SECTION_TUNING,
	SECTION_INPUT, /* config-desktop.c */
	SECTION_LOOKING_GLASS,
	SECTION_AUDIO,
	SECTION_DISK, /* the named ones: [disk NAME] [pci NAME] [net NAME] [hook NAME] */
	SECTION_PCI,
	SECTION_NET,
	SECTION_HOOK,
	_SECTION_MAX,
};

static inline bool section_is_named(enum section_kind s)
{
	return s >= SECTION_DISK;
}

/* "vm", "memory", ..., "disk"; NULL for SECTION_NONE. */
const char *section_kind_to_string(enum section_kind s);
enum section_kind section_kind_from_string(const char *s);

struct enum_name {
	const char *name;
	int value;
};

enum key_flags {
	KEY_REPEATABLE = 1 << 0, /* each occurrence appends ([qemu] extra) */
	/*
	 * A file path: a relative value is resolved against the config file's
	 * directory before the parser sees it (config.c, resolve_path()).
	 */
	KEY_PATH = 1 << 1,
	/* A program: a bare name is looked up in PATH, a name with '/' is a KEY_PATH. */
	KEY_PROGRAM = 1 << 2,
};

struct config_key;
typedef int (*config_key_parse_fn)(const struct config_key *k, void *obj, const char *value,
				   char **ret_why);

struct config_key {
	enum section_kind section;
	const char *name;
	config_key_parse_fn parse;
	size_t offset;			/* field in the section's object */
	const struct enum_name *values; /* enum keys */
	unsigned min, max;		/* number keys */
	const char *expect;		/* "an absolute path", NULL: derived from the type */
	unsigned flags;
};

const struct config_key *config_key_find(enum section_kind s, const char *name);
/*
 * Key i of all keys, in table order (the order docs/config.md uses: the
 * table of config-keys.c, then config-desktop.c's), NULL past the last:
 *   for (size_t i = 0; (k = config_key_at(i)); i++)
 */
const struct config_key *config_key_at(size_t i);
/* config-desktop.c's table: [input], [looking-glass], [audio]. */
const struct config_key *config_desktop_keys(size_t *ret_n);

/* Value parsers of config-keys.c that config-desktop.c's table uses too. */
bool config_is_printable_ascii(const char *s);
int parse_key_bool(const struct config_key *k, void *obj, const char *value, char **ret_why);
int parse_key_enum(const struct config_key *k, void *obj, const char *value, char **ret_why);
int parse_key_uint(const struct config_key *k, void *obj, const char *value, char **ret_why);
int parse_key_user(const struct config_key *k, void *obj, const char *value, char **ret_why);
extern const struct enum_name config_bool_names[];
/* config-desktop.c's, for [vm] single-gpu-stop in config-keys.c's table. */
int parse_key_units(const struct config_key *k, void *obj, const char *value, char **ret_why);

/* "yes or no", "one of none, 2M or 1G", k->expect ...: for "expected %s". */
int config_key_expect(const struct config_key *k, char **ret);

/* Closest candidate by edit distance, or NULL when nothing is close enough. */
const char *config_suggest(const char *word, const char *const *candidates, size_t n);

/* Sets *ret_why from the format and returns -EINVAL (-ENOMEM if that fails). */
int config_why(char **ret_why, const char *fmt, ...) _printf_(2, 3);

/* Used by the cross-key checks too. */
bool config_path_is_valid(const char *s);

/* Hyper-V flags that must be on for flag f to work (QEMU docs/system/i386/hyperv.rst). */
size_t hv_flag_requires(enum hv_flag f, const enum hv_flag **ret);

const char *enum_name_lookup(const struct enum_name *table, int value);

/* The values of the enum keys (config-names.c). */
extern const struct enum_name accel_names[], on_poweroff_names[], on_crash_names[],
	hugepages_names[], firmware_type_names[], tpm_names[], smbios_mode_names[],
	clock_base_names[], watchdog_names[], watchdog_action_names[], serial_mode_names[],
	display_names[], disk_media_names[], disk_format_names[], disk_bus_names[],
	disk_cache_names[], disk_aio_names[], disk_discard_names[], net_mode_names[],
	net_model_names[], hook_when_names[], thp_defrag_names[], grab_toggle_names[],
	lg_device_names[], audio_backend_names[], audio_device_names[];

/* The loader's state, shared with the cross-key checks (config-check.c). */
struct config_parser {
	const char *path;
	const char *base_dir; /* absolute directory of the file; NULL: relative paths refused */
	const char *buf;
	size_t len, pos;
	unsigned line;
	struct vm_config *c;

	enum section_kind section; /* current section */
	size_t index;		   /* named sections: index into disks/pci/nets */
	char *label;		   /* "cpu", "disk system": as in messages and key_lines */
	unsigned plain_line[_SECTION_MAX];

	char *msg; /* the first error */
	int r;
};

/*
 * Records the first error as "FILE:LINE: [label] key: what" (LINE left out
 * when 0, "[label] key" when NULL) and returns -EINVAL; later calls keep it.
 */
int config_parser_fail(struct config_parser *p, unsigned line, const char *label, const char *key,
		       const char *fmt, ...) _printf_(5, 6);
int config_named_section_add(struct vm_config *c, enum section_kind s, const char *name,
			     unsigned line, size_t *ret_index);
/*
 * When gamevm runs as root, the config file it read (st, from fstat) must be
 * writable by root alone: owned by root, not group- or world-writable. One
 * exception: a file of the user who ran gamevm through sudo (trusted_uid,
 * from SUDO_UID; (uid_t)-1 for none), not writable by anyone else. That user
 * could run anything as root anyway, and a checkout of theirs run with
 * 'sudo scripts/demo.sh' is the quick start. Returns 0, or -EPERM with
 * *ret_msg saying who could change the file and the chown/chmod that fixes
 * it (-ENOMEM without a message).
 */
int config_file_check_owner(const char *path, const struct stat *st, uid_t trusted_uid,
			    char **ret_msg);
/* SUDO_UID as a uid, (uid_t)-1 when unset, malformed, or 0. */
uid_t config_sudo_uid(void);

/* Runs after parsing: fills the key-dependent defaults and checks the rules. */
int config_check(struct config_parser *p);
/* config-desktop.c: the defaults, the cross-key checks and the freeing of its sections. */
void config_desktop_defaults(struct vm_config *c);
int config_desktop_check(struct config_parser *p);
void config_desktop_free(struct vm_config *c);

/* Limits that the cross-key checks share with the key table. */
#define CONFIG_MAX_CPU	      4096u /* parse_cpu_list bound; host checks come in the plan */
#define CONFIG_MAX_VCPUS      1024u
#define CONFIG_MAX_SECTIONS   64u   /* per kind of named section */
#define CONFIG_MAX_EXTRA_ARGS 1024u /* [qemu] extra, all lines together */
#define CONFIG_MAX_HOOK_ARGS  64u   /* [hook NAME] command: the program and its arguments */
#define CONFIG_MIN_MEMORY     (128ull << 20)
#define CONFIG_MAX_MEMORY     (16ull << 40)
