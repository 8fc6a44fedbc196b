# SPDX-License-Identifier: GPL-2.0-or-later
"""
What the bench/ scripts share: the machine's description, gamevm VMs
started from a config in a scratch directory with their log lines
timestamped as they arrive, the libvirt peer (bench/libvirt.sh), and the
small table each script prints.

Every script runs as root on a quiet machine (nothing else using the CPUs:
the figures are wall-clock times) and gives back what it takes: hugepages,
scratch directories, libvirt domains.
"""
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("GAMEVM_BUILDDIR", os.path.join(ROOT, "build"))
GAMEVM = os.path.join(BUILD, "gamevm")
LIBVIRT_SH = os.path.join(HERE, "libvirt.sh")
HUGE2M = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

TIMING_RE = re.compile(
    r"Start timing: ([\d.]+) ms in all; gamevm ([\d.]+) ms \(([\d.]+) ms before QEMU is "
    r"spawned(?:, of which ([\d.]+) ms backing the RAM)?, ([\d.]+) ms pinning and cont\); "
    r"QEMU ([\d.]+) ms \(([\d.]+) ms to its QMP "
    r"greeting, ([\d.]+) ms to answer the start-up queries, ([\d.]+) ms for cont\)")


class BenchError(Exception):
    pass


def need_root():
    if os.geteuid() != 0:
        print(f"{sys.argv[0]}: run as root (gamevm start and libvirt need it)",
              file=sys.stderr)
        sys.exit(77)
    if not os.access(GAMEVM, os.X_OK):
        sys.exit(f"{sys.argv[0]}: no '{GAMEVM}': build first (scripts/build.sh)")


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, **kw)


def first_line(cmd):
    try:
        return run(cmd).stdout.splitlines()[0].strip()
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def machine():
    """One line that says which machine the figures come from."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    virt = first_line(["systemd-detect-virt"]) if shutil.which("systemd-detect-virt") else "?"
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    kvm = "/dev/kvm present" if os.path.exists("/dev/kvm") else "no /dev/kvm"
    return (f"{model}, {os.cpu_count()} CPUs, {mem_kb / 2**20:.0f} GiB, "
            f"Linux {platform.release()} ({virt}), {kvm}; "
            f"{first_line(['qemu-system-x86_64', '-version'])}")


def quiet_check():
    """Warns when the machine is busy: wall-clock figures would be noise."""
    load1 = os.getloadavg()[0]
    if load1 > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {load1:.2f}: figures from a busy machine are noise",
              file=sys.stderr)


def stats(values):
    """(min, median, max)."""
    return min(values), statistics.median(values), max(values)


def fmt(values, unit="ms", digits=1):
    lo, med, hi = stats(values)
    return f"{med:.{digits}f} {unit} ({lo:.{digits}f}-{hi:.{digits}f})"


def table(headers, rows):
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


def read_int(path):
    with open(path) as f:
        return int(f.read().split()[0])


def write_int(path, value):
    with open(path, "w") as f:
        f.write(f"{value}\n")


class Scratch:
    """A scratch directory for configs, state and run files; removed at exit."""

    def __init__(self, label):
        self.dir = tempfile.mkdtemp(prefix=f"gamevm-bench-{label}-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.run_dir = os.path.join(self.dir, "run")
        self.state_dir = os.path.join(self.dir, "state")

    def path(self, name):
        return os.path.join(self.dir, name)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def demo_config(scratch, name, memory="512M", hugepages="none", extra_memory="",
                extra=""):
    """examples/demo.conf with another name and memory; the path of the copy."""
    with open(os.path.join(ROOT, "examples", "demo.conf")) as f:
        text = f.read()
    text = re.sub(r"(?m)^name = demo$", f"name = {name}", text)
    text = re.sub(r"(?m)^size = 512M$", f"size = {memory}\n{extra_memory}", text)
    text = re.sub(r"(?m)^hugepages = none$", f"hugepages = {hugepages}", text)
    text += extra
    path = scratch.path(f"{name}.conf")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


class GamevmRun:
    """
    'gamevm start CONF' in the background; each stderr line is kept with the
    monotonic time it arrived, so a script can time "from the command to
    this line" from outside.
    """

    def __init__(self, scratch, conf, *args):
        self.scratch = scratch
        self.lines = []  # (t, line)
        self.cond = threading.Condition()
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [GAMEVM, "start", conf, "--run-dir", scratch.run_dir, "--state-dir",
             scratch.state_dir, *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            t = time.monotonic()
            with self.cond:
                self.lines.append((t, line.rstrip("\n")))
                self.cond.notify_all()
        with self.cond:
            self.lines.append((time.monotonic(), None))
            self.cond.notify_all()

    def wait_line(self, needle, timeout=120):
        """(time since start, line) of the first line containing needle."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, line in self.lines:
                    if line is None:
                        raise BenchError(f"gamevm ended before '{needle}':\n{self.log()}")
                    if needle in line:
                        return t - self.t0, line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(f"no '{needle}' within {timeout} s:\n{self.log()}")
                self.cond.wait(left)

    def log(self):
        return "\n".join(l for _, l in self.lines if l is not None)

    def timing(self):
        """The 'Start timing' figures: dict of ms."""
        _, line = self.wait_line("Start timing:")
        m = TIMING_RE.search(line)
        if not m:
            raise BenchError(f"cannot read '{line}'")
        keys = ("all", "gamevm", "spawn", "ram", "pin_cont", "qemu", "qemu_greeting",
                "qemu_answers", "qemu_cont")
        return dict(zip(keys, (float(x or 0) for x in m.groups())))

    def wait(self, timeout=120):
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def gamevm(*args, check=True):
    return run([GAMEVM, *args], check=check)


def qemu_pid(scratch, name):
    with open(os.path.join(scratch.run_dir, name, "qemu.pid")) as f:
        return int(f.read().strip())


# ---- libvirt (bench/libvirt.sh) ----------------------------------------------

def virsh(*args, check=True):
    return run(["virsh", "-c", "qemu:///system", *args], check=check)


def libvirt_setup():
    r = run(["bash", LIBVIRT_SH, "setup"], check=False)
    if r.returncode != 0:
        raise BenchError(f"bench/libvirt.sh setup failed:\n{r.stdout}")


def libvirt_teardown():
    run(["bash", LIBVIRT_SH, "teardown"], check=False)


def libvirt_version():
    r = virsh("version", check=False)
    m = re.search(r"Running against daemon: (\S+)", r.stdout) or \
        re.search(r"Using library: libvirt (\S+)", r.stdout)
    return m.group(1) if m else "unknown"


def libvirt_pids():
    """{name: pid} of the libvirt daemons running."""
    out = run(["bash", LIBVIRT_SH, "pids"]).stdout
    pids = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            pids[parts[0]] = int(parts[1])
    return pids


def libvirt_domain(scratch, name, template, **subst):
    """
    Defines NAME (bench/libvirt.sh define, which teardown undefines) from
    bench/TEMPLATE with each @KEY@ replaced by subst[KEY]; @NAME@ is name,
    @VCPU0@, @VCPU1@ and @EMU@ come from the environment's defaults there.
    """
    with open(os.path.join(HERE, template)) as f:
        xml = f.read()
    for k, v in subst.items():
        xml = xml.replace(f"@{k}@", str(v))
    path = scratch.path(f"{name}.xml")
    with open(path, "w") as f:
        f.write(xml)
    env = dict(os.environ)
    env.update({k: str(v) for k, v in subst.items() if k in ("VCPU0", "VCPU1", "EMU")})
    r = run(["bash", LIBVIRT_SH, "define", name, path], check=False, env=env)
    if r.returncode != 0:
        raise BenchError(f"bench/libvirt.sh define {name}: {r.stdout}")
    return path


def libvirt_qemu_pid(name):
    with open(f"/run/libvirt/qemu/{name}.pid") as f:
        return int(f.read().strip())


# ---- /proc -------------------------------------------------------------------

def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def proc_pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_runs(pid):
    """
    Times the process's threads were scheduled in (schedstat's third field,
    summed over /proc/PID/task): each wakeup is one.
    """
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[2])
        except (OSError, IndexError, ValueError):
            pass
    return total


def proc_threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def dump_json(path, obj):
    if path:
        with open(path, "w") as f:
            json.dump(obj, f, indent=2)
