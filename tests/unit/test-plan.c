/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * plan_build() and qemu_argv_build() on host facts constructed here in C
 * (a 5950X like the seed's, then variations of it), so each check of the
 * plan is tested on exactly the fact it depends on. The whole-argv tests
 * on fixture trees live in tests/golden/.
 */
#include "plan-test-util.h"

/* threads gamevm preallocates with, on n CPUs from first to last (a range). */
static void assert_prealloc(const struct run *x, unsigned threads, size_t n, unsigned first,
			    unsigned last)
{
	assert_int_equal(x->p.prealloc_threads, threads);
	assert_int_equal(x->p.n_prealloc_cpus, n);
	assert_int_equal(x->p.prealloc_cpus[0], first);
	assert_int_equal(x->p.prealloc_cpus[n - 1], last);
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
	/* 64G zeroed by gamevm before QEMU starts, 16 threads on the VM's CPUs (all 32 here). */
	assert_prealloc(&x, 16, 32, 0, 31);
	assert_argv(
		&x, "-object",
		"memory-backend-file,id=pc.ram,size=64G,mem-path=/proc/self/fd/4,share=on,prealloc=off");
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
	/* The image reaches QEMU as fds gamevm opened: read-only and read-write in fd set 1. */
	assert_argv(&x, "-add-fd", "fd=11,set=1,opaque=/var/lib/libvirt/images/win11.raw");
	assert_argv(&x, "-add-fd", "fd=10,set=1,opaque=/var/lib/libvirt/images/win11.raw");
	assert_argv(&x, "-blockdev",
		    "driver=file,filename=/dev/fdset/1,node-name=disk0,aio=native,"
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
	assert_diag(
		&x, LOG_ERR,
		"t.conf:3: [vm] accel: kvm: KVM cannot run this VM here: '/dev/kvm' does not exist",
		"modprobe kvm_amd");
	assert_diag(&x, LOG_ERR, "SVM", "accel = auto");
	/* The KVM capabilities are not checked one by one against a KVM that is not there. */
	assert_int_equal(count_level(&x, LOG_ERR), 1);
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

/* A paravirtual KVM: real mode runs, the firmware's 32-bit x87 code does not. */
static void kvm_no_firmware(struct host_kvm *k)
{
	k->runs_firmware = false;
	k->probe_step = KVM_PROBE_STEP_PROTECTED;
	k->guest_exit_reason = 17; /* KVM_EXIT_INTERNAL_ERROR */
	k->guest_suberror = 1;	   /* emulation failure */
	k->guest_error = -EIO;
}

static void test_accel_kvm_no_firmware(void **state)
{
	struct run x;

	(void)state;
	kvm_no_firmware(&fx.f.kvm);
	fx.f.kvm.smm = false;
	run_conf(&x, "[vm]\nname = t\naccel = kvm\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n"
		     "[firmware]\nsmm = on\n[hyperv]\nstimer = yes\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(
		&x, LOG_ERR, "[vm] accel: kvm: KVM cannot run this VM here: the firmware probe",
		"stopped at x87 FPU set-up (FWAIT/FNINIT) in 32-bit protected mode with a KVM emulation failure (KVM_EXIT_INTERNAL_ERROR, suberror 1)");
	assert_diag(&x, LOG_ERR, "vmx or svm", "accel = auto");
	/* Not also "no SMM" and "no hv-stimer": one cause, one message. */
	assert_int_equal(count_level(&x, LOG_ERR), 1);
	run_done(&x);
}

static void test_accel_auto_tcg(void **state)
{
	struct run x;
	const struct plan_diag *d;

	(void)state;
	fx.f.kvm = (struct host_kvm){ .present = true, .usable = true, .guest_exit_reason = -1 };
	run_conf(&x, "[vm]\nname = t\naccel = auto\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n"
		     "[hyperv]\nstimer = yes\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_NOTICE, "auto: TCG, expect it to be slow: KVM is unusable here",
		    "did not get past its first instruction");
	assert_diag(&x, LOG_NOTICE, "[cpu] model (default)", "'max'");
	assert_diag(&x, LOG_NOTICE, "Hyper-V", "need KVM");
	assert_argv(&x, "-accel", "tcg,thread=multi");
	assert_argv(&x, "-cpu", "max");
	assert_false(argv_has(&x, "-global", "kvm-pit.lost_tick_policy=delay"));
	/* TCG emulates SMM: the Secure Boot firmware still fits. */
	assert_non_null(argv_value(&x, "-machine", "pc-q35-9.2,usb=off,smm=on,"));
	d = plan_diags_find(&x.d, "vm", "accel");
	assert_non_null(d);
	assert_int_equal(strncmp(d->msg + d->body, "auto: TCG", 9), 0);
	assert_null(plan_diags_find(&x.d, "vm", "name"));
	run_done(&x);
}

static void test_accel_auto_no_firmware(void **state)
{
	struct run x;

	(void)state;
	kvm_no_firmware(&fx.f.kvm);
	run_conf(&x, "[vm]\nname = t\naccel = auto\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_NOTICE, "t.conf:3: [vm] accel: auto: TCG, expect it to be slow",
		    "KVM emulation failure");
	assert_argv(&x, "-accel", "tcg,thread=multi");
	run_done(&x);
}

static void test_accel_auto_kvm(void **state)
{
	struct run x;

	(void)state;
	run_conf(&x, "[vm]\nname = t\naccel = auto\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_INFO, "t.conf:3: [vm] accel: auto: KVM, which is usable",
		    "KVM_CAP_X86_SMM is there");
	assert_argv(&x, "-accel", "kvm");
	run_done(&x);
}

/* KVM runs firmware but lacks SMM, which the Secure Boot firmware needs: TCG can. */
static void test_accel_auto_no_smm(void **state)
{
	struct run x;

	(void)state;
	fx.f.kvm.smm = false;
	run_conf(&x, "[vm]\nname = t\naccel = auto\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n"
		     "[firmware]\nsecure-boot = yes\n");
	assert_int_equal(x.r, 0);
	assert_diag(
		&x, LOG_NOTICE,
		"[vm] accel: auto: TCG, expect it to be slow: KVM here is usable without SMM, but cannot run this VM: the firmware",
		"needs System Management Mode to protect the Secure Boot variables");
	/* Under auto the advice does not suggest accel = auto again. */
	assert_false(has_diag(&x, LOG_NOTICE, "set accel", NULL));
	assert_argv(&x, "-accel", "tcg,thread=multi");
	assert_non_null(argv_value(&x, "-machine", "pc-q35-9.2,usb=off,smm=on,"));
	assert_int_equal(count_level(&x, LOG_ERR), 0);
	run_done(&x);

	/* Without Secure Boot the KVM without SMM runs it. */
	run_conf(&x, "[vm]\nname = t\naccel = auto\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n"
		     "[firmware]\nsecure-boot = no\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_INFO, "auto: KVM, which is usable without SMM", NULL);
	assert_argv(&x, "-accel", "kvm");
	run_done(&x);
}

/* A Hyper-V flag this KVM does not offer is a KVM limit too. */
static void test_accel_auto_hyperv(void **state)
{
	struct run x;

	(void)state;
	fx.f.kvm.hv_features_eax &= ~(1u << 3); /* no synthetic timers */
	run_conf(&x, "[vm]\nname = t\naccel = auto\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n"
		     "[hyperv]\nstimer = yes\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_NOTICE, "auto: TCG", "hv-stimer");
	assert_argv(&x, "-accel", "tcg,thread=multi");
	run_done(&x);
}

/* When the config cannot run under either, the KVM plan's errors are the ones shown. */
static void test_accel_auto_both_fail(void **state)
{
	struct run x;

	(void)state;
	fx.f.kvm.smm = false;
	run_conf(&x,
		 "[vm]\nname = t\naccel = auto\n[memory]\nsize = 1G\nnode = 7\n[cpu]\nvcpus = 2\n"
		 "[firmware]\nsecure-boot = yes\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_INFO, "auto: KVM, which is usable without SMM",
		    "TCG could not run it either");
	assert_diag(&x, LOG_ERR, "[memory] node", "does not exist");
	assert_diag(&x, LOG_ERR, "[firmware] secure-boot", "System Management Mode");
	run_done(&x);
}

/* QEMU's user cannot open /dev/kvm: KVM is out of reach whatever the probe says. */
static void test_accel_kvm_user_access(void **state)
{
	gid_t groups[] = { 998 };
	struct run x;

	(void)state;
	fx.f.kvm.have_owner = true;
	fx.f.kvm.dev_uid = 0;
	fx.f.kvm.dev_gid = 993;
	fx.f.kvm.dev_mode = 0660;
	fx.f.qemu_user = (struct host_user){
		.name = (char *)"gamevm", .uid = 998, .gid = 998, .groups = groups, .n_groups = 1
	};
	run_conf(&x, "[vm]\nname = t\naccel = kvm\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR,
		    "QEMU runs as 'gamevm', who cannot open '/dev/kvm' (uid 0, gid 993, mode 0660)",
		    "with QEMU's user in group kvm");
	run_done(&x);

	/* In the group: fine. */
	groups[0] = 993;
	run_conf(&x, "[vm]\nname = t\naccel = kvm\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, 0);
	run_done(&x);

	/* In the group, but the node is 0600: auto takes TCG and says how to fix it. */
	fx.f.kvm.dev_mode = 0600;
	run_conf(&x, "[vm]\nname = t\naccel = auto\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_NOTICE, "auto: TCG", "'chmod 0660 /dev/kvm'");
	run_done(&x);

	/* An ACL may grant what the mode does not: not refused on the mode alone. */
	fx.f.kvm.has_acl = true;
	run_conf(&x, "[vm]\nname = t\naccel = kvm\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, 0);
	run_done(&x);
	fx.f.qemu_user = (struct host_user){};
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
	/* Without SMM in KVM the only Secure Boot firmware does not fit: said as such. */
	fx.f.kvm.smm = false;
	run_conf(&x, base_conf);
	assert_int_equal(x.r, -EINVAL);
	assert_diag(
		&x, LOG_ERR, "[firmware] secure-boot (default): the firmware",
		"needs System Management Mode to protect the Secure Boot variables, and KVM on this host lacks it");
	assert_diag(&x, LOG_ERR, "KVM_CAP_X86_SMM is missing", "set accel = auto or tcg");
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
		    "gamevm start reserves the other 412 when the VM starts");
	assert_argv(
		&x, "-object",
		"memory-backend-file,id=pc.ram,size=1G,mem-path=/proc/self/fd/4,share=on,prealloc=off");
	assert_int_equal(x.p.prealloc_threads, 4);
	run_done(&x);
}

/*
 * The RAM is zeroed before QEMU starts by gamevm's threads on the CPUs the
 * VM is given, one thread per CPU; QEMU gets it as an fd.
 */
static void test_prealloc_cpus(void **state)
{
	struct run x;

	(void)state;
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\nhugepages = 2M\n[cpu]\nvcpus = 3\npin = 4,5,9\nhousekeeping = 0,16\n");
	assert_int_equal(x.r, 0);
	assert_int_equal(x.p.prealloc_threads, 5);
	assert_int_equal(x.p.n_prealloc_cpus, 5);
	assert_int_equal(x.p.prealloc_cpus[0], 0);
	assert_int_equal(x.p.prealloc_cpus[1], 4);
	assert_int_equal(x.p.prealloc_cpus[2], 5);
	assert_int_equal(x.p.prealloc_cpus[3], 9);
	assert_int_equal(x.p.prealloc_cpus[4], 16);
	assert_null(argv_value(&x, "-object", "thread-context"));
	assert_argv(
		&x, "-object",
		"memory-backend-file,id=pc.ram,size=1G,mem-path=/proc/self/fd/4,share=on,prealloc=off");
	run_done(&x);

	/* The memory's node: all of its CPUs, at most 16 threads. */
	fx.pools[1] = (struct host_hugepool){
		.page_size = 2ull << 20, .node = 0, .nr = 512, .free = 512
	};
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\nhugepages = 2M\nnode = 0\n[cpu]\nvcpus = 2\npin = 4,20\n");
	assert_int_equal(x.r, 0);
	assert_prealloc(&x, 16, 32, 0, 31);
	assert_argv(
		&x, "-object",
		"memory-backend-file,id=pc.ram,size=1G,mem-path=/proc/self/fd/4,share=on,prealloc=off,"
		"host-nodes=0,policy=bind");
	run_done(&x);

	/* More threads than CPUs: kept, with a word. */
	run_conf(
		&x,
		"[vm]\nname = t\n[memory]\nsize = 1G\nhugepages = 2M\nprealloc-threads = 40\n[cpu]\nvcpus = 2\npin = 4,20\nhousekeeping = 0\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_NOTICE,
		    "[memory] prealloc-threads: 40 threads to preallocate RAM on 3 CPUs",
		    "leave it at auto");
	assert_int_equal(x.p.prealloc_threads, 40);
	run_done(&x);

	/* Normal pages are not preallocated: no threads. */
	run_conf(&x, "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n");
	assert_int_equal(x.r, 0);
	assert_int_equal(x.p.prealloc_threads, 0);
	assert_null(x.p.prealloc_cpus);
	assert_argv(&x, "-object", "memory-backend-ram,id=pc.ram,size=1G");
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

/* TCG's max is AuthenticAMD without topoext: SMT shows only with GenuineIntel's leaf 0xB. */
static void test_tcg_smt_vendor(void **state)
{
	struct run x;

	(void)state;
	run_conf(&x, "[vm]\nname = t\naccel = tcg\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\n"
		     "threads = 2\n[hyperv]\nenabled = no\n");
	assert_int_equal(x.r, 0);
	assert_argv(&x, "-cpu", "max,vendor=GenuineIntel");
	assert_argv(&x, "-smp", "4,sockets=1,dies=1,clusters=1,cores=2,threads=2");
	assert_diag(&x, LOG_NOTICE, "[cpu] threads", "GenuineIntel");
	run_done(&x);

	/* One thread per core: nothing to show, the model stays as it is. */
	run_conf(&x, "[vm]\nname = t\naccel = tcg\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n"
		     "threads = 1\n[hyperv]\nenabled = no\n");
	assert_int_equal(x.r, 0);
	assert_argv(&x, "-cpu", "max");
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
		T(test_accel_kvm_no_firmware),
		T(test_accel_auto_tcg),
		T(test_tcg_smt_vendor),
		T(test_accel_auto_no_firmware),
		T(test_accel_auto_kvm),
		T(test_accel_auto_no_smm),
		T(test_accel_auto_hyperv),
		T(test_accel_auto_both_fail),
		T(test_accel_kvm_user_access),
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
		T(test_prealloc_cpus),
		T(test_memory_too_big),
		T(test_memory_plain_and_lock),
		T(test_hyperv_unsupported_yes),
		T(test_hyperv_auto_follows_kvm),
		T(test_hyperv_yes_needs_unsupported),
		T(test_hyperv_passthrough),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
