# SPDX-License-Identifier: GPL-2.0-or-later
"""
A tiny guest for tests that need one that does something by itself: Debian's
kernel (the lab's cached copy, tests/lab/lab.py) and a busybox initramfs
whose /init is the given shell script. Booted by QEMU's -kernel/-initrd
through the VM's UEFI firmware (without Secure Boot: the kernel is not signed
for the firmware's keys).

    kernel, initrd = tinyguest.build(workdir, "poweroff -f")
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


def build(workdir, script):
    """(kernel, initrd) readable by everyone under workdir; raises lab.LabUnavailable."""
    tree, _ = lab.kernel_prepare()
    kver = lab.kernel_version(tree)
    os.makedirs(workdir, exist_ok=True)
    kernel = os.path.join(workdir, "vmlinuz")
    shutil.copyfile(os.path.join(tree, "boot", f"vmlinuz-{kver}"), kernel)
    initrd = os.path.join(workdir, "initrd.cpio")
    bb = lab.busybox_path()
    applets = lab.run([bb, "--list"]).split()
    with open(initrd, "wb") as f:
        c = lab.Cpio(f)
        for d in ("bin", "dev", "proc", "sys"):
            c.dir(d)
        c.add("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
        with open(bb, "rb") as b:
            c.file("bin/busybox", b.read(), 0o755)
        for a in applets:
            if a != "busybox":
                c.add(f"bin/{a}", stat.S_IFLNK | 0o777, b"busybox")
        c.file("init", INIT_HEAD + script.encode() + b"\n", 0o755)
        c.close()
    for p in (kernel, initrd):
        os.chmod(p, 0o644)
    return kernel, initrd
