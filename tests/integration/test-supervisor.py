#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Integration test of `gamevm start` (the supervisor) with real QEMU under
TCG, real OVMF and a real swtpm, driving the built binary:

  - 2 and 4 vCPUs (pin2.conf, pin4.conf): every vCPU thread's
    Cpus_allowed_list in /proc/QEMU/task/TID/status is its planned host
    CPU, every other QEMU thread (I/O thread, main loop, RCU, workers) is on
    the housekeeping set, and the guest stayed paused until that was done
    (the log shows every pin line before QEMU's RESUME event);
  - `gamevm status NAME --json` and `gamevm list --json` while it runs,
    gamevm itself under its seccomp filter (Seccomp: 2);
  - a second `gamevm start` of the running VM is refused, naming the pid;
  - `gamevm stop NAME --timeout S`, SIGTERM to gamevm and --run-for: the
    firmware at its boot manager ignores the ACPI power button, so the stop
    falls back to quit within the timeout, and gamevm exits 0;
  - SIGKILL to QEMU: gamevm notices at once, stops swtpm, exits 128+9;
  - SIGKILL to swtpm: the VM is stopped, gamevm exits 1;
  - after each of these no child survives (checked by pid) and the
    sockets and status.json are gone;
  - QEMU failing on its own (a bad option): exit 1 with QEMU's message;
  - a missing [vm] user fails before anything is created;
  - the reader of gamevm's output going away (a closed pipe) does not kill
    it: the stop and the restore still happen;
  - disk images only root can open reach QEMU as fds gamevm opened, read-write
    and read-only as configured; a missing one fails before the host is touched.

Runs as root (gamevm switches QEMU to the 'gamevm' user; scripts/deps.sh
creates it). Exit 77 = skipped (not root, QEMU/OVMF/swtpm or the user
missing), except under CI=true where that is a failure.
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

SRC = os.environ.get("GAMEVM_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
GAMEVM = os.environ.get("GAMEVM_BIN", os.path.join(SRC, "build", "gamevm"))
HERE = os.path.join(SRC, "tests", "integration")
PIN2 = os.path.join(HERE, "pin2.conf")
PIN4 = os.path.join(HERE, "pin4.conf")

START_TIMEOUT = 90  # TCG, two CPUs, and OVMF booting alongside


def skip(msg):
    if os.environ.get("CI") == "true":
        print(f"FAIL (strict CI): {msg}")
        sys.exit(1)
    print(f"SKIP: {msg}")
    sys.exit(77)


def cpu_list(s):
    """'0-2,5' -> {0, 1, 2, 5}"""
    out = set()
    for part in s.strip().split(","):
        if "-" in part:
            a, b = part.split("-")
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    return out


def cpus_allowed(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        for line in f:
            if line.startswith("Cpus_allowed_list:"):
                return cpu_list(line.split(":", 1)[1])
    raise AssertionError(f"no Cpus_allowed_list for {pid}/{tid}")


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except FileNotFoundError:
        return False


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Env:
    def __init__(self, tmp):
        self.tmp = tmp
        self.run = os.path.join(tmp, "run")
        self.state = os.path.join(tmp, "state")
        self.procs = []

    def gamevm(self, *args, timeout=60):
        return subprocess.run([GAMEVM, "--run-dir", self.run, "--state-dir", self.state, *args],
                              capture_output=True, text=True, timeout=timeout)

    def status(self, name):
        p = self.gamevm("status", name, "--json")
        return p.returncode, json.loads(p.stdout) if p.stdout.strip() else None

    def cleanup(self):
        for vm in self.procs:
            if vm.proc.poll() is None:
                vm.proc.kill()  # PR_SET_PDEATHSIG takes QEMU and swtpm along
                vm.proc.wait()
        # A gamevm that died in a failing test leaves its journal: the host goes back anyway.
        if os.path.isdir(self.run):
            for name in os.listdir(self.run):
                self.gamevm("cleanup", name)


class Vm:
    def __init__(self, env, conf, name, *extra):
        self.env, self.conf, self.name = env, conf, name
        self.logpath = os.path.join(env.tmp, f"{name}-{len(env.procs)}.log")
        self.logf = open(self.logpath, "w")
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(
            [GAMEVM, "--run-dir", env.run, "--state-dir", env.state, "start", *extra, conf],
            stdout=self.logf, stderr=subprocess.STDOUT)
        env.procs.append(self)
        self.st = None

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def fail(self, msg):
        raise Failure(f"{msg}\n--- gamevm log ({self.logpath}) ---\n{self.log()}")

    def wait_running(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.fail(f"gamevm start exited with {self.proc.returncode} before the VM ran")
            rc, st = self.env.status(self.name)
            if rc == 0 and st and st["state"] == "running":
                self.st = st
                return st
            time.sleep(0.2)
        self.fail(f"VM {self.name} not running within {START_TIMEOUT} s")

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"gamevm start still running {timeout} s later")

    def check_gone(self):
        """No child survives, nothing is left in run_dir but the lock and logs."""
        for key in ("qemu_pid", "swtpm_pid"):
            pid = self.st.get(key) if self.st else 0
            if pid:
                check(not alive(pid), f"{key} {pid} survived gamevm")
        rd = os.path.join(self.env.run, self.name)
        left = sorted(set(os.listdir(rd)) - {"lock", "qemu.log", "swtpm.log"})
        check(not left, f"left in {rd}: {left}")
        rc, st = self.env.status(self.name)
        check(rc == 3 and st["running"] is False, f"status after exit: rc {rc}, {st}")


# ---- tests ---------------------------------------------------------------------------------

def check_pinning(vm, pin, housekeeping):
    st = vm.st
    qemu = st["qemu_pid"]
    check(len(st["vcpus"]) == len(pin), f"{len(st['vcpus'])} vCPUs in status, want {len(pin)}")
    vcpu_tids = set()
    for v in st["vcpus"]:
        want = {pin[v["index"]]}
        got = cpus_allowed(qemu, v["tid"])
        check(got == want, f"vCPU {v['index']} tid {v['tid']}: CPUs {got}, planned {want}")
        check(v["host_cpu_planned"] == pin[v["index"]], f"status planned: {v}")
        check(cpu_list(v["cpus_allowed"]) == want, f"status allowed: {v}")
        vcpu_tids.add(v["tid"])
    for io in st["iothreads"]:
        got = cpus_allowed(qemu, io["tid"])
        check(got == housekeeping, f"I/O thread {io['id']}: CPUs {got}, want {housekeeping}")
    # Every other thread: the main loop, RCU, the monitor I/O thread, workers.
    # One created in the last moments may wait for the next sweep (every 2 s).
    deadline = time.monotonic() + 5
    while True:
        wrong = {}
        for tid in map(int, os.listdir(f"/proc/{qemu}/task")):
            if tid in vcpu_tids:
                continue
            try:
                got = cpus_allowed(qemu, tid)
            except FileNotFoundError:
                continue
            if got != housekeeping:
                wrong[tid] = got
        if not wrong:
            break
        if time.monotonic() > deadline:
            vm.fail(f"threads off the housekeeping set {housekeeping}: {wrong}")
        time.sleep(0.5)

    # Paused until pinned: QEMU ran with -S, and RESUME (after cont) comes after every pin.
    log = vm.log().splitlines()
    idx = lambda pred: [i for i, l in enumerate(log) if pred(l)]
    started = idx(lambda l: "Started QEMU" in l and "paused" in l)
    pins = idx(lambda l: "Pinned vCPU" in l)
    resume = idx(lambda l: "QEMU event RESUME" in l)
    if not (started and len(pins) == len(pin) and resume):
        vm.fail("missing Started/Pinned/RESUME lines")
    if not (started[0] < min(pins) and max(pins) < resume[0]):
        vm.fail("the guest resumed before every vCPU was pinned")
    if any("Could not pin" in l for l in log):
        vm.fail("a thread could not be pinned")


# Let the firmware run a few seconds before stopping, as a user's VM would.
# (QEMU 7.2 under TCG now and then hangs in its own shutdown after quit,
# early or late; gamevm then kills it, which for a requested stop still
# exits 0 with a warning, so these tests pass either way.)
SETTLE_S = 5


def firmware_settle():
    time.sleep(SETTLE_S)


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


def check_least_privilege(what, pid):
    """QEMU and swtpm: the QEMU user, no capability in any set, no_new_privs, a seccomp filter."""
    st = proc_status(pid)
    user = pwd.getpwnam("gamevm")
    uids = {int(u) for u in st["Uid"].split()}
    gids = {int(g) for g in st["Gid"].split()}
    check(uids == {user.pw_uid}, f"{what} runs with uids {st['Uid']}, want only {user.pw_uid}")
    check(gids == {user.pw_gid}, f"{what} runs with gids {st['Gid']}, want only {user.pw_gid}")
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        check(int(st[cap], 16) == 0, f"{what} has {cap} {st[cap]}")
    check(st["NoNewPrivs"] == "1", f"{what}: NoNewPrivs {st['NoNewPrivs']}")
    check(st["Seccomp"] == "2", f"{what} has no seccomp filter (Seccomp {st['Seccomp']})")
    groups = {int(g) for g in st["Groups"].split()}
    allowed = {g.gr_gid for g in __import__("grp").getgrall() if "gamevm" in g.gr_mem}
    allowed.add(user.pw_gid)
    check(groups <= allowed, f"{what} has groups {groups} beyond the user's {allowed}")


def check_modes(env, name):
    """What gamevm creates keeps other users out: nothing writable but by its owner,
    nothing secret readable by others."""
    user = pwd.getpwnam("gamevm").pw_uid
    want = {  # path relative to the run or state dir: (mode, owner uid)
        ("run", ""): (0o755, 0), ("run", "journal"): (0o600, 0),
        ("run", "qmp.sock"): (0o600, 0), ("run", "swtpm.sock"): (0o600, user),
        ("run", "qemu.log"): (0o640, 0), ("run", "swtpm.log"): (0o640, 0),
        ("run", "status.json"): (0o644, 0),
        ("state", ""): (0o711, 0), ("state", "OVMF_VARS.fd"): (0o600, user),
        ("state", "tpm"): (0o700, user), ("state", "tpm-ca"): (0o700, user),
    }
    for (where, rel), (mode, uid) in want.items():
        path = os.path.join(env.run if where == "run" else env.state, name, rel)
        st = os.lstat(path)
        check(st.st_mode & 0o7777 == mode and st.st_uid == uid,
              f"{path}: mode {st.st_mode & 0o7777:o} uid {st.st_uid}, want {mode:o} uid {uid}")
    for where in (env.run, env.state):
        for dirpath, dirs, files in os.walk(os.path.join(where, name)):
            for f in files + dirs:
                st = os.lstat(os.path.join(dirpath, f))
                check(not st.st_mode & 0o002, f"{dirpath}/{f} is writable by everyone")


def test_pin2_stop_verb(env):
    """2 vCPUs crosswise; status, list, second start refused, gamevm stop -> quit fallback."""
    vm = Vm(env, PIN2, "itest-pin2")
    st = vm.wait_running()
    check(st["swtpm_pid"] > 0 and alive(st["swtpm_pid"]), f"no swtpm: {st}")
    check(st["gamevm_pid"] == vm.proc.pid, f"status pid {st['gamevm_pid']} != {vm.proc.pid}")
    # Parsing QMP, gamevm runs under its seccomp filter (launcher/confine.c).
    gst = proc_status(vm.proc.pid)
    check(gst["Seccomp"] == "2", "gamevm is not confined with seccomp")
    check("Confined gamevm with seccomp" in vm.log(), "log lacks the seccomp line")
    # accel = tcg: no restart can come, so execve went at once (a second filter).
    check(int(gst.get("Seccomp_filters", "2")) >= 2, f"filters: {gst.get('Seccomp_filters')}")
    check("execve denied" in vm.log(), "log lacks the execve line")
    # QEMU (-sandbox) and swtpm (--seccomp): unprivileged, nothing to escalate with.
    check_least_privilege("QEMU", st["qemu_pid"])
    check_least_privilege("swtpm", st["swtpm_pid"])
    check_modes(env, "itest-pin2")
    check(st["qemu_version"] and st["qemu_version"][0].isdigit(), f"version: {st}")
    check_pinning(vm, [1, 0], {0})

    p = env.gamevm("list", "--json")
    check(p.returncode == 0, f"list: {p.stderr}")
    entry = [e for e in json.loads(p.stdout) if e["name"] == "itest-pin2"]
    check(entry and entry[0]["running"] and entry[0]["gamevm_pid"] == vm.proc.pid,
          f"list: {p.stdout}")
    p = env.gamevm("status", "itest-pin2")
    check(p.returncode == 0 and "running" in p.stdout and "vCPU" in p.stdout, p.stdout)

    # A second start of the same VM is refused and leaves the first alone.
    p = env.gamevm("start", PIN2, timeout=60)
    check(p.returncode != 0, "second start succeeded")
    want = f"VM 'itest-pin2' is already running (gamevm pid {vm.proc.pid})"
    check(want in p.stderr and "gamevm stop itest-pin2" in p.stderr,
          f"second start said: {p.stderr!r}")
    check(vm.proc.poll() is None and alive(st["qemu_pid"]), "the first VM suffered")

    firmware_settle()
    # The firmware ignores ACPI: powerdown, again after 3 s, quit at 4 s.
    t0 = time.monotonic()
    p = env.gamevm("stop", "itest-pin2", "--timeout", "4", timeout=60)
    took = time.monotonic() - t0
    if p.returncode != 0 or "stopped" not in p.stdout:
        vm.fail(f"gamevm stop: rc {p.returncode}: {p.stdout} {p.stderr}")
    rc = vm.wait_exit(30)
    log = vm.log()
    if rc != 0:
        vm.fail(f"gamevm start exited {rc} after an orderly stop")
    for needle in ("SIGTERM from gamevm stop", "system_powerdown", "again", "did not power off within 4 s",
                   "Sending quit", "host-qmp-quit", "stopped."):
        if needle not in log:
            vm.fail(f"log lacks {needle!r}")
    # --timeout 4, quit, SIGKILL at most 15 s later; slack for a loaded machine.
    check(4 <= took < 4 + 15 + 5, f"stop took {took:.1f} s")
    vm.check_gone()


def test_pin4_sigterm(env):
    """4 vCPUs, two per host CPU; SIGTERM to gamevm (systemd's stop) runs the graceful path."""
    vm = Vm(env, PIN4, "itest-pin4", "--timeout", "3")
    st = vm.wait_running()
    check(st["swtpm_pid"] == 0, f"pin4 has no TPM: {st}")
    check_pinning(vm, [0, 1, 0, 1], {0, 1})
    firmware_settle()
    t0 = time.monotonic()
    vm.proc.send_signal(signal.SIGTERM)
    rc = vm.wait_exit(40)
    took = time.monotonic() - t0
    if rc != 0:
        vm.fail(f"exit {rc} after SIGTERM")
    log = vm.log()
    for needle in (f"SIGTERM from pid {os.getpid()}", "system_powerdown", "Sending quit"):
        if needle not in log:
            vm.fail(f"log lacks {needle!r}")
    # --timeout 3, then quit with its 15 s grace before SIGKILL; the rest is
    # slack for a loaded 2-CPU machine running TCG.
    check(took < 3 + 15 + 10, f"stop took {took:.1f} s")
    vm.check_gone()


def test_kill_qemu(env):
    vm = Vm(env, PIN2, "itest-pin2")
    st = vm.wait_running()
    t0 = time.monotonic()
    os.kill(st["qemu_pid"], signal.SIGKILL)
    rc = vm.wait_exit(15)
    took = time.monotonic() - t0
    if rc != 128 + signal.SIGKILL:
        vm.fail(f"exit {rc}, want {128 + signal.SIGKILL}")
    if "QEMU was killed by signal 9" not in vm.log():
        vm.fail("no report of the signal")
    check(took < 5, f"gamevm took {took:.1f} s to notice")
    vm.check_gone()


def test_kill_swtpm(env):
    vm = Vm(env, PIN2, "itest-pin2")
    st = vm.wait_running()
    os.kill(st["swtpm_pid"], signal.SIGKILL)
    rc = vm.wait_exit(20)
    log = vm.log()
    if rc != 1:
        vm.fail(f"exit {rc}, want 1")
    for needle in (f"swtpm (pid {st['swtpm_pid']}) was killed by signal 9",
                   "cannot run without its TPM"):
        if needle not in log:
            vm.fail(f"log lacks {needle!r}")
    vm.check_gone()


def test_run_for(env):
    """What README command (1) does: run, then stop by itself, exit 0."""
    vm = Vm(env, PIN2, "itest-pin2", "--run-for", str(2 + SETTLE_S), "--timeout", "2")
    vm.wait_running()
    rc = vm.wait_exit(30)
    log = vm.log()
    if rc != 0:
        vm.fail(f"exit {rc}")
    for needle in (f"--run-for {2 + SETTLE_S} s elapsed", "system_powerdown", "Sending quit"):
        if needle not in log:
            vm.fail(f"log lacks {needle!r}")
    vm.check_gone()


def test_reader_gone(env):
    """The reader of gamevm's output goes away (gamevm start | head): gamevm still stops
    the VM and puts the host back, instead of dying of SIGPIPE at its next line."""
    p = subprocess.Popen([GAMEVM, "--run-dir", env.run, "--state-dir", env.state, "start",
                          "--timeout", "2", PIN2],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = []
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            line = p.stdout.readline().decode(errors="replace")
            if not line:
                break
            seen.append(line)
            if "is running" in line:
                break
        check(any("is running" in l for l in seen), "never running:\n" + "".join(seen))
        rc, st = env.status("itest-pin2")
        p.stdout.close()  # the reader is gone; everything gamevm writes now hits EPIPE
        time.sleep(SETTLE_S)
        stop = env.gamevm("stop", "itest-pin2", "--timeout", "2", timeout=60)
        check(stop.returncode == 0, f"gamevm stop: {stop.returncode} {stop.stderr}")
        rc = p.wait(timeout=60)
        check(rc == 0, f"gamevm start exited {rc} (-13: killed by SIGPIPE), want 0")
        for key in ("qemu_pid", "swtpm_pid"):
            if st and st.get(key):
                check(not alive(st[key]), f"{key} {st[key]} survived gamevm")
        left = sorted(set(os.listdir(os.path.join(env.run, "itest-pin2"))) -
                      {"lock", "qemu.log", "swtpm.log"})
        check(not left, f"left behind: {left}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_disk_fds(env):
    """Disk images only root can open: gamevm opens them and QEMU gets the fds (-add-fd)."""
    secret = os.path.join(env.tmp, "secret")
    os.mkdir(secret, 0o700)
    rw, ro = os.path.join(secret, "system.raw"), os.path.join(secret, "install.iso")
    for path, size in ((rw, 16 << 20), (ro, 1 << 20)):
        with open(path, "wb") as f:
            f.truncate(size)
        os.chmod(path, 0o600)
    conf = os.path.join(env.tmp, "disk.conf")
    with open(PIN2) as f:
        text = f.read().replace("name = itest-pin2", "name = itest-disk")
    with open(conf, "w") as f:
        f.write(text + f"\n[disk system]\npath = {rw}\nformat = raw\ncache = none\n"
                f"aio = native\n\n[disk install]\npath = {ro}\nmedia = cdrom\nbus = sata\n")
    vm = Vm(env, conf, "itest-disk", "--timeout", "2")
    st = vm.wait_running()
    held = {}
    for fd in os.listdir(f"/proc/{st['qemu_pid']}/fd"):
        try:
            target = os.readlink(f"/proc/{st['qemu_pid']}/fd/{fd}")
        except OSError:
            continue
        if target in (rw, ro):
            mode = open(f"/proc/{st['qemu_pid']}/fdinfo/{fd}").read().split("flags:")[1].split()[0]
            held.setdefault(target, set()).add(int(mode, 8) & 3)
    check(rw in held and 2 in held[rw], f"QEMU does not hold {rw} read-write: {held}")
    check(ro in held and held[ro] == {0}, f"QEMU holds {ro} other than read-only: {held}")
    check_least_privilege("QEMU", st["qemu_pid"])
    p = env.gamevm("stop", "itest-disk", "--timeout", "2", timeout=60)
    check(p.returncode == 0, f"stop: {p.stderr}")
    check(vm.wait_exit(60) == 0, "exit status")
    vm.check_gone()

    # A missing image: the start ends before the host is touched, naming the key.
    os.unlink(ro)
    vm = Vm(env, conf, "itest-disk")
    rc = vm.wait_exit(60)
    log = vm.log()
    check(rc == 1, f"start with a missing image: exit {rc}")
    check(f"[disk install] path: cannot open '{ro}' read-only: No such file or directory" in log,
          log)
    check("journal" not in log and "Restoring" not in log, f"the host was touched:\n{log}")


def test_qemu_error(env):
    """QEMU failing on its own: exit 1, its own words from qemu.log, nothing left behind."""
    conf = os.path.join(env.tmp, "qemuerr.conf")
    with open(PIN4) as f:
        text = f.read().replace("name = itest-pin4", "name = itest-qemuerr")
    with open(conf, "w") as f:
        f.write(text + "\n[qemu]\nextra = -no-such-option\n")
    vm = Vm(env, conf, "itest-qemuerr")
    rc = vm.wait_exit(60)
    log = vm.log()
    if rc != 1:
        vm.fail(f"exit {rc}, want 1")
    for needle in ("QEMU exited with status 1", "qemu: qemu-system-x86_64: -no-such-option"):
        if needle not in log:
            vm.fail(f"log lacks {needle!r}")
    if "QMP" in log:
        vm.fail("a QMP error hides QEMU's own message")
    vm.check_gone()


def test_not_running_and_bad_user(env):
    rc, st = env.status("itest-nope")
    check(rc == 3 and st == {"name": "itest-nope", "running": False, "state": "stopped"},
          f"status of an unknown VM: {rc} {st}")
    p = env.gamevm("stop", "itest-nope")
    check(p.returncode != 0 and "VM 'itest-nope' is not running" in p.stderr, p.stderr)

    conf = os.path.join(env.tmp, "baduser.conf")
    with open(PIN4) as f:
        text = f.read().replace("name = itest-pin4", "name = itest-baduser\nuser = gamevm-nosuchuser")
    with open(conf, "w") as f:
        f.write(text)
    p = env.gamevm("start", conf)
    check(p.returncode != 0, "start with a missing user succeeded")
    check("user 'gamevm-nosuchuser' does not exist: create it with 'useradd" in p.stderr,
          p.stderr)
    check(not os.path.exists(os.path.join(env.run, "itest-baduser")),
          "a failed start touched the run directory")


def main():
    if os.geteuid() != 0:
        skip("gamevm start needs root (it runs QEMU as the 'gamevm' user)")
    for b in ("qemu-system-x86_64", "swtpm", "swtpm_setup"):
        if not shutil.which(b):
            skip(f"{b} not installed")
    try:
        pwd.getpwnam("gamevm")
    except KeyError:
        skip("no 'gamevm' user (scripts/deps.sh creates it)")
    if not os.path.exists(GAMEVM):
        print(f"FAIL: {GAMEVM} not built")
        return 1

    tests = [test_not_running_and_bad_user, test_qemu_error, test_pin2_stop_verb,
             test_pin4_sigterm, test_kill_qemu, test_kill_swtpm, test_run_for,
             test_reader_gone, test_disk_fds]
    only = sys.argv[1:]
    failed = 0
    # Under /tmp, not the build tree: QEMU (as 'gamevm') must reach the sockets.
    tmp = tempfile.mkdtemp(prefix="gamevm-sup-")
    os.chmod(tmp, 0o755)
    env = Env(tmp)
    try:
        for t in tests:
            if only and t.__name__ not in only:
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
                env.cleanup()
    finally:
        if failed:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
