/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Single-GPU handoff (launcher/handoff.c) on a copy of the Ryzen fixture,
 * whose boot GPU 03:00.0 runs amdgpu, with the fake kernel of fakekernel.h:
 * a VT console on the framebuffer, the EFI framebuffer bound, a display
 * manager under a systemctl that stands in for systemd (a script in the
 * tree: state in units/, calls in systemctl.log), and Xorg holding the
 * GPU's card node until the display manager stops. The whole sequence,
 * then the teardown leaving sys/, dev/ and proc/ exactly as before; a
 * program that keeps the GPU open; a host without systemd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fakekernel.h"
#include "prep-env.h"
#include "handoff.h"
#include "prepare.h"
#include "vfio.h"

/*
 * systemctl for the tree: is-active/stop/start of units/NAME; stopping the
 * display manager ends its Xorg (proc/4242), starting it brings it back.
 */
static const char fake_systemctl[] =
	"#!/bin/sh\n"
	"root=$(dirname \"$0\")/../..\n"
	"[ \"$1\" = --no-ask-password ] && shift\n"
	"echo \"$*\" >> \"$root/systemctl.log\"\n"
	"u=\"$root/units/$2\"\n"
	"case \"$1\" in\n"
	"is-active) s=$(cat \"$u\" 2>/dev/null || echo inactive); echo \"$s\"; [ \"$s\" = active ] ;;\n"
	"stop) echo inactive > \"$u\"\n"
	"\t[ \"$2\" = display-manager.service ] && rm -rf \"$root/proc/4242\"\n"
	"\t[ \"$2\" = session-2.scope ] && rm -rf \"$root/proc/4300\"; exit 0 ;;\n"
	"start) echo active > \"$u\"\n"
	"\tif [ \"$2\" = display-manager.service ]; then\n"
	"\t\tmkdir -p \"$root/proc/4242/fd\" && echo Xorg > \"$root/proc/4242/comm\" &&\n"
	"\t\tln -s /dev/dri/card0 \"$root/proc/4242/fd/12\"\n"
	"\tfi ;;\n"
	"*) exit 1 ;;\n"
	"esac\n";

static struct vfio_dev dev(const char *addr)
{
	struct vfio_dev v = { .managed = true, .primary_display = true };

	assert_int_equal(parse_pci_addr(addr, &v.addr), 0);
	return v;
}

/* The desktop of the fixture's boot GPU, as a running host has it. */
static int setup_desktop(void **state)
{
	char p[PATH_MAX];

	fk_setup("ryzen-5950x");
	assert_int_equal(fk_mkdirs("sys/class/vtconsole/vtcon0"), 0);
	assert_int_equal(fk_put("sys/class/vtconsole/vtcon0/name", "(S) dummy device\n"), 0);
	assert_int_equal(fk_put("sys/class/vtconsole/vtcon0/bind", "0\n"), 0);
	assert_int_equal(fk_mkdirs("sys/class/vtconsole/vtcon1"), 0);
	assert_int_equal(fk_put("sys/class/vtconsole/vtcon1/name", "(M) frame buffer device\n"), 0);
	assert_int_equal(fk_put("sys/class/vtconsole/vtcon1/bind", "1\n"), 0);

	assert_int_equal(fk_mkdirs("sys/bus/platform/drivers/efi-framebuffer"), 0);
	assert_int_equal(fk_put("sys/bus/platform/drivers/efi-framebuffer/bind", ""), 0);
	assert_int_equal(fk_put("sys/bus/platform/drivers/efi-framebuffer/unbind", ""), 0);
	assert_int_equal(fk_mkdirs("sys/bus/platform/devices/efi-framebuffer.0"), 0);
	assert_int_equal(fk_symlink("../../../bus/platform/drivers/efi-framebuffer",
				    "sys/bus/platform/devices/efi-framebuffer.0/driver"),
			 0);
	/* Another platform device with a driver: not a framebuffer, left alone. */
	assert_int_equal(fk_mkdirs("sys/bus/platform/devices/serial8250"), 0);
	assert_int_equal(fk_symlink("../../../bus/platform/drivers/serial8250",
				    "sys/bus/platform/devices/serial8250/driver"),
			 0);

	assert_int_equal(fk_mkdirs("sys/bus/pci/devices/0000:03:00.0/drm/card0"), 0);
	assert_int_equal(fk_mkdirs("proc/4242/fd"), 0);
	assert_int_equal(fk_put("proc/4242/comm", "Xorg\n"), 0);
	assert_int_equal(fk_symlink("/dev/dri/card0", "proc/4242/fd/12"), 0);

	assert_int_equal(fk_mkdirs("run/systemd/system"), 0);
	assert_int_equal(fk_mkdirs("units"), 0);
	assert_int_equal(fk_put("units/display-manager.service", "active\n"), 0);
	assert_int_equal(fk_mkdirs("usr/bin"), 0);
	assert_int_equal(fk_put("usr/bin/systemctl", fake_systemctl), 0);
	fk_path(p, sizeof(p), "usr/bin/systemctl");
	assert_int_equal(chmod(p, 0755), 0);
	return 0;
}

static int teardown_tree(void **state)
{
	fk_teardown();
	return 0;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_full_handoff(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL, *log = NULL, *info = NULL;
	struct vfio_dev v[] = { dev("0000:03:00.0"), dev("0000:03:00.1") };
	struct vfio_opts o = VFIO_OPTS_INIT;
	struct handoff_opts ho = { .release_ms = 2000 };
	struct env e;

	before = fk_snapshot();
	env_open_journal(&e);
	o.single_gpu = true;
	assert_int_equal(handoff_prepare(&e.h, e.j, v, 2, &ho, &e.d), 0);
	assert_int_equal(vfio_prepare(&e.h, e.j, v, 2, &o, &e.d), 0);

	/* While the VM runs: no display manager, no console, no framebuffer on the GPU. */
	{
		_cleanup_free_ char *unit = fk_get("units/display-manager.service"),
				    *con0 = fk_get("sys/class/vtconsole/vtcon0/bind"),
				    *con1 = fk_get("sys/class/vtconsole/vtcon1/bind"),
				    *drv = fk_driver("0000:03:00.0");

		assert_string_equal(unit, "inactive");
		assert_string_equal(con0, "0");
		assert_string_equal(con1, "0");
		assert_string_equal(drv, "vfio-pci");
	}
	assert_false(fk_exists("sys/bus/platform/devices/efi-framebuffer.0/driver"));
	assert_true(fk_exists("sys/bus/platform/devices/serial8250/driver"));
	/* In the order made: unit, console, framebuffer, then the two functions. */
	assert_int_equal(e.j->n_records, 5);
	assert_int_equal(e.j->records[0].kind, JOURNAL_UNIT);
	assert_string_equal(e.j->records[0].target, "display-manager.service");
	assert_int_equal(e.j->records[1].kind, JOURNAL_SYSFS);
	assert_string_equal(e.j->records[1].target, "class/vtconsole/vtcon1/bind");
	assert_int_equal(e.j->records[2].kind, JOURNAL_PLATFORM_DRIVER);
	assert_string_equal(e.j->records[2].target, "efi-framebuffer.0");
	assert_string_equal(e.j->records[2].old, "efi-framebuffer");
	assert_int_equal(e.j->records[3].kind, JOURNAL_DRIVER);
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(info, "single-gpu: stopped display-manager.service");
	assert_contains(info, "single-gpu: console vtcon1 ((M) frame buffer device) unbound");
	assert_contains(info,
			"firmware framebuffer efi-framebuffer.0 unbound from efi-framebuffer");

	/* Teardown, last first: the GPU back on amdgpu, then the desktop. */
	plan_diags_done(&e.d);
	assert_int_equal(prepare_teardown(e.j, &e.h, &o, &e.d), 0);
	free(info);
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(info, "0000:03:00.0 is back on amdgpu");
	assert_contains(info, "firmware framebuffer efi-framebuffer.0 is back on efi-framebuffer");
	assert_contains(info, "started display-manager.service again");
	log = fk_read_all("systemctl.log");
	assert_string_equal(log, "is-active display-manager.service\n"
				 "stop display-manager.service\n"
				 "is-active display-manager.service\n"
				 "start display-manager.service\n");
	after = fk_snapshot();
	fk_assert_same(before, after);
	assert_int_equal(faccessat(e.run_fd, JOURNAL_FILE, F_OK, 0), -1);
	env_close(&e);
}

/* A program the display manager does not own keeps the GPU: refused in time, all undone. */
static void test_still_held(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL, *err = NULL, *unit = NULL;
	struct vfio_dev v[] = { dev("0000:03:00.0") };
	struct handoff_opts ho = { .release_ms = 300 };
	struct timespec t0, t1;
	struct env e;
	long ms;

	assert_int_equal(fk_mkdirs("sys/bus/pci/devices/0000:03:00.0/drm/renderD128"), 0);
	assert_int_equal(fk_mkdirs("proc/5000/fd"), 0);
	assert_int_equal(fk_put("proc/5000/comm", "steam\n"), 0);
	assert_int_equal(fk_symlink("/dev/dri/renderD128", "proc/5000/fd/40"), 0);
	before = fk_snapshot();
	env_open_journal(&e);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(handoff_prepare(&e.h, e.j, v, 1, &ho, &e.d), -EBUSY);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 300 && ms < 5000);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(
		err,
		"single-gpu: 0000:03:00.0 is still in use after 300 ms: steam (pid 5000, /dev/dri/renderD128)");
	assert_contains(err, "[vm] single-gpu-stop");
	/* Nothing of the GPU or the consoles was touched; only the unit was stopped. */
	assert_int_equal(e.j->n_records, 1);
	unit = fk_get("units/display-manager.service");
	assert_string_equal(unit, "inactive");

	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

/*
 * GDM's way: its stop leaves the session's compositor (in session-2.scope)
 * holding the card; the session is ended, and not started again after.
 */
static void test_session_ended(void **state)
{
	_cleanup_free_ char *log = NULL, *info = NULL, *con = NULL;
	struct vfio_dev v[] = { dev("0000:03:00.0") };
	struct handoff_opts ho = { .release_ms = 2000, .end_sessions = true };
	struct env e;

	assert_int_equal(fk_mkdirs("proc/4300/fd"), 0);
	assert_int_equal(fk_put("proc/4300/comm", "gnome-shell\n"), 0);
	assert_int_equal(
		fk_put("proc/4300/cgroup", "0::/user.slice/user-1000.slice/session-2.scope\n"), 0);
	assert_int_equal(
		fk_put("proc/4300/status", "Name:\tgnome-shell\nUid:\t1000\t1000\t1000\t1000\n"),
		0);
	assert_int_equal(fk_mkdirs("run/systemd/sessions"), 0);
	assert_int_equal(fk_put("run/systemd/sessions/2",
				"UID=1000\nUSER=alice\nACTIVE=1\nSCOPE=session-2.scope\n"),
			 0);
	assert_int_equal(fk_symlink("/dev/dri/card0", "proc/4300/fd/20"), 0);
	/* A system service holding it is no session: left to the wait. */
	assert_int_equal(fk_put("proc/4242/cgroup", "0::/system.slice/display-manager.service\n"),
			 0);
	env_open_journal(&e);
	assert_int_equal(handoff_prepare(&e.h, e.j, v, 1, &ho, &e.d), 0);
	assert_false(fk_exists("proc/4300"));
	assert_int_equal(e.j->records[1].kind, JOURNAL_UNIT);
	assert_string_equal(e.j->records[1].target, "session-2.scope");
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(
		info,
		"single-gpu: ended the login session session-2.scope (gnome-shell, pid 4300, held the GPU)");

	plan_diags_done(&e.d);
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	free(info);
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(info,
			"the login session session-2.scope was ended for the VM: log in again");
	log = fk_read_all("systemctl.log");
	assert_string_equal(log, "is-active display-manager.service\n"
				 "stop display-manager.service\n"
				 "stop session-2.scope\n"
				 "is-active display-manager.service\n"
				 "start display-manager.service\n");
	/* Everything back but the session, which is gone for good. */
	assert_true(fk_exists("proc/4242/fd/12"));
	assert_false(fk_exists("proc/4300"));
	con = fk_get("sys/class/vtconsole/vtcon1/bind");
	assert_string_equal(con, "1");
	env_close(&e);
}

/*
 * A cgroup named like a session inside a user's own delegated subtree, or
 * one logind does not know, or a process of another uid in it: none of
 * them is a session gamevm ends; the wait then refuses, naming the holder.
 */
static void test_forged_session(void **state)
{
	static const char *const cgroups[] = {
		"0::/user.slice/user-1000.slice/user@1000.service/app.slice/session-7.scope\n",
		"0::/user.slice/user-1000.slice/session-9.scope\n",
		"0::/user.slice/user-1001.slice/session-7.scope\n",
		"0::/user.slice/user-1000.slice/session-7.scope/sub\n",
		/* The right shape, but logind's session 7 is root's. */
		"0::/user.slice/user-1000.slice/session-7.scope\n",
	};
	struct vfio_dev v[] = { dev("0000:03:00.0") };
	struct handoff_opts ho = { .release_ms = 200, .end_sessions = true };

	assert_int_equal(fk_mkdirs("proc/4300/fd"), 0);
	assert_int_equal(fk_put("proc/4300/comm", "evil\n"), 0);
	assert_int_equal(fk_put("proc/4300/status", "Name:\tevil\nUid:\t1000\t1000\t1000\t1000\n"),
			 0);
	assert_int_equal(fk_symlink("/dev/dri/card0", "proc/4300/fd/20"), 0);
	assert_int_equal(fk_mkdirs("run/systemd/sessions"), 0);
	/* Session 7 is root's SSH login, the one running gamevm. */
	assert_int_equal(
		fk_put("run/systemd/sessions/7", "UID=0\nUSER=root\nSCOPE=session-7.scope\n"), 0);
	for (size_t i = 0; i < ELEMENTSOF(cgroups); i++) {
		_cleanup_free_ char *err = NULL, *log = NULL;
		struct env e;

		assert_int_equal(fk_put("proc/4300/cgroup", cgroups[i]), 0);
		assert_int_equal(fk_put("units/display-manager.service", "active\n"), 0);
		env_open_journal(&e);
		assert_int_equal(handoff_prepare(&e.h, e.j, v, 1, &ho, &e.d), -EBUSY);
		err = diags_text(&e.d, LOG_ERR);
		assert_contains(err, "evil (pid 4300, /dev/dri/card0)");
		log = fk_read_all("systemctl.log");
		if (strstr(log, "session-"))
			fail_msg("case %zu: a session was stopped:\n%s", i, log);
		assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
		env_close(&e);
		assert_int_equal(fk_put("systemctl.log", ""), 0);
	}
}

/* No systemd: said, and the rest of the handoff still made (Xorg gone by hand). */
static void test_no_systemd(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL, *notice = NULL;
	struct vfio_dev v[] = { dev("0000:03:00.0") };
	struct handoff_opts ho = { .release_ms = 300 };
	char p[PATH_MAX];
	struct env e;

	fk_path(p, sizeof(p), "run/systemd/system");
	assert_int_equal(rmdir(p), 0);
	fk_path(p, sizeof(p), "proc/4242/fd/12");
	assert_int_equal(unlink(p), 0);
	before = fk_snapshot();
	env_open_journal(&e);
	assert_int_equal(handoff_prepare(&e.h, e.j, v, 1, &ho, &e.d), 0);
	notice = diags_text(&e.d, LOG_NOTICE);
	assert_contains(notice, "does not run systemd");
	assert_false(fk_exists("systemctl.log"));
	assert_int_equal(e.j->n_records, 2);
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

/* single-gpu-consoles = no: the consoles stay as they are. */
static void test_keep_consoles(void **state)
{
	_cleanup_free_ char *con = NULL;
	struct vfio_dev v[] = { dev("0000:03:00.0") };
	struct handoff_opts ho = { .release_ms = 2000, .keep_consoles = true };
	struct env e;

	env_open_journal(&e);
	assert_int_equal(handoff_prepare(&e.h, e.j, v, 1, &ho, &e.d), 0);
	con = fk_get("sys/class/vtconsole/vtcon1/bind");
	assert_string_equal(con, "1");
	for (size_t i = 0; i < e.j->n_records; i++)
		assert_int_not_equal(e.j->records[i].kind, JOURNAL_SYSFS);
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	env_close(&e);
}

/* The GPU's driver, back, removed the firmware framebuffer: nothing to rebind. */
static void test_framebuffer_gone(void **state)
{
	_cleanup_free_ char *info = NULL;
	struct journal_record rec = { .kind = JOURNAL_PLATFORM_DRIVER,
				      .target = (char *)"simple-framebuffer.0",
				      .old = (char *)"simple-framebuffer" };
	struct env e;

	env_open_journal(&e);
	assert_int_equal(handoff_undo_platform(&e.h, &rec, &e.d), 0);
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(info, "simple-framebuffer.0 is gone");
	env_close(&e);
}

static void test_names(void **state)
{
	assert_true(config_unit_name_is_valid("display-manager.service"));
	assert_true(config_unit_name_is_valid("user@1000.service"));
	assert_true(config_unit_name_is_valid("graphical-session.target"));
	assert_false(config_unit_name_is_valid("-H.service"));
	assert_false(config_unit_name_is_valid("gdm"));
	assert_false(config_unit_name_is_valid("a b.service"));
	assert_false(config_unit_name_is_valid("../x.service"));
	assert_true(handoff_sysfs_name_is_valid("efi-framebuffer.0"));
	assert_false(handoff_sysfs_name_is_valid(".."));
	assert_false(handoff_sysfs_name_is_valid("a/b"));
	assert_false(handoff_sysfs_name_is_valid(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_handoff, setup_desktop, teardown_tree),
		cmocka_unit_test_setup_teardown(test_still_held, setup_desktop, teardown_tree),
		cmocka_unit_test_setup_teardown(test_session_ended, setup_desktop, teardown_tree),
		cmocka_unit_test_setup_teardown(test_forged_session, setup_desktop, teardown_tree),
		cmocka_unit_test_setup_teardown(test_no_systemd, setup_desktop, teardown_tree),
		cmocka_unit_test_setup_teardown(test_keep_consoles, setup_desktop, teardown_tree),
		cmocka_unit_test_setup_teardown(test_framebuffer_gone, setup_desktop,
						teardown_tree),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
