/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The undo journal (see journal.h for the format and the contract).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fileio.h"
#include "handoff.h"
#include "journal.h"
#include "testhook.h"
#include "macro.h"
#include "parse-util.h"

#define JOURNAL_VERSION	   1
#define JOURNAL_TARGET_MAX 1024

static const char *const kind_table[_JOURNAL_KIND_MAX] = {
	[JOURNAL_SYSFS] = "sysfs",
	[JOURNAL_DRIVER] = "driver",
	[JOURNAL_HUGEPAGES] = "hugepages",
	[JOURNAL_MODULE] = "module",
	[JOURNAL_CHOWN] = "chown",
	[JOURNAL_PROCFS] = "procfs",
	[JOURNAL_SYSFS_CHOICE] = "sysfs-choice",
	[JOURNAL_CGROUP_CONTROLLER] = "cgroup-controller",
	[JOURNAL_CGROUP_DIR] = "cgroup-dir",
	[JOURNAL_CGROUP_CPUS] = "cgroup-cpus",
	[JOURNAL_UNIT] = "unit",
	[JOURNAL_PLATFORM_DRIVER] = "platform-driver",
	[JOURNAL_FILE_CREATED] = "file-created",
	[JOURNAL_CHMOD] = "chmod",
	[JOURNAL_ACL] = "acl",
};

const char *journal_kind_to_string(enum journal_kind k)
{
	if (k < 0 || k >= _JOURNAL_KIND_MAX)
		return NULL;
	return kind_table[k];
}

enum journal_kind journal_kind_from_string(const char *s)
{
	for (int i = 0; s && i < _JOURNAL_KIND_MAX; i++)
		if (streq(kind_table[i], s))
			return (enum journal_kind)i;
	return _JOURNAL_KIND_INVALID;
}

int prepare_diag(struct plan_diags *d, int level, const char *fmt, ...)
{
	struct plan_diag *t;
	va_list ap;
	char *msg;
	int r;

	if (!d)
		return 0;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	t = realloc(d->v, (d->n + 1) * sizeof(*t));
	if (!t) {
		free(msg);
		return -ENOMEM;
	}
	d->v = t;
	d->v[d->n++] = (struct plan_diag){ .level = level, .msg = msg };
	return 0;
}

/* ---- records ------------------------------------------------------------------ */

static void record_done(struct journal_record *r)
{
	free(r->target);
	free(r->old);
	free(r->old_override);
	free(r->new);
	*r = (struct journal_record){};
}

static int strdup_null(const char *s, char **ret)
{
	if (!s) {
		*ret = NULL;
		return 0;
	}
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int record_copy(const struct journal_record *src, struct journal_record *ret)
{
	struct journal_record r = { .seq = src->seq, .kind = src->kind, .done = src->done };

	if (strdup_null(src->target, &r.target) < 0 || strdup_null(src->old, &r.old) < 0 ||
	    strdup_null(src->old_override, &r.old_override) < 0 ||
	    strdup_null(src->new, &r.new) < 0) {
		record_done(&r);
		return -ENOMEM;
	}
	*ret = r;
	return 0;
}

static bool record_valid(const struct journal_record *r)
{
	if (!journal_kind_to_string(r->kind) || isempty(r->target) ||
	    strlen(r->target) > JOURNAL_TARGET_MAX)
		return false;
	if ((r->old && strlen(r->old) > JOURNAL_VALUE_MAX) ||
	    (r->old_override && strlen(r->old_override) > JOURNAL_VALUE_MAX) ||
	    (r->new &&strlen(r->new) > JOURNAL_VALUE_MAX))
		return false;
	/* Targets are relative to a host root fd: nothing may climb out of it. */
	if (r->target[0] == '/' || strstr(r->target, "..") || strchr(r->target, '\n'))
		return false;
	switch (r->kind) {
	case JOURNAL_HUGEPAGES: {
		uint64_t v;

		return r->old && r->new &&safe_atou64(r->old, &v) >= 0 &&
		       safe_atou64(r->new, &v) >= 0;
	}
	case JOURNAL_SYSFS:
	case JOURNAL_PROCFS:
	case JOURNAL_CGROUP_CPUS:
		return r->old != NULL;
	case JOURNAL_SYSFS_CHOICE:
		return !isempty(r->old) && r->new;
	case JOURNAL_CGROUP_CONTROLLER:
		return !isempty(r->new) && !strpbrk(r->new, " +-");
	case JOURNAL_CGROUP_DIR:
		return !isempty(r->target) && strncmp(r->target, "fs/cgroup/", 10) == 0 &&
		       !strstr(r->target, "..");
	case JOURNAL_CHOWN:
	case JOURNAL_CHMOD:
		return r->old && r->new;
	case JOURNAL_FILE_CREATED:
		return r->new != NULL;
	case JOURNAL_ACL:
		return r->old && strchr(r->old, ' ') && r->new;
	case JOURNAL_DRIVER: {
		struct pci_addr a;

		return parse_pci_addr(r->target, &a) >= 0;
	}
	/* Both end up as a program's argument or a sysfs path component. */
	case JOURNAL_UNIT:
		return config_unit_name_is_valid(r->target);
	case JOURNAL_PLATFORM_DRIVER:
		return handoff_sysfs_name_is_valid(r->target) && r->old &&
		       handoff_sysfs_name_is_valid(r->old);
	default:
		return true;
	}
}

static void json_object_putp(struct json_object **o)
{
	json_object_put(*o);
}

static int json_add_str(struct json_object *o, const char *key, const char *s)
{
	struct json_object *v;

	if (!s)
		return 0;
	v = json_object_new_string(s);
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int json_add_int(struct json_object *o, const char *key, int64_t n)
{
	struct json_object *v = json_object_new_int64(n);

	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* An optional string member: absent is NULL, anything but a string is an error. */
static int json_get_str(struct json_object *o, const char *key, char **ret)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		*ret = NULL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	return strdup_null(json_object_get_string(v), ret);
}

static int json_get_seq(struct json_object *o, const char *key, unsigned *ret)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	n = json_object_get_int64(v);
	if (n < 1 || n > UINT32_MAX)
		return -EBADMSG;
	*ret = (unsigned)n;
	return 0;
}

/* ---- the file ----------------------------------------------------------------- */

void journal_free(struct journal *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n_records; i++)
		record_done(&j->records[i]);
	free(j->records);
	free(j->vm);
	free(j->boot_id);
	closep(&j->fd);
	closep(&j->dir_fd);
	free(j);
}

void journal_freep(struct journal **j)
{
	journal_free(*j);
	*j = NULL;
}

static struct journal *journal_new(int run_fd)
{
	struct journal *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->fd = -1;
	j->dir_fd = fcntl(run_fd, F_DUPFD_CLOEXEC, 3);
	if (j->dir_fd < 0) {
		free(j);
		return NULL;
	}
	return j;
}

/*
 * One line, one write(2): the record is in the file before the caller
 * changes anything. A short write is cut off again so the next line does
 * not land behind a fragment. No fsync (journal.h says why).
 */
static int journal_write_line(struct journal *j, struct json_object *o)
{
	_cleanup_free_ char *line = NULL;
	const char *s;
	struct stat st;
	size_t len;
	ssize_t n;

	s = json_object_to_json_string_ext(o,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	if (len + 1 > JOURNAL_LINE_MAX)
		return -E2BIG;
	line = malloc(len + 2);
	if (!line)
		return -ENOMEM;
	memcpy(line, s, len);
	line[len] = '\n';
	line[len + 1] = 0;

	if (fstat(j->fd, &st) < 0)
		return NEG_ERRNO();
	if (st.st_size + (off_t)len + 1 > JOURNAL_MAX_SIZE)
		return -EFBIG;
	n = RETRY_EINTR(write(j->fd, line, len + 1));
	if (n != (ssize_t)(len + 1)) {
		int r = n < 0 ? NEG_ERRNO() : -EIO;

		(void)!ftruncate(j->fd, st.st_size);
		return r;
	}
	return 0;
}

int journal_create(int run_fd, const char *vm, const char *boot_id, struct journal **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct journal *j;
	int r;

	if (isempty(vm))
		return -EINVAL;
	j = journal_new(run_fd);
	if (!j)
		return -ENOMEM;
	j->vm = strdup(vm);
	if (!j->vm) {
		journal_free(j);
		return -ENOMEM;
	}
	j->fd = openat(run_fd, JOURNAL_FILE,
		       O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->fd < 0) {
		r = NEG_ERRNO();
		journal_free(j);
		return r;
	}
	o = json_object_new_object();
	r = o ? json_add_int(o, "journal", JOURNAL_VERSION) : -ENOMEM;
	if (r >= 0)
		r = json_add_str(o, "vm", vm);
	if (r >= 0 && boot_id)
		r = json_add_str(o, "boot", boot_id);
	if (r >= 0)
		r = journal_write_line(j, o);
	if (r < 0) {
		(void)unlinkat(run_fd, JOURNAL_FILE, 0);
		journal_free(j);
		return r;
	}
	*ret = j;
	return 0;
}

static int journal_add_loaded(struct journal *j, struct journal_record *rec)
{
	struct journal_record *t = reallocarray(j->records, j->n_records + 1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	j->records = t;
	j->records[j->n_records++] = *rec;
	*rec = (struct journal_record){};
	return 0;
}

/* One complete line: the header, a record, or a done marker. */
static int journal_parse_line(struct journal *j, const char *line, size_t len, bool first)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct json_tokener *tok;
	struct journal_record rec = {};
	_cleanup_free_ char *kind = NULL;
	struct json_object *v;
	unsigned seq;
	int r;

	if (len == 0 || len >= JOURNAL_LINE_MAX || memchr(line, 0, len))
		return -EBADMSG;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, line, (int)len);
	r = json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	if (!r || !o || !json_object_is_type(o, json_type_object))
		return -EBADMSG;

	if (json_object_object_get_ex(o, "journal", &v)) {
		if (!first || !json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) != JOURNAL_VERSION)
			return -EBADMSG;
		r = json_get_str(o, "vm", &j->vm);
		if (r >= 0)
			r = json_get_str(o, "boot", &j->boot_id);
		return r;
	}
	if (first)
		return -EBADMSG;

	if (json_object_object_get_ex(o, "done", &v)) {
		r = json_get_seq(o, "done", &seq);
		if (r < 0)
			return r;
		if (seq > j->n_records)
			return -EBADMSG;
		j->records[seq - 1].done = true;
		return 0;
	}

	r = json_get_seq(o, "seq", &rec.seq);
	if (r < 0)
		return r;
	/* Records are numbered in order: a gap means a lost or reordered line. */
	if (rec.seq != j->n_records + 1)
		return -EBADMSG;
	r = json_get_str(o, "kind", &kind);
	if (r < 0)
		return r;
	rec.kind = journal_kind_from_string(kind);
	if (json_get_str(o, "target", &rec.target) < 0 || json_get_str(o, "old", &rec.old) < 0 ||
	    json_get_str(o, "old_override", &rec.old_override) < 0 ||
	    json_get_str(o, "new", &rec.new) < 0 || !record_valid(&rec)) {
		record_done(&rec);
		return -EBADMSG;
	}
	r = journal_add_loaded(j, &rec);
	record_done(&rec);
	return r;
}

int journal_open_existing(int run_fd, struct journal **ret)
{
	_cleanup_free_ char *text = NULL;
	struct journal *j = NULL;
	size_t len, pos = 0, keep = 0;
	bool first = true;
	int r;

	r = read_full_file_at(run_fd, JOURNAL_FILE, JOURNAL_MAX_SIZE, &text, &len);
	if (r < 0)
		return r;
	j = journal_new(run_fd);
	if (!j)
		return -ENOMEM;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t line_len;

		if (!nl) {
			/* Died inside the write: that change was never started. */
			j->torn = true;
			break;
		}
		line_len = (size_t)(nl - (text + pos));
		r = journal_parse_line(j, text + pos, line_len, first);
		if (r == -EBADMSG && (size_t)(nl - text) + 1 == len) {
			/* A damaged last line is a torn one whose newline made it. */
			j->torn = true;
			break;
		}
		if (r < 0)
			goto fail;
		first = false;
		pos = (size_t)(nl - text) + 1;
		keep = pos;
	}

	j->fd = openat(run_fd, JOURNAL_FILE, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (j->fd < 0) {
		r = NEG_ERRNO();
		goto fail;
	}
	/* New lines must not be glued to the fragment. */
	if (j->torn && ftruncate(j->fd, (off_t)keep) < 0) {
		r = NEG_ERRNO();
		goto fail;
	}
	/* Killed before the header was complete: give the file its header back. */
	if (first) {
		_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

		r = o ? json_add_int(o, "journal", JOURNAL_VERSION) : -ENOMEM;
		if (r >= 0)
			r = journal_write_line(j, o);
		if (r < 0)
			goto fail;
	}
	*ret = j;
	return 0;
fail:
	journal_free(j);
	return r;
}

size_t journal_pending(const struct journal *j)
{
	size_t n = 0;

	for (size_t i = 0; j && i < j->n_records; i++)
		n += !j->records[i].done;
	return n;
}

const struct journal_record *journal_find(const struct journal *j, unsigned seq)
{
	if (!j || seq < 1 || seq > j->n_records)
		return NULL;
	return &j->records[seq - 1];
}

int journal_append(struct journal *j, const struct journal_record *rec, unsigned *ret_seq)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct journal_record copy;
	int r;

	if (!j || j->fd < 0 || !rec)
		return -EINVAL;
	r = record_copy(rec, &copy);
	if (r < 0)
		return r;
	copy.seq = (unsigned)j->n_records + 1;
	copy.done = false;
	if (!record_valid(&copy)) {
		record_done(&copy);
		return -EINVAL;
	}

	o = json_object_new_object();
	r = o ? json_add_int(o, "seq", copy.seq) : -ENOMEM;
	if (r >= 0)
		r = json_add_str(o, "kind", journal_kind_to_string(copy.kind));
	if (r >= 0)
		r = json_add_str(o, "target", copy.target);
	if (r >= 0)
		r = json_add_str(o, "old", copy.old);
	if (r >= 0)
		r = json_add_str(o, "old_override", copy.old_override);
	if (r >= 0)
		r = json_add_str(o, "new", copy.new);
	if (r >= 0)
		r = journal_write_line(j, o);
	if (r >= 0)
		r = journal_add_loaded(j, &copy);
	record_done(&copy);
	if (r < 0)
		return r;
	if (ret_seq)
		*ret_seq = (unsigned)j->n_records;
	/* Written and synced; the change itself is the caller's next step. */
	testhook_point_n("journal", j->n_records);
	return 0;
}

int journal_mark_done(struct journal *j, unsigned seq)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	int r;

	if (!j || j->fd < 0)
		return -EINVAL;
	if (seq < 1 || seq > j->n_records)
		return -ENOENT;
	if (j->records[seq - 1].done)
		return 0;
	o = json_object_new_object();
	r = o ? json_add_int(o, "done", seq) : -ENOMEM;
	if (r >= 0)
		r = journal_write_line(j, o);
	if (r < 0)
		return r;
	j->records[seq - 1].done = true;
	return 0;
}

int journal_remove(struct journal *j)
{
	if (!j)
		return -EINVAL;
	if (journal_pending(j) > 0)
		return -EBUSY;
	if (unlinkat(j->dir_fd, JOURNAL_FILE, 0) < 0 && errno != ENOENT)
		return NEG_ERRNO();
	closep(&j->fd);
	j->fd = -1;
	return 0;
}

int journal_discard(struct journal *j)
{
	if (!j)
		return -EINVAL;
	if (unlinkat(j->dir_fd, JOURNAL_FILE, 0) < 0 && errno != ENOENT)
		return NEG_ERRNO();
	closep(&j->fd);
	j->fd = -1;
	return 0;
}

int journal_replay(struct journal *j, const struct host_root *h, journal_undo_fn undo,
		   void *userdata, struct plan_diags *d)
{
	size_t undone = 0;
	int ret = 0, r;

	if (!j || !undo)
		return -EINVAL;
	for (size_t i = j->n_records; i > 0; i--) {
		const struct journal_record *rec = &j->records[i - 1];

		if (rec->done)
			continue;
		r = undo(h, rec, userdata, d);
		if (r < 0) {
			if (ret == 0)
				ret = r;
			continue;
		}
		r = journal_mark_done(j, rec->seq);
		if (r < 0 && ret == 0)
			ret = r;
		testhook_point_n("replay", ++undone);
	}
	if (ret < 0)
		return ret;
	return journal_remove(j);
}

/* ---- generic kinds ------------------------------------------------------------ */

/*
 * An attribute that reads empty (cpuset.cpus "inherit") is written back as
 * "\n": a write(2) of nothing never reaches the kernel.
 */
static int write_attr(int dir_fd, const char *path, const char *value)
{
	return write_string_at(dir_fd, path, isempty(value) ? "\n" : value);
}

static int journal_write_attr(struct journal *j, int dir_fd, enum journal_kind kind,
			      const char *path, const char *value)
{
	_cleanup_free_ char *old = NULL;
	struct journal_record rec = { .kind = kind };
	int r;

	if (dir_fd < 0)
		return -ENOENT;
	r = read_one_line_at(dir_fd, path, &old);
	if (r < 0)
		return r;
	rec.target = (char *)path;
	rec.old = old;
	rec.new = (char *)value;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;
	return write_attr(dir_fd, path, value);
}

int journal_write_sysfs(struct journal *j, const struct host_root *h, const char *path,
			const char *value)
{
	return journal_write_attr(j, h->sys_fd, JOURNAL_SYSFS, path, value);
}

int journal_write_procfs(struct journal *j, const struct host_root *h, const char *path,
			 const char *value)
{
	return journal_write_attr(j, h->proc_fd, JOURNAL_PROCFS, path, value);
}

static int journal_undo_attr(const struct host_root *h, int dir_fd, const char *top,
			     const struct journal_record *rec, bool gone_ok, struct plan_diags *d)
{
	_cleanup_free_ char *cur = NULL;
	char where[512];
	int r;

	host_root_path(h, top, rec->target, where, sizeof(where));
	r = dir_fd < 0 ? -ENOENT : read_one_line_at(dir_fd, rec->target, &cur);
	if (r == -ENOENT && gone_ok)
		return 0;
	if (r < 0) {
		(void)prepare_diag(d, LOG_ERR, "cannot read '%s' to restore it to '%s': %s", where,
				   rec->old, strerror(-r));
		return r;
	}
	if (streq(cur, rec->old))
		return 0;
	r = write_attr(dir_fd, rec->target, rec->old);
	if (r == -ENOENT && gone_ok)
		return 0;
	if (r < 0) {
		(void)prepare_diag(d, LOG_ERR, "cannot write '%s' back to '%s': %s", rec->old,
				   where, strerror(-r));
		return r;
	}
	return prepare_diag(d, LOG_INFO, "'%s' set back to '%s' (was '%s')", where, rec->old, cur);
}

/*
 * For attributes whose read form is what one writes back (a number, a
 * governor name); "[always] madvise never" style attributes are
 * JOURNAL_SYSFS_CHOICE.
 */
int journal_undo_sysfs(const struct host_root *h, const struct journal_record *rec,
		       struct plan_diags *d)
{
	return journal_undo_attr(h, h->sys_fd, "sys", rec, false, d);
}

/* proc/irq/N disappears when its IRQ is freed: nothing left to restore. */
int journal_undo_procfs(const struct host_root *h, const struct journal_record *rec,
			struct plan_diags *d)
{
	return journal_undo_attr(h, h->proc_fd, "proc", rec, true, d);
}

int sysfs_choice_current(const char *s, char **ret)
{
	const char *open = strchr(s, '['), *close;
	char *w;

	if (!open)
		return -EBADMSG;
	close = strchr(open, ']');
	if (!close || close == open + 1)
		return -EBADMSG;
	w = strndup(open + 1, (size_t)(close - open - 1));
	if (!w)
		return -ENOMEM;
	*ret = w;
	return 0;
}

int journal_write_sysfs_choice(struct journal *j, const struct host_root *h, const char *path,
			       const char *value)
{
	_cleanup_free_ char *line = NULL, *old = NULL;
	struct journal_record rec = { .kind = JOURNAL_SYSFS_CHOICE };
	int r;

	if (h->sys_fd < 0)
		return -ENOENT;
	r = read_one_line_at(h->sys_fd, path, &line);
	if (r < 0)
		return r;
	r = sysfs_choice_current(line, &old);
	if (r < 0)
		return r;
	rec.target = (char *)path;
	rec.old = old;
	rec.new = (char *)value;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;
	return write_string_at(h->sys_fd, path, value);
}

int journal_undo_sysfs_choice(const struct host_root *h, const struct journal_record *rec,
			      struct plan_diags *d)
{
	_cleanup_free_ char *line = NULL, *cur = NULL;
	char where[512];
	int r;

	host_root_path(h, "sys", rec->target, where, sizeof(where));
	r = h->sys_fd < 0 ? -ENOENT : read_one_line_at(h->sys_fd, rec->target, &line);
	if (r >= 0)
		r = sysfs_choice_current(line, &cur);
	if (r < 0) {
		(void)prepare_diag(d, LOG_ERR, "cannot read '%s' to restore it to '%s': %s", where,
				   rec->old, strerror(-r));
		return r;
	}
	if (streq(cur, rec->old))
		return 0;
	r = write_string_at(h->sys_fd, rec->target, rec->old);
	if (r < 0) {
		(void)prepare_diag(d, LOG_ERR, "cannot write '%s' back to '%s': %s", rec->old,
				   where, strerror(-r));
		return r;
	}
	return prepare_diag(d, LOG_INFO, "'%s' set back to '%s' (was '%s')", where, rec->old, cur);
}

/*
 * "UID:GID", or "UID:GID MODE ACL" as journal_chown_dev writes it: the
 * permission bits in octal and '-' when the node had no ACL ('+' when it
 * had one). *ret_mode is (mode_t)-1 and *ret_had_acl true (leave both
 * alone) for the short form.
 */
static int parse_owner_mode(const char *s, uid_t *ret_uid, gid_t *ret_gid, mode_t *ret_mode,
			    bool *ret_had_acl)
{
	unsigned uid, gid, mode = (unsigned)-1;
	char acl = '+';
	int n = -1, k;

	k = sscanf(s, "%u:%u%n %o %c%n", &uid, &gid, &n, &mode, &acl, &n);
	if ((k != 2 && k != 4) || n < 0 || s[n] || (k == 4 && (mode > 07777 || !strchr("+-", acl))))
		return -EINVAL;
	*ret_uid = (uid_t)uid;
	*ret_gid = (gid_t)gid;
	*ret_mode = k == 4 ? (mode_t)mode : (mode_t)-1;
	*ret_had_acl = acl == '+';
	return 0;
}

int journal_chown_dev(struct journal *j, const struct host_root *h, const char *path, uid_t uid,
		      gid_t gid, bool *ret_changed)
{
	struct journal_record rec = { .kind = JOURNAL_CHOWN };
	char old[64], new[32], proc[64];
	_cleanup_close_ int fd = -1;
	bool had_acl;
	struct stat st;
	int r;

	if (h->dev_fd < 0)
		return -ENOENT;
	fd = openat(h->dev_fd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return NEG_ERRNO();
	if (st.st_uid == uid && st.st_gid == gid) {
		if (ret_changed)
			*ret_changed = false;
		return 0;
	}
	/*
	 * The new owner may chmod the node and set ACLs on it while it has
	 * it: the mode and whether there was an ACL are recorded too, so the
	 * undo puts back all of it.
	 */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	had_acl = !S_ISLNK(st.st_mode) && getxattr(proc, "system.posix_acl_access", NULL, 0) >= 0;
	snprintf(old, sizeof(old), "%u:%u %04o %c", (unsigned)st.st_uid, (unsigned)st.st_gid,
		 (unsigned)(st.st_mode & 07777), had_acl ? '+' : '-');
	snprintf(new, sizeof(new), "%u:%u", (unsigned)uid, (unsigned)gid);
	rec.target = (char *)path;
	rec.old = old;
	rec.new = new;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return NEG_ERRNO();
	if (ret_changed)
		*ret_changed = true;
	return 0;
}

int journal_undo_chown(const struct host_root *h, const struct journal_record *rec,
		       struct plan_diags *d)
{
	char where[512], proc[64];
	_cleanup_close_ int fd = -1;
	bool had_acl, changed = false;
	struct stat st;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int r;

	host_root_path(h, "dev", rec->target, where, sizeof(where));
	r = parse_owner_mode(rec->old, &uid, &gid, &mode, &had_acl);
	if (r < 0) {
		(void)prepare_diag(d, LOG_ERR, "journal: bad owner '%s' for '%s'", rec->old, where);
		return r;
	}
	if (h->dev_fd >= 0)
		fd = openat(h->dev_fd, rec->target, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		/* The kernel removes a group's node when its last device leaves vfio-pci. */
		if (h->dev_fd < 0 || errno == ENOENT)
			return 0;
		r = NEG_ERRNO();
		(void)prepare_diag(d, LOG_ERR, "cannot look at '%s': %s", where, strerror(-r));
		return r;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	/* Through the O_PATH fd: what was looked at is what is changed. */
	if ((st.st_uid != uid || st.st_gid != gid) &&
	    fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		r = NEG_ERRNO();
		(void)prepare_diag(d, LOG_ERR, "cannot give '%s' back to %u:%u: %s", where,
				   (unsigned)uid, (unsigned)gid, strerror(-r));
		return r;
	}
	changed = st.st_uid != uid || st.st_gid != gid;
	if (!S_ISLNK(st.st_mode) && !had_acl && removexattr(proc, "system.posix_acl_access") == 0)
		changed = true;
	if (!S_ISLNK(st.st_mode) && mode != (mode_t)-1 && (st.st_mode & 07777) != mode) {
		if (chmod(proc, mode) < 0) {
			r = NEG_ERRNO();
			(void)prepare_diag(d, LOG_ERR, "cannot set '%s' back to mode %04o: %s",
					   where, (unsigned)mode, strerror(-r));
			return r;
		}
		changed = true;
	}
	if (!changed)
		return 0;
	return prepare_diag(d, LOG_INFO, "'%s' given back to %u:%u", where, (unsigned)uid,
			    (unsigned)gid);
}

int journal_boot_id(const struct host_root *h, char **ret)
{
	_cleanup_free_ char *id = NULL;
	int r;

	if (h->proc_fd < 0)
		return -ENOENT;
	r = read_one_line_at(h->proc_fd, "sys/kernel/random/boot_id", &id);
	if (r < 0)
		return r;
	if (strlen(id) != 36 || strspn(id, "0123456789abcdef-") != 36)
		return -EBADMSG;
	*ret = TAKE_PTR(id);
	return 0;
}

bool journal_from_other_boot(const struct journal *j, const char *boot_id)
{
	return j->boot_id && boot_id && strcmp(j->boot_id, boot_id) != 0;
}
