#!/usr/bin/env bash
# Dead Peer Detection against strongSwan (issue 9 items 4 and 7, RFC 3706):
# host A runs the suite (state-only backend), host B Debian's charon with
# kernel-libipsec, Main Mode PSK (NAT-T forced by libipsec).
#   1. strongSwan probes us: charon's dpd_delay 2 s, our own DPD off. An idle
#      tunnel for 12 s: charon sends R_U_THERE and parses our R_U_THERE_ACK
#      (its log), declares nothing, both ends keep the same SPIs.
#   2. We probe strongSwan: our DPD idle, interval 2 s, 3 retries, action
#      clear; charon without DPD of its own. While charon answers, nothing is
#      declared; then charon is frozen (SIGSTOP: the host is there, IKE does
#      not answer) and we declare it dead within interval x (retries + 1)
#      (the first probe follows an interval of silence), log it once, list
#      the reason, and clear: no SA left in our tunnel cache, the phase 2 row
#      Failed with the DPD reason.
# No log or listing holds the PSK.
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"
source "$(dirname "$0")/../lib/strongswan.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_strongswan
t_require_suite

INTERVAL=2 RETRIES=3 QUIET=12
ike_lab 200
psk="swdpd-$RANDOM$RANDOM-$$"
check() { t_check "$@" || true; }

explain_failure() {
  ike_dump A
  sw_log_tail B 60
  echo "---- B: swanctl --list-sas ----"
  swanctl_list_sas B | indent || true
}

field() {
  ike_list "$1" verbose phase="${3:-2}" 2>/dev/null |
    awk -v l="$2:" 'index($0, l) == 1 { sub(/^[^:]*:[ ]*/, ""); sub(/^0x/, ""); print; exit }'
}
# agree: B lists an INSTALLED child whose SPIs are A's pair (B's in = A's out).
agree() {
  local ai ao
  ai=$(field A "SPI In") ao=$(field A "SPI Out")
  [[ -n $ai && -n $ao ]] &&
    sw_children B | awk -v i="$ai" -v o="$ao" '$2 == "INSTALLED" && $3 == o && $4 == i { f = 1 } END { exit !f }'
}
dead_lines() { grep -c "dead: no answer to $RETRIES DPD probes" "$(host_syslog A)" || true; }

# start_case N DPD SW_OPTIONS...: A's suite with DPD setting DPD, B's charon
# with the given extra sw_configure options, and the tunnel up (A initiates).
start_case() {
  local n=$1 dpd=$2; shift 2
  ike_write_db A retransmit_ms=500 tries=3 dpd="$dpd"
  ike_write_psk A 192.0.2.2 "$psk"
  sw_configure B psk="$psk" "$@"
  sw_start B
  sw_load B
  if ! ike_start A || ! src_wait_all A active 10; then
    echo "$IKE_OUT" | indent
    t_abort "A: startsrc -g ike failed"
  fi
  ike_cmd A cmd=activate numlist=1 >/dev/null || t_fail "A: ike cmd=activate numlist=1 failed"
  if ike_wait_status A 2 Active 20 && wait_until 10 agree; then
    t_pass "case $n: tunnel up, A in $(field A "SPI In") out $(field A "SPI Out"), B INSTALLED with the same pair"
  else
    explain_failure
    t_abort "case $n: the tunnel did not come up on both ends"
  fi
}
end_case() {
  ike_stop A >/dev/null 2>&1 || true
  sw_stop B
  cp "$(sw_log B)" "$LAB_DIR/charon-case$1.log"
}

# ---- 1. strongSwan probes, we answer -----------------------------------------
echo "==== 1. strongSwan probes (dpd_delay ${INTERVAL} s), our DPD off ===="
start_case 1 "mode: DPD_OFF" dpd_delay="${INTERVAL}s" dpd_timeout=8s dpd_action=clear
spi_before=$(field A "SPI In")
sleep "$QUIET"
log=$(sw_log B)
requests=$(grep -c "generating INFORMATIONAL_V1 request [0-9]* \[ HASH N(DPD) \]" "$log" || true)
acks=$(grep -c "parsed INFORMATIONAL_V1 request [0-9]* \[ HASH N(DPD_ACK) \]" "$log" || true)
t_info "B: charon sent $requests R_U_THERE, parsed $acks R_U_THERE_ACK in $QUIET s"
check "B: charon probed the idle tunnel (at least 3 R_U_THERE in $QUIET s)" [ "$requests" -ge 3 ]
check "B: every probe but the last in flight was answered ($acks ACKs for $requests)" \
  [ "$acks" -ge $((requests - 1)) -a "$acks" -ge 3 ]
check "B: charon declared nothing (no DPD timeout in its log)" \
  bash -c "! grep -qi 'DPD timeout\|peer did not respond' '$log'"
check "B: IKE SA and child still up with A's pair" agree
check "A: tunnel still Active, the same SPI ($spi_before)" \
  [ "$(ike_status A 2)" == Active -a "$(field A "SPI In")" == "$spi_before" ]
check "A: declared nothing" [ "$(dead_lines)" -eq 0 ]
grep -E "N\(DPD(_ACK)?\)" "$log" | tail -n 4 | redact | indent
end_case 1

# ---- 2. we probe; strongSwan frozen ------------------------------------------
echo "==== 2. we probe (idle, ${INTERVAL} s x ${RETRIES}, clear), strongSwan frozen ===="
start_case 2 "interval_seconds: $INTERVAL retries: $RETRIES action: DPD_CLEAR"
sleep $((INTERVAL * (RETRIES + 2)))
log=$(sw_log B)
answered=$(grep -c "generating INFORMATIONAL_V1 request [0-9]* \[ HASH N(DPD_ACK) \]" "$log" || true)
check "B: charon answered our probes of the idle tunnel ($answered R_U_THERE_ACK)" [ "$answered" -ge 2 ]
check "A: $((INTERVAL * (RETRIES + 2))) s idle, B answering: still Active, nothing declared" \
  [ "$(ike_status A 2)" == Active -a "$(dead_lines)" -eq 0 ]

kill -STOP "${SW_PID[B]}"
t0=$SECONDS
t_info "B: charon (pid ${SW_PID[B]}) frozen"
limit=$((INTERVAL * (RETRIES + 1) + 3))
declared() { [[ $(dead_lines) -ge 1 ]]; }
if wait_until $((limit + 5)) declared; then
  took=$((SECONDS - t0))
  check "A: declared B dead after $took s (want <= $limit: $INTERVAL s x ($RETRIES + 1), 3 s slack)" \
    [ "$took" -le "$limit" ]
  grep "dead: no answer" "$(host_syslog A)" | redact | indent
else
  kill -CONT "${SW_PID[B]}"
  explain_failure
  t_abort "A: B not declared dead within $((limit + 5)) s"
fi
cleared() {
  [[ $(ike_status A 2) == Failed ]] &&
    [[ $(ike_list A cache 2>/dev/null | awk '$1 ~ /^[0-9]+$/' | wc -l) -eq 0 ]]
}
if wait_until 5 cleared; then
  t_pass "A: action clear: phase 2 Failed, no SA left in the tunnel cache"
else
  ike_dump A
  t_fail "A: after the dead peer, phase 2 is '$(ike_status A 2)' and the tunnel cache not empty"
fi
if ike_list A 2>/dev/null | grep -q "dead: no answer to $RETRIES DPD probes"; then
  t_pass "A: ike cmd=list says why:"
  ike_list A 2>/dev/null | grep -E "failed|dead" | redact | indent
else
  ike_dump A
  t_fail "A: the listing does not give the DPD reason"
fi
sleep "$INTERVAL"
check "A: the dead peer was logged once" [ "$(dead_lines)" -eq 1 ]
kill -CONT "${SW_PID[B]}"
end_case 2

if contains_secret "$(host_syslog A)" || grep -rqF -- "$psk" "$LAB_DIR"/charon-case*.log "$(host_syslog A)"; then
  t_fail "a log holds the PSK"
else
  t_pass "no log holds the PSK"
fi
t_done
