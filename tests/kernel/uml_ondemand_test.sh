#!/usr/bin/env bash
# On-demand activation and negotiation discovery (issue 8.3, 8.4), inside
# user-mode Linux with the XFRM backend. Three hosts: A runs the suite; B runs
# it too (an IKE peer, responder only); C has no IKE at all (no isakmpd:
# UDP 500 is closed). A's tunnels.db:
#   od   ON_DEMAND  198.51.100.1 <-> 203.0.113.1   over t-b (A -> B)
#   disc DISCOVERY  198.51.100.1 <-> 203.0.113.2   over t-b (A -> B)
#   dc   DISCOVERY  198.51.100.1 <-> 203.0.113.200 over t-c (A -> C)
# Checks: all three Dormant after startsrc, nothing negotiated; a ping to
# 203.0.113.1 activates od (acquire), once, and then passes through ESP; a
# remove makes it Dormant again and the next ping brings it back; pings to
# 203.0.113.2 pass from the first one (clear while negotiating) and then go
# through ESP; pings to C pass in the clear, dc is listed Clear with the
# reason, and traffic after the back-off makes one more attempt, not one per
# packet. stopsrc leaves no policy of ours behind.
set -euo pipefail
source "$(dirname "$0")/../lib/uml.sh"

if [[ -z ${IKE_IN_UML:-} ]]; then
  t_require_root
  uml_require
  t_require_suite
  uml_run 540 "$0"
  exit
fi

# ---- inside user-mode Linux ---------------------------------------------------------
IKE_WAIT=${IKE_WAIT:-60}
source "$IKE_SRC/tests/lib/ike.sh"
t_require_netns
t_require_cmd rsyslogd logger ping
dump_all() { ike_dump A; ike_dump B; }
nsA() { ip netns exec "$(host_ns A)" "$@"; }
ping_from_a() { # ping_from_a DEST COUNT: how many replies
  local out
  out=$(nsA ping -c "$2" -i 0.3 -W 1 -I 198.51.100.1 "$1" 2>&1 || true)
  grep -Eo '[0-9]+ received' <<<"$out" | grep -Eo '[0-9]+' || echo 0
}
# Packets the kernel counted on A's SAs of reqid 0x1f...
esp_packets_a() { nsA ip -s xfrm state | awk '/lifetime current:/ {getline; sub(/\(packets\).*/, "", $2); n += $2} END {print n + 0}'; }
row() { ike_list A 2>/dev/null | awk -v n="$1" '$1 == 2 && $5 ~ n { print $3 }' | head -1; }

ike_lab 480
# C: a plain host on a link of its own to A (198.51.100.8/30), protecting
# 203.0.113.200; it routes A's protected address back over that link.
lab_add_host C 198.51.100.10 203.0.113.200
ip link add vC netns "$(host_ns A)" type veth peer name vA2 netns "$(host_ns C)"
ip -n "$(host_ns A)" addr add 198.51.100.9/30 dev vC
ip -n "$(host_ns C)" addr add 198.51.100.10/30 dev vA2
ip -n "$(host_ns A)" link set vC up
ip -n "$(host_ns C)" link set vA2 up
ip -n "$(host_ns C)" route add 198.51.100.1/32 via 198.51.100.9
# B holds a second protected address; discovery's clear replies need a way
# back to A before any tunnel exists (the clear path of a discovery site).
ip -n "$(host_ns B)" addr add 203.0.113.2/32 dev lo
ip -n "$(host_ns B)" route add 198.51.100.1/32 via 192.0.2.1
# The kernel reports a flow's acquire once per net.core.xfrm_acq_expires
# (30 s by default, the default trap_retry_seconds too): 3 s here, so that
# a retry after the 4 s back-off is not held back by the first placeholder.
nsA sysctl -qw net.core.xfrm_acq_expires=3
t_pass "lab: A, B (IKE), C (no IKE), syslog on A and B"

psk="uml-ondemand-$RANDOM$RANDOM-$$"
common() { # common HOST: settings and protections
  cat <<EOF
settings { log_level: EVENTS retransmit_interval_ms: 500 retransmit_tries: 3
           kernel_backend: XFRM trap_retry_seconds: 4 }
ike_protection { name: "p1" mode: MAIN
  proposal { encryption: AES_CBC key_length: 128 hash: SHA2_256 auth_method: PRESHARED_KEY dh_group: MODP_2048 } }
ipsec_protection { name: "p2" proposal { encryption: ESP_AES_CBC key_length: 128 integrity: HMAC_SHA2_256 }
  pfs_group: MODP_2048 }
EOF
}
{
  common
  cat <<'EOF'
ike_tunnel { name: "t-b" local_address: "192.0.2.1" remote_address: "192.0.2.2" protection: "p1" }
ike_tunnel { name: "t-c" local_address: "198.51.100.9" remote_address: "198.51.100.10" protection: "p1" }
ipsec_tunnel { name: "od" ike_tunnel: "t-b" protection: "p2" activation: ON_DEMAND
  local { address: "198.51.100.1" } remote { address: "203.0.113.1" } }
ipsec_tunnel { name: "disc" ike_tunnel: "t-b" protection: "p2" activation: DISCOVERY
  local { address: "198.51.100.1" } remote { address: "203.0.113.2" } }
ipsec_tunnel { name: "dc" ike_tunnel: "t-c" protection: "p2" activation: DISCOVERY
  local { address: "198.51.100.1" } remote { address: "203.0.113.200" } }
EOF
} >"$(host_dir A)/etc/tunnels.db"
{
  common
  cat <<'EOF'
ike_tunnel { name: "t-a" local_address: "192.0.2.2" remote_address: "192.0.2.1" protection: "p1" }
ipsec_tunnel { name: "od" ike_tunnel: "t-a" protection: "p2"
  local { address: "203.0.113.1" } remote { address: "198.51.100.1" } }
ipsec_tunnel { name: "disc" ike_tunnel: "t-a" protection: "p2"
  local { address: "203.0.113.2" } remote { address: "198.51.100.1" } }
EOF
} >"$(host_dir B)/etc/tunnels.db"
ike_write_psk A 192.0.2.2 "$psk"
printf 'key { remote_id: "198.51.100.10" text: "%s" }\n' "$psk" >>"$(host_dir A)/etc/psk.db"
ike_write_psk B 192.0.2.1 "$psk"

for h in A B; do
  ike_start "$h" || { echo "$IKE_OUT" | indent; t_abort "$h: startsrc -g ike failed"; }
  src_wait_all "$h" active 30 || t_abort "$h: the suite is not active"
done

# 1. Armed, Dormant, nothing negotiated.
if wait_until 10 eval '[[ $(row 203.0.113.1) == Dormant && $(row 203.0.113.2) == Dormant && $(row 203.0.113.200) == Dormant ]]'; then
  t_pass "A: od, disc and dc listed Dormant after startsrc"
  ike_list A | indent
else
  ike_list A 2>&1 | indent
  t_abort "A: the three trapped tunnels are not Dormant"
fi
[[ -z $(ike_status A 1) ]] && t_pass "A: no phase 1 negotiated before traffic" ||
  t_fail "A: a phase 1 exists before any traffic"
traps=$(nsA ip xfrm policy | grep -c 'reqid 50331' || true) # 0x1e000000 = 503316480
if ((traps == 3)); then
  t_pass "A: three trap policies in the kernel (reqid 0x1e0000xx)"
else
  nsA ip xfrm policy | indent
  t_fail "A: $traps trap policies in the kernel, want 3"
fi
ike_cmd A cmd=list filters 2>&1 | indent

# 2. On demand: a ping activates od; packets wait until it is up.
got=$(ping_from_a 203.0.113.1 10)
t_info "A: ping 203.0.113.1 (10 packets while od comes up): $got received"
if wait_until 30 eval '[[ $(row 203.0.113.1) == Active ]]'; then
  t_pass "A: the ping activated od (acquire), Active"
else
  dump_all
  t_fail "A: od not Active after the ping"
fi
log_a=$(host_syslog A)
n=$(grep -c "hit the on-demand trap of od: activating" "$log_a" || true)
if ((n == 1)); then
  t_pass "A: activated once for 10 packets (syslog: 'hit the on-demand trap of od')"
  grep "hit the on-demand trap" "$log_a" | head -1 | indent
else
  t_fail "A: od activated $n times, want 1"
fi
before=$(esp_packets_a)
got=$(ping_from_a 203.0.113.1 3)
after=$(esp_packets_a)
if ((got == 3 && after >= before + 6)); then
  t_pass "A: ping 203.0.113.1 3/3 through ESP (SA packet counters $before -> $after)"
else
  t_fail "A: ping through od: $got/3 received, SA counters $before -> $after"
fi

# 3. Removed, od is Dormant again; the next ping brings it back.
n2=$(ike_list A | awk '$1 == 2 && $5 ~ /203.0.113.1-/ { print $2 }')
ike_cmd A cmd=remove phase=2 numlist="$n2" >/dev/null 2>&1 || t_fail "A: ike cmd=remove failed"
if wait_until 10 eval '[[ $(row 203.0.113.1) == Dormant ]]'; then
  t_pass "A: od Dormant again after ike cmd=remove (the trap stays armed)"
else
  t_fail "A: od is '$(row 203.0.113.1)' after remove"
fi
ping_from_a 203.0.113.1 4 >/dev/null
if wait_until 30 eval '[[ $(row 203.0.113.1) == Active ]]'; then
  t_pass "A: traffic brought od up again"
else
  t_fail "A: od not Active again after the second ping"
fi

# 4. Discovery with an IKE peer: the first packets pass in the clear, then ESP.
got=$(ping_from_a 203.0.113.2 8)
if ((got >= 7)); then
  t_pass "A: ping 203.0.113.2 $got/8 while disc negotiated (clear until up)"
else
  t_fail "A: ping 203.0.113.2 $got/8 while disc negotiated"
fi
if wait_until 30 eval '[[ $(row 203.0.113.2) == Active ]]'; then
  t_pass "A: disc Active (the peer can: secure)"
else
  dump_all
  t_fail "A: disc not Active"
fi
before=$(esp_packets_a)
got=$(ping_from_a 203.0.113.2 3)
after=$(esp_packets_a)
if ((got == 3 && after >= before + 6)); then
  t_pass "A: ping 203.0.113.2 3/3 now through ESP (SA packet counters $before -> $after)"
else
  t_fail "A: ping 203.0.113.2 after disc is up: $got/3, SA counters $before -> $after"
fi

# 5. Discovery with a peer without IKE: clear, listed Clear with the reason.
got=$(ping_from_a 203.0.113.200 6)
if ((got == 6)); then
  t_pass "A: ping 203.0.113.200 (C, no IKE) 6/6 in the clear"
else
  t_fail "A: ping 203.0.113.200 $got/6"
fi
if wait_until 30 eval '[[ $(row 203.0.113.200) == Clear ]]'; then
  t_pass "A: dc listed Clear"
  ike_list A | indent
else
  ike_list A 2>&1 | indent
  t_fail "A: dc is '$(row 203.0.113.200)', want Clear"
fi
if ike_list A | grep -q "runs in the clear: .*starts the next attempt"; then
  t_pass "A: ike cmd=list says why and when the next attempt is"
else
  t_fail "A: no 'runs in the clear' line in ike cmd=list"
fi
tries1=$(grep -c "hit the discovery trap of dc: activating" "$log_a" || true)
sleep 5 # past the 4 s back-off
got=$(ping_from_a 203.0.113.200 4)
wait_until 20 eval '[[ $(grep -c "hit the discovery trap of dc: activating" "$log_a") -gt $tries1 ]]' || true
wait_until 30 eval '[[ $(row 203.0.113.200) == Clear ]]' || true
tries2=$(grep -c "hit the discovery trap of dc: activating" "$log_a" || true)
if ((tries1 == 1 && tries2 == 2 && got == 4)); then
  t_pass "A: after the back-off, traffic made one more attempt ($tries1 -> $tries2), pings $got/4 still in the clear"
else
  t_fail "A: attempts $tries1 -> $tries2 (want 1 -> 2), pings $got/4"
fi
grep "dc" "$log_a" | grep -E "in the clear|trap" | tail -3 | indent

# 6. stopsrc: no policy or SA of ours left.
for h in A B; do ike_stop "$h" >/dev/null 2>&1 || true; done
# (The kernel's acquire placeholders, spi 0, lapse on their own.)
pol=$(nsA ip xfrm policy | grep -Ec '^\s+dir (in|out|fwd) ' || true)
st=$(nsA ip xfrm state | grep -Ec 'reqid 5200' || true) # 0x1f0000xx = 52009xxxx
if ((pol == 0 && st == 0)); then
  t_pass "A: stopsrc left no policy (traps included) and no SA"
else
  nsA ip xfrm policy | indent
  t_fail "A: $pol policies and $st SAs left after stopsrc"
fi
((T_FAILS == 0)) || dump_all
t_done
