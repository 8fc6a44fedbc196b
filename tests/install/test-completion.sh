#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shell completion in shell-completion/:
#   bash: sourced and driven like bash drives it (COMP_WORDS, COMP_CWORD,
#         _gamevm, COMPREPLY): verbs, options, VM names from `gamevm list
#         --json` with the line's --config-dir and --run-dir, config files
#         and directories for CONF, directories for the directory options,
#         snapshot tags for `restore NAME TAG`;
#   zsh:  the same lines typed into an interactive zsh in a pseudo-terminal
#         (zsh-complete.zsh), when zsh is installed;
#   both: name every verb and every option `gamevm --help` lists.
# Needs GAMEVM_BIN and GAMEVM_SRCDIR (tests/meson.build).
set -euo pipefail

src=${GAMEVM_SRCDIR:?}
bash_comp=$src/shell-completion/bash/gamevm
zsh_comp=$src/shell-completion/zsh/_gamevm
fails=0

fail()
{
	echo "FAIL: $*"
	fails=$((fails + 1))
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/conf" "$tmp/run" "$tmp/home" "$tmp/work/sub dir" "$tmp/work/images"
ln -s "$GAMEVM_BIN" "$tmp/bin/gamevm"
# alpha: a real VM with a raw disk and two snapshots; beta: just a name.
sed 's/^name = demo$/name = alpha/' "$src/examples/demo.conf" >"$tmp/conf/alpha.conf"
printf '\n[disk system]\npath = %s\n' "$tmp/work/images/alpha.raw" >>"$tmp/conf/alpha.conf"
truncate -s 1M "$tmp/work/images/alpha.raw"
: >"$tmp/conf/beta.conf"
: >"$tmp/work/x.conf"
: >"$tmp/work/notes.txt"
: >"$tmp/work/dom.xml"
export PATH="$tmp/bin:$PATH" HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config"

dirs=(--config-dir "$tmp/conf" --run-dir "$tmp/run")
for tag in t1 t2; do
	"$GAMEVM_BIN" "${dirs[@]}" snapshot alpha "$tag" >/dev/null 2>&1 ||
		fail "gamevm snapshot alpha $tag failed"
done

# shellcheck source=/dev/null
source "$bash_comp"

# complete WORD...: the completions for the line, the last word the one
# being completed, sorted, one a line.
complete()
{
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMPREPLY=()
	_gamevm
	((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}" | sort
	return 0
}

# expect "WANT" WORD...: WANT is the sorted, space-separated completion list.
expect()
{
	local want=$1 got
	shift
	got=$(complete "$@" | tr '\n' ' ' | sed 's/ $//')
	if [[ $got != "$want" ]]; then
		fail "complete '$*': got '$got', want '$want'"
	else
		echo "ok: '$*' -> '$got'"
	fi
}

all_verbs="check cleanup cmdline help import-libvirt iommu list prepare restore snapshot start status stop topology"
expect "$all_verbs" gamevm ""
expect "start status stop" gamevm st
expect "$all_verbs" gamevm --json ""
expect "alpha beta" gamevm --config-dir "$tmp/conf" --run-dir "$tmp/run" stop ""
expect "alpha" gamevm --config-dir "$tmp/conf" --run-dir "$tmp/run" status al
# --config-dir=DIR: bash hands it over as three words.
expect "alpha beta" gamevm --config-dir = "$tmp/conf" --run-dir = "$tmp/run" cleanup ""
expect "" gamevm --config-dir "$tmp/conf" --run-dir "$tmp/run" stop alpha ""
expect "--run-dir --run-for" gamevm start --ru
expect "--list" gamevm snapshot --l
expect "alpha beta" gamevm "${dirs[@]}" snapshot --list ""
expect "alpha beta" gamevm "${dirs[@]}" restore ""
expect "t1 t2" gamevm "${dirs[@]}" restore alpha ""
expect "t2" gamevm "${dirs[@]}" restore alpha t2
expect "" gamevm "${dirs[@]}" restore alpha t1 ""
expect "--json" gamevm iommu --j
expect "$all_verbs" gamevm help ""
expect "" gamevm --timeout ""
(
	cd "$tmp/work"
	# CONF: VM names, *.conf files and directories (not notes.txt).
	expect "alpha beta images sub dir x.conf" gamevm --config-dir "$tmp/conf" --run-dir "$tmp/run" start ""
	expect "x.conf" gamevm --config-dir "$tmp/conf" --run-dir "$tmp/run" cmdline x
	expect "images sub dir" gamevm --root ""
	expect "images" gamevm --state-dir = i
	# import-libvirt: DOMAIN.xml, then -o NAME.conf
	expect "dom.xml images sub dir" gamevm import-libvirt ""
	expect "images sub dir x.conf" gamevm import-libvirt dom.xml -o ""
	expect "" gamevm import-libvirt dom.xml ""
	exit $fails
) || fails=$((fails + 1))

# Every verb and option of `gamevm --help` is in both scripts.
help=$("$GAMEVM_BIN" --help)
verbs=$(sed -n '/^Verbs:/,/^Options:/p' <<<"$help" | sed -n 's/^  \([a-z][a-z0-9-]*\).*/\1/p')
options=$(sed -n '/^Options:/,$p' <<<"$help" | grep -o -- '--[a-z][a-z-]*' | sort -u)
for v in $verbs; do
	for f in "$bash_comp" "$zsh_comp"; do
		grep -qw -- "$v" "$f" || fail "$(basename "$f"): verb '$v' missing"
	done
	[[ " $all_verbs " == *" $v "* ]] || fail "bash completion does not offer verb '$v'"
done
for o in $options; do
	for f in "$bash_comp" "$zsh_comp"; do
		grep -q -- "$o" "$f" || fail "$(basename "$f"): option '$o' missing"
	done
done

# zsh: the same kind of lines, in a real interactive zsh.
zexpect()
{
	local want=$1 got r=0
	shift
	got=$(cd "$tmp/work" && zsh -f "$src/tests/install/zsh-complete.zsh" \
		"$src/shell-completion/zsh" "$*" | tr '\n' ' ' | sed 's/ $//') || r=$?
	if ((r == 77)); then
		echo "zsh/zpty missing: zsh completion not run"
	elif [[ $r -ne 0 || $got != "$want" ]]; then
		fail "zsh: complete '$*': got '$got' (status $r), want '$want'"
	else
		echo "ok (zsh): '$*' -> '$got'"
	fi
}
if command -v zsh >/dev/null; then
	zsh -n "$zsh_comp" || fail "zsh -n $zsh_comp"
	zexpect "$all_verbs" gamevm ""
	zexpect "start status stop" gamevm st
	zexpect "--run-dir --run-for" gamevm start --ru
	zexpect "alpha beta" gamevm "${dirs[*]}" stop ""
	zexpect "alpha beta" gamevm --config-dir="$tmp/conf" --run-dir "$tmp/run" status ""
	zexpect "alpha beta images sub\\ dir x.conf" gamevm "${dirs[*]}" start ""
	zexpect "t1 t2" gamevm "${dirs[*]}" restore alpha ""
	zexpect "restore" gamevm help re
	zexpect "dom.xml images sub\\ dir" gamevm import-libvirt ""
	zexpect "images sub\\ dir x.conf" gamevm import-libvirt dom.xml -o ""
else
	echo "zsh not installed: the zsh completion is not checked"
fi

if ((fails)); then
	echo "$fails failure(s)"
	exit 1
fi
echo OK
