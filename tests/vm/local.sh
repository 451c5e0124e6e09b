#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# VM suite "local": rscst_local + vdisk handlers driven by the Linux SCSI
# initiator (sd, sg) and sg3_utils, fio and ext4 on the exported LUNs.
# timeout: 3000
# lines: lab debian-7.2
. "$(dirname "$0")/lib.sh"

check "modules load" load_rscst
expect_eq "version file: SCST's format (release first), rscst's own version after" "$(cat $SCST/version)" "3.7.0
rscst 0.1.0"
check "handlers registered" test -f $SCST/handlers/vdisk_fileio/mgmt -a -f $SCST/handlers/vdisk_nullio/mgmt
check "scst_local driver registered" test -f $SCST/targets/scst_local/mgmt
expect_match "handler mgmt prints help" "$(cat $SCST/handlers/vdisk_fileio/mgmt)" "add_device device_name"

# Devices.
truncate -s 256M /root/disk1.img
check "add fileio device" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device disk1 filename=/root/disk1.img; blocksize=512"
check "add nullio device" mgmt $SCST/handlers/vdisk_nullio/mgmt "add_device null1 size_mb=1024; blocksize=4096; read_zero=1"
expect_eq "fileio size attr" "$(cat $SCST/devices/disk1/size)" "268435456"
expect_eq "fileio filename attr (a key attribute)" "$(cat $SCST/devices/disk1/filename)" "/root/disk1.img
[key]"
expect_eq "default blocksize is not a key" "$(cat $SCST/devices/disk1/blocksize)" "512"
expect_eq "nullio blocksize attr (non-default: key)" "$(cat $SCST/devices/null1/blocksize)" "4096
[key]"
expect_eq "nullio default size (1 GiB) is not a key" "$(cat $SCST/devices/null1/size)" "1073741824"
expect_eq "device handler link" "$(basename "$(readlink $SCST/devices/disk1/handler)")" "vdisk_fileio"

# Target, LUNs, session.
check "add target" mgmt $SCST/targets/scst_local/mgmt "add_target t1"
check "add LUN 0" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add disk1 0"
check "add LUN 1" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add null1 1"
check "add session" mgmt $SCST/targets/scst_local/mgmt "add_session t1 s1"
H=$(local_host)
check "LUN 0 appears as sd" wait_for 10 has_sd $H 0
check "LUN 1 appears as sd" wait_for 10 has_sd $H 1
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
# sg3-utils 1.46 says "Unit serial number", 1.48 "Product serial number".
expect_match "VPD serial number" "$(sg_vpd -p sn $SG0 2>&1)" "serial number: $usn"
expect_match "VPD device id: NAA" "$(sg_vpd -p di $SG0 2>&1)" "NAA"
expect_match "VPD device id: T10 vendor id" "$(sg_vpd -p di $SG0 2>&1)" "vendor id: RSCST"
expect_match "VPD extended inquiry data: HEAD OF QUEUE, ORDERED and SIMPLE supported" "$(sg_vpd -p ei $SG0 2>&1)" "HEADSUP=1 ORDSUP=1 SIMPSUP=1"
cap=$(sg_readcap -l $SG0 2>&1)
expect_match "READ CAPACITY(16) blocks" "$cap" "Last LBA=524287"
expect_match "READ CAPACITY(16) block size" "$cap" "Logical block length=512 bytes"
expect_match "READ CAPACITY nullio 4096" "$(sg_readcap -l $SG1 2>&1)" "Logical block length=4096 bytes"
# rscst_local's hosts get a hardware queue per online CPU (at most 16), so
# sd has no I/O scheduler, and vdisk_nullio (EXEC_ATOMIC) executes and
# completes inside queuecommand on every submitting CPU at once.
nq=$(nproc)
[ "$nq" -gt 16 ] && nq=16
expect_eq "LUN 1 has one hardware queue per online CPU ($nq)" "$(ls /sys/block/${SD1#/dev/}/mq | wc -l)" "$nq"
expect_match "LUN 1 has no I/O scheduler" "$(cat /sys/block/${SD1#/dev/}/queue/scheduler)" "\\[none\\]"
inline=$(fio --name=inline --filename=$SD1 --rw=randread --bs=4k --iodepth=32 --numjobs=2 --ioengine=libaio \
	--direct=1 --size=256M --io_size=8M --group_reporting --output-format=json 2>&1 |
	python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]; print(j["read"]["total_ios"], j["error"])' 2>&1)
expect_eq "nullio inline, 2 fio jobs at iodepth 32: all 4096 reads complete, no error" "$inline" "4096 0"
expect_eq "REPORT LUNS lists exactly LUNs 0 and 1" \
	"$(sg_luns $SG0 2>&1 | grep -Eo '^ +[0-9a-f]{16}$' | tr -d ' ' | tr '\n' ' ')" \
	"0000000000000000 0001000000000000 "
raw_hex() { # CDB bytes... -> the data received through $SG0, in hex
	rm -f /tmp/raw.bin
	sg_raw -r 64 -o /tmp/raw.bin $SG0 "$@" >/dev/null 2>&1
	od -An -v -tx1 /tmp/raw.bin 2>/dev/null | tr -d ' \n'
}
report_luns_hex() { raw_hex a0 00 "$1" 00 00 00 00 00 00 40 00 00; } # SELECT-REPORT-BYTE
# SELECT REPORT: 2 (all) and 11h (administrative LUs and those in no
# conglomerate) list both; rscst has no well-known (1) and no administrative
# (10h) logical units; 12h asks for an administrative unit's conglomerate,
# and LUN 0 is no administrative unit.
expect_eq "REPORT LUNS SELECT REPORT 2 (all) lists exactly LUNs 0 and 1" "$(report_luns_hex 02)" \
	"000000100000000000000000000000000001000000000000"
expect_eq "REPORT LUNS SELECT REPORT 11h (no conglomerates) lists exactly LUNs 0 and 1" "$(report_luns_hex 11)" \
	"000000100000000000000000000000000001000000000000"
expect_eq "REPORT LUNS SELECT REPORT 1 (well-known LUs only) lists none" "$(report_luns_hex 01)" "0000000000000000"
expect_eq "REPORT LUNS SELECT REPORT 10h (administrative LUs only) lists none" "$(report_luns_hex 10)" "0000000000000000"
raw=$(sg_raw -r 64 $SG0 a0 00 12 00 00 00 00 00 00 40 00 00 2>&1)
expect_match "REPORT LUNS SELECT REPORT 12h: ILLEGAL REQUEST" "$raw" "Illegal Request"
expect_match "REPORT LUNS SELECT REPORT 12h: INVALID FIELD IN CDB" "$raw" "Invalid field in cdb"

# Data through sd.
dd if=/dev/urandom of=/tmp/pattern bs=1M count=4 2>/dev/null
check "write 4 MiB" dd if=/tmp/pattern of=$SD0 bs=1M oflag=direct 2>/dev/null
check "read back equals written" cmp -n 4194304 /tmp/pattern $SD0
check "backing file holds the data" cmp -n 4194304 /tmp/pattern /root/disk1.img


# Management errors: the write fails, the reason is readable, nothing changes.
check_fails "unknown mgmt command is refused" mgmt $SCST/handlers/vdisk_fileio/mgmt "frobnicate disk9"
expect_match "last_sysfs_mgmt_res has errno and reason" "$(cat $SCST/last_sysfs_mgmt_res)" "^-22"
check_fails "unknown device parameter is refused" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device disk9 filename=/root/disk1.img; colour=blue"
expect_match "reason names the parameter" "$(cat $SCST/last_sysfs_mgmt_res)" "colour"
check "refused device was not created" test ! -e $SCST/devices/disk9
check_fails "duplicate device is refused" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device disk1 filename=/root/disk1.img"
check_fails "a /proc file as backing store is refused" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device disk9 filename=/proc/self/mem"
expect_match "the refusal says why" "$(cat $SCST/last_sysfs_mgmt_res)" "/proc/self/mem cannot back a disk"
check_fails "an rscst mgmt file as backing store is refused" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device disk9 filename=$SCST/handlers/vdisk_nullio/mgmt"
expect_match "that refusal says why too" "$(cat $SCST/last_sysfs_mgmt_res)" "cannot back a disk"
check_fails "missing backing file is refused" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device disk9 filename=/nonexistent"
check_fails "deleting an exported device is refused" mgmt $SCST/handlers/vdisk_fileio/mgmt "del_device disk1"
expect_match "EBUSY reported" "$(cat $SCST/last_sysfs_mgmt_res)" "^-16"
check_fails "duplicate LUN is refused" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add null1 0"
check_fails "LUN of unknown device is refused" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add nosuch 7"
check_fails "malformed LUN number is refused" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add null1 x7"
check "good command resets last_sysfs_mgmt_res" sh -c "echo 'add_device null9 size_mb=8' >$SCST/handlers/vdisk_nullio/mgmt && test \"\$(cat $SCST/last_sysfs_mgmt_res)\" = 0"
expect_eq "nullio non-default size is a key (saved configurations keep it)" "$(cat $SCST/devices/null9/size)" "8388608
[key]"
check "del_device works" mgmt $SCST/handlers/vdisk_nullio/mgmt "del_device null9"

head -c 512 /dev/zero >/tmp/zero512

# Exact sense data.
raw=$(sg_raw -r 512 $SG0 ee 00 00 00 00 00 00 00 00 00 2>&1)
expect_match "unsupported opcode: ILLEGAL REQUEST" "$raw" "Illegal Request"
expect_match "unsupported opcode: INVALID COMMAND OPERATION CODE" "$raw" "Invalid command operation code"
raw=$(sg_raw -r 512 $SG0 88 00 00 00 00 00 00 08 00 00 00 00 00 01 00 00 2>&1)
expect_match "READ(16) past the end: LBA OUT OF RANGE" "$raw" "Logical block address out of range"
raw=$(sg_raw -r 512 $SG0 28 00 00 07 ff ff 00 00 01 00 2>&1)
expect_match "READ(10) of the last block succeeds" "$raw" "SCSI Status: Good"
raw=$(sg_raw -r 96 $SG0 03 00 00 00 60 00 2>&1)
expect_match "REQUEST SENSE answers" "$raw" "SCSI Status: Good"

check "SYNCHRONIZE CACHE" sg_sync $SG0

# REPORT SUPPORTED OPERATION CODES, all commands with timeouts (RCTD=1): the
# whole list (over 512 bytes) comes back, as long as its own length field says.
sg_raw -r 4096 -o /tmp/rsoc.bin $SG0 a3 0c 80 00 00 00 00 00 10 00 00 00 >/tmp/rsoc.log 2>&1
rsoc_len=$(stat -c %s /tmp/rsoc.bin 2>/dev/null || echo 0)
rsoc_field=$(( $(od -An -tu1 -N4 /tmp/rsoc.bin 2>/dev/null | awk '{print ($1*16777216)+($2*65536)+($3*256)+$4}') + 4 ))
check "RSOC with RCTD answers more than 512 bytes ($rsoc_len)" test "$rsoc_len" -gt 512
expect_eq "RSOC with RCTD: every byte its COMMAND DATA LENGTH announces arrives" "$rsoc_len" "$rsoc_field"

# REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS: ABORT TASK, ABORT TASK SET,
# CLEAR ACA, CLEAR TASK SET, LOGICAL UNIT RESET, QUERY TASK, QUERY ASYNCHRONOUS EVENT,
# QUERY TASK SET and I_T NEXUS RESET, in the basic and
# the extended (REPD) format; RSOC lists the command.
expect_eq "REPORT SUPPORTED TMFs: ATS, ATSS, CACAS, CTSS, LURS, QTS, QAES, QTSS and ITNRS" "$(raw_hex a3 0d 00 00 00 00 00 00 00 40 00 00)" "fc070000"
expect_eq "REPORT SUPPORTED TMFs with REPD: the 16-byte format, no timeouts" \
	"$(raw_hex a3 0d 80 00 00 00 00 00 00 40 00 00)" "fc07000c000000000000000000000000"
raw=$(sg_raw -r 64 $SG0 a3 0d 00 00 00 00 00 00 00 03 00 00 2>&1)
expect_match "REPORT SUPPORTED TMFs with an allocation length of 3: INVALID FIELD IN CDB" "$raw" "Invalid field in cdb"
expect_eq "RSOC of MAINTENANCE IN 0Dh: supported, with its CDB usage data" \
	"$(raw_hex a3 0c 02 a3 00 0d 00 00 00 40 00 00)" "0003000ca30d80000000ffffffff0004"

# Residuals: GOOD without data leaves the whole buffer residual; a READ
# longer than the buffer (residual overflow) transfers the blocks that fit.
expect_match "TEST UNIT READY with a 512-byte buffer: no data received" "$(sg_raw -r 512 $SG0 00 00 00 00 00 00 2>&1)" "No data received"
raw=$(sg_raw -r 512 -o /tmp/ovf.bin $SG0 28 00 00 00 00 00 00 00 02 00 2>&1)
expect_match "READ(10) of 2 blocks into a 1-block buffer: GOOD" "$raw" "SCSI Status: Good"
expect_match "READ(10) of 2 blocks into a 1-block buffer: the block that fits arrives" "$raw" "Writing 512 bytes"
check "READ(10) overflow: the block is block 0's data" cmp /tmp/ovf.bin <(dd if=$SD0 bs=512 count=1 iflag=direct status=none)
raw=$(sg_raw -r 100 $SG0 28 00 00 00 00 00 00 00 01 00 2>&1)
expect_match "READ(10) into a buffer ending inside a block: INVALID FIELD IN CDB" "$raw" "Invalid field in cdb"

# A data-in CDB with a to-device buffer is refused, not written into.
raw=$(sg_raw -s 512 -i /tmp/zero512 $SG0 28 00 00 00 00 00 00 00 01 00 2>&1)
expect_match "READ(10) with a data-out buffer: INVALID FIELD IN CDB" "$raw" "Invalid field in cdb"

# A read-only LUN.
check "add read-only LUN 3" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add disk1 3 read_only=1"
check "read-only LUN appears" wait_for 10 has_sg $H 3
SG3=/dev/$(sg_of $H 3)
raw=$(sg_raw -s 512 -i /tmp/zero512 $SG3 2a 00 00 00 00 00 00 00 01 00 2>&1)
expect_match "write to read-only LUN: DATA PROTECT" "$raw" "Sense key: Data Protect"
expect_match "write to read-only LUN: WRITE PROTECTED" "$raw" "Write protected"
check "remove LUN 3" mgmt $SCST/targets/scst_local/t1/luns/mgmt "del 3"
check "removed LUN disappears" wait_for 10 no_sg $H 3

# LUN numbers of 256 and above (flat space addressing): Linux sees flat LUN
# 300 as 0x412c = 16684 after its REPORT LUNS scan.
check "add LUN 300" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add null1 300"
check "LUN 300 appears (Linux LUN 16684)" wait_for 10 has_sd $H 16684
expect_match "LUN 300 answers INQUIRY" "$(sg_inq /dev/$(sg_of $H 16684) 2>&1)" "Product identification: null1"
expect_match "REPORT LUNS lists LUN 300 in flat space format" "$(sg_luns $SG0 2>&1)" "412c000000000000"
check "LUN 300 reads" dd if=/dev/$(sd_of $H 16684) of=/dev/null bs=4k count=16 iflag=direct status=none
check "remove LUN 300" mgmt $SCST/targets/scst_local/t1/luns/mgmt "del 300"
check "LUN 300 disappears" wait_for 10 no_sg $H 16684

# A filesystem survives unmount and remount; the backing file holds it.
check "mkfs.ext4" mkfs.ext4 -q -F $SD0
mkdir -p /mnt/t
check "mount" mount $SD0 /mnt/t
for i in 1 2 3; do dd if=/dev/urandom of=/mnt/t/f$i bs=1M count=8 status=none; done
(cd /mnt/t && sha256sum f1 f2 f3) >/tmp/sums
check "rmmod rscst_local refused while mounted" sh -c '! rmmod rscst_local 2>/dev/null'
check "rmmod rscst refused while in use" sh -c '! rmmod rscst 2>/dev/null'
check "LUN still works after refused rmmod" sh -c "cd /mnt/t && sha256sum -c /tmp/sums"
check "umount" umount /mnt/t
check "remount" mount $SD0 /mnt/t
check "checksums match after remount" sh -c "cd /mnt/t && sha256sum -c /tmp/sums"
check "umount again" umount /mnt/t
check "device bytes equal backing file" cmp $SD0 /root/disk1.img

# fio with verification; resets during I/O.
fio_verify() { # NAME DEVICE EXTRA...
	local name=$1 dev=$2
	shift 2
	fio --name="$name" --filename="$dev" --rw=randwrite --bs=4k --iodepth=32 --numjobs=2 \
		--ioengine=libaio --direct=1 --size=16M --offset_increment=64M --verify=crc32c \
		--verify_fatal=1 --group_reporting "$@" >/tmp/fio-$name.log 2>&1
}
check "fio randwrite + crc32c verify (iodepth 32, 2 jobs)" fio_verify plain $SD0 --size=2M

# tmf_during_io NAME FUNCTION SG_RESET_FLAG LOG: starts a fio run of its
# own, issues the reset while fio has commands in the core, shows that fio
# was still running after it, and fio's crc32c verify then proves nothing was
# lost. Each run lasts 20 s whatever the kernel's speed, verifying as it
# writes (a backlog of 64 blocks): a run shared by two resets, or one of a
# fixed number of loops, now and then ended before its reset, on Debian's
# fast kernel and on slow machines alike.
# How many commands a TMF meets here depends on timing (a command lives in
# the core for about a millisecond), so the count is printed, not checked:
# the checks with a READ held by a suspended device (below) prove
# deterministically that ABORT TASK, LUN RESET and TARGET RESET abort a
# command in flight.
session_busy() { test "$(cat $SCST/targets/scst_local/$1/sessions/$2/active_commands 2>/dev/null || echo 0)" -gt 0; }
running() { [ -e /proc/$1/stat ] && [ "$(cut -d' ' -f3 /proc/$1/stat)" != Z ]; }
tmf_during_io() {
	local name=$1 fn=$2 flag=$3 log=$4 n fio
	fio_verify "$log" $SD0 --time_based --runtime=20 --verify_backlog=64 &
	fio=$!
	check "$name: fio has commands in flight" wait_for 30 session_busy t1 s1
	kmsg_mark tmf
	check "$name: sg_reset $flag during fio" sg_reset "$flag" $SD0
	check "$name: fio still running after the reset" running $fio
	n=$(since_mark tmf | sed -n "s/.*rscst: TMF $fn .*: aborted \([0-9]*\)$/\1/p" | sort -n | tail -1)
	echo "    # $name: the TMF aborted ${n:-no} commands"
	wait_bg "fio verify passes across the $name" $fio /tmp/fio-$log.log
}
tmf_during_io "LUN reset" 4 -d reset_d
tmf_during_io "second LUN reset" 4 -d reset_d2
tmf_during_io "target reset" 5 -t reset_t
tmf_during_io "host reset" 5 -H reset_h

# LUN add and remove while another LUN is busy (a 45-second fio run that
# outlasts both changes: on the KASAN kernel beside the Debian line's
# preparation they took over 20 s).
check "add nullio device null2" mgmt $SCST/handlers/vdisk_nullio/mgmt "add_device null2 size_mb=64"
fio_verify busy $SD0 --time_based --runtime=45 --verify_backlog=64 &
FIO=$!
check "the busy LUN has commands in flight" wait_for 30 session_busy t1 s1
check "add LUN 2 under load" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add null2 2"
check "LUN 2 appears without rescan" wait_for 10 has_sd $H 2
check "I/O to the new LUN" dd if=/dev/$(sd_of $H 2) of=/dev/null bs=1M count=8 iflag=direct status=none
check "remove LUN 2 under load" mgmt $SCST/targets/scst_local/t1/luns/mgmt "del 2"
check "LUN 2 disappears without rescan" wait_for 10 no_sd $H 2
check "the busy LUN's fio still running after LUN 2 came and went" running $FIO
wait_bg "busy LUN unaffected (fio verify)" $FIO /tmp/fio-busy.log
check "delete null2" mgmt $SCST/handlers/vdisk_nullio/mgmt "del_device null2"

# Access groups: initiator s2 sees only its group's LUN.
check "create group g1" mgmt $SCST/targets/scst_local/t1/ini_groups/mgmt "create g1"
check "group LUN 0 -> null1" mgmt $SCST/targets/scst_local/t1/ini_groups/g1/luns/mgmt "add null1 0"
check "initiator s2 into g1" mgmt $SCST/targets/scst_local/t1/ini_groups/g1/initiators/mgmt "add s2"
check "initiator file exists" test -f $SCST/targets/scst_local/t1/ini_groups/g1/initiators/s2
check "add session s2" mgmt $SCST/targets/scst_local/mgmt "add_session t1 s2"
H2=$(local_host)
check "s2 sees LUN 0" wait_for 10 has_sg $H2 0
expect_match "s2's LUN 0 is null1" "$(sg_inq /dev/$(sg_of $H2 0) 2>&1)" "Product identification: null1"
expect_match "s2 sees one LUN" "$(sg_luns /dev/$(sg_of $H2 0) 2>&1)" "Lun list length = 8 "
check "s2 has no LUN 1" test -z "$(sg_of $H2 1)"
expect_match "s1 still sees disk1 at LUN 0" "$(sg_inq $SG0 2>&1)" "Product identification: disk1"
check "initiator s2 leaves g1" mgmt $SCST/targets/scst_local/t1/ini_groups/g1/initiators/mgmt "del s2"
check "s2 now sees the default LUN 1" wait_for 10 has_sg $H2 1
expect_match "s2's LUN 0 is disk1 now" "$(sg_inq /dev/$(sg_of $H2 0) 2>&1)" "Product identification: disk1"
check "delete group g1" mgmt $SCST/targets/scst_local/t1/ini_groups/mgmt "del g1"
check "del_session s2" mgmt $SCST/targets/scst_local/mgmt "del_session t1 s2"
check "s2's host is gone" test ! -e /sys/class/scsi_host/host$H2

# A reset through a device node still open after its session is gone
# (O_NDELAY skips the midlayer's state checks) reaches the removed host and
# must be refused, not run on freed state (KASAN would fail the run).
check "add session s3" mgmt $SCST/targets/scst_local/mgmt "add_session t1 s3"
H3=$(local_host)
check "s3 sees LUN 0" wait_for 10 has_sd $H3 0
kmsg_mark refused
resets=$(python3 - "/dev/$(sd_of $H3 0)" "$SCST/targets/scst_local/mgmt" <<'PY' 2>&1
import errno, fcntl, os, struct, sys
dev, mgmt = sys.argv[1], sys.argv[2]
fd = os.open(dev, os.O_RDWR | os.O_NONBLOCK)
with open(mgmt, "w") as f:
    f.write("del_session t1 s3\n")
SG_SCSI_RESET = 0x2284
NO_ESCALATE = 0x100  # one handler each, no escalation to the next level
for name, what in (("device", 1), ("target", 4), ("host", 3)):
    what |= NO_ESCALATE
    try:
        fcntl.ioctl(fd, SG_SCSI_RESET, struct.pack("i", what))
        print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
os.close(fd)
PY
)
expect_eq "device, target and host reset after del_session fail with EIO" "$(echo $resets)" "device EIO target EIO host EIO"
expect_eq "each reached the removed host's handler, which refused it" \
	"$(since_mark refused | grep -c "reset on a removed host refused")" "3"
check "s3's host is gone" test ! -e /sys/class/scsi_host/host$H3

# del_session while fio keeps commands in flight: rscst_local's host
# removal waits for them, the session goes, the target's other session and
# LUNs are untouched. (The core's own drain of commands still tracked at
# unregistration needs a fabric that unregisters first: KUnit, later.)
check "add session s4" mgmt $SCST/targets/scst_local/mgmt "add_session t1 s4"
H4=$(local_host)
check "s4 sees LUN 0" wait_for 10 has_sd $H4 0
fio --name=s4 --filename=/dev/$(sd_of $H4 0) --rw=randread --bs=4k --iodepth=32 --ioengine=libaio \
	--direct=1 --time_based --runtime=60 >/tmp/fio-s4.log 2>&1 &
FIO=$!
check "s4 has commands in flight" wait_for 30 session_busy t1 s4
check "del_session s4 under I/O" mgmt $SCST/targets/scst_local/mgmt "del_session t1 s4"
check "s4's session directory is gone" test ! -e $SCST/targets/scst_local/t1/sessions/s4
wait $FIO 2>/dev/null
check "s4's host is gone" test ! -e /sys/class/scsi_host/host$H4
expect_match "LUN 0 still serves s1 after s4 went" "$(sg_inq $SG0 2>&1)" "Product identification: disk1"

# A block device node as backing store (scsi_debug's disk).
check "scsi_debug loads" modprobe scsi_debug dev_size_mb=32
SDBG=""
for d in /sys/bus/scsi/devices/*; do
	[ "$(cat $d/model 2>/dev/null | tr -d ' ')" = scsi_debug ] && SDBG=/dev/$(ls $d/block | head -1)
done
check "scsi_debug disk found" test -b "$SDBG"
check "fileio on a block device" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device bdev1 filename=$SDBG"
expect_eq "block device size" "$(cat $SCST/devices/bdev1/size)" "33554432"
check "export bdev1 as LUN 4" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add bdev1 4"
check "LUN 4 appears" wait_for 10 has_sd $H 4
dd if=/dev/urandom of=/tmp/p2 bs=64k count=16 status=none
check "write through to the block device" dd if=/tmp/p2 of=/dev/$(sd_of $H 4) bs=64k oflag=direct status=none
check "block device holds the data" cmp -n 1048576 /tmp/p2 $SDBG
check "unexport LUN 4" mgmt $SCST/targets/scst_local/t1/luns/mgmt "del 4"
check "del_device bdev1" mgmt $SCST/handlers/vdisk_fileio/mgmt "del_device bdev1"
check "scsi_debug unloads" rmmod scsi_debug

# ABORT TASK from the SCSI error handler: a READ that times out because its
# backing device (device-mapper over a loop device) is suspended.
dd if=/dev/urandom of=/root/hang.img bs=1M count=16 status=none
LOOP=$(losetup -f --show /root/hang.img)
check "dm device over a loop device" dmsetup create hang --table "0 32768 linear $LOOP 0"
# No udev in the guest: dmsetup makes /dev/mapper/hang itself.
check "its /dev/mapper node" sh -c "dmsetup mknodes hang && test -b /dev/mapper/hang"
check "fileio on the dm device" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device hang1 filename=/dev/mapper/hang"
check "export hang1 as LUN 5" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add hang1 5"
check "LUN 5 appears" wait_for 10 has_sd $H 5
SDH=/dev/$(sd_of $H 5)
echo 4 >/sys/bus/scsi/devices/$H:0:0:5/timeout
tmf_received() { since_mark "$1" | grep -q "rscst: TMF $2 lun 5 .*: received"; }
kmsg_mark abort
check "suspend the dm device" dmsetup suspend hang
# 8 MiB in: never read before, so the page cache cannot answer it.
dd if=$SDH of=/tmp/hang-read bs=4k skip=2048 count=1 iflag=direct status=none &
DD=$!
check "the timed-out READ reaches the core as ABORT TASK" wait_for 60 tmf_received abort 1
check "the READ is still held by the suspended device" kill -0 $DD
expect_eq "the session counts the READ in flight" "$(cat $SCST/targets/scst_local/t1/sessions/s1/active_commands)" "1"
check "resume the dm device" dmsetup resume hang
wait_bg "the READ completes after the abort (sd retries it)" $DD /dev/null
n=$(since_mark abort | grep -c "rscst: TMF 1 lun 5 .*: aborted 1$" || true)
expect_match "ABORT TASK aborted the one timed-out command" "$n" "^[1-9]"
check "retried READ returns the device's data" cmp /tmp/hang-read <(dd if=/root/hang.img bs=4k skip=2048 count=1 status=none)

# reset_holding_read NAME FUNCTION FLAG BLOCK [CMD...]: suspends the dm
# device, READs 4 KiB block BLOCK of LUN 5 (held in the core), issues
# `sg_reset FLAG`, which must reach the core as TMF FUNCTION and wait for the
# held READ (running CMD meanwhile, as a check), then resumes the device:
# the TMF aborted exactly the READ, and sd's retry returns the device's data.
reset_holding_read() {
	local name=$1 fn=$2 flag=$3 block=$4 dd rst
	shift 4
	echo 60 >/sys/bus/scsi/devices/$H:0:0:5/timeout
	check "$name: suspend the dm device" dmsetup suspend hang
	dd if=$SDH of=/tmp/held-read bs=4k skip=$block count=1 iflag=direct status=none &
	dd=$!
	check "$name: the READ is held in the core" wait_for 30 session_busy t1 s1
	kmsg_mark held
	sg_reset "$flag" $SDH >/tmp/held-reset.log 2>&1 &
	rst=$!
	held_received() { since_mark held | grep -q "rscst: TMF $fn lun [0-9]* .*: received"; }
	check "$name reaches the core while the READ is held" wait_for 60 held_received
	[ $# -gt 0 ] && "$@"
	check "$name waits for the held READ" kill -0 $rst
	check "$name: resume the dm device" dmsetup resume hang
	wait_bg "$name completes after the resume" $rst /tmp/held-reset.log
	expect_eq "$name aborted the held READ" \
		"$(since_mark held | sed -n "s/.*rscst: TMF $fn lun [0-9]* .*: aborted \([0-9]*\)$/\1/p")" "1"
	wait_bg "$name: the held READ completes (sd retries it)" $dd /dev/null
	check "$name: the READ returns the device's data" \
		cmp /tmp/held-read <(dd if=/root/hang.img bs=4k skip=$block count=1 status=none)
}
# A TARGET RESET waiting for the held READ does not hold the target's
# session lock: a new session on the same target registers meanwhile.
reset_holding_read "TARGET RESET" 5 -t 3072 \
	check "add_session on the same target completes while the TARGET RESET waits" \
	timeout 30 sh -c "echo 'add_session t1 s5' >$SCST/targets/scst_local/mgmt"
check "del_session s5" mgmt $SCST/targets/scst_local/mgmt "del_session t1 s5"
reset_holding_read "LUN RESET" 4 -d 3584

# A hung backing store stalls only its own LUN. 48 READs of LUN 5 wait on
# the suspended dm device (more than its device queue runs at once, so the
# queue itself is full); LUN 0 of the same target, reached through session s6
# (a SCSI host of its own: LUN 5's host is not involved), keeps doing fio
# verify at its usual rate; a TARGET RESET submitted meanwhile takes effect
# at once and waits for the held READs without holding anything up; after
# the resume everything drains and LUN 5's data verifies.
check "add session s6" mgmt $SCST/targets/scst_local/mgmt "add_session t1 s6"
H6=$(local_host)
check "s6 sees LUN 0" wait_for 10 has_sd $H6 0
SD6=/dev/$(sd_of $H6 0)
elapsed_ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
t0=$(date +%s%N)
# 4 MiB of verified writes (2 MiB per job): the TARGET RESET below waits
# for the whole fio job, and must stay well under the core's one-minute
# "still held" warning, which the lab counts as a failure (with 4 MiB per
# job, a machine that took 38.7 s alone took 63.5 s beside the hang).
check "fio verify on LUN 0 through s6 (alone)" fio_verify iso_alone $SD6 --size=2M
alone_ms=$(elapsed_ms $t0)
echo 600 >/sys/bus/scsi/devices/$H:0:0:5/timeout
hang_fio() { # fio over LUN 5's first 8 MiB with crc32c headers
	fio --name=hang --filename=$SDH --bs=4k --size=8M --ioengine=libaio --direct=1 \
		--verify=crc32c --verify_fatal=1 "$@"
}
check "write a verifiable pattern to LUN 5" hang_fio --rw=randwrite --iodepth=16 --do_verify=0 \
	--output=/tmp/fio-hang-write.log
# fileio reads the dm device through its page cache: empty it, so that the
# READs reach the suspended device.
check "drop the page cache" sh -c "sync && echo 3 >/proc/sys/vm/drop_caches"
check "suspend the dm device" dmsetup suspend hang
hang_fio --rw=randread --iodepth=48 --verify_only --output=/tmp/fio-hang-read.log &
HFIO=$!
held_48() { test "$(cat $SCST/targets/scst_local/t1/sessions/s1/active_commands)" -ge 48; }
check "48 READs of LUN 5 are held by the suspended device" wait_for 60 held_48
held=$(cat $SCST/targets/scst_local/t1/sessions/s1/active_commands)
# A busy kworker's name ends in "+<workqueue>": the held READs block all 32
# threads of hang1's own queue (the rest wait in it), none of another queue.
dev_workers() { cat /proc/[0-9]*/comm 2>/dev/null | grep -c "+rscst_$1\$"; }
hang1_full() { test "$(dev_workers hang1)" -eq 32; }
check "the held READs fill hang1's own queue: its 32 threads are all busy" wait_for 30 hang1_full
expect_eq "no thread of the shared queue holds one of them" "$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '+rscst_wq$')" "0"
kmsg_mark iso
sg_reset -t $SDH >/tmp/iso-reset.log 2>&1 &
RST=$!
iso_received() { since_mark iso | grep -q "rscst: TMF 5 lun [0-9]* .*: received"; }
check "TARGET RESET reaches the core while LUN 5 hangs" wait_for 60 iso_received
t0=$(date +%s%N)
check "fio verify on LUN 0 through s6 while LUN 5 hangs and the reset waits" fio_verify iso_hung $SD6 --size=2M
hung_ms=$(elapsed_ms $t0)
echo "    # fio verify on LUN 0: $alone_ms ms alone, $hung_ms ms while LUN 5 hangs"
# Twice as long, plus 5 s for what does not grow with the job (with 32 MiB
# jobs, Debian's kernel took 2.5 s alone and 3 to 7 s beside the hang, with
# the code of efcf207 as with later code). A LUN 0 stalled by LUN 5 would
# not finish before the resume at all.
check "LUN 0 keeps its rate beside the hang (fio takes at most twice as long, plus 5 s)" \
	test "$hung_ms" -le $((2 * alone_ms + 5000))
check "LUN 5's READs are still held" kill -0 $HFIO
check "the TARGET RESET still waits for them" kill -0 $RST
check "resume the dm device" dmsetup resume hang
wait_bg "the TARGET RESET completes after the resume" $RST /tmp/iso-reset.log
expect_eq "the TARGET RESET aborted exactly the $held held READs" \
	"$(since_mark iso | sed -n "s/.*rscst: TMF 5 lun [0-9]* .*: aborted \([0-9]*\)$/\1/p")" "$held"
wait_bg "LUN 5's READs complete and verify (sd retried the aborted ones)" $HFIO /tmp/fio-hang-read.log
check "del_session s6" mgmt $SCST/targets/scst_local/mgmt "del_session t1 s6"
check "unexport LUN 5" mgmt $SCST/targets/scst_local/t1/luns/mgmt "del 5"
check "del_device hang1" mgmt $SCST/handlers/vdisk_fileio/mgmt "del_device hang1"
check "remove the dm device" dmsetup remove hang
losetup -d $LOOP

# Copy mode: data through the core's SGV buffers, as a network fabric does.
check "add target with zero_copy=0" mgmt $SCST/targets/scst_local/mgmt "add_target tc zero_copy=0"
truncate -s 128M /root/disk2.img
check "add fileio device disk2" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device disk2 filename=/root/disk2.img; blocksize=4096"
check "export disk2 on tc" mgmt $SCST/targets/scst_local/tc/luns/mgmt "add disk2 0"
check "add session c1" mgmt $SCST/targets/scst_local/mgmt "add_session tc c1"
HC=$(local_host)
check "copy-mode LUN appears" wait_for 10 has_sd $HC 0
SDC=/dev/$(sd_of $HC 0)
expect_match "copy-mode INQUIRY" "$(sg_inq /dev/$(sg_of $HC 0) 2>&1)" "Product identification: disk2"
check "copy-mode fio verify" fio --name=copy --filename=$SDC --rw=randwrite --bs=4k --bsrange=4k-256k --iodepth=16 \
	--ioengine=libaio --direct=1 --size=32M --verify=crc32c --verify_fatal=1
dd if=/dev/urandom of=/tmp/big bs=8M count=1 status=none
echo 8192 >/sys/block/${SDC#/dev/}/queue/max_sectors_kb
expect_eq "sd accepts 8 MiB requests (the maximum transfer length)" "$(cat /sys/block/${SDC#/dev/}/queue/max_sectors_kb)" "8192"
C1=$SCST/targets/scst_local/tc/sessions/c1
w0=$(cat $C1/write_cmd_count)
check "copy mode: an 8 MiB WRITE (its buffer allocated in a core thread)" dd if=/tmp/big of=$SDC bs=8M count=1 oflag=direct status=none
expect_eq "the 8 MiB WRITE was one command" "$(( $(cat $C1/write_cmd_count) - w0 ))" "1"
r0=$(cat $C1/read_cmd_count)
check "copy mode: an 8 MiB READ returns it" cmp /tmp/big <(dd if=$SDC bs=8M count=1 iflag=direct status=none)
expect_eq "the 8 MiB READ was one command" "$(( $(cat $C1/read_cmd_count) - r0 ))" "1"
raw=$(sg_raw -r 4096 /dev/$(sg_of $HC 0) 88 00 00 00 00 00 00 00 00 00 00 00 08 00 00 00 2>&1)
expect_match "READ(16) of the maximum transfer length (2048 x 4 KiB) into one block: GOOD (overflow)" "$raw" "SCSI Status: Good"
raw=$(sg_raw -r 4096 /dev/$(sg_of $HC 0) 88 00 00 00 00 00 00 00 00 00 00 00 08 01 00 00 2>&1)
expect_match "READ(16) beyond the maximum transfer length (2049 x 4 KiB): INVALID FIELD IN CDB" "$raw" "Invalid field in cdb"
expect_match "VPD B0h reports the maximum transfer length (8 MiB in 4 KiB blocks)" \
	"$(sg_vpd -p bl /dev/$(sg_of $HC 0) 2>&1)" "Maximum transfer length: (2048 blocks|0x800\\b)"
check "copy-mode data reached the file" sh -c "dd if=$SDC bs=1M count=64 status=none | cmp - /root/disk2.img -n 67108864"
check "nullio device null3 (read_zero=0)" mgmt $SCST/handlers/vdisk_nullio/mgmt "add_device null3 size_mb=16"
check "copy-mode nullio LUN" mgmt $SCST/targets/scst_local/tc/luns/mgmt "add null3 1"
check "copy-mode LUN 1 appears" wait_for 10 has_sd $HC 1
check "recycled buffers never leak earlier data (reads are zeros)" sh -c "dd if=/dev/$(sd_of $HC 1) bs=64k count=64 iflag=direct status=none | cmp - /dev/zero -n 4194304"
raw=$(sg_raw -r 512 /dev/$(sg_of $HC 0) a0 00 00 00 00 00 ff ff ff ff 00 00 2>&1)
expect_match "REPORT LUNS with a 4 GiB allocation length answers from the real buffer" "$raw" "SCSI Status: Good"
check "unexport copy-mode LUN 1" mgmt $SCST/targets/scst_local/tc/luns/mgmt "del 1"
check "del_device null3" mgmt $SCST/handlers/vdisk_nullio/mgmt "del_device null3"
sgv=$(cat $SCST/sgv/global_stats)
echo "$sgv" | sed 's/^/    # /'
hits=$(echo "$sgv" | awk '$1 ~ /^[0-9]+$/ {h += $2} END {print h + 0}')
expect_match "SGV cache reuses buffers (hits > 0)" "$hits" "^[1-9][0-9]*$"
inuse=$(echo "$sgv" | awk '$1 ~ /^[0-9]+$/ {u += $5} END {print u + 0}')
expect_eq "no SGV buffer in use when idle" "$inuse" "0"
# resync_size (SCST's): the file grew; the device takes the new size and
# tells the nexus CAPACITY DATA HAS CHANGED once.
# (REPORT LUNS first: LUN 1's removal left 3F/0E pending at LUN 0.)
sg_luns /dev/$(sg_of $HC 0) >/dev/null 2>&1
truncate -s 192M /root/disk2.img
check "resync_size after the backing file grew to 192 MiB" mgmt $SCST/devices/disk2/resync_size 1
expect_eq "the device's size is the file's" "$(head -1 $SCST/devices/disk2/size)" "201326592"
expect_match "the nexus's next command: CAPACITY DATA HAS CHANGED (06/2A/09)" \
	"$(sg_raw /dev/$(sg_of $HC 0) 00 00 00 00 00 00 2>&1)" "Capacity data has changed"
expect_match "READ CAPACITY(16) reports the new last block (49151 of 4 KiB)" "$(sg_readcap -l /dev/$(sg_of $HC 0) 2>&1)" "Last LBA=49151"
check "resync_size with the size unchanged" mgmt $SCST/devices/disk2/resync_size 1
expect_match "an unchanged size raises nothing: TEST UNIT READY is GOOD" "$(sg_raw /dev/$(sg_of $HC 0) 00 00 00 00 00 00 2>&1)" "SCSI Status: Good"
check "nullio has no resync_size (its size is its size_mb)" test ! -e $SCST/devices/null1/resync_size
check "del_target tc" mgmt $SCST/targets/scst_local/mgmt "del_target tc"
check "add target t3" mgmt $SCST/targets/scst_local/mgmt "add_target t3"
expect_eq "t1 holds rel_tgt_id 1" "$(cat $SCST/targets/scst_local/t1/rel_tgt_id)" "1"
expect_eq "a new target takes the lowest free rel_tgt_id (tc's 2)" "$(cat $SCST/targets/scst_local/t3/rel_tgt_id)" "2"
check "del_target t3" mgmt $SCST/targets/scst_local/mgmt "del_target t3"
check "del_device disk2" mgmt $SCST/handlers/vdisk_fileio/mgmt "del_device disk2"

# Session counters.
expect_match "session counts commands" "$(cat $SCST/targets/scst_local/t1/sessions/s1/commands)" "^[1-9][0-9]*$"
expect_match "session counts written KiB" "$(cat $SCST/targets/scst_local/t1/sessions/s1/write_io_count_kb)" "^[1-9][0-9]*$"

# Tear everything down and unload.
check "del_session s1" mgmt $SCST/targets/scst_local/mgmt "del_session t1 s1"
check "del_target t1" mgmt $SCST/targets/scst_local/mgmt "del_target t1"
check "del_device disk1" mgmt $SCST/handlers/vdisk_fileio/mgmt "del_device disk1"
check "del_device null1" mgmt $SCST/handlers/vdisk_nullio/mgmt "del_device null1"
check "rmmod all" rmmod rscst_local rscst_vdisk rscst
check "sysfs tree gone" test ! -e $SCST

finish
