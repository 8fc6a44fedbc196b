#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What gets installed, from the build tree and as the Debian package.

1. `meson install --destdir SCRATCH` from the build tree: every file of the
   install layout (README.md "Install") is in place under the prefix, with
   the build's directories in tmpfiles.d, the prefix's bindir in the units;
   the installed gamevm runs: --version (test hooks off), `help start`, and
   `check` on examples/demo.conf with --root / (exit 0, the KVM verdict);
   sysusers.d and tmpfiles.d are applied to a scratch root when systemd's
   tools are there.
2. The .deb: dpkg-buildpackage -b -us -uc in a copy of the source tree
   (git ls-files, else the tree without build directories), timed; its
   control data (Depends, the postinst running systemd-sysusers and
   systemd-tmpfiles); `dpkg -x` into another scratch root; every file in
   place; its gamevm runs --version and check as above. It takes about
   10-20 s here; GAMEVM_TEST_DEB=0 leaves it out.

Runs as root. Exit 77 = skipped (not root, dpkg-buildpackage or debhelper
missing), except under CI=true where that is a failure.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ["GAMEVM_SRCDIR"]
BUILD = os.environ["GAMEVM_BUILDDIR"]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def skip(msg):
    if os.environ.get("CI") == "true":
        print(f"FAIL (strict CI): {msg}")
        sys.exit(1)
    print(f"SKIP: {msg}")
    sys.exit(77)


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


def build_options():
    r = run(["meson", "introspect", BUILD, "--buildoptions"], check=True)
    opts = {o["name"]: o["value"] for o in json.loads(r.stdout)}
    r = run(["meson", "introspect", BUILD, "--projectinfo"], check=True)
    return opts, json.loads(r.stdout)["version"]


def layout(prefix, opts, deb=False):
    """The install layout: path relative to the root -> what it is."""
    p = prefix.lstrip("/")
    bindir, mandir, datadir = opts["bindir"], opts["mandir"], opts["datadir"]
    # Debian: man pages compressed, zsh in vendor-completions, units in /lib.
    gz = ".gz" if deb else ""
    units = "lib/systemd" if deb else f"{p}/lib/systemd"
    zsh = f"{p}/{datadir}/zsh/" + ("vendor-completions" if deb else "site-functions")
    files = {
        f"{p}/{bindir}/gamevm": "the program",
        f"{p}/{mandir}/man1/gamevm.1{gz}": "gamevm(1)",
        f"{p}/{mandir}/man5/gamevm.conf.5{gz}": "gamevm.conf(5)",
        f"{p}/{datadir}/bash-completion/completions/gamevm": "bash completion",
        f"{zsh}/_gamevm": "zsh completion",
        f"{units}/system/gamevm@.service": "the system unit",
        f"{units}/user/gamevm@.service": "the user unit",
        f"{p}/lib/sysusers.d/gamevm.conf": "sysusers.d: the gamevm user",
        f"{p}/lib/tmpfiles.d/gamevm.conf": "tmpfiles.d: gamevm's directories",
    }
    # The .deb build-depends on checkpolicy and semodule-utils: it has it too.
    if os.path.exists(os.path.join(SRC, "selinux", "gamevm.te")) and \
            shutil.which("checkmodule") and shutil.which("semodule_package"):
        files[f"{p}/{datadir}/selinux/packages/gamevm.pp"] = "the SELinux module"
    return files


def check_layout(root, files, dirs, bindir_abs, what):
    """Every file in place; dirs: the run, state and config dirs of the binary."""
    for rel, desc in files.items():
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            fail(f"{what}: {desc} is not at /{rel}")
            continue
        print(f"{what}: /{rel} ({desc})")
    for rel in files:
        path = os.path.join(root, rel)
        if not os.path.isfile(path) or rel.endswith(".gz") or "/bin/" in rel:
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        if rel.endswith("sysusers.d/gamevm.conf"):
            for want in ('u gamevm - "gamevm VMs" /nonexistent /usr/sbin/nologin',
                         "m gamevm kvm"):
                if want not in text.splitlines():
                    fail(f"{what}: /{rel} has no line '{want}'")
        elif rel.endswith("tmpfiles.d/gamevm.conf"):
            for d in dirs:
                if f"d {d} 0755 root root -" not in text.splitlines():
                    fail(f"{what}: /{rel} has no line 'd {d} 0755 root root -'")
        elif rel.endswith("system/gamevm@.service"):
            if f"ExecStart={bindir_abs}/gamevm " not in text:
                fail(f"{what}: /{rel} does not run {bindir_abs}/gamevm")


def check_binary(root, exe_rel, version, what, scratch):
    """Runs the installed gamevm; returns its run, state and config dirs."""
    exe = os.path.join(root, exe_rel)
    if not os.access(exe, os.X_OK):
        fail(f"{what}: {exe} is not executable")
        return ()
    r = run([exe, "--version"])
    print(f"{what}: gamevm --version:\n{r.stdout}", end="")
    if r.returncode != 0 or not r.stdout.startswith(f"gamevm {version}\n"):
        fail(f"{what}: --version: status {r.returncode}, {r.stdout!r}")
    if not re.search(r"^  test hooks: +off$", r.stdout, re.M):
        fail(f"{what}: the installed binary does not say 'test hooks: off'")
    dirs = tuple(re.findall(r"^  (?:run|state|config) dir: +(\S+)$", r.stdout, re.M))
    if len(dirs) != 3:
        fail(f"{what}: --version does not name the run, state and config dirs")
    r = run([exe, "help", "start"])
    for part in ("Usage: gamevm start CONF", "Exit status:", "Example:"):
        if r.returncode != 0 or part not in r.stdout:
            fail(f"{what}: 'help start' (status {r.returncode}) has no '{part}'")
    # check reads the config as root: a copy only root can write.
    conf = os.path.join(scratch, "demo.conf")
    shutil.copyfile(os.path.join(SRC, "examples", "demo.conf"), conf)
    os.chmod(conf, 0o644)
    r = run([exe, "--root", "/", "--run-dir", os.path.join(scratch, "run"),
             "--state-dir", os.path.join(scratch, "state"), "check", conf])
    head = "\n".join(r.stdout.splitlines()[:3])
    print(f"{what}: gamevm check demo.conf: status {r.returncode}\n{head}")
    if r.returncode != 0:
        fail(f"{what}: check demo.conf: status {r.returncode}:\n{r.stdout}{r.stderr}")
    if not re.search(r"^KVM on this host: (usable|usable without SMM|unusable|absent)",
                     r.stdout, re.M):
        fail(f"{what}: check demo.conf printed no KVM verdict:\n{r.stdout}")
    return dirs


def apply_systemd_files(root, what):
    """systemd-sysusers and systemd-tmpfiles on a scratch copy of root."""
    if not (shutil.which("systemd-sysusers") and shutil.which("systemd-tmpfiles")):
        print(f"{what}: systemd-sysusers or systemd-tmpfiles missing: not applied")
        return
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    r = run(["systemd-sysusers", f"--root={root}"])
    passwd = os.path.join(root, "etc", "passwd")
    group = os.path.join(root, "etc", "group")
    users = open(passwd).read() if os.path.exists(passwd) else ""
    groups = open(group).read() if os.path.exists(group) else ""
    if r.returncode != 0 or not re.search(
            r"^gamevm:x:\d+:\d+:gamevm VMs:/nonexistent:/usr/sbin/nologin$", users, re.M):
        fail(f"{what}: systemd-sysusers made no user gamevm: {r.stderr}\n{users}")
    if not re.search(r"^kvm:x:\d+:(.*,)?gamevm(,.*)?$", groups, re.M):
        fail(f"{what}: gamevm is not in group kvm:\n{groups}")
    r = run(["systemd-tmpfiles", f"--root={root}", "--create"])
    if r.returncode != 0:
        fail(f"{what}: systemd-tmpfiles --create: {r.stderr}")
    print(f"{what}: systemd-sysusers and systemd-tmpfiles applied to the scratch root")


def copy_tree(dst):
    """The source tree as git has it (tracked and untracked, not ignored)."""
    if run(["git", "-C", SRC, "rev-parse", "--show-toplevel"]).returncode == 0:
        names = run(["git", "-C", SRC, "ls-files", "-z", "-c", "-o", "--exclude-standard"],
                    check=True).stdout
        os.makedirs(dst)
        tar = subprocess.Popen(["tar", "-C", SRC, "--null", "-T", "-", "-cf", "-"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        untar = subprocess.Popen(["tar", "-C", dst, "-xf", "-"], stdin=tar.stdout)
        tar.stdout.close()
        tar.communicate(names.encode())
        if untar.wait() != 0 or tar.returncode != 0:
            raise RuntimeError("copying the source tree failed")
        return
    build = os.path.realpath(BUILD)

    def ignore(d, names):
        return [n for n in names
                if (d == SRC and (n.startswith("build") or n.startswith("obj-") or n == ".git"))
                or os.path.realpath(os.path.join(d, n)) == build]
    shutil.copytree(SRC, dst, symlinks=True, ignore=ignore)


def deb_part(scratch, opts, version):
    src = os.path.join(scratch, "src")
    copy_tree(src)
    log = os.path.join(scratch, "dpkg-buildpackage.log")
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=%d" % (os.cpu_count() or 2))
    t0 = time.monotonic()
    with open(log, "w") as f:
        r = subprocess.run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=src, env=env,
                           stdout=f, stderr=subprocess.STDOUT)
    secs = time.monotonic() - t0
    print(f"deb: dpkg-buildpackage -b -us -uc took {secs:.1f} s (status {r.returncode})")
    if r.returncode != 0:
        fail("dpkg-buildpackage failed:\n" + "".join(open(log).readlines()[-40:]))
        return
    debs = [f for f in os.listdir(scratch) if re.fullmatch(r"gamevm_.*_amd64\.deb", f)]
    if len(debs) != 1:
        fail(f"deb: expected one gamevm_*_amd64.deb in {scratch}, found {debs}")
        return
    deb = os.path.join(scratch, debs[0])
    if debs[0] != f"gamevm_{version}_amd64.deb":
        fail(f"deb: {debs[0]}: debian/changelog's version is not the project's {version}")
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    for pkg in ("qemu-system-x86", "ovmf", "swtpm", "swtpm-tools"):
        if not re.search(rf"(^|[ ,]){re.escape(pkg)}([ ,(]|$)", depends.strip()):
            fail(f"deb: Depends has no {pkg}: {depends}")
    ctl = os.path.join(scratch, "control")
    run(["dpkg-deb", "-e", deb, ctl], check=True)
    postinst = open(os.path.join(ctl, "postinst")).read() \
        if os.path.exists(os.path.join(ctl, "postinst")) else ""
    for want in ("systemd-sysusers", "systemd-tmpfiles"):
        if want not in postinst:
            fail(f"deb: the postinst does not run {want}:\n{postinst}")
    root = os.path.join(scratch, "debroot")
    run(["dpkg", "-x", deb, root], check=True)
    deb_opts = dict(opts, bindir="bin", mandir="share/man", datadir="share")
    dirs = check_binary(root, "usr/bin/gamevm", version, "deb", scratch)
    check_layout(root, layout("/usr", deb_opts, deb=True), dirs, "/usr/bin", "deb")
    apply_systemd_files(root, "deb")


def check_build_depends():
    """debian/control's Build-Depends has what scripts/deps.sh installs to build."""
    deps = open(os.path.join(SRC, "scripts", "deps.sh")).read()
    m = re.search(r"^\s*# build\n(.*?)^\s*#", deps, re.M | re.S)
    control = open(os.path.join(SRC, "debian", "control")).read()
    m2 = re.search(r"^Build-Depends:(.*?)^\S", control, re.M | re.S)
    if not m or not m2:
        fail("cannot find the build packages in scripts/deps.sh or debian/control")
        return
    have = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", re.sub(r"\(.*?\)", "", m2.group(1))))
    # gcc: build-essential; pci.ids: a runtime need (Depends); cmocka: tests only.
    for pkg in m.group(1).split():
        if pkg not in ("gcc", "pci.ids", "libcmocka-dev") and pkg not in have:
            fail(f"debian/control: Build-Depends lacks {pkg} (scripts/deps.sh builds with it)")


def main():
    check_build_depends()
    if os.geteuid() != 0:
        if failures:
            return 1
        skip("needs root")
    for tool in ("meson", "dpkg-buildpackage", "dpkg-deb", "dh"):
        if not shutil.which(tool):
            skip(f"'{tool}' is missing (scripts/deps.sh installs debhelper)")
    opts, version = build_options()
    prefix = opts["prefix"]
    print(f"build: prefix {prefix}, version {version}")

    scratch = tempfile.mkdtemp(prefix="gamevm-install-")
    try:
        # 1. meson install into a scratch root.
        dest = os.path.join(scratch, "dest")
        t0 = time.monotonic()
        r = run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", dest])
        print(f"meson install --destdir: status {r.returncode}, {time.monotonic() - t0:.1f} s")
        if r.returncode != 0:
            fail(f"meson install failed:\n{r.stdout}{r.stderr}")
        else:
            dirs = check_binary(dest, os.path.join(prefix, opts["bindir"], "gamevm").lstrip("/"),
                                version, "meson", scratch)
            if dirs and dirs != (opts["rundir"], opts["statedir"], opts["confdir"]):
                fail(f"meson: gamevm --version says {dirs}, the build options are "
                     f"{opts['rundir']}, {opts['statedir']}, {opts['confdir']}")
            check_layout(dest, layout(prefix, opts), dirs,
                         os.path.join(prefix, opts["bindir"]), "meson")
            # The installed completion and pages are the built ones.
            for rel, built in ((f"{opts['datadir']}/bash-completion/completions/gamevm",
                                os.path.join(SRC, "shell-completion", "bash", "gamevm")),
                               (f"{opts['mandir']}/man1/gamevm.1",
                                os.path.join(BUILD, "docs", "gamevm.1"))):
                inst = os.path.join(dest, prefix.lstrip("/"), rel)
                if os.path.isfile(inst) and open(inst, "rb").read() != open(built, "rb").read():
                    fail(f"meson: {inst} differs from {built}")
            if prefix in ("/usr", "/usr/local"):
                apply_systemd_files(dest, "meson")

        # 2. The Debian package.
        if os.environ.get("GAMEVM_TEST_DEB", "1") == "0":
            print("deb: left out (GAMEVM_TEST_DEB=0)")
        else:
            deb_part(scratch, opts, version)
    finally:
        if failures and os.environ.get("GAMEVM_TEST_KEEP"):
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
