#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the lab guest as PID 1's child: starts what the suites need,
# runs tests/vm/$SUITE.sh, and leaves rc, suite.log, dmesg.txt and
# kmemleak.txt in /mnt/out for the host.
out=/mnt/out
suite=$(sed -n 's/.*rscst\.suite=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "rscst guest: suite '$suite'"
# For the host: the kernel booted and the guest's own init started.
touch "$out/init.started"
# Powers the guest off and never returns: once the power-off has begun the
# root disk is gone, so a command still to be read from it (PID 1's own
# "sleep") failed, PID 1 exited, and the kernel logged a panic before it
# powered down. Only shell builtins run after the trigger.
power_off() {
	sync
	echo o >/proc/sysrq-trigger
	while :; do :; done
}
hostname rscst-lab
ip link set lo up 2>/dev/null
# devtmpfs has no /dev/fd; bash process substitution and /dev/stdin need it.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
echo 0 >/proc/sys/kernel/hung_task_panic 2>/dev/null
# The initiator's upper-level drivers and the loop driver, which udev or
# their device nodes would load on a distribution kernel (Debian's has them
# as modules; no udevd runs here). Built into the lab's own kernels, where
# modprobe has nothing to do.
modprobe -a sd_mod sg loop 2>/dev/null
if [ "$suite" = probe ]; then
	echo 0 >"$out/rc"
	power_off
fi
script=/mnt/rscst/tests/vm/$suite.sh
[ -f "$script" ] || script=/mnt/rscst/lab/guest/$suite.sh
if [ ! -f "$script" ]; then
	echo "no such suite: $script" | tee "$out/suite.log"
	echo 2 >"$out/rc"
	power_off
fi
# The guest's uptime at each phase, in phases.txt (where a run's minutes go).
phase() { read -r up _ </proc/uptime; echo "$up $1" >>"$out/phases.txt"; }
phase suite
# Leak scans need a quiet period; clear what boot left behind.
[ -w /sys/kernel/debug/kmemleak ] && echo clear >/sys/kernel/debug/kmemleak
cd /mnt/rscst || power_off
RSCST_OUT=$out sh -c "bash $script" >"$out/suite.log" 2>&1
echo $? >"$out/rc.suite"
phase "leak scan"
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	sleep 1
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$out/kmemleak.txt" && touch "$out/kmemleak.scanned"
fi
phase end
dmesg >"$out/dmesg.txt"
cp "$out/rc.suite" "$out/rc"
cat "$out/suite.log"
power_off
