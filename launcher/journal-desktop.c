/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Journal kinds of the desktop sections (see journal.h): a file gamevm
 * created under dev/ (Looking Glass's /dev/shm/looking-glass), the
 * permission bits of a node (/dev/kvmfr0), and POSIX ACL entries (the
 * desktop user's sound server socket, for QEMU's user).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <unistd.h>

#include "journal.h"
#include "macro.h"
#include "parse-util.h"

static int owner_parse(const char *s, uid_t *ret_uid, gid_t *ret_gid)
{
	unsigned uid, gid;
	int n = 0;

	if (sscanf(s, "%u:%u%n", &uid, &gid, &n) != 2 || s[n])
		return -EINVAL;
	*ret_uid = (uid_t)uid;
	*ret_gid = (gid_t)gid;
	return 0;
}

static int mode_parse(const char *s, mode_t *ret)
{
	unsigned m;
	int n = 0;

	if (sscanf(s, "%o%n", &m, &n) != 1 || s[n] || m > 07777)
		return -EINVAL;
	*ret = (mode_t)m;
	return 0;
}

int journal_create_dev_file(struct journal *j, const struct host_root *h, const char *path,
			    uid_t uid, gid_t gid, mode_t mode, uint64_t size)
{
	struct journal_record rec = { .kind = JOURNAL_FILE_CREATED };
	_cleanup_close_ int fd = -1;
	char owner[32];
	unsigned seq;
	int r;

	if (h->dev_fd < 0)
		return -ENOENT;
	/* Before the record: an existing file is not ours to remove later. */
	if (faccessat(h->dev_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	snprintf(owner, sizeof(owner), "%u:%u", (unsigned)uid, (unsigned)gid);
	rec.target = (char *)path;
	rec.new = owner;
	r = journal_append(j, &rec, &seq);
	if (r < 0)
		return r;
	/* Root's 0600 until it has its owner and size, so nobody opens it half made. */
	fd = openat(h->dev_fd, path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = NEG_ERRNO();
		/*
		 * Someone made it since the check (/dev/shm is everyone's): it
		 * is theirs, and the undo must not remove it.
		 */
		(void)journal_mark_done(j, seq);
		return r;
	}
	if (ftruncate(fd, (off_t)size) < 0 || fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0) {
		r = NEG_ERRNO();
		(void)unlinkat(h->dev_fd, path, 0);
		return r;
	}
	return 0;
}

/* lstat of dev/path for an undo: 1, 0 when it is gone, or -errno (said in d). */
static int look_at(const struct host_root *h, const char *path, const char *where, struct stat *ret,
		   struct plan_diags *d)
{
	int r;

	if (h->dev_fd < 0)
		return 0;
	if (fstatat(h->dev_fd, path, ret, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	r = NEG_ERRNO();
	(void)prepare_diag(d, LOG_ERR, "cannot look at '%s': %s", where, strerror(-r));
	return r;
}

int journal_undo_file_created(const struct host_root *h, const struct journal_record *rec,
			      struct plan_diags *d)
{
	char where[512];
	struct stat st;
	uid_t uid;
	gid_t gid;
	int r;

	host_root_path(h, "dev", rec->target, where, sizeof(where));
	r = owner_parse(rec->new, &uid, &gid);
	if (r < 0) {
		(void)prepare_diag(d, LOG_ERR, "journal: bad owner '%s' for '%s'", rec->new, where);
		return r;
	}
	r = look_at(h, rec->target, where, &st, d);
	if (r <= 0)
		return r; /* gone: nothing left to undo */
	/*
	 * Replaced since (removed and made again by someone else, e.g. a
	 * looking-glass-client of another user): not gamevm's file any more.
	 */
	if (!S_ISREG(st.st_mode) || st.st_uid != uid)
		return prepare_diag(
			d, LOG_NOTICE,
			"'%s' is no longer the file gamevm created (owner uid %u): left as it is",
			where, (unsigned)st.st_uid);
	if (unlinkat(h->dev_fd, rec->target, 0) < 0 && errno != ENOENT) {
		r = NEG_ERRNO();
		(void)prepare_diag(d, LOG_ERR, "cannot remove '%s': %s", where, strerror(-r));
		return r;
	}
	return prepare_diag(d, LOG_INFO, "'%s' removed", where);
}

/*
 * fchmodat() follows a final symlink (AT_SYMLINK_NOFOLLOW is not there for
 * it): callers look with lstat first, and dev/ is root's alone.
 */
static int chmod_node(const struct host_root *h, const char *path, mode_t mode)
{
	struct stat st;

	if (fstatat(h->dev_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return NEG_ERRNO();
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	return fchmodat(h->dev_fd, path, mode, 0) < 0 ? NEG_ERRNO() : 0;
}

int journal_chmod_dev(struct journal *j, const struct host_root *h, const char *path, mode_t mode,
		      bool *ret_changed)
{
	struct journal_record rec = { .kind = JOURNAL_CHMOD };
	char old[16], new[16];
	struct stat st;
	int r;

	if (h->dev_fd < 0)
		return -ENOENT;
	if (fstatat(h->dev_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return NEG_ERRNO();
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if ((st.st_mode & 07777) == mode) {
		if (ret_changed)
			*ret_changed = false;
		return 0;
	}
	snprintf(old, sizeof(old), "%04o", (unsigned)(st.st_mode & 07777));
	snprintf(new, sizeof(new), "%04o", (unsigned)mode);
	rec.target = (char *)path;
	rec.old = old;
	rec.new = new;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;
	r = chmod_node(h, path, mode);
	if (r < 0)
		return r;
	if (ret_changed)
		*ret_changed = true;
	return 0;
}

int journal_undo_chmod(const struct host_root *h, const struct journal_record *rec,
		       struct plan_diags *d)
{
	char where[512];
	struct stat st;
	mode_t mode;
	int r;

	host_root_path(h, "dev", rec->target, where, sizeof(where));
	r = mode_parse(rec->old, &mode);
	if (r < 0) {
		(void)prepare_diag(d, LOG_ERR, "journal: bad mode '%s' for '%s'", rec->old, where);
		return r;
	}
	r = look_at(h, rec->target, where, &st, d);
	if (r <= 0)
		return r; /* gone: nothing left to undo */
	if ((st.st_mode & 07777) == mode)
		return 0;
	r = chmod_node(h, rec->target, mode);
	if (r < 0) {
		(void)prepare_diag(d, LOG_ERR, "cannot set '%s' back to mode %s: %s", where,
				   rec->old, strerror(-r));
		return r;
	}
	return prepare_diag(d, LOG_INFO, "'%s' set back to mode %s", where, rec->old);
}

/* ---- POSIX ACLs: the kernel's system.posix_acl_access format, no libacl ---- */

/* include/uapi/linux/posix_acl_xattr.h and posix_acl.h: little-endian on disk. */
#define ACL_XATTR	  "system.posix_acl_access"
#define ACL_XATTR_VERSION 0x0002
#define ACL_TAG_USER_OBJ  0x01
#define ACL_TAG_USER	  0x02
#define ACL_TAG_GROUP_OBJ 0x04
#define ACL_TAG_GROUP	  0x08
#define ACL_TAG_MASK	  0x10
#define ACL_TAG_OTHER	  0x20
#define ACL_ID_UNDEFINED  0xffffffffu
#define ACL_HEADER_SIZE	  4
#define ACL_ENTRY_SIZE	  8
#define ACL_ENTRIES_MAX	  64
#define ACL_XATTR_MAX	  (ACL_HEADER_SIZE + ACL_ENTRIES_MAX * ACL_ENTRY_SIZE)

struct acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int cmp_entry(const void *a, const void *b)
{
	const struct acl_entry *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int acl_xattr_add_user(const uint8_t *old, size_t old_len, mode_t mode, uid_t uid, unsigned perm,
		       uint8_t **ret, size_t *ret_len)
{
	struct acl_entry e[ACL_ENTRIES_MAX + 2];
	size_t n = 0, user = SIZE_MAX, mask = SIZE_MAX;
	uint16_t group_class = 0;
	uint8_t *out;

	if (old) {
		if (old_len < ACL_HEADER_SIZE || (old_len - ACL_HEADER_SIZE) % ACL_ENTRY_SIZE ||
		    old_len > ACL_XATTR_MAX || get32(old) != ACL_XATTR_VERSION)
			return -EBADMSG;
		for (size_t off = ACL_HEADER_SIZE; off < old_len; off += ACL_ENTRY_SIZE)
			e[n++] = (struct acl_entry){ get16(old + off), get16(old + off + 2),
						     get32(old + off + 4) };
	} else {
		/* No ACL: the one the mode stands for. */
		e[n++] = (struct acl_entry){ ACL_TAG_USER_OBJ, (mode >> 6) & 7, ACL_ID_UNDEFINED };
		e[n++] = (struct acl_entry){ ACL_TAG_GROUP_OBJ, (mode >> 3) & 7, ACL_ID_UNDEFINED };
		e[n++] = (struct acl_entry){ ACL_TAG_OTHER, mode & 7, ACL_ID_UNDEFINED };
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].tag == ACL_TAG_USER && e[i].id == (uint32_t)uid)
			user = i;
		else if (e[i].tag == ACL_TAG_MASK)
			mask = i;
	}
	if (user != SIZE_MAX && (e[user].perm & perm) == perm &&
	    (mask == SIZE_MAX || (e[mask].perm & perm) == perm)) {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	if (user == SIZE_MAX)
		e[user = n++] = (struct acl_entry){ ACL_TAG_USER, 0, (uint32_t)uid };
	e[user].perm |= (uint16_t)perm;
	/*
	 * A new mask lets through what the group class has (setfacl's
	 * recalculation); an existing one is only widened by perm, so the
	 * entries it held back stay held back.
	 */
	if (mask == SIZE_MAX) {
		for (size_t i = 0; i < n; i++)
			if (e[i].tag == ACL_TAG_USER || e[i].tag == ACL_TAG_GROUP_OBJ ||
			    e[i].tag == ACL_TAG_GROUP)
				group_class |= e[i].perm;
		e[mask = n++] = (struct acl_entry){ ACL_TAG_MASK, group_class, ACL_ID_UNDEFINED };
	} else {
		e[mask].perm |= (uint16_t)perm;
	}
	qsort(e, n, sizeof(*e), cmp_entry);

	out = malloc(ACL_HEADER_SIZE + n * ACL_ENTRY_SIZE);
	if (!out)
		return -ENOMEM;
	put32(out, ACL_XATTR_VERSION);
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = out + ACL_HEADER_SIZE + i * ACL_ENTRY_SIZE;

		put16(p, e[i].tag);
		put16(p + 2, e[i].perm);
		put32(p + 4, e[i].id);
	}
	*ret = out;
	*ret_len = ACL_HEADER_SIZE + n * ACL_ENTRY_SIZE;
	return 0;
}

static int hex_encode(const uint8_t *v, size_t n, char *buf, size_t size)
{
	if (2 * n + 1 > size)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		snprintf(buf + 2 * i, 3, "%02x", v[i]);
	buf[2 * n] = 0;
	return 0;
}

static int hex_decode(const char *s, uint8_t *v, size_t size, size_t *ret_n)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > size)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned x;

		if (sscanf(s + 2 * i, "%2x", &x) != 1)
			return -EINVAL;
		v[i] = (uint8_t)x;
	}
	*ret_n = n / 2;
	return 0;
}

/*
 * The path as an O_PATH fd and its /proc/self/fd name (xattrs and chmod of
 * a socket have no fd calls). No symlink anywhere on the way: the
 * directories are the desktop user's, who could otherwise point root's
 * ACL change at any file of theirs choosing.
 */
static int open_path(const struct host_root *h, const char *path, struct stat *st, char *proc,
		     size_t size)
{
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH,
	};
	int fd = (int)syscall(SYS_openat2, h->root_fd, path, &how, sizeof(how));

	if (fd < 0)
		return NEG_ERRNO();
	if (fstat(fd, st) < 0 || S_ISLNK(st->st_mode)) {
		int r = S_ISLNK(st->st_mode) ? -ELOOP : NEG_ERRNO();
		close(fd);
		return r;
	}
	snprintf(proc, size, "/proc/self/fd/%d", fd);
	return fd;
}

int journal_acl_add_user(struct journal *j, const struct host_root *h, const char *path, uid_t uid,
			 unsigned perm, bool *ret_changed)
{
	struct journal_record rec = { .kind = JOURNAL_ACL };
	uint8_t cur[ACL_XATTR_MAX];
	_cleanup_free_ uint8_t *acl = NULL;
	_cleanup_close_ int fd = -1;
	char proc[64], old[16 + 2 * ACL_XATTR_MAX], new[2 * ACL_XATTR_MAX + 1];
	size_t acl_len;
	ssize_t n;
	struct stat st;
	int r;

	fd = open_path(h, path, &st, proc, sizeof(proc));
	if (fd < 0)
		return fd;
	n = getxattr(proc, ACL_XATTR, cur, sizeof(cur));
	if (n < 0 && errno != ENODATA)
		return NEG_ERRNO();
	r = acl_xattr_add_user(n < 0 ? NULL : cur, n < 0 ? 0 : (size_t)n, st.st_mode, uid, perm,
			       &acl, &acl_len);
	if (r < 0)
		return r;
	if (ret_changed)
		*ret_changed = acl != NULL;
	if (!acl)
		return 0;
	snprintf(old, sizeof(old), "%04o ", (unsigned)(st.st_mode & 07777));
	if (n < 0)
		strcat(old, "-");
	else
		(void)hex_encode(cur, (size_t)n, old + strlen(old), sizeof(old) - strlen(old));
	r = hex_encode(acl, acl_len, new, sizeof(new));
	if (r < 0)
		return r;
	rec.target = (char *)path;
	rec.old = old;
	rec.new = new;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;
	return setxattr(proc, ACL_XATTR, acl, acl_len, 0) < 0 ? NEG_ERRNO() : 0;
}

int journal_undo_acl(const struct host_root *h, const struct journal_record *rec,
		     struct plan_diags *d)
{
	uint8_t want[ACL_XATTR_MAX], cur[ACL_XATTR_MAX];
	_cleanup_close_ int fd = -1;
	char where[512], proc[64];
	const char *space = strchr(rec->old, ' ');
	_cleanup_free_ char *mode_s = strndup(rec->old, space ? (size_t)(space - rec->old) : 0);
	size_t want_len = 0;
	bool none;
	mode_t mode;
	struct stat st;
	ssize_t n;
	int r;

	snprintf(where, sizeof(where), "%s/%s", streq(h->path, "/") ? "" : h->path, rec->target);
	if (!mode_s)
		return -ENOMEM;
	none = space && streq(space + 1, "-");
	if (!space || mode_parse(mode_s, &mode) < 0 ||
	    (!none && hex_decode(space + 1, want, sizeof(want), &want_len) < 0)) {
		(void)prepare_diag(d, LOG_ERR, "journal: bad ACL record '%s' for '%s'", rec->old,
				   where);
		return -EINVAL;
	}
	fd = open_path(h, rec->target, &st, proc, sizeof(proc));
	if (fd == -ENOENT)
		return 0; /* the user logged out: the runtime dir went with its ACLs */
	if (fd < 0) {
		(void)prepare_diag(d, LOG_ERR, "cannot look at '%s': %s", where, strerror(-fd));
		return fd;
	}
	n = getxattr(proc, ACL_XATTR, cur, sizeof(cur));
	if (n < 0 && errno != ENODATA) {
		r = NEG_ERRNO();
		(void)prepare_diag(d, LOG_ERR, "cannot read the ACL of '%s': %s", where,
				   strerror(-r));
		return r;
	}
	if ((st.st_mode & 07777) == mode &&
	    (none ? n < 0 : n == (ssize_t)want_len && memcmp(cur, want, want_len) == 0))
		return 0;
	if (none ? removexattr(proc, ACL_XATTR) < 0 && errno != ENODATA
		 : setxattr(proc, ACL_XATTR, want, want_len, 0) < 0) {
		r = NEG_ERRNO();
		(void)prepare_diag(d, LOG_ERR, "cannot put the ACL of '%s' back: %s", where,
				   strerror(-r));
		return r;
	}
	/* Removing an ACL leaves its mask in the group bits: the old mode puts them back. */
	if (chmod(proc, mode) < 0) {
		r = NEG_ERRNO();
		(void)prepare_diag(d, LOG_ERR, "cannot set '%s' back to mode %04o: %s", where,
				   (unsigned)mode, strerror(-r));
		return r;
	}
	return prepare_diag(d, LOG_INFO, "'%s': ACL and mode %04o put back", where, (unsigned)mode);
}
