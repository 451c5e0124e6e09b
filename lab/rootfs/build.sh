#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the guest root filesystem: a debootstrapped Debian 12 minbase with the
# initiators and test tools, packed into an ext4 image that every boot uses as a
# throw-away snapshot. Cached by the package list and this script's hash.
# Prints the image path on stdout.
source "$(dirname "$0")/../lib.sh"

img=$(rootfs_image)
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
rm -rf "$dir"
pkgs=$(grep -v '^#' "$LAB_DIR/rootfs/packages" | paste -sd, -)
log "debootstrap bookworm into $dir"
debootstrap --variant=minbase --include="$pkgs" bookworm "$dir" http://deb.debian.org/debian \
	>"$top/debootstrap.log" 2>&1 || { tail -30 "$top/debootstrap.log" >&2; die "debootstrap failed"; }

# A tiny, stable PID 1: mount the shares and hand over to the repository's
# guest/init.sh, so test logic changes never need a new image.
cat >"$dir/sbin/rscst-init" <<'INIT'
#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /mnt/rscst /mnt/out /lib/modules
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
mount -t configfs configfs /sys/kernel/config
o=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o $o,cache=none rscst /mnt/rscst
mount -t 9p -o $o,cache=none out /mnt/out
mount -t 9p -o $o,ro modules /lib/modules
if [ -x /mnt/rscst/lab/guest/init.sh ]; then
	/mnt/rscst/lab/guest/init.sh
else
	echo "rscst-init: /mnt/rscst/lab/guest/init.sh missing"
fi
sync
echo o >/proc/sysrq-trigger
sleep 10
INIT
chmod +x "$dir/sbin/rscst-init"
echo rscst-lab >"$dir/etc/hostname"
# iscsid wants an initiator name; tests set their own later.
mkdir -p "$dir/etc/iscsi"
echo "InitiatorName=iqn.2026-11.org.rscst:lab-initiator" >"$dir/etc/iscsi/initiatorname.iscsi"
rm -rf "$dir/var/cache/apt/archives/"*.deb

log "packing $img"
size=$(( $(du -sm "$dir" | cut -f1) + 1024 ))
rm -f "$img.tmp"
mke2fs -q -t ext4 -L rscst-root -d "$dir" "$img.tmp" "${size}M"
mv "$img.tmp" "$img"
rm -rf "$dir"
log "root filesystem built in $(( $(date +%s) - start )) s"
echo "$img"
