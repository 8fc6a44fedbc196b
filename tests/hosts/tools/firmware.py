#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Writes the firmware part of each fixture host tree under tests/hosts/NAME/:
QEMU firmware descriptors (usr/share/qemu/firmware, etc/qemu/firmware) and
a small placeholder for every image a descriptor names. It only touches the
paths it owns (see /work/notes/fixtures.md) and removes them first.

- ryzen-5950x: Fedora's edk2-ovmf x86_64 descriptors (edk2.spec Source40-49,
  edk2-stable202511 era): 4M qcow2 and 2M raw builds, microvm, stateless,
  AMD SEV and Intel TDX. Two are stateless flash, which gamevm skips.
- intel-14900k: Debian/Ubuntu's three 4M raw descriptors, and an
  etc/qemu/firmware/60-edk2-x86_64.json of zero length that masks the
  non-Secure-Boot one.
- no-iommu: Debian 12's three descriptors, byte for byte.

Run from anywhere: tests/hosts/tools/firmware.py. The generated tree is
committed; tests read the tree, not this script.
"""
import os
import shutil

HOSTS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

OWNED = [
    "usr/share/qemu/firmware",
    "etc/qemu/firmware",
    "usr/share/OVMF",
    "usr/share/edk2",
]

# Debian 12 "ovmf" 2022.11-6+deb12u1, /usr/share/qemu/firmware, verbatim.
DEBIAN = {
    '40-edk2-x86_64-secure-enrolled.json': '{\n    "description": "UEFI firmware for x86_64, with Secure Boot and SMM, SB enabled, MS certs enrolled",\n    "interface-types": [\n        "uefi"\n    ],\n    "mapping": {\n        "device": "flash",\n        "executable": {\n            "filename": "/usr/share/OVMF/OVMF_CODE_4M.ms.fd",\n            "format": "raw"\n        },\n        "nvram-template": {\n            "filename": "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",\n            "format": "raw"\n        }\n    },\n    "targets": [\n        {\n            "architecture": "x86_64",\n            "machines": [\n                "pc-q35-*"\n            ]\n        }\n    ],\n    "features": [\n        "acpi-s3",\n        "amd-sev",\n        "enrolled-keys",\n        "requires-smm",\n        "secure-boot",\n        "verbose-dynamic"\n    ],\n    "tags": [\n\n    ]\n}\n',
    '50-edk2-x86_64-secure.json': '{\n    "description": "UEFI firmware for x86_64, with Secure Boot and SMM, empty varstore",\n    "interface-types": [\n        "uefi"\n    ],\n    "mapping": {\n        "device": "flash",\n        "executable": {\n            "filename": "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",\n            "format": "raw"\n        },\n        "nvram-template": {\n            "filename": "/usr/share/OVMF/OVMF_VARS_4M.fd",\n            "format": "raw"\n        }\n    },\n    "targets": [\n        {\n            "architecture": "x86_64",\n            "machines": [\n                "pc-q35-*"\n            ]\n        }\n    ],\n    "features": [\n        "acpi-s3",\n        "amd-sev",\n        "requires-smm",\n        "secure-boot",\n        "verbose-dynamic"\n    ],\n    "tags": [\n\n    ]\n}\n',
    '60-edk2-x86_64.json': '{\n    "description": "UEFI firmware for x86_64, without Secure Boot without SMM, with empty varstore",\n    "interface-types": [\n        "uefi"\n    ],\n    "mapping": {\n        "device": "flash",\n        "executable": {\n            "filename": "/usr/share/OVMF/OVMF_CODE_4M.fd",\n            "format": "raw"\n        },\n        "nvram-template": {\n            "filename": "/usr/share/OVMF/OVMF_VARS_4M.fd",\n            "format": "raw"\n        }\n    },\n    "targets": [\n        {\n            "architecture": "x86_64",\n            "machines": [\n                "pc-i440fx-*",\n                "pc-q35-*"\n            ]\n        }\n    ],\n    "features": [\n        "acpi-s3",\n        "amd-sev",\n        "verbose-dynamic"\n    ],\n    "tags": [\n\n    ]\n}\n',
}

# Debian's OVMF directory: the .ms code is a symlink to the secboot build.
DEBIAN_IMAGES = {
    "usr/share/OVMF/OVMF_CODE_4M.fd": None,
    "usr/share/OVMF/OVMF_CODE_4M.secboot.fd": None,
    "usr/share/OVMF/OVMF_CODE_4M.ms.fd": "OVMF_CODE_4M.secboot.fd",
    "usr/share/OVMF/OVMF_VARS_4M.fd": None,
    "usr/share/OVMF/OVMF_VARS_4M.ms.fd": None,
}


def fedora_flash(description, code, vars_, fmt, machines, features, mode="split"):
    # Fedora's files are hand-written in this layout, "mode" : "split" included.
    lines = [
        "{",
        '    "description": "%s",' % description,
        '    "interface-types": [',
        '        "uefi"',
        "    ],",
        '    "mapping": {',
        '        "device": "flash",',
        '        "mode" : "%s",' % mode,
        '        "executable": {',
        '            "filename": "%s",' % code,
        '            "format": "%s"' % fmt,
    ]
    if vars_:
        lines += [
            "        },",
            '        "nvram-template": {',
            '            "filename": "%s",' % vars_,
            '            "format": "%s"' % fmt,
        ]
    lines += ["        }", "    },"]
    return "\n".join(lines + targets_and_features(machines, features)) + "\n"


def fedora_memory(description, filename, machines, features):
    lines = [
        "{",
        '    "description": "%s",' % description,
        '    "interface-types": [',
        '        "uefi"',
        "    ],",
        '    "mapping": {',
        '        "device": "memory",',
        '        "filename": "%s"' % filename,
        "    },",
    ]
    return "\n".join(lines + targets_and_features(machines, features)) + "\n"


def targets_and_features(machines, features):
    lines = [
        '    "targets": [',
        "        {",
        '            "architecture": "x86_64",',
        '            "machines": [',
    ]
    lines += ['                "%s"%s' % (m, "," if i + 1 < len(machines) else "")
              for i, m in enumerate(machines)]
    lines += ["            ]", "        }", "    ],", '    "features": [']
    lines += ['        "%s"%s' % (f, "," if i + 1 < len(features) else "")
              for i, f in enumerate(features)]
    lines += ["    ],", '    "tags": [', "", "    ]", "}"]
    return lines


E = "/usr/share/edk2/ovmf/"
SB_ENROLLED = ["acpi-s3", "enrolled-keys", "requires-smm", "secure-boot", "verbose-dynamic"]
SB = ["acpi-s3", "requires-smm", "secure-boot", "verbose-dynamic"]
NOSB = ["acpi-s3", "amd-sev", "amd-sev-es", "verbose-dynamic"]
Q35 = ["pc-q35-*"]
ANY = ["pc-i440fx-*", "pc-q35-*"]

FEDORA = {
    "30-edk2-ovmf-4m-qcow2-x64-sb-enrolled.json": fedora_flash(
        "OVMF with SB+SMM, SB enabled, MS certs enrolled",
        E + "OVMF_CODE_4M.secboot.qcow2", E + "OVMF_VARS_4M.secboot.qcow2", "qcow2",
        Q35, SB_ENROLLED),
    "31-edk2-ovmf-2m-raw-x64-sb-enrolled.json": fedora_flash(
        "OVMF with SB+SMM, SB enabled, MS certs enrolled",
        E + "OVMF_CODE.secboot.fd", E + "OVMF_VARS.secboot.fd", "raw", Q35, SB_ENROLLED),
    "40-edk2-ovmf-4m-qcow2-x64-sb.json": fedora_flash(
        "OVMF with SB+SMM, empty varstore",
        E + "OVMF_CODE_4M.secboot.qcow2", E + "OVMF_VARS_4M.qcow2", "qcow2", Q35, SB),
    "41-edk2-ovmf-2m-raw-x64-sb.json": fedora_flash(
        "OVMF with SB+SMM, empty varstore",
        E + "OVMF_CODE.secboot.fd", E + "OVMF_VARS.fd", "raw", Q35, SB),
    "50-edk2-ovmf-4m-qcow2-x64-nosb.json": fedora_flash(
        "OVMF without SB+SMM, empty varstore",
        E + "OVMF_CODE_4M.qcow2", E + "OVMF_VARS_4M.qcow2", "qcow2", ANY, NOSB),
    "50-edk2-ovmf-x64-microvm.json": fedora_memory(
        "OVMF for microvm", E + "MICROVM.fd", ["microvm"], ["verbose-dynamic"]),
    "51-edk2-ovmf-2m-raw-x64-nosb.json": fedora_flash(
        "OVMF without SB+SMM, empty varstore",
        E + "OVMF_CODE.fd", E + "OVMF_VARS.fd", "raw", ANY, NOSB),
    "60-edk2-ovmf-x64-stateless.json": fedora_flash(
        "OVMF stateless build, no varstore", E + "OVMF.stateless.fd", None, "raw",
        Q35, ["verbose-dynamic"], mode="stateless"),
    "61-edk2-ovmf-x64-amdsev.json": fedora_flash(
        "OVMF with SEV, SEV-ES and SEV-SNP support", E + "OVMF.amdsev.fd", None, "raw",
        Q35, ["amd-sev", "amd-sev-es", "amd-sev-snp", "verbose-dynamic"], mode="stateless"),
    "61-edk2-ovmf-x64-inteltdx.json": fedora_memory(
        "OVMF with Intel TDX support, SB enabled, MS certs enrolled",
        E + "OVMF.inteltdx.secboot.fd", Q35,
        ["enrolled-keys", "intel-tdx", "secure-boot", "verbose-dynamic"]),
}

FEDORA_IMAGES = {
    "usr/share/edk2/ovmf/" + n: None for n in [
        "OVMF_CODE_4M.secboot.qcow2", "OVMF_VARS_4M.secboot.qcow2", "OVMF_CODE_4M.qcow2",
        "OVMF_VARS_4M.qcow2", "OVMF_CODE.secboot.fd", "OVMF_VARS.secboot.fd",
        "OVMF_CODE.fd", "OVMF_VARS.fd", "MICROVM.fd", "OVMF.stateless.fd",
        "OVMF.amdsev.fd", "OVMF.inteltdx.secboot.fd",
    ]
}


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def images(root, imgs):
    for rel, link in imgs.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if link:
            os.symlink(link, path)
        else:
            write(root, rel, "gamevm test placeholder for %s, not firmware\n" % os.path.basename(rel))


def clean(root):
    for rel in OWNED:
        path = os.path.join(root, rel)
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)
    # drop etc/ and usr/share when nothing else lives there
    for rel in ["etc/qemu", "etc", "usr/share"]:
        path = os.path.join(root, rel)
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)


def main():
    hosts = {
        "ryzen-5950x": (FEDORA, FEDORA_IMAGES, {}),
        "intel-14900k": (DEBIAN, DEBIAN_IMAGES, {"etc/qemu/firmware/60-edk2-x86_64.json": ""}),
        "no-iommu": (DEBIAN, DEBIAN_IMAGES, {}),
    }
    for host, (descs, imgs, extra) in hosts.items():
        root = os.path.join(HOSTS, host)
        clean(root)
        for name, text in descs.items():
            write(root, "usr/share/qemu/firmware/" + name, text)
        for rel, text in extra.items():
            write(root, rel, text)
        images(root, imgs)


if __name__ == "__main__":
    main()
