/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by test-plan.c and test-plan-devices.c: host facts constructed in
 * C (a 5950X like the seed's), a config runner and argv/diagnostic
 * assertions. Header-only: each test binary includes it once.
 */
#pragma once

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "config.h"
#include "firmware.h"
#include "host.h"
#include "macro.h"
#include "plan.h"
#include "strv.h"

/* ---- the host: Ryzen 9 5950X as in the seed --------------------------------- */

struct fixture {
	struct host_facts f;
	struct host_qemu q;
	struct firmware_list fw;
	struct host_cpu cpus[32];
	struct host_node node;
	unsigned node_cpus[32];
	struct host_hugepool pools[2];
	struct host_pci_dev devs[10];
	struct host_iommu_group groups[6];
	size_t gdevs[6][4];
	struct firmware_desc descs[2];
	struct host_qemu_alias alias;
	char *machines[4];
};

static struct fixture fx;

static const char fw_secboot_json[] =
	"{ \"description\": \"OVMF with SB+SMM, MS keys\", \"interface-types\": [\"uefi\"],"
	"  \"mapping\": { \"device\": \"flash\", \"mode\": \"split\","
	"    \"executable\": { \"filename\": \"/usr/share/edk2/ovmf/OVMF_CODE_4M.secboot.qcow2\", \"format\": \"qcow2\" },"
	"    \"nvram-template\": { \"filename\": \"/usr/share/edk2/ovmf/OVMF_VARS_4M.secboot.qcow2\", \"format\": \"qcow2\" } },"
	"  \"targets\": [ { \"architecture\": \"x86_64\", \"machines\": [\"pc-q35-*\"] } ],"
	"  \"features\": [\"acpi-s3\", \"enrolled-keys\", \"requires-smm\", \"secure-boot\", \"verbose-dynamic\"],"
	"  \"tags\": [] }";

static const char fw_plain_json[] =
	"{ \"description\": \"OVMF without SB\", \"interface-types\": [\"uefi\"],"
	"  \"mapping\": { \"device\": \"flash\","
	"    \"executable\": { \"filename\": \"/usr/share/OVMF/OVMF_CODE_4M.fd\", \"format\": \"raw\" },"
	"    \"nvram-template\": { \"filename\": \"/usr/share/OVMF/OVMF_VARS_4M.fd\", \"format\": \"raw\" } },"
	"  \"targets\": [ { \"architecture\": \"x86_64\", \"machines\": [\"pc-i440fx-*\", \"pc-q35-*\"] } ],"
	"  \"features\": [\"acpi-s3\", \"verbose-dynamic\"], \"tags\": [] }";

static inline struct host_pci_dev pci_dev(const char *addr, uint16_t vendor, uint16_t device,
					  uint32_t class_code, int group, const char *driver)
{
	struct host_pci_dev d = {
		.vendor = vendor,
		.device = device,
		.class_code = class_code,
		.iommu_group = group,
		.driver = (char *)driver,
		.numa_node = -1,
		.is_bridge = (class_code >> 8) == 0x0604,
	};

	assert_int_equal(parse_pci_addr(addr, &d.addr), 0);
	return d;
}

static inline void group(size_t gi, int id, size_t n, ...)
{
	va_list ap;

	fx.groups[gi].id = id;
	fx.groups[gi].devs = fx.gdevs[gi];
	fx.groups[gi].n_devs = n;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		fx.gdevs[gi][i] = va_arg(ap, size_t);
	va_end(ap);
}

static inline int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));

	for (unsigned i = 0; i < 32; i++) {
		fx.cpus[i] = (struct host_cpu){
			.id = i,
			.online = true,
			.core = (int)(i % 16),
			.core_index = (int)(i % 16),
			.smt_index = (int)(i / 16),
			.l3 = (int)((i % 16) / 8),
		};
		fx.node_cpus[i] = i;
	}
	fx.node = (struct host_node){
		.id = 0, .cpus = fx.node_cpus, .n_cpus = 32, .mem_total_bytes = 128ull << 30
	};
	fx.f.cpus = (struct host_cpus){ .cpus = fx.cpus,
					.n_cpus = 32,
					.nodes = &fx.node,
					.n_nodes = 1,
					.vendor = (char *)"AuthenticAMD",
					.smt = true,
					.n_packages = 1,
					.n_cores = 16 };

	fx.pools[0] = (struct host_hugepool){
		.page_size = 2ull << 20, .node = -1, .nr = 32768, .free = 32768
	};
	fx.pools[1] = (struct host_hugepool){ .page_size = 1ull << 30, .node = -1 };
	fx.f.memory = (struct host_memory){ .mem_total_bytes = 128ull << 30,
					    .pools = fx.pools,
					    .n_pools = 2 };

	/* Sorted by address, as host_pci_find() needs. */
	fx.devs[0] = pci_dev("0000:02:00.0", 0x1022, 0x43ee, 0x0c0330, 15, "xhci_hcd");
	fx.devs[1] = pci_dev("0000:02:00.1", 0x1022, 0x43eb, 0x010601, 15, "ahci");
	fx.devs[2] = pci_dev("0000:02:00.2", 0x1022, 0x43e9, 0x060400, 15, "pcieport");
	fx.devs[3] = pci_dev("0000:03:00.0", 0x1002, 0x747e, 0x030000, 20, "amdgpu");
	fx.devs[3].boot_vga = true;
	fx.devs[3].reset_method = (char *)"bus";
	fx.devs[4] = pci_dev("0000:03:00.1", 0x1002, 0xab30, 0x040300, 20, "snd_hda_intel");
	fx.devs[5] = pci_dev("0000:0f:00.0", 0x1002, 0x7550, 0x030000, 28, "vfio-pci");
	fx.devs[5].reset_method = (char *)"bus";
	fx.devs[6] = pci_dev("0000:0f:00.1", 0x1002, 0xab40, 0x040300, 28, "vfio-pci");
	fx.devs[7] = pci_dev("0000:11:00.3", 0x1022, 0x149c, 0x0c0330, 33, "xhci_hcd");
	fx.devs[7].reset_method = (char *)"flr";
	group(0, 15, 3, (size_t)0, (size_t)1, (size_t)2);
	group(1, 20, 2, (size_t)3, (size_t)4);
	group(2, 28, 2, (size_t)5, (size_t)6);
	group(3, 33, 1, (size_t)7);
	fx.f.pci = (struct host_pci){ .iommu_enabled = true,
				      .devs = fx.devs,
				      .n_devs = 8,
				      .groups = fx.groups,
				      .n_groups = 4 };

	fx.f.kvm = (struct host_kvm){
		.present = true,
		.usable = true,
		.runs_guests = true,
		.runs_firmware = true,
		.probe_step = KVM_PROBE_STEP_LONG_MODE,
		.guest_exit_reason = 5, /* KVM_EXIT_HLT */
		.api_version = 12,
		.smm = true,
		.hv_cpuid = true,
		.hyperv = true,
		.hv_features_eax = 0xffffffff,
		.hv_features_edx = 0xffffffff,
		.hv_enlight_eax = 0xffffffff & ~(1u << 14), /* AMD: no eVMCS */
		.hv_nested_eax = 0xffffffff,
		.max_vcpus = 1024,
	};
	fx.f.dmi = (struct host_dmi){
		.bios_vendor = (char *)"American Megatrends International, LLC.",
		.bios_version = (char *)"P5.00",
		.bios_date = (char *)"10/19/2023",
		.bios_release = (char *)"5.17",
		.sys_vendor = (char *)"ASRock",
		.product_name = (char *)"X570 Taichi Razer Edition",
		.board_vendor = (char *)"ASRock",
		.board_name = (char *)"X570 Taichi Razer Edition",
		.board_serial = (char *)"M80-D6012345678",
	};

	fx.machines[0] = (char *)"q35";
	fx.machines[1] = (char *)"pc-q35-9.2";
	fx.machines[2] = (char *)"pc-q35-9.1";
	fx.alias =
		(struct host_qemu_alias){ .name = (char *)"q35", .target = (char *)"pc-q35-9.2" };
	fx.q = (struct host_qemu){ .binary = (char *)"/usr/bin/qemu-system-x86_64",
				   .major = 9,
				   .minor = 2,
				   .machines = fx.machines,
				   .q35_default = (char *)"pc-q35-9.2",
				   .n_machines = 3,
				   .aliases = &fx.alias,
				   .n_aliases = 1 };

	assert_int_equal(
		firmware_desc_parse(
			"/usr/share/qemu/firmware/30-edk2-ovmf-4m-qcow2-x64-sb-enrolled.json",
			fw_secboot_json, &fx.descs[0]),
		0);
	assert_int_equal(firmware_desc_parse("/usr/share/qemu/firmware/60-edk2-ovmf-x64.json",
					     fw_plain_json, &fx.descs[1]),
			 0);
	fx.fw = (struct firmware_list){ .descs = fx.descs, .n_descs = 2 };
	return 0;
}

static inline int teardown(void **state)
{
	(void)state;
	firmware_desc_done(&fx.descs[0]);
	firmware_desc_done(&fx.descs[1]);
	return 0;
}

/* ---- running the builder ------------------------------------------------------ */

struct run {
	struct vm_config *c;
	struct plan p;
	struct plan_diags d;
	struct strv argv;
	int r;
};

static const struct vm_paths paths = { .run_dir = "/run/gamevm/t",
				       .state_dir = "/var/lib/gamevm/t" };

/* A Windows VM the way win11.conf has it, minus what a test adds. */
static const char base_conf[] = "[vm]\nname = t\n"
				"[memory]\nsize = 8G\n"
				"[cpu]\nvcpus = 4\n";

static inline void run_conf_tweak(struct run *x, const char *text,
				  void (*tweak)(struct vm_config *))
{
	struct config_error e = { 0 };
	int r;

	memset(x, 0, sizeof(*x));
	r = config_load_string("t.conf", text, &x->c, &e);
	if (r < 0)
		fail_msg("config: %s", e.msg ? e.msg : "?");
	config_error_done(&e);
	if (tweak)
		tweak(x->c);
	x->r = plan_build(x->c, &fx.f, &fx.q, &fx.fw, &paths, &x->p, &x->d);
	if (x->r == 0)
		assert_int_equal(qemu_argv_build(x->c, &x->p, &fx.q, &x->argv), 0);
}

static inline void run_conf(struct run *x, const char *text)
{
	run_conf_tweak(x, text, NULL);
}

static inline void run_done(struct run *x)
{
	strv_done(&x->argv);
	plan_done(&x->p);
	plan_diags_done(&x->d);
	config_free(x->c);
}

static inline void dump_diags(const struct run *x)
{
	for (size_t i = 0; i < x->d.n; i++)
		print_message("diag %d: %s\n", x->d.v[i].level, x->d.v[i].msg);
}

/* A diagnostic of this level whose text contains every one of the strings. */
static inline bool has_diag(const struct run *x, int level, const char *s1, const char *s2)
{
	for (size_t i = 0; i < x->d.n; i++)
		if (x->d.v[i].level == level && strstr(x->d.v[i].msg, s1) &&
		    (!s2 || strstr(x->d.v[i].msg, s2)))
			return true;
	return false;
}

/* Asserts a diagnostic, listing all of them when it is not there. */
#define assert_diag(x, level, s1, s2)                                                              \
	do {                                                                                       \
		if (!has_diag((x), (level), (s1), (s2))) {                                         \
			dump_diags(x);                                                             \
			fail_msg("no diagnostic with '%s'", (s1));                                 \
		}                                                                                  \
	} while (0)

static inline size_t count_level(const struct run *x, int level)
{
	size_t n = 0;

	for (size_t i = 0; i < x->d.n; i++)
		n += x->d.v[i].level == level;
	return n;
}

/* The value of the first "opt" whose value starts with prefix, or NULL. */
static inline const char *argv_value(const struct run *x, const char *opt, const char *prefix)
{
	for (size_t i = 1; i + 1 < x->argv.n; i++)
		if (streq(x->argv.v[i], opt) &&
		    strncmp(x->argv.v[i + 1], prefix, strlen(prefix)) == 0)
			return x->argv.v[i + 1];
	return NULL;
}

static inline bool argv_has(const struct run *x, const char *opt, const char *value)
{
	for (size_t i = 1; i + 1 < x->argv.n; i++)
		if (streq(x->argv.v[i], opt) && streq(x->argv.v[i + 1], value))
			return true;
	return false;
}

static inline void dump_argv(const struct run *x)
{
	for (size_t i = 0; i < x->argv.n; i++)
		print_message("argv[%zu] %s\n", i, x->argv.v[i]);
}

/* Asserts "opt value" in the argv, listing it when it is not there. */
#define assert_argv(x, opt, value)                                                                 \
	do {                                                                                       \
		if (!argv_has((x), (opt), (value))) {                                              \
			dump_argv(x);                                                              \
			fail_msg("no '%s %s'", (opt), (value));                                    \
		}                                                                                  \
	} while (0)

static inline bool argv_has_opt(const struct run *x, const char *opt)
{
	for (size_t i = 1; i < x->argv.n; i++)
		if (streq(x->argv.v[i], opt))
			return true;
	return false;
}

/* ---- the seed: examples/win11.conf ------------------------------------------- */

static inline char *read_example(const char *name)
{
	const char *src = getenv("GAMEVM_SRCDIR");
	char path[4096];
	FILE *f;
	char *buf = calloc(1, 64 * 1024);
	size_t n;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/examples/%s", src ? src : ".", name);
	f = fopen(path, "re");
	if (!f)
		fail_msg("cannot open %s", path);
	n = fread(buf, 1, 64 * 1024 - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}
