#!/usr/bin/env bash
# Interop with strongSwan over IPv6 (issue 10.5): host A runs the suite, host B
# charon with kernel-libipsec; the hosts talk IKE over IPv6 (2001:db8::1 <->
# 2001:db8::2), Main Mode PSK with ID_IPV6_ADDR identities, and each case
# negotiates one phase 2 tunnel, first initiated by the suite, then by
# strongSwan:
#   addr    host selectors, ID_IPV6_ADDR (RFC 2407 4.6.2.1); ike cmd=activate
#           and remove name the tunnel by its IPv6 endpoints (ipaddr=)
#   subnet  2001:db8:a::/64 <-> 2001:db8:b::/64, ID_IPV6_ADDR_SUBNET (4.6.2.1)
#   range   2001:db8:a::1-2001:db8:a::9 <-> 2001:db8:b::1-2001:db8:b::9,
#           ID_IPV6_ADDR_RANGE (4.6.2.1); strongSwan sends a range when a traffic
#           selector is not a CIDR block
#   v4in6   IPv4 selectors (198.51.100.1 <-> 203.0.113.1) over the IPv6 outer
#           addresses: tunnel mode carries either family whatever the outer one
#           (RFC 4301 4.1; strongSwan allows it)
# Each side's own view is checked: ike cmd=list (both phases Active, phase 1
# with the IPv6 peer, phase 2 with the selectors as first-last) and swanctl
# --list-sas (ESTABLISHED between the IPv6 addresses, INSTALLED with the
# traffic selectors).
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"
source "$(dirname "$0")/../lib/strongswan.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_strongswan
t_require_suite

ike_lab 420 6
psk="interop6-$RANDOM$RANDOM-$$"
# for the v4in6 case: IPv4 protected addresses beside the IPv6 ones
timeout 10 ip -n "$(host_ns A)" addr add 198.51.100.1/32 dev lo
timeout 10 ip -n "$(host_ns B)" addr add 203.0.113.1/32 dev lo

explain_failure() {
  ike_dump A
  sw_log_tail B 50
  echo "---- B: swanctl --list-sas ----"
  swanctl_list_sas B | redact | indent || true
}

sw_no_sa() { ! sw_has_ike_sa B; }

# run_case NAME LNET RNET SW_LOCAL_TS SW_REMOTE_TS LIST_RE SW_L SW_R [WHICH]: our
# selectors (as in tunnels.db), strongSwan's (swanctl.conf), what our phase 2
# row must show, and how charon prints its local and remote traffic selector
# once it has parsed our ID payloads (a range as a..b, a subnet as a/len).
# WHICH: how ike cmd=activate/remove name the tunnel (default numlist=1).
run_case() {
  local name=$1 lnet=$2 rnet=$3 sw_l=$4 sw_r=$5 list_re=$6 ts_l=$7 ts_r=$8 which=${9:-numlist=1}
  local by out rc ok
  echo "==== $name: ours $lnet <-> $rnet, strongSwan $sw_l <-> $sw_r ===="
  ike_write_db A lnet="$lnet" rnet="$rnet"
  ike_write_psk A "$(host_addr B)" "$psk"
  sw_configure B psk="$psk" local_ts="$sw_l" remote_ts="$sw_r"
  if [[ -z ${SW_PID[B]:-} ]]; then sw_start B; fi
  sw_load B
  if ike_start A && src_wait_all A active 10; then
    t_pass "$name: A: suite started"
  else
    echo "$IKE_OUT" | indent
    t_fail "$name: A: startsrc -g ike failed"
    return
  fi
  for by in ours theirs; do
    ok=1
    if [[ $by == ours ]]; then
      out=$(ike_cmd A cmd=activate "$which" 2>&1) ||
        { echo "$out" | indent; t_fail "$name/$by: ike cmd=activate $which failed"; ok=0; }
    else
      out=$(swanctl_on B --initiate --child net --timeout 20 2>&1) && rc=0 || rc=$?
      ((rc == 0)) || { echo "$out" | redact | tail -n 20 | indent; t_fail "$name/$by: swanctl --initiate exit $rc"; ok=0; }
    fi
    for p in 1 2; do
      if ike_wait_status A "$p" Active "$IKE_WAIT"; then
        t_pass "$name/$by: A: phase $p Active"
      else
        t_fail "$name/$by: A: phase $p not Active ('$(ike_status A "$p")')"
        ok=0
      fi
    done
    local list p1 p2
    list=$(ike_list A 2>&1 || true)
    p1=$(awk '$1 == 1 && $2 ~ /^[0-9]+$/' <<<"$list")
    p2=$(awk '$1 == 2 && $2 ~ /^[0-9]+$/' <<<"$list")
    if grep -q "2001:db8::2" <<<"$p1"; then
      t_pass "$name/$by: A: phase 1 row names the peer 2001:db8::2"
    else
      echo "$list" | indent
      t_fail "$name/$by: A: phase 1 row lacks 2001:db8::2"
      ok=0
    fi
    if grep -Eq -- "$list_re" <<<"$p2"; then
      t_pass "$name/$by: A: phase 2 row shows /$list_re/"
    else
      echo "$list" | indent
      t_fail "$name/$by: A: phase 2 row lacks /$list_re/"
      ok=0
    fi
    if wait_until 10 sw_has_sa B; then
      t_pass "$name/$by: B: swanctl --list-sas: ESTABLISHED and INSTALLED"
    else
      t_fail "$name/$by: B: swanctl --list-sas lacks ESTABLISHED/INSTALLED"
      ok=0
    fi
    out=$(swanctl_list_sas B || true)
    # "remote '2001:db8::1' @ 2001:db8::1[4500]": identity and address
    if grep -q "remote '2001:db8::1' @ 2001:db8::1\[" <<<"$out" &&
      awk -v l="$ts_l" -v r="$ts_r" '$1 == "local" && $2 == l { a = 1 } $1 == "remote" && $2 == r { b = 1 }
        END { exit !(a && b) }' <<<"$out"; then
      t_pass "$name/$by: B: IKE SA with 2001:db8::1 (ID_IPV6_ADDR), CHILD_SA $ts_l === $ts_r"
    else
      echo "$out" | redact | indent
      t_fail "$name/$by: B: swanctl --list-sas lacks the IPv6 IKE SA or $ts_l === $ts_r"
      ok=0
    fi
    if [[ $by == ours ]]; then
      # charon as responder names what it parsed from our two ID payloads
      if grep -Fq "looking for a child config for $ts_l === $ts_r" "$(sw_log B)"; then
        t_pass "$name/$by: B: charon parsed our IDs as $ts_l === $ts_r"
      else
        grep -F "looking for a child config" "$(sw_log B)" | indent
        t_fail "$name/$by: B: charon did not parse our IDs as $ts_l === $ts_r"
        ok=0
      fi
    fi
    ((ok)) || explain_failure
    # tear down for the next initiator
    out=$(ike_cmd A cmd=remove "$which" 2>&1) ||
      { echo "$out" | indent; t_fail "$name/$by: ike cmd=remove $which failed"; }
    wait_until "$IKE_WAIT" ike_no_tunnels A || t_fail "$name/$by: A: tunnels still listed after remove"
    if ! wait_until 10 sw_no_sa; then
      t_fail "$name/$by: B: strongSwan still lists an IKE SA after our remove (no Delete?)"
      swanctl_on B --terminate --ike mm-psk --force >/dev/null 2>&1 || true
      wait_until 5 sw_no_sa || true
    fi
  done
  ike_stop A || true
  src_wait_all A inoperative 15 || t_fail "$name: A: suite did not stop"
}

run_case addr 2001:db8:a::1 2001:db8:b::1 2001:db8:b::1/128 2001:db8:a::1/128 \
  '2001:db8:a::1-2001:db8:a::1 +2001:db8:b::1-2001:db8:b::1' 2001:db8:b::1/128 2001:db8:a::1/128 \
  ipaddr=2001:db8::1,2001:db8::2
run_case subnet 2001:db8:a::/64 2001:db8:b::/64 2001:db8:b::/64 2001:db8:a::/64 \
  '2001:db8:a::-2001:db8:a:0:ffff:ffff:ffff:ffff +2001:db8:b::-2001:db8:b:0:ffff:ffff:ffff:ffff' \
  2001:db8:b::/64 2001:db8:a::/64
run_case range 2001:db8:a::1-2001:db8:a::9 2001:db8:b::1-2001:db8:b::9 \
  2001:db8:b::1-2001:db8:b::9 2001:db8:a::1-2001:db8:a::9 \
  '2001:db8:a::1-2001:db8:a::9 +2001:db8:b::1-2001:db8:b::9' \
  2001:db8:b::1..2001:db8:b::9 2001:db8:a::1..2001:db8:a::9
run_case v4in6 198.51.100.1 203.0.113.1 203.0.113.1/32 198.51.100.1/32 \
  '198.51.100.1-198.51.100.1 +203.0.113.1-203.0.113.1' 203.0.113.1/32 198.51.100.1/32

if contains_secret "$(host_syslog A)"; then t_fail "A: syslog contains the PSK"; else t_pass "A: syslog free of the PSK"; fi
t_done
