# tests/lib/common.sh -- shared helpers for the shell tests and scripts/demo.
#
# Source it from bash (set -euo pipefail friendly). It defines:
#   IKE_SRC, IKE_BIN          repository root and the build's bin dir
#   t_pass/t_fail/t_info      PASS/FAIL/INFO lines; t_fail only counts, t_done sums up
#   t_skip REASON             "SKIPPED: REASON" + exit 0, or exit 1 when CI=true
#   t_require_*               preconditions that skip (or fail under CI)
#   wait_until SECS CMD...    poll CMD every ${WAIT_INTERVAL:-0.2}s until it succeeds
#   redact                    filter: replaces every registered secret by <redacted>

# shellcheck shell=bash

if [[ -n "${_IKE_COMMON_SH:-}" ]]; then return 0; fi
_IKE_COMMON_SH=1

IKE_SRC=${IKE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IKE_BIN=${IKE_BIN:-$IKE_SRC/build/bin}
export IKE_SRC IKE_BIN

T_NAME=${T_NAME:-$(basename "${0%.sh}")}
T_FAILS=0
T_PASSES=0
T_START=$SECONDS

_ts() { printf '[%3ds]' $((SECONDS - T_START)); }
t_info() { echo "$(_ts) INFO: $*"; }
t_pass() { T_PASSES=$((T_PASSES + 1)); echo "$(_ts) PASS: $*"; }
t_fail() { T_FAILS=$((T_FAILS + 1)); echo "$(_ts) FAIL: $*"; }

# t_check DESCRIPTION CMD...: PASS or FAIL depending on CMD's exit status.
t_check() {
  local what=$1; shift
  if "$@"; then t_pass "$what"; else t_fail "$what"; return 1; fi
}

# t_done: print the summary line and exit with the right status.
t_done() {
  echo "$(_ts) $T_NAME: $T_PASSES passed, $T_FAILS failed"
  if ((T_FAILS > 0)); then exit 1; fi
  exit 0
}

# t_abort MESSAGE: a fatal failure (set-up broke); cleanup runs from the EXIT trap.
t_abort() {
  t_fail "$*"
  echo "$(_ts) $T_NAME: $T_PASSES passed, $T_FAILS failed (aborted)"
  exit 1
}

# t_skip REASON: skip loudly, but a missing component is a failure in CI.
t_skip() {
  if [[ "${CI:-}" == "true" ]]; then
    echo "FAIL: $T_NAME cannot run under CI=true: $*"
    exit 1
  fi
  echo "SKIPPED: $T_NAME: $*"
  exit 0
}

t_require_root() {
  [[ $(id -u) -eq 0 ]] || t_skip "needs root (network namespaces, mounts)"
}

t_require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || t_skip "command '$c' not found (run scripts/deps)"
  done
}

# t_require_netns: ip netns add/del must work here.
t_require_netns() {
  t_require_cmd ip
  local probe="ike-probe-$$"
  if ! timeout 10 ip netns add "$probe" 2>/dev/null; then
    t_skip "'ip netns add' does not work on this machine"
  fi
  timeout 10 ip netns del "$probe" 2>/dev/null || true
}

# t_require_suite: the suite's binaries must be in $IKE_BIN.
t_require_suite() {
  local b
  for b in tmd isakmpd cpsd srcmstr ike startsrc stopsrc lssrc refresh; do
    [[ -x "$IKE_BIN/$b" ]] || t_skip "suite binary '$b' not found in IKE_BIN=$IKE_BIN (build first: scripts/build)"
  done
}

t_require_strongswan() {
  [[ -x /usr/lib/ipsec/charon ]] || t_skip "strongSwan charon (/usr/lib/ipsec/charon) not installed (scripts/deps)"
  t_require_cmd swanctl
  [[ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ]] ||
    t_skip "kernel-libipsec plugin missing (libcharon-extra-plugins)"
  [[ -e /usr/lib/ipsec/plugins/libstrongswan-vici.so ]] ||
    t_skip "vici plugin missing (strongswan-swanctl / libcharon-extra-plugins)"
}

# wait_until SECONDS CMD...: poll CMD until it succeeds; 1 on timeout.
wait_until() {
  local limit=$1; shift
  local interval=${WAIT_INTERVAL:-0.2}
  local deadline=$((SECONDS + limit))
  while true; do
    if "$@"; then return 0; fi
    if ((SECONDS >= deadline)); then return 1; fi
    sleep "$interval"
  done
}

# Secrets registered here are replaced in everything printed through redact.
_IKE_SECRETS=()
register_secret() { _IKE_SECRETS+=("$1"); }
redact() {
  if ((${#_IKE_SECRETS[@]} == 0)); then cat; return; fi
  local s args=()
  for s in "${_IKE_SECRETS[@]}"; do
    # escape for a sed basic regex / replacement with | as delimiter
    s=$(printf '%s' "$s" | sed -e 's/[]\/$*.^|[]/\\&/g')
    args+=(-e "s|$s|<redacted>|g")
  done
  sed "${args[@]}"
}

# contains_secret FILE: true if FILE contains any registered secret.
contains_secret() {
  local s
  for s in "${_IKE_SECRETS[@]}"; do
    if grep -qF -- "$s" "$1" 2>/dev/null; then return 0; fi
  done
  return 1
}

# text_contains_secret TEXT: true if TEXT contains any registered secret.
text_contains_secret() {
  local s
  for s in "${_IKE_SECRETS[@]}"; do
    if [[ $1 == *"$s"* ]]; then return 0; fi
  done
  return 1
}

# indent: prefix lines for readability in the test output.
indent() { sed 's/^/    | /'; }
