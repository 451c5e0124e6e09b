#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The lab's memory-error self-test: boots the debug kernel, loads
# tests/canary (a use-after-free and an out-of-bounds write in Rust, an
# out-of-bounds write in C) and requires that run-vm.sh fails that run with
# the detector's report for each. A lab whose runs would pass over such
# errors fails here. Prints ok/not ok lines and "N passed, N failed".
source "$(dirname "$0")/lib.sh"
bash "$LAB_DIR/build-modules.sh" debug "$(kernel_dir debug)" tests/canary
pass=0
fail=0
result() { # OK? NAME
	if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok - $2"; else fail=$((fail + 1)); echo "not ok - $2"; fi
}
rc=0
RSCST_VM_MEMORY=1536M bash "$LAB_DIR/run-vm.sh" canary 900 debug >/tmp/rscst-canary.log 2>&1 || rc=$?
out="$REPO_DIR/out/canary"
grep -q '^ok - canary module loaded' "$out/suite.log" 2>/dev/null
result $? "canary module loaded in the guest"
# The run must fail for the right reason: the guest finished its script
# (rc 0, no timeout) and run-vm.sh found the kernel's reports.
[ $rc != 0 ] && [ "$(cat "$out/rc" 2>/dev/null)" = 0 ] &&
	grep -q "FAIL: the guest kernel reported a problem" /tmp/rscst-canary.log
result $? "run-vm.sh fails a run that commits memory errors, for its kernel reports"
# The guest's own kernel log (the console may drop lines under load).
reports=$(cat "$out/dmesg.txt" 2>/dev/null)
seen() { printf '%s\n' "$reports" | grep -Eq "$1"; }
seen 'BUG: KASAN: slab-use-after-free in [^ ]*canary_rust_use_after_free'
result $? "use-after-free in Rust reported (KASAN)"
seen 'BUG: KASAN: slab-out-of-bounds in [^ ]*canary_rust_out_of_bounds'
result $? "out-of-bounds write in Rust reported (KASAN)"
seen 'BUG: KASAN: slab-out-of-bounds in rscst_canary_c_out_of_bounds'
result $? "out-of-bounds write in C reported (KASAN)"
# And nothing else: the kernel itself boots and runs clean under KASAN.
n=$(printf '%s\n' "$reports" | grep -c 'BUG: KASAN' || true)
others=$(printf '%s\n' "$reports" | grep 'BUG: KASAN' |
	grep -vE 'canary_rust_use_after_free|canary_rust_out_of_bounds|rscst_canary_c_out_of_bounds' || true)
[ "$n" = 3 ] && [ -z "$others" ]
result $? "the three canary reports are the run's only KASAN reports ($n found)"
if [ $fail != 0 ]; then
	grep -a -E 'KASAN|canary' "$out/console.log" 2>/dev/null | head -20 | sed 's/^/    # /'
	tail -5 /tmp/rscst-canary.log | sed 's/^/    # /'
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
