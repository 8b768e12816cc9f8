# tests/lib/netns.sh -- a two-host lab in network namespaces, with a real
# syslog daemon per host.
#
#   lab_init                 temp dir, unique namespace prefix, EXIT trap, watchdog
#   lab_two_hosts [6]        hosts A and B joined by a veth pair:
#                              A: 192.0.2.1/24 (veth), 198.51.100.1/32 on lo
#                              B: 192.0.2.2/24 (veth), 203.0.113.1/32 on lo
#                            with 6 (IPv6, addresses nodad):
#                              A: 2001:db8::1/64 (veth), 2001:db8:a::1/128 on lo
#                              B: 2001:db8::2/64 (veth), 2001:db8:b::1/128 on lo
#   host_plen X              the host prefix length of X's family (32 or 128)
#   host_dir X / host_ns X   per-host directory (etc/ run/ log/) and namespace name
#   host_addr X / host_net X the veth address and the protected (lo) address
#   on_host X CMD...         run CMD in X's namespace with IKE_RUNDIR/IKE_CONFDIR set
#   on_host_syslog X CMD...  same, in a mount namespace where /dev/log is X's syslog
#   host_start_syslog X      rsyslogd -n for X: local4.* -> $(host_syslog X)
#   host_syslog X            path of X's syslog file (log/ike.log)
#   host_ping X FROM TO [N]  N (3) pings from address FROM in X to TO, all answered?
#   host_capture_start X     tcpdump of UDP on X's veth into <hostdir>/capture.pcap
#   host_capture_stop X      stop it (every packet written)
#   lab_on_cleanup CMD       run CMD (eval'd) first thing in cleanup
#   lab_cleanup              (EXIT trap) stop what we started, delete namespaces
#
# Every process this file starts lives in a namespace it created; cleanup kills
# them by PID (`ip netns pids`) and only then deletes the namespaces.

# shellcheck shell=bash
if [[ -n "${_IKE_NETNS_SH:-}" ]]; then return 0; fi
_IKE_NETNS_SH=1
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

declare -gA HOST_NS=() HOST_DIR=() HOST_ADDR=() HOST_NET=() HOST_IF=() HOST_SYSLOG_PID=()
LAB_HOSTS=()
LAB_DIR=
LAB_TAG=
LAB_CLEANUP_CMDS=()
LAB_WATCHDOG_PID=
IKE_CMD_TIMEOUT=${IKE_CMD_TIMEOUT:-30}

# lab_init [TOTAL_SECONDS]: the whole test is bounded (default 300 s); when the
# watchdog fires, the test gets SIGTERM and the EXIT trap still cleans up.
lab_init() {
  local limit=${1:-${IKE_TEST_LIMIT:-300}}
  LAB_TAG="ike-$BASHPID"
  LAB_DIR=$(mktemp -d "/tmp/${LAB_TAG}.XXXXXX")
  chmod 0755 "$LAB_DIR"
  local me=$BASHPID
  trap lab_cleanup EXIT
  trap 'echo "$(_ts) FAIL: interrupted (signal)"; T_FAILS=$((T_FAILS + 1)); exit 143' INT TERM HUP
  (
    trap - EXIT INT HUP
    sleep "$limit" &
    s=$!
    trap 'kill $s 2>/dev/null; wait $s 2>/dev/null; exit 0' TERM
    if wait $s; then
      echo "$(_ts) FAIL: $T_NAME exceeded its time limit of ${limit}s; stopping it"
      kill -TERM "$me" 2>/dev/null
    fi
  ) </dev/null &
  LAB_WATCHDOG_PID=$!
  t_info "lab directory $LAB_DIR, namespaces ${LAB_TAG}-*"
}

lab_on_cleanup() { LAB_CLEANUP_CMDS+=("$1"); }

host_ns() { echo "${HOST_NS[$1]}"; }
host_dir() { echo "${HOST_DIR[$1]}"; }
host_addr() { echo "${HOST_ADDR[$1]}"; }
host_net() { echo "${HOST_NET[$1]}"; }
host_syslog() { echo "${HOST_DIR[$1]}/log/ike.log"; }
host_plen() { if [[ ${HOST_ADDR[$1]} == *:* ]]; then echo 128; else echo 32; fi; }

# _addr_opts ADDR: the prefix-less options `ip addr add` needs for ADDR: an
# IPv6 address skips duplicate address detection (else it is "tentative" for
# about 2 s, and nothing can bind or send from it).
_addr_opts() { if [[ $1 == *:* ]]; then echo nodad; fi; }

# lab_add_host NAME ADDR NET: a namespace with lo up and NET/32 (an IPv6 NET:
# /128) on lo.
lab_add_host() {
  local x=$1 addr=$2 net=$3
  local ns="${LAB_TAG}-${x,,}" d="$LAB_DIR/$x"
  mkdir -p "$d/etc" "$d/run" "$d/log" "$d/devorig" "$d/rsyslog"
  chmod 0700 "$d/etc" "$d/run"
  timeout 10 ip netns add "$ns" || t_abort "ip netns add $ns failed"
  HOST_NS[$x]=$ns HOST_DIR[$x]=$d HOST_ADDR[$x]=$addr HOST_NET[$x]=$net
  LAB_HOSTS+=("$x")
  timeout 10 ip -n "$ns" link set lo up
  local plen=32
  [[ $net == *:* ]] && plen=128
  # shellcheck disable=SC2046
  timeout 10 ip -n "$ns" addr add "$net/$plen" dev lo $(_addr_opts "$net")
}

# lab_link X Y: veth pair X<->Y with each host's ADDR/24 (IPv6: ADDR/64).
lab_link() {
  local x=$1 y=$2
  local ix="v${x}" iy="v${y}"
  timeout 10 ip link add "$ix" netns "${HOST_NS[$x]}" type veth peer name "$iy" netns "${HOST_NS[$y]}" ||
    t_abort "veth pair ${HOST_NS[$x]}:$ix <-> ${HOST_NS[$y]}:$iy failed"
  HOST_IF[$x]=$ix HOST_IF[$y]=$iy
  local h i len
  for h in "$x" "$y"; do
    i=${HOST_IF[$h]} len=24
    [[ ${HOST_ADDR[$h]} == *:* ]] && len=64
    # shellcheck disable=SC2046
    timeout 10 ip -n "${HOST_NS[$h]}" addr add "${HOST_ADDR[$h]}/$len" dev "$i" \
      $(_addr_opts "${HOST_ADDR[$h]}")
  done
  timeout 10 ip -n "${HOST_NS[$x]}" link set "$ix" up
  timeout 10 ip -n "${HOST_NS[$y]}" link set "$iy" up
}

# lab_two_hosts [4|6]: the standard topology (IPv4, or with 6 the same in
# IPv6); checks that A reaches B.
lab_two_hosts() {
  if [[ ${1:-4} == 6 ]]; then
    lab_add_host A 2001:db8::1 2001:db8:a::1
    lab_add_host B 2001:db8::2 2001:db8:b::1
  else
    lab_add_host A 192.0.2.1 198.51.100.1
    lab_add_host B 192.0.2.2 203.0.113.1
  fi
  lab_link A B
  local b=${HOST_ADDR[B]}
  if ! wait_until 5 timeout 3 ip netns exec "${HOST_NS[A]}" ping -c1 -W1 -q "$b" >/dev/null 2>&1; then
    t_abort "namespace A cannot ping B ($b) over the veth pair"
  fi
}

# _host_env X: the environment every suite command on X sees.
_host_env() {
  local d=${HOST_DIR[$1]}
  echo "IKE_RUNDIR=$d/run" "IKE_CONFDIR=$d/etc" "IKE_SBINDIR=$IKE_BIN" "PATH=$IKE_BIN:$PATH"
}

# on_host X CMD...: bounded by IKE_CMD_TIMEOUT seconds.
on_host() {
  local x=$1; shift
  # shellcheck disable=SC2046
  timeout "$IKE_CMD_TIMEOUT" ip netns exec "${HOST_NS[$x]}" env $(_host_env "$x") "$@"
}

# The /dev/log trick. `ip netns exec` already runs in a private mount namespace
# (a slave of /), so mounts made here are invisible outside and disappear with
# the last process in it. We keep the real /dev reachable under <hostdir>/devorig,
# put a tmpfs on /dev with symlinks into it, and point /dev/log at X's rsyslog
# socket. Everything started from here (srcmstr and the daemons it forks)
# inherits this mount namespace, so glibc's syslog(3) reaches X's rsyslogd.
_DEVLOG_SETUP='
set -e
hd=$1; shift
mount --rbind /dev "$hd/devorig"
mount -t tmpfs -o mode=0755,size=64k ike-dev /dev
for e in null zero full random urandom tty pts shm ptmx fd stdin stdout stderr net mqueue; do
  if [ -e "$hd/devorig/$e" ] || [ -L "$hd/devorig/$e" ]; then ln -s "$hd/devorig/$e" "/dev/$e"; fi
done
ln -s "$hd/log.sock" /dev/log
exec "$@"
'

on_host_syslog() {
  local x=$1; shift
  # shellcheck disable=SC2046
  timeout "$IKE_CMD_TIMEOUT" ip netns exec "${HOST_NS[$x]}" env $(_host_env "$x") \
    bash -c "$_DEVLOG_SETUP" devlog "${HOST_DIR[$x]}" "$@"
}

# host_start_syslog X: rsyslogd in the foreground (backgrounded here), only
# imuxsock on <hostdir>/log.sock, local4.* -> <hostdir>/log/ike.log.
host_start_syslog() {
  local x=$1 d=${HOST_DIR[$1]}
  cat >"$d/rsyslog.conf" <<EOF
# rsyslog for lab host $x: no klog, no /dev/log, one private input socket.
global(workDirectory="$d/rsyslog")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$d/log.sock" CreatePath="on"
      RateLimit.Interval="0" UsePIDFromSystem="on")
template(name="ikeFormat" type="string"
         string="%timereported:::date-rfc3339% %syslogfacility-text%.%syslogseverity-text% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n")
local4.* action(type="omfile" file="$d/log/ike.log" template="ikeFormat")
EOF
  rm -f "$d/log.sock"
  ip netns exec "${HOST_NS[$x]}" rsyslogd -n -f "$d/rsyslog.conf" -i "$d/rsyslogd.pid" \
    </dev/null >"$d/rsyslogd.out" 2>&1 &
  HOST_SYSLOG_PID[$x]=$!
  if ! wait_until 10 test -S "$d/log.sock"; then
    cat "$d/rsyslogd.out" | indent
    t_abort "rsyslogd for host $x did not create $d/log.sock"
  fi
}

# host_ping X FROM TO [COUNT]: COUNT echo requests (default 3) from FROM, an
# address of X, to TO; true when every one is answered. ping's output, indented,
# is in HOST_PING_OUT.
HOST_PING_OUT=
host_ping() {
  local x=$1 from=$2 to=$3 n=${4:-3}
  HOST_PING_OUT=$(timeout $((n + 15)) ip netns exec "${HOST_NS[$x]}" \
    ping -c "$n" -i 0.3 -W 2 -I "$from" "$to" 2>&1 | indent) || true
  grep -q " $n packets transmitted, $n received" <<<"$HOST_PING_OUT"
}

# host_syslog_selftest X: a logger line through /dev/log must reach ike.log.
host_syslog_selftest() {
  local x=$1 tag="ike-selftest-$$-$RANDOM"
  on_host_syslog "$x" logger -p local4.notice -t ike-selftest "$tag" ||
    { t_fail "logger in host $x's mount namespace failed"; return 1; }
  if wait_until 5 grep -q "$tag" "$(host_syslog "$x")"; then
    return 0
  fi
  t_fail "syslog capture on host $x: '$tag' did not reach $(host_syslog "$x")"
  return 1
}

# dump_syslog X [LINES]: the tail of X's syslog, secrets redacted.
dump_syslog() {
  local x=$1 n=${2:-80} f
  f=$(host_syslog "$x")
  echo "---- host $x syslog ($f), last $n lines ----"
  if [[ -s $f ]]; then tail -n "$n" "$f" | redact | indent; else echo "    (empty)"; fi
}

# host_capture_start X: tcpdump of UDP on X's veth into <hostdir>/capture.pcap.
declare -gA HOST_CAP_PID=()
host_capture_start() {
  local x=$1 f
  command -v tcpdump >/dev/null || return 0
  f="${HOST_DIR[$x]}/capture.pcap"
  # A second capture on the host must not take the first one's "listening
  # on" for its own and start the test before it listens.
  rm -f "${HOST_DIR[$x]}/tcpdump.out"
  ip netns exec "${HOST_NS[$x]}" tcpdump -i "${HOST_IF[$x]}" -U -n -w "$f" udp \
    </dev/null >"${HOST_DIR[$x]}/tcpdump.out" 2>&1 &
  HOST_CAP_PID[$x]=$!
  wait_until 5 grep -qs "listening on" "${HOST_DIR[$x]}/tcpdump.out" || true
}

# host_capture_stop X: stops X's tcpdump (started by host_capture_start),
# so that every packet is in the file before it is read.
host_capture_stop() {
  local x=$1
  [[ -n ${HOST_CAP_PID[$x]:-} ]] || return 0
  _kill_pids_wait 5 "${HOST_CAP_PID[$x]}"
  wait "${HOST_CAP_PID[$x]}" 2>/dev/null || true
  HOST_CAP_PID[$x]=
}

# host_capture_summary X: one line per packet (ISAKMP headers only; nothing
# is decrypted, so no secret can appear).
host_capture_summary() {
  local x=$1 f
  f="${HOST_DIR[$x]}/capture.pcap"
  [[ -s $f ]] || { echo "    (no capture)"; return 0; }
  echo "---- host $x: packets on ${HOST_IF[$x]} ----"
  if command -v tshark >/dev/null; then
    timeout 30 tshark -n -r "$f" 2>/dev/null | indent
  else
    timeout 30 tcpdump -n -r "$f" 2>/dev/null | indent
  fi
}

# host_capture_count X DISPLAY_FILTER: number of captured packets matching it
# (tshark display filter, e.g. 'isakmp.exchangetype == 2' for Main Mode).
host_capture_count() {
  local f="${HOST_DIR[$1]}/capture.pcap"
  [[ -s $f ]] || { echo 0; return 0; }
  timeout 30 tshark -n -r "$f" -Y "$2" -T fields -e frame.number 2>/dev/null | grep -c . || true
}

_kill_pids_wait() {
  # _kill_pids_wait SECONDS PID...: TERM, wait, then KILL what is left.
  local limit=$1; shift
  (($# == 0)) && return 0
  kill -TERM "$@" 2>/dev/null || true
  local deadline=$((SECONDS + limit)) p alive
  while ((SECONDS < deadline)); do
    alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
}

lab_cleanup() {
  local rc=$? x c pids ns
  set +e
  trap - EXIT INT TERM HUP
  [[ -n $LAB_WATCHDOG_PID ]] && kill "$LAB_WATCHDOG_PID" 2>/dev/null
  if ((T_FAILS > 0 || rc != 0)) && [[ -z ${LAB_QUIET_DUMP:-} ]]; then
    for x in "${LAB_HOSTS[@]}"; do dump_syslog "$x" 60; done
  fi
  for c in "${LAB_CLEANUP_CMDS[@]}"; do eval "$c" >/dev/null 2>&1; done
  for x in "${LAB_HOSTS[@]}"; do
    ns=${HOST_NS[$x]}
    # everything in the namespace was started by this test; rsyslogd goes last
    # so that the daemons' final lines are written
    pids=$(ip netns pids "$ns" 2>/dev/null | grep -vx "${HOST_SYSLOG_PID[$x]:-none}")
    # shellcheck disable=SC2086
    _kill_pids_wait 6 $pids
  done
  for x in "${LAB_HOSTS[@]}"; do
    ns=${HOST_NS[$x]}
    # shellcheck disable=SC2046
    _kill_pids_wait 3 $(ip netns pids "$ns" 2>/dev/null)
    timeout 10 ip netns del "$ns" 2>/dev/null || echo "WARNING: could not delete namespace $ns" >&2
  done
  if [[ -n $LAB_DIR && -d $LAB_DIR ]]; then
    if [[ -n ${IKE_KEEP_LAB:-} && -n ${UML_LAB:-} ]]; then
      # inside user-mode Linux /tmp is the instance's own tmpfs: copy the lab to
      # the host-visible directory uml_run keeps (sockets may not copy)
      cp -a "$LAB_DIR" "$UML_LAB/" 2>/dev/null
      echo "IKE_KEEP_LAB set: lab directory copied to $UML_LAB/$(basename "$LAB_DIR")"
    elif [[ -n ${IKE_KEEP_LAB:-} ]]; then
      echo "IKE_KEEP_LAB set: lab directory kept at $LAB_DIR"
    else
      rm -rf --one-file-system "$LAB_DIR"
    fi
  fi
  exit "$rc"
}
