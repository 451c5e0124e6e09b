#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Debian 13 guest image with rscst-dkms installed, for the dkms suite:
# apt installs the package, linux-headers and linux-source for the image's
# kernel and the toolchain from the local package folder, in a chroot of a
# copy of the image on the host (as when an appliance image is built: DKMS
# sees that the running kernel is the chroot's host's and builds for the
# image's kernel), so DKMS's first build, with the Rust metadata step, runs
# at native speed and not under TCG. DKMS's MOK key is the lab's test key,
# placed before the install as on a machine whose key is enrolled. Then what
# installing a kernel runs: `dkms unbuild` and dkms's kernel postinst hook.
# The logs stay in the image's /root for the suite to check:
#   dkms-install.log, dkms-hook.log
# Cached by its inputs (the .deb, the key, the image, this script):
#   dkms-image.sh PKGS_DIR MOK_DIR  ->  prints the image's path
source "$(dirname "$0")/../lib.sh"
pkgs=${1:?usage: dkms-image.sh PKGS_DIR MOK_DIR}
mok=${2:?usage: dkms-image.sh PKGS_DIR MOK_DIR}
read -r _ abi pkgver < <(bash "$LAB_DIR/debian/prepare.sh")
base=$(rootfs_image trixie "$pkgver")
[ -f "$base" ] || die "no Debian 13 root filesystem: run lab/rootfs/build.sh trixie $pkgver"
deb=$(ls "$pkgs"/rscst-dkms_*_all.deb 2>/dev/null | head -1)
[ -n "$deb" ] || die "no rscst-dkms .deb in $pkgs"
[ -f "$mok/mok.key" ] && [ -f "$mok/mok.pub" ] || die "no mok.key and mok.pub in $mok"
key=$({ sha256sum <"$deb"; sha256sum <"$mok/mok.pub"; sha256sum <"$0"; echo "$base"; } | sha256sum | cut -c1-12)
top="$RSCST_CACHE/debian"
dir="$top/dkms-image-$key"
exec 9>"$top/.dkms-image.lock"
flock 9
if [ -f "$dir/rootfs.img" ]; then
	echo "$dir/rootfs.img"
	exit 0
fi
# One such image at a time: the older ones are of older sources.
rm -rf "$top"/dkms-image-*
mkdir -p "$dir.tmp/mnt"
cp --sparse=always "$base" "$dir.tmp/rootfs.img"
mnt="$dir.tmp/mnt"
mount -o loop "$dir.tmp/rootfs.img" "$mnt"
mounted=("$mnt")
unmount_all() { # innermost first
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}"
	done
	mounted=()
}
cleanup() {
	unmount_all || true
	rm -rf "$dir.tmp"
}
trap cleanup EXIT
mkdir -p "$mnt/mnt/pkgs" "$mnt/var/lib/dkms"
# What apt, DKMS and the kernel build need of the system: /proc (objtool),
# /sys, /dev (not its submounts, which processes of the host hold).
mount -t proc proc "$mnt/proc" && mounted+=("$mnt/proc")
mount -t sysfs sysfs "$mnt/sys" && mounted+=("$mnt/sys")
mount --bind /dev "$mnt/dev" && mounted+=("$mnt/dev")
mount --bind -o ro "$pkgs" "$mnt/mnt/pkgs" && mounted+=("$mnt/mnt/pkgs")
cp "$mok/mok.key" "$mok/mok.pub" "$mnt/var/lib/dkms/"
chmod 600 "$mnt/var/lib/dkms/mok.key"
# apt's only source is the local folder (as in the guest: no network).
rm -f "$mnt/etc/apt/sources.list" "$mnt"/etc/apt/sources.list.d/*
echo "deb [trusted=yes] file:/mnt/pkgs ./" >"$mnt/etc/apt/sources.list.d/lab-local.list"
in_chroot "$mnt" apt-get update -q >/dev/null || die "apt-get update on the local folder failed"

log "installing rscst-dkms in a copy of the Debian 13 image (DKMS builds for $abi)"
start=$(date +%s)
if ! in_chroot "$mnt" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	"/mnt/pkgs/$(basename "$deb")" "linux-headers-$abi" "linux-source-7.2" >"$mnt/root/dkms-install.log" 2>&1; then
	tail -40 "$mnt/root/dkms-install.log" >&2
	cat "$mnt"/var/lib/dkms/rscst/*/build/make.log 2>/dev/null | tail -40 >&2
	die "apt-get install of rscst-dkms failed in the image"
fi
log "rscst-dkms installed in $(($(date +%s) - start)) s"
version=$(dpkg-deb -f "$deb" Version)
# What installing a kernel runs for rscst: its postinst hook, after the
# modules were removed.
{
	echo "\$ dkms unbuild rscst/$version -k $abi"
	in_chroot "$mnt" dkms unbuild "rscst/$version" -k "$abi" 2>&1
	echo "\$ /etc/kernel/postinst.d/dkms $abi"
	in_chroot "$mnt" /etc/kernel/postinst.d/dkms "$abi" 2>&1
	echo "exit status $?"
} >"$mnt/root/dkms-hook.log"
log "dkms's kernel hook ran: $(tail -1 "$mnt/root/dkms-hook.log")"
rm -f "$mnt/etc/apt/sources.list.d/lab-local.list"
unmount_all
trap - EXIT
rmdir "$mnt"
mv "$dir.tmp" "$dir"
echo "$dir/rootfs.img"
