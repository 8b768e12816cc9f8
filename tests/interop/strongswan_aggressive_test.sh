#!/usr/bin/env bash
# Aggressive Mode with strongSwan (issue 10.1): Debian's charon, IKEv1
# Aggressive Mode PSK, aes128-sha256-modp2048, identities FQDN (ours,
# a.example) and USER_FQDN (strongSwan's, gw@b.example), the key in psk.db
# under the identity only (so cpsd finds it by the identity the peer
# claims, not by its address). charon's libipsec forces NAT-T, so NAT-D
# travels in messages 2 and 3 and message 3 goes to port 4500.
#   1. the suite initiates; both sides list the SA; remove
#   2. strongSwan initiates; the suite answers
#   3. a peer without a fixed address (remote_address 0.0.0.0): strongSwan
#      comes in and is found by its identity; ike cmd=activate says why it
#      cannot start that tunnel
#   4. the suite's protection says MAIN: strongSwan's Aggressive Mode is
#      refused with INVALID-EXCHANGE-TYPE, and both sides say why
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"
source "$(dirname "$0")/../lib/strongswan.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_strongswan
t_require_suite

ike_lab 300
psk="aggr-$RANDOM$RANDOM-$$"
ids=(lid=FQDN:a.example rid=USER_FQDN:gw@b.example)
ike_write_db A mode=AGGRESSIVE "${ids[@]}"
ike_write_psk A gw@b.example "$psk"
sw_configure B psk="$psk" aggressive=yes lid=gw@b.example rid=a.example
sw_start B
sw_load B
t_pass "B: charon running (pid ${SW_PID[B]}), Aggressive Mode connection loaded"

if ike_start A && src_wait_all A active 10; then
  t_pass "A: suite started"
else
  echo "$IKE_OUT" | indent
  t_abort "A: startsrc -g ike failed"
fi

explain_failure() {
  ike_dump A
  sw_log_tail B 60
  echo "---- B: swanctl --list-sas ----"
  swanctl_list_sas B | indent || true
}

sw_no_sa() { ! sw_has_ike_sa B; }
# Ends a section: both sides drop what they hold.
clear_both() {
  ike_cmd A cmd=remove numlist=1 >/dev/null 2>&1 || true
  swanctl_on B --terminate --ike mm-psk --force >/dev/null 2>&1 || true
  wait_until 10 sw_no_sa || true
}
# A new tunnels.db on A, applied with refresh -g ike.
rewrite_db_a() {
  ike_write_db A "$@"
  if on_host A refresh -g ike >/dev/null 2>&1; then
    t_pass "A: refresh -g ike ($*)"
  else
    t_fail "A: refresh -g ike failed"
  fi
}
sw_aggressive_seen() { grep -q "AGGRESSIVE $1" "$(sw_log B)"; }

# ---- 1. the suite initiates -------------------------------------------------
echo "==== 1. suite (A) initiates Aggressive Mode ===="
ok=1
if out=$(ike_cmd A cmd=activate numlist=1 2>&1); then
  t_pass "A: ike cmd=activate numlist=1 exit 0"
else
  echo "$out" | indent
  t_fail "A: ike cmd=activate numlist=1 failed"
fi
for p in 1 2; do
  if ike_wait_status A "$p" Active "$IKE_WAIT"; then
    t_pass "A: phase $p Active (initiator)"
  else
    t_fail "A: phase $p not Active (status '$(ike_status A "$p")')"
    ok=0
  fi
done
if wait_until 5 sw_has_sa B; then
  t_pass "B: swanctl --list-sas shows ESTABLISHED and INSTALLED"
  swanctl_list_sas B | indent
else
  t_fail "B: no ESTABLISHED IKE SA with an INSTALLED CHILD_SA"; ok=0
fi
if grep -q "Mode: *Aggressive" <<<"$(ike_list A verbose)"; then
  t_pass "A: ike cmd=list verbose says Mode: Aggressive"
else
  t_fail "A: ike cmd=list verbose does not say Mode: Aggressive"; ok=0
fi
if sw_aggressive_seen request && sw_aggressive_seen response; then
  t_pass "B: charon parsed Aggressive Mode messages (log: AGGRESSIVE request/response)"
else
  t_fail "B: charon's log shows no Aggressive Mode exchange"; ok=0
fi
if grep -q "IKE_SA mm-psk\[[0-9]*\] established between .*\[gw@b.example\]\.\.\..*\[a.example\]" \
  "$(sw_log B)"; then
  t_pass "B: the IKE SA is between gw@b.example and a.example"
else
  t_fail "B: charon did not establish with the FQDN identities"; ok=0
fi
if wait_until 3 grep -q "phase 1 established with gw@b.example (Aggressive Mode, Initiator" "$(host_syslog A)"; then
  t_pass "A: syslog: phase 1 established with gw@b.example (Aggressive Mode, Initiator, ...)"
else
  t_fail "A: no 'established ... (Aggressive Mode, Initiator' line in syslog"; ok=0
fi
if wait_until 3 grep -q "INIT -> WAIT SA (Initiator, AG_INIT_EXCH)" "$(host_syslog A)"; then
  t_pass "A: syslog names the Aggressive Mode states (WAIT SA, AG_INIT_EXCH)"
else
  t_fail "A: syslog lacks the Aggressive Mode state names"; ok=0
fi
((ok)) || explain_failure
ike_cmd A cmd=remove numlist=1 >/dev/null 2>&1 || t_fail "A: ike cmd=remove numlist=1 failed"
wait_until "$IKE_WAIT" ike_no_tunnels A || t_fail "A: tunnels still listed after remove"
wait_until 10 sw_no_sa || t_fail "B: strongSwan still lists an IKE SA after remove"
swanctl_on B --terminate --ike mm-psk --force >/dev/null 2>&1 || true

# ---- 2. strongSwan initiates ---------------------------------------------------
echo "==== 2. strongSwan (B) initiates Aggressive Mode ===="
ok=1
out=$(swanctl_on B --initiate --child net --timeout 20 2>&1) && rc=0 || rc=$?
if ((rc == 0)); then
  t_pass "B: swanctl --initiate --child net exit 0"
else
  echo "$out" | redact | tail -n 25 | indent
  t_fail "B: swanctl --initiate --child net exit $rc"; ok=0
fi
for p in 1 2; do
  if ike_wait_status A "$p" Active "$IKE_WAIT"; then
    t_pass "A: phase $p Active (responder)"
  else
    t_fail "A: phase $p not Active as responder (status '$(ike_status A "$p")')"; ok=0
  fi
done
if wait_until 3 grep -q "phase 1 established with gw@b.example (Aggressive Mode, Responder" "$(host_syslog A)"; then
  t_pass "A: syslog: phase 1 established (Aggressive Mode, Responder)"
else
  t_fail "A: no 'established ... (Aggressive Mode, Responder' line"; ok=0
fi
((ok)) || explain_failure
clear_both

# ---- 3. a peer without a fixed address ------------------------------------------
echo "==== 3. remote_address 0.0.0.0: the peer is found by its identity ===="
rewrite_db_a mode=AGGRESSIVE raddr=0.0.0.0 "${ids[@]}"
if out=$(ike_cmd A cmd=activate numlist=1 2>&1); then
  t_fail "A: ike cmd=activate of a tunnel without a peer address succeeded"
elif grep -q "has remote address 0.0.0.0 (any): it waits for its peer to come in" <<<"$out"; then
  t_pass "A: ike cmd=activate refused: $(head -n 1 <<<"$out")"
else
  echo "$out" | indent
  t_fail "A: ike cmd=activate failed without saying why"
fi
ok=1
out=$(swanctl_on B --initiate --child net --timeout 20 2>&1) && rc=0 || rc=$?
((rc == 0)) || { echo "$out" | redact | tail -n 25 | indent; ok=0; }
for p in 1 2; do
  if ike_wait_status A "$p" Active "$IKE_WAIT"; then
    t_pass "A: phase $p Active (responder, peer from any address)"
  else
    t_fail "A: phase $p not Active (status '$(ike_status A "$p")')"; ok=0
  fi
done
if grep -q "Remote Address: *192.0.2.2" <<<"$(ike_list A verbose)"; then
  t_pass "A: ike cmd=list verbose shows the peer's real address (Remote Address: 192.0.2.2)"
else
  t_fail "A: ike cmd=list verbose does not show the peer's address"; ok=0
fi
((ok)) || explain_failure
clear_both

# ---- 4. Main Mode only: Aggressive Mode refused -----------------------------------
echo "==== 4. the suite allows Main Mode only; strongSwan tries Aggressive Mode ===="
rewrite_db_a mode=MAIN "${ids[@]}"
sleep 1
out=$(swanctl_on B --initiate --child net --timeout 10 2>&1) && rc=0 || rc=$?
if ((rc != 0)); then
  t_pass "B: swanctl --initiate fails (exit $rc)"
else
  t_fail "B: swanctl --initiate succeeded against a Main-Mode-only peer"
fi
# Notify 7: INVALID-EXCHANGE-TYPE in IKEv1 (RFC 2408 3.14.1); charon names
# it by its IKEv2 meaning, INVALID_SYNTAX (one enum for both versions).
if wait_until 5 grep -q "received INVALID_SYNTAX error notify" "$(sw_log B)"; then
  t_pass "B: charon received notify 7 (INVALID-EXCHANGE-TYPE; charon prints INVALID_SYNTAX)"
else
  sw_log_tail B 30
  t_fail "B: charon's log lacks notify 7"
fi
if wait_until 3 grep -q "Aggressive Mode from 192.0.2.2\[500\] (id gw@b.example) refused: phase 1 tunnel 't1' (ike_protection 'p1-lab') allows Main Mode only" "$(host_syslog A)"; then
  t_pass "A: syslog says why: tunnel 't1' (ike_protection 'p1-lab') allows Main Mode only"
else
  tail -n 20 "$(host_syslog A)" | indent
  t_fail "A: syslog lacks the refusal and its reason"
fi

if contains_secret "$(host_syslog A)"; then t_fail "A: syslog contains the PSK"; else t_pass "A: syslog free of the PSK"; fi

t_done
