# SPDX-License-Identifier: GPL-2.0-or-later
"""
A tiny guest for tests that need one that does something by itself: Debian's
kernel (the lab's cached copy, tests/lab/lab.py) and a busybox initramfs
whose /init is the given shell script. Booted by QEMU's -kernel/-initrd
through the VM's UEFI firmware (without Secure Boot: the kernel is not signed
for the firmware's keys).

    kernel, initrd = tinyguest.build(workdir, "poweroff -f")

modules names kernel modules (uncompressed, without dependencies, e.g.
("evdev", "button") for the ACPI power button) that /init loads first.
"""
import os
import shutil
import stat
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))
import lab  # noqa: E402  (the cached kernel, Cpio, busybox)

INIT_HEAD = b"""#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
"""


def module_path(tree, kver, name):
    base = os.path.join(tree, "lib", "modules", kver, "kernel")
    for d, _, files in os.walk(base):
        if f"{name}.ko" in files:
            return os.path.join(d, f"{name}.ko")
    raise lab.LabUnavailable(f"no module {name}.ko under '{base}'")


def with_deps(names):
    """names and every module they need (modules.dep), each after what it needs."""
    tree, _ = lab.kernel_prepare()
    kver = lab.kernel_version(tree)
    deps = {}
    with open(os.path.join(tree, "lib", "modules", kver, "modules.dep")) as f:
        for line in f:
            mod, _, rest = line.partition(":")
            name = lambda p: os.path.basename(p).split(".ko")[0]  # noqa: E731
            deps[name(mod)] = [name(d) for d in rest.split()]
    out = []

    def visit(m):
        if m in out:
            return
        for d in deps.get(m, []):
            visit(d)
        out.append(m)
    for n in names:
        if n.replace("-", "_") in deps or n in deps:
            visit(n if n in deps else n.replace("-", "_"))
    return out


def build(workdir, script, modules=()):
    """(kernel, initrd) readable by everyone under workdir; raises lab.LabUnavailable."""
    tree, _ = lab.kernel_prepare()
    kver = lab.kernel_version(tree)
    head = INIT_HEAD + b"".join(f"/bin/insmod /lib/{m}.ko\n".encode() for m in modules)
    os.makedirs(workdir, exist_ok=True)
    kernel = os.path.join(workdir, "vmlinuz")
    shutil.copyfile(os.path.join(tree, "boot", f"vmlinuz-{kver}"), kernel)
    initrd = os.path.join(workdir, "initrd.cpio")
    bb = lab.busybox_path()
    applets = lab.run([bb, "--list"]).split()
    with open(initrd, "wb") as f:
        c = lab.Cpio(f)
        for d in ("bin", "dev", "proc", "sys", "lib"):
            c.dir(d)
        for m in modules:
            with open(module_path(tree, kver, m), "rb") as k:
                c.file(f"lib/{m}.ko", k.read(), 0o644)
        c.add("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
        with open(bb, "rb") as b:
            c.file("bin/busybox", b.read(), 0o755)
        for a in applets:
            if a != "busybox":
                c.add(f"bin/{a}", stat.S_IFLNK | 0o777, b"busybox")
        c.file("init", head + script.encode() + b"\n", 0o755)
        c.close()
    for p in (kernel, initrd):
        os.chmod(p, 0o644)
    return kernel, initrd
