#!/usr/bin/env bash
# lssrc -l (issue 11.5): the daemons answer for themselves. One tunnel comes
# up between A and B and is removed; B's pre-shared key then changes and A's
# second negotiation fails authentication. `lssrc -l -s isakmpd|tmd|cpsd`
# must show what happened: negotiations started, succeeded and failed by
# reason, IKE datagrams in and out, tunnel cache entries; never a key. A
# subsystem that is not on file or not running gets a message and exit 1.
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_suite

ike_lab 200
# Fast retransmits: A gives up on the unanswerable message 5 within ~4 s.
for h in A B; do ike_write_db "$h" retransmit_ms=500 tries=3; done
psk="lssrc-psk-$RANDOM$RANDOM-$$"
ike_write_psk A 192.0.2.2 "$psk"
ike_write_psk B 192.0.2.1 "$psk"

for h in A B; do
  if ike_start "$h" && src_wait_all "$h" active 10; then
    t_pass "$h: suite started"
  else
    echo "$IKE_OUT" | indent
    t_abort "$h: startsrc -g ike failed"
  fi
done

# LONG: the output of the last long_status call.
LONG=
long_status() {
  local x=$1 d=$2
  if LONG=$(on_host "$x" lssrc -l -s "$d" 2>&1); then
    t_pass "$x: lssrc -l -s $d exit 0"
  else
    echo "$LONG" | redact | indent
    t_fail "$x: lssrc -l -s $d failed"
  fi
  if text_contains_secret "$LONG"; then t_fail "$x: lssrc -l -s $d prints a pre-shared key"; fi
}
# value LABEL: the value of the line "LABEL: value" in $LONG (indented
# breakdown lines: LABEL with its four leading spaces).
value() { awk -v l="$1:" 'index($0, l) == 1 { sub(/^[^:]*: */, ""); print; exit }' <<<"$LONG"; }
expect() {
  local who=$1 label=$2 want=$3 got
  got=$(value "$label")
  if [[ $got == "$want" ]]; then
    t_pass "$who: '$label' is $want"
  else
    t_fail "$who: '$label' is '${got:-missing}', expected $want"
  fi
}
expect_positive() {
  local who=$1 label=$2 got
  got=$(value "$label")
  if [[ $got =~ ^[0-9]+$ ]] && ((got > 0)); then
    t_pass "$who: '$label' is $got (> 0)"
  else
    t_fail "$who: '$label' is '${got:-missing}', expected > 0"
  fi
}

# ---- one tunnel up, then removed ---------------------------------------------
ike_cmd A cmd=activate numlist=1 >/dev/null 2>&1 || t_fail "A: activate numlist=1 failed"
if ike_wait_status A 2 Active "$IKE_WAIT"; then
  t_pass "A: phase 2 Active"
else
  ike_dump A
  t_abort "A: the tunnel did not come up"
fi
long_status A tmd
expect "A tmd" "Tunnel cache entries" 2
ike_cmd A cmd=remove numlist=1 >/dev/null 2>&1 || t_fail "A: remove numlist=1 failed"
for h in A B; do
  wait_until "$IKE_WAIT" ike_no_tunnels "$h" || t_fail "$h: tunnels still listed after remove"
done

# ---- B's key changes: A's second phase 1 fails authentication -----------------
ike_write_psk B 192.0.2.1 "lssrc-other-$RANDOM$RANDOM-$$"
on_host B refresh -s cpsd >/dev/null 2>&1 || t_fail "B: refresh -s cpsd failed"
ike_cmd A cmd=activate numlist=1 >/dev/null 2>&1 || t_fail "A: second activate failed"
if ike_wait_status A 1 Failed "$IKE_WAIT"; then
  t_pass "A: phase 1 Failed (the keys differ)"
else
  ike_dump A
  t_fail "A: phase 1 not Failed (status '$(ike_status A 1)')"
fi

# ---- the long status of each daemon -------------------------------------------
long_status A isakmpd
echo "$LONG" | redact | indent
grep -Eq '^ isakmpd +ike +[0-9]+ +active$' <<<"$LONG" &&
  t_pass "A: the AIX short line comes first" || t_fail "A: no short line for isakmpd"
expect "A isakmpd" "Phase 1 negotiations started" 2
expect "A isakmpd" "Phase 1 negotiations succeeded" 1
expect "A isakmpd" "Phase 1 negotiations failed" 1
expect "A isakmpd" "    authentication failed" 1
expect "A isakmpd" "Phase 2 negotiations started" 1
expect "A isakmpd" "Phase 2 negotiations succeeded" 1
expect "A isakmpd" "Phase 2 negotiations failed" 0
expect "A isakmpd" "Connection to tmd" connected
expect "A isakmpd" "Connection to cpsd" connected
expect_positive "A isakmpd" "IKE packets in"
expect_positive "A isakmpd" "IKE packets out"
expect_positive "A isakmpd" "IPC clients"

long_status A tmd
echo "$LONG" | redact | indent
expect "A tmd" "Phase 1 negotiations started" 2
expect "A tmd" "Phase 1 negotiations succeeded" 1
expect "A tmd" "Phase 1 negotiations failed" 1
expect "A tmd" "    authentication failed" 1
expect "A tmd" "Phase 2 negotiations started" 1
expect "A tmd" "Phase 2 negotiations succeeded" 1
expect "A tmd" "Phase 1 tunnels" 1
expect "A tmd" "    Failed" 1
expect "A tmd" "Tunnel cache entries" 0
expect "A tmd" "Tunnel cache entries added" 2
expect "A tmd" "Tunnel cache entries deleted" 2
expect "A tmd" "Connection to isakmpd" connected

long_status B isakmpd
expect "B isakmpd" "Phase 1 negotiations started" 2
expect "B isakmpd" "Phase 1 negotiations succeeded" 1
expect "B isakmpd" "    authentication failed" 1
expect_positive "B isakmpd" "IKE packets in"

long_status B cpsd
echo "$LONG" | redact | indent
expect "B cpsd" "Pre-shared keys loaded" 1
expect "B cpsd" "Key file reloads" 1
expect "B cpsd" "SKEYID requests" 2
expect "B cpsd" "Pre-shared key found" 2
expect "B cpsd" "Pre-shared key missing" 0

# ---- what is not there ----------------------------------------------------------
check_refused() {
  local x=$1 d=$2 re=$3 out rc=0
  out=$(on_host "$x" lssrc -l -s "$d" 2>&1) || rc=$?
  echo "$out" | indent
  if ((rc != 0)) && grep -Eq -- "$re" <<<"$out"; then
    t_pass "$x: lssrc -l -s $d: exit $rc with /$re/"
  else
    t_fail "$x: lssrc -l -s $d: exit $rc, expected non-zero and /$re/"
  fi
}
check_refused A nosuchd '0513-085 The nosuchd Subsystem is not on file'
on_host B stopsrc -s cpsd >/dev/null 2>&1 || t_fail "B: stopsrc -s cpsd failed"
cpsd_down() { [[ $(src_status B cpsd) == inoperative ]]; }
wait_until 10 cpsd_down || t_fail "B: cpsd still listed as running after stopsrc -s cpsd"
check_refused B cpsd '0513-036 The request could not be passed to the cpsd subsystem'
out=$(on_host A lssrc -l -g ike 2>&1) && rc=0 || rc=$?
((rc != 0)) && grep -q 'the flag -l needs -s' <<<"$out" &&
  t_pass "A: lssrc -l -g ike refused" || t_fail "A: lssrc -l -g ike: exit $rc ($out)"

t_done
