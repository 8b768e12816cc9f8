#!/usr/bin/env bash
# The bash completion (docs/bash-completion/ike): source it, set COMP_WORDS
# and COMP_CWORD as bash does (words split at '=' like bash's default
# COMP_WORDBREAKS, and unsplit), call the function, check COMPREPLY. Tunnel
# names come from a stand-in `ike` printing an `ike cmd=list db` table.
set -uo pipefail
IKE_SRC=${IKE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
T_FAILS=0 T_PASSES=0
pass() { T_PASSES=$((T_PASSES + 1)); echo "PASS: $*"; }
fail() { T_FAILS=$((T_FAILS + 1)); echo "FAIL: $*"; }

# shellcheck source=../../docs/bash-completion/ike
source "$IKE_SRC/docs/bash-completion/ike"

FAKE=$(mktemp -d /tmp/ike-completion.XXXXXX)
trap 'rm -rf "$FAKE"' EXIT
cat >"$FAKE/ike" <<'EOS'
#!/bin/sh
[ "$1 $2" = "cmd=list db" ] || exit 2
cat <<'T'
Phase  Def Id  Name        Local Id   Remote Id    Autostart
1      1       to-b        192.0.2.1  192.0.2.2    no
2      1       to-b-net    198.51.100.1  203.0.113.1  no
2      2       to-b-ssh    198.51.100.1  203.0.113.1  yes
T
EOS
printf '#!/bin/sh\necho "ike: cannot reach tmd: no such file" >&2\nexit 2\n' >"$FAKE/ike-down"
chmod +x "$FAKE/ike" "$FAKE/ike-down"

# expect FUNC "WORD..." WANT: COMP_WORDS from the words (the last is the one
# being completed; "" for a new word), COMPREPLY sorted and joined by spaces.
expect() {
  local fn=$1 line=$2 want=$3 got
  read -r -a COMP_WORDS <<<"$line"
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  "$fn"
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' ')
  if [[ $got == "$want" ]]; then
    pass "$fn [$line] -> [$got]"
  else
    fail "$fn [$line] -> [$got], expected [$want]"
  fi
}

# bash's default COMP_WORDBREAKS splits "cmd=li" into cmd, =, li.
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
expect _ike "ike " "--help cmd="
expect _ike "ike cmd = " "activate diagnose list log remove"
expect _ike "ike cmd = li" "list"
expect _ike "ike cmd = list " "cache db filters json namelist= numlist= phase= remid= states= verbose"
expect _ike "ike cmd = list verbose phase = 1 " "cache db filters json namelist= numlist= remid= states="
expect _ike "ike cmd = diagnose " "namelist= numlist= phase= remid="
expect _ike "ike cmd = list phase = " "1 1+ 2"
expect _ike "ike cmd = activate phase = " "1 2"
expect _ike "ike cmd = activate a" "autostart"
expect _ike "ike cmd = remove " "all ipaddr= numlist= phase="
expect _ike "ike cmd = log " "level="
expect _ike "ike cmd = log level = e" "error events"
expect _ike "ike cmd = list states = " "aix asa ios"
expect _ike "$FAKE/ike cmd = activate namelist = " "to-b to-b-net to-b-ssh"
expect _ike "$FAKE/ike cmd = activate namelist = to-b-n" "to-b-net"
expect _ike "$FAKE/ike cmd = activate namelist = to-b,to-b-s" "to-b,to-b-ssh"
expect _ike "$FAKE/ike-down cmd = activate namelist = " ""
expect _ike "ike cmd = activate remid = " ""

# Without '=' in COMP_WORDBREAKS the words arrive whole, and so do replies.
COMP_WORDBREAKS=$' \t\n"\'><;|&(:'
expect _ike "ike cmd=li" "cmd=list"
expect _ike "ike cmd=list phase=" "phase=1 phase=1+ phase=2"
expect _ike "ike cmd=activate p" "phase="
expect _ike "$FAKE/ike cmd=activate namelist=to-b,to-b-s" "namelist=to-b,to-b-ssh"

expect _aixike_src "startsrc " "--help -g -s"
expect _aixike_src "startsrc -g " "ike"
expect _aixike_src "stopsrc -s " "cpsd isakmpd tmd"
expect _aixike_src "stopsrc -s i" "isakmpd"
expect _aixike_src "stopsrc " "--help -c -f -g -s"
expect _aixike_src "lssrc " "--help -a -g -s"
expect _aixike_src "/usr/bin/refresh " "--help -g -s"

expect _ikedb "ikedb " "--help -c -d -g -p check delete get put"
expect _ikedb "ikedb get ike_" "ike_protection ike_tunnel"
expect _ikedb "ikedb -d -t " "ike_protection ike_tunnel ipsec_protection ipsec_tunnel settings"

# Registered for each command.
for c in ike ikedb startsrc stopsrc lssrc refresh; do
  if complete -p "$c" >/dev/null 2>&1; then pass "complete -p $c"; else fail "no completion for $c"; fi
done

echo "completion_test: $T_PASSES passed, $T_FAILS failed"
((T_FAILS == 0))
