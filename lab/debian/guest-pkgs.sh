#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The local package folder the Debian-line guest installs rscst-dkms from
# (it has no network): every package of the trixie chroot's toolchain (what
# rscst-dkms depends on, with dkms), Debian's headers, kbuild and
# linux-source for the guest's kernel, and the given rscst-dkms .deb, with
# an apt index (Packages). Prints the folder's path.
#   guest-pkgs.sh RSCST_DKMS_DEB
source "$(dirname "$0")/../lib.sh"
deb=${1:?usage: guest-pkgs.sh RSCST_DKMS_DEB}
read -r root abi pkgver < <(bash "$LAB_DIR/debian/prepare.sh")
base=${abi%-amd64}
debs=$(debian_debs_dir "$pkgver")
dir="$RSCST_CACHE/debian/guest-pkgs-$pkgver"
exec 9>"$RSCST_CACHE/debian/.guest-pkgs.lock"
flock 9
rm -rf "$dir"
mkdir -p "$dir"
srcs=("$root"/var/cache/apt/archives/*.deb "$debs/linux-headers-${abi}_"*.deb "$debs/linux-headers-$base-common_"*.deb
	"$debs/linux-kbuild-${base}_"*.deb "$debs/linux-source-7.2_"*.deb)
# Hard links where the cache's filesystem allows (the folder is only read).
cp -l "${srcs[@]}" "$dir/" 2>/dev/null || { rm -f "$dir"/*.deb; cp "${srcs[@]}" "$dir/"; }
cp "$deb" "$dir/"
mount --bind "$dir" "$root/mnt"
trap 'umount "$root/mnt"' EXIT
in_chroot "$root" /bin/sh -c 'cd /mnt && apt-ftparchive packages . >Packages' ||
	die "apt-ftparchive failed in $dir"
log "guest package folder: $(ls "$dir"/*.deb | wc -l) packages, $(du -sh "$dir" | cut -f1)"
echo "$dir"
