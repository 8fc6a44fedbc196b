/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The key table and the per-key value parsers. Each key names the field it
 * fills by offset, so the table is the whole description of the file format
 * (docs/config.md follows its order). Cross-key rules live in config.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-internal.h"
#include "parse-util.h"

/* Enum fields are written through int *; they must be int-sized. */
_Static_assert(sizeof(enum accel_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tristate) == sizeof(int), "enum size");
_Static_assert(sizeof(enum disk_cache) == sizeof(int), "enum size");
_Static_assert(sizeof(enum on_poweroff) == sizeof(int), "enum size");
_Static_assert(sizeof(enum on_crash) == sizeof(int), "enum size");

#define SMBIOS_MAX_LEN	64
#define FEATURES_MAX	64
#define IDENT_MAX_LEN	64
#define IFNAME_MAX_LEN	15 /* IFNAMSIZ - 1 */
#define DISK_SERIAL_MAX 20 /* virtio-blk's ID string is 20 bytes */
#define VENDOR_ID_MAX	12 /* 3 CPUID registers */
#define SPINLOCKS_MIN	4095u

/* ---- value syntaxes ---------------------------------------------------- */

#define FIELD(obj, k, type) ((type *)((char *)(obj) + (k)->offset))

bool config_is_printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool chars_in(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

bool config_path_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (s[0] != '/' || n >= 4096)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	/* A ".." component would let the path leave the directory it names. */
	for (const char *p = s; (p = strstr(p, "..")); p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == 0))
			return false;
	return true;
}

int config_key_expect(const struct config_key *k, char **ret)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f;

	if (k->expect)
		return (*ret = strdup(k->expect)) ? 0 : -ENOMEM;
	if (!k->values) {
		if (asprintf(&s, "a whole number from %u to %u", k->min, k->max) < 0)
			return -ENOMEM;
		*ret = s;
		return 0;
	}
	f = open_memstream(&s, &n);
	if (!f)
		return -ENOMEM;
	for (const struct enum_name *e = k->values; e->name; e++)
		fprintf(f, "%s%s", e == k->values ? "" : e[1].name ? ", " : " or ", e->name);
	if (fclose(f) != 0) {
		free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

static int why_expect(const struct config_key *k, const char *value, char **ret_why)
{
	_cleanup_free_ char *expect = NULL;
	int r = config_key_expect(k, &expect);

	if (r < 0)
		return r;
	return config_why(ret_why, "'%s' is not valid; expected %s", value, expect);
}

static int set_string(const struct config_key *k, void *obj, const char *value)
{
	char **p = FIELD(obj, k, char *);
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*p);
	*p = s;
	return 0;
}

const struct enum_name config_bool_names[] = { { "yes", 1 }, { "no", 0 }, { 0 } };
static const struct enum_name tristate_names[] = {
	{ "yes", TRISTATE_ON }, { "no", TRISTATE_OFF }, { "auto", TRISTATE_AUTO }, { 0 }
};

int parse_key_bool(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	if (parse_bool(value, FIELD(obj, k, bool)) < 0)
		return why_expect(k, value, ret_why);
	return 0;
}

static int parse_key_tristate(const struct config_key *k, void *obj, const char *value,
			      char **ret_why)
{
	bool b;

	if (strcasecmp(value, "auto") == 0) {
		*FIELD(obj, k, enum tristate) = TRISTATE_AUTO;
		return 0;
	}
	if (parse_bool(value, &b) < 0)
		return why_expect(k, value, ret_why);
	*FIELD(obj, k, enum tristate) = b ? TRISTATE_ON : TRISTATE_OFF;
	return 0;
}

int parse_key_enum(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	const char *names[16];
	size_t n = 0;
	const char *s;
	int r;

	for (const struct enum_name *e = k->values; e->name; e++) {
		if (strcasecmp(value, e->name) == 0) {
			*FIELD(obj, k, int) = e->value;
			return 0;
		}
		if (n < ELEMENTSOF(names))
			names[n++] = e->name;
	}
	r = why_expect(k, value, ret_why);
	s = config_suggest(value, names, n);
	if (r == -EINVAL && s) {
		char *t;
		if (asprintf(&t, "%s; did you mean '%s'?", *ret_why, s) < 0)
			return -ENOMEM;
		free(*ret_why);
		*ret_why = t;
	}
	return r;
}

int parse_key_uint(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	unsigned v;

	if (safe_atou(value, &v) < 0 || v < k->min || v > k->max)
		return why_expect(k, value, ret_why);
	*FIELD(obj, k, unsigned) = v;
	return 0;
}

/* Relative values arrive resolved against the config file's directory (KEY_PATH). */
static int parse_key_path(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	size_t n = strlen(value);

	if (value[0] != '/')
		return config_why(
			ret_why,
			"'%s' is a relative path; expected an absolute path (starting with '/')",
			value);
	if (strchr(value, '\t'))
		return config_why(ret_why, "'%s' contains a tab; expected a path without tabs",
				  value);
	if (!config_path_is_valid(value))
		return config_why(
			ret_why,
			"'%s' is not a usable path; expected an absolute path without '..' components",
			value);
	if (value[n - 1] == '/' || (n >= 2 && streq(value + n - 2, "/.")))
		return config_why(ret_why, "'%s' names a directory; expected the path of a file",
				  value);
	return set_string(k, obj, value);
}

static int parse_key_size(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	uint64_t v;

	if (parse_size(value, &v) < 0)
		return why_expect(k, value, ret_why);
	*FIELD(obj, k, uint64_t) = v;
	return 0;
}

static int parse_key_machine(const struct config_key *k, void *obj, const char *value,
			     char **ret_why)
{
	/* gamevm builds a PCIe topology (root ports for VFIO): Q35 only. */
	if (!streq(value, "q35") && !(strncmp(value, "pc-q35-", 7) == 0 && value[7] &&
				      strlen(value) <= IDENT_MAX_LEN && chars_in(value + 7, ".")))
		return why_expect(k, value, ret_why);
	return set_string(k, obj, value);
}

/*
 * The VM name is a directory name under the run and state directories and an
 * argument of gamevm stop/status/cleanup: the character set keeps it one
 * path component ("/", "..", "." are refused), and it may not look like an
 * option.
 */
static int parse_key_name(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	size_t n = strlen(value);

	if (n > NAME_MAX_LEN && chars_in(value, "_-"))
		return config_why(ret_why,
				  "'%s' is %zu characters; expected at most %d, e.g. win11", value,
				  n, NAME_MAX_LEN);
	if (!name_is_valid(value))
		return why_expect(k, value, ret_why);
	if (value[0] == '-')
		return config_why(
			ret_why,
			"'%s' starts with '-', which 'gamevm stop %s' would take for an option; expected a name that starts with a letter, a digit or '_', e.g. win11",
			value, value);
	return set_string(k, obj, value);
}

static int parse_key_ident(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	if (!isalnum((unsigned char)value[0]) || strlen(value) > IDENT_MAX_LEN ||
	    !chars_in(value, "._-"))
		return why_expect(k, value, ret_why);
	return set_string(k, obj, value);
}

static int parse_key_qemu_binary(const struct config_key *k, void *obj, const char *value,
				 char **ret_why)
{
	if (value[0] == '/')
		return parse_key_path(k, obj, value, ret_why);
	if (strlen(value) > IDENT_MAX_LEN || !chars_in(value, "._+-"))
		return why_expect(k, value, ret_why);
	return set_string(k, obj, value);
}

int parse_key_user(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	if (streq(value, "root"))
		return config_why(
			ret_why,
			"root would give QEMU back every privilege gamevm drops; expected an unprivileged user (the default is gamevm)");
	if (!(islower((unsigned char)value[0]) || value[0] == '_') || strlen(value) > 32)
		return why_expect(k, value, ret_why);
	for (const char *p = value; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_' &&
		    *p != '-')
			return why_expect(k, value, ret_why);
	return set_string(k, obj, value);
}

static int parse_key_uuid(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	char buf[37];

	if (strlen(value) != 36)
		return why_expect(k, value, ret_why);
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? value[i] != '-' : !isxdigit((unsigned char)value[i]))
			return why_expect(k, value, ret_why);
		buf[i] = (char)tolower((unsigned char)value[i]);
	}
	buf[36] = 0;
	return set_string(k, obj, buf);
}

static int parse_key_memory_node(const struct config_key *k, void *obj, const char *value,
				 char **ret_why)
{
	unsigned v;

	if (strcasecmp(value, "auto") == 0) {
		*FIELD(obj, k, int) = -1;
		return 0;
	}
	if (safe_atou(value, &v) < 0 || v > 1023)
		return why_expect(k, value, ret_why);
	*FIELD(obj, k, int) = (int)v;
	return 0;
}

static int parse_key_prealloc_threads(const struct config_key *k, void *obj, const char *value,
				      char **ret_why)
{
	unsigned v;

	if (strcasecmp(value, "auto") == 0) {
		*FIELD(obj, k, unsigned) = 0;
		return 0;
	}
	if (safe_atou(value, &v) < 0 || v < 1 || v > 1024)
		return why_expect(k, value, ret_why);
	*FIELD(obj, k, unsigned) = v;
	return 0;
}

static int parse_key_features(const struct config_key *k, void *obj, const char *value,
			      char **ret_why)
{
	struct vm_config *c = obj;
	_cleanup_free_ char *copy = strdup(value);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		bool enabled = true;
		struct cpu_feature *nf;
		const char *name = t;

		if (strchr(t, ','))
			return config_why(
				ret_why,
				"'%s' has commas; expected feature names separated by spaces, e.g. 'topoext invtsc'",
				value);
		if (t[0] == '+')
			return config_why(
				ret_why,
				"'%s' uses '+'; expected 'topoext' to enable a feature and '-topoext' to disable it",
				t);
		if (t[0] == '-') {
			enabled = false;
			name++;
		}
		if (strncmp(name, "hv-", 3) == 0 || strncmp(name, "hv_", 3) == 0)
			return config_why(
				ret_why,
				"'%s' is a Hyper-V enlightenment; expected it in [hyperv] (e.g. '%s = yes')",
				t, name + 3);
		if (strcmp(name, "kvm") == 0)
			return config_why(
				ret_why,
				"'%s' is not a CPU feature here; expected hide-hypervisor = yes in [cpu] to hide KVM",
				t);
		if (!isalnum((unsigned char)name[0]) || strlen(name) > IDENT_MAX_LEN ||
		    !chars_in(name, "._-"))
			return config_why(
				ret_why,
				"'%s' is not a CPU feature name; expected names like 'topoext invtsc -svm'",
				t);
		for (size_t i = 0; i < c->n_features; i++)
			if (streq(c->features[i].name, name))
				return config_why(
					ret_why, "'%s' is listed twice; expected each feature once",
					name);
		if (c->n_features >= FEATURES_MAX)
			return config_why(ret_why, "more than %d features; expected fewer",
					  FEATURES_MAX);
		nf = realloc(c->features, (c->n_features + 1) * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		c->features = nf;
		nf[c->n_features].name = strdup(name);
		if (!nf[c->n_features].name)
			return -ENOMEM;
		nf[c->n_features++].enabled = enabled;
	}
	return 0;
}

static int parse_cpus(const char *value, unsigned flags, unsigned **ret, size_t *ret_n,
		      bool *ret_auto, const struct config_key *k, char **ret_why)
{
	_cleanup_free_ char *expect = NULL;
	unsigned *v = NULL;
	size_t n = 0;
	int r;

	if (strcasecmp(value, "auto") == 0) {
		free(*ret);
		*ret = NULL;
		*ret_n = 0;
		*ret_auto = true;
		return 0;
	}
	r = parse_cpu_list(value, CONFIG_MAX_CPU, flags, &v, &n);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		int q = config_key_expect(k, &expect);
		if (q < 0)
			return q;
		if (r == -ERANGE)
			return config_why(ret_why, "'%s' names a CPU above %u; expected %s", value,
					  CONFIG_MAX_CPU - 1, expect);
		if (r == -EEXIST)
			return config_why(ret_why,
					  "'%s' lists a CPU twice; expected each host CPU once",
					  value);
		return config_why(ret_why, "'%s' is not a CPU list; expected %s", value, expect);
	}
	free(*ret);
	*ret = v;
	*ret_n = n;
	*ret_auto = false;
	return 0;
}

static int parse_key_pin(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	struct vm_config *c = obj;
	return parse_cpus(value, CPU_LIST_ALLOW_DUPLICATES, &c->pin, &c->n_pin, &c->pin_auto, k,
			  ret_why);
}

static int parse_key_housekeeping(const struct config_key *k, void *obj, const char *value,
				  char **ret_why)
{
	struct vm_config *c = obj;
	return parse_cpus(value, 0, &c->housekeeping, &c->n_housekeeping, &c->housekeeping_auto, k,
			  ret_why);
}

static int parse_key_spinlocks(const struct config_key *k, void *obj, const char *value,
			       char **ret_why)
{
	unsigned v;

	if (strcasecmp(value, "off") == 0 || strcasecmp(value, "no") == 0) {
		*FIELD(obj, k, unsigned) = 0;
		return 0;
	}
	if (safe_atou(value, &v) < 0)
		return why_expect(k, value, ret_why);
	if (v < SPINLOCKS_MIN)
		return config_why(
			ret_why,
			"%u retries is below Hyper-V's minimum; expected at least %u (e.g. 8191), or off",
			v, SPINLOCKS_MIN);
	*FIELD(obj, k, unsigned) = v;
	return 0;
}

static int parse_key_vendor_id(const struct config_key *k, void *obj, const char *value,
			       char **ret_why)
{
	if (strlen(value) > VENDOR_ID_MAX)
		return config_why(
			ret_why,
			"'%s' is %zu characters; expected at most %d (it fills three CPUID registers), e.g. AuthenticAMD",
			value, strlen(value), VENDOR_ID_MAX);
	if (!config_is_printable_ascii(value))
		return why_expect(k, value, ret_why);
	return set_string(k, obj, value);
}

static int parse_key_hypervclock(const struct config_key *k, void *obj, const char *value,
				 char **ret_why)
{
	struct vm_config *c = obj;
	int r = parse_key_tristate(k, obj, value, ret_why);

	if (r < 0)
		return r;
	c->hypervclock = c->hyperv.flags[HV_TIME] != TRISTATE_OFF;
	return 0;
}

static int parse_key_tpm_version(const struct config_key *k, void *obj, const char *value,
				 char **ret_why)
{
	if (streq(value, "2.0") || streq(value, "2"))
		return 0;
	if (streq(value, "1.2"))
		return config_why(
			ret_why,
			"TPM 1.2 is not supported (Windows 11 needs TPM 2.0); expected 2.0");
	return why_expect(k, value, ret_why);
}

static int parse_key_smbios(const struct config_key *k, void *obj, const char *value,
			    char **ret_why)
{
	if (strlen(value) > SMBIOS_MAX_LEN)
		return config_why(ret_why, "'%s' is %zu characters; expected at most %d", value,
				  strlen(value), SMBIOS_MAX_LEN);
	if (!config_is_printable_ascii(value))
		return why_expect(k, value, ret_why);
	return set_string(k, obj, value);
}

static int parse_key_bios_date(const struct config_key *k, void *obj, const char *value,
			       char **ret_why)
{
	unsigned mm, dd, yyyy;
	int end = 0;

	/* SMBIOS 2.3+ type 0 wants MM/DD/YYYY. */
	if (strlen(value) != 10 || sscanf(value, "%2u/%2u/%4u%n", &mm, &dd, &yyyy, &end) != 3 ||
	    end != 10 || !isdigit((unsigned char)value[0]) || !isdigit((unsigned char)value[3]) ||
	    !isdigit((unsigned char)value[6]) || mm < 1 || mm > 12 || dd < 1 || dd > 31)
		return why_expect(k, value, ret_why);
	return set_string(k, obj, value);
}

static int parse_key_bios_release(const struct config_key *k, void *obj, const char *value,
				  char **ret_why)
{
	_cleanup_free_ char *major = strdup(value);
	char *dot;
	unsigned a, b;

	if (!major)
		return -ENOMEM;
	dot = strchr(major, '.');
	if (!dot)
		return why_expect(k, value, ret_why);
	*dot = 0;
	if (safe_atou(major, &a) < 0 || safe_atou(dot + 1, &b) < 0 || a > 255 || b > 255)
		return why_expect(k, value, ret_why);
	return set_string(k, obj, value);
}

static int parse_key_vnc(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	_cleanup_free_ char *host = strdup(value);
	char *colon;
	unsigned display;

	if (!host)
		return -ENOMEM;
	colon = strrchr(host, ':');
	if (!colon || colon == host)
		return why_expect(k, value, ret_why);
	*colon = 0;
	if (safe_atou(colon + 1, &display) < 0 || display > 99)
		return why_expect(k, value, ret_why);
	if (host[0] == '[') {
		size_t n = strlen(host);
		if (n < 3 || host[n - 1] != ']')
			return why_expect(k, value, ret_why);
		host[n - 1] = 0;
		if (!chars_in(host + 1, ":."))
			return why_expect(k, value, ret_why);
	} else if (!chars_in(host, ".-")) {
		return why_expect(k, value, ret_why);
	}
	return set_string(k, obj, value);
}

static int parse_key_disk_serial(const struct config_key *k, void *obj, const char *value,
				 char **ret_why)
{
	if (strlen(value) > DISK_SERIAL_MAX)
		return config_why(
			ret_why,
			"'%s' is %zu characters; expected at most %d (the virtio-blk and ATA limit)",
			value, strlen(value), DISK_SERIAL_MAX);
	if (!config_is_printable_ascii(value))
		return why_expect(k, value, ret_why);
	return set_string(k, obj, value);
}

static int parse_key_pci_addr(const struct config_key *k, void *obj, const char *value,
			      char **ret_why)
{
	if (parse_pci_addr(value, FIELD(obj, k, struct pci_addr)) < 0)
		return why_expect(k, value, ret_why);
	return 0;
}

static int parse_key_ifname(const struct config_key *k, void *obj, const char *value,
			    char **ret_why)
{
	/* The kernel's dev_valid_name(): < IFNAMSIZ, no '/', ':' or space, not . or .. */
	if (strlen(value) > IFNAME_MAX_LEN)
		return config_why(
			ret_why,
			"'%s' is %zu characters; expected a Linux interface name of at most %d",
			value, strlen(value), IFNAME_MAX_LEN);
	if (streq(value, ".") || streq(value, "..") || strpbrk(value, "/: \t") ||
	    !config_is_printable_ascii(value))
		return why_expect(k, value, ret_why);
	return set_string(k, obj, value);
}

static int parse_key_mac(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	char buf[18];
	unsigned first;

	if (strlen(value) != 17)
		return why_expect(k, value, ret_why);
	for (size_t i = 0; i < 17; i++) {
		if (i % 3 == 2 ? value[i] != ':' : !isxdigit((unsigned char)value[i]))
			return why_expect(k, value, ret_why);
		buf[i] = (char)tolower((unsigned char)value[i]);
	}
	buf[17] = 0;
	first = (unsigned)strtoul(buf, NULL, 16);
	if (first & 1)
		return config_why(
			ret_why,
			"'%s' is a multicast address (first byte is odd); expected a unicast MAC like 52:54:00:12:34:56",
			value);
	if (streq(buf, "00:00:00:00:00:00"))
		return why_expect(k, value, ret_why);
	return set_string(k, obj, buf);
}

static int parse_key_stat_interval(const struct config_key *k, void *obj, const char *value,
				   char **ret_why)
{
	unsigned v;

	if (strcasecmp(value, "keep") == 0) {
		*FIELD(obj, k, unsigned) = 0;
		return 0;
	}
	if (safe_atou(value, &v) < 0 || v < 1 || v > 3600)
		return why_expect(k, value, ret_why);
	*FIELD(obj, k, unsigned) = v;
	return 0;
}

static int parse_key_extra(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	struct vm_config *c = obj;
	_cleanup_free_ char *copy = strdup(value);
	char *save = NULL;
	size_t n = 0;

	if (!copy)
		return -ENOMEM;
	while (c->extra_args && c->extra_args[n])
		n++;
	for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		char **v;

		/* Also keeps the count above from making a long file quadratic. */
		if (n >= CONFIG_MAX_EXTRA_ARGS)
			return config_why(
				ret_why,
				"more than %u arguments in all; expected a few options that gamevm does not generate",
				CONFIG_MAX_EXTRA_ARGS);
		v = realloc(c->extra_args, (n + 2) * sizeof(char *));
		if (!v)
			return -ENOMEM;
		c->extra_args = v;
		v[n] = strdup(t);
		if (!v[n])
			return -ENOMEM;
		v[++n] = NULL;
	}
	return 0;
}

/* ---- the table --------------------------------------------------------- */

#define CFG(f)	   offsetof(struct vm_config, f)
#define DISK(f)	   offsetof(struct vm_disk, f)
#define PCI(f)	   offsetof(struct vm_pci, f)
#define NET(f)	   offsetof(struct vm_net, f)
#define BOOL	   .parse = parse_key_bool, .values = config_bool_names
#define TRISTATE   .parse = parse_key_tristate, .values = tristate_names
#define ENUM(t)	   .parse = parse_key_enum, .values = (t)
#define UINT(a, b) .parse = parse_key_uint, .min = (a), .max = (b)
#define PATH                                                                                       \
	.parse = parse_key_path, .flags = KEY_PATH,                                                \
	.expect =                                                                                  \
		"a file path without '..' components, absolute or relative to the config file's directory"
#define HV(flag, n)                                                                                \
	{                                                                                          \
		SECTION_HYPERV, n, .offset = CFG(hyperv.flags[flag]), TRISTATE                     \
	}
#define SMBIOS(n, f)                                                                               \
	{                                                                                          \
		SECTION_SMBIOS, n, parse_key_smbios, CFG(smbios.f),                                \
			.expect = "up to 64 printable ASCII characters"                            \
	}

#define CPU_LIST_EXPECT "host CPUs like 0-7,16-23 or 0,16,1,17, or auto"

static const struct config_key keys[] = {
	{ SECTION_VM, "name", parse_key_name, CFG(name),
	  .expect = "1 to 32 characters from A-Z a-z 0-9 _ -, e.g. win11" },
	{ SECTION_VM, "accel", .offset = CFG(accel), ENUM(accel_names) },
	{ SECTION_VM, "machine", parse_key_machine, CFG(machine),
	  .expect = "q35 or a versioned Q35 machine like pc-q35-9.2" },
	{ SECTION_VM, "qemu-binary", parse_key_qemu_binary, CFG(qemu_binary),
	  .expect = "a program name looked up in PATH (qemu-system-x86_64) or a file path",
	  .flags = KEY_PROGRAM },
	{ SECTION_VM, "user", parse_key_user, CFG(user),
	  .expect = "a Linux user name like qemu (lower case, digits, _ and -, at most 32)" },
	{ SECTION_VM, "uuid", parse_key_uuid, CFG(uuid),
	  .expect = "a UUID like 8c3d4d52-8d0b-4a5e-9c1f-6a2b3c4d5e6f" },
	{ SECTION_VM, "single-gpu", .offset = CFG(single_gpu), BOOL },
	{ SECTION_VM, "single-gpu-stop", parse_key_units, CFG(single_gpu_stop),
	  .expect = "systemd units separated by blanks, e.g. display-manager.service, or none" },
	{ SECTION_VM, "single-gpu-timeout", .offset = CFG(single_gpu_timeout), UINT(1, 120) },
	{ SECTION_VM, "single-gpu-end-sessions", .offset = CFG(single_gpu_end_sessions), BOOL },
	{ SECTION_VM, "single-gpu-consoles", .offset = CFG(single_gpu_consoles), BOOL },
	{ SECTION_VM, "on-poweroff", .offset = CFG(on_poweroff), ENUM(on_poweroff_names) },
	{ SECTION_VM, "on-crash", .offset = CFG(on_crash), ENUM(on_crash_names) },
	{ SECTION_VM, "restart-limit", .offset = CFG(restart_limit), UINT(1, 100) },
	{ SECTION_VM, "inhibit-sleep", .offset = CFG(inhibit_sleep), TRISTATE },

	{ SECTION_MEMORY, "size", parse_key_size, CFG(memory_bytes),
	  .expect = "a size with a K, M, G or T suffix, e.g. 16G" },
	{ SECTION_MEMORY, "hugepages", .offset = CFG(hugepages), ENUM(hugepages_names) },
	{ SECTION_MEMORY, "node", parse_key_memory_node, CFG(memory_node),
	  .expect = "auto or a host NUMA node number (0, 1, ...)" },
	{ SECTION_MEMORY, "prealloc-threads", parse_key_prealloc_threads, CFG(prealloc_threads),
	  .expect = "auto or a number of threads from 1 to 1024" },
	{ SECTION_MEMORY, "lock", .offset = CFG(memory_lock), BOOL },

	{ SECTION_CPU, "vcpus", .offset = CFG(vcpus), UINT(1, CONFIG_MAX_VCPUS) },
	{ SECTION_CPU, "sockets", .offset = CFG(topology.sockets), UINT(1, CONFIG_MAX_VCPUS) },
	{ SECTION_CPU, "dies", .offset = CFG(topology.dies), UINT(1, CONFIG_MAX_VCPUS) },
	{ SECTION_CPU, "cores", .offset = CFG(topology.cores), UINT(1, CONFIG_MAX_VCPUS) },
	{ SECTION_CPU, "threads", .offset = CFG(topology.threads), UINT(1, CONFIG_MAX_VCPUS) },
	{ SECTION_CPU, "model", parse_key_ident, CFG(cpu_model),
	  .expect = "host or a QEMU CPU model name like EPYC-v4" },
	{ SECTION_CPU, "features", parse_key_features, 0,
	  .expect =
		  "CPU feature names separated by spaces, '-' in front to disable, e.g. 'topoext invtsc -svm'" },
	{ SECTION_CPU, "cache-passthrough", .offset = CFG(cache_passthrough), BOOL },
	{ SECTION_CPU, "hide-hypervisor", .offset = CFG(hide_hypervisor), BOOL },
	{ SECTION_CPU, "pin", parse_key_pin, 0,
	  .expect = "one host CPU per vCPU in vCPU order, like 0,16,1,17 or 0-7, or auto" },
	{ SECTION_CPU, "housekeeping", parse_key_housekeeping, 0, .expect = CPU_LIST_EXPECT },
	{ SECTION_CPU, "iothreads", .offset = CFG(iothreads), UINT(0, 64) },

	{ SECTION_HYPERV, "enabled", .offset = CFG(hyperv.enabled), BOOL },
	{ SECTION_HYPERV, "passthrough", .offset = CFG(hyperv.passthrough), BOOL },
	HV(HV_RELAXED, "relaxed"),
	HV(HV_VAPIC, "vapic"),
	HV(HV_VPINDEX, "vpindex"),
	HV(HV_RUNTIME, "runtime"),
	HV(HV_SYNIC, "synic"),
	HV(HV_STIMER, "stimer"),
	HV(HV_STIMER_DIRECT, "stimer-direct"),
	HV(HV_RESET, "reset"),
	HV(HV_FREQUENCIES, "frequencies"),
	HV(HV_REENLIGHTENMENT, "reenlightenment"),
	HV(HV_TLBFLUSH, "tlbflush"),
	HV(HV_IPI, "ipi"),
	HV(HV_EVMCS, "evmcs"),
	HV(HV_AVIC, "avic"),
	{ SECTION_HYPERV, "spinlocks", parse_key_spinlocks, CFG(hyperv.spinlocks),
	  .expect = "a retry count of at least 4095 (e.g. 8191), or off" },
	{ SECTION_HYPERV, "vendor-id", parse_key_vendor_id, CFG(hyperv.vendor_id),
	  .expect = "1 to 12 printable ASCII characters, e.g. AuthenticAMD" },

	{ SECTION_FIRMWARE, "type", .offset = CFG(firmware), ENUM(firmware_type_names) },
	{ SECTION_FIRMWARE, "secure-boot", .offset = CFG(secure_boot), BOOL },
	{ SECTION_FIRMWARE, "enrolled-keys", .offset = CFG(enrolled_keys), TRISTATE },
	{ SECTION_FIRMWARE, "smm", .offset = CFG(smm), TRISTATE },
	{ SECTION_FIRMWARE, "code", .offset = CFG(firmware_code), PATH },
	{ SECTION_FIRMWARE, "vars", .offset = CFG(firmware_vars), PATH },

	{ SECTION_TPM, "model", .offset = CFG(tpm), ENUM(tpm_names) },
	{ SECTION_TPM, "version", parse_key_tpm_version, 0, .expect = "2.0" },

	{ SECTION_SMBIOS, "mode", .offset = CFG(smbios.mode), ENUM(smbios_mode_names) },
	{ SECTION_SMBIOS, "oem-activation", .offset = CFG(smbios.oem_activation), BOOL },
	SMBIOS("bios-vendor", bios_vendor),
	SMBIOS("bios-version", bios_version),
	{ SECTION_SMBIOS, "bios-date", parse_key_bios_date, CFG(smbios.bios_date),
	  .expect = "a date as MM/DD/YYYY, e.g. 06/05/2023" },
	{ SECTION_SMBIOS, "bios-release", parse_key_bios_release, CFG(smbios.bios_release),
	  .expect = "MAJOR.MINOR with each part 0 to 255, e.g. 5.17" },
	SMBIOS("system-manufacturer", system_manufacturer),
	SMBIOS("system-product", system_product),
	SMBIOS("system-version", system_version),
	SMBIOS("system-serial", system_serial),
	SMBIOS("system-sku", system_sku),
	SMBIOS("system-family", system_family),
	SMBIOS("baseboard-manufacturer", baseboard_manufacturer),
	SMBIOS("baseboard-product", baseboard_product),
	SMBIOS("baseboard-version", baseboard_version),
	SMBIOS("baseboard-serial", baseboard_serial),
	SMBIOS("baseboard-asset", baseboard_asset),
	SMBIOS("baseboard-location", baseboard_location),
	SMBIOS("chassis-manufacturer", chassis_manufacturer),
	SMBIOS("chassis-version", chassis_version),
	SMBIOS("chassis-serial", chassis_serial),
	SMBIOS("chassis-asset", chassis_asset),
	SMBIOS("chassis-sku", chassis_sku),

	{ SECTION_CLOCK, "base", .offset = CFG(clock_base), ENUM(clock_base_names) },
	{ SECTION_CLOCK, "rtc-catchup", .offset = CFG(rtc_catchup), BOOL },
	{ SECTION_CLOCK, "pit-delay", .offset = CFG(pit_delay), BOOL },
	{ SECTION_CLOCK, "hpet", .offset = CFG(hpet), BOOL },
	{ SECTION_CLOCK, "hypervclock", parse_key_hypervclock, CFG(hyperv.flags[HV_TIME]),
	  .values = tristate_names },

	{ SECTION_POWER, "s3", .offset = CFG(s3), BOOL },
	{ SECTION_POWER, "s4", .offset = CFG(s4), BOOL },

	{ SECTION_WATCHDOG, "model", .offset = CFG(watchdog), ENUM(watchdog_names) },
	{ SECTION_WATCHDOG, "action", .offset = CFG(watchdog_action), ENUM(watchdog_action_names) },

	{ SECTION_DEVICES, "balloon", .offset = CFG(balloon), BOOL },
	{ SECTION_DEVICES, "usb-controller", .offset = CFG(usb_controller), BOOL },
	{ SECTION_DEVICES, "serial", .offset = CFG(serial), ENUM(serial_mode_names) },
	{ SECTION_DEVICES, "serial-path", .offset = CFG(serial_path), PATH },
	{ SECTION_DEVICES, "display", .offset = CFG(display), ENUM(display_names) },
	{ SECTION_DEVICES, "vnc", parse_key_vnc, CFG(vnc),
	  .expect = "ADDRESS:DISPLAY like 127.0.0.1:0 (display 0 to 99)" },

	{ SECTION_TUNING, "governor", .offset = CFG(tune_governor), BOOL },
	{ SECTION_TUNING, "cstates", .offset = CFG(tune_cstates), BOOL },
	{ SECTION_TUNING, "irq-affinity", .offset = CFG(tune_irq_affinity), BOOL },
	{ SECTION_TUNING, "workqueues", .offset = CFG(tune_workqueues), BOOL },
	{ SECTION_TUNING, "cpusets", .offset = CFG(tune_cpusets), BOOL },
	{ SECTION_TUNING, "thp-defrag", .offset = CFG(thp_defrag), ENUM(thp_defrag_names) },
	{ SECTION_TUNING, "stat-interval", parse_key_stat_interval, CFG(stat_interval),
	  .expect = "seconds from 1 to 3600, or keep" },

	{ SECTION_QEMU, "extra", parse_key_extra, 0, .expect = "QEMU arguments separated by spaces",
	  .flags = KEY_REPEATABLE },

	{ SECTION_DISK, "path", .offset = DISK(path), PATH },
	{ SECTION_DISK, "media", .offset = DISK(media), ENUM(disk_media_names) },
	{ SECTION_DISK, "format", .offset = DISK(format), ENUM(disk_format_names) },
	{ SECTION_DISK, "bus", .offset = DISK(bus), ENUM(disk_bus_names) },
	{ SECTION_DISK, "cache", .offset = DISK(cache), ENUM(disk_cache_names) },
	{ SECTION_DISK, "aio", .offset = DISK(aio), ENUM(disk_aio_names) },
	{ SECTION_DISK, "discard", .offset = DISK(discard), ENUM(disk_discard_names) },
	{ SECTION_DISK, "detect-zeroes", .offset = DISK(detect_zeroes), TRISTATE },
	{ SECTION_DISK, "serial", parse_key_disk_serial, DISK(serial),
	  .expect = "1 to 20 printable ASCII characters, e.g. WD-WX12A3456789" },
	{ SECTION_DISK, "iothread", .offset = DISK(iothread), UINT(0, 64) },
	{ SECTION_DISK, "readonly", .offset = DISK(readonly), BOOL },
	{ SECTION_DISK, "boot-index", .offset = DISK(boot_index), UINT(1, 99) },

	{ SECTION_PCI, "address", parse_key_pci_addr, PCI(addr),
	  .expect = "a PCI address like 0000:0f:00.0 (see 'gamevm iommu')" },
	{ SECTION_PCI, "all-functions", .offset = PCI(all_functions), BOOL },
	{ SECTION_PCI, "rombar", .offset = PCI(rombar), BOOL },
	{ SECTION_PCI, "romfile", .offset = PCI(romfile), PATH },
	{ SECTION_PCI, "managed", .offset = PCI(managed), BOOL },
	{ SECTION_PCI, "primary-display", .offset = PCI(primary_display), BOOL },

	{ SECTION_NET, "mode", .offset = NET(mode), ENUM(net_mode_names) },
	{ SECTION_NET, "model", .offset = NET(model), ENUM(net_model_names) },
	{ SECTION_NET, "bridge", parse_key_ifname, NET(bridge),
	  .expect = "a Linux bridge name like br0 (at most 15 characters)" },
	{ SECTION_NET, "tap", parse_key_ifname, NET(tap),
	  .expect = "a Linux tap interface name like tap0 (at most 15 characters)" },
	{ SECTION_NET, "mac", parse_key_mac, NET(mac),
	  .expect = "a unicast MAC address like 52:54:00:12:34:56" },
};

const struct config_key *config_key_find(enum section_kind s, const char *name)
{
	const struct config_key *k;

	for (size_t i = 0; (k = config_key_at(i)); i++)
		if (k->section == s && streq(k->name, name))
			return k;
	return NULL;
}

const struct config_key *config_key_at(size_t i)
{
	const struct config_key *desktop;
	size_t n;

	if (i < ELEMENTSOF(keys))
		return &keys[i];
	desktop = config_desktop_keys(&n);
	return i - ELEMENTSOF(keys) < n ? &desktop[i - ELEMENTSOF(keys)] : NULL;
}
