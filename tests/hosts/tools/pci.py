#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Writes the PCI and IOMMU part of the fixture hosts under tests/hosts/:

  sys/devices/pci0000:00/...    one directory per device, nested under its
                                upstream bridge as in real sysfs
  sys/bus/pci/devices/ADDR      symlink into sys/devices/pci0000:00/...
  sys/kernel/iommu_groups/N/devices/ADDR
                                symlink back to the device directory

Each device directory holds the attributes gamevm reads, in the kernel's
format ("0x1002\n", "0x030000\n"), plus the "iommu_group" and "driver"
symlinks. Driver links point at sys/bus/pci/drivers/NAME, which is not
created: gamevm reads only the link's name. Bridges get a pci_bus/0000:BB/
directory like the kernel's (Proxmox tells bridges by it).

Run from anywhere: python3 tests/hosts/tools/pci.py. It replaces only the
PCI-owned paths of each tree and leaves the other engineers' parts alone.
The generated trees are committed; tests read the trees, not this script.
"""

import os
import shutil

HOSTS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def dev(addr, vendor, device, cls, driver=None, group=None, sub=None, reset=None,
        boot_vga=None, numa=-1, override=None, children=(), bus=None):
    return dict(addr=addr, vendor=vendor, device=device, cls=cls, driver=driver,
                group=group, sub=sub or (vendor, 0x0000), reset=reset,
                boot_vga=boot_vga, numa=numa, override=override,
                children=list(children), bus=bus)


def bridge(addr, vendor, device, group, bus, children=(), numa=-1, sub=None):
    return dev(addr, vendor, device, 0x060400, driver="pcieport", group=group,
               sub=sub, numa=numa, children=children, bus=bus)


# Ryzen 9 5950X on an ASRock X570 Taichi Razer Edition (the seed's host).
# The passthrough RX 9070 XT sits behind its own switch (upstream and
# downstream port), as Navi cards do, which is why it lands on bus 0f.
RYZEN = [
    dev("0000:00:00.0", 0x1022, 0x1480, 0x060000, group=0, sub=(0x1849, 0x1480), numa=0),
    bridge("0000:00:01.1", 0x1022, 0x1483, 2, 0x01, numa=0, children=[
        dev("0000:01:00.0", 0x144d, 0xa80a, 0x010802, "nvme", 14, (0x144d, 0xa801),
            reset="flr bus", numa=0),
    ]),
    bridge("0000:00:01.2", 0x1022, 0x1483, 3, 0x02, numa=0, children=[
        dev("0000:02:00.0", 0x1022, 0x43ee, 0x0c0330, "xhci_hcd", 15, (0x1b21, 0x1142), numa=0),
        dev("0000:02:00.1", 0x1022, 0x43eb, 0x010601, "ahci", 15, (0x1b21, 0x1062), numa=0),
        bridge("0000:02:00.2", 0x1022, 0x43e9, 15, 0x04, numa=0, sub=(0x1b21, 0x0201)),
    ]),
    bridge("0000:00:03.1", 0x1022, 0x1483, 5, 0x03, numa=0, children=[
        dev("0000:03:00.0", 0x1002, 0x747e, 0x030000, "amdgpu", 20, (0x1da2, 0xe471),
            reset="bus", boot_vga=1, numa=0),
        dev("0000:03:00.1", 0x1002, 0xab30, 0x040300, "snd_hda_intel", 20, (0x1002, 0xab30),
            numa=0),
    ]),
    bridge("0000:00:03.2", 0x1022, 0x1483, 6, 0x0d, numa=0, children=[
        bridge("0000:0d:00.0", 0x1002, 0x1478, 26, 0x0e, numa=0, children=[
            bridge("0000:0e:00.0", 0x1002, 0x1479, 27, 0x0f, numa=0, children=[
                dev("0000:0f:00.0", 0x1002, 0x7550, 0x030000, "vfio-pci", 28, (0x1da2, 0xe490),
                    reset="bus", boot_vga=0, numa=0),
                dev("0000:0f:00.1", 0x1002, 0xab40, 0x040300, "vfio-pci", 28, (0x1002, 0xab40),
                    numa=0),
            ]),
        ]),
    ]),
    bridge("0000:00:08.1", 0x1022, 0x1484, 7, 0x11, numa=0, children=[
        dev("0000:11:00.3", 0x1022, 0x149c, 0x0c0330, "xhci_hcd", 33, (0x1849, 0xffff),
            reset="flr", numa=0),
    ]),
]

# i9-14900K on an ASUS ROG STRIX Z790-E. The PCH's xHCI (00:14.0) shares
# group 8 with the shared-SRAM function 00:14.2 of the same slot: functions
# of a root-complex integrated device, not one card.
INTEL = [
    dev("0000:00:00.0", 0x8086, 0xa700, 0x060000, group=1, sub=(0x1043, 0x8882)),
    bridge("0000:00:01.0", 0x8086, 0xa70d, 2, 0x01, children=[
        dev("0000:01:00.0", 0x10de, 0x2684, 0x030000, "nvidia", 14, (0x1043, 0x889d),
            reset="bus", boot_vga=0),
        dev("0000:01:00.1", 0x10de, 0x22ba, 0x040300, "snd_hda_intel", 14, (0x1043, 0x889d)),
    ]),
    dev("0000:00:02.0", 0x8086, 0xa780, 0x030000, "i915", 0, (0x1043, 0x8882), reset="flr",
        boot_vga=1),
    bridge("0000:00:06.0", 0x8086, 0xa74d, 3, 0x02, children=[
        dev("0000:02:00.0", 0x15b7, 0x5017, 0x010802, "nvme", 15, (0x15b7, 0x5017),
            reset="flr bus"),
    ]),
    dev("0000:00:14.0", 0x8086, 0x7a60, 0x0c0330, "xhci_hcd", 8, (0x1043, 0x8882), reset="pm"),
    dev("0000:00:14.2", 0x8086, 0x7a27, 0x050000, None, 8, (0x1043, 0x8882)),
]

# A QEMU Q35 guest with a GTX 1050 Ti passed in and no vIOMMU: PCI devices
# but no IOMMU groups (sys/kernel/iommu_groups exists, empty).
NO_IOMMU = [
    dev("0000:00:00.0", 0x8086, 0x29c0, 0x060000, sub=(0x1af4, 0x1100)),
    bridge("0000:00:01.0", 0x1b36, 0x000c, None, 0x01, sub=(0x1b36, 0x0000), children=[
        dev("0000:01:00.0", 0x10de, 0x1c82, 0x030000, "nouveau", None, (0x1458, 0x3747),
            reset="bus", boot_vga=1),
        dev("0000:01:00.1", 0x10de, 0x0fb9, 0x040300, "snd_hda_intel", None, (0x1458, 0x3747)),
    ]),
    dev("0000:00:1f.2", 0x8086, 0x2922, 0x010601, "ahci", None, (0x1af4, 0x1100)),
]

TREES = {"ryzen-5950x": RYZEN, "intel-14900k": INTEL, "no-iommu": NO_IOMMU}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def link(path, target):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(os.path.relpath(target, os.path.dirname(path)), path)


def emit(sys_dir, parent_dir, d, groups):
    ddir = os.path.join(parent_dir, d["addr"])
    write(os.path.join(ddir, "vendor"), "0x%04x\n" % d["vendor"])
    write(os.path.join(ddir, "device"), "0x%04x\n" % d["device"])
    write(os.path.join(ddir, "subsystem_vendor"), "0x%04x\n" % d["sub"][0])
    write(os.path.join(ddir, "subsystem_device"), "0x%04x\n" % d["sub"][1])
    write(os.path.join(ddir, "class"), "0x%06x\n" % d["cls"])
    write(os.path.join(ddir, "numa_node"), "%d\n" % d["numa"])
    # The kernel prints "(null)" while no override is set.
    write(os.path.join(ddir, "driver_override"), "%s\n" % (d["override"] or "(null)"))
    if d["boot_vga"] is not None:
        # Only VGA-class devices carry boot_vga.
        write(os.path.join(ddir, "boot_vga"), "%d\n" % d["boot_vga"])
    if d["reset"] is not None:
        write(os.path.join(ddir, "reset_method"), d["reset"] + "\n")
    if d["driver"]:
        link(os.path.join(ddir, "driver"), os.path.join(sys_dir, "bus/pci/drivers", d["driver"]))
    if d["group"] is not None:
        gdir = os.path.join(sys_dir, "kernel/iommu_groups", str(d["group"]))
        link(os.path.join(ddir, "iommu_group"), gdir)
        link(os.path.join(gdir, "devices", d["addr"]), ddir)
        groups.add(d["group"])
    if d["bus"] is not None:
        # A real pci_bus/0000:BB is a class device directory; one attribute
        # keeps it in git.
        write(os.path.join(ddir, "pci_bus", "%s:%02x" % (d["addr"][:4], d["bus"]),
                           "cpulistaffinity"), "0-31\n")
    link(os.path.join(sys_dir, "bus/pci/devices", d["addr"]), ddir)
    for c in d["children"]:
        emit(sys_dir, ddir, c, groups)


def generate(name, devs):
    sys_dir = os.path.join(HOSTS, name, "sys")
    for p in ("bus/pci", "kernel/iommu_groups"):
        shutil.rmtree(os.path.join(sys_dir, p), ignore_errors=True)
    if os.path.isdir(os.path.join(sys_dir, "devices")):
        for e in os.listdir(os.path.join(sys_dir, "devices")):
            if e.startswith("pci"):
                shutil.rmtree(os.path.join(sys_dir, "devices", e))
    groups = set()
    root = os.path.join(sys_dir, "devices", "pci0000:00")
    for d in devs:
        emit(sys_dir, root, d, groups)
    if not groups:
        # The directory exists without an IOMMU, but git keeps no empty
        # directories; gamevm counts only numeric entries.
        write(os.path.join(sys_dir, "kernel/iommu_groups/.gitkeep"), "")


def main():
    for name, devs in TREES.items():
        generate(name, devs)


if __name__ == "__main__":
    main()
