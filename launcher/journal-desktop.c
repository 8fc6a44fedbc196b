/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Journal kinds of the desktop sections (see journal.h): a file gamevm
 * created under dev/ (Looking Glass's /dev/shm/looking-glass) and the
 * permission bits of a node (/dev/kvmfr0).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
	int r;

	if (h->dev_fd < 0)
		return -ENOENT;
	/* Before the record: an existing file is not ours to remove later. */
	if (faccessat(h->dev_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	snprintf(owner, sizeof(owner), "%u:%u", (unsigned)uid, (unsigned)gid);
	rec.target = (char *)path;
	rec.new = owner;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;
	/* Root's 0600 until it has its owner and size, so nobody opens it half made. */
	fd = openat(h->dev_fd, path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return NEG_ERRNO();
	if (ftruncate(fd, (off_t)size) < 0 || fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0) {
		r = NEG_ERRNO();
		(void)unlinkat(h->dev_fd, path, 0);
		return r;
	}
	return 0;
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
	if (h->dev_fd < 0 || fstatat(h->dev_fd, rec->target, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (h->dev_fd < 0 || errno == ENOENT)
			return 0;
		r = NEG_ERRNO();
		(void)prepare_diag(d, LOG_ERR, "cannot look at '%s': %s", where, strerror(-r));
		return r;
	}
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
	if (h->dev_fd < 0 || fstatat(h->dev_fd, rec->target, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (h->dev_fd < 0 || errno == ENOENT)
			return 0;
		r = NEG_ERRNO();
		(void)prepare_diag(d, LOG_ERR, "cannot look at '%s': %s", where, strerror(-r));
		return r;
	}
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
