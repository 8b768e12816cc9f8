#!/usr/bin/env bash
# The peer's suite restarts (issue 9.6), state-only backend. A probes B with
# DPD (idle, 2 s x 3, action restart); B's tunnel is autostart (a bare
# `ike cmd=activate`, as a boot script runs it, starts it).
#   1. kill -9 of B's tmd, isakmpd and cpsd: srcmstr respawns them with no
#      SAs and nothing on B activates (a respawned tmd does not run the boot
#      script). A's probes go unanswered (B's new isakmpd knows no such SA),
#      A declares B dead within 2 s x (3 + 1) + slack, and, per its DPD
#      action, negotiates again: the tunnel is back without an operator.
#   2. B "reboots": kill -9 of srcmstr and the daemons, then startsrc -g ike
#      and a bare ike cmd=activate, as at boot. B's first Main Mode carries
#      INITIAL-CONTACT: A drops every older SA with B (both phases) at once,
#      before its DPD could notice, and the new tunnel is up.
# Each time: both ends Active with the same SPI pair, one phase 1 and one
# phase 2 row on A and no Failed one, only the new pair in A's tunnel cache,
# and no PSK in either syslog.
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_suite

INTERVAL=2 RETRIES=3 TRAPRETRY=5
ike_lab 200
psk="restart-test-$RANDOM$RANDOM-$$"
ike_write_db A retransmit_ms=500 tries=3 trapretry=$TRAPRETRY \
  dpd="interval_seconds: $INTERVAL retries: $RETRIES action: DPD_RESTART"
ike_write_db B retransmit_ms=500 tries=3 autostart=1 dpd="mode: DPD_OFF"
for h in A B; do
  ike_write_psk "$h" "$(host_addr "$(_ike_other "$h")")" "$psk"
done
for h in A B; do
  ike_start "$h" || { echo "$IKE_OUT" | indent; t_abort "$h: startsrc -g ike failed"; }
  src_wait_all "$h" active 10 || t_abort "$h: the suite is not active"
done

field() {
  ike_list "$1" verbose phase="${3:-2}" 2>/dev/null |
    awk -v l="$2:" 'index($0, l) == 1 { sub(/^[^:]*:[ ]*/, ""); print; exit }'
}
rows() { ike_list "$1" 2>/dev/null | awk -v p="$2" '$1 == p && $2 ~ /^[0-9]+$/' | wc -l; }
failed_rows() { ike_list "$1" 2>/dev/null | awk '$2 ~ /^[0-9]+$/ && $3 == "Failed"' | wc -l; }
cache_sas() { ike_list "$1" cache 2>/dev/null | awk '$1 ~ /^[0-9]+$/' | wc -l; }
dead_lines() { grep -c "dead: no answer to $RETRIES DPD probes" "$(host_syslog A)" || true; }
# agree_new OLD_SPI: both ends Active on a pair other than OLD_SPI, the same
# pair at both ends (A's in = B's out and back).
agree_new() {
  local ai ao
  [[ $(ike_status A 2) == Active && $(ike_status B 2) == Active ]] || return 1
  ai=$(field A "SPI In") ao=$(field A "SPI Out")
  [[ -n $ai && $ai != "$1" && $ai == "$(field B "SPI Out")" && $ao == "$(field B "SPI In")" ]]
}
# check_clean CASE: nothing stale on A once the tunnel is back.
check_clean() {
  t_check "$1: A lists one phase 1 and one phase 2 row" \
    [ "$(rows A 1)" -eq 1 -a "$(rows A 2)" -eq 1 ]
  t_check "$1: A lists no Failed row" [ "$(failed_rows A)" -eq 0 ]
  t_check "$1: A's tunnel cache holds only the new pair ($(cache_sas A) SAs)" \
    [ "$(cache_sas A)" -eq 2 ]
  ike_list A 2>/dev/null | indent
}

ike_cmd A cmd=activate numlist=1 >/dev/null || t_fail "A: ike cmd=activate numlist=1 failed"
if ike_wait_status A 2 Active 20 && ike_wait_status B 2 Active 20; then
  t_pass "phase 2 tunnel Active on A and B"
else
  ike_dump A; ike_dump B
  t_abort "the tunnel did not come up"
fi

# ---- 1. B's daemons killed; srcmstr respawns them ----------------------------
echo "==== 1. kill -9 of B's tmd, isakmpd and cpsd ===="
spi_before=$(field A "SPI In")
declare -A old_pid=()
for d in tmd isakmpd cpsd; do
  old_pid[$d]=$(src_pid B "$d")
  [[ -n ${old_pid[$d]} ]] || t_abort "B: no $d pid in lssrc"
done
# isakmpd first: an isakmpd that outlives tmd by a moment sends Deletes for
# its SAs (it does so when tmd goes), and A would rightly drop the tunnel.
kill -9 "${old_pid[isakmpd]}"
kill -9 "${old_pid[tmd]}" "${old_pid[cpsd]}"
t0=$SECONDS
respawned() {
  local d p
  for d in tmd isakmpd cpsd; do
    p=$(src_pid B "$d")
    [[ -n $p && $p != "${old_pid[$d]}" ]] || return 1
  done
}
if wait_until 20 respawned; then
  t_pass "B: srcmstr respawned tmd, isakmpd and cpsd (new PIDs $(src_pid B tmd)," \
    "$(src_pid B isakmpd), $(src_pid B cpsd))"
else
  t_fail "B: the daemons were not all respawned"
  on_host B lssrc -g ike 2>&1 | indent
fi
limit=$((INTERVAL * (RETRIES + 1) + 5))
if wait_until $((limit + 5)) bash -c "[[ \$(grep -c 'dead: no answer to $RETRIES DPD probes' '$(host_syslog A)' || true) -ge 1 ]]"; then
  took=$((SECONDS - t0))
  t_check "A: declared B dead after $took s (limit $limit s: $INTERVAL s x ($RETRIES + 1) + 5)" \
    [ "$took" -le "$limit" ]
  grep "dead: no answer" "$(host_syslog A)" | redact | indent
else
  ike_dump A
  t_abort "A: B's loss went unnoticed"
fi
if wait_until 20 agree_new "$spi_before"; then
  t_pass "1: the tunnel is back without an operator after $((SECONDS - t0)) s: A in" \
    "$(field A "SPI In") out $(field A "SPI Out") = B's out and in"
else
  ike_dump A; ike_dump B
  t_fail "1: the tunnel did not come back"
fi
check_clean 1
t_check "1: A logged the dead peer once" [ "$(dead_lines)" -eq 1 ]

# ---- 2. B reboots ---------------------------------------------------------------
echo "==== 2. B reboots: srcmstr and its daemons killed, the suite started again ===="
spi_before=$(field A "SPI In")
b_tmd=$(src_pid B tmd)
b_srcmstr=$(ps -o ppid= -p "$b_tmd" | tr -d ' ')
[[ -n $b_srcmstr && $(ps -o comm= -p "$b_srcmstr") == srcmstr ]] ||
  t_abort "B: srcmstr not found as tmd's parent ($b_srcmstr)"
kill -9 "$(src_pid B isakmpd)" # first, as in case 1
kill -9 "$b_srcmstr" "$b_tmd" "$(src_pid B cpsd)"
t0=$SECONDS
ic_before=$(grep -c "INITIAL-CONTACT from" "$(host_syslog A)" || true)
dead_before=$(dead_lines)
if ike_start B && src_wait_all B active 10; then
  t_pass "B: startsrc -g ike after the 'reboot'"
else
  echo "$IKE_OUT" | indent
  t_abort "B: startsrc -g ike failed after the kill"
fi
ike_cmd B cmd=activate >/dev/null || t_fail "B: bare ike cmd=activate (autostart) failed"
if wait_until 15 agree_new "$spi_before"; then
  t_pass "2: the tunnel is back after $((SECONDS - t0)) s: A in $(field A "SPI In")" \
    "out $(field A "SPI Out") = B's out and in"
else
  ike_dump A; ike_dump B
  t_fail "2: the tunnel did not come back after B's reboot"
fi
ic=$(grep -c "INITIAL-CONTACT from" "$(host_syslog A)" || true)
t_check "2: A honoured B's INITIAL-CONTACT (dropped the older SAs)" [ "$ic" -gt "$ic_before" ]
grep "INITIAL-CONTACT from" "$(host_syslog A)" | tail -n 1 | redact | indent
t_check "2: A did not need DPD (no new dead peer)" [ "$(dead_lines)" -eq "$dead_before" ]
check_clean 2

for h in A B; do ike_stop "$h" >/dev/null 2>&1 || true; done
if grep -rqF -- "$psk" "$(host_syslog A)" "$(host_syslog B)"; then
  t_fail "a syslog holds the PSK"
else
  t_pass "no syslog line holds the PSK"
fi
t_done
