#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boots the lab kernel in qemu, runs one guest suite (tests/vm/SUITE.sh, or
# the built-in "probe"), and brings back its results:
#   run-vm.sh SUITE [TIMEOUT_SECONDS] [FLAVOUR]
# Results land in out/SUITE/ (suite.log, console.log, dmesg.txt, rc). Exits
# non-zero when the suite failed, the boot timed out, or the guest kernel
# logged a warning, BUG, oops, lockdep splat, sleep-in-atomic or leak.
source "$(dirname "$0")/lib.sh"

suite=${1:?usage: run-vm.sh SUITE [TIMEOUT] [FLAVOUR]}
timeout_s=${2:-900}
flavour=${3:-debug}
kdir=$(kernel_dir "$flavour")
mods=$(kernel_mods_dir "$flavour")/lib/modules
img=$(rootfs_image)
[ -f "$kdir/arch/x86/boot/bzImage" ] || die "no kernel at $kdir: run lab/kernel/build.sh $flavour"
[ -f "$img" ] || die "no root filesystem: run lab/rootfs/build.sh"

out="$REPO_DIR/out/$suite"
rm -rf "$out"
mkdir -p "$out"

accel() {
	local probe="$RSCST_CACHE/kvm-works"
	if [ -n "${RSCST_ACCEL:-}" ]; then echo "$RSCST_ACCEL"; return; fi
	if [ -f "$probe" ]; then cat "$probe"; return; fi
	local a=tcg
	if [ -w /dev/kvm ] && [ "$suite" != probe ]; then
		# KVM must boot a guest to be trusted (it asserts on these machines).
		if RSCST_ACCEL=kvm timeout 60 bash "$0" probe 40 "$flavour" >/dev/null 2>&1; then a=kvm; fi
	fi
	echo "$a" >"$probe"
	echo "$a"
}
acc=$(accel)
cpu=max
[ "$acc" = kvm ] && cpu=host

fsdev() { # id path tag readonly
	local ro=""
	[ "$4" = 1 ] && ro=",readonly=on"
	echo "-fsdev local,id=$1,path=$2,security_model=none$ro -device virtio-9p-pci,fsdev=$1,mount_tag=$3"
}

# A kernel log large enough for a whole suite (the checks read it back);
# 4-level paging (qemu's "max" CPU offers LA57, and the KASAN kernel then
# reported wild accesses in interrupt handlers during early boot); PCI
# interrupts routed without ACPI (the AML interpreter under KASAN and TCG
# hit its 30 s loop timeout twice per boot); and on the debug kernel every
# memory error KASAN finds, not only the first.
extra_args="log_buf_len=8M no5lvl acpi=noirq"
[ "$flavour" = debug ] && extra_args="$extra_args kasan_multi_shot"

log "boot: suite $suite ($acc, timeout ${timeout_s}s)"
start=$(date +%s)
set +e
# shellcheck disable=SC2046
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
	-accel "$acc" -cpu "$cpu" -smp 2 -m 4G \
	-kernel "$kdir/arch/x86/boot/bzImage" \
	-append "console=ttyS0 root=/dev/vda rw init=/sbin/rscst-init panic=-1 oops=panic loglevel=6 $extra_args rscst.suite=$suite" \
	-drive "file=$img,if=virtio,format=raw,snapshot=on" \
	$(fsdev fs0 "${RSCST_SHARE_DIR:-$REPO_DIR}" rscst 1) $(fsdev fs1 "$out" out 0) $(fsdev fs2 "$mods" modules 1) \
	-nographic -no-reboot -monitor none -serial "file:$out/console.log" \
	>"$out/qemu.log" 2>&1
qrc=$?
set -e
log "guest ran $(( $(date +%s) - start )) s (qemu exit $qrc)"

fail=0
if [ $qrc = 124 ] || [ $qrc = 137 ]; then
	log "FAIL: timed out after ${timeout_s}s"
	fail=1
fi
rc=$(cat "$out/rc" 2>/dev/null || echo missing)
if [ "$rc" != 0 ]; then
	log "FAIL: suite exit status: $rc"
	fail=1
fi
# The kernel's reports, and the core's own lines that mean a command or an
# object was lost or left behind (see core/: pr_err/pr_warn on those paths).
bad='WARNING:|BUG:|Oops|general protection|Kernel panic|possible circular locking|possible recursive locking|inconsistent lock state|INFO: possible|scheduling while atomic|sleeping function called from invalid context|unreferenced object|INFO: task .* blocked|soft lockup|rcu.*stall|UBSAN|list_add corruption|list_del corruption|KASAN:|KFENCE:'
bad="$bad|rscst.*(dropped without completion|still in flight|still held|commands after|not allowed in)"
# A kernel with kmemleak must have scanned: a run that skipped it proves nothing.
if grep -q '^CONFIG_DEBUG_KMEMLEAK=y' "$kdir/.config" && [ "$suite" != probe ] && [ ! -f "$out/kmemleak.scanned" ]; then
	log "FAIL: the guest did not run its kmemleak scan"
	fail=1
fi
if grep -aEq "$bad" "$out/console.log" "$out/dmesg.txt" "$out/kmemleak.txt" 2>/dev/null; then
	log "FAIL: the guest kernel reported a problem:"
	grep -aEh -A12 "$bad" "$out/console.log" "$out/kmemleak.txt" 2>/dev/null | head -80 >&2
	fail=1
fi
if [ $fail != 0 ]; then
	log "console tail ($out/console.log):"
	tail -40 "$out/console.log" >&2 || true
fi
exit $fail
