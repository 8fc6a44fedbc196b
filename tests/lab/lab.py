#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
The gamevm lab: boots a throwaway guest under QEMU/TCG with an emulated Intel
IOMMU, Debian's kernel and this machine's root (read-only, under a tmpfs
overlay), runs one command in it and hands back the command's stdout, stderr
and exit status. See README.md here for the device layout and the paths the
command sees.

    lab.py [--timeout S] [--hugepages N] [--env K=V]... [--verbose] -- COMMAND...

Exit status: the command's own, or 77 when the kernel package cannot be had
(no network and nothing cached; a failure under CI=true), 124 when the lab
ran past --timeout, 125 when the lab itself failed (the log says why).
"""
import argparse
import ctypes
import fcntl
import glob
import json
import os
import re
import select
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.normpath(os.path.join(HERE, "..", ".."))
QEMU = "qemu-system-x86_64"
EXIT_SKIP, EXIT_TIMEOUT, EXIT_LAB = 77, 124, 125

# Modules /init needs before it can reach any 9p export; everything else is
# loaded from the full tree by the host's kmod inside the guest.
EARLY_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay"]

# The passthrough-like layout (README.md). The smoke test checks the guest
# against this; tests find devices by role in /lab/layout.json.
LAYOUT = {
    "host-vga": {"addr": "0000:00:01.0", "driver": "bochs-drm", "group": ["host-vga"],
                 "numa_node": -1, "boot_vga": 1},
    "gpu": {"addr": "0000:81:00.0", "driver": "bochs-drm", "group": ["gpu", "gpu-audio"],
            "numa_node": 1, "boot_vga": 0},
    "gpu-audio": {"addr": "0000:81:00.1", "driver": "snd_hda_intel",
                  "group": ["gpu", "gpu-audio"], "numa_node": 1},
    "xhci": {"addr": "0000:01:00.0", "driver": "xhci_hcd", "group": ["xhci"]},
    "nic": {"addr": "0000:02:00.0", "driver": "e1000e", "group": ["nic"]},
    "pci-bridge": {"addr": "0000:03:00.0", "driver": "shpchp",
                   "group": ["pci-bridge", "shared-nic", "shared-usb"]},
    "shared-nic": {"addr": "0000:04:01.0", "driver": "e1000",
                   "group": ["pci-bridge", "shared-nic", "shared-usb"]},
    "shared-usb": {"addr": "0000:04:02.0", "driver": "ohci-pci",
                   "group": ["pci-bridge", "shared-nic", "shared-usb"]},
}


class LabError(Exception):
    pass


class LabUnavailable(LabError):
    """The kernel package cannot be had: a skip, unless CI=true."""


def log(msg):
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def cache_dir():
    return os.environ.get("GAMEVM_LAB_CACHE", "/var/cache/gamevm-lab")


def run(argv, **kw):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kw).stdout


def kernel_candidate():
    """(package, version) of the kernel linux-image-amd64 depends on now."""
    out = run(["apt-cache", "show", "--no-all-versions", "linux-image-amd64"])
    m = re.search(r"^Depends:.*?(linux-image-[0-9][^\s,]*)\s*\(=\s*([^)\s]+)\)", out, re.M)
    if not m:
        raise LabError("apt-cache: no versioned kernel in linux-image-amd64's Depends")
    return m.group(1), m.group(2)


def kernel_trees(cache):
    return sorted(glob.glob(os.path.join(cache, "linux-image-*/.ready")),
                  key=os.path.getmtime, reverse=True)


def kernel_fetch(cache, pkg, ver):
    """apt-get download + dpkg-deb -x + depmod, into cache/PKG_VER."""
    tree = os.path.join(cache, f"{pkg}_{ver}")
    debs = os.path.join(cache, "debs")
    os.makedirs(debs, exist_ok=True)
    log(f"downloading {pkg} {ver} into {debs}")
    try:
        run(["apt-get", "download", f"{pkg}={ver}"], cwd=debs)
    except subprocess.CalledProcessError as e:
        raise LabUnavailable(f"apt-get download {pkg}={ver} failed:\n{e.stdout.strip()}")
    deb = glob.glob(os.path.join(debs, f"{pkg}_*.deb"))
    if len(deb) != 1:
        raise LabError(f"apt-get download left {deb or 'nothing'} in {debs}")
    for stale in glob.glob(os.path.join(cache, ".tmp-*")):
        shutil.rmtree(stale, ignore_errors=True)  # a run killed mid-extraction
    tmp = tempfile.mkdtemp(prefix=".tmp-", dir=cache)
    try:
        run(["dpkg-deb", "-x", deb[0], tmp])
        kver = os.listdir(os.path.join(tmp, "lib", "modules"))[0]
        run(["depmod", "-b", tmp, kver])
        open(os.path.join(tmp, ".ready"), "w").close()
        shutil.rmtree(tree, ignore_errors=True)
        os.rename(tmp, tree)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        os.unlink(deb[0])
    # One kernel is enough: drop the ones the archive has moved past.
    for old in glob.glob(os.path.join(cache, "linux-image-*")):
        if old != tree:
            shutil.rmtree(old, ignore_errors=True)
    return tree


def tools_check():
    for tool, pkg in ((QEMU, "qemu-system-x86"), ("depmod", "kmod"), ("modprobe", "kmod"),
                      ("dpkg-deb", "dpkg"), ("apt-get", "apt")):
        if not shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
            raise LabUnavailable(f"{tool} not found (package {pkg}; scripts/deps.sh installs it)")
    busybox_path()


def kernel_prepare():
    """The extracted, depmod'ed kernel tree: cached, else downloaded."""
    tools_check()
    cache = cache_dir()
    try:
        os.makedirs(cache, exist_ok=True)
        lock = open(os.path.join(cache, ".lock"), "w")
    except OSError as e:
        raise LabUnavailable(f"kernel cache: {e} (set GAMEVM_LAB_CACHE to a writable dir)")
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pkg, ver = kernel_candidate()
        except (LabError, subprocess.CalledProcessError, FileNotFoundError) as e:
            pkg = ver = None
            why = getattr(e, "stdout", None) or str(e)
        if pkg:
            tree = os.path.join(cache, f"{pkg}_{ver}")
            if os.path.exists(os.path.join(tree, ".ready")):
                return tree, "cached"
            try:
                return kernel_fetch(cache, pkg, ver), "downloaded"
            except LabUnavailable as e:
                why = str(e)
        ready = kernel_trees(cache)
        if not ready and pkg and os.geteuid() == 0:
            # Stale package lists: the security archive keeps only the
            # newest kernel, so the version they name may be gone.
            log("apt-get update, then trying again")
            try:
                run(["apt-get", "update", "-qq"])
                pkg, ver = kernel_candidate()
                return kernel_fetch(cache, pkg, ver), "downloaded"
            except (LabError, subprocess.CalledProcessError) as e:
                why += "\n" + (getattr(e, "stdout", None) or str(e))
        if ready:
            log(f"using the cached kernel ({why.strip()})")
            return os.path.dirname(ready[0]), "cached, stale"
        raise LabUnavailable(why.strip())


def kernel_version(tree):
    kvers = os.listdir(os.path.join(tree, "lib", "modules"))
    if len(kvers) != 1:
        raise LabError(f"{tree}: expected one module tree, found {kvers}")
    return kvers[0]


class Cpio:
    """A newc archive written by hand: device nodes need no root this way."""

    def __init__(self, f):
        self.f, self.ino = f, 1

    def add(self, name, mode, data=b"", rdev=(0, 0)):
        name = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data),
            0, 0, rdev[0], rdev[1], len(name), 0))
        self.ino += 1
        self.f.write(hdr.encode() + name)
        self.f.write(b"\0" * (-(len(hdr) + len(name)) % 4))
        self.f.write(data)
        self.f.write(b"\0" * (-len(data) % 4))

    def dir(self, name):
        self.add(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o644):
        self.add(name, stat.S_IFREG | mode, data)

    def close(self):
        self.add("TRAILER!!!", 0)


def busybox_path():
    # The static one: the initramfs has no libc.
    out = subprocess.run(["dpkg-query", "-L", "busybox-static"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout.split()
    for p in out:
        if p.endswith("/busybox") and os.path.isfile(p):
            return p
    raise LabUnavailable("busybox-static is not installed (scripts/deps.sh installs it)")


def initramfs_build(tree, kver, path):
    modules = []
    out = run(["modprobe", "-d", tree, "-S", kver, "-a", "--show-depends"] + EARLY_MODULES)
    for line in out.splitlines():
        w = line.split()
        if w and w[0] == "insmod" and w[1] not in modules:
            modules.append(w[1])
    bb = busybox_path()
    applets = run([bb, "--list"]).split()
    with open(path, "wb") as f:
        c = Cpio(f)
        for d in ("bin", "dev", "proc", "sys", "modules"):
            c.dir(d)
        c.add("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
        with open(bb, "rb") as b:
            c.file("bin/busybox", b.read(), 0o755)
        for a in applets:
            if a != "busybox":
                c.add(f"bin/{a}", stat.S_IFLNK | 0o777, b"busybox")
        c.file("bin/lab-modprobe",
               b'#!/bin/sh\nexec /bin/chroot /newroot /sbin/modprobe "$@"\n', 0o755)
        with open(os.path.join(HERE, "init.sh"), "rb") as i:
            c.file("init", i.read(), 0o755)
        c.file("kver", kver.encode() + b"\n")
        for m in modules:
            with open(m, "rb") as k:
                c.file("modules/" + os.path.basename(m), k.read())
        c.file("modules/order", "".join(os.path.basename(m) + "\n" for m in modules).encode())
        c.close()


def inside(path, top):
    return os.path.commonpath([path, top]) == top


def shares_plan(srcdir, builddir):
    """[(tag, host path)] of the gamevm trees, each mounted at its own path."""
    shares = [("gvsrc", srcdir)]
    if builddir and not inside(builddir, srcdir):
        shares.append(("gvbuild", builddir))
    return shares


def cmd_script(argv, env, cwd):
    lines = [
        "#!/bin/bash",
        "# Written by lab.py: the command, with its output copied to /lab.",
        "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "export HOME=/root LANG=C.UTF-8 TERM=dumb",
    ]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    lines += [
        f"cd {shlex.quote(cwd)} || exit 125",
        "mkfifo /run/lab-stdout /run/lab-stderr",
        "tee /lab/stdout </run/lab-stdout & o=$!",
        "tee /lab/stderr </run/lab-stderr >&2 & e=$!",
        " ".join(shlex.quote(a) for a in argv) +
        " </dev/null >/run/lab-stdout 2>/run/lab-stderr",
        "rc=$?",
        "# A daemon the command left behind may hold the pipes: wait 2 s at most.",
        "for i in $(seq 20); do",
        "\tkill -0 $o 2>/dev/null || kill -0 $e 2>/dev/null || break",
        "\tsleep 0.1",
        "done",
        "kill $o $e 2>/dev/null",
        "exit $rc",
    ]
    return "\n".join(lines) + "\n"


def qemu_argv(tree, kver, initrd, outdir, shares, args):
    kernel = os.path.join(tree, "boot", f"vmlinuz-{kver}")
    append = ("console=ttyS0 loglevel=4 panic=-1 intel_iommu=on iommu=pt "
              "mitigations=off no_timer_check tsc=reliable rdinit=/init")
    if args.hugepages:
        append += f" hugepages={args.hugepages}"
    half = 1536
    cpus = args.smp // 2
    a = [
        QEMU, "-nodefaults", "-display", "none", "-no-reboot",
        "-machine", "q35,kernel-irqchip=split", "-accel", "tcg,thread=multi",
        "-cpu", "max,vendor=GenuineIntel", "-smp", f"{args.smp},sockets=2,cores={cpus},threads=1", "-m", f"{2 * half}M",
        "-device", "intel-iommu,intremap=on,caching-mode=on",
        "-object", f"memory-backend-ram,id=mem0,size={half}M",
        "-numa", f"node,nodeid=0,cpus=0-{cpus - 1},memdev=mem0",
        "-object", f"memory-backend-ram,id=mem1,size={half}M",
        "-numa", f"node,nodeid=1,cpus={cpus}-{args.smp - 1},memdev=mem1",
        "-chardev", "stdio,id=con", "-serial", "chardev:con",
        "-kernel", kernel, "-initrd", initrd, "-append", append,
        # Native PCIe/SHPC hotplug as on real hardware: QEMU's ACPI hotplug
        # would claim every slot first (and shpchp fails with -EBUSY).
        "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
        "-audiodev", "none,id=snd0",
        # The host's own display: the boot VGA.
        "-device", "VGA,id=hostvga,bus=pcie.0,addr=0x1",
        # The passthrough GPU: VGA + HDA audio in one slot, on NUMA node 1
        # (an expander bridge whose _PXM is 1).
        "-device", "pxb-pcie,id=pxb1,bus_nr=0x80,numa_node=1,bus=pcie.0,addr=0x8",
        "-device", "pcie-root-port,id=rp1,bus=pxb1,chassis=1,slot=1,io-reserve=0",
        "-device", "VGA,id=gpu,bus=rp1,addr=0x0.0,multifunction=on,romfile=",
        "-device", "ich9-intel-hda,id=gpuaudio,bus=rp1,addr=0x0.1",
        "-device", "hda-duplex,bus=gpuaudio.0,audiodev=snd0",
        # xHCI alone, NIC alone, each on its own root port.
        "-device", "pcie-root-port,id=rp2,bus=pcie.0,addr=0x2,chassis=2,slot=2",
        "-device", "qemu-xhci,id=xhci,bus=rp2",
        "-device", "pcie-root-port,id=rp3,bus=pcie.0,addr=0x3,chassis=3,slot=3",
        "-netdev", "user,id=net0,restrict=on",
        "-device", "e1000e,id=nic,bus=rp3,netdev=net0,romfile=",
        # Two devices behind a PCIe-to-PCI bridge: one group with the bridge.
        "-device", "pcie-root-port,id=rp4,bus=pcie.0,addr=0x4,chassis=4,slot=4",
        "-device", "pcie-pci-bridge,id=pcibr,bus=rp4",
        "-netdev", "user,id=net1,restrict=on",
        "-device", "e1000,id=sharednic,bus=pcibr,addr=0x1,netdev=net1,romfile=",
        "-device", "pci-ohci,id=sharedusb,bus=pcibr,addr=0x2",
    ]
    fs = [("hostroot", "/", True), ("labmods", os.path.join(tree, "lib", "modules", kver), True),
          ("labout", outdir, False)] + [(t, p, True) for t, p in shares]
    for i, (tag, path, ro) in enumerate(fs):
        path = path.replace(",", ",,")  # QEMU's option syntax
        a += ["-fsdev", f"local,id=fs{i},path={path},security_model=none,multidevs=remap"
              + (",readonly=on" if ro else ""),
              "-device", f"virtio-9p-pci,fsdev=fs{i},mount_tag={tag},bus=pcie.0,addr={0x10 + i:#x}"]
    return a


def die_with_parent():
    # Even a SIGKILLed lab.py must not leave the lab running.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Qemu:
    """The lab QEMU: killed on timeout, on our own death by signal, at exit."""

    def __init__(self, argv, log_path, verbose):
        self.log = open(log_path, "wb")
        self.verbose = verbose
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        self.marks = {}

    def kill(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()

    def pump(self, deadline, t0):
        """Copy the console to the log until QEMU exits; False on timeout."""
        buf = b""
        fd = self.p.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not r:
                continue
            data = os.read(fd, 65536)
            if not data:
                self.p.wait()
                return True
            self.log.write(data)
            self.log.flush()
            if self.verbose:
                sys.stderr.buffer.write(data)
                sys.stderr.flush()
            buf = (buf + data)[-4096:]
            for mark in (b"command begin", b"command end"):
                if mark in buf and mark not in self.marks:
                    self.marks[mark] = time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 usage="lab.py [options] -- COMMAND...")
    ap.add_argument("--timeout", type=float, default=240, help="seconds for the whole run")
    ap.add_argument("--hugepages", type=int, default=0,
                    help="2 MiB pages reserved at boot (hugepages=N, spread over the nodes)")
    ap.add_argument("--smp", type=int, default=2, help="vCPUs, split over the two nodes")
    ap.add_argument("--env", action="append", default=[], metavar="K=V",
                    help="set in the command's environment")
    ap.add_argument("--outdir", help="keep the run's files (console.log, stdout, ...) here")
    ap.add_argument("--verbose", "-v", action="store_true", help="stream the console")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no COMMAND")
    if args.smp < 2 or args.smp % 2:
        ap.error("--smp must be even (two NUMA nodes)")

    t0 = time.monotonic()
    try:
        tree, how = kernel_prepare()
    except LabUnavailable as e:
        if os.environ.get("CI") == "true":
            log(f"FAIL (strict CI): no kernel: {e}")
            return EXIT_LAB
        log(f"SKIP: no kernel: {e}")
        return EXIT_SKIP
    except (LabError, OSError, subprocess.CalledProcessError) as e:
        log(f"FAIL: kernel: {getattr(e, 'stdout', None) or e}")
        return EXIT_LAB
    kver = kernel_version(tree)
    t_kernel = time.monotonic() - t0

    keep = bool(args.outdir)
    outdir = os.path.abspath(args.outdir) if keep else tempfile.mkdtemp(prefix="gamevm-lab-")
    os.makedirs(outdir, exist_ok=True)
    for f in ("stdout", "stderr", "status", "console.log"):
        if os.path.exists(os.path.join(outdir, f)):
            os.unlink(os.path.join(outdir, f))
    work = tempfile.mkdtemp(prefix="gamevm-lab-work-")
    qemu = None
    try:
        initrd = os.path.join(work, "initramfs.cpio")
        try:
            initramfs_build(tree, kver, initrd)
        except (LabError, OSError, subprocess.CalledProcessError) as e:
            log(f"FAIL: initramfs: {getattr(e, 'stdout', None) or e}")
            return EXIT_LAB

        srcdir = os.path.realpath(os.environ.get("GAMEVM_SRCDIR", SRCDIR))
        builddir = os.environ.get("GAMEVM_BUILDDIR")
        builddir = os.path.realpath(builddir) if builddir else None
        shares = shares_plan(srcdir, builddir)
        env = {"GAMEVM_LAB": "1", "GAMEVM_LAB_LAYOUT": "/lab/layout.json",
               "GAMEVM_SRCDIR": srcdir}
        if builddir:
            env["GAMEVM_BUILDDIR"] = builddir
            env["GAMEVM_BIN"] = os.environ.get("GAMEVM_BIN", os.path.join(builddir, "gamevm"))
        if "CI" in os.environ:
            env["CI"] = os.environ["CI"]
        for kv in args.env:
            k, _, v = kv.partition("=")
            env[k] = v
        cwd = os.getcwd()
        if not any(inside(cwd, p) for _, p in shares):
            cwd = srcdir

        with open(os.path.join(outdir, "cmd.sh"), "w") as f:
            f.write(cmd_script(cmd, env, cwd))
        with open(os.path.join(outdir, "mounts"), "w") as f:
            f.write("".join(f"{t} {p}\n" for t, p in shares))
        with open(os.path.join(outdir, "gamevm-src"), "w") as f:
            f.write(srcdir)
        with open(os.path.join(outdir, "gamevm-build"), "w") as f:
            f.write(builddir or "")
        with open(os.path.join(outdir, "layout.json"), "w") as f:
            json.dump(LAYOUT, f, indent=1)

        argv = qemu_argv(tree, kver, initrd, outdir, shares, args)
        with open(os.path.join(outdir, "qemu.argv"), "w") as f:
            f.write(shlex.join(argv) + "\n")

        # Our death by signal must not leave the lab running.
        def on_signal(sig, _):
            if qemu:
                qemu.kill()
            sys.exit(128 + sig)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, on_signal)

        t_boot0 = time.monotonic()
        qemu = Qemu(argv, os.path.join(outdir, "console.log"), args.verbose)
        finished = qemu.pump(t0 + args.timeout, t_boot0)
        qemu.kill()
        t_end = time.monotonic()

        for name, stream in (("stdout", sys.stdout), ("stderr", sys.stderr)):
            p = os.path.join(outdir, name)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    stream.flush()
                    stream.buffer.write(f.read())
                    stream.flush()
        begin = qemu.marks.get(b"command begin")
        end = qemu.marks.get(b"command end")
        timing = (f"kernel {kver} ({how}) {t_kernel:.1f} s, "
                  f"boot {begin:.1f} s, " if begin is not None else "boot did not finish, ")
        if begin is not None and end is not None:
            timing += f"command {end - begin:.1f} s, "
        timing += f"total {t_end - t0:.1f} s"
        log(timing)

        rc = None
        status = os.path.join(outdir, "status")
        if os.path.exists(status):
            with open(status) as f:
                rc = int(f.read().strip() or EXIT_LAB)
        if not finished:
            log(f"TIMEOUT after {args.timeout:.0f} s; lab QEMU killed")
            rc = EXIT_TIMEOUT
        elif rc is None:
            log(f"FAIL: the lab ended without the command's status (QEMU exit {qemu.p.returncode})")
            rc = EXIT_LAB
        if rc in (EXIT_TIMEOUT, EXIT_LAB) and (not finished or not os.path.exists(status)):
            with open(os.path.join(outdir, "console.log"), "rb") as f:
                tail = f.read().decode(errors="replace").splitlines()[-40:]
            log("console, last lines:\n" + "\n".join(tail))
            if not keep:
                keep = True
                log(f"run files kept in {outdir}")
        return rc
    finally:
        if qemu:
            qemu.kill()
        shutil.rmtree(work, ignore_errors=True)
        if not keep:
            shutil.rmtree(outdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
