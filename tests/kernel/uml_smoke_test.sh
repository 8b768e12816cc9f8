#!/usr/bin/env bash
# The kernel-test harness itself: inside user-mode Linux (tests/lib/uml.sh), two
# namespaces joined by a veth pair protect 198.51.100.1 <-> 203.0.113.1 with an
# ESP tunnel-mode SA pair set by hand with `ip xfrm` (AES-CBC-128, HMAC-SHA2-256-128),
# first plain ESP, then ESP in UDP (RFC 3948, ports 4500). Each time: ping 3/3
# between the protected addresses, the SA counters count it, the veth carries ESP
# and no clear ICMP; and without the SAs the policies block the ping.
set -euo pipefail
source "$(dirname "$0")/../lib/uml.sh"

if [[ -z ${IKE_IN_UML:-} ]]; then
  t_require_root
  uml_require
  uml_run 540 "$0"
  exit
fi

# ---- inside user-mode Linux ---------------------------------------------------------
source "$IKE_SRC/tests/lib/netns.sh"
t_require_netns
t_require_cmd ping tcpdump python3

LAB_QUIET_DUMP=1 # no syslog here: nothing to dump on failure
lab_init 480
lab_two_hosts
A=$(host_ns A) B=$(host_ns B)
t_pass "namespaces $A and $B, veth 192.0.2.1 <-> 192.0.2.2"

# Fresh keys per run; never printed (the algorithm lines are filtered out of every
# `ip xfrm state` shown, and the output is checked for them).
rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
ENC_AB=0x$(rand_hex 16) AUTH_AB=0x$(rand_hex 32)
ENC_BA=0x$(rand_hex 16) AUTH_BA=0x$(rand_hex 32)
for k in "$ENC_AB" "$AUTH_AB" "$ENC_BA" "$AUTH_BA"; do register_secret "$k"; done
SPI_AB=0x0000a001 SPI_BA=0x0000b001

# states_without_keys NS: `ip -s xfrm state` without the algorithm lines (they
# carry the keys); what is printed also goes through redact.
states_without_keys() {
  ip -n "$1" -s xfrm state | grep -Ev '^[[:space:]]+(enc|auth|auth-trunc|aead|comp) '
}

# add_sa NS SRC DST SPI ENC AUTH [ENCAP...]: one tunnel-mode ESP SA, reqid 1.
add_sa() {
  local ns=$1 src=$2 dst=$3 spi=$4 enc=$5 auth=$6; shift 6
  ip -n "$ns" xfrm state add src "$src" dst "$dst" proto esp spi "$spi" reqid 1 mode tunnel \
    replay-window 32 enc 'cbc(aes)' "$enc" auth-trunc 'hmac(sha256)' "$auth" 128 "$@"
}

# add_sas [ENCAP...]: the pair on both hosts (A->B and B->A).
add_sas() {
  local ns
  for ns in "$A" "$B"; do
    add_sa "$ns" 192.0.2.1 192.0.2.2 "$SPI_AB" "$ENC_AB" "$AUTH_AB" "$@" || return 1
    add_sa "$ns" 192.0.2.2 192.0.2.1 "$SPI_BA" "$ENC_BA" "$AUTH_BA" "$@" || return 1
  done
}

# add_policies NS LOCAL_NET REMOTE_NET LOCAL_GW REMOTE_GW: out, in, fwd.
add_policies() {
  local ns=$1 ln=$2 rn=$3 lg=$4 rg=$5
  ip -n "$ns" xfrm policy add src "$ln/32" dst "$rn/32" dir out \
    tmpl src "$lg" dst "$rg" proto esp reqid 1 mode tunnel &&
    ip -n "$ns" xfrm policy add src "$rn/32" dst "$ln/32" dir in \
      tmpl src "$rg" dst "$lg" proto esp reqid 1 mode tunnel &&
    ip -n "$ns" xfrm policy add src "$rn/32" dst "$ln/32" dir fwd \
      tmpl src "$rg" dst "$lg" proto esp reqid 1 mode tunnel
}

# sa_counter SPI FIELD: bytes or packets of the SA with SPI, from `ip -s xfrm
# state` on stdin.
sa_counter() {
  awk -v spi="$1" -v f="$2" '
    $1 == "proto" && $2 == "esp" { s = $4; sub(/\(.*/, "", s); cur = (s == spi) }
    cur && $1 == "lifetime" && $2 == "current:" { want = 1; next }
    want { gsub(/[(),]/, " "); print (f == "bytes" ? $1 : $3); exit }'
}

# What crosses the wire is what each end sends: a capture of the packets leaving
# each veth (tcpdump -Q out). Inbound, the kernel hands the decrypted inner packet
# to the taps of the same device again, so a capture of both directions would
# show the clear-text replies after decryption.
declare -A CAP_PID=()
capture_start() {
  local name=$1 x f
  for x in A B; do
    f="$LAB_DIR/$name-$x"
    ip netns exec "$(host_ns "$x")" tcpdump -i "v$x" -Q out -n -U --immediate-mode -w "$f.pcap" \
      </dev/null >"$f.tcpdump" 2>&1 &
    CAP_PID[$x]=$!
  done
  for x in A B; do
    f="$LAB_DIR/$name-$x"
    wait_until 30 grep -qs "listening on" "$f.tcpdump" ||
      t_abort "tcpdump on v$x did not start: $(cat "$f.tcpdump")"
  done
}
capture_stop() {
  local x
  for x in A B; do kill -INT "${CAP_PID[$x]}" 2>/dev/null || true; done
  for x in A B; do wait "${CAP_PID[$x]}" 2>/dev/null || true; done
}
# capture_count NAME X FILTER: packets X sent matching the tcpdump FILTER.
capture_count() {
  timeout 30 tcpdump -n -r "$LAB_DIR/$1-$2.pcap" "$3" 2>/dev/null | grep -c . || true
}

# sent_at_least N NAME X FILTER: the capture holds N packets X sent matching FILTER.
# shellcheck disable=SC2317 # called through wait_until
sent_at_least() { (($(capture_count "$2" "$3" "$4") >= $1)); }

# check_esp_round NAME WIRE_FILTER: ping, counters on both hosts, the wire.
check_esp_round() {
  local name=$1 wire=$2 x st spi b p n
  capture_start "$name"
  if host_ping A 198.51.100.1 203.0.113.1 3; then
    t_pass "$name: ping 198.51.100.1 -> 203.0.113.1 through the SAs: 3/3 replies"
  else
    echo "$HOST_PING_OUT"
    t_fail "$name: ping through the SAs did not get 3/3 replies"
  fi
  # tcpdump writes a packet a moment after it left: wait for the expected ones
  # (or 10 s), then stop the captures and count everything they hold
  wait_until 10 sent_at_least 3 "$name" A "$wire" || true
  wait_until 10 sent_at_least 3 "$name" B "$wire" || true
  capture_stop
  for x in A B; do
    st=$(states_without_keys "$(host_ns "$x")")
    for spi in "$SPI_AB" "$SPI_BA"; do
      b=$(sa_counter "$spi" bytes <<<"$st") p=$(sa_counter "$spi" packets <<<"$st")
      if [[ $p == 3 && $b =~ ^[0-9]+$ && $b -gt 0 ]]; then
        t_pass "$name: $x's SA spi $spi counted $b bytes, $p packets (ip -s xfrm state)"
      else
        t_fail "$name: $x's SA spi $spi counted '$b' bytes, '$p' packets (expected 3 packets)"
        redact <<<"$st" | indent
      fi
    done
    n=$(capture_count "$name" "$x" "$wire")
    if ((n == 3)); then
      t_pass "$name: $x sent 3 packets matching '$wire' on v$x"
    else
      t_fail "$name: $x sent $n packets matching '$wire' on v$x, expected 3"
      timeout 30 tcpdump -n -r "$LAB_DIR/$name-$x.pcap" 2>/dev/null | head -n 20 | indent
    fi
    n=$(capture_count "$name" "$x" icmp)
    if ((n == 0)); then
      t_pass "$name: no clear-text ICMP sent on v$x"
    else
      t_fail "$name: $x sent $n clear-text ICMP packets on v$x"
    fi
  done
}

# ---- routes and policies --------------------------------------------------------
ip -n "$A" route add 203.0.113.1/32 via 192.0.2.2 src 198.51.100.1 ||
  t_abort "A: route to 203.0.113.1"
ip -n "$B" route add 198.51.100.1/32 via 192.0.2.1 src 203.0.113.1 ||
  t_abort "B: route to 198.51.100.1"
if add_policies "$A" 198.51.100.1 203.0.113.1 192.0.2.1 192.0.2.2 &&
  add_policies "$B" 203.0.113.1 198.51.100.1 192.0.2.2 192.0.2.1; then
  t_pass "policies out/in/fwd on A and B (198.51.100.1/32 <-> 203.0.113.1/32, tunnel, reqid 1)"
else
  t_abort "ip xfrm policy add failed"
fi

# ---- no SA: the out policy holds the traffic back -------------------------------------
if host_ping A 198.51.100.1 203.0.113.1 1; then
  echo "$HOST_PING_OUT"
  t_fail "without SAs the ping was not blocked"
elif grep -q ' 1 packets transmitted, 0 received' <<<"$HOST_PING_OUT"; then
  t_pass "without SAs the policy blocks the ping (0/1)"
else
  echo "$HOST_PING_OUT"
  t_fail "ping without SAs: no '1 packets transmitted, 0 received'"
fi

# ---- plain ESP ------------------------------------------------------------------------
if out=$(add_sas 2>&1); then
  t_pass "ESP SAs (tunnel, cbc(aes) 128, hmac(sha256) 128) added on A and B"
else
  echo "$out" | indent
  t_abort "ip xfrm state add proto esp failed: the kernel has no ESP?"
fi
check_esp_round esp 'ip proto 50'

# ---- ESP in UDP -------------------------------------------------------------------------
for ns in "$A" "$B"; do ip -n "$ns" xfrm state flush; done
# The receiver decapsulates only on a UDP socket with UDP_ENCAP_ESPINUDP set, as
# an IKE daemon's port 4500 socket has (linux/udp.h: UDP_ENCAP 100, ESPINUDP 2).
for x in A B; do
  ip netns exec "$(host_ns "$x")" python3 -c '
import signal, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, 100, 2)
s.bind(("0.0.0.0", 4500))
print("bound", flush=True)
signal.pause()' </dev/null >"$LAB_DIR/encap-$x.out" 2>&1 &
  wait_until 20 grep -qs bound "$LAB_DIR/encap-$x.out" ||
    t_abort "$x: no UDP_ENCAP socket on port 4500: $(cat "$LAB_DIR/encap-$x.out")"
done
t_pass "UDP_ENCAP_ESPINUDP sockets on port 4500 in A and B"
if out=$(add_sas encap espinudp 4500 4500 0.0.0.0 2>&1); then
  t_pass "ESP-in-UDP SAs (encap espinudp 4500 4500) added on A and B"
else
  echo "$out" | indent
  t_abort "ip xfrm state add ... encap espinudp failed"
fi
check_esp_round espinudp 'udp port 4500'

# ---- key material stays out of the output ---------------------------------------------
if text_contains_secret "$(for ns in "$A" "$B"; do states_without_keys "$ns"; done)"; then
  t_fail "the filtered 'ip -s xfrm state' output still carries a key"
else
  t_pass "the filtered 'ip -s xfrm state' output carries no key"
fi
t_done
