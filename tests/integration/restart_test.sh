#!/usr/bin/env bash
# The peer restarts (issue 9.6): two suites, state-only backend. A activated
# the tunnel and probes B with DPD (2 s, 3 retries, action restart); B's
# tunnel definition is flagged autostart. The design, as the cases check it:
#
#   - Nothing on B brings the tunnel back by itself after srcmstr respawns
#     its daemons: tmd does not act on the autostart flag, which only selects
#     what `ike cmd=activate autostart` (or a bare activate) starts; a host
#     runs that at boot (aix-ike.md 1.2), srcmstr does not on a respawn. B's
#     new suite knows nothing of the old SAs and cannot answer for them.
#   - Our side notices by DPD: A declares B dead within interval x (retries
#     + 1) (the first probe follows an interval of silence), removes its SAs
#     for B, lists why, and negotiates again at once (action restart) and,
#     while B does not answer, again after settings.trap_retry_seconds
#     (doubling); both rows list the DPD reason and the next try meanwhile.
#   - A rebooted B that runs its boot-time activation initiates, and its
#     first phase 1 carries INITIAL-CONTACT: A drops every older SA of that
#     definition (both phases), before DPD would have noticed; the new SA
#     takes over A's tunnel under its number. If A had already declared B
#     dead, B's SAs take A's Failed rows and end A's tries.
#   - Either way the tunnel comes back without an operator: A keeps its
#     tunnel numbers, one phase 1 and one phase 2 row on each end, nothing
#     Failed, both ends list the same SPIs, and the tunnel caches hold only
#     the new pair.
#   - By design, a tunnel whose peer restarts is not noticed when our DPD is
#     off and the peer does not initiate (not autostart, or no boot-time
#     activation): it stays listed Active until its next rekey fails or an
#     operator acts. Not tested here.
#
# Cases: 1. B's isakmpd, tmd and cpsd killed (kill -9, by PID), srcmstr
# respawns them: back by A's DPD. 2a. B rebooted (srcmstr and the daemons
# killed, then startsrc -g ike and ike cmd=activate autostart, as at boot):
# back by INITIAL-CONTACT. 2b. B rebooted and down long enough for A's DPD,
# whose restart fails while B is away (listed with the DPD reason); B's boot
# (with its activation) or A's next try brings it back, whichever is first.
# No syslog line holds the PSK.
# Functions here are called through wait_until and t_check:
# shellcheck disable=SC2317
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_suite

INTERVAL=2 RETRIES=3 TRAPRETRY=4
ike_lab 150
psk="restart-test-$RANDOM$RANDOM-$$"
ike_write_db A retransmit_ms=500 tries=3 trapretry=$TRAPRETRY \
  dpd="interval_seconds: $INTERVAL retries: $RETRIES action: DPD_RESTART"
ike_write_db B retransmit_ms=500 tries=3 autostart=1
for h in A B; do
  ike_write_psk "$h" "$(host_addr "$(_ike_other "$h")")" "$psk"
done
for h in A B; do
  ike_start "$h" || { echo "$IKE_OUT" | indent; t_abort "$h: startsrc -g ike failed"; }
  src_wait_all "$h" active 10 || t_abort "$h: the suite is not active"
done
ike_cmd A cmd=activate numlist=1 >/dev/null || t_fail "A: ike cmd=activate numlist=1 failed"
if ike_wait_status A 2 Active 20 && ike_wait_status B 2 Active 20; then
  t_pass "phase 2 tunnel Active on A and B"
else
  ike_dump A; ike_dump B
  t_abort "the tunnel did not come up"
fi

# field X LABEL [PHASE]: the value of "LABEL:" in X's verbose block of PHASE (2).
field() {
  ike_list "$1" verbose phase="${3:-2}" 2>/dev/null |
    awk -v l="$2:" 'index($0, l) == 1 { sub(/^[^:]*:[ ]*/, ""); print; exit }'
}
# rows X PHASE: "number-status" of each row of PHASE, space separated.
rows() {
  ike_list "$1" 2>/dev/null |
    awk -v p="$2" '$1 == p && $2 ~ /^[0-9]+$/ { printf "%s%s-%s", sep, $2, $3; sep = " " }'
}
agree() {
  local ai ao bi bo
  ai=$(field A "SPI In"); ao=$(field A "SPI Out"); bi=$(field B "SPI In"); bo=$(field B "SPI Out")
  [[ -n $ai && $ai == "$bo" && $ao == "$bi" ]]
}
cache_spis() { ike_cache_spis "$1" | sort | tr '\n' ' '; }
pair_spis() {
  printf '%s\n' "$(field "$1" "SPI In")" "$(field "$1" "SPI Out")" | sed 's/^0x//' | sort | tr '\n' ' '
}
count() { grep -c -- "$2" "$(host_syslog "$1")" || true; }
dead_lines() { count A "dead: no answer to $RETRIES DPD probes"; }

num1=$(rows A 1) num2=$(rows A 2)
t_info "A: phase 1 $num1, phase 2 $num2"

# back SPI_BEFORE: the tunnel is up again on both ends with a new pair.
back() {
  one_active "$(rows A 1)" "$(rows A 2)" && one_active "$(rows B 1)" "$(rows B 2)" &&
    [[ $(field A "SPI In") != "$1" ]] && agree
}
one_active() { [[ $1 =~ ^[0-9]+-Active$ && $2 =~ ^[0-9]+-Active$ ]]; }
no_failed() { ! ike_list "$1" 2>/dev/null | grep -Eq "Failed|failed:"; }
# check_clean CASE: nothing stale on either end.
check_clean() {
  local c=$1 h r1 r2
  t_check "$c: A keeps its tunnel numbers, Active (phase 1 $(rows A 1), phase 2 $(rows A 2))" \
    [ "$(rows A 1)/$(rows A 2)" == "$num1/$num2" ] || true
  for h in A B; do
    r1=$(rows "$h" 1) r2=$(rows "$h" 2)
    t_check "$c: $h: one phase 1 and one phase 2 row, both Active ($r1 / $r2)" one_active "$r1" "$r2" || true
    t_check "$c: $h: no Failed row, no failure reason listed" no_failed "$h" || true
    t_check "$c: $h: the tunnel cache holds only the listed pair ($(cache_spis "$h"))" \
      [ "$(cache_spis "$h")" == "$(pair_spis "$h")" ] || true
  done
  t_check "$c: A and B list the same SPIs (A in $(field A "SPI In") out $(field A "SPI Out"), B in $(field B "SPI In") out $(field B "SPI Out"))" \
    agree
}

# all_dpd TEXT: every failure line in TEXT gives the DPD reason.
all_dpd() { ! grep . <<<"$1" | grep -vq "DPD"; }

# pid_of X COMM: the process named COMM in X's namespace.
pid_of() {
  local p
  for p in $(ip netns pids "$(host_ns "$1")" 2>/dev/null); do
    [[ $(cat "/proc/$p/comm" 2>/dev/null) == "$2" ]] && { echo "$p"; return 0; }
  done
  return 1
}

# ---- 1. B's daemons killed, srcmstr respawns them ------------------------------
declare -A old=()
for d in isakmpd tmd cpsd; do
  old[$d]=$(src_pid B "$d")
  [[ -n ${old[$d]} ]] || t_abort "B: no pid for $d in lssrc"
done
spi=$(field A "SPI In")
dead0=$(dead_lines)
# isakmpd first: it must not see tmd go and send its Deletes (a crash sends none).
kill -9 "${old[isakmpd]}" "${old[tmd]}" "${old[cpsd]}"
t0=$SECONDS
t_info "1: B: killed isakmpd ${old[isakmpd]}, tmd ${old[tmd]}, cpsd ${old[cpsd]} (kill -9)"
respawned() {
  local d p
  for d in isakmpd tmd cpsd; do
    p=$(src_pid B "$d")
    [[ -n $p && $p != "${old[$d]}" ]] || return 1
  done
}
if wait_until 15 respawned; then
  t_pass "1: B: srcmstr respawned them: isakmpd $(src_pid B isakmpd), tmd $(src_pid B tmd), cpsd $(src_pid B cpsd)"
else
  on_host B lssrc -g ike | indent
  t_abort "1: B: the daemons were not respawned"
fi
t_check "1: B: the new tmd lists no tunnel (autostart is not acted on by a respawn)" ike_no_tunnels B
limit=$((INTERVAL * (RETRIES + 1) + 4))
reasons=""
declared() {
  local l
  l=$(ike_list A 2>/dev/null | grep "failed:" || true)
  [[ -n $l ]] && reasons+="$l"$'\n'
  (($(dead_lines) > dead0))
}
if wait_until $((limit + 6)) declared; then
  took=$((SECONDS - t0))
  t_check "1: A declared B dead after $took s (want <= $limit: $INTERVAL s x ($RETRIES + 1), 4 s slack)" \
    [ "$took" -le "$limit" ]
else
  ike_dump A
  t_fail "1: A did not declare B dead within $((limit + 6)) s"
fi
grep "dead: no answer" "$(host_syslog A)" | redact | indent
watch_back() {
  local l
  l=$(ike_list A 2>/dev/null | grep "failed:" || true)
  [[ -n $l ]] && reasons+="$l"$'\n'
  back "$spi"
}
if wait_until 20 watch_back; then
  t_pass "1: the tunnel is back without an operator $((SECONDS - t0)) s after the kill"
else
  ike_dump A; ike_dump B
  t_fail "1: the tunnel did not come back"
fi
if [[ -n $reasons ]]; then
  sort -u <<<"$reasons" | grep . | indent
  t_check "1: what A listed while B was away names DPD" all_dpd "$reasons"
fi
check_clean 1

# reboot_b: B goes down as a host does when it loses power: srcmstr and the
# daemons killed at once (kill -9, by PID), nothing sent to A.
reboot_b() {
  local c=$1 p pids=()
  for d in isakmpd tmd cpsd srcmstr; do
    p=$(pid_of B "$d") || t_abort "$c: B: no $d process"
    pids+=("$p")
  done
  kill -9 "${pids[@]}"
  t_info "$c: B: killed isakmpd, tmd, cpsd and srcmstr (${pids[*]}) with kill -9"
  gone() { ! pid_of B srcmstr >/dev/null && ! pid_of B tmd >/dev/null && ! pid_of B isakmpd >/dev/null; }
  wait_until 5 gone || t_abort "$c: B: the suite did not go"
}
boot_b() {
  ike_start B || { echo "$IKE_OUT" | indent; t_abort "$1: B: startsrc -g ike failed"; }
  src_wait_all B active 10 || t_abort "$1: B: the suite is not active"
}

# ---- 2a. B reboots and activates its autostart tunnels at boot ------------------
spi=$(field A "SPI In")
dead0=$(dead_lines)
ic0=$(count A "INITIAL-CONTACT from $(host_addr B)")
reboot_b 2a
t0=$SECONDS
boot_b 2a
out=$(ike_cmd B cmd=activate autostart 2>&1) || t_fail "2a: B: ike cmd=activate autostart failed: $out"
t_info "2a: B: startsrc -g ike, ike cmd=activate autostart: $out"
if wait_until 20 back "$spi"; then
  t_pass "2a: the tunnel is back without an operator on A $((SECONDS - t0)) s after B's boot"
else
  ike_dump A; ike_dump B
  t_fail "2a: the tunnel did not come back"
fi
t_check "2a: A: syslog: B's INITIAL-CONTACT dropped the old SAs" \
  [ "$(count A "INITIAL-CONTACT from $(host_addr B)")" -gt "$ic0" ]
grep "INITIAL-CONTACT" "$(host_syslog A)" | tail -n 3 | redact | indent
t_check "2a: A: not by DPD (no peer declared dead)" [ "$(dead_lines)" -eq "$dead0" ]
t_check "2a: A: syslog: the new SA took over the tunnel (not a re-establishment)" \
  grep -q "the peer restarted (INITIAL-CONTACT): its new ISAKMP SA" "$(host_syslog A)"
check_clean 2a

# ---- 2b. B reboots and stays down until A's DPD has noticed ----------------------
spi=$(field A "SPI In")
dead0=$(dead_lines)
tries0=$(count A "negotiating again after the peer was declared dead")
reboot_b 2b
t0=$SECONDS
reasons=""
if wait_until $((limit + 6)) declared; then
  took=$((SECONDS - t0))
  t_check "2b: A declared B dead after $took s (want <= $limit)" [ "$took" -le "$limit" ]
else
  ike_dump A
  t_fail "2b: A did not declare B dead within $((limit + 6)) s"
fi
# The restart fails while B is down (no answer, 3 tries from 0.5 s): listed
# with the DPD reason and the time of the next try.
listed_dpd() {
  local l
  l=$(ike_list A 2>/dev/null | grep "failed:" || true)
  [[ -n $l ]] && reasons+="$l"$'\n'
  grep -q "declared dead (DPD), negotiating again in" <<<"$l"
}
if wait_until 15 listed_dpd; then
  t_pass "2b: while B is down, A lists the DPD reason and the next try:"
  ike_list A 2>/dev/null | grep "failed:" | indent
else
  ike_dump A
  t_fail "2b: A does not list that B was declared dead"
fi
boot_b 2b
t1=$SECONDS
out=$(ike_cmd B cmd=activate autostart 2>&1) || t_fail "2b: B: ike cmd=activate autostart failed: $out"
t_info "2b: B: startsrc -g ike, ike cmd=activate autostart ($((t1 - t0)) s after the crash)"
# The next try comes after trap_retry_seconds, doubled per failure.
if wait_until $((TRAPRETRY * 4 + 15)) watch_back; then
  t_pass "2b: the tunnel is back without an operator $((SECONDS - t1)) s after B's boot"
else
  ike_dump A; ike_dump B
  t_fail "2b: the tunnel did not come back"
fi
sort -u <<<"$reasons" | grep . | indent
t_check "2b: every failure A listed while B was away gives the DPD reason" all_dpd "$reasons"
# Who won: B's boot-time activation (A's phase 1 Responder) or A's retry.
t_info "2b: A's phase 1 is $(field A Role 1) now; A tried $(($(count A "negotiating again after the peer was declared dead") - tries0)) time(s)"
check_clean 2b
t_info "A: $(count A "alive again") 'alive again' lines (a probe answered only after its interval)"

for h in A B; do
  if contains_secret "$(host_syslog "$h")"; then t_fail "$h: syslog holds the PSK"; else t_pass "$h: no syslog line holds the PSK"; fi
done
t_done
