#!/usr/bin/env bash
# SRC behaviour (conventions.md, "Start order and SRC"): idempotent
# startsrc/stopsrc, restart of a killed daemon, refresh, and configuration errors
# reported with file and line.
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_suite

ike_lab 240
ike_write_db A
ike_write_psk A 192.0.2.2 "src-test-$RANDOM$RANDOM"
db="$(host_dir A)/etc/tunnels.db"
cp "$db" "$db.good"

run() { # run LABEL CMD... : output in OUT, status in RC
  local label=$1; shift
  run_to_file "$@" && RC=0 || RC=$?
  OUT=$IKE_OUT
  echo "\$ $label  (exit $RC)"
  echo "$OUT" | redact | indent
}

# ---- startsrc twice --------------------------------------------------------------
run "startsrc -g ike" on_host_syslog A startsrc -g ike
IKE_STARTED[A]=1
if ((RC == 0)) && src_wait_all A active 10; then
  t_pass "startsrc -g ike: exit 0, tmd/isakmpd/cpsd active"
else
  t_abort "startsrc -g ike did not start the group"
fi
run "startsrc -g ike (again)" on_host_syslog A startsrc -g ike
if ((RC == 0)) && grep -qi "already active" <<<"$OUT"; then
  t_pass "second startsrc: exit 0, says already active"
else
  t_fail "second startsrc: expected exit 0 and 'already active'"
fi
src_wait_all A active 5 || t_fail "second startsrc disturbed the group"

# ---- srcmstr restarts a daemon that dies ------------------------------------------------
old=$(src_pid A isakmpd)
tmd_pid=$(src_pid A tmd)
if [[ $old =~ ^[0-9]+$ ]] && [[ " $(ip netns pids "$(host_ns A)" | tr '\n' ' ') " == *" $old "* ]]; then
  kill -9 "$old"
  t_info "kill -9 isakmpd (pid $old, inside our namespace)"
  new_pid() { local p; p=$(src_pid A isakmpd); [[ $p =~ ^[0-9]+$ && $p != "$old" ]]; }
  if wait_until 8 new_pid; then
    t_pass "isakmpd restarted by srcmstr (pid $old -> $(src_pid A isakmpd))"
  else
    on_host A lssrc -g ike 2>&1 | indent || true
    t_fail "isakmpd not restarted with a new PID within 8s"
  fi
  if wait_until 3 grep -Eiq 'srcmstr(\[[0-9]+\])?:.*(restart|isakmpd.*(died|exit|signal|killed))' "$(host_syslog A)"; then
    t_pass "syslog (ident srcmstr) has the restart"
    grep -Ei 'srcmstr(\[[0-9]+\])?:' "$(host_syslog A)" | tail -n 3 | indent
  else
    t_fail "no srcmstr line about restarting isakmpd in syslog"
  fi
else
  t_fail "lssrc gives no usable isakmpd PID ('$old')"
fi

# ---- refresh ---------------------------------------------------------------------
run "refresh -g ike" on_host A refresh -g ike
if ((RC == 0)); then t_pass "refresh -g ike: exit 0"; else t_fail "refresh -g ike failed"; fi

# A broken database: an unknown field on line 4.
cat >"$db" <<'EOF'
# broken on purpose (line 4)
settings {
  log_level: EVENTS
  no_such_field: 1
}
EOF
bad_line=4
run "refresh -g ike (broken tunnels.db)" on_host A refresh -g ike
if grep -q "tunnels.db:$bad_line" <<<"$OUT"; then
  t_pass "refresh with a broken db reports tunnels.db:$bad_line (exit $RC)"
elif grep -Eq 'tunnels\.db:[0-9]+' <<<"$OUT"; then
  t_fail "refresh reports the broken db but with the wrong line (expected tunnels.db:$bad_line)"
else
  t_fail "refresh with a broken db does not name tunnels.db:<line>"
fi
if src_wait_all A active 2 && [[ $(src_pid A tmd) == "$tmd_pid" ]]; then
  t_pass "daemons keep running after the failed refresh (tmd pid $tmd_pid unchanged)"
else
  on_host A lssrc -g ike 2>&1 | indent || true
  t_fail "daemons did not survive the failed refresh"
fi
if grep -q "tunnels.db:$bad_line" "$(host_syslog A)"; then
  t_pass "syslog names tunnels.db:$bad_line"
else
  t_fail "syslog does not name tunnels.db:$bad_line"
fi

# ---- stopsrc twice ------------------------------------------------------------------
run "stopsrc -g ike" on_host A stopsrc -g ike
if ((RC == 0)) && src_wait_all A inoperative 10; then
  t_pass "stopsrc -g ike: exit 0, all inoperative"
else
  t_fail "stopsrc -g ike did not stop the group"
fi
run "stopsrc -g ike (again)" on_host A stopsrc -g ike
if ((RC == 0)) && grep -Eqi "inoperative|not active" <<<"$OUT"; then
  t_pass "second stopsrc: exit 0, says inoperative"
else
  t_fail "second stopsrc: expected exit 0 and 'inoperative'"
fi

# ---- startsrc with a broken database ---------------------------------------------------
run "startsrc -g ike (broken tunnels.db)" on_host_syslog A startsrc -g ike
if grep -q "tunnels.db:$bad_line" <<<"$OUT"; then
  t_pass "startsrc with a broken db names tunnels.db:$bad_line (exit $RC)"
else
  t_fail "startsrc with a broken db does not print tunnels.db:$bad_line"
fi
if ((RC != 0)); then
  t_pass "startsrc with a broken db: exit $RC"
else
  t_fail "startsrc with a broken db: exit 0 (expected non-zero)"
fi
sleep 0.5
st=$(src_status A tmd)
if [[ $st != active ]]; then
  t_pass "tmd is not active with a broken db (lssrc: '${st:-?}')"
else
  t_fail "tmd reported active with a broken db"
fi

# ---- configuration that would not be honoured (issue 7, hole 4.l) ---------------------
# DH group 1 (768-bit MODP): refused, with the reason (issue 10.3).
sed 's/^    dh_group: MODP_2048$/    dh_group: MODP_768/' "$db.good" >"$db"
weak_line=$(grep -n 'dh_group: MODP_768' "$db" | cut -d: -f1)
run "ikedb -c (dh_group: MODP_768)" on_host A ikedb -c "$db"
if ((RC == 1)) && grep -q "tunnels.db:$weak_line:5: ike_protection \"p1-lab\" proposal 1: dh_group: MODP_768 (group 1) is refused" <<<"$OUT"; then
  t_pass "ikedb -c refuses dh_group: MODP_768, naming tunnels.db:$weak_line, the field and why"
else
  t_fail "ikedb -c did not refuse dh_group: MODP_768 with file, line, field and reason"
fi
run "startsrc -g ike (dh_group: MODP_768)" on_host_syslog A startsrc -g ike
if ((RC != 0)) && grep -q "tunnels.db:$weak_line:.*MODP_768 (group 1) is refused" <<<"$OUT"; then
  t_pass "startsrc refuses dh_group: MODP_768, naming tunnels.db:$weak_line (exit $RC)"
else
  t_fail "startsrc did not refuse dh_group: MODP_768 with file and line"
fi
st=$(src_status A tmd)
[[ $st != active ]] && t_pass "tmd is not active with dh_group: MODP_768" ||
  t_fail "tmd reported active with dh_group: MODP_768"

# A second ike_tunnel between the same endpoints: unreachable as responder.
{ cat "$db.good"; sed -n '/^ike_tunnel {/,/^}/p' "$db.good" | sed 's/name: "t1"/name: "t1-twin"/'; } >"$db"
run "ikedb -c (two ike_tunnels, same endpoints)" on_host A ikedb -c "$db"
if ((RC == 1)) && grep -q 'ike_tunnel "t1-twin": remote_address: .* already the endpoints of ike_tunnel "t1"' <<<"$OUT"; then
  t_pass "ikedb -c refuses two ike_tunnels with the same endpoints, naming both"
else
  t_fail "ikedb -c did not refuse two ike_tunnels with the same endpoints"
fi
run "startsrc -g ike (two ike_tunnels, same endpoints)" on_host_syslog A startsrc -g ike
if ((RC != 0)) && grep -q 'ike_tunnel "t1-twin".* ike_tunnel "t1"' <<<"$OUT"; then
  t_pass "startsrc refuses two ike_tunnels with the same endpoints (exit $RC)"
else
  t_fail "startsrc did not refuse two ike_tunnels with the same endpoints"
fi

cp "$db.good" "$db"
((T_FAILS == 0)) || ike_dump A
t_done
