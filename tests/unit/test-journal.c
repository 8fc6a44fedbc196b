/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The undo journal (launcher/journal.c): the file format, reloading, a
 * torn last line, damage elsewhere, replay order and idempotence, the
 * generic sysfs and chown kinds; and `gamevm cleanup` through the real
 * binary (a stale journal replayed, twice, refused while the VM runs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "fileio.h"
#include "journal.h"
#include "macro.h"

struct fixture {
	char base[64];
	char run[128];	/* the VM's run dir: base/run/demo */
	char root[128]; /* a host root: base/root with sys/ and dev/ */
	int run_fd;
	struct host_root h;
};

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *f)
{
	return remove(p);
}

static void put(const char *dir, const char *rel, const char *content)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "we");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static char *get(const char *dir, const char *rel)
{
	char p[512];
	char *s = NULL;
	size_t len;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (read_full_file_at(AT_FDCWD, p, 1 << 20, &s, &len) < 0)
		return NULL;
	return s;
}

/* The first line: a plain file keeps the tail of a longer old content, an attribute would not. */
static char *get_line(const char *dir, const char *rel)
{
	char *s = get(dir, rel);

	if (s)
		s[strcspn(s, "\n")] = 0;
	return s;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char p[256];

	assert_non_null(f);
	strcpy(f->base, "/tmp/gamevm-test-journal-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(p, sizeof(p), "%s/run", f->base);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(f->run, sizeof(f->run), "%s/run/demo", f->base);
	assert_int_equal(mkdir(f->run, 0755), 0);
	snprintf(f->root, sizeof(f->root), "%s/root", f->base);
	assert_int_equal(mkdir(f->root, 0755), 0);
	snprintf(p, sizeof(p), "%s/sys", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/sys/kernel", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/dev", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	put(f->root, "sys/kernel/knob", "42\n");
	f->run_fd = open(f->run, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->run_fd >= 0);
	f->h = (struct host_root)HOST_ROOT_NULL;
	assert_int_equal(host_root_open(f->root, &f->h), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	host_root_close(&f->h);
	close(f->run_fd);
	nftw(f->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct journal_record rec(enum journal_kind kind, const char *target, const char *old,
				 const char *new)
{
	return (struct journal_record){
		.kind = kind, .target = (char *)target, .old = (char *)old, .new = (char *)new
	};
}

/* Three records as gamevm start would write them. */
static void write_three(struct fixture *f, struct journal **ret)
{
	struct journal_record r[3] = {
		rec(JOURNAL_MODULE, "vfio-pci", NULL, NULL),
		rec(JOURNAL_DRIVER, "0000:03:00.1", "snd_hda_intel", "vfio-pci"),
		rec(JOURNAL_HUGEPAGES, "kernel/mm/hugepages/hugepages-1048576kB", "0", "16"),
	};
	unsigned seq;

	r[1].old_override = (char *)"snd_hda_intel";
	assert_int_equal(journal_create(f->run_fd, "demo", NULL, ret), 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(journal_append(*ret, &r[i], &seq), 0);
		assert_int_equal(seq, i + 1);
	}
}

/* ---- format and loading -------------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL, *k = NULL;
	_cleanup_free_ char *text = NULL;
	struct stat st;

	write_three(f, &j);
	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &k), -EEXIST);
	assert_int_equal(fstatat(f->run_fd, JOURNAL_FILE, &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	text = get(f->run, JOURNAL_FILE);
	assert_string_equal(
		text,
		"{\"journal\":1,\"vm\":\"demo\"}\n"
		"{\"seq\":1,\"kind\":\"module\",\"target\":\"vfio-pci\"}\n"
		"{\"seq\":2,\"kind\":\"driver\",\"target\":\"0000:03:00.1\",\"old\":\"snd_hda_intel\",\"old_override\":\"snd_hda_intel\",\"new\":\"vfio-pci\"}\n"
		"{\"seq\":3,\"kind\":\"hugepages\",\"target\":\"kernel/mm/hugepages/hugepages-1048576kB\",\"old\":\"0\",\"new\":\"16\"}\n");

	assert_int_equal(journal_open_existing(f->run_fd, &k), 0);
	assert_string_equal(k->vm, "demo");
	assert_false(k->torn);
	assert_int_equal(k->n_records, 3);
	assert_int_equal(journal_pending(k), 3);
	assert_int_equal(k->records[0].kind, JOURNAL_MODULE);
	assert_null(k->records[0].old);
	assert_int_equal(k->records[1].kind, JOURNAL_DRIVER);
	assert_string_equal(k->records[1].target, "0000:03:00.1");
	assert_string_equal(k->records[1].old, "snd_hda_intel");
	assert_string_equal(k->records[1].old_override, "snd_hda_intel");
	assert_string_equal(k->records[2].new, "16");
}

static void test_escaping(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL, *k = NULL;
	struct journal_record r = rec(JOURNAL_SYSFS, "kernel/knob", "a \"b\"\n\tc\\d", "x");

	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(journal_append(j, &r, NULL), 0);
	assert_int_equal(journal_open_existing(f->run_fd, &k), 0);
	assert_int_equal(k->n_records, 1);
	assert_string_equal(k->records[0].old, "a \"b\"\n\tc\\d");
}

static void test_invalid_records(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_free_ char *big = malloc(JOURNAL_VALUE_MAX + 2);
	struct journal_record r;

	assert_non_null(big);
	memset(big, 'x', JOURNAL_VALUE_MAX + 1);
	big[JOURNAL_VALUE_MAX + 1] = 0;
	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	r = rec(JOURNAL_SYSFS, "../etc/passwd", "x", "y");
	assert_int_equal(journal_append(j, &r, NULL), -EINVAL);
	r = rec(JOURNAL_SYSFS, "/sys/kernel/knob", "x", "y");
	assert_int_equal(journal_append(j, &r, NULL), -EINVAL);
	r = rec(JOURNAL_SYSFS, "kernel/knob", big, "y");
	assert_int_equal(journal_append(j, &r, NULL), -EINVAL);
	r = rec(JOURNAL_HUGEPAGES, "kernel/mm/hugepages/hugepages-2048kB", "many", "1");
	assert_int_equal(journal_append(j, &r, NULL), -EINVAL);
	r = rec(JOURNAL_DRIVER, "not-a-device", NULL, "vfio-pci");
	assert_int_equal(journal_append(j, &r, NULL), -EINVAL);
	assert_int_equal(j->n_records, 0);
}

static void append_raw(struct fixture *f, const char *s, size_t len)
{
	int fd = openat(f->run_fd, JOURNAL_FILE, O_WRONLY | O_APPEND | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
	close(fd);
}

static void test_torn_last_line(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL, *k = NULL, *l = NULL;
	struct journal_record r = rec(JOURNAL_MODULE, "vfio-pci", NULL, NULL);

	write_three(f, &j);
	/* Killed inside write(2): half a record, no newline. */
	append_raw(f, "{\"seq\":4,\"kind\":\"dri", 20);
	assert_int_equal(journal_open_existing(f->run_fd, &k), 0);
	assert_true(k->torn);
	assert_int_equal(k->n_records, 3);
	/* The next record does not land behind the fragment. */
	assert_int_equal(journal_append(k, &r, NULL), 0);
	assert_int_equal(journal_open_existing(f->run_fd, &l), 0);
	assert_false(l->torn);
	assert_int_equal(l->n_records, 4);
	assert_int_equal(l->records[3].kind, JOURNAL_MODULE);
}

static void test_damaged_last_line_with_newline(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL, *k = NULL;

	write_three(f, &j);
	append_raw(f, "{\"seq\":4,\"ki\0\0\0\n", 16);
	assert_int_equal(journal_open_existing(f->run_fd, &k), 0);
	assert_true(k->torn);
	assert_int_equal(k->n_records, 3);
}

static void test_torn_header(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *k = NULL;

	_cleanup_(journal_freep) struct journal *l = NULL;
	struct journal_record r = rec(JOURNAL_MODULE, "vfio-pci", NULL, NULL);

	/* Killed while creating it: the header is rewritten before anything follows. */
	put(f->run, JOURNAL_FILE, "{\"journal\":1,\"v");
	assert_int_equal(journal_open_existing(f->run_fd, &k), 0);
	assert_int_equal(k->n_records, 0);
	assert_int_equal(journal_pending(k), 0);
	assert_int_equal(journal_append(k, &r, NULL), 0);
	assert_int_equal(journal_open_existing(f->run_fd, &l), 0);
	assert_int_equal(l->n_records, 1);
}

static void test_damage_in_the_middle(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *k = NULL;

	put(f->run, JOURNAL_FILE,
	    "{\"journal\":1,\"vm\":\"demo\"}\n"
	    "{\"seq\":1,\"kind\":\"module\",\"target\":\"vfio-pci\"}\n"
	    "garbage\n"
	    "{\"seq\":2,\"kind\":\"module\",\"target\":\"vfio-pci\"}\n");
	assert_int_equal(journal_open_existing(f->run_fd, &k), -EBADMSG);

	/* A lost line shows as a gap in the numbers. */
	put(f->run, JOURNAL_FILE,
	    "{\"journal\":1,\"vm\":\"demo\"}\n"
	    "{\"seq\":1,\"kind\":\"module\",\"target\":\"vfio-pci\"}\n"
	    "{\"seq\":3,\"kind\":\"module\",\"target\":\"vfio-pci\"}\n"
	    "{\"done\":1}\n");
	assert_int_equal(journal_open_existing(f->run_fd, &k), -EBADMSG);

	/* An unknown kind, a done marker for nothing, a record before the header. */
	put(f->run, JOURNAL_FILE,
	    "{\"journal\":1,\"vm\":\"demo\"}\n"
	    "{\"seq\":1,\"kind\":\"reboot\",\"target\":\"x\"}\n"
	    "{\"done\":1}\n");
	assert_int_equal(journal_open_existing(f->run_fd, &k), -EBADMSG);
	put(f->run, JOURNAL_FILE, "{\"journal\":1}\n{\"done\":1}\n{\"done\":1}\n");
	assert_int_equal(journal_open_existing(f->run_fd, &k), -EBADMSG);
	put(f->run, JOURNAL_FILE,
	    "{\"seq\":1,\"kind\":\"module\",\"target\":\"vfio-pci\"}\n{\"journal\":1}\n");
	assert_int_equal(journal_open_existing(f->run_fd, &k), -EBADMSG);
}

static void test_absent(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *k = NULL;

	assert_int_equal(journal_open_existing(f->run_fd, &k), -ENOENT);
}

/* ---- replay ------------------------------------------------------------------------------ */

struct calls {
	unsigned seq[16];
	size_t n;
	unsigned fail_seq; /* this one fails */
};

static int undo_record(const struct host_root *h, const struct journal_record *r, void *userdata,
		       struct plan_diags *d)
{
	struct calls *c = userdata;

	assert_true(c->n < ELEMENTSOF(c->seq));
	c->seq[c->n++] = r->seq;
	if (r->seq == c->fail_seq)
		return prepare_diag(d, LOG_ERR, "cannot undo %u", r->seq) < 0 ? -ENOMEM : -EIO;
	return prepare_diag(d, LOG_INFO, "undid %u", r->seq);
}

static void test_replay_backwards(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL, *k = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	struct calls c = {};

	write_three(f, &j);
	assert_int_equal(journal_replay(j, &f->h, undo_record, &c, &d), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.seq[0], 3);
	assert_int_equal(c.seq[1], 2);
	assert_int_equal(c.seq[2], 1);
	assert_int_equal(d.n, 3);
	/* All done: the file is gone. */
	assert_int_equal(journal_open_existing(f->run_fd, &k), -ENOENT);
}

static void test_replay_failure_and_again(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL, *k = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	struct calls c = { .fail_seq = 2 };

	write_three(f, &j);
	/* One undo fails: the others still run; the failed one stays pending. */
	assert_int_equal(journal_replay(j, &f->h, undo_record, &c, &d), -EIO);
	assert_int_equal(c.n, 3);
	assert_int_equal(journal_pending(j), 1);

	/* A later process (gamevm cleanup) finds exactly that one left. */
	assert_int_equal(journal_open_existing(f->run_fd, &k), 0);
	assert_int_equal(journal_pending(k), 1);
	assert_false(k->records[1].done);
	assert_true(k->records[0].done && k->records[2].done);
	c = (struct calls){};
	assert_int_equal(journal_replay(k, &f->h, undo_record, &c, &d), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.seq[0], 2);

	/* Replaying again is harmless: nothing pending, nothing called. */
	c = (struct calls){};
	assert_int_equal(journal_replay(k, &f->h, undo_record, &c, &d), 0);
	assert_int_equal(c.n, 0);
}

static void test_mark_done(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL, *k = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	struct calls c = {};

	write_three(f, &j);
	assert_int_equal(journal_mark_done(j, 3), 0);
	assert_int_equal(journal_mark_done(j, 3), 0);
	assert_int_equal(journal_mark_done(j, 9), -ENOENT);
	assert_int_equal(journal_remove(j), -EBUSY);
	assert_int_equal(journal_open_existing(f->run_fd, &k), 0);
	assert_true(k->records[2].done);
	assert_int_equal(journal_replay(k, &f->h, undo_record, &c, &d), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.seq[0], 2);
}

/* ---- generic kinds ------------------------------------------------------------------ */

static void test_sysfs_kind(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	_cleanup_free_ char *v = NULL;

	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(journal_write_sysfs(j, &f->h, "kernel/knob", "7"), 0);
	assert_int_equal(j->n_records, 1);
	assert_string_equal(j->records[0].old, "42");
	assert_string_equal(j->records[0].new, "7");
	/* Plain files keep what is written, unlike attributes: truncate. */
	put(f->root, "sys/kernel/knob", "7\n");

	assert_int_equal(journal_undo_sysfs(&f->h, &j->records[0], &d), 0);
	v = get_line(f->root, "sys/kernel/knob");
	assert_string_equal(v, "42");
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "set back to '42' (was '7')"));
	/* Again: already so, nothing written, nothing said. */
	assert_int_equal(journal_undo_sysfs(&f->h, &j->records[0], &d), 0);
	assert_int_equal(d.n, 1);
}

static void test_chown_kind(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	bool changed = true;
	char p[256];
	struct stat st;

	if (geteuid() != 0)
		skip();
	put(f->root, "dev/node", "");
	snprintf(p, sizeof(p), "%s/dev/node", f->root);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(journal_chown_dev(j, &f->h, "node", 0, 0, &changed), 0);
	assert_false(changed);
	assert_int_equal(j->n_records, 0);
	assert_int_equal(journal_chown_dev(j, &f->h, "node", 4242, 4243, &changed), 0);
	assert_true(changed);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 4242);
	assert_string_equal(j->records[0].old, "0:0 0600 -");
	assert_string_equal(j->records[0].new, "4242:4243");
	/* What the new owner may do meanwhile: open it to everyone, add an ACL entry. */
	assert_int_equal(chmod(p, 0666), 0);
	assert_int_equal(setxattr(p, "system.posix_acl_access",
				  "\x02\0\0\0"
				  "\x01\0\x06\0\xff\xff\xff\xff"
				  "\x02\0\x06\0\x39\x30\0\0"
				  "\x04\0\x06\0\xff\xff\xff\xff"
				  "\x10\0\x06\0\xff\xff\xff\xff"
				  "\x20\0\x06\0\xff\xff\xff\xff",
				  44, 0),
			 0);
	assert_int_equal(journal_undo_chown(&f->h, &j->records[0], &d), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(getxattr(p, "system.posix_acl_access", NULL, 0), -1);
	/* A record of the short form (an older journal) still undoes the owner. */
	{
		struct journal_record old = { .kind = JOURNAL_CHOWN,
					      .target = (char *)"node",
					      .old = (char *)"0:0",
					      .new = (char *)"4242:4243" };

		assert_int_equal(chown(p, 4242, 4243), 0);
		assert_int_equal(journal_undo_chown(&f->h, &old, &d), 0);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_uid, 0);
	}
	/* Gone (the group left vfio-pci): restored as far as it matters. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(journal_undo_chown(&f->h, &j->records[0], &d), 0);
}

/* ---- gamevm cleanup ------------------------------------------------------------------ */

/* Runs "gamevm --root R --run-dir D cleanup demo"; returns the exit status, output in *out. */
static int run_cleanup(struct fixture *f, char **out)
{
	const char *bin = getenv("GAMEVM_BIN");
	char cmd[1024], buf[4096];
	size_t len = 0;
	FILE *p;
	int status;

	assert_non_null(bin);
	snprintf(cmd, sizeof(cmd), "'%s' --root '%s' --run-dir '%s/run' cleanup demo 2>&1", bin,
		 f->root, f->base);
	p = popen(cmd, "r");
	assert_non_null(p);
	len = fread(buf, 1, sizeof(buf) - 1, p);
	buf[len] = 0;
	status = pclose(p);
	*out = strdup(buf);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_cleanup_verb(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_free_ char *out = NULL, *v = NULL;

	/* A gamevm that changed the knob and was killed. */
	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(journal_write_sysfs(j, &f->h, "kernel/knob", "7"), 0);
	put(f->root, "sys/kernel/knob", "7\n");
	journal_free(j);
	j = NULL;

	assert_int_equal(run_cleanup(f, &out), 0);
	assert_non_null(strstr(out, "Undoing 1 host change left by VM 'demo':"));
	assert_non_null(strstr(out, "/sys/kernel/knob' set back to '42' (was '7')"));
	assert_non_null(strstr(out, "The host is restored."));
	v = get_line(f->root, "sys/kernel/knob");
	assert_string_equal(v, "42");
	assert_int_equal(faccessat(f->run_fd, JOURNAL_FILE, F_OK, 0), -1);

	/* Twice: nothing left to do. */
	free(out);
	assert_int_equal(run_cleanup(f, &out), 0);
	assert_string_equal(out, "Nothing to clean up for VM 'demo'.\n");
}

#define BOOT_A "0b7d8a6e-6a1f-4a63-9d55-0f6a9a1b2c3d"
#define BOOT_B "5f0e1d2c-3b4a-4958-8776-655443322110"

/*
 * The journal says which boot wrote it. Its changes live in the running
 * kernel: after a reboot (a /run that is not a tmpfs kept the file) there
 * is nothing to undo, and undoing would write stale values.
 */
static void test_boot_id(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL, *k = NULL;
	_cleanup_free_ char *out = NULL, *v = NULL, *id = NULL, *text = NULL;
	char p[512];

	/* No proc/ in the fixture: not known, and nothing is compared. */
	assert_int_equal(journal_boot_id(&f->h, &id), -ENOENT);
	snprintf(p, sizeof(p), "%s/proc", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/proc/sys", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/proc/sys/kernel", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/proc/sys/kernel/random", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	put(f->root, "proc/sys/kernel/random/boot_id", "not-an-id\n");
	host_root_close(&f->h);
	assert_int_equal(host_root_open(f->root, &f->h), 0);
	assert_int_equal(journal_boot_id(&f->h, &id), -EBADMSG);
	put(f->root, "proc/sys/kernel/random/boot_id", BOOT_A "\n");
	assert_int_equal(journal_boot_id(&f->h, &id), 0);
	assert_string_equal(id, BOOT_A);

	assert_int_equal(journal_create(f->run_fd, "demo", id, &j), 0);
	assert_int_equal(journal_write_sysfs(j, &f->h, "kernel/knob", "7"), 0);
	put(f->root, "sys/kernel/knob", "7\n");
	text = get(f->run, JOURNAL_FILE);
	assert_non_null(strstr(text, "{\"journal\":1,\"vm\":\"demo\",\"boot\":\"" BOOT_A "\"}\n"));
	assert_int_equal(journal_open_existing(f->run_fd, &k), 0);
	assert_string_equal(k->boot_id, BOOT_A);
	assert_false(journal_from_other_boot(k, BOOT_A));
	assert_true(journal_from_other_boot(k, BOOT_B));
	assert_false(journal_from_other_boot(k, NULL));
	journal_free(j);
	j = NULL;

	/* The host rebooted, and the knob is what that boot made it. */
	put(f->root, "proc/sys/kernel/random/boot_id", BOOT_B "\n");
	put(f->root, "sys/kernel/knob", "5\n");
	assert_int_equal(run_cleanup(f, &out), 0);
	assert_non_null(strstr(out, "written before the host last booted"));
	v = get_line(f->root, "sys/kernel/knob");
	assert_string_equal(v, "5");
	assert_int_equal(faccessat(f->run_fd, JOURNAL_FILE, F_OK, 0), -1);
}

static void test_cleanup_refuses_running(void **state)
{
	struct fixture *f = *state;
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_free_ char *out = NULL;
	_cleanup_close_ int lock = -1;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(journal_write_sysfs(j, &f->h, "kernel/knob", "7"), 0);
	/* The VM's gamevm holds the lock, as vm_dirs_open() takes it. */
	lock = openat(f->run_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_true(lock >= 0);
	assert_int_equal(fcntl(lock, F_OFD_SETLK, &fl), 0);

	assert_int_equal(run_cleanup(f, &out), 1);
	assert_non_null(strstr(out, "VM 'demo' is running"));
	assert_non_null(strstr(out, "gamevm stop demo"));
	/* Nothing was touched. */
	assert_int_equal(faccessat(f->run_fd, JOURNAL_FILE, F_OK, 0), 0);
}

static void test_cleanup_damaged(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *out = NULL;

	put(f->run, JOURNAL_FILE, "{\"journal\":1}\nnonsense\n{\"done\":1}\n");
	assert_int_equal(run_cleanup(f, &out), 1);
	assert_non_null(strstr(out, "is damaged"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_last_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_last_line_with_newline, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torn_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_in_the_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_backwards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_failure_and_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysfs_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chown_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_verb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_refuses_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_damaged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
