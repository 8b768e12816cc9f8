#!/usr/bin/env bash
# The interop harness itself: strongSwan <-> strongSwan in two lab namespaces
# (Main Mode PSK, aes128-sha256-modp2048, tunnel-mode ESP with PFS, libipsec).
# Needs no suite binaries. If this fails, strongswan_test.sh cannot be trusted.
set -euo pipefail
source "$(dirname "$0")/../lib/strongswan.sh"

t_require_root
t_require_netns
t_require_strongswan

lab_init 120
lab_two_hosts
psk="pair-$RANDOM-$RANDOM-$$"
for h in A B; do
  sw_configure "$h" psk="$psk"
  sw_start "$h"
  sw_load "$h"
done
t_pass "charon running on A (pid ${SW_PID[A]}) and B (pid ${SW_PID[B]}), connections loaded"

on_fail() { sw_log_tail A 40; sw_log_tail B 40; }

out=$(swanctl_on A --initiate --child net --timeout 20 2>&1) && rc=0 || rc=$?
if ((rc == 0)) && grep -q "initiate completed successfully" <<<"$out"; then
  t_pass "A: swanctl --initiate --child net completed (MM + QM)"
else
  echo "$out" | redact | tail -n 30 | indent
  t_fail "A: swanctl --initiate --child net (exit $rc)"
fi

for h in A B; do
  if wait_until 10 sw_has_sa "$h"; then
    t_pass "$h: --list-sas shows ESTABLISHED and INSTALLED"
  else
    swanctl_list_sas "$h" | indent
    t_fail "$h: --list-sas lacks ESTABLISHED/INSTALLED"
  fi
done

# libipsec carries real traffic between the protected addresses.
if timeout 10 ip netns exec "$(host_ns A)" ping -c2 -W2 -q -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1; then
  t_pass "data path: ping 198.51.100.1 -> 203.0.113.1 through the libipsec tunnel"
else
  t_fail "data path: ping through the tunnel failed"
fi

if contains_secret "$(sw_log A)" || contains_secret "$(sw_log B)"; then
  t_fail "charon.log contains the PSK (log level too high?)"
else
  t_pass "charon.log (ike=2) does not contain the PSK"
fi

swanctl_on A --terminate --ike mm-psk >/dev/null 2>&1 || true
b_has_no_sa() { ! sw_has_ike_sa B; }
if wait_until 10 b_has_no_sa; then
  t_pass "terminate on A removed the SA on B (Delete received)"
else
  t_fail "B still lists an SA after A terminated"
fi

((T_FAILS == 0)) || on_fail
t_done
