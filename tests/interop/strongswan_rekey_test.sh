#!/usr/bin/env bash
# Rekeying against strongSwan (issue 9 item 7): host A runs the suite (state-only
# backend), host B Debian's charon with kernel-libipsec, Main Mode PSK with
# NAT-T forced by libipsec. Short lifetimes on both ends: ours
# settings.min_lifetime_seconds 10, phase 2 20 s, phase 1 50 s; strongSwan's
# rand_time 0 everywhere so that its timers are exact.
#   1. The suite initiates and rekeys: strongSwan's children rekey_time 40 s,
#      life_time 50 s, so our soft limit (the initiator's: 80 to at most 90 %
#      of 20 s) always comes first. At least 3 rekeys; our phase 1
#      re-establishment (80-90 % of 50 s: 40-45 s) falls between the 2nd
#      (32-36 s) and the 3rd (48-54 s), which then runs on the new ISAKMP SA.
#   2. strongSwan initiates and rekeys: children rekey_time 9 s, life_time 30 s
#      (we answer RESPONDER-LIFETIME 20 s, which charon ignores), reauth_time
#      24 s with over_time 36 s (phase 1 offered 60 s, we answer 50 s): charon
#      re-establishes phase 1 at 24 s, its old ISAKMP SA ends at our 50 s.
# After every rekey, `swanctl --list-sas` on B shows an INSTALLED child with the
# SPIs `ike cmd=list verbose` lists on A (A's in = B's out and back); the tunnel
# keeps its number and stays Active; every replaced pair leaves both ends by
# its hard limit (our 20 s: we delete it and send a Delete).
set -euo pipefail
source "$(dirname "$0")/../lib/ike.sh"
source "$(dirname "$0")/../lib/strongswan.sh"

t_require_root
t_require_netns
t_require_cmd rsyslogd logger
t_require_strongswan
t_require_suite

P2LIFE=20 P1LIFE=50 MINLIFE=10
# How long after its hard limit a replaced pair may still be listed: the
# first sighting of a pair is up to one poll late, listing takes time.
GONE_SLACK=3
# How long after A lists a new pair B must list it INSTALLED.
AGREE_LIMIT=5
# check: t_check without ending the test (set -e) on a failure.
check() { t_check "$@" || true; }

ike_lab 280
psk="swrekey-$RANDOM$RANDOM-$$"
TRANSCRIPT="$LAB_DIR/transcript.txt" # everything listed on A and B, checked for the PSK
ike_write_db A p2life=$P2LIFE p1life=$P1LIFE minlife=$MINLIFE
ike_write_psk A 192.0.2.2 "$psk"
host_capture_start A

# sw_case N: strongSwan's configuration for case N (swanctl.conf; sw_load loads it).
sw_case() {
  case $1 in
    1) sw_configure B psk="$psk" ike_rekey=300 over=30 ike_rand=0 \
      child_rekey=40 child_life=50 child_rand=0 ;;
    2) sw_configure B psk="$psk" reauth=24 over=36 ike_rand=0 \
      child_rekey=9 child_life=30 child_rand=0 ;;
  esac
}
sw_case 1
sw_start B
sw_load B
t_pass "B: charon running (pid ${SW_PID[B]}), mm-psk loaded (case 1 lifetimes)"
if ike_start A && src_wait_all A active 10; then
  t_pass "A: suite started (phase 2 ${P2LIFE} s, phase 1 ${P1LIFE} s, minimum ${MINLIFE} s)"
else
  echo "$IKE_OUT" | indent
  t_abort "A: startsrc -g ike failed"
fi

explain_failure() {
  ike_dump A
  sw_log_tail B 80
  echo "---- B: swanctl --list-sas ----"
  swanctl_list_sas B | indent || true
}

# ---- one poll of both ends -----------------------------------------------------
# A_*: A's first phase 2 and phase 1 blocks of `ike cmd=list verbose`, A_ROWS2
# the number of phase 2 blocks, A_CACHE A's tunnel cache SPIs; B_CHILDREN and
# B_IKE: sw_children / sw_ike_sas lines.
poll() {
  local out
  out=$(ike_list A verbose 2>/dev/null) || out=
  printf '%s\n--\n' "$out" >>"$TRANSCRIPT"
  read -r A_ROWS2 A_NUM A_STATUS A_IN A_OUT A_REKEYS A_ROLE A_LIFE A_P1 \
    A_ROWS1 A_NUM1 A_STATUS1 A_REKEYS1 A_ROLE1 A_ICOOKIE A_RCOOKIE A_LIFE1 < <(awk '
      function val(v) { v = $0; sub(/^[^:]*:[ ]*/, "", v); sub(/ .*/, "", v); return v == "" ? "-" : v }
      /^Phase:/ { ph = val(); if (ph == 2) n2++; else n1++; next }
      ph == 2 && n2 == 1 {
        if (/^Tunnel Id:/) num = val(); else if (/^Status:/) st = val()
        else if (/^SPI In:/) spi_in = val(); else if (/^SPI Out:/) spi_out = val()
        else if (/^Rekeys:/) rk = val(); else if (/^Role:/) role = val()
        else if (/^Lifetime:/) life = val(); else if (/^Phase 1 Tunnel:/) p1 = val()
      }
      ph == 1 && n1 == 1 {
        if (/^Tunnel Id:/) num1 = val(); else if (/^Status:/) st1 = val()
        else if (/^Rekeys:/) rk1 = val(); else if (/^Role:/) role1 = val()
        else if (/^Initiator Cookie:/) ic = val(); else if (/^Responder Cookie:/) rc = val()
        else if (/^Lifetime:/) life1 = val()
      }
      function d(v) { return v == "" ? "-" : v }
      END {
        sub(/^0x/, "", spi_in); sub(/^0x/, "", spi_out)
        print n2 + 0, d(num), d(st), d(spi_in), d(spi_out), (rk == "" ? 0 : rk), d(role), d(life), d(p1),
          n1 + 0, d(num1), d(st1), (rk1 == "" ? 0 : rk1), d(role1), d(tolower(ic)), d(tolower(rc)), d(life1)
      }' <<<"$out")
  A_CACHE=$(ike_cache_spis A | tr '\n' ' ')
  out=$(swanctl_list_sas B) || out=
  printf '%s\n--\n' "$out" >>"$TRANSCRIPT"
  B_CHILDREN=$(sw_children_of <<<"$out")
  B_IKE=$(sw_ike_sas_of <<<"$out")
}

# b_installed IN OUT: B lists an INSTALLED child whose in is A's OUT, out A's IN.
b_installed() {
  awk -v i="$1" -v o="$2" '$2 == "INSTALLED" && $3 == o && $4 == i { f = 1 } END { exit !f }' \
    <<<"$B_CHILDREN"
}
# b_has_spi IN OUT: B lists a child (any state) with either SPI of A's pair.
b_has_spi() {
  awk -v i="$1" -v o="$2" '$3 == o || $4 == i { f = 1 } END { exit !f }' <<<"$B_CHILDREN"
}
a_has_spi() { [[ " $A_CACHE " == *" $1 "* || " $A_CACHE " == *" $2 "* ]]; }
b_ike_count() { grep -c . <<<"$B_IKE" || true; }
# b_lists_ike I R: B lists the ISAKMP SA with these cookies ESTABLISHED.
b_lists_ike() { awk -v i="$1" -v r="$2" '$2 == "ESTABLISHED" && $3 == i && $4 == r { f = 1 } END { exit !f }' <<<"$B_IKE"; }
ALL_P1_OLD=()
now() { echo "$(($(date +%s%N) / 1000000))"; } # ms
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }

# ---- observe CASE LIMIT ----------------------------------------------------------
# Polls both ends until case_done (set per case) is true or LIMIT seconds pass.
# Per new pair on A (SPI In changed): the rekey's role and whether B lists it
# INSTALLED within AGREE_LIMIT s. Per replaced pair: when it left A's cache and
# B's list, against its hard limit. Counts every poll where the tunnel was not
# Active, changed number or had a second phase 2 row.
observe() {
  local case=$1 limit=$2 t0 t deadline oi oo os og oc
  t0=$(now)
  deadline=$((t0 + limit * 1000))
  poll
  W_NUM=$A_NUM W_NUM1=$A_NUM1 W_REKEYS0=$A_REKEYS W_P1REKEYS0=$A_REKEYS1
  W_IN=$A_IN W_OUT=$A_OUT W_SEEN=$t0
  W_COOKIES="$A_ICOOKIE:$A_RCOOKIE" W_P1_AT=0 W_OLD_IKE_GONE_AT=0
  W_P1_OLD=() # "icookie:rcookie replaced_ms gone_ms" of the ISAKMP SAs re-established
  W_REKEYS=0 W_AGREED=0 W_AGREE_LATE=0 W_BAD_STATUS=0 W_BAD_NUMBER=0 W_BAD_ROWS=0
  W_ROLES="" W_AGREED_AFTER_P1=0 W_AGREED_AFTER_OLD_IKE=0 W_MAX_B_CHILDREN=0
  W_OLD=() # "in out first_seen_ms gone_ms"
  local pending_in='' pending_since=0 i f n
  t_info "case $case: tunnel $A_NUM (phase 1 tunnel $A_NUM1) $A_STATUS, SPIs in $A_IN out $A_OUT, lifetime $A_LIFE s"
  if b_installed "$A_IN" "$A_OUT"; then
    t_pass "case $case: B lists the first pair INSTALLED (B in $A_OUT = A out, B out $A_IN = A in)"
  else
    t_fail "case $case: B does not list A's first pair INSTALLED"
    echo "$B_CHILDREN" | indent
  fi
  while true; do
    t=$(now)
    [[ $A_STATUS == Active && $A_STATUS1 == Active ]] || {
      W_BAD_STATUS=$((W_BAD_STATUS + 1))
      t_info "case $case: A's phase 2 status '$A_STATUS', phase 1 '$A_STATUS1'"
    }
    [[ $A_NUM == "$W_NUM" && $A_NUM1 == "$W_NUM1" && $A_P1 == "$W_NUM1" ]] || {
      W_BAD_NUMBER=$((W_BAD_NUMBER + 1))
      t_info "case $case: A lists tunnel $A_NUM on phase 1 $A_P1, phase 1 tunnel $A_NUM1 (expected $W_NUM on $W_NUM1)"
    }
    [[ $A_ROWS2 == 1 && $A_ROWS1 == 1 ]] || W_BAD_ROWS=$((W_BAD_ROWS + 1))
    n=$(grep -c . <<<"$B_CHILDREN" || true)
    ((n > W_MAX_B_CHILDREN)) && W_MAX_B_CHILDREN=$n
    # phase 1: new cookies on A, a re-establishment; B lists the new SA
    if [[ $A_ICOOKIE != - && "$A_ICOOKIE:$A_RCOOKIE" != "$W_COOKIES" ]]; then
      W_P1_OLD+=("$W_COOKIES $t 0")
      W_COOKIES="$A_ICOOKIE:$A_RCOOKIE" W_P1_AT=$t
      if b_lists_ike "$A_ICOOKIE" "$A_RCOOKIE"; then
        t_pass "case $case: phase 1 re-established as $A_ROLE1 (A: Rekeys $A_REKEYS1, cookies $A_ICOOKIE:$A_RCOOKIE); B lists it ESTABLISHED, and $(($(b_ike_count) - 1)) older"
      else
        t_fail "case $case: phase 1 re-established on A (cookies $A_ICOOKIE:$A_RCOOKIE) but B does not list it ESTABLISHED"
        echo "$B_IKE" | indent
      fi
    fi
    # the ISAKMP SAs replaced: gone from B's list (and so deleted)
    for i in "${!W_P1_OLD[@]}"; do
      read -r oc os og <<<"${W_P1_OLD[$i]}"
      ((og != 0)) && continue
      if ! grep -q " ${oc%%:*} " <<<"$B_IKE"; then
        W_P1_OLD[i]="$oc $os $t"
        ALL_P1_OLD+=("$oc")
        ((W_OLD_IKE_GONE_AT == 0)) && W_OLD_IKE_GONE_AT=$t
        t_info "case $case: the replaced ISAKMP SA $oc left B's list $(secs $((t - os))) s after the re-establishment"
      fi
    done
    # phase 2: a new pair on A
    if [[ $A_IN != - && $A_IN != "$W_IN" ]]; then
      W_REKEYS=$((W_REKEYS + 1))
      W_OLD+=("$W_IN $W_OUT $W_SEEN 0")
      W_IN=$A_IN W_SEEN=$t
      W_ROLES+="$A_ROLE "
      pending_in=$A_IN pending_since=$t
      t_info "case $case: rekey $W_REKEYS on A (Rekeys $A_REKEYS, as $A_ROLE): SPIs in $A_IN out $A_OUT, lifetime $A_LIFE s"
    fi
    W_OUT=$A_OUT
    if [[ -n $pending_in ]]; then
      if [[ $A_IN == "$pending_in" ]] && b_installed "$A_IN" "$A_OUT"; then
        W_AGREED=$((W_AGREED + 1))
        ((W_P1_AT != 0 && pending_since > W_P1_AT)) && W_AGREED_AFTER_P1=$((W_AGREED_AFTER_P1 + 1))
        ((W_OLD_IKE_GONE_AT != 0 && pending_since > W_OLD_IKE_GONE_AT)) &&
          W_AGREED_AFTER_OLD_IKE=$((W_AGREED_AFTER_OLD_IKE + 1))
        t_pass "case $case: rekey $W_REKEYS: B lists INSTALLED in $A_OUT out $A_IN = A's out/in ($(secs $((t - pending_since))) s after A listed it), tunnel $A_NUM $A_STATUS"
        pending_in=''
      elif ((t - pending_since > AGREE_LIMIT * 1000)); then
        t_fail "case $case: rekey $W_REKEYS: B does not list A's pair (in $A_IN out $A_OUT) INSTALLED after ${AGREE_LIMIT} s"
        echo "$B_CHILDREN" | indent
        W_AGREE_LATE=$((W_AGREE_LATE + 1))
        pending_in=''
      fi
    fi
    # replaced pairs: gone from both ends by their hard limit?
    for i in "${!W_OLD[@]}"; do
      read -r oi oo os og <<<"${W_OLD[$i]}"
      ((og != 0)) && continue
      if ! a_has_spi "$oi" "$oo" && ! b_has_spi "$oi" "$oo"; then
        W_OLD[i]="$oi $oo $os $t"
        f=$(secs $((t - os)))
        if ((t - os > (P2LIFE + GONE_SLACK) * 1000)); then
          t_fail "case $case: replaced pair in $oi out $oo listed until $f s after A first listed it (hard limit ${P2LIFE} s)"
        elif ((t - os < (P2LIFE - GONE_SLACK) * 1000)); then
          t_fail "case $case: replaced pair in $oi out $oo gone already $f s after A first listed it, before its hard limit (${P2LIFE} s)"
          W_OLD[i]="$oi $oo $os -1"
        else
          t_pass "case $case: replaced pair in $oi out $oo left A's cache and B's list at its hard limit, $f s after A first listed it"
        fi
      elif ((t - os > (P2LIFE + GONE_SLACK) * 1000 && og == 0)); then
        t_fail "case $case: replaced pair in $oi out $oo still listed $(secs $((t - os))) s after A first listed it (A: $(a_has_spi "$oi" "$oo" && echo yes || echo no), B: $(b_has_spi "$oi" "$oo" && echo yes || echo no))"
        echo "$B_CHILDREN" | indent
        W_OLD[i]="$oi $oo $os -1"
      fi
    done
    if [[ -z $pending_in ]] && case_done; then break; fi
    if ((t > deadline)); then
      t_fail "case $case: not done after ${limit} s"
      explain_failure
      break
    fi
    sleep 0.3
    poll
  done
  W_GONE=0 W_DUE=0
  for i in "${!W_OLD[@]}"; do
    read -r oi oo os og <<<"${W_OLD[$i]}"
    ((og > 0)) && W_GONE=$((W_GONE + 1))
    ((og != 0)) && W_DUE=$((W_DUE + 1))
  done
  W_SECONDS=$(secs $(($(now) - t0)))
}

# old_pending: a replaced pair neither gone nor reported late yet;
# p1_old_pending: a replaced ISAKMP SA still listed on B.
old_pending() { printf '%s\n' "${W_OLD[@]}" | grep -q ' 0$'; }
p1_old_pending() { printf '%s\n' "${W_P1_OLD[@]}" | grep -q ' 0$'; }
# roles_are ROLE: every rekey of the case had A in ROLE.
roles_are() {
  local r
  for r in $W_ROLES; do [[ $r == "$1" ]] || return 1; done
}

# watch_summary CASE: the checks over the whole case.
watch_summary() {
  local case=$1
  t_info "case $case: ${W_SECONDS} s, $W_REKEYS rekeys seen on A (Rekeys $W_REKEYS0 -> $A_REKEYS, phase 1 $W_P1REKEYS0 -> $A_REKEYS1), $W_AGREED agreed with B, ${#W_OLD[@]} replaced pairs of which $W_GONE gone, at most $W_MAX_B_CHILDREN children on B at once"
  check "case $case: both phases stayed Active throughout ($W_BAD_STATUS polls not)" [ "$W_BAD_STATUS" -eq 0 ]
  check "case $case: it kept tunnel number $W_NUM on phase 1 tunnel $W_NUM1 throughout" [ "$W_BAD_NUMBER" -eq 0 ]
  check "case $case: one phase 1 and one phase 2 row on A throughout" [ "$W_BAD_ROWS" -eq 0 ]
  check "case $case: A's Rekeys counter matches the new pairs seen ($((A_REKEYS - W_REKEYS0)) = $W_REKEYS)" \
    [ "$((A_REKEYS - W_REKEYS0))" -eq "$W_REKEYS" ]
  check "case $case: every rekey agreed with B's listing ($W_AGREED of $W_REKEYS)" \
    [ "$W_AGREED" -eq "$W_REKEYS" ]
  check "case $case: every replaced pair stayed until its hard limit, then left both ends ($W_GONE of $W_DUE; $((${#W_OLD[@]} - W_DUE)) not due yet)" \
    [ "$W_GONE" -eq "$W_DUE" -a "$W_DUE" -ge 2 ]
}

# ---- 1. the suite initiates and rekeys ---------------------------------------------
echo "==== 1. the suite (A) initiates and rekeys (strongSwan rekey_time 40 s) ===="
ike_cmd A cmd=activate numlist=1 >/dev/null 2>&1 || t_fail "A: ike cmd=activate numlist=1 failed"
if ike_wait_status A 2 Active "$IKE_WAIT" && wait_until 5 sw_has_sa B; then
  t_pass "A: tunnel 1 Active, B: ESTABLISHED and INSTALLED"
else
  explain_failure
  t_abort "case 1: the tunnel did not come up"
fi
case_done() {
  ((W_AGREED >= 3 && W_AGREED_AFTER_P1 >= 1 && W_OLD_IKE_GONE_AT != 0)) && ! old_pending &&
    ! p1_old_pending
}
observe 1 75
watch_summary 1
check "case 1: at least 3 rekeys ($W_AGREED)" [ "$W_AGREED" -ge 3 ]
check "case 1: we rekeyed every time (A's role: $W_ROLES)" roles_are Initiator
check "case 1: tunnel number 1" [ "$W_NUM" == 1 ]
check "case 1: we re-established phase 1 (A: Rekeys $A_REKEYS1, role $A_ROLE1) and the old ISAKMP SA left B" \
  [ "$W_P1_AT" -ne 0 -a "$W_OLD_IKE_GONE_AT" -ne 0 -a "$A_REKEYS1" -ge 1 -a "$A_ROLE1" == Initiator ]
check "case 1: a phase 2 rekey agreed after the re-establishment ($W_AGREED_AFTER_P1)" [ "$W_AGREED_AFTER_P1" -ge 1 ]
C1_SECONDS=$W_SECONDS C1_REKEYS=$W_AGREED

# Remove: our Deletes end every pair and the ISAKMP SA on B.
ike_cmd A cmd=remove numlist=1 >/dev/null 2>&1 || t_fail "A: ike cmd=remove numlist=1 failed"
b_empty() { [[ -z $(swanctl_list_sas B | sw_ike_sas_of) ]]; }
check "A: ike cmd=remove numlist=1 left no tunnels" wait_until "$IKE_WAIT" ike_no_tunnels A
if wait_until 10 b_empty; then
  t_pass "B: no SAs left after our remove (Deletes received)"
else
  t_fail "B: SAs left after our remove"
  swanctl_list_sas B | indent
  swanctl_on B --terminate --ike mm-psk --force >/dev/null 2>&1 || true
  wait_until 5 b_empty || true
fi

# ---- 2. strongSwan initiates and rekeys, and re-establishes phase 1 ---------------
echo "==== 2. strongSwan (B) initiates and rekeys (rekey_time 9 s, reauth_time 24 s) ===="
sw_case 2
sw_load B
out=$(swanctl_on B --initiate --child net --timeout 20 2>&1) && rc=0 || rc=$?
printf '%s\n--\n' "$out" >>"$TRANSCRIPT"
if ((rc == 0)) && ike_wait_status A 2 Active "$IKE_WAIT"; then
  t_pass "B: swanctl --initiate --child net; A: phase 2 Active as responder"
else
  echo "$out" | redact | tail -n 25 | indent
  explain_failure
  t_abort "case 2: the tunnel did not come up (swanctl exit $rc)"
fi
case_done() {
  ((W_AGREED >= 2 && W_P1_AT != 0 && W_OLD_IKE_GONE_AT != 0 && W_AGREED_AFTER_OLD_IKE >= 1))
}
observe 2 75
watch_summary 2
check "case 2: at least 2 rekeys ($W_AGREED)" [ "$W_AGREED" -ge 2 ]
check "case 2: strongSwan rekeyed every time (A's role: $W_ROLES)" roles_are Responder
check "case 2: A's Rekeys >= 2 ($A_REKEYS)" [ "$A_REKEYS" -ge 2 ]
check "case 2: A took our ${P2LIFE} s for phase 2 (strongSwan offered 30 s): Lifetime $A_LIFE s" [ "$A_LIFE" == "$P2LIFE" ]
check "case 2: A took our ${P1LIFE} s for phase 1 (strongSwan offered 60 s): Lifetime $A_LIFE1 s" [ "$A_LIFE1" == "$P1LIFE" ]
check "case 2: strongSwan re-established phase 1 (A: Rekeys $A_REKEYS1, role $A_ROLE1) and an old ISAKMP SA left B" \
  [ "$W_P1_AT" -ne 0 -a "$W_OLD_IKE_GONE_AT" -ne 0 -a "$A_REKEYS1" -ge 1 -a "$A_ROLE1" == Responder ]
check "case 2: phase 2 rekeyed after the old ISAKMP SA went ($W_AGREED_AFTER_OLD_IKE)" [ "$W_AGREED_AFTER_OLD_IKE" -ge 1 ]
C2_SECONDS=$W_SECONDS C2_REKEYS=$W_AGREED

# ---- logs ---------------------------------------------------------------------------
fa=$(host_syslog A)
fb=$(sw_log B)
check "A: syslog has no failed rekey or negotiation" \
  bash -c "! grep -Eq 'rekey failed|negotiation failed|re-establishment failed|before a rekey replaced it' '$fa'"
count() { grep -Ec -- "$1" "$2" || true; }
t_info "A: syslog: $(count 'rekeyed \([0-9]+\) as Initiator' "$fa") rekeys as Initiator, $(count 'rekeyed \([0-9]+\) as Responder' "$fa") as Responder, $(count 'previous SA pair expired' "$fa") replaced pairs removed at their hard limit, $(count 'previous SA pair deleted by the peer' "$fa") by the peer's Delete, $(count 're-established \(' "$fa") phase 1 re-establishments, $(count 'phase 1 lifetime expired' "$fa") ISAKMP SAs ended at their lifetime, $(count 'peer deleted the phase 1 SA' "$fa") by the peer"
for oc in "${ALL_P1_OLD[@]}"; do
  check "A: the replaced ISAKMP SA $oc, gone from B, was deleted here too (lifetime, overlap or Delete)" \
    grep -Eq "cookies $oc: (phase 1 lifetime expired|replaced by a new ISAKMP SA; deleting|peer deleted the phase 1 SA)" "$fa"
done
t_info "A: $(count 'unknown ESP SA' "$fa") Deletes from B for ESP SAs we no longer had"
t_info "B: charon.log: $(count 'CHILD_SA net\{[0-9]+\} established' "$fb") CHILD_SAs established, $(count 'detected rekeying of CHILD_SA' "$fb") of them our rekeys, $(count 'received DELETE for ESP CHILD_SA' "$fb") ESP Deletes received, $(count 'sending DELETE for ESP' "$fb") sent, $(count 'detected reauth of existing IKE_SA' "$fb") ISAKMP SAs adopted from us, $(count 'reauthenticating IKE_SA' "$fb") own reauthentications, $(count 'received DELETE for IKE_SA' "$fb") ISAKMP Deletes received"
# strongSwan 5.9.8 has no RESPONDER-LIFETIME (24576) in its notify types:
# it parses ours in Quick Mode 2 and Main Mode 6 and goes on without it.
n=$(count 'parsed QUICK_MODE response [0-9]+ \[ HASH SA No KE ID ID N\(\(24576\)\) \]' "$fb")
check "B: our Quick Mode 2 with RESPONDER-LIFETIME (strongSwan offered 30 s) parsed and accepted $n times" [ "$n" -ge 2 ]
n=$(count 'parsed ID_PROT response 0 \[ ID HASH N\(\(24576\)\) \]' "$fb")
check "B: our Main Mode 6 with RESPONDER-LIFETIME (strongSwan offered 60 s) parsed and accepted $n times" [ "$n" -ge 2 ]
# INITIAL-CONTACT makes charon delete every other IKE SA with the peer and
# their CHILD_SAs: allowed in the first Main Mode of each case only (ours in
# case 1, charon's in case 2), never in a re-establishment.
n=$(count 'parsed ID_PROT request 0 \[ ID HASH N\(INITIAL_CONTACT\) \]' "$fb")
check "B: INITIAL-CONTACT from us at most once, never in our re-establishment ($n)" [ "$n" -le 1 ]
n=$(count 'generating ID_PROT request 0 \[ ID HASH N\(INITIAL_CONTACT\) \]' "$fb")
check "B: INITIAL-CONTACT from charon at most once, never in its reauthentication ($n)" [ "$n" -le 1 ]
check "B: charon.log has no failure (unable to install, no such SA, giving up, failed)" \
  bash -c "! grep -Eiq 'unable to install|but no such SA|giving up|failed' '$fb'"
{ grep -Ei 'unable to install|no such SA|giving up|failed' "$fb" || true; } | redact | head -n 10 | indent

# No PSK anywhere but the two files that must hold it.
leak=0
while IFS= read -r -d '' f; do
  case $f in */A/etc/psk.db | */B/strongswan/swanctl.conf) continue ;; esac
  if contains_secret "$f"; then
    t_fail "the PSK appears in $f"
    leak=1
  fi
done < <(find "$LAB_DIR" -type f -print0)
((leak)) || t_pass "no PSK in any log, listing or capture under the lab directory"

t_info "timings: case 1 ${C1_SECONDS} s ($C1_REKEYS rekeys), case 2 ${C2_SECONDS} s ($C2_REKEYS rekeys)"
((T_FAILS == 0)) || explain_failure
t_done
