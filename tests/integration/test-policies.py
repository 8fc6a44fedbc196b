#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
[vm] on-poweroff and on-crash with a real guest under TCG: Debian's kernel
and a busybox initramfs (tests/tools/tinyguest.py) booted through OVMF,
whose /init powers the machine off (ACPI S5) a moment after it starts.

  - on-poweroff = exit (the default): the guest powering off ends
    `gamevm start` with exit 0 and the host restored;
  - on-poweroff = restart: the VM starts again each time the guest powers
    off, until `gamevm stop`, which ends it with exit 0;
  - on-crash = restart, restart-limit = 2: QEMU killed once is started
    again (a new QEMU); killed a second time in a row, gamevm gives up,
    says so, exits 137 and puts the host back;
  - [devices] serial = file into a directory only root may enter: gamevm
    opens the file and QEMU (unprivileged) writes the guest's console
    through the fd; a serial-path that is a symlink is refused before
    anything starts, naming the config line;
  - [firmware] code that QEMU's user cannot read is refused before the
    host is touched, naming the config line;
  - [hook NAME]: start hooks run before QEMU and stop hooks after the host
    is back, without a shell (';' and '$' reach the program as written),
    their output logged, a failing one reported, a slow one killed at its
    timeout; a failing required start hook stops the start (the stop hooks
    still run); a config others may change is not loaded as root at all;
  - a guest that resets itself again and again (reboot -f at once) is
    stopped after 5 resets in a row as a reset loop, with the count and
    the rate in the log, exit 1 and the host restored.

Runs as root. Exit 77 = skipped (not root, QEMU/OVMF or the lab's kernel
unavailable), except under CI=true.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

SRC = os.environ.get("GAMEVM_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("GAMEVM_BUILDDIR", os.path.join(SRC, "build"))
GAMEVM = os.environ.get("GAMEVM_BIN", os.path.join(BUILD, "gamevm"))
sys.path.insert(0, os.path.join(SRC, "tests", "tools"))
sys.path.insert(0, os.path.join(SRC, "tests", "lab"))

NAME = "itest-policy"


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


def conf_text(kernel, initrd, extra_vm=""):
    return f"""[vm]
name = {NAME}
accel = tcg
{extra_vm}
[memory]
size = 256M

[cpu]
vcpus = 1
model = max

[hyperv]
enabled = no

[firmware]
type = uefi
; Debian's kernel is not signed for the firmware's keys: no Secure Boot here.
secure-boot = no

[tpm]
model = none

[devices]
serial = none
display = none

[qemu]
extra = -kernel {kernel} -initrd {initrd} -append console=ttyS0,quiet
"""


class Env:
    def __init__(self, tmp, kernel, initrd):
        self.tmp, self.kernel, self.initrd = tmp, kernel, initrd
        self.run = os.path.join(tmp, "run")
        self.state = os.path.join(tmp, "state")

    def conf(self, label, extra_vm=""):
        path = os.path.join(self.tmp, f"{label}.conf")
        with open(path, "w") as f:
            f.write(conf_text(self.kernel, self.initrd, extra_vm))
        os.chmod(path, 0o644)
        return path

    def start(self, conf):
        log = open(os.path.join(self.tmp, f"{os.path.basename(conf)}.log"), "w+")
        p = subprocess.Popen([GAMEVM, "--run-dir", self.run, "--state-dir", self.state,
                              "start", "--timeout", "2", conf],
                             stdout=log, stderr=subprocess.STDOUT)
        p.logf = log
        return p

    def gamevm(self, *args):
        return subprocess.run([GAMEVM, "--run-dir", self.run, "--state-dir", self.state, *args],
                              capture_output=True, text=True, timeout=120)

    def status(self):
        try:
            with open(os.path.join(self.run, NAME, "status.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


def log_of(p):
    p.logf.seek(0)
    return p.logf.read()


def wait_for(pred, timeout, what, p):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        if p.poll() is not None:
            raise Failure(f"gamevm exited ({p.returncode}) while waiting for {what}:\n{log_of(p)}")
        time.sleep(0.2)
    raise Failure(f"no {what} within {timeout} s:\n{log_of(p)}")


def test_poweroff_exit(env):
    p = env.start(env.conf("exit"))
    rc = p.wait(timeout=180)
    log = log_of(p)
    check(rc == 0, f"exit {rc} after the guest powered off:\n{log}")
    check("the guest powered off (reason guest-shutdown)" in log, log)
    check("shut down." in log and log.count("Starting VM") == 1, log)


def test_poweroff_restart(env):
    p = env.start(env.conf("restart", "on-poweroff = restart"))
    try:
        wait_for(lambda: log_of(p).count("Starting VM") >= 3, 240, "a third start", p)
        s = env.gamevm("stop", NAME, "--timeout", "2")
        check(s.returncode == 0, f"stop: {s.stdout}{s.stderr}")
        rc = p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    log = log_of(p)
    check(rc == 0, f"exit {rc}:\n{log}")
    check(log.count("starting VM 'itest-policy' again (on-poweroff = restart)") >= 2, log)
    check("could not be undone" not in log, log)


def test_crash_restart_limit(env):
    # A guest that stays up: the crash comes from outside.
    conf = env.conf("crash", "on-crash = restart\nrestart-limit = 2")
    with open(conf) as f:
        text = f.read().replace("-append console=ttyS0,quiet", "-append console=ttyS0,quiet,stay")
    with open(conf, "w") as f:
        f.write(text)
    p = env.start(conf)
    try:
        st = wait_for(lambda: (env.status() or {}).get("state") == "running" and env.status(),
                      180, "the VM running", p)
        first = st["qemu_pid"]
        os.kill(first, signal.SIGKILL)
        st = wait_for(lambda: (s := env.status()) and s.get("state") == "running" and
                      s.get("qemu_pid") not in (0, first) and s, 180, "a second QEMU", p)
        os.kill(st["qemu_pid"], signal.SIGKILL)
        rc = p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    log = log_of(p)
    check(rc == 128 + signal.SIGKILL, f"exit {rc}, want 137:\n{log}")
    check("starting it again in 2 s (on-crash = restart, failure 1 of 2 in a row)" in log, log)
    check("failed 2 times in a row: not starting it again (restart-limit = 2)" in log, log)
    check(log.count("Starting VM") == 2, log)
    check(env.gamevm("status", NAME).returncode == 3, "still running after giving up")


def serial_conf(env, label, path):
    conf = env.conf(label)
    with open(conf) as f:
        text = f.read().replace("serial = none", f"serial = file\nserial-path = {path}")
    with open(conf, "w") as f:
        f.write(text)
    return conf


def test_serial_file(env):
    private = os.path.join(env.tmp, "private")
    os.makedirs(private, mode=0o700, exist_ok=True)
    os.chmod(private, 0o700)
    path = os.path.join(private, "console.log")
    p = env.start(serial_conf(env, "serial", path))
    rc = p.wait(timeout=180)
    log = log_of(p)
    check(rc == 0, f"exit {rc}:\n{log}")
    with open(path, errors="replace") as f:
        console = f.read()
    check("Linux version" in console, f"no kernel output in {path}:\n{console[-2000:]}\n{log}")
    st = os.stat(path)
    check(st.st_uid == 0 and (st.st_mode & 0o777) == 0o640, f"{path}: {oct(st.st_mode)} uid {st.st_uid}")

    link = os.path.join(private, "link.log")
    os.symlink(path, link)
    p = env.start(serial_conf(env, "seriallink", link))
    rc = p.wait(timeout=60)
    log = log_of(p)
    check(rc == 1, f"exit {rc} with a symlink as serial-path:\n{log}")
    check(re.search(r"seriallink\.conf:\d+: \[devices\] serial-path: cannot open .*a symlink", log),
          log)
    check("Starting VM" not in log, log)


def test_firmware_unreadable(env):
    # The firmware code in a directory only root may enter: QEMU's user could not open it.
    private = os.path.join(env.tmp, "fw-private")
    os.makedirs(private, mode=0o700, exist_ok=True)
    os.chmod(private, 0o700)
    code = os.path.join(private, "OVMF_CODE_4M.fd")
    shutil.copyfile("/usr/share/OVMF/OVMF_CODE_4M.fd", code)
    conf = env.conf("fwprivate")
    with open(conf) as f:
        text = f.read().replace("[firmware]\ntype = uefi\n",
                                f"[firmware]\ntype = uefi\ncode = {code}\n"
                                "vars = /usr/share/OVMF/OVMF_VARS_4M.fd\n")
    with open(conf, "w") as f:
        f.write(text)
    p = env.start(conf)
    rc = p.wait(timeout=60)
    log = log_of(p)
    check(rc == 1, f"exit {rc} with a firmware QEMU's user cannot read:\n{log}")
    check(re.search(r"fwprivate\.conf:\d+: \[firmware\] code: QEMU's user '\S+' cannot read '"
                    + re.escape(code) + "': Permission denied", log), log)
    check("Starting VM" not in log and "reserved" not in log, log)


def hooks_conf(env, label, hooks, owner=None):
    conf = env.conf(label)
    with open(conf, "a") as f:
        f.write(hooks)
    if owner is not None:
        os.chown(conf, owner, -1)
    return conf


def test_hooks(env):
    mark = os.path.join(env.tmp, "stop-hook-ran")
    conf = hooks_conf(env, "hooks", f"""
[hook hello]
when = start
command = /usr/bin/echo 'two  words' a;b $HOME

[hook env]
when = start
command = /usr/bin/env

[hook fails]
when = start
command = /usr/bin/false

[hook mark]
when = stop
command = /usr/bin/touch {mark}

[hook slow]
when = stop
command = /usr/bin/sleep 30
timeout = 1
""")
    p = env.start(conf)
    rc = p.wait(timeout=180)
    log = log_of(p)
    check(rc == 0, f"exit {rc}:\n{log}")
    check("hook hello: two  words a;b $HOME" in log, log)
    check("hook env: GAMEVM_VM=itest-policy" in log and "hook env: GAMEVM_EVENT=start" in log, log)
    check("Hook fails: '/usr/bin/false' exited with status 1." in log, log)
    check("Hook slow: '/usr/bin/sleep' still ran after 1 s (timeout); killed it." in log, log)
    check(os.path.exists(mark), "the stop hook did not run")
    # Start hooks before QEMU, stop hooks after the host is back.
    check(log.index("hook hello:") < log.index("Starting VM") <
          log.index("Hook mark (") , log)
    os.unlink(mark)

    conf = hooks_conf(env, "hooksreq", f"""
[hook gate]
when = start
command = /usr/bin/false
required = yes

[hook mark]
when = stop
command = /usr/bin/touch {mark}
""")
    p = env.start(conf)
    rc = p.wait(timeout=60)
    log = log_of(p)
    check(rc == 1, f"exit {rc} after a failing required start hook:\n{log}")
    check("A required start hook failed: not starting VM 'itest-policy'." in log, log)
    check("Starting VM" not in log, log)
    check(os.path.exists(mark), "the stop hook did not run after the failed start")

    conf = hooks_conf(env, "hooksowner", "[hook x]\nwhen = start\ncommand = /usr/bin/true\n",
                      owner=65534)
    p = env.start(conf)
    rc = p.wait(timeout=60)
    log = log_of(p)
    check(rc == 1 and "so user nobody can change it" in log and "Starting VM" not in log,
          f"exit {rc}:\n{log}")


def test_reset_loop(env):
    conf = env.conf("resetloop")
    with open(conf) as f:
        text = f.read().replace("-append console=ttyS0,quiet", "-append console=ttyS0,quiet,resetloop")
    with open(conf, "w") as f:
        f.write(text)
    p = env.start(conf)
    try:
        rc = p.wait(timeout=400)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    log = log_of(p)
    check(rc == 1, f"exit {rc}, want 1 after a reset loop:\n{log}")
    check(log.count("QEMU event RESET") == 5, log)
    check(re.search(r"The guest reset itself 5 times in \d+ s \(one every [\d.]+ s\): a reset loop",
                    log), log)
    check(log.count("Starting VM") == 1, log)
    check("could not be undone" not in log, log)


def main():
    if os.geteuid() != 0:
        skip("needs root")
    for b in ("qemu-system-x86_64",):
        if not shutil.which(b):
            skip(f"{b} not installed")
    import lab
    import tinyguest
    tmp = tempfile.mkdtemp(prefix="gamevm-policy-")
    os.chmod(tmp, 0o755)
    try:
        try:
            # /init powers off at once unless the kernel command line says "stay".
            kernel, initrd = tinyguest.build(
                os.path.join(tmp, "guest"),
                "grep -q stay /proc/cmdline && exec sleep 100000\n"
                "grep -q resetloop /proc/cmdline && reboot -f\npoweroff -f")
        except lab.LabUnavailable as e:
            skip(f"no kernel for the test guest: {e}")
        env = Env(tmp, kernel, initrd)
        failed = 0
        for t in (test_poweroff_exit, test_poweroff_restart, test_crash_restart_limit,
                  test_serial_file, test_firmware_unreadable, test_hooks, test_reset_loop):
            if sys.argv[1:] and t.__name__ not in sys.argv[1:]:
                continue
            t0 = time.monotonic()
            try:
                t(env)
                print(f"ok   {t.__name__} ({time.monotonic() - t0:.1f} s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}", flush=True)
                traceback.print_exc()
            finally:
                env.gamevm("cleanup", NAME)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
