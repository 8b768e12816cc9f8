#!/usr/bin/env bash
# The suite inside user-mode Linux: the lab of the integration tests
# (tests/lib/netns.sh: namespaces, veth, one rsyslogd per host; tests/lib/ike.sh:
# startsrc -g ike under srcmstr) runs unchanged in a kernel with ESP. One tunnel,
# the core of tests/integration/tunnel_test.sh: start both suites, activate on A,
# both phases Active on both sides, stop. The steps are functions called in
# order at the bottom. With the XFRM backend (the default inside UML, see
# ike_write_db) the tunnel carries traffic (issue 8.6): step_traffic pings between
# the protected addresses through the kernel's SAs while tcpdump records what each
# host sends on the veth (ESP, no clear ICMP), step_iperf sends TCP through the
# tunnel with iperf3, step_counters compares the kernel's SA counters with
# `ike cmd=list cache`, step_remove checks that `ike cmd=remove` of the phase 2
# tunnel leaves no SA or policy of ours and that nothing goes out under ESP any
# more, and step_stop checks that stopsrc leaves no SA, policy or route behind.
set -euo pipefail
source "$(dirname "$0")/../lib/uml.sh"

if [[ -z ${IKE_IN_UML:-} ]]; then
  t_require_root
  uml_require
  t_require_suite
  uml_run 540 "$0"
  exit
fi

# ---- inside user-mode Linux ---------------------------------------------------------
# Every system call is slower in UML and the machine may be busy: a longer bound
# for each status wait (they poll, so a fast run is not slower).
IKE_WAIT=${IKE_WAIT:-60}
source "$IKE_SRC/tests/lib/ike.sh"
source "$IKE_SRC/tests/lib/uml_traffic.sh"
t_require_netns
t_require_cmd rsyslogd logger ping tcpdump iperf3
t_require_suite

dump_both() { ike_dump A; ike_dump B; }

# step_kernel: the instance has what the tests inside need (ESP, XFRM netlink).
step_kernel() {
  local m
  for m in esp4 esp6 xfrm_user veth; do
    if grep -q "^$m " /proc/modules; then
      t_pass "kernel $(uname -r): module $m loaded"
    else
      t_fail "kernel $(uname -r): module $m not loaded"
    fi
  done
}

# step_lab: two hosts, syslog on both (ike_lab checks that logger reaches each
# host's file through the /dev/log mount namespace), tunnels.db and psk.db.
step_lab() {
  ike_lab 480
  t_pass "lab: hosts A and B, one rsyslogd each, syslog capture checked"
  psk="uml-suite-$RANDOM$RANDOM-$$"
  local h
  for h in A B; do
    ike_write_db "$h"
    ike_write_psk "$h" "$(host_addr "$(_ike_other "$h")")" "$psk"
  done
  t_info "tunnels.db and psk.db (0600) written on A and B"
}

step_start() {
  local h d
  for h in A B; do
    if ike_start "$h"; then
      t_pass "$h: startsrc -g ike exit 0"
    else
      t_fail "$h: startsrc -g ike failed"
    fi
    echo "$IKE_OUT" | indent
    for d in tmd isakmpd cpsd; do
      grep -q "$d Subsystem has been started" <<<"$IKE_OUT" ||
        t_fail "$h: startsrc output lacks '$d Subsystem has been started'"
    done
  done
  for h in A B; do
    if src_wait_all "$h" active 30; then
      t_pass "$h: lssrc -g ike shows tmd, isakmpd, cpsd active"
    else
      on_host "$h" lssrc -g ike 2>&1 | indent || true
      t_abort "$h: the suite is not active"
    fi
  done
  on_host A lssrc -g ike 2>&1 | indent || true
  t_info "memory in the instance with both suites running:" \
    "$(free -m | awk '$1 == "Mem:" { print $3 " MB used, " $7 " MB available of " $2 " MB" }')"
}

step_activate() {
  local out
  if out=$(ike_cmd A cmd=activate numlist=1 2>&1); then
    t_pass "A: ike cmd=activate numlist=1 exit 0"
  else
    echo "$out" | redact | indent
    t_fail "A: ike cmd=activate numlist=1 failed"
  fi
}

step_active() {
  local t0=$SECONDS ok=1 h p
  for h in A B; do
    for p in 1 2; do
      if ike_wait_status "$h" "$p" Active "$IKE_WAIT"; then
        t_pass "$h: phase $p Active (after $((SECONDS - t0))s)"
      else
        t_fail "$h: phase $p not Active within ${IKE_WAIT}s (status: '$(ike_status "$h" "$p")')"
        ok=0
      fi
    done
  done
  ((ok)) || { dump_both; t_abort "the tunnel did not come up; not checking the rest"; }
  ike_list A 2>&1 | indent || true
}

# step_syslog: the daemons' lines reached each host's own rsyslogd, no PSK.
step_syslog() {
  local h f
  for h in A B; do
    f=$(host_syslog "$h")
    if wait_until 5 grep -Eq 'isakmpd(\[[0-9]+\])?:.*DONE' "$f"; then
      t_pass "$h: syslog has isakmpd state changes to DONE"
    else
      t_fail "$h: syslog has no isakmpd line with DONE"
    fi
    if contains_secret "$f"; then
      t_fail "$h: syslog contains the PSK"
    else
      t_pass "$h: no syslog line contains the PSK"
    fi
  done
}

# xfrm X ARGS...: `ip ARGS` in X's namespace (the kernel state tmd installed).
xfrm() { local x=$1; shift; ip netns exec "$(host_ns "$x")" ip "$@" 2>&1; }

# step_traffic: A's protected address reaches B's through the tunnel: the
# kernel's SAs count the packets, and the routes tmd added (table 220) are
# what let the host route to the remote selector at all.
step_traffic() {
  local h out
  # What crosses the veth: what each end sends (tcpdump -Q out; inbound, the
  # decrypted replies pass the taps of the veth again and would look clear).
  # tcpdump comes up while the routes are checked.
  cap_launch ping A B
  for h in A B; do
    out=$(xfrm "$h" route show table 220)
    echo "$out" | sed "s/^/$h table 220: /" | indent
    if grep -q "$(host_net "$(_ike_other "$h")") via" <<<"$out"; then
      t_pass "$h: tmd routed the remote selector through table 220"
    else
      t_fail "$h: no route to $(host_net "$(_ike_other "$h")") in table 220"
    fi
  done
  cap_wait
  if host_ping A "$(host_net A)" "$(host_net B)" 3; then
    t_pass "A: ping $(host_net A) -> $(host_net B) through the tunnel: 3/3"
  else
    echo "$HOST_PING_OUT"
    t_fail "A: ping $(host_net A) -> $(host_net B) through the tunnel failed"
  fi
  echo "$HOST_PING_OUT"
  sleep 0.5 # the last reply reaches B's capture file
  cap_stop
  local esp icmp all
  cap_read ping A B
  for h in A B; do
    cap_count ping "$h"
    esp=${CAP_N[esp]} icmp=${CAP_N[icmp]} all=${CAP_N[all]}
    if ((esp > 0 && icmp == 0)); then
      t_pass "$h: tcpdump on ${HOST_IF[$h]} during the ping: $h sent $esp ESP packets, no clear ICMP ($all packets in all)"
    else
      indent <"$LAB_DIR/cap-ping-$h.txt"
      t_fail "$h: tcpdump on ${HOST_IF[$h]} during the ping: $h sent $esp ESP and $icmp clear ICMP packets (want ESP > 0, ICMP 0)"
    fi
  done
  for h in A B; do
    out=$(xfrm "$h" -s xfrm state)
    echo "$out" | redact_keys | indent
    # Each SA of the pair counted the 3 echo requests or the 3 replies.
    n=$(awk '/lifetime current:/ { getline; if ($0 ~ /([1-9][0-9]*)\(bytes\), ([1-9][0-9]*)\(packets\)/) c++ } END { print c + 0 }' <<<"$out")
    if ((n == 2)); then
      t_pass "$h: both ESP SAs in the kernel counted packets"
    else
      t_fail "$h: $n of 2 ESP SAs counted packets"
    fi
  done
  # The operator sees the same counters (issue 8.1): list verbose, list cache.
  out=$(ike_list A verbose 2>&1 || true)
  if grep -Eq '^Packets In/Out: +3 / 3$' <<<"$out"; then
    t_pass "A: ike cmd=list verbose shows Packets In/Out 3 / 3"
  else
    echo "$out" | redact | indent
    t_fail "A: ike cmd=list verbose does not show the kernel's packet counters (3 / 3)"
  fi
  out=$(ike_list A cache 2>&1 || true)
  echo "$out" | redact | indent
  if (($(awk 'NR > 1 && $NF == 3 { n++ } END { print n + 0 }' <<<"$out") == 2)); then
    t_pass "A: ike cmd=list cache shows 3 packets on both SAs"
  else
    t_fail "A: ike cmd=list cache does not show 3 packets on both SAs"
  fi
}

# step_iperf: TCP through the tunnel, iperf3's server in B bound to B's protected
# address, the client in A from A's. A few seconds; the rate is reported.
step_iperf() {
  local secs=3
  if iperf_through A "$(host_net A)" B "$(host_net B)" "$secs"; then
    t_pass "iperf3 $(host_net A) -> $(host_net B) through the tunnel: $IPERF_RECEIVED bytes received in ${secs}s"
    t_info "iperf3 through the ESP tunnel (inside UML, TCP, ${secs}s):" \
      "$((IPERF_RATE / 1000000)).$((IPERF_RATE / 100000 % 10)) Mbit/s at the receiver, $IPERF_SENT bytes sent"
  else
    echo "$IPERF_OUT" | indent
    t_fail "iperf3 through the tunnel transferred nothing"
  fi
}

# step_counters: for each SA, the packets (and bytes) the kernel counted
# (`ip -s xfrm state`) are the ones `ike cmd=list cache` shows. No traffic runs:
# the two are read right after each other on each host.
step_counters() {
  local h kern list line spi b p lb lp n rows
  for h in A B; do
    kern=$(xfrm_counters "$h")
    list=$(cache_counters "$h")
    n=0 rows=0
    while read -r spi b p; do
      [[ -n $spi ]] || continue
      rows=$((rows + 1))
      echo "    | $h: SA $spi: ip -s xfrm state $b bytes, $p packets"
    done <<<"$kern"
    while read -r spi lb lp; do
      [[ -n $spi ]] || continue
      echo "    | $h: SA $spi: ike cmd=list cache $lb bytes, $lp packets"
      line=$(grep -F "$spi " <<<"$kern" || true)
      if [[ $line == "$spi $lb $lp" ]]; then
        n=$((n + 1))
      else
        t_fail "$h: SA $spi: ike cmd=list cache shows $lb bytes, $lp packets; the kernel '${line#* }'"
      fi
    done <<<"$list"
    if ((n == 2 && rows == 2)); then
      t_pass "$h: ike cmd=list cache shows the kernel's bytes and packets for both SAs"
    else
      t_fail "$h: $n rows of ike cmd=list cache match the kernel's counters ($rows SAs in the kernel; want 2 and 2)"
    fi
    # iperf3's data went through the SAs: one of them counted at least its bytes
    b=0
    while read -r spi lb lp; do ((lb > b)) && b=$lb; done <<<"$kern"
    if ((IPERF_RECEIVED > 0 && b >= IPERF_RECEIVED)); then
      t_pass "$h: an SA counted $b bytes, at least the $IPERF_RECEIVED bytes iperf3 moved"
    else
      t_fail "$h: the SAs counted at most $b bytes; iperf3 moved $IPERF_RECEIVED bytes"
    fi
  done
}

# step_tmd_killed (issue 8.5): kill -9 of A's tmd. srcmstr starts a new one,
# which finds the kernel state the killed one left (by its marks) and removes
# it: no stale policy keeps swallowing A's traffic, no stale route or SA stays.
# The tunnel is then activated again and carries traffic.
step_tmd_killed() {
  local old new st pol rt
  old=$(src_pid A tmd)
  kill -9 "$old"
  t_info "kill -9 tmd (pid $old) on A"
  if wait_until 30 _tmd_restarted A "$old"; then
    new=$(src_pid A tmd)
    t_pass "A: srcmstr restarted tmd (pid $old -> $new)"
  else
    t_abort "A: tmd was not restarted after kill -9"
  fi
  if wait_until 10 grep -q "removed [0-9]* SAs and policies an earlier tmd left" "$(host_syslog A)"; then
    t_pass "A: the new tmd logged removing what the killed one left"
  else
    t_fail "A: the new tmd did not log removing leftovers"
  fi
  st=$(xfrm A xfrm state | grep -c '^src' || true)
  pol=$(xfrm A xfrm policy | grep -Ec '^\s+dir (in|out|fwd) ' || true)  # not isakmpd's socket bypass
  rt=$(xfrm A route show table 220 | grep -c . || true)
  if ((st == 0 && pol == 0 && rt == 0)); then
    t_pass "A: no stale SA, policy or route after the restart"
  else
    xfrm A xfrm policy | indent
    t_fail "A: after the restart: $st SAs, $pol policies, $rt routes in table 220"
  fi
  # Both ends agree again once the tunnel is activated anew (B replaces its
  # SAs for the same selectors).
  ike_cmd A cmd=activate numlist=1 >/dev/null 2>&1 || true
  if ike_wait_status A 2 Active "$IKE_WAIT"; then
    t_pass "A: phase 2 Active again after activate"
  else
    dump_both
    t_fail "A: phase 2 not Active again (status '$(ike_status A 2)')"
    return
  fi
  if wait_until 20 host_ping A "$(host_net A)" "$(host_net B)" 1; then
    t_pass "A: ping through the re-established tunnel"
  else
    echo "$HOST_PING_OUT"
    t_fail "A: no ping through the re-established tunnel"
  fi
}

# _tmd_restarted X OLD: lssrc shows tmd active with a PID other than OLD.
_tmd_restarted() {
  local p
  p=$(src_pid "$1" tmd)
  [[ -n $p && $p != "$2" ]]
}

_none_of_ours() { [[ $(ours "$1") == "0 0" ]]; }

# step_remove: `ike cmd=remove phase=2` of the tunnel on A. Its SAs and
# policies leave both kernels (the Delete tells B), phase 1 stays. Without a
# policy nothing protects A's ping between the protected addresses any more, and
# it does not go out in the clear either: the route tmd had put in table 220
# went with the tunnel, A has no route to B's protected address (ip route get:
# unreachable), so ping gets no reply and tcpdump on A's veth sees neither ESP
# nor clear ICMP leave.
step_remove() {
  local n out h before after
  cap_launch removed A # comes up meanwhile; no traffic runs until the ping below
  n=$(ike_list A 2>/dev/null | awk '$1 == 2 && $2 ~ /^[0-9]+$/ { print $2; exit }')
  before=$(ours A)
  if [[ $before =~ ^[1-9][0-9]*\ [1-9][0-9]*$ ]]; then
    t_pass "A before the remove: ${before% *} SAs and ${before#* } policies with tmd's reqid 0x1f......"
  else
    t_fail "A before the remove: '$before' SAs/policies with tmd's reqid (the check would see nothing)"
  fi
  if out=$(ike_cmd A cmd=remove phase=2 "numlist=$n" 2>&1); then
    t_pass "A: ike cmd=remove phase=2 numlist=$n exit 0"
  else
    echo "$out" | indent
    t_fail "A: ike cmd=remove phase=2 numlist=$n failed"
  fi
  for h in A B; do
    if wait_until 20 _none_of_ours "$h"; then
      t_pass "$h: no SA and no policy with tmd's reqid left after the remove"
    else
      echo "$OURS_OUT" | redact_keys | indent
      t_fail "$h: after the remove, SAs and policies with tmd's reqid: $(ours "$h")"
    fi
  done
  out=$(ike_list A 2>&1 || true)
  if awk '$1 == 1 && $3 == "Active" { a = 1 } $1 == 2 && $2 ~ /^[0-9]+$/ { b = 1 } END { exit !(a && !b) }' <<<"$out"; then
    t_pass "A: phase 2 gone from ike cmd=list, phase 1 stays Active"
  else
    echo "$out" | indent
    t_fail "A: after the remove ike cmd=list does not show phase 1 Active without phase 2"
  fi
  after=$(ip -n "$(host_ns A)" route get "$(host_net B)" from "$(host_net A)" 2>&1 || true)
  t_info "A: ip route get $(host_net B) from $(host_net A): $after"
  cap_wait
  if host_ping A "$(host_net A)" "$(host_net B)" 2; then
    t_fail "A: the ping between the protected addresses still gets replies after the remove"
  else
    t_pass "A: no reply to the ping between the protected addresses after the remove"
  fi
  echo "$HOST_PING_OUT"
  sleep 0.5 # what the ping may have sent reaches the capture file
  cap_stop
  cap_read removed A
  cap_count removed A
  if ((CAP_N[esp] == 0 && CAP_N[icmp] == 0)) && [[ $after == *nreachable* ]]; then
    t_pass "A: unroutable without the tunnel: tcpdump on ${HOST_IF[A]} saw no ESP and no clear ICMP leave A"
  else
    indent <"$LAB_DIR/cap-removed-A.txt"
    t_fail "A: after the remove: ${CAP_N[esp]} ESP and ${CAP_N[icmp]} clear ICMP packets left on ${HOST_IF[A]}; route get '$after' (want 0, 0, unreachable)"
  fi
}

# redact_keys: ip -s xfrm state prints the keys; never show them.
redact_keys() { sed -E 's/(0x)[0-9a-f]{16,}/\1<key>/g'; }

step_stop() {
  local h
  for h in A B; do
    if ike_stop "$h"; then
      t_pass "$h: stopsrc -g ike exit 0"
    else
      t_fail "$h: stopsrc -g ike failed"
    fi
    echo "$IKE_OUT" | indent
    if src_wait_all "$h" inoperative 30; then
      t_pass "$h: lssrc -g ike shows tmd, isakmpd, cpsd inoperative"
    else
      on_host "$h" lssrc -g ike 2>&1 | indent || true
      t_fail "$h: lssrc -g ike does not show all three inoperative"
    fi
    local st pol rt
    st=$(xfrm "$h" xfrm state | grep -c '^src' || true)
    pol=$(xfrm "$h" xfrm policy | grep -Ec '^\s+dir (in|out|fwd) ' || true)
    rt=$(xfrm "$h" route show table 220 | grep -c . || true)
    if ((st == 0 && pol == 0 && rt == 0)); then
      t_pass "$h: stopsrc left no SA, policy or route in the kernel"
    else
      t_fail "$h: after stopsrc: $st SAs, $pol policies, $rt routes in table 220"
    fi
  done
}

step_kernel
step_lab
step_start
step_activate
step_active
step_syslog
step_traffic
step_iperf
step_counters
step_tmd_killed
step_remove
step_stop
((T_FAILS == 0)) || dump_both
t_done
