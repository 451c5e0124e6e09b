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
# In a mount namespace of its own: the mounts below vanish with the
# process, however it ends (a killed run leaves no bind mount of /dev behind
# for the next run's rm to walk into).
if [ -z "${RSCST_DKMS_IMAGE_NS:-}" ]; then
	RSCST_DKMS_IMAGE_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
prep=$(bash "$LAB_DIR/debian/prepare.sh") || die "lab/debian/prepare.sh failed"
read -r _ abi pv <<<"$prep"
# The kernel package version check-vm.sh prepared (run-vm.sh boots it).
pkgver=${RSCST_DEBIAN_PKGVER:-$pv}
base=$(rootfs_image trixie "$pkgver")
[ -f "$base" ] || die "no Debian 13 root filesystem: run lab/rootfs/build.sh trixie $pkgver"
deb=$(ls "$pkgs"/rscst-dkms_*_all.deb 2>/dev/null | head -1 || true)
[ -n "$deb" ] || die "no rscst-dkms .deb in $pkgs"
[ -f "$pkgs/Packages" ] || die "no apt index in $pkgs"
[ -f "$mok/mok.key" ] && [ -f "$mok/mok.pub" ] || die "no mok.key and mok.pub in $mok"
# Keyed by what goes into it: the package folder's index (the SHA-256 of
# every package, rscst-dkms's included), the key, this script, and the base
# image as built (path, inode, size, time).
key=$({ sha256sum <"$pkgs/Packages"; sha256sum <"$mok/mok.pub"; sha256sum <"$0"; stat -c '%n %i %s %Y' "$base"; } |
	sha256sum | cut -c1-12)
top="$RSCST_CACHE/debian"
dir="$top/dkms-image-$key"
exec 9>"$top/.dkms-image.lock"
flock 9
if [ -f "$dir/rootfs.img" ]; then
	echo "$dir/rootfs.img"
	exit 0
fi
# One such image at a time: the older ones are of older inputs. (Nothing is
# mounted under them: their mounts were in their runs' namespaces.)
rm -rf --one-file-system "$top"/dkms-image-*
mnt="$dir.tmp/mnt"
# On any exit before the image is published: nothing half-made stays.
trap 'set +e; umount -R "$mnt" 2>/dev/null; rm -rf --one-file-system "$dir.tmp"' EXIT
mkdir -p "$mnt"
cp --sparse=always "$base" "$dir.tmp/rootfs.img"
mount -o loop "$dir.tmp/rootfs.img" "$mnt"
mkdir -p "$mnt/mnt/pkgs" "$mnt/var/lib/dkms"
# What apt, DKMS and the kernel build need of the system: /proc (objtool),
# /sys, /dev (not its submounts).
mount -t proc proc "$mnt/proc"
mount -t sysfs sysfs "$mnt/sys"
mount --bind /dev "$mnt/dev"
mount --bind -o ro "$pkgs" "$mnt/mnt/pkgs"
# No service starts in the chroot (policy-rc.d: "action forbidden").
printf '#!/bin/sh\nexit 101\n' >"$mnt/usr/sbin/policy-rc.d"
chmod 755 "$mnt/usr/sbin/policy-rc.d"
cp "$mok/mok.key" "$mok/mok.pub" "$mnt/var/lib/dkms/"
chmod 600 "$mnt/var/lib/dkms/mok.key"
# apt's only source is the local folder (as in the guest: no network).
rm -f "$mnt/etc/apt/sources.list" "$mnt"/etc/apt/sources.list.d/*
echo "deb [trusted=yes] file:/mnt/pkgs ./" >"$mnt/etc/apt/sources.list.d/lab-local.list"
# (Commands in the chroot do not inherit the lock's descriptor 9.)
in_chroot "$mnt" apt-get update -q >/dev/null 9>&- || die "apt-get update on the local folder failed"

# DKMS's first build for a Debian kernel makes the kernel's Rust metadata
# (dkms/build.sh: /var/lib/rscst-dkms/ABI, about 13 minutes beside the
# lab's suites, against one for the modules). What it made is kept between
# runs, keyed by what makes it: dkms/build.sh and dkms/rust-overlay.sh, the
# kernel, and every package of the folder but rscst-dkms (headers, source,
# rustc). A change to any of them makes it again; `make check-vm
# SUITE=dkms-guest` always does, in the guest.
meta_key=$({ sha256sum <"$REPO_DIR/dkms/build.sh"; sha256sum <"$REPO_DIR/dkms/rust-overlay.sh"; echo "$abi"
	awk '/^Package: rscst-dkms$/ { skip = 1 } /^$/ { skip = 0 } !skip' "$pkgs/Packages" | sha256sum; } | sha256sum | cut -c1-12)
meta="$top/rust-metadata-$meta_key.tar"
if [ -f "$meta" ]; then
	if tar -C "$mnt/var/lib" -xf "$meta"; then
		log "the kernel's Rust metadata from an earlier run ($meta)"
	else
		log "$meta could not be unpacked: DKMS makes the metadata again"
		rm -rf "$meta" "$mnt/var/lib/rscst-dkms"
	fi
fi
log "installing rscst-dkms in a copy of the Debian 13 image (DKMS builds for $abi)"
start=$(date +%s)
if ! in_chroot "$mnt" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	"/mnt/pkgs/$(basename "$deb")" "linux-headers-$abi" "linux-source-$(echo "$abi" | cut -d. -f1,2)" >"$mnt/root/dkms-install.log" 2>&1 9>&-; then
	tail -40 "$mnt/root/dkms-install.log" >&2
	{ cat "$mnt"/var/lib/dkms/rscst/*/build/make.log 2>/dev/null || true; } | tail -40 >&2
	die "apt-get install of rscst-dkms failed in the image"
fi
log "rscst-dkms installed in $(($(date +%s) - start)) s"
version=$(dpkg-deb -f "$deb" Version)
# What installing a kernel runs for rscst: its postinst hook, after the
# modules were removed.
hook="$mnt/root/dkms-hook.log"
rc=0
{
	echo "\$ dkms unbuild rscst/$version -k $abi"
	in_chroot "$mnt" dkms unbuild "rscst/$version" -k "$abi" 2>&1 9>&- || rc=$?
	echo "\$ /etc/kernel/postinst.d/dkms $abi"
	[ $rc = 0 ] && { in_chroot "$mnt" /etc/kernel/postinst.d/dkms "$abi" 2>&1 9>&- || rc=$?; }
	echo "exit status $rc"
} >"$hook"
if [ $rc != 0 ]; then
	tail -40 "$hook" >&2
	die "dkms unbuild or dkms's kernel postinst hook failed in the image"
fi
log "dkms's kernel hook ran: $(tail -1 "$hook")"
if [ ! -f "$meta" ]; then
	rm -f "$top"/rust-metadata-*.tar "$top"/rust-metadata-*.tar.tmp
	# (Synced before it is published: a tar cut short by a crash would
	# fail every later run's unpacking.)
	if tar -C "$mnt/var/lib" -cf "$meta.tmp" rscst-dkms && sync "$meta.tmp" && mv "$meta.tmp" "$meta"; then
		log "the kernel's Rust metadata kept in $meta"
	else
		rm -f "$meta.tmp"
		log "the kernel's Rust metadata could not be kept in $meta"
	fi
fi
rm -f "$mnt/etc/apt/sources.list.d/lab-local.list" "$mnt/usr/sbin/policy-rc.d"
# What the chroot's scripts left running (DKMS's progress dots leave a
# "sleep 3" behind) holds the mounts: wait for it, then end it.
in_image() { # the processes whose root is the image
	local p r real
	real=$(realpath "$mnt")
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		[ "$r" = "$real" ] && echo "${p#/proc/}"
	done
	return 0
}
for _ in $(seq 20); do
	[ -z "$(in_image)" ] && break
	sleep 0.5
done
left=$(in_image)
if [ -n "$left" ]; then
	log "ending what is left running in the image: $(ps -o comm= -p "${left//$'\n'/,}" | tr '\n' ' ')"
	kill $left 2>/dev/null || true
	sleep 1
	kill -9 $(in_image) 2>/dev/null || true
fi
umount "$mnt/mnt/pkgs" "$mnt/dev" "$mnt/sys" "$mnt/proc" || die "the image's bind mounts stay busy"
umount "$mnt" || die "the image stays busy (a process left in the chroot?)"
rmdir "$mnt"
trap - EXIT
mv "$dir.tmp" "$dir"
echo "$dir/rootfs.img"
