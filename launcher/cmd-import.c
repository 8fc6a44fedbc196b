/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm import-libvirt DOMAIN.xml [-o NAME.conf]: converts a libvirt domain
 * ('virsh dumpxml NAME'; '-' reads standard input) into a gamevm config
 * file. Each element it could not carry over is listed on stderr with its
 * line in the XML and the reason; that is not a failure. Without -o the
 * config goes to stdout; with -o it is written atomically (a temporary
 * file in the same directory, renamed into place) and never over an
 * existing file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fileio.h"
#include "import-libvirt.h"
#include "log.h"
#include "macro.h"

static int read_input(const char *path, char **ret, size_t *ret_len)
{
	size_t len = 0, cap = 64 * 1024;
	char *buf;

	if (!streq(path, "-"))
		return read_full_file_at(AT_FDCWD, path, IMPORT_MAX_INPUT, ret, ret_len);
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *b;

			if (cap > IMPORT_MAX_INPUT) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			b = realloc(buf, cap + 1);
			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
		}
		n = RETRY_EINTR(read(STDIN_FILENO, buf + len, cap - len));
		if (n < 0) {
			int r = NEG_ERRNO();
			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > IMPORT_MAX_INPUT) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = 0;
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = RETRY_EINTR(write(fd, s, len));

		if (n < 0)
			return NEG_ERRNO();
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* path appears whole or not at all, and only where nothing was. */
static int write_new_file(const char *path, const char *text)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	/* Beside the target, so that rename() stays in one file system. */
	r = slash ? asprintf(&tmp, "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1)
		  : asprintf(&tmp, ".%s.XXXXXX", path);
	if (r < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return NEG_ERRNO();
	/* gamevm refuses, as root, a config that others can write. */
	r = fchmod(fd, 0644) < 0 ? NEG_ERRNO() : 0;
	if (r == 0)
		r = write_all(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = NEG_ERRNO();
	if (r == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		r = NEG_ERRNO();
		/* A file system without RENAME_NOREPLACE: link() refuses to replace too. */
		if (r == -EINVAL || r == -ENOSYS) {
			r = link(tmp, path) < 0 ? NEG_ERRNO() : 0;
			(void)unlink(tmp);
			return r;
		}
	}
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

int verb_import_libvirt(const struct cli *cl)
{
	_cleanup_(import_result_done) struct import_result res = {};
	_cleanup_free_ char *xml = NULL;
	const char *in = cl->args[0], *source = streq(in, "-") ? "standard input" : in;
	size_t len = 0;
	int r;

	if (cl->output && access(cl->output, F_OK) == 0)
		return log_error_errno(
			-EEXIST,
			"'%s' exists; gamevm import-libvirt does not overwrite a file: name a new one with -o, or remove it first.",
			cl->output);
	r = read_input(in, &xml, &len);
	if (r == -EFBIG)
		return log_error_errno(r,
				       "%s: larger than %u bytes; a libvirt domain is far smaller.",
				       source, IMPORT_MAX_INPUT);
	if (r < 0)
		return log_error_errno(r, "Failed to read '%s': %m", source);

	r = import_libvirt(source, xml, len, &res);
	if (r == -ENOMEM)
		return log_error_errno(r, "Out of memory.");
	if (r < 0)
		return log_error_errno(r, "%s: %s", source,
				       res.error ? res.error : "cannot convert it");

	for (size_t i = 0; i < res.n_items; i++) {
		const struct import_item *it = &res.items[i];

		log_full_errno(it->kind == IMPORT_DROPPED ? LOG_WARNING : LOG_NOTICE, 0,
			       "%s:%u: %s: %s: %s", source, it->line, it->what,
			       import_item_kind_to_string(it->kind), it->why);
	}

	if (!cl->output) {
		fputs(res.config, stdout);
		if (fflush(stdout) != 0)
			return log_error_errno(-EIO,
					       "Failed to write the config to standard output.");
	} else {
		r = write_new_file(cl->output, res.config);
		if (r == -EEXIST)
			return log_error_errno(
				r, "'%s' exists; gamevm import-libvirt does not overwrite a file.",
				cl->output);
		if (r < 0)
			return log_error_errno(r, "Failed to write '%s': %m", cl->output);
	}
	log_info(
		"Converted the libvirt domain in %s to a config for VM '%s'%s%s; %zu element%s not carried over as in libvirt%s.",
		source, res.name, cl->output ? " in " : "", cl->output ? cl->output : "",
		res.n_items, res.n_items == 1 ? " was" : "s were",
		res.n_items ? " (listed above)" : "");
	return 0;
}
