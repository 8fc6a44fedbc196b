/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who may change the config file: gamevm runs as root and the file says
 * what it does to the host (which devices, which programs its hooks run),
 * so a file that another user can write is refused, with the chown/chmod
 * that fixes it.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-internal.h"
#include "parse-util.h"
#include "strv.h"

/* "alice (uid 1000)" and "user alice", "root", or "uid 4242" when there is no such user. */
static void owner_name(uid_t uid, char *buf, size_t size, char *who, size_t who_size)
{
	struct passwd pw, *pwp = NULL;
	char tmp[4096];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &pwp) == 0 && pwp) {
		snprintf(buf, size, uid == 0 ? "%s" : "%s (uid %u)", pw.pw_name, (unsigned)uid);
		snprintf(who, who_size, "user %s", pw.pw_name);
	} else {
		snprintf(buf, size, "uid %u", (unsigned)uid);
		snprintf(who, who_size, "uid %u", (unsigned)uid);
	}
}

static void group_name(gid_t gid, char *buf, size_t size)
{
	struct group gr, *grp = NULL;
	char tmp[4096];

	if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &grp) == 0 && grp)
		snprintf(buf, size, "group %s", gr.gr_name);
	else
		snprintf(buf, size, "group %u", (unsigned)gid);
}

uid_t config_sudo_uid(void)
{
	const char *s = getenv("SUDO_UID");
	unsigned u;

	if (!s || safe_atou(s, &u) < 0 || u == 0 || u == (unsigned)-1)
		return (uid_t)-1;
	return (uid_t)u;
}

int config_file_check_owner(const char *path, const struct stat *st, uid_t trusted_uid,
			    char **ret_msg)
{
	bool foreign = st->st_uid != 0 && st->st_uid != trusted_uid,
	     group_w = st->st_mode & S_IWGRP, world_w = st->st_mode & S_IWOTH;
	_cleanup_free_ char *q = NULL, *who = NULL, *fix = NULL;
	char owner[256], owner_who[256], group[256];
	size_t who_len = 0;
	FILE *f;
	int r;

	*ret_msg = NULL;
	if (!foreign && !group_w && !world_w)
		return 0;
	q = shell_quote(path);
	if (!q)
		return -ENOMEM;
	owner_name(st->st_uid, owner, sizeof(owner), owner_who, sizeof(owner_who));
	group_name(st->st_gid, group, sizeof(group));

	f = open_memstream(&who, &who_len);
	if (!f)
		return -ENOMEM;
	if (world_w)
		fputs("every user", f);
	else {
		if (foreign)
			fputs(owner_who, f);
		if (foreign && group_w)
			fputs(" and ", f);
		if (group_w)
			fputs(group, f);
	}
	if (fclose(f) != 0)
		return -ENOMEM;

	if (foreign && (group_w || world_w))
		r = asprintf(&fix, "chown root: %s && chmod go-w %s", q, q);
	else if (foreign)
		r = asprintf(&fix, "chown root: %s", q);
	else
		r = asprintf(&fix, "chmod go-w %s", q);
	if (r < 0) {
		fix = NULL;
		return -ENOMEM;
	}
	if (asprintf(
		    ret_msg,
		    "%s: owned by %s with mode %04o, so %s can change it, and gamevm runs as root; expected a file only root can write: %s",
		    path, owner, (unsigned)(st->st_mode & 07777), who, fix) < 0) {
		*ret_msg = NULL;
		return -ENOMEM;
	}
	return -EPERM;
}
