#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The manual pages made by tools/md2man.py (docs/meson.build).

    test-man.py GAMEVM.1 GAMEVM.CONF.5 DUMP-CONFIG-KEYS

Each page must render with `groff -man -Tutf8 -ww` and with `man -l`
without a single warning. gamevm(1) must have a section for every verb that
`gamevm --help` lists and name every option it lists; `gamevm help VERB`
must print each verb's full usage (help.c). gamevm.conf(5) must name every
key of the parser's table (dump-config-keys) under its section's heading.

Exit 77 = skipped (groff or man missing), except under CI=true.
"""

import os
import re
import shutil
import subprocess
import sys

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


def render(page):
    """The page as plain text, 80 columns, after checking groff and man are silent."""
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0 or r.stderr.strip():
        fail(f"groff -man -Tutf8 -ww {page}: status {r.returncode}:\n{r.stderr}")
    r = subprocess.run(["man", "--warnings=w", "-l", page],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0 or r.stderr.strip():
        fail(f"man -l {page}: status {r.returncode}:\n{r.stderr}")
    r = subprocess.run(["groff", "-man", "-Tutf8", "-P-c", "-P-b", "-P-u", "-P-o", page],
                       capture_output=True, text=True, env=env)
    return r.stdout


def sections(text):
    """{heading: body} of a rendered page; headings start in column 0."""
    out, cur = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace():
            cur = line.strip()
            out.setdefault(cur, "")
        elif cur is not None:
            out[cur] += line + "\n"
    return out


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    page1, page5, dump_keys = sys.argv[1:]
    gamevm = os.environ["GAMEVM_BIN"]
    for tool in ("groff", "man"):
        if not shutil.which(tool):
            skip(f"'{tool}' is missing (scripts/deps.sh installs groff-base and man-db)")

    text1 = render(page1)
    text5 = render(page5)
    print(f"{page1}: {len(text1.splitlines())} lines, {page5}: {len(text5.splitlines())} lines")

    # Verbs and options from the program itself.
    help_text = subprocess.run([gamevm, "--help"], capture_output=True, text=True,
                               check=True).stdout
    verbs_part = help_text.split("Verbs:", 1)[1].split("Options:", 1)[0]
    verbs = re.findall(r"^  ([a-z][a-z0-9-]*)", verbs_part, re.M)
    options = sorted(set(re.findall(r"(--[a-z][a-z-]*)", help_text.split("Options:", 1)[1])))
    if "help" not in verbs or len(verbs) < 10:
        fail(f"gamevm --help lists only these verbs: {verbs}")
    print("verbs:", " ".join(verbs))
    print("options:", " ".join(options))

    s1 = sections(text1)
    for want in ("NAME", "SYNOPSIS", "VERBS", "OPTIONS", "EXIT STATUS", "FILES",
                 "ENVIRONMENT", "EXAMPLES", "SEE ALSO"):
        if want not in s1:
            fail(f"gamevm(1) has no {want} section (it has {sorted(s1)})")
    for v in verbs:
        if not re.search(rf"^   gamevm {re.escape(v)}\b", s1.get("VERBS", ""), re.M):
            fail(f"gamevm(1): no subsection 'gamevm {v}' under VERBS")
        if not re.search(rf"^\s+gamevm .*\b{re.escape(v)}\b", s1.get("SYNOPSIS", ""), re.M):
            fail(f"gamevm(1): verb '{v}' missing from the SYNOPSIS")
        r = subprocess.run([gamevm, "help", v], capture_output=True, text=True)
        for part in (f"Usage: gamevm {v}", "Exit status:", "Example:"):
            if r.returncode != 0 or part not in r.stdout:
                fail(f"'gamevm help {v}' (status {r.returncode}) has no '{part}': "
                     "add the verb to the table in launcher/help.c")
        r2 = subprocess.run([gamevm, v, "--help"], capture_output=True, text=True)
        if r2.returncode != 0 or r2.stdout != r.stdout:
            fail(f"'gamevm {v} --help' differs from 'gamevm help {v}'")
    for o in options:
        if not re.search(rf"^       (-\w, )?{re.escape(o)}\b", s1.get("OPTIONS", ""), re.M):
            fail(f"gamevm(1): option {o} has no entry under OPTIONS")
    for status in ("0", "1", "2", "3", "128 + N"):
        if not re.search(rf"^       {re.escape(status)}\b", s1.get("EXIT STATUS", ""), re.M):
            fail(f"gamevm(1): exit status {status} is not described")

    # Every config key under its section in gamevm.conf(5).
    s5 = sections(text5)
    keys = subprocess.run([dump_keys], capture_output=True, text=True, check=True).stdout
    n = 0
    for line in keys.splitlines():
        sec, key = line.split()
        heads = [h for h in s5 if h == f"[{sec}]" or h.startswith(f"[{sec} ")]
        if not heads:
            fail(f"gamevm.conf(5): no section [{sec}]")
            continue
        if not re.search(rf"^       {re.escape(key)}(\s|$)", s5[heads[0]], re.M):
            fail(f"gamevm.conf(5): key '{key}' has no entry under {heads[0]}")
        n += 1
    print(f"gamevm.conf(5): {n} keys checked")
    if n < 50:
        fail(f"only {n} config keys from dump-config-keys")

    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
