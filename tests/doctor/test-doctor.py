#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
The doctor (gamevm check) on fixture hosts, one failure class at a time:
each case copies a host from tests/hosts/, changes what that failure is
about (a file of sys/, proc/, etc/...), runs

    gamevm --root COPY check --json CONF

and asserts the status of one check id, seen both to pass and to warn or
fail. The exit status must say whether the VM can start (1 with a failure).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("GAMEVM_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("GAMEVM_BIN", os.path.join(SRC, "build", "gamevm"))
GPU = "sys/devices/pci0000:00/0000:00:03.2/0000:0d:00.0/0000:0e:00.0/0000:0f:00.0"

CONF_BASE = """[vm]
name = t
accel = kvm
[memory]
size = 8G
hugepages = {hugepages}
[cpu]
vcpus = 4
pin = 2,18,3,19
housekeeping = 0,16
threads = 2
hide-hypervisor = {hide}
[devices]
display = {display}
[tuning]
irq-affinity = {irq}
[tpm]
model = {tpm}
"""
CONF_GPU = """[pci gpu]
address = 0000:0f:00.0
all-functions = yes
rombar = {rombar}
{rom}
"""


def write(root, rel, text, mode="w"):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)


def append_cmdline(root, words):
    path = os.path.join(root, "proc/cmdline")
    with open(path) as f:
        line = f.read().strip()
    write(root, "proc/cmdline", line + " " + words + "\n")


def gpu_dir(root):
    return os.path.join(root, GPU)


def option_rom(efi):
    """A PCI option ROM of one image: 0x55AA, PCIR at 0x1c, code type 3 (EFI) or 0 (BIOS)."""
    rom = bytearray(512)
    rom[0:2] = b"\x55\xaa"
    rom[0x18:0x1a] = (0x1c).to_bytes(2, "little")
    p = 0x1c
    rom[p:p + 4] = b"PCIR"
    rom[p + 0x10:p + 0x12] = (1).to_bytes(2, "little")
    rom[p + 0x14] = 3 if efi else 0
    rom[p + 0x15] = 0x80
    return bytes(rom)


def run_check(root, conf_text, as_user=False):
    conf = os.path.join(root, "..", "t.conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    # As a normal user: what it may not read is "skip", never a guess.
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if as_user else []
    p = subprocess.run([*prefix, BIN, "--root", root, "check", "--json", conf], text=True,
                       capture_output=True, env={**os.environ, "GAMEVM_LOG_LEVEL": "err"})
    try:
        out = json.loads(p.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"no JSON (exit {p.returncode}):\n{p.stdout}\n{p.stderr}")
    fails = [c for c in out["checks"] if c["status"] == "fail"]
    want_rc = 1 if fails else 0
    if p.returncode != want_rc or out["can_start"] != (not fails):
        raise AssertionError(f"exit {p.returncode}, can_start {out['can_start']} "
                             f"with {len(fails)} failures:\n{p.stderr}")
    return out["checks"]


# id, host, config options, mutation of the copy or None, the status wanted ("absent": no such check)
def m_none(root):
    pass


def m_cmdline(words):
    return lambda root: append_cmdline(root, words)


def m_sys(rel, text):
    return lambda root: write(root, rel, text)


def m_gpu(name, text):
    return lambda root: write(gpu_dir(root), name, text, "wb" if isinstance(text, bytes) else "w")


def m_many(*fs):
    def f(root):
        for g in fs:
            g(root)
    return f


def m_drm_holder(root):
    os.makedirs(os.path.join(gpu_dir(root), "drm", "card1"))
    os.unlink(os.path.join(gpu_dir(root), "driver"))
    os.symlink("../../../../../../bus/pci/drivers/amdgpu", os.path.join(gpu_dir(root), "driver"))
    os.makedirs(os.path.join(root, "proc/4242/fd"))
    os.symlink("/dev/dri/card1", os.path.join(root, "proc/4242/fd/7"))
    write(root, "proc/4242/comm", "kwin_wayland\n")


def m_drm_private(root):
    """A holder whose open files a normal user may not list."""
    m_drm_holder(root)
    os.chmod(os.path.join(root, "proc/4242/fd"), 0o700)


def m_drm_nobody(root):
    m_drm_holder(root)
    os.unlink(os.path.join(root, "proc/4242/fd/7"))


def m_bootfb(inside):
    def f(root):
        write(gpu_dir(root), "resource",
              "0x000000fc00000000 0x000000fc0fffffff 0x000000000014220c\n"
              "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
              "0x00000000fcc00000 0x00000000fcc7ffff 0x0000000000040200\n")
        where = "fc00000000-fc002fffff" if inside else "80000000-802fffff"
        write(root, "proc/iomem", f"00000000-00000fff : Reserved\n  {where} : BOOTFB\n"
              "fc00000000-fc0fffffff : 0000:0f:00.0\n")
    return f


def m_rom(kind):
    def f(root):
        data = {"efi": option_rom(True), "bios": option_rom(False), "junk": b"MZ" + bytes(510)}
        write(root, "srv/gpu.rom", data[kind], "wb")
    return f


def m_swtpm(root):
    for b in ("swtpm", "swtpm_setup"):
        write(root, f"usr/bin/{b}", "#!/bin/sh\n")
        os.chmod(os.path.join(root, f"usr/bin/{b}"), 0o755)


def m_vars(certs):
    def f(root):
        # The fixture's Secure Boot descriptor names this template.
        base = "usr/share/edk2/ovmf/OVMF_VARS_4M.secboot.qcow2"
        write(root, base, "QFI\xfb" + "\0" * 64 + " ".join(certs), "w")
    return f


MS2011 = ["Microsoft Corporation KEK CA 2011", "Windows Production PCA 2011",
          "Microsoft Corporation UEFI CA 2011"]
MS2023 = ["Windows UEFI CA 2023", "Microsoft UEFI CA 2023"]

def m_evdev(rdev):
    """dev/input/event3 in the fixture form of a device node, and its by-id link."""
    def f(root):
        write(root, "dev/input/event3", f"rdev={rdev}\n")
        os.makedirs(os.path.join(root, "dev/input/by-id"), exist_ok=True)
        os.symlink("../event3", os.path.join(root, "dev/input/by-id/usb-K-event-kbd"))
    return f


def m_lg(static_mb=None, kvmfr0=None, shm=None):
    """alice in etc/passwd; kvmfr loaded with static_mb; dev/kvmfr0 and dev/shm/looking-glass."""
    def f(root):
        write(root, "etc/passwd", "root:x:0:0::/root:/bin/sh\ngamevm:x:998:998::/:/bin/false\n"
              "alice:x:1000:1000::/home/alice:/bin/sh\n")
        write(root, "etc/group", "root:x:0:\ngamevm:x:998:\nalice:x:1000:\n")
        if static_mb is not None:
            write(root, "sys/module/kvmfr/parameters/static_size_mb", f"{static_mb}\n")
        if kvmfr0 is not None:
            write(root, "dev/kvmfr0", kvmfr0)
        if shm is not None:
            write(root, "dev/shm/looking-glass", shm)
    return f


def m_audio(pa_module=True, socket=True):
    """alice, QEMU's audio modules (audio-pa.so or not), her sound server's socket (or not)."""
    def f(root):
        m_lg()(root)
        write(root, "usr/lib/x86_64-linux-gnu/qemu/audio-alsa.so", "")
        if pa_module:
            write(root, "usr/lib/x86_64-linux-gnu/qemu/audio-pa.so", "")
        if socket:
            write(root, "run/user/1000/pulse/native", "")
    return f


CASES = [
    # IOMMU and VFIO
    ("iommu.enabled", "ryzen-5950x", {}, m_none, "pass"),
    ("iommu.enabled", "no-iommu", {"gpu": False}, m_none, "warn"),
    ("iommu.amd_iommu_on", "ryzen-5950x", {}, m_none, "absent"),
    ("iommu.amd_iommu_on", "ryzen-5950x", {}, m_cmdline("amd_iommu=on"), "warn"),
    ("iommu.interrupt_remapping", "ryzen-5950x", {}, m_cmdline("intremap=off"), "fail"),
    # ecap bit 3: interrupt remapping
    ("iommu.interrupt_remapping", "intel-14900k", {"gpu": False},
     m_sys("sys/class/iommu/dmar0/intel-iommu/ecap", "f0501e\n"), "pass"),
    ("iommu.interrupt_remapping", "intel-14900k", {"gpu": False},
     m_sys("sys/class/iommu/dmar0/intel-iommu/ecap", "f05016\n"), "fail"),
    ("iommu.interrupt_remapping", "intel-14900k", {"gpu": False},
     m_many(m_sys("sys/class/iommu/dmar0/intel-iommu/ecap", "f05016\n"),
            m_sys("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n")),
     "warn"),
    ("iommu.acs_override", "ryzen-5950x", {}, m_cmdline("pcie_acs_override=downstream"), "warn"),
    ("vfio.module", "ryzen-5950x", {}, m_sys("sys/module/vfio_pci/refcnt", "0\n"), "pass"),
    ("vfio.module", "ryzen-5950x", {},
     m_many(m_sys("proc/sys/kernel/osrelease", "6.1.0-28-amd64\n"),
            m_sys("lib/modules/6.1.0-28-amd64/modules.dep", "kernel/fs/ext4/ext4.ko:\n")),
     "fail"),
    ("vfio.module", "ryzen-5950x", {},
     m_many(m_sys("proc/sys/kernel/osrelease", "6.1.0-28-amd64\n"),
            m_sys("lib/modules/6.1.0-28-amd64/modules.dep",
                  "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/vfio.ko\n")),
     "pass"),
    # the fixture's vfio-pci.ids=1002:7550,1002:ab40 names the VM's GPU and its audio only
    ("vfio.ids", "ryzen-5950x", {}, m_none, "pass"),
    ("vfio.ids", "ryzen-5950x", {}, m_cmdline("vfio-pci.ids=1022:1480"), "warn"),
    ("iommu.bridge_on_vfio", "ryzen-5950x", {}, m_none, "absent"),
    # devices
    ("device.present", "ryzen-5950x", {}, m_gpu("config", b"\x02\x10\x50\x75"), "pass"),
    ("device.present", "ryzen-5950x", {}, m_gpu("config", b"\xff\xff\xff\xff"), "fail"),
    ("device.override", "ryzen-5950x", {}, m_gpu("driver_override", "amdgpu\n"), "warn"),
    ("device.override", "ryzen-5950x", {}, m_sys("etc/driverctl.d/pci-0000:0f:00.0", "vfio-pci\n"),
     "warn"),
    ("device.override", "ryzen-5950x", {}, m_none, "absent"),
    ("device.reset", "ryzen-5950x", {}, m_none, "pass"),
    ("device.reset", "ryzen-5950x", {}, m_gpu("reset_method", "\n"), "warn"),
    ("device.reset", "ryzen-5950x", {}, m_gpu("device", "0x731f\n"), "warn"),
    ("device.reset", "ryzen-5950x", {},
     m_many(m_gpu("device", "0x731f\n"), m_sys("sys/module/vendor_reset/refcnt", "1\n")), "pass"),
    ("gpu.bootfb", "ryzen-5950x", {}, m_bootfb(True), "fail"),
    ("gpu.bootfb", "ryzen-5950x", {}, m_bootfb(False), "pass"),
    ("gpu.drm_holders", "ryzen-5950x", {}, m_drm_holder, "fail"),
    ("gpu.drm_holders", "ryzen-5950x", {}, m_drm_nobody, "pass"),
    ("gpu.drm_holders", "ryzen-5950x", {"user": True}, m_drm_private, "skip"),
    ("gpu.boot_vga", "ryzen-5950x", {}, m_gpu("boot_vga", "1\n"), "warn"),
    ("gpu.boot_vga", "ryzen-5950x", {}, m_none, "absent"),
    ("device.romfile", "ryzen-5950x", {"rom": True}, m_rom("efi"), "pass"),
    ("device.romfile", "ryzen-5950x", {"rom": True}, m_rom("bios"), "fail"),
    ("device.romfile", "ryzen-5950x", {"rom": True}, m_rom("junk"), "fail"),
    ("device.romfile", "ryzen-5950x", {"rom": True}, m_none, "fail"),
    # what the guest's GPU driver needs of the VM
    ("gpu.hypervisor_hidden", "ryzen-5950x", {"hide": "no"}, m_none, "warn"),
    ("gpu.hypervisor_hidden", "ryzen-5950x", {}, m_none, "absent"),
    ("gpu.rombar", "ryzen-5950x", {"rombar": "no"}, m_none, "warn"),
    ("gpu.rombar", "ryzen-5950x", {}, m_none, "absent"),
    ("gpu.emulated_display", "ryzen-5950x", {"display": "std"}, m_none, "warn"),
    ("gpu.emulated_display", "ryzen-5950x", {}, m_none, "absent"),
    ("gpu.mmio_window", "ryzen-5950x", {},
     m_gpu("resource", "0x000000fc00000000 0x0000010bffffffff 0x000000000014220c\n"), "warn"),
    ("gpu.mmio_window", "ryzen-5950x", {},
     m_gpu("resource", "0x000000fc00000000 0x000000fc0fffffff 0x000000000014220c\n"), "absent"),
    ("config.x_vga", "ryzen-5950x", {"extra": "-global vfio-pci.x-vga=on"}, m_none, "warn"),
    ("config.x_vga", "ryzen-5950x", {}, m_none, "absent"),
    ("config.hook", "ryzen-5950x", {"hook": "/usr/bin/ddcutil setvcp 60 0x0f"}, m_none, "warn"),
    ("config.hook", "ryzen-5950x", {"hook": "/usr/bin/qemu-system-x86_64 -version"}, m_none,
     "pass"),
    # single-gpu: systemd to stop the display manager, and its unit
    ("gpu.single_gpu", "ryzen-5950x", {"single_gpu": True}, m_none, "warn"),
    ("gpu.single_gpu", "ryzen-5950x", {"single_gpu": True},
     m_sys("run/systemd/system/init.scope", ""), "warn"),
    ("gpu.single_gpu", "ryzen-5950x", {"single_gpu": True},
     m_many(m_sys("run/systemd/system/init.scope", ""),
            m_sys("etc/systemd/system/display-manager.service", "[Service]\n")), "pass"),
    ("gpu.single_gpu", "ryzen-5950x", {"single_gpu": True, "sg_stop": "user@1000.service"},
     m_many(m_sys("run/systemd/system/init.scope", ""),
            m_sys("usr/lib/systemd/system/user@.service", "[Service]\n")), "pass"),
    ("gpu.single_gpu", "ryzen-5950x", {}, m_none, "absent"),
    # memory
    ("memory.hugepages", "ryzen-5950x", {}, m_none, "pass"),
    ("memory.hugepages", "ryzen-5950x", {},
     m_many(m_sys("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n"),
            m_sys("proc/buddyinfo", "Node 0, zone   Normal  10 10 10 10 10 10 10 10 10 2 1\n")),
     "warn"),
    ("memory.hugepages", "ryzen-5950x", {},
     m_many(m_sys("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n"),
            m_sys("proc/buddyinfo", "Node 0, zone   Normal  10 10 10 10 10 10 10 10 10 2 4000\n")),
     "pass"),
    ("memory.pdpe1gb", "ryzen-5950x", {"hugepages": "1G"},
     lambda r: write(r, "proc/cpuinfo", open(os.path.join(r, "proc/cpuinfo")).read()
                     .replace(" pdpe1gb", "")), "fail"),
    ("memory.zfs", "ryzen-5950x", {}, m_sys("sys/module/zfs/refcnt", "1\n"), "warn"),
    ("memory.thp", "ryzen-5950x", {"hugepages": "none"},
     m_sys("sys/kernel/mm/transparent_hugepage/enabled", "always madvise [never]\n"), "warn"),
    ("memory.thp", "ryzen-5950x", {"hugepages": "none"},
     m_sys("sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n"), "pass"),
    # CPU and KVM
    ("kvm.usable", "ryzen-5950x", {}, m_none, "pass"),
    ("kvm.ignore_msrs", "ryzen-5950x", {}, m_sys("sys/module/kvm/parameters/ignore_msrs", "N\n"),
     "warn"),
    ("kvm.ignore_msrs", "ryzen-5950x", {}, m_sys("sys/module/kvm/parameters/ignore_msrs", "Y\n"),
     "pass"),
    ("cpu.topoext", "ryzen-5950x", {}, m_none, "pass"),
    ("cpu.topoext", "ryzen-5950x", {},
     lambda r: write(r, "proc/cpuinfo", open(os.path.join(r, "proc/cpuinfo")).read()
                     .replace(" topoext", "")), "warn"),
    ("cpu.irqbalance", "ryzen-5950x", {}, m_sys("proc/812/comm", "irqbalance\n"), "warn"),
    ("cpu.irqbalance", "ryzen-5950x", {}, m_none, "absent"),
    ("cpu.irqs", "ryzen-5950x", {"irq": "no"}, m_none, "warn"),
    ("cpu.clocksource", "ryzen-5950x", {},
     m_sys("sys/devices/system/clocksource/clocksource0/current_clocksource", "hpet\n"), "warn"),
    ("cpu.clocksource", "ryzen-5950x", {},
     m_sys("sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n"), "pass"),
    ("cpu.split_lock", "intel-14900k", {"gpu": False}, m_none, "warn"),
    ("cpu.split_lock", "intel-14900k", {"gpu": False}, m_cmdline("split_lock_detect=off"), "pass"),
    # [input] evdev devices
    ("input.evdev", "ryzen-5950x", {"input": True}, m_evdev("13:67"), "pass"),
    ("input.evdev", "ryzen-5950x", {"input": True}, m_evdev("8:0"), "fail"),
    ("input.evdev", "ryzen-5950x", {"input": True}, m_none, "fail"),
    ("input.evdev", "ryzen-5950x", {}, m_none, "absent"),
    # [looking-glass]: kvmfr's size, the node or file and its user
    ("lg.kvmfr-size", "ryzen-5950x", {"lg": True}, m_lg(64, "rdev=240:0\n"), "pass"),
    ("lg.kvmfr-size", "ryzen-5950x", {"lg": True}, m_lg(16, "rdev=240:0\n"), "fail"),
    ("lg.kvmfr-size", "ryzen-5950x", {"lg": True}, m_lg(), "absent"),
    ("lg.owner", "ryzen-5950x", {"lg": True}, m_lg(64, "rdev=240:0\n"), "pass"),
    # a file QEMU left at /dev/kvmfr0 before the module was loaded
    ("lg.owner", "ryzen-5950x", {"lg": True}, m_lg(64, "stale\n"), "fail"),
    ("lg.owner", "ryzen-5950x", {"lg": True}, m_lg(), "pass"),
    # a file there already (root's here; alice's would be refused too): gamevm makes its own
    ("lg.owner", "ryzen-5950x", {"lg": True}, m_lg(shm="x"), "fail"),
    ("lg.owner", "ryzen-5950x", {"lg": True}, m_none, "fail"),
    ("lg.owner", "ryzen-5950x", {}, m_lg(), "absent"),
    # [audio]: QEMU's pa module, the user's sound server
    ("audio.qemu-pa", "ryzen-5950x", {"audio": True}, m_audio(), "pass"),
    ("audio.qemu-pa", "ryzen-5950x", {"audio": True}, m_audio(pa_module=False), "fail"),
    ("audio.qemu-pa", "ryzen-5950x", {}, m_audio(), "absent"),
    ("audio.server", "ryzen-5950x", {"audio": True}, m_audio(), "pass"),
    ("audio.server", "ryzen-5950x", {"audio": True}, m_audio(socket=False), "warn"),
    # firmware, TPM, SELinux
    ("firmware.ms_ca_2023", "ryzen-5950x", {}, m_vars(MS2011), "warn"),
    ("firmware.ms_ca_2023", "ryzen-5950x", {}, m_vars(MS2011 + MS2023), "pass"),
    ("tpm.swtpm", "ryzen-5950x", {}, m_none, "fail"),
    ("tpm.swtpm", "ryzen-5950x", {}, m_swtpm, "pass"),
    ("tpm.swtpm", "ryzen-5950x", {"tpm": "none"}, m_none, "absent"),
    ("selinux", "ryzen-5950x", {}, m_none, "skip"),
    ("selinux.module", "ryzen-5950x", {}, m_sys("sys/fs/selinux/enforce", "1\n"), "warn"),
    ("selinux.module", "ryzen-5950x", {},
     m_many(m_sys("sys/fs/selinux/enforce", "1\n"),
            m_sys("var/lib/selinux/targeted/active/modules/400/gamevm/cil", "x\n")), "pass"),
    ("selinux.denials", "ryzen-5950x", {},
     m_many(m_sys("sys/fs/selinux/enforce", "1\n"),
            m_sys("var/log/audit/audit.log",
                  'type=AVC msg=audit(1.2:3): avc:  denied  { ipc_lock } for pid=9 '
                  'comm="qemu-system-x86" capability=14\n')), "warn"),
]


def conf_for(opts):
    text = CONF_BASE.format(hugepages=opts.get("hugepages", "2M"), irq=opts.get("irq", "yes"),
                            tpm=opts.get("tpm", "crb"), hide=opts.get("hide", "yes"),
                            display=opts.get("display", "none"))
    if opts.get("single_gpu"):
        text = text.replace("[vm]\n", "[vm]\nsingle-gpu = yes\n" +
                            (f"single-gpu-stop = {opts['sg_stop']}\n" if opts.get("sg_stop") else ""), 1)
    if opts.get("gpu", True):
        text += CONF_GPU.format(rom="romfile = /srv/gpu.rom" if opts.get("rom") else "",
                                rombar=opts.get("rombar", "yes"))
    if opts.get("hook"):
        text += f"[hook h]\nwhen = start\ncommand = {opts['hook']}\n"
    if opts.get("input"):
        text += "[input]\nevdev = /dev/input/by-id/usb-K-event-kbd\n"
    if opts.get("lg"):
        text += "[looking-glass]\nuser = alice\n"
    if opts.get("audio"):
        text += "[audio]\nbackend = pipewire\nuser = alice\n"
    if opts.get("extra"):
        text += f"[qemu]\nextra = {opts['extra']}\n"
    return text


def main():
    failed = 0
    seen = {}
    with tempfile.TemporaryDirectory(prefix="gamevm-doctor-") as tmp:
        os.chmod(tmp, 0o755)
        for i, (cid, host, opts, mutate, want) in enumerate(CASES):
            if opts.get("user") and os.geteuid() != 0:
                print(f"skip {cid:28} {host:14} (becoming another user needs root)")
                continue
            root = os.path.join(tmp, f"{i}", "root")
            shutil.copytree(os.path.join(SRC, "tests/hosts", host), root, symlinks=True)
            mutate(root)
            try:
                checks = run_check(root, conf_for(opts), opts.get("user", False))
                got = [c for c in checks if c["id"] == cid]
                status = got[0]["status"] if got else "absent"
                if status != want:
                    raise AssertionError(f"{status}, not {want}: "
                                         f"{json.dumps(got, indent=1) if got else ''}")
                if got and status in ("warn", "fail") and not got[0]["fix"]:
                    raise AssertionError(f"{status} without a fix")
                print(f"ok   {cid:28} {host:14} {want}")
                seen.setdefault(cid, set()).add(want)
            except AssertionError as e:
                failed += 1
                print(f"FAIL {cid:28} {host:14} wanted {want}: {e}")
            shutil.rmtree(os.path.join(tmp, f"{i}"))
    # Every check seen both ways: passing (or absent) and warning or failing.
    for cid, statuses in sorted(seen.items()):
        if not statuses & {"pass", "absent", "skip"} or not statuses & {"warn", "fail", "skip"}:
            if cid not in ("kvm.usable", "iommu.bridge_on_vfio", "cpu.irqs", "selinux",
                           "selinux.denials", "memory.zfs", "memory.pdpe1gb",
                           "iommu.acs_override", "iommu.amd_iommu_on"):
                failed += 1
                print(f"FAIL {cid}: only seen {sorted(statuses)}")
    print(f"{len(CASES) - failed} of {len(CASES)} cases passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
