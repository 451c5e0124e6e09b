#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# VM suite "kunit": loads rscst.ko and the KUnit tier (tests/kunit), whose
# suite rscst_core runs as the module loads: fake fabrics and handlers drive
# the core from process context, softirq and hard IRQ. Each KUnit case
# becomes a check; the suite's KTAP results (from debugfs) are left in
# kunit.ktap for the host, which parses them again with the kernel's kunit.py.
# timeout: 1200
# memory: 1536M
. "$(dirname "$0")/lib.sh"

CASES=47
RESULTS=/sys/kernel/debug/kunit/rscst_core/results
check "rscst loads" insmod "$REPO/core/rscst.ko"
check "rscst_kunit loads (its suite runs)" insmod "$REPO/tests/kunit/rscst_kunit.ko"
check "the suite's results are in debugfs" test -r $RESULTS
ktap=$(cat $RESULTS 2>/dev/null)
printf '%s\n' "$ktap" >"${RSCST_OUT:-/tmp}/kunit.ktap"
for n in $(printf '%s\n' "$ktap" | sed -n 's/^    \(not \)\{0,1\}ok [0-9]* \([a-z_0-9]*\)$/\2/p'); do
	if printf '%s\n' "$ktap" | grep -Eq "^    ok [0-9]+ $n\$"; then
		ok "kunit: $n"
	else
		not_ok "kunit: $n"
		printf '%s\n' "$ktap" | grep -B6 -E "^    not ok [0-9]+ $n\$" | sed 's/^/    # /'
	fi
done
expect_eq "every case of rscst_core ran" \
	"$(printf '%s\n' "$ktap" | grep -Ec '^    (not )?ok [0-9]+ [a-z_0-9]+$')" "$CASES"
check "suite rscst_core passed" sh -c "printf '%s\n' \"\$1\" | grep -Eq '^ok [0-9]+ rscst_core\$'" _ "$ktap"
# The suite's teardown deleted what its setup made, before any unload did.
expect_eq "no device left by the suite" "$(ls $SCST/devices/)" ""
expect_eq "no target left by the suite" "$(ls $SCST/targets/kunit_strict/ $SCST/targets/kunit_open/ | grep -Ev '^(mgmt|/.*:)?$')" ""
check "rmmod rscst_kunit" rmmod rscst_kunit
check "rmmod rscst" rmmod rscst
finish
