#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boots a guest in qemu, runs one guest suite (tests/vm/SUITE.sh,
# lab/guest/SUITE.sh, or the built-in "probe"), and brings back its results:
#   run-vm.sh SUITE [TIMEOUT_SECONDS] [FLAVOUR]
# FLAVOUR is one of the lab's own kernels (debug, bench; Debian 12 root
# filesystem, modules shared from the kernel's cache) or "debian-7.2":
# Debian's stock kernel with its own initramfs and modules, installed in a
# Debian 13 root filesystem (lab/rootfs/build.sh trixie). Results land in
# out/SUITE/ (out/SUITE@debian-7.2/ on that line): suite.log, console.log,
# dmesg.txt, rc, and verdict (why the run failed). Exits non-zero when the
# suite failed, the boot timed out, or the guest kernel logged a warning,
# BUG, oops, lockdep splat, sleep-in-atomic or leak.
source "$(dirname "$0")/lib.sh"

suite=${1:?usage: run-vm.sh SUITE [TIMEOUT] [FLAVOUR]}
timeout_s=${2:-900}
flavour=${3:-debug}
if [ "$flavour" = debian-7.2 ]; then
	# check-vm.sh passes the version it prepared; alone, ask prepare.sh.
	pkgver=${RSCST_DEBIAN_PKGVER:-}
	[ -n "$pkgver" ] || read -r _ _ pkgver < <(bash "$LAB_DIR/debian/prepare.sh")
	kimg=$(rootfs_image trixie "$pkgver")
	[ -f "$kimg" ] || die "no Debian 13 root filesystem: run lab/rootfs/build.sh trixie $pkgver"
	# The kernel is the image's; the disk may be a copy of it with more
	# installed (RSCST_ROOTFS_IMAGE, e.g. lab/debian/dkms-image.sh's).
	img=${RSCST_ROOTFS_IMAGE:-$kimg}
	[ -f "$img" ] || die "no root filesystem image $img"
	kimage=$(dirname "$kimg")/vmlinuz
	initrd=(-initrd "$(dirname "$kimg")/initrd.img")
	kconfig=$(dirname "$kimg")/config
	modshare=()
	out="$REPO_DIR/out/$suite@$flavour"
else
	kdir=$(kernel_dir "$flavour")
	img=$(rootfs_image)
	kimage=$kdir/arch/x86/boot/bzImage
	initrd=()
	kconfig=$kdir/.config
	[ -f "$kimage" ] || die "no kernel at $kdir: run lab/kernel/build.sh $flavour"
	[ -f "$img" ] || die "no root filesystem: run lab/rootfs/build.sh"
	modshare=(-fsdev "local,id=fs2,path=$(kernel_mods_dir "$flavour")/lib/modules,security_model=none,readonly=on"
		-device virtio-9p-pci,fsdev=fs2,mount_tag=modules)
	out="$REPO_DIR/out/$suite"
fi

# A local package folder (RSCST_PKG_DIR), shared read-only as tag "pkgs"
# for suites that install packages (the guest has no network).
pkgshare=()
if [ -n "${RSCST_PKG_DIR:-}" ]; then
	pkgshare=(-fsdev "local,id=fs3,path=$RSCST_PKG_DIR,security_model=none,readonly=on"
		-device virtio-9p-pci,fsdev=fs3,mount_tag=pkgs)
fi

rm -rf "$out"
mkdir -p "$out"

# UEFI firmware instead of the BIOS (RSCST_UEFI_VARS: the variable store to
# start from, e.g. one with a test certificate in db; the guest writes to a
# copy). OVMF without Secure Boot: it boots the kernel given with -kernel.
firmware=()
if [ -n "${RSCST_UEFI_VARS:-}" ]; then
	cp "$RSCST_UEFI_VARS" "$out/uefi-vars.fd"
	firmware=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
		-drive "if=pflash,format=raw,unit=1,file=$out/uefi-vars.fd")
fi

accel() {
	local probe="$RSCST_CACHE/kvm-works"
	if [ -n "${RSCST_ACCEL:-}" ]; then echo "$RSCST_ACCEL"; return; fi
	if [ -f "$probe" ]; then cat "$probe"; return; fi
	local a=tcg
	if [ -w /dev/kvm ] && [ "$suite" != probe ]; then
		# KVM must boot a guest to be trusted (it asserts on these machines).
		if RSCST_ACCEL=kvm RSCST_KERNEL_ARGS="" RSCST_UEFI_VARS="" timeout 60 bash "$0" probe 40 "$flavour" >/dev/null 2>&1; then a=kvm; fi
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
# A suite's own kernel arguments ("# kernel args:" in its header).
extra_args="$extra_args ${RSCST_KERNEL_ARGS:-}"

# Guest memory: 4 GiB, or RSCST_VM_MEMORY (check-vm.sh passes a suite's
# "# memory:" header). The debug kernel's boot (KASAN's shadow, struct
# pages) and each kmemleak scan (it walks every struct page) take time in
# proportion: the kunit suite's leak scan took 55 s with 4 GiB, 29 s with
# 1.5 GiB, and its whole run 36 s less. Suites whose guests do little I/O
# ask for less; local's ran no faster with 2 GiB (its files' page cache).
memory=${RSCST_VM_MEMORY:-4G}

boot() {
	# shellcheck disable=SC2046
	timeout -k 10 "$timeout_s" qemu-system-x86_64 \
		-accel "$acc" -cpu "$cpu" -smp 2 -m "$memory" \
		"${firmware[@]}" -kernel "$kimage" "${initrd[@]}" \
		-append "console=ttyS0 root=/dev/vda rw init=/sbin/rscst-init panic=-1 oops=panic loglevel=6 $extra_args rscst.suite=$suite" \
		-drive "file=$img,if=virtio,format=raw,snapshot=on" \
		$(fsdev fs0 "${RSCST_SHARE_DIR:-$REPO_DIR}" rscst 1) $(fsdev fs1 "$out" out 0) "${modshare[@]}" "${pkgshare[@]}" \
		-nographic -no-reboot -monitor none -serial "file:$out/console.log" \
		>"$out/qemu.log" 2>&1
}
# qemu 7.2's multi-threaded TCG now and then lets a vCPU run a stale int3
# the kernel's live text patching (static keys, while the other CPU comes
# up) has already removed: an "Oops: int3" early in boot, seen about once in
# 30 boots of Debian's kernel. Before the guest's init ran (it leaves
# init.started in out/), nothing of ours is loaded: boot again, at most
# twice, and say so.
crashed_before_init() {
	[ ! -e "$out/init.started" ] && grep -aq 'Oops: int3' "$out/console.log"
}
log "boot: suite $suite on $flavour ($acc, timeout ${timeout_s}s)"
start=$(date +%s)
set +e
for attempt in 1 2 3; do
	boot
	qrc=$?
	crashed_before_init || break
	[ $attempt = 3 ] && break
	mv "$out/console.log" "$out/console-boot$attempt.log"
	log "the guest kernel hit a stale int3 before init (qemu TCG, see $out/console-boot$attempt.log): booting again"
done
set -e
log "guest ran $(( $(date +%s) - start )) s (qemu exit $qrc)"

# Each reason the run failed, logged and kept in out/.../verdict (check-vm.sh
# repeats it next to the suite's counts).
fail=0
fail_because() { # REASON
	log "FAIL: $1"
	echo "$1" >>"$out/verdict"
	fail=1
}
if [ $qrc = 124 ] || [ $qrc = 137 ]; then
	fail_because "timed out after ${timeout_s}s"
fi
rc=$(cat "$out/rc" 2>/dev/null || echo missing)
if [ "$rc" != 0 ]; then
	fail_because "suite exit status: $rc"
fi
# The kernel's reports, and the core's own lines that mean a command or an
# object was lost or left behind (see core/: pr_err/pr_warn on those paths).
bad='WARNING:|BUG:|Oops|general protection|Kernel panic|possible circular locking|possible recursive locking|inconsistent lock state|INFO: possible|scheduling while atomic|sleeping function called from invalid context|unreferenced object|INFO: task .* blocked|soft lockup|rcu.*stall|UBSAN|list_add corruption|list_del corruption|KASAN:|KFENCE:'
bad="$bad|rscst.*(dropped without completion|still in flight|still held|commands after|not allowed in)"
# A kernel with kmemleak must have scanned: a run that skipped it proves nothing.
if grep -q '^CONFIG_DEBUG_KMEMLEAK=y' "$kconfig" && [ "$suite" != probe ] && [ ! -f "$out/kmemleak.scanned" ]; then
	fail_because "the guest did not run its kmemleak scan"
fi
# The logs this run has (no dmesg.txt after a timeout, no kmemleak.txt on
# a kernel without kmemleak: grep's status 2 for a missing file would end
# the script under set -e).
logs=()
for f in console.log dmesg.txt kmemleak.txt; do
	[ -f "$out/$f" ] && logs+=("$out/$f")
done
if [ ${#logs[@]} -gt 0 ] && grep -aEq "$bad" "${logs[@]}"; then
	first=$(grep -aEh -m1 "$bad" "${logs[@]}" | tr -d '\r' | sed -n 1p || true)
	fail_because "the guest kernel reported a problem: ${first:0:200}"
	{ grep -aEh -A12 "$bad" "${logs[@]}" || true; } | head -80 >&2
fi
if [ $fail != 0 ]; then
	log "console tail ($out/console.log):"
	tail -40 "$out/console.log" >&2 || true
fi
exit $fail
