#!/usr/bin/env bash
# Kernel expire events (issue 8.3), inside user-mode Linux: a tunnel whose
# phase 2 lifetime is 1 KB (lifetime_kbytes: 1). Traffic through it makes the
# kernel report the soft limit (logged: the moment to rekey) and then the hard
# limit, where the kernel deletes the SA: tmd removes the tunnel's remaining
# kernel state, isakmpd tells the peer (Delete), and the tunnel leaves
# `ike cmd=list` on both sides; the ISAKMP SA stays.
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
IKE_WAIT=${IKE_WAIT:-60}
source "$IKE_SRC/tests/lib/ike.sh"
t_require_netns
t_require_cmd rsyslogd logger ping
dump_both() { ike_dump A; ike_dump B; }

ike_lab 480
psk="uml-expire-$RANDOM$RANDOM-$$"
for h in A B; do
  ike_write_db "$h" kbytes=1
  ike_write_psk "$h" "$(host_addr "$(_ike_other "$h")")" "$psk"
done
for h in A B; do
  ike_start "$h" || { echo "$IKE_OUT" | indent; t_abort "$h: startsrc -g ike failed"; }
  src_wait_all "$h" active 30 || t_abort "$h: the suite is not active"
done
ike_cmd A cmd=activate numlist=1 >/dev/null 2>&1 || t_fail "A: ike cmd=activate failed"
for h in A B; do
  ike_wait_status "$h" 2 Active "$IKE_WAIT" || { dump_both; t_abort "$h: phase 2 not Active"; }
done
t_pass "A and B: phase 2 Active with a 1 KB lifetime"
out=$(ip netns exec "$(host_ns A)" ip -s xfrm state | grep -c "hard 1024(bytes)" || true)
if ((out == 2)); then
  t_pass "A: both SAs carry the 1024-byte hard limit in the kernel"
else
  ip netns exec "$(host_ns A)" ip -s xfrm state | sed -E 's/(0x)[0-9a-f]{16,}/\1<key>/g' | indent
  t_fail "A: the SAs do not carry the 1024-byte hard limit ($out of 2)"
fi

# About 12 echo requests of 84 octets reach 1 KB; send more.
ip netns exec "$(host_ns A)" ping -c 24 -i 0.2 -W 1 -I "$(host_net A)" "$(host_net B)" >/dev/null 2>&1 || true
log_a=$(host_syslog A)
if wait_until 20 grep -q "reached its soft volume (lifetime_kbytes) limit" "$log_a"; then
  t_pass "A: tmd logged the soft limit (the moment to rekey)"
else
  t_fail "A: no soft-limit line from tmd"
fi
if wait_until 20 grep -q "expired (hard volume (lifetime_kbytes) limit); tunnel removed, the peer told" "$log_a"; then
  t_pass "A: tmd logged the hard expiry and removed the tunnel"
  grep "expired (hard" "$log_a" | head -2 | indent
else
  dump_both
  t_fail "A: no hard-expiry line from tmd"
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
for h in A B; do
  pol=$(ip netns exec "$(host_ns "$h")" ip xfrm policy | grep -Ec '^\s+dir (in|out|fwd) ' || true)
  st=$(ip netns exec "$(host_ns "$h")" ip xfrm state | grep -c '^src' || true)
  if ((pol == 0 && st == 0)); then
    t_pass "$h: no SA or policy of the expired tunnel left in the kernel"
  else
    t_fail "$h: $st SAs and $pol policies left after the expiry"
  fi
done
for h in A B; do ike_stop "$h" >/dev/null 2>&1 || true; done
((T_FAILS == 0)) || dump_both
t_done
