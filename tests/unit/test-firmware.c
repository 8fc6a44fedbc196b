/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU firmware descriptors: parsing (the real Debian files on this machine
 * and broken ones), discovery precedence over tests/firmware/ trees, and
 * matching, including the three fixture hosts' picks for a Windows 11 VM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware.h"
#include "fileio.h"
#include "macro.h"

static int open_fixture(const char *rel)
{
	const char *src = getenv("GAMEVM_SRCDIR");
	char path[4096];
	int fd;

	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/tests/%s", src, rel);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open fixture '%s': %s", path, strerror(errno));
	return fd;
}

static void load_fixture(const char *rel, const char *xdg, const char *home,
			 struct firmware_list *ret)
{
	int fd = open_fixture(rel);

	assert_int_equal(firmware_list_load(fd, xdg, home, ret), 0);
	close(fd);
}

static const struct firmware_desc *find_desc(const struct firmware_list *l, const char *name)
{
	for (size_t i = 0; i < l->n_descs; i++)
		if (streq(l->descs[i].name, name))
			return &l->descs[i];
	return NULL;
}

static void assert_names(const struct firmware_list *l, const char *const *names, size_t n)
{
	for (size_t i = 0; i < MIN(n, l->n_descs); i++)
		assert_string_equal(l->descs[i].name, names[i]);
	assert_int_equal(l->n_descs, n);
}

static const char *skipped_for(const struct firmware_list *l, const char *file)
{
	size_t len = strlen(file);

	for (size_t i = 0; i < l->n_skipped; i++)
		if (strncmp(l->skipped[i], file, len) == 0 &&
		    strncmp(l->skipped[i] + len, ": ", 2) == 0)
			return l->skipped[i] + len + 2;
	return NULL;
}

#define Q35_WIN11(machine_)                                                                        \
	{                                                                                          \
		.interface = FW_INTERFACE_UEFI, .arch = "x86_64", .machine = (machine_),           \
		.secure_boot = 1, .enrolled_keys = -1, .smm_available = 1                          \
	}

/* ---- parsing ---- */

static void test_parse_real_debian(void **state)
{
	struct firmware_list l = { 0 };
	DIR *d;
	struct dirent *de;
	size_t seen = 0;
	int root;

	(void)state;
	d = opendir("/usr/share/qemu/firmware");
	if (!d)
		skip();

	/* Through a root fd of "/", as gamevm reads the real host. */
	root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	assert_int_equal(firmware_list_load(root, NULL, NULL, &l), 0);

	while ((de = readdir(d))) {
		_cleanup_free_ char *buf = NULL, *error = NULL, *rel = NULL;
		struct firmware_desc desc = { 0 };
		const struct firmware_desc *listed;
		size_t len;
		int r;

		if (de->d_name[0] == '.' || !strstr(de->d_name, ".json"))
			continue;
		assert_true(asprintf(&rel, "usr/share/qemu/firmware/%s", de->d_name) > 0);
		if (read_full_file_at(root, rel, FIRMWARE_DESC_MAX_SIZE, &buf, &len) < 0 ||
		    len == 0)
			continue;
		r = firmware_desc_parse_buf(rel, buf, len, &desc, &error);
		if (r < 0)
			fail_msg("%s: %s", de->d_name, error ? error : strerror(-r));
		assert_null(error);
		assert_true(desc.interfaces & FW_INTERFACE_UEFI);
		assert_true(desc.flash);
		assert_int_equal(desc.code[0], '/');
		assert_int_equal(desc.vars_template[0], '/');
		assert_string_equal(desc.code_format, "raw");
		assert_string_equal(desc.vars_format, "raw");
		assert_true(desc.n_targets >= 1);
		assert_string_equal(desc.targets[0].architecture, "x86_64");
		assert_non_null(desc.targets[0].machines[0]);

		if (streq(de->d_name, "40-edk2-x86_64-secure-enrolled.json"))
			assert_true((desc.features &
				     (FW_FEATURE_SECURE_BOOT | FW_FEATURE_ENROLLED_KEYS |
				      FW_FEATURE_REQUIRES_SMM)) ==
				    (FW_FEATURE_SECURE_BOOT | FW_FEATURE_ENROLLED_KEYS |
				     FW_FEATURE_REQUIRES_SMM));
		if (streq(de->d_name, "60-edk2-x86_64.json"))
			assert_false(desc.features &
				     (FW_FEATURE_SECURE_BOOT | FW_FEATURE_REQUIRES_SMM));

		/* the loader found it too, unless /etc/qemu/firmware overrides it */
		listed = find_desc(&l, de->d_name);
		if (access("/etc/qemu/firmware", F_OK) < 0) {
			assert_non_null(listed);
			assert_string_equal(listed->code, desc.code);
			assert_int_equal(listed->features, desc.features);
		}
		firmware_desc_done(&desc);
		seen++;
	}
	closedir(d);
	close(root);
	if (seen == 0)
		skip();
	firmware_list_done(&l);
}

static void test_parse_debian_fixture(void **state)
{
	struct firmware_list l = { 0 };
	const struct firmware_desc *d;

	(void)state;
	load_fixture("hosts/no-iommu", NULL, NULL, &l);

	d = find_desc(&l, "40-edk2-x86_64-secure-enrolled.json");
	assert_non_null(d);
	assert_string_equal(d->file,
			    "/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json");
	assert_string_equal(
		d->description,
		"UEFI firmware for x86_64, with Secure Boot and SMM, SB enabled, MS certs enrolled");
	assert_int_equal(d->interfaces, FW_INTERFACE_UEFI);
	assert_true(d->flash);
	assert_string_equal(d->code, "/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
	assert_string_equal(d->vars_template, "/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
	assert_int_equal(d->features, FW_FEATURE_ACPI_S3 | FW_FEATURE_AMD_SEV |
					      FW_FEATURE_ENROLLED_KEYS | FW_FEATURE_REQUIRES_SMM |
					      FW_FEATURE_SECURE_BOOT | FW_FEATURE_VERBOSE_DYNAMIC);
	assert_int_equal(d->n_targets, 1);
	assert_string_equal(d->targets[0].machines[0], "pc-q35-*");
	assert_null(d->targets[0].machines[1]);

	d = find_desc(&l, "60-edk2-x86_64.json");
	assert_non_null(d);
	assert_string_equal(d->code, "/usr/share/OVMF/OVMF_CODE_4M.fd");
	assert_string_equal(d->targets[0].machines[0], "pc-i440fx-*");
	assert_string_equal(d->targets[0].machines[1], "pc-q35-*");
	assert_null(d->targets[0].machines[2]);
	assert_int_equal(d->features,
			 FW_FEATURE_ACPI_S3 | FW_FEATURE_AMD_SEV | FW_FEATURE_VERBOSE_DYNAMIC);
	firmware_list_done(&l);
}

#define MAP_OK                                                                                     \
	"\"mapping\": {\"device\": \"flash\", \"executable\": {\"filename\": \"/fw/C.fd\", "       \
	"\"format\": \"raw\"}, \"nvram-template\": {\"filename\": \"/fw/V.fd\", \"format\": "      \
	"\"raw\"}}"
#define TGT_OK "\"targets\": [{\"architecture\": \"x86_64\", \"machines\": [\"pc-q35-*\"]}]"
#define IF_OK  "\"interface-types\": [\"uefi\"]"

static const struct {
	const char *json;
	int r;
	const char *msg; /* substring of the reason */
} parse_cases[] = {
	{ "{" IF_OK ", " MAP_OK ", " TGT_OK ", \"features\": []}", 0, NULL },
	{ "", -EINVAL, "unexpected end" },
	{ "{\"a\": 1,}", -EINVAL, "invalid JSON" },
	{ "{'description': 'x'}", -EINVAL, "invalid JSON" },
	{ "null", -EINVAL, "not a JSON object" },
	{ "{" IF_OK ", " MAP_OK ", " TGT_OK ", \"features\": []} {}", -EINVAL, "invalid JSON" },
	{ "{" MAP_OK ", " TGT_OK ", \"features\": []}", -EINVAL, "'interface-types' is missing" },
	{ "{\"interface-types\": [], " MAP_OK ", " TGT_OK ", \"features\": []}", -EINVAL,
	  "'interface-types' is empty" },
	{ "{\"interface-types\": \"uefi\", " MAP_OK ", " TGT_OK ", \"features\": []}", -EINVAL,
	  "'interface-types' is not an array" },
	{ "{\"interface-types\": [\"openfirmware\"], " MAP_OK ", " TGT_OK ", \"features\": []}",
	  -EOPNOTSUPP, "neither uefi nor bios" },
	{ "{\"description\": 3, " IF_OK ", " MAP_OK ", " TGT_OK ", \"features\": []}", -EINVAL,
	  "'description' is not a string" },
	{ "{" IF_OK ", " MAP_OK ", " TGT_OK "}", -EINVAL, "'features' is missing" },
	{ "{" IF_OK ", " MAP_OK ", " TGT_OK ", \"features\": [null]}", -EINVAL,
	  "features[0] is not a string" },
	{ "{" IF_OK ", " MAP_OK ", " TGT_OK ", \"features\": [], \"tags\": [1]}", -EINVAL,
	  "tags[0] is not a string" },
	{ "{" IF_OK ", " MAP_OK ", \"features\": []}", -EINVAL, "'targets' is missing" },
	{ "{" IF_OK ", " MAP_OK ", \"targets\": [\"x86_64\"], \"features\": []}", -EINVAL,
	  "targets[0] is not an object" },
	{ "{" IF_OK ", " MAP_OK ", \"targets\": [{\"machines\": []}], \"features\": []}", -EINVAL,
	  "'targets[0].architecture' is missing" },
	{ "{" IF_OK ", " MAP_OK
	  ", \"targets\": [{\"architecture\": \"x86_64\", \"machines\": [\"\"]}], \"features\": []}",
	  -EINVAL, "targets[0].machines[0] is empty" },
	{ "{" IF_OK ", " TGT_OK ", \"features\": []}", -EINVAL, "'mapping' is missing" },
	{ "{" IF_OK ", \"mapping\": {}, " TGT_OK ", \"features\": []}", -EINVAL,
	  "'mapping.device' is missing" },
	{ "{" IF_OK ", \"mapping\": {\"device\": \"tape\"}, " TGT_OK ", \"features\": []}",
	  -EOPNOTSUPP, "unknown mapping device 'tape'" },
	{ "{" IF_OK ", \"mapping\": {\"device\": \"kernel\", \"filename\": \"/k\"}, " TGT_OK
	  ", \"features\": []}",
	  -EOPNOTSUPP, "kernel mapping" },
	{ "{" IF_OK ", \"mapping\": {\"device\": \"flash\", \"mode\": \"combined\", "
	  "\"executable\": {\"filename\": \"/fw/O.fd\", \"format\": \"raw\"}}, " TGT_OK
	  ", \"features\": []}",
	  -EOPNOTSUPP, "combined flash mapping is not supported" },
	{ "{" IF_OK ", \"mapping\": {\"device\": \"flash\", \"mode\": \"weird\"}, " TGT_OK
	  ", \"features\": []}",
	  -EOPNOTSUPP, "unknown flash mode 'weird'" },
	{ "{" IF_OK ", \"mapping\": {\"device\": \"flash\", "
	  "\"executable\": {\"filename\": \"/fw/O.fd\", \"format\": \"raw\"}}, " TGT_OK
	  ", \"features\": []}",
	  -EINVAL, "'mapping.nvram-template' is missing" },
	{ "{" IF_OK ", \"mapping\": {\"device\": \"flash\", "
	  "\"executable\": {\"filename\": 5, \"format\": \"raw\"}, "
	  "\"nvram-template\": {\"filename\": \"/fw/V.fd\"}}, " TGT_OK ", \"features\": []}",
	  -EINVAL, "'mapping.executable.filename' is not a string" },
	{ "{" IF_OK ", \"mapping\": {\"device\": \"flash\", "
	  "\"executable\": {\"filename\": \"/fw/C\\u0000x\"}, "
	  "\"nvram-template\": {\"filename\": \"/fw/V.fd\"}}, " TGT_OK ", \"features\": []}",
	  -EINVAL, "contains a NUL character" },
	{ "{" IF_OK ", \"mapping\": {\"device\": \"flash\", "
	  "\"executable\": {\"filename\": \"/fw/C.fd\", \"format\": \"vpc\"}, "
	  "\"nvram-template\": {\"filename\": \"/fw/V.fd\"}}, " TGT_OK ", \"features\": []}",
	  -EOPNOTSUPP, "executable format 'vpc' is not raw or qcow2" },
	{ "{\"interface-types\": [\"bios\"], \"mapping\": {\"device\": \"memory\", "
	  "\"filename\": \"bios.bin\"}, " TGT_OK ", \"features\": []}",
	  -EINVAL, "not an absolute path: 'bios.bin'" },
	{ "{\"x\": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", -EINVAL, "invalid JSON" },
};

static void test_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
		struct firmware_desc d = { 0 };
		_cleanup_free_ char *error = NULL;
		int r;

		r = firmware_desc_parse_buf("/t/case.json", parse_cases[i].json,
					    strlen(parse_cases[i].json), &d, &error);
		if (r != parse_cases[i].r)
			fail_msg("case %zu: got %d (%s), want %d", i, r, strna(error),
				 parse_cases[i].r);
		if (parse_cases[i].msg) {
			assert_non_null(error);
			if (!strstr(error, parse_cases[i].msg))
				fail_msg("case %zu: '%s' lacks '%s'", i, error, parse_cases[i].msg);
		} else {
			assert_null(error);
			firmware_desc_done(&d);
		}
	}
}

static void test_parse_bounds(void **state)
{
	static const char good[] = "{" IF_OK ", " MAP_OK ", " TGT_OK ", \"features\": []}";
	struct firmware_desc d = { 0 };
	char *error = NULL, *big;
	size_t n = FIRMWARE_DESC_MAX_SIZE + 1;

	(void)state;
	/* one byte over the cap, even if it is only trailing whitespace */
	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, good, strlen(good));
	assert_int_equal(firmware_desc_parse_buf("/t/big.json", big, n, &d, &error), -EFBIG);
	assert_non_null(strstr(error, "64 KiB"));
	free(error);
	error = NULL;
	/* at the cap it is fine */
	assert_int_equal(firmware_desc_parse_buf("/t/big.json", big, n - 1, &d, &error), 0);
	firmware_desc_done(&d);
	free(big);

	/* an embedded NUL is not JSON */
	assert_int_equal(firmware_desc_parse_buf("/t/nul.json", "{}\0{}", 5, &d, &error), -EINVAL);
	assert_non_null(strstr(error, "NUL byte"));
	free(error);

	/* the plain wrapper: no error string, same result */
	assert_int_equal(firmware_desc_parse("/t/x.json", "{}", &d), -EINVAL);
	assert_int_equal(firmware_desc_parse("/t/x.json", good, &d), 0);
	assert_string_equal(d.name, "x.json");
	assert_null(d.description);
	firmware_desc_done(&d);
}

static void test_feature_strings(void **state)
{
	(void)state;
	for (unsigned bit = 1; bit <= FW_FEATURE_HOST_UEFI_VARS; bit <<= 1) {
		const char *s = firmware_feature_to_string((enum firmware_feature)bit);
		assert_non_null(s);
		assert_int_equal(firmware_feature_from_string(s), bit);
	}
	assert_string_equal(firmware_feature_to_string(FW_FEATURE_REQUIRES_SMM), "requires-smm");
	assert_null(firmware_feature_to_string(FW_FEATURE_ACPI_S3 | FW_FEATURE_ACPI_S4));
	assert_int_equal(firmware_feature_from_string("no-such-feature"), 0);
	assert_string_equal(firmware_interface_to_string(FW_INTERFACE_UEFI), "uefi");
	assert_string_equal(firmware_interface_to_string(FW_INTERFACE_BIOS), "bios");
}

/* ---- discovery ---- */

static void test_precedence_system(void **state)
{
	static const char *const names[] = {
		"10-a.json", "20-b.json",    "35-etc-only.json", "40-d.json",
		"45-e.json", "70-link.json", "75-abs.json",
	};
	struct firmware_list l = { 0 };
	const char *why;

	(void)state;
	load_fixture("firmware/precedence", NULL, NULL, &l);
	/* 30-c masked by an empty etc file; dotfile, .txt and a directory ignored */
	assert_names(&l, names, ELEMENTSOF(names));
	assert_string_equal(l.descs[0].description, "etc a");
	assert_string_equal(l.descs[0].file, "/etc/qemu/firmware/10-a.json");
	assert_string_equal(l.descs[1].description, "usr b");
	assert_string_equal(l.descs[1].file, "/usr/share/qemu/firmware/20-b.json");
	assert_string_equal(l.descs[2].description, "etc only");
	assert_string_equal(l.descs[5].description, "usr d");
	/* an absolute symlink resolves inside the root, not on the real host */
	assert_string_equal(l.descs[6].description, "usr d");

	assert_int_equal(l.n_skipped, 1);
	assert_null(l.skipped[1]);
	why = skipped_for(&l, "/usr/share/qemu/firmware/80-dangling.json");
	assert_non_null(why);
	assert_string_equal(why, "dangling symlink");
	firmware_list_done(&l);
}

static void test_precedence_home(void **state)
{
	struct firmware_list l = { 0 };
	const struct firmware_desc *d;

	(void)state;
	load_fixture("firmware/precedence", NULL, "/home/user", &l);
	d = find_desc(&l, "20-b.json");
	assert_non_null(d);
	assert_string_equal(d->description, "home b");
	assert_string_equal(d->file, "/home/user/.config/qemu/firmware/20-b.json");
	assert_non_null(find_desc(&l, "45-e.json"));
	assert_int_equal(l.n_descs, 7);
	firmware_list_done(&l);

	/* a relative $XDG_CONFIG_HOME is invalid (XDG spec): $HOME/.config is used */
	load_fixture("firmware/precedence", "xdg", "/home/user", &l);
	assert_string_equal(find_desc(&l, "20-b.json")->description, "home b");
	firmware_list_done(&l);
}

static void test_precedence_xdg(void **state)
{
	static const char *const names[] = {
		"10-a.json", "20-b.json",    "35-etc-only.json",
		"40-d.json", "70-link.json", "75-abs.json",
	};
	struct firmware_list l = { 0 };

	(void)state;
	load_fixture("firmware/precedence", "/xdg", "/home/user", &l);
	/* XDG wins over HOME, usr and etc; its /dev/null symlink masks 45-e */
	assert_names(&l, names, ELEMENTSOF(names));
	assert_string_equal(l.descs[1].description, "xdg b");
	assert_string_equal(l.descs[1].file, "/xdg/qemu/firmware/20-b.json");
	assert_string_equal(l.descs[0].description, "etc a");
	firmware_list_done(&l);
}

static void test_missing_dirs(void **state)
{
	struct firmware_list l = { 0 };

	(void)state;
	/* a root with no firmware directories at all is an empty list, not an error */
	load_fixture("firmware/precedence/home", "/nowhere", "/nobody", &l);
	assert_int_equal(l.n_descs, 0);
	assert_int_equal(l.n_skipped, 0);
	firmware_list_done(&l);
	assert_int_equal(firmware_list_load(-1, NULL, NULL, &l), -EINVAL);
}

static void test_bad_descriptors(void **state)
{
	static const char *const names[] = { "10-good.json", "50-future.json", "51-seabios.json" };
	static const struct {
		const char *name, *reason;
	} bad[] = {
		{ "20-truncated.json", "unexpected end of file" },
		{ "21-trailing-comma.json", "invalid JSON at byte" },
		{ "22-not-object.json", "top level is not a JSON object" },
		{ "23-garbage-after.json", "invalid JSON" },
		{ "30-targets-string.json", "member 'targets' is not an array" },
		{ "31-no-mapping.json", "member 'mapping' is missing" },
		{ "32-feature-number.json", "features[1] is not a string" },
		{ "33-relative-path.json", "not an absolute path: 'CODE.fd'" },
		{ "34-format-vmdk.json", "executable format 'vmdk' is not raw or qcow2" },
		{ "40-combined.json", "combined flash mapping is not supported" },
		{ "41-stateless.json", "stateless flash mapping is not supported" },
		{ "42-kernel.json", "kernel mapping" },
		{ "43-null-machines.json", "member 'targets[0].machines' is not an array" },
	};
	struct firmware_list l = { 0 };
	const struct firmware_desc *d;

	(void)state;
	load_fixture("firmware/bad", NULL, NULL, &l);
	assert_names(&l, names, ELEMENTSOF(names));
	assert_int_equal(l.n_skipped, ELEMENTSOF(bad));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		char file[256];
		const char *why;

		snprintf(file, sizeof(file), "/usr/share/qemu/firmware/%s", bad[i].name);
		why = skipped_for(&l, file);
		if (!why)
			fail_msg("%s not in skipped", bad[i].name);
		if (!strstr(why, bad[i].reason))
			fail_msg("%s: '%s' lacks '%s'", bad[i].name, why, bad[i].reason);
	}

	/* unknown features and members are ignored; openfirmware is not ours */
	d = find_desc(&l, "50-future.json");
	assert_int_equal(d->features, FW_FEATURE_ACPI_S3 | FW_FEATURE_SECURE_BOOT);
	assert_int_equal(d->interfaces, FW_INTERFACE_UEFI);
	/* format absent: raw, as libvirt assumes */
	assert_string_equal(find_desc(&l, "10-good.json")->vars_format, "raw");

	d = find_desc(&l, "51-seabios.json");
	assert_int_equal(d->interfaces, FW_INTERFACE_BIOS);
	assert_false(d->flash);
	assert_string_equal(d->code, "/usr/share/seabios/bios-256k.bin");
	assert_null(d->code_format);
	assert_null(d->vars_template);
	firmware_list_done(&l);
}

/* ---- matching ---- */

static void list_from_strings(struct firmware_list *l, const char *const *files,
			      const char *const *jsons, size_t n)
{
	*l = (struct firmware_list){ 0 };
	l->descs = calloc(n, sizeof(*l->descs));
	assert_non_null(l->descs);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(firmware_desc_parse(files[i], jsons[i], &l->descs[i]), 0);
		l->n_descs++;
	}
}

#define SB_DESC(features) "{" IF_OK ", " MAP_OK ", " TGT_OK ", \"features\": [" features "]}"

static void test_match_enrolled_preference(void **state)
{
	static const char *const files[] = { "/f/10-sb.json", "/f/20-sb-enrolled.json" };
	static const char *const jsons[] = {
		SB_DESC("\"secure-boot\", \"requires-smm\""),
		SB_DESC("\"secure-boot\", \"requires-smm\", \"enrolled-keys\""),
	};
	struct firmware_want w = Q35_WIN11("pc-q35-9.2");
	struct firmware_list l;
	const struct firmware_desc *d = NULL;

	(void)state;
	list_from_strings(&l, files, jsons, 2);
	/* -1: the later descriptor with keys beats the earlier one without */
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "20-sb-enrolled.json");
	w.enrolled_keys = 1;
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "20-sb-enrolled.json");
	w.enrolled_keys = 0;
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "10-sb.json");

	/* without an enrolled one, "prefer" falls back to the first fit */
	l.n_descs = 1;
	w.enrolled_keys = -1;
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "10-sb.json");
	l.n_descs = 2;
	firmware_list_done(&l);
}

static void test_match_debian(void **state)
{
	struct firmware_want w = Q35_WIN11("pc-q35-7.2");
	struct firmware_list l = { 0 };
	const struct firmware_desc *d = NULL;
	char *why = NULL;

	(void)state;
	load_fixture("hosts/no-iommu", NULL, NULL, &l);

	w.secure_boot = 0;
	w.enrolled_keys = -1;
	assert_int_equal(firmware_list_match(&l, &w, &d, &why), 0);
	assert_string_equal(d->name, "60-edk2-x86_64.json");
	assert_null(why);

	/* don't care about Secure Boot: enrolled preferred, which is the first anyway */
	w.secure_boot = -1;
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "40-edk2-x86_64-secure-enrolled.json");

	/* Secure Boot without keys: the empty varstore one */
	w.secure_boot = 1;
	w.enrolled_keys = 0;
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "50-edk2-x86_64-secure.json");

	/* no SMM: both Secure Boot builds require it */
	w.enrolled_keys = -1;
	w.smm_available = 0;
	d = NULL;
	assert_int_equal(firmware_list_match(&l, &w, &d, &why), -ENOENT);
	assert_null(d);
	assert_non_null(why);
	assert_non_null(strstr(why, "with Secure Boot, without SMM for x86_64 pc-q35-7.2"));
	assert_non_null(strstr(
		why,
		"'/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json' requires SMM"));
	assert_non_null(
		strstr(why, "'/usr/share/qemu/firmware/50-edk2-x86_64-secure.json' requires SMM"));
	assert_non_null(strstr(why, "turn SMM on in the config"));
	/* the non-SB build is further away, so it is not named */
	assert_null(strstr(why, "60-edk2-x86_64.json"));
	free(why);
	why = NULL;

	/* i440fx: the Secure Boot builds are q35-only */
	w.smm_available = 1;
	w.machine = "pc-i440fx-7.2";
	assert_int_equal(firmware_list_match(&l, &w, &d, &why), -ENOENT);
	assert_non_null(strstr(why, "for x86_64 pc-i440fx-7.2"));
	assert_non_null(strstr(why, "40-edk2-x86_64-secure-enrolled.json' covers only pc-q35-*"));
	assert_non_null(strstr(why, "use a machine type the descriptors list"));
	free(why);
	why = NULL;
	w.secure_boot = 0;
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "60-edk2-x86_64.json");

	/* other architectures, suspend-to-disk */
	w.arch = "aarch64";
	assert_int_equal(firmware_list_match(&l, &w, &d, &why), -ENOENT);
	assert_non_null(strstr(why, "is for x86_64, not aarch64"));
	free(why);
	why = NULL;
	w.arch = "x86_64";
	w.machine = "pc-q35-7.2";
	w.secure_boot = 1;
	w.need_s4 = true;
	assert_int_equal(firmware_list_match(&l, &w, &d, &why), -ENOENT);
	assert_non_null(strstr(why, "with ACPI S4"));
	assert_non_null(strstr(why, "lacks acpi-s4"));
	free(why);
	why = NULL;
	w.need_s4 = false;
	w.need_s3 = true;
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "40-edk2-x86_64-secure-enrolled.json");

	/* BIOS from a UEFI-only set */
	w = (struct firmware_want){ .interface = FW_INTERFACE_BIOS,
				    .arch = "x86_64",
				    .machine = "pc-i440fx-7.2",
				    .secure_boot = -1,
				    .enrolled_keys = -1,
				    .smm_available = 1 };
	assert_int_equal(firmware_list_match(&l, &w, &d, &why), -ENOENT);
	assert_non_null(strstr(why, "is not BIOS firmware"));
	free(why);

	w.machine = NULL;
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), -EINVAL);
	firmware_list_done(&l);
}

static void test_match_why_exact(void **state)
{
	struct firmware_want w = Q35_WIN11("pc-q35-9.2");
	struct firmware_list l = { 0 }, all = { 0 };
	const struct firmware_desc *d;
	char *why = NULL;

	(void)state;
	/* only the non-SB build left */
	load_fixture("hosts/no-iommu", NULL, NULL, &all);
	l.descs = all.descs + 2;
	l.n_descs = 1;
	assert_string_equal(l.descs[0].name, "60-edk2-x86_64.json");
	assert_int_equal(firmware_list_match(&l, &w, &d, &why), -ENOENT);
	assert_string_equal(
		why, "no firmware descriptor offers UEFI with Secure Boot for x86_64 pc-q35-9.2: "
		     "'/usr/share/qemu/firmware/60-edk2-x86_64.json' lacks secure-boot; "
		     "install the 'ovmf' package (Debian/Ubuntu) or 'edk2-ovmf' (Fedora), "
		     "or give the firmware code and vars paths explicitly in the config");
	free(why);
	why = NULL;

	/* nothing at all */
	l.n_descs = 0;
	assert_int_equal(firmware_list_match(&l, &w, &d, &why), -ENOENT);
	assert_non_null(strstr(why, "no firmware descriptors found"));
	assert_non_null(strstr(why, "'edk2-ovmf' (Fedora)"));
	free(why);
	firmware_list_done(&all);
}

static void test_match_bios(void **state)
{
	struct firmware_want w = { .interface = FW_INTERFACE_BIOS,
				   .arch = "x86_64",
				   .machine = "pc-i440fx-7.2",
				   .secure_boot = -1,
				   .enrolled_keys = -1,
				   .smm_available = 0 };
	struct firmware_list l = { 0 };
	const struct firmware_desc *d = NULL;

	(void)state;
	load_fixture("firmware/bad", NULL, NULL, &l);
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "51-seabios.json");
	/* and a UEFI VM never gets the -bios SeaBIOS image */
	w.interface = FW_INTERFACE_UEFI;
	w.machine = "pc-q35-7.2";
	w.secure_boot = 1;
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "10-good.json");
	firmware_list_done(&l);
}

/* ---- fixture hosts ---- */

static void test_host_ryzen_5950x(void **state)
{
	static const char *const names[] = {
		"30-edk2-ovmf-4m-qcow2-x64-sb-enrolled.json",
		"31-edk2-ovmf-2m-raw-x64-sb-enrolled.json",
		"40-edk2-ovmf-4m-qcow2-x64-sb.json",
		"41-edk2-ovmf-2m-raw-x64-sb.json",
		"50-edk2-ovmf-4m-qcow2-x64-nosb.json",
		"50-edk2-ovmf-x64-microvm.json",
		"51-edk2-ovmf-2m-raw-x64-nosb.json",
		"61-edk2-ovmf-x64-inteltdx.json",
	};
	struct firmware_want w = Q35_WIN11("pc-q35-9.2");
	struct firmware_list l = { 0 };
	const struct firmware_desc *d = NULL;
	char *why = NULL;

	(void)state;
	load_fixture("hosts/ryzen-5950x", NULL, NULL, &l);
	assert_names(&l, names, ELEMENTSOF(names));
	assert_int_equal(l.n_skipped, 2);
	assert_non_null(
		strstr(skipped_for(&l, "/usr/share/qemu/firmware/60-edk2-ovmf-x64-stateless.json"),
		       "stateless"));
	assert_non_null(
		strstr(skipped_for(&l, "/usr/share/qemu/firmware/61-edk2-ovmf-x64-amdsev.json"),
		       "stateless"));

	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "30-edk2-ovmf-4m-qcow2-x64-sb-enrolled.json");
	assert_string_equal(d->code, "/usr/share/edk2/ovmf/OVMF_CODE_4M.secboot.qcow2");
	assert_string_equal(d->code_format, "qcow2");
	assert_string_equal(d->vars_template, "/usr/share/edk2/ovmf/OVMF_VARS_4M.secboot.qcow2");
	assert_string_equal(d->vars_format, "qcow2");
	assert_true(d->features & FW_FEATURE_REQUIRES_SMM);

	w.secure_boot = 0;
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "50-edk2-ovmf-4m-qcow2-x64-nosb.json");

	/* no SMM: the TDX build has SB + keys and no requires-smm, but it is -bios only */
	w.secure_boot = 1;
	w.enrolled_keys = 1;
	w.smm_available = 0;
	assert_int_equal(firmware_list_match(&l, &w, &d, &why), -ENOENT);
	assert_non_null(strstr(why, "30-edk2-ovmf-4m-qcow2-x64-sb-enrolled.json' requires SMM"));
	assert_null(strstr(why, "inteltdx"));
	free(why);
	firmware_list_done(&l);
}

static void test_host_intel_14900k(void **state)
{
	static const char *const names[] = {
		"40-edk2-x86_64-secure-enrolled.json",
		"50-edk2-x86_64-secure.json",
	};
	struct firmware_want w = Q35_WIN11("pc-q35-8.2");
	struct firmware_list l = { 0 };
	const struct firmware_desc *d = NULL;
	char *why = NULL;

	(void)state;
	load_fixture("hosts/intel-14900k", NULL, NULL, &l);
	/* etc/qemu/firmware/60-edk2-x86_64.json is empty: it masks the non-SB build */
	assert_names(&l, names, ELEMENTSOF(names));
	assert_int_equal(l.n_skipped, 0);

	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "40-edk2-x86_64-secure-enrolled.json");
	assert_string_equal(d->code, "/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
	assert_string_equal(d->code_format, "raw");

	w.secure_boot = 0;
	assert_int_equal(firmware_list_match(&l, &w, &d, &why), -ENOENT);
	assert_non_null(strstr(why, "without Secure Boot"));
	assert_non_null(strstr(why, "has secure-boot"));
	assert_non_null(strstr(why, "turn Secure Boot on in the config"));
	free(why);
	firmware_list_done(&l);
}

static void test_host_no_iommu(void **state)
{
	static const char *const names[] = {
		"40-edk2-x86_64-secure-enrolled.json",
		"50-edk2-x86_64-secure.json",
		"60-edk2-x86_64.json",
	};
	struct firmware_want w = Q35_WIN11("pc-q35-7.2");
	struct firmware_list l = { 0 };
	const struct firmware_desc *d = NULL;

	(void)state;
	load_fixture("hosts/no-iommu", NULL, NULL, &l);
	assert_names(&l, names, ELEMENTSOF(names));
	assert_int_equal(l.n_skipped, 0);
	/* TCG emulates SMM, so no KVM still means SMM is available */
	assert_int_equal(firmware_list_match(&l, &w, &d, NULL), 0);
	assert_string_equal(d->name, "40-edk2-x86_64-secure-enrolled.json");
	firmware_list_done(&l);
}

/* Every image a fixture descriptor names has a placeholder in that tree. */
static void test_host_images_present(void **state)
{
	static const char *const hosts[] = { "hosts/ryzen-5950x", "hosts/intel-14900k",
					     "hosts/no-iommu" };

	(void)state;
	for (size_t h = 0; h < ELEMENTSOF(hosts); h++) {
		struct firmware_list l = { 0 };
		int fd = open_fixture(hosts[h]);

		assert_int_equal(firmware_list_load(fd, NULL, NULL, &l), 0);
		for (size_t i = 0; i < l.n_descs; i++) {
			const char *files[] = { l.descs[i].code, l.descs[i].vars_template };
			for (size_t j = 0; j < ELEMENTSOF(files); j++) {
				_cleanup_free_ char *buf = NULL;
				size_t len = 0;

				if (!files[j])
					continue;
				if (read_full_file_at(fd, files[j] + 1, 4096, &buf, &len) < 0 ||
				    len == 0)
					fail_msg("%s: '%s' missing or empty", hosts[h], files[j]);
			}
		}
		firmware_list_done(&l);
		close(fd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_real_debian),
		cmocka_unit_test(test_parse_debian_fixture),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_feature_strings),
		cmocka_unit_test(test_precedence_system),
		cmocka_unit_test(test_precedence_home),
		cmocka_unit_test(test_precedence_xdg),
		cmocka_unit_test(test_missing_dirs),
		cmocka_unit_test(test_bad_descriptors),
		cmocka_unit_test(test_match_enrolled_preference),
		cmocka_unit_test(test_match_debian),
		cmocka_unit_test(test_match_why_exact),
		cmocka_unit_test(test_match_bios),
		cmocka_unit_test(test_host_ryzen_5950x),
		cmocka_unit_test(test_host_intel_14900k),
		cmocka_unit_test(test_host_no_iommu),
		cmocka_unit_test(test_host_images_present),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
