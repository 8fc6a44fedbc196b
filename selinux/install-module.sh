#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# meson install: loads gamevm's SELinux module on a host with SELinux
# enabled. Not when installing into a DESTDIR (a package build: its
# postinst loads it on the target host).
set -e
pp=$1
[ -z "${DESTDIR:-}" ] || exit 0
command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled || exit 0
command -v semodule >/dev/null 2>&1 || exit 0
echo "Loading the SELinux module $pp"
semodule -i "$pp"
