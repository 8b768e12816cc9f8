#!/usr/bin/env bash
# Dead Peer Detection between two suites (issue 9.4, 9.6), state-only
# backend. A probes every 2 s (3 retries, action restart); B's isakmpd is
# frozen (SIGSTOP: the host is there, IKE does not answer, as when a peer
# hangs or its link goes):
#   - A declares B dead within interval x (retries + 1) (the first probe
#     comes after an interval of silence), logs it once, and lists why;
#   - A's SAs for B are gone and A negotiates again (action restart) and,
#     while B stays silent, again after settings.trap_retry_seconds;
#   - once B answers again (SIGCONT), the tunnel comes back without an
#     operator: Active on both ends under the same numbers, B's stale pair
#     dropped (A's Deletes, or its INITIAL-CONTACT), both listing the same
#     SPIs;
#   - while the peer answers, nothing is declared (the probes of an idle
#     tunnel are answered);
#   - no syslog line holds the PSK.
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_suite

INTERVAL=2 RETRIES=3 TRAPRETRY=5
ike_lab 180
psk="dpd-test-$RANDOM$RANDOM-$$"
ike_write_db A retransmit_ms=500 tries=3 trapretry=$TRAPRETRY \
  dpd="interval_seconds: $INTERVAL retries: $RETRIES action: DPD_RESTART"
ike_write_db B retransmit_ms=500 tries=3
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

field() {
  ike_list "$1" verbose phase="${3:-2}" 2>/dev/null |
    awk -v l="$2:" 'index($0, l) == 1 { sub(/^[^:]*:[ ]*/, ""); print; exit }'
}
dead_lines() { grep -c "dead: no answer to $RETRIES DPD probes" "$(host_syslog A)" || true; }

# An idle tunnel whose peer answers: probes go and come back, nothing dies.
sleep $((INTERVAL * (RETRIES + 2)))
if [[ $(dead_lines) == 0 && $(ike_status A 2) == Active ]]; then
  t_pass "A: $((INTERVAL * (RETRIES + 2))) s of an idle tunnel, B answering: still Active, nothing declared"
else
  t_fail "A: declared B dead while it answered"
fi
spi_before=$(field A "SPI In")

# ---- B's isakmpd stops answering ---------------------------------------------
b_pid=$(src_pid B isakmpd)
[[ -n $b_pid ]] || t_abort "B: no isakmpd pid in lssrc"
kill -STOP "$b_pid"
t0=$SECONDS
t_info "B: isakmpd (pid $b_pid) frozen"
limit=$((INTERVAL * (RETRIES + 1) + 3))
declared() { [[ $(dead_lines) -ge 1 ]]; }
if wait_until $((limit + 5)) declared; then
  took=$((SECONDS - t0))
  t_check "A: declared B dead after $took s (want <= $limit: $INTERVAL s x ($RETRIES + 1), 3 s slack)" \
    [ "$took" -le "$limit" ]
else
  kill -CONT "$b_pid"
  ike_dump A
  t_abort "A: B not declared dead within $((limit + 5)) s"
fi
grep "dead: no answer" "$(host_syslog A)" | redact | indent
# Restart: A negotiates again at once; with B silent that fails, is listed
# with both reasons, and is tried again after trap_retry_seconds.
failed_with_reason() {
  ike_list A 2>/dev/null | grep -q "declared dead (DPD), negotiating again in"
}
if wait_until 20 failed_with_reason; then
  t_pass "A: ike cmd=list says why and what comes next:"
  ike_list A 2>/dev/null | grep "failed:" | indent
else
  ike_dump A
  t_fail "A: the listing does not say that the peer was declared dead and a retry comes"
fi
# Issue 11.3: the diagnosis puts the DPD history first.
dpd_diagnosed() {
  ike_cmd A cmd=diagnose phase=1 2>/dev/null | grep -Eq "^Likely Cause: +Dead Peer Detection declared the peer dead"
}
if wait_until 10 dpd_diagnosed; then
  t_pass "A: ike cmd=diagnose phase=1 names DPD first:"
  ike_cmd A cmd=diagnose phase=1 2>&1 | redact | indent
else
  ike_cmd A cmd=diagnose 2>&1 | redact | indent
  t_fail "A: ike cmd=diagnose phase=1 does not name DPD first"
fi
# Issue 11.5: isakmpd counts the probes it sent.
probes=$(on_host A lssrc -l -s isakmpd 2>&1 | sed -nE 's/^ *DPD probes sent: +([0-9]+).*/\1/p')
t_check "A: lssrc -l -s isakmpd counts the DPD probes (${probes:-none}, want >= $RETRIES)" \
  [ "${probes:-0}" -ge "$RETRIES" ]
t_check "A: the dead peer was logged once" [ "$(dead_lines)" -eq 1 ]
retries_logged() { [[ $(grep -c "restart after DPD failed" "$(host_syslog A)" || true) -ge 2 ]]; }
t_check "A: while B stays silent, negotiated again after $TRAPRETRY s (and failed again)" \
  wait_until 40 retries_logged

# ---- B answers again ---------------------------------------------------------
kill -CONT "$b_pid"
t1=$SECONDS
t_info "B: isakmpd resumed"
both_up() {
  [[ $(ike_status A 2) == Active && $(ike_status B 2) == Active &&
    $(field A "SPI In") != "$spi_before" && $(field A "SPI In") == "$(field B "SPI Out")" &&
    $(field A "SPI Out") == "$(field B "SPI In")" ]]
}
# The next try comes at most trap_retry_seconds x 4 later (the back-off has
# doubled twice by now), then one Main Mode and one Quick Mode.
if wait_until $((TRAPRETRY * 4 + 15)) both_up; then
  t_pass "the tunnel came back without an operator after $((SECONDS - t1)) s: A in $(field A "SPI In")" \
    "out $(field A "SPI Out"), B in $(field B "SPI In") out $(field B "SPI Out")"
else
  ike_dump A; ike_dump B
  t_fail "the tunnel did not come back on both ends after B resumed"
fi
for h in A B; do
  rows=$(ike_list "$h" 2>/dev/null | awk '$1 == 2 && $2 ~ /^[0-9]+$/' | wc -l)
  t_check "$h: one phase 2 row, tunnel 1 ($rows listed)" [ "$rows" -eq 1 ]
  t_check "$h: phase 2 tunnel 1 Active" [ "$(ike_status "$h" 2)" == Active ]
done
# B's stale SAs went with A's Deletes (queued in B's socket while it was
# frozen) or, had those been lost, with A's INITIAL-CONTACT.
t_check "B: its stale SAs were dropped (A's Delete or INITIAL-CONTACT)" \
  grep -Eq "peer deleted the phase 1 SA|INITIAL-CONTACT from" "$(host_syslog B)"
t_check "B: one pair in its tunnel cache" \
  [ "$(ike_list B cache 2>/dev/null | awk '$1 ~ /^[0-9]+$/' | wc -l)" -le 2 ]

for h in A B; do ike_stop "$h" >/dev/null 2>&1 || true; done
if grep -rqF -- "$psk" "$(host_syslog A)" "$(host_syslog B)"; then
  t_fail "a syslog holds the PSK"
else
  t_pass "no syslog line holds the PSK"
fi
t_done
