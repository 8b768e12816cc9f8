#!/usr/bin/env bash
# The key log for Wireshark (settings.ike_key_log, issue 11.6). Two suites,
# the key log on for A: the tunnel comes up under a capture on the link, A's
# key log holds one "icookie,key" line (mode 0600), syslog warns naming the
# file, and tshark, given the key log as its ikev1_decryption_table, shows
# the payloads inside Main Mode 5 and 6, the Quick Mode and the Deletes of
# `ike cmd=remove`, which it cannot without it. Then the key log goes off by
# refresh: a new negotiation writes nothing and creates no file.
# The key log's content is never printed: only its line count and cookie
# column (the initiator cookie, in the clear in every ISAKMP header).
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger tcpdump tshark
t_require_suite

ike_lab 300
psk="keylog-test-$RANDOM$RANDOM-$$"
keydir="$(host_dir A)/keys"
mkdir -m 0700 "$keydir"
keylog="$keydir/ike-keys.txt"
for h in A B; do
  more=()
  [[ $h == A ]] && more=("keylog=$keylog")
  ike_write_db "$h" retransmit_ms=500 tries=3 "${more[@]}"
  ike_write_psk "$h" "$(host_addr "$(_ike_other "$h")")" "$psk"
done
t_info "tunnels.db on A: settings.ike_key_log \"$keylog\"; B: none"

# tshark with an empty profile, or with KEYS as the profile's
# ikev1_decryption_table (Wireshark's IKEv1 decryption table; tshark reads
# the personal profile from $XDG_CONFIG_HOME/wireshark).
wsconf="$LAB_DIR/wireshark-conf"
wshark() {
  local keys=$1; shift
  rm -rf "$wsconf"
  mkdir -m 0700 "$wsconf" "$wsconf/wireshark"
  if [[ -n $keys ]]; then
    install -m 0600 "$keys" "$wsconf/wireshark/ikev1_decryption_table"
  fi
  XDG_CONFIG_HOME=$wsconf HOME=$wsconf timeout 60 tshark -n "$@" 2>"$LAB_DIR/tshark.err"
}
# payloads KEYS PCAP FILTER: per matching ISAKMP message, the payload types
# tshark shows after the header ("5,8" = ID and HASH), one message a line.
payloads() {
  wshark "$1" -r "$2" -Y "$3" -T fields -E aggregator=, -e isakmp.typepayload
}

start_suites() {
  local h
  for h in A B; do
    ike_start "$h" || { echo "$IKE_OUT" | indent; t_abort "$h: startsrc -g ike failed"; }
  done
  for h in A B; do
    src_wait_all "$h" active 10 || t_abort "$h: the suite is not active"
  done
}

# bring_up: activate on A, both phases Active on both ends.
bring_up() {
  local out h p
  out=$(ike_cmd A cmd=activate numlist=1 2>&1) || {
    echo "$out" | redact | indent
    t_abort "A: ike cmd=activate numlist=1 failed"
  }
  for h in A B; do
    for p in 1 2; do
      ike_wait_status "$h" "$p" Active "$IKE_WAIT" ||
        { ike_dump A; ike_dump B; t_abort "$h: phase $p not Active"; }
    done
  done
  t_pass "tunnel up (phase 1 and 2 Active on A and B)"
}

# ---- run 1: key log on ------------------------------------------------------------
host_capture_start A
start_suites
bring_up
# remove: the Deletes (Informational, protected by the ISAKMP SA) are on the
# capture too.
remove_tunnel() {
  ike_cmd A cmd=remove numlist=1 >/dev/null 2>&1 || t_fail "A: ike cmd=remove numlist=1 failed"
  wait_until 15 ike_no_tunnels A || t_fail "A: the tunnel is still listed after remove"
  wait_until 15 ike_no_tunnels B || t_fail "B: the tunnel is still listed after remove"
}
remove_tunnel
sleep 1  # the last message reaches the capture
host_capture_stop A
cap1="$LAB_DIR/keylog-on.pcap"
mv "$(host_dir A)/capture.pcap" "$cap1"

if [[ -f $keylog ]]; then
  t_pass "A: the key log $keylog exists"
else
  t_abort "A: no key log at $keylog"
fi
lines=$(grep -c . "$keylog" || true)
cookies=$(cut -d, -f1 "$keylog" | tr '\n' ' ')
t_info "key log: $lines line(s); initiator cookies: $cookies"
t_check "A: the key log has one line (one phase 1 SA)" test "$lines" = 1
t_check "A: each line is icookie,key in hex (16 hex digits, a comma, 32 for AES-128)" \
  grep -Eqx '[0-9a-f]{16},[0-9a-f]{32}' "$keylog"
perm=$(stat -c '%a %U' "$keylog")
t_check "A: the key log is mode 0600, owner root ($perm)" test "$perm" = "600 root"
wire_cookie=$(wshark "" -r "$cap1" -Y 'isakmp.exchangetype == 2' -T fields -e isakmp.ispi |
  head -n1 | tr -d ':')
t_check "the key log's cookie is the Main Mode's initiator cookie on the wire ($wire_cookie)" \
  test "${cookies% }" = "$wire_cookie"

# The key itself: never in syslog or the CLI (compared, not printed).
key=$(cut -d, -f2 "$keylog")
register_secret "$key"
for h in A B; do
  if grep -qiF -- "$key" "$(host_syslog "$h")"; then
    t_fail "$h: syslog holds the key"
  else
    t_pass "$h: the key is not in syslog"
  fi
  out=$(ike_list "$h" verbose 2>&1 || true)
  if text_contains_secret "$out"; then t_fail "$h: ike cmd=list verbose prints the key"; fi
done
if grep -q "isakmpd.*WARNING: key log on (settings.ike_key_log).* appended to $keylog" \
  "$(host_syslog A)"; then
  t_pass "A: syslog warns at start that the key log is on, naming $keylog"
else
  t_fail "A: no start-up warning naming $keylog in syslog"
fi
if grep -q "isakmpd.*cookies ${cookies% }:.*WARNING: key log on: this SA's encryption key went to $keylog" \
  "$(host_syslog A)"; then
  t_pass "A: syslog warns for the SA (its cookies) that its key went to the key log"
else
  t_fail "A: no per-SA key log warning in syslog"
fi
if grep -q "WARNING: key log" "$(host_syslog B)"; then t_fail "B (key log off) warns of a key log"; fi

# ---- tshark: Main Mode 5 and 6, Quick Mode, Informational -----------------------------
mm_enc='isakmp.exchangetype == 2 && isakmp.flag_e == 1'
qm='isakmp.exchangetype == 32'
info='isakmp.exchangetype == 5'
# Header fields first: the messages are there either way.
n_mm=$(wshark "" -r "$cap1" -Y "$mm_enc" -T fields -e frame.number | grep -c . || true)
n_qm=$(wshark "" -r "$cap1" -Y "$qm" -T fields -e frame.number | grep -c . || true)
n_info=$(wshark "" -r "$cap1" -Y "$info" -T fields -e frame.number | grep -c . || true)
t_check "capture: $n_mm encrypted Main Mode messages (5 and 6), $n_qm Quick Mode messages, $n_info Informationals" \
  test "$n_mm" -ge 2 -a "$n_qm" -ge 3 -a "$n_info" -ge 1
with_mm=$(payloads "$keylog" "$cap1" "$mm_enc")
with_qm=$(payloads "$keylog" "$cap1" "$qm")
without_mm=$(payloads "" "$cap1" "$mm_enc")
without_qm=$(payloads "" "$cap1" "$qm")
with_info=$(payloads "$keylog" "$cap1" "$info")
without_info=$(payloads "" "$cap1" "$info")
echo "  payload types per message (1 SA, 2 P, 3 T, 4 KE, 5 ID, 8 HASH, 10 NONCE, 11 N, 12 D):"
show() { local p; while IFS= read -r p; do printf '    %-32s %s\n' "$1" "$p"; done <<<"$2"; }
show "MM 5-6 with the key log:" "$with_mm"
show "QM 1-3 with the key log:" "$with_qm"
show "MM 5-6 without:" "$without_mm"
show "QM 1-3 without:" "$without_qm"
show "Informational with the key log:" "$with_info"
show "Informational without:" "$without_info"
grep -v "Running as user" "$LAB_DIR/tshark.err" | indent || true
# Main Mode 5 and 6: ID and HASH (RFC 2409 5: HDR*, IDii, HASH_I / HDR*, IDir,
# HASH_R), 5 with INITIAL-CONTACT.
if (($(grep -c '^5,8' <<<"$with_mm" || true) >= 2)); then
  t_pass "tshark with the key log decrypts Main Mode 5 and 6 (ID and HASH payloads)"
else
  t_fail "tshark with the key log does not show ID and HASH in Main Mode 5 and 6"
fi
ids=$(wshark "$keylog" -r "$cap1" -Y "$mm_enc" -T fields -e isakmp.id.data.ipv4_addr | tr '\n' ' ')
ids=${ids% }
t_check "decrypted Main Mode 5 and 6 carry the identities 192.0.2.1 and 192.0.2.2 ($ids)" \
  test "$ids" = "192.0.2.1 192.0.2.2"
# Quick Mode 1 and 2: HASH, SA (proposal, transform), NONCE, KE (PFS), ID, ID;
# 3: HASH (RFC 2409 5.5).
qm_full=$(grep -c '^8,1,2,3,10,4,5,5$' <<<"$with_qm" || true)
qm_hash=$(grep -cx '8' <<<"$with_qm" || true)
if ((qm_full == 2 && qm_hash >= 1)); then
  t_pass "tshark with the key log decrypts the Quick Mode (HASH, SA, NONCE, KE, ID, ID; then HASH)"
else
  t_fail "tshark with the key log: Quick Mode payloads not shown as expected"
fi
# Informational (RFC 2409 5.7): HASH(1), then the Deletes of remove.
if grep -q '^8,12' <<<"$with_info"; then
  t_pass "tshark with the key log decrypts the Informationals (HASH, DELETE)"
else
  t_fail "tshark with the key log does not show HASH and DELETE in the Informationals"
fi
if grep -Eq '(^|,)(5|8|10|12)(,|$)' <<<"$without_mm
$without_qm
$without_info"; then
  t_fail "tshark without the key log shows payloads inside encrypted messages"
else
  t_pass "tshark without the key log shows no payload inside them (encrypted)"
fi

# ---- run 2: key log off (refresh), a new negotiation ---------------------------------
# Run 1's key log, kept to show that it does not open run 2's SA.
old_keys="$LAB_DIR/keys-run1.txt"
install -m 0600 "$keylog" "$old_keys"
rm -f "$keylog"
ike_write_db A retransmit_ms=500 tries=3
run_to_file on_host A refresh -g ike || { echo "$IKE_OUT" | indent; t_fail "A: refresh -g ike failed"; }
if wait_until 10 grep -q "isakmpd.*key log off (settings.ike_key_log is empty): no more keys go to $keylog" \
  "$(host_syslog A)"; then
  t_pass "A: refresh with the key log off: syslog says so, naming $keylog"
else
  t_fail "A: no 'key log off' line after the refresh"
fi
host_capture_start A
bring_up
sleep 1
host_capture_stop A
cap2="$LAB_DIR/keylog-off.pcap"
mv "$(host_dir A)/capture.pcap" "$cap2"
if [[ -e $keylog ]] || [[ -n $(ls -A "$keydir") ]]; then
  t_fail "A: a key log was written with the key log off"
else
  t_pass "A: the key log off: no file written ($keydir stays empty)"
fi
n_mm2=$(wshark "" -r "$cap2" -Y "$mm_enc" -T fields -e frame.number | grep -c . || true)
off_payloads=$(payloads "$old_keys" "$cap2" "$mm_enc || $qm")
if ((n_mm2 >= 2)) && ! grep -Eq '(^|,)(5|8|10)(,|$)' <<<"$off_payloads"; then
  t_pass "the second negotiation ($n_mm2 encrypted Main Mode messages) cannot be decrypted" \
    "(run 1's key log holds no line for it)"
else
  t_fail "second negotiation: $n_mm2 encrypted Main Mode messages, payloads shown: $off_payloads"
fi
t_done
