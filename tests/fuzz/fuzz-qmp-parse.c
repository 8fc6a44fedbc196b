/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the QMP core: the input is what a server sends. It is fed
 * to a client with eight commands outstanding, once in one piece and once in
 * random chunks (seeded from the input), every reply's "return" goes through
 * the typed parsers, and the two runs must dispatch exactly the same things.
 * Any crash, leak (ASan) or difference (abort) is a bug.
 *
 * Built two ways (tests/fuzz/meson.build):
 *   - a corpus replay program, run in the normal test suite:
 *       fuzz-qmp-parse FILE|DIR...   (each file with 16 chunkings)
 *   - with -Dfuzz=true and clang, a libFuzzer binary (GAMEVM_LIBFUZZER):
 *       fuzz-qmp-parse-libfuzzer -max_len=65536 tests/fuzz/corpus-qmp
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_LINE 4096
#define FUZZ_COMMANDS 8

/* FNV-1a over everything the client dispatched, in order. */
struct trace {
	uint64_t hash;
	size_t n;
};

static void trace_add(struct trace *t, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		t->hash ^= b[i];
		t->hash *= 0x100000001b3ULL;
	}
	t->n++;
}

static void trace_int(struct trace *t, int64_t v)
{
	trace_add(t, &v, sizeof(v));
}

static void trace_str(struct trace *t, const char *s)
{
	trace_add(t, s ? s : "(null)", strlen(s ? s : "(null)") + 1);
}

static void trace_json(struct trace *t, json_object *o)
{
	trace_str(t, o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL);
}

static void on_event(struct qmp_client *c, const struct qmp_event *ev, void *userdata)
{
	struct trace *t = userdata;

	trace_str(t, ev->name);
	trace_int(t, ev->type);
	trace_int(t, ev->seconds);
	trace_int(t, ev->microseconds);
	trace_int(t, ev->guest);
	trace_int(t, ev->reason);
	trace_str(t, ev->reason_str);
	trace_int(t, ev->panic_action);
	trace_int(t, ev->has_hyperv_crash);
	for (size_t i = 0; i < ELEMENTSOF(ev->hyperv_crash); i++)
		trace_int(t, (int64_t)ev->hyperv_crash[i]);
	trace_int(t, ev->watchdog_action);
	trace_json(t, ev->data);
	trace_json(t, ev->panic_info);
}

static void parse_return(struct trace *t, json_object *ret)
{
	struct qmp_iothread *io;
	struct qmp_cpu *cpus;
	struct qmp_status st;
	size_t n;
	int r;

	r = qmp_parse_cpus_fast(ret, &cpus, &n);
	trace_int(t, r);
	if (r >= 0) {
		for (size_t i = 0; i < n; i++) {
			trace_int(t, cpus[i].cpu_index);
			trace_int(t, cpus[i].thread_id);
			trace_int(t, cpus[i].socket_id);
			trace_int(t, cpus[i].core_id);
			trace_str(t, cpus[i].qom_path);
		}
		qmp_cpus_free(cpus, n);
	}
	r = qmp_parse_iothreads(ret, &io, &n);
	trace_int(t, r);
	if (r >= 0) {
		for (size_t i = 0; i < n; i++) {
			trace_str(t, io[i].id);
			trace_int(t, io[i].thread_id);
		}
		qmp_iothreads_free(io, n);
	}
	r = qmp_parse_status(ret, &st);
	trace_int(t, r);
	if (r >= 0) {
		trace_int(t, st.running);
		trace_int(t, st.state);
		trace_str(t, st.status);
		qmp_status_done(&st);
	}
}

static void on_reply(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		     const struct qmp_error *err, void *userdata)
{
	struct trace *t = userdata;

	trace_int(t, (int64_t)id);
	trace_int(t, error);
	if ((error == 0) != (ret != NULL))
		abort();
	if (ret) {
		trace_json(t, ret);
		parse_return(t, ret);
	}
	if (err) {
		trace_str(t, err->class);
		trace_str(t, err->desc);
	}
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void drain_output(struct qmp_client *c)
{
	const void *p;
	size_t len;

	if (qmp_pending_output(c, &p, &len) >= 0 && len > 0)
		(void)qmp_output_consumed(c, len);
}

/* seed 0: one piece; else chunks of 1..64 bytes, sometimes larger */
static void run(const uint8_t *data, size_t size, uint32_t seed, struct trace *t)
{
	static const char *const commands[FUZZ_COMMANDS] = {
		"query-status", "query-cpus-fast",  "query-iothreads",
		"cont",		"system_powerdown", "stop",
		"quit",		"query-version",
	};
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	size_t off = 0;
	int r = 0;

	*t = (struct trace){ .hash = 0xcbf29ce484222325ULL };
	if (qmp_client_new(-1, &c) < 0)
		abort();
	if (qmp_set_max_line(c, FUZZ_MAX_LINE) < 0)
		abort();
	qmp_set_event_callback(c, on_event, t);
	for (size_t i = 0; i < FUZZ_COMMANDS; i++)
		if (qmp_send_command(c, commands[i], NULL, on_reply, t, NULL) < 0)
			abort();

	while (off < size && r >= 0) {
		size_t n = size - off;

		if (seed != 0) {
			uint32_t x = xorshift(&seed);

			n = MIN(n, (x & 7) == 0 ? 1 + (x >> 8) % 8192 : 1 + (x >> 8) % 64);
		}
		r = qmp_feed(c, data + off, n);
		off += n;
		drain_output(c);
	}
	trace_int(t, r);
	trace_int(t, qmp_is_ready(c));
	trace_int(t, (int64_t)qmp_pending_commands(c));
	/* what is still pending completes with -ECONNRESET */
	trace_int(t, qmp_feed_eof(c));
	if (qmp_pending_commands(c) != 0)
		abort();
}

static void fuzz_one(const uint8_t *data, size_t size, uint32_t seed)
{
	struct trace whole, chunked;

	run(data, size, 0, &whole);
	run(data, size, seed | 1, &chunked);
	if (whole.hash != chunked.hash || whole.n != chunked.n) {
		fprintf(stderr, "chunking changed the outcome (seed %u)\n", seed | 1);
		abort();
	}
}

static uint32_t seed_of(const uint8_t *data, size_t size)
{
	struct trace t = { .hash = 0xcbf29ce484222325ULL };

	trace_add(&t, data, size);
	return (uint32_t)(t.hash ^ (t.hash >> 32));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one(data, size, seed_of(data, size));
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
	for (uint32_t k = 0; k < 16; k++)
		fuzz_one(buf, len, seed_of(buf, len) + k * 0x9e3779b9u);
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
