#!/usr/bin/env bash
# Negotiations that must fail, each with a reason an administrator can act on
# (conventions.md, "Status words"): wrong PSK, no IKE on the peer, UDP 500
# dropped or rejected by a firewall, the peer's host down, no proposal
# chosen, phase 2 selectors not accepted; plus bad `ike` invocations. Each
# checks `ike cmd=diagnose` too (issue 11.3).
# Each scenario runs in its own lab (a subshell with its own namespaces).
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"
source "$(dirname "$0")/../lib/nat.sh"

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

# both_started TAG: the same fresh PSK on A and B (each under the other's
# address), then both suites started. Databases are written before.
both_started() {
  local psk="$1-psk-$RANDOM$RANDOM"
  ike_write_psk A "$(host_addr B)" "$psk"; ike_write_psk B "$(host_addr A)" "$psk"
  start_ok A; start_ok B
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

# B's host is up but its suite is not started: nothing answers on
# 192.0.2.2:500 but B's kernel, with an ICMP port unreachable.
scenario_silent_peer() {
  ike_write_db A "${FAST[@]}"
  ike_write_psk A 192.0.2.2 "silent-psk-$RANDOM$RANDOM"
  start_ok A
  local t0=$SECONDS
  activate_ok
  expect_failed A 1 'not answering' "peer silent" &&
    t_info "A: failed after $((SECONDS - t0))s (retransmit 500 ms x 3)"
  expect_syslog A 'not answering.*instead of an answer: ICMP port unreachable from 192.0.2.2' \
    "peer not answering, and the ICMP error that came instead"
  expect_diagnosis A 1 "message 1 sent, no answer" "nothing listens for IKE there \(ICMP port unreachable"
  expect_icmp_counted A

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
  both_started prop
  activate_ok
  expect_failed A 1 'NO-PROPOSAL-CHOSEN|no proposal' "3DES/SHA1/MODP1024 vs AES/SHA256/MODP2048"
  expect_syslog A 'NO-PROPOSAL-CHOSEN|no proposal' "no proposal chosen"
  expect_diagnosis A 1 "no common proposal" "no common encryption.*\\(ours: 3DES-CBC, SHA1, MODP1024"
  # B refused message 1, so it has no tunnel to list; its log names both offers.
  expect_syslog B "none of the offered .*matches protection" "what A offered and what B has"
  no_secret_in_syslog
}

scenario_bad_selectors() {
  ike_write_db A "${FAST[@]}"
  # B expects the remote side to be 198.51.100.64/26, which excludes 198.51.100.1
  ike_write_db B "${FAST[@]}" rnet=198.51.100.64/26
  both_started sel
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

# host_block_ike X drop|reject: X's firewall drops (silently) or rejects
# (ICMP administratively prohibited) UDP 500 and 4500 coming in.
host_block_ike() {
  local x=$1 how=$2 ns=${HOST_NS[$1]} verdict rule ipt
  verdict=drop rule=(-j DROP)
  if [[ $how == reject ]]; then
    verdict='reject with icmpx type admin-prohibited'
    rule=(-j REJECT --reject-with icmp-admin-prohibited)
  fi
  if command -v nft >/dev/null &&
    printf 'table inet lab_fw {\n chain input {\n  type filter hook input priority filter; policy accept;\n  udp dport { 500, 4500 } %s\n }\n}\n' "$verdict" |
    ip netns exec "$ns" nft -f - 2>/dev/null; then
    t_info "$x: nftables $how of UDP 500 and 4500"
    return 0
  fi
  for ipt in iptables-nft iptables-legacy iptables; do
    command -v "$ipt" >/dev/null || continue
    if ip netns exec "$ns" "$ipt" -A INPUT -p udp -m multiport --dports 500,4500 "${rule[@]}" 2>/dev/null; then
      t_info "$x: $ipt ${rule[*]} for UDP 500 and 4500"
      return 0
    fi
  done
  t_abort "$x: cannot install a firewall rule (no working nft or iptables in the namespace)"
}

# expect_icmp_counted X: lssrc -l -s isakmpd counts the ICMP errors (11.5).
expect_icmp_counted() {
  local out n
  out=$(on_host "$1" lssrc -l -s isakmpd 2>&1 || true)
  n=$(sed -nE 's/^ *ICMP errors received:? +([0-9]+).*/\1/p' <<<"$out" | head -n 1)
  if [[ -n $n && $n -ge 1 ]]; then
    t_pass "$1: lssrc -l -s isakmpd: ICMP errors received $n"
  else
    echo "$out" | indent
    t_fail "$1: lssrc -l -s isakmpd does not count the ICMP error"
  fi
}

# B's suite runs, but its firewall drops IKE: no answer, no ICMP. A cannot
# tell this from a host that is down, and says both.
scenario_udp500_dropped() {
  ike_write_db A "${FAST[@]}"; ike_write_db B "${FAST[@]}"
  both_started drop
  host_block_ike B drop
  activate_ok
  expect_failed A 1 'not answering' "UDP 500 dropped at B"
  if grep -q "instead of an answer" "$(host_syslog A)"; then
    t_fail "A: an ICMP error was reported although B drops silently"
  else
    t_pass "A: no ICMP error reported (B drops silently)"
  fi
  expect_diagnosis A 1 "message 1 sent, no answer" "UDP 500 \(or 4500\) is filtered on the way"
}

# B's firewall rejects IKE with ICMP administratively prohibited.
scenario_udp500_rejected() {
  ike_write_db A "${FAST[@]}"; ike_write_db B "${FAST[@]}"
  both_started reject
  host_block_ike B reject
  activate_ok
  expect_failed A 1 'not answering' "UDP 500 rejected at B"
  expect_diagnosis A 1 "message 1 sent, no answer" "a firewall refuses our IKE packets \(ICMP administratively prohibited from 192.0.2.2\)"
  expect_icmp_counted A
}

# B's host is gone from the link (its interface down): A's ARP gets no
# answer and A's own kernel reports the host unreachable. More tries: ARP
# gives up after about 3 s.
scenario_peer_down() {
  ike_write_db A retransmit_ms=500 tries=5
  ike_write_psk A 192.0.2.2 "down-psk-$RANDOM$RANDOM"
  start_ok A
  timeout 10 ip -n "${HOST_NS[B]}" link set "${HOST_IF[B]}" down
  timeout 10 ip -n "${HOST_NS[A]}" neigh flush dev "${HOST_IF[A]}"
  activate_ok
  expect_failed A 1 'not answering' "B's link down"
  expect_diagnosis A 1 "message 1 sent, no answer" "the peer cannot be reached \(ICMP host unreachable"
}

# A sits behind a NAT (tests/lib/nat.sh) that B's administrator was not
# told of: B's tunnel names A's own address, but A's packets come from the
# NAT's outside address and a port of its choosing. B drops them as from an
# unknown peer and says why it thinks a NAT is involved; A hears nothing.
scenario_unannounced_nat() {
  ike_write_db A "${FAST[@]}"; ike_write_db B "${FAST[@]}"
  both_started nat
  activate_ok
  expect_failed A 1 'not answering' "B has no tunnel for the NAT's address"
  expect_diagnosis A 1 "message 1 sent, no answer" "a NAT between the two ends changes our address"
  expect_syslog B "Main Mode from $NAT_OUTSIDE\\[[0-9]+\\] .*no phase 1 tunnel is defined for this peer; dropped \\(it comes from port [0-9]+, not 500: a NAT" \
    "the message 1 came through a NAT, and which address to name"
}

# run_scenario NAME FUNC [LAB]: a fresh lab (ike_lab, or LAB) in a subshell;
# its exit status counts.
run_scenario() {
  local name=$1 fn=$2 lab=${3:-ike_lab} rc=0
  echo "==== scenario: $name ===="
  (
    T_NAME="failures/$name" T_FAILS=0 T_PASSES=0
    "$lab" 150
    "$fn"
    t_done
  ) || rc=$?
  if ((rc == 0)); then t_pass "scenario $name"; else t_fail "scenario $name"; fi
}

run_scenario wrong-psk scenario_wrong_psk
run_scenario silent-peer scenario_silent_peer
run_scenario udp500-dropped scenario_udp500_dropped
run_scenario udp500-rejected scenario_udp500_rejected
run_scenario peer-down scenario_peer_down
run_scenario unannounced-nat scenario_unannounced_nat nat_lab
run_scenario no-proposal scenario_no_proposal
run_scenario bad-selectors scenario_bad_selectors
t_done
