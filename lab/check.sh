#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make check: every tier this machine can run. Host tests, the kernel and the
# modules built with warnings as errors, every VM suite. Ends with the total
# "N passed, N failed" and exits non-zero on any failure.
source "$(dirname "$0")/lib.sh"
start=$(date +%s)
bash "$LAB_DIR/setup-host.sh"
bash "$LAB_DIR/prune-cache.sh"
host_p=0
host_f=0
if bash "$REPO_DIR/tests/host/run.sh" >/tmp/rscst-host.log 2>&1; then :; fi
tail -3 /tmp/rscst-host.log
line=$(grep -E '^host: [0-9]+ passed, [0-9]+ failed' /tmp/rscst-host.log | tail -1)
if [ -n "$line" ]; then
	host_p=$(echo "$line" | awk '{print $2}')
	host_f=$(echo "$line" | awk '{print $4}')
else
	cat /tmp/rscst-host.log
	host_f=1 # fmt or clippy failed before the tests ran
fi
vm_p=0
vm_f=0
if bash "$LAB_DIR/check-vm.sh" >/tmp/rscst-vm.log 2>&1; then :; fi
cat /tmp/rscst-vm.log
line=$(grep -E '^vm: [0-9]+ passed, [0-9]+ failed' /tmp/rscst-vm.log | tail -1)
if [ -n "$line" ]; then
	vm_p=$(echo "$line" | awk '{print $2}')
	vm_f=$(echo "$line" | awk '{print $4}')
else
	vm_f=1 # the lab or the module build failed
fi
log "make check took $(( $(date +%s) - start )) s"
echo "$((host_p + vm_p)) passed, $((host_f + vm_f)) failed"
[ $((host_f + vm_f)) = 0 ]
