/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config parser: both examples load with the reference build's values,
 * defaults are what docs/config.md says, and every class of bad input gets
 * its exact message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config-internal.h"
#include "config.h"
#include "macro.h"

/* 6 lines: what every test config needs; the text under test starts at line 7. */
#define BASE "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\n"

static char *srcdir_path(const char *rel)
{
	const char *src = getenv("GAMEVM_SRCDIR");
	char *p;

	assert_non_null(src);
	assert_true(asprintf(&p, "%s/%s", src, rel) > 0);
	return p;
}

static struct vm_config *load_ok(const char *text)
{
	struct vm_config *c = NULL;
	_cleanup_(config_error_done) struct config_error e = { 0 };
	int r = config_load_string("t.conf", text, &c, &e);

	if (r < 0)
		fail_msg("unexpected error %d: %s", r, strna(e.msg));
	assert_non_null(c);
	return c;
}

/* Loads text, expects -EINVAL, and compares the one message. */
static void expect_error(const char *text, const char *msg)
{
	struct vm_config *c = NULL;
	_cleanup_(config_error_done) struct config_error e = { 0 };
	int r = config_load_string("t.conf", text, &c, &e);

	if (r == 0) {
		config_free(c);
		fail_msg("config loaded, expected: %s", msg);
	}
	assert_int_equal(r, -EINVAL);
	assert_null(c);
	assert_non_null(e.msg);
	assert_string_equal(e.msg, msg);
}

/* Line number of the first line of text that starts with prefix. */
static unsigned line_in(const char *text, const char *prefix)
{
	unsigned line = 1;
	size_t n = strlen(prefix);

	for (const char *s = text; *s; line++) {
		if (strncmp(s, prefix, n) == 0)
			return line;
		s = strchr(s, '\n');
		if (!s)
			break;
		s++;
	}
	fail_msg("'%s' not found", prefix);
	return 0;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	assert_non_null(f);
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void test_win11_example(void **state)
{
	static const unsigned pin[32] = { 0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
					  21, 6,  22, 7,  23, 8,  24, 9,  25, 10, 26,
					  11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };
	_cleanup_free_ char *path = srcdir_path("examples/win11.conf");
	_cleanup_free_ char *text = read_text(path);
	_cleanup_(config_error_done) struct config_error e = { 0 };
	struct vm_config *c = NULL;
	const struct vm_hyperv *h;
	char buf[PCI_ADDR_STRLEN];

	(void)state;
	if (config_load(path, &c, &e) < 0)
		fail_msg("%s", e.msg);
	assert_string_equal(c->path, path);
	assert_string_equal(c->name, "win11");
	assert_int_equal(c->accel, ACCEL_KVM);
	assert_string_equal(c->machine, "q35");

	assert_true(c->memory_bytes == 64ull << 30);
	assert_int_equal(c->hugepages, HUGEPAGES_2M);
	assert_int_equal(c->memory_node, -1);

	assert_int_equal(c->vcpus, 32);
	assert_int_equal(c->topology.sockets, 1);
	assert_int_equal(c->topology.dies, 1);
	assert_int_equal(c->topology.cores, 16);
	assert_int_equal(c->topology.threads, 2);
	assert_string_equal(c->cpu_model, "host");
	assert_int_equal(c->n_features, 2);
	assert_string_equal(c->features[0].name, "topoext");
	assert_true(c->features[0].enabled);
	assert_string_equal(c->features[1].name, "invtsc");
	assert_true(c->features[1].enabled);
	assert_true(c->cache_passthrough);
	assert_true(c->hide_hypervisor);
	assert_false(c->pin_auto);
	assert_int_equal(c->n_pin, 32);
	assert_memory_equal(c->pin, pin, sizeof(pin));
	assert_int_equal(c->n_housekeeping, 2);
	assert_int_equal(c->housekeeping[0], 0);
	assert_int_equal(c->housekeeping[1], 16);
	assert_int_equal(c->iothreads, 2);

	h = &c->hyperv;
	assert_true(h->enabled);
	assert_false(h->passthrough);
	for (int f = 0; f < _HV_FLAG_MAX; f++) {
		bool off =
			f == HV_RESET || f == HV_REENLIGHTENMENT || f == HV_EVMCS || f == HV_AVIC;
		assert_int_equal(h->flags[f], off ? TRISTATE_OFF : TRISTATE_ON);
	}
	assert_int_equal(h->spinlocks, 8191);
	assert_string_equal(h->vendor_id, "AuthenticAMD");

	assert_int_equal(c->firmware, FIRMWARE_UEFI);
	assert_true(c->secure_boot);
	assert_int_equal(c->enrolled_keys, TRISTATE_ON);
	assert_int_equal(c->smm, TRISTATE_ON);
	assert_null(c->firmware_code);
	assert_int_equal(c->tpm, TPM_CRB);

	assert_int_equal(c->smbios.mode, SMBIOS_HOST);
	assert_string_equal(c->smbios.system_manufacturer, "ASRock");
	assert_string_equal(c->smbios.system_product, "X570 Taichi Razer Edition");
	assert_string_equal(c->smbios.baseboard_manufacturer, "ASRock");
	assert_string_equal(c->smbios.baseboard_product, "X570 Taichi Razer Edition");
	/* From the host: BIOS vendor and the real serials. */
	assert_null(c->smbios.bios_vendor);
	assert_null(c->smbios.baseboard_serial);
	assert_null(c->smbios.system_serial);

	assert_int_equal(c->clock_base, CLOCK_BASE_LOCALTIME);
	assert_true(c->rtc_catchup);
	assert_true(c->pit_delay);
	assert_false(c->hpet);
	assert_true(c->hypervclock);
	assert_false(c->s3);
	assert_false(c->s4);
	assert_int_equal(c->watchdog, WATCHDOG_ITCO);
	assert_int_equal(c->watchdog_action, WATCHDOG_ACTION_RESET);
	assert_string_equal(watchdog_action_to_string(c->watchdog_action), "reset");
	assert_false(c->balloon);
	assert_true(c->usb_controller);
	assert_int_equal(c->display, DISPLAY_NONE);
	assert_int_equal(c->serial, SERIAL_NONE);

	assert_int_equal(c->n_disks, 1);
	assert_string_equal(c->disks[0].name, "system");
	assert_int_equal(c->disks[0].line, line_in(text, "[disk system]"));
	assert_string_equal(c->disks[0].path, "/var/lib/libvirt/images/win11.raw");
	assert_int_equal(c->disks[0].media, DISK_MEDIA_DISK);
	assert_int_equal(c->disks[0].format, DISK_FORMAT_RAW);
	assert_int_equal(c->disks[0].bus, DISK_BUS_VIRTIO_BLK);
	assert_int_equal(c->disks[0].cache, DISK_CACHE_NONE);
	assert_int_equal(c->disks[0].aio, DISK_AIO_NATIVE);
	assert_int_equal(c->disks[0].discard, DISK_DISCARD_UNMAP);
	assert_string_equal(c->disks[0].serial, "WD-WXA1E61KL2V3");
	assert_int_equal(c->disks[0].iothread, 1);
	assert_false(c->disks[0].readonly);
	assert_int_equal(c->disks[0].boot_index, 1);

	assert_int_equal(c->n_pci, 2);
	assert_string_equal(c->pci[0].name, "gpu");
	assert_string_equal(format_pci_addr(&c->pci[0].addr, buf), "0000:0f:00.0");
	assert_true(c->pci[0].all_functions);
	assert_true(c->pci[0].rombar);
	assert_true(c->pci[0].managed);
	assert_false(c->pci[0].primary_display);
	assert_string_equal(c->pci[1].name, "usb");
	assert_string_equal(format_pci_addr(&c->pci[1].addr, buf), "0000:11:00.3");
	assert_false(c->pci[1].all_functions);
	assert_true(c->pci[1].rombar);
	assert_true(c->pci[1].managed);

	assert_int_equal(c->n_nets, 1);
	assert_int_equal(c->nets[0].mode, NET_USER);
	assert_int_equal(c->nets[0].model, NET_MODEL_VIRTIO);
	assert_null(c->nets[0].mac);
	assert_null(c->extra_args);

	/* Later stages point at the line of the key they complain about. */
	assert_int_equal(config_key_line(c, "cpu", "pin"), line_in(text, "pin = "));
	assert_int_equal(config_key_line(c, "cpu", "vcpus"), line_in(text, "vcpus = "));
	assert_int_equal(config_key_line(c, "pci usb", "address"),
			 line_in(text, "address = 0000:11:00.3"));
	assert_int_equal(config_key_line(c, "clock", "hypervclock"),
			 line_in(text, "hypervclock = "));
	assert_int_equal(config_key_line(c, "memory", "node"), 0);
	config_free(c);
}

static void test_demo_example(void **state)
{
	_cleanup_free_ char *path = srcdir_path("examples/demo.conf");
	_cleanup_(config_error_done) struct config_error e = { 0 };
	struct vm_config *c = NULL;

	(void)state;
	if (config_load(path, &c, &e) < 0)
		fail_msg("%s", e.msg);
	assert_string_equal(c->name, "demo");
	assert_int_equal(c->accel, ACCEL_AUTO);
	assert_true(c->memory_bytes <= 1ull << 30);
	assert_int_equal(c->hugepages, HUGEPAGES_NONE);
	assert_int_equal(c->vcpus, 2);
	assert_int_equal(c->topology.sockets * c->topology.dies * c->topology.cores *
				 c->topology.threads,
			 2);
	/* Nothing that needs KVM or particular host hardware. */
	assert_string_not_equal(c->cpu_model, "host");
	assert_false(c->cache_passthrough);
	/* The planner pins it: no CPU numbers that a small host may lack. */
	assert_null(c->pin);
	assert_true(c->pin_auto);
	assert_null(c->housekeeping);
	assert_true(c->housekeeping_auto);
	assert_false(c->hyperv.enabled);
	for (int f = 0; f < _HV_FLAG_MAX; f++)
		assert_int_equal(c->hyperv.flags[f], TRISTATE_OFF);
	assert_int_equal(c->n_pci, 0);
	assert_int_equal(c->n_disks, 0);
	assert_int_equal(c->firmware, FIRMWARE_UEFI);
	assert_true(c->secure_boot);
	assert_int_equal(c->tpm, TPM_CRB);
	assert_true(c->serial == SERIAL_NONE || c->serial == SERIAL_FILE);
	assert_int_equal(c->n_nets, 1);
	assert_int_equal(c->nets[0].mode, NET_USER);
	config_free(c);
}

/* [tuning]: every action on by default except the two memory knobs. */
static void test_tuning(void **state)
{
	struct vm_config *c = load_ok(BASE);

	(void)state;
	assert_true(c->tune_governor && c->tune_cstates && c->tune_irq_affinity &&
		    c->tune_workqueues && c->tune_cpusets);
	assert_int_equal(c->thp_defrag, THP_DEFRAG_KEEP);
	assert_null(thp_defrag_to_string(c->thp_defrag));
	assert_int_equal(c->stat_interval, 0);
	config_free(c);

	c = load_ok(BASE "[tuning]\ngovernor = no\ncstates = no\nirq-affinity = no\n"
			 "workqueues = no\ncpusets = no\nthp-defrag = defer+madvise\n"
			 "stat-interval = 120\n");
	assert_false(c->tune_governor || c->tune_cstates || c->tune_irq_affinity ||
		     c->tune_workqueues || c->tune_cpusets);
	assert_string_equal(thp_defrag_to_string(c->thp_defrag), "defer+madvise");
	assert_int_equal(c->stat_interval, 120);
	config_free(c);

	expect_error(
		BASE "[tuning]\nstat-interval = 0\n",
		"t.conf:8: [tuning] stat-interval: '0' is not valid; expected seconds from 1 to 3600, or keep");
}

static void test_defaults(void **state)
{
	struct vm_config *c = load_ok(BASE "[disk d]\npath = /d.raw\n[pci p]\naddress = 01:00.0\n");

	(void)state;
	assert_int_equal(c->accel, ACCEL_KVM);
	assert_string_equal(c->machine, "q35");
	assert_string_equal(c->qemu_binary, "qemu-system-x86_64");
	assert_null(c->user);
	assert_null(c->uuid);
	assert_false(c->single_gpu);
	assert_int_equal(c->hugepages, HUGEPAGES_NONE);
	assert_int_equal(c->memory_node, -1);
	assert_int_equal(c->prealloc_threads, 0);
	assert_false(c->memory_lock);
	assert_int_equal(c->topology.sockets + c->topology.dies + c->topology.cores +
				 c->topology.threads,
			 0);
	assert_string_equal(c->cpu_model, "host");
	assert_int_equal(c->n_features, 0);
	assert_true(c->cache_passthrough);
	assert_false(c->hide_hypervisor);
	assert_null(c->pin);
	assert_null(c->housekeeping);
	assert_int_equal(c->iothreads, 0);
	assert_true(c->hyperv.enabled);
	assert_false(c->hyperv.passthrough);
	for (int f = 0; f < _HV_FLAG_MAX; f++)
		assert_int_equal(c->hyperv.flags[f], TRISTATE_AUTO);
	assert_int_equal(c->hyperv.spinlocks, 8191);
	assert_null(c->hyperv.vendor_id);
	assert_int_equal(c->firmware, FIRMWARE_UEFI);
	assert_true(c->secure_boot);
	assert_int_equal(c->enrolled_keys, TRISTATE_AUTO);
	assert_int_equal(c->smm, TRISTATE_AUTO);
	assert_int_equal(c->tpm, TPM_CRB);
	assert_int_equal(c->smbios.mode, SMBIOS_NONE);
	assert_int_equal(c->clock_base, CLOCK_BASE_LOCALTIME);
	assert_true(c->rtc_catchup);
	assert_true(c->pit_delay);
	assert_false(c->hpet);
	assert_true(c->hypervclock);
	assert_false(c->s3);
	assert_false(c->s4);
	assert_int_equal(c->watchdog, WATCHDOG_ITCO);
	assert_int_equal(c->watchdog_action, WATCHDOG_ACTION_RESET);
	assert_false(c->balloon);
	assert_true(c->usb_controller);
	assert_int_equal(c->serial, SERIAL_NONE);
	assert_int_equal(c->display, DISPLAY_NONE);
	assert_null(c->vnc);

	assert_int_equal(c->disks[0].media, DISK_MEDIA_DISK);
	assert_int_equal(c->disks[0].format, DISK_FORMAT_RAW);
	assert_int_equal(c->disks[0].bus, DISK_BUS_VIRTIO_BLK);
	assert_int_equal(c->disks[0].cache, DISK_CACHE_NONE);
	assert_int_equal(c->disks[0].aio, DISK_AIO_NATIVE);
	assert_int_equal(c->disks[0].discard, DISK_DISCARD_UNMAP);
	assert_int_equal(c->disks[0].detect_zeroes, TRISTATE_AUTO);
	assert_int_equal(c->disks[0].iothread, 0);
	assert_false(c->disks[0].readonly);
	assert_int_equal(c->disks[0].boot_index, 0);
	assert_null(c->disks[0].serial);

	assert_int_equal(c->pci[0].addr.bus, 1);
	assert_false(c->pci[0].all_functions);
	assert_true(c->pci[0].rombar);
	assert_true(c->pci[0].managed);
	assert_null(c->pci[0].romfile);

	/* No [net NAME]: one NAT'd virtio NIC. */
	assert_int_equal(c->n_nets, 1);
	assert_string_equal(c->nets[0].name, "default");
	assert_int_equal(c->nets[0].line, 0);
	assert_int_equal(c->nets[0].mode, NET_USER);
	assert_int_equal(c->nets[0].model, NET_MODEL_VIRTIO);
	config_free(c);
}

static void test_conditional_defaults(void **state)
{
	struct vm_config *c;

	(void)state;
	/* cdrom: SATA, read-only; writeback cache: thread pool AIO (no O_DIRECT). */
	c = load_ok(BASE "iothreads = 2\n"
			 "[disk a]\npath = /a.raw\n"
			 "[disk iso]\npath = /win.iso\nmedia = cdrom\n"
			 "[disk b]\npath = /b.qcow2\nformat = qcow2\ncache = writeback\n"
			 "[disk c]\npath = /c.raw\n"
			 "[smbios]\nsystem-product = Box\n"
			 "[firmware]\ntype = bios\n");
	assert_int_equal(c->disks[1].bus, DISK_BUS_SATA);
	assert_true(c->disks[1].readonly);
	assert_int_equal(c->disks[2].aio, DISK_AIO_THREADS);
	assert_int_equal(c->disks[2].format, DISK_FORMAT_QCOW2);
	/* virtio disks spread over the iothreads, the SATA CD-ROM stays in the main loop. */
	assert_int_equal(c->disks[0].iothread, 1);
	assert_int_equal(c->disks[1].iothread, 0);
	assert_int_equal(c->disks[2].iothread, 2);
	assert_int_equal(c->disks[3].iothread, 1);
	/* SMBIOS fields without a mode: custom. BIOS firmware: no Secure Boot. */
	assert_int_equal(c->smbios.mode, SMBIOS_CUSTOM);
	assert_string_equal(c->smbios.system_product, "Box");
	assert_false(c->secure_boot);
	config_free(c);

	/* Named CPU model: no host cache info. Partial topology: cores takes the rest. */
	c = load_ok(
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 12\nmodel = EPYC-v4\nthreads = 2\n");
	assert_false(c->cache_passthrough);
	assert_int_equal(c->topology.sockets, 1);
	assert_int_equal(c->topology.dies, 1);
	assert_int_equal(c->topology.cores, 6);
	assert_int_equal(c->topology.threads, 2);
	config_free(c);
}

static void test_values(void **state)
{
	struct vm_config *c;

	(void)state;
	c = load_ok(
		"\xef\xbb\xbf; BOM, comments and indentation\n"
		"# hash comment\n"
		"[vm]\n"
		"  name = t   ; trailing comment\n"
		"\tuuid = 8C3D4D52-8D0B-4A5E-9C1F-6A2B3C4D5E6F\n"
		"user = qemu\n"
		"machine = pc-q35-9.2\n"
		"qemu-binary = /opt/qemu/bin/qemu-system-x86_64\n"
		"[memory]\nsize = 1025M\nnode = 1\nprealloc-threads = 4\nlock = yes\n"
		"[cpu]\nvcpus = 4\nfeatures = topoext -svm invtsc\npin = auto\n"
		"housekeeping = 0-1\n"
		"[hyperv]\nspinlocks = off\nsynic = no\nstimer-direct = auto\n"
		"[clock]\nhypervclock = no\n"
		"[devices]\nserial = file\nserial-path = /var/log/t.log\ndisplay = std\n"
		"vnc = 127.0.0.1:5\n"
		"[net a]\nmode = bridge\nbridge = br0\nmac = 52:54:00:AB:CD:EF\n"
		"[net b]\nmode = tap\ntap = tap-vm0\nmodel = e1000e\n"
		"[qemu]\nextra = -device  virtio-rng-pci\nextra = -global kvm-pit.lost_tick_policy=delay\n");
	assert_string_equal(c->name, "t");
	assert_string_equal(c->uuid, "8c3d4d52-8d0b-4a5e-9c1f-6a2b3c4d5e6f");
	assert_string_equal(c->user, "qemu");
	assert_string_equal(c->machine, "pc-q35-9.2");
	assert_string_equal(c->qemu_binary, "/opt/qemu/bin/qemu-system-x86_64");
	assert_true(c->memory_bytes == 1025ull << 20);
	assert_int_equal(c->memory_node, 1);
	assert_int_equal(c->prealloc_threads, 4);
	assert_true(c->memory_lock);
	assert_int_equal(c->n_features, 3);
	assert_string_equal(c->features[1].name, "svm");
	assert_false(c->features[1].enabled);
	assert_true(c->pin_auto);
	assert_null(c->pin);
	assert_int_equal(c->n_housekeeping, 2);
	assert_int_equal(c->hyperv.spinlocks, 0);
	/* synic off takes stimer and stimer-direct with it; hypervclock = no is hv-time off. */
	assert_int_equal(c->hyperv.flags[HV_SYNIC], TRISTATE_OFF);
	assert_int_equal(c->hyperv.flags[HV_STIMER], TRISTATE_OFF);
	assert_int_equal(c->hyperv.flags[HV_STIMER_DIRECT], TRISTATE_OFF);
	assert_int_equal(c->hyperv.flags[HV_VPINDEX], TRISTATE_AUTO);
	assert_int_equal(c->hyperv.flags[HV_TIME], TRISTATE_OFF);
	assert_false(c->hypervclock);
	assert_int_equal(c->serial, SERIAL_FILE);
	assert_string_equal(c->serial_path, "/var/log/t.log");
	assert_string_equal(c->vnc, "127.0.0.1:5");
	assert_int_equal(c->n_nets, 2);
	assert_int_equal(c->nets[0].mode, NET_BRIDGE);
	assert_string_equal(c->nets[0].bridge, "br0");
	assert_string_equal(c->nets[0].mac, "52:54:00:ab:cd:ef");
	assert_int_equal(c->nets[1].mode, NET_TAP);
	assert_string_equal(c->nets[1].tap, "tap-vm0");
	assert_int_equal(c->nets[1].model, NET_MODEL_E1000E);
	/* [qemu] extra may repeat; each appends, split on whitespace. */
	assert_non_null(c->extra_args);
	assert_string_equal(c->extra_args[0], "-device");
	assert_string_equal(c->extra_args[1], "virtio-rng-pci");
	assert_string_equal(c->extra_args[2], "-global");
	assert_string_equal(c->extra_args[3], "kvm-pit.lost_tick_policy=delay");
	assert_null(c->extra_args[4]);
	assert_int_equal(config_key_line(c, "vm", "name"), 4);
	assert_int_equal(config_key_line(c, "qemu", "extra"), 39);
	config_free(c);

	assert_string_equal(hv_flag_to_qemu(HV_STIMER_DIRECT), "hv-stimer-direct");
	assert_string_equal(hv_flag_to_qemu(HV_TIME), "hv-time");
	assert_string_equal(hv_flag_to_string(HV_TIME), "hypervclock");
	assert_string_equal(accel_mode_to_string(ACCEL_TCG), "tcg");
	assert_string_equal(hugepages_mode_to_string(HUGEPAGES_1G), "1G");
	assert_string_equal(tpm_model_to_string(TPM_TIS), "tis");
	assert_string_equal(watchdog_action_to_string(WATCHDOG_ACTION_INJECT_NMI), "inject-nmi");
}

static void test_error_unknown_key(void **state)
{
	(void)state;
	expect_error(BASE "pinn = 0-3\n", "t.conf:7: [cpu] pinn: unknown key; did you mean 'pin'?");
	expect_error(
		BASE "[hyperv]\nhv-stimer_direct = yes\n",
		"t.conf:8: [hyperv] hv-stimer_direct: unknown key; did you mean 'stimer-direct'?");
	expect_error(
		BASE "hugepages = 2M\n",
		"t.conf:7: [cpu] hugepages: unknown key in this section; expected it in [memory]");
	expect_error(BASE "[power]\nhibernate = no\n",
		     "t.conf:8: [power] hibernate: unknown key; expected s3 or s4");
	expect_error(
		BASE "[pci gpu]\naddress 0000:0f:00.0\n",
		"t.conf:8: [pci gpu] address 0000: key names have no spaces; expected 'key = value' (is the '=' missing?)");
}

static void test_error_unknown_section(void **state)
{
	(void)state;
	expect_error(
		BASE "[cpus]\n",
		"t.conf:7: [cpus]: unknown section; expected [vm], [memory], [cpu], [hyperv], [firmware], [tpm], [smbios], [clock], [power], [watchdog], [devices], [qemu], [tuning], [input], [looking-glass], [audio], [disk NAME], [pci NAME], [net NAME] or [hook NAME]; did you mean '[cpu]'?");
	expect_error(
		BASE "[disks system]\npath = /a.raw\n",
		"t.conf:7: [disks system]: unknown section; expected [vm], [memory], [cpu], [hyperv], [firmware], [tpm], [smbios], [clock], [power], [watchdog], [devices], [qemu], [tuning], [input], [looking-glass], [audio], [disk NAME], [pci NAME], [net NAME] or [hook NAME]; did you mean '[disk system]'?");
	expect_error(
		BASE "[storage]\n",
		"t.conf:7: [storage]: unknown section; expected [vm], [memory], [cpu], [hyperv], [firmware], [tpm], [smbios], [clock], [power], [watchdog], [devices], [qemu], [tuning], [input], [looking-glass], [audio], [disk NAME], [pci NAME], [net NAME] or [hook NAME]");
	expect_error(
		BASE "[disk]\n",
		"t.conf:7: [disk]: section needs a name; expected [disk NAME], e.g. [disk system]");
	expect_error(BASE "[clock utc]\n",
		     "t.conf:7: '[clock utc]': [clock] takes no name; expected [clock]");
	expect_error(
		BASE "[cpu]\n",
		"t.conf:7: [cpu]: section appears twice (first on line 5); expected all its keys in one [cpu] section");
	expect_error(
		BASE "[qemu\n",
		"t.conf:7: '[qemu': missing ']'; expected a section header like [cpu] or [disk system]");
	expect_error(
		"name = t\n[vm]\n",
		"t.conf:1: 'name' is outside any section; expected it below a [section] header such as [vm]");
}

static void test_error_names(void **state)
{
	(void)state;
	expect_error(
		"[vm]\nname = my vm\n",
		"t.conf:2: [vm] name: 'my vm' is not valid; expected 1 to 32 characters from A-Z a-z 0-9 _ -, e.g. win11");
	expect_error(
		"[vm]\nname = \"win11\"\n",
		"t.conf:2: [vm] name: '\"win11\"' is not valid; expected 1 to 32 characters from A-Z a-z 0-9 _ -, e.g. win11; write values without quotes");
	expect_error(
		BASE "[disk my.disk]\n",
		"t.conf:7: [disk my.disk]: 'my.disk' is not a valid name; expected 1 to 32 characters from A-Z a-z 0-9 _ -");
	expect_error(
		BASE "[disk a]\npath = /a.raw\n[net a]\n[disk a]\npath = /b.raw\n",
		"t.conf:10: [disk a]: name used twice (first on line 7); expected a different name for each [disk NAME]");
	expect_error(
		BASE "vcpus = 8\n",
		"t.conf:7: [cpu] vcpus: set twice (first on line 6); expected each key once per section");
}

static void test_error_sizes(void **state)
{
	(void)state;
	expect_error(
		"[vm]\nname = t\n[memory]\nsize = 64X\n",
		"t.conf:4: [memory] size: '64X' is not valid; expected a size with a K, M, G or T suffix, e.g. 16G");
	expect_error(
		"[vm]\nname = t\n[memory]\nsize = 1.5G\n",
		"t.conf:4: [memory] size: '1.5G' is not valid; expected a size with a K, M, G or T suffix, e.g. 16G");
	expect_error("[vm]\nname = t\n[memory]\nsize = 64M\n[cpu]\nvcpus = 1\n",
		     "t.conf:4: [memory] size: 64M is too small; expected at least 128M");
	expect_error(
		"[vm]\nname = t\n[memory]\nsize = 1000M\nhugepages = 1G\n[cpu]\nvcpus = 1\n",
		"t.conf:4: [memory] size: 1000M is not a multiple of the 1G hugepage size (hugepages, line 5); expected e.g. 1G");
	expect_error(
		"[vm]\nname = t\n[memory]\nsize = 1048577K\n[cpu]\nvcpus = 1\n",
		"t.conf:4: [memory] size: 1048577K is not a whole number of MiB; expected e.g. 16G or 8192M");
	expect_error(
		"[vm]\nname = t\n[cpu]\nvcpus = 1\n",
		"t.conf: [memory] size: missing; expected a size with a K, M, G or T suffix, e.g. 16G");
}

static void test_error_cpu_lists(void **state)
{
	(void)state;
	expect_error(
		BASE "pin = 0-\n",
		"t.conf:7: [cpu] pin: '0-' is not a CPU list; expected one host CPU per vCPU in vCPU order, like 0,16,1,17 or 0-7, or auto");
	expect_error(
		BASE "pin = 0,1,2,5000\n",
		"t.conf:7: [cpu] pin: '0,1,2,5000' names a CPU above 4095; expected one host CPU per vCPU in vCPU order, like 0,16,1,17 or 0-7, or auto");
	expect_error(
		BASE "housekeeping = 0,16,0\n",
		"t.conf:7: [cpu] housekeeping: '0,16,0' lists a CPU twice; expected each host CPU once");
	expect_error(
		BASE "pin = 0-2\n",
		"t.conf:7: [cpu] pin: 3 CPUs listed but vcpus = 4 (line 6); list one host CPU per vCPU");
	expect_error(
		BASE "vcpus = 0\n",
		"t.conf:7: [cpu] vcpus: set twice (first on line 6); expected each key once per section");
	expect_error(
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 1025\n",
		"t.conf:6: [cpu] vcpus: '1025' is not valid; expected a whole number from 1 to 1024");
}

static void test_error_topology(void **state)
{
	(void)state;
	expect_error(
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 32\nsockets = 1\ncores = 8\nthreads = 2\n",
		"t.conf:8: [cpu] cores: sockets 1 x dies 1 x cores 8 x threads 2 = 16 but vcpus = 32 (line 6); expected a product equal to vcpus");
	expect_error(
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\nthreads = 3\n",
		"t.conf:7: [cpu] threads: sockets 1 x dies 1 x threads 3 = 3 does not divide vcpus = 4 (line 6); expected values whose product divides vcpus, or cores too");
}

static void test_error_pci(void **state)
{
	(void)state;
	expect_error(
		BASE "[pci gpu]\naddress = 0f:00\n",
		"t.conf:8: [pci gpu] address: '0f:00' is not valid; expected a PCI address like 0000:0f:00.0 (see 'gamevm iommu')");
	expect_error(
		BASE "[pci gpu]\naddress = 0000:0f:20.0\n",
		"t.conf:8: [pci gpu] address: '0000:0f:20.0' is not valid; expected a PCI address like 0000:0f:00.0 (see 'gamevm iommu')");
	expect_error(
		BASE
		"[pci gpu]\naddress = 0000:0f:00.0\nall-functions = yes\n[pci audio]\naddress = 0f:00.1\n",
		"t.conf:11: [pci audio] address: 0000:0f:00.1 is already passed through by [pci gpu] (line 7, all functions of the slot); expected each device once");
	expect_error(
		BASE "[pci gpu]\naddress = 0000:0f:00.1\nall-functions = yes\n",
		"t.conf:9: [pci gpu] all-functions: yes, but address 0000:0f:00.1 is not function 0 of its slot; expected address = 0000:0f:00.0");
	expect_error(
		BASE "[pci gpu]\nrombar = yes\n",
		"t.conf:7: [pci gpu] address: missing; expected a PCI address like 0000:0f:00.0 (see 'gamevm iommu')");
	expect_error(
		BASE "[pci gpu]\naddress = 03:00.0\nprimary-display = yes\n",
		"t.conf:9: [pci gpu] primary-display: yes, but [vm] single-gpu = no; expected single-gpu = yes in [vm] when the host's own display GPU is passed");
}

/* [hook NAME]: the command split into words without a shell; quotes keep blanks. */
static void test_hooks(void **state)
{
	struct vm_config *c;

	(void)state;
	c = load_ok(
		BASE
		"[hook monitor]\nwhen = start\n"
		"command = /usr/bin/ddcutil --display 2 setvcp 60 0x0f\n"
		"[hook back]\nwhen = stop\ncommand = /usr/bin/echo 'a  b' \"c;d\" $HOME e'f g'h\n"
		"timeout = 3\nrequired = yes\n");
	assert_int_equal(c->n_hooks, 2);
	assert_string_equal(c->hooks[0].name, "monitor");
	assert_int_equal(c->hooks[0].when, HOOK_START);
	assert_int_equal(c->hooks[0].timeout_s, 10);
	assert_false(c->hooks[0].required);
	assert_string_equal(c->hooks[0].argv[0], "/usr/bin/ddcutil");
	assert_string_equal(c->hooks[0].argv[5], "0x0f");
	assert_null(c->hooks[0].argv[6]);
	assert_int_equal(c->hooks[1].when, HOOK_STOP);
	assert_int_equal(c->hooks[1].timeout_s, 3);
	assert_true(c->hooks[1].required);
	/* Words as written: a ';' and a '$' are plain characters, quotes join. */
	assert_string_equal(c->hooks[1].argv[1], "a  b");
	assert_string_equal(c->hooks[1].argv[2], "c;d");
	assert_string_equal(c->hooks[1].argv[3], "$HOME");
	assert_string_equal(c->hooks[1].argv[4], "ef gh");
	assert_null(c->hooks[1].argv[5]);
	config_free(c);

	expect_error(
		BASE "[hook m]\nwhen = start\ncommand = ddcutil setvcp 60 1\n",
		"t.conf:9: [hook m] command: 'ddcutil' is not an absolute path; expected the program's full path (gamevm runs no shell and searches no PATH), e.g. /usr/bin/ddcutil");
	expect_error(BASE "[hook m]\nwhen = start\ncommand = /usr/bin/echo 'open\n",
		     "t.conf:9: [hook m] command: a ' quote is not closed; expected a closing '");
	expect_error(
		BASE "[hook m]\nwhen = start\n",
		"t.conf:7: [hook m] command: missing; expected a program's absolute path and its arguments, e.g. /usr/bin/ddcutil setvcp 60 0x0f");
	expect_error(BASE "[hook m]\ncommand = /bin/true\n",
		     "t.conf:7: [hook m] when: missing; expected start or stop");
	expect_error(BASE "[hook m]\nwhen = later\ncommand = /bin/true\n",
		     "t.conf:8: [hook m] when: 'later' is not valid; expected start or stop");
}

static void test_single_gpu(void **state)
{
	struct vm_config *c;

	(void)state;
	c = load_ok(BASE);
	assert_null(c->single_gpu_stop);
	assert_int_equal(c->single_gpu_timeout, 10);
	assert_true(c->single_gpu_end_sessions);
	config_free(c);
	c = load_ok("[vm]\nname = t\nsingle-gpu = yes\n"
		    "single-gpu-stop = gdm.service  user@1000.service\tsteam.scope\n"
		    "single-gpu-timeout = 30\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\n");
	assert_true(c->single_gpu);
	assert_string_equal(c->single_gpu_stop[0], "gdm.service");
	assert_string_equal(c->single_gpu_stop[1], "user@1000.service");
	assert_string_equal(c->single_gpu_stop[2], "steam.scope");
	assert_null(c->single_gpu_stop[3]);
	assert_int_equal(c->single_gpu_timeout, 30);
	config_free(c);
	/* none: stop nothing (the user handles the desktop). */
	c = load_ok(
		"[vm]\nname = t\nsingle-gpu-stop = none\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\n");
	assert_non_null(c->single_gpu_stop);
	assert_null(c->single_gpu_stop[0]);
	config_free(c);

	expect_error(
		"[vm]\nname = t\nsingle-gpu-stop = gdm\n",
		"t.conf:3: [vm] single-gpu-stop: 'gdm' is not a unit name; expected names like display-manager.service, gdm.service or graphical-session.target");
	expect_error(
		"[vm]\nname = t\nsingle-gpu-stop = --root=/tmp.service\n",
		"t.conf:3: [vm] single-gpu-stop: '--root=/tmp.service' is not a unit name; expected names like display-manager.service, gdm.service or graphical-session.target");
}

static void test_error_oem_activation(void **state)
{
	(void)state;
	expect_error(
		BASE "[smbios]\nmode = custom\noem-activation = yes\n",
		"t.conf:9: [smbios] oem-activation: yes, but the tables are the host's: expected mode = host in [smbios] (line 8)");
	expect_error(
		"[vm]\nname = t\nuuid = 3f2504e0-4f89-11d3-9a0c-0305e82c3301\n[memory]\nsize = 1G\n"
		"[cpu]\nvcpus = 4\n[smbios]\nmode = host\noem-activation = yes\n",
		"t.conf:10: [smbios] oem-activation: yes takes the host's system UUID, but [vm] uuid is set (line 3); expected one of them");
}

static void test_error_line_syntax(void **state)
{
	char text[400];

	(void)state;
	/* 199 bytes fit inih's 200-byte buffer; 200 do not. */
	snprintf(text, sizeof(text), BASE "[qemu]\nextra = %0*d\n", 199 - 8, 0);
	config_free(load_ok(text));
	snprintf(text, sizeof(text), BASE "[qemu]\nextra = %0*d\n", 200 - 8, 0);
	expect_error(
		text,
		"t.conf:8: line longer than 199 bytes (200 bytes); expected shorter lines (libinih's limit): split long [qemu] extra values over several 'extra =' lines");
	expect_error(
		BASE "just some words\n",
		"t.conf:7: 'just some words': expected 'key = value', a [section] header or a comment");
	expect_error(BASE "threads = 2\x01\n",
		     "t.conf:7: control character 0x01 at column 12; expected plain text");
	expect_error(BASE "threads =\n",
		     "t.conf:7: [cpu] threads: no value; expected a whole number from 1 to 1024");
}

static void test_error_hash_comment(void **state)
{
	(void)state;
	expect_error(
		BASE "hide-hypervisor = yes  # AMD vDisplay\n",
		"t.conf:7: [cpu] hide-hypervisor: 'yes  # AMD vDisplay' is not valid; expected yes or no; note that inline comments start with ';', not '#'");
	/* Values that would be valid with the '# ...' kept are refused too. */
	expect_error(
		BASE "[disk system]\npath = /var/lib/gamevm/win11.raw  # NVMe\n",
		"t.conf:8: [disk system] path: '/var/lib/gamevm/win11.raw  # NVMe' contains ' #', which is not a comment after a value; expected the value alone (inline comments start with ';': 'key = value ; note')");
	/* ';' does start a comment; '#' inside a value is fine. */
	config_free(load_ok(BASE "[smbios]\nsystem-version = Rev#2\n"));
	config_free(load_ok(BASE "hide-hypervisor = yes  ; AMD vDisplay\n"));
}

static void test_error_paths(void **state)
{
	(void)state;
	expect_error(
		BASE "[disk system]\npath = images/win11.raw\n",
		"t.conf:8: [disk system] path: 'images/win11.raw' is a relative path; expected an absolute path (starting with '/')");
	expect_error(
		BASE "[disk system]\npath = /var/lib/../../etc/shadow\n",
		"t.conf:8: [disk system] path: '/var/lib/../../etc/shadow' is not a usable path; expected an absolute path without '..' components");
	expect_error(
		BASE "[disk system]\nformat = raw\n",
		"t.conf:7: [disk system] path: missing; expected a file path without '..' components, absolute or relative to the config file's directory");
	expect_error(
		BASE "[disk a]\npath = /a.raw\n[disk b]\npath = /a.raw\n",
		"t.conf:10: [disk b] path: '/a.raw' is already used by [disk a] (line 7); expected each image once");
	expect_error(
		BASE "[firmware]\ncode = /usr/share/OVMF/OVMF_CODE_4M.secboot.fd\n",
		"t.conf:8: [firmware] code: set without vars; expected both code and vars (the NVRAM template), or neither to pick them from the QEMU firmware descriptors");
	expect_error(
		BASE "[devices]\nserial = file\n",
		"t.conf:8: [devices] serial: file, but serial-path is missing; expected serial-path = /absolute/path in [devices]");
}

static void test_error_missing_file(void **state)
{
	_cleanup_(config_error_done) struct config_error e = { 0 };
	struct vm_config *c = NULL;
	char path[] = "/tmp/gamevm-test-config-XXXXXX";
	int fd;

	(void)state;
	assert_int_equal(config_load("/nonexistent/win11.conf", &c, &e), -ENOENT);
	assert_null(c);
	assert_string_equal(e.msg,
			    "cannot open '/nonexistent/win11.conf': No such file or directory");
	config_error_done(&e);

	/* A NUL byte in the file. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[vm]\nname = t\0x\n", 16), 16);
	close(fd);
	assert_int_equal(config_load(path, &c, &e), -EINVAL);
	unlink(path);
	assert_non_null(strstr(e.msg, ":2: NUL byte; expected a text file"));
}

static void test_error_hyperv(void **state)
{
	(void)state;
	expect_error(
		BASE "[hyperv]\nvendor-id = AuthenticAMD1\n",
		"t.conf:8: [hyperv] vendor-id: 'AuthenticAMD1' is 13 characters; expected at most 12 (it fills three CPUID registers), e.g. AuthenticAMD");
	expect_error(
		BASE "[hyperv]\nspinlocks = 100\n",
		"t.conf:8: [hyperv] spinlocks: 100 retries is below Hyper-V's minimum; expected at least 4095 (e.g. 8191), or off");
	expect_error(
		BASE "[hyperv]\nstimer-direct = yes\nsynic = no\n",
		"t.conf:8: [hyperv] stimer-direct: needs synic, which is off ([hyperv] synic, line 9); expected synic on, or stimer-direct = no");
	expect_error(
		BASE "[hyperv]\nstimer = yes\n[clock]\nhypervclock = no\n",
		"t.conf:8: [hyperv] stimer: needs hypervclock, which is off ([clock] hypervclock, line 10); expected hypervclock on, or stimer = no");
	expect_error(
		BASE "[hyperv]\nenabled = no\nrelaxed = yes\n",
		"t.conf:9: [hyperv] relaxed: yes, but [hyperv] enabled = no (line 8); expected no or auto, or enabled = yes");
	expect_error(BASE "[hyperv]\nrelaxed = maybe\n",
		     "t.conf:8: [hyperv] relaxed: 'maybe' is not valid; expected yes, no or auto");
}

static void test_error_iothread(void **state)
{
	(void)state;
	expect_error(
		BASE "iothreads = 2\n[disk system]\npath = /a.raw\niothread = 3\n",
		"t.conf:10: [disk system] iothread: 3, but [cpu] iothreads = 2 (line 7); expected 1 to 2, or 0 for QEMU's main loop");
	expect_error(
		BASE "[disk system]\npath = /a.raw\niothread = 1\n",
		"t.conf:9: [disk system] iothread: 1, but there are no iothreads ([cpu] iothreads = 0); expected iothread = 0 (QEMU's main loop), or iothreads = 1 in [cpu]");
}

static void test_error_enums(void **state)
{
	(void)state;
	expect_error(
		BASE "[disk system]\npath = /a.raw\ncache = writebak\n",
		"t.conf:9: [disk system] cache: 'writebak' is not valid; expected none, writeback, writethrough, directsync or unsafe; did you mean 'writeback'?");
	expect_error(
		BASE "[memory]\n",
		"t.conf:7: [memory]: section appears twice (first on line 3); expected all its keys in one [memory] section");
	expect_error("[vm]\nname = t\naccel = hvf\n",
		     "t.conf:3: [vm] accel: 'hvf' is not valid; expected auto, kvm or tcg");
	expect_error(
		"[vm]\nname = t\nmachine = pc-i440fx-9.2\n",
		"t.conf:3: [vm] machine: 'pc-i440fx-9.2' is not valid; expected q35 or a versioned Q35 machine like pc-q35-9.2");
	expect_error(
		BASE "[watchdog]\naction = reboot\n",
		"t.conf:8: [watchdog] action: 'reboot' is not valid; expected reset, shutdown, poweroff, pause, none or inject-nmi");
	expect_error(
		BASE "[tpm]\nversion = 1.2\n",
		"t.conf:8: [tpm] version: TPM 1.2 is not supported (Windows 11 needs TPM 2.0); expected 2.0");
	expect_error(
		BASE "[net lan]\nmode = bridge\n",
		"t.conf:8: [net lan] mode: bridge, but no bridge is named; expected bridge = br0 (your host bridge) in [net lan]");
	expect_error(
		BASE "[net lan]\nmac = 01:54:00:12:34:56\n",
		"t.conf:8: [net lan] mac: '01:54:00:12:34:56' is a multicast address (first byte is odd); expected a unicast MAC like 52:54:00:12:34:56");
	expect_error(
		BASE "[net lan]\nmode = bridge\nbridge = a-very-long-bridge0\n",
		"t.conf:9: [net lan] bridge: 'a-very-long-bridge0' is 19 characters; expected a Linux interface name of at most 15");
	expect_error(
		BASE "features = +topoext,+invtsc\n",
		"t.conf:7: [cpu] features: '+topoext,+invtsc' has commas; expected feature names separated by spaces, e.g. 'topoext invtsc'");
	expect_error(
		BASE "features = +topoext\n",
		"t.conf:7: [cpu] features: '+topoext' uses '+'; expected 'topoext' to enable a feature and '-topoext' to disable it");
}

static void test_error_cross_keys(void **state)
{
	(void)state;
	expect_error(
		BASE "[firmware]\nsmm = off\n",
		"t.conf:8: [firmware] smm: off, but Secure Boot needs SMM to protect its variable store; expected smm = auto or on, or secure-boot = no");
	expect_error(
		BASE "[firmware]\ntype = bios\nsecure-boot = yes\n",
		"t.conf:9: [firmware] secure-boot: yes, but type = bios (line 8); expected type = uefi, or secure-boot = no");
	expect_error(
		BASE "model = EPYC-v4\ncache-passthrough = yes\n",
		"t.conf:8: [cpu] cache-passthrough: needs model = host, but model = EPYC-v4 (line 7); expected cache-passthrough = no or model = host");
	expect_error(
		BASE "[disk iso]\npath = /win.iso\nmedia = cdrom\nbus = virtio-blk\n",
		"t.conf:10: [disk iso] bus: virtio-blk cannot be a CD-ROM (media = cdrom); expected bus = sata or virtio-scsi");
	expect_error(
		BASE "[disk a]\npath = /a.raw\ncache = writeback\naio = native\n",
		"t.conf:10: [disk a] aio: native needs O_DIRECT, but cache = writeback (line 9); expected aio = io_uring or threads, or cache = none or directsync");
	expect_error(
		BASE "[smbios]\nmode = none\nsystem-product = Box\n",
		"t.conf:9: [smbios] system-product: set, but mode = none (line 8) ignores it; expected mode = custom or host");
	expect_error(
		BASE "[devices]\nvnc = 127.0.0.1:0\n",
		"t.conf:8: [devices] vnc: set, but display = none gives VNC nothing to show; expected display = std, qxl or virtio");
	expect_error(
		"[memory]\nsize = 1G\n[cpu]\nvcpus = 1\n",
		"t.conf: [vm] name: missing; expected 1 to 32 characters from A-Z a-z 0-9 _ -, e.g. win11");
}

/* docs/config.md documents every key, under its section's heading. */
static void test_docs_cover_every_key(void **state)
{
	_cleanup_free_ char *path = srcdir_path("docs/config.md");
	_cleanup_free_ char *doc = read_text(path);
	const struct config_key *k;

	(void)state;
	for (size_t i = 0; (k = config_key_at(i)); i++) {
		const char *sec = section_kind_to_string(k->section);
		_cleanup_free_ char *heading = NULL, *cell = NULL;
		const char *start, *end;
		char *chunk;

		assert_true(asprintf(&heading, "\n## [%s", sec) > 0);
		assert_true(asprintf(&cell, "\n| `%s` |", k->name) > 0);
		start = strstr(doc, heading);
		if (!start) {
			fail_msg("docs/config.md has no '## [%s' heading", sec);
			return;
		}
		end = strstr(start + 1, "\n## ");
		chunk = strndup(start, end ? (size_t)(end - start) : strlen(start));
		if (!strstr(chunk, cell))
			fail_msg("docs/config.md: no row '| `%s` |' under [%s]", k->name, sec);
		free(chunk);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_win11_example),
		cmocka_unit_test(test_demo_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_tuning),
		cmocka_unit_test(test_conditional_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_error_unknown_key),
		cmocka_unit_test(test_error_unknown_section),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_error_sizes),
		cmocka_unit_test(test_error_cpu_lists),
		cmocka_unit_test(test_error_topology),
		cmocka_unit_test(test_error_pci),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_single_gpu),
		cmocka_unit_test(test_error_oem_activation),
		cmocka_unit_test(test_error_line_syntax),
		cmocka_unit_test(test_error_hash_comment),
		cmocka_unit_test(test_error_paths),
		cmocka_unit_test(test_error_missing_file),
		cmocka_unit_test(test_error_hyperv),
		cmocka_unit_test(test_error_iothread),
		cmocka_unit_test(test_error_enums),
		cmocka_unit_test(test_error_cross_keys),
		cmocka_unit_test(test_docs_cover_every_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
