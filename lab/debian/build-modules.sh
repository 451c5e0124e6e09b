#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds rscst's modules for Debian's stock 7.2 kernel (lab/debian/prepare.sh),
# warnings as errors, with Debian's own toolchain in the trixie chroot, in a
# copy of the repository inside it (/src/rscst). Prints the copy's path.
source "$(dirname "$0")/../lib.sh"
read -r root abi < <(bash "$LAB_DIR/debian/prepare.sh")
copy="$root/src/rscst"
mkdir -p "$copy"
rsync -a --delete --exclude /out --exclude /crates/target --exclude /fuzz/target --exclude '*.ko' --exclude '*.o' \
	--exclude /sys/generated "$REPO_DIR/" "$copy/"
find "$copy" \( -name '*.o' -o -name '.*.cmd' -o -name '.*.d' \) -delete
kdir="/usr/src/linux-headers-$abi"
# objtool reads /proc.
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
log "building the modules for Debian $abi (rustc $(chroot "$root" rustc --version | awk '{print $2}'))"
chroot "$root" /bin/bash -c "set -e; cd /src/rscst
	bash sys/gen-bindings.sh $kdir /src/rscst/sys/generated/bindings.rs
	make -s -C $kdir CC=x86_64-linux-gnu-gcc-14 M=/src/rscst KCFLAGS=-Werror KRUSTFLAGS=-Dwarnings modules" >"$root/src/build.log" 2>&1 || {
	cat "$root/src/build.log" >&2
	die "module build for Debian $abi failed"
}
if grep -q "warning:" "$root/src/build.log"; then
	cat "$root/src/build.log" >&2
	die "module build for Debian $abi printed warnings"
fi
echo "$copy"
