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
# A tier's summary line counts only with its exit status: a crashed test
# binary or a failed build exits non-zero even where the counts look clean.
host_rc=0
bash "$REPO_DIR/tests/host/run.sh" >/tmp/rscst-host.log 2>&1 || host_rc=$?
tail -3 /tmp/rscst-host.log
line=$(grep -E '^host: [0-9]+ passed, [0-9]+ failed' /tmp/rscst-host.log | tail -1 || true)
if [ -n "$line" ]; then
	host_p=$(echo "$line" | awk '{print $2}')
	host_f=$(echo "$line" | awk '{print $4}')
else
	host_f=1 # fmt or clippy failed before the tests ran
fi
if [ $host_rc != 0 ]; then
	[ -n "$line" ] || cat /tmp/rscst-host.log
	log "host tier exited with status $host_rc"
	[ "$host_f" != 0 ] || host_f=1
fi
vm_p=0
vm_f=0
vm_rc=0
bash "$LAB_DIR/check-vm.sh" >/tmp/rscst-vm.log 2>&1 || vm_rc=$?
cat /tmp/rscst-vm.log
line=$(grep -E '^vm: [0-9]+ passed, [0-9]+ failed' /tmp/rscst-vm.log | tail -1 || true)
if [ -n "$line" ]; then
	vm_p=$(echo "$line" | awk '{print $2}')
	vm_f=$(echo "$line" | awk '{print $4}')
else
	vm_f=1 # the lab or the module build failed
fi
if [ $vm_rc != 0 ] && [ "$vm_f" = 0 ]; then
	log "VM tier exited with status $vm_rc"
	vm_f=1
fi
log "make check took $(( $(date +%s) - start )) s"
echo "$((host_p + vm_p)) passed, $((host_f + vm_f)) failed"
[ $((host_f + vm_f)) = 0 ]
