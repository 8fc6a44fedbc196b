/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * plan_build() and qemu_argv_build() for devices: PCI passthrough checks,
 * disks, NICs, balloon, extra arguments and SMBIOS, on the host facts of
 * plan-test-util.h.
 */
#include "plan-test-util.h"

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
		"driver=host_device,filename=/dev/fdset/1,node-name=disk0,aio=native,cache.direct=on,"
		"cache.no-flush=off,discard=unmap,detect-zeroes=unmap");
	assert_argv(
		&x, "-device",
		"scsi-hd,id=disk-os,drive=disk0,bus=scsi0.0,channel=0,scsi-id=0,lun=0,write-cache=on,bootindex=1");
	assert_argv(
		&x, "-blockdev",
		"driver=file,filename=/dev/fdset/2,node-name=disk1-file,aio=io_uring,cache.direct=off,cache.no-flush=off");
	/* The path is only a label of the fd set (commas doubled as anywhere else). */
	assert_argv(&x, "-add-fd", "fd=12,set=2,opaque=/vm/data,,1.qcow2");
	assert_argv(&x, "-add-fd", "fd=13,set=2,opaque=/vm/data,,1.qcow2");
	assert_argv(
		&x, "-blockdev",
		"driver=qcow2,file=disk1-file,node-name=disk1,cache.direct=off,cache.no-flush=off");
	assert_argv(
		&x, "-device",
		"virtio-blk-pci,id=disk-data,drive=disk1,bus=rp3,addr=0x0,iothread=iothread1,write-cache=on");
	assert_argv(
		&x, "-blockdev",
		"driver=file,filename=/dev/fdset/3,node-name=disk2,aio=threads,cache.direct=off,cache.no-flush=off,read-only=on");
	/* A CD-ROM: read-only, so only the read-only fd. */
	assert_argv(&x, "-add-fd", "fd=15,set=3,opaque=/iso/win11.iso");
	assert_false(argv_has(&x, "-add-fd", "fd=14,set=3,opaque=/iso/win11.iso"));
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
	/* gamevm opens the file; QEMU writes through the fd set. */
	assert_argv(&x, "-add-fd", "fd=5,set=999,opaque=/var/log/t,,serial.log");
	assert_argv(&x, "-chardev", "file,id=serial0,path=/dev/fdset/999");
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

/* The host's OEM licence tables and system UUID, for an OEM Windows licence. */
static void test_smbios_oem_activation(void **state)
{
	struct run x;

	(void)state;
	fx.f.dmi.acpi_msdm = true;
	fx.f.dmi.product_uuid = (char *)"03D502E0-045E-0519-4206-7A0700080009";
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[smbios]\nmode = host\n"
		 "oem-activation = yes\n");
	assert_int_equal(x.r, 0);
	assert_argv(&x, "-acpitable", "file=/proc/self/fd/6");
	assert_argv(&x, "-uuid", "03d502e0-045e-0519-4206-7a0700080009");
	assert_non_null(strstr(argv_value(&x, "-smbios", "type=1,"),
			       "uuid=03d502e0-045e-0519-4206-7a0700080009"));
	run_done(&x);

	/* Both tables (an older board with SLIC too): two fd sets. */
	fx.f.dmi.acpi_slic = true;
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[smbios]\nmode = host\n"
		 "oem-activation = yes\n");
	assert_argv(&x, "-acpitable", "file=/proc/self/fd/7");
	run_done(&x);

	/* No table on this board: the UUID alone, with a word. */
	fx.f.dmi.acpi_msdm = fx.f.dmi.acpi_slic = false;
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[smbios]\nmode = host\n"
		 "oem-activation = yes\n");
	assert_int_equal(x.r, 0);
	assert_diag(&x, LOG_WARNING, "[smbios] oem-activation", "no OEM licence table");
	assert_false(argv_has_opt(&x, "-acpitable"));
	assert_argv(&x, "-uuid", "03d502e0-045e-0519-4206-7a0700080009");
	run_done(&x);

	/* Not root: the UUID cannot be read, and that is an error, not another UUID. */
	fx.f.dmi.product_uuid = NULL;
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[smbios]\nmode = host\n"
		 "oem-activation = yes\n");
	assert_int_equal(x.r, -EINVAL);
	assert_diag(&x, LOG_ERR, "[smbios] oem-activation", "run gamevm as root");
	run_done(&x);

	/* Without oem-activation nothing of it. */
	fx.f.dmi.acpi_msdm = true;
	run_conf(&x,
		 "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n[smbios]\nmode = host\n");
	assert_false(argv_has_opt(&x, "-acpitable"));
	run_done(&x);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
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
		T(test_smbios_oem_activation),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
