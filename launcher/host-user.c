/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The user QEMU and swtpm run as, with its groups: on the real host from
 * the user database (NSS: getpwnam_r, getgrouplist), under a fixture root
 * from its etc/passwd and etc/group, so that "can this user open
 * /dev/kvm" has an answer for a fixture host too.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "macro.h"

#define HOST_USER_MAX_GROUPS 256

void host_user_done(struct host_user *u)
{
	if (!u)
		return;
	free(u->name);
	free(u->home);
	free(u->groups);
	*u = (struct host_user){};
}

static int user_add_group(struct host_user *u, gid_t g)
{
	gid_t *t;

	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == g)
			return 0;
	if (u->n_groups >= HOST_USER_MAX_GROUPS)
		return -E2BIG;
	t = realloc(u->groups, (u->n_groups + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	u->groups = t;
	u->groups[u->n_groups++] = g;
	return 0;
}

static int open_root_file(const struct host_root *h, const char *path, FILE **ret)
{
	int fd = openat(h->root_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	FILE *f;

	if (fd < 0)
		return NEG_ERRNO();
	f = fdopen(fd, "re");
	if (!f) {
		int r = NEG_ERRNO();

		close(fd);
		return r;
	}
	*ret = f;
	return 0;
}

/* A fixture root: its etc/passwd and etc/group, read as files. */
static int lookup_files(const struct host_root *h, const char *name, struct host_user *u)
{
	_cleanup_(fclosep) FILE *pw = NULL, *gr = NULL;
	struct passwd *p;
	struct group *g;
	bool found = false;
	int r;

	r = open_root_file(h, "etc/passwd", &pw);
	if (r < 0)
		return r == -ENOENT ? -ENOENT : r;
	while ((p = fgetpwent(pw))) {
		if (!streq(p->pw_name, name))
			continue;
		u->uid = p->pw_uid;
		u->gid = p->pw_gid;
		u->home = strdup(p->pw_dir ? p->pw_dir : "");
		if (!u->home)
			return -ENOMEM;
		found = true;
		break;
	}
	if (!found)
		return -ENOENT;
	r = user_add_group(u, u->gid);
	if (r < 0)
		return r;
	if (open_root_file(h, "etc/group", &gr) < 0)
		return 0; /* no etc/group: the primary group only */
	while ((g = fgetgrent(gr)))
		for (char **m = g->gr_mem; m && *m; m++)
			if (streq(*m, name)) {
				r = user_add_group(u, g->gr_gid);
				if (r < 0)
					return r;
				break;
			}
	return 0;
}

static int lookup_nss(const char *name, struct host_user *u)
{
	gid_t groups[HOST_USER_MAX_GROUPS];
	struct passwd pw, *pwp = NULL;
	int n = HOST_USER_MAX_GROUPS, r;
	char buf[4096];

	r = getpwnam_r(name, &pw, buf, sizeof(buf), &pwp);
	if (r != 0)
		return -r;
	if (!pwp)
		return -ENOENT;
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	u->home = strdup(pw.pw_dir ? pw.pw_dir : "");
	if (!u->home)
		return -ENOMEM;
	if (getgrouplist(name, pw.pw_gid, groups, &n) < 0)
		return -E2BIG;
	for (int i = 0; i < n; i++) {
		r = user_add_group(u, groups[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int host_user_lookup(const struct host_root *h, const char *name, struct host_user *ret)
{
	_cleanup_(host_user_done) struct host_user u = {};
	int r;

	if (isempty(name))
		return -EINVAL;
	u.name = strdup(name);
	if (!u.name)
		return -ENOMEM;
	r = h->is_real ? lookup_nss(name, &u) : lookup_files(h, name, &u);
	if (r < 0)
		return r;
	*ret = u;
	u = (struct host_user){};
	return 0;
}

int host_user_self(struct host_user *ret)
{
	_cleanup_(host_user_done) struct host_user u = {};
	gid_t groups[HOST_USER_MAX_GROUPS];
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	int n, r;

	u.uid = geteuid();
	u.gid = getegid();
	r = getpwuid_r(u.uid, &pw, buf, sizeof(buf), &pwp);
	if (r != 0)
		return -r;
	if (!pwp)
		return -ENOENT;
	u.name = strdup(pw.pw_name);
	if (!u.name)
		return -ENOMEM;
	r = user_add_group(&u, u.gid);
	if (r < 0)
		return r;
	n = getgroups(HOST_USER_MAX_GROUPS, groups);
	if (n < 0)
		return NEG_ERRNO();
	for (int i = 0; i < n; i++) {
		r = user_add_group(&u, groups[i]);
		if (r < 0)
			return r;
	}
	*ret = u;
	u = (struct host_user){};
	return 0;
}

bool host_user_in_group(const struct host_user *u, gid_t g)
{
	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == g)
			return true;
	return false;
}
