# tests/lib/strongswan.sh -- strongSwan (Debian's charon + swanctl) as a lab
# host, following shared/reference/interop-strongswan.md:
#   - private strongswan.conf (STRONGSWAN_CONF), explicit plugin list with
#     kernel-libipsec before kernel-netlink (the host kernel has no ESP); with
#     kernel=netlink only kernel-netlink, so the SAs go into the kernel (a kernel
#     with ESP: inside user-mode Linux, tests/kernel/uml_strongswan_test.sh),
#   - vici socket and charon.log in the host dir, filelog ike=2 (never 4: level
#     4 dumps SKEYID and keys),
#   - charon's hard-coded /var/run/charon.pid is private: a per-host directory
#     is bind-mounted over /run in the `ip netns exec` shell.
#
#   sw_configure X [key=value...]   write strongswan.conf + swanctl.conf for host X
#        keys: psk= (required) ike=aes128-sha256-modp2048 esp=aes128-sha256-modp2048
#              local_ts= remote_ts= (default: X's protected /32 and the peer's;
#                    /128 in an IPv6 lab)
#              peer=Y (the other lab host, default: the other of A/B)
#              remote_addrs= (the connection's remote_addrs, default: Y's address;
#                    e.g. a NAT's outside address, or %any; the ids stay)
#              kernel=libipsec (default: userspace ESP, UDP-encapsulated only)
#                    |netlink (the kernel's XFRM/ESP, as on a production gateway)
#              aggressive=yes (initiate Aggressive Mode; also lets charon use a PSK in
#                    Aggressive Mode at all, as responder too)
#              child_mode=transport (the CHILD_SA's mode; default tunnel)
#              child=NAME|LOCAL_TS|REMOTE_TS (one more CHILD_SA of the connection, same
#                    ESP proposal; repeatable; swanctl syntax, e.g.
#                    203.0.113.1/32[tcp/22]); the first stays "net"
#              lid= rid= (local and remote id, strongSwan syntax: a.example,
#                    gw@b.example, keyid:x; default: the addresses; the secret is for them)
#              swanctl_load="PLUGIN..." (swanctl's plugins; default: its built-in list
#                    of about 40, ldap and curl among them, slow to start in UML)
#              lifetimes (swanctl.conf names; unset = strongSwan's defaults):
#                ike_rekey= reauth= over= ike_rand=  connection rekey_time, reauth_time,
#                    over_time, rand_time. IKEv1 has no ISAKMP SA rekey: either time
#                    means a new Main Mode to which the children move (as responder,
#                    charon also adopts them when the peer does this). The phase 1
#                    Life-Duration charon proposes is reauth_time (else rekey_time)
#                    plus over_time (both 0: Life-Duration 0); it deletes an SA at
#                    that time after establishment, whatever was negotiated.
#                child_rekey= child_life= child_rand=  children rekey_time,
#                    life_time, rand_time. charon proposes life_time in Quick Mode,
#                    echoes what a Quick Mode initiator offers, ignores
#                    RESPONDER-LIFETIME, and runs its own timers from these values
#                    whatever was negotiated. A replaced CHILD_SA stays REKEYED
#                    (inbound only) until its life_time or the peer's Delete.
#                rand_time defaults to over_time (IKE) and life_time - rekey_time
#                    (children): give 0 for exact times. (strongSwan 5.9.8
#                    swanctl.opt, quick_mode.c, child_sa.c, adopt_children_job.c)
#              dead peer detection (RFC 3706; unset = none from charon):
#                dpd_delay= dpd_timeout=  connection dpd_delay, dpd_timeout: with
#                    IKEv1 charon sends R_U_THERE after dpd_delay without
#                    inbound traffic and closes the IKE SA when nothing came
#                    in for dpd_timeout (default 150 s).
#                dpd_action=  children dpd_action (clear, trap, restart).
#   sw_start X / sw_stop X           charon in X's namespace; PID recorded
#   sw_load X                        swanctl --load-all
#   swanctl_on X ARGS...             swanctl with X's STRONGSWAN_CONF (timeout)
#   swanctl_list_sas X               swanctl --list-sas
#   sw_has_sa X                      list-sas shows ESTABLISHED and INSTALLED
#   sw_log_tail X [N]                tail of charon.log (redacted)
#   sw_children X / sw_children_of   one line per CHILD_SA: "UNIQUEID STATE SPI_IN SPI_OUT"
#                                    (strongSwan's view: its in = the peer's out)
#   sw_ike_sas X / sw_ike_sas_of     one line per IKE SA: "UNIQUEID STATE ICOOKIE RCOOKIE"
#                                    (the _of forms read list-sas text on stdin)
# Connection name: mm-psk, child: net.

# shellcheck shell=bash
if [[ -n "${_IKE_STRONGSWAN_SH:-}" ]]; then return 0; fi
_IKE_STRONGSWAN_SH=1
# shellcheck source=netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

declare -gA SW_PID=()
SW_CHARON=${SW_CHARON:-/usr/lib/ipsec/charon}

_sw_dir() { echo "${HOST_DIR[$1]}/strongswan"; }

_sw_other() { if [[ $1 == A ]]; then echo B; else echo A; fi; }

sw_configure() {
  local x=$1; shift
  local psk='' ike=aes128-sha256-modp2048 esp=aes128-sha256-modp2048 peer
  peer=$(_sw_other "$x")
  local local_ts='' remote_ts='' kernel=libipsec swanctl_load='' kv
  local conn_life='' child_life='' aggressive=no lid='' rid='' am_psk='' child_mode=tunnel
  local more_children='' remote_addrs='' conn_frag='' charon_frag=''
  for kv in "$@"; do
    case $kv in
      psk=*) psk=${kv#psk=} ;;
      ike=*) ike=${kv#ike=} ;;
      esp=*) esp=${kv#esp=} ;;
      peer=*) peer=${kv#peer=} ;;
      remote_addrs=*) remote_addrs=${kv#*=} ;;
      local_ts=*) local_ts=${kv#local_ts=} ;;
      remote_ts=*) remote_ts=${kv#remote_ts=} ;;
      kernel=*) kernel=${kv#kernel=} ;;
      swanctl_load=*) swanctl_load="
  load = ${kv#swanctl_load=}" ;;
      ike_rekey=*) conn_life+="
    rekey_time = ${kv#*=}" ;;
      reauth=*) conn_life+="
    reauth_time = ${kv#*=}" ;;
      over=*) conn_life+="
    over_time = ${kv#*=}" ;;
      ike_rand=*) conn_life+="
    rand_time = ${kv#*=}" ;;
      child_rekey=*) child_life+="
        rekey_time = ${kv#*=}" ;;
      child_life=*) child_life+="
        life_time = ${kv#*=}" ;;
      child_rand=*) child_life+="
        rand_time = ${kv#*=}" ;;
      dpd_delay=*) conn_life+="
    dpd_delay = ${kv#*=}" ;;
      dpd_timeout=*) conn_life+="
    dpd_timeout = ${kv#*=}" ;;
      dpd_action=*) child_life+="
        dpd_action = ${kv#*=}" ;;
      # aggressive=yes: initiate Aggressive Mode (and let charon use it with a
      # PSK at all, which it refuses by default, as responder too)
      aggressive=yes) aggressive=yes am_psk="
  i_dont_care_about_security_and_use_aggressive_mode_psk = yes" ;;
      # lid=/rid=: strongSwan identities (a.example, gw@b.example, keyid:x)
      child_mode=*) child_mode=${kv#*=} ;;
      child=*)
        local f
        IFS='|' read -r -a f <<<"${kv#*=}"
        more_children+="
      ${f[0]} {
        mode = tunnel
        local_ts = ${f[1]}
        remote_ts = ${f[2]}
        esp_proposals = @ESP@
        start_action = none
      }" ;;
      lid=*) lid=${kv#*=} ;;
      rid=*) rid=${kv#*=} ;;
      # IKE fragmentation: the connection's fragmentation (yes, no, accept,
      # force) and charon's fragment_size (the IP datagram, headers included)
      fragmentation=*) conn_frag="
    fragmentation = ${kv#*=}" ;;
      fragment_size=*) charon_frag="
  fragment_size = ${kv#*=}" ;;
      *) t_abort "sw_configure: unknown option '$kv'" ;;
    esac
  done
  [[ -n $psk ]] || t_abort "sw_configure: psk= is required"
  register_secret "$psk"
  local kplugins
  case $kernel in
    libipsec) kplugins='kernel-libipsec kernel-netlink' ;;
    netlink) kplugins='kernel-netlink' ;;
    *) t_abort "sw_configure: kernel=$kernel (libipsec or netlink)" ;;
  esac
  local_ts=${local_ts:-${HOST_NET[$x]}/$(host_plen "$x")}
  remote_ts=${remote_ts:-${HOST_NET[$peer]}/$(host_plen "$peer")}
  local d laddr raddr
  d=$(_sw_dir "$x")
  laddr=${HOST_ADDR[$x]} raddr=${HOST_ADDR[$peer]}
  lid=${lid:-$laddr} rid=${rid:-$raddr}
  mkdir -p "$d/run"
  cat >"$d/strongswan.conf" <<EOF
# strongSwan for lab host $x (see shared/reference/interop-strongswan.md)
charon {
  load = random nonce openssl aes sha1 sha2 hmac gmp curve25519 pem pkcs1 x509 pubkey $kplugins socket-default vici
  retransmit_tries = 3
  retransmit_timeout = 2.0
  block_threshold = 10000
  install_routes = yes$am_psk$charon_frag
  plugins {
    vici {
      socket = unix://$d/charon.vici
    }
  }
  filelog {
    main {
      path = $d/charon.log
      append = no
      flush_line = yes
      time_format = %T
      ike_name = yes
      default = 1
      ike = 2
      cfg = 2
      knl = 2
      esp = 2
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
}
swanctl {
  socket = unix://$d/charon.vici$swanctl_load
}
EOF
  (
    umask 077
    cat >"$d/swanctl.conf" <<EOF
connections {
  mm-psk {
    version = 1
    aggressive = $aggressive
    local_addrs = $laddr
    remote_addrs = ${remote_addrs:-$raddr}
    proposals = $ike$conn_life$conn_frag
    local {
      auth = psk
      id = $lid
    }
    remote {
      auth = psk
      id = $rid
    }
    children {
      net {
        mode = $child_mode
        local_ts = $local_ts
        remote_ts = $remote_ts
        esp_proposals = $esp
        start_action = none$child_life
      }${more_children//@ESP@/$esp}
    }
  }
}
secrets {
  ike-lab {
    id-a = $lid
    id-b = $rid
    secret = "$psk"
  }
}
EOF
  )
}

swanctl_on() {
  local x=$1; shift
  STRONGSWAN_CONF="$(_sw_dir "$x")/strongswan.conf" timeout "$IKE_CMD_TIMEOUT" swanctl "$@"
}

sw_start() {
  local x=$1 d
  d=$(_sw_dir "$x")
  [[ -f $d/strongswan.conf ]] || t_abort "sw_start $x: run sw_configure first"
  STRONGSWAN_CONF="$d/strongswan.conf" ip netns exec "${HOST_NS[$x]}" \
    sh -c 'mount --bind "$1" /run && exec "$2"' charon "$d/run" "$SW_CHARON" \
    </dev/null >"$d/charon.stdout" 2>&1 &
  SW_PID[$x]=$!
  lab_on_cleanup "sw_stop $x"
  if ! wait_until 10 test -S "$d/charon.vici"; then
    sw_log_tail "$x" 30
    t_abort "charon on host $x did not create its vici socket $d/charon.vici"
  fi
  if ! wait_until 10 swanctl_on "$x" --version >/dev/null 2>&1; then
    t_abort "swanctl cannot reach charon on host $x"
  fi
}

sw_stop() {
  local x=$1 p=${SW_PID[$1]:-}
  [[ -n $p ]] || return 0
  _kill_pids_wait 5 "$p"
  wait "$p" 2>/dev/null || true
  SW_PID[$x]=
}

sw_load() {
  local x=$1 out d
  d=$(_sw_dir "$x")
  # stderr: harmless "opening directory .../x509 failed" noise
  if ! out=$(swanctl_on "$x" --load-all --file "$d/swanctl.conf" 2>"$d/swanctl-load.err"); then
    echo "$out" | redact | indent
    redact <"$d/swanctl-load.err" | indent
    t_abort "swanctl --load-all failed on host $x"
  fi
  grep -q "loaded connection 'mm-psk'" <<<"$out" || {
    echo "$out" | redact | indent
    t_abort "swanctl did not load connection mm-psk on host $x"
  }
}

swanctl_list_sas() { swanctl_on "$1" --list-sas 2>/dev/null; }

# sw_has_sa X: an IKE SA ESTABLISHED and a CHILD_SA INSTALLED.
sw_has_sa() {
  local out
  out=$(swanctl_list_sas "$1") || return 1
  grep -q ESTABLISHED <<<"$out" && grep -q INSTALLED <<<"$out"
}

# sw_has_ike_sa X: an IKE SA ESTABLISHED (phase 1).
sw_has_ike_sa() {
  local out
  out=$(swanctl_list_sas "$1") || return 1
  grep -q ESTABLISHED <<<"$out"
}

sw_log() { echo "$(_sw_dir "$1")/charon.log"; }

sw_log_tail() {
  local x=$1 n=${2:-60} f
  f=$(sw_log "$x")
  echo "---- host $x strongSwan charon.log (ike=2), last $n lines without vici/CFG chatter ----"
  if [[ -s $f ]]; then
    grep -Ev 'vici client|\[CFG\] +(vici|  )' "$f" | tail -n "$n" | redact | indent
  else
    echo "    (empty)"
  fi
}

# sw_children X: "UNIQUEID STATE SPI_IN SPI_OUT" for every CHILD_SA in
# `swanctl --list-sas` (lines "  net: #3, reqid 1, INSTALLED, ..." then
# "    in  c783b316, ..." and "    out 7af86e02, ..."). sw_children_of: the
# same from list-sas text on stdin.
sw_children_of() {
  awk '
    /^  [^ ].*: #[0-9]+, reqid / { id = $2; st = $5; sub(/,$/, "", id); sub(/,$/, "", st); spi_in = "" }
    /^    in  / { spi_in = $2; sub(/[,\/].*/, "", spi_in) }
    /^    out / { spi_out = $2; sub(/[,\/].*/, "", spi_out); print id, st, spi_in, spi_out }'
}
sw_children() { swanctl_list_sas "$1" | sw_children_of; }

# sw_ike_sas X: "UNIQUEID STATE ICOOKIE RCOOKIE" for every IKE SA (lines
# "mm-psk: #2, ESTABLISHED, IKEv1, 3f0c..._i* 91aa..._r"). sw_ike_sas_of: from
# list-sas text on stdin.
sw_ike_sas_of() {
  awk '
    /^[^ ].*: #[0-9]+, / {
      id = $2; st = $3; i = $5; r = $6
      sub(/,$/, "", id); sub(/,$/, "", st); sub(/_i\*?$/, "", i); sub(/_r\*?$/, "", r)
      print id, st, i, r
    }'
}
sw_ike_sas() { swanctl_list_sas "$1" | sw_ike_sas_of; }
