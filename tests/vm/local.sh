#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# VM suite "local": rscst_local + vdisk handlers driven by the Linux SCSI
# initiator (sd, sg) and sg3_utils, fio and ext4 on the exported LUNs.
# timeout: 1500
. "$(dirname "$0")/lib.sh"

check "modules load" load_rscst
expect_eq "version file" "$(cat $SCST/version)" "0.1.0"
check "handlers registered" test -f $SCST/handlers/vdisk_fileio/mgmt -a -f $SCST/handlers/vdisk_nullio/mgmt
check "scst_local driver registered" test -f $SCST/targets/scst_local/mgmt
expect_match "handler mgmt prints help" "$(cat $SCST/handlers/vdisk_fileio/mgmt)" "add_device device_name"

# Devices.
truncate -s 256M /root/disk1.img
check "add fileio device" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device disk1 filename=/root/disk1.img; blocksize=512"
check "add nullio device" mgmt $SCST/handlers/vdisk_nullio/mgmt "add_device null1 size_mb=1024; blocksize=4096; read_zero=1"
expect_eq "fileio size attr" "$(cat $SCST/devices/disk1/size)" "268435456"
expect_eq "fileio filename attr" "$(cat $SCST/devices/disk1/filename)" "/root/disk1.img"
expect_eq "nullio blocksize attr" "$(cat $SCST/devices/null1/blocksize)" "4096"
expect_eq "device handler link" "$(basename "$(readlink $SCST/devices/disk1/handler)")" "vdisk_fileio"

# Target, LUNs, session.
check "add target" mgmt $SCST/targets/scst_local/mgmt "add_target t1"
check "add LUN 0" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add disk1 0"
check "add LUN 1" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add null1 1"
check "add session" mgmt $SCST/targets/scst_local/mgmt "add_session t1 s1"
H=$(local_host)
check "LUN 0 appears as sd" wait_for 10 test -n "$(sd_of $H 0)"
check "LUN 1 appears as sd" wait_for 10 test -n "$(sd_of $H 1)"
SD0=/dev/$(sd_of $H 0)
SG0=/dev/$(sg_of $H 0)
SD1=/dev/$(sd_of $H 1)
SG1=/dev/$(sg_of $H 1)
echo "# LUN 0: $SD0 $SG0, LUN 1: $SD1 $SG1"

# Identity through sg3_utils.
inq=$(sg_inq $SG0 2>&1)
expect_match "INQUIRY vendor" "$inq" "Vendor identification: RSCST"
expect_match "INQUIRY product" "$inq" "Product identification: disk1"
usn=$(cat $SCST/devices/disk1/usn)
expect_match "VPD serial number" "$(sg_vpd -p sn $SG0 2>&1)" "Unit serial number: $usn"
expect_match "VPD device id: NAA" "$(sg_vpd -p di $SG0 2>&1)" "NAA"
expect_match "VPD device id: T10 vendor id" "$(sg_vpd -p di $SG0 2>&1)" "vendor id: RSCST"
cap=$(sg_readcap -l $SG0 2>&1)
expect_match "READ CAPACITY(16) blocks" "$cap" "Last LBA=524287"
expect_match "READ CAPACITY(16) block size" "$cap" "Logical block length=512 bytes"
expect_match "READ CAPACITY nullio 4096" "$(sg_readcap -l $SG1 2>&1)" "Logical block length=4096 bytes"
expect_match "REPORT LUNS lists 0 and 1" "$(sg_luns $SG0 2>&1)" "Lun list length = 16"

# Data through sd.
dd if=/dev/urandom of=/tmp/pattern bs=1M count=4 2>/dev/null
check "write 4 MiB" dd if=/tmp/pattern of=$SD0 bs=1M oflag=direct 2>/dev/null
check "read back equals written" cmp -n 4194304 /tmp/pattern $SD0
check "backing file holds the data" cmp -n 4194304 /tmp/pattern /root/disk1.img

finish
