#!/usr/bin/env zsh
# SPDX-License-Identifier: GPL-2.0-or-later
#
#   zsh-complete.zsh FPATH-DIR LINE
#
# The completions an interactive zsh offers for LINE (with the completion
# functions in FPATH-DIR, after compinit), sorted, one a line. zsh runs in a
# pseudo-terminal (zsh/zpty); a compadd wrapper prints each match between
# \x01 and \x02, and a post-completion hook prints \x01END\x02. The markers
# are typed as $'\x01', so the echo of the typed text never holds them.
# Exit 77 when zsh/zpty is missing, 1 when zsh did not finish in 10 s.
emulate -L zsh
zmodload zsh/zpty 2>/dev/null || exit 77
local dir=$1 line=$2 out chunk
integer tries=0

zpty z zsh -f -i
zpty -w z "PROMPT=''; RPROMPT=''; fpath=(${(q)dir} \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  local -a __hits
  builtin compadd -A __hits "$@"
  local __h; for __h in $__hits; do print -rn -- $'"'"'\x01'"'"'"$__h"$'"'"'\x02'"'"'; done
  builtin compadd "$@"
}'
zpty -w z $'__done () { print -rn -- $\'\\x01END\\x02\'; }; comppostfuncs=(__done)'
zpty -w z "$line"$'\t'
while (( tries < 200 )); do
  if zpty -r -t z chunk 2>/dev/null; then
    out+=$chunk
    [[ $out == *$'\x01END\x02'* ]] && break
  else
    (( tries++ ))
    sleep 0.05
  fi
done
zpty -d z
[[ $out == *$'\x01END\x02'* ]] || { print -u2 "zsh did not complete '$line'"; exit 1 }
print -r -- "$out" | grep -oaP '\x01\K[^\x01\x02]*(?=\x02)' | grep -vx END | sort -u
