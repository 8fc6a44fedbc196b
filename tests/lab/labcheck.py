# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers shared by the lab's guest-side test scripts: checks that print
"ok"/"FAIL" lines (the runner greps them) and small sysfs readers."""
import os

SYS = "/sys/bus/pci/devices"
failures = []


def check(cond, msg):
    print(("ok    " if cond else "FAIL  ") + msg, flush=True)
    if not cond:
        failures.append(msg)
    return cond


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def driver(addr):
    link = os.path.join(SYS, addr, "driver")
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else None


def group_of(addr):
    return os.path.basename(os.readlink(os.path.join(SYS, addr, "iommu_group")))
