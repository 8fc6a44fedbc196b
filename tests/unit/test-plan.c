/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * plan_build() and qemu_argv_build() on host facts constructed here in C
 * (a 5950X like the seed's, then variations of it), so each check of the
 * plan is tested on exactly the fact it depends on. The whole-argv tests
 * on fixture trees live in tests/golden/.
 */
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

static struct host_pci_dev pci_dev(const char *addr, uint16_t vendor, uint16_t device,
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

static void group(size_t gi, int id, size_t n, ...)
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

static int setup(void **state)
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

static int teardown(void **state)
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

static void run_conf_tweak(struct run *x, const char *text, void (*tweak)(struct vm_config *))
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

static void run_conf(struct run *x, const char *text)
{
	run_conf_tweak(x, text, NULL);
}

static void run_done(struct run *x)
{
	strv_done(&x->argv);
	plan_done(&x->p);
	plan_diags_done(&x->d);
	config_free(x->c);
}

static void dump_diags(const struct run *x)
{
	for (size_t i = 0; i < x->d.n; i++)
		print_message("diag %d: %s\n", x->d.v[i].level, x->d.v[i].msg);
}

/* A diagnostic of this level whose text contains every one of the strings. */
static bool has_diag(const struct run *x, int level, const char *s1, const char *s2)
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

static size_t count_level(const struct run *x, int level)
{
	size_t n = 0;

	for (size_t i = 0; i < x->d.n; i++)
		n += x->d.v[i].level == level;
	return n;
}

/* The value of the first "opt" whose value starts with prefix, or NULL. */
static const char *argv_value(const struct run *x, const char *opt, const char *prefix)
{
	for (size_t i = 1; i + 1 < x->argv.n; i++)
		if (streq(x->argv.v[i], opt) &&
		    strncmp(x->argv.v[i + 1], prefix, strlen(prefix)) == 0)
			return x->argv.v[i + 1];
	return NULL;
}

static bool argv_has(const struct run *x, const char *opt, const char *value)
{
	for (size_t i = 1; i + 1 < x->argv.n; i++)
		if (streq(x->argv.v[i], opt) && streq(x->argv.v[i + 1], value))
			return true;
	return false;
}

static void dump_argv(const struct run *x)
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

static bool argv_has_opt(const struct run *x, const char *opt)
{
	for (size_t i = 1; i < x->argv.n; i++)
		if (streq(x->argv.v[i], opt))
			return true;
	return false;
}

/* ---- the seed: examples/win11.conf ------------------------------------------- */

static char *read_example(const char *name)
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

static void test_seed_argv(void **state)
{
	char *text = read_example("win11.conf");
	struct run x;

	(void)state;
	run_conf(&x, text);
	free(text);
	if (x.r != 0)
		dump_diags(&x);
	assert_int_equal(x.r, 0);

	assert_string_equal(x.argv.v[0], "/usr/bin/qemu-system-x86_64");
	assert_argv(&x, "-name", "guest=win11,debug-threads=on");
	assert_true(argv_has_opt(&x, "-S"));
	assert_argv(
		&x, "-machine",
		"pc-q35-9.2,usb=off,smm=on,dump-guest-core=off,memory-backend=pc.ram,pflash0=pflash0,pflash1=pflash1,hpet=off,vmport=off");
	assert_argv(&x, "-accel", "kvm");
	assert_argv(
		&x, "-cpu",
		"host,migratable=off,topoext=on,invtsc=on,host-cache-info=on,l3-cache=off,kvm=off,"
		"hv-time=on,hv-relaxed=on,hv-vapic=on,hv-spinlocks=0x1fff,hv-vpindex=on,hv-runtime=on,"
		"hv-synic=on,hv-stimer=on,hv-stimer-direct=on,hv-vendor-id=AuthenticAMD,"
		"hv-frequencies=on,hv-tlbflush=on,hv-ipi=on");
	assert_argv(&x, "-m", "64G");
	assert_argv(
		&x, "-object",
		"memory-backend-memfd,id=pc.ram,size=64G,hugetlb=on,hugetlbsize=2M,share=on,prealloc=on");
	assert_argv(&x, "-smp", "32,sockets=1,dies=1,clusters=1,cores=16,threads=2");
	/* uuid5(gamevm namespace, "win11"), and SMBIOS type 1 agrees with -uuid. */
	assert_argv(&x, "-uuid", "005e5710-68a9-5e65-bd5f-623976f2efb7");
	assert_argv(
		&x, "-smbios",
		"type=0,vendor=American Megatrends International,, LLC.,version=P5.00,date=10/19/2023,release=5.17");
	assert_argv(
		&x, "-smbios",
		"type=1,manufacturer=ASRock,product=X570 Taichi Razer Edition,uuid=005e5710-68a9-5e65-bd5f-623976f2efb7");
	assert_argv(
		&x, "-smbios",
		"type=2,manufacturer=ASRock,product=X570 Taichi Razer Edition,serial=M80-D6012345678");
	assert_argv(&x, "-rtc", "base=localtime,driftfix=slew");
	assert_argv(&x, "-global", "kvm-pit.lost_tick_policy=delay");
	assert_argv(&x, "-global", "ICH9-LPC.disable_s3=1");
	assert_argv(&x, "-global", "ICH9-LPC.disable_s4=1");
	assert_argv(&x, "-global", "ICH9-LPC.noreboot=off");
	assert_argv(&x, "-watchdog-action", "reset");
	assert_argv(&x, "-global", "driver=cfi.pflash01,property=secure,value=on");
	assert_argv(
		&x, "-blockdev",
		"driver=file,filename=/usr/share/edk2/ovmf/OVMF_CODE_4M.secboot.qcow2,node-name=pflash0-file,read-only=on");
	assert_argv(&x, "-blockdev",
		    "driver=qcow2,file=pflash0-file,node-name=pflash0,read-only=on");
	assert_argv(
		&x, "-blockdev",
		"driver=file,filename=/var/lib/gamevm/t/OVMF_VARS.qcow2,node-name=pflash1-file,read-only=off");
	assert_argv(&x, "-object", "iothread,id=iothread1");
	assert_argv(&x, "-object", "iothread,id=iothread2");
	/* GPU + HDMI audio on one port (rp1), xHCI on rp2, then qemu-xhci, disk, NIC. */
	assert_argv(
		&x, "-device",
		"pcie-root-port,id=rp1,bus=pcie.0,chassis=1,port=0x10,addr=0x2.0x0,multifunction=on");
	assert_argv(&x, "-device",
		    "pcie-root-port,id=rp5,bus=pcie.0,chassis=5,port=0x14,addr=0x2.0x4");
	assert_null(argv_value(&x, "-device", "pcie-root-port,id=rp6,"));
	assert_argv(
		&x, "-device",
		"vfio-pci,host=0000:0f:00.0,id=hostdev0,bus=rp1,addr=0x0.0x0,multifunction=on,rombar=1");
	assert_argv(&x, "-device",
		    "vfio-pci,host=0000:0f:00.1,id=hostdev1,bus=rp1,addr=0x0.0x1,rombar=1");
	assert_argv(&x, "-device",
		    "vfio-pci,host=0000:11:00.3,id=hostdev2,bus=rp2,addr=0x0.0x0,rombar=1");
	assert_argv(&x, "-device", "qemu-xhci,id=usb,bus=rp3,addr=0x0");
	assert_argv(
		&x, "-blockdev",
		"driver=file,filename=/var/lib/libvirt/images/win11.raw,node-name=disk0,aio=native,"
		"cache.direct=on,cache.no-flush=off,discard=unmap,detect-zeroes=unmap");
	assert_argv(&x, "-device",
		    "virtio-blk-pci,id=disk-system,drive=disk0,bus=rp4,addr=0x0,iothread=iothread1,"
		    "serial=WD-WXA1E61KL2V3,write-cache=on,bootindex=1");
	assert_argv(&x, "-chardev", "socket,id=chrtpm,path=/run/gamevm/t/swtpm.sock");
	assert_argv(&x, "-tpmdev", "emulator,id=tpm0,chardev=chrtpm");
	assert_argv(&x, "-device", "tpm-crb,tpmdev=tpm0");
	assert_argv(&x, "-netdev", "user,id=net0");
	assert_non_null(
		argv_value(&x, "-device", "virtio-net-pci,id=nic0,netdev=net0,mac=52:54:00:"));
	assert_argv(&x, "-display", "none");
	assert_argv(&x, "-vga", "none");
	assert_argv(&x, "-serial", "none");
	assert_argv(&x, "-chardev", "socket,id=qmp,fd=3,server=on,wait=off");
	assert_argv(&x, "-mon", "chardev=qmp,mode=control");
	assert_false(argv_has_opt(&x, "-pidfile"));
	assert_argv(&x, "-sandbox",
		    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	assert_argv(&x, "-msg", "timestamp=on");
	assert_null(argv_value(&x, "-device", "virtio-balloon"));
	assert_int_equal(count_level(&x, LOG_WARNING), 0);

	/* The plan holds the pin map and housekeeping set for the supervisor. */
	assert_non_null(x.p.vcpu_pin);
	assert_int_equal(x.p.vcpu_pin[1], 16);
	assert_int_equal(x.p.vcpu_pin[31], 31);
	assert_int_equal(x.p.n_housekeeping, 2);
	assert_int_equal(x.p.housekeeping[1], 16);
	run_done(&x);
}

static void test_argv_deterministic(void **state)
{
	char *text = read_example("win11.conf");
	struct run a, b;

	(void)state;
	run_conf(&a, text);
	run_conf(&b, text);
	free(text);
	assert_int_equal(a.r, 0);
	assert_int_equal(a.argv.n, b.argv.n);
	for (size_t i = 0; i < a.argv.n; i++)
		assert_string_equal(a.argv.v[i], b.argv.v[i]);
	run_done(&a);
	run_done(&b);
}

/* ---- accelerator --------------------------------------------------------------- */

static void test_accel_kvm_missing(void **state)
{
	struct run x;

	(void)state;
	fx.f.kvm = (struct host_kvm){ 0 };
	run_conf(&x, "[vm]\nname = t\naccel = kvm\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR,
		    "t.conf:3: [vm] accel: KVM cannot run guests here ('/dev/kvm' does not exist)",
		    "modprobe kvm_amd");
	assert_diag(&x, LOG_ERR, "SVM", NULL);
	run_done(&x);
}

static void test_accel_kvm_no_permission(void **state)
{
	struct run x;

	(void)state;
	fx.f.kvm = (struct host_kvm){ .present = true, .error = -EACCES };
	run_conf(&x, "[vm]\nname = t\naccel = kvm\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "permission denied", "group");
	run_done(&x);
}

static void test_accel_auto_tcg(void **state)
{
	struct run x;

	(void)state;
	fx.f.kvm = (struct host_kvm){ .present = true, .usable = true };
	run_conf(&x, "[vm]\nname = t\naccel = auto\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n"
		     "[hyperv]\nstimer = yes\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_NOTICE, "using TCG, expect it to be slow", "did not run");
	assert_diag(&x, LOG_NOTICE, "[cpu] model (default)", "'max'");
	assert_diag(&x, LOG_NOTICE, "Hyper-V", "need KVM");
	assert_argv(&x, "-accel", "tcg,thread=multi");
	assert_argv(&x, "-cpu", "max");
	assert_false(argv_has(&x, "-global", "kvm-pit.lost_tick_policy=delay"));
	/* TCG emulates SMM: the Secure Boot firmware still fits. */
	assert_non_null(argv_value(&x, "-machine", "pc-q35-9.2,usb=off,smm=on,"));
	run_done(&x);
}

/* ---- machine, firmware, SMM ------------------------------------------------------- */

static void test_machine_unknown(void **state)
{
	struct run x;

	(void)state;
	run_conf(&x,
		 "[vm]\nname = t\nmachine = pc-q35-7.0\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(
		&x, LOG_ERR,
		"t.conf:3: [vm] machine: QEMU 9.2.0 does not know the machine type 'pc-q35-7.0'",
		NULL);
	run_done(&x);
}

static void test_qemu_too_old(void **state)
{
	struct run x;

	(void)state;
	fx.q.major = 6;
	run_conf(&x, base_conf);
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "QEMU 6.2.0", "needs QEMU 7.2 or newer");
	run_done(&x);
}

static void test_smm_unsupported(void **state)
{
	struct run x;

	(void)state;
	fx.f.kvm.smm = false;
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[firmware]\nsmm = on\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "t.conf:8: [firmware] smm: System Management Mode",
		    "not supported by this KVM");
	run_done(&x);
}

static void test_smm_auto_unsupported_no_sb_firmware(void **state)
{
	struct run x;

	(void)state;
	/* Without SMM in KVM the only Secure Boot firmware does not fit. */
	fx.f.kvm.smm = false;
	run_conf(&x, base_conf);
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "no UEFI firmware on this host fits", "without SMM");
	run_done(&x);
}

static void test_secure_boot_no_firmware(void **state)
{
	struct run x;

	(void)state;
	fx.fw.n_descs = 0;
	fx.fw.descs = &fx.descs[1]; /* only the non-SB build */
	fx.fw.n_descs = 1;
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[firmware]\nsecure-boot = yes\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "t.conf:8: [firmware] secure-boot: no UEFI firmware", NULL);
	run_done(&x);
}

static void test_no_secure_boot_plain_firmware(void **state)
{
	struct run x;

	(void)state;
	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n"
		     "[firmware]\nsecure-boot = no\nsmm = auto\n");
	assert_int_equal(x.r, 0);
	assert_argv(
		&x, "-blockdev",
		"driver=file,filename=/usr/share/OVMF/OVMF_CODE_4M.fd,node-name=pflash0,read-only=on");
	assert_argv(
		&x, "-blockdev",
		"driver=file,filename=/var/lib/gamevm/t/OVMF_VARS.fd,node-name=pflash1,read-only=off");
	assert_non_null(argv_value(&x, "-machine", "pc-q35-9.2,usb=off,smm=off,"));
	assert_false(argv_has(&x, "-global", "driver=cfi.pflash01,property=secure,value=on"));
	assert_string_equal(x.p.fw_vars_template, "/usr/share/OVMF/OVMF_VARS_4M.fd");
	run_done(&x);
}

static void test_secure_boot_without_smm_warns(void **state)
{
	static const char json[] =
		"{ \"description\": \"SB without SMM\", \"interface-types\": [\"uefi\"],"
		"  \"mapping\": { \"device\": \"flash\","
		"    \"executable\": { \"filename\": \"/fw/CODE.sb.fd\", \"format\": \"raw\" },"
		"    \"nvram-template\": { \"filename\": \"/fw/VARS.sb.fd\", \"format\": \"raw\" } },"
		"  \"targets\": [ { \"architecture\": \"x86_64\", \"machines\": [\"pc-q35-*\"] } ],"
		"  \"features\": [\"secure-boot\", \"enrolled-keys\"], \"tags\": [] }";
	struct firmware_desc d;
	struct run x;

	(void)state;
	assert_int_equal(firmware_desc_parse("/usr/share/qemu/firmware/10-sb-nosmm.json", json, &d),
			 0);
	fx.fw = (struct firmware_list){ .descs = &d, .n_descs = 1 };
	run_conf(&x, base_conf);
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_WARNING, "without SMM", "not secure");
	assert_non_null(argv_value(&x, "-machine", "pc-q35-9.2,usb=off,smm=off,"));
	run_done(&x);
	firmware_desc_done(&d);
}

static void tweak_bios_secure_boot(struct vm_config *c)
{
	/* The config parser refuses this already; the plan must not rely on it. */
	c->firmware = FIRMWARE_BIOS;
	c->secure_boot = true;
}

static void test_bios_secure_boot(void **state)
{
	struct run x;

	(void)state;
	run_conf_tweak(&x, base_conf, tweak_bios_secure_boot);
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "Secure Boot requires UEFI", NULL);
	run_done(&x);
}

/* ---- CPU ---------------------------------------------------------------------------- */

static void test_topology_auto_smt_pairs(void **state)
{
	struct run x;

	(void)state;
	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\npin = 1,17,2,18\n");
	assert_int_equal(x.r, 0);
	assert_argv(&x, "-smp", "4,sockets=1,dies=1,clusters=1,cores=2,threads=2");
	run_done(&x);

	/* Pairs that are not SMT siblings: threads = 1. */
	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\npin = 1,2,3,4\n");
	assert_int_equal(x.r, 0);
	assert_argv(&x, "-smp", "4,sockets=1,dies=1,clusters=1,cores=4,threads=1");
	run_done(&x);

	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 3\n");
	assert_int_equal(x.r, 0);
	assert_argv(&x, "-smp", "3,sockets=1,dies=1,clusters=1,cores=3,threads=1");
	run_done(&x);
}

static void test_topology_smt_on_non_smt_host(void **state)
{
	struct run x;

	(void)state;
	fx.f.cpus.smt = false;
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\ncores = 2\nthreads = 2\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_WARNING, "[cpu] threads", "no SMT");
	run_done(&x);
}

static void test_pin_missing_and_offline(void **state)
{
	struct run x;

	(void)state;
	fx.cpus[3].online = false;
	fx.f.cpus.n_cpus = 16; /* CPUs 16-31 gone */
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\npin = 3,20\nhousekeeping = 0,40\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "t.conf:7: [cpu] pin: host CPU 3 is offline",
		    "/sys/devices/system/cpu/cpu3/online");
	assert_diag(&x, LOG_ERR, "[cpu] pin: host CPU 20 does not exist",
		    "(/sys/devices/system/cpu/cpu20); this host has CPUs 0-15");
	assert_diag(&x, LOG_ERR, "t.conf:8: [cpu] housekeeping: host CPU 40 does not exist", NULL);
	run_done(&x);
}

static void test_pin_auto(void **state)
{
	struct run x;

	(void)state;
	/* The CPU planner's map (tests/unit/test-planner.c has the rules): CCD1, core 0 left free.
	 */
	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\npin = auto\n"
		     "housekeeping = auto\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_NOTICE, "t.conf:7: [cpu] pin: auto: vCPUs 0-1 on CPUs 8,24 (L3 #1",
		    "housekeeping CPUs 0,16");
	assert_non_null(x.p.vcpu_pin);
	assert_int_equal(x.p.vcpu_pin[0], 8);
	assert_int_equal(x.p.vcpu_pin[1], 24);
	assert_int_equal(x.p.n_housekeeping, 2);
	assert_int_equal(x.p.housekeeping[0], 0);
	assert_int_equal(x.p.housekeeping[1], 16);
	assert_argv(&x, "-smp", "2,sockets=1,dies=1,clusters=1,cores=1,threads=2");
	run_done(&x);

	/* More vCPUs than threads: an error with the numbers, not the overcommit warning. */
	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 40\npin = auto\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "[cpu] vcpus: 40 vCPUs, but this host has 32 online CPU threads",
		    NULL);
	run_done(&x);
}

static void test_vcpus_overcommit(void **state)
{
	struct run x;

	(void)state;
	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 48\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_WARNING, "48 vCPUs on 32 online host CPUs", NULL);
	run_done(&x);
}

/* ---- memory ------------------------------------------------------------------------- */

static void test_hugepages_1g_missing(void **state)
{
	struct run x;

	(void)state;
	fx.f.memory.n_pools = 1; /* only 2M */
	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 16G\nhugepages = 1G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "t.conf:5: [memory] hugepages: this host has no 1G huge pages",
		    "/sys/kernel/mm/hugepages/hugepages-1048576kB is missing");
	assert_diag(&x, LOG_ERR, "hugepagesz=1G hugepages=16", NULL);
	run_done(&x);
}

static void test_hugepages_2m_notice(void **state)
{
	struct run x;

	(void)state;
	fx.pools[0].free = 100;
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\nhugepages = 2M\nprealloc-threads = 4\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_NOTICE, "2M huge pages: 512 needed for 1G, 100 free of 32768",
		    "must be reserved");
	assert_argv(
		&x, "-object",
		"memory-backend-memfd,id=pc.ram,size=1G,hugetlb=on,hugetlbsize=2M,share=on,prealloc=on,prealloc-threads=4");
	run_done(&x);
}

static void test_memory_too_big(void **state)
{
	struct run x;

	(void)state;
	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 256G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR,
		    "t.conf:4: [memory] size: 256G for the guest, but the host has only 128G",
		    "MemTotal");
	run_done(&x);
}

static void test_memory_plain_and_lock(void **state)
{
	struct run x;

	(void)state;
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 2G\nlock = yes\nnode = 0\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, 0);
	assert_argv(&x, "-object", "memory-backend-ram,id=pc.ram,size=2G,host-nodes=0,policy=bind");
	assert_argv(&x, "-overcommit", "mem-lock=on");
	run_done(&x);

	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 2G\nnode = 3\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "[memory] node: host NUMA node 3 does not exist",
		    "/sys/devices/system/node/node3");
	run_done(&x);
}

/* ---- Hyper-V ------------------------------------------------------------------------ */

static void test_hyperv_unsupported_yes(void **state)
{
	struct run x;

	(void)state;
	fx.f.kvm.hv_enlight_eax &= ~(1u << 9); /* no AVIC hint */
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[hyperv]\navic = yes\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "t.conf:8: [hyperv] avic: Hyper-V AVIC",
		    "is not supported by kernel");
	run_done(&x);
}

static void test_hyperv_auto_follows_kvm(void **state)
{
	struct run x;

	(void)state;
	fx.f.kvm.hv_features_eax &= ~(1u << 3); /* no synthetic timers */
	run_conf(&x, base_conf);
	assert_int_equal(x.r, 0);
	assert_false(x.p.hv[HV_STIMER]);
	/* stimer-direct depends on stimer: dropped with a notice. */
	assert_false(x.p.hv[HV_STIMER_DIRECT]);
	assert_diag(&x, LOG_NOTICE, "hv-stimer-direct", "requires Hyper-V synthetic timers");
	assert_true(x.p.hv[HV_SYNIC]);
	/* AMD: no eVMCS even when asked for auto. */
	assert_false(x.p.hv[HV_EVMCS]);
	assert_true(x.p.hv[HV_AVIC]);
	assert_null(strstr(argv_value(&x, "-cpu", "host"), "hv-stimer"));
	run_done(&x);
}

static void test_hyperv_yes_needs_unsupported(void **state)
{
	struct run x;

	(void)state;
	fx.f.kvm.hv_features_eax &= ~(1u << 6); /* no VP_INDEX */
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[hyperv]\nipi = yes\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(
		&x, LOG_ERR,
		"[hyperv] ipi: Hyper-V paravirtualized IPI (hv-ipi) requires Hyper-V VP_INDEX MSR (hv-vpindex)",
		"KVM does not offer it");
	run_done(&x);
}

static void test_hyperv_passthrough(void **state)
{
	struct run x;

	(void)state;
	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\nmodel = host\n"
		     "[hyperv]\npassthrough = yes\nvendor-id = KVM Hv\n");
	assert_int_equal(x.r, 0);
	assert_argv(
		&x, "-cpu",
		"host,migratable=off,host-cache-info=on,l3-cache=off,hv-passthrough=on,hv-spinlocks=0x1fff,hv-vendor-id=KVM Hv");
	run_done(&x);
}

/* ---- PCI ------------------------------------------------------------------------------ */

static void test_pci_missing(void **state)
{
	struct run x;

	(void)state;
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[pci gpu]\naddress = 0000:42:00.0\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR,
		    "t.conf:8: [pci gpu] address: no PCI device 0000:42:00.0 on this host",
		    "/sys/bus/pci/devices/0000:42:00.0");
	run_done(&x);
}

static void test_pci_no_iommu(void **state)
{
	struct run x;

	(void)state;
	fx.f.pci.iommu_enabled = false;
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[pci gpu]\naddress = 0000:0f:00.0\n"
		"all-functions = yes\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "enable IOMMU / SVM / VT-d in the firmware setup",
		    "/sys/kernel/iommu_groups");
	run_done(&x);
}

static void test_pci_shared_group(void **state)
{
	struct run x;

	(void)state;
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[pci usb]\naddress = 0000:02:00.0\n");
	assert_int_equal(x.r, -EINVAL);
	/* The SATA controller counts, the PCIe bridge in the group does not. */
	assert_diag(
		&x, LOG_ERR, "[pci usb] address: 0000:02:00.0 is in IOMMU group 15",
		"together with 0000:02:00.1 (1022:43eb, driver ahci), which the VM does not get");
	assert_false(has_diag(&x, LOG_ERR, "0000:02:00.2", NULL));
	run_done(&x);

	/* Only the GPU's function 0: its audio function shares the group. */
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[pci gpu]\naddress = 0000:0f:00.0\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "together with 0000:0f:00.1", "all-functions = yes");
	run_done(&x);
}

static void test_pci_boot_vga_and_reset(void **state)
{
	struct run x;

	(void)state;
	fx.devs[3].reset_method = NULL;
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[pci host]\naddress = 0000:03:00.0\n"
		"all-functions = yes\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_WARNING, "0000:03:00.0 is the host's boot display", "single-gpu = yes");
	assert_diag(&x, LOG_WARNING, "0000:03:00.0 has no reset method", "vendor-reset");
	assert_diag(&x, LOG_NOTICE, "moves from 'amdgpu' to vfio-pci", NULL);
	run_done(&x);
}

static void test_pci_unmanaged_not_vfio(void **state)
{
	struct run x;

	(void)state;
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[pci usb]\naddress = 0000:11:00.3\n"
		"managed = no\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "[pci usb] managed: 0000:11:00.3 is not bound to vfio-pci",
		    "vfio-pci.ids=1022:149c");
	run_done(&x);

	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[pci usb]\naddress = 0000:11:00.3\n"
		"romfile = /opt/rom,1.bin\n");
	assert_int_equal(x.r, 0);
	assert_argv(
		&x, "-device",
		"vfio-pci,host=0000:11:00.3,id=hostdev0,bus=rp1,addr=0x0.0x0,rombar=1,romfile=/opt/rom,,1.bin");
	run_done(&x);

	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[pci usb]\naddress = 0000:11:00.3\n"
		"rombar = no\n");
	assert_int_equal(x.r, 0);
	assert_argv(&x, "-device",
		    "vfio-pci,host=0000:11:00.3,id=hostdev0,bus=rp1,addr=0x0.0x0,rombar=0");
	run_done(&x);
}

static void tweak_pci_duplicate(struct vm_config *c)
{
	/* The parser refuses this already: [pci audio] becomes 0f:00.1 behind its back. */
	assert_int_equal(parse_pci_addr("0000:0f:00.1", &c->pci[1].addr), 0);
}

static void test_pci_duplicate(void **state)
{
	struct run x;

	(void)state;
	run_conf_tweak(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[pci gpu]\naddress = 0000:0f:00.0\n"
		"all-functions = yes\n[pci audio]\naddress = 0000:11:00.3\n",
		tweak_pci_duplicate);
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR,
		    "[pci audio] address: 0000:0f:00.1 is already given to the VM by [pci gpu]",
		    NULL);
	run_done(&x);
}

/* ---- disks, NICs, devices ------------------------------------------------------------- */

static void tweak_disk_writeback(struct vm_config *c)
{
	/* The parser refuses this already; the plan must not rely on it. */
	c->disks[0].cache = DISK_CACHE_WRITEBACK;
}

static void test_disk_aio_native_needs_direct(void **state)
{
	struct run x;

	(void)state;
	run_conf_tweak(&x,
		       "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n"
		       "[disk os]\npath = /vm/os.img\naio = native\n",
		       tweak_disk_writeback);
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "t.conf:9: [disk os] aio: aio = native needs O_DIRECT",
		    "cache = none");
	run_done(&x);
}

static void test_disk_kinds(void **state)
{
	struct run x;

	(void)state;
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\niothreads = 1\n"
		"[disk os]\npath = /dev/nvme0n1p3\nbus = virtio-scsi\niothread = 1\nboot-index = 1\n"
		"[disk data]\npath = /vm/data,1.qcow2\nformat = qcow2\ncache = writeback\naio = io_uring\n"
		"discard = ignore\n"
		"[disk install]\npath = /iso/win11.iso\nmedia = cdrom\nbus = sata\ncache = writeback\n"
		"aio = threads\nboot-index = 2\n");
	if (x.r)
		dump_diags(&x);
	assert_int_equal(x.r, 0);
	/* Ports: qemu-xhci rp1, virtio-scsi rp2, the virtio-blk disk rp3. */
	assert_argv(&x, "-device", "virtio-scsi-pci,id=scsi0,bus=rp2,addr=0x0,iothread=iothread1");
	assert_argv(
		&x, "-blockdev",
		"driver=host_device,filename=/dev/nvme0n1p3,node-name=disk0,aio=native,cache.direct=on,"
		"cache.no-flush=off,discard=unmap,detect-zeroes=unmap");
	assert_argv(
		&x, "-device",
		"scsi-hd,id=disk-os,drive=disk0,bus=scsi0.0,channel=0,scsi-id=0,lun=0,write-cache=on,bootindex=1");
	assert_argv(
		&x, "-blockdev",
		"driver=file,filename=/vm/data,,1.qcow2,node-name=disk1-file,aio=io_uring,cache.direct=off,cache.no-flush=off");
	assert_argv(
		&x, "-blockdev",
		"driver=qcow2,file=disk1-file,node-name=disk1,cache.direct=off,cache.no-flush=off");
	assert_argv(
		&x, "-device",
		"virtio-blk-pci,id=disk-data,drive=disk1,bus=rp3,addr=0x0,iothread=iothread1,write-cache=on");
	assert_argv(
		&x, "-blockdev",
		"driver=file,filename=/iso/win11.iso,node-name=disk2,aio=threads,cache.direct=off,cache.no-flush=off,read-only=on");
	assert_argv(&x, "-device", "ide-cd,id=disk-install,drive=disk2,bus=ide.0,bootindex=2");
	run_done(&x);
}

static void test_nets_and_devices(void **state)
{
	struct run x;

	(void)state;
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n"
		 "[devices]\nusb-controller = no\ndisplay = std\nvnc = 127.0.0.1:0\nserial = file\n"
		 "serial-path = /var/log/t,serial.log\n"
		 "[tpm]\nmodel = tis\n[watchdog]\nmodel = none\n[power]\ns3 = yes\n"
		 "[clock]\nbase = utc\nrtc-catchup = no\nhpet = yes\n"
		 "[net a]\nmode = tap\ntap = tap0\nmac = 52:54:00:12:34:56\n"
		 "[net b]\nmode = bridge\nbridge = br0\nmodel = e1000e\n"
		 "[net c]\nmode = none\n");
	if (x.r)
		dump_diags(&x);
	assert_int_equal(x.r, 0);
	assert_argv(&x, "-netdev", "tap,id=net0,ifname=tap0,script=no,downscript=no");
	assert_argv(&x, "-device",
		    "virtio-net-pci,id=nic0,netdev=net0,mac=52:54:00:12:34:56,bus=rp1,addr=0x0");
	assert_argv(&x, "-netdev", "bridge,id=net1,br=br0");
	assert_non_null(argv_value(&x, "-device", "e1000e,id=nic1,netdev=net1,mac=52:54:00:"));
	assert_false(argv_has_opt(&x, "-vga"));
	assert_argv(&x, "-device", "VGA,id=video0,bus=pcie.0,addr=0x1");
	assert_argv(&x, "-vnc", "127.0.0.1:0");
	assert_argv(&x, "-chardev", "file,id=serial0,path=/var/log/t,,serial.log");
	assert_argv(&x, "-serial", "chardev:serial0");
	assert_argv(&x, "-device", "tpm-tis,tpmdev=tpm0");
	assert_argv(&x, "-global", "ICH9-LPC.noreboot=on");
	assert_false(argv_has_opt(&x, "-watchdog-action"));
	assert_false(argv_has(&x, "-global", "ICH9-LPC.disable_s3=1"));
	assert_argv(&x, "-global", "ICH9-LPC.disable_s4=1");
	assert_argv(&x, "-rtc", "base=utc");
	assert_null(strstr(argv_value(&x, "-machine", "pc-q35"), "hpet"));
	/* The bridge helper is a child of QEMU: the sandbox must let it spawn. */
	assert_argv(&x, "-sandbox",
		    "on,obsolete=deny,elevateprivileges=deny,spawn=allow,resourcecontrol=deny");
	assert_false(argv_has_opt(&x, "-device qemu-xhci"));
	assert_null(argv_value(&x, "-device", "qemu-xhci"));
	run_done(&x);
}

static void test_balloon(void **state)
{
	struct run x;

	(void)state;
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\nhugepages = 2M\n[cpu]\nvcpus = 2\n[devices]\nballoon = yes\n");
	assert_int_equal(x.r, 0);
	/* After qemu-xhci (rp1) and the NIC (rp2): adding it moves nothing. */
	assert_argv(&x, "-device", "virtio-balloon-pci,id=balloon0,bus=rp3,addr=0x0");
	assert_diag(&x, LOG_NOTICE, "[devices] balloon: a balloon cannot take memory back",
		    "hugepage");
	run_done(&x);
}

static void test_extra_args_last(void **state)
{
	struct run x;

	(void)state;
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[qemu]\nextra = -device virtio-rng-pci\n");
	assert_int_equal(x.r, 0);
	assert_string_equal(x.argv.v[x.argv.n - 2], "-device");
	assert_string_equal(x.argv.v[x.argv.n - 1], "virtio-rng-pci");
	run_done(&x);
}

static void test_smbios_custom_and_none(void **state)
{
	struct run x;

	(void)state;
	run_conf(
		&x,
		"[vm]\nname = t\nuuid = 8c3d4d52-8d0b-4a5e-9c1f-6a2b3c4d5e6f\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n"
		"[smbios]\nmode = custom\nsystem-manufacturer = Acme, Inc.\n");
	assert_int_equal(x.r, 0);
	assert_argv(&x, "-uuid", "8c3d4d52-8d0b-4a5e-9c1f-6a2b3c4d5e6f");
	assert_argv(&x, "-smbios",
		    "type=1,manufacturer=Acme,, Inc.,uuid=8c3d4d52-8d0b-4a5e-9c1f-6a2b3c4d5e6f");
	assert_null(argv_value(&x, "-smbios", "type=0"));
	assert_null(argv_value(&x, "-smbios", "type=2"));
	run_done(&x);

	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[smbios]\nmode = none\n");
	assert_int_equal(x.r, 0);
	assert_false(argv_has_opt(&x, "-smbios"));
	run_done(&x);
}

static void test_smbios_host_bad_release(void **state)
{
	struct run x;

	(void)state;
	fx.f.dmi.bios_release = (char *)"300.1";
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[smbios]\nmode = host\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_NOTICE, "'300.1' is not MAJOR.MINOR", "left out");
	assert_argv(
		&x, "-smbios",
		"type=0,vendor=American Megatrends International,, LLC.,version=P5.00,date=10/19/2023");
	run_done(&x);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_seed_argv),
		T(test_argv_deterministic),
		T(test_accel_kvm_missing),
		T(test_accel_kvm_no_permission),
		T(test_accel_auto_tcg),
		T(test_machine_unknown),
		T(test_qemu_too_old),
		T(test_smm_unsupported),
		T(test_smm_auto_unsupported_no_sb_firmware),
		T(test_secure_boot_no_firmware),
		T(test_no_secure_boot_plain_firmware),
		T(test_secure_boot_without_smm_warns),
		T(test_bios_secure_boot),
		T(test_topology_auto_smt_pairs),
		T(test_topology_smt_on_non_smt_host),
		T(test_pin_missing_and_offline),
		T(test_pin_auto),
		T(test_vcpus_overcommit),
		T(test_hugepages_1g_missing),
		T(test_hugepages_2m_notice),
		T(test_memory_too_big),
		T(test_memory_plain_and_lock),
		T(test_hyperv_unsupported_yes),
		T(test_hyperv_auto_follows_kvm),
		T(test_hyperv_yes_needs_unsupported),
		T(test_hyperv_passthrough),
		T(test_pci_missing),
		T(test_pci_no_iommu),
		T(test_pci_shared_group),
		T(test_pci_boot_vga_and_reset),
		T(test_pci_unmanaged_not_vfio),
		T(test_pci_duplicate),
		T(test_disk_aio_native_needs_direct),
		T(test_disk_kinds),
		T(test_nets_and_devices),
		T(test_balloon),
		T(test_extra_args_last),
		T(test_smbios_custom_and_none),
		T(test_smbios_host_bad_release),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
