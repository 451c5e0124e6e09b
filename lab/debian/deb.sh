#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make deb: the rscst-dkms Debian packages, built in the Debian line's trixie
# chroot (lab/debian/prepare.sh) with dpkg-buildpackage from a copy of the
# files git tracks: the source package (rscst_VERSION.dsc and .tar.xz, format
# 3.0 (native)) and the binary rscst-dkms_VERSION_all.deb, left in out/deb/.
# Prints the .deb's path.
source "$(dirname "$0")/../lib.sh"
read -r root _ _ < <(bash "$LAB_DIR/debian/prepare.sh")
exec 9>"$root/deb.lock"
flock 9
version=$(sed -n '1s/^rscst (\([^)]*\)).*/\1/p' "$REPO_DIR/debian/changelog")
[ -n "$version" ] || die "no version in debian/changelog"
work="$root/deb"
rm -rf "$work"
mkdir -p "$work/rscst-$version"
# The files git tracks, as they are in the working tree: no build products,
# no untracked files.
git -C "$REPO_DIR" ls-files -z | rsync -a --from0 --files-from=- "$REPO_DIR/" "$work/rscst-$version/"
log "dpkg-buildpackage rscst $version (source and rscst-dkms)"
in_chroot "$root" /bin/bash -c "cd /deb/rscst-$version && dpkg-buildpackage -us -uc" >"$work/build.log" 2>&1 ||
	{ tail -30 "$work/build.log" >&2; die "dpkg-buildpackage failed (log: $work/build.log)"; }
out="$REPO_DIR/out/deb"
rm -rf "$out"
mkdir -p "$out"
cp "$work"/rscst_"$version"* "$work"/rscst-dkms_"$version"_all.deb "$out/"
cp "$work/build.log" "$out/"
echo "$out/rscst-dkms_${version}_all.deb"
