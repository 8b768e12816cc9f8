#!/usr/bin/env bash
# The XFRM backend on a kernel without ESP (this machine's, and CI's): both
# suites with settings.kernel_backend XFRM. Phase 1 comes up; the phase 2 SA
# cannot be installed, and the tunnel fails with one clear line naming the
# cause and the way out, in ike cmd=list and in syslog, once: no crash, no
# retry loop, no policy or SA of ours left in the kernel, before or after
# stopsrc. (Inside user-mode Linux, with ESP, tests/kernel/uml_suite_test.sh
# checks the same backend carrying traffic.)
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_suite

ike_lab 300
if ip netns exec "$(host_ns A)" ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp \
  spi 0x100 mode tunnel enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff \
  auth-trunc 'hmac(sha256)' 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 128 \
  2>/dev/null; then
  ip netns exec "$(host_ns A)" ip xfrm state flush
  t_skip "this kernel has ESP: the no-ESP path cannot be shown here (the UML tests cover ESP)"
fi
t_pass "this kernel has no ESP (ip xfrm state add ... proto esp fails)"

psk="xfrm-noesp-$RANDOM$RANDOM-$$"
for h in A B; do
  ike_write_db "$h" kernel=XFRM retransmit_ms=500 tries=3
  ike_write_psk "$h" "$(host_addr "$(_ike_other "$h")")" "$psk"
done
dump_both() { ike_dump A; ike_dump B; }

for h in A B; do
  ike_start "$h" || { echo "$IKE_OUT" | indent; t_abort "$h: startsrc -g ike failed"; }
  src_wait_all "$h" active 10 || t_abort "$h: the suite is not active"
  if wait_until 5 grep -q "kernel backend: XFRM" "$(host_syslog "$h")"; then
    t_pass "$h: tmd logged 'kernel backend: XFRM'"
  else
    t_fail "$h: tmd did not log its kernel backend"
  fi
done
tmd_pid_a=$(src_pid A tmd)

ike_cmd A cmd=activate numlist=1 >/dev/null 2>&1 || t_fail "A: ike cmd=activate failed"
if ike_wait_status A 1 Active "$IKE_WAIT"; then
  t_pass "A: phase 1 Active (IKE itself does not need ESP)"
else
  dump_both
  t_abort "A: phase 1 not Active"
fi
if ike_wait_status A 2 Failed "$IKE_WAIT"; then
  t_pass "A: phase 2 Failed"
else
  dump_both
  t_abort "A: phase 2 not Failed (status '$(ike_status A 2)')"
fi

# The reason, as the operator sees it.
out=$(ike_list A verbose 2>&1 || true)
echo "$out" | redact | indent
if grep -q "the kernel has no ESP support (esp4/esp6)" <<<"$out" &&
  grep -q "STATE_ONLY" <<<"$out"; then
  t_pass "A: ike cmd=list verbose names the cause (no ESP: esp4/esp6) and the way out"
else
  t_fail "A: ike cmd=list verbose does not name the missing ESP support"
fi
log_a=$(host_syslog A)
if wait_until 5 grep -q "the kernel has no ESP support (esp4/esp6)" "$log_a"; then
  t_pass "A: syslog names the missing ESP support"
  grep "no ESP support" "$log_a" | head -3 | redact | indent
else
  t_fail "A: syslog does not name the missing ESP support"
fi

# Once, not a retry loop: wait a few retransmission intervals and count.
sleep 3
n=$(grep -c "the kernel has no ESP support" "$log_a" || true)
if ((n >= 1 && n <= 2)); then
  t_pass "A: the failure is logged once ($n line(s) after 3 s)"
else
  t_fail "A: the failure is logged $n times in 3 s (a retry loop?)"
fi
if [[ $(src_pid A tmd) == "$tmd_pid_a" ]]; then
  t_pass "A: tmd kept its PID ($tmd_pid_a)"
else
  t_fail "A: tmd restarted (PID $tmd_pid_a -> $(src_pid A tmd))"
fi

# Nothing of ours in either kernel: the failed install left no policy, and
# the inbound SPI's larval SA is gone with the tunnel or at stop.
ours() {  # ours X: lines of our policies (priority band) and SAs (reqid band)
  ip netns exec "$(host_ns "$1")" ip xfrm policy 2>/dev/null | grep -c "priority 20[34][0-9]\{4\}" || true
}
for h in A B; do
  n=$(ours "$h")
  if ((n == 0)); then
    t_pass "$h: no XFRM policy of ours in the kernel after the failed install"
  else
    ip netns exec "$(host_ns "$h")" ip xfrm policy | indent
    t_fail "$h: $n XFRM policies left after the failed install"
  fi
done

for h in A B; do
  ike_stop "$h" || t_fail "$h: stopsrc -g ike failed"
  src_wait_all "$h" inoperative 15 || t_fail "$h: the suite did not stop"
  left=$(ip netns exec "$(host_ns "$h")" ip xfrm state 2>/dev/null | grep -c "reqid 52[0-9]\{7\}" || true)
  pol=$(ip netns exec "$(host_ns "$h")" ip xfrm policy 2>/dev/null | grep -c "^src" || true)
  if ((left == 0 && pol == 0)); then
    t_pass "$h: stopsrc -g ike left no SA (larval ones included) and no policy"
  else
    ip netns exec "$(host_ns "$h")" ip xfrm state | indent
    ip netns exec "$(host_ns "$h")" ip xfrm policy | indent
    t_fail "$h: after stopsrc: $left SAs of ours and $pol policies in the kernel"
  fi
done
((T_FAILS == 0)) || dump_both
t_done
