#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Integration test of `gamevm snapshot` and `gamevm restore` (docs/snapshots.md)
with the built binary on real filesystems: a btrfs and an ext4 image, each
made with mkfs (`truncate -s 512M`) and loop-mounted (`mount -o loop`). On
each, a sparse raw image with some data, a VM config naming it (mode 0644),
and then:

  - `gamevm --config-dir DIR snapshot NAME TAG` prints TAG and makes
    IMAGE.snapshots/TAG with the image's content, owner and mode;
  - btrfs: the snapshot is a reflink: FIEMAP shows shared extents and
    `btrfs filesystem du` counts no exclusive bytes for it; ext4: a sparse
    copy, the same SEEK_DATA/SEEK_HOLE map and st_blocks as the image;
  - `snapshot --list NAME` (text and --json), `snapshot --list` of all VMs;
    a default tag is a timestamp; an existing tag is refused;
  - the image is changed (and given another owner and mode), `restore NAME
    TAG` puts the snapshot's content back by a rename (a new inode) with the
    image's owner and mode, holes kept (btrfs: shared again);
  - with the VM's lock held as `gamevm start` holds it (an OFD lock on
    RUN_DIR/NAME/lock), snapshot and restore are refused: "VM 'NAME' is
    running; stop it first", and nothing is written;
  - refused with what to use instead: a qcow2 image, a block device, a
    symlink; bad tags; an unknown tag for restore.

Every mount is undone and every loop device detached, whatever happens.
Runs as root; exit 77 = skipped (not root, no loop devices, mkfs.btrfs or
mkfs.ext4 missing), except under CI=true where that is a failure.
"""
import fcntl
import json
import os
import pwd
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback

SRC = os.environ.get("GAMEVM_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
GAMEVM = os.environ.get("GAMEVM_BIN", os.path.join(SRC, "build", "gamevm"))

MIB = 1024 * 1024
IMAGE_SIZE = 256 * MIB
# (offset, length): data across several extents, a lone block, the unaligned tail
DATA = [(1 * MIB, 24 * MIB), (100 * MIB, 1 * MIB), (200 * MIB + 4096, 8192),
        (IMAGE_SIZE - 12345, 12345)]

FS_IOC_FIEMAP = 0xC020660B
FIEMAP_EXTENT_LAST = 0x1
FIEMAP_EXTENT_SHARED = 0x2000


def skip(msg):
    if os.environ.get("CI") == "true":
        print(f"FAIL (strict CI): {msg}")
        sys.exit(1)
    print(f"SKIP: {msg}")
    sys.exit(77)


def sh(*argv, check=True):
    p = subprocess.run(argv, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def gamevm(env, *args, expect=0):
    p = subprocess.run([GAMEVM, "--config-dir", env["conf"], "--run-dir", env["run"],
                        "--state-dir", env["state"], *args],
                       capture_output=True, text=True, timeout=120)
    print(f"$ gamevm {' '.join(args)} -> {p.returncode}")
    for line in (p.stdout + p.stderr).splitlines():
        print(f"    {line}")
    if expect is not None and p.returncode != expect:
        raise AssertionError(f"gamevm {' '.join(args)}: exit {p.returncode}, expected {expect}")
    return p


def fiemap_shared(path):
    """True when some extent of path is shared (FIEMAP_EXTENT_SHARED)."""
    count = 256
    with open(path, "rb") as f:
        start = 0
        while True:
            req = bytearray(struct.pack("QQIIII", start, 2**64 - 1 - start, 0, 0, count, 0)
                            + bytes(56 * count))
            fcntl.ioctl(f.fileno(), FS_IOC_FIEMAP, req)
            mapped = struct.unpack_from("I", req, 20)[0]
            if mapped == 0:
                return False
            last = None
            for i in range(mapped):
                logical, _phys, length = struct.unpack_from("QQQ", req, 32 + 56 * i)
                flags = struct.unpack_from("I", req, 32 + 56 * i + 40)[0]
                if flags & FIEMAP_EXTENT_SHARED:
                    return True
                last = (logical, length, flags)
            if last[2] & FIEMAP_EXTENT_LAST:
                return False
            start = last[0] + last[1]


def data_map(path):
    """[(data start, hole start), ...] from SEEK_DATA / SEEK_HOLE."""
    out = []
    fd = os.open(path, os.O_RDONLY)
    try:
        pos = 0
        while True:
            try:
                d = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                return out
            h = os.lseek(fd, d, os.SEEK_HOLE)
            out.append((d, h))
            pos = h
    finally:
        os.close(fd)


def same_blocks(a, b):
    """
    The same space used, give or take ext4's extent tree blocks (st_blocks
    counts them): the copy's data may land in more extents than the
    original's, as the filesystem's free space falls.
    """
    assert abs(a.st_blocks - b.st_blocks) * 512 <= 64 * 1024, (a.st_blocks, b.st_blocks)


def same_content(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(4 * MIB), fb.read(4 * MIB)
            if x != y:
                return False
            if not x:
                return True


def make_image(path):
    with open(path, "wb") as f:
        f.truncate(IMAGE_SIZE)
        for off, length in DATA:
            f.seek(off)
            f.write(os.urandom(length))
        f.flush()
        os.fsync(f.fileno())


def write_conf(env, name, body):
    path = os.path.join(env["conf"], f"{name}.conf")
    with open(path, "w") as f:
        f.write(f"[vm]\nname = {name}\n[memory]\nsize = 1G\n[cpu]\nvcpus = 2\n{body}")
    os.chmod(path, 0o644)
    return path


def disk_conf(path, extra=""):
    return f"[disk system]\npath = {path}\n{extra}"


class Mounted:
    """mkfs + mount -o loop; undone (umount, losetup -d) in every case."""

    def __init__(self, work, fstype):
        self.fstype = fstype
        self.img = os.path.join(work, f"{fstype}.img")
        self.mnt = os.path.join(work, f"{fstype}-mnt")
        self.mounted = False

    def __enter__(self):
        with open(self.img, "wb") as f:
            f.truncate(512 * MIB)
        mkfs = ["mkfs.btrfs", "-q", "-f"] if self.fstype == "btrfs" else ["mkfs.ext4", "-q", "-F"]
        sh(*mkfs, self.img)
        os.mkdir(self.mnt)
        p = sh("mount", "-o", "loop", self.img, self.mnt, check=False)
        if p.returncode != 0:
            self.cleanup()
            skip(f"cannot loop-mount a {self.fstype} image: {p.stderr.strip()}")
        self.mounted = True
        return self

    def loop_device(self):
        with open("/proc/self/mounts") as f:
            for line in f:
                src, mnt = line.split()[:2]
                if mnt == self.mnt:
                    return src
        return None

    def cleanup(self):
        if self.mounted:
            for i in range(10):
                if sh("umount", self.mnt, check=False).returncode == 0:
                    break
                time.sleep(0.5)
            else:
                sh("umount", "-l", self.mnt, check=False)
            self.mounted = False
        # mount -o loop sets autoclear; detach whatever is still attached to the image.
        p = sh("losetup", "-j", self.img, check=False)
        for line in p.stdout.splitlines():
            dev = line.split(":", 1)[0]
            sh("losetup", "-d", dev, check=False)

    def __exit__(self, *exc):
        self.cleanup()
        return False


def hold_lock(env, name):
    """The VM's lock as gamevm start takes it (vm-dirs.c lock_take): an OFD write lock."""
    d = os.path.join(env["run"], name)
    os.makedirs(d, exist_ok=True)
    fd = os.open(os.path.join(d, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
    return fd


def check_fs(env, m):
    name = f"snap{m.fstype}"
    images = os.path.join(m.mnt, "images")
    os.mkdir(images)
    image = os.path.join(images, "win.raw")
    snaps = image + ".snapshots"
    make_image(image)
    os.chmod(image, 0o600)
    write_conf(env, name, disk_conf(image))

    # The snapshot: the tag on stdout, the image's content, owner and mode.
    p = gamevm(env, "snapshot", name, "before")
    assert p.stdout.strip() == "before", p.stdout
    snap = os.path.join(snaps, "before")
    assert same_content(image, snap), "snapshot differs from the image"
    st_i, st_s = os.stat(image), os.stat(snap)
    assert st_s.st_size == IMAGE_SIZE
    assert (st_s.st_mode & 0o7777) == 0o600 and st_s.st_uid == st_i.st_uid
    assert (os.stat(snaps).st_mode & 0o777) == 0o700
    assert not [e for e in os.listdir(snaps) if e != "before"], os.listdir(snaps)

    if m.fstype == "btrfs":
        assert "reflink" in p.stderr, p.stderr
        assert fiemap_shared(snap) and fiemap_shared(image), "no shared extents after a reflink"
        sh("sync")
        du = sh("btrfs", "filesystem", "du", "--raw", snap).stdout.splitlines()[-1].split()
        print(f"    btrfs filesystem du: total {du[0]} exclusive {du[1]} shared {du[2]}")
        assert int(du[1]) == 0 and int(du[2]) >= sum(length for _, length in DATA) - 4096, du
    else:
        assert "sparse copy" in p.stderr, p.stderr
        assert data_map(snap) == data_map(image), (data_map(snap), data_map(image))
        same_blocks(st_s, st_i)
        assert st_s.st_blocks * 512 < IMAGE_SIZE // 4
        assert not fiemap_shared(snap)

    # --list, text and JSON, for this VM and for all of them.
    p = gamevm(env, "snapshot", "--list", name)
    row = [line for line in p.stdout.splitlines() if " before " in line]
    assert len(row) == 1 and row[0].split()[0] == name, p.stdout
    assert row[0].split()[-1] == ("yes" if m.fstype == "btrfs" else "no"), row
    p = gamevm(env, "snapshot", "--list", "--json", name)
    lst = json.loads(p.stdout)
    assert [s["tag"] for s in lst] == ["before"], lst
    d = lst[0]["disks"][0]
    assert lst[0]["complete"] and lst[0]["vm"] == name
    assert d["disk"] == "system" and d["path"] == snap and d["size"] == IMAGE_SIZE
    assert d["shared"] is (m.fstype == "btrfs"), d
    assert abs(lst[0]["time"] - time.time()) < 120
    p = gamevm(env, "snapshot", "--list", "--json")
    assert any(s["vm"] == name and s["tag"] == "before" for s in json.loads(p.stdout))

    # A default tag is the time; a tag that exists is never overwritten.
    p = gamevm(env, "snapshot", name)
    tag = p.stdout.strip()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d", tag), tag
    assert os.path.isfile(os.path.join(snaps, tag))
    os.unlink(os.path.join(snaps, tag))
    p = gamevm(env, "snapshot", name, "before", expect=1)
    assert "already" in p.stderr, p.stderr
    assert same_content(image, snap)

    # Change the image, its owner and its mode; restore brings the content back only.
    with open(image, "r+b") as f:
        f.seek(2 * MIB)
        f.write(os.urandom(MIB))
        f.seek(150 * MIB)
        f.write(os.urandom(MIB))
    nobody = pwd.getpwnam("nobody")
    os.chown(image, nobody.pw_uid, nobody.pw_gid)
    os.chmod(image, 0o640)
    ino = os.stat(image).st_ino
    assert not same_content(image, snap)
    p = gamevm(env, "restore", name, "before")
    st = os.stat(image)
    assert same_content(image, snap), "restored image differs from the snapshot"
    assert st.st_ino != ino, "restore did not replace the image by a rename"
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (nobody.pw_uid, nobody.pw_gid, 0o640)
    assert os.path.isfile(snap), "restore consumed the snapshot"
    assert sorted(os.listdir(images)) == ["win.raw", "win.raw.snapshots"], os.listdir(images)
    if m.fstype == "btrfs":
        assert "reflink" in p.stderr and fiemap_shared(image)
    else:
        assert "sparse copy" in p.stderr
        assert data_map(image) == data_map(snap)
        same_blocks(st, os.stat(snap))

    # The sparse copy on btrfs too, when asked (GAMEVM_SNAPSHOT_NO_REFLINK).
    if m.fstype == "btrfs":
        os.environ["GAMEVM_SNAPSHOT_NO_REFLINK"] = "1"
        try:
            p = gamevm(env, "snapshot", name, "full")
        finally:
            del os.environ["GAMEVM_SNAPSHOT_NO_REFLINK"]
        full = os.path.join(snaps, "full")
        assert "sparse copy" in p.stderr and same_content(image, full)
        assert not fiemap_shared(full) and data_map(full) == data_map(image)

    # Running (the lock held as gamevm start holds it): refused, nothing written.
    fd = hold_lock(env, name)
    try:
        before = sorted(os.listdir(snaps))
        for args in (["snapshot", name, "during"], ["restore", name, "before"]):
            p = gamevm(env, *args, expect=1)
            assert f"VM '{name}' is running; stop it first" in p.stderr, p.stderr
        assert sorted(os.listdir(snaps)) == before
        assert os.stat(image).st_ino == st.st_ino
    finally:
        os.close(fd)
    gamevm(env, "snapshot", name, "after")

    # A symlink as the image: refused (a restore would replace the link).
    link = os.path.join(images, "link.raw")
    os.symlink("win.raw", link)
    write_conf(env, name + "l", disk_conf(link))
    p = gamevm(env, "snapshot", name + "l", "x", expect=1)
    assert "symbolic link" in p.stderr, p.stderr
    os.unlink(os.path.join(env["conf"], name + "l.conf"))
    return m.loop_device()


def check_refusals(env, blockdev):
    img = os.path.join(env["work"], "plain.raw")
    make_image(img)
    write_conf(env, "plain", disk_conf(img))
    for bad in (".hidden", "-x", "a/b", "x" * 65, "sp ace", ""):
        p = gamevm(env, "snapshot", "plain", "--", bad, expect=1)
        assert "is not a snapshot tag" in p.stderr, p.stderr
    p = gamevm(env, "restore", "plain", "nosuch", expect=1)
    assert "no snapshot" in p.stderr, p.stderr
    gamevm(env, "snapshot", "plain", "one")
    p = gamevm(env, "restore", "plain", "nosuch", expect=1)
    assert "no snapshot 'nosuch'" in p.stderr, p.stderr
    p = gamevm(env, "snapshot", expect=2)

    # Two disks: one snapshot holds both; a tag one of them lacks cannot be restored.
    data = os.path.join(env["work"], "data.raw")
    make_image(data)
    write_conf(env, "two", disk_conf(img) + f"[disk data]\npath = {data}\n")
    gamevm(env, "snapshot", "two", "both")
    for path in (img, data):
        assert same_content(path, os.path.join(path + ".snapshots", "both"))
    os.unlink(data + ".snapshots/both")
    lst = json.loads(gamevm(env, "snapshot", "--list", "--json", "two").stdout)
    both = [s for s in lst if s["tag"] == "both"]
    assert len(both) == 1 and not both[0]["complete"], lst
    assert [d["disk"] for d in both[0]["disks"]] == ["system"], both
    ino = os.stat(img).st_ino
    p = gamevm(env, "restore", "two", "both", expect=1)
    assert "no snapshot 'both' of disk 'data'" in p.stderr, p.stderr
    assert os.stat(img).st_ino == ino, "a refused restore changed a disk"

    qcow = os.path.join(env["work"], "win.qcow2")
    open(qcow, "wb").close()
    write_conf(env, "qcow", disk_conf(qcow, "format = qcow2\n"))
    p = gamevm(env, "snapshot", "qcow", "x", expect=1)
    assert "qcow2" in p.stderr and "qemu-img snapshot" in p.stderr, p.stderr
    assert not os.path.exists(qcow + ".snapshots")

    if blockdev:
        write_conf(env, "blk", disk_conf(blockdev))
        p = gamevm(env, "snapshot", "blk", "x", expect=1)
        assert "block device" in p.stderr and "lvcreate" in p.stderr, p.stderr

    # Disks the guest cannot write take no part: a CD-ROM alone is nothing to snapshot.
    write_conf(env, "cd", f"[disk cd]\npath = {img}\nmedia = cdrom\n")
    p = gamevm(env, "snapshot", "cd", "x", expect=1)
    assert "no disk the guest can write" in p.stderr, p.stderr


def main():
    if os.geteuid() != 0:
        skip("not root (mount, losetup)")
    for tool in ("mkfs.btrfs", "mkfs.ext4", "mount", "umount", "losetup"):
        if not shutil.which(tool):
            skip(f"{tool} missing (scripts/deps.sh installs btrfs-progs)")
    if not os.path.exists("/dev/loop-control"):
        skip("no loop devices (/dev/loop-control)")
    if not os.access(GAMEVM, os.X_OK):
        print(f"FAIL: {GAMEVM} missing")
        return 1

    work = tempfile.mkdtemp(prefix="gamevm-snap-")
    env = {"work": work, "conf": os.path.join(work, "conf"),
           "run": os.path.join(work, "run"), "state": os.path.join(work, "state")}
    os.mkdir(env["conf"], 0o755)
    failed = 0
    blockdev = None
    try:
        for fstype in ("btrfs", "ext4"):
            print(f"== {fstype}")
            try:
                with Mounted(work, fstype) as m:
                    dev = check_fs(env, m)
                    if fstype == "ext4":
                        # While it is mounted: its loop device is a block device to refuse.
                        check_refusals(env, dev)
                        blockdev = dev
            except AssertionError:
                traceback.print_exc()
                failed += 1
        if blockdev is None:
            print("== refusals (no loop device)")
            check_refusals(env, None)
    except AssertionError:
        traceback.print_exc()
        failed += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
