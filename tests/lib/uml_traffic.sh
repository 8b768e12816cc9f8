# tests/lib/uml_traffic.sh -- traffic through the suite's tunnels, for the kernel
# tests inside user-mode Linux (tests/kernel/uml_*_test.sh). Source it after
# tests/lib/ike.sh (it uses the lab of tests/lib/netns.sh).
#
#   cap_start NAME SPEC...       one tcpdump per SPEC, started at once, each writing
#                                $LAB_DIR/cap-NAME-<host>.pcap; SPEC is X (X's lab
#                                interface, HOST_IF, only what X sends: -Q out) or
#                                X:IFACE:DIR (DIR in, out or inout)
#   cap_launch NAME SPEC...      the same without waiting; cap_wait waits (tcpdump
#                                takes seconds to start inside UML: overlap it)
#   cap_stop                     stop the captures cap_start started (SIGINT), wait
#   cap_read NAME X...           tcpdump -r of each X's capture, one line a packet, into
#                                $LAB_DIR/cap-NAME-X.txt (one read per capture)
#   cap_count NAME X             packets by kind in that text, into CAP_N[KIND]: esp
#                                (plain ESP, IP protocol 50), espinudp (ESP in UDP,
#                                RFC 3948), ike500, ike4500 (ISAKMP on UDP 500 / 4500
#                                with the non-ESP marker), icmp (clear-text ICMP),
#                                other, all
#   xfrm_counters X              "SPI BYTES PACKETS" per SA from `ip -s xfrm state` in X
#   cache_counters X             "SPI BYTES PACKETS" per row of `ike cmd=list cache` on X
#   ours X                       "STATES POLICIES" with tmd's reqid (0x1f......) in X
#   iperf_through X FROM Y TO SECS
#                                iperf3 server in Y bound to TO, client in X from FROM
#                                for SECS seconds (TCP); sets IPERF_SENT, IPERF_RECEIVED
#                                (bytes) and IPERF_RATE (the receiver's bits/s); IPERF_OUT
#                                holds the client's errors
#   iperf_udp_start X FROM Y TO SECS RATE
#                                the same with UDP (iperf3 -u -b RATE, 1200-byte datagrams:
#                                no fragments under ESP; paced every 10 ms, not every 1 ms:
#                                each wake-up costs in UML), started in the background;
#   iperf_udp_wait               waits for it and sets IPERF_UDP_SENT, IPERF_UDP_LOST and
#                                IPERF_UDP_PACKETS (datagrams: sent; lost and counted by the
#                                receiver, from the client's --json), IPERF_RATE, IPERF_OUT
#
# Inbound, the kernel hands the decrypted inner packet to the taps of the device
# it came in on once more (docs/testing-kernel.md), so a capture on an IPsec host
# shows clear-text replies that never crossed the wire: capture what each host
# sends (-Q out), or both directions on a host that does no IPsec (a router).

# shellcheck shell=bash
if [[ -n "${_IKE_UML_TRAFFIC_SH:-}" ]]; then return 0; fi
_IKE_UML_TRAFFIC_SH=1

declare -ga CAP_PIDS=()

CAP_STARTED=()
cap_start() { cap_launch "$@" && cap_wait; }

# cap_launch NAME SPEC...: only start the captures (tcpdump takes seconds to come
# up inside UML: do other work, then cap_wait before the traffic).
cap_launch() {
  local name=$1 spec x ifc dir f; shift
  for spec in "$@"; do
    IFS=: read -r x ifc dir <<<"$spec"
    ifc=${ifc:-${HOST_IF[$x]}} dir=${dir:-out}
    f="$LAB_DIR/cap-$name-$x"
    ip netns exec "$(host_ns "$x")" tcpdump -i "$ifc" -Q "$dir" -n -U --immediate-mode \
      -w "$f.pcap" </dev/null >"$f.tcpdump" 2>&1 &
    CAP_PIDS+=($!)
    CAP_STARTED+=("$f")
  done
}

# cap_wait: every capture cap_launch started is listening.
cap_wait() {
  local f
  for f in "${CAP_STARTED[@]}"; do
    wait_until 30 grep -qs "listening on" "$f.tcpdump" ||
      t_abort "tcpdump ($f) did not start: $(cat "$f.tcpdump")"
  done
  CAP_STARTED=()
}

cap_stop() {
  local p
  for p in "${CAP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${CAP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  CAP_PIDS=()
}

cap_read() {
  local name=$1 x f pids=(); shift
  for x in "$@"; do # in parallel: each tcpdump takes a while to start in UML
    f="$LAB_DIR/cap-$name-$x"
    timeout 30 tcpdump -n -r "$f.pcap" 2>/dev/null >"$f.txt" &
    pids+=($!)
  done
  wait "${pids[@]}" 2>/dev/null || true
}

# cap_count NAME X: counts the packets of each kind in the text cap_read wrote,
# into CAP_N[KIND] (parsed in bash: every process costs in UML). tcpdump prints
# plain ESP as "IP a > b: ESP(spi=...)", ESP in UDP as "IP a.4500 > b.4500:
# UDP-encap: ESP(...)", IKE on 4500 as "... NONESP-encap: isakmp: ...", IKE on 500
# as "IP a.500 > b.500: isakmp: ...".
declare -gA CAP_N=()
cap_count() {
  local f="$LAB_DIR/cap-$1-$2.txt" line t
  CAP_N=([esp]=0 [espinudp]=0 [ike500]=0 [ike4500]=0 [icmp]=0 [other]=0 [all]=0)
  [[ -f $f ]] || return 0
  while IFS= read -r line; do
    case $line in
      *" UDP-encap: ESP("*) t=espinudp ;;
      *" ESP(spi="*) t=esp ;;
      *" NONESP-encap: isakmp"*) t=ike4500 ;;
      *".500: isakmp"*) t=ike500 ;;
      *" ICMP "*) t=icmp ;;
      *) t=other ;;
    esac
    CAP_N[$t]=$((CAP_N[$t] + 1))
    CAP_N[all]=$((CAP_N[all] + 1))
  done <"$f"
}

# _counters: "SPI BYTES PACKETS" per SA from `ip -s xfrm state` text on stdin.
_counters() {
  local line spi='' want=0
  while read -r line; do
    if [[ $line =~ ^proto\ esp\ spi\ (0x[0-9a-f]+) ]]; then
      spi=${BASH_REMATCH[1]}
    elif [[ $line == "lifetime current:" ]]; then
      want=1
    elif ((want)) && [[ $line =~ ^([0-9]+)\(bytes\),\ ([0-9]+)\(packets\) ]]; then
      echo "$spi ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
      want=0
    fi
  done
}

# xfrm_counters X: SPI (0x%08x, as ip prints it), bytes and packets of each SA.
xfrm_counters() {
  ip -n "$(host_ns "$1")" -s xfrm state 2>/dev/null | _counters
}

# cache_counters X: the same three columns from `ike cmd=list cache` (SPI is
# column 2, Bytes and Packets the last two).
cache_counters() {
  local line f
  while read -r line; do
    read -ra f <<<"$line"
    ((${#f[@]} > 3)) && [[ ${f[1]} == 0x* ]] && echo "${f[1]} ${f[-2]} ${f[-1]}"
  done <<<"$(ike_list "$1" cache 2>/dev/null)"
  return 0
}

# ours X: "STATES POLICIES" of tmd's in X's kernel, found by tmd's reqid mark
# (0x1f000000 + tunnel number; `ip xfrm` prints reqids in decimal, 0x1f000000 =
# 520093696). isakmpd's per-socket bypass policies carry none. Two `ip` runs:
# in one `ip -batch`, a second xfrm dump prints nothing (iproute2 6.1). The
# output stays in OURS_OUT.
OURS_OUT=
ours() {
  local line r st=0 pol=0 ns
  ns=$(host_ns "$1")
  OURS_OUT="$(ip -n "$ns" xfrm state 2>&1)
$(ip -n "$ns" xfrm policy 2>&1)"
  while read -r line; do
    [[ $line =~ reqid\ ([0-9]+) ]] || continue
    r=${BASH_REMATCH[1]}
    ((r >= 520093696 && r < 536870912)) || continue
    # an SA: "proto esp spi 0x... reqid N ..."; a policy's template: "proto esp reqid N ..."
    if [[ $line == *" spi "* ]]; then st=$((st + 1)); else pol=$((pol + 1)); fi
  done <<<"$OURS_OUT"
  echo "$st $pol"
}

IPERF_SENT=0 IPERF_RECEIVED=0 IPERF_RATE=0 IPERF_OUT=
iperf_through() {
  local x=$1 from=$2 y=$3 to=$4 secs=$5 f
  f="$LAB_DIR/iperf-server.out"
  IPERF_SENT=0 IPERF_RECEIVED=0 IPERF_RATE=0 IPERF_OUT=
  # one client, then the server exits; --forceflush: the "listening" line reaches the file
  timeout $((secs + 60)) ip netns exec "$(host_ns "$y")" iperf3 -s -1 -B "$to" --forceflush \
    </dev/null >"$f" 2>&1 &
  local spid=$!
  if ! wait_until 30 grep -qs "Server listening" "$f"; then
    IPERF_OUT="iperf3 server did not start: $(cat "$f")"
    kill "$spid" 2>/dev/null || true
    return 1
  fi
  local json
  json=$(timeout $((secs + 30)) ip netns exec "$(host_ns "$x")" \
    iperf3 -c "$to" -B "$from" -t "$secs" -J --connect-timeout 10000 2>&1) || true
  # the server exits after its one client; one the client never reached is stopped
  wait_until 5 eval '! kill -0 '"$spid"' 2>/dev/null' || kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  # iperf3's JSON, read in bash: "sum_sent": { ... "bytes": N, "bits_per_second": R ... }
  local re='"sum_sent":[[:space:]]*\{[^}]*"bytes":[[:space:]]*([0-9]+)'
  [[ $json =~ $re ]] && IPERF_SENT=${BASH_REMATCH[1]}
  re='"sum_received":[[:space:]]*\{[^}]*"bytes":[[:space:]]*([0-9]+)[^}]*"bits_per_second":[[:space:]]*([0-9]+)'
  [[ $json =~ $re ]] && IPERF_RECEIVED=${BASH_REMATCH[1]} IPERF_RATE=${BASH_REMATCH[2]}
  if ((IPERF_RECEIVED > 0)); then return 0; fi
  IPERF_OUT=$(grep -E '"error"' <<<"$json" || head -c 2000 <<<"$json")
  return 1
}

# iperf_udp_start X FROM Y TO SECS RATE: a UDP stream from FROM (in X) to TO (in
# Y) for SECS seconds at RATE (iperf3 -b), in the background; iperf_udp_wait
# collects it. The receiver counts lost datagrams by sequence number.
IPERF_UDP_PID='' IPERF_UDP_SPID='' IPERF_UDP_SENT=0 IPERF_UDP_LOST=0 IPERF_UDP_PACKETS=0
iperf_udp_start() {
  local x=$1 from=$2 y=$3 to=$4 secs=$5 rate=$6 f="$LAB_DIR/iperf-udp"
  IPERF_UDP_SENT=0 IPERF_UDP_LOST=0 IPERF_UDP_PACKETS=0 IPERF_RATE=0 IPERF_OUT=
  timeout $((secs + 60)) ip netns exec "$(host_ns "$y")" iperf3 -s -1 -B "$to" --forceflush \
    </dev/null >"$f-server.out" 2>&1 &
  IPERF_UDP_SPID=$!
  if ! wait_until 30 grep -qs "Server listening" "$f-server.out"; then
    IPERF_OUT="iperf3 server did not start: $(cat "$f-server.out")"
    kill "$IPERF_UDP_SPID" 2>/dev/null || true
    IPERF_UDP_SPID=
    return 1
  fi
  timeout $((secs + 40)) ip netns exec "$(host_ns "$x")" iperf3 -c "$to" -B "$from" -u \
    -b "$rate" -l 1200 --pacing-timer 10000 -t "$secs" -J --connect-timeout 10000 \
    </dev/null >"$f-client.json" 2>&1 &
  IPERF_UDP_PID=$!
}

iperf_udp_wait() {
  local f="$LAB_DIR/iperf-udp" json re
  [[ -n $IPERF_UDP_PID ]] || return 1
  wait "$IPERF_UDP_PID" 2>/dev/null || true
  IPERF_UDP_PID=
  wait_until 5 eval '! kill -0 '"$IPERF_UDP_SPID"' 2>/dev/null' || kill "$IPERF_UDP_SPID" 2>/dev/null || true
  wait "$IPERF_UDP_SPID" 2>/dev/null || true
  IPERF_UDP_SPID=
  json=$(cat "$f-client.json")
  # "sum_sent": {... "packets": N ...}; "sum_received": {... "bits_per_second": R,
  # ... "lost_packets": L, "packets": N ...} (iperf3 3.12)
  re='"sum_sent":[[:space:]]*\{[^}]*"packets":[[:space:]]*([0-9]+)'
  [[ $json =~ $re ]] && IPERF_UDP_SENT=${BASH_REMATCH[1]}
  re='"sum_received":[[:space:]]*\{[^}]*"bits_per_second":[[:space:]]*([0-9]+)[^}]*"lost_packets":[[:space:]]*([0-9]+)[^}]*"packets":[[:space:]]*([0-9]+)'
  if [[ $json =~ $re ]]; then
    IPERF_RATE=${BASH_REMATCH[1]} IPERF_UDP_LOST=${BASH_REMATCH[2]} IPERF_UDP_PACKETS=${BASH_REMATCH[3]}
  fi
  ((IPERF_UDP_PACKETS > 0)) && return 0
  IPERF_OUT=$(grep -E '"error"' <<<"$json" || head -c 2000 <<<"$json")
  return 1
}
