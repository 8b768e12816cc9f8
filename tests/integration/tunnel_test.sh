#!/usr/bin/env bash
# One tunnel between two suites: startsrc -g ike on both hosts, activate on A,
# both sides Active in phase 1 and 2, tunnel cache and filters installed,
# negotiation logged to syslog without secrets, remove, stopsrc.
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_suite

ike_lab 300
psk="tunnel-test-$RANDOM$RANDOM-$$"
# Short retransmit budget (0.5 + 1 + 2 s): a retransmission timer left running
# after an exchange completed shows up (and would kill the tunnel) within 5 s.
# B listens with one wildcard socket per port (settings.listen_address
# "0.0.0.0"): it must answer from the address A sent to.
for h in A B; do
  # B listens with one wildcard socket per port; A has a second phase 2
  # definition it never activates (Inactive in ike cmd=list db).
  extra=(listen=0.0.0.0)
  [[ $h == A ]] && extra=("p2=t1-spare|198.51.100.7|203.0.113.7")
  ike_write_db "$h" retransmit_ms=500 tries=3 "${extra[@]}"
  ike_write_psk "$h" "$(host_addr "$(_ike_other "$h")")" "$psk"
done
t_info "tunnels.db and psk.db (0600) written on A and B"

dump_both() { ike_dump A; ike_dump B; host_capture_summary A; }
host_capture_start A

# ---- start ----------------------------------------------------------------
for h in A B; do
  if ike_start "$h"; then
    t_pass "$h: startsrc -g ike exit 0"
  else
    t_fail "$h: startsrc -g ike failed"
  fi
  echo "$IKE_OUT" | indent
  for d in tmd isakmpd cpsd; do
    grep -q "$d Subsystem has been started" <<<"$IKE_OUT" ||
      t_fail "$h: startsrc output lacks '$d Subsystem has been started'"
  done
done
for h in A B; do
  if src_wait_all "$h" active 10; then
    t_pass "$h: lssrc -g ike shows tmd, isakmpd, cpsd active"
  else
    on_host "$h" lssrc -g ike 2>&1 | indent || true
    t_abort "$h: the suite is not active"
  fi
done
on_host A lssrc -g ike 2>&1 | indent || true

# ---- list db: every definition, none up yet ----------------------------------
# db_status H NAME: the Status column of definition NAME in ike cmd=list db.
db_status() { ike_list "$1" db 2>&1 | awk -v n="$2" 'NR == 1 && $NF != "Status" { exit 1 } $3 == n { print $NF }'; }
db_before=$(ike_list A db 2>&1 || true)
echo "$db_before" | indent
if [[ $(db_status A t1) == Inactive && $(db_status A t1-net) == Inactive &&
  $(db_status A t1-spare) == Inactive ]]; then
  t_pass "A: ike cmd=list db: t1, t1-net and t1-spare Inactive before activation"
else
  t_fail "A: ike cmd=list db before activation: want t1, t1-net, t1-spare Inactive"
fi

# ---- activate ---------------------------------------------------------------
if out=$(ike_cmd A cmd=activate numlist=1 2>&1); then
  t_pass "A: ike cmd=activate numlist=1 exit 0"
else
  echo "$out" | redact | indent
  t_fail "A: ike cmd=activate numlist=1 failed"
fi

t0=$SECONDS
ok=1
for h in A B; do
  for p in 1 2; do
    if ike_wait_status "$h" "$p" Active "$IKE_WAIT"; then
      t_pass "$h: phase $p Active (after $((SECONDS - t0))s)"
    else
      t_fail "$h: phase $p not Active within ${IKE_WAIT}s (status: '$(ike_status "$h" "$p")')"
      ok=0
    fi
  done
done
((ok)) || { dump_both; t_abort "the tunnel did not come up; not checking the rest"; }

# ---- list layout --------------------------------------------------------------
check_rows() {
  local h=$1 l=$2 r=$3 ln=$4 rn=$5 out
  out=$(ike_list "$h" 2>&1)
  echo "$out" | indent
  if head -n1 <<<"$out" | grep -Eq '^Phase +Tun Id +Status +Local Id +Remote Id *$'; then
    t_pass "$h: list header 'Phase  Tun Id  Status      Local Id  Remote Id'"
  else
    t_fail "$h: list header is not the AIX layout"
  fi
  if awk -v l="$l" -v r="$r" '$1 == 1 && $3 == "Active" && $4 == l && $5 == r { f = 1 } END { exit !f }' <<<"$out"; then
    t_pass "$h: phase 1 row shows $l -> $r"
  else
    t_fail "$h: no phase 1 row 'Active $l $r'"
  fi
  if awk -v l="$ln-$ln" -v r="$rn-$rn" '$1 == 2 && $3 == "Active" && $4 == l && $5 == r { f = 1 } END { exit !f }' <<<"$out"; then
    t_pass "$h: phase 2 row shows $ln-$ln -> $rn-$rn"
  else
    t_fail "$h: no phase 2 row 'Active $ln-$ln $rn-$rn'"
  fi
  # columns start at 0, 7, 15, 27, 59 (aix-ike.md 1.4)
  if awk 'NR > 1 && $1 ~ /^[12]$/ { if (substr($0, 8, 1) == " " || substr($0, 16, 1) == " " || substr($0, 28, 1) == " " || substr($0, 60, 1) == " " || substr($0, 7, 1) != " ") bad = 1; n++ } END { exit (bad || !n) }' <<<"$out"; then
    t_pass "$h: list rows use the fixed columns 0/7/15/27/59"
  else
    t_fail "$h: list rows are not aligned on columns 0/7/15/27/59"
  fi
}
check_rows A 192.0.2.1 192.0.2.2 198.51.100.1 203.0.113.1
check_rows B 192.0.2.2 192.0.2.1 203.0.113.1 198.51.100.1

echo "---- A: ike cmd=list verbose ----"
ike_list A verbose 2>&1 | redact | indent || t_fail "A: ike cmd=list verbose failed"

# Selecting what to list (issue 11.1): by name (t1 is the phase 1 tunnel,
# t1-net its phase 2), by the peer's id, and a name that matches nothing.
rows_of() { ike_list A "$@" 2>&1 | awk '$1 ~ /^[12]$/ { printf "%s:%s ", $1, $2 }'; }
for sel in "namelist=t1:1:1 " "namelist=t1-net:2:1 " "remid=192.0.2.2:1:1 2:1 " "namelist=nope:"; do
  got=$(rows_of "${sel%%:*}")
  if [[ $got == "${sel#*:}" ]]; then
    t_pass "A: ike cmd=list ${sel%%:*} lists '${got% }'"
  else
    t_fail "A: ike cmd=list ${sel%%:*} lists '$got', want '${sel#*:}'"
  fi
done
# The JSON document against its schema (docs/list.schema.json).
json=$(ike_list A json 2>&1) || t_fail "A: ike cmd=list json failed"
if /usr/bin/python3 -c 'import json, sys, jsonschema
jsonschema.validate(json.loads(sys.argv[1]), json.load(open(sys.argv[2])))
doc = json.loads(sys.argv[1])
assert doc["phase1"][0]["state"]["ios"] == "QM_IDLE", doc["phase1"][0]["state"]
assert doc["phase1"][0]["remote_id_type"] == "IPV4_ADDR", doc["phase1"][0]
assert doc["phase2"][0]["spi_in"].startswith("0x")' "$json" "$IKE_SRC/docs/list.schema.json"; then
  t_pass "A: ike cmd=list json validates against docs/list.schema.json (phase 1 QM_IDLE, IPV4_ADDR ids, phase 2 with SPIs)"
else
  echo "$json" | redact | indent
  t_fail "A: ike cmd=list json does not validate against docs/list.schema.json"
fi

# NAT-T and DPD as negotiated (issue 11.1): no NAT between A and B.
verbose=$(ike_list A verbose phase=1 2>&1 || true)
for want in "NAT-T: +RFC 3947, no NAT" "DPD: +(every [0-9]+ s( when idle)?|off); the peer supports it"; do
  if grep -Eq "^$want\$" <<<"$verbose"; then
    t_pass "A: ike cmd=list verbose: $(grep -E "^$want\$" <<<"$verbose")"
  else
    t_fail "A: ike cmd=list verbose lacks /$want/"
  fi
done

# Identity types (issue 11.1): t1's ids are its addresses, t1-net's
# selectors one host each: IPV4_ADDR, 2 per phase.
verbose=$(ike_list A verbose 2>&1 || true)
n=$(grep -Ec '^(Local|Remote) Id Type: +IPV4_ADDR$' <<<"$verbose" || true)
if ((n == 4)); then
  t_pass "A: ike cmd=list verbose: Local Id Type: IPV4_ADDR, Remote Id Type: IPV4_ADDR (both phases)"
else
  t_fail "A: ike cmd=list verbose shows $n 'Local/Remote Id Type: IPV4_ADDR' lines, want 4"
fi
# list db: the definitions that are up, and the one that is not.
out=$(ike_list A db 2>&1 || true)
echo "$out" | indent
if [[ $(db_status A t1) == Active && $(db_status A t1-net) == Active &&
  $(db_status A t1-spare) == Inactive ]]; then
  t_pass "A: ike cmd=list db: t1 and t1-net Active, t1-spare Inactive"
else
  t_fail "A: ike cmd=list db: want t1 and t1-net Active, t1-spare Inactive"
fi
if [[ $(db_status B t1) == Active && $(db_status B t1-net) == Active ]]; then
  t_pass "B (responder): ike cmd=list db: t1 and t1-net Active"
else
  ike_list B db 2>&1 | indent || true
  t_fail "B (responder): ike cmd=list db: want t1 and t1-net Active"
fi

# The states in Cisco's words (issue 11.2): A initiated in Main Mode.
states_of() { ike_list "$1" "states=$2" 2>&1 | awk -F': *' '$1 == "State" { printf "%s ", $2 }'; }
for vocab in aix:"DONE DONE" ios:"QM_IDLE IKE_QM_PHASE2_COMPLETE" asa:"MM_ACTIVE -"; do
  got=$(states_of A "${vocab%%:*}")
  if [[ $got == "${vocab#*:} " ]]; then
    t_pass "A: ike cmd=list states=${vocab%%:*}: State $got"
  else
    t_fail "A: ike cmd=list states=${vocab%%:*}: State '$got', want '${vocab#*:}'"
  fi
done

# ---- kernel state (state-only backend): tunnel cache and filters ----------------
for h in A B; do
  if out=$(ike_list "$h" cache 2>&1); then
    echo "$out" | redact | indent
    nin=$(grep -Eci '\binbound\b' <<<"$out" || true)
    nout=$(grep -Eci '\boutbound\b' <<<"$out" || true)
    if ((nin == 1 && nout == 1)); then
      t_pass "$h: ike cmd=list cache shows two SAs (1 inbound, 1 outbound)"
    else
      t_fail "$h: ike cmd=list cache: expected 1 inbound + 1 outbound SA, saw $nin inbound, $nout outbound"
    fi
    if text_contains_secret "$out"; then t_fail "$h: list cache prints the PSK"; fi
  else
    echo "$out" | redact | indent
    t_fail "$h: ike cmd=list cache failed"
  fi
  if out=$(ike_list "$h" filters 2>&1); then
    echo "$out" | indent
    if grep -qi permit <<<"$out"; then
      t_pass "$h: ike cmd=list filters shows rules"
    else
      t_fail "$h: ike cmd=list filters shows no permit rule"
    fi
  else
    echo "$out" | indent
    t_fail "$h: ike cmd=list filters failed"
  fi
done

# ---- stable: no retransmissions after the exchanges completed -----------------------
# Wait out the whole retransmit budget (3.5 s): the tunnel must stay up, and the
# wire must show each message once.
sleep_left=$((t0 + 5 - SECONDS))
((sleep_left > 0)) && sleep "$sleep_left"
for h in A B; do
  s1=$(ike_status "$h" 1) s2=$(ike_status "$h" 2)
  if [[ $s1 == Active && $s2 == Active ]]; then
    t_pass "$h: both phases still Active after the retransmit budget (5 s)"
  else
    t_fail "$h: 5 s after establishment phase 1 is '$s1', phase 2 '$s2' (expected Active)"
    ike_list "$h" 2>&1 | indent || true
  fi
done
if command -v tshark >/dev/null; then
  mm=$(host_capture_count A 'isakmp.exchangetype == 2')
  qm=$(host_capture_count A 'isakmp.exchangetype == 32')
  if ((mm == 6 && qm == 3)); then
    t_pass "wire: exactly 6 Main Mode and 3 Quick Mode packets (no retransmissions after DONE)"
  else
    t_fail "wire: $mm Main Mode and $qm Quick Mode packets on A's veth, expected 6 and 3 (retransmissions after the exchange completed?)"
    host_capture_summary A
  fi
fi

# ---- syslog -------------------------------------------------------------------
if grep -q "isakmpd.*listening on 0.0.0.0\[500\] (every local IPv4 address)" "$(host_syslog B)"; then
  t_pass "B: isakmpd listens on 0.0.0.0[500] for every local IPv4 address"
else
  t_fail "B: no 'listening on 0.0.0.0[500] (every local IPv4 address)' line"
fi
sleep 0.3
for h in A B; do
  f=$(host_syslog "$h")
  if grep -Eq 'isakmpd(\[[0-9]+\])?:.*DONE' "$f"; then
    t_pass "$h: syslog has isakmpd state changes to DONE"
    grep -E 'isakmpd(\[[0-9]+\])?:.*->' "$f" | head -n 12 | redact | indent
  else
    t_fail "$h: syslog has no isakmpd line with DONE"
  fi
  # The responder (B) learns its tunnel number from tmd only after phase 1, so
  # its state-change lines may say "tunnel -"; the initiator's must have the number.
  tn='[0-9]+'
  [[ $h == B ]] && tn='([0-9]+|-)'
  if grep -Eq "isakmpd(\[[0-9]+\])?:.*tunnel $tn phase 1 peer [0-9.]+ cookies [0-9a-f]{16}:[0-9a-f]{16}: .* -> " "$f"; then
    t_pass "$h: state-change lines carry tunnel, phase, peer and both cookies"
  else
    t_fail "$h: no 'tunnel N phase 1 peer X cookies I:R: A -> B' line (conventions.md, Logging)"
  fi
  if grep -Eq 'tmd(\[[0-9]+\])?:' "$f"; then
    t_pass "$h: syslog has tmd lines"
  else
    t_fail "$h: syslog has no tmd line"
  fi
  if contains_secret "$f"; then
    t_fail "$h: syslog contains the PSK"
  else
    t_pass "$h: no syslog line contains the PSK"
  fi
done

# ---- ike cmd=log: the level changes at run time, in every daemon ----------------
if out=$(ike_cmd A cmd=log level=information 2>&1); then
  t_pass "A: ike cmd=log level=information exit 0"
  echo "$out" | indent
else
  echo "$out" | indent
  t_fail "A: ike cmd=log level=information failed"
fi
for d in tmd isakmpd cpsd; do
  if wait_until 5 grep -Eq "$d(\[[0-9]+\])?: log level set to information" "$(host_syslog A)"; then
    t_pass "A: $d logs its new level"
  else
    t_fail "A: $d did not log 'log level set to information'"
  fi
done

# ---- remove -----------------------------------------------------------------------
if out=$(ike_cmd A cmd=remove numlist=1 2>&1); then
  t_pass "A: ike cmd=remove numlist=1 exit 0"
else
  echo "$out" | indent
  t_fail "A: ike cmd=remove numlist=1 failed"
fi
for h in A B; do
  if wait_until "$IKE_WAIT" ike_no_tunnels "$h"; then
    t_pass "$h: no tunnels listed after remove"
  else
    ike_list "$h" 2>&1 | indent || true
    t_fail "$h: tunnels still listed ${IKE_WAIT}s after remove"
  fi
  out=$(ike_list "$h" cache 2>&1) || true
  if grep -Eqi '\b(inbound|outbound)\b' <<<"$out"; then
    echo "$out" | redact | indent
    t_fail "$h: tunnel cache still has SAs after remove"
  else
    t_pass "$h: tunnel cache empty after remove"
  fi
done

# ---- stop ---------------------------------------------------------------------
for h in A B; do
  if ike_stop "$h"; then
    t_pass "$h: stopsrc -g ike exit 0"
  else
    t_fail "$h: stopsrc -g ike failed"
  fi
  echo "$IKE_OUT" | indent
  if src_wait_all "$h" inoperative 10; then
    t_pass "$h: lssrc -g ike shows tmd, isakmpd, cpsd inoperative"
  else
    on_host "$h" lssrc -g ike 2>&1 | indent || true
    t_fail "$h: lssrc -g ike does not show all three inoperative"
  fi
done

((T_FAILS == 0)) || dump_both
t_done
