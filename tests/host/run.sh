#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host tier: formatting, lints and unit/property tests of the sans-IO crates, and the
# stable fuzz driver (corpus replay + deterministic mutations) of fuzz/.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
log=/tmp/rscst-host-test.log
status=0

cd "$root/crates"
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --quiet --all-targets -- -D warnings
echo "== cargo test"
cargo test --quiet 2>&1 | tee "$log" || status=1

cd "$root/fuzz"
echo "== fuzz: cargo fmt --check"
# Without --all: that would also check the path dependencies (crates/).
cargo fmt -- --check
echo "== fuzz: cargo clippy -D warnings"
cargo clippy --quiet --all-targets -- -D warnings
iters="${RSCST_FUZZ_ITERS:-1000000}"
echo "== fuzz: corpus replay + $iters mutations per target"
RSCST_FUZZ_ITERS="$iters" cargo test --release --quiet -- --nocapture 2>&1 |
	tee -a "$log" || status=1

passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
echo "host: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$status" = 0 ]
