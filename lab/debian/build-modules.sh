#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds rscst's modules for Debian's stock 7.2 kernel (lab/debian/prepare.sh),
# warnings as errors, with Debian's own toolchain in the trixie chroot, in a
# copy of the repository inside it (/src/rscst), by rscst-dkms's build step
# (dkms/build.sh). Prints the copy's path.
# The product modules only: Debian's kernel has no KUnit, and the canary
# self-test belongs to the lab's debug kernel.
source "$(dirname "$0")/../lib.sh"
read -r root abi _ < <(bash "$LAB_DIR/debian/prepare.sh")
exec 9>"$root/src.lock"
flock 9
copy="$root/src/rscst"
mkdir -p "$copy"
rsync -a --delete --exclude /out --exclude /crates/target --exclude /fuzz/target --exclude '*.ko' --exclude '*.o' \
	--exclude /sys/generated "$REPO_DIR/" "$copy/"
find "$copy" \( -name '*.o' -o -name '.*.cmd' -o -name '.*.d' \) -delete
kdir="/usr/src/linux-headers-$abi"
# objtool reads /proc (unmounted again only by the run that mounted it).
if ! mountpoint -q "$root/proc"; then
	mount -t proc proc "$root/proc"
	trap 'umount -l "$root/proc" 2>/dev/null || true' EXIT
fi
log "building the modules for Debian $abi (rustc $(in_chroot "$root" rustc --version | awk '{print $2}'))"
# rscst-dkms's own build step, with warnings as errors: the headers here
# already have the Rust metadata (prepare.sh), so it builds against them.
in_chroot "$root" env RSCST_MAKE_FLAGS="-s KCFLAGS=-Werror KRUSTFLAGS=-Dwarnings" \
	bash /src/rscst/dkms/build.sh "$abi" "$kdir" >"$root/src/build.log" 2>&1 || {
	cat "$root/src/build.log" >&2
	die "module build for Debian $abi failed"
}
if grep -q "warning:" "$root/src/build.log"; then
	cat "$root/src/build.log" >&2
	die "module build for Debian $abi printed warnings"
fi
echo "$copy"
