# tests/lib/nat.sh -- a lab with host A behind a masquerading router N and
# host B outside (NAT traversal, issue 10.6), on the host kernel:
#
#   A (198.51.100.1 on lo) 192.0.2.1/25 --vA--vNi-- 192.0.2.126/25 N 192.0.2.129/25 --vNo--vB-- 192.0.2.130/25 B (203.0.113.1 on lo)
#
#   lab_nat_hosts [PORTS]   the topology above: A's default route via N, N forwards
#                           and masquerades what leaves on vNo (nftables; else
#                           iptables-nft/legacy MASQUERADE); B has no route to
#                           192.0.2.0/25, so it sees A only as 192.0.2.129.
#                           PORTS=random (default): the NAT also picks new source
#                           ports ("masquerade random"), as many NATs do, so the
#                           float to 4500 meets a translated port; PORTS=keep:
#                           Linux's default, ports kept when free.
#   nat_lab [SECONDS] [PORTS]  ike_lab's preamble with this topology (lab, hosts,
#                           syslog on A and B)
#   NAT_OUTSIDE             N's outside address (what B sees as A's)
#   nat_conntrack           N's conntrack table for UDP (for failure dumps)
#
# The addresses are those of tests/kernel/uml_natt_test.sh, which builds the same
# lab inside user-mode Linux. host_addr A is A's own (inside) address, which is
# also its identity; host_addr B is B's outside address.

# shellcheck shell=bash
if [[ -n "${_IKE_NAT_SH:-}" ]]; then return 0; fi
_IKE_NAT_SH=1
# shellcheck source=ike.sh
source "$(dirname "${BASH_SOURCE[0]}")/ike.sh"

NAT_INSIDE=192.0.2.126
NAT_OUTSIDE=192.0.2.129

# _nat_veth X IFX ADDRX/LEN Y IFY ADDRY/LEN
_nat_veth() {
  timeout 10 ip link add "$2" netns "${HOST_NS[$1]}" type veth peer name "$5" netns "${HOST_NS[$4]}" &&
    timeout 10 ip -n "${HOST_NS[$1]}" addr add "$3" dev "$2" &&
    timeout 10 ip -n "${HOST_NS[$4]}" addr add "$6" dev "$5" &&
    timeout 10 ip -n "${HOST_NS[$1]}" link set "$2" up &&
    timeout 10 ip -n "${HOST_NS[$4]}" link set "$5" up
}

# _nat_masquerade PORTS: N's source NAT on vNo; prints the tool used (or why not).
_nat_masquerade() {
  local ns=${HOST_NS[N]} random='' out='' ipt
  [[ $1 == random ]] && random=' random'
  if command -v nft >/dev/null &&
    out=$(printf 'table ip lab_nat {\n chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname "vNo" masquerade%s\n }\n}\n' "$random" |
      ip netns exec "$ns" nft -f - 2>&1); then
    echo "nftables masquerade$random"
    return 0
  fi
  for ipt in iptables-nft iptables-legacy; do
    command -v "$ipt" >/dev/null || continue
    # shellcheck disable=SC2086
    if ip netns exec "$ns" "$ipt" -t nat -A POSTROUTING -o vNo -j MASQUERADE \
      ${random:+--random} >/dev/null 2>&1; then
      echo "$ipt MASQUERADE${random:+ --random}"
      return 0
    fi
  done
  echo "${out:-no nft, iptables-nft or iptables-legacy}"
  return 1
}

lab_nat_hosts() {
  local ports=${1:-random} how
  lab_add_host A 192.0.2.1 198.51.100.1
  lab_add_host B 192.0.2.130 203.0.113.1
  # N protects nothing; 203.0.113.254 on its lo only satisfies lab_add_host
  lab_add_host N "$NAT_OUTSIDE" 203.0.113.254
  _nat_veth A vA 192.0.2.1/25 N vNi "$NAT_INSIDE/25" || t_abort "veth A <-> N failed"
  _nat_veth N vNo "$NAT_OUTSIDE/25" B vB 192.0.2.130/25 || t_abort "veth N <-> B failed"
  HOST_IF[A]=vA HOST_IF[B]=vB HOST_IF[N]=vNo
  timeout 10 ip -n "${HOST_NS[A]}" route add default via "$NAT_INSIDE" ||
    t_abort "A: default route via N"
  timeout 10 ip netns exec "${HOST_NS[N]}" sysctl -qw net.ipv4.ip_forward=1 ||
    t_abort "N: ip_forward"
  how=$(_nat_masquerade "$ports") || t_abort "N: cannot masquerade on vNo: $how"
  t_info "N: forwarding, $how on vNo"
  if ! wait_until 5 timeout 3 ip netns exec "${HOST_NS[A]}" ping -c1 -W1 -q 192.0.2.130 >/dev/null 2>&1; then
    t_abort "A (192.0.2.1) cannot ping B (192.0.2.130) through N"
  fi
  if timeout 3 ip netns exec "${HOST_NS[B]}" ping -c1 -W1 -q 192.0.2.1 >/dev/null 2>&1; then
    t_abort "B reaches 192.0.2.1: there is no NAT in the way"
  fi
}

nat_lab() {
  lab_init "${1:-300}"
  lab_on_cleanup ike_stop_all_started
  lab_nat_hosts "${2:-random}"
  local h
  for h in A B; do
    host_start_syslog "$h"
    host_syslog_selftest "$h" || t_abort "syslog capture does not work on host $h"
  done
}

nat_conntrack() {
  if command -v conntrack >/dev/null; then
    ip netns exec "${HOST_NS[N]}" conntrack -L -p udp 2>/dev/null
  else
    ip netns exec "${HOST_NS[N]}" cat /proc/net/nf_conntrack 2>/dev/null
  fi
}
