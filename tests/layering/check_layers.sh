#!/bin/bash
# Checks every #include in the source tree against tests/layering/rules.txt.
#   check_layers.sh [SOURCE_ROOT]   prints each violation; exit 1 if any
#   check_layers.sh --self-test     proves the checker fails on a violation
set -u
here=$(cd "$(dirname "$0")" && pwd)
rules="$here/rules.txt"

# Prints "path:line: include" for every quoted or angle include under $1.
includes() {
  local root=$1 dirs=() d
  for d in common ikev1 isakmpd tmd cpsd ikecmd src proto; do
    [[ -d "$root/$d" ]] && dirs+=("$d")
  done
  ((${#dirs[@]})) || return 0
  (cd "$root" && grep -rE --include='*.cc' --include='*.h' \
      '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "${dirs[@]}") |
    sed -nE 's/^([^:]+):[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1: \2/p' |
    sort
}

check() {
  local root=$1 failed=0 from include why path inc line
  local all
  all=$(includes "$root")
  while IFS= read -r line; do
    [[ -z "$line" || "$line" == \#* ]] && continue
    from=${line%% | *}
    line=${line#* | }
    include=${line%% | *}
    why=${line#* | }
    while IFS= read -r hit; do
      [[ -z "$hit" ]] && continue
      path=${hit%%: *}
      inc=${hit#*: }
      if [[ "$path" =~ $from && "$inc" =~ $include ]]; then
        echo "layering: $path includes \"$inc\": $why"
        failed=1
      fi
    done <<<"$all"
  done <"$rules"
  return $failed
}

self_test() {
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  mkdir -p "$tmp/cpsd/core" "$tmp/tmd/core" "$tmp/common"
  echo '#include "common/bytes.h"' >"$tmp/cpsd/core/ok.cc"
  echo '#include "common/ipc_frame.h"' >"$tmp/tmd/core/ok.cc"
  if ! check "$tmp" >/dev/null; then
    echo "self-test: a clean tree was refused"
    return 1
  fi
  local bad
  for bad in 'cpsd/core/x.cc:#include "isakmpd/keymat/keymat.h"' \
      'tmd/core/x.cc:#include "common/ipc.h"' \
      'tmd/core/y.h:  #  include <event2/event.h>'; do
    rm -f "$tmp"/*/core/x.cc "$tmp"/*/core/y.h
    echo "${bad#*:}" >"$tmp/${bad%%:*}"
    if check "$tmp" >/dev/null; then
      echo "self-test: not caught: ${bad%%:*}: ${bad#*:}"
      return 1
    fi
  done
  echo "self-test: the checker accepts a clean tree and catches each violation"
}

if [[ "${1:-}" == "--self-test" ]]; then
  self_test
  exit
fi
root=${1:-$(cd "$here/../.." && pwd)}
if check "$root"; then
  echo "layering: every include follows tests/layering/rules.txt"
  exit 0
fi
exit 1
