#!/usr/bin/env bash
# The suite against strongSwan with real kernel SAs on both ends (issue 8.6),
# inside user-mode Linux (a kernel with ESP, tests/lib/uml.sh): host A runs the
# suite (startsrc -g ike, tmd's XFRM backend), host B runs Debian's charon with
# its kernel-netlink backend only (no kernel-libipsec), so both sides' SAs and
# policies are in their namespace's kernel and the traffic is plain ESP, as
# between two production gateways. Main Mode PSK, AES-128/SHA-256/MODP-2048,
# tunnel-mode ESP AES-128/HMAC-SHA2-256 with PFS MODP-2048.
#   1. the suite initiates  (ike cmd=activate numlist=1), traffic, ike cmd=remove
#   2. strongSwan initiates (swanctl --initiate --child net), traffic
# Each time: both phases Active on A, ESTABLISHED + INSTALLED (plain TUNNEL) on B,
# the same SPI pair in both kernels, ping 198.51.100.1 -> 203.0.113.1 3/3, both
# kernels count it, and each veth sends ESP only (tcpdump -Q out). Then stopsrc on
# A and charon stopped on B: nothing of either left in the kernels.
#   4. transport mode (issue 10.3): both restarted with the endpoints as
#      selectors and ESP_TRANSPORT (charon: mode = transport); strongSwan
#      initiates; both kernels hold transport-mode SAs and a ping from
#      endpoint to endpoint goes through them, as ESP on the wire.
#   3. rekeying (issue 9.7), with ESP AES-GCM-16-256 (RFC 4106, issue 10.3: the
#      kernels hold rfc4106(gcm(aes)) SAs, so the salt and key order agree with
#      strongSwan's or no ping would pass): both restarted with a 20 s phase 2 lifetime on A
#      (min_lifetime_seconds 10) and charon's children rekey_time 60 s, so the
#      suite rekeys (at 80-88 %: every 16-18 s) twice, under a ping every 50 ms
#      that loses nothing; then charon rekeys (swanctl --rekey --child net) and
#      a ping goes through its pair. After each rekey A's `ike cmd=list
#      verbose` pair is INSTALLED in `swanctl --list-sas` (A's in = B's out)
#      and in both kernels. (Not checked: no loss across charon's rekey. We
#      install a responder's inbound SA on message 3, and charon sends on the
#      new pair as soon as it has sent message 3: a packet in that window can
#      be lost. Seen once in 1200.)
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

explain() {
  ike_dump A
  sw_log_tail B 80
  echo "---- B: swanctl --list-sas ----"
  swanctl_list_sas B | redact | indent || true
  echo "---- B: ip xfrm state / policy (keys filtered) ----"
  kstate B | indent || true
  ip -n "$(host_ns B)" xfrm policy 2>&1 | indent || true
}

# kleft X: "S P R": SAs, policies (not the IKE daemons' per-socket bypasses) and
# routes in table 220 in X's kernel; one `ip -batch` (each process costs in UML).
kleft() {
  printf 'xfrm state\nxfrm policy\nroute show table 220\n' |
    ip -n "$(host_ns "$1")" -batch - 2>/dev/null |
    awk '/^[[:space:]]+proto (esp|ah|comp) / { s++ } /^[[:space:]]+dir (in|out|fwd) / { p++ }
         /^(unreachable |blackhole |prohibit )?[0-9]/ { r++ } END { print s + 0, p + 0, r + 0 }'
}
_kclean() { [[ $(kleft "$1") == "0 0 0" ]]; }

# ---- capture: what each end sends (tcpdump -Q out; docs/testing-kernel.md) ------------
# One capture per veth for the whole test (each tcpdump start costs seconds in UML);
# each case counts the packets carrying its SPIs.
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
}
capture_wait() {
  local x
  for x in A B; do
    wait_until 30 grep -qs "listening on" "$LAB_DIR/cap-$x.tcpdump" ||
      t_abort "tcpdump on ${HOST_IF[$x]} did not start: $(cat "$LAB_DIR/cap-$x.tcpdump")"
  done
}
# capture_ip X: the IPv4 packets X sent so far, one line each, except IKE (UDP 500/4500).
capture_ip() {
  timeout 30 tcpdump -n -r "$LAB_DIR/cap-$1.pcap" \
    'ip and not udp port 500 and not udp port 4500' 2>/dev/null
}

# ---- steps ------------------------------------------------------------------------
# step_lab: the lab of ike_lab, but rsyslogd only on A (B runs no suite; charon
# logs to its own file).
step_lab() {
  lab_init 400
  lab_on_cleanup ike_stop_all_started
  lab_two_hosts
  host_start_syslog A # its capture is checked by step_syslog (the daemons' lines)
  capture_start
  t_info "lab: A and B, rsyslogd on A, tcpdump on vA and vB"
  psk="uml-sw-$RANDOM$RANDOM-$$"
  ike_write_db A
  ike_write_psk A "$(host_addr B)" "$psk"
  # swanctl with the four plugins it needs here (its default ~40 cost 2 s per call in UML)
  sw_configure B psk="$psk" kernel=netlink "swanctl_load=pem pkcs1 x509 pubkey"
  sw_start B
  sw_load B
  local plugins
  plugins=$(grep -m1 'loaded plugins:' "$(sw_log B)" || true)
  if [[ $plugins == *kernel-netlink* && $plugins != *kernel-libipsec* ]]; then
    t_pass "B: charon running (pid ${SW_PID[B]}) with kernel-netlink, without kernel-libipsec"
  else
    echo "$plugins" | indent
    t_fail "B: charon's plugins are not kernel-netlink without kernel-libipsec"
  fi
  capture_wait
  if ike_start A && wait_until 30 _a_src active; then
    t_pass "A: startsrc -g ike: tmd, isakmpd, cpsd active (kernel_backend XFRM)"
  else
    echo "$IKE_OUT" | indent
    t_abort "A: startsrc -g ike failed"
  fi
}

SPIS= # the ESP SPIs of the current case, "0x... 0x..."

# step_up CASE ROLE_A: both sides agree the tunnel is up and both kernels hold it.
step_up() {
  local c=$1 role=$2 ok=1 sa sb t0=$SECONDS
  if wait_until "$IKE_WAIT" _a_settled && _a_up; then
    t_pass "$c: A: phases 1 and 2 Active ($role, after $((SECONDS - t0))s)"
  else
    t_fail "$c: A: phases 1 and 2 not both Active as $role (a phase Failed, or ${IKE_WAIT}s passed)"
    ok=0
  fi
  echo "$A_LIST" | indent
  if wait_until 20 _b_up; then
    echo "$B_SAS" | redact | indent
    if grep -q 'INSTALLED, TUNNEL,' <<<"$B_SAS"; then
      t_pass "$c: B: swanctl --list-sas: ESTABLISHED, CHILD_SA INSTALLED, TUNNEL (plain ESP)"
    else
      t_fail "$c: B: the CHILD_SA is not a plain TUNNEL (UDP-encapsulated?)"
      ok=0
    fi
  else
    t_fail "$c: B: swanctl --list-sas lacks ESTABLISHED/INSTALLED"
    ok=0
  fi
  sa=$(kspis A) sb=$(kspis B)
  SPIS=${sa% }
  if [[ $(wc -w <<<"$sa") == 2 && $sa == "$sb" ]]; then
    t_pass "$c: the same two ESP SAs in A's and B's kernels (SPIs $SPIS)"
  else
    t_fail "$c: ESP SAs in the kernels differ: A '$sa', B '$sb'"
    ok=0
  fi
  ((ok)) || { explain; return 1; }
}

# step_traffic CASE: ping A -> B through the SAs, counted on both ends, ESP on the wire.
step_traffic() {
  local c=$1 x n clear out spis
  if host_ping A "$(host_net A)" "$(host_net B)" 3; then
    t_pass "$c: ping $(host_net A) -> $(host_net B) through the tunnel: 3/3"
  else
    echo "$HOST_PING_OUT"
    t_fail "$c: ping $(host_net A) -> $(host_net B) through the tunnel failed"
  fi
  # the ping saw its replies, so every packet has left; give tcpdump a moment
  sleep 0.5
  spis=$SPIS
  for x in A B; do
    out=$(capture_ip "$x")
    n=$(grep -Ec " ESP\\(spi=(${spis// /|})," <<<"$out" || true)
    clear=$(grep -v ' ESP(spi=' <<<"$out" | grep -c . || true)
    if ((n == 3 && clear == 0)); then
      t_pass "$c: $x sent 3 ESP packets on ${HOST_IF[$x]} (SPIs $spis);" \
        "no IP packet but ESP and IKE so far"
    else
      t_fail "$c: $x sent $n ESP packets with SPIs $spis (want 3) and $clear IP packets" \
        "neither ESP nor IKE (want 0; clear-text ICMP?) on ${HOST_IF[$x]}"
      tail -n 20 <<<"$out" | indent
    fi
  done
  out=$(ike_list A verbose 2>&1 || true)
  if grep -Eq '^Packets In/Out: +3 / 3$' <<<"$out"; then
    t_pass "$c: A: ike cmd=list verbose shows the kernel's Packets In/Out 3 / 3"
  else
    echo "$out" | redact | indent
    t_fail "$c: A: ike cmd=list verbose does not show Packets In/Out 3 / 3"
  fi
  out=$(swanctl_list_sas B)
  if (($(grep -Ec '^ +(in|out) +[0-9a-f]{8}.* 3 packets' <<<"$out") == 2)); then
    t_pass "$c: B: strongSwan's kernel SAs counted 3 packets in and 3 out"
  else
    echo "$out" | redact | indent
    kstate B | indent || true
    t_fail "$c: B: strongSwan's SAs do not count 3 packets each way"
  fi
}

sw_no_ike_sa() { ! sw_has_ike_sa B; }

# case 1: the suite initiates, then removes the tunnel (Deletes to strongSwan).
case_suite_initiates() {
  local c="1 (A initiates)" out x
  echo "==== 1. the suite (A) initiates ===="
  if out=$(ike_cmd A cmd=activate numlist=1 2>&1); then
    t_pass "$c: A: ike cmd=activate numlist=1 exit 0"
  else
    echo "$out" | redact | indent
    t_fail "$c: A: ike cmd=activate numlist=1 failed"
  fi
  step_up "$c" initiator && step_traffic "$c"
  if out=$(ike_cmd A cmd=remove numlist=1 2>&1); then
    t_pass "$c: A: ike cmd=remove numlist=1 exit 0"
  else
    echo "$out" | redact | indent
    t_fail "$c: A: ike cmd=remove numlist=1 failed"
  fi
  if wait_until "$IKE_WAIT" ike_no_tunnels A; then
    t_pass "$c: A: no tunnels listed after remove"
  else
    ike_list A 2>&1 | indent || true
    t_fail "$c: A: tunnels still listed after remove"
  fi
  if wait_until 20 sw_no_ike_sa; then
    t_pass "$c: B: strongSwan dropped its SAs (Deletes received)"
  else
    swanctl_list_sas B | indent || true
    t_fail "$c: B: strongSwan still lists an IKE SA after remove"
  fi
  for x in A B; do
    if wait_until 10 _kclean "$x"; then
      t_pass "$c: $x: no SA, policy or table-220 route left in the kernel after remove"
    else
      t_fail "$c: $x: after remove (SAs policies routes): $(kleft "$x")"
      kstate "$x" | indent || true
    fi
  done
  # start case 2 from a clean strongSwan whatever happened above
  swanctl_on B --terminate --ike mm-psk --force >/dev/null 2>&1 || true
  wait_until 10 sw_no_ike_sa || true
}

# case 2: strongSwan initiates; the suite responds.
case_strongswan_initiates() {
  local c="2 (B initiates)" out rc
  echo "==== 2. strongSwan (B) initiates ===="
  out=$(IKE_CMD_TIMEOUT=75 swanctl_on B --initiate --child net --timeout 60 2>&1) && rc=0 || rc=$?
  if ((rc == 0)) && grep -q 'initiate completed successfully' <<<"$out"; then
    t_pass "$c: B: swanctl --initiate --child net completed"
    grep -E 'established|selected proposal' <<<"$out" | redact | indent || true
  else
    echo "$out" | redact | tail -n 30 | indent
    t_fail "$c: B: swanctl --initiate --child net (exit $rc)"
  fi
  step_up "$c" responder && step_traffic "$c"
}

# step_stop: stopsrc on A, charon stopped on B: neither kernel keeps anything.
step_stop() {
  local x
  if ike_stop A && wait_until 30 _a_src inoperative; then
    unset 'IKE_STARTED[A]' # stopped: the cleanup need not run stopsrc again
    t_pass "A: stopsrc -g ike: tmd, isakmpd, cpsd inoperative"
  else
    echo "$IKE_OUT" | indent
    t_fail "A: stopsrc -g ike did not stop the suite"
  fi
  if wait_until 20 sw_no_ike_sa; then
    t_pass "B: strongSwan dropped its SAs after A's stopsrc (Deletes received)"
  else
    swanctl_list_sas B | indent || true
    t_info "B: strongSwan still lists an SA after A's stopsrc (no Delete from stopsrc?)"
  fi
  sw_stop B
  for x in A B; do
    if wait_until 10 _kclean "$x"; then
      t_pass "$x: nothing left in the kernel (no SA, policy or table-220 route)"
    else
      t_fail "$x: left in the kernel (SAs policies routes): $(kleft "$x")"
      kstate "$x" | indent || true
      ip -n "$(host_ns "$x")" xfrm policy 2>&1 | indent || true
    fi
  done
}

# step_syslog: A's rsyslogd got isakmpd's lines: the tunnel established as
# initiator (case 1) and as responder (case 2), and none carries the PSK.
step_syslog() {
  local f role
  f=$(host_syslog A)
  for role in Initiator Responder; do
    if grep -Eq "isakmpd(\[[0-9]+\])?: .*phase 2 tunnel .* established \($role," "$f"; then
      t_pass "A: syslog has isakmpd's 'phase 2 tunnel ... established ($role, ...)'"
    else
      t_fail "A: syslog lacks isakmpd's phase 2 established line as $role"
    fi
  done
  if contains_secret "$f"; then
    t_fail "A: syslog contains the PSK"
  else
    t_pass "A: syslog free of the PSK"
  fi
}

step_charon_log() {
  if contains_secret "$(sw_log B)"; then
    t_fail "B: charon.log contains the PSK"
  else
    t_pass "B: charon.log (ike=2) free of the PSK"
  fi
  if grep -Eq 'unable to install|received netlink error' "$(sw_log B)"; then
    grep -E 'unable to install|received netlink error' "$(sw_log B)" | redact | indent
    t_fail "B: charon logged kernel-netlink errors"
  else
    t_pass "B: charon logged no kernel-netlink error"
  fi
}

# field X LABEL: the value of "LABEL:" in X's first phase 2 verbose block.
field2() {
  ike_list "$1" verbose phase=2 2>/dev/null |
    awk -v l="$2:" 'index($0, l) == 1 { sub(/^[^:]*:[ ]*/, ""); sub(/^0x/, ""); print; exit }'
}
PAIR_IN='' PAIR_OUT=''
# _pair_agrees: A's current pair (PAIR_IN, PAIR_OUT) is INSTALLED on B (B's in =
# A's out) and both SAs are in both kernels.
_pair_agrees() {
  sw_children B | awk -v i="$PAIR_IN" -v o="$PAIR_OUT" \
    '$2 == "INSTALLED" && $3 == o && $4 == i { f = 1 } END { exit !f }' || return 1
  local x k
  for x in A B; do
    k=" $(kspis "$x")"
    [[ $k == *" 0x$PAIR_IN "* && $k == *" 0x$PAIR_OUT "* ]] || return 1
  done
}
# _pair_changed OLD_IN: A lists a phase 2 pair other than OLD_IN (sets PAIR_*).
_pair_changed() {
  PAIR_IN=$(field2 A "SPI In")
  PAIR_OUT=$(field2 A "SPI Out")
  [[ -n $PAIR_IN && -n $PAIR_OUT && $PAIR_IN != "$1" ]]
}
# step_rekeyed CASE WHO LIMIT: wait up to LIMIT s for a new pair on A, then for
# both ends to agree on it.
step_rekeyed() {
  local c=$1 who=$2 limit=$3 old=$PAIR_IN t0=$SECONDS
  if ! wait_until "$limit" _pair_changed "$old"; then
    t_fail "$c: no new pair on A within ${limit}s ($who rekey)"
    explain
    return 1
  fi
  if wait_until 20 _pair_agrees; then
    t_pass "$c: $who rekeyed after $((SECONDS - t0))s: A in $PAIR_IN out $PAIR_OUT;" \
      "B INSTALLED with them; both kernels hold both SAs"
  else
    t_fail "$c: after $who's rekey B or a kernel lacks A's pair in $PAIR_IN out $PAIR_OUT"
    swanctl_list_sas B | redact | indent || true
    echo "A: $(kspis A) B: $(kspis B)" | indent
    return 1
  fi
}

# Pings B's network from A's, $1 times every $2 s, in the background (its
# pid in PING_PID), the output (with -O: each missed answer) to $3.
_ping_behind() {
  ip netns exec "$(host_ns A)" ping -D -O -c "$1" -i "$2" -W 2 -I "$(host_net A)" \
    "$(host_net B)" >"$3" 2>&1 &
  PING_PID=$!
  lab_on_cleanup "kill $PING_PID"
}

# Passes when the ping whose output is $2 lost no packet; else shows where.
_none_lost() {
  local c=$1 out=$2 what=$3 sent got n x
  sent=$(awk '/packets transmitted/ { print $1 }' "$out")
  got=$(awk '/packets transmitted/ { print $4 }' "$out")
  n=$((${sent:-0} - ${got:-0}))
  if [[ -n $sent && $n -eq 0 ]]; then
    t_pass "$c: ping $what: $sent sent, $got received, 0 lost"
    return 0
  fi
  grep -E "no answer yet" "$out" | head -n 5 | indent
  tail -n 3 "$out" | indent
  grep -E "rekeyed \(|both ends rekeyed" "$(host_syslog A)" | redact | cut -c1-200 | indent
  for x in A B; do # which kernel dropped it, and why (XfrmInNoStates: no SA yet)
    echo "$x: /proc/net/xfrm_stat, the counters that are not 0:"
    ip netns exec "$(host_ns $x)" awk '$2 != 0' /proc/net/xfrm_stat | indent
  done
  t_fail "$c: ping $what: ${sent:-?} sent, ${got:-?} received ($n lost)"
}

# case 3: the suite rekeys twice under a ping every 50 ms, then strongSwan
# under a ping every 20 ms.
case_rekeys() {
  local c="3 (rekeys)" ping_out="$LAB_DIR/ping-rekeys.txt" out rk next
  local ping_sw="$LAB_DIR/ping-swrekey.txt"
  echo "==== 3. rekeying with AES-GCM-16-256: the suite (20 s phase 2 lifetime), then strongSwan ===="
  ike_write_db A p2life=20 minlife=10 esp=ESP_AES_GCM_16
  sw_configure B psk="$psk" kernel=netlink "swanctl_load=pem pkcs1 x509 pubkey" \
    child_rekey=60 child_life=70 child_rand=0 esp=aes256gcm16-modp2048
  sw_start B
  sw_load B
  if ike_start A && wait_until 30 _a_src active; then
    t_pass "$c: A: suite started again (phase 2 lifetime 20 s); B: charon (rekey_time 60 s)"
  else
    echo "$IKE_OUT" | indent
    t_abort "$c: A: startsrc -g ike failed"
  fi
  ike_cmd A cmd=activate numlist=1 >/dev/null 2>&1 || t_fail "$c: A: ike cmd=activate failed"
  step_up "$c" initiator || return 0
  local x algs
  for x in A B; do
    # "aead rfc4106(gcm(aes)) 0x<36 octets> 128", the key shown as its length
    algs=$(ip -n "$(host_ns "$x")" xfrm state | grep -E '^[[:space:]]+(enc|auth|auth-trunc|aead) ' |
      sed -E 's/0x([0-9a-f]+)/<\1>/' | awk '{ k = $3; gsub(/[<>]/, "", k); $3 = length(k) / 2 " octets"; print }')
    if [[ $(grep -c "^aead rfc4106(gcm(aes)) 36 octets 128$" <<<"$algs") == 2 && $algs != *auth* ]]; then
      t_pass "$c: $x's kernel SAs are rfc4106(gcm(aes)), 36-octet key (256 bits + salt), 128-bit ICV"
    else
      echo "$algs" | indent
      t_fail "$c: $x's kernel SAs are not AES-GCM-16-256"
    fi
  done
  _pair_changed "" || true
  # 800 pings at 50 ms (40 s, longer in UML) span the suite's first two
  # rekeys (16-18 s after each pair).
  _ping_behind 800 0.05 "$ping_out"
  step_rekeyed "$c" "the suite" 30 && step_rekeyed "$c" "the suite" 30
  rk=$(field2 A Rekeys)
  t_check "$c: A: ike cmd=list verbose counts the rekeys (Rekeys: $rk)" [ "${rk:-0}" -ge 2 ]
  wait "$PING_PID" || true
  _none_lost "$c" "$ping_out" "every 50 ms across the suite's rekeys"
  # strongSwan rekeys, away from the suite's next rekey (a collision with a
  # foreign peer keeps both pairs: tmd_rekey_test).
  _pair_changed "" || true # the pair now (a third rekey may have come during the ping)
  next=$(field2 A "Next Rekey" | awk '$1 == "in" { print $2 }')
  if [[ -z $next || $next -lt 15 ]]; then
    step_rekeyed "$c" "the suite" 30 || true
  fi
  # strongSwan installs its new pair on Quick Mode message 2 and sends on it
  # at once: our inbound SA must be in A's kernel before message 2 leaves.
  _ping_behind 250 0.02 "$ping_sw"
  sleep 1
  if out=$(IKE_CMD_TIMEOUT=40 swanctl_on B --rekey --child net 2>&1); then
    t_pass "$c: B: swanctl --rekey --child net"
  else
    echo "$out" | redact | indent
    t_fail "$c: B: swanctl --rekey --child net failed"
  fi
  step_rekeyed "$c" "strongSwan" 20 || true
  wait "$PING_PID" || true
  _none_lost "$c" "$ping_sw" "every 20 ms across strongSwan's rekey"
  if host_ping A "$(host_net A)" "$(host_net B)" 3; then
    t_pass "$c: ping through strongSwan's new pair: 3/3"
  else
    echo "$HOST_PING_OUT"
    t_fail "$c: ping after strongSwan's rekey failed"
  fi
  out=$(grep -c "rekeyed (" "$(host_syslog A)" || true)
  t_info "$c: A's syslog: $out 'rekeyed' lines"
}

# case 4: transport mode, strongSwan initiating (our responder matches the
# encapsulation to its definition), a ping between the endpoints themselves.
case_transport() {
  local c="4 (transport)" out x a b n
  echo "==== 4. transport mode: strongSwan initiates, endpoint to endpoint ===="
  a=$(host_addr A) b=$(host_addr B)
  ike_write_db A lnet="$a" rnet="$b" p2mode=ESP_TRANSPORT
  sw_configure B psk="$psk" kernel=netlink "swanctl_load=pem pkcs1 x509 pubkey" \
    child_mode=transport local_ts="$b/32" remote_ts="$a/32"
  sw_start B
  sw_load B
  if ike_start A && wait_until 30 _a_src active; then
    t_pass "$c: A: suite started again (ipsec_tunnel mode ESP_TRANSPORT, $a <-> $b)"
  else
    echo "$IKE_OUT" | indent
    t_abort "$c: A: startsrc -g ike failed"
  fi
  out=$(swanctl_on B --initiate --child net --timeout 30 2>&1) ||
    { echo "$out" | redact | tail -n 20 | indent; t_fail "$c: B: swanctl --initiate failed"; }
  if wait_until "$IKE_WAIT" _a_settled && _a_up; then
    t_pass "$c: A: phases 1 and 2 Active (responder)"
  else
    echo "$A_LIST" | indent
    t_fail "$c: A: phases 1 and 2 not both Active"
    explain
    return 0
  fi
  if wait_until 20 _b_up && grep -q 'INSTALLED, TRANSPORT,' <<<"$B_SAS"; then
    t_pass "$c: B: swanctl --list-sas: CHILD_SA INSTALLED, TRANSPORT"
  else
    echo "$B_SAS" | redact | indent
    t_fail "$c: B: the CHILD_SA is not INSTALLED in TRANSPORT mode"
  fi
  for x in A B; do
    n=$(ip -n "$(host_ns "$x")" xfrm state | grep -c "proto esp .* mode transport" || true)
    t_check "$c: $x's kernel holds $n transport-mode ESP SAs (2 expected)" [ "$n" = 2 ]
  done
  if host_ping A "$a" "$b" 3; then
    t_pass "$c: ping $a -> $b (the endpoints) through the transport-mode SAs: 3/3"
  else
    echo "$HOST_PING_OUT"
    t_fail "$c: ping $a -> $b through the transport-mode SAs failed"
  fi
  out=$(ip -n "$(host_ns B)" -s xfrm state)
  if (($(grep -Ec '^[[:space:]]+[0-9]+\(bytes\), 3\(packets\)' <<<"$out") >= 2)); then
    t_pass "$c: B's kernel counted the 3 pings on both SAs"
  else
    kstate B | indent
    t_fail "$c: B's kernel SAs did not count the pings"
  fi
}

step_lab
case_suite_initiates
case_strongswan_initiates
step_stop
case_rekeys
step_stop
case_transport
step_stop
step_syslog
step_charon_log
((T_FAILS == 0)) || sw_log_tail B 80
t_done
