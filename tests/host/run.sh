#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host tier: formatting, lints and unit/property tests of the sans-IO crates.
set -euo pipefail
cd "$(dirname "$0")/../../crates"
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --quiet --all-targets -- -D warnings
echo "== cargo test"
cargo test --quiet 2>&1 | tee /tmp/rscst-host-test.log
passed=$(grep -Eo '[0-9]+ passed' /tmp/rscst-host-test.log | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' /tmp/rscst-host-test.log | awk '{s+=$1} END {print s+0}')
echo "host: $passed passed, $failed failed"
[ "$failed" = 0 ]
