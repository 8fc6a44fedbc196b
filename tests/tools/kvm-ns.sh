#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs a command (as root) in a private mount namespace with /dev/kvm
# changed for it alone; the host's /dev is not touched.
#
#   kvm-ns.sh hide CMD...   a /dev without kvm: a host without KVM
#   kvm-ns.sh open CMD...   /dev/kvm a new node of the same device, root:kvm
#                           0660, so QEMU's user (in group kvm) can open it
#                           where the host's node is root-only
#
# "hide" replicates /dev on a tmpfs (device nodes, links, and the mounts
# below it: pts, shm, mqueue, hugepages) without kvm and mounts it over
# /dev. Used by the integration tests and to run the whole suite as on a
# host without KVM: tests/tools/kvm-ns.sh hide scripts/test.sh
set -eu

mode=${1:?usage: kvm-ns.sh hide|open CMD...}
shift
[ $# -gt 0 ] || { echo "usage: kvm-ns.sh hide|open CMD..." >&2; exit 2; }

if [ -z "${GAMEVM_KVM_NS:-}" ]; then
	GAMEVM_KVM_NS=$mode exec unshare --mount --propagation private "$0" "$mode" "$@"
fi

dir=$(mktemp -d /tmp/gamevm-kvm-ns.XXXXXX)
mount -t tmpfs -o mode=0755 gamevm-kvm-ns "$dir"

case $mode in
hide)
	for f in /dev/* /dev/.[!.]*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		n=${f#/dev/}
		[ "$n" = kvm ] && continue
		if [ -L "$f" ] || [ -c "$f" ] || [ -b "$f" ] || [ -p "$f" ]; then
			cp -a "$f" "$dir/$n"
		elif [ -d "$f" ]; then
			mkdir "$dir/$n"
			mount --rbind "$f" "$dir/$n"
		fi
	done
	mount --rbind "$dir" /dev
	;;
open)
	[ -c /dev/kvm ] || { echo "kvm-ns.sh: no /dev/kvm to open up" >&2; exit 77; }
	maj=$(stat -c %t /dev/kvm) min=$(stat -c %T /dev/kvm)
	mknod -m 0660 "$dir/kvm" c "$((0x$maj))" "$((0x$min))"
	chgrp kvm "$dir/kvm"
	mount --bind "$dir/kvm" /dev/kvm
	;;
*)
	echo "kvm-ns.sh: unknown mode '$mode' (hide or open)" >&2
	exit 2
	;;
esac
unset GAMEVM_KVM_NS
rc=0
"$@" || rc=$?
# The namespace dies with this shell; its mount point lives on the host's /tmp.
umount -l "$dir" 2>/dev/null || :
rmdir "$dir" 2>/dev/null || :
exit $rc
