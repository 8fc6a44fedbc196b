#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Proof from inside a guest: what gamevm sets up is what a guest sees.

A small bootable disk is built here: GPT with one EFI system partition
holding \\EFI\\BOOT\\BOOTX64.EFI, a unified kernel image (systemd-boot's
EFI stub + Debian's kernel + a busybox initramfs), signed with Debian's
OVMF snakeoil test key. `gamevm start` boots it under TCG with Secure Boot
enforced (the snakeoil firmware pair, whose db holds that key), swtpm TPM
2.0, 2M hugepages, SMBIOS strings (one with a comma), a virtio disk with a
serial number and discard, and 2 vCPUs as 1 core x 2 threads. The guest
prints what it sees on its serial console (a file gamevm opens) and powers
itself off:

  - Secure Boot enabled (the SecureBoot EFI variable is 1);
  - a TPM 2.0 (tpm0, version major 2);
  - the DMI strings exactly as configured;
  - 2 CPUs, cpu0's thread siblings 0-1 (SMT visible);
  - the disk's serial, and discard enabled (discard_max_bytes > 0).

Then [smbios] oem-activation: gamevm runs in a mount namespace whose
/sys/firmware/acpi/tables holds an MSDM table and whose /sys/class/dmi/id
a product_uuid (this machine's firmware has neither: that much is faked,
the rest is real), and the guest must see the table, its key intact, and
that UUID as its own.

gamevm must exit 0 (the guest powered off) with the hugepage pool as it
was. Runs as root; exit 77 = skipped (not root, or a tool or the lab's
kernel missing), except under CI=true.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib

SRC = os.environ.get("GAMEVM_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("GAMEVM_BUILDDIR", os.path.join(SRC, "build"))
GAMEVM = os.path.join(BUILD, "gamevm")
sys.path.insert(0, os.path.join(SRC, "tests", "tools"))
sys.path.insert(0, os.path.join(SRC, "tests", "lab"))

NAME = "itest-proof"
STUB = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
KEY = "/usr/share/ovmf/PkKek-1-snakeoil.key"
CERT = "/usr/share/ovmf/PkKek-1-snakeoil.pem"
CODE = "/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd"
VARS = "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd"
POOL = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
DISK_SERIAL = "GVM-PROOF-0001"
SMBIOS = {
    "system-manufacturer": ("sys_vendor", "Micro-Star International Co., Ltd."),
    "system-product": ("product_name", "MS-7C91"),
    "system-version": ("product_version", "2.0"),
    "system-serial": ("product_serial", "SN-1234, rev B"),
    "baseboard-manufacturer": ("board_vendor", "Micro-Star International Co., Ltd."),
    "baseboard-product": ("board_name", "MAG B550 TOMAHAWK (MS-7C91)"),
    "bios-vendor": ("bios_vendor", "American Megatrends International, LLC."),
    "bios-version": ("bios_version", "A.G0"),
    "bios-date": ("bios_date", "03/15/2024"),
}

EFIVAR_SB = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
SCRIPT = f"""
mount -t efivarfs efivarfs /sys/firmware/efi/efivars
# efivarfs: 4 bytes of attributes, then the variable's one byte.
echo "PROOF SB=$(dd if=/sys/firmware/efi/efivars/{EFIVAR_SB} bs=1 skip=4 count=1 2>/dev/null | od -An -t u1 | tr -d ' ')"
echo "PROOF TPM=$(cat /sys/class/tpm/tpm0/tpm_version_major 2>/dev/null)"
for f in {' '.join(v[0] for v in SMBIOS.values())}; do
    echo "PROOF DMI $f=$(cat /sys/class/dmi/id/$f)"
done
echo "PROOF CPUS=$(ls -d /sys/devices/system/cpu/cpu[0-9]* | wc -l)"
echo "PROOF SIBLINGS=$(cat /sys/devices/system/cpu/cpu0/topology/thread_siblings_list)"
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/block/vda ] && break; sleep 0.5; done
echo "PROOF DISK_SERIAL=$(cat /sys/block/vda/serial)"
echo "PROOF DISCARD=$(cat /sys/block/vda/queue/discard_max_bytes)"
echo "PROOF UUID=$(cat /sys/class/dmi/id/product_uuid)"
echo "PROOF MSDM_KEY=$(tail -c 29 /sys/firmware/acpi/tables/MSDM 2>/dev/null)"
echo PROOF END
poweroff -f
"""



def skip(why):
    if os.environ.get("CI") == "true":
        print(f"FAIL (CI must not skip): {why}")
        sys.exit(1)
    print(f"SKIP: {why}")
    sys.exit(77)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def build_uki(tmp):
    """The signed UKI's path: stub + kernel + initramfs + command line, signed with snakeoil."""
    import tinyguest
    mods = tinyguest.with_deps(["virtio_pci", "virtio_blk", "efivarfs"])
    kernel, initrd = tinyguest.build(os.path.join(tmp, "guest"), SCRIPT, modules=mods)
    with open(os.path.join(tmp, "cmdline"), "w") as f:
        f.write("console=ttyS0 loglevel=4 panic=-1")
    with open(os.path.join(tmp, "os-release"), "w") as f:
        f.write('ID=gamevm-proof\nPRETTY_NAME="gamevm guest proof"\n')
    uki = os.path.join(tmp, "uki.efi")
    # Sections past the stub's own, in the order systemd-stub expects them.
    run(["objcopy",
         "--add-section", f".osrel={tmp}/os-release", "--change-section-vma", ".osrel=0x20000",
         "--add-section", f".cmdline={tmp}/cmdline", "--change-section-vma", ".cmdline=0x30000",
         "--add-section", f".linux={kernel}", "--change-section-vma", ".linux=0x2000000",
         "--add-section", f".initrd={initrd}", "--change-section-vma", ".initrd=0x4000000",
         STUB, uki])
    key = os.path.join(tmp, "snakeoil.key")
    run(["openssl", "rsa", "-in", KEY, "-passin", "pass:snakeoil", "-out", key])
    signed = os.path.join(tmp, "BOOTX64.EFI")
    run(["sbsign", "--key", key, "--cert", CERT, "--output", signed, uki])
    return signed, uki


def gpt(disk_sectors, first, last):
    """Protective MBR, primary and backup GPT for one EFI system partition [first, last]."""
    esp_type = uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b").bytes_le
    entry = (esp_type + uuid.uuid4().bytes_le + struct.pack("<QQQ", first, last, 0) +
             "ESP".encode("utf-16-le").ljust(72, b"\0"))
    entries = entry.ljust(128 * 128, b"\0")
    entries_crc = zlib.crc32(entries)
    disk_guid = uuid.uuid4().bytes_le

    def header(mine, other, entries_lba):
        h = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, 92, 0, 0, mine, other,
                        34, disk_sectors - 34, disk_guid, entries_lba, 128, 128, entries_crc)
        h = h[:16] + struct.pack("<I", zlib.crc32(h)) + h[20:]
        return h.ljust(512, b"\0")

    mbr = bytearray(512)
    mbr[446:462] = struct.pack("<BBBBBBBBII", 0, 0, 2, 0, 0xEE, 0xFF, 0xFF, 0xFF, 1,
                               min(disk_sectors - 1, 0xFFFFFFFF))
    mbr[510:512] = b"\x55\xaa"
    primary = bytes(mbr) + header(1, disk_sectors - 1, 2) + entries
    backup = entries + header(disk_sectors - 1, 1, disk_sectors - 33)
    return primary, backup


def build_disk(tmp, uki, name="disk.img"):
    """A 96 MiB raw GPT disk: one EFI system partition from 1 MiB with the UKI as the default loader."""
    esp = os.path.join(tmp, f"{name}.esp")
    esp_sectors = 88 * 2048
    run(["mkfs.vfat", "-F", "32", "-C", esp, str(esp_sectors // 2)])
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    run(["mmd", "-i", esp, "::/EFI", "::/EFI/BOOT"], env=env)
    run(["mcopy", "-i", esp, uki, "::/EFI/BOOT/BOOTX64.EFI"], env=env)
    disk = os.path.join(tmp, name)
    sectors = 96 * 2048
    primary, backup = gpt(sectors, 2048, 2048 + esp_sectors - 1)
    with open(disk, "wb") as f:
        f.truncate(sectors * 512)
        f.write(primary)
        f.seek((sectors - 33) * 512)
        f.write(backup)
        f.seek(2048 * 512)
        with open(esp, "rb") as src:
            shutil.copyfileobj(src, f)
    return disk


# A Windows OEM licence table as firmware ships it (the key is not a real one).
MSDM_KEY = "GVMTS-ABCDE-12345-FGHIJ-67890"
HOST_UUID = "4c4c4544-0042-3510-8052-b4c04f4e3432"


def msdm_table():
    body = struct.pack("<IIIII", 1, 0, 1, 0, len(MSDM_KEY)) + MSDM_KEY.encode()
    head = struct.pack("<4sIBB6s8sI4sI", b"MSDM", 36 + len(body), 3, 0, b"ALASKA",
                       b"A M I   ", 0x1072009, b"AMI ", 0x10013)
    table = bytearray(head + body)
    table[9] = (-sum(table)) & 0xff
    return bytes(table)


# Runs argv with the fake host firmware mounted over /sys, in a private mount namespace.
FAKE_FIRMWARE = r"""
set -e
tmp=$1; shift
mkdir -p "$tmp/sysclass"
mount --bind /sys/class "$tmp/sysclass"
mount -t tmpfs -o mode=0755 gvclass /sys/class
for d in "$tmp"/sysclass/*; do
    mkdir "/sys/class/${d##*/}"
    mount --bind "$d" "/sys/class/${d##*/}"
done
mkdir -p /sys/class/dmi/id
echo "$HOST_UUID" > /sys/class/dmi/id/product_uuid
chmod 0400 /sys/class/dmi/id/product_uuid
echo "Dell Inc." > /sys/class/dmi/id/sys_vendor
mount -t tmpfs -o mode=0755 gvacpi /sys/firmware/acpi/tables
cp "$tmp/MSDM" /sys/firmware/acpi/tables/MSDM
chmod 0400 /sys/firmware/acpi/tables/MSDM
exec "$@"
"""


def conf_text(disk, serial_log, oem=False):
    smbios = "\n".join(f"{k} = {v[1]}" for k, v in SMBIOS.items())
    if oem:
        smbios = "oem-activation = yes"
    return f"""[vm]
name = {NAME}
accel = tcg

[memory]
size = 512M
hugepages = {"none" if oem else "2M"}

[cpu]
vcpus = 2
threads = 2
model = max

[hyperv]
enabled = no

[firmware]
type = uefi
secure-boot = yes
code = {CODE}
vars = {VARS}

[tpm]
model = crb

[smbios]
mode = {"host" if oem else "custom"}
{smbios}

[devices]
serial = file
serial-path = {serial_log}
display = none

[disk system]
path = {disk}
bus = virtio-blk
discard = unmap
serial = {DISK_SERIAL}
"""


def main():
    if os.geteuid() != 0:
        skip("needs root")
    for tool in ("objcopy", "sbsign", "mkfs.vfat", "mcopy", "openssl",
                 "qemu-system-x86_64", "swtpm"):
        if not shutil.which(tool):
            skip(f"{tool} not installed")
    for f in (STUB, KEY, CERT, CODE, VARS, POOL):
        if not os.path.exists(f):
            skip(f"no {f}")
    import lab
    tmp = tempfile.mkdtemp(prefix="gamevm-proof-")
    os.chmod(tmp, 0o755)
    pool_before = int(open(POOL).read())
    try:
        try:
            uki, unsigned = build_uki(tmp)
        except lab.LabUnavailable as e:
            skip(f"no kernel for the guest: {e}")
        disk = build_disk(tmp, uki)
        serial_log = os.path.join(tmp, "console.log")
        conf = os.path.join(tmp, f"{NAME}.conf")
        with open(conf, "w") as f:
            f.write(conf_text(disk, serial_log))
        t0 = time.monotonic()
        dirs = ["--run-dir", os.path.join(tmp, "run"), "--state-dir", os.path.join(tmp, "state")]
        # Bounded: a guest that hangs is stopped (and its console shown), not waited for.
        p = subprocess.run([GAMEVM, *dirs, "start", "--run-for", "420", "--timeout", "5", conf],
                           capture_output=True, text=True, timeout=600)
        secs = time.monotonic() - t0
        log = p.stdout + p.stderr
        try:
            with open(serial_log, errors="replace") as f:
                console = f.read()
        except OSError:
            console = ""
        seen = dict(re.findall(r"^PROOF ([A-Z_]+(?: \w+)?)=(.*?)\r?$", console, re.M))
        failures = []

        def want(key, value):
            got = seen.get(key)
            ok = value(got) if callable(value) else got == value
            print(f"{'ok  ' if ok else 'FAIL'} {key}: {got!r}")
            if not ok:
                failures.append(key)

        print(f"gamevm start: exit {p.returncode} after {secs:.0f} s")
        if p.returncode != 0:
            failures.append("exit status")
        if "the guest powered off" not in log:
            failures.append("guest poweroff")
        want("SB", "1")
        want("TPM", "2")
        for _, (attr, value) in SMBIOS.items():
            want(f"DMI {attr}", value)
        want("CPUS", "2")
        want("SIBLINGS", "0-1")
        want("DISK_SERIAL", DISK_SERIAL)
        want("DISCARD", lambda v: v is not None and v.isdigit() and int(v) > 0)
        pool_after = int(open(POOL).read())
        if pool_after != pool_before:
            failures.append(f"hugepage pool {pool_before} -> {pool_after}")
        if "PROOF END" not in console:
            failures.append("the guest did not finish its report")
        if failures:
            print(f"FAIL: {', '.join(failures)}\n--- gamevm\n{log}\n--- console\n{console[-4000:]}")
            return 1
        print("the guest saw what gamevm set up")

        # The OEM licence: the host's MSDM table and UUID, as the guest sees them.
        with open(os.path.join(tmp, "MSDM"), "wb") as f:
            f.write(msdm_table())
        serial_log = os.path.join(tmp, "console-oem.log")
        with open(conf, "w") as f:
            f.write(conf_text(disk, serial_log, oem=True))
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            FAKE_FIRMWARE, "sh", tmp,
                            GAMEVM, *dirs, "start", "--run-for", "420", "--timeout", "5", conf],
                           capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, HOST_UUID=HOST_UUID))
        try:
            with open(serial_log, errors="replace") as f:
                console = f.read()
        except OSError:
            console = ""
        seen = dict(re.findall(r"^PROOF ([A-Z_]+(?: \w+)?)=(.*?)\r?$", console, re.M))
        print(f"gamevm start (oem-activation): exit {p.returncode}")
        want("UUID", HOST_UUID)
        want("MSDM_KEY", MSDM_KEY)
        if p.returncode != 0 or failures:
            print(f"FAIL: {', '.join(failures) or 'exit status'}\n--- gamevm\n{p.stdout}{p.stderr}"
                  f"\n--- console\n{console[-4000:]}")
            return 1
        print("the guest saw the host's OEM licence table and UUID")

        # Enforced, not only reported: the same image unsigned must not run. The firmware
        # says so on the console and waits in its boot manager: gamevm stop ends it.
        serial_log = os.path.join(tmp, "console-unsigned.log")
        with open(conf, "w") as f:
            f.write(conf_text(build_disk(tmp, unsigned, "unsigned.img"), serial_log))
        p = subprocess.Popen([GAMEVM, *dirs, "start", "--timeout", "1", conf],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 300
        console = ""
        while time.monotonic() < deadline and p.poll() is None:
            try:
                with open(serial_log, errors="replace") as f:
                    console = f.read()
            except OSError:
                pass
            if "Access Denied" in console or "PROOF" in console:
                break
            time.sleep(1)
        stop = subprocess.run([GAMEVM, *dirs, "stop", NAME, "--timeout", "2"],
                              capture_output=True, text=True)
        try:
            out, _ = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            print(f"FAIL: gamevm did not stop: {stop.stdout}{stop.stderr}\n{out}")
            return 1
        denied = "Access Denied" in console and "PROOF" not in console
        print(f"{'ok  ' if denied else 'FAIL'} unsigned image refused by the firmware")
        if not denied or p.returncode != 0:
            print(f"FAIL: exit {p.returncode}\n{out}\n--- console\n{console[-3000:]}")
            return 1
        return 0
    finally:
        subprocess.run([GAMEVM, "--run-dir", os.path.join(tmp, "run"), "--state-dir",
                        os.path.join(tmp, "state"), "cleanup", NAME], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
