/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the config parser: the input is a config file. It is
 * written to a file (mode 0600, so the owner check passes when this runs as
 * root) and loaded with config_load(), the entry point gamevm uses, and,
 * when it has no NUL byte, with config_load_string() too. Then:
 *   - a loaded config must keep the promises the rest of gamevm relies on
 *     (valid VM name, vCPU and memory bounds, one pin per vCPU, absolute
 *     clean paths, a NIC, at most CONFIG_MAX_EXTRA_ARGS extra arguments, ...);
 *   - a failure must come with one message that starts with the file name;
 *   - the two loaders must agree: what the string loader accepts the file
 *     loader accepts, and they fail alike, except where the string loader
 *     has no directory to resolve a relative path against.
 * Any crash, leak (ASan), hang or broken promise (abort) is a bug.
 *
 * Built two ways (tests/fuzz/meson.build):
 *   - a corpus replay program, run in the normal test suite:
 *       fuzz-config-parse FILE|DIR...
 *   - with -Dfuzz=true and clang, a libFuzzer binary (GAMEVM_LIBFUZZER):
 *       fuzz-config-parse-libfuzzer -max_len=4096 -dict=tests/fuzz/config.dict \
 *           NEW_DIR tests/fuzz/corpus-config
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-internal.h"
#include "config.h"
#include "macro.h"
#include "parse-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[64];

/*
 * A fresh file per input, removed right after: libFuzzer may end the process
 * with _Exit(), so nothing may be left for an atexit() handler to clean up.
 */
static void write_input(const uint8_t *data, size_t size)
{
	size_t off = 0;
	int fd;

	snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/gamevm-fuzz-config-XXXXXX");
	fd = mkostemp(fuzz_path, O_CLOEXEC);
	if (fd < 0)
		abort();
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	if (close(fd) < 0)
		abort();
}

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x)) {                                                                        \
			fprintf(stderr, "broken promise: %s (%s:%d)\n", #x, __FILE__, __LINE__);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_path(const char *s)
{
	if (!s)
		return;
	CHECK(s[0] == '/');
	CHECK(config_path_is_valid(s));
	CHECK(s[strlen(s) - 1] != '/');
}

/* What a loaded config promises the plan, the argv builder and the supervisor. */
static void check_config(const struct vm_config *c)
{
	CHECK(c->name && name_is_valid(c->name) && c->name[0] != '-');
	CHECK(c->vcpus >= 1 && c->vcpus <= CONFIG_MAX_VCPUS);
	CHECK(c->memory_bytes >= CONFIG_MIN_MEMORY && c->memory_bytes <= CONFIG_MAX_MEMORY);
	CHECK(c->memory_bytes % (1ull << 20) == 0);
	if (c->hugepages == HUGEPAGES_1G)
		CHECK(c->memory_bytes % (1ull << 30) == 0);
	if (c->pin) {
		CHECK(c->n_pin == c->vcpus && !c->pin_auto);
		for (size_t i = 0; i < c->n_pin; i++)
			CHECK(c->pin[i] < CONFIG_MAX_CPU);
	}
	for (size_t i = 0; i < c->n_housekeeping; i++)
		CHECK(c->housekeeping[i] < CONFIG_MAX_CPU);
	if (c->topology.sockets || c->topology.cores)
		CHECK((uint64_t)c->topology.sockets * c->topology.dies * c->topology.cores *
			      c->topology.threads ==
		      c->vcpus);
	CHECK((c->serial == SERIAL_FILE) == (c->serial_path != NULL));
	CHECK(!c->firmware_vars || c->firmware == FIRMWARE_UEFI);
	CHECK((c->firmware_code == NULL) == (c->firmware_vars == NULL) ||
	      c->firmware == FIRMWARE_BIOS);
	check_path(c->firmware_code);
	check_path(c->firmware_vars);
	check_path(c->serial_path);
	if (strchr(c->qemu_binary, '/'))
		check_path(c->qemu_binary);
	if (c->user)
		CHECK(!streq(c->user, "root"));
	CHECK(c->n_disks <= CONFIG_MAX_SECTIONS && c->n_pci <= CONFIG_MAX_SECTIONS);
	CHECK(c->n_nets >= 1 && c->n_nets <= CONFIG_MAX_SECTIONS);
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct vm_disk *d = &c->disks[i];

		CHECK(name_is_valid(d->name));
		check_path(d->path);
		CHECK(d->iothread <= c->iothreads);
		CHECK(!(d->media == DISK_MEDIA_CDROM && d->bus == DISK_BUS_VIRTIO_BLK));
		for (size_t j = 0; j < i; j++) {
			CHECK(!streq(c->disks[j].name, d->name));
			CHECK(!streq(c->disks[j].path, d->path));
		}
	}
	for (size_t i = 0; i < c->n_pci; i++) {
		CHECK(name_is_valid(c->pci[i].name));
		CHECK(c->pci[i].addr.slot < 32 && c->pci[i].addr.function < 8);
		check_path(c->pci[i].romfile);
		for (size_t j = 0; j < i; j++)
			CHECK(pci_addr_compare(&c->pci[j].addr, &c->pci[i].addr) != 0);
	}
	for (size_t i = 0; i < c->n_nets; i++) {
		const struct vm_net *n = &c->nets[i];

		CHECK(name_is_valid(n->name));
		CHECK((n->mode == NET_BRIDGE) == (n->bridge != NULL));
		CHECK((n->mode == NET_TAP) == (n->tap != NULL));
	}
	for (size_t i = 0; i < c->n_key_lines; i++)
		CHECK(c->key_lines[i].line >= 1);
	for (size_t i = 0; c->extra_args && c->extra_args[i]; i++)
		CHECK(i < CONFIG_MAX_EXTRA_ARGS && c->extra_args[i][0] &&
		      !strpbrk(c->extra_args[i], " \t"));
}

static void check_error(int r, const struct config_error *e)
{
	CHECK(r < 0);
	CHECK(e->msg && strncmp(e->msg, fuzz_path, strlen(fuzz_path)) == 0);
	CHECK(!strchr(e->msg, '\n'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(config_error_done) struct config_error e = { 0 }, es = { 0 };
	_cleanup_free_ char *text = NULL;
	struct vm_config *c = NULL, *cs = NULL;
	int r, rs;

	write_input(data, size);
	r = config_load(fuzz_path, &c, &e);
	unlink(fuzz_path);
	if (r == 0)
		check_config(c);
	else
		check_error(r, &e);

	/* The string loader on the same text (it stops at a NUL; so does nothing here). */
	if (!memchr(data, 0, size)) {
		text = malloc(size + 1);
		if (!text)
			abort();
		memcpy(text, data, size);
		text[size] = 0;
		rs = config_load_string(fuzz_path, text, &cs, &es);
		if (rs == 0) {
			check_config(cs);
			CHECK(r == 0);
		} else {
			check_error(rs, &es);
			if (!strstr(es.msg, "' is a relative path; expected an absolute path") &&
			    (r == 0 || !streq(e.msg, es.msg))) {
				fprintf(stderr, "file: %s\nstring: %s\n", r == 0 ? "loaded" : e.msg,
					es.msg);
				abort();
			}
		}
		config_free(cs);
	}
	config_free(c);
	return 0;
}

#ifndef GAMEVM_LIBFUZZER
static int replay_file(int at_fd, const char *path)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t len = 0;

	fd = openat(at_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return NEG_ERRNO();
	if (S_ISDIR(st.st_mode)) {
		DIR *d = fdopendir(fd);
		struct dirent *de;
		int r = 0;

		if (!d)
			return NEG_ERRNO();
		fd = -1;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.' && r >= 0)
				r = replay_file(dirfd(d), de->d_name);
		closedir(d);
		return r;
	}

	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0)
			return NEG_ERRNO();
		if (n == 0)
			break;
		len += (size_t)n;
	}
	LLVMFuzzerTestOneInput(buf, len);
	printf("ok %s (%zu bytes)\n", path, len);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return EXIT_FAILURE;
	}
	for (int i = 1; i < argc; i++) {
		int r = replay_file(AT_FDCWD, argv[i]);

		if (r < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
			return EXIT_FAILURE;
		}
	}
	return EXIT_SUCCESS;
}
#endif
