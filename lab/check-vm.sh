#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs VM suites (all of tests/vm/*.sh, or the one named) against freshly
# built modules; prints "N passed, N failed" over all of them.
#   check-vm.sh [SUITE]
source "$(dirname "$0")/lib.sh"
want=${1:-}
bash "$LAB_DIR/setup-host.sh" >&2
bash "$LAB_DIR/kernel/build.sh" debug >/dev/null
bash "$LAB_DIR/rootfs/build.sh" >/dev/null
bash "$LAB_DIR/build-modules.sh" debug
suites=()
for f in "$REPO_DIR"/tests/vm/*.sh "$LAB_DIR/selftest-canary.sh"; do
	n=$(basename "$f" .sh)
	n=${n#selftest-}
	[ "$n" = lib ] && continue
	[ -n "$want" ] && [ "$n" != "$want" ] && continue
	suites+=("$n")
done
[ ${#suites[@]} -gt 0 ] || die "no VM suite named '$want'"
# The KUnit tier is a module of its own, built against the product.
if [[ " ${suites[*]} " == *" kunit "* ]]; then
	bash "$LAB_DIR/build-modules.sh" debug "$(kernel_dir debug)" tests/kunit
fi
# kunit_parse DIR: the kernel's own KTAP parser must agree that every case
# of the suite's KTAP output passed.
kunit_parse() {
	local cases ktap=$1/kunit.ktap out=$1/kunit-parse.log
	cases=$(sed -n 's/^CASES=\([0-9]*\)$/\1/p' "$REPO_DIR/tests/vm/kunit.sh")
	python3 "$(kernel_dir debug)/tools/testing/kunit/kunit.py" parse "$ktap" >"$out" 2>&1
	local rc=$?
	sed 's/^/    # /' "$out" | tail -5
	# Anchored: a parse error shows as ", errors: N" after the counts.
	if [ $rc != 0 ] || ! grep -qE "Ran $cases tests: passed: $cases\$" "$out"; then
		log "suite kunit: kunit.py parse does not report $cases passed tests (see $out)"
		return 1
	fi
}
total_p=0
total_f=0
for s in "${suites[@]}"; do
	rc=0
	if [ "$s" = canary ]; then
		# The self-test boots its own run and prints its own summary.
		log="$REPO_DIR/out/selftest-canary.log"
		mkdir -p "$REPO_DIR/out"
		bash "$LAB_DIR/selftest-canary.sh" >"$log" 2>&1 || rc=$?
	else
		t=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$REPO_DIR/tests/vm/$s.sh")
		bash "$LAB_DIR/run-vm.sh" "$s" "${t:-900}" || rc=$?
		log="$REPO_DIR/out/$s/suite.log"
	fi
	cat "$log" 2>/dev/null || true
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" 2>/dev/null | tail -1)
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" 2>/dev/null | tail -1)
	if [ -z "$p" ]; then
		# A suite that stopped before its summary line failed, whatever it printed.
		log "suite $s: no summary line (stopped early)"
		p=0
		f=1
	fi
	f=${f:-0}
	if [ "$s" = kunit ] && ! kunit_parse "$REPO_DIR/out/kunit"; then
		f=$((f + 1))
	fi
	# A clean suite whose boot or kernel log failed still counts as a failure.
	if [ $rc != 0 ] && [ "$f" = 0 ]; then f=1; fi
	log "suite $s: $p passed, $f failed"
	total_p=$((total_p + p))
	total_f=$((total_f + f))
done
echo "vm: $total_p passed, $total_f failed"
[ $total_f = 0 ]
