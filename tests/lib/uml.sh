# tests/lib/uml.sh -- run a test body inside user-mode Linux: a second, complete
# Linux kernel (Debian's linux.uml) with ESP, for machines whose kernel has XFRM
# but no esp4/esp6 (docs/testing-kernel.md).
#
#   uml_available            linux.uml and its modules (/usr/lib/uml/modules/<ver>) exist
#   uml_require              skip loudly when not available (fail under CI=true)
#   uml_run SECS SCRIPT [ARGS...]
#                            boot linux.uml, run `bash SCRIPT ARGS...` as root inside,
#                            print its output (indented), return its exit status;
#                            124 when SECS pass first (linux.uml is killed)
#   UML_MEM                  memory of the instance (default 512M; the suite on
#                            two hosts uses about 40 MB of it)
#
# Inside, the root file system is the host's (hostfs, read-write), so the build
# tree and Debian's tools are at the same paths; /proc, /sys, /dev (devtmpfs),
# /run and /tmp are the instance's own (tmpfs; a tree or script under /tmp has its
# top directory bound in from the host's /tmp). The script sees IKE_IN_UML=1,
# UML_LAB (a host-visible directory under /var/tmp), IKE_BIN, IKE_SRC, CI and the
# test knobs (IKE_KEEP_LAB, IKE_WAIT, ...). The instance has no network to the
# outside: traffic stays between namespaces inside it.
#
# A test file usually runs itself inside:
#   if [[ -z ${IKE_IN_UML:-} ]]; then uml_require; uml_run 500 "$0"; exit; fi

# shellcheck shell=bash
if [[ -n "${_IKE_UML_SH:-}" ]]; then return 0; fi
_IKE_UML_SH=1
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Where Debian's linux.uml cannot run processes on this CPU (AMX hosts),
# scripts/uml-fallback (run by scripts/deps) puts a newer one here.
_UML_FALLBACK=${IKE_UML_FALLBACK:-/var/lib/aixike/uml}
if [[ -z ${UML_LINUX:-} && -x $_UML_FALLBACK/linux.uml ]]; then
  UML_LINUX=$_UML_FALLBACK/linux.uml
  UML_MODULES=${UML_MODULES:-$_UML_FALLBACK/uml/usr/lib/uml/modules}
fi
UML_LINUX=${UML_LINUX:-/usr/bin/linux.uml}
UML_MODULES=${UML_MODULES:-/usr/lib/uml/modules}
UML_MEM=${UML_MEM:-512M}

# Loaded in this order by the init script. sha512_generic + drbg first: without
# them the IV generators get no random numbers and every `ip xfrm state add`
# fails with "Kernel was unable to initialize cryptographic operations". Then the
# ciphers and hashes isakmpd negotiates (AES, 3DES, SHA1, SHA2-256/384/512),
# ESP for IPv4 and IPv6 in tunnel mode, the XFRM netlink interface, and veth.
# Built-ins (aes_generic, sha1/sha256_generic) load as no-ops. A|B: B is the
# name in later kernels (scripts/uml-fallback's 7.x: sha512, aes, the GHASH
# library), where a module may also be built in (ipv6) or gone (ansi_cprng:
# X? is optional). ecb: 7.x builds cbc(aes) on it.
UML_KERNEL_MODULES=("sha512_generic|sha512" drbg "ansi_cprng?" "aes_generic|aes" ecb cbc hmac
  "sha256_generic|sha256" "sha1_generic|sha1" des_generic authenc gcm
  "ghash_generic|libgf128hash" ctr seqiv echainiv ipv6 esp4 esp6 xfrm_user xfrm4_tunnel
  tunnel4 xfrm6_tunnel tunnel6 udp_tunnel ip6_udp_tunnel veth)

# Variables handed to the script inside, when set here.
UML_PASS_ENV=(IKE_BIN IKE_SRC CI IKE_KEEP_LAB IKE_WAIT IKE_CMD_TIMEOUT IKE_TEST_LIMIT
  WAIT_INTERVAL LAB_QUIET_DUMP)

# uml_available: the kernel binary and a modules directory for its version.
uml_available() {
  [[ -x $UML_LINUX ]] || return 1
  local ver
  ver=$("$UML_LINUX" --version 2>/dev/null | head -n1) || return 1
  [[ -n $ver && -f $UML_MODULES/$ver/modules.dep ]]
}

uml_require() {
  [[ -x $UML_LINUX ]] || t_skip "$UML_LINUX not found (package user-mode-linux; run scripts/deps)"
  uml_available ||
    t_skip "no modules for $("$UML_LINUX" --version 2>/dev/null | head -n1)" \
      "under $UML_MODULES (package user-mode-linux)"
  t_require_cmd modprobe
}

# _uml_write_init LAB SCRIPT ARGS...: LAB/init, the instance's PID 1 (init=): mounts,
# modules, `bash SCRIPT ARGS...` with output and exit status into LAB, power-off.
_uml_write_init() {
  local lab=$1; shift
  local v cmd
  {
    echo '#!/bin/bash'
    echo '# PID 1 inside user-mode Linux, written by tests/lib/uml.sh'
    echo 'export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 TERM=dumb'
    printf 'lab=%q\n' "$lab"
    # shellcheck disable=SC2016 # expanded by the init script
    echo 'date +%s.%N >"$lab/t.init"'
    # A tree checked out under /tmp (a clean clone for a CI dry run) must stay
    # visible inside the instance's own /tmp: its top directory is bound in.
    local path top keep=()
    for path in "${IKE_SRC:-}" "${IKE_BIN:-}" "$1"; do
      path=$(realpath -m "$path")
      if [[ $path == /tmp/?* ]]; then
        top=${path#/tmp/}
        keep+=("${top%%/*}")
      fi
    done
    printf 'keep_tmp=(%s)\n' "${keep[*]}"
    cat <<'EOF'
mount -t proc proc /proc
mount -t sysfs sys /sys
# devtmpfs is on /dev already (CONFIG_DEVTMPFS_MOUNT); /dev/pts and /dev/shm are not
mountpoint -q /dev || mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# the host's /run and /tmp stay on the host: the instance gets its own
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/hosttmp && mount --bind /tmp /run/hosttmp
mount -t tmpfs -o mode=1777 tmpfs /tmp
for d in "${keep_tmp[@]}"; do
  mkdir -p "/tmp/$d" && mount --bind "/run/hosttmp/$d" "/tmp/$d"
done
ip link set lo up
# modprobe looks in DIR/lib/modules/<version>; Debian keeps the UML modules elsewhere
mkdir -p /run/umlroot/lib
EOF
    printf 'ln -s %q /run/umlroot/lib/modules\n' "$UML_MODULES"
    printf 'mods=(%s)\n' "$(printf '%q ' "${UML_KERNEL_MODULES[@]}")"
    cat <<'EOF'
rc=0
# one modprobe for all, by their first names (each start reads the module
# indexes through hostfs); one by one, with the other names, where that fails
first=()
for spec in "${mods[@]}"; do first+=("${spec%%[|?]*}"); done
if ! modprobe -d /run/umlroot -a "${first[@]}" >>"$lab/modules.log" 2>&1; then
  builtin=$(tr '\0' '\n' <"/run/umlroot/lib/modules/$(uname -r)/modules.builtin.modinfo" 2>/dev/null |
    cut -d. -f1 | sort -u)
  for spec in "${mods[@]}"; do
    IFS='|' read -ra names <<<"${spec%\?}"
    ok=
    for m in "${names[@]}"; do
      if grep -qx "$m" <<<"$builtin" || modprobe -d /run/umlroot "$m" >>"$lab/modules.log" 2>&1; then
        ok=1
        break
      fi
    done
    if [[ -z $ok && $spec != *\? ]]; then
      echo "uml: modprobe $spec failed: $(tail -n1 "$lab/modules.log")" >>"$lab/output"
      rc=125
    fi
  done
fi
# The kernel asks user space for every crypto template an SA needs (13
# /sbin/modprobe runs for the first one, 7-12 s here): that modprobe looks in
# /lib/modules and can load nothing, and what the tests need is loaded above.
echo /bin/true >/proc/sys/kernel/modprobe
date +%s.%N >"$lab/t.modules"
EOF
    # shellcheck disable=SC2016 # expanded by the init script
    echo 'export IKE_IN_UML=1 UML_LAB="$lab"'
    for v in "${UML_PASS_ENV[@]}"; do
      [[ -n ${!v+x} ]] && printf 'export %s=%q\n' "$v" "${!v}"
    done
    printf -v cmd '%q ' bash "$@"
    cat <<EOF
if ((rc == 0)); then
  cd / && $cmd </dev/null >>"\$lab/output" 2>&1
  rc=\$?
fi
date +%s.%N >"\$lab/t.script"
echo "\$rc" >"\$lab/rc.tmp" && mv "\$lab/rc.tmp" "\$lab/rc"
sync
echo o >/proc/sysrq-trigger
sleep 10
EOF
  } >"$lab/init"
  chmod 0755 "$lab/init"
}

# _uml_secs FROM TO: seconds between two `date +%s.%N` files, one decimal.
_uml_secs() {
  [[ -s $1 && -s $2 ]] || { echo "?"; return 0; }
  awk -v a="$(cat "$1")" -v b="$(cat "$2")" 'BEGIN { printf "%.1f", b - a }'
}

_UML_PID=

# _uml_kids PID: the host processes linux.uml PID forked (its address spaces
# and helpers), recursively.
_uml_kids() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$c"
    _uml_kids "$c"
  done
}

# _uml_kill PID: stop the instance we started, and only it. SIGTERM lets UML
# kill its own helper processes; what is left after 5 s gets SIGKILL, by PID,
# if it is still one of ours (comm linux.uml).
_uml_kill() {
  local pid=$1 kids k t
  [[ -n $pid ]] || return 0
  kids=$(_uml_kids "$pid")
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((t = 0; t < 50; t++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  for k in "$pid" $kids; do
    [[ $(cat "/proc/$k/comm" 2>/dev/null) == linux.uml ]] && kill -KILL "$k" 2>/dev/null
  done
  return 0
}

# _uml_memdir LAB: where linux.uml keeps its memory file ($TMPDIR, else /dev/shm).
# /dev/shm when it has room for all of UML_MEM; else the lab directory (a
# container's /dev/shm is often 64 MB, and UML dies of SIGBUS when it is full).
_uml_memdir() {
  local mb=${UML_MEM%[mM]} avail
  [[ $UML_MEM == *[gG] ]] && mb=$((${UML_MEM%[gG]} * 1024))
  avail=$(df --output=avail -BM /dev/shm 2>/dev/null | tail -n1 | tr -dc 0-9)
  if [[ $mb =~ ^[0-9]+$ && -n $avail ]] && ((avail > mb + 64)); then
    echo /dev/shm
  else
    echo "$1"
  fi
}

_UML_RUN_LAB=
_UML_WD=

# _uml_interrupted: the test was stopped (ctest's timeout, ^C) while the
# instance ran: stop it, remove its lab directory, fail.
_uml_interrupted() {
  # Ignored, not reset: a second signal (timeout sends TERM twice) must not
  # end the shell before linux.uml, in a session of its own, is stopped.
  trap '' INT TERM HUP
  _uml_kill "$_UML_PID"
  [[ -n $_UML_WD ]] && kill "$_UML_WD" 2>/dev/null
  [[ -n $_UML_RUN_LAB && -z ${IKE_KEEP_LAB:-} ]] && rm -rf --one-file-system "$_UML_RUN_LAB"
  t_fail "uml_run: interrupted; linux.uml stopped"
  exit 143
}

uml_run() {
  local secs=$1 script=$2; shift 2
  local lab t0 wd rc saved_traps
  t0=$(date +%s.%N)
  [[ -r $script ]] || { t_fail "uml_run: no script $script"; return 1; }
  script=$(cd "$(dirname "$script")" && pwd)/$(basename "$script")
  lab=$(mktemp -d "/var/tmp/ike-uml-$BASHPID.XXXXXX")
  echo "$t0" >"$lab/t.start"
  _uml_write_init "$lab" "$script" "$@"
  : >"$lab/output"
  saved_traps=$(trap -p INT TERM HUP)
  _UML_RUN_LAB=$lab
  trap _uml_interrupted INT TERM HUP
  t_info "uml: booting $UML_LINUX ($("$UML_LINUX" --version | head -n1), mem=$UML_MEM)," \
    "running $script inside (limit ${secs}s)"
  # con0 (the console: kernel messages, init's own errors) goes to console.log;
  # the other consoles and serial lines go nowhere, so nothing reads the terminal.
  TMPDIR=$(_uml_memdir "$lab") "$UML_LINUX" "mem=$UML_MEM" \
    rootfstype=hostfs rootflags=/ rw "init=$lab/init" "uml_dir=$lab" "umid=ike-$BASHPID" \
    quiet con=null ssl=null con0=null,fd:1 </dev/null >"$lab/console.log" 2>&1 &
  _UML_PID=$!
  (
    trap - EXIT INT HUP
    sleep "$secs" &
    s=$!
    trap 'kill $s 2>/dev/null; wait $s 2>/dev/null; exit 0' TERM
    if wait $s; then
      echo timeout >"$lab/watchdog"
      _uml_kill "$_UML_PID"
    fi
  ) </dev/null >/dev/null 2>&1 &
  wd=$!
  _UML_WD=$wd
  wait "$_UML_PID" 2>/dev/null || true
  _UML_PID=
  # a watchdog that fired finishes its sweep; otherwise it is stopped
  [[ -e $lab/watchdog ]] || kill "$wd" 2>/dev/null
  wait "$wd" 2>/dev/null || true
  _UML_WD=
  eval "${saved_traps:-trap - INT TERM HUP}"
  indent <"$lab/output"
  if [[ -e $lab/watchdog ]]; then
    t_fail "uml: $script did not finish within ${secs}s; linux.uml killed"
    echo "---- uml console (last 30 lines) ----"
    tail -n 30 "$lab/console.log" | indent
    rc=124
  elif [[ ! -s $lab/rc ]]; then
    t_fail "uml: the instance stopped without the script's exit status"
    echo "---- uml console (last 30 lines) ----"
    tail -n 30 "$lab/console.log" | indent
    rc=1
  else
    rc=$(cat "$lab/rc")
    date +%s.%N >"$lab/t.end"
    t_info "uml: boot to init $(_uml_secs "$lab/t.start" "$lab/t.init")s," \
      "modules $(_uml_secs "$lab/t.init" "$lab/t.modules")s," \
      "script $(_uml_secs "$lab/t.modules" "$lab/t.script")s," \
      "total $(_uml_secs "$lab/t.start" "$lab/t.end")s; exit status $rc"
  fi
  if [[ -n ${IKE_KEEP_LAB:-} ]]; then
    echo "IKE_KEEP_LAB set: UML lab directory kept at $lab"
  else
    rm -rf --one-file-system "$lab"
  fi
  return "$rc"
}
