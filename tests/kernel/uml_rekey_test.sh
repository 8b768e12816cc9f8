#!/usr/bin/env bash
# Phase 2 rekeying and phase 1 re-establishment without loss (issue 9 item
# 7), inside user-mode Linux: the suite on A and B with the XFRM backend, a
# 20 s phase 2 lifetime and a 40 s phase 1 lifetime
# (settings.min_lifetime_seconds lowered to 10), so the kernel's soft expire
# starts a rekey every 16-18 s (A, the pair's initiator, at 80-88 %; B would
# at 92-97 %) and A re-establishes the ISAKMP SA once, 32-35 s in. For WINDOW seconds a ping every 10 ms and an iperf3 UDP stream
# go from A's protected address to B's while at least three rekeys go by:
#   - no echo request or reply and no UDP datagram is lost, and neither kernel
#     drops an IPsec packet for any reason (/proc/net/xfrm_stat all 0: e.g. no
#     ESP packet for an SA the receiver does not have, or not yet its keys);
#   - after each rekey both ends list the same new SA pair (A's SPI In is B's
#     SPI Out and back), each kernel holds those SAs (`ip xfrm state`), and
#     they carry the traffic in both directions (a read takes seconds in UML:
#     when the next rekey comes first, that one is checked; at least 2);
#   - the tunnel stays Active with its number; the tunnel cache holds at most
#     two pairs (the current one and the replaced one until its hard limit);
#   - both ends list phase 1 re-established (Rekeys >= 1, the same cookies),
#     the phase 2 tunnel still on phase 1 tunnel 1;
#   - syslog has no "rekey failed", and no log holds the PSK.
# Keys are never printed: only SPIs and counters are read from `ip xfrm state`.
# A rekey comes from the kernel's timer at a fixed time after the SAs were
# installed, whatever the load; the window (iperf3 -t) is long enough for three
# of them after the first pair (3 x 18 s at most, each switch of the outbound
# SA 1 s later) and ping is stopped when iperf3 ends.
set -euo pipefail
source "$(dirname "$0")/../lib/uml.sh"

if [[ -z ${IKE_IN_UML:-} ]]; then
  t_require_root
  uml_require
  t_require_suite
  uml_run 300 "$0"
  exit
fi

# ---- inside user-mode Linux ---------------------------------------------------------
IKE_WAIT=${IKE_WAIT:-60}
source "$IKE_SRC/tests/lib/ike.sh"
source "$IKE_SRC/tests/lib/uml_traffic.sh"
t_require_netns
t_require_cmd rsyslogd logger ping iperf3
t_require_suite

P2LIFE=20
P1LIFE=40
WINDOW=${UML_REKEY_WINDOW:-60}
RATE=${UML_REKEY_RATE:-2M}

dump_both() { ike_dump A; ike_dump B; }
# check DESCRIPTION CMD...: t_check, and the test goes on when it fails (set -e)
check() { t_check "$@" || true; }

# A datagram must not be dropped for want of socket buffer while the instance
# is descheduled (the host is busy): 4 MB a socket (global: this kernel only).
sysctl -qw net.core.rmem_max=8388608 net.core.rmem_default=4194304

ike_lab 270
psk="uml-rekey-$RANDOM$RANDOM-$$"
for h in A B; do
  ike_write_db "$h" p1life=$P1LIFE p2life=$P2LIFE minlife=10
  ike_write_psk "$h" "$(host_addr "$(_ike_other "$h")")" "$psk"
done
for h in A B; do
  ike_start "$h" || { echo "$IKE_OUT" | indent; t_abort "$h: startsrc -g ike failed"; }
done
for h in A B; do
  src_wait_all "$h" active 30 || t_abort "$h: the suite is not active"
done
ike_cmd A cmd=activate numlist=1 >/dev/null 2>&1 || t_fail "A: ike cmd=activate numlist=1 failed"
for h in A B; do
  ike_wait_status "$h" 2 Active "$IKE_WAIT" || { dump_both; t_abort "$h: phase 2 not Active"; }
done
t_pass "A and B: phase 2 Active, lifetimes $P1LIFE s (phase 1) and $P2LIFE s (phase 2)"

# ikeq X ARGS...: `ike ARGS...` for X. tmd's socket is a path, so no
# `ip netns exec` is needed: in UML every process start costs, and the rekeys
# do not wait.
ikeq() {
  local d=${HOST_DIR[$1]}
  shift
  IKE_RUNDIR=$d/run IKE_CONFDIR=$d/etc "$IKE_BIN/ike" "$@" 2>/dev/null
}
# p2 X: the fields of X's phase 2 block (`ike cmd=list verbose phase=2`) in
# P2[label]; P2_BLOCKS counts the phase 2 blocks.
declare -gA P2=()
P2_BLOCKS=0
p2_parse() {
  local line
  P2=() P2_BLOCKS=0
  while IFS= read -r line; do
    [[ $line =~ ^Phase:\ +2$ ]] && P2_BLOCKS=$((P2_BLOCKS + 1))
    [[ $line =~ ^([A-Za-z0-9/ ]+):\ +(.*)$ ]] && P2[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
  done
  return 0
}
p2() { p2_parse <<<"$(ikeq "$1" cmd=list verbose phase=2)"; }
# cache_sas X: rows (SAs) in X's tunnel cache (`ike cmd=list cache`)
cache_sas() {
  local line n=0
  while read -r line; do [[ $line =~ ^[0-9]+\  ]] && n=$((n + 1)); done <<<"$(ikeq "$1" cmd=list cache)"
  echo "$n"
}
# in_kernel SAS SPI: SAS (xfrm_counters: "SPI BYTES PACKETS" lines) has SPI
in_kernel() { [[ $'\n'$1 == *$'\n'"$2 "* ]]; }
packets_of() {
  local spi p
  while read -r spi _ p; do [[ $spi == "$2" ]] && { echo "$p"; return; }; done <<<"$1"
  echo 0
}
spis_of() {
  local spi out=
  while read -r spi _; do out+="$spi "; done <<<"$1"
  echo "${out% }"
}

p2 A
tunnel=${P2[Tunnel Id]:-}
[[ $tunnel =~ ^[0-9]+$ ]] || { dump_both; t_abort "A: no phase 2 tunnel number in list verbose"; }
rekeys0=${P2[Rekeys]:-0}
t_info "A: tunnel $tunnel, SPI In ${P2[SPI In]:-} Out ${P2[SPI Out]:-}, Rekeys $rekeys0"

# A's syslog, read as it grows (bash's read: no process): NEW gets the
# complete lines written since the last call.
exec {logfd}<"$(host_syslog A)"
_partial=
read_new() {
  local l
  NEW=()
  while true; do
    if IFS= read -r -u "$logfd" l; then
      NEW+=("$_partial$l")
      _partial=
    else
      _partial+=$l
      return 0
    fi
  done
}
read_new # what came before the traffic

# ---- the traffic ------------------------------------------------------------------------
# -i 0.009: this kernel's timer rounds ping's 10 ms wait up to the next 10 ms
# tick (-i 0.01 sends every 20 ms here); 9 ms gives one request every 10 ms.
ping_out="$LAB_DIR/ping.out"
timeout -s INT $((WINDOW + 120)) ip netns exec "$(host_ns A)" \
  ping -D -i 0.009 -W 2 -I "$(host_net A)" "$(host_net B)" </dev/null >"$ping_out" 2>&1 &
ping_pid=$!
t_start=$SECONDS
iperf_udp_start A "$(host_net A)" B "$(host_net B)" "$WINDOW" "$RATE" ||
  t_fail "iperf3 UDP did not start: $IPERF_OUT"
t_info "traffic started: ping -i 0.009 and iperf3 -u -b $RATE -t $WINDOW"

# check_rekey K: after A logged rekey K (or a later one), both ends list one
# pair (A's SPI In is B's SPI Out and back, the same Rekeys on both), both
# kernels hold it, and its outbound SAs carry the traffic. Both new outbound
# SAs go in a second after Quick Mode 2 (A) or 3 (B): the first read waits
# for them; while an outbound SA has counted nothing yet, only the kernels are
# read again. A read that finds the ends at different rekeys is repeated. One
# read is two `ike cmd=list verbose` and two `ip -s xfrm state` (SPIs and
# counters kept, no keys), run at once: on a busy machine it takes over 10 s in
# UML, so a read may find a later rekey than K, and that is the one checked.
declare -A confirmed=()
max_sas=0 bad_status=0 bad_number=0 refuted=0
snap="$LAB_DIR/snap"
read_kernels() {
  local pids
  xfrm_counters A >"$snap-kA" &
  pids=($!)
  xfrm_counters B >"$snap-kB" &
  pids+=($!)
  wait "${pids[@]}" || true
  IFS= read -r -d '' KA <"$snap-kA" || true
  IFS= read -r -d '' KB <"$snap-kB" || true
  KA=${KA%$'\n'} KB=${KB%$'\n'}
}
check_rekey() {
  local k=$1 t0 why pa pb pids ra rb ai ao bi bo sa sb L i j which
  sleep 1.5
  for ((i = 0; i < 4; i++)); do
    t0=$SECONDS
    ikeq A cmd=list verbose phase=2 >"$snap-A" &
    pids=($!)
    ikeq B cmd=list verbose phase=2 >"$snap-B" &
    pids+=($!)
    read_kernels
    wait "${pids[@]}" || true
    p2_parse <"$snap-A"
    ra=${P2[Rekeys]:-} ai=${P2[SPI In]:-} ao=${P2[SPI Out]:-} sa=${P2[Status]:-}
    [[ ${P2[Tunnel Id]:-} == "$tunnel" ]] || bad_number=$((bad_number + 1))
    p2_parse <"$snap-B"
    rb=${P2[Rekeys]:-} bi=${P2[SPI In]:-} bo=${P2[SPI Out]:-} sb=${P2[Status]:-}
    [[ $sa == Active && $sb == Active ]] || bad_status=$((bad_status + 1))
    why="A (Rekeys $ra, $sa) lists in $ai out $ao, B (Rekeys $rb, $sb) in $bi out $bo"
    # an end between two rekeys: read again
    [[ $ra =~ ^[0-9]+$ && $ra == "$rb" ]] || { sleep 1; continue; }
    if [[ $ai != 0x* || $ao != 0x* || $ai != "$bo" || $ao != "$bi" ]]; then
      t_fail "rekey $ra: A and B list different pairs: $why"
      refuted=$((refuted + 1))
      return
    fi
    # the kernels: the pair, and packets on its outbound SAs (they may follow)
    for ((j = 0; j < 3; j++)); do
      mapfile -t L <<<"$KA"
      ((${#L[@]} > max_sas)) && max_sas=${#L[@]}
      mapfile -t L <<<"$KB"
      ((${#L[@]} > max_sas)) && max_sas=${#L[@]}
      if in_kernel "$KA" "$ai" && in_kernel "$KA" "$ao" && in_kernel "$KB" "$bi" &&
        in_kernel "$KB" "$bo"; then
        pa=$(packets_of "$KA" "$ao") pb=$(packets_of "$KB" "$bo")
        if ((pa > 0 && pb > 0)); then
          which="rekey $ra"
          [[ $ra == "$k" ]] || which+=" (read after A logged rekey $k)"
          t_pass "$which: $why; A's kernel holds $(spis_of "$KA")," \
            "B's $(spis_of "$KB"); the new outbound SAs counted $pa (A) and $pb (B) packets" \
            "(read in $((SECONDS - t0)) s)"
          confirmed[$ra]=1
          return
        fi
      fi
      sleep 1
      read_kernels
    done
    break
  done
  t_fail "rekey $k: not confirmed: $why; A's kernel: $(spis_of "$KA"); B's: $(spis_of "$KB")" \
    "(want the same pair listed on both, in both kernels, packets on both outbound SAs)"
  refuted=$((refuted + 1))
}

rekey_at=() rekeys_seen=0
while [[ -n $IPERF_UDP_PID ]] && kill -0 "$IPERF_UDP_PID" 2>/dev/null; do
  read_new
  newest=
  for line in "${NEW[@]}"; do
    # "tunnel 1 phase 2 ...: rekeyed (K) as Initiator: new SPIs in 0x... out 0x... (outbound in 1 s)"
    if [[ $line =~ rekeyed\ \(([0-9]+)\)\ as\ [A-Za-z]+:\ new\ SPIs ]]; then
      newest=${BASH_REMATCH[1]}
      rekeys_seen=$((rekeys_seen + 1))
      rekey_at+=($((SECONDS - t_start)))
      t_info "A: rekey $newest logged after $((SECONDS - t_start)) s of traffic"
    fi
  done
  [[ -n $newest ]] && check_rekey "$newest"
  sleep 1
done
# iperf3 ended: ping stops now (SIGINT: it prints its summary)
kill -INT "$ping_pid" 2>/dev/null || true
wait "$ping_pid" 2>/dev/null || true
t_end=$SECONDS
iperf_udp_wait || t_fail "iperf3 UDP: no result: $IPERF_OUT"
t_info "traffic ran $((t_end - t_start)) s; rekeys after ${rekey_at[*]:-(none)} s"

# ---- what the traffic saw ---------------------------------------------------------------
# ping -D: "[EPOCH] 64 bytes from ...: icmp_seq=N ...". Lost: a request without a
# reply while later ones got theirs. The last few may be in flight at the stop.
read -r sent got top gaps rate <<<"$(awk '
  /packets transmitted/ { sent = $1 }
  match($0, /icmp_seq=[0-9]+/) {
    s = substr($0, RSTART + 9, RLENGTH - 9) + 0; seen[s] = 1; got++
    if (s > top) top = s
    t = substr($1, 2, length($1) - 2) + 0; if (!t0) t0 = t; t1 = t
  }
  END {
    for (i = 1; i < top; i++) if (!(i in seen)) gaps++
    printf "%d %d %d %d %.0f\n", sent, got, top, gaps, (t1 > t0 ? (top - 1) / (t1 - t0) : 0)
  }' "$ping_out")"
tail -n 2 "$ping_out" | indent
if ((sent > 0 && gaps == 0 && sent - top <= 3)); then
  t_pass "ping every 10 ms ($rate a second): $sent sent, $got answered, 0 lost" \
    "($((sent - top)) still in flight when ping was stopped)"
else
  t_fail "ping every 10 ms: $sent sent, $got answered, $gaps lost before the last answer," \
    "$((sent - top)) unanswered after it"
  # when: the time of the reply before each lost one, and syslog of that second
  awk 'match($0, /icmp_seq=[0-9]+/) { s = substr($0, RSTART + 9, RLENGTH - 9) + 0
         at[s] = substr($1, 2, length($1) - 2); if (s > top) top = s }
       END { for (i = 2; i < top; i++) if (!(i in at) && ((i - 1) in at)) {
               printf "%d %s\n", i, at[i - 1]; if (++k == 10) break } }' "$ping_out" >"$LAB_DIR/lost"
  secs=()
  while read -r seq at; do
    printf -v when '%(%H:%M:%S)T' "${at%.*}"
    echo "    | icmp_seq $seq lost, sent after $when.${at#*.}"
    secs+=("$when")
  done <"$LAB_DIR/lost"
  for h in A B; do
    echo "    | $h's syslog in those seconds:"
    awk -v s=" ${secs[*]} " 'index(s, " " substr($1, 12, 8) " ")' "$(host_syslog "$h")" | redact | indent
  done
fi
if ((IPERF_UDP_PACKETS > 0 && IPERF_UDP_LOST == 0)); then
  t_pass "iperf3 UDP at $RATE: $IPERF_UDP_SENT datagrams sent, $IPERF_UDP_PACKETS counted" \
    "by the receiver, 0 lost"
else
  t_fail "iperf3 UDP at $RATE: $IPERF_UDP_SENT sent, $IPERF_UDP_PACKETS counted, $IPERF_UDP_LOST lost"
fi
t_info "iperf3 UDP: $((IPERF_RATE / 1000)) kbit/s at the receiver;" \
  "$((IPERF_UDP_SENT - IPERF_UDP_PACKETS)) sent after the receiver's last count"
# The kernels' own count of what XFRM dropped, in and out: an ESP packet for
# an SA the receiver does not have (XfrmInNoStates) or has only as the larval
# state of its SPI, without keys yet (XfrmAcquireError), an outbound packet
# without an SA (XfrmOutNoStates), ... All 0 on both ends.
for h in A B; do
  stats=$(ip netns exec "$(host_ns "$h")" cat /proc/net/xfrm_stat 2>&1 || true)
  nonzero=$(awk 'NF == 2 && $2 != 0 { printf "%s %s, ", $1, $2 }' <<<"$stats")
  if [[ $stats == *XfrmInNoStates* && -z $nonzero ]]; then
    t_pass "$h: /proc/net/xfrm_stat all 0: XFRM dropped nothing"
  else
    t_fail "$h: XFRM dropped packets: ${nonzero%, }"
  fi
done

# ---- the tunnel after the rekeys -------------------------------------------------------
p2 A
r=${P2[Rekeys]:-0}
check "A: $((r - rekeys0)) rekeys during the traffic (Rekeys: $r; want >= 3)" [ $((r - rekeys0)) -ge 3 ]
# A read takes seconds, on a busy machine over 10 s: the next rekey may come
# before one is read, and then that one is checked. Every read must agree, and
# at least 2 different pairs (rekeys) be confirmed (all 3-4 on a quiet machine).
check "rekeys confirmed on both ends and in both kernels: ${!confirmed[*]} (${#confirmed[@]} of\
 the $rekeys_seen A logged during the traffic; want >= 2), none refuted ($refuted)" \
  [ "${#confirmed[@]}" -ge 2 -a "$refuted" -eq 0 ]
check "the tunnel was Active on both ends at every check" [ "$bad_status" -eq 0 ]
check "A: the tunnel kept its number $tunnel at every check" [ "$bad_number" -eq 0 ]
if ((max_sas <= 4)); then
  t_pass "at most 2 pairs in either kernel at every check (at most $max_sas SAs)"
elif grep -q "both ends rekeyed at once" "$(host_syslog A)" "$(host_syslog B)"; then
  t_info "$max_sas SAs in a kernel at a check: both ends had rekeyed at once (logged)"
else
  t_fail "$max_sas SAs in a kernel at a check: more than 2 pairs"
fi
for h in A B; do
  p2 "$h"
  check "$h: one phase 2 tunnel, number $tunnel, Active at the end (${P2_BLOCKS} listed:\
 tunnel ${P2[Tunnel Id]:-?} ${P2[Status]:-?}, Rekeys ${P2[Rekeys]:-?})" \
    [ "$P2_BLOCKS" -eq 1 -a "${P2[Status]:-}" == Active -a "${P2[Tunnel Id]:-}" == "$tunnel" ]
  c=$(cache_sas "$h")
  check "$h: the tunnel cache holds at most 2 pairs ($c SAs)" [ "$c" -le 4 ]
done

# Phase 1: re-established during the traffic (a new ISAKMP SA, the same row).
declare -A p1_cookies=()
for h in A B; do
  p1=$(ikeq "$h" cmd=list verbose phase=1)
  r1=$(awk -F': +' '$1 == "Rekeys" { print $2; exit }' <<<"$p1")
  p1_cookies[$h]=$(awk -F': +' '$1 ~ /^(Initiator|Responder) Cookie$/ { printf "%s ", $2 }' <<<"$p1")
  p1_status=$(awk -F': +' '$1 == "Status" { print $2; exit }' <<<"$p1")
  check "$h: phase 1 re-established during the traffic (Rekeys: ${r1:-?}; want >= 1), $p1_status" \
    [ "${r1:-0}" -ge 1 -a "$p1_status" == Active ]
done
check "A and B list the same ISAKMP SA (cookies ${p1_cookies[A]:-?} and ${p1_cookies[B]:-?})" \
  [ -n "${p1_cookies[A]}" -a "${p1_cookies[A]}" == "${p1_cookies[B]}" ]
check "A: syslog: phase 1 re-established, the new ISAKMP SA took over" \
  grep -q "re-established (1)" "$(host_syslog A)"

for h in A B; do
  f=$(host_syslog "$h")
  t_info "$h: $(grep -c "rekeyed (" "$f" || true) 'rekeyed' lines," \
    "$(grep -c "previous SA pair" "$f" || true) 'previous SA pair' lines," \
    "$(grep -c "both ends rekeyed at once" "$f" || true) collisions"
  if grep -Eq "rekey failed|before a rekey replaced it" "$f"; then
    grep -E "rekey failed|before a rekey replaced it" "$f" | redact | indent
    t_fail "$h: syslog has a failed rekey or a tunnel lost at its hard limit"
  else
    t_pass "$h: no 'rekey failed' in syslog"
  fi
done
# The replaced pair expires on both ends at about the same time; the first
# to see it removes it and tells the other.
check "a replaced pair was removed at its hard limit, the peer told" \
  grep -q "previous SA pair expired (SA" "$(host_syslog A)" "$(host_syslog B)"

((T_FAILS == 0)) || dump_both
for h in A B; do ike_stop "$h" >/dev/null 2>&1 || true; done
# every file of the lab (syslog, the daemons' output, ping, iperf3), after the stop
leaks=$(grep -rlF --exclude=psk.db -- "$psk" "$LAB_DIR" 2>/dev/null || true)
if [[ -z $leaks ]]; then
  t_pass "no file of the lab but psk.db holds the PSK (syslog of A and B included)"
else
  t_fail "the PSK is in: $leaks"
fi
t_done
