# tests/lib/uml_strongswan.sh -- our suite on A against strongSwan on B with the
# kernel's XFRM (kernel-netlink), inside user-mode Linux: what
# tests/kernel/uml_strongswan_test.sh and uml_ipv6_test.sh share. Source it
# at the top (sw_require_netlink runs outside UML too); the others need
# tests/lib/ike.sh and strongswan.sh, sourced inside UML.
#
#   sw_require_netlink   charon and the plugins kernel-netlink needs, or skip
#   kstate X             `ip -s xfrm state` in X without the key lines, redacted
#   kspis X              the ESP SPIs in X's kernel, sorted, one line
#   _a_src STATUS        lssrc -g ike on A shows tmd, isakmpd and cpsd STATUS
#   _a_settled           A lists phases 1 and 2 Active, or one Failed (A_LIST keeps
#                        the list); _a_up: that list shows both Active
#   _b_up                B's swanctl --list-sas shows ESTABLISHED and INSTALLED
#                        (B_SAS keeps it)

# shellcheck shell=bash
if [[ -n "${_IKE_UML_STRONGSWAN_SH:-}" ]]; then return 0; fi
_IKE_UML_STRONGSWAN_SH=1

SW_PLUGINS=/usr/lib/ipsec/plugins
sw_require_netlink() {
  [[ -x /usr/lib/ipsec/charon ]] ||
    t_skip "strongSwan charon (/usr/lib/ipsec/charon) not installed (scripts/deps)"
  t_require_cmd swanctl
  local p
  for p in kernel-netlink vici socket-default openssl; do
    [[ -e $SW_PLUGINS/libstrongswan-$p.so ]] || t_skip "strongSwan plugin $p missing ($SW_PLUGINS)"
  done
}

kstate() {
  ip -n "$(host_ns "$1")" -s xfrm state 2>&1 |
    { grep -Ev '^[[:space:]]+(enc|auth|auth-trunc|aead|comp) ' || true; } |
    sed -E 's/(0x)[0-9a-f]{16,}/\1<key>/g' | redact
}

kspis() {
  ip -n "$(host_ns "$1")" xfrm state 2>/dev/null |
    awk '$1 == "proto" && $2 == "esp" { print $4 }' | sort | tr '\n' ' '
}

_a_src() {
  on_host A lssrc -g ike 2>/dev/null |
    awk -v w="$1" '$1 ~ /^(tmd|isakmpd|cpsd)$/ && $NF == w { n++ } END { exit n != 3 }'
}

A_LIST=
_a_settled() {
  A_LIST=$(ike_list A 2>/dev/null) || return 1
  _a_up || grep -Eq '^[12] +[0-9]+ +Failed ' <<<"$A_LIST"
}
_a_up() {
  awk '$2 ~ /^[0-9]+$/ && $3 == "Active" { a[$1] = 1 } END { exit !(a[1] && a[2]) }' <<<"$A_LIST"
}

B_SAS=
_b_up() {
  B_SAS=$(swanctl_list_sas B) || return 1
  grep -q ESTABLISHED <<<"$B_SAS" && grep -q INSTALLED <<<"$B_SAS"
}
