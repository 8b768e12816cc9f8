#!/usr/bin/env bash
# Negotiations that must fail, each with a reason an administrator can act on
# (conventions.md, "Status words"): wrong PSK, silent peer, no proposal chosen,
# phase 2 selectors not accepted; plus bad `ike` invocations.
# Each scenario runs in its own lab (a subshell with its own namespaces).
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_suite

# Fast retransmits keep the "not answering" case short: 500 ms x 3 tries.
FAST=(retransmit_ms=500 tries=3)

# reason_of X PHASE: the whole of list + list verbose (the reason may be in either).
reason_text() { { ike_list "$1" 2>&1; ike_list "$1" verbose 2>&1; } | redact; }

# expect_failed X PHASE REGEX WHAT: phase PHASE of X goes Failed; reason matches REGEX.
expect_failed() {
  local x=$1 phase=$2 re=$3 what=$4 text
  if ike_wait_status "$x" "$phase" Failed "$IKE_WAIT"; then
    t_pass "$x: phase $phase Failed ($what)"
  else
    t_fail "$x: phase $phase not Failed within ${IKE_WAIT}s (status '$(ike_status "$x" "$phase")') ($what)"
    ike_dump "$x"
    return 1
  fi
  text=$(reason_text "$x")
  echo "$text" | indent
  if grep -Eiq -- "$re" <<<"$text"; then
    t_pass "$x: the listed reason matches /$re/"
  else
    t_fail "$x: no reason matching /$re/ in 'ike cmd=list' or 'ike cmd=list verbose'"
  fi
}

# expect_diagnosis X PHASE WHERE CAUSE: ike cmd=diagnose (issue 11.3) says where
# phase PHASE of X stopped (/WHERE/) and names /CAUSE/ among the likely causes,
# each with a Check line; syslog has the first cause once.
expect_diagnosis() {
  local x=$1 phase=$2 where=$3 cause=$4 out
  out=$(ike_cmd "$x" cmd=diagnose phase="$phase" 2>&1 || true)
  echo "$out" | redact | indent
  if grep -Eq "^Stopped In: +.*$where" <<<"$out" && grep -Eq "^Likely Cause: +.*$cause" <<<"$out" &&
    grep -Eq "^  Check: +[^ -]" <<<"$out" && grep -Eq "^Since: +[0-9-]+ [0-9:]+ \([0-9]+ s ago\)" <<<"$out"; then
    t_pass "$x: ike cmd=diagnose phase=$phase: stopped in /$where/, likely cause /$cause/, since when, what to check"
  else
    t_fail "$x: ike cmd=diagnose phase=$phase lacks /$where/ or /$cause/ (or Since/Check lines)"
  fi
  if grep -Eq "stopped in .*$where.*likely cause: " "$(host_syslog "$x")"; then
    t_pass "$x: syslog gives the likely cause once: $(grep -Ec "likely cause: " "$(host_syslog "$x")") line(s)"
  else
    t_fail "$x: syslog lacks the 'stopped in ... likely cause' line"
  fi
}

# expect_syslog X REGEX WHAT
expect_syslog() {
  local f
  f=$(host_syslog "$1")
  if wait_until 3 grep -Eiq -- "$2" "$f"; then
    t_pass "$1: syslog says $3"
    grep -Ei -- "$2" "$f" | head -n 3 | redact | indent
  else
    t_fail "$1: syslog has no line matching /$2/ ($3)"
  fi
}

start_ok() {
  if ike_start "$1" && src_wait_all "$1" active 10; then
    t_pass "$1: suite started"
  else
    echo "$IKE_OUT" | redact | indent
    t_abort "$1: startsrc -g ike failed"
  fi
}

activate_ok() {
  local out
  if out=$(ike_cmd A cmd=activate numlist=1 2>&1); then
    t_pass "A: ike cmd=activate numlist=1 accepted"
  else
    echo "$out" | indent
    t_fail "A: ike cmd=activate numlist=1 exit non-zero"
  fi
}

no_secret_in_syslog() {
  local h
  for h in A B; do
    if contains_secret "$(host_syslog "$h")"; then t_fail "$h: syslog contains a PSK"; fi
  done
}

scenario_wrong_psk() {
  ike_write_db A "${FAST[@]}"; ike_write_db B "${FAST[@]}"
  ike_write_psk A 192.0.2.2 "right-psk-$RANDOM$RANDOM"
  ike_write_psk B 192.0.2.1 "wrong-psk-$RANDOM$RANDOM"
  start_ok A; start_ok B
  activate_ok
  expect_failed A 1 'authentication' "pre-shared keys differ"
  expect_syslog A 'authentication' "authentication failed"
  expect_diagnosis A 1 "MM_WAIT_MSG6.*authentication failed" "pre-shared keys differ"
  # The responder lists the attempt too, with its own reason.
  expect_failed B 1 'authentication|pre-shared keys' "pre-shared keys differ (responder)"
  expect_diagnosis B 1 "authentication failed" "pre-shared keys differ"
  no_secret_in_syslog
}

scenario_silent_peer() {
  ike_write_db A "${FAST[@]}"
  ike_write_psk A 192.0.2.2 "silent-psk-$RANDOM$RANDOM"
  start_ok A # B's suite is not started: nobody answers on 192.0.2.2:500
  local t0=$SECONDS
  activate_ok
  expect_failed A 1 'not answering' "peer silent" &&
    t_info "A: failed after $((SECONDS - t0))s (retransmit 500 ms x 3)"
  expect_syslog A 'not answering' "peer not answering"
  expect_diagnosis A 1 "message 1 sent, no answer" "peer is down or unreachable"

  # bad invocations of the ike command
  local out rc
  out=$(ike_cmd A cmd=activate numlist=99 2>&1) && rc=0 || rc=$?
  if ((rc != 0)) && [[ -n $out ]]; then
    t_pass "ike cmd=activate numlist=99: exit $rc with a message"
    echo "$out" | indent
  else
    echo "$out" | indent
    t_fail "ike cmd=activate numlist=99: expected non-zero exit and a message (exit $rc)"
  fi
  out=$(ike_cmd A cmd=list foo=bar 2>&1) && rc=0 || rc=$?
  if ((rc != 0)); then
    t_pass "ike cmd=list foo=bar: exit $rc"
    echo "$out" | indent
  else
    echo "$out" | indent
    t_fail "ike cmd=list foo=bar: exit 0, expected non-zero"
  fi
}

scenario_no_proposal() {
  ike_write_db A "${FAST[@]}" enc=DES3_CBC hash=SHA1 group=MODP_1024
  ike_write_db B "${FAST[@]}" enc=AES_CBC hash=SHA2_256 group=MODP_2048
  local psk="prop-psk-$RANDOM$RANDOM"
  ike_write_psk A 192.0.2.2 "$psk"; ike_write_psk B 192.0.2.1 "$psk"
  start_ok A; start_ok B
  activate_ok
  expect_failed A 1 'NO-PROPOSAL-CHOSEN|no proposal' "3DES/SHA1/MODP1024 vs AES/SHA256/MODP2048"
  expect_syslog A 'NO-PROPOSAL-CHOSEN|no proposal' "no proposal chosen"
  expect_diagnosis A 1 "no common proposal" "no common encryption"
  no_secret_in_syslog
}

scenario_bad_selectors() {
  ike_write_db A "${FAST[@]}"
  # B expects the remote side to be 198.51.100.64/26, which excludes 198.51.100.1
  ike_write_db B "${FAST[@]}" rnet=198.51.100.64/26
  local psk="sel-psk-$RANDOM$RANDOM"
  ike_write_psk A 192.0.2.2 "$psk"; ike_write_psk B 192.0.2.1 "$psk"
  start_ok A; start_ok B
  activate_ok
  if ike_wait_status A 1 Active "$IKE_WAIT"; then
    t_pass "A: phase 1 Active (selectors only matter in phase 2)"
  else
    t_fail "A: phase 1 not Active (status '$(ike_status A 1)')"
  fi
  expect_failed A 2 'INVALID-ID-INFORMATION|selectors' "B does not accept 198.51.100.1/32"
  expect_syslog A 'INVALID-ID-INFORMATION|selectors' "selectors not accepted"
  expect_diagnosis A 2 "refused our selectors" "selectors do not mirror"
  no_secret_in_syslog
}

# run_scenario NAME FUNC: a fresh lab in a subshell; its exit status counts.
run_scenario() {
  local name=$1 fn=$2 rc=0
  echo "==== scenario: $name ===="
  (
    T_NAME="failures/$name" T_FAILS=0 T_PASSES=0
    ike_lab 150
    "$fn"
    t_done
  ) || rc=$?
  if ((rc == 0)); then t_pass "scenario $name"; else t_fail "scenario $name"; fi
}

run_scenario wrong-psk scenario_wrong_psk
run_scenario silent-peer scenario_silent_peer
run_scenario no-proposal scenario_no_proposal
run_scenario bad-selectors scenario_bad_selectors
t_done
