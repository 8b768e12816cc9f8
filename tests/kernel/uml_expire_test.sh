#!/usr/bin/env bash
# Kernel expire events (issues 8.3 and 9.2), inside user-mode Linux: a tunnel
# whose phase 2 lifetime is 1 KB (lifetime_kbytes: 1; the kernel's hard limit
# 1024 bytes, its soft limit 922). The kernel checks an SA's limits before it
# counts a packet: the hard limit first (the packet is dropped and the SA
# deleted), then the soft one (reported once; the packet passes). The traffic
# is shaped so that each step is certain:
#
# 1. Soft volume limit -> rekey. B drops ESP (iptables) while A sends 11
#    echo requests of 100 bytes: the 11th finds 1000 bytes counted on A's
#    outbound SA, past the soft limit (A logs "reached its soft volume
#    (lifetime_kbytes) limit; rekeying") and, counted, takes it past the hard
#    one. Only A counted them, so only A rekeys (B would have reached its own
#    soft limit with the same packet: both ends rekeying at once is another
#    test's subject).
# 2. Hard limit of the replaced pair -> that pair only goes. The initiator's
#    new outbound SA follows 1 s after Quick Mode 2; a datagram A sends in that
#    second still takes the old outbound SA, and finds its hard limit: tmd
#    logs "previous SA pair expired (SA 0x..., hard volume (lifetime_kbytes)
#    limit); the pair removed, the peer told", B removes its copy on the
#    Delete, and the tunnel stays Active with its number on the new pair,
#    which carries a ping (the only pair in either kernel).
# 3. Hard limit of the current pair, no rekey -> the tunnel goes. One echo
#    request of 828 bytes takes the new pair from 252 bytes (3 pings) past
#    1024 without a soft report (252 < 922 when it is checked); the next
#    request finds the hard limit: "expired (hard volume (lifetime_kbytes)
#    limit) before a rekey replaced it; tunnel removed, the peer told". The
#    tunnel leaves `ike cmd=list` on both sides, nothing of it stays in either
#    kernel, the ISAKMP SA stays.
set -euo pipefail
source "$(dirname "$0")/../lib/uml.sh"

if [[ -z ${IKE_IN_UML:-} ]]; then
  t_require_root
  uml_require
  t_require_suite
  # B drops ESP for a while: a tc filter on its link (UML kernels have no
  # nf_tables for IPv4, and from 7.x no legacy iptables either)
  UML_KERNEL_MODULES+=(sch_ingress cls_u32 act_gact)
  uml_run 400 "$0"
  exit
fi

# ---- inside user-mode Linux ---------------------------------------------------------
IKE_WAIT=${IKE_WAIT:-60}
source "$IKE_SRC/tests/lib/ike.sh"
source "$IKE_SRC/tests/lib/uml_traffic.sh"
t_require_netns
t_require_cmd rsyslogd logger ping tc python3
dump_both() { ike_dump A; ike_dump B; }
# check DESCRIPTION CMD...: t_check, and the test goes on when it fails (set -e)
check() { t_check "$@" || true; }
redact_keys() { sed -E 's/(0x)[0-9a-f]{16,}/\1<key>/g'; }

ike_lab 360
net_a=$(host_net A) net_b=$(host_net B)
log_a=$(host_syslog A) log_b=$(host_syslog B)
psk="uml-expire-$RANDOM$RANDOM-$$"
for h in A B; do
  ike_write_db "$h" kbytes=1
  ike_write_psk "$h" "$(host_addr "$(_ike_other "$h")")" "$psk"
done
for h in A B; do
  ike_start "$h" || { echo "$IKE_OUT" | indent; t_abort "$h: startsrc -g ike failed"; }
done
for h in A B; do
  src_wait_all "$h" active 30 || t_abort "$h: the suite is not active"
done
ike_cmd A cmd=activate numlist=1 >/dev/null 2>&1 || t_fail "A: ike cmd=activate failed"
for h in A B; do
  ike_wait_status "$h" 2 Active "$IKE_WAIT" || { dump_both; t_abort "$h: phase 2 not Active"; }
done
t_pass "A and B: phase 2 Active with a 1 KB lifetime"
tunnel=$(ike_list A 2>/dev/null | awk '$1 == 2 && $2 ~ /^[0-9]+$/ { print $2; exit }')
out=$(ip netns exec "$(host_ns A)" ip -s xfrm state | grep -c "soft 922(bytes), hard 1024(bytes)" || true)
if ((out == 2)); then
  t_pass "A: both SAs carry the 922/1024-byte soft/hard limits in the kernel"
else
  ip netns exec "$(host_ns A)" ip -s xfrm state | redact_keys | indent
  t_fail "A: the SAs do not carry the 922/1024-byte limits ($out of 2)"
fi

# field X LABEL: "LABEL:" of X's phase 2 block in `ike cmd=list verbose`
field() {
  ike_list "$1" verbose phase=2 2>/dev/null |
    awk -v l="$2:" 'index($0, l) == 1 { sub(/^[^:]*:[ ]*/, ""); print; exit }'
}
# kernel_spis X: the SPIs in X's kernel, sorted, on one line
kernel_spis() { xfrm_counters "$1" | awk '{ print $1 }' | sort | xargs; }
old_spis_a=$(kernel_spis A) old_spis_b=$(kernel_spis B)

# ---- 1. the soft volume limit starts a rekey --------------------------------------------
if ! { tc -n "$(host_ns B)" qdisc add dev "${HOST_IF[B]}" ingress &&
  tc -n "$(host_ns B)" filter add dev "${HOST_IF[B]}" ingress protocol ip u32 \
    match ip protocol 50 0xff action drop; }; then
  t_abort "B: tc filter dropping ESP on ${HOST_IF[B]} failed"
fi
# 2. is prepared now: a watcher in A's namespace sends one datagram between
# protected addresses as soon as A's tmd logs the new pair (Quick Mode 2, the
# new outbound SA 1 s away). It reads the syslog file every 5 ms.
watch_out="$LAB_DIR/watcher.out"
ip netns exec "$(host_ns A)" python3 -c '
import socket, sys, time
log, src, dst, pattern, ready = sys.argv[1:6]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
f = open(log, errors="replace")
open(ready, "w").close()
buf, deadline = "", time.time() + 120
while time.time() < deadline:
    chunk = f.read()
    if not chunk:
        time.sleep(0.005)
        continue
    buf = buf[-4096:] + chunk
    if pattern in buf:
        t = time.time()
        try:
            s.sendto(b"x" * 56, (dst, 9))
            print("sent %.6f" % t, flush=True)
        except OSError as e:  # the kernel may refuse it at once (the SA at its hard limit)
            print("sent %.6f (%s)" % (t, e), flush=True)
        sys.exit(0)
print("timeout: no line with: " + pattern, flush=True)
sys.exit(1)
' "$log_a" "$net_a" "$net_b" "rekeyed (1) as Initiator" "$LAB_DIR/watcher.ready" \
  </dev/null >"$watch_out" 2>&1 &
watch_pid=$!
wait_until 60 test -e "$LAB_DIR/watcher.ready" || t_abort "the watcher did not start: $(cat "$watch_out")"

# 11 x 100 bytes: 10 counted (1000) before the 11th is checked: soft, and it passes
ip netns exec "$(host_ns A)" ping -c 11 -s 72 -i 0.05 -W 1 -I "$net_a" "$net_b" >/dev/null 2>&1 || true
if wait_until 20 grep -q "SA 0x[0-9a-f]* reached its soft volume (lifetime_kbytes) limit; rekeying" "$log_a"; then
  t_pass "A: the soft volume limit started a rekey"
  grep "reached its soft volume" "$log_a" | head -n 1 | redact | indent
else
  dump_both
  t_fail "A: no 'reached its soft volume (lifetime_kbytes) limit; rekeying' line from tmd"
fi

if grep -q "reached its soft" "$log_b"; then
  grep "reached its soft" "$log_b" | redact | indent
  t_fail "B: a soft limit report, though B dropped every ESP packet before counting it"
else
  t_pass "B: no soft limit report (B counted none of the dropped packets): A alone rekeys"
fi

# ---- 2. the replaced pair's hard limit removes that pair only ---------------------------
wait "$watch_pid" || t_fail "the watcher sent nothing: $(cat "$watch_out")"
t_info "watcher: $(cat "$watch_out") (the new pair was logged at" \
  "$(grep -m1 "rekeyed (1) as Initiator" "$log_a" | cut -c12-26))"
if wait_until 20 grep -q "previous SA pair expired (SA 0x[0-9a-f]*, hard volume (lifetime_kbytes) limit); the pair removed, the peer told" "$log_a"; then
  t_pass "A: the replaced pair reached its hard volume limit: that pair removed, the peer told"
  grep "previous SA pair expired" "$log_a" | head -n 1 | redact | indent
else
  t_fail "A: no 'previous SA pair expired (SA ..., hard volume (lifetime_kbytes) limit)' line"
fi
wait_until 10 grep -q "now sending on the new outbound SA" "$log_a" ||
  t_fail "A: the new outbound SA was not installed"
if wait_until 20 grep -q "previous SA pair deleted by the peer" "$log_b"; then
  t_pass "B: the replaced pair removed on A's Delete"
else
  t_fail "B: no 'previous SA pair deleted by the peer' line"
fi
tc -n "$(host_ns B)" qdisc del dev "${HOST_IF[B]}" ingress ||
  t_fail "B: removing the tc filter that drops ESP failed"
if grep -q "before a rekey replaced it" "$log_a" "$log_b"; then
  grep "before a rekey replaced it" "$log_a" "$log_b" | redact | indent
  t_fail "a tunnel was removed at its hard limit during the rekey"
fi
for h in A B; do
  st=$(ike_status "$h" 2)
  n=$(ike_list "$h" 2>/dev/null | awk '$1 == 2 && $2 ~ /^[0-9]+$/ { print $2 }' | xargs)
  check "$h: the tunnel stays Active with its number ($st, tunnel $n; was $tunnel)" \
    [ "$st" == Active -a "$n" == "$tunnel" ]
done
ai=$(field A "SPI In") ao=$(field A "SPI Out") bi=$(field B "SPI In") bo=$(field B "SPI Out")
ra=$(field A Rekeys) rb=$(field B Rekeys)
check "A and B list the new pair (A in $ai out $ao, B in $bi out $bo), Rekeys $ra and $rb" \
  [ -n "$ai" -a "$ai" == "$bo" -a "$ao" == "$bi" -a "$ra" == 1 -a "$rb" == 1 ]
want=$(printf '%s\n' "$ai" "$ao" | sort | xargs)
for h in A B; do
  now=$(kernel_spis "$h")
  check "$h: only the new pair in the kernel ($now; before the rekey: $( [[ $h == A ]] && echo "$old_spis_a" || echo "$old_spis_b"))" \
    [ "$now" == "$want" ]
done
if host_ping A "$net_a" "$net_b" 3; then
  t_pass "A: ping through the new pair: 3/3"
else
  echo "$HOST_PING_OUT"
  t_fail "A: no ping through the new pair"
fi
xfrm_counters A | sed 's/^/    | A: SA /; s/$/ (bytes packets)/'

# ---- 3. the current pair's hard limit, no rekey: the tunnel goes ------------------------
ip netns exec "$(host_ns A)" ping -c 2 -s 800 -i 0.5 -W 1 -I "$net_a" "$net_b" >/dev/null 2>&1 || true
if wait_until 20 grep -q "SA 0x[0-9a-f]* expired (hard volume (lifetime_kbytes) limit) before a rekey replaced it; tunnel removed, the peer told" "$log_a"; then
  t_pass "A: the current pair reached its hard limit with no rekey: tunnel removed, the peer told"
  grep "before a rekey replaced it" "$log_a" | head -n 1 | redact | indent
else
  dump_both
  t_fail "A: no 'expired (hard volume (lifetime_kbytes) limit) before a rekey replaced it' line"
fi
if (($(grep -c "reached its soft" "$log_a" || true) == 1)); then
  t_pass "A: no soft report for the current pair (its limits were passed in one packet)"
else
  t_fail "A: $(grep -c "reached its soft" "$log_a" || true) soft reports (want 1, the first pair's)"
fi
for h in A B; do
  if wait_until 20 ike_no_phase2 "$h"; then
    t_pass "$h: the phase 2 tunnel left ike cmd=list"
  else
    ike_list "$h" 2>&1 | indent
    t_fail "$h: the phase 2 tunnel is still listed"
  fi
done
if [[ $(ike_status A 1) == Active ]]; then
  t_pass "A: phase 1 stays Active (IKEv1: the ISAKMP SA outlives its IPsec SAs)"
else
  t_fail "A: phase 1 is '$(ike_status A 1)'"
fi
_none_of_ours() { [[ $(ours "$1") == "0 0" ]]; }
for h in A B; do
  if wait_until 10 _none_of_ours "$h"; then
    st=$(ip -n "$(host_ns "$h")" xfrm state | grep -c '^src' || true)
    t_pass "$h: no SA or policy of the tunnel left in the kernel ($st SAs at all)"
  else
    echo "$OURS_OUT" | redact_keys | indent
    t_fail "$h: SAs and policies left after the expiry: $(ours "$h")"
  fi
done

for h in A B; do
  contains_secret "$(host_syslog "$h")" && t_fail "$h: syslog contains the PSK"
done
((T_FAILS == 0)) || dump_both
for h in A B; do ike_stop "$h" >/dev/null 2>&1 || true; done
t_done
