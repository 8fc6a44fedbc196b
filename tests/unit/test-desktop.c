/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The desktop sections: Looking Glass's size formula; and their host side
 * on a scratch root with real files and device nodes (mknod, as root):
 * [input] evdev links followed to their node (host_desktop_probe), the
 * node given to QEMU's user by prepare_desktop() and given back by the
 * journal's replay, on every path; [looking-glass]'s shm file created
 * with its owner, mode and size and removed again, /dev/kvmfr0's owner
 * and mode changed and restored; [audio]'s ACL entries on the sound
 * server's socket and directories (a connect as QEMU's uid tried before,
 * during and after) and the old ACLs and modes back byte for byte.
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
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config.h"
#include "host.h"
#include "journal.h"
#include "macro.h"
#include "plan.h"
#include "prepare.h"

#define QEMU_UID  4242
#define QEMU_GID  4243
#define INPUT_GID 105 /* Debian's "input" group */

struct fixture {
	char base[64];
	char root[128]; /* base/root: dev/input/... */
	int run_fd;	/* base/run: the journal */
	struct host_root h;
};

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *f)
{
	return remove(p);
}

static void path_of(struct fixture *f, const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", f->root, rel);
}

/* A socket address for rel: the scratch root is short enough for sun_path. */
static void sockaddr_of(struct fixture *f, const char *rel, struct sockaddr_un *sa)
{
	char p[256];

	path_of(f, rel, p, sizeof(p));
	assert_true(strlen(p) < sizeof(sa->sun_path));
	memcpy(sa->sun_path, p, strlen(p) + 1);
}

static void make_node(struct fixture *f, const char *rel, mode_t type, unsigned ma, unsigned mi)
{
	char p[256];

	path_of(f, rel, p, sizeof(p));
	assert_int_equal(mknod(p, type | 0660, makedev(ma, mi)), 0);
	/* As udev makes them, whatever the umask. */
	assert_int_equal(chmod(p, 0660), 0);
	assert_int_equal(chown(p, 0, INPUT_GID), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char p[256];

	if (geteuid() != 0) {
		free(f);
		print_message("not root: mknod and chown need it; skipped\n");
		return -1;
	}
	assert_non_null(f);
	strcpy(f->base, "/tmp/gamevm-test-desktop-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	/* Other uids try the sound server's socket in there (test_audio_acl). */
	assert_int_equal(chmod(f->base, 0755), 0);
	snprintf(f->root, sizeof(f->root), "%s/root", f->base);
	assert_int_equal(mkdir(f->root, 0755), 0);
	for (const char *const *d =
		     (const char *const[]){ "dev", "dev/input", "dev/input/by-id", "run", NULL };
	     *d; d++) {
		path_of(f, *d, p, sizeof(p));
		assert_int_equal(mkdir(p, 0755), 0);
	}
	make_node(f, "dev/input/event3", S_IFCHR, 13, 67);
	make_node(f, "dev/input/event4", S_IFCHR, 13, 68);
	make_node(f, "dev/sda", S_IFBLK, 8, 0);
	path_of(f, "dev/input/by-id/usb-K-event-kbd", p, sizeof(p));
	assert_int_equal(symlink("../event3", p), 0);
	path_of(f, "run", p, sizeof(p));
	f->run_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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

static void assert_owner(struct fixture *f, const char *rel, uid_t uid, gid_t gid)
{
	char p[256];
	struct stat st;

	path_of(f, rel, p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
}

static void assert_mode(struct fixture *f, const char *rel, mode_t mode)
{
	char p[256];
	struct stat st;

	path_of(f, rel, p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
}

/* uid's permission bits in rel's ACL, -1 when it has no entry (or no ACL at all). */
static int acl_perm_of(struct fixture *f, const char *rel, uid_t uid)
{
	uint8_t buf[512];
	char p[256];
	ssize_t n;

	path_of(f, rel, p, sizeof(p));
	n = lgetxattr(p, "system.posix_acl_access", buf, sizeof(buf));
	if (n < 0)
		return -1;
	for (ssize_t off = 4; off + 8 <= n; off += 8)
		if (buf[off] == 0x02 &&
		    (uint32_t)(buf[off + 4] | buf[off + 5] << 8 | buf[off + 6] << 16 |
			       (uint32_t)buf[off + 7] << 24) == uid)
			return buf[off + 2];
	return -1;
}

/* The link is followed to the node; its number and owner are what stat says. */
static void test_probe_evdev(void **state)
{
	struct fixture *f = *state;
	char *paths[] = { (char *)"/dev/input/by-id/usb-K-event-kbd", (char *)"/dev/input/missing",
			  (char *)"/dev/input/event4", NULL };
	struct vm_config c = { .input = { .evdev = paths, .n_evdev = 3 } };
	_cleanup_(host_desktop_done) struct host_desktop d = {};

	assert_int_equal(host_desktop_probe(&f->h, &c, &d), 0);
	assert_int_equal(d.n_evdevs, 3);
	assert_int_equal(d.evdevs[0].err, 0);
	assert_string_equal(d.evdevs[0].node, "input/event3");
	assert_true(d.evdevs[0].is_chr);
	assert_int_equal(d.evdevs[0].major, 13);
	assert_int_equal(d.evdevs[0].minor, 67);
	assert_int_equal(d.evdevs[0].gid, INPUT_GID);
	assert_int_equal(d.evdevs[1].err, -ENOENT);
	assert_null(d.evdevs[1].node);
	assert_string_equal(d.evdevs[2].node, "input/event4");
}

static struct prepare_params params(struct fixture *f, const struct vm_config *c,
				    const struct plan *p)
{
	struct prepare_params pp = { .h = &f->h, .c = c, .p = p, .vfio = VFIO_OPTS_INIT };

	pp.vfio.uid = QEMU_UID;
	pp.vfio.gid = QEMU_GID;
	return pp;
}

/* Each node gets an ACL entry for QEMU's user (owner and group kept), gone after the replay. */
static void test_evdev_owner_restored(void **state)
{
	struct fixture *f = *state;
	struct plan_evdev ev[] = {
		{ .path = "/dev/input/by-id/usb-K-event-kbd", .node = (char *)"input/event3" },
		{ .path = "/dev/input/event4", .node = (char *)"input/event4" },
	};
	struct plan p = { .evdevs = ev, .n_evdevs = 2 };
	struct vm_config c = {};
	struct prepare_params pp = params(f, &c, &p);
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};

	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(prepare_desktop(&pp, j, &d), 0);
	assert_owner(f, "dev/input/event3", 0, INPUT_GID);
	assert_int_equal(acl_perm_of(f, "dev/input/event3", QEMU_UID), 6);
	assert_int_equal(acl_perm_of(f, "dev/input/event4", QEMU_UID), 6);
	/* The link itself is not touched. */
	assert_owner(f, "dev/input/by-id/usb-K-event-kbd", 0, 0);
	assert_int_equal(j->n_records, 2);
	assert_int_equal(j->records[0].kind, JOURNAL_ACL);
	assert_string_equal(j->records[0].target, "dev/input/event3");
	assert_string_equal(j->records[0].old, "0660 -");

	assert_int_equal(prepare_teardown(j, &f->h, NULL, &d), 0);
	assert_int_equal(acl_perm_of(f, "dev/input/event3", QEMU_UID), -1);
	assert_int_equal(acl_perm_of(f, "dev/input/event4", QEMU_UID), -1);
	assert_mode(f, "dev/input/event3", 0660);
	assert_owner(f, "dev/input/event4", 0, INPUT_GID);
	assert_int_equal(journal_pending(j), 0);
}

/*
 * gamevm was killed after the change: `gamevm cleanup` reads the journal
 * back from the run dir and puts the owner back.
 */
static void test_evdev_cleanup_after_kill(void **state)
{
	struct fixture *f = *state;
	struct plan_evdev ev[] = { { .path = "/dev/input/event4",
				     .node = (char *)"input/event4" } };
	struct plan p = { .evdevs = ev, .n_evdevs = 1 };
	struct vm_config c = {};
	struct prepare_params pp = params(f, &c, &p);
	struct journal *j = NULL;
	_cleanup_(journal_freep) struct journal *again = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};

	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(prepare_desktop(&pp, j, &d), 0);
	journal_free(j); /* "killed": nothing undone */
	assert_int_equal(acl_perm_of(f, "dev/input/event4", QEMU_UID), 6);

	assert_int_equal(journal_open_existing(f->run_fd, &again), 0);
	assert_int_equal(journal_pending(again), 1);
	assert_int_equal(prepare_teardown(again, &f->h, NULL, &d), 0);
	assert_int_equal(acl_perm_of(f, "dev/input/event4", QEMU_UID), -1);
	assert_mode(f, "dev/input/event4", 0660);
}

/* A node replaced by something else after the plan: refused, nothing changed. */
static void test_evdev_not_input(void **state)
{
	struct fixture *f = *state;
	struct plan_evdev ev[] = {
		{ .path = "/dev/input/event3", .node = (char *)"input/event3" },
		{ .path = "/dev/input/by-id/disk", .node = (char *)"sda" },
		{ .path = "/dev/input/event4", .node = (char *)"input/event4" },
	};
	struct plan p = { .evdevs = ev, .n_evdevs = 3 };
	struct vm_config c = {};
	struct prepare_params pp = params(f, &c, &p);
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};

	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(prepare_desktop(&pp, j, &d), -ENOTTY);
	assert_owner(f, "dev/sda", 0, INPUT_GID);
	assert_owner(f, "dev/input/event4", 0, INPUT_GID);
	assert_non_null(strstr(d.v[d.n - 1].msg, "is not an input device"));
	/* What was done before the refusal is undone by the caller's teardown. */
	assert_int_equal(acl_perm_of(f, "dev/input/event3", QEMU_UID), 6);
	assert_int_equal(acl_perm_of(f, "dev/input/event4", QEMU_UID), -1);
	assert_int_equal(prepare_teardown(j, &f->h, NULL, &d), 0);
	assert_int_equal(acl_perm_of(f, "dev/input/event3", QEMU_UID), -1);
}

/* looking-glass.io, "Determining memory": the sizes its docs list, and the edges. */
static void test_lg_size(void **state)
{
	(void)state;
	assert_int_equal(plan_lg_size_mib(1920, 1080, false), 32);
	assert_int_equal(plan_lg_size_mib(2560, 1440, false), 64);
	assert_int_equal(plan_lg_size_mib(3840, 2160, false), 128);
	/* HDR frames are 8 bytes a pixel: twice the frame part. */
	assert_int_equal(plan_lg_size_mib(1920, 1080, true), 64);
	assert_int_equal(plan_lg_size_mib(3840, 2160, true), 256);
	/* The rest of Looking Glass's table of common values. */
	assert_int_equal(plan_lg_size_mib(2560, 1440, true), 128);
	assert_int_equal(plan_lg_size_mib(1920, 1200, true), 64);
	/* 2 x 1920x1200x4 = 17.6 MiB + 10 = 27.6: still 32. */
	assert_int_equal(plan_lg_size_mib(1920, 1200, false), 32);
	/* Exactly 22 MiB of frames + 10 = 32 MiB: no rounding up past it. */
	assert_int_equal(plan_lg_size_mib(2048, 1408, false), 32);
	assert_int_equal(plan_lg_size_mib(2048, 1409, false), 64);
}

static void assert_file(struct fixture *f, const char *rel, mode_t type, mode_t mode, uid_t uid,
			gid_t gid, off_t size)
{
	char p[256];
	struct stat st;

	path_of(f, rel, p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & S_IFMT, type);
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	if (size >= 0)
		assert_int_equal(st.st_size, size);
}

#define LG_UID 1000

/* device = shm: created as the user's with QEMU's group, 0660, sized; removed after. */
static void test_lg_shm_created(void **state)
{
	struct fixture *f = *state;
	struct plan p = { .lg = true, .lg_size_mib = 32, .lg_uid = LG_UID };
	struct vm_config c = {};
	struct prepare_params pp = params(f, &c, &p);
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	char path[256];

	path_of(f, "dev/shm", path, sizeof(path));
	assert_int_equal(mkdir(path, 01777), 0);
	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(prepare_desktop(&pp, j, &d), 0);
	assert_file(f, "dev/shm/looking-glass", S_IFREG, 0660, LG_UID, QEMU_GID, 32 << 20);
	assert_int_equal(j->n_records, 1);
	assert_int_equal(j->records[0].kind, JOURNAL_FILE_CREATED);
	assert_string_equal(j->records[0].target, "shm/looking-glass");

	assert_int_equal(prepare_teardown(j, &f->h, NULL, &d), 0);
	path_of(f, "dev/shm/looking-glass", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

/* One that appeared since the plan is nobody's to take: refused, left alone, nothing journaled. */
static void test_lg_shm_appeared(void **state)
{
	struct fixture *f = *state;
	struct plan p = { .lg = true, .lg_size_mib = 32, .lg_uid = LG_UID };
	struct vm_config c = {};
	struct prepare_params pp = params(f, &c, &p);
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	char path[256];

	path_of(f, "dev/shm", path, sizeof(path));
	assert_int_equal(mkdir(path, 01777), 0);
	path_of(f, "dev/shm/looking-glass", path, sizeof(path));
	assert_int_equal(symlink("/etc/shadow", path), 0);
	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(prepare_desktop(&pp, j, &d), -EEXIST);
	assert_int_equal(j->n_records, 0);
	assert_file(f, "dev/shm/looking-glass", S_IFLNK, 0777, 0, 0, -1);
}

/*
 * The user's own file (a client made it) is not used either: it could be
 * swapped under gamevm. Refused, nothing journaled, the file untouched.
 */
static void test_lg_shm_existing(void **state)
{
	struct fixture *f = *state;
	struct plan p = { .lg = true, .lg_size_mib = 32, .lg_uid = LG_UID };
	struct vm_config c = {};
	struct prepare_params pp = params(f, &c, &p);
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	char path[256];
	int fd;

	path_of(f, "dev/shm", path, sizeof(path));
	assert_int_equal(mkdir(path, 01777), 0);
	path_of(f, "dev/shm/looking-glass", path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 << 20), 0);
	assert_int_equal(fchown(fd, LG_UID, LG_UID), 0);
	close(fd);

	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(prepare_desktop(&pp, j, &d), -EEXIST);
	assert_int_equal(j->n_records, 0);
	assert_file(f, "dev/shm/looking-glass", S_IFREG, 0600, LG_UID, LG_UID, 64 << 20);
}

/* device = kvmfr: the node goes to the user and QEMU's group, 0660, and back. */
static void test_lg_kvmfr(void **state)
{
	struct fixture *f = *state;
	struct plan p = { .lg = true, .lg_kvmfr = true, .lg_size_mib = 64, .lg_uid = LG_UID };
	struct vm_config c = {};
	struct prepare_params pp = params(f, &c, &p);
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	char path[256];

	path_of(f, "dev/kvmfr0", path, sizeof(path));
	assert_int_equal(mknod(path, S_IFCHR | 0600, makedev(240, 0)), 0);
	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(prepare_desktop(&pp, j, &d), 0);
	assert_file(f, "dev/kvmfr0", S_IFCHR, 0660, LG_UID, QEMU_GID, -1);
	assert_int_equal(j->n_records, 2);
	assert_int_equal(j->records[1].kind, JOURNAL_CHMOD);
	assert_string_equal(j->records[1].old, "0600");
	assert_string_equal(j->records[1].new, "0660");

	assert_int_equal(prepare_teardown(j, &f->h, NULL, &d), 0);
	assert_file(f, "dev/kvmfr0", S_IFCHR, 0600, 0, 0, -1);
}

/* ---- [audio]: POSIX ACLs -------------------------------------------------------- */

static const uint8_t acl_0700_user4242_x[] = {
	0x02, 0, 0, 0,			       /* version 2 */
	0x01, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, /* user::rwx */
	0x02, 0, 1, 0, 0x92, 0x10, 0,	 0,    /* user:4242:--x */
	0x04, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* group::--- */
	0x10, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, /* mask::--x */
	0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* other::--- */
};

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The xattr written by hand, as getfacl/setfacl would have it. */
static void test_acl_xattr(void **state)
{
	uint8_t *acl = NULL, *again = NULL, *more = NULL;
	size_t n, n2, n3;

	(void)state;
	assert_int_equal(acl_xattr_add_user(NULL, 0, 040700, 4242, 1, &acl, &n), 0);
	assert_int_equal(n, sizeof(acl_0700_user4242_x));
	assert_memory_equal(acl, acl_0700_user4242_x, n);
	/* Already there: nothing to write. */
	assert_int_equal(acl_xattr_add_user(acl, n, 040710, 4242, 1, &again, &n2), 0);
	assert_null(again);
	/* More permissions for the same user: its entry and the mask widened. */
	assert_int_equal(acl_xattr_add_user(acl, n, 040710, 4242, 6, &more, &n3), 0);
	assert_int_equal(n3, n);
	assert_int_equal(more[12 + 2], 7); /* user:4242:rwx */
	assert_int_equal(more[28 + 2], 7); /* mask::rwx */
	/* Not an ACL. */
	assert_int_equal(
		acl_xattr_add_user((const uint8_t *)"\x01\0\0\0", 4, 0700, 1, 1, &again, &n2),
		-EBADMSG);
	free(acl);
	free(more);
	/*
	 * An ACL whose mask holds bob back (user:5000:rwx, mask::r--): adding
	 * x for 4242 widens the mask by x only, not to bob's rwx.
	 */
	{
		static const uint8_t bob[] = {
			0x02, 0, 0, 0,			       /* version 2 */
			0x01, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, /* user::rwx */
			0x02, 0, 7, 0, 0x88, 0x13, 0,	 0,    /* user:5000:rwx */
			0x04, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* group::--- */
			0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, /* mask::r-- */
			0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* other::--- */
		};
		uint8_t *w = NULL;
		size_t nw;

		assert_int_equal(acl_xattr_add_user(bob, sizeof(bob), 040740, 4242, 1, &w, &nw), 0);
		assert_int_equal(nw, sizeof(bob) + 8);
		/* user::, user:4242, user:5000, group::, mask::, other:: */
		assert_int_equal(get_le32(w + 4 + 8 * 1 + 4), 4242);
		assert_int_equal(w[4 + 8 * 1 + 2], 1);
		assert_int_equal(w[4 + 8 * 2 + 2], 7);
		assert_int_equal(w[4 + 8 * 4], 0x10);
		assert_int_equal(w[4 + 8 * 4 + 2], 5); /* mask::r-x, not rwx */
		free(w);
	}
}

#define AUDIO_UID 1000

static void mkdir_owned(struct fixture *f, const char *rel, mode_t mode, uid_t uid)
{
	char p[256];

	path_of(f, rel, p, sizeof(p));
	assert_int_equal(mkdir(p, mode), 0);
	assert_int_equal(chmod(p, mode), 0);
	assert_int_equal(chown(p, uid, uid), 0);
}

/* A listening socket at rel, as a sound server has it (0666, its user's). */
static int listen_at(struct fixture *f, const char *rel)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sockaddr_of(f, rel, &sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(chmod(sa.sun_path, 0666), 0);
	assert_int_equal(chown(sa.sun_path, AUDIO_UID, AUDIO_UID), 0);
	return fd;
}

/* Whether uid can connect to rel, tried in a child that becomes uid (no capabilities left). */
static bool can_connect_as(struct fixture *f, const char *rel, uid_t uid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int status;
	pid_t pid;

	sockaddr_of(f, rel, &sa);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(2);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		_exit(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 2);
	return WEXITSTATUS(status) == 0;
}

static ssize_t acl_of(struct fixture *f, const char *rel, uint8_t *buf, size_t size)
{
	char p[256];

	path_of(f, rel, p, sizeof(p));
	return getxattr(p, "system.posix_acl_access", buf, size);
}

/*
 * QEMU's user reaches the desktop user's socket only while the VM runs:
 * before, no; prepared, yes; torn down, no, with the ACLs (none, and one
 * set before) and the modes back byte for byte.
 */
static void test_audio_acl(void **state)
{
	struct fixture *f = *state;
	struct plan p = { .audio = true,
			  .audio_uid = AUDIO_UID,
			  .audio_socket = (char *)"/run/user/1000/pulse/native" };
	struct vm_config c = {};
	struct prepare_params pp = params(f, &c, &p);
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	_cleanup_free_ uint8_t *pre = NULL;
	uint8_t before[256], after[256];
	ssize_t nb, na;
	size_t npre;
	char path[256];
	int lfd;

	mkdir_owned(f, "run/user", 0755, 0);
	mkdir_owned(f, "run/user/1000", 0700, AUDIO_UID);
	mkdir_owned(f, "run/user/1000/pulse", 0700, AUDIO_UID);
	lfd = listen_at(f, "run/user/1000/pulse/native");
	/* Someone's ACL on the pulse dir already: kept as it was. */
	assert_int_equal(acl_xattr_add_user(NULL, 0, 0700, 777, 5, &pre, &npre), 0);
	path_of(f, "run/user/1000/pulse", path, sizeof(path));
	assert_int_equal(setxattr(path, "system.posix_acl_access", pre, npre, 0), 0);
	nb = acl_of(f, "run/user/1000/pulse", before, sizeof(before));
	assert_int_equal(nb, (ssize_t)npre);

	assert_false(can_connect_as(f, "run/user/1000/pulse/native", QEMU_UID));
	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(prepare_desktop(&pp, j, &d), 0);
	assert_int_equal(j->n_records, 3);
	assert_int_equal(j->records[0].kind, JOURNAL_ACL);
	assert_string_equal(j->records[0].target, "run/user/1000");
	assert_string_equal(j->records[0].old, "0700 -");
	assert_true(can_connect_as(f, "run/user/1000/pulse/native", QEMU_UID));
	/* Nobody else: another uid still cannot. */
	assert_false(can_connect_as(f, "run/user/1000/pulse/native", QEMU_UID + 1));
	assert_file(f, "run/user/1000", S_IFDIR, 0710, AUDIO_UID, AUDIO_UID, -1);

	assert_int_equal(prepare_teardown(j, &f->h, NULL, &d), 0);
	assert_false(can_connect_as(f, "run/user/1000/pulse/native", QEMU_UID));
	assert_true(acl_of(f, "run/user/1000", after, sizeof(after)) < 0 && errno == ENODATA);
	assert_true(acl_of(f, "run/user/1000/pulse/native", after, sizeof(after)) < 0 &&
		    errno == ENODATA);
	na = acl_of(f, "run/user/1000/pulse", after, sizeof(after));
	assert_int_equal(na, nb);
	assert_memory_equal(after, before, (size_t)nb);
	assert_file(f, "run/user/1000", S_IFDIR, 0700, AUDIO_UID, AUDIO_UID, -1);
	assert_file(f, "run/user/1000/pulse", S_IFDIR, 0750, AUDIO_UID, AUDIO_UID, -1);
	assert_file(f, "run/user/1000/pulse/native", S_IFSOCK, 0666, AUDIO_UID, AUDIO_UID, -1);
	close(lfd);
}

/*
 * The runtime dir is the desktop user's: a symlink in it (pulse -> a
 * directory of someone else's) must not lead root's ACL change there.
 */
static void test_audio_acl_symlink(void **state)
{
	struct fixture *f = *state;
	struct plan p = { .audio = true,
			  .audio_uid = AUDIO_UID,
			  .audio_socket = (char *)"/run/user/1000/pulse/native" };
	struct vm_config c = {};
	struct prepare_params pp = params(f, &c, &p);
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	uint8_t buf[256];
	char path[256];
	int lfd;

	mkdir_owned(f, "run/user", 0755, 0);
	mkdir_owned(f, "run/user/1000", 0700, AUDIO_UID);
	mkdir_owned(f, "victim", 0700, 0);
	lfd = listen_at(f, "victim/native");
	path_of(f, "run/user/1000/pulse", path, sizeof(path));
	assert_int_equal(symlink("../../../victim", path), 0);

	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	assert_int_equal(prepare_desktop(&pp, j, &d), -ELOOP);
	assert_true(acl_of(f, "victim/native", buf, sizeof(buf)) < 0 && errno == ENODATA);
	assert_true(acl_of(f, "victim", buf, sizeof(buf)) < 0 && errno == ENODATA);
	assert_int_equal(prepare_teardown(j, &f->h, NULL, &d), 0);
	assert_true(acl_of(f, "run/user/1000", buf, sizeof(buf)) < 0 && errno == ENODATA);
	assert_file(f, "run/user/1000", S_IFDIR, 0700, AUDIO_UID, AUDIO_UID, -1);
	close(lfd);
}

/* The user logged out (the runtime dir went away): the undo has nothing left to do. */
static void test_audio_acl_logged_out(void **state)
{
	struct fixture *f = *state;
	struct plan p = { .audio = true,
			  .audio_uid = AUDIO_UID,
			  .audio_socket = (char *)"/run/user/1000/pulse/native" };
	struct vm_config c = {};
	struct prepare_params pp = params(f, &c, &p);
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags d = {};
	char path[256];
	int lfd;

	mkdir_owned(f, "run/user", 0755, 0);
	assert_int_equal(journal_create(f->run_fd, "demo", NULL, &j), 0);
	/* No server: refused, nothing changed. */
	assert_int_equal(prepare_desktop(&pp, j, &d), -ENOENT);
	assert_int_equal(j->n_records, 0);
	assert_non_null(strstr(d.v[d.n - 1].msg, "is not running"));

	mkdir_owned(f, "run/user/1000", 0700, AUDIO_UID);
	mkdir_owned(f, "run/user/1000/pulse", 0700, AUDIO_UID);
	lfd = listen_at(f, "run/user/1000/pulse/native");
	assert_int_equal(prepare_desktop(&pp, j, &d), 0);
	close(lfd);
	path_of(f, "run/user/1000", path, sizeof(path));
	assert_int_equal(nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	assert_int_equal(prepare_teardown(j, &f->h, NULL, &d), 0);
	assert_int_equal(journal_pending(j), 0);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_lg_size),
		cmocka_unit_test(test_acl_xattr),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lg_shm_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lg_shm_appeared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lg_shm_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lg_kvmfr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audio_acl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audio_acl_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audio_acl_logged_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_evdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evdev_owner_restored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evdev_cleanup_after_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evdev_not_input, setup, teardown),
	};

	int r = cmocka_run_group_tests_name("pure", pure, NULL, NULL);

	if (geteuid() != 0) {
		printf("# the host-side tests need root (mknod, chown): not run\n");
		return r;
	}
	return r + cmocka_run_group_tests_name("host", tests, NULL, NULL);
}
