#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
[audio] and [looking-glass] end to end: a real PulseAudio server run by a
desktop user, a VM (OVMF under TCG, no disk: the firmware's shell keeps it
up) whose QEMU runs as the unprivileged QEMU user, connects to that server
and maps /dev/shm/looking-glass.

  - before the start nobody but the desktop user can enter /run/user/UID;
  - while the VM runs, `pactl list clients` (as the desktop user) shows
    QEMU connected, through the ACL entries gamevm added and with the
    copy of the user's cookie that PULSE_COOKIE names;
  - after `gamevm stop` the ACLs of /run/user/UID, its pulse/ and the
    socket are what they were, byte for byte (none), the modes too, and
    the cookie copy is QEMU's user's alone while the VM runs, and gone
    after;
  - /dev/shm/looking-glass exists only while the VM runs: the desktop
    user's, QEMU's group, 0660, 32 MiB, mapped by QEMU (its
    /proc/PID/maps); gone after the stop.

Runs as root: creates a user gamevm-audiotest (removed after) and its
/run/user/UID. Exit 77 = skipped (not root, QEMU, OVMF, PulseAudio or
QEMU's pa module missing: scripts/deps.sh installs them), except under
CI=true.
"""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("GAMEVM_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("GAMEVM_BUILDDIR", os.path.join(SRC, "build"))
GAMEVM = os.environ.get("GAMEVM_BIN", os.path.join(BUILD, "gamevm"))

NAME = "itest-desktop"
USER = "gamevm-audiotest"
ACL = "system.posix_acl_access"
PA_MODULE = "/usr/lib/x86_64-linux-gnu/qemu/audio-pa.so"
LG_SHM = "/dev/shm/looking-glass"


def skip(msg):
    if os.environ.get("CI") == "true":
        print(f"FAIL (strict CI): {msg}")
        sys.exit(1)
    print(f"SKIP: {msg}")
    sys.exit(77)


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def acl_and_mode(path):
    try:
        acl = os.getxattr(path, ACL, follow_symlinks=False).hex()
    except OSError:
        acl = None
    return acl, oct(os.lstat(path).st_mode & 0o7777)


def as_user(pw, runtime, *argv, **kw):
    env = {"PATH": os.environ["PATH"], "HOME": pw.pw_dir, "XDG_RUNTIME_DIR": runtime}
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups",
            "env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv], kw


def run_as(pw, runtime, *argv):
    cmd, _ = as_user(pw, runtime, *argv)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


CONF = """[vm]
name = {name}
accel = tcg

[memory]
size = 256M

[cpu]
vcpus = 1
model = max

[hyperv]
enabled = no

[firmware]
secure-boot = no

[tpm]
model = none

[audio]
backend = pulseaudio
device = hda
user = {user}

[looking-glass]
device = shm
user = {user}
"""


def wait_for(pred, timeout, what, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            raise Failure(f"exited ({proc.returncode}) while waiting for {what}:\n"
                          f"{open(log).read() if log else ''}")
        time.sleep(0.2)
    raise Failure(f"no {what} within {timeout} s:\n{open(log).read() if log else ''}")


def test(tmp, pw):
    runtime = f"/run/user/{pw.pw_uid}"
    os.makedirs("/run/user", exist_ok=True)
    os.mkdir(runtime, 0o700)
    os.chown(runtime, pw.pw_uid, pw.pw_gid)
    cmd, _ = as_user(pw, runtime, "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1",
                     "--use-pid-file=no", "--disallow-exit", "-L", "module-null-sink", "-L",
                     "module-native-protocol-unix")
    pa_log = os.path.join(tmp, "pulseaudio.log")
    pa = subprocess.Popen(cmd, stdout=open(pa_log, "w"), stderr=subprocess.STDOUT)
    gv = None
    sock = os.path.join(runtime, "pulse", "native")
    paths = [runtime, os.path.join(runtime, "pulse"), sock]
    try:
        wait_for(lambda: os.path.exists(sock), 30, "PulseAudio's socket", pa, pa_log)
        before = {p: acl_and_mode(p) for p in paths}
        check(all(a is None for a, _ in before.values()), f"ACLs already there: {before}")

        conf = os.path.join(tmp, "audio.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(name=NAME, user=USER))
        os.chmod(conf, 0o644)
        run, state = os.path.join(tmp, "run"), os.path.join(tmp, "state")
        log = os.path.join(tmp, "gamevm.log")
        gv = subprocess.Popen([GAMEVM, "--run-dir", run, "--state-dir", state, "start", conf],
                              stdout=open(log, "w"), stderr=subprocess.STDOUT)

        def running():
            try:
                with open(os.path.join(run, NAME, "status.json")) as f:
                    return json.load(f).get("state") == "running"
            except (OSError, ValueError):
                return False

        wait_for(running, 180, "the VM running", gv, log)
        qemu_uid = pwd.getpwnam("gamevm").pw_uid
        qemu_gid = pwd.getpwnam("gamevm").pw_gid
        st = os.lstat(LG_SHM)
        check(st.st_uid == pw.pw_uid and st.st_gid == qemu_gid and
              st.st_mode & 0o7777 == 0o660 and st.st_size == 32 << 20,
              f"{LG_SHM}: uid {st.st_uid} gid {st.st_gid} mode {oct(st.st_mode)} "
              f"size {st.st_size}")
        with open(os.path.join(run, NAME, "status.json")) as f:
            qemu_pid = json.load(f)["qemu_pid"]
        with open(f"/proc/{qemu_pid}/maps") as f:
            check(LG_SHM in f.read(), f"QEMU (pid {qemu_pid}) has not mapped {LG_SHM}")
        during = {p: acl_and_mode(p) for p in paths}
        check(all(a is not None for a, _ in during.values()), f"no ACLs while it runs: {during}")

        def qemu_connected():
            r = run_as(pw, runtime, "pactl", "list", "clients")
            return "qemu-system-x86_64" in r.stdout and r.stdout

        clients = wait_for(qemu_connected, 30, "QEMU among PulseAudio's clients", gv, log)
        check('application.process.user = "gamevm"' in clients,
              f"QEMU not connected as its own user:\n{clients}")
        cookie = os.path.join(run, NAME, "pulse-cookie")
        st = os.lstat(cookie)
        check(st.st_uid == qemu_uid and st.st_mode & 0o777 == 0o400,
              f"cookie copy {oct(st.st_mode)} uid {st.st_uid}")
        with open(cookie, "rb") as a, open(os.path.join(pw.pw_dir, ".config/pulse/cookie"),
                                           "rb") as b:
            check(a.read() == b.read(), "the cookie copy differs from the user's")

        s = subprocess.run([GAMEVM, "--run-dir", run, "--state-dir", state, "stop", NAME,
                            "--timeout", "2"], capture_output=True, text=True, timeout=120)
        check(s.returncode == 0, f"stop: {s.stdout}{s.stderr}")
        rc = gv.wait(timeout=120)
        check(rc == 0, f"gamevm start exited {rc}:\n{open(log).read()}")
        after = {p: acl_and_mode(p) for p in paths}
        check(after == before, f"not put back: before {before}, after {after}\n{open(log).read()}")
        print("ok   QEMU connected as gamevm through the ACLs; ACLs and modes back after stop")
        check(not os.path.lexists(LG_SHM), f"{LG_SHM} left after the stop")
        check(not os.path.lexists(cookie), f"the cookie copy {cookie} left after the stop")
        print("ok   /dev/shm/looking-glass created for the user and QEMU, mapped, removed after")
    finally:
        if gv is not None and gv.poll() is None:
            gv.kill()
            gv.wait()
        subprocess.run([GAMEVM, "--run-dir", os.path.join(tmp, "run"), "cleanup", NAME],
                       capture_output=True)
        pa.terminate()
        pa.wait(timeout=10)
        shutil.rmtree(runtime, ignore_errors=True)


def main():
    if os.geteuid() != 0:
        skip("needs root")
    for b in ("qemu-system-x86_64", "pulseaudio", "pactl", "setpriv", "useradd"):
        if not shutil.which(b):
            skip(f"{b} not installed (scripts/deps.sh)")
    if not os.path.exists(PA_MODULE):
        skip(f"{PA_MODULE} missing: QEMU's PulseAudio driver (apt install qemu-system-gui)")
    try:
        pwd.getpwnam("gamevm")
    except KeyError:
        skip("no user gamevm (scripts/deps.sh creates it)")
    if os.path.lexists(LG_SHM):
        skip(f"{LG_SHM} exists (a Looking Glass of this host's): not touching it")
    tmp = tempfile.mkdtemp(prefix="gamevm-audio-")
    os.chmod(tmp, 0o755)
    home = os.path.join(tmp, "home")
    created = False
    try:
        try:
            pw = pwd.getpwnam(USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", home,
                            "--shell", "/usr/sbin/nologin", USER], check=True)
            created = True
            pw = pwd.getpwnam(USER)
        os.makedirs(pw.pw_dir, exist_ok=True)
        os.chown(pw.pw_dir, pw.pw_uid, pw.pw_gid)
        test(tmp, pw)
        return 0
    except Failure as e:
        print(f"FAIL {e}")
        return 1
    finally:
        if created:
            subprocess.run(["userdel", USER], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
