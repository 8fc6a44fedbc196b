/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One QEMU firmware descriptor (docs/interop/firmware.json) from JSON.
 *
 * Strict where a mistake would put the wrong file on QEMU's command line
 * (every member gamevm uses is checked for presence and type, paths must be
 * absolute), lenient where the spec grows: unknown top-level members and
 * unknown features are ignored, as libvirt does, so a newer distro's
 * descriptors keep working.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "firmware.h"
#include "macro.h"
#include "strv.h"

/* Real descriptors have 1-4 targets, a dozen features and a few globs. */
#define MAX_INTERFACES 16
#define MAX_TARGETS    64
#define MAX_MACHINES   256
#define MAX_FEATURES   128
#define MAX_TAGS       256
#define MAX_STRING     4096
#define MAX_DEPTH      16

static const char *const feature_names[] = {
	[0] = "acpi-s3",	[1] = "acpi-s4",      [2] = "amd-sev",	   [3] = "amd-sev-es",
	[4] = "enrolled-keys",	[5] = "requires-smm", [6] = "secure-boot", [7] = "verbose-dynamic",
	[8] = "verbose-static", [9] = "amd-sev-snp",  [10] = "intel-tdx",  [11] = "host-uefi-vars",
};

const char *firmware_feature_to_string(enum firmware_feature f)
{
	for (size_t i = 0; i < ELEMENTSOF(feature_names); i++)
		if ((unsigned)f == 1u << i)
			return feature_names[i];
	return NULL;
}

enum firmware_feature firmware_feature_from_string(const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(feature_names); i++)
		if (streq(s, feature_names[i]))
			return (enum firmware_feature)(1u << i);
	return 0;
}

const char *firmware_interface_to_string(enum firmware_interface i)
{
	switch (i) {
	case FW_INTERFACE_UEFI:
		return "uefi";
	case FW_INTERFACE_BIOS:
		return "bios";
	}
	return NULL;
}

static int fail(char **error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **error, int r, const char *fmt, ...)
{
	va_list ap;

	if (error && !*error) {
		va_start(ap, fmt);
		if (vasprintf(error, fmt, ap) < 0)
			*error = NULL;
		va_end(ap);
	}
	return r;
}

static const char *type_name(enum json_type t)
{
	switch (t) {
	case json_type_string:
		return "a string";
	case json_type_array:
		return "an array";
	case json_type_object:
		return "an object";
	default:
		return "of the right type";
	}
}

/*
 * Looks up obj[key] and checks its type. where is the member's path for
 * messages ("mapping.executable."). A JSON null counts as the wrong type.
 * *ret is NULL for an absent optional member.
 */
static int member(struct json_object *obj, const char *where, const char *key, enum json_type type,
		  bool required, struct json_object **ret, char **error)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v)) {
		if (required)
			return fail(error, -EINVAL, "member '%s%s' is missing", where, key);
		*ret = NULL;
		return 0;
	}
	if (!v || json_object_get_type(v) != type)
		return fail(error, -EINVAL, "member '%s%s' is not %s", where, key, type_name(type));
	*ret = v;
	return 0;
}

/* A JSON string as a C string: non-empty, no embedded NUL, bounded. */
static int string_value(struct json_object *v, const char *what, const char **ret, char **error)
{
	const char *s;
	size_t len;

	if (!v || json_object_get_type(v) != json_type_string)
		return fail(error, -EINVAL, "%s is not a string", what);
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (!s || len == 0)
		return fail(error, -EINVAL, "%s is empty", what);
	if (strlen(s) != len)
		return fail(error, -EINVAL, "%s contains a NUL character", what);
	if (len > MAX_STRING)
		return fail(error, -EINVAL, "%s is longer than %d bytes", what, MAX_STRING);
	*ret = s;
	return 0;
}

static int string_member(struct json_object *obj, const char *where, const char *key, bool required,
			 const char **ret, char **error)
{
	struct json_object *v = NULL;
	char what[128];
	int r;

	r = member(obj, where, key, json_type_string, required, &v, error);
	if (r < 0)
		return r;
	if (!v) {
		*ret = NULL;
		return 0;
	}
	snprintf(what, sizeof(what), "member '%s%s'", where, key);
	return string_value(v, what, ret, error);
}

static int array_member(struct json_object *obj, const char *key, size_t max, bool required,
			struct json_object **ret, size_t *ret_n, char **error)
{
	struct json_object *v = NULL;
	size_t n;
	int r;

	r = member(obj, "", key, json_type_array, required, &v, error);
	if (r < 0)
		return r;
	n = v ? json_object_array_length(v) : 0;
	if (n > max)
		return fail(error, -EINVAL, "member '%s' has more than %zu entries", key, max);
	*ret = v;
	*ret_n = n;
	return 0;
}

static int parse_interfaces(struct json_object *root, unsigned *ret, char **error)
{
	struct json_object *arr = NULL;
	unsigned bits = 0;
	size_t n;
	int r;

	r = array_member(root, "interface-types", MAX_INTERFACES, true, &arr, &n, error);
	if (r < 0)
		return r;
	if (n == 0)
		return fail(error, -EINVAL, "member 'interface-types' is empty");
	for (size_t i = 0; i < n; i++) {
		const char *s;
		char what[64];

		snprintf(what, sizeof(what), "interface-types[%zu]", i);
		r = string_value(json_object_array_get_idx(arr, i), what, &s, error);
		if (r < 0)
			return r;
		/* openfirmware and uboot are other architectures' business */
		if (streq(s, "uefi"))
			bits |= FW_INTERFACE_UEFI;
		else if (streq(s, "bios"))
			bits |= FW_INTERFACE_BIOS;
	}
	*ret = bits;
	return 0;
}

static int parse_features(struct json_object *root, unsigned *ret, char **error)
{
	struct json_object *arr = NULL;
	unsigned bits = 0;
	size_t n;
	int r;

	r = array_member(root, "features", MAX_FEATURES, true, &arr, &n, error);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const char *s;
		char what[64];

		snprintf(what, sizeof(what), "features[%zu]", i);
		r = string_value(json_object_array_get_idx(arr, i), what, &s, error);
		if (r < 0)
			return r;
		bits |= (unsigned)firmware_feature_from_string(s);
	}
	*ret = bits;
	return 0;
}

/* Tags are for humans only (the spec says management must ignore them), but typed. */
static int check_tags(struct json_object *root, char **error)
{
	struct json_object *arr = NULL;
	size_t n;
	int r;

	r = array_member(root, "tags", MAX_TAGS, false, &arr, &n, error);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		if (!v || json_object_get_type(v) != json_type_string)
			return fail(error, -EINVAL, "tags[%zu] is not a string", i);
	}
	return 0;
}

static void targets_free(struct firmware_target *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].architecture);
		strv_free(t[i].machines);
	}
	free(t);
}

static int parse_targets(struct json_object *root, struct firmware_target **ret, size_t *ret_n,
			 char **error)
{
	struct firmware_target *targets = NULL;
	struct json_object *arr = NULL;
	size_t n, done = 0;
	int r;

	r = array_member(root, "targets", MAX_TARGETS, true, &arr, &n, error);
	if (r < 0)
		return r;
	if (n > 0) {
		targets = calloc(n, sizeof(*targets));
		if (!targets)
			return -ENOMEM;
	}
	for (; done < n; done++) {
		struct json_object *t = json_object_array_get_idx(arr, done), *machines;
		struct strv globs = { 0 };
		const char *arch;
		char where[64];
		size_t m;

		snprintf(where, sizeof(where), "targets[%zu].", done);
		if (!t || json_object_get_type(t) != json_type_object) {
			r = fail(error, -EINVAL, "targets[%zu] is not an object", done);
			goto out;
		}
		r = string_member(t, where, "architecture", true, &arch, error);
		if (r < 0)
			goto out;
		r = member(t, where, "machines", json_type_array, true, &machines, error);
		if (r < 0)
			goto out;
		m = json_object_array_length(machines);
		if (m > MAX_MACHINES) {
			r = fail(error, -EINVAL, "member '%smachines' has more than %d entries",
				 where, MAX_MACHINES);
			goto out;
		}
		for (size_t j = 0; j < m; j++) {
			const char *glob;
			char what[96];

			snprintf(what, sizeof(what), "%smachines[%zu]", where, j);
			r = string_value(json_object_array_get_idx(machines, j), what, &glob,
					 error);
			if (r < 0) {
				strv_done(&globs);
				goto out;
			}
			strv_push(&globs, glob);
		}
		/* An empty machines list still needs a NULL-terminated vector. */
		if (!globs.v && !globs.err)
			globs.v = calloc(1, sizeof(char *));
		targets[done].architecture = strdup(arch);
		if (globs.err || !globs.v || !targets[done].architecture) {
			strv_done(&globs);
			free(targets[done].architecture);
			r = -ENOMEM;
			goto out;
		}
		targets[done].machines = TAKE_PTR(globs.v);
	}
	*ret = TAKE_PTR(targets);
	*ret_n = n;
	return 0;
out:
	targets_free(targets, done);
	return r;
}

static int parse_flash_file(struct json_object *mapping, const char *key, const char **ret_file,
			    const char **ret_format, char **error)
{
	struct json_object *f = NULL;
	char where[64];
	const char *file, *format;
	int r;

	r = member(mapping, "mapping.", key, json_type_object, true, &f, error);
	if (r < 0)
		return r;
	snprintf(where, sizeof(where), "mapping.%s.", key);
	r = string_member(f, where, "filename", true, &file, error);
	if (r < 0)
		return r;
	if (file[0] != '/')
		return fail(error, -EINVAL, "member '%sfilename' is not an absolute path: '%s'",
			    where, file);
	/* The schema makes format mandatory; libvirt defaults it to raw, and so do we. */
	r = string_member(f, where, "format", false, &format, error);
	if (r < 0)
		return r;
	if (!format)
		format = "raw";
	if (!streq(format, "raw") && !streq(format, "qcow2"))
		return fail(error, -EOPNOTSUPP, "%s format '%s' is not raw or qcow2", key, format);
	*ret_file = file;
	*ret_format = format;
	return 0;
}

static int parse_mapping(struct json_object *root, struct firmware_desc *d, char **error)
{
	struct json_object *mapping = NULL;
	const char *device, *mode, *code, *code_format, *vars, *vars_format;
	int r;

	r = member(root, "", "mapping", json_type_object, true, &mapping, error);
	if (r < 0)
		return r;
	r = string_member(mapping, "mapping.", "device", true, &device, error);
	if (r < 0)
		return r;

	if (streq(device, "memory")) {
		/* -bios FILE: SeaBIOS, or OVMF builds for confidential guests */
		r = string_member(mapping, "mapping.", "filename", true, &code, error);
		if (r < 0)
			return r;
		if (code[0] != '/')
			return fail(error, -EINVAL,
				    "member 'mapping.filename' is not an absolute path: '%s'",
				    code);
		d->flash = false;
		d->code = strdup(code);
		return d->code ? 0 : -ENOMEM;
	}
	if (streq(device, "kernel"))
		return fail(error, -EOPNOTSUPP,
			    "kernel mapping (-kernel firmware) is not supported");
	if (!streq(device, "flash"))
		return fail(error, -EOPNOTSUPP, "unknown mapping device '%s'", device);

	/* Mode came with QEMU 7.0; descriptors without it are split. */
	r = string_member(mapping, "mapping.", "mode", false, &mode, error);
	if (r < 0)
		return r;
	if (mode && (streq(mode, "combined") || streq(mode, "stateless")))
		return fail(
			error, -EOPNOTSUPP,
			"%s flash mapping is not supported (gamevm needs split code and NVRAM template)",
			mode);
	if (mode && !streq(mode, "split"))
		return fail(error, -EOPNOTSUPP, "unknown flash mode '%s'", mode);

	r = parse_flash_file(mapping, "executable", &code, &code_format, error);
	if (r < 0)
		return r;
	r = parse_flash_file(mapping, "nvram-template", &vars, &vars_format, error);
	if (r < 0)
		return r;

	d->flash = true;
	d->code = strdup(code);
	d->code_format = strdup(code_format);
	d->vars_template = strdup(vars);
	d->vars_format = strdup(vars_format);
	if (!d->code || !d->code_format || !d->vars_template || !d->vars_format)
		return -ENOMEM;
	return 0;
}

static int parse_json(const char *json, size_t len, struct json_object **ret, char **error)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	tok = json_tokener_new_ex(MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	/* Strict: no trailing commas, no single quotes, no bare words. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* Input ended inside a value; a NUL ends a bare literal, anything else is cut
		 * short. */
		obj = json_tokener_parse_ex(tok, "", 1);
		if (json_tokener_get_error(tok) != json_tokener_success) {
			json_tokener_free(tok);
			json_object_put(obj);
			return fail(error, -EINVAL, "invalid JSON: unexpected end of file");
		}
		jerr = json_tokener_success;
		end = len;
	}
	json_tokener_free(tok);

	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return fail(error, -EINVAL, "invalid JSON at byte %zu: %s", end,
			    json_tokener_error_desc(jerr));
	}
	for (size_t i = end; i < len; i++)
		if (!strchr(" \t\r\n", json[i])) {
			json_object_put(obj);
			return fail(error, -EINVAL, "invalid JSON: trailing data at byte %zu", i);
		}
	/* JSON null parses to a NULL object */
	if (!obj || json_object_get_type(obj) != json_type_object) {
		json_object_put(obj);
		return fail(error, -EINVAL, "top level is not a JSON object");
	}
	*ret = obj;
	return 0;
}

int firmware_desc_parse_buf(const char *file, const char *json, size_t len,
			    struct firmware_desc *ret, char **error)
{
	struct firmware_desc d = { 0 };
	struct json_object *root = NULL;
	const char *description, *slash;
	int r;

	if (!file || !json || !ret)
		return -EINVAL;
	if (len > FIRMWARE_DESC_MAX_SIZE)
		return fail(error, -EFBIG, "larger than %d KiB", FIRMWARE_DESC_MAX_SIZE / 1024);
	if (memchr(json, 0, len))
		return fail(error, -EINVAL, "contains a NUL byte");

	r = parse_json(json, len, &root, error);
	if (r < 0)
		return r;

	slash = strrchr(file, '/');
	d.file = strdup(file);
	d.name = strdup(slash ? slash + 1 : file);
	if (!d.file || !d.name) {
		r = -ENOMEM;
		goto out;
	}

	/* The schema has it mandatory; it is only ever shown to humans, so absent is fine. */
	r = string_member(root, "", "description", false, &description, error);
	if (r < 0)
		goto out;
	if (description) {
		d.description = strdup(description);
		if (!d.description) {
			r = -ENOMEM;
			goto out;
		}
	}

	r = parse_interfaces(root, &d.interfaces, error);
	if (r < 0)
		goto out;
	r = parse_targets(root, &d.targets, &d.n_targets, error);
	if (r < 0)
		goto out;
	r = parse_features(root, &d.features, error);
	if (r < 0)
		goto out;
	r = check_tags(root, error);
	if (r < 0)
		goto out;
	/* Last: the members above are validated even when the mapping is one we skip. */
	r = parse_mapping(root, &d, error);
	if (r < 0)
		goto out;
	if (!(d.interfaces & (FW_INTERFACE_UEFI | FW_INTERFACE_BIOS))) {
		r = fail(error, -EOPNOTSUPP, "interface-types has neither uefi nor bios");
		goto out;
	}

	json_object_put(root);
	*ret = d;
	return 0;
out:
	json_object_put(root);
	firmware_desc_done(&d);
	return r;
}

int firmware_desc_parse(const char *file, const char *json, struct firmware_desc *ret)
{
	if (!json)
		return -EINVAL;
	return firmware_desc_parse_buf(file, json, strlen(json), ret, NULL);
}

void firmware_desc_done(struct firmware_desc *d)
{
	if (!d)
		return;
	free(d->file);
	free(d->name);
	free(d->description);
	free(d->code);
	free(d->code_format);
	free(d->vars_template);
	free(d->vars_format);
	targets_free(d->targets, d->n_targets);
	*d = (struct firmware_desc){ 0 };
}
