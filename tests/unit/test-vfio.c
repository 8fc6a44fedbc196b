/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VFIO binding (launcher/vfio.c, vfio-host.c) and its undo through the
 * journal (launcher/prepare.c), on copies of the fixture hosts with the
 * fake kernel of fakekernel.h reacting to the writes: group verdicts and
 * refusals with their messages, the host display check, bind and restore
 * leaving sys/ and dev/ exactly as before, a stuck unbind, the health
 * check after the VM.
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
#include "prepare.h"
#include "vfio.h"

/* ---- helpers ------------------------------------------------------------------------ */

static struct vfio_dev dev(const char *addr, bool managed)
{
	struct vfio_dev v = { .managed = managed };

	assert_int_equal(parse_pci_addr(addr, &v.addr), 0);
	return v;
}

static size_t diags_count(const struct plan_diags *d, int level)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].level == level;
	return n;
}

/* vfio_check on a freshly probed copy of the tree. */
static int check(struct env *e, const struct vfio_dev *devs, size_t n, bool single_gpu)
{
	_cleanup_(host_pci_done) struct host_pci pci = {};
	struct vfio_opts o = VFIO_OPTS_INIT;

	o.single_gpu = single_gpu;
	assert_int_equal(host_pci_probe(&e->h, &pci), 0);
	return vfio_check(&e->h, &pci, devs, n, &o, &e->d);
}

static int teardown_tree(void **state)
{
	fk_teardown();
	return 0;
}

static int setup_ryzen(void **state)
{
	fk_setup("ryzen-5950x");
	return 0;
}

static int setup_intel(void **state)
{
	fk_setup("intel-14900k");
	return 0;
}

static int setup_no_iommu(void **state)
{
	fk_setup("no-iommu");
	return 0;
}

/* ---- checks --------------------------------------------------------------------------- */

static void test_no_iommu(void **state)
{
	_cleanup_free_ char *err = NULL;
	struct vfio_dev v[] = { dev("0000:01:00.0", true) };
	struct env e;

	env_open(&e);
	assert_int_equal(check(&e, v, 1, false), -EINVAL);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(err, "enable IOMMU / SVM / VT-d in the firmware setup");
	assert_contains(err, "/sys/kernel/iommu_groups is empty");
	env_close(&e);
}

static void test_shared_group_refused(void **state)
{
	_cleanup_free_ char *err = NULL;
	struct vfio_dev v[] = { dev("0000:02:00.0", true) };
	struct env e;

	env_open(&e);
	assert_int_equal(check(&e, v, 1, false), -EINVAL);
	assert_int_equal(diags_count(&e.d, LOG_ERR), 1);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(err, "0000:02:00.0 cannot be given to the VM");
	assert_contains(err, "IOMMU group 15");
	assert_contains(err, "also holds 0000:02:00.1 (1022:43eb, driver ahci), which");
	/* The whole group, bridge included, and the fix. */
	assert_contains(
		err,
		"The group: 0000:02:00.0 (1022:43ee, driver xhci_hcd), 0000:02:00.1 (1022:43eb, driver ahci), 0000:02:00.2 (bridge, stays with the host)");
	assert_contains(err, "move the card to another slot");
	assert_contains(err, "pass every device of the group");
	env_close(&e);
}

static void test_whole_group_passes(void **state)
{
	_cleanup_free_ char *warn = NULL;
	/* Both endpoints of group 15; the bridge 02:00.2 stays and is no obstacle. */
	struct vfio_dev v[] = { dev("0000:02:00.0", true), dev("0000:02:00.1", true) };
	struct env e;

	env_open(&e);
	assert_int_equal(check(&e, v, 2, false), 0);
	assert_int_equal(diags_count(&e.d, LOG_ERR), 0);
	/* Neither has a reset method: one warning for the slot, naming the workaround. */
	assert_int_equal(diags_count(&e.d, LOG_WARNING), 1);
	warn = diags_text(&e.d, LOG_WARNING);
	assert_contains(warn, "0000:02:00.0 has no reset method");
	assert_contains(warn, "vendor-reset");
	env_close(&e);
}

static void test_group_member_on_vfio_ok(void **state)
{
	_cleanup_free_ char *info = NULL;
	/* 0f:00.1 is not passed, but already on vfio-pci: the group can go. */
	struct vfio_dev v[] = { dev("0000:0f:00.0", true) };
	struct env e;

	env_open(&e);
	assert_int_equal(check(&e, v, 1, false), 0);
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(info, "0000:0f:00.0 resets by: bus");
	env_close(&e);
}

static void test_driverless_member_refused(void **state)
{
	_cleanup_free_ char *err = NULL;
	struct vfio_dev v[] = { dev("0000:00:14.0", true) };
	struct env e;

	env_open(&e);
	assert_int_equal(check(&e, v, 1, false), -EINVAL);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(err, "IOMMU group 8");
	assert_contains(err, "also holds 0000:00:14.2 (8086:7a27, no driver)");
	env_close(&e);
}

static void test_missing_and_unmanaged(void **state)
{
	_cleanup_free_ char *err = NULL;
	struct vfio_dev v[] = { dev("0000:0a:00.0", true), dev("0000:11:00.3", false) };
	struct env e;

	env_open(&e);
	assert_int_equal(check(&e, v, 2, false), -EINVAL);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(err, "no PCI device 0000:0a:00.0 on this host");
	assert_contains(err, "0000:11:00.3 is not bound to vfio-pci");
	assert_contains(err, "managed = no");
	env_close(&e);
}

static void test_boot_vga_framebuffer(void **state)
{
	_cleanup_free_ char *err = NULL, *notice = NULL;
	struct vfio_dev v[] = { dev("0000:03:00.0", true), dev("0000:03:00.1", true) };
	struct env e;

	/* amdgpu's fbdev emulation on the boot GPU. */
	assert_int_equal(fk_mkdirs("sys/bus/pci/devices/0000:03:00.0/graphics/fb0"), 0);
	env_open(&e);
	assert_int_equal(check(&e, v, 2, false), -EINVAL);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(
		err,
		"0000:03:00.0 is in use by the host display: it is the boot VGA device and framebuffer fb0 is on it");
	assert_contains(err, "single-gpu = yes");

	/* Said so, the same device is handed over, with a notice. */
	plan_diags_done(&e.d);
	assert_int_equal(check(&e, v, 2, true), 0);
	notice = diags_text(&e.d, LOG_NOTICE);
	assert_contains(notice, "0000:03:00.0 is in use by the host display");
	env_close(&e);
}

static void test_boot_vga_firmware_fb(void **state)
{
	_cleanup_free_ char *err = NULL;
	struct vfio_dev v[] = { dev("0000:03:00.0", true), dev("0000:03:00.1", true) };
	struct env e;

	assert_int_equal(fk_mkdirs("sys/devices/platform/efi-framebuffer.0"), 0);
	assert_int_equal(fk_mkdirs("sys/class/graphics/fb0"), 0);
	assert_int_equal(fk_symlink("../../../devices/platform/efi-framebuffer.0",
				    "sys/class/graphics/fb0/device"),
			 0);
	env_open(&e);
	assert_int_equal(check(&e, v, 2, false), -EINVAL);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(err, "the firmware framebuffer fb0 (efi-framebuffer.0) is on it");
	env_close(&e);
}

static void test_open_card_node(void **state)
{
	_cleanup_free_ char *err = NULL;
	/* The RTX 4090 is not the boot GPU, but Xorg has its card node open. */
	struct vfio_dev v[] = { dev("0000:01:00.0", true), dev("0000:01:00.1", true) };
	struct env e;

	assert_int_equal(fk_mkdirs("sys/bus/pci/devices/0000:01:00.0/drm/card1"), 0);
	assert_int_equal(fk_mkdirs("sys/bus/pci/devices/0000:01:00.0/drm/renderD129"), 0);
	assert_int_equal(fk_mkdirs("proc/812/fd"), 0);
	assert_int_equal(fk_put("proc/812/comm", "Xorg\n"), 0);
	assert_int_equal(fk_symlink("/dev/dri/card1", "proc/812/fd/14"), 0);
	assert_int_equal(fk_symlink("/dev/dri/card1", "proc/812/fd/15"), 0);
	/* A render client alone is no display use. */
	assert_int_equal(fk_mkdirs("proc/900/fd"), 0);
	assert_int_equal(fk_put("proc/900/comm", "firefox\n"), 0);
	assert_int_equal(fk_symlink("/dev/dri/renderD129", "proc/900/fd/3"), 0);
	env_open(&e);
	assert_int_equal(check(&e, v, 2, false), -EINVAL);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(
		err,
		"0000:01:00.0 is in use by the host display: its DRM card node is open in Xorg (pid 812, /dev/dri/card1).");
	assert_null(strstr(err, "firefox"));
	env_close(&e);
}

static void test_find_holders(void **state)
{
	_cleanup_free_ char *all = NULL, *cards = NULL;
	struct pci_addr a;
	struct env e;

	assert_int_equal(fk_mkdirs("sys/bus/pci/devices/0000:03:00.0/drm/card0"), 0);
	assert_int_equal(fk_mkdirs("sys/bus/pci/devices/0000:03:00.0/drm/renderD128"), 0);
	assert_int_equal(fk_mkdirs("proc/77/fd"), 0);
	assert_int_equal(fk_put("proc/77/comm", "gnome-shell\n"), 0);
	assert_int_equal(fk_symlink("/dev/dri/renderD128", "proc/77/fd/9"), 0);
	assert_int_equal(fk_symlink("/dev/null", "proc/77/fd/0"), 0);
	assert_int_equal(fk_mkdirs("sys/bus/pci/devices/0000:03:00.1/sound/card1"), 0);
	assert_int_equal(fk_mkdirs("proc/1500/fd"), 0);
	assert_int_equal(fk_put("proc/1500/comm", "pipewire\n"), 0);
	assert_int_equal(fk_symlink("/dev/snd/pcmC1D3p", "proc/1500/fd/30"), 0);
	env_open(&e);

	assert_int_equal(parse_pci_addr("0000:03:00.0", &a), 0);
	assert_int_equal(vfio_find_holders(&e.h, &a, false, &all), 0);
	assert_string_equal(all, "gnome-shell (pid 77, /dev/dri/renderD128)");
	assert_int_equal(vfio_find_holders(&e.h, &a, true, &cards), 0);
	assert_null(cards);
	free(all);
	assert_int_equal(parse_pci_addr("0000:03:00.1", &a), 0);
	assert_int_equal(vfio_find_holders(&e.h, &a, false, &all), 0);
	assert_string_equal(all, "pipewire (pid 1500, /dev/snd/pcmC1D3p)");
	env_close(&e);
}

/* ---- bind and restore ------------------------------------------------------------------ */

/* A host where vfio-pci is not loaded: the passthrough GPU unbound. */
static void make_vfio_unloaded(void)
{
	char p[PATH_MAX], cmd[PATH_MAX + 16];

	assert_int_equal(fk_unbind("0000:0f:00.0"), 0);
	assert_int_equal(fk_unbind("0000:0f:00.1"), 0);
	assert_false(fk_exists("dev/vfio/28"));
	fk_path(p, sizeof(p), "sys/bus/pci/drivers/vfio-pci");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	assert_int_equal(system(cmd), 0);
	assert_false(fk_driver_loaded("vfio-pci"));
}

static void test_bind_restore_xhci(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL, *drv = NULL, *ov = NULL, *log = NULL,
			    *info = NULL;
	struct vfio_dev v[] = { dev("0000:11:00.3", true) };
	struct vfio_opts o = VFIO_OPTS_INIT;
	bool root = geteuid() == 0;
	struct stat st;
	char p[PATH_MAX];
	struct env e;

	make_vfio_unloaded();
	assert_int_equal(fk_mkdirs("sys/module/irqbypass"), 0);
	before = fk_snapshot();
	env_open(&e);
	assert_int_equal(journal_create(e.run_fd, "demo", NULL, &e.j), 0);
	o.uid = root ? 4242 : (uid_t)-1;
	o.gid = root ? 4243 : (gid_t)-1;
	assert_int_equal(vfio_prepare(&e.h, e.j, v, 1, &o, &e.d), 0);

	/* On vfio-pci, loaded for the purpose, the group node handed over. */
	drv = fk_driver("0000:11:00.3");
	assert_string_equal(drv, "vfio-pci");
	ov = fk_override("0000:11:00.3");
	assert_string_equal(ov, "vfio-pci");
	log = fk_get("modprobe.log");
	assert_string_equal(log, "vfio-pci");
	fk_path(p, sizeof(p), "dev/vfio/33");
	assert_int_equal(stat(p, &st), 0);
	if (root) {
		assert_int_equal(st.st_uid, 4242);
		assert_int_equal(st.st_gid, 4243);
	}
	assert_int_equal(e.j->n_records, root ? 3 : 2);
	assert_int_equal(e.j->records[0].kind, JOURNAL_MODULE);
	assert_string_equal(e.j->records[0].old,
			    "vfio_pci vfio_pci_core vfio_iommu_type1 vfio_virqfd vfio iommufd");
	assert_int_equal(e.j->records[1].kind, JOURNAL_DRIVER);
	assert_string_equal(e.j->records[1].old, "xhci_hcd");
	assert_null(e.j->records[1].old_override);
	if (root)
		assert_int_equal(e.j->records[2].kind, JOURNAL_CHOWN);
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(info, "0000:11:00.3 moved from xhci_hcd to vfio-pci");

	/* The health check passes on a device that still answers. */
	assert_int_equal(vfio_check_health(&e.h, v, 1, &e.d), 0);

	/* Teardown: back on xhci_hcd, vfio-pci unloaded, the tree as before. */
	plan_diags_done(&e.d);
	assert_int_equal(prepare_teardown(e.j, &e.h, &o, &e.d), 0);
	free(info);
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(info, "0000:11:00.3 is back on xhci_hcd");
	assert_contains(info, "unloaded vfio-pci");
	free(log);
	log = fk_read_all("modprobe.log");
	/* Everything the load pulled in goes again: irqbypass was there before (kvm). */
	assert_string_equal(
		log, "vfio-pci\n-r -a vfio_pci vfio_pci_core vfio_iommu_type1 vfio_virqfd vfio\n");
	after = fk_snapshot();
	fk_assert_same(before, after);
	assert_int_equal(faccessat(e.run_fd, JOURNAL_FILE, F_OK, 0), -1);
	env_close(&e);
}

static void test_bind_restore_gpu_pair(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL;
	struct vfio_dev v[] = { dev("0000:03:00.0", true), dev("0000:03:00.1", true) };
	struct vfio_opts o = VFIO_OPTS_INIT;
	struct env e;

	/* An override someone else set is restored too. */
	assert_int_equal(
		fk_put("sys/bus/pci/devices/0000:03:00.1/driver_override", "snd_hda_intel\n"), 0);
	before = fk_snapshot();
	env_open(&e);
	assert_int_equal(journal_create(e.run_fd, "demo", NULL, &e.j), 0);
	o.single_gpu = true;
	assert_int_equal(vfio_prepare(&e.h, e.j, v, 2, &o, &e.d), 0);
	{
		_cleanup_free_ char *a = fk_driver("0000:03:00.0"), *b = fk_driver("0000:03:00.1");

		assert_string_equal(a, "vfio-pci");
		assert_string_equal(b, "vfio-pci");
	}
	assert_true(fk_exists("dev/vfio/20"));
	/* vfio-pci was loaded already (the other GPU uses it): no module record. */
	assert_int_equal(e.j->n_records, 2);
	assert_string_equal(e.j->records[1].old_override, "snd_hda_intel");
	assert_false(fk_exists("modprobe.log"));

	assert_int_equal(prepare_teardown(e.j, &e.h, &o, &e.d), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

/* Undo twice, and undo of a record never carried out: the host does not change. */
static void test_undo_idempotent(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL;
	struct vfio_dev v[] = { dev("0000:11:00.3", true) };
	struct vfio_opts o = VFIO_OPTS_INIT;
	struct journal_record copy[4];
	size_t n;
	struct env e;

	before = fk_snapshot();
	env_open(&e);
	assert_int_equal(journal_create(e.run_fd, "demo", NULL, &e.j), 0);
	assert_int_equal(vfio_prepare(&e.h, e.j, v, 1, &o, &e.d), 0);
	n = e.j->n_records;
	assert_true(n >= 1 && n <= 4);
	for (size_t i = 0; i < n; i++)
		copy[i] = e.j->records[i];
	/* A crash between the undo and its "done" line: the replay undoes again. */
	assert_int_equal(prepare_undo(&e.h, &copy[n - 1], &o, &e.d), 0);
	assert_int_equal(prepare_teardown(e.j, &e.h, &o, &e.d), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);

	plan_diags_done(&e.d);
	for (size_t i = n; i > 0; i--)
		assert_int_equal(prepare_undo(&e.h, &copy[i - 1], &o, &e.d), 0);
	assert_int_equal(diags_count(&e.d, LOG_INFO), 0);
	free(after);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

/* The driver to go back to is not loaded: the replay says what to do and keeps the record. */
static void test_restore_driver_missing(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL, *err = NULL;
	struct vfio_dev v[] = { dev("0000:11:00.3", true) };
	struct vfio_opts o = VFIO_OPTS_INIT;
	char cmd[PATH_MAX * 2 + 32], p[PATH_MAX];
	struct env e;

	before = fk_snapshot();
	env_open(&e);
	assert_int_equal(journal_create(e.run_fd, "demo", NULL, &e.j), 0);
	assert_int_equal(vfio_prepare(&e.h, e.j, v, 1, &o, &e.d), 0);

	fk_path(p, sizeof(p), "sys/bus/pci/drivers/xhci_hcd");
	snprintf(cmd, sizeof(cmd), "mv '%s' '%s.away'", p, p);
	assert_int_equal(system(cmd), 0);
	plan_diags_done(&e.d);
	assert_int_equal(prepare_teardown(e.j, &e.h, &o, &e.d), -EIO);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(
		err,
		"0000:11:00.3 did not go back to xhci_hcd (its driver is now none): load the driver (modprobe xhci_hcd)");
	assert_int_equal(journal_pending(e.j), 1);
	journal_free(e.j);
	e.j = NULL;

	/* The driver is back: cleanup again (a fresh process would do the same). */
	snprintf(cmd, sizeof(cmd), "mv '%s.away' '%s'", p, p);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(journal_open_existing(e.run_fd, &e.j), 0);
	assert_int_equal(journal_pending(e.j), 1);
	assert_int_equal(prepare_teardown(e.j, &e.h, &o, &e.d), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

static void test_stuck_unbind(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL, *err = NULL, *drv = NULL;
	struct vfio_dev v[] = { dev("0000:03:00.0", true), dev("0000:03:00.1", true) };
	struct vfio_opts o = VFIO_OPTS_INIT;
	struct timespec t0, t1;
	char p[PATH_MAX];
	struct env e;
	long ms;

	/* amdgpu's unbind never returns: a FIFO without a reader blocks the writer. */
	assert_int_equal(fk_unlink("sys/bus/pci/drivers/amdgpu/unbind"), 0);
	fk_path(p, sizeof(p), "sys/bus/pci/drivers/amdgpu/unbind");
	assert_int_equal(mkfifo(p, 0200), 0);
	assert_int_equal(fk_mkdirs("sys/bus/pci/devices/0000:03:00.0/drm/card0"), 0);
	assert_int_equal(fk_mkdirs("proc/4242/fd"), 0);
	assert_int_equal(fk_put("proc/4242/comm", "Xorg\n"), 0);
	assert_int_equal(fk_symlink("/dev/dri/card0", "proc/4242/fd/12"), 0);
	before = fk_snapshot();

	env_open(&e);
	assert_int_equal(journal_create(e.run_fd, "demo", NULL, &e.j), 0);
	o.single_gpu = true;
	o.unbind_timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vfio_prepare(&e.h, e.j, v, 2, &o, &e.d), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 300 && ms < 5000);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(
		err,
		"Unbinding 0000:03:00.0 from amdgpu did not finish within 300 ms: Xorg (pid 4242, /dev/dri/card0)");
	assert_contains(err, "gamevm cleanup");
	drv = fk_driver("0000:03:00.0");
	assert_string_equal(drv, "amdgpu");

	/* The override set before the unbind is journaled and undone. */
	assert_int_equal(e.j->n_records, 1);
	assert_int_equal(prepare_teardown(e.j, &e.h, &o, &e.d), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

static void test_health(void **state)
{
	_cleanup_free_ char *err = NULL;
	struct vfio_dev v[] = { dev("0000:0f:00.0", true), dev("0000:0f:00.1", true),
				dev("0000:11:00.3", true) };
	const unsigned char dead[4] = { 0xff, 0xff, 0xff, 0xff };
	char p[PATH_MAX];
	FILE *f;
	struct env e;

	fk_path(p, sizeof(p), "sys/bus/pci/devices/0000:0f:00.0/config");
	f = fopen(p, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(dead, 1, sizeof(dead), f), sizeof(dead));
	fclose(f);
	assert_int_equal(fk_unlink("sys/bus/pci/devices/0000:11:00.3/config"), 0);
	env_open(&e);
	assert_int_equal(vfio_check_health(&e.h, v, 3, &e.d), -EIO);
	assert_int_equal(diags_count(&e.d, LOG_ERR), 2);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(
		err, "0000:0f:00.0 did not come back from the VM: its config space reads 0xffff");
	assert_contains(
		err,
		"0000:11:00.3 did not come back from the VM: its config space (/sys/bus/pci/devices/0000:11:00.3/config) cannot be read");
	assert_null(strstr(err, "0000:0f:00.1"));
	env_close(&e);
}

static void test_prepare_refuses_before_changing(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL;
	struct vfio_dev v[] = { dev("0000:02:00.0", true) };
	struct env e;

	before = fk_snapshot();
	env_open(&e);
	assert_int_equal(journal_create(e.run_fd, "demo", NULL, &e.j), 0);
	assert_int_equal(vfio_prepare(&e.h, e.j, v, 1, NULL, &e.d), -EINVAL);
	assert_int_equal(e.j->n_records, 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_iommu, setup_no_iommu, teardown_tree),
		cmocka_unit_test_setup_teardown(test_shared_group_refused, setup_ryzen,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_whole_group_passes, setup_ryzen,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_group_member_on_vfio_ok, setup_ryzen,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_driverless_member_refused, setup_intel,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_missing_and_unmanaged, setup_ryzen,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_boot_vga_framebuffer, setup_ryzen,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_boot_vga_firmware_fb, setup_ryzen,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_open_card_node, setup_intel, teardown_tree),
		cmocka_unit_test_setup_teardown(test_find_holders, setup_ryzen, teardown_tree),
		cmocka_unit_test_setup_teardown(test_bind_restore_xhci, setup_ryzen, teardown_tree),
		cmocka_unit_test_setup_teardown(test_bind_restore_gpu_pair, setup_ryzen,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_undo_idempotent, setup_ryzen, teardown_tree),
		cmocka_unit_test_setup_teardown(test_restore_driver_missing, setup_ryzen,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_stuck_unbind, setup_ryzen, teardown_tree),
		cmocka_unit_test_setup_teardown(test_health, setup_ryzen, teardown_tree),
		cmocka_unit_test_setup_teardown(test_prepare_refuses_before_changing, setup_ryzen,
						teardown_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
