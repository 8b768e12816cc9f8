#!/usr/bin/env bash
# ikedb on a running host (issue 11.4): get a tunnel out, delete it (refused
# while its phase 2 tunnel names it), put it back, refresh -g ike, and tmd
# has it (ikedb -g, ike cmd=list db) and negotiates it with the peer. Bad
# fragments are refused with file, line and field, tunnels.db unchanged;
# put -F replaces; the file keeps its comments and mode.
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger cmp
t_require_suite
[[ -x $IKE_BIN/ikedb ]] || t_skip "ikedb not found in IKE_BIN=$IKE_BIN (build first: scripts/build)"

ike_lab 240
psk="ikedb-test-$RANDOM$RANDOM-$$"
for h in A B; do
  ike_write_db "$h"
  ike_write_psk "$h" "$(host_addr "$(_ike_other "$h")")" "$psk"
done
db="$(host_dir A)/etc/tunnels.db"
chmod 0640 "$db"
work=$(host_dir A)

run() { # run LABEL CMD... : output in OUT, status in RC
  local label=$1; shift
  run_to_file "$@" && RC=0 || RC=$?
  OUT=$IKE_OUT
  echo "\$ $label  (exit $RC)"
  echo "$OUT" | redact | indent
}
unchanged() { cmp -s "$db" "$work/before.db"; }
tmd_has() { grep -q "$1" <<<"$(on_host A ikedb -g 2>/dev/null)"; }  # tmd's database, as text
tmd_lacks() { ! tmd_has "$1"; }

for h in A B; do
  ike_start "$h" || t_abort "$h: startsrc -g ike failed: $IKE_OUT"
  src_wait_all "$h" active 10 || t_abort "$h: the suite is not active"
done
t_pass "A and B: the suite is active"

# ---- get: the tunnel as a fragment put takes back ------------------------------
run "ikedb get ike_tunnel t1" on_host A ikedb get ike_tunnel t1
frag=$work/t1.db
echo "$OUT" >"$frag"
run "ikedb get ipsec_tunnel t1-net" on_host A ikedb get ipsec_tunnel t1-net
echo "$OUT" >>"$frag"
if grep -q 'name: "t1"' "$frag" && grep -q 'name: "t1-net"' "$frag"; then
  t_pass "ikedb get prints ike_tunnel t1 and ipsec_tunnel t1-net"
else
  t_fail "ikedb get did not print t1 and t1-net"
fi
run "ikedb get ike_tunnel nosuch" on_host A ikedb get ike_tunnel nosuch
((RC == 1)) && grep -q 'no ike_tunnel named "nosuch"' <<<"$OUT" &&
  t_pass "get of a missing name: exit 1, named" || t_fail "get of a missing name not refused"
run "ikedb get tunnel" on_host A ikedb get tunnel
((RC == 1)) && grep -q "unknown object type 'tunnel' (one of settings," <<<"$OUT" &&
  t_pass "unknown TYPE: exit 1, usage names it" || t_fail "unknown TYPE not named"

# ---- delete: refused while referenced, then done --------------------------------
cp -p "$db" "$work/before.db"
run "ikedb delete ike_tunnel t1" on_host A ikedb delete ike_tunnel t1
if ((RC == 1)) && grep -q "tunnels.db:[0-9]*:1: ike_tunnel \"t1\": still used by ipsec_tunnel \"t1-net\" (.*tunnels.db:[0-9]*:1)" <<<"$OUT" && unchanged; then
  t_pass "delete of t1 refused: still used by ipsec_tunnel t1-net, both placed; db unchanged"
else
  t_fail "delete of a referenced ike_tunnel not refused as expected"
fi
run "ikedb delete ipsec_tunnel t1-net" on_host A ikedb delete ipsec_tunnel t1-net
run "ikedb -d -t ike_tunnel -n t1" on_host A ikedb -d -t ike_tunnel -n t1
if ((RC == 0)) && ! grep -q 'name: "t1' "$db" && grep -q '^# tunnels.db for lab host A' "$db"; then
  t_pass "t1-net and t1 deleted (word and AIX forms); the file keeps its comments"
else
  t_fail "delete did not remove t1/t1-net, or lost the comments"
fi
tmd_has 'name: "t1"' && t_pass "before refresh tmd still has t1" || t_fail "tmd lost t1 without a refresh"
run "refresh -g ike" on_host A refresh -g ike
if wait_until 5 tmd_lacks 'name: "t1"'; then
  t_pass "after refresh -g ike, ikedb -g (tmd) has no t1"
else
  t_fail "tmd still has t1 after refresh"
fi

# ---- bad fragments: refused with file:line:col and field, db unchanged ----------
cp -p "$db" "$work/before.db"
bad=$work/bad.db
sed 's/protection: "p1-lab"/protection: "nope"/' "$frag" >"$bad"
line=$(grep -n 'protection: "nope"' "$bad" | cut -d: -f1)
run "ikedb put bad.db (protection: \"nope\")" on_host A ikedb put "$bad"
if ((RC == 1)) && grep -q "^$bad:$line:3: ike_tunnel \"t1\": protection: no ike_protection named \"nope\"" <<<"$OUT" &&
  grep -q "not changed" <<<"$OUT" && unchanged; then
  t_pass "bad reference refused: bad.db:$line:3, object, field, reason; tunnels.db unchanged"
else
  t_fail "a fragment naming a missing protection was not refused with file:line:field"
fi
printf 'ike_tunnel {\n  name: "t9"\n  remote_adress: "192.0.2.9"\n}\n' >"$bad"
run "ikedb put bad.db (misspelt field)" on_host A ikedb put "$bad"
if ((RC == 1)) && grep -q "^$bad:3:[0-9]*: .*no field named \"remote_adress\"" <<<"$OUT" && unchanged; then
  t_pass "syntax error refused: bad.db:3 names the field; tunnels.db unchanged"
else
  t_fail "a misspelt field was not refused with file:line"
fi
sed 's/dh_group: MODP_2048/dh_group: MODP_768/' <<<"$(on_host A ikedb get ike_protection p1-lab)" |
  sed 's/"p1-lab"/"p1-weak"/' >"$bad"
line=$(grep -n MODP_768 "$bad" | cut -d: -f1)
run "ikedb put bad.db (dh_group: MODP_768)" on_host A ikedb put "$bad"
if ((RC == 1)) && grep -q "^$bad:$line:[0-9]*: ike_protection \"p1-weak\" proposal 1: dh_group: MODP_768 (group 1) is refused" <<<"$OUT" && unchanged; then
  t_pass "weak DH group refused with bad.db:$line, the field and why (tmd's validation)"
else
  t_fail "a MODP_768 protection was not refused with file:line:field"
fi

# ---- put back, refresh, negotiate ----------------------------------------------
run "ikedb put t1.db" on_host A ikedb put "$frag"
((RC == 0)) && grep -q 'name: "t1"' "$db" && t_pass "ikedb put t1.db: exit 0, t1 in tunnels.db" ||
  t_fail "ikedb put of t1 and t1-net failed"
cp -p "$db" "$work/before.db"
run "ikedb put t1.db (again)" on_host A ikedb put "$frag"
if ((RC == 1)) && grep -q "^$frag:1:1: ike_tunnel \"t1\": already in .*tunnels.db:[0-9]*:1; put -F replaces it" <<<"$OUT" && unchanged; then
  t_pass "a second put is refused: already in tunnels.db, -F named; db unchanged"
else
  t_fail "a second put of t1 was not refused"
fi
run "refresh -g ike" on_host A refresh -g ike
if wait_until 5 tmd_has 'name: "t1"'; then
  t_pass "after put and refresh -g ike, ikedb -g (tmd) has t1"
else
  t_fail "tmd does not have t1 after put and refresh"
fi
run "ike cmd=list db" on_host A ike cmd=list db
if grep -Eq '^1 +1 +t1 ' <<<"$OUT" && grep -Eq '^2 +1 +t1-net ' <<<"$OUT"; then
  t_pass "ike cmd=list db lists t1 and t1-net"
else
  t_fail "ike cmd=list db does not list t1 and t1-net"
fi
ike_cmd A cmd=activate numlist=1 >/dev/null 2>&1 || true
if ike_wait_status A 2 Active 20; then
  t_pass "the tunnel put back with ikedb negotiates with B: phase 2 Active"
else
  t_fail "the tunnel put back with ikedb did not come up"
fi

# ---- put -F: settings replaced, round trip of get ------------------------------
on_host A ikedb get settings | sed 's/retransmit_tries: 5/retransmit_tries: 4/' >"$work/settings.db"
run "ikedb put settings.db (no -F)" on_host A ikedb put "$work/settings.db"
((RC == 1)) && grep -q 'settings: already in' <<<"$OUT" &&
  t_pass "settings put without -F refused" || t_fail "settings put without -F not refused"
run "ikedb put -F settings.db" on_host A ikedb put -F "$work/settings.db"
run "refresh -g ike" on_host A refresh -g ike
if ((RC == 0)) && wait_until 5 tmd_has 'retransmit_tries: 4'; then
  t_pass "put -F replaced the settings; tmd uses retransmit_tries 4 after refresh"
else
  t_fail "put -F of settings did not reach tmd"
fi
on_host A ikedb get >"$work/all.db"
cp -p "$db" "$work/before.db"
run "ikedb put -F (ikedb get)" on_host A ikedb put -F "$work/all.db"
if ((RC == 0)) && [[ "$(on_host A ikedb get)" == "$(cat "$work/all.db")" ]]; then
  t_pass "round trip: put -F of get's output leaves the same database"
else
  t_fail "put -F of get's output changed the database"
fi
mode=$(stat -c %a "$db")
[[ $mode == 640 ]] && t_pass "tunnels.db kept mode 0640 through the edits" ||
  t_fail "tunnels.db mode is $mode, was 640"
run "ikedb check" on_host A ikedb check
((RC == 0)) && t_pass "ikedb check: the edited tunnels.db is ok" || t_fail "ikedb check failed"
leftover=$(find "$(host_dir A)/etc" -name '*.ikedb-*')
[[ -z $leftover ]] && t_pass "no temporary file left beside tunnels.db" ||
  t_fail "temporary files left: $leftover"

((T_FAILS == 0)) || ike_dump A
t_done
