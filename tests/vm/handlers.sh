#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# VM suite "handlers": the dev handlers beyond vdisk_fileio and vdisk_nullio,
# driven through rscst_local by the Linux initiator (sd, sg3_utils, fio,
# ext4). vdisk_blockio on null_blk devices that complete inline (irqmode 0),
# in softirq (1) and in hard IRQ from a timer (2), and on a scsi_debug disk
# that is then deleted underneath it. The pass-through handlers of
# rscst_disk: dev_disk on a scsi_debug disk, dev_tape on scsi_debug's tape
# (Linux 7's).
# timeout: 1500
# lines: lab debian-7.2
# make check lines: debian-7.2
# (About 6.5 minutes on the lab's KASAN kernel under TCG, where fio alone
# takes 20 s to start, and 2 on Debian's: make check runs it on Debian's.
# The core's completion paths from hard IRQ and softirq run under KASAN and
# lockdep in the kunit suite; all of this suite in make check-vm
# SUITE=handlers KERNEL=lab.)
. "$(dirname "$0")/lib.sh"

check "modules load" load_rscst
check "vdisk_blockio registered" test -f $SCST/handlers/vdisk_blockio/mgmt
expect_match "vdisk_blockio's mgmt names its parameters" "$(cat $SCST/handlers/vdisk_blockio/mgmt)" \
	"filename, blocksize, read_only, write_through, nv_cache, rotational, thin_provisioned"

# null_blk devices made through configfs, each named by its directory:
# memory-backed (data read back is data written), a volatile write cache
# with FUA (flushes and FUA writes reach the driver), discard. With irqmode
# 2 each command completes from a timer 20 ms after it started (so that
# commands are in flight whenever fio runs).
NULLB=/sys/kernel/config/nullb
check "null_blk loads with no device" modprobe null_blk nr_devices=0
nullb() { # NAME IRQMODE BLOCKSIZE [CACHE_MB]
	local d=$NULLB/$1
	mkdir $d &&
		echo 64 >$d/size && echo "$3" >$d/blocksize && echo 1 >$d/memory_backed &&
		echo "$2" >$d/irqmode && echo 20000000 >$d/completion_nsec && echo 1 >$d/discard &&
		echo "${4:-0}" >$d/cache_size && echo 1 >$d/power && wait_for 10 test -b /dev/$1
}
for m in 0 1 2; do
	check "null_blk nbi$m: irqmode $m, 64 MiB, memory-backed, a write cache" nullb nbi$m $m 512 16
done
check "null_blk nb4k: 4096-byte blocks, no write cache" nullb nb4k 1 4096
check "null_blk nbnv: irqmode 1, a write cache" nullb nbnv 1 512 16

# Refusals, each with its reason in last_sysfs_mgmt_res.
BMGMT=$SCST/handlers/vdisk_blockio/mgmt
res() { cat $SCST/last_sysfs_mgmt_res 2>&1; }
truncate -s 16M /root/plain.img
check_fails "a regular file is refused" mgmt $BMGMT "add_device bad filename=/root/plain.img"
expect_match "... because it is not a block device" "$(res)" "not a block device"
check_fails "blocksize 512 on a device of 4096-byte blocks is refused" mgmt $BMGMT "add_device bad filename=/dev/nb4k; blocksize=512"
expect_match "... because the device's blocks are larger" "$(res)" "smaller than /dev/nb4k's logical block size .4096."
check "nb4k holds a mounted ext4" sh -c "mkfs.ext4 -q /dev/nb4k && mkdir -p /mnt/m && mount /dev/nb4k /mnt/m"
check_fails "a mounted device is refused" mgmt $BMGMT "add_device bad filename=/dev/nb4k"
expect_match "... because it is in use" "$(res)" "in use"
check "nb4k unmounted" umount /mnt/m
check "the refused devices were not created" test ! -e $SCST/devices/bad

# Devices, LUNs 0 to 2 of one target, one session.
for m in 0 1; do
	check "add_device bio$m on nbi$m" mgmt $BMGMT "add_device bio$m filename=/dev/nbi$m"
done
check "add_device bio2 on nbi2, thin_provisioned=1" mgmt $BMGMT "add_device bio2 filename=/dev/nbi2; thin_provisioned=1"
check "add_device b4k on nb4k: the device's block size by default" mgmt $BMGMT "add_device b4k filename=/dev/nb4k"
expect_eq "b4k's blocksize is the device's (4096)" "$(head -1 $SCST/devices/b4k/blocksize)" "4096"
expect_eq "bio0's size is the device's" "$(head -1 $SCST/devices/bio0/size)" "67108864"
expect_eq "bio0's filename (a key attribute)" "$(cat $SCST/devices/bio0/filename)" "/dev/nbi0
[key]"
expect_eq "bio0 is not thin provisioned: null_blk has no WRITE ZEROES (found from the device: no key)" \
	"$(cat $SCST/devices/bio0/thin_provisioned)" "0"
expect_eq "bio2's thin_provisioned, given: 1 [key]" "$(cat $SCST/devices/bio2/thin_provisioned)" "1
[key]"
check "add_device nv on nbnv with nv_cache=1 and thin_provisioned=0" mgmt $BMGMT "add_device nv filename=/dev/nbnv; nv_cache=1; thin_provisioned=0"
expect_eq "nv's thin_provisioned, given: 0 [key]" "$(cat $SCST/devices/nv/thin_provisioned)" "0
[key]"
expect_eq "nv's nv_cache: 1 [key]" "$(cat $SCST/devices/nv/nv_cache)" "1
[key]"
expect_eq "device handler link" "$(basename "$(readlink $SCST/devices/bio0/handler)")" "vdisk_blockio"
excl_open() { python3 -c "import os, sys; os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)" "$1" 2>&1; }
expect_match "the device is claimed: an exclusive open of nbi0 gets EBUSY" "$(excl_open /dev/nbi0)" "Device or resource busy"
check "add target t1" mgmt $SCST/targets/scst_local/mgmt "add_target t1"
for m in 0 1 2; do
	check "add LUN $m (bio$m)" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add bio$m $m"
done
check "add LUN 3 (b4k)" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add b4k 3"
check "add LUN 5 (nv)" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add nv 5"
check "add session s1" mgmt $SCST/targets/scst_local/mgmt "add_session t1 s1"
H=$(local_host)
for l in 0 1 2 3 5; do
	check "LUN $l appears as sd" wait_for 10 has_sd $H $l
done
sd() { echo /dev/$(sd_of $H $1); }
sg() { echo /dev/$(sg_of $H $1); }
# clear_ua LUN...: the unit attentions pending for each LUN of the nexus
# (LUN inventory changes, resets), which its next commands report one by
# one, taken by TEST UNIT READY until it answers GOOD (sg_raw: trixie's
# sg_turs 1.48 left them pending here, exiting 0).
clear_ua() {
	local l i
	for l in "$@"; do
		for i in 1 2 3 4; do sg_raw $(sg $l) 00 00 00 00 00 00 >/dev/null 2>&1 && break; done
	done
}
expect_match "LUN 3 has 4096-byte blocks" "$(sg_readcap -l $(sg 3) 2>&1)" "Logical block length=4096 bytes"

# Data through each completion context.
dd if=/dev/urandom of=/tmp/pat bs=1M count=4 status=none
for m in 0 1 2; do
	check "irqmode $m: 4 MiB written through LUN $m" dd if=/tmp/pat of=$(sd $m) bs=1M oflag=direct status=none
	check "irqmode $m: the null_blk device holds them" sh -c "dd if=/dev/nbi$m bs=1M count=4 iflag=direct status=none | cmp - /tmp/pat"
	check "irqmode $m: read back through LUN $m equals written" \
		sh -c "dd if=$(sd $m) bs=1M count=4 iflag=direct status=none | cmp - /tmp/pat"
done

# A scsi_debug disk as a backing store too.
# (delay=0: it completes each command in the submitting thread; blocks of
# 4096 bytes.)
check "scsi_debug loads" modprobe scsi_debug dev_size_mb=16 delay=0 sector_size=4096
SDBG=""
for d in /sys/bus/scsi/devices/*; do
	[ "$(cat $d/model 2>/dev/null | tr -d ' ')" = scsi_debug ] && SDBG=$(ls $d/block | head -1)
done
check "scsi_debug disk found" test -b "/dev/$SDBG"
check "add_device sdbg on the scsi_debug disk" mgmt $BMGMT "add_device sdbg filename=/dev/$SDBG"
check "add LUN 4 (sdbg)" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add sdbg 4"
check "LUN 4 appears" wait_for 10 has_sd $H 4
expect_match "LUN 4 has the scsi_debug disk's 4096-byte blocks" "$(sg_readcap -l $(sg 4) 2>&1)" "Logical block length=4096 bytes"
clear_ua 0 1 2 3 4 5 # (LUN 4's arrival: REPORTED LUNS DATA HAS CHANGED)

# One 8 MiB command from a buffer 512 bytes into a page, on the LUN of
# 4096-byte blocks: its 2049 pages take several bios, each of which must
# end on a 4096-byte boundary although its pages do not. (On scsi_debug:
# null_blk's memory backing, 6.12's at least, overruns its pages on
# segments not aligned to its block size, which the block layer allows.)
echo 8192 >/sys/block/$(sd_of $H 4)/queue/max_sectors_kb
big_io() {
	python3 - "$1" <<'PY'
import mmap, os, sys
n = 8 << 20
fd = os.open(sys.argv[1], os.O_RDWR | os.O_DIRECT)
data = os.urandom(n)
out = mmap.mmap(-1, n + 4096)
out[512:512 + n] = data
assert os.pwritev(fd, [memoryview(out)[512:512 + n]], 0) == n, "short write"
back = mmap.mmap(-1, n + 4096)
assert os.preadv(fd, [memoryview(back)[512:512 + n]], 0) == n, "short read"
assert back[512:512 + n] == data, "read back differs"
open("/tmp/big", "wb").write(data)
PY
}
r0=$(awk '{print $5}' /sys/block/$(sd_of $H 4)/stat)
check "an 8 MiB O_DIRECT write and read on LUN 4 from a buffer 512 bytes into a page: read back equals written" big_io $(sd 4)
n=$(($(awk '{print $5}' /sys/block/$(sd_of $H 4)/stat) - r0))
echo "    # the 8 MiB write reached LUN 4 as $n WRITE commands"
check "... as at most 2 WRITE commands, each over a bio's 256 pages" test "$n" -ge 1 -a "$n" -le 2
check "... and the scsi_debug disk holds it" sh -c "dd if=/dev/$SDBG bs=1M count=8 iflag=direct status=none | cmp - /tmp/big"


# fio with crc32c verification at iodepth 32 on the four LUNs at once (one
# job, its I/O spread over them: fio takes 20 s to start a job on the
# lab's kernel), across a TARGET RESET issued while commands are in the
# core. Each file is verified on its own.
session_busy() { # (no fork: polled in a loop)
	local n=0
	read -r n <$SCST/targets/scst_local/t1/sessions/s1/active_commands
	[ "$n" -gt 0 ]
}
running() { [ -e /proc/$1/stat ] && [ "$(cut -d' ' -f3 /proc/$1/stat)" != Z ]; }
writes() { awk '{print $5}' /sys/block/$(sd_of $H $1)/stat; } # (field 5: writes completed)
declare -A writes_before
for l in 0 1 2 4; do writes_before[$l]=$(writes $l); done
fio --rw=randwrite --bs=4k --iodepth=32 --ioengine=libaio --direct=1 --size=32M --verify=crc32c \
	--verify_fatal=1 --verify_backlog=64 --time_based --runtime=15 --thread \
	--name=blockio --filename=$(sd 0):$(sd 1):$(sd 2):$(sd 4) >/tmp/fio-reset.log 2>&1 &
FIO=$!
check "fio on LUNs 0, 1, 2 and 4 has commands in flight" wait_for 60 session_busy
kmsg_mark reset
check "TARGET RESET (sg_reset -t) during fio" sg_reset -t $(sg 0)
check "fio still running after the reset" running $FIO
# The reset left a unit attention for each LUN of the nexus, which its
# next command reports (sd retries through those of LUNs 0-2).
clear_ua 0 1 2 3 4 5
n=$(since_mark reset | sed -n 's/.*rscst: TMF 5 .*: aborted \([0-9]*\)$/\1/p' | sort -n | tail -1)
echo "    # the TARGET RESET aborted ${n:-no} commands"
wait_bg "fio crc32c verify on irqmode 0, 1, 2 and scsi_debug passes across the TARGET RESET" $FIO /tmp/fio-reset.log
expect_match "fio wrote and verified (its job's err=0)" "$(cat /tmp/fio-reset.log)" "err= 0"
for l in 0 1 2 4; do
	check "fio wrote to LUN $l" test "$(writes $l)" -gt "${writes_before[$l]}"
done

# Flush and FUA reach the device.
flushes() { awk '{print $16}' /sys/block/$1/stat; } # (field 16: flush requests completed)
f0=$(flushes nbi1)
check "SYNCHRONIZE CACHE on LUN 1: GOOD" sg_sync $(sg 1)
expect_eq "SYNCHRONIZE CACHE reached nbi1 as one flush" "$(($(flushes nbi1) - f0))" 1
T=/sys/kernel/tracing
[ -e $T/trace ] || mount -t tracefs nodev $T
devt=$(awk -F: '{print $1 * 1048576 + $2}' /sys/block/nbi1/dev)
trace_fua() { # CMD...: the writes nbi1 was issued while CMD ran, and how many had FUA
	echo 0 >$T/tracing_on && echo >$T/trace &&
		echo "dev == $devt" >$T/events/block/block_rq_issue/filter &&
		echo 1 >$T/events/block/block_rq_issue/enable && echo 1 >$T/tracing_on &&
		"$@" >/dev/null 2>&1
	echo 0 >$T/tracing_on
	echo 0 >$T/events/block/block_rq_issue/enable
	echo "$(grep -c ' W[A-Z]* ' $T/trace) $(grep -c ' W[A-Z]*F[A-Z]* ' $T/trace)"
}
expect_eq "a WRITE(10) with FUA reaches nbi1 as one write, a FUA write" \
	"$(trace_fua sg_raw -s 512 -i /tmp/pat $(sg 1) 2a 08 00 00 00 10 00 00 01 00)" "1 1"
expect_eq "a WRITE(10) without FUA reaches nbi1 as one write, not FUA" \
	"$(trace_fua sg_raw -s 512 -i /tmp/pat $(sg 1) 2a 00 00 00 00 10 00 00 01 00)" "1 0"
check "WCE cleared by MODE SELECT (sdparm)" sdparm -q --clear WCE $(sg 1)
expect_eq "with the write cache off, a plain WRITE(10) reaches nbi1 as one FUA write" \
	"$(trace_fua sg_raw -s 512 -i /tmp/pat $(sg 1) 2a 00 00 00 00 10 00 00 01 00)" "1 1"
check "WCE set again" sdparm -q --set WCE $(sg 1)
f0=$(flushes nbnv)
check "SYNCHRONIZE CACHE on LUN 5 (nv_cache): GOOD" sg_sync $(sg 5)
expect_eq "... and no flush reached nbnv" "$(($(flushes nbnv) - f0))" 0

# UNMAP through the thin-provisioned LUN: the blocks read as zeros.
check "256 blocks written to LUN 2" dd if=/tmp/pat of=$(sd 2) bs=512 count=256 oflag=direct status=none
check "sg_unmap of LBA 0-127 on LUN 2: exit 0" sg_unmap --force --lba=0 --num=128 $(sg 2)
check "LBA 0-127 read as zeros through LUN 2" \
	bash -c "dd if=$(sd 2) bs=512 count=128 iflag=direct status=none | cmp - <(head -c 65536 /dev/zero)"
check "LBA 128 onward still holds what was written" \
	bash -c "dd if=$(sd 2) bs=512 skip=128 count=128 iflag=direct status=none | cmp - <(dd if=/tmp/pat bs=512 skip=128 count=128 status=none)"

# ext4 on the LUN that completes in hard IRQ.
check "mkfs.ext4 on LUN 2" mkfs.ext4 -q -F -E nodiscard $(sd 2)
check "mount LUN 2" mount $(sd 2) /mnt/m
for i in 1 2 3; do dd if=/dev/urandom of=/mnt/m/f$i bs=1M count=1 status=none; done
(cd /mnt/m && sha256sum f1 f2 f3) >/tmp/sums
check "umount" umount /mnt/m
check "remount" mount $(sd 2) /mnt/m
check "checksums match after remount" sh -c "cd /mnt/m && sha256sum -c /tmp/sums"
check "umount again" umount /mnt/m
check "the first 32 MiB of LUN 2 equal nbi2's" \
	bash -c "cmp <(dd if=$(sd 2) bs=1M count=32 iflag=direct status=none) <(dd if=/dev/nbi2 bs=1M count=32 iflag=direct status=none)"

# The scsi_debug disk deleted underneath its device.
SG4=$(sg 4)
check "the scsi_debug disk deleted underneath" sh -c "echo 1 >/sys/block/$SDBG/device/delete"
check "its block device is gone" wait_for 10 test ! -e /sys/block/$SDBG
r=$(sg_raw -r 4096 $SG4 28 00 00 00 00 00 00 00 01 00 2>&1)
expect_match "READ of LUN 4 after the deletion: CHECK CONDITION" "$r" "SCSI Status: Check Condition"
expect_match "... HARDWARE ERROR" "$r" "Sense key: Hardware Error"
expect_match "... LOGICAL UNIT FAILURE (3E/01)" "$r" "Logical unit failure"
r=$(sg_raw -s 4096 -i /tmp/pat $SG4 2a 00 00 00 00 00 00 00 01 00 2>&1)
expect_match "WRITE of LUN 4 after the deletion: LOGICAL UNIT FAILURE" "$r" "Logical unit failure"
clear_ua 0 # (LUN 4's removal: REPORTED LUNS DATA HAS CHANGED)
expect_match "the other LUNs still serve: LUN 0 reads" "$(sg_raw -r 512 $(sg 0) 28 00 00 00 00 00 00 00 01 00 2>&1)" "SCSI Status: Good"
check "unexport LUN 4" mgmt $SCST/targets/scst_local/t1/luns/mgmt "del 4"
check "del_device sdbg (its disk gone)" mgmt $BMGMT "del_device sdbg"
check "scsi_debug unloads" rmmod scsi_debug

# Pass-through: a scsi_debug disk exported by dev_disk (rscst_disk.ko) as
# LUN 6. scsi_debug reports a medium error for READs of LBA 0x1234 to
# 0x123d (opts=2); fio keeps to 8 MiB onward.
check "rscst_disk loads" insmod_with_deps $REPO/dev_handlers/passthrough/rscst_disk.ko
for h in dev_disk dev_disk_perf dev_tape dev_tape_perf dev_processor dev_cdrom dev_modisk dev_modisk_perf dev_changer dev_raid; do
	check "handler $h registered" test -f $SCST/handlers/$h/mgmt
done
expect_eq "dev_tape's type" "$(cat $SCST/handlers/dev_tape/type)" "1 - Sequential-access device (e.g., magnetic tape)"
check "scsi_debug loads again: 32 MiB of 512-byte blocks, medium errors at LBA 0x1234" \
	modprobe scsi_debug dev_size_mb=32 delay=0 opts=2
PT=""
for d in /sys/bus/scsi/devices/*:*; do
	[ "$(cat $d/model 2>/dev/null | tr -d ' ')" = scsi_debug ] && PT=$(basename $d)
done
check "the scsi_debug disk has an H:C:I:L ($PT)" test -n "$PT"
PTSD=$(ls /sys/bus/scsi/devices/$PT/block 2>/dev/null | head -1)
PTSG=/dev/$(ls /sys/bus/scsi/devices/$PT/scsi_generic 2>/dev/null | head -1)
DMGMT=$SCST/handlers/dev_disk/mgmt
check_fails "dev_disk refuses a name that is no H:C:I:L" mgmt $DMGMT "add_device disk1"
expect_match "... saying how devices are named" "$(res)" "H:C:I:L"
check_fails "dev_disk refuses a device that does not exist" mgmt $DMGMT "add_device 99:0:0:0"
expect_match "... saying so" "$(res)" "no SCSI device 99:0:0:0"
check_fails "dev_tape refuses the disk" mgmt $SCST/handlers/dev_tape/mgmt "add_device $PT"
expect_match "... because of its device type" "$(res)" "peripheral device type 0x0: dev_tape takes type 0x1"
check_fails "dev_disk refuses parameters" mgmt $DMGMT "add_device $PT read_only=1"
check "add_device $PT to dev_disk" mgmt $DMGMT "add_device $PT"
expect_eq "its handler link" "$(basename "$(readlink $SCST/devices/$PT/handler)")" "dev_disk"
expect_eq "its size is the disk's" "$(head -1 $SCST/devices/$PT/size)" "33554432"
check "add LUN 6 ($PT)" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add $PT 6"
check "LUN 6 appears" wait_for 10 has_sd $H 6
clear_ua 0 6
inq=$(sg_inq $(sg 6) 2>&1)
expect_match "INQUIRY through LUN 6 answers with the device's vendor" "$inq" "Vendor identification: Linux"
expect_match "... and product" "$inq" "Product identification: scsi_debug"
sgio_one() { python3 $REPO/tests/vm/sgio.py "$@" 2>&1 | head -2 | tr '\n' ' '; }
serial=$(sgio_one $PTSG "12 01 80 00 40 00" --in 64)
expect_match "the device has a unit serial number page (80h)" "$serial" "^good data 0080"
expect_eq "... which INQUIRY through LUN 6 returns byte for byte" "$(sgio_one $(sg 6) "12 01 80 00 40 00" --in 64)" "$serial"
# (sg_vpd 1.46 prints "65536 blocks", trixie's 1.48 "0x10000".)
expect_match "the device's Block Limits page says 65536 blocks at most a command" \
	"$(sg_vpd -p bl $PTSG 2>&1)" "Maximum transfer length: (65536 blocks|0x10000)$"
expect_match "... which LUN 6 caps at the 8 MiB one command of the core moves (16384 blocks)" \
	"$(sg_vpd -p bl $(sg 6) 2>&1)" "Maximum transfer length: (16384 blocks|0x4000)$"
rd1234="28 00 00 00 12 34 00 00 01 00"
r=$(sgio_one $(sg 6) "$rd1234" --in 512)
expect_match "READ of LBA 0x1234 through LUN 6: MEDIUM ERROR, UNRECOVERED READ ERROR" "$r" "^check 03/11/00 "
expect_eq "... with the device's own sense bytes" "$r" "$(sgio_one $PTSG "$rd1234" --in 512)"
check "fio crc32c verify at iodepth 16 on LUN 6, from 8 MiB on" \
	fio --rw=randwrite --bs=4k --iodepth=16 --ioengine=libaio --direct=1 --offset=8M --size=16M \
	--verify=crc32c --verify_fatal=1 --thread --name=pt --filename=$(sd 6) --output=/tmp/fio-pt.log
check "the scsi_debug disk holds what LUN 6 wrote" \
	bash -c "cmp <(dd if=$(sd 6) bs=1M skip=8 count=16 iflag=direct status=none) <(dd if=/dev/$PTSD bs=1M skip=8 count=16 iflag=direct status=none)"
check "PERSISTENT RESERVE OUT REGISTER on LUN 6" sg_persist -n -o -G -S 0xabc $(sg 6)
expect_match "READ KEYS on LUN 6 lists it" "$(sg_persist -n -k $(sg 6) 2>&1)" "0xabc"
expect_match "... which the core keeps: the device itself has no PERSISTENT RESERVE IN (05/20/00)" \
	"$(sgio_one $PTSG "5e 00 00 00 00 00 00 00 20 00" --in 32)" "^check 05/20/00 "
check "the key unregistered" sg_persist -n -o -G -K 0xabc -S 0 $(sg 6)
# dev_disk_perf: READ and WRITE complete GOOD without reaching the device.
LMGMT=$SCST/targets/scst_local/t1/luns/mgmt
lba100() { dd if=/dev/$PTSD bs=512 skip=100 count=1 iflag=direct status=none | sha256sum; }
before=$(lba100)
move_lun6() { # FROM TO: LUN 6's device from handler FROM to handler TO
	mgmt $LMGMT "del 6" && wait_for 10 no_sg $H 6 && mgmt $SCST/handlers/$1/mgmt "del_device $PT" &&
		mgmt $SCST/handlers/$2/mgmt "add_device $PT" && mgmt $LMGMT "add $PT 6" && wait_for 10 has_sg $H 6
}
check "LUN 6 moved to dev_disk_perf" move_lun6 dev_disk dev_disk_perf
clear_ua 0 6
expect_match "a WRITE(10) of LBA 100 through dev_disk_perf: GOOD" \
	"$(sgio_one $(sg 6) "2a 00 00 00 00 64 00 00 01 00" --out $(printf '5a%.0s' $(seq 512)))" "^good "
expect_eq "... and the device's LBA 100 is as it was" "$(lba100)" "$before"
check "LUN 6 back on dev_disk" move_lun6 dev_disk_perf dev_disk
clear_ua 0 6
expect_match "a WRITE(10) of LBA 100 through dev_disk: GOOD" \
	"$(sgio_one $(sg 6) "2a 00 00 00 00 64 00 00 01 00" --out $(printf '5a%.0s' $(seq 512)))" "^good "
expect_eq "... and the device's LBA 100 holds it" "$(lba100)" "$(printf '\x5a%.0s' $(seq 512) | sha256sum)"
check "the scsi_debug disk removed underneath" sh -c "echo 1 >/sys/bus/scsi/devices/$PT/delete"
check "... from the midlayer" wait_for 10 test ! -e /sys/bus/scsi/devices/$PT
r=$(sgio_one $(sg 6) "28 00 00 00 00 00 00 00 01 00" --in 512)
expect_match "READ through LUN 6 after the removal: HARDWARE ERROR, LOGICAL UNIT FAILURE" "$r" "^check 04/3e/01 "
expect_match "the other LUNs still serve: LUN 0 reads" "$(sgio_one $(sg 0) "28 00 00 00 00 00 00 00 01 00" --in 512)" "^good "
check "unexport LUN 6" mgmt $SCST/targets/scst_local/t1/luns/mgmt "del 6"
check "del_device $PT (its disk gone)" mgmt $DMGMT "del_device $PT"
check "scsi_debug unloads again" rmmod scsi_debug

# Pass-through of a tape: scsi_debug's tape emulation (ptype=1; Linux 7's,
# which keeps each block's first 4 bytes) exported by dev_tape as LUN 7.
# Its READ(6) and WRITE(6) move bytes, not SBC's blocks: the core passes
# them sized as the initiator sent them.
tape_checks() {
	check "scsi_debug loads as a tape" modprobe scsi_debug ptype=1 delay=0
	local d
	PT=""
	for d in /sys/bus/scsi/devices/*:*; do
		[ "$(cat $d/model 2>/dev/null | tr -d ' ')" = scsi_debug ] && PT=$(basename $d)
	done
	check "the tape has an H:C:I:L ($PT)" test -n "$PT"
	check "add_device $PT to dev_tape" mgmt $SCST/handlers/dev_tape/mgmt "add_device $PT"
	check "add LUN 7 ($PT)" mgmt $SCST/targets/scst_local/t1/luns/mgmt "add $PT 7"
	check "LUN 7 appears" wait_for 10 has_sg $H 7
	clear_ua 0 7
	local st=$(sg 7)
	expect_match "INQUIRY through LUN 7: peripheral device type 1" "$(sgio_one $st "12 00 00 00 24 00" --in 36)" "^good data 01"
	expect_eq "READ BLOCK LIMITS through LUN 7: the device's (512 to 1 MiB)" \
		"$(sgio_one $st "05 00 00 00 00 00" --in 6)" "good data 041000000200 "
	expect_match "REWIND" "$(sgio_one $st "01 00 00 00 00 00")" "^good "
	local block=$(printf 'cafe%01020d' 0)
	expect_match "WRITE(6) of one 512-byte variable block" "$(sgio_one $st "0a 00 00 02 00 00" --out $block)" "^good "
	expect_match "WRITE FILEMARKS(6) of one" "$(sgio_one $st "10 00 00 00 01 00")" "^good "
	expect_match "READ POSITION: block 2 (the block and the filemark)" \
		"$(sgio_one $st "34 00 00 00 00 00 00 00 00 00" --in 20)" "^good data 0000000000000002"
	expect_match "REWIND again" "$(sgio_one $st "01 00 00 00 00 00")" "^good "
	expect_match "READ(6) of one 512-byte variable block: the block (its first 4 bytes kept)" \
		"$(sgio_one $st "08 00 00 02 00 00" --in 512)" "^good data cafe0000"
	expect_match "the next READ(6): CHECK CONDITION, FILEMARK DETECTED (00/00/01), as the tape said" \
		"$(sgio_one $st "08 00 00 02 00 00" --in 512)" "^check 00/00/01 sense f0"
	check "unexport LUN 7" mgmt $SCST/targets/scst_local/t1/luns/mgmt "del 7"
	check "del_device $PT" mgmt $SCST/handlers/dev_tape/mgmt "del_device $PT"
	check "scsi_debug unloads" rmmod scsi_debug
}
case $(uname -r) in
6.12.*) skip "dev_tape on scsi_debug's tape" "6.12's scsi_debug has no tape emulation (READ BLOCK LIMITS is an invalid opcode there): Linux 7's runs it" ;;
*) tape_checks ;;
esac
check "rscst_disk unloads" rmmod rscst_disk

# Teardown.
check "del_session s1" mgmt $SCST/targets/scst_local/mgmt "del_session t1 s1"
check "del_target t1" mgmt $SCST/targets/scst_local/mgmt "del_target t1"
for d in bio0 bio1 bio2 b4k nv; do
	check "del_device $d" mgmt $BMGMT "del_device $d"
done
check "nbi0 is free again: it mounts" sh -c "mkfs.ext4 -q -F /dev/nbi0 && mount /dev/nbi0 /mnt/m && umount /mnt/m"
check "rmmod all" rmmod rscst_local rscst_vdisk rscst
for n in nbi0 nbi1 nbi2 nb4k nbnv; do echo 0 >$NULLB/$n/power; rmdir $NULLB/$n; done
check "null_blk unloads" rmmod null_blk
finish
