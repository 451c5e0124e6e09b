#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo, inside the lab guest: a file-backed LUN exported over the
# loopback fabric, a filesystem on it, data written and verified, and the
# sysfs tree printed. (The iSCSI half joins when rscst_iscsi lands.)
# lines: lab debian-7.2
# timeout: 1800
set -e
. /mnt/rscst/tests/vm/lib.sh
step() { echo; echo "== $*"; }
step "load rscst, rscst_vdisk, rscst_local"
load_rscst
step "create a 512 MiB file-backed device"
truncate -s 512M /root/demo.img
mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device demo filename=/root/demo.img; blocksize=4096"
step "export it: target demo, LUN 0, one loopback session"
SD=$(export_local demo demo initiator1)
H=$(local_host)
lsscsi
sg_inq /dev/$(sg_of $H 0) | sed -n '1,12p'
step "mkfs.ext4 $SD, write 64 MiB of files, verify after remount"
mkfs.ext4 -q $SD
mkdir -p /mnt/demo
mount $SD /mnt/demo
for i in 1 2 3 4; do dd if=/dev/urandom of=/mnt/demo/file$i bs=1M count=16 status=none; done
(cd /mnt/demo && sha256sum file*) >/tmp/sums
umount /mnt/demo
mount $SD /mnt/demo
(cd /mnt/demo && sha256sum -c /tmp/sums)
umount /mnt/demo
step "the sysfs tree"
find $SCST -maxdepth 6 | sed "s|$SCST|scst_tgt|" | sort | head -80
for f in $SCST/devices/demo/{size,blocksize,filename,usn} $SCST/targets/scst_local/demo/sessions/initiator1/{commands,write_io_count_kb,read_io_count_kb}; do
	printf '%-70s %s\n' "${f#$SCST/}" "$(cat $f)"
done
step "tear down"
mgmt $SCST/targets/scst_local/mgmt "del_target demo"
mgmt $SCST/handlers/vdisk_fileio/mgmt "del_device demo"
rmmod rscst_local rscst_vdisk rscst
echo "1 passed, 0 failed"
