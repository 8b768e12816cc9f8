# tests/lib/demo_uml.sh -- what scripts/demo needs to show traffic on any machine:
# whether this kernel has ESP, and user-mode Linux (tests/lib/uml.sh) with the
# script's output shown while it runs.
#
#   kernel_has_esp           an ESP SA can be added in a throw-away network namespace
#                            (created and deleted here); 1 when the kernel has no ESP
#   uml_run_live SECS SCRIPT [ARGS...]
#                            uml_run, but the script's output appears as it is
#                            written instead of indented at the end: inside, the
#                            script sends its output to $UML_LIVE_OUT (see
#                            uml_live_output). Returns the script's exit status.
#   uml_live_output          inside the instance: stdout and stderr to $UML_LIVE_OUT

# shellcheck shell=bash
if [[ -n "${_IKE_DEMO_UML_SH:-}" ]]; then return 0; fi
_IKE_DEMO_UML_SH=1
# shellcheck source=uml.sh
source "$(dirname "${BASH_SOURCE[0]}")/uml.sh"

# kernel_has_esp: add one tunnel-mode ESP SA (fixed all-zero keys: nothing is
# protected with it) in a namespace of our own, then delete the namespace.
kernel_has_esp() {
  local ns="ike-espprobe-$BASHPID-$RANDOM" rc=0
  timeout 10 ip netns add "$ns" 2>/dev/null || return 1
  timeout 10 ip -n "$ns" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x00000100 \
    mode tunnel enc 'cbc(aes)' "0x$(printf '0%.0s' {1..32})" \
    auth-trunc 'hmac(sha256)' "0x$(printf '0%.0s' {1..64})" 128 >/dev/null 2>&1 || rc=1
  timeout 10 ip netns del "$ns" 2>/dev/null || true
  return "$rc"
}

# The file the script inside writes to; handed in by uml_run.
UML_PASS_ENV+=(UML_LIVE_OUT)

uml_live_output() {
  [[ -n ${UML_LIVE_OUT:-} ]] && exec >>"$UML_LIVE_OUT" 2>&1
  return 0
}

_UML_LIVE_DIR=
_UML_LIVE_PIDS=()
_UML_LIVE_FD=
_UML_LIVE_RUNNING=

# _uml_live_cleanup (also the EXIT trap while uml_run_live runs): stop the tail,
# show uml_run's own lines, remove the directory. Interrupted while uml_run ran,
# and uml_run's handler itself cut short (a second signal while it runs kills the
# shell), it also stops the instance uml_run started and removes its lab.
_uml_live_cleanup() {
  local p interrupted=
  for p in "${_UML_LIVE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  _UML_LIVE_PIDS=()
  if [[ -n $_UML_LIVE_RUNNING ]]; then
    _UML_LIVE_RUNNING=
    interrupted=1
    if [[ -n ${_UML_PID:-} ]]; then _uml_kill "$_UML_PID" || true; fi
    if [[ -n ${_UML_WD:-} ]]; then kill "$_UML_WD" 2>/dev/null || true; fi
    if [[ -n ${_UML_RUN_LAB:-} && -d $_UML_RUN_LAB && -z ${IKE_KEEP_LAB:-} ]]; then
      rm -rf --one-file-system "$_UML_RUN_LAB"
    fi
  fi
  if [[ -n $_UML_LIVE_DIR ]]; then
    # to the caller's stdout: the EXIT trap may run inside uml_run's redirection
    if [[ -s $_UML_LIVE_DIR/uml_run.out ]]; then
      grep -v 'INFO: uml: booting' "$_UML_LIVE_DIR/uml_run.out" >&"$_UML_LIVE_FD" || true
    fi
    if [[ -n $interrupted ]] && ! grep -qs interrupted "$_UML_LIVE_DIR/uml_run.out"; then
      echo "uml_run_live: interrupted; linux.uml stopped" >&"$_UML_LIVE_FD"
    fi
    rm -rf --one-file-system "$_UML_LIVE_DIR"
  fi
  _UML_LIVE_DIR=
  return 0
}

uml_run_live() {
  local rc=0 keeper shower
  # under /var/tmp: the instance sees the host's /var/tmp, not its /tmp
  _UML_LIVE_DIR=$(mktemp -d /var/tmp/ike-live.XXXXXX)
  exec {_UML_LIVE_FD}>&1
  trap _uml_live_cleanup EXIT
  : >"$_UML_LIVE_DIR/out"
  # tail follows the file until `keeper` is gone, then reads it one last time
  sleep 100000 >/dev/null 2>&1 &
  keeper=$!
  tail -n +1 -s 0.3 --pid="$keeper" -f "$_UML_LIVE_DIR/out" &
  shower=$!
  _UML_LIVE_PIDS=("$keeper" "$shower")
  # uml_run's own lines (timing, a failure and the console) after the script's;
  # its "booting" line is left out: the caller says what runs where
  _UML_LIVE_RUNNING=1
  UML_LIVE_OUT="$_UML_LIVE_DIR/out" uml_run "$@" >"$_UML_LIVE_DIR/uml_run.out" || rc=$?
  _UML_LIVE_RUNNING=
  kill "$keeper" 2>/dev/null || true
  wait "$shower" 2>/dev/null || true
  _UML_LIVE_PIDS=()
  _uml_live_cleanup
  trap - EXIT
  exec {_UML_LIVE_FD}>&-
  return "$rc"
}
