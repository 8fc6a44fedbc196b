#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# /init of the lab guest (busybox sh, from the initramfs lab.py builds).
#
# Mounts the host's root (9p "hostroot", read-only) under a tmpfs overlay so
# the guest may write anywhere without touching the host, mounts the lab
# exports that /lab-out/mounts lists, loads the drivers of the emulated
# devices from the kernel's own module tree (9p "labmods") through the host's
# kmod, runs /lab/cmd.sh chrooted, and powers off. The command's output goes
# to /lab/stdout and /lab/stderr (9p "labout", read-write) and live to the
# serial console between the markers lab.py looks for; its exit status to
# /lab/status.

PATH=/bin
export PATH

say() { echo "gamevm-lab: $*"; }

die() {
	say "FATAL: $*"
	# lab.py reports a missing status file as a lab failure (125).
	poweroff -f
	sleep 60
}

up() { cut -d' ' -f1 /proc/uptime; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say "init at $(up) s"

# 9p, virtio-pci and overlayfs, in the order lab.py resolved with modprobe.
while read -r m; do
	insmod "/modules/$m" || die "insmod $m"
done </modules/order

p9() { # TAG DIR CACHE [ro]
	o="trans=virtio,version=9p2000.L,msize=524288,cache=$3"
	[ -n "$4" ] && o="$o,ro"
	mount -t 9p -o "$o" "$1" "$2"
}

mkdir -p /lab-out /lower /upper /newroot
p9 labout /lab-out none || die "mount labout"
KVER=$(cat /kver)

# The host root never changes under a lab run: cache it (much faster exec).
p9 hostroot /lower loose ro || die "mount hostroot"
mount -t tmpfs -o mode=0755 tmpfs /upper
mkdir /upper/u /upper/w
if ! mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w \
	overlay /newroot; then
	say "WARNING: overlay failed, the host root stays read-only"
	mount --bind /lower /newroot
fi
R=/newroot

mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm $R/dev/hugepages
mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t hugetlbfs hugetlbfs $R/dev/hugepages
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount -t tmpfs -o mode=0755 tmpfs $R/run

mkdir -p $R/lab "$R/lib/modules/$KVER"
mount --move /lab-out $R/lab
p9 labmods "$R/lib/modules/$KVER" loose ro || die "mount labmods"
# The kernel's own module requests (HDA codecs, ...) go to the host's kmod.
echo /bin/lab-modprobe >/proc/sys/kernel/modprobe

# "TAG PATH": a read-only export of the host's PATH, mounted at the same
# path in the guest (CI may clone under /tmp, which is a tmpfs here).
while read -r tag path; do
	[ -n "$tag" ] || continue
	mkdir -p "$R$path" && p9 "$tag" "$R$path" none ro || die "mount $tag at $path"
done <$R/lab/mounts
[ -s $R/lab/gamevm-src ] && ln -sfn "$(cat $R/lab/gamevm-src)" $R/gamevm
[ -s $R/lab/gamevm-build ] && ln -sfn "$(cat $R/lab/gamevm-build)" $R/gamevm-build

# What udev would do: load the driver of every device by its modalias.
t=$(up)
# Bridges and host bridges have no module: modprobe's status means nothing.
chroot $R /sbin/modprobe -a -q -b $(cat /sys/bus/pci/devices/*/modalias)
say "drivers loaded in $(echo "$(up) $t" | awk '{printf "%.1f", $1 - $2}') s"

hostname gamevm-lab
say "ready at $(up) s"
echo "==== gamevm-lab: command begin ===="
chroot $R /bin/bash /lab/cmd.sh
rc=$?
echo "==== gamevm-lab: command end, exit status $rc ===="
echo "$rc" >$R/lab/status
say "done at $(up) s"
sync
poweroff -f
sleep 60
