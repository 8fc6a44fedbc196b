#!/bin/bash
# bench/libvirt.sh: the libvirt peer for gamevm's benchmarks, on Debian 12.
#
#   bench/libvirt.sh setup            install libvirt, start its daemons
#   bench/libvirt.sh define NAME XML  define domain NAME from XML (a finished
#                                     XML or bench/libvirt-demo.xml.in, whose
#                                     @...@ placeholders are filled in)
#   bench/libvirt.sh pids [NAME]      "libvirtd PID" and "virtlogd PID" lines;
#                                     with NAME also "qemu PID", "swtpm PID"
#   bench/libvirt.sh teardown         destroy/undefine the bench domains, stop
#                                     the daemons setup started, remove what
#                                     they left behind
#
# Placeholders for define (environment, defaults in brackets):
#   VCPU0 [0]  VCPU1 [1]  EMU [0]
#   NVRAM [/var/lib/libvirt/qemu/nvram/NAME_VARS.fd]
#
# Daemons: Debian 12's libvirt 9.0 runs the monolithic libvirtd.  Its
# libvirt-daemon-system package ships and enables only libvirtd.service (+
# sockets), virtlogd and virtlockd; the modular virtqemud & co. are not even
# built into the bookworm packages.  So setup starts, without systemd:
#   virtlogd -d   (the QEMU driver sends QEMU's stdout/stderr through it:
#                  qemu.conf stdio_handler = "logd")
#   libvirtd      (pid file /run/libvirtd.pid; under bench/reaper.py)
# virtlockd is not needed: qemu.conf lock_manager is unset ("nop").
#
# No lasting host changes beyond the packages: setup records what is under
# libvirt's directories (and a copy of /etc/libvirt) before the daemons
# first run, and teardown removes what appeared since (logs too, unless
# BENCH_KEEP_LOGS=1) and the cgroups libvirt made, and puts /etc/libvirt back.  The 'default' network is never started: Debian 12 does not
# mark it autostart, and setup also drops libvirt's own "already autostarted"
# marker (/run/libvirt/network/autostarted) so an autostart flag set by
# someone else would be ignored too.  No bridge, no iptables rules: the demo
# uses user-mode networking.
set -euo pipefail

URI=qemu:///system
HERE=$(cd "$(dirname "$0")" && pwd)
STATE=/run/gamevm-bench-libvirt
# Directories libvirtd, virtlogd, QEMU and swtpm write to.
TRACKED=(/etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt
	/var/log/libvirt /var/log/swtpm /var/lib/swtpm-localca
	/run/libvirtd.pid /run/virtlogd.pid)
PACKAGES=(libvirt-daemon-system libvirt-clients)

die() { echo "libvirt.sh: $*" >&2; exit 1; }
log() { echo "libvirt.sh: $*" >&2; }
virsh_() { virsh -q -c "$URI" "$@"; }

usage() {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" | sed '/^Daemons:/,$d' >&2
	exit 2
}

# pid_of NAME: the PID in /run/NAME.pid when that process is alive and is NAME.
pid_of() {
	local f=/run/$1.pid pid
	[[ -r $f ]] || return 1
	pid=$(tr -dc 0-9 <"$f")
	[[ -n $pid && -r /proc/$pid/comm ]] || return 1
	[[ $(cat "/proc/$pid/comm") == "$1" ]] || return 1
	echo "$pid"
}

snapshot() {
	local p
	for p in "${TRACKED[@]}"; do
		[[ -e $p ]] && find "$p" -xdev -print
	done
	find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -name machine \
		-print 2>/dev/null
	return 0
}

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"${PACKAGES[@]}"
}

wait_ready() {
	local i
	for ((i = 0; i < 600; i++)); do
		if virsh -c "$URI" version >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	virsh -c "$URI" version || true
	die "libvirtd did not answer on $URI within 60 s (see /var/log/libvirt/libvirtd.log)"
}

# kvm_needs_fix: /dev/kvm exists but QEMU's user cannot open it (here it is
# root:root 0600: no udev to make it root:kvm 0660 as on a stock Debian).
kvm_needs_fix() {
	[[ ${BENCH_LIBVIRT_KVM_FIX:-1} == 1 && -c /dev/kvm ]] || return 1
	! runuser -u libvirt-qemu -- test -r /dev/kvm -a -w /dev/kvm
}

# start_libvirtd: libvirtd in the background under bench/reaper.py,
# logging warnings and errors to a file (there is no journal to catch its
# stderr). The reaper reaps the QEMUs libvirtd daemonizes as soon as they
# exit, as systemd does: a PID 1 that reaps only now and then (this kind of
# sandbox) would otherwise add up to a second to every libvirt stop, which
# polls kill(pid, 0) until the zombie is gone.
#
# Where /dev/kvm is root-only, libvirt's QEMU capability probe still finds
# KVM (query-kvm: enabled) but its cache check, done as libvirt-qemu, finds
# /dev/kvm unusable, so every `virsh start` throws the cache away and probes
# QEMU twice more (accel=kvm:tcg, then tcg): about 3 of 4.5 s per start on
# this machine, which no stock Debian host pays.  So libvirtd runs in a
# private mount namespace where /dev/kvm is the same device as root:kvm 0660,
# what udev makes it on Debian; the host's /dev/kvm is untouched.  The
# domains are type='qemu' (TCG) either way.  BENCH_LIBVIRT_KVM_FIX=0 turns
# this off.
start_libvirtd() {
	local log="3:file:/var/log/libvirt/libvirtd.log" maj min
	if ! kvm_needs_fix; then
		LIBVIRT_LOG_OUTPUTS=$log setsid "$HERE/reaper.py" libvirtd \
			</dev/null >/dev/null 2>&1 &
		return
	fi
	maj=$((0x$(stat -c %t /dev/kvm)))
	min=$((0x$(stat -c %T /dev/kvm)))
	mkdir -p "$STATE/dev"
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- /bin/sh -ec '
		mount -t tmpfs -o mode=0755,size=16k gamevm-bench-kvm "$1"
		mknod -m 0660 "$1/kvm" c "$2" "$3"
		chgrp kvm "$1/kvm"
		mount --bind "$1/kvm" /dev/kvm
		umount -l "$1"
		LIBVIRT_LOG_OUTPUTS=$4 exec setsid "$5/reaper.py" libvirtd \
			</dev/null >/dev/null 2>&1
	' sh "$STATE/dev" "$maj" "$min" "$log" "$HERE" &
	echo 1 >"$STATE/kvm-namespace"
}

cmd_setup() {
	local pid
	[[ $(id -u) == 0 ]] || die "setup must run as root"
	install_packages
	mkdir -p "$STATE"
	if [[ ! -e $STATE/snapshot ]]; then
		if pid_of libvirtd >/dev/null || pid_of virtlogd >/dev/null; then
			log "a libvirt daemon is already running: using it, and teardown will not clean up after it"
			touch "$STATE/foreign"
		fi
		# libvirtd's first start rewrites the package's network and nwfilter
		# XML in /etc/libvirt (adds <uuid>s): keep the originals.
		tar -C / -cpf "$STATE/etc-libvirt.tar" etc/libvirt
		snapshot | sort >"$STATE/snapshot.tmp"
		mv "$STATE/snapshot.tmp" "$STATE/snapshot"
	fi
	# Never autostart networks (no virbr0, no dnsmasq, no iptables rules).
	mkdir -p /run/libvirt/network
	touch /run/libvirt/network/autostarted
	mkdir -p /var/log/libvirt

	if ! pid=$(pid_of virtlogd); then
		virtlogd -d
		for _ in $(seq 50); do pid=$(pid_of virtlogd) && break; sleep 0.1; done
		[[ -n ${pid:-} ]] || die "virtlogd did not start"
		echo "$pid" >"$STATE/virtlogd.started"
	fi
	if ! pid=$(pid_of libvirtd); then
		start_libvirtd
		for _ in $(seq 100); do pid=$(pid_of libvirtd) && break; sleep 0.1; done
		[[ -n ${pid:-} ]] || die "libvirtd did not start (see /var/log/libvirt/libvirtd.log)"
		echo "$pid" >"$STATE/libvirtd.started"
	fi
	wait_ready
	if virsh_ net-list --name 2>/dev/null | grep -q .; then
		log "warning: a libvirt network is active: $(virsh_ net-list --name | tr '\n' ' ')"
	fi
	virsh -c "$URI" version
}

cmd_define() {
	local name=${1:-} xml=${2:-} out left
	[[ -n $name && -n $xml ]] || usage
	[[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad domain name: $name"
	[[ -r $xml ]] || die "cannot read $xml"
	mkdir -p "$STATE"
	out=$(mktemp "$STATE/define.XXXXXX.xml")
	sed -e "s|@NAME@|$name|g" \
		-e "s|@VCPU0@|${VCPU0:-0}|g" \
		-e "s|@VCPU1@|${VCPU1:-1}|g" \
		-e "s|@EMU@|${EMU:-0}|g" \
		-e "s|@NVRAM@|${NVRAM:-/var/lib/libvirt/qemu/nvram/${name}_VARS.fd}|g" \
		"$xml" >"$out"
	if left=$(grep -o '@[A-Z0-9_]*@' "$out" | sort -u | tr '\n' ' ') && [[ -n $left ]]; then
		rm -f "$out"
		die "$xml: placeholders left: $left"
	fi
	grep -q "<name>$name</name>" "$out" ||
		{ rm -f "$out"; die "$xml: the domain is not named $name"; }
	grep -qx "$name" "$STATE/domains" 2>/dev/null || echo "$name" >>"$STATE/domains"
	# Redefine from scratch: the template has no <uuid>.
	if virsh_ domstate "$name" >/dev/null 2>&1; then
		[[ $(virsh_ domstate "$name") == "shut off" ]] ||
			{ rm -f "$out"; die "$name is running"; }
		virsh_ undefine --nvram "$name" >/dev/null
	fi
	virsh_ define "$out" >/dev/null || { rm -f "$out"; die "virsh define failed"; }
	rm -f "$out"
	echo "defined $name"
}

cmd_pids() {
	local name=${1:-} pid found=0 f
	for d in libvirtd virtlogd; do
		if pid=$(pid_of "$d"); then echo "$d $pid"; found=1; fi
	done
	((found)) || die "no libvirt daemon is running"
	[[ -n $name ]] || return 0
	f=/run/libvirt/qemu/$name.pid
	[[ -r $f ]] && echo "qemu $(tr -dc 0-9 <"$f")"
	for f in /run/libvirt/qemu/swtpm/*-"$name"-swtpm.pid; do
		[[ -r $f ]] && echo "swtpm $(tr -dc 0-9 <"$f")"
	done
	return 0
}

# stop_daemon NAME: SIGTERM the NAME this script started, and wait for it.
stop_daemon() {
	local name=$1 pid
	[[ -r $STATE/$name.started ]] || return 0
	if pid=$(pid_of "$name") && [[ $pid == $(cat "$STATE/$name.started") ]]; then
		kill -TERM "$pid"
		for _ in $(seq 100); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
		if [[ -e /proc/$pid ]]; then
			log "$name $pid ignores SIGTERM, sending SIGKILL"
			kill -KILL "$pid"
			sleep 0.2
		fi
	fi
	rm -f "$STATE/$name.started"
}

cmd_teardown() {
	local name p
	[[ -d $STATE ]] || { log "nothing to tear down"; return 0; }
	if [[ -r $STATE/domains ]] && pid_of libvirtd >/dev/null; then
		while read -r name; do
			[[ -n $name ]] || continue
			virsh_ domstate "$name" >/dev/null 2>&1 || continue
			if [[ $(virsh_ domstate "$name") != "shut off" ]]; then
				virsh_ destroy "$name" >/dev/null || true
			fi
			virsh_ undefine --nvram "$name" >/dev/null || true
		done <"$STATE/domains"
	fi
	stop_daemon libvirtd
	stop_daemon virtlogd
	if [[ -e $STATE/foreign || ! -e $STATE/snapshot ]]; then
		rm -rf "$STATE"
		return 0
	fi
	# Remove what appeared since setup, deepest first.
	snapshot | sort | comm -13 "$STATE/snapshot" - | sort -r |
		while IFS= read -r p; do
			case $p in
			/var/log/*) [[ ${BENCH_KEEP_LOGS:-0} == 1 ]] && continue ;;
			esac
			if [[ -d $p && ! -L $p ]]; then
				rmdir "$p" 2>/dev/null || log "could not remove $p"
			else
				rm -f "$p"
			fi
		done
	tar -C / -xpf "$STATE/etc-libvirt.tar"
	rm -rf "$STATE"
}

case ${1:-} in
setup) cmd_setup ;;
define) shift; cmd_define "$@" ;;
pids) shift; cmd_pids "$@" ;;
teardown) cmd_teardown ;;
*) usage ;;
esac
