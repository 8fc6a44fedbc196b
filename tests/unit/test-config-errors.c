/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile and malformed config files, one table row each: the text is
 * written to a file in a temporary directory (mode 0644 unless the row says
 * otherwise) and loaded with config_load(), the real entry point, which must
 * fail with exactly the row's message and error code. In the text and the
 * message, @F@ stands for the file's path and @D@ for its directory.
 *
 * Rows that change the file's owner need root; without it they are skipped
 * (test_owner_message covers the message itself without root).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config-internal.h"
#include "config.h"
#include "macro.h"

/* 6 lines that every row needs; the text under test starts at line 7. */
#define B "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\n"

#define SECTIONS                                                                                   \
	"[vm], [memory], [cpu], [hyperv], [firmware], [tpm], [smbios], [clock], [power], "         \
	"[watchdog], [devices], [qemu], [tuning], [input], [looking-glass], [audio], [disk NAME], [pci NAME], [net NAME] or [hook NAME]"
#define PIN_EXPECT  "one host CPU per vCPU in vCPU order, like 0,16,1,17 or 0-7, or auto"
#define HK_EXPECT   "host CPUs like 0-7,16-23 or 0,16,1,17, or auto"
#define NAME_EXPECT "1 to 32 characters from A-Z a-z 0-9 _ -, e.g. win11"
#define PATH_EXPECT                                                                                \
	"a file path without '..' components, absolute or relative to the config file's directory"
#define SMBIOS_EXPECT "up to 64 printable ASCII characters"
#define MAC_EXPECT    "a unicast MAC address like 52:54:00:12:34:56"
#define PCI_EXPECT    "a PCI address like 0000:0f:00.0 (see 'gamevm iommu')"
#define SIZE_EXPECT   "a size with a K, M, G or T suffix, e.g. 16G"

#define X10  "0123456789"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10

enum file_kind {
	FILE_TEXT,  /* text, len bytes (strlen when 0) */
	FILE_NONE,  /* no file at all */
	FILE_DIR,   /* a directory where the file should be */
	FILE_LARGE, /* comment lines, one byte over the limit */
};

struct row {
	const char *what;
	const char *text;
	const char *msg;
	int r; /* 0: -EINVAL */
	enum file_kind kind;
	size_t len;  /* FILE_TEXT with NUL bytes */
	mode_t mode; /* 0: 0644 */
	uid_t owner; /* 0: root's */
	/* FILE_TEXT: then repeat copies of tail, @N@ in it replaced by 0, 1, ... */
	const char *tail;
	unsigned repeat;
};

static const struct row rows[] = {
	/* ---- wrong types ------------------------------------------------- */
	{ "number as text", "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = four\n",
	  "@F@:6: [cpu] vcpus: 'four' is not valid; expected a whole number from 1 to 1024" },
	{ "negative number", "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = -4\n",
	  "@F@:6: [cpu] vcpus: '-4' is not valid; expected a whole number from 1 to 1024" },
	{ "hex number", B "iothreads = 0x2\n",
	  "@F@:7: [cpu] iothreads: '0x2' is not valid; expected a whole number from 0 to 64" },
	{ "number with a unit", B "[disk a]\npath = /a.raw\nboot-index = 1st\n",
	  "@F@:9: [disk a] boot-index: '1st' is not valid; expected a whole number from 1 to 99" },
	{ "boolean maybe", B "hide-hypervisor = maybe\n",
	  "@F@:7: [cpu] hide-hypervisor: 'maybe' is not valid; expected yes or no" },
	{ "boolean 2", B "[power]\ns3 = 2\n",
	  "@F@:8: [power] s3: '2' is not valid; expected yes or no" },
	{ "boolean y", B "[tuning]\ngovernor = y\n",
	  "@F@:8: [tuning] governor: 'y' is not valid; expected yes or no" },
	{ "tristate", B "[firmware]\nsmm = sometimes\n",
	  "@F@:8: [firmware] smm: 'sometimes' is not valid; expected yes, no or auto" },
	{ "size as text", "[vm]\nname = t\n[memory]\nsize = lots\n",
	  "@F@:4: [memory] size: 'lots' is not valid; expected " SIZE_EXPECT },
	{ "size with fraction", "[vm]\nname = t\n[memory]\nsize = 0.5T\n",
	  "@F@:4: [memory] size: '0.5T' is not valid; expected " SIZE_EXPECT },
	{ "enum typo", "[vm]\nname = t\n[memory]\nsize = 1G\nhugepages = 4M\n",
	  "@F@:5: [memory] hugepages: '4M' is not valid; expected none, 2M or 1G; did you mean '2M'?" },
	{ "enum unknown", B "[smbios]\nmode = fake\n",
	  "@F@:8: [smbios] mode: 'fake' is not valid; expected none, custom or host" },
	{ "quoted value", B "model = \"host\"\n",
	  "@F@:7: [cpu] model: '\"host\"' is not valid; expected host or a QEMU CPU model name like EPYC-v4; write values without quotes" },
	{ "key with a suffix", B "vcpus-x = 1\n",
	  "@F@:7: [cpu] vcpus-x: unknown key; did you mean 'vcpus'?" },
	{ "hash after value", B "iothreads = 2 # two\n",
	  "@F@:7: [cpu] iothreads: '2 # two' is not valid; expected a whole number from 0 to 64; note that inline comments start with ';', not '#'" },

	/* ---- out of range -------------------------------------------------- */
	{ "vcpus 0", "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 0\n",
	  "@F@:6: [cpu] vcpus: '0' is not valid; expected a whole number from 1 to 1024" },
	{ "vcpus huge", "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4294967296\n",
	  "@F@:6: [cpu] vcpus: '4294967296' is not valid; expected a whole number from 1 to 1024" },
	{ "vcpus beyond 64 bits",
	  "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 99999999999999999999999\n",
	  "@F@:6: [cpu] vcpus: '99999999999999999999999' is not valid; expected a whole number from 1 to 1024" },
	{ "sockets 0", B "sockets = 0\n",
	  "@F@:7: [cpu] sockets: '0' is not valid; expected a whole number from 1 to 1024" },
	{ "memory 0", "[vm]\nname = t\n[memory]\nsize = 0\n[cpu]\nvcpus = 1\n",
	  "@F@:4: [memory] size: 0 is too small; expected at least 128M" },
	{ "memory too large", "[vm]\nname = t\n[memory]\nsize = 17T\n[cpu]\nvcpus = 1\n",
	  "@F@:4: [memory] size: 17T is too large; expected at most 16T" },
	{ "memory overflows", "[vm]\nname = t\n[memory]\nsize = 99999999999T\n",
	  "@F@:4: [memory] size: '99999999999T' is not valid; expected " SIZE_EXPECT },
	{ "memory not whole MiB", "[vm]\nname = t\n[memory]\nsize = 134218752\n[cpu]\nvcpus = 1\n",
	  "@F@:4: [memory] size: 131073K is not a whole number of MiB; expected e.g. 16G or 8192M" },
	{ "memory vs 1G pages",
	  "[vm]\nname = t\n[memory]\nsize = 1536M\nhugepages = 1G\n[cpu]\nvcpus = 1\n",
	  "@F@:4: [memory] size: 1536M is not a multiple of the 1G hugepage size (hugepages, line 5); expected e.g. 2G" },
	{ "prealloc threads", "[vm]\nname = t\n[memory]\nsize = 1G\nprealloc-threads = 2000\n",
	  "@F@:5: [memory] prealloc-threads: '2000' is not valid; expected auto or a number of threads from 1 to 1024" },
	{ "prealloc threads zero", "[vm]\nname = t\n[memory]\nsize = 1G\nprealloc-threads = 0\n",
	  "@F@:5: [memory] prealloc-threads: '0' is not valid; expected auto or a number of threads from 1 to 1024" },
	{ "numa node", "[vm]\nname = t\n[memory]\nsize = 1G\nnode = 1024\n",
	  "@F@:5: [memory] node: '1024' is not valid; expected auto or a host NUMA node number (0, 1, ...)" },
	{ "iothreads 65", B "iothreads = 65\n",
	  "@F@:7: [cpu] iothreads: '65' is not valid; expected a whole number from 0 to 64" },
	{ "boot-index 0", B "[disk a]\npath = /a.raw\nboot-index = 0\n",
	  "@F@:9: [disk a] boot-index: '0' is not valid; expected a whole number from 1 to 99" },
	{ "stat-interval 0", B "[tuning]\nstat-interval = 0\n",
	  "@F@:8: [tuning] stat-interval: '0' is not valid; expected seconds from 1 to 3600, or keep" },
	{ "stat-interval 3601", B "[tuning]\nstat-interval = 3601\n",
	  "@F@:8: [tuning] stat-interval: '3601' is not valid; expected seconds from 1 to 3600, or keep" },
	{ "spinlocks below minimum", B "[hyperv]\nspinlocks = 4094\n",
	  "@F@:8: [hyperv] spinlocks: 4094 retries is below Hyper-V's minimum; expected at least 4095 (e.g. 8191), or off" },
	{ "vnc display 100", B "[devices]\ndisplay = std\nvnc = 127.0.0.1:100\n",
	  "@F@:9: [devices] vnc: '127.0.0.1:100' is not valid; expected ADDRESS:DISPLAY like 127.0.0.1:0 (display 0 to 99)" },
	{ "bios-release 256", B "[smbios]\nbios-release = 256.0\n",
	  "@F@:8: [smbios] bios-release: '256.0' is not valid; expected MAJOR.MINOR with each part 0 to 255, e.g. 5.17" },
	{ "iothread above iothreads", B "iothreads = 1\n[disk a]\npath = /a.raw\niothread = 2\n",
	  "@F@:10: [disk a] iothread: 2, but [cpu] iothreads = 1 (line 7); expected 1 to 1, or 0 for QEMU's main loop" },

	/* ---- duplicates ---------------------------------------------------- */
	{ "key twice", "[vm]\nname = a\nname = b\n",
	  "@F@:3: [vm] name: set twice (first on line 2); expected each key once per section" },
	{ "plain section twice", B "[tuning]\ngovernor = no\n[tuning]\n",
	  "@F@:9: [tuning]: section appears twice (first on line 7); expected all its keys in one [tuning] section" },
	{ "named section twice", B "[pci gpu]\naddress = 0f:00.0\n[pci gpu]\n",
	  "@F@:9: [pci gpu]: name used twice (first on line 7); expected a different name for each [pci NAME]" },
	{ "image twice, relative and absolute",
	  B "[disk a]\npath = a.raw\n[disk b]\npath = @D@/a.raw\n",
	  "@F@:10: [disk b] path: '@D@/a.raw' is already used by [disk a] (line 7); expected each image once" },
	{ "device twice", B "[pci a]\naddress = 0f:00.0\n[pci b]\naddress = 0000:0F:00.0\n",
	  "@F@:10: [pci b] address: 0000:0f:00.0 is already passed through by [pci a] (line 7); expected each device once" },
	{ "MAC twice", B "[net a]\nmac = 52:54:00:12:34:56\n[net b]\nmac = 52:54:00:12:34:56\n",
	  "@F@:10: [net b] mac: 52:54:00:12:34:56 is also used by [net a]; expected a different MAC for each NIC" },
	{ "boot index twice",
	  B "[disk a]\npath = /a.raw\nboot-index = 1\n[disk b]\npath = /b.raw\nboot-index = 1\n",
	  "@F@:12: [disk b] boot-index: 1 is also used by [disk a]; expected a different number for each disk" },
	{ "feature twice", B "features = topoext -topoext\n",
	  "@F@:7: [cpu] features: 'topoext' is listed twice; expected each feature once" },
	{ "primary display twice",
	  "[vm]\nname = t\nsingle-gpu = yes\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\n"
	  "[pci a]\naddress = 03:00.0\nprimary-display = yes\n"
	  "[pci b]\naddress = 04:00.0\nprimary-display = yes\n",
	  "@F@:13: [pci b] primary-display: yes, but [pci a] is the primary display already; expected one primary display" },

	/* ---- unknown keys and sections ------------------------------------- */
	{ "key typo", "[vm]\nnmae = t\n", "@F@:2: [vm] nmae: unknown key; did you mean 'name'?" },
	{ "QEMU spelling", B "[hyperv]\nhv-relaxed = yes\n",
	  "@F@:8: [hyperv] hv-relaxed: unknown key; did you mean 'relaxed'?" },
	{ "key of another section", B "[net lan]\naddress = 0f:00.0\n",
	  "@F@:8: [net lan] address: unknown key in this section; expected it in [pci NAME]" },
	{ "key unknown everywhere", B "[tuning]\nnohz = yes\n",
	  "@F@:8: [tuning] nohz: unknown key; expected governor, cstates, irq-affinity, workqueues, cpusets, thp-defrag or stat-interval" },
	{ "upper-case section", "[VM]\nname = t\n",
	  "@F@:1: [VM]: unknown section; expected " SECTIONS "; did you mean '[vm]'?" },
	{ "named section typo", B "[pic gpu]\n",
	  "@F@:7: [pic gpu]: unknown section; expected " SECTIONS "; did you mean '[pci gpu]'?" },
	{ "unknown section", B "[libvirt]\n",
	  "@F@:7: [libvirt]: unknown section; expected " SECTIONS },
	{ "empty section header", B "[]\n", "@F@:7: []: unknown section; expected " SECTIONS },
	{ "key outside a section", "accel = kvm\n[vm]\nname = t\n",
	  "@F@:1: 'accel' is outside any section; expected it below a [section] header such as [vm]" },

	/* ---- conflicting options ------------------------------------------- */
	{ "vendor-id with Hyper-V off", B "[hyperv]\nenabled = no\nvendor-id = AuthenticAMD\n",
	  "@F@:9: [hyperv] vendor-id: set, but enabled = no (line 8); expected it removed, or enabled = yes" },
	{ "flag off under passthrough", B "[hyperv]\npassthrough = yes\nrelaxed = no\n",
	  "@F@:9: [hyperv] relaxed: no, but [hyperv] passthrough = yes (line 8) turns on every flag KVM offers; expected passthrough = no to choose flags one by one" },
	{ "ipi without vpindex", B "[hyperv]\nipi = yes\nvpindex = no\n",
	  "@F@:8: [hyperv] ipi: needs vpindex, which is off ([hyperv] vpindex, line 9); expected vpindex on, or ipi = no" },
	{ "BIOS with vars", B "[firmware]\ntype = bios\nsecure-boot = no\nvars = /v.fd\n",
	  "@F@:10: [firmware] vars: set, but type = bios has no NVRAM; expected only code (the BIOS image) with type = bios" },
	{ "enrolled keys without Secure Boot",
	  B "[firmware]\nsecure-boot = no\nenrolled-keys = yes\n",
	  "@F@:9: [firmware] enrolled-keys: yes, but Secure Boot is off ([firmware] secure-boot); expected secure-boot = yes, or enrolled-keys = no or auto" },
	{ "serial-path without file", B "[devices]\nserial = pty\nserial-path = /s.log\n",
	  "@F@:9: [devices] serial-path: set, but serial = pty; expected serial = file, or no serial-path" },
	{ "tap in user mode", B "[net lan]\ntap = tap0\n",
	  "@F@:8: [net lan] tap: set, but mode = user; expected mode = tap, or no tap" },
	{ "romfile with rombar off",
	  B "[pci gpu]\naddress = 0f:00.0\nrombar = no\nromfile = /r.rom\n",
	  "@F@:10: [pci gpu] romfile: set, but rombar = no (line 9) hides the ROM; expected rombar = yes, or no romfile" },
	{ "writable CD-ROM", B "[disk iso]\npath = /w.iso\nmedia = cdrom\nreadonly = no\n",
	  "@F@:10: [disk iso] readonly: no, but a CD-ROM is always read-only; expected readonly = yes, or media = disk" },
	{ "SATA on an iothread",
	  B "iothreads = 1\n[disk a]\npath = /a.raw\nbus = sata\niothread = 1\n",
	  "@F@:11: [disk a] iothread: 1, but SATA disks run in QEMU's main loop; expected iothread = 0, or bus = virtio-blk or virtio-scsi" },
	{ "topology product", B "sockets = 2\ncores = 4\n",
	  "@F@:8: [cpu] cores: sockets 2 x dies 1 x cores 4 x threads 1 = 8 but vcpus = 4 (line 6); expected a product equal to vcpus" },
	{ "pin count", B "pin = 0,1\n",
	  "@F@:7: [cpu] pin: 2 CPUs listed but vcpus = 4 (line 6); list one host CPU per vCPU" },
	{ "cache passthrough without host", B "model = max\ncache-passthrough = yes\n",
	  "@F@:8: [cpu] cache-passthrough: needs model = host, but model = max (line 7); expected cache-passthrough = no or model = host" },

	/* ---- missing files and required keys ------------------------------- */
	{ "no config file", NULL, "cannot open '@F@': No such file or directory", -ENOENT,
	  FILE_NONE },
	{ "config is a directory", NULL, "cannot read '@F@': Is a directory", -EISDIR, FILE_DIR },
	{ "config too large", NULL,
	  "@F@: file is larger than 1048576 bytes; expected a config file", -EFBIG, FILE_LARGE },
	{ "NUL byte", "[vm]\nname = t\0\n", "@F@:2: NUL byte; expected a text file", .len = 14 },
	{ "empty file", "", "@F@: [vm] name: missing; expected " NAME_EXPECT },
	{ "no vcpus", "[vm]\nname = t\n[memory]\nsize = 1G\n",
	  "@F@: [cpu] vcpus: missing; expected a whole number from 1 to 1024" },
	{ "disk without path", B "[disk system]\nformat = qcow2\n",
	  "@F@:7: [disk system] path: missing; expected " PATH_EXPECT },
	{ "pci without address", B "[pci gpu]\nmanaged = no\n",
	  "@F@:7: [pci gpu] address: missing; expected " PCI_EXPECT },
	{ "firmware vars without code", B "[firmware]\nvars = /usr/share/OVMF/OVMF_VARS_4M.fd\n",
	  "@F@:8: [firmware] vars: set without code; expected both code and vars, or neither to pick them from the QEMU firmware descriptors" },
	{ "serial file without path", B "[devices]\nserial = file\n",
	  "@F@:8: [devices] serial: file, but serial-path is missing; expected serial-path = /absolute/path in [devices]" },
	{ "bridge mode without bridge", B "[net lan]\nmode = bridge\n",
	  "@F@:8: [net lan] mode: bridge, but no bridge is named; expected bridge = br0 (your host bridge) in [net lan]" },

	/* ---- PCI addresses -------------------------------------------------- */
	{ "PCI function 8", B "[pci gpu]\naddress = 0000:0f:00.8\n",
	  "@F@:8: [pci gpu] address: '0000:0f:00.8' is not valid; expected " PCI_EXPECT },
	{ "PCI domain too long", B "[pci gpu]\naddress = 00000:0f:00.0\n",
	  "@F@:8: [pci gpu] address: '00000:0f:00.0' is not valid; expected " PCI_EXPECT },
	{ "PCI bus too long", B "[pci gpu]\naddress = 0000:100:00.0\n",
	  "@F@:8: [pci gpu] address: '0000:100:00.0' is not valid; expected " PCI_EXPECT },
	{ "PCI slot 0x20", B "[pci gpu]\naddress = 0f:20.0\n",
	  "@F@:8: [pci gpu] address: '0f:20.0' is not valid; expected " PCI_EXPECT },
	{ "PCI not hex", B "[pci gpu]\naddress = 0000:0g:00.0\n",
	  "@F@:8: [pci gpu] address: '0000:0g:00.0' is not valid; expected " PCI_EXPECT },
	{ "PCI without function", B "[pci gpu]\naddress = 0000:0f:00\n",
	  "@F@:8: [pci gpu] address: '0000:0f:00' is not valid; expected " PCI_EXPECT },
	{ "PCI trailing text", B "[pci gpu]\naddress = 0000:0f:00.0x\n",
	  "@F@:8: [pci gpu] address: '0000:0f:00.0x' is not valid; expected " PCI_EXPECT },
	{ "PCI sysfs path", B "[pci gpu]\naddress = /sys/bus/pci/devices/0000:0f:00.0\n",
	  "@F@:8: [pci gpu] address: '/sys/bus/pci/devices/0000:0f:00.0' is not valid; expected " PCI_EXPECT },
	{ "all-functions on function 1", B "[pci gpu]\naddress = 0f:00.1\nall-functions = yes\n",
	  "@F@:9: [pci gpu] all-functions: yes, but address 0000:0f:00.1 is not function 0 of its slot; expected address = 0000:0f:00.0" },

	/* ---- CPU lists -------------------------------------------------------- */
	{ "open range", B "pin = 0-\n",
	  "@F@:7: [cpu] pin: '0-' is not a CPU list; expected " PIN_EXPECT },
	{ "reversed range", B "pin = 5-3\n",
	  "@F@:7: [cpu] pin: '5-3' is not a CPU list; expected " PIN_EXPECT },
	{ "letters", B "housekeeping = a,b\n",
	  "@F@:7: [cpu] housekeeping: 'a,b' is not a CPU list; expected " HK_EXPECT },
	{ "empty item", B "housekeeping = 0,,1\n",
	  "@F@:7: [cpu] housekeeping: '0,,1' is not a CPU list; expected " HK_EXPECT },
	{ "trailing comma", B "pin = 0,1,2,\n",
	  "@F@:7: [cpu] pin: '0,1,2,' is not a CPU list; expected " PIN_EXPECT },
	{ "negative CPU", B "pin = -1\n",
	  "@F@:7: [cpu] pin: '-1' is not a CPU list; expected " PIN_EXPECT },
	{ "CPU above 4095", B "housekeeping = 0-4096\n",
	  "@F@:7: [cpu] housekeeping: '0-4096' names a CPU above 4095; expected " HK_EXPECT },
	{ "CPU overflows", B "pin = 99999999999999999999\n",
	  "@F@:7: [cpu] pin: '99999999999999999999' names a CPU above 4095; expected " PIN_EXPECT },
	{ "housekeeping CPU twice", B "housekeeping = 1-2,2\n",
	  "@F@:7: [cpu] housekeeping: '1-2,2' lists a CPU twice; expected each host CPU once" },

	/* ---- VM names --------------------------------------------------------- */
	{ "name escapes upwards", "[vm]\nname = ../x\n",
	  "@F@:2: [vm] name: '../x' is not valid; expected " NAME_EXPECT },
	{ "name with a slash", "[vm]\nname = a/b\n",
	  "@F@:2: [vm] name: 'a/b' is not valid; expected " NAME_EXPECT },
	{ "name is absolute", "[vm]\nname = /etc\n",
	  "@F@:2: [vm] name: '/etc' is not valid; expected " NAME_EXPECT },
	{ "name dot", "[vm]\nname = .\n",
	  "@F@:2: [vm] name: '.' is not valid; expected " NAME_EXPECT },
	{ "name dot-dot", "[vm]\nname = ..\n",
	  "@F@:2: [vm] name: '..' is not valid; expected " NAME_EXPECT },
	{ "name hidden", "[vm]\nname = .win11\n",
	  "@F@:2: [vm] name: '.win11' is not valid; expected " NAME_EXPECT },
	{ "name leading dash", "[vm]\nname = -rf\n",
	  "@F@:2: [vm] name: '-rf' starts with '-', which 'gamevm stop -rf' would take for an option; expected a name that starts with a letter, a digit or '_', e.g. win11" },
	{ "name too long",
	  "[vm]\nname = "
	  "abcdefghijklmnopqrstuvwxyz0123456"
	  "\n",
	  "@F@:2: [vm] name: 'abcdefghijklmnopqrstuvwxyz0123456' is 33 characters; expected at most 32, e.g. win11" },
	{ "name non-ASCII", "[vm]\nname = w\xc3\xadn11\n",
	  "@F@:2: [vm] name: 'w\xc3\xadn11' is not valid; expected " NAME_EXPECT },
	{ "name empty", "[vm]\nname =\n", "@F@:2: [vm] name: no value; expected " NAME_EXPECT },
	{ "name with escape sequence", "[vm]\nname = a\x1b[31m\n",
	  "@F@:2: control character 0x1b at column 9; expected plain text" },
	{ "name with DEL", "[vm]\nname = a\x7f\n",
	  "@F@:2: control character 0x7f at column 9; expected plain text" },
	{ "name with a space", "[vm]\nname = win 11\n",
	  "@F@:2: [vm] name: 'win 11' is not valid; expected " NAME_EXPECT },
	{ "section name with a slash", B "[disk ../etc]\n",
	  "@F@:7: [disk ../etc]: '../etc' is not a valid name; expected 1 to 32 characters from A-Z a-z 0-9 _ -" },

	/* ---- lines ------------------------------------------------------------ */
	{ "line of 200 bytes", B "[qemu]\nextra = " X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 "01\n",
	  "@F@:8: line longer than 199 bytes (200 bytes); expected shorter lines (libinih's limit): split long [qemu] extra values over several 'extra =' lines" },
	{ "long comment", B "; " X100 X100 X100 "\n",
	  "@F@:7: line longer than 199 bytes (302 bytes); expected shorter lines (libinih's limit): split long [qemu] extra values over several 'extra =' lines" },
	{ "carriage return inside a line", B "iothreads = 1\r2\n",
	  "@F@:7: control character 0x0d at column 14; expected plain text" },
	{ "words without '='", B "pin 0-3\n",
	  "@F@:7: 'pin 0-3': expected 'key = value', a [section] header or a comment" },
	{ "no key name", B "= 4\n", "@F@:7: [cpu]: line has no key name; expected 'key = value'" },
	{ "text after section", B "[tuning] governor = no\n",
	  "@F@:7: '[tuning] governor = no': text after ']'; expected only a section header on this line" },
	{ "plain section with a name", B "[clock rtc]\n",
	  "@F@:7: '[clock rtc]': [clock] takes no name; expected [clock]" },

	{ "too many extra arguments", B "[qemu]\n",
	  "@F@:110: [qemu] extra: more than 1024 arguments in all; expected a few options that gamevm does not generate",
	  .tail = "extra = -a -b -c -d -e -f -g -h -i -j\n", .repeat = 103 },
	{ "too many disks", B,
	  "@F@:135: [disk d64]: more than 64 [disk NAME] sections; expected fewer",
	  .tail = "[disk d@N@]\npath = /d@N@.raw\n", .repeat = 65 },

	/* ---- MAC addresses ---------------------------------------------------- */
	{ "MAC too short", B "[net lan]\nmac = 52:54:00:12:34\n",
	  "@F@:8: [net lan] mac: '52:54:00:12:34' is not valid; expected " MAC_EXPECT },
	{ "MAC with dashes", B "[net lan]\nmac = 52-54-00-12-34-56\n",
	  "@F@:8: [net lan] mac: '52-54-00-12-34-56' is not valid; expected " MAC_EXPECT },
	{ "MAC not hex", B "[net lan]\nmac = 52:54:00:12:34:5g\n",
	  "@F@:8: [net lan] mac: '52:54:00:12:34:5g' is not valid; expected " MAC_EXPECT },
	{ "MAC all zero", B "[net lan]\nmac = 00:00:00:00:00:00\n",
	  "@F@:8: [net lan] mac: '00:00:00:00:00:00' is not valid; expected " MAC_EXPECT },
	{ "MAC broadcast", B "[net lan]\nmac = ff:ff:ff:ff:ff:ff\n",
	  "@F@:8: [net lan] mac: 'ff:ff:ff:ff:ff:ff' is a multicast address (first byte is odd); expected a unicast MAC like 52:54:00:12:34:56" },

	/* ---- SMBIOS ----------------------------------------------------------- */
	{ "SMBIOS string too long",
	  B "[smbios]\nsystem-product = " X10 X10 X10 X10 X10 X10 "12345\n",
	  "@F@:8: [smbios] system-product: '" X10 X10 X10 X10 X10 X10
	  "12345' is 65 characters; expected at most 64" },
	{ "SMBIOS non-ASCII", B "[smbios]\nsystem-manufacturer = Caf\xc3\xa9\n",
	  "@F@:8: [smbios] system-manufacturer: 'Caf\xc3\xa9' is not valid; expected " SMBIOS_EXPECT },
	{ "SMBIOS date month 13", B "[smbios]\nbios-date = 13/01/2023\n",
	  "@F@:8: [smbios] bios-date: '13/01/2023' is not valid; expected a date as MM/DD/YYYY, e.g. 06/05/2023" },
	{ "SMBIOS ISO date", B "[smbios]\nbios-date = 2023-06-05\n",
	  "@F@:8: [smbios] bios-date: '2023-06-05' is not valid; expected a date as MM/DD/YYYY, e.g. 06/05/2023" },
	{ "SMBIOS release without minor", B "[smbios]\nbios-release = 5\n",
	  "@F@:8: [smbios] bios-release: '5' is not valid; expected MAJOR.MINOR with each part 0 to 255, e.g. 5.17" },
	{ "SMBIOS field with mode none", B "[smbios]\nmode = none\nbios-vendor = AMI\n",
	  "@F@:9: [smbios] bios-vendor: set, but mode = none (line 8) ignores it; expected mode = custom or host" },

	/* ---- paths ------------------------------------------------------------ */
	{ "relative path leaves the directory", B "[disk a]\npath = ../images/win.raw\n",
	  "@F@:8: [disk a] path: '../images/win.raw' has a '..' component; expected a path below the config file's directory (@D@) or an absolute path, without '..' components" },
	{ "relative path with '..' inside", B "[disk a]\npath = images/../../win.raw\n", "@F@:8: [disk a] path: 'images/../../win.raw' has a '..' component; expected a path below the config file's directory (@D@) or an absolute path, without '..' components" },
	{ "home directory", B "[pci gpu]\naddress = 0f:00.0\nromfile = ~/gpu.rom\n",
	  "@F@:9: [pci gpu] romfile: '~/gpu.rom' starts with '~', which gamevm does not expand; expected an absolute path, or a path relative to the config file's directory" },
	{ "absolute path with '..'", B "[disk a]\npath = /var/lib/../../etc/shadow\n",
	  "@F@:8: [disk a] path: '/var/lib/../../etc/shadow' is not a usable path; expected an absolute path without '..' components" },
	{ "path is a directory", B "[disk a]\npath = /var/lib/gamevm/\n",
	  "@F@:8: [disk a] path: '/var/lib/gamevm/' names a directory; expected the path of a file" },
	{ "relative path is the directory", B "[devices]\nserial = file\nserial-path = ./\n",
	  "@F@:9: [devices] serial-path: '@D@/' names a directory; expected the path of a file" },
	{ "path with a tab", B "[firmware]\ncode = /a\tb.fd\nvars = /v.fd\n",
	  "@F@:8: [firmware] code: '/a\tb.fd' contains a tab; expected a path without tabs" },
	{ "qemu-binary with '..'", "[vm]\nname = t\nqemu-binary = bin/../qemu\n",
	  "@F@:3: [vm] qemu-binary: 'bin/../qemu' has a '..' component; expected a path below the config file's directory (@D@) or an absolute path, without '..' components" },
	{ "qemu-binary with a space", "[vm]\nname = t\nqemu-binary = qemu system\n",
	  "@F@:3: [vm] qemu-binary: 'qemu system' is not valid; expected a program name looked up in PATH (qemu-system-x86_64) or a file path" },

	/* ---- other values ----------------------------------------------------- */
	{ "vendor-id non-ASCII", B "[hyperv]\nvendor-id = \xc3\xa9t\xc3\xa9\n",
	  "@F@:8: [hyperv] vendor-id: '\xc3\xa9t\xc3\xa9' is not valid; expected 1 to 12 printable ASCII characters, e.g. AuthenticAMD" },
	{ "disk serial too long", B "[disk a]\npath = /a.raw\nserial = " X10 X10 "1\n",
	  "@F@:9: [disk a] serial: '" X10 X10
	  "1' is 21 characters; expected at most 20 (the virtio-blk and ATA limit)" },
	{ "bridge with a slash", B "[net lan]\nmode = bridge\nbridge = br/0\n",
	  "@F@:9: [net lan] bridge: 'br/0' is not valid; expected a Linux bridge name like br0 (at most 15 characters)" },
	{ "tap named ..", B "[net lan]\nmode = tap\ntap = ..\n",
	  "@F@:9: [net lan] tap: '..' is not valid; expected a Linux tap interface name like tap0 (at most 15 characters)" },
	{ "UUID without dashes", "[vm]\nname = t\nuuid = 8c3d4d528d0b4a5e9c1f6a2b3c4d5e6f\n",
	  "@F@:3: [vm] uuid: '8c3d4d528d0b4a5e9c1f6a2b3c4d5e6f' is not valid; expected a UUID like 8c3d4d52-8d0b-4a5e-9c1f-6a2b3c4d5e6f" },
	{ "QEMU as root", "[vm]\nname = t\nuser = root\n",
	  "@F@:3: [vm] user: root would give QEMU back every privilege gamevm drops; expected an unprivileged user (the default is gamevm)" },
	{ "user with upper case", "[vm]\nname = t\nuser = QEMU\n",
	  "@F@:3: [vm] user: 'QEMU' is not valid; expected a Linux user name like qemu (lower case, digits, _ and -, at most 32)" },
	{ "i440fx machine", "[vm]\nname = t\nmachine = pc\n",
	  "@F@:3: [vm] machine: 'pc' is not valid; expected q35 or a versioned Q35 machine like pc-q35-9.2" },
	{ "TPM 1.2", B "[tpm]\nversion = 1.2\n",
	  "@F@:8: [tpm] version: TPM 1.2 is not supported (Windows 11 needs TPM 2.0); expected 2.0" },
	{ "kvm as a feature", B "features = -kvm\n",
	  "@F@:7: [cpu] features: '-kvm' is not a CPU feature here; expected hide-hypervisor = yes in [cpu] to hide KVM" },
	{ "Hyper-V flag as a feature", B "features = hv-relaxed\n",
	  "@F@:7: [cpu] features: 'hv-relaxed' is a Hyper-V enlightenment; expected it in [hyperv] (e.g. 'relaxed = yes')" },
	{ "feature with a slash", B "features = ../x\n",
	  "@F@:7: [cpu] features: '../x' is not a CPU feature name; expected names like 'topoext invtsc -svm'" },
	{ "CPU model with options", B "model = host,kvm=off\n",
	  "@F@:7: [cpu] model: 'host,kvm=off' is not valid; expected host or a QEMU CPU model name like EPYC-v4" },
	{ "VNC on all interfaces with junk",
	  B "[devices]\ndisplay = std\nvnc = 0.0.0.0:0,password=on\n",
	  "@F@:9: [devices] vnc: '0.0.0.0:0,password=on' is not valid; expected ADDRESS:DISPLAY like 127.0.0.1:0 (display 0 to 99)" },

	/* ---- who may write the file (root only) --------------------------------- */
	{ "group-writable", B,
	  "@F@: owned by root with mode 0664, so group root can change it, and gamevm runs as root; expected a file only root can write: chmod go-w @F@",
	  -EPERM, .mode = 0664 },
	{ "world-writable", B,
	  "@F@: owned by root with mode 0666, so every user can change it, and gamevm runs as root; expected a file only root can write: chmod go-w @F@",
	  -EPERM, .mode = 0666 },
	{ "owned by another user", B,
	  "@F@: owned by uid 4242 with mode 0644, so uid 4242 can change it, and gamevm runs as root; expected a file only root can write: chown root: @F@",
	  -EPERM, .owner = 4242 },
	{ "owned by another user, group-writable", B,
	  "@F@: owned by uid 4242 with mode 0660, so uid 4242 and group root can change it, and gamevm runs as root; expected a file only root can write: chown root: @F@ && chmod go-w @F@",
	  -EPERM, .mode = 0660, .owner = 4242 },
};

static char tmpdir[PATH_MAX];

static int setup(void **state)
{
	char tmpl[] = "/tmp/gamevm-test-config-errors-XXXXXX";
	char *real;

	(void)state;
	if (!mkdtemp(tmpl))
		return -1;
	real = realpath(tmpl, NULL);
	if (!real)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", real);
	free(real);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * tmpl with @F@ (and @N@) replaced by file and @D@ by the directory; len is
 * tmpl's length (it may hold NULs).
 */
static char *subst(const char *tmpl, size_t len, const char *file, size_t *ret_len)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	assert_non_null(f);
	for (size_t i = 0; i < len; i++) {
		if (i + 3 <= len && memcmp(tmpl + i, "@F@", 3) == 0) {
			fputs(file, f);
			i += 2;
		} else if (i + 3 <= len && memcmp(tmpl + i, "@N@", 3) == 0) {
			fputs(file, f);
			i += 2;
		} else if (i + 3 <= len && memcmp(tmpl + i, "@D@", 3) == 0) {
			fputs(tmpdir, f);
			i += 2;
		} else {
			fputc(tmpl[i], f);
		}
	}
	assert_int_equal(fclose(f), 0);
	if (ret_len)
		*ret_len = n;
	return out;
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static bool run_row(const struct row *row, size_t index)
{
	_cleanup_(config_error_done) struct config_error e = { 0 };
	_cleanup_free_ char *path = NULL, *msg = NULL;
	struct vm_config *c = NULL;
	int r, want = row->r ? row->r : -EINVAL;

	assert_true(asprintf(&path, "%s/row-%03zu.conf", tmpdir, index) > 0);
	switch (row->kind) {
	case FILE_TEXT: {
		size_t len = row->len ? row->len : strlen(row->text), n;
		_cleanup_free_ char *text = subst(row->text, len, path, &n);

		for (unsigned i = 0; i < row->repeat; i++) {
			_cleanup_free_ char *num = NULL, *t = NULL, *more = NULL;
			size_t m;

			assert_true(asprintf(&num, "%u", i) > 0);
			t = subst(row->tail, strlen(row->tail), num, &m);
			assert_true(asprintf(&more, "%s%s", text, t) > 0);
			free(text);
			text = TAKE_PTR(more);
			n += m;
		}

		write_file(path, text, n, row->mode ? row->mode : 0644);
		if (row->owner)
			assert_int_equal(chown(path, row->owner, (gid_t)-1), 0);
		break;
	}
	case FILE_NONE:
		break;
	case FILE_DIR:
		assert_int_equal(mkdir(path, 0755), 0);
		break;
	case FILE_LARGE: {
		size_t len = (1u << 20) + 1;
		_cleanup_free_ char *text = malloc(len);

		assert_non_null(text);
		for (size_t i = 0; i < len; i++)
			text[i] = i % 64 == 63 ? '\n' : i % 64 == 0 ? ';' : 'x';
		write_file(path, text, len, 0644);
		break;
	}
	}
	msg = subst(row->msg, strlen(row->msg), path, NULL);

	r = config_load(path, &c, &e);
	if (r == 0) {
		config_free(c);
		print_error("row %zu (%s): loaded, expected: %s\n", index, row->what, msg);
		return false;
	}
	if (r != want || !e.msg || !streq(e.msg, msg) || c) {
		print_error("row %zu (%s):\n  got      %d '%s'\n  expected %d '%s'\n", index,
			    row->what, r, strna(e.msg), want, msg);
		return false;
	}
	return true;
}

static void test_table(void **state)
{
	bool root = geteuid() == 0;
	size_t skipped = 0, failed = 0;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		/* Without root the owner check is off and chown fails. */
		if (!root && (rows[i].r == -EPERM || rows[i].owner)) {
			skipped++;
			continue;
		}
		failed += !run_row(&rows[i], i);
	}
	printf("%zu rows, %zu skipped (they need root), %zu failed\n", ELEMENTSOF(rows), skipped,
	       failed);
	assert_true(ELEMENTSOF(rows) >= 60);
	assert_int_equal(failed, 0);
}

/* The message of the owner check, with made-up file facts (no root needed). */
static void test_owner_message(void **state)
{
	struct stat st = { .st_uid = 0, .st_gid = 0, .st_mode = S_IFREG | 0644 };
	_cleanup_free_ char *msg = NULL;

	(void)state;
	assert_int_equal(config_file_check_owner("/etc/gamevm/a.conf", &st, (uid_t)-1, &msg), 0);
	assert_null(msg);
	st.st_mode = S_IFREG | 0600;
	assert_int_equal(config_file_check_owner("/etc/gamevm/a.conf", &st, (uid_t)-1, &msg), 0);
	st.st_mode = S_IFREG | 0444;
	assert_int_equal(config_file_check_owner("/etc/gamevm/a.conf", &st, (uid_t)-1, &msg), 0);

	st.st_mode = S_IFREG | 0646;
	assert_int_equal(config_file_check_owner("/etc/gamevm/my vm's.conf", &st, (uid_t)-1, &msg),
			 -EPERM);
	assert_string_equal(
		msg,
		"/etc/gamevm/my vm's.conf: owned by root with mode 0646, so every user can change it, and gamevm runs as root; expected a file only root can write: chmod go-w '/etc/gamevm/my vm'\\''s.conf'");
	free(TAKE_PTR(msg));

	st.st_uid = 4242;
	st.st_gid = 4243;
	st.st_mode = S_IFREG | 0620;
	assert_int_equal(config_file_check_owner("win11.conf", &st, (uid_t)-1, &msg), -EPERM);
	assert_string_equal(
		msg,
		"win11.conf: owned by uid 4242 with mode 0620, so uid 4242 and group 4243 can change it, and gamevm runs as root; expected a file only root can write: chown root: win11.conf && chmod go-w win11.conf");
	free(TAKE_PTR(msg));

	st.st_mode = S_IFREG | 0600;
	assert_int_equal(config_file_check_owner("/c", &st, (uid_t)-1, &msg), -EPERM);
	assert_string_equal(
		msg,
		"/c: owned by uid 4242 with mode 0600, so uid 4242 can change it, and gamevm runs as root; expected a file only root can write: chown root: /c");
	free(TAKE_PTR(msg));

	/* The file of the user who ran sudo: theirs to change, as root is theirs to be. */
	st.st_mode = S_IFREG | 0644;
	assert_int_equal(config_file_check_owner("/c", &st, 4242, &msg), 0);
	assert_null(msg);
	/* ...but not when their group or everyone can write it too. */
	st.st_mode = S_IFREG | 0664;
	assert_int_equal(config_file_check_owner("/c", &st, 4242, &msg), -EPERM);
	assert_string_equal(
		msg,
		"/c: owned by uid 4242 with mode 0664, so group 4243 can change it, and gamevm runs as root; expected a file only root can write: chmod go-w /c");
	free(TAKE_PTR(msg));
	/* Another user's file stays refused under sudo. */
	st.st_mode = S_IFREG | 0644;
	assert_int_equal(config_file_check_owner("/c", &st, 4243, &msg), -EPERM);
	free(TAKE_PTR(msg));

	assert_int_equal(setenv("SUDO_UID", "1000", 1), 0);
	assert_int_equal(config_sudo_uid(), 1000);
	assert_int_equal(setenv("SUDO_UID", "0", 1), 0);
	assert_int_equal(config_sudo_uid(), (uid_t)-1);
	assert_int_equal(setenv("SUDO_UID", "12ab", 1), 0);
	assert_int_equal(config_sudo_uid(), (uid_t)-1);
	assert_int_equal(unsetenv("SUDO_UID"), 0);
	assert_int_equal(config_sudo_uid(), (uid_t)-1);
}

/*
 * What the rules allow on purpose: relative paths next to the config file,
 * and a pin list that shares CPUs with housekeeping (small hosts need it; the
 * plan warns).
 */
static void test_accepted(void **state)
{
	_cleanup_(config_error_done) struct config_error e = { 0 };
	_cleanup_free_ char *path = NULL, *want = NULL, *want_fw = NULL, *want_qemu = NULL;
	struct vm_config *c = NULL;
	const char *conf = "[vm]\nname = t\nqemu-binary = ./bin/qemu\n"
			   "[memory]\nsize = 1G\n[cpu]\nvcpus = 4\n"
			   "pin = 0,1,0,1\nhousekeeping = 0-1\n"
			   "[firmware]\ncode = fw/code.fd\nvars = .//fw/vars.fd\n"
			   "[disk a]\npath = a.raw\n";

	(void)state;
	assert_true(asprintf(&path, "%s/accepted.conf", tmpdir) > 0);
	write_file(path, conf, strlen(conf), 0644);
	if (config_load(path, &c, &e) < 0)
		fail_msg("%s", e.msg);
	assert_true(asprintf(&want, "%s/a.raw", tmpdir) > 0);
	assert_true(asprintf(&want_fw, "%s/fw/vars.fd", tmpdir) > 0);
	assert_true(asprintf(&want_qemu, "%s/bin/qemu", tmpdir) > 0);
	assert_string_equal(c->disks[0].path, want);
	assert_string_equal(c->firmware_vars, want_fw);
	assert_string_equal(c->qemu_binary, want_qemu);
	assert_int_equal(c->n_pin, 4);
	assert_int_equal(c->n_housekeeping, 2);
	config_free(c);
	c = NULL;

	/* Through a relative name of the config file: still its own directory. */
	assert_int_equal(chdir(tmpdir), 0);
	if (config_load("./accepted.conf", &c, &e) < 0)
		fail_msg("%s", e.msg);
	assert_string_equal(c->disks[0].path, want);
	config_free(c);
	c = NULL;
	assert_int_equal(chdir("/"), 0);

	/* config_load_string() has no directory: relative paths are refused. */
	assert_int_equal(config_load_string("t.conf", conf, &c, &e), -EINVAL);
	assert_string_equal(
		e.msg,
		"t.conf:3: [vm] qemu-binary: './bin/qemu' is a relative path; expected an absolute path (starting with '/')");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_owner_message),
		cmocka_unit_test(test_accepted),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
