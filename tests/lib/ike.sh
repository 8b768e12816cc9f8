# tests/lib/ike.sh -- the suite (tmd, isakmpd, cpsd under srcmstr) on lab hosts.
#
#   ike_write_db X [key=value...]   $IKE_CONFDIR/tunnels.db for host X (one phase 1
#                                   tunnel "t1" to the peer, one phase 2 tunnel "t1-net")
#        keys: peer=Y  enc=AES_CBC|DES3_CBC  hash=SHA2_256|SHA1  group=MODP_2048|MODP_1024|...
#              esp=ESP_AES_CBC|ESP_3DES|ESP_AES_GCM_16 (256-bit, no integrity)
#              integ=HMAC_SHA2_256|HMAC_SHA1  pfs=MODP_2048|DH_GROUP_NONE
#              lnet=<local selector addr>  rnet=<remote selector addr or a.b.c.d/len>
#              retransmit_ms=N tries=N log=EVENTS|INFORMATION|DEBUG
#              p1life=S p2life=S (lifetime_seconds, 0 = default)  minlife=S
#              (settings.min_lifetime_seconds, to allow short test lifetimes)
#              kbytes=N (phase 2 lifetime_kbytes; 0 = none)
#              kernel=XFRM|STATE_ONLY (default: XFRM inside user-mode Linux, where the
#              kernel has ESP; STATE_ONLY on the host, whose kernel has none)
#              mode=MAIN|AGGRESSIVE (ike_protection mode)
#              raddr=ADDR (remote_address; 0.0.0.0 = a peer without a fixed address)
#              p2mode=ESP_TRANSPORT (ipsec_tunnel mode; with lnet/rnet the endpoints)
#              lid=TYPE:VALUE rid=TYPE:VALUE (local_id / remote_id, e.g. FQDN:a.example,
#              USER_FQDN:gw@b.example, KEY_ID:branch-17; default: the addresses)
#              proto=N lport=N rport=N (t1-net's selectors: IP protocol, local and
#              remote port; 0 = any)
#              p2=NAME|LNET|RNET[|PROTO|LPORT|RPORT] (one more phase 2 tunnel under t1,
#              same protection; repeatable: several phase 2 tunnels under one phase 1)
#              natt=NAT_TRAVERSAL_OFF (settings.nat_traversal; default: unset = on)
#              natka=S (settings.nat_keepalive_seconds; default: unset = 20 s)
#              frag=FRAGMENTATION_ON|OFF|FORCE fragsize=N (settings.fragmentation and
#              fragment_size; default: unset = ON, 1280)
#              keylog=PATH (settings.ike_key_log, the key log for Wireshark;
#              default: unset = off)
#   ike_write_psk X REMOTE_ID PSK   $IKE_CONFDIR/psk.db, mode 0600 (PSK registered as secret)
#   ike_start X                     startsrc -g ike, in the /dev/log mount namespace
#   ike_stop X                      stopsrc -g ike
#   ike_cmd X ARGS...               `ike ARGS...` on X
#   ike_list X [ARGS...]            `ike cmd=list ARGS...` on X
#   ike_status X PHASE [TUN]        Status column of the first matching list row
#   ike_wait_status X PHASE STATUS [SECS] [TUN]
#   ike_no_tunnels X                the list has no tunnel rows
#   ike_no_phase2 X                 the list has no phase 2 row
#   src_status X SUBSYS             lssrc status word (active/inoperative/...)
#   src_pid X SUBSYS                lssrc PID column
#   ike_dump X                      list, list verbose, lssrc, syslog tail (for failures)
#   ike_cache_spis X                SPIs in the tunnel cache (`ike cmd=list cache`), 8 hex
#                                   digits without 0x, one a line

# shellcheck shell=bash
if [[ -n "${_IKE_IKE_SH:-}" ]]; then return 0; fi
_IKE_IKE_SH=1
# shellcheck source=netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

IKE_WAIT=${IKE_WAIT:-20}
declare -gA IKE_STARTED=()

_ike_other() { if [[ $1 == A ]]; then echo B; else echo A; fi; }

# _sel VALUE: a Selector body from an address or a.b.c.d/len.
_sel() {
  case $1 in
    */*) echo "subnet: \"$1\"" ;;
    *-*) echo "range: \"$1\"" ;;
    *) echo "address: \"$1\"" ;;
  esac
}

ike_write_db() {
  local x=$1; shift
  local peer enc=AES_CBC hash=SHA2_256 group=MODP_2048 esp=ESP_AES_CBC integ=HMAC_SHA2_256
  local pfs=MODP_2048 lnet rnet retransmit_ms=1000 tries=5 log=EVENTS listen='' kv
  local kernel=STATE_ONLY kbytes=0 p1life=0 p2life=0 minlife=0 dpd='' trapretry=0 autostart=''
  local mode=MAIN ids='' raddr='' p2mode='' proto=0 lport=0 rport=0 more_p2='' natt=''
  [[ -n ${IKE_IN_UML:-} ]] && kernel=XFRM
  peer=$(_ike_other "$x")
  lnet=${HOST_NET[$x]}
  rnet=${HOST_NET[$peer]}
  for kv in "$@"; do
    case $kv in
      peer=*) peer=${kv#*=}; rnet=${HOST_NET[$peer]} ;;
      enc=*) enc=${kv#*=} ;;
      hash=*) hash=${kv#*=} ;;
      group=*) group=${kv#*=} ;;
      esp=*) esp=${kv#*=} ;;
      integ=*) integ=${kv#*=} ;;
      pfs=*) pfs=${kv#*=} ;;
      lnet=*) lnet=${kv#*=} ;;
      rnet=*) rnet=${kv#*=} ;;
      retransmit_ms=*) retransmit_ms=${kv#*=} ;;
      tries=*) tries=${kv#*=} ;;
      log=*) log=${kv#*=} ;;
      kernel=*) kernel=${kv#*=} ;;
      kbytes=*) kbytes=${kv#*=} ;;
      p1life=*) p1life=${kv#*=} ;;
      p2life=*) p2life=${kv#*=} ;;
      minlife=*) minlife=${kv#*=} ;;
      # dpd="interval_seconds: 2 retries: 3 action: DPD_RESTART" (DeadPeerDetection)
      dpd=*) dpd="
  dpd { ${kv#*=} }" ;;
      trapretry=*) trapretry=${kv#*=} ;;
      mode=*) mode=${kv#*=} ;;
      p2mode=*) p2mode="
  mode: ${kv#*=}" ;;
      raddr=*) raddr=${kv#*=} ;;
      proto=*) proto=${kv#*=} ;;
      lport=*) lport=${kv#*=} ;;
      rport=*) rport=${kv#*=} ;;
      p2=*)
        local f
        IFS='|' read -r -a f <<<"${kv#*=}"
        more_p2+="
ipsec_tunnel {
  name: \"${f[0]}\"
  ike_tunnel: \"t1\"
  local { $(_sel "${f[1]}") protocol: ${f[3]:-0} port: ${f[4]:-0} }
  remote { $(_sel "${f[2]}") protocol: ${f[3]:-0} port: ${f[5]:-0} }
  protection: \"p2-lab\"
}" ;;
      lid=* | rid=*)
        local v=${kv#*=} field=local_id
        [[ $kv == rid=* ]] && field=remote_id
        ids+="
  $field { type: ${v%%:*} value: \"${v#*:}\" }" ;;
      # autostart=1: the ipsec_tunnel is autostart (a bare ike cmd=activate starts it)
      autostart=1) autostart="
  autostart: true" ;;
      listen=*) listen="
  listen_address: \"${kv#*=}\"" ;;
      natt=*) natt+="
  nat_traversal: ${kv#*=}" ;;
      natka=*) natt+="
  nat_keepalive_seconds: ${kv#*=}" ;;
      frag=*) natt+="
  fragmentation: ${kv#*=}" ;;
      fragsize=*) natt+="
  fragment_size: ${kv#*=}" ;;
      keylog=*) natt+="
  ike_key_log: \"${kv#*=}\"" ;;
      *) t_abort "ike_write_db: unknown option '$kv'" ;;
    esac
  done
  local klen1='' klen2=''
  [[ $enc == AES_CBC ]] && klen1="
    key_length: 128"
  # AES-GCM (RFC 4106): 256-bit keys here, and no integrity algorithm
  if [[ $esp == ESP_AES_GCM_16 ]]; then
    klen2="
    key_length: 256" integ=''
  fi
  [[ $esp == ESP_AES_CBC ]] && klen2="
    key_length: 128"
  cat >"${HOST_DIR[$x]}/etc/tunnels.db" <<EOF
# tunnels.db for lab host $x ($(host_addr "$x")) -> $peer ($(host_addr "$peer"))
# protobuf text format, schema proto/tunneldb.proto (ike.db.TunnelDatabase)
settings {
  log_level: $log
  retransmit_interval_ms: $retransmit_ms
  retransmit_tries: $tries$listen
  kernel_backend: $kernel
  min_lifetime_seconds: $minlife
  trap_retry_seconds: $trapretry$natt
}
ike_protection {
  name: "p1-lab"
  mode: $mode
  proposal {
    encryption: $enc$klen1
    hash: $hash
    auth_method: PRESHARED_KEY
    dh_group: $group
    lifetime_seconds: $p1life
  }
}
ike_tunnel {
  name: "t1"
  local_address: "$(host_addr "$x")"
  remote_address: "${raddr:-$(host_addr "$peer")}"
  protection: "p1-lab"$dpd$ids
}
ipsec_protection {
  name: "p2-lab"
  proposal {
    encryption: $esp$klen2${integ:+
    integrity: $integ}
  }
  pfs_group: $pfs
  lifetime_seconds: $p2life
  lifetime_kbytes: $kbytes
}
ipsec_tunnel {
  name: "t1-net"
  ike_tunnel: "t1"
  local { $(_sel "$lnet") protocol: $proto port: $lport }
  remote { $(_sel "$rnet") protocol: $proto port: $rport }
  protection: "p2-lab"$autostart$p2mode
}$more_p2
EOF
}

ike_write_psk() {
  local x=$1 rid=$2 psk=$3 f
  f="${HOST_DIR[$x]}/etc/psk.db"
  register_secret "$psk"
  (
    umask 077
    printf '# psk.db for lab host %s (ike.db.PresharedKeyFile), mode 0600\nkey { remote_id: "%s" text: "%s" }\n' \
      "$x" "$rid" "$psk" >"$f"
  )
  chmod 0600 "$f"
}

# ike_start X: startsrc -g ike inside X's /dev/log mount namespace. srcmstr (and
# the daemons it forks) inherit that namespace, so their syslog goes to X's rsyslogd.
# Output in IKE_OUT; exit status returned.
# Output goes through a file, not a pipe: srcmstr detaches from startsrc, and a
# srcmstr that kept the pipe open would block $(...) until it exits.
IKE_OUT=
run_to_file() {
  local f rc=0
  f=$(mktemp "$LAB_DIR/out.XXXXXX")
  "$@" >"$f" 2>&1 </dev/null || rc=$?
  IKE_OUT=$(cat "$f")
  rm -f "$f"
  return $rc
}

ike_start() {
  IKE_STARTED[$1]=1
  run_to_file on_host_syslog "$1" startsrc -g ike
}

ike_stop() {
  run_to_file on_host "$1" stopsrc -g ike
}

ike_cmd() { local x=$1; shift; on_host "$x" ike "$@"; }
ike_list() { local x=$1; shift; on_host "$x" ike cmd=list "$@"; }

# ike_status X PHASE [TUN]: Status of the first row for PHASE (and TUN), or nothing.
ike_status() {
  local x=$1 phase=$2 tun=${3:-}
  local out
  out=$(ike_list "$x" 2>/dev/null) || true
  awk -v p="$phase" -v t="$tun" \
    '$1 == p && $2 ~ /^[0-9]+$/ && (t == "" || $2 == t) { print $3; exit }' <<<"$out"
}

_ike_status_is() { [[ $(ike_status "$1" "$2" "${4:-}") == "$3" ]]; }

# ike_wait_status X PHASE STATUS [SECS] [TUN]: poll every 0.2 s. Gives up early
# when waiting for Active/Negotiating and phase 1 (or this phase) went Failed.
ike_wait_status() {
  local x=$1 phase=$2 want=$3 secs=${4:-$IKE_WAIT} tun=${5:-}
  local deadline=$((SECONDS + secs)) out st st1
  while true; do
    out=$(ike_list "$x" 2>/dev/null) || true
    st=$(awk -v p="$phase" -v t="$tun" \
      '$1 == p && $2 ~ /^[0-9]+$/ && (t == "" || $2 == t) { print $3; exit }' <<<"$out")
    [[ $st == "$want" ]] && return 0
    if [[ $want != Failed ]]; then
      st1=$(awk '$1 == 1 && $2 ~ /^[0-9]+$/ { print $3; exit }' <<<"$out")
      [[ $st == Failed || $st1 == Failed ]] && return 1
    fi
    ((SECONDS >= deadline)) && return 1
    sleep "${WAIT_INTERVAL:-0.2}"
  done
}

# ike_no_tunnels X: `ike cmd=list` succeeds and shows no tunnel rows.
ike_no_tunnels() {
  local out
  out=$(ike_list "$1" 2>/dev/null) || return 1
  ! awk '($1 == 1 || $1 == 2) && $2 ~ /^[0-9]+$/ { found = 1 } END { exit !found }' <<<"$out"
}

# ike_no_phase2 X: the list has no phase 2 row.
ike_no_phase2() {
  local out
  out=$(ike_list "$1" 2>/dev/null) || return 1
  ! awk '$1 == 2 && $2 ~ /^[0-9]+$/ { found = 1 } END { exit !found }' <<<"$out"
}

# ike_cache_spis X: the SPI column of the tunnel cache, as 8 hex digits.
ike_cache_spis() {
  ike_list "$1" cache 2>/dev/null | awk '$1 ~ /^[0-9]+$/ && $2 ~ /^0x/ { print substr($2, 3) }'
}

# lssrc -g ike: " tmd   ike   1234   active"
src_status() {
  local out
  out=$(on_host "$1" lssrc -g ike 2>/dev/null) || true
  awk -v s="$2" '$1 == s { print $NF; exit }' <<<"$out"
}
src_pid() {
  local out
  out=$(on_host "$1" lssrc -g ike 2>/dev/null) || true
  awk -v s="$2" '$1 == s && $NF == "active" { print $(NF-1); exit }' <<<"$out"
}
_src_all() {
  local x=$1 want=$2 d
  for d in tmd isakmpd cpsd; do
    [[ $(src_status "$x" "$d") == "$want" ]] || return 1
  done
}
src_wait_all() { wait_until "${3:-10}" _src_all "$1" "$2"; }

# ike_stop_all_started: cleanup hook; stopsrc on every host we started.
ike_stop_all_started() {
  local x
  for x in "${!IKE_STARTED[@]}"; do
    IKE_CMD_TIMEOUT=15 on_host "$x" stopsrc -g ike >/dev/null 2>&1 || true
  done
}

ike_dump() {
  local x=$1
  echo "---- host $x: ike cmd=list ----"
  ike_list "$x" 2>&1 | redact | indent || true
  echo "---- host $x: ike cmd=list verbose ----"
  ike_list "$x" verbose 2>&1 | redact | indent || true
  echo "---- host $x: lssrc -g ike ----"
  on_host "$x" lssrc -g ike 2>&1 | indent || true
}

# ike_lab [SECS] [4|6]: the usual preamble for suite tests: lab, two hosts
# (IPv4, or IPv6 with 6: lab_two_hosts), syslog on both.
ike_lab() {
  lab_init "${1:-300}"
  lab_on_cleanup ike_stop_all_started
  lab_two_hosts "${2:-4}"
  local h
  for h in A B; do
    host_start_syslog "$h"
    host_syslog_selftest "$h" || t_abort "syslog capture does not work on host $h"
  done
}
