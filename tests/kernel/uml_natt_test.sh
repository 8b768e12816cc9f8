#!/usr/bin/env bash
# NAT traversal (RFC 3947 / RFC 3948) through a masquerading router, inside
# user-mode Linux (issue 8.6). Three namespaces:
#
#   A (198.51.100.1 on lo) 192.0.2.1/25 --vA--vNi-- 192.0.2.126/25 N 192.0.2.129/25 --vNo--vB-- 192.0.2.130/25 B (203.0.113.1 on lo)
#
# N forwards and masquerades what leaves on vNo (iptables-legacy: the UML kernel
# has no nf_tables for IPv4; where it has no legacy iptables either, 7.x from
# scripts/uml-fallback, a stateless tc NAT of A's address on vNo); B has no route to A's side, so B sees A only as
# 192.0.2.129. The suite runs on A and B with the XFRM backend; A initiates.
# isakmpd must see the NAT in the NAT-D payloads and float to UDP 4500; tmd then
# installs ESP-in-UDP SAs (encap espinudp 4500 4500) on both sides, a ping
# between the protected addresses passes, and on the outside link (captured on
# N's vNo, both directions: N does no IPsec, so nothing decrypted is re-tapped)
# there are UDP 4500 packets, no plain ESP (IP protocol 50), no clear ICMP and
# never A's own address.
#
# The tunnels.db files are written here (not by ike_write_db): B's phase 1
# tunnel has the router's outside address as remote_address, and A's identity
# (its own address, 192.0.2.1, which is what A sends in its ID payload) as
# remote_id; B's pre-shared key is filed under that identity.
set -euo pipefail
source "$(dirname "$0")/../lib/uml.sh"

if [[ -z ${IKE_IN_UML:-} ]]; then
  t_require_root
  uml_require
  t_require_suite
  # the router's NAT: legacy iptables (ip_tables + the nat table + MASQUERADE),
  # or tc's stateless NAT where the kernel has no legacy iptables
  UML_KERNEL_MODULES+=("ip_tables?" "iptable_nat?" "xt_MASQUERADE?" sch_ingress cls_u32 act_nat)
  uml_run 540 "$0"
  exit
fi

# ---- inside user-mode Linux ---------------------------------------------------------
IKE_WAIT=${IKE_WAIT:-60}
source "$IKE_SRC/tests/lib/ike.sh"
source "$IKE_SRC/tests/lib/uml_traffic.sh"
t_require_netns
t_require_cmd rsyslogd logger ping tcpdump iptables-legacy tc
t_require_suite
dump_both() { ike_dump A; ike_dump B; }
xfrm() { local x=$1; shift; ip netns exec "$(host_ns "$x")" ip "$@" 2>&1; }

A_IN=192.0.2.1 N_IN=192.0.2.126 N_OUT=192.0.2.129 B_OUT=192.0.2.130

# ---- the lab: A behind N, B outside ----------------------------------------------------
lab_init 480
lab_on_cleanup ike_stop_all_started
lab_add_host A "$A_IN" 198.51.100.1
lab_add_host B "$B_OUT" 203.0.113.1
# N: a namespace of its own, in LAB_HOSTS so that lab_cleanup deletes it
ns_n="${LAB_TAG}-n"
timeout 10 ip netns add "$ns_n" || t_abort "ip netns add $ns_n failed"
HOST_NS[N]=$ns_n HOST_DIR[N]="$LAB_DIR/N" HOST_ADDR[N]=$N_OUT
mkdir -p "$LAB_DIR/N"
LAB_HOSTS+=(N)

# veth X IFX ADDRX/LEN Y IFY ADDRY/LEN
veth() {
  timeout 10 ip link add "$2" netns "$(host_ns "$1")" type veth peer name "$5" netns "$(host_ns "$4")" &&
    timeout 10 ip -n "$(host_ns "$1")" addr add "$3" dev "$2" &&
    timeout 10 ip -n "$(host_ns "$4")" addr add "$6" dev "$5" &&
    timeout 10 ip -n "$(host_ns "$1")" link set "$2" up &&
    timeout 10 ip -n "$(host_ns "$4")" link set "$5" up
}
veth A vA "$A_IN/25" N vNi "$N_IN/25" || t_abort "veth A <-> N failed"
veth N vNo "$N_OUT/25" B vB "$B_OUT/25" || t_abort "veth N <-> B failed"
HOST_IF[A]=vA HOST_IF[B]=vB HOST_IF[N]=vNo
ip -n "$(host_ns A)" route add default via "$N_IN" || t_abort "A: default route via N"
ip netns exec "$ns_n" sysctl -qw net.ipv4.ip_forward=1 || t_abort "N: ip_forward"
# tc_nat: A's address becomes N's outside one on vNo, and back (act_nat,
# stateless: the ports stay, which the NAT-D hashes do not need to change)
tc_nat() {
  tc -n "$ns_n" qdisc add dev vNo clsact &&
    tc -n "$ns_n" filter add dev vNo egress protocol ip u32 match ip src "$A_IN/32" \
      action nat egress "$A_IN/32" "$N_OUT" &&
    tc -n "$ns_n" filter add dev vNo ingress protocol ip u32 match ip dst "$N_OUT/32" \
      action nat ingress "$N_OUT/32" "$A_IN"
}
if out=$(ip netns exec "$ns_n" iptables-legacy -t nat -A POSTROUTING -o vNo -j MASQUERADE 2>&1); then
  t_pass "N: forwarding, MASQUERADE on vNo (iptables-legacy)"
elif [[ $out == *"Table does not exist"* || $out == *"can't initialize"* ]] && out=$(tc_nat 2>&1); then
  t_pass "N: forwarding, $A_IN translated to $N_OUT on vNo (tc act_nat; this kernel has no legacy iptables)"
else
  echo "$out" | indent
  t_abort "N: neither iptables-legacy MASQUERADE nor tc act_nat on vNo"
fi
if wait_until 10 timeout 3 ip netns exec "$(host_ns A)" ping -c1 -W1 -q "$B_OUT" >/dev/null 2>&1; then
  t_pass "lab: A ($A_IN) reaches B ($B_OUT) through N; B has no route back to $A_IN"
else
  t_abort "lab: A cannot ping B ($B_OUT) through N"
fi
for h in A B; do
  host_start_syslog "$h"
  host_syslog_selftest "$h" || t_abort "syslog capture does not work on host $h"
done

# ---- tunnels.db and psk.db -------------------------------------------------------------------
# write_db X LOCAL REMOTE LNET RNET [REMOTE_ID]: the format of ike_write_db.
write_db() {
  local x=$1 local=$2 remote=$3 lnet=$4 rnet=$5 rid=${6:-} rid_line=''
  [[ -n $rid ]] && rid_line="
  remote_id { type: IPV4_ADDR value: \"$rid\" }"
  cat >"$(host_dir "$x")/etc/tunnels.db" <<EOF
# tunnels.db for lab host $x ($local) -> $remote, NAT-T lab (uml_natt_test)
settings {
  log_level: EVENTS
  retransmit_interval_ms: 1000
  retransmit_tries: 5
  kernel_backend: XFRM
}
ike_protection {
  name: "p1-lab"
  mode: MAIN
  proposal {
    encryption: AES_CBC
    key_length: 128
    hash: SHA2_256
    auth_method: PRESHARED_KEY
    dh_group: MODP_2048
  }
}
ike_tunnel {
  name: "t1"
  local_address: "$local"
  remote_address: "$remote"$rid_line
  protection: "p1-lab"
}
ipsec_protection {
  name: "p2-lab"
  proposal {
    encryption: ESP_AES_CBC
    key_length: 128
    integrity: HMAC_SHA2_256
  }
  pfs_group: MODP_2048
}
ipsec_tunnel {
  name: "t1-net"
  ike_tunnel: "t1"
  local { address: "$lnet" }
  remote { address: "$rnet" }
  protection: "p2-lab"
}
EOF
}
psk="uml-natt-$RANDOM$RANDOM-$$"
write_db A "$A_IN" "$B_OUT" 198.51.100.1 203.0.113.1
write_db B "$B_OUT" "$N_OUT" 203.0.113.1 198.51.100.1 "$A_IN"
ike_write_psk A "$B_OUT" "$psk"
ike_write_psk B "$A_IN" "$psk"
t_info "tunnels.db: A $A_IN -> $B_OUT; B $B_OUT -> $N_OUT (the NAT), remote_id $A_IN; psk.db (0600) on both"

# ---- start, capture the outside link, activate --------------------------------------------
for h in A B; do
  ike_start "$h" || { echo "$IKE_OUT" | indent; t_abort "$h: startsrc -g ike failed"; }
done
for h in A B; do
  src_wait_all "$h" active 30 || t_abort "$h: the suite is not active"
done
t_pass "A and B: startsrc -g ike, tmd, isakmpd, cpsd active"
cap_start out N:vNo:inout
ike_cmd A cmd=activate numlist=1 >/dev/null 2>&1 || t_fail "A: ike cmd=activate numlist=1 failed"
ok=1
for h in A B; do
  for p in 1 2; do
    if ike_wait_status "$h" "$p" Active "$IKE_WAIT"; then
      t_pass "$h: phase $p Active"
    else
      t_fail "$h: phase $p not Active (status '$(ike_status "$h" "$p")')"
      ok=0
    fi
  done
done
((ok)) || { cap_stop; dump_both; t_abort "the tunnel did not come up through the NAT"; }

if grep -q "NAT detected (in front of us); moving to port 4500" "$(host_syslog A)"; then
  t_pass "A: isakmpd logged 'NAT detected (in front of us); moving to port 4500'"
else
  t_fail "A: no 'NAT detected (in front of us)' line from isakmpd"
fi

# ---- the kernel's SAs: ESP in UDP on both sides ---------------------------------------------
for h in A B; do
  out=$(xfrm "$h" xfrm state)
  n=$(grep -c "encap type espinudp sport 4500 dport 4500" <<<"$out" || true)
  if ((n == 2)); then
    t_pass "$h: ip xfrm state: both SAs have encap espinudp 4500 -> 4500"
  else
    sed -E 's/(0x)[0-9a-f]{16,}/\1<key>/g' <<<"$out" | indent
    t_fail "$h: ip xfrm state: $n of 2 SAs with encap espinudp 4500 -> 4500"
  fi
done
# ---- traffic through the tunnel, the outside link ----------------------------------------------
if host_ping A 198.51.100.1 203.0.113.1 3; then
  t_pass "A: ping 198.51.100.1 -> 203.0.113.1 through the NAT-T tunnel: 3/3"
else
  t_fail "A: ping 198.51.100.1 -> 203.0.113.1 through the NAT-T tunnel failed"
fi
echo "$HOST_PING_OUT"
# Each end's cache: both SAs ESP in UDP, the peer as this end sees it (B: the
# router's outside address), and the kernel's counters: the outbound SA counted
# the 3 packets sent, the inbound SA the 3 received (decapsulated by the kernel on
# isakmpd's port 4500 socket).
for h in A B; do
  out=$(ike_list "$h" cache 2>&1 || true)
  echo "$out" | redact | indent
  peer=$B_OUT
  [[ $h == B ]] && peer=$N_OUT
  if (($(grep -c "ESP/tunnel-in-UDP 4500>4500" <<<"$out" || true) == 2)) && grep -q " $peer " <<<"$out"; then
    t_pass "$h: ike cmd=list cache: both SAs ESP/tunnel-in-UDP 4500>4500, peer $peer"
  else
    t_fail "$h: ike cmd=list cache does not show two ESP/tunnel-in-UDP 4500>4500 SAs with peer $peer"
  fi
  for dir in outbound inbound; do
    n=$(awk -v d="$dir" '$3 == d { print $NF; exit }' <<<"$out")
    if [[ $n == 3 ]]; then
      t_pass "$h: the $dir SA counted the 3 packets of the ping"
    else
      t_fail "$h: the $dir SA counted '$n' packets, want 3"
      [[ $dir == inbound ]] && t_info "$h: ESP-in-UDP that reaches port 4500 is decapsulated by the" \
        "kernel only on a socket with UDP_ENCAP_ESPINUDP (setsockopt UDP_ENCAP); without it the" \
        "packets go to isakmpd as plain datagrams (Udp InDatagrams: $(ip netns exec "$(host_ns "$h")" \
          awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $2 }' /proc/net/snmp))"
    fi
  done
done
sleep 0.5 # the last packets reach the capture file
cap_stop
cap_read out N
cap_count out N
t_info "outside link (N's vNo, both directions): ${CAP_N[ike500]} IKE on 500, ${CAP_N[ike4500]} IKE on 4500," \
  "${CAP_N[espinudp]} ESP in UDP 4500, ${CAP_N[esp]} plain ESP, ${CAP_N[icmp]} clear ICMP, ${CAP_N[other]} other"
if ((CAP_N[ike500] > 0 && CAP_N[ike4500] > 0)); then
  t_pass "outside link: Main Mode began on UDP 500 and moved to UDP 4500 (non-ESP marker)"
else
  t_fail "outside link: IKE on 500: ${CAP_N[ike500]}, on 4500: ${CAP_N[ike4500]} (want both > 0)"
fi
if ((CAP_N[espinudp] >= 6)); then
  t_pass "outside link: ${CAP_N[espinudp]} ESP-in-UDP packets on port 4500 (the ping, both ways)"
else
  t_fail "outside link: ${CAP_N[espinudp]} ESP-in-UDP packets on port 4500, want at least 6"
fi
if ((CAP_N[esp] == 0 && CAP_N[icmp] == 0)); then
  t_pass "outside link: no plain ESP (protocol 50) and no clear ICMP"
else
  t_fail "outside link: ${CAP_N[esp]} plain ESP and ${CAP_N[icmp]} clear ICMP packets"
fi
n=$(grep -Ec "192\.0\.2\.1[ .:]" "$LAB_DIR/cap-out-N.txt" || true)
if ((n == 0)); then
  t_pass "outside link: A's own address $A_IN never appears (masqueraded to $N_OUT)"
else
  t_fail "outside link: $n packets carry A's own address $A_IN"
fi
if ((T_FAILS > 0)); then
  echo "---- outside link, as tcpdump reads it (first 40 packets) ----"
  head -n 40 "$LAB_DIR/cap-out-N.txt" | indent
fi

for h in A B; do
  if ike_stop "$h"; then t_pass "$h: stopsrc -g ike exit 0"; else t_fail "$h: stopsrc -g ike failed"; fi
done
((T_FAILS == 0)) || dump_both
t_done
