#!/usr/bin/env bash
# IPv6 with real kernel SAs on both ends (issue 10.5), inside user-mode Linux (a
# kernel with ESP, tests/lib/uml.sh): host A runs the suite (tmd's XFRM backend),
# host B Debian's charon with kernel-netlink only, both in the IPv6 lab
# (lab_two_hosts 6: IKE and ESP between 2001:db8::1 and 2001:db8::2). Main Mode
# PSK with ID_IPV6_ADDR identities, tunnel-mode ESP AES-128/HMAC-SHA2-256, PFS.
#   1. hosts (ID_IPV6_ADDR), the suite initiates: ping 2001:db8:a::1 ->
#      2001:db8:b::1 through the tunnel
#   2. subnets (ID_IPV6_ADDR_SUBNET, /64), strongSwan initiates: ping
#   3. ranges (ID_IPV6_ADDR_RANGE, a::1-a::9 <-> b::1-b::9), the suite initiates:
#      the kernel's policies take prefixes only, so tmd installs the fewest
#      prefixes that cover each range; ping
#   4. IPv4 selectors inside IPv6 (198.51.100.1 <-> 203.0.113.1 over 2001:db8::1
#      <-> 2001:db8::2), the suite initiates: ping 198.51.100.1 -> 203.0.113.1
# Each time: both phases Active on A, ESTABLISHED + INSTALLED (plain TUNNEL) on B,
# the same two SPIs in both kernels, the pings answered 3/3 and sent as ESP over
# IPv6 (tcpdump -Q out on each veth); after ike cmd=remove nothing is left in
# either kernel.
set -euo pipefail
source "$(dirname "$0")/../lib/uml.sh"
source "$(dirname "$0")/../lib/uml_strongswan.sh"

if [[ -z ${IKE_IN_UML:-} ]]; then
  t_require_root
  uml_require
  t_require_suite
  sw_require_netlink
  t_require_cmd tcpdump
  uml_run 540 "$0"
  exit
fi

# ---- inside user-mode Linux ---------------------------------------------------------
IKE_WAIT=${IKE_WAIT:-60}
source "$IKE_SRC/tests/lib/ike.sh"
source "$IKE_SRC/tests/lib/strongswan.sh"
t_require_cmd rsyslogd ping tcpdump
sw_require_netlink

# kleft X: "S P": SAs and policies (not the IKE sockets' bypasses) in X's kernel.
kleft() {
  printf 'xfrm state\nxfrm policy\n' | ip -n "$(host_ns "$1")" -batch - 2>/dev/null |
    awk '/^[[:space:]]+proto (esp|ah|comp) / { s++ } /^[[:space:]]+dir (in|out|fwd) / { p++ }
         END { print s + 0, p + 0 }'
}
_kclean() { [[ $(kleft "$1") == "0 0" ]]; }

explain() {
  ike_dump A
  sw_log_tail B 60
  echo "---- B: swanctl --list-sas ----"
  swanctl_list_sas B | redact | indent || true
  local x
  for x in A B; do
    echo "---- $x: ip xfrm state / policy (keys filtered) ----"
    kstate "$x" | indent || true
    ip -n "$(host_ns "$x")" xfrm policy 2>&1 | indent || true
  done
}

declare -A CAP_PID=()
capture_start() {
  local x f
  for x in A B; do
    f="$LAB_DIR/cap-$x"
    ip netns exec "$(host_ns "$x")" tcpdump -i "${HOST_IF[$x]}" -Q out -n -U --immediate-mode \
      -w "$f.pcap" </dev/null >"$f.tcpdump" 2>&1 &
    CAP_PID[$x]=$!
    lab_on_cleanup "kill -INT ${CAP_PID[$x]}"
  done
  for x in A B; do
    wait_until 30 grep -qs "listening on" "$LAB_DIR/cap-$x.tcpdump" ||
      t_abort "tcpdump on ${HOST_IF[$x]} did not start: $(cat "$LAB_DIR/cap-$x.tcpdump")"
  done
}
# capture_ip X: what X sent so far, IPv4 or IPv6, except IKE, neighbour
# discovery (ICMPv6 types 133-137) and multicast (MLD reports, sent from the
# link-local address to ff02::16).
capture_ip() {
  timeout 30 tcpdump -n -r "$LAB_DIR/cap-$1.pcap" \
    '(ip or ip6) and not udp port 500 and not udp port 4500 and not ip6 multicast and
     not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)' 2>/dev/null
}

sw_no_ike_sa() { ! sw_has_ike_sa B; }

psk="uml-v6-$RANDOM$RANDOM-$$"
lab_init 480
lab_on_cleanup ike_stop_all_started
lab_two_hosts 6
timeout 10 ip -n "$(host_ns A)" addr add 198.51.100.1/32 dev lo
timeout 10 ip -n "$(host_ns B)" addr add 203.0.113.1/32 dev lo
host_start_syslog A
capture_start
t_info "lab: A 2001:db8::1, B 2001:db8::2; rsyslogd on A, tcpdump on vA and vB"

# run_case N TITLE BY LNET RNET FROM TO: phase 2 LNET <-> RNET (strongSwan the
# mirror image), BY (ours|theirs) initiates, then ping FROM -> TO.
run_case() {
  local n=$1 title=$2 by=$3 lnet=$4 rnet=$5 from=$6 to=$7 c out rc ok=1 sa sb x clear esp spis
  c="$n ($title)"
  echo "==== $n. $title: $lnet <-> $rnet, $by initiate(s) ===="
  local sw_l=$rnet sw_r=$lnet
  [[ $sw_l == */* || $sw_l == *-* ]] || sw_l+=/$([[ $sw_l == *:* ]] && echo 128 || echo 32)
  [[ $sw_r == */* || $sw_r == *-* ]] || sw_r+=/$([[ $sw_r == *:* ]] && echo 128 || echo 32)
  ike_write_db A lnet="$lnet" rnet="$rnet"
  ike_write_psk A "$(host_addr B)" "$psk"
  sw_configure B psk="$psk" kernel=netlink "swanctl_load=pem pkcs1 x509 pubkey" \
    local_ts="$sw_l" remote_ts="$sw_r"
  [[ -n ${SW_PID[B]:-} ]] || sw_start B
  sw_load B
  if ike_start A && wait_until 30 _a_src active; then
    t_pass "$c: A: suite started (kernel_backend XFRM)"
  else
    echo "$IKE_OUT" | indent
    t_fail "$c: A: startsrc -g ike failed"
    return 0
  fi
  if [[ $by == ours ]]; then
    out=$(ike_cmd A cmd=activate numlist=1 2>&1) ||
      { echo "$out" | indent; t_fail "$c: A: ike cmd=activate failed"; }
  else
    out=$(IKE_CMD_TIMEOUT=75 swanctl_on B --initiate --child net --timeout 60 2>&1) && rc=0 || rc=$?
    ((rc == 0)) || { echo "$out" | redact | tail -n 20 | indent; t_fail "$c: B: swanctl --initiate exit $rc"; }
  fi
  if wait_until "$IKE_WAIT" _a_settled && _a_up; then
    t_pass "$c: A: phases 1 and 2 Active"
  else
    t_fail "$c: A: phases 1 and 2 not both Active"
    ok=0
  fi
  echo "$A_LIST" | indent
  if wait_until 20 _b_up && grep -q 'INSTALLED, TUNNEL,' <<<"$B_SAS"; then
    t_pass "$c: B: swanctl --list-sas: ESTABLISHED, CHILD_SA INSTALLED, TUNNEL (plain ESP)"
  else
    echo "$B_SAS" | redact | indent
    t_fail "$c: B: no plain-TUNNEL CHILD_SA INSTALLED"
    ok=0
  fi
  sa=$(kspis A) sb=$(kspis B)
  spis=${sa% }
  if [[ $(wc -w <<<"$sa") == 2 && $sa == "$sb" ]]; then
    t_pass "$c: the same two ESP SAs in A's and B's kernels (SPIs $spis)"
  else
    t_fail "$c: ESP SAs in the kernels differ: A '$sa', B '$sb'"
    ok=0
  fi
  if ((ok)); then
    if host_ping A "$from" "$to" 3; then
      t_pass "$c: ping $from -> $to through the tunnel: 3/3"
    else
      echo "$HOST_PING_OUT"
      t_fail "$c: ping $from -> $to through the tunnel failed"
      ok=0
    fi
    sleep 0.5
    for x in A B; do
      out=$(capture_ip "$x")
      # "IP6 2001:db8::1 > 2001:db8::2: ESP(spi=0x...,seq=0x1)": ESP over IPv6
      esp=$(grep -Ec "^[0-9:.]+ IP6 2001:db8::[12] > 2001:db8::[12]: ESP\\(spi=(${spis// /|})," <<<"$out" || true)
      clear=$(grep -v ' ESP(spi=' <<<"$out" | grep -c . || true)
      if ((esp >= 3 && clear == 0)); then
        t_pass "$c: $x sent $esp ESP-over-IPv6 packets (SPIs $spis), nothing else but IKE and ND"
      else
        tail -n 12 <<<"$out" | indent
        t_fail "$c: $x sent $esp ESP-over-IPv6 packets (want >= 3) and $clear others (want 0)"
        ok=0
      fi
    done
  fi
  ((ok)) || explain
  ike_cmd A cmd=remove numlist=1 >/dev/null 2>&1 || t_fail "$c: A: ike cmd=remove failed"
  wait_until "$IKE_WAIT" ike_no_tunnels A || t_fail "$c: A: tunnels still listed after remove"
  if ! wait_until 20 sw_no_ike_sa; then
    t_fail "$c: B: strongSwan still lists an IKE SA after remove"
    swanctl_on B --terminate --ike mm-psk --force >/dev/null 2>&1 || true
    wait_until 10 sw_no_ike_sa || true
  fi
  if ike_stop A && wait_until 30 _a_src inoperative; then
    unset 'IKE_STARTED[A]'
  else
    t_fail "$c: A: stopsrc -g ike did not stop the suite"
  fi
  for x in A B; do
    if wait_until 10 _kclean "$x"; then
      t_pass "$c: $x: no SA or policy left in the kernel"
    else
      t_fail "$c: $x: left in the kernel (SAs policies): $(kleft "$x")"
      kstate "$x" | indent || true
    fi
  done
}

run_case 1 hosts ours 2001:db8:a::1 2001:db8:b::1 2001:db8:a::1 2001:db8:b::1
run_case 2 subnets theirs 2001:db8:a::/64 2001:db8:b::/64 2001:db8:a::1 2001:db8:b::1
run_case 3 ranges ours 2001:db8:a::1-2001:db8:a::9 2001:db8:b::1-2001:db8:b::9 \
  2001:db8:a::1 2001:db8:b::1
run_case 4 "IPv4 in IPv6" ours 198.51.100.1 203.0.113.1 198.51.100.1 203.0.113.1
sw_stop B

if contains_secret "$(host_syslog A)"; then t_fail "A: syslog contains the PSK"; else t_pass "A: syslog free of the PSK"; fi
if contains_secret "$(sw_log B)"; then t_fail "B: charon.log contains the PSK"; else t_pass "B: charon.log free of the PSK"; fi
t_done
