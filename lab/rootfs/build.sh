#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds a guest root filesystem: a debootstrapped Debian minbase with the
# initiators and test tools, packed into an ext4 image that every boot uses as
# a throw-away snapshot. Prints the image path on stdout.
#   build.sh                        Debian 12 (bookworm), for the lab's kernels
#   build.sh trixie KERNEL_PKGVER   Debian 13 with Debian's stock kernel of that
#                                   package version installed (the Debian line;
#                                   lab/debian/prepare.sh downloads it); its
#                                   vmlinuz, initrd.img and config land next to
#                                   the image
# Cached by the package list, these scripts, the suite and the kernel version.
source "$(dirname "$0")/../lib.sh"

suite=${1:-bookworm}
kver=${2:-}
[ "$suite" = bookworm ] || [ -n "$kver" ] || die "usage: build.sh [trixie KERNEL_PKGVER]"
img=$(rootfs_image "$suite" "$kver")
top=$(dirname "$img")
mkdir -p "$top"
exec 9>"$top/.lock"
flock 9
if [ -f "$img" ]; then
	echo "$img"
	exit 0
fi

start=$(date +%s)
dir="$top/tree"
# A run killed while /proc was mounted in the tree leaves it mounted.
umount -l "$dir/proc" 2>/dev/null || true
rm -rf --one-file-system "$dir"
pkgs=$(grep -v '^#' "$LAB_DIR/rootfs/packages" | paste -sd, -)
# A distribution kernel needs its initramfs to reach the root device.
[ -n "$kver" ] && pkgs="$pkgs,initramfs-tools"
log "debootstrap $suite into $dir"
debootstrap --variant=minbase --include="$pkgs" "$suite" "$dir" http://deb.debian.org/debian \
	>"$top/debootstrap.log" 2>&1 || { tail -30 "$top/debootstrap.log" >&2; die "debootstrap failed"; }

install -m 0755 "$LAB_DIR/rootfs/rscst-init" "$dir/sbin/rscst-init"
echo rscst-lab >"$dir/etc/hostname"
# iscsid wants an initiator name; tests set their own later.
mkdir -p "$dir/etc/iscsi"
echo "InitiatorName=iqn.2026-11.org.rscst:lab-initiator" >"$dir/etc/iscsi/initiatorname.iscsi"

install_debian_kernel() { # the kernel's packages, installed as a user would
	local debs k
	debs=$(debian_debs_dir "$kver")
	# The initramfs only has to find the virtio disk and mount ext4.
	mkdir -p "$dir/etc/initramfs-tools/conf.d"
	printf 'MODULES=list\nCOMPRESS=gzip\n' >"$dir/etc/initramfs-tools/conf.d/rscst-lab"
	printf 'virtio_pci\nvirtio_blk\next4\n' >>"$dir/etc/initramfs-tools/modules"
	mkdir -p "$dir/tmp/kernel"
	cp "$debs"/linux-image-*.deb "$debs"/linux-base_*.deb "$debs"/linux-base-*-amd64_*.deb \
		"$debs"/linux-modules-*.deb "$debs"/linux-binary-*.deb "$dir/tmp/kernel/"
	mount -t proc proc "$dir/proc"
	trap 'umount -l "$dir/proc" 2>/dev/null || true' EXIT
	local rc=0
	# linux-base first: the image package pre-depends on it.
	in_chroot "$dir" sh -c 'export DEBIAN_FRONTEND=noninteractive
		dpkg -i /tmp/kernel/linux-base_*.deb && dpkg -i /tmp/kernel/*.deb' >"$top/kernel-install.log" 2>&1 || rc=$?
	umount -l "$dir/proc"
	trap - EXIT
	[ $rc = 0 ] || { tail -20 "$top/kernel-install.log" >&2; die "installing Debian's kernel failed"; }
	rm -rf "$dir/tmp/kernel"
	k=$(ls "$dir"/usr/lib/modules/)
	[ -f "$dir/boot/initrd.img-$k" ] || die "no initramfs for $k (see $top/kernel-install.log)"
	cp "$dir/usr/lib/modules/$k/vmlinuz" "$top/vmlinuz"
	cp "$dir/boot/initrd.img-$k" "$top/initrd.img"
	cp "$dir/usr/lib/modules/$k/config" "$top/config"
}
[ -n "$kver" ] && install_debian_kernel
rm -rf "$dir/var/cache/apt/archives/"*.deb

log "packing $img"
# Free space for the suites: 1 GiB, and 6 GiB more on the Debian line, whose
# dkms suite installs a toolchain and unpacks a kernel source (the image is
# sparse and used as a snapshot, so this costs no disk until written).
free=1024
[ -n "$kver" ] && free=7168
size=$(( $(du -sm "$dir" | cut -f1) + free ))
rm -f "$img.tmp"
mke2fs -q -t ext4 -L rscst-root -d "$dir" "$img.tmp" "${size}M"
mv "$img.tmp" "$img"
rm -rf "$dir"
log "root filesystem built in $(( $(date +%s) - start )) s"
echo "$img"
