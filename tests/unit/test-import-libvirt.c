/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * launcher/import-libvirt*.c: libvirt domain XML to a gamevm config, the
 * pure converter. Each test converts a small domain (HEAD + the elements
 * under test + TAIL), checks the keys the config got and the items it
 * listed (with their XML line numbers), and loads the config with the real
 * parser: whatever the converter writes must load.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "fileio.h"
#include "import-libvirt.h"
#include "macro.h"

/* Lines 1 to 4; what a test adds starts on line 5. */
#define HEAD                                                                                       \
	"<domain type='kvm'>\n"                                                                    \
	"  <name>t</name>\n"                                                                       \
	"  <memory unit='GiB'>4</memory>\n"                                                        \
	"  <vcpu placement='static'>4</vcpu>\n"
#define TAIL "</domain>\n"

static struct import_result convert_text(const char *xml)
{
	struct import_result res;
	struct vm_config *c = NULL;
	struct config_error e = {};
	int r;

	r = import_libvirt("test.xml", xml, strlen(xml), &res);
	if (r != 0)
		fprintf(stderr, "import_libvirt: %d: %s\n", r, strna(res.error));
	assert_int_equal(r, 0);
	assert_non_null(res.config);
	assert_null(res.error);
	r = config_load_string("converted.conf", res.config, &c, &e);
	if (r != 0)
		fprintf(stderr, "%s\n%s\n", res.config, strna(e.msg));
	assert_int_equal(r, 0);
	config_free(c);
	config_error_done(&e);
	return res;
}

static struct import_result convert(const char *body)
{
	_cleanup_free_ char *xml = NULL;

	assert_true(asprintf(&xml, HEAD "%s" TAIL, body) > 0);
	return convert_text(xml);
}

static int convert_fails(const char *xml, const char *error_part)
{
	struct import_result res;
	int r = import_libvirt("test.xml", xml, strlen(xml), &res);

	assert_true(r < 0);
	assert_null(res.config);
	if (error_part) {
		if (!res.error || !strstr(res.error, error_part))
			fprintf(stderr, "error: '%s', expected '%s'\n", strna(res.error),
				error_part);
		assert_non_null(res.error);
		assert_non_null(strstr(res.error, error_part));
	}
	import_result_done(&res);
	return r;
}

/* The value of key in [section], NULL when the config does not have it. */
static const char *get(const struct import_result *res, const char *section, const char *key)
{
	static char value[256];
	char header[64];
	bool in = false;
	const char *p = res->config;

	snprintf(header, sizeof(header), "[%s]", section);
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p), k = strlen(key);

		if (p[0] == '[')
			in = n == strlen(header) && strncmp(p, header, n) == 0;
		else if (in && n > k + 3 && strncmp(p, key, k) == 0 &&
			 strncmp(p + k, " = ", 3) == 0) {
			snprintf(value, sizeof(value), "%.*s", (int)(n - k - 3), p + k + 3);
			return value;
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

#define assert_key(res, section, key, v)                                                           \
	do {                                                                                       \
		const char *_v = get((res), (section), (key));                                     \
		if (!_v || strcmp(_v, (v)) != 0)                                                   \
			fprintf(stderr, "[%s] %s = %s, expected %s\n%s", (section), (key),         \
				strna(_v), (v), (res)->config);                                    \
		assert_non_null(_v);                                                               \
		assert_string_equal(_v, (v));                                                      \
	} while (0)

#define assert_no_key(res, section, key) assert_null(get((res), (section), (key)))

/* The item on line with `what` in its description (and `why` in its reason). */
static const struct import_item *find_item(const struct import_result *res, unsigned line,
					   const char *what, const char *why)
{
	for (size_t i = 0; i < res->n_items; i++) {
		const struct import_item *it = &res->items[i];
		if (it->line == line && strstr(it->what, what) && (!why || strstr(it->why, why)))
			return it;
	}
	fprintf(stderr, "no item on line %u with '%s' / '%s'; items:\n", line, what, strna(why));
	for (size_t i = 0; i < res->n_items; i++)
		fprintf(stderr, "  %u: %s: %s\n", res->items[i].line, res->items[i].what,
			res->items[i].why);
	return NULL;
}

#define assert_item(res, line, kind_, what, why)                                                   \
	do {                                                                                       \
		const struct import_item *_it = find_item((res), (line), (what), (why));           \
		assert_non_null(_it);                                                              \
		assert_int_equal(_it->kind, (kind_));                                              \
	} while (0)

/* ---- the seed ---------------------------------------------------------------- */

static void test_seed(void **state)
{
	const char *src = getenv("GAMEVM_SRCDIR");
	_cleanup_free_ char *path = NULL, *xml = NULL;
	struct import_result res;
	size_t len;

	assert_non_null(src);
	assert_true(asprintf(&path, "%s/tests/import/win11-domain.xml", src) > 0);
	assert_int_equal(read_full_file_at(-100 /* AT_FDCWD */, path, IMPORT_MAX_INPUT, &xml, &len),
			 0);
	res = convert_text(xml);
	assert_int_equal(strncmp(res.config, "; Converted by 'gamevm import-libvirt'", 38), 0);
	assert_string_equal(res.name, "win11");

	assert_key(&res, "vm", "name", "win11");
	assert_key(&res, "vm", "accel", "kvm");
	assert_key(&res, "vm", "machine", "pc-q35-9.2");
	assert_key(&res, "vm", "uuid", "005e5710-68a9-5e65-bd5f-623976f2efb7");
	assert_key(&res, "vm", "qemu-binary", "/usr/bin/qemu-system-x86_64");
	assert_key(&res, "memory", "size", "64G");
	assert_key(&res, "memory", "hugepages", "2M");
	assert_key(&res, "cpu", "vcpus", "32");
	assert_key(&res, "cpu", "sockets", "1");
	assert_key(&res, "cpu", "dies", "1");
	assert_key(&res, "cpu", "cores", "16");
	assert_key(&res, "cpu", "threads", "2");
	assert_key(&res, "cpu", "model", "host");
	assert_key(&res, "cpu", "features", "topoext invtsc");
	assert_key(&res, "cpu", "cache-passthrough", "yes");
	assert_key(&res, "cpu", "hide-hypervisor", "yes");
	assert_key(
		&res, "cpu", "pin",
		"0,16,1,17,2,18,3,19,4,20,5,21,6,22,7,23,8,24,9,25,10,26,11,27,12,28,13,29,14,30,15,31");
	assert_key(&res, "cpu", "housekeeping", "0,16");
	assert_key(&res, "cpu", "iothreads", "2");
	assert_key(&res, "hyperv", "enabled", "yes");
	assert_key(&res, "hyperv", "stimer-direct", "yes");
	assert_key(&res, "hyperv", "reset", "no");
	assert_key(&res, "hyperv", "avic", "no");
	assert_key(&res, "hyperv", "spinlocks", "8191");
	assert_key(&res, "hyperv", "vendor-id", "AuthenticAMD");
	assert_key(&res, "firmware", "type", "uefi");
	assert_key(&res, "firmware", "secure-boot", "yes");
	assert_key(&res, "firmware", "enrolled-keys", "yes");
	assert_key(&res, "firmware", "smm", "yes");
	assert_no_key(&res, "firmware", "code");
	assert_key(&res, "tpm", "model", "crb");
	assert_key(&res, "smbios", "mode", "custom");
	assert_key(&res, "smbios", "bios-vendor", "American Megatrends International, LLC.");
	assert_key(&res, "smbios", "baseboard-serial", "M80-D6012345678");
	assert_key(&res, "smbios", "chassis-asset", "To Be Filled By O.E.M.");
	assert_key(&res, "clock", "base", "localtime");
	assert_key(&res, "clock", "rtc-catchup", "yes");
	assert_key(&res, "clock", "pit-delay", "yes");
	assert_key(&res, "clock", "hpet", "no");
	assert_key(&res, "clock", "hypervclock", "yes");
	assert_key(&res, "power", "s3", "no");
	assert_key(&res, "power", "s4", "no");
	assert_key(&res, "watchdog", "model", "itco");
	assert_key(&res, "watchdog", "action", "reset");
	assert_key(&res, "devices", "balloon", "no");
	assert_key(&res, "devices", "usb-controller", "yes");
	assert_key(&res, "devices", "display", "none");
	assert_key(&res, "disk system", "path", "/var/lib/libvirt/images/win11.raw");
	assert_key(&res, "disk system", "bus", "virtio-blk");
	assert_key(&res, "disk system", "cache", "none");
	assert_key(&res, "disk system", "aio", "native");
	assert_key(&res, "disk system", "discard", "unmap");
	assert_key(&res, "disk system", "serial", "WD-WXA1E61KL2V3");
	assert_key(&res, "disk system", "iothread", "1");
	assert_key(&res, "disk system", "boot-index", "1");
	assert_no_key(&res, "disk system", "detect-zeroes");
	assert_key(&res, "pci hostdev0", "address", "0000:0f:00.0");
	assert_key(&res, "pci hostdev1", "address", "0000:0f:00.1");
	assert_key(&res, "pci hostdev2", "address", "0000:11:00.3");
	assert_key(&res, "pci hostdev2", "rombar", "yes");
	assert_key(&res, "pci hostdev2", "managed", "yes");
	assert_key(&res, "net net0", "mode", "user");
	assert_key(&res, "net net0", "model", "virtio");
	assert_key(&res, "net net0", "mac", "52:54:00:85:a3:37");

	/* What does not carry over: the NVRAM and TPM files, libvirt's network, the SCSI HBA. */
	assert_int_equal(res.n_items, 4);
	assert_item(&res, 93, IMPORT_CHANGED, "<nvram", "win11_VARS.qcow2");
	assert_item(&res, 156, IMPORT_DROPPED, "<controller type='scsi'", "no disk uses it");
	assert_item(&res, 212, IMPORT_CHANGED, "<source network='default'", "mode = user");
	assert_item(&res, 224, IMPORT_CHANGED, "<tpm model='tpm-crb'>", "tpm2-00.permall");
	import_result_done(&res);
}

/* ---- [vm], [memory] ----------------------------------------------------------- */

static void test_vm(void **state)
{
	struct import_result res;

	res = convert_text("<domain type='qemu'>\n"
			   "  <name>Windows 11 (gaming)</name>\n"
			   "  <uuid>8C3D4D52-8D0B-4A5E-9C1F-6A2B3C4D5E6F</uuid>\n"
			   "  <memory>4194304</memory>\n"
			   "  <vcpu>2</vcpu>\n"
			   "  <os><type arch='x86_64' machine='pc-i440fx-9.2'>hvm</type></os>\n"
			   "  <devices><emulator>/usr/libexec/qemu-kvm</emulator></devices>\n"
			   "</domain>\n");
	assert_key(&res, "vm", "name", "Windows-11-gaming");
	assert_string_equal(res.name, "Windows-11-gaming");
	assert_key(&res, "vm", "accel", "tcg");
	assert_key(&res, "vm", "uuid", "8c3d4d52-8d0b-4a5e-9c1f-6a2b3c4d5e6f");
	assert_key(&res, "vm", "qemu-binary", "/usr/libexec/qemu-kvm");
	assert_no_key(&res, "vm", "machine");
	assert_key(&res, "memory", "size", "4G");
	assert_item(&res, 2, IMPORT_CHANGED, "<name>", "'Windows-11-gaming'");
	assert_item(&res, 6, IMPORT_CHANGED, "<type machine='pc-i440fx-9.2'>", "Q35");
	import_result_done(&res);

	res = convert("<os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os>\n");
	assert_key(&res, "vm", "machine", "pc-q35-8.2");
	import_result_done(&res);
}

static void test_memory(void **state)
{
	static const struct {
		const char *xml, *size;
	} sizes[] = {
		{ "<memory unit='MiB'>8192</memory>", "8G" },
		{ "<memory unit='M'>1536</memory>", "1536M" },
		{ "<memory unit='G'>16</memory>", "16G" },
		{ "<memory unit='KiB'>2097152</memory>", "2G" },
		{ "<memory unit='bytes'>1073741824</memory>", "1G" },
		{ "<memory unit='b'>268435456</memory>", "256M" },
		{ "<memory unit='T'>1</memory>", "1024G" },
		{ "<memory>1048576</memory>", "1G" },
	};
	struct import_result res;

	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		_cleanup_free_ char *xml = NULL;
		assert_true(asprintf(&xml, "<domain><name>t</name>%s<vcpu>1</vcpu></domain>",
				     sizes[i].xml) > 0);
		res = convert_text(xml);
		assert_key(&res, "memory", "size", sizes[i].size);
		import_result_done(&res);
	}

	res = convert("  <currentMemory unit='GiB'>2</currentMemory>\n"
		      "  <maxMemory slots='16' unit='GiB'>8</maxMemory>\n"
		      "  <memoryBacking>\n"
		      "    <hugepages><page size='1048576' unit='KiB'/></hugepages>\n"
		      "    <source type='file'/>\n"
		      "    <access mode='private'/>\n"
		      "    <allocation mode='immediate' threads='8'/>\n"
		      "    <locked/>\n"
		      "  </memoryBacking>\n"
		      "  <numatune><memory mode='strict' nodeset='1'/></numatune>\n");
	assert_key(&res, "memory", "hugepages", "1G");
	assert_key(&res, "memory", "prealloc-threads", "8");
	assert_key(&res, "memory", "lock", "yes");
	assert_key(&res, "memory", "node", "1");
	assert_item(&res, 5, IMPORT_CHANGED, "<currentMemory", "balloon");
	assert_item(&res, 6, IMPORT_DROPPED, "<maxMemory", "hotplug");
	assert_item(&res, 9, IMPORT_CHANGED, "<source type='file'>", "memfd");
	assert_item(&res, 10, IMPORT_CHANGED, "<access mode='private'>", "shared");
	import_result_done(&res);

	/* 2M by default; a page size gamevm lacks; 4G is no multiple of 3G... */
	res = convert("<memoryBacking><hugepages/></memoryBacking>"
		      "<numatune><memory mode='interleave' nodeset='0-1'/></numatune>");
	assert_key(&res, "memory", "hugepages", "2M");
	assert_no_key(&res, "memory", "node");
	assert_item(&res, 5, IMPORT_DROPPED, "<memory mode='interleave'", "one node");
	import_result_done(&res);
	res = convert("<memoryBacking>\n<hugepages><page size='64' unit='KiB'/></hugepages>\n"
		      "</memoryBacking>\n");
	assert_no_key(&res, "memory", "hugepages");
	assert_item(&res, 6, IMPORT_DROPPED, "<page size='64'", "2M or 1G");
	import_result_done(&res);
	res = convert_text("<domain><name>t</name><memory unit='MiB'>1536</memory><vcpu>1</vcpu>\n"
			   "<memoryBacking><hugepages><page size='1' unit='GiB'/></hugepages>\n"
			   "</memoryBacking></domain>");
	assert_no_key(&res, "memory", "hugepages");
	assert_item(&res, 2, IMPORT_DROPPED, "<page size='1'", "not a multiple");
	import_result_done(&res);
}

static void test_essentials(void **state)
{
	convert_fails("<domain><memory>1048576</memory><vcpu>1</vcpu></domain>", "no <name>");
	convert_fails("<domain><name>...</name><memory>1048576</memory><vcpu>1</vcpu></domain>",
		      "no character");
	convert_fails("<domain><name>t</name><vcpu>1</vcpu></domain>", "no <memory>");
	convert_fails("<domain><name>t</name><memory>1048576</memory></domain>", "no <vcpu>");
	convert_fails("<domain><name>t</name><memory>lots</memory><vcpu>1</vcpu></domain>",
		      "not a memory size");
	convert_fails("<domain><name>t</name><memory unit='parsec'>1</memory><vcpu>1</vcpu>"
		      "</domain>",
		      "not a memory size");
	convert_fails("<domain><name>t</name><memory>1048576</memory><vcpu>0</vcpu></domain>",
		      "<vcpu> is not");
	convert_fails("<domain><name>t</name><memory>1048576</memory><vcpu>2048</vcpu></domain>",
		      "<vcpu> is not");
	/* A size gamevm refuses is fatal: [memory] size is required. */
	convert_fails("<domain><name>t</name><memory unit='KB'>4000000</memory><vcpu>1</vcpu>"
		      "</domain>",
		      "the domain cannot be converted: [memory] size");
	convert_fails("<domain><name>t</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
		      "</domain>",
		      "[memory] size");
}

/* ---- [cpu] ------------------------------------------------------------------ */

static void test_cpu(void **state)
{
	struct import_result res;

	res = convert("<cpu mode='host-passthrough' migratable='on'>\n"
		      "  <topology sockets='1' dies='1' cores='2' threads='2'/>\n"
		      "  <cache mode='emulate'/>\n"
		      "  <feature policy='require' name='topoext'/>\n"
		      "  <feature policy='disable' name='svm'/>\n"
		      "  <feature policy='forbid' name='hypervisor'/>\n"
		      "  <feature policy='optional' name='x2apic'/>\n"
		      "</cpu>\n"
		      "<features><pmu state='off'/><kvm><hidden state='off'/></kvm></features>\n");
	assert_key(&res, "cpu", "model", "host");
	assert_key(&res, "cpu", "cores", "2");
	assert_key(&res, "cpu", "threads", "2");
	assert_key(&res, "cpu", "features", "-pmu topoext -svm -hypervisor");
	assert_key(&res, "cpu", "cache-passthrough", "no");
	assert_key(&res, "cpu", "hide-hypervisor", "no");
	assert_item(&res, 5, IMPORT_CHANGED, "migratable='on'", "migrate");
	assert_item(&res, 11, IMPORT_DROPPED, "policy='optional'", "on or off");
	import_result_done(&res);

	res = convert("<cpu mode='host-model'/>\n");
	assert_key(&res, "cpu", "model", "host");
	assert_item(&res, 5, IMPORT_CHANGED, "mode='host-model'", "model = host");
	assert_item(&res, 5, IMPORT_CHANGED, "<cpu", "no <topology>");
	import_result_done(&res);

	res = convert("<cpu mode='custom' match='exact'><model fallback='forbid'>EPYC-Rome</model>"
		      "<topology sockets='1' cores='4' threads='1'/></cpu>\n");
	assert_key(&res, "cpu", "model", "EPYC-Rome");
	assert_key(&res, "cpu", "dies", "1");
	import_result_done(&res);

	res = convert("<cpu mode='maximum'>\n<topology sockets='1' dies='1' clusters='2' cores='1' "
		      "threads='2'/></cpu>\n");
	assert_key(&res, "cpu", "model", "max");
	assert_no_key(&res, "cpu", "sockets");
	assert_item(&res, 6, IMPORT_DROPPED, "<topology", "cluster");
	import_result_done(&res);

	/* A topology that does not multiply to vcpus: gamevm refuses it, the rest stays. */
	res = convert("<cpu mode='host-passthrough'>\n<topology sockets='1' cores='3' threads='2'/>"
		      "</cpu>\n");
	assert_key(&res, "cpu", "vcpus", "4");
	assert_key(&res, "cpu", "model", "host");
	assert_int_equal(res.items[0].kind, IMPORT_DROPPED);
	assert_non_null(strstr(res.items[0].why, "gamevm refuses"));
	import_result_done(&res);
}

static void test_pinning(void **state)
{
	struct import_result res;

	res = convert("<cputune>\n"
		      "  <vcpupin vcpu='0' cpuset='2'/>\n"
		      "  <vcpupin vcpu='1' cpuset='6'/>\n"
		      "  <vcpupin vcpu='3' cpuset='7'/>\n"
		      "  <vcpupin vcpu='2' cpuset='3'/>\n"
		      "  <emulatorpin cpuset='0-3,^1,^2'/>\n"
		      "  <iothreadpin iothread='1' cpuset='0,3'/>\n"
		      "  <iothreadpin iothread='2' cpuset='0'/>\n"
		      "  <vcpusched vcpus='0-3' scheduler='fifo' priority='1'/>\n"
		      "</cputune>\n<iothreads>2</iothreads>\n");
	assert_key(&res, "cpu", "pin", "2,6,3,7");
	assert_key(&res, "cpu", "housekeeping", "0,3");
	assert_key(&res, "cpu", "iothreads", "2");
	assert_item(&res, 12, IMPORT_CHANGED, "<iothreadpin iothread='2'", "housekeeping = 0,3");
	assert_item(&res, 13, IMPORT_DROPPED, "<vcpusched", "scheduling");
	assert_int_equal(res.n_items, 3); /* and no <topology> */
	import_result_done(&res);

	/* Not every vCPU; a vCPU on two CPUs; a vCPU the domain does not have. */
	res = convert("<cputune>\n<vcpupin vcpu='0' cpuset='2'/>\n</cputune>\n");
	assert_no_key(&res, "cpu", "pin");
	assert_item(&res, 6, IMPORT_CHANGED, "<vcpupin", "1 of 4 vCPUs");
	import_result_done(&res);
	res = convert("<cputune>\n<vcpupin vcpu='0' cpuset='2-3'/>\n<vcpupin vcpu='9' cpuset='1'/>"
		      "\n</cputune>\n");
	assert_no_key(&res, "cpu", "pin");
	assert_item(&res, 6, IMPORT_CHANGED, "cpuset='2-3'", "one host CPU");
	assert_item(&res, 7, IMPORT_DROPPED, "vcpu='9'", "not a vCPU");
	import_result_done(&res);

	/* Only iothreads pinned: the emulator goes with them. */
	res = convert("<iothreads>1</iothreads>\n<cputune><iothreadpin iothread='1' cpuset='4-7'/>"
		      "</cputune>\n");
	assert_key(&res, "cpu", "housekeeping", "4-7");
	assert_item(&res, 6, IMPORT_CHANGED, "<iothreadpin", "emulator thread runs");
	import_result_done(&res);

	res = convert_text("<domain><name>t</name><memory>1048576</memory>\n"
			   "<vcpu cpuset='0-3'>4</vcpu></domain>");
	assert_item(&res, 2, IMPORT_DROPPED, "cpuset='0-3'", "one host CPU");
	import_result_done(&res);
}

static void test_iothreads(void **state)
{
	struct import_result res;

	res = convert("<iothreadids>\n<iothread id='1'/>\n<iothread id='2'/>\n</iothreadids>\n");
	assert_key(&res, "cpu", "iothreads", "2");
	assert_int_equal(res.n_items, 1); /* no <topology> */
	import_result_done(&res);
	res = convert("<iothreads>2</iothreads>\n<iothreadids>\n<iothread id='1'/>\n"
		      "<iothread id='5'/>\n</iothreadids>\n");
	assert_key(&res, "cpu", "iothreads", "2");
	assert_item(&res, 6, IMPORT_CHANGED, "<iothreadids>", "1 to [cpu] iothreads");
	import_result_done(&res);
}

/* ---- [hyperv] ---------------------------------------------------------------- */

static void test_hyperv(void **state)
{
	static const char *const all[] = { "relaxed",  "vapic",	 "vpindex",	  "runtime",
					   "synic",    "stimer", "stimer-direct", "frequencies",
					   "tlbflush", "ipi",	 "reset",	  "reenlightenment",
					   "evmcs",    "avic" };
	struct import_result res;

	res = convert(
		"<features><hyperv>\n"
		"<relaxed state='on'/><vapic state='on'/><vpindex state='on'/>\n"
		"<runtime state='on'/><synic state='on'/>\n"
		"<stimer state='on'><direct state='on'/></stimer>\n"
		"<frequencies state='on'/><tlbflush state='on'/><ipi state='on'/>\n"
		"<reset state='on'/><reenlightenment state='on'/><evmcs state='on'/>\n"
		"<avic state='on'/><spinlocks state='on' retries='4096'/>\n"
		"<vendor_id state='on' value='KVMKVMKVM'/>\n"
		"</hyperv></features>\n"
		"<clock offset='localtime'><timer name='hypervclock' present='yes'/></clock>\n");
	for (size_t i = 0; i < ELEMENTSOF(all); i++)
		assert_key(&res, "hyperv", all[i], "yes");
	assert_key(&res, "hyperv", "spinlocks", "4096");
	assert_key(&res, "hyperv", "vendor-id", "KVMKVMKVM");
	assert_key(&res, "clock", "hypervclock", "yes");
	import_result_done(&res);

	/* Not listed: off. */
	res = convert("<features><hyperv mode='custom'><relaxed state='on'/>"
		      "<spinlocks state='off'/><vapic state='off'/></hyperv></features>\n");
	assert_key(&res, "hyperv", "enabled", "yes");
	assert_key(&res, "hyperv", "relaxed", "yes");
	assert_key(&res, "hyperv", "vapic", "no");
	assert_key(&res, "hyperv", "ipi", "no");
	assert_key(&res, "hyperv", "spinlocks", "off");
	assert_no_key(&res, "hyperv", "vendor-id");
	assert_key(&res, "clock", "hypervclock", "no");
	import_result_done(&res);

	res = convert("<features><hyperv mode='passthrough'/></features>\n");
	assert_key(&res, "hyperv", "passthrough", "yes");
	assert_no_key(&res, "hyperv", "relaxed");
	assert_no_key(&res, "hyperv", "spinlocks");
	import_result_done(&res);

	res = convert("");
	assert_key(&res, "hyperv", "enabled", "no");
	import_result_done(&res);

	/* stimer needs hypervclock: gamevm refuses it, with the parser's reason. */
	res = convert("<features><hyperv>\n<vpindex state='on'/><synic state='on'/>\n"
		      "<stimer state='on'/>\n<tlbflush state='on'><direct state='on'/></tlbflush>\n"
		      "<spinlocks state='on' retries='many'/>\n"
		      "</hyperv></features>\n");
	assert_no_key(&res, "hyperv", "stimer");
	assert_item(&res, 7, IMPORT_DROPPED, "<stimer", "gamevm refuses [hyperv] stimer");
	assert_item(&res, 8, IMPORT_DROPPED, "<direct", "no gamevm equivalent");
	assert_item(&res, 9, IMPORT_DROPPED, "retries='many'", "retry count");
	import_result_done(&res);
}

/* ---- [firmware], [tpm], [smbios] ---------------------------------------------- */

static void test_firmware(void **state)
{
	struct import_result res;

	res = convert("<os firmware='efi'>\n<type arch='x86_64' machine='q35'>hvm</type>\n"
		      "<firmware><feature enabled='no' name='enrolled-keys'/>"
		      "<feature enabled='no' name='secure-boot'/></firmware>\n"
		      "</os>\n<features><smm state='off'/></features>\n");
	assert_key(&res, "firmware", "type", "uefi");
	assert_key(&res, "firmware", "secure-boot", "no");
	assert_key(&res, "firmware", "enrolled-keys", "no");
	assert_key(&res, "firmware", "smm", "no");
	assert_key(&res, "vm", "machine", "q35");
	import_result_done(&res);

	/* Secure Boot without SMM: gamevm refuses smm = no, in its own words. */
	res = convert("<os firmware='efi'><loader secure='yes'/></os>\n"
		      "<features>\n<smm state='off'/>\n</features>\n");
	assert_key(&res, "firmware", "secure-boot", "yes");
	assert_no_key(&res, "firmware", "smm");
	assert_item(&res, 7, IMPORT_DROPPED, "<smm state='off'>", "Secure Boot needs SMM");
	import_result_done(&res);

	/* A loader chosen by hand is kept, with its template. */
	res = convert(
		"<os>\n<loader readonly='yes' secure='no' type='pflash'>/fw/CODE.fd</loader>\n"
		"<nvram template='/fw/VARS.fd'>/var/lib/libvirt/qemu/nvram/t_VARS.fd</nvram>\n"
		"</os>\n");
	assert_key(&res, "firmware", "type", "uefi");
	assert_key(&res, "firmware", "secure-boot", "no");
	assert_key(&res, "firmware", "code", "/fw/CODE.fd");
	assert_key(&res, "firmware", "vars", "/fw/VARS.fd");
	assert_item(&res, 7, IMPORT_CHANGED, "<nvram", "/var/lib/gamevm/t/OVMF_VARS.fd");
	import_result_done(&res);

	res = convert("<os>\n<loader type='pflash'>/fw/CODE.fd</loader>\n</os>\n");
	assert_no_key(&res, "firmware", "code");
	assert_item(&res, 6, IMPORT_DROPPED, "<loader", "template");
	import_result_done(&res);

	res = convert("<os><type>hvm</type><bootmenu enable='yes'/></os>\n");
	assert_key(&res, "firmware", "type", "bios");
	assert_item(&res, 5, IMPORT_DROPPED, "<bootmenu", "boot menu");
	import_result_done(&res);
}

static void test_tpm(void **state)
{
	static const struct {
		const char *xml, *model, *why;
	} rows[] = {
		{ "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>", "crb",
		  NULL },
		{ "<tpm model='tpm-tis'><backend type='emulator'/></tpm>", "tis", NULL },
		{ "<tpm model='tpm-tis'><backend type='emulator' version='1.2'/></tpm>", "none",
		  "TPM 2.0" },
		{ "<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/>"
		  "</backend></tpm>",
		  "none", "TPM 2.0" },
		{ "<tpm model='spapr-tpm-proxy'/>", "none", "tpm-crb or tpm-tis" },
		{ "", "none", NULL },
	};

	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		_cleanup_free_ char *body = NULL;
		struct import_result res;

		assert_true(asprintf(&body, "<devices>\n%s\n</devices>\n", rows[i].xml) > 0);
		res = convert(body);
		assert_key(&res, "tpm", "model", rows[i].model);
		if (rows[i].why)
			assert_item(&res, 6, IMPORT_DROPPED, "<tpm", rows[i].why);
		else if (*rows[i].xml)
			assert_item(&res, 6, IMPORT_CHANGED, "<tpm", "tpm2-00.permall");
		import_result_done(&res);
	}
	{
		struct import_result res = convert(
			"<devices><tpm model='tpm-crb'>\n<backend type='emulator' version='2.0'>\n"
			"<active_pcr_banks><sha1/><sha256/></active_pcr_banks>\n</backend></tpm>"
			"</devices>\n");
		assert_key(&res, "tpm", "version", "2.0");
		assert_item(&res, 7, IMPORT_CHANGED, "<active_pcr_banks>", "SHA-256");
		import_result_done(&res);
	}
}

static void test_smbios(void **state)
{
	struct import_result res;

	res = convert("<uuid>8c3d4d52-8d0b-4a5e-9c1f-6a2b3c4d5e6f</uuid>\n"
		      "<os><smbios mode='sysinfo'/></os>\n"
		      "<sysinfo type='smbios'>\n"
		      "<bios><entry name='vendor'>LENOVO</entry>\n"
		      "<entry name='date'>06/05/23</entry></bios>\n"
		      "<system><entry name='manufacturer'>Fedora</entry>\n"
		      "<entry name='uuid'>00000000-0000-0000-0000-000000000001</entry>\n"
		      "<entry name='family'>Virt-Manager</entry></system>\n"
		      "<baseBoard><entry name='location'>Slot 1</entry>\n"
		      "<entry name='colour'>blue</entry></baseBoard>\n"
		      "<chassis><entry name='sku'>C1</entry></chassis>\n"
		      "<oemStrings><entry>myappname:some arbitrary data</entry></oemStrings>\n"
		      "</sysinfo>\n");
	assert_key(&res, "smbios", "mode", "custom");
	assert_key(&res, "smbios", "bios-vendor", "LENOVO");
	assert_key(&res, "smbios", "system-manufacturer", "Fedora");
	assert_key(&res, "smbios", "system-family", "Virt-Manager");
	assert_key(&res, "smbios", "baseboard-location", "Slot 1");
	assert_key(&res, "smbios", "chassis-sku", "C1");
	/* gamevm wants MM/DD/YYYY: the parser's reason, at the entry's line. */
	assert_no_key(&res, "smbios", "bios-date");
	assert_item(&res, 9, IMPORT_DROPPED, "<entry name='date'>", "MM/DD/YYYY");
	assert_item(&res, 11, IMPORT_CHANGED, "<entry name='uuid'>", "[vm] uuid");
	assert_item(&res, 14, IMPORT_DROPPED, "<entry name='colour'>", "no gamevm [smbios] key");
	assert_item(&res, 16, IMPORT_DROPPED, "<oemStrings>", "no gamevm equivalent");
	import_result_done(&res);

	res = convert("<os>\n<smbios mode='host'/>\n</os>\n");
	assert_key(&res, "smbios", "mode", "host");
	assert_item(&res, 6, IMPORT_CHANGED, "<smbios mode='host'>", "types 0 to 3");
	import_result_done(&res);

	res = convert("<sysinfo type='smbios'><bios><entry name='vendor'>X</entry></bios>"
		      "</sysinfo>\n");
	assert_no_key(&res, "smbios", "mode");
	assert_no_key(&res, "smbios", "bios-vendor");
	assert_item(&res, 5, IMPORT_DROPPED, "<sysinfo type='smbios'>", "mode='sysinfo'");
	import_result_done(&res);
}

/* ---- [clock], [power] --------------------------------------------------------- */

static void test_clock(void **state)
{
	struct import_result res;

	res = convert("");
	assert_key(&res, "clock", "base", "utc");
	assert_key(&res, "clock", "rtc-catchup", "no");
	assert_key(&res, "clock", "pit-delay", "no");
	assert_key(&res, "clock", "hpet", "yes");
	assert_key(&res, "clock", "hypervclock", "no");
	assert_key(&res, "power", "s3", "yes");
	assert_key(&res, "power", "s4", "yes");
	import_result_done(&res);

	res = convert("<clock offset='variable' adjustment='3600' basis='localtime'>\n"
		      "<timer name='rtc' tickpolicy='merge' track='guest'/>\n"
		      "<timer name='pit' tickpolicy='discard'/>\n"
		      "<timer name='hpet' present='yes'/>\n"
		      "<timer name='tsc' frequency='3000000000'/>\n"
		      "<timer name='kvmclock' present='no'/>\n"
		      "<timer name='platform'/>\n"
		      "</clock>\n"
		      "<pm><suspend-to-mem enabled='yes'/><suspend-to-disk enabled='no'/></pm>\n");
	assert_key(&res, "clock", "base", "localtime");
	assert_key(&res, "clock", "rtc-catchup", "no");
	assert_key(&res, "clock", "pit-delay", "no");
	assert_key(&res, "clock", "hpet", "yes");
	assert_key(&res, "power", "s3", "yes");
	assert_key(&res, "power", "s4", "no");
	assert_item(&res, 5, IMPORT_CHANGED, "adjustment='3600'", "adjustment");
	assert_item(&res, 6, IMPORT_CHANGED, "tickpolicy='merge'", "catches up");
	assert_item(&res, 6, IMPORT_DROPPED, "track='guest'", "no gamevm equivalent");
	assert_item(&res, 7, IMPORT_CHANGED, "tickpolicy='discard'", "pit-delay");
	assert_item(&res, 9, IMPORT_DROPPED, "frequency=", "no gamevm equivalent");
	assert_item(&res, 10, IMPORT_DROPPED, "present='no'", "kvmclock");
	assert_item(&res, 11, IMPORT_DROPPED, "name='platform'", "no setting");
	import_result_done(&res);

	res = convert("<clock offset='timezone' timezone='Europe/Paris'/>\n");
	assert_key(&res, "clock", "base", "localtime");
	assert_item(&res, 5, IMPORT_CHANGED, "timezone=", "local time");
	import_result_done(&res);
}

/* ---- [disk NAME] -------------------------------------------------------------- */

static void test_disks(void **state)
{
	struct import_result res;

	res = convert(
		"<os><boot dev='cdrom'/><boot dev='hd'/></os>\n"
		"<devices>\n"
		"<disk type='block' device='disk'>\n"
		"  <driver name='qemu' type='qcow2' cache='writethrough' io='io_uring'"
		" discard='ignore' detect_zeroes='off'/>\n"
		"  <source dev='/dev/sdb'/>\n"
		"  <target dev='sdb' bus='scsi'/>\n"
		"  <serial>S1</serial>\n"
		"  <readonly/>\n"
		"</disk>\n"
		"<disk type='file' device='disk'>\n"
		"  <source file='/img/data.raw'/>\n"
		"  <target dev='vdb' bus='virtio'/>\n"
		"  <alias name='ua-data'/>\n"
		"</disk>\n"
		"<disk type='file' device='disk'>\n"
		"  <source file='/img/old.raw'/>\n"
		"  <target dev='hda' bus='ide'/>\n"
		"</disk>\n"
		"<disk type='file' device='cdrom'>\n"
		"  <driver name='qemu' type='raw'/>\n"
		"  <source file='/iso/Win11.iso'/>\n"
		"  <target dev='sdc' bus='sata'/>\n"
		"  <readonly/>\n"
		"</disk>\n"
		"<disk type='file' device='cdrom'><target dev='sdd' bus='sata'/></disk>\n"
		"<disk type='network' device='disk'><source protocol='rbd' name='p/i'/></disk>\n"
		"<disk type='file' device='disk'><driver type='vmdk'/><source file='/x.vmdk'/>"
		"</disk>\n"
		"<disk type='file' device='floppy'><source file='/f.img'/></disk>\n"
		"<controller type='scsi' model='virtio-scsi'/>\n"
		"</devices>\n");
	assert_key(&res, "disk system", "path", "/dev/sdb");
	assert_key(&res, "disk system", "format", "qcow2");
	assert_key(&res, "disk system", "bus", "virtio-scsi");
	assert_key(&res, "disk system", "cache", "writethrough");
	assert_key(&res, "disk system", "aio", "io_uring");
	assert_key(&res, "disk system", "discard", "ignore");
	assert_key(&res, "disk system", "detect-zeroes", "no");
	assert_key(&res, "disk system", "serial", "S1");
	assert_key(&res, "disk system", "readonly", "yes");
	assert_key(&res, "disk system", "boot-index", "2");
	assert_no_key(&res, "disk system", "iothread");
	assert_key(&res, "disk data", "path", "/img/data.raw");
	assert_key(&res, "disk data", "bus", "virtio-blk");
	assert_key(&res, "disk data", "cache", "writeback");
	assert_key(&res, "disk data", "discard", "ignore");
	assert_key(&res, "disk data", "iothread", "0");
	assert_no_key(&res, "disk data", "boot-index");
	assert_key(&res, "disk hda", "bus", "sata");
	assert_key(&res, "disk sdc", "media", "cdrom");
	assert_key(&res, "disk sdc", "boot-index", "1");
	assert_no_key(&res, "disk sdc", "readonly");
	assert_item(&res, 21, IMPORT_CHANGED, "bus='ide'", "SATA");
	assert_item(&res, 29, IMPORT_DROPPED, "device='cdrom'", "empty CD-ROM");
	assert_item(&res, 30, IMPORT_DROPPED, "type='network'", "image files and block devices");
	assert_item(&res, 31, IMPORT_DROPPED, "<disk", "raw and qcow2");
	assert_item(&res, 32, IMPORT_DROPPED, "device='floppy'", "disks and CD-ROMs");
	import_result_done(&res);

	/* Per-device boot orders; a serial gamevm refuses; a cdrom on virtio. */
	res = convert("<devices>\n"
		      "<disk type='file'><source file='/a.raw'/><target dev='vda' bus='virtio'/>\n"
		      "<driver iothread='2'/><boot order='3'/>\n"
		      "<serial>A-SERIAL-THAT-IS-FAR-TOO-LONG</serial>\n</disk>\n"
		      "<disk type='file' device='cdrom'><source file='/b.iso'/>\n"
		      "<target dev='vdb' bus='virtio'/></disk>\n"
		      "</devices>\n<iothreads>2</iothreads>\n");
	assert_key(&res, "disk system", "boot-index", "3");
	assert_key(&res, "disk system", "iothread", "2");
	assert_no_key(&res, "disk system", "serial");
	assert_item(&res, 8, IMPORT_DROPPED, "<serial>", "at most 20");
	assert_key(&res, "disk vdb", "media", "cdrom");
	assert_no_key(&res, "disk vdb", "bus");
	assert_item(&res, 11, IMPORT_DROPPED, "bus='virtio'", "gamevm refuses [disk vdb]");
	import_result_done(&res);

	/* Two disks with one target name keep two sections. */
	res = convert("<devices>\n"
		      "<disk type='file' device='cdrom'><source file='/a.iso'/><target dev='sda'/>"
		      "</disk>\n"
		      "<disk type='file' device='cdrom'><source file='/b.iso'/><target dev='sda'/>"
		      "</disk>\n</devices>\n");
	assert_key(&res, "disk sda", "path", "/a.iso");
	assert_key(&res, "disk sda-2", "path", "/b.iso");
	import_result_done(&res);
}

/* ---- [pci NAME], [net NAME] -------------------------------------------------- */

static void test_hostdev(void **state)
{
	struct import_result res;

	res = convert("<devices>\n"
		      "<hostdev mode='subsystem' type='pci'>\n"
		      "  <source><address domain='0x0001' bus='0x0a' slot='0x1f' function='0x7'/>"
		      "</source>\n"
		      "  <rom bar='off'/>\n"
		      "  <boot order='1'/>\n"
		      "</hostdev>\n"
		      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
		      "  <source><address bus='3' slot='0' function='0'/></source>\n"
		      "  <rom file='/roms/gpu.rom'/>\n"
		      "  <alias name='ua-gpu'/>\n"
		      "</hostdev>\n"
		      "<hostdev mode='subsystem' type='usb' managed='yes'>\n"
		      "  <source><vendor id='0x046d'/><product id='0xc52b'/></source>\n"
		      "</hostdev>\n"
		      "<hostdev mode='subsystem' type='pci'><source><address bus='0x100' slot='0'"
		      " function='0'/></source></hostdev>\n"
		      "</devices>\n");
	assert_key(&res, "pci hostdev0", "address", "0001:0a:1f.7");
	assert_key(&res, "pci hostdev0", "rombar", "no");
	assert_key(&res, "pci hostdev0", "managed", "no");
	assert_item(&res, 9, IMPORT_DROPPED, "<boot order='1'>", "boots from disks");
	assert_key(&res, "pci gpu", "address", "0000:03:00.0");
	assert_key(&res, "pci gpu", "romfile", "/roms/gpu.rom");
	assert_key(&res, "pci gpu", "managed", "yes");
	assert_no_key(&res, "pci gpu", "rombar");
	assert_item(&res, 16, IMPORT_DROPPED, "type='usb'", "USB controller");
	assert_item(&res, 19, IMPORT_DROPPED, "<hostdev", "no PCI address");
	import_result_done(&res);
}

static void test_net(void **state)
{
	struct import_result res;

	res = convert("<devices>\n"
		      "<interface type='bridge'><mac address='52:54:00:AA:BB:CC'/>"
		      "<source bridge='br0'/><model type='e1000e'/></interface>\n"
		      "<interface type='user'><model type='rtl8139'/></interface>\n"
		      "<interface type='ethernet'><target dev='tap-w' managed='no'/>\n"
		      "<link state='down'/></interface>\n"
		      "<interface type='direct'><source dev='eth0' mode='bridge'/></interface>\n"
		      "<interface type='network'><source network='lan'/><alias name='ua-lan'/>"
		      "<mac address='01:00:5e:00:00:01'/></interface>\n"
		      "</devices>\n");
	assert_key(&res, "net net0", "mode", "bridge");
	assert_key(&res, "net net0", "bridge", "br0");
	assert_key(&res, "net net0", "model", "e1000e");
	assert_key(&res, "net net0", "mac", "52:54:00:AA:BB:CC");
	assert_key(&res, "net net1", "mode", "user");
	assert_no_key(&res, "net net1", "model");
	assert_item(&res, 7, IMPORT_CHANGED, "type='rtl8139'", "virtio and e1000e");
	assert_key(&res, "net net2", "mode", "tap");
	assert_key(&res, "net net2", "tap", "tap-w");
	assert_item(&res, 9, IMPORT_DROPPED, "<link state='down'>", "link up");
	assert_item(&res, 10, IMPORT_DROPPED, "type='direct'", "tap device");
	assert_key(&res, "net lan", "mode", "user");
	assert_no_key(&res, "net lan", "mac");
	assert_item(&res, 11, IMPORT_CHANGED, "<source network='lan'>", "mode = user");
	assert_item(&res, 11, IMPORT_DROPPED, "<mac", "multicast");
	import_result_done(&res);
}

/* ---- [watchdog], [devices], [qemu] -------------------------------------------- */

static void test_devices(void **state)
{
	struct import_result res;

	res = convert("<devices>\n"
		      "<controller type='usb' model='none'/>\n"
		      "<memballoon model='virtio'><stats period='5'/></memballoon>\n"
		      "<watchdog model='itco' action='poweroff'/>\n"
		      "<serial type='file'><source path='/var/log/t.log'/>"
		      "<target port='0'/></serial>\n"
		      "<console type='file'><target type='serial' port='0'/></console>\n"
		      "<video><model type='vga' vram='16384' heads='1' primary='yes'/></video>\n"
		      "<graphics type='vnc' port='5903' autoport='no'>"
		      "<listen type='address' address='127.0.0.1'/></graphics>\n"
		      "<input type='mouse' bus='ps2'/><input type='keyboard' bus='ps2'/>\n"
		      "<audio id='1' type='none'/>\n"
		      "</devices>\n");
	assert_key(&res, "devices", "usb-controller", "no");
	assert_key(&res, "devices", "balloon", "yes");
	assert_key(&res, "watchdog", "model", "itco");
	assert_key(&res, "watchdog", "action", "poweroff");
	assert_key(&res, "devices", "serial", "file");
	assert_key(&res, "devices", "serial-path", "/var/log/t.log");
	assert_key(&res, "devices", "display", "std");
	assert_key(&res, "devices", "vnc", "127.0.0.1:3");
	assert_int_equal(res.n_items, 1); /* no <topology> */
	import_result_done(&res);

	res = convert("<devices>\n"
		      "<controller type='usb' model='ich9-ehci1'/>\n"
		      "<controller type='usb' model='ich9-uhci1'/>\n"
		      "<watchdog model='i6300esb' action='reset'/>\n"
		      "<serial type='tcp'><source mode='bind' host='0.0.0.0' service='4555'/>"
		      "</serial>\n"
		      "<video><model type='bochs'/></video>\n"
		      "<video><model type='virtio'/></video>\n"
		      "<graphics type='spice' autoport='yes'/>\n"
		      "<graphics type='vnc' autoport='yes'/>\n"
		      "<input type='tablet' bus='usb'/>\n"
		      "<input type='evdev'><source dev='/dev/input/by-id/kbd'/></input>\n"
		      "<audio id='1' type='pipewire'/>\n"
		      "<sound model='ich9'/>\n"
		      "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/>"
		      "</channel>\n"
		      "<shmem name='looking-glass'><model type='ivshmem-plain'/>"
		      "<size unit='M'>64</size></shmem>\n"
		      "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>\n"
		      "</devices>\n");
	assert_key(&res, "devices", "usb-controller", "yes");
	assert_item(&res, 6, IMPORT_CHANGED, "model='ich9-ehci1'", "qemu-xhci");
	assert_key(&res, "watchdog", "model", "none");
	assert_item(&res, 8, IMPORT_DROPPED, "model='i6300esb'", "iTCO");
	assert_key(&res, "devices", "serial", "none");
	assert_item(&res, 9, IMPORT_DROPPED, "type='tcp'", "pty or a file");
	assert_key(&res, "devices", "display", "std");
	assert_item(&res, 10, IMPORT_CHANGED, "type='bochs'", "std");
	assert_item(&res, 11, IMPORT_DROPPED, "<video>", "one emulated display");
	assert_item(&res, 12, IMPORT_DROPPED, "type='spice'", "VNC");
	assert_key(&res, "devices", "vnc", "127.0.0.1:0");
	assert_item(&res, 13, IMPORT_CHANGED, "autoport='yes'", "display 0");
	assert_item(&res, 14, IMPORT_DROPPED, "type='tablet'", "PS/2");
	assert_item(&res, 15, IMPORT_DROPPED, "type='evdev'", "PS/2");
	assert_item(&res, 16, IMPORT_DROPPED, "type='pipewire'", "HDMI");
	assert_item(&res, 17, IMPORT_DROPPED, "<sound", "HDMI");
	assert_item(&res, 18, IMPORT_DROPPED, "<channel", "guest agent");
	assert_item(&res, 19, IMPORT_DROPPED, "<shmem name='looking-glass'>", "[qemu] extra");
	assert_item(&res, 20, IMPORT_DROPPED, "<rng", "[qemu] extra");
	import_result_done(&res);

	/* VNC needs an emulated display: gamevm refuses it without one. */
	res = convert("<devices>\n<graphics type='vnc' port='5900' listen='0.0.0.0'/>\n"
		      "</devices>\n");
	assert_key(&res, "devices", "display", "none");
	assert_no_key(&res, "devices", "vnc");
	assert_item(&res, 6, IMPORT_DROPPED, "<graphics", "gamevm refuses [devices] vnc");
	import_result_done(&res);
}

static void test_qemu_commandline(void **state)
{
	struct import_result res;

	res = convert_text(
		"<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
		"<name>t</name><memory unit='GiB'>4</memory><vcpu>4</vcpu>\n"
		"<qemu:commandline>\n"
		"<qemu:arg value='-device'/>\n"
		"<qemu:arg value='virtio-rng-pci'/>\n"
		"<qemu:arg value='-set device.x=a b'/>\n"
		"<qemu:env name='A' value='b'/>\n"
		"</qemu:commandline>\n"
		"</domain>\n");
	assert_key(&res, "qemu", "extra", "-device virtio-rng-pci");
	assert_item(&res, 3, IMPORT_CHANGED, "<qemu:commandline>", "does not check");
	assert_item(&res, 6, IMPORT_DROPPED, "<qemu:arg", "space");
	assert_item(&res, 7, IMPORT_DROPPED, "<qemu:env", "no gamevm equivalent");
	import_result_done(&res);
}

/* ---- what is not converted, and the order it is listed in -------------------- */

static void test_unmapped(void **state)
{
	struct import_result res;

	res = convert("<genid>43dc0cf8-809b-4adb-9bea-a9abb5f3d90e</genid>\n"
		      "<on_poweroff>destroy</on_poweroff>\n"
		      "<on_crash>coredump-restart</on_crash>\n"
		      "<metadata><x:y xmlns:x='urn:x'>anything</x:y></metadata>\n"
		      "<devices>\n"
		      "  <disk type='file' device='disk' snapshot='external' rawio='no'>\n"
		      "    <source file='/a.raw'/><target dev='vda' bus='virtio' tray='open'/>\n"
		      "  </disk>\n"
		      "  <panic model='hyperv'/>\n"
		      "  <x:vendor xmlns:x='urn:vendor'/>\n"
		      "</devices>\n"
		      "<blkiotune><weight>800</weight></blkiotune>\n");
	assert_item(&res, 5, IMPORT_DROPPED, "<genid>", "no gamevm equivalent");
	assert_item(&res, 7, IMPORT_DROPPED, "<on_crash>", "powers off");
	assert_item(&res, 10, IMPORT_DROPPED, "<disk rawio='no'>", "attribute not converted");
	assert_item(&res, 10, IMPORT_DROPPED, "<disk snapshot='external'>",
		    "attribute not converted");
	assert_item(&res, 11, IMPORT_DROPPED, "<target tray='open'>", "attribute not converted");
	assert_item(&res, 13, IMPORT_DROPPED, "<panic model='hyperv'>", "no gamevm equivalent");
	assert_item(&res, 14, IMPORT_DROPPED, "<x:vendor>", "no gamevm equivalent");
	assert_item(&res, 16, IMPORT_DROPPED, "<blkiotune>", "no gamevm equivalent");
	assert_int_equal(res.n_items, 9); /* and no <topology> */
	for (size_t i = 1; i < res.n_items; i++)
		assert_true(res.items[i - 1].line <= res.items[i].line);
	/* The config lists them too, as comments. */
	assert_non_null(strstr(res.config, "; line 13: <panic model='hyperv'>: not converted:"));
	import_result_done(&res);

	/* Unknown attributes of <domain> itself. */
	res = convert_text("<domain type='kvm' id='7' foo='bar'><name>t</name>"
			   "<memory>1048576</memory><vcpu>1</vcpu></domain>");
	assert_int_equal(res.n_items, 2); /* and no <topology> */
	assert_item(&res, 1, IMPORT_DROPPED, "<domain foo='bar'>", "attribute");
	import_result_done(&res);
}

/* Values an INI line cannot hold are not written (libinih would cut them). */
static void test_ini_unsafe(void **state)
{
	struct import_result res;

	res = convert(
		"<os><smbios mode='sysinfo'/></os>\n"
		"<sysinfo type='smbios'><system>\n"
		"<entry name='manufacturer'>ASRock ; Inc</entry>\n"
		"<entry name='product'>X570 # Taichi</entry>\n"
		"<entry name='version'>1.0&#10;[vm]</entry>\n"
		"<entry name='sku'>   </entry>\n"
		"<entry name='family'>ASRock;Inc#2</entry>\n"
		"</system></sysinfo>\n"
		"<devices><disk type='file'><source file='/img/a&#9;b.raw'/></disk></devices>\n");
	assert_no_key(&res, "smbios", "system-manufacturer");
	assert_item(&res, 7, IMPORT_DROPPED, "name='manufacturer'", "comment");
	assert_no_key(&res, "smbios", "system-product");
	assert_item(&res, 8, IMPORT_DROPPED, "name='product'", "comment");
	assert_no_key(&res, "smbios", "system-version");
	assert_item(&res, 9, IMPORT_DROPPED, "name='version'", "control character");
	assert_no_key(&res, "smbios", "system-sku");
	assert_key(&res, "smbios", "system-family", "ASRock;Inc#2");
	/* The disk's path is required: the disk goes whole. */
	assert_null(strstr(res.config, "\n[disk"));
	assert_item(&res, 13, IMPORT_DROPPED, "<source", "control character");
	import_result_done(&res);
}

/* ---- hostile input ------------------------------------------------------------ */

static void test_malformed(void **state)
{
	convert_fails("", "empty");
	convert_fails("not xml at all", "malformed XML");
	convert_fails("<domain>\n<name>t</name>\n<memory>1</memory>\n", "malformed XML");
	convert_fails("<domain><name>t</nam></domain>", "line 1: malformed XML");
	convert_fails("<domain><name>&undefined;</name></domain>", "malformed XML");
	convert_fails("<?xml version='1.0'?>\n<network><name>default</name></network>",
		      "line 2: the root element is <network>");
	convert_fails("<domain><name>t</name></domain><domain/>", "malformed XML");
}

static void test_deep(void **state)
{
	_cleanup_free_ char *xml = NULL;
	size_t depth = 5000, n = 0;

	/* libxml2 stops at its depth limit instead of recursing into the stack. */
	xml = malloc(depth * 7 + 64);
	assert_non_null(xml);
	n += (size_t)sprintf(xml, "<domain>");
	for (size_t i = 0; i < depth; i++)
		n += (size_t)sprintf(xml + n, "<a>");
	for (size_t i = 0; i < depth; i++)
		n += (size_t)sprintf(xml + n, "</a>");
	sprintf(xml + n, "</domain>");
	convert_fails(xml, "malformed XML");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_xml_bomb(void **state)
{
	static const char laughs[] =
		"<?xml version='1.0'?>\n"
		"<!DOCTYPE domain [\n"
		" <!ENTITY lol 'lol'>\n"
		" <!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n"
		" <!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>\n"
		" <!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>\n"
		" <!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>\n"
		" <!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>\n"
		" <!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>\n"
		" <!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>\n"
		" <!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>\n"
		" <!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>\n"
		"]>\n"
		"<domain><name>&lol9;</name><memory>1048576</memory><vcpu>1</vcpu>"
		"<description a='&lol9;'>&lol9;</description></domain>\n";
	static const char xxe[] =
		"<?xml version='1.0'?>\n"
		"<!DOCTYPE domain [<!ENTITY passwd SYSTEM 'file:///etc/passwd'>]>\n"
		"<domain><name>&passwd;</name><memory>1048576</memory><vcpu>1</vcpu></domain>\n";
	static const char external_dtd[] =
		"<?xml version='1.0'?>\n"
		"<!DOCTYPE domain SYSTEM 'http://127.0.0.1:1/evil.dtd'>\n"
		"<domain><name>t</name><memory>1048576</memory><vcpu>1</vcpu></domain>\n";
	double t = now();

	convert_fails(laughs, "document type declaration");
	convert_fails(xxe, "document type declaration");
	convert_fails(external_dtd, "document type declaration");
	assert_true(now() - t < 1.0);
}

static void test_huge(void **state)
{
	static const char head[] = HEAD "<devices>\n";
	static const char tail[] = "</devices>\n" TAIL;
	static const char el[] = "<shmem name='x'/>\n";
	size_t cap = IMPORT_MAX_INPUT;
	_cleanup_free_ char *xml = malloc(cap + 2);
	struct import_result res;
	size_t n = 0;
	double t;
	int r;

	assert_non_null(xml);
	/* One byte over the cap: refused before parsing. */
	memset(xml, ' ', cap + 1);
	xml[cap + 1] = 0;
	t = now();
	r = import_libvirt("big.xml", xml, cap + 1, &res);
	assert_int_equal(r, -EFBIG);
	assert_non_null(strstr(res.error, "bytes"));
	import_result_done(&res);
	assert_true(now() - t < 0.5);

	/* Just under: 200000 unknown elements, the list capped, in reasonable time. */
	memcpy(xml, head, strlen(head));
	n = strlen(head);
	while (n + strlen(el) + strlen(tail) < cap) {
		memcpy(xml + n, el, strlen(el));
		n += strlen(el);
	}
	memcpy(xml + n, tail, strlen(tail) + 1);
	n += strlen(tail);
	t = now();
	r = import_libvirt("big.xml", xml, n, &res);
	assert_int_equal(r, 0);
	assert_int_equal(res.n_items, 1001);
	assert_string_equal(res.items[1000].what, "...");
	assert_non_null(strstr(res.items[1000].why, "more elements"));
	import_result_done(&res);
	assert_true(now() - t < 30.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_vm),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_essentials),
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_pinning),
		cmocka_unit_test(test_iothreads),
		cmocka_unit_test(test_hyperv),
		cmocka_unit_test(test_firmware),
		cmocka_unit_test(test_tpm),
		cmocka_unit_test(test_smbios),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_disks),
		cmocka_unit_test(test_hostdev),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_qemu_commandline),
		cmocka_unit_test(test_unmapped),
		cmocka_unit_test(test_ini_unsafe),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_deep),
		cmocka_unit_test(test_xml_bomb),
		cmocka_unit_test(test_huge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
