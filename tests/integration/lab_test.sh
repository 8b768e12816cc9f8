#!/usr/bin/env bash
# The test lab itself (no suite binaries needed): two namespaces joined by a
# veth pair, per-host rsyslogd capturing local4 through the /dev/log mount
# trick, and a clean teardown. If this fails, every other shell test would too.
set -euo pipefail
source "$(dirname "$0")/../lib/netns.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger ping

devlog_before=$(stat -c '%F %i' /dev/log 2>/dev/null || echo none)
lab_init 120
lab_two_hosts
t_pass "namespaces $(host_ns A) and $(host_ns B): A reaches B over veth"

t_check "B reaches A's protected address? (must not: no route, no tunnel)" \
  bash -c "! timeout 3 ip netns exec $(host_ns B) ping -c1 -W1 -q 198.51.100.1 >/dev/null 2>&1"

for h in A B; do
  host_start_syslog "$h"
  t_pass "rsyslogd for host $h running (pid ${HOST_SYSLOG_PID[$h]}, socket $(host_dir "$h")/log.sock)"
done

for h in A B; do
  if host_syslog_selftest "$h"; then
    t_pass "host $h: logger -p local4.notice in the /dev/log mount namespace lands in $(host_syslog "$h")"
  fi
done

# glibc syslog(3) (what the daemons use), with the ident as the program name.
probe="glibc-probe-$$"
on_host_syslog A python3 -c "
import syslog
syslog.openlog('isakmpd', syslog.LOG_PID, syslog.LOG_LOCAL4)
syslog.syslog(syslog.LOG_NOTICE, 'tunnel 0 phase 1 $probe: INIT -> WAIT SA')
syslog.openlog('isakmpd', syslog.LOG_PID, syslog.LOG_USER)
syslog.syslog(syslog.LOG_NOTICE, 'user facility $probe must not be captured')
" 2>/dev/null || true
if command -v python3 >/dev/null; then
  if wait_until 5 grep -q "isakmpd\[[0-9]*\]: tunnel 0 phase 1 $probe" "$(host_syslog A)"; then
    t_pass "syslog(3) with ident isakmpd, facility local4 captured with program name and pid"
  else
    t_fail "syslog(3) line from ident isakmpd not found in $(host_syslog A)"
  fi
  sleep 0.3
  t_check "facility user is not captured in ike.log" bash -c "! grep -q 'user facility $probe' '$(host_syslog A)'"
fi

t_check "host A's line is not in host B's log" bash -c "! grep -q '$probe' '$(host_syslog B)'"

# A daemon that detaches (like srcmstr) keeps the mount namespace and logs later.
on_host_syslog A bash -c "setsid bash -c 'sleep 0.5; logger -p local4.info -t srcmstr detached-$$' </dev/null >/dev/null 2>&1 &"
if wait_until 5 grep -q "srcmstr.*detached-$$" "$(host_syslog A)"; then
  t_pass "a detached child still logs through /dev/log after its parent exited"
else
  t_fail "detached child's syslog line did not arrive"
fi

devlog_after=$(stat -c '%F %i' /dev/log 2>/dev/null || echo none)
t_check "the machine's own /dev/log is untouched ($devlog_before)" test "$devlog_before" = "$devlog_after"
t_check "plain on_host sees the normal /dev" on_host A test -c /dev/null

t_done
