/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The desktop sections' host side on a scratch root with real device
 * nodes (mknod, as root): [input] evdev links followed to their node
 * (host_desktop_probe), the node given to QEMU's user by prepare_desktop()
 * and given back by the journal's replay, on every path.
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config.h"
#include "host.h"
#include "journal.h"
#include "macro.h"
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

static void make_node(struct fixture *f, const char *rel, mode_t type, unsigned ma, unsigned mi)
{
	char p[256];

	path_of(f, rel, p, sizeof(p));
	assert_int_equal(mknod(p, type | 0660, makedev(ma, mi)), 0);
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

/* Each node goes to QEMU's user (its group kept) and back by the replay. */
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
	assert_owner(f, "dev/input/event3", QEMU_UID, INPUT_GID);
	assert_owner(f, "dev/input/event4", QEMU_UID, INPUT_GID);
	/* The link itself is not touched. */
	assert_owner(f, "dev/input/by-id/usb-K-event-kbd", 0, 0);
	assert_int_equal(j->n_records, 2);
	assert_int_equal(j->records[0].kind, JOURNAL_CHOWN);
	assert_string_equal(j->records[0].target, "input/event3");
	assert_string_equal(j->records[0].old, "0:105");

	assert_int_equal(prepare_teardown(j, &f->h, NULL, &d), 0);
	assert_owner(f, "dev/input/event3", 0, INPUT_GID);
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
	assert_owner(f, "dev/input/event4", QEMU_UID, INPUT_GID);

	assert_int_equal(journal_open_existing(f->run_fd, &again), 0);
	assert_int_equal(journal_pending(again), 1);
	assert_int_equal(prepare_teardown(again, &f->h, NULL, &d), 0);
	assert_owner(f, "dev/input/event4", 0, INPUT_GID);
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
	assert_owner(f, "dev/input/event3", QEMU_UID, INPUT_GID);
	assert_int_equal(prepare_teardown(j, &f->h, NULL, &d), 0);
	assert_owner(f, "dev/input/event3", 0, INPUT_GID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_evdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evdev_owner_restored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evdev_cleanup_after_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evdev_not_input, setup, teardown),
	};

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (mknod, chown)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
