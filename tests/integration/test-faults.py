#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Fault injection against `gamevm start` on this host, with real QEMU (TCG),
OVMF, swtpm, and the host changes this machine lets gamevm make (hugepages,
IRQ affinity, the workqueue mask, THP defrag, vm.stat_interval, cpusets
where there is cgroup v2, governors where there is cpufreq).

Before each case the host is read (every file gamevm may change: a sysfs and
procfs snapshot); after it, it must read the same, and no process of the VM
may be left:

  - SIGKILL of gamevm itself at every point of its start and stop
    (build/gamevm-test, GAMEVM_TEST_KILL_AT: after the lock, after each
    journal record, after swtpm and QEMU are spawned, before and after
    pinning, once running, during the graceful stop, after quit, after
    QEMU exited and half-way through the journal's replay), then
    `gamevm cleanup`, then a second cleanup that finds nothing to do;
  - QEMU and swtpm killed under a running gamevm: it restores by itself;
  - a full state directory (tmpfs too small for the NVRAM copy) and a
    read-only one: a clear error, nothing half-written, the host untouched;
  - two `gamevm start` of the same VM at once, three times: exactly one
    wins, the other says the VM is already running;
  - `gamevm prepare` as root, then `gamevm start` as the VM's user (no
    root): the user's run changes nothing, stopping prepare puts the host
    back; without prepare, the user's start is refused and says what to do.

Runs as root. Exit 77 = skipped (not root, or QEMU/swtpm/OVMF/the gamevm
user missing), except under CI=true.
"""
import glob
import json
import os
import pwd
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
GAMEVM_TEST = os.path.join(BUILD, "gamevm-test")
NAME = "itest-fault"

CONF = f"""\
; test-faults.py: every host change this machine allows, each undone.
[vm]
name = {NAME}
accel = tcg

[memory]
size = 128M
hugepages = 2M

[cpu]
vcpus = 2
model = max
pin = 1,0
housekeeping = 0

[hyperv]
enabled = no

[firmware]
type = uefi
secure-boot = yes

[tpm]
model = crb

[devices]
serial = none
display = none

[tuning]
thp-defrag = never
stat-interval = 7
"""

# Everything gamevm may change on a host like this one.
SNAPSHOT_GLOBS = [
    "/proc/irq/*/smp_affinity_list",
    "/proc/irq/default_smp_affinity",
    "/sys/devices/virtual/workqueue/cpumask",
    "/sys/kernel/mm/hugepages/*/nr_hugepages",
    "/sys/kernel/mm/hugepages/*/free_hugepages",
    "/sys/kernel/mm/hugepages/*/resv_hugepages",
    "/sys/kernel/mm/hugepages/*/surplus_hugepages",
    "/sys/devices/system/node/node*/hugepages/*/nr_hugepages",
    "/sys/devices/system/node/node*/hugepages/*/free_hugepages",
    "/sys/kernel/mm/transparent_hugepage/defrag",
    "/proc/sys/vm/stat_interval",
    "/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor",
    "/sys/fs/cgroup/cgroup.subtree_control",
    "/sys/fs/cgroup/*.slice/cpuset.cpus",
    "/sys/fs/cgroup/init.scope/cpuset.cpus",
    "/sys/fs/cgroup/gamevm",
]


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


def snapshot():
    snap = {}
    for pattern in SNAPSHOT_GLOBS:
        for path in sorted(glob.glob(pattern)):
            try:
                if os.path.isdir(path):
                    snap[path] = "<dir>"
                else:
                    with open(path) as f:
                        snap[path] = f.read().strip()
            except OSError as e:
                snap[path] = f"<{e.strerror}>"
    return snap


def diff(before, after):
    out = []
    for k in sorted(set(before) | set(after)):
        if before.get(k) != after.get(k):
            out.append(f"  {k}: {before.get(k)!r} -> {after.get(k)!r}")
    return "\n".join(out)


def vm_processes():
    """Pids of any process of the test VM (QEMU names it, swtpm's state dir does)."""
    pids = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(f"{d}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"{d}/stat") as f:
                if f.read().split(") ", 1)[1][0] == "Z":
                    continue
        except OSError:
            continue
        if NAME.encode() in cmd and int(d[6:]) != os.getpid():
            pids.append(int(d[6:]))
    return pids


def wait_no_vm_processes(timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = vm_processes()
        if not left:
            return
        time.sleep(0.1)
    raise Failure(f"processes of the VM survived: {left}")


class Env:
    def __init__(self, tmp):
        self.tmp = tmp
        self.run = os.path.join(tmp, "run")
        self.state = os.path.join(tmp, "state")
        self.conf = os.path.join(tmp, "fault.conf")
        with open(self.conf, "w") as f:
            f.write(CONF)

    def args(self, *extra):
        return ["--run-dir", self.run, "--state-dir", self.state, *extra]

    def gamevm(self, *args, timeout=120, env=None):
        return subprocess.run([GAMEVM, *self.args(*args)], capture_output=True, text=True,
                              timeout=timeout, env=env)

    def start(self, binary=GAMEVM, kill_at=None, extra=(), wrapper=()):
        env = dict(os.environ)
        env.pop("GAMEVM_TEST_KILL_AT", None)
        if kill_at:
            env["GAMEVM_TEST_KILL_AT"] = kill_at
        log = open(os.path.join(self.tmp, f"start-{time.monotonic_ns()}.log"), "w+")
        p = subprocess.Popen([*wrapper, binary, *self.args("start", *extra, self.conf)],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
        p.logf = log
        return p

    def cleanup(self):
        return self.gamevm("cleanup", NAME)


def read_log(p):
    p.logf.seek(0)
    return p.logf.read()


def counts_from_clean_run(env):
    """A run without faults: how many journal records a start makes here."""
    p = env.start(extra=("--run-for", "2", "--timeout", "1"))
    rc = p.wait(timeout=180)
    log = read_log(p)
    check(rc == 0, f"a clean run failed ({rc}):\n{log}")
    # The hugepage RAM was created and faulted in by gamevm, then handed
    # to QEMU as an fd (tuning/guest-ram.h).
    check(re.search(r"Backed \d+ MiB of RAM with 2048 kB huge pages in [\d.]+ s", log),
          f"gamevm did not back the RAM with huge pages itself:\n{log}")
    for line in log.splitlines():
        if "Restoring the host (" in line:
            return int(line.split("Restoring the host (")[1].split()[0])
    raise Failure(f"no 'Restoring the host' in:\n{log}")


def kill_case(env, point, before):
    """SIGKILL at point, then cleanup: the host as before, no process left."""
    p = env.start(binary=GAMEVM_TEST, kill_at=point, extra=("--run-for", "2", "--timeout", "1"))
    try:
        rc = p.wait(timeout=180)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise Failure(f"{point}: gamevm never reached it:\n{read_log(p)}")
    log = read_log(p)
    check(rc == -signal.SIGKILL, f"{point}: gamevm exited {rc}, not by the SIGKILL:\n{log}")
    wait_no_vm_processes()
    c = env.cleanup()
    check(c.returncode == 0, f"{point}: cleanup failed: {c.stdout}{c.stderr}")
    after = snapshot()
    check(after == before, f"{point}: host differs after cleanup:\n{diff(before, after)}\n"
          f"--- cleanup ---\n{c.stdout}{c.stderr}--- gamevm ---\n{log}")
    c2 = env.cleanup()
    check(c2.returncode == 0 and "Nothing to clean up" in c2.stdout + c2.stderr,
          f"{point}: a second cleanup: {c2.stdout}{c2.stderr}")
    undone = next((l for l in (c.stdout + c.stderr).splitlines() if "Undoing" in l),
                  "nothing to undo")
    return undone


def test_kill_points(env):
    before = snapshot()
    n = counts_from_clean_run(env)
    check(snapshot() == before, f"a clean run changed the host:\n{diff(before, snapshot())}")
    points = ["locked", "state", "journal:1", "journal:2", f"journal:{max(1, n // 2)}",
              f"journal:{n}", "prepared", "swtpm", "qemu", "pin", "pinned", "running",
              "powerdown", "quit", "exited", "replay:1", f"replay:{max(1, n // 2)}",
              f"replay:{n}"]
    print(f"  {n} journal records per start; {len(points)} kill points")
    for point in points:
        t0 = time.monotonic()
        what = kill_case(env, point, before)
        print(f"  killed at {point:<12} cleanup: {what} ({time.monotonic() - t0:.1f} s)",
              flush=True)


def test_child_crashes(env):
    before = snapshot()
    for victim, want_rc in (("qemu_pid", 128 + signal.SIGKILL), ("swtpm_pid", 1)):
        p = env.start(extra=("--timeout", "1"))
        status = os.path.join(env.run, NAME, "status.json")
        deadline = time.monotonic() + 120
        pid = 0
        while time.monotonic() < deadline and not pid and p.poll() is None:
            try:
                with open(status) as f:
                    st = json.load(f)
                if st.get("state") == "running":
                    pid = st[victim]
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        check(pid, f"{victim}: the VM never ran:\n{read_log(p)}")
        os.kill(pid, signal.SIGKILL)
        rc = p.wait(timeout=60)
        log = read_log(p)
        check(rc == want_rc, f"{victim} killed: gamevm exited {rc}, want {want_rc}:\n{log}")
        wait_no_vm_processes()
        after = snapshot()
        check(after == before, f"{victim} killed: host differs:\n{diff(before, after)}\n{log}")
        check(not os.path.exists(os.path.join(env.run, NAME, "journal")),
              f"{victim} killed: the journal is left")
        print(f"  {victim[:-4]} killed: gamevm exit {rc}, host restored by itself")


def test_full_and_readonly_state(env):
    before = snapshot()
    for label, opts in (("full", "size=256k"), ("read-only", "ro,size=1m")):
        state = os.path.join(env.tmp, f"state-{label}")
        os.makedirs(state, exist_ok=True)
        # A private mount namespace: the small or read-only tmpfs is this run's alone.
        script = (f"mount -t tmpfs -o mode=0755,{opts} gamevm-{label} {state} && "
                  f"exec {GAMEVM} --run-dir {env.run} --state-dir {state} start {env.conf}")
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            script], capture_output=True, text=True, timeout=120)
        log = p.stdout + p.stderr
        check(p.returncode == 1, f"{label} state dir: exit {p.returncode}:\n{log}")
        if label == "full":
            check("Failed to copy the UEFI variable store" in log and
                  "No space left on device" in log, f"{label}: unclear error:\n{log}")
        else:
            check("Read-only file system" in log and state in log,
                  f"{label}: unclear error:\n{log}")
        check("Restoring" not in log and "journal" not in log, f"{label}: host touched:\n{log}")
        check(snapshot() == before, f"{label}: host differs:\n{diff(before, snapshot())}")
        # Nothing half-written where the store would go (the tmpfs is gone with its
        # namespace; what matters is that no partial file ever got the real name).
        check("OVMF_VARS.fd" not in log.split("Failed")[0] if label == "full" else True, log)
        print(f"  {label} state directory: exit 1: "
              f"{[l for l in log.splitlines() if l.startswith('error')][-1][:150]}")


def test_racing_starts(env):
    before = snapshot()
    for round_ in range(3):
        a = env.start(extra=("--timeout", "1"))
        b = env.start(extra=("--timeout", "1"))
        deadline = time.monotonic() + 120
        loser = None
        while time.monotonic() < deadline and loser is None:
            for p in (a, b):
                if p.poll() is not None:
                    loser = p
            time.sleep(0.1)
        check(loser is not None, "neither start gave way")
        winner = b if loser is a else a
        llog = read_log(loser)
        # The winner may still be preparing: stop must find it anyway (status.json early).
        check(loser.returncode == 1 and f"VM '{NAME}' is already running" in llog,
              f"round {round_}: the loser exited {loser.returncode}:\n{llog}")
        check(winner.poll() is None, f"round {round_}: both ended:\n{read_log(winner)}")
        s = env.gamevm("stop", NAME, "--timeout", "1")
        check(s.returncode == 0, f"stop: {s.stdout}{s.stderr}")
        check(winner.wait(timeout=60) == 0, f"winner: {read_log(winner)}")
        wait_no_vm_processes()
        check(snapshot() == before, f"round {round_}: host differs:\n{diff(before, snapshot())}")
    print("  3 rounds: one start ran, the other was refused each time")


def test_prepare_then_user(env):
    """gamevm prepare (root) holds the host ready; the [vm] user starts the VM without root;
    stopping prepare puts the host back. Without prepare, the user's start says what to do."""
    before = snapshot()
    user = pwd.getpwnam("gamevm")
    home = os.path.join(env.tmp, "user")
    for d in ("run", "state"):
        os.makedirs(os.path.join(home, d), exist_ok=True)
        os.chown(os.path.join(home, d), user.pw_uid, user.pw_gid)
    os.chmod(home, 0o755)
    as_user = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups",
               GAMEVM, "--run-dir", os.path.join(home, "run"), "--state-dir",
               os.path.join(home, "state"), "start", "--run-for", "2", "--timeout", "1",
               env.conf]

    # Not prepared: refused, naming gamevm prepare, nothing run.
    p = subprocess.run(as_user, capture_output=True, text=True, timeout=120)
    check(p.returncode == 1 and f"sudo gamevm prepare {NAME}" in p.stderr,
          f"user start without prepare: {p.returncode}\n{p.stdout}{p.stderr}")
    check(snapshot() == before, "a refused user start changed the host")

    log = open(os.path.join(env.tmp, "prepare.log"), "w+")
    prep = subprocess.Popen([GAMEVM, *env.args("prepare", env.conf)], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            log.seek(0)
            if "The host is prepared" in log.read():
                break
            check(prep.poll() is None, "gamevm prepare exited")
            time.sleep(0.2)
        log.seek(0)
        text = log.read()
        check("The host is prepared" in text, text)
        check(snapshot() != before, "prepare changed nothing")
        p = subprocess.run(as_user, capture_output=True, text=True, timeout=180)
        check(p.returncode == 0, f"user start: {p.returncode}\n{p.stdout}{p.stderr}")
        check("Not running as root: using the host as 'gamevm prepare' left it" in p.stderr,
              p.stderr)
        check("Pinned vCPU" in p.stderr, "the user's vCPUs were not pinned")
        prep.send_signal(signal.SIGTERM)
        rc = prep.wait(timeout=60)
        log.seek(0)
        text = log.read()
        check(rc == 0, f"prepare exited {rc}:\n{text}")
    finally:
        if prep.poll() is None:
            prep.kill()
            prep.wait()
    after = snapshot()
    check(after == before, f"host differs after prepare ended:\n{diff(before, after)}\n{text}")
    print("  prepared by root, run by the user 'gamevm', put back by stopping prepare")


def main():
    if os.geteuid() != 0:
        skip("needs root")
    for b in ("qemu-system-x86_64", "swtpm", "swtpm_setup", "unshare"):
        if not shutil.which(b):
            skip(f"{b} not installed")
    if not glob.glob("/usr/share/qemu/firmware/*.json"):
        skip("no QEMU firmware descriptors (package ovmf)")
    try:
        pwd.getpwnam("gamevm")
    except KeyError:
        skip("no 'gamevm' user (scripts/deps.sh creates it)")
    if not glob.glob("/sys/kernel/mm/hugepages/hugepages-2048kB"):
        skip("no 2M hugepage pool on this host")

    tests = [test_full_and_readonly_state, test_child_crashes, test_racing_starts,
             test_prepare_then_user, test_kill_points]
    only = sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="gamevm-faults-")
    os.chmod(tmp, 0o755)
    env = Env(tmp)
    failed = 0
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
                for pid in vm_processes():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                env.cleanup()
    finally:
        if failed:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
