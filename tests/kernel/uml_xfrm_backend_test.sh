#!/usr/bin/env bash
# tmd's XFRM backend (tests/kernel/xfrm_backend_test.cc) in a kernel with ESP:
# the same C++ test that runs on the host, inside user-mode Linux with
# IKE_EXPECT_ESP=1, so that an SA must be installed (UPDSA over the ALLOCSPI
# reservation), counted and deleted, where the host can only show the error.
set -euo pipefail
source "$(dirname "$0")/../lib/uml.sh"

if [[ -z ${IKE_IN_UML:-} ]]; then
  t_require_root
  uml_require
  [[ -x $IKE_BIN/xfrm_backend_test ]] || t_skip "$IKE_BIN/xfrm_backend_test not built"
  uml_run 300 "$0"
  exit
fi

# ---- inside user-mode Linux ---------------------------------------------------------
for m in esp4 xfrm_user; do
  grep -q "^$m " /proc/modules || t_abort "module $m not loaded in the instance"
done
t_pass "kernel $(uname -r) with esp4 and xfrm_user"
if out=$(IKE_EXPECT_ESP=1 "$IKE_BIN/xfrm_backend_test" 2>&1); then
  echo "$out" | tail -3 | indent
  t_pass "xfrm_backend_test with IKE_EXPECT_ESP=1: every case passed (SAs installed)"
else
  echo "$out" | indent
  t_fail "xfrm_backend_test with IKE_EXPECT_ESP=1 failed"
fi
t_done
