#!/usr/bin/env bash
# One row of the interop matrix with strongSwan (issue 10.9): host A runs the
# suite, host B Debian's charon (kernel-libipsec, which forces NAT-T, so every
# row also crosses UDP 4500). The row is given as key=value arguments (the
# list is tests/interop/matrix/rows; CMake registers each as
# interop.matrix.<name>):
#   name=         the row's name (for the output)
#   by=ours|theirs   who initiates
#   mode=MAIN|AGGRESSIVE
#   ike=          strongSwan's IKE proposal (aes128-sha256-modp2048)
#   enc= klen= hash= group=   our phase 1 proposal (AES_CBC 128 SHA2_256 MODP_2048)
#   esp=          strongSwan's ESP proposal (aes128-sha256-modp2048)
#   our_esp= integ= pfs=      ours (ESP_AES_CBC HMAC_SHA2_256 MODP_2048)
#   expect=       a regular expression swanctl --list-sas must show for the
#                 IKE SA or CHILD_SA (the negotiated algorithms, as charon names them)
#   rnet=         our remote selector (default: B's protected address)
#   sw_mode=      strongSwan's phase 1 mode when it differs from ours
#   sw_psk=       strongSwan's key, when it must differ from ours
#   proto= lport= rport=   the phase 2 selectors' IP protocol and our local and
#                 remote port (issue 10.4), on both sides
#   children=N    N phase 2 tunnels under the one phase 1 (198.51.100.k <->
#                 203.0.113.k, k = 1..N), each its own Quick Mode
#   protoport=dual   strongSwan's ikev1/protoport-dual: two phase 2 tunnels
#                 between the same hosts, one for ICMP, one for ssh (tcp/22)
#   lid= rid=     our identities (TYPE:VALUE, e.g. USER_FQDN:carol@a.example,
#                 FQDN:moon.example; strongSwan gets the mirror image); default:
#                 the addresses, or FQDN a.example/b.example in Aggressive Mode
#   subnets=yes   selectors 198.51.100.0/24 <-> 203.0.113.0/24 (net-to-net)
#   sw_rw=yes     strongSwan accepts any peer address (remote_addrs %any), as a
#                 gateway for road warriors does
# Through a NAT (issue 10.6): nat=yes puts A behind a masquerading router N
# (tests/lib/nat.sh; B sees A as N's outside address, charon's remote_addrs);
# then A's syslog must name the NAT it detected, swanctl --list-sas show the
# peer at N's address and charon on UDP 4500, charon's log say who is behind
# a NAT; by=theirs is not possible (B cannot reach A before A's NAT
# mapping exists). natt= sets our settings.nat_traversal (NAT_TRAVERSAL_OFF);
# natka=S our settings.nat_keepalive_seconds, and then a capture on B's link
# must show our keepalives (one octet 0xFF to UDP 4500) from the NAT.
#   ipv6=yes      IPv6 lab (issue 10.5): IKE between 2001:db8::1 and 2001:db8::2,
#                 ID_IPV6_ADDR identities, selectors 2001:db8:a::1 <-> 2001:db8:b::1
#                 (subnets=yes: 2001:db8:a::/64 <-> 2001:db8:b::/64; children=N:
#                 2001:db8:a::k <-> 2001:db8:b::k)
#   inner=v4      with ipv6=yes: IPv4 selectors (198.51.100.1 <-> 203.0.113.1)
#                 over the IPv6 outer addresses
#   range=yes     range selectors (ID_IPV4/IPV6_ADDR_RANGE): a::1-a::9 <-> b::1-b::9
#                 (IPv4: 198.51.100.1-198.51.100.9 <-> 203.0.113.1-203.0.113.9)
# IKE fragmentation (issue 10.8): frag= and fragsize= set our
# settings.fragmentation (FRAGMENTATION_ON|OFF|FORCE) and fragment_size;
# sw_frag= (yes|no|accept|force) and sw_fragsize= strongSwan's. frag_in=yes:
# charon must have cut a message and A's syslog show one rebuilt from
# fragments; frag_out=yes: A must have cut one and charon rebuilt it. Our log
# level is then INFORMATION, where those lines are.
# Negative rows: fail=1|2 (the phase that must fail), reason= (a regular
# expression A's syslog must show: the operator-visible reason) and sw_says=
# (one charon's log must show, e.g. the notify it received).
# Both sides' own view is checked: ike cmd=list (both phases Active, or the
# failing phase not Active) and swanctl --list-sas (ESTABLISHED, INSTALLED,
# the expected algorithms) or charon's log.
set -euo pipefail
source "$(dirname "$0")/../../lib/ike.sh"
source "$(dirname "$0")/../../lib/strongswan.sh"
source "$(dirname "$0")/../../lib/nat.sh"

name=row by=ours mode=MAIN ike=aes128-sha256-modp2048 esp=aes128-sha256-modp2048
enc=AES_CBC klen=128 hash=SHA2_256 group=MODP_2048 our_esp=ESP_AES_CBC integ=HMAC_SHA2_256
pfs=MODP_2048 expect='' rnet='' sw_psk='' fail='' reason='' sw_says='' sw_mode=''
proto=0 lport=0 rport=0 children=1 protoport='' lid='' rid='' subnets='' sw_rw=''
nat=no natt='' natka=''
ipv6='' inner='' range=''
frag='' fragsize='' sw_frag='' sw_fragsize='' frag_in='' frag_out=''
for kv in "$@"; do
  case $kv in
    name=* | by=* | mode=* | ike=* | esp=* | enc=* | klen=* | hash=* | group=* | our_esp=* | \
      integ=* | pfs=* | expect=* | rnet=* | sw_psk=* | fail=* | reason=* | sw_says=* | sw_mode=* | \
      proto=* | lport=* | rport=* | children=* | protoport=* | lid=* | rid=* | subnets=* | sw_rw=* | \
      nat=* | natt=* | natka=* | ipv6=* | inner=* | range=* | frag=* | fragsize=* | sw_frag=* | \
      sw_fragsize=* | frag_in=* | frag_out=*)
      declare "${kv%%=*}=${kv#*=}" ;;
    *) t_abort "row.sh: unknown argument '$kv'" ;;
  esac
done

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_strongswan
t_require_suite

family=4 addr_id=IPV4_ADDR
[[ $ipv6 == yes ]] && family=6 addr_id=IPV6_ADDR
nat_opts=() sw_nat=()
if [[ $nat == yes ]]; then
  [[ $by == ours ]] || t_abort "row.sh: nat=yes needs by=ours (B cannot reach A behind the NAT)"
  nat_lab 120
  sw_nat=(remote_addrs="$NAT_OUTSIDE")
else
  ike_lab 120 "$family"
fi
[[ -n $natt ]] && nat_opts+=(natt="$natt")
[[ -n $natka ]] && nat_opts+=(natka="$natka")
sw_frag_opts=()
[[ -n $frag ]] && nat_opts+=(frag="$frag")
[[ -n $fragsize ]] && nat_opts+=(fragsize="$fragsize")
[[ -n $frag$fragsize$sw_frag$sw_fragsize ]] && nat_opts+=(log=INFORMATION)
[[ -n $sw_frag ]] && sw_frag_opts+=(fragmentation="$sw_frag")
[[ -n $sw_fragsize ]] && sw_frag_opts+=(fragment_size="$sw_fragsize")
# The protected networks: the lab's (lo) addresses, or IPv4 ones inside IPv6.
a_host=$(host_net A) b_host=$(host_net B) plen=$(host_plen A)
a_sub=198.51.100.0/24 b_sub=203.0.113.0/24
if [[ $family == 6 && $inner == v4 ]]; then
  timeout 10 ip -n "$(host_ns A)" addr add 198.51.100.1/32 dev lo
  timeout 10 ip -n "$(host_ns B)" addr add 203.0.113.1/32 dev lo
  a_host=198.51.100.1 b_host=203.0.113.1 plen=32
elif [[ $family == 6 ]]; then
  a_sub=2001:db8:a::/64 b_sub=2001:db8:b::/64
fi
# host k of a protected network (children=N): 198.51.100.k, 2001:db8:a::k
host_k() { echo "${1%1}$2"; }
psk="row-$RANDOM$RANDOM-$$"
sw_mode=${sw_mode:-$mode}
ids=()
sw_ids=()
if [[ $mode == AGGRESSIVE || $sw_mode == AGGRESSIVE ]]; then
  ids=(lid=FQDN:a.example rid=FQDN:b.example)
  sw_ids=(lid=b.example rid=a.example)
  [[ $sw_mode == AGGRESSIVE ]] && sw_ids+=(aggressive=yes)
fi
psk_id=$(host_addr B)
((${#sw_ids[@]})) && psk_id=b.example
if [[ -n $lid || -n $rid ]]; then
  lid=${lid:-$addr_id:$(host_addr A)} rid=${rid:-$addr_id:$(host_addr B)}
  ids=(lid="$lid" rid="$rid")
  sw_ids=(lid="${rid#*:}" rid="${lid#*:}")
  [[ $sw_mode == AGGRESSIVE ]] && sw_ids+=(aggressive=yes)
  psk_id=${rid#*:}
fi
[[ -n $sw_rw ]] && sw_ids+=(remote_addrs=%any)
a_net=$a_host/$plen b_net=$b_host/$plen
if [[ -n $subnets ]]; then
  a_net=$a_sub b_net=$b_sub
  ids+=(lnet=$a_net rnet=$b_net)
elif [[ $range == yes ]]; then
  # swanctl takes a range as a traffic selector and sends it as a range ID
  a_net=$a_host-$(host_k "$a_host" 9) b_net=$b_host-$(host_k "$b_host" 9)
  ids+=(lnet=$a_net rnet=$b_net)
elif [[ $a_host != "$(host_net A)" ]]; then
  ids+=(lnet=$a_host rnet=$b_host)
fi
[[ -n $rnet ]] && ids+=(rnet="$rnet")
# The phase 2 tunnels: ours (ike_write_db p2=) and strongSwan's children
# (sw_configure child=); strongSwan's traffic selectors name protocol/port as
# ADDR[PROTO/PORT] (swanctl.conf).
sw_ts() { # PREFIX PROTO PORT
  if (($2 == 0)); then echo "$1"; elif (($3 == 0)); then echo "$1[$2]"; else echo "$1[$2/$3]"; fi
}
ids+=(proto="$proto" lport="$lport" rport="$rport")
sw_children=(local_ts="$(sw_ts "$b_net" "$proto" "$rport")" remote_ts="$(sw_ts "$a_net" "$proto" "$lport")")
child_names=(net)
if [[ $protoport == dual ]]; then
  # t1-net: ssh to B (tcp, B's port 22); t1-icmp: ICMP between the same hosts
  ids+=(proto=6 rport=22 "p2=t1-icmp|${a_net%/"$plen"}|${b_net%/"$plen"}|1")
  sw_children=(local_ts="$(sw_ts "$b_net" 6 22)" remote_ts="$(sw_ts "$a_net" 6 0)"
    "child=icmp|$(sw_ts "$b_net" 1 0)|$(sw_ts "$a_net" 1 0)")
  child_names+=(icmp)
  children=2 proto=6 rport=22
fi
for ((k = 2; k <= children; k++)); do
  [[ $protoport == dual ]] && break
  # charon installs a route for each CHILD_SA from a local address inside it
  ak=$(host_k "$a_host" "$k") bk=$(host_k "$b_host" "$k")
  # shellcheck disable=SC2046
  timeout 10 ip -n "$(host_ns A)" addr add "$ak/$plen" dev lo $(_addr_opts "$ak")
  # shellcheck disable=SC2046
  timeout 10 ip -n "$(host_ns B)" addr add "$bk/$plen" dev lo $(_addr_opts "$bk")
  ids+=("p2=t$k-net|$ak|$bk")
  sw_children+=("child=net$k|$bk/$plen|$ak/$plen")
  child_names+=("net$k")
done
ike_write_db A mode="$mode" enc="$enc" hash="$hash" group="$group" esp="$our_esp" \
  integ="$integ" pfs="$pfs" "${ids[@]}" "${nat_opts[@]}"
if [[ $enc == AES_CBC && $klen != 128 ]]; then
  sed -i "0,/key_length: 128/s//key_length: $klen/" "${HOST_DIR[A]}/etc/tunnels.db"
fi
ike_write_psk A "$psk_id" "$psk"
sw_configure B psk="${sw_psk:-$psk}" ike="$ike" esp="$esp" "${sw_ids[@]}" "${sw_children[@]}" "${sw_nat[@]}" \
  "${sw_frag_opts[@]}"
sw_start B
sw_load B
ike_start A && src_wait_all A active 10 || { echo "$IKE_OUT" | indent; t_abort "A: startsrc failed"; }
[[ -n $natka ]] && host_capture_start B
where=''
[[ $nat == yes ]] && where=' through a NAT,'
echo "==== $name:$where $mode, ours $enc-$klen/$hash/$group + $our_esp/${integ:-none}/PFS $pfs," \
  "strongSwan $ike + $esp; $by initiate(s) ===="

# nat_checks: both sides saw the NAT; our keepalives crossed it (natka=).
nat_checks() {
  # (charon with kernel-libipsec fakes a NAT in front of itself too: "and of the peer")
  local re="NAT traversal RFC 3947: NAT detected in front of us( and of the peer)?, IKE and ESP on 192.0.2.1.4500"
  if grep -Eq "$re" "$(host_syslog A)"; then
    t_pass "A: syslog names the NAT: $(grep -Eo "NAT traversal.*" "$(host_syslog A)" | head -n 1)"
  else
    t_fail "A: syslog lacks /$re/"
    ok=0
  fi
  # charon: the peer's endpoint is the NAT's, on a port of the NAT's
  # choosing; its own is UDP 4500 (the float)
  local b_addr=${HOST_ADDR[B]}
  if grep -Eq "remote .* @ $NAT_OUTSIDE\[[0-9]+\]" <<<"$sas" &&
    grep -Eq "local .* @ $b_addr\[4500\]" <<<"$sas"; then
    t_pass "B: swanctl --list-sas: the peer $(grep -Eo "@ $NAT_OUTSIDE\[[0-9]+\]" <<<"$sas" | head -n 1), itself on UDP 4500:"
    grep -E "^ +(local|remote) " <<<"$sas" | indent
  else
    echo "$sas" | redact | indent
    t_fail "B: swanctl --list-sas does not show the peer at $NAT_OUTSIDE on UDP 4500"
    ok=0
  fi
  if grep -Eq "$NAT_SW_SAYS" "$(sw_log B)"; then
    t_pass "B: charon's log: $(grep -Eo "$NAT_SW_SAYS" "$(sw_log B)" | head -n 1)"
  else
    t_fail "B: charon's log lacks /$NAT_SW_SAYS/"
    ok=0
  fi
  [[ -z $natka ]] && return 0
  local n=0 f="${HOST_DIR[B]}/capture.pcap"
  sleep $((natka * 2 + 1))
  n=$(timeout 30 tcpdump -n -r "$f" "src host $NAT_OUTSIDE and udp dst port 4500 and udp[4:2] = 9 and udp[8] = 0xff" 2>/dev/null | grep -c . || true)
  if ((n >= 2)); then
    t_pass "B's link: $n NAT keepalives (0xFF to UDP 4500) from $NAT_OUTSIDE in $((natka * 2 + 1)) s"
  else
    host_capture_summary B | tail -n 20
    t_fail "B's link: $n NAT keepalives from $NAT_OUTSIDE (want at least 2 every ${natka} s)"
    ok=0
  fi
}
NAT_SW_SAYS='(local|remote) host is behind NAT'

# frag_checks: the fragments crossed in the directions the row asks for,
# as each side saw them.
frag_checks() {
  local a_log b_log
  a_log=$(host_syslog A) b_log=$(sw_log B)
  if [[ $frag_in == yes ]]; then
    if grep -Eq "splitting IKE message" "$b_log" &&
      grep -Eq "reassembled from [0-9]+ fragments" "$a_log"; then
      t_pass "B cut: $(grep -Eo "splitting IKE message.*" "$b_log" | head -n 1)"
      t_pass "A rebuilt $(grep -Ec "reassembled from [0-9]+ fragments" "$a_log") message(s):"
      grep -Eo "[A-Za-z]+ Mode message \([0-9]+ octets\) from .* reassembled from [0-9]+ fragments" "$a_log" | indent
    else
      t_fail "no message of charon's reached A in fragments (charon: splitting IKE message; A: reassembled from N fragments)"
      ok=0
    fi
  fi
  if [[ $frag_out == yes ]]; then
    if grep -Eq "sent in [0-9]+ fragments" "$a_log" &&
      grep -Eq "reassembled fragmented IKE message" "$b_log"; then
      t_pass "A cut $(grep -Ec "sent in [0-9]+ fragments" "$a_log") message(s):"
      grep -Eo "[A-Za-z]+ Mode message [0-9]+ \([0-9]+ octets\) sent in [0-9]+ fragments.*" "$a_log" | indent
      t_pass "B rebuilt: $(grep -Eo "received fragment #[0-9]+, reassembled fragmented IKE message.*" "$b_log" | head -n 1)"
    else
      t_fail "no message of ours reached charon in fragments (A: sent in N fragments; charon: reassembled fragmented IKE message)"
      ok=0
    fi
  fi
}

if [[ $by == ours ]]; then
  numlist=$(seq -s, 1 "$children")
  out=$(ike_cmd A cmd=activate numlist="$numlist" 2>&1) ||
    { echo "$out" | indent; t_fail "A: ike cmd=activate numlist=$numlist failed"; }
elif [[ -n $fail ]]; then
  swanctl_on B --initiate --child net --timeout 10 >/dev/null 2>&1 || true
else
  # One Quick Mode per child, the first also brings up the ISAKMP SA.
  for child in "${child_names[@]}"; do
    out=$(swanctl_on B --initiate --child "$child" --timeout 20 2>&1) ||
      { echo "$out" | redact | tail -n 20 | indent; t_fail "B: swanctl --initiate --child $child failed"; }
  done
fi
if [[ -n $fail ]]; then
  # A negative row: the phase fails, and both sides say why.
  if wait_until 40 grep -Eq "$reason" "$(host_syslog A)"; then
    t_pass "A: syslog gives the reason: $(grep -Eo "$reason" "$(host_syslog A)" | head -n 1)"
  else
    tail -n 15 "$(host_syslog A)" | indent
    t_fail "A: syslog lacks /$reason/"
  fi
  if [[ $(ike_status A "$fail") != Active ]]; then
    t_pass "A: ike cmd=list: phase $fail not Active ('$(ike_status A "$fail")')"
  else
    t_fail "A: phase $fail Active in a row that must fail"
  fi
  if [[ -z $sw_says ]] || wait_until 10 grep -Eq "$sw_says" "$(sw_log B)"; then
    [[ -z $sw_says ]] || t_pass "B: charon's log shows /$sw_says/"
  else
    sw_log_tail B 20
    t_fail "B: charon's log lacks /$sw_says/"
  fi
  ! sw_has_sa B || t_fail "B: swanctl --list-sas shows an installed CHILD_SA"
  if [[ $natt == NAT_TRAVERSAL_OFF ]]; then
    if grep -q "NAT traversal: off (settings.nat_traversal)" "$(host_syslog A)"; then
      t_pass "A: syslog says NAT traversal is off (settings.nat_traversal)"
    else
      t_fail "A: syslog does not say NAT traversal is off"
    fi
  fi
else
  ok=1
  for p in 1 2; do
    if ike_wait_status A "$p" Active "$IKE_WAIT"; then
      t_pass "A: ike cmd=list: phase $p Active"
    else
      t_fail "A: phase $p not Active (status '$(ike_status A "$p")')"
      ok=0
    fi
  done
  if wait_until 10 sw_has_sa B; then
    t_pass "B: swanctl --list-sas: ESTABLISHED and INSTALLED"
  else
    t_fail "B: swanctl --list-sas lacks ESTABLISHED/INSTALLED"
    ok=0
  fi
  if [[ $family == 6 ]]; then
    # the IPv6 view of our own list: the peer's address (phase 1) and the
    # selectors, first-last (phase 2)
    rows6=$(ike_list A 2>&1 || true)
    p1_remote=$(awk '$1 == 1 && $2 ~ /^[0-9]+$/ { print $5; exit }' <<<"$rows6")
    p2_local=$(awk '$1 == 2 && $2 ~ /^[0-9]+$/ { print $4; exit }' <<<"$rows6")
    want_p1=$(host_addr B)
    [[ $mode == AGGRESSIVE || $sw_mode == AGGRESSIVE ]] && want_p1=b.example
    [[ -n $rid ]] && want_p1=${rid#*:}
    if [[ $p1_remote == "$want_p1" && $p2_local == "${a_net%%[/-]*}"-* ]]; then
      t_pass "A: ike cmd=list: phase 1 remote id $p1_remote, phase 2 local id $p2_local"
    else
      echo "$rows6" | indent
      t_fail "A: ike cmd=list: want phase 1 remote id $want_p1 and a phase 2 local id from ${a_net%%[/-]*}"
      ok=0
    fi
  fi
  if ((children > 1)); then
    # Several phase 2 tunnels under one phase 1: every one Active in our list,
    # one ISAKMP SA on each side, every CHILD_SA installed at strongSwan.
    p2_active() { [[ $(ike_list A | awk '$1 == 2 && $3 == "Active"' | wc -l) -ge $children ]]; }
    p1_rows=$(ike_list A | awk '$1 == 1 && $2 ~ /^[0-9]+$/' | wc -l)
    if wait_until "$IKE_WAIT" p2_active && ((p1_rows == 1)); then
      t_pass "A: ike cmd=list: $children phase 2 tunnels Active under 1 phase 1 tunnel"
    else
      t_fail "A: ike cmd=list: not $children phase 2 tunnels Active under one phase 1 ($p1_rows phase 1 rows)"
      ok=0
    fi
    sw_installed() { [[ $(sw_children B | grep -c INSTALLED) -ge $children ]]; }
    if wait_until 10 sw_installed && [[ $(sw_ike_sas B | wc -l) == 1 ]]; then
      t_pass "B: swanctl --list-sas: $children CHILD_SAs INSTALLED under 1 IKE SA"
    else
      t_fail "B: swanctl --list-sas: not $children CHILD_SAs under one IKE SA"
      ok=0
    fi
  fi
  if ((proto != 0)); then
    # The filter rules carry the protocol and ports (AIX: ike cmd=list filters).
    filters=$(ike_list A filters 2>&1 || true)
    port_or_any() { if (($1)); then echo "$1"; else echo any; fi; }
    want_out="permit +outbound .* $proto +$(port_or_any "$lport") +$(port_or_any "$rport") "
    if grep -Eq "$want_out" <<<"$filters"; then
      t_pass "A: ike cmd=list filters: outbound rule: protocol $proto, ports $(port_or_any "$lport") > $(port_or_any "$rport")"
    else
      echo "$filters" | indent
      t_fail "A: ike cmd=list filters lacks /$want_out/"
      ok=0
    fi
    if [[ $protoport == dual ]]; then
      if grep -Eq "permit +outbound .* 1 +any +any " <<<"$filters"; then
        t_pass "A: ike cmd=list filters: the second tunnel's outbound rule is for ICMP (1)"
      else
        echo "$filters" | indent
        t_fail "A: ike cmd=list filters lacks the ICMP tunnel's rule"
        ok=0
      fi
    fi
    sw_proto=$(swanctl_list_sas B | grep -E "local +[0-9a-f.:/-]+\[" | head -n 1 || true)
    if [[ -n $sw_proto ]]; then
      t_pass "B: swanctl --list-sas: selectors with protocol/port ($(echo $sw_proto))"
    else
      t_fail "B: swanctl --list-sas shows no protocol/port selector"
      ok=0
    fi
  fi
  sas=$(swanctl_list_sas B || true)
  if [[ -z $expect ]] || grep -Eq "$expect" <<<"$sas"; then
    [[ -z $expect ]] || t_pass "B: swanctl --list-sas shows /$expect/"
  else
    echo "$sas" | redact | indent
    t_fail "B: swanctl --list-sas does not show /$expect/"
    ok=0
  fi
  [[ $nat == yes ]] && nat_checks
  [[ -n $frag_in$frag_out ]] && frag_checks
  if ((!ok)); then
    ike_dump A
    sw_log_tail B 40
    [[ $nat == yes ]] && { echo "---- N: UDP conntrack ----"; nat_conntrack | indent; }
  fi
fi
if contains_secret "$(host_syslog A)"; then t_fail "A: syslog contains the PSK"; fi
t_done
