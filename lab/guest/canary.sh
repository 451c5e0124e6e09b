#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest half of the memory-error self-test: loads the canary module, whose
# init commits deliberate memory errors. The host half
# (lab/selftest-canary.sh) requires this run to FAIL with the detector's
# reports; this script itself only proves the module loaded.
if insmod /mnt/rscst/tests/canary/rscst_canary.ko; then
	echo "ok - canary module loaded"
	echo "1 passed, 0 failed"
else
	echo "not ok - canary module loaded"
	echo "0 passed, 1 failed"
	exit 1
fi
