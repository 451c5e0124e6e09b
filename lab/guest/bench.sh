#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmarks inside the lab guest (bench kernel, no debug options), fio 4k
# random reads, scenarios interleaved, several repetitions:
# - iodepth 32, 1 job: null_blk, scsi_debug (fake_rw=1, delay=0: a SCSI host
#   that completes inside queuecommand), rscst_local + vdisk_nullio, LIO
#   tcm_loop + rd_mcp (rd_nullio=1) with a hardware queue per CPU as
#   rscst_local has (tcm_loop nr_hw_queues=$(nproc), like scsi_debug's
#   submit_queues) and with tcm_loop's default single queue;
# - iodepth 32, 2 jobs: the same but null_blk;
# - iodepth 1: the median completion latency of the same;
# - iodepth 32, 1 job: rscst_local + vdisk_fileio and LIO tcm_loop (a
#   queue per CPU) + fileio on the same tmpfs file.
# Writes /mnt/out/bench.json: {"scenario": [value, ...], ...} (IOPS, or
# microseconds for the *_qd1_lat_us scenarios).
. /mnt/rscst/tests/vm/lib.sh
set -u
REPS=${RSCST_BENCH_REPS:-5}
RUNTIME=${RSCST_BENCH_RUNTIME:-15}
FIO_ARGS="--rw=randread --bs=4k --ioengine=libaio --direct=1 --time_based --runtime=$RUNTIME --ramp_time=2 --size=512M --group_reporting --output-format=json"

iops() { # DEVICE IODEPTH JOBS -> IOPS (integer)
	fio --name=bench --filename="$1" --iodepth="$2" --numjobs="$3" $FIO_ARGS |
		python3 -c 'import json,sys; print(int(json.load(sys.stdin)["jobs"][0]["read"]["iops"]))'
}

qd1_lat_us() { # DEVICE -> median total latency (submission + completion) at iodepth 1, microseconds
	# Total, not fio's clat: a target that completes inside io_submit shows
	# almost all of its time as submission latency.
	fio --name=bench --filename="$1" --iodepth=1 --numjobs=1 --lat_percentiles=1 $FIO_ARGS |
		python3 -c 'import json,sys; l=json.load(sys.stdin)["jobs"][0]["read"]["lat_ns"]; print(round(l.get("percentile", {}).get("50.000000", l["mean"]) / 1000, 1))'
}

# scsi_debug: a SCSI host whose "target" does nothing and completes in the
# submitter's context.
modprobe scsi_debug dev_size_mb=1024 delay=0 fake_rw=1 max_queue=192 submit_queues=$(nproc)
SDBG=""
for d in /sys/bus/scsi/devices/*; do
	[ "$(cat $d/model 2>/dev/null | tr -d ' ')" = scsi_debug ] && SDBG=/dev/$(ls $d/block | head -1)
done

# null_blk: the block layer alone (nullb0), and behind rscst's
# vdisk_blockio (nullb1) and LIO's iblock (nullb2).
modprobe null_blk nr_devices=3 queue_mode=2 irqmode=0 gb=1 bs=512
NULLB=/dev/nullb0

# rscst: loopback + nullio.
load_rscst
mgmt $SCST/handlers/vdisk_nullio/mgmt "add_device bnull size_mb=1024"
RSCST=$(export_local bnull bench b1)

# The same tmpfs file behind rscst's and LIO's fileio.
bench_failed() { echo "bench: $*; not measuring"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p /mnt/tmpfs && mount -t tmpfs -o size=600M bench /mnt/tmpfs || bench_failed "no tmpfs"
dd if=/dev/urandom of=/mnt/tmpfs/disk.img bs=1M count=512 status=none || bench_failed "no file in the tmpfs"
mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device bfile filename=/mnt/tmpfs/disk.img"
RSCST_FILE=$(export_local bfile benchf b2)
mgmt $SCST/handlers/vdisk_blockio/mgmt "add_device bblk filename=/dev/nullb1"
RSCST_BLK=$(export_local bblk benchb b3)

# LIO: tcm_loop + rd_mcp with rd_nullio, and tcm_loop + fileio on the tmpfs
# file, configured through configfs.
modprobe target_core_mod
modprobe tcm_loop
C=/sys/kernel/config/target
mkdir -p $C/core/rd_mcp_0/null0
echo "rd_pages=262144,rd_nullio=1" >$C/core/rd_mcp_0/null0/control
echo 1 >$C/core/rd_mcp_0/null0/enable
mkdir -p $C/core/fileio_0/file0
echo "fd_dev_name=/mnt/tmpfs/disk.img,fd_dev_size=536870912" >$C/core/fileio_0/file0/control
echo 1 >$C/core/fileio_0/file0/enable
mkdir -p $C/core/iblock_0/blk0
echo "udev_path=/dev/nullb2" >$C/core/iblock_0/blk0/control
echo 1 >$C/core/iblock_0/blk0/enable
lio_lun() { # WWN-SUFFIX BACKSTORE HW-QUEUES -> /dev/sdX (the LIO disk that was not there before)
	local t=$C/loopback/naa.5001405aaaaaaa$1/tpgt_1 d i dev="" before
	before=$(ls /sys/block)
	echo "$3" >/sys/module/tcm_loop/parameters/nr_hw_queues
	mkdir -p $t/lun/lun_0
	echo naa.5001405bbbbbbb$1 >$t/nexus
	ln -s $C/core/$2 $t/lun/lun_0/port0
	for i in $(seq 50); do
		for d in /sys/bus/scsi/devices/*; do
			[ "$(cat $d/vendor 2>/dev/null | tr -d ' ')" = LIO-ORG ] || continue
			b=$(ls $d/block 2>/dev/null | head -1)
			[ -n "$b" ] && ! printf '%s\n' $before | grep -qx "$b" && dev=/dev/$b
		done
		[ -n "$dev" ] && break
		sleep 0.2
	done
	echo "$dev"
}
LIO=$(lio_lun a1 rd_mcp_0/null0 1)
LIO_MQ=$(lio_lun a2 rd_mcp_0/null0 "$(nproc)")
LIO_FILE=$(lio_lun a3 fileio_0/file0 "$(nproc)")
LIO_BLK=$(lio_lun a4 iblock_0/blk0 "$(nproc)")
echo "devices: null_blk=$NULLB scsi_debug=$SDBG rscst=$RSCST lio=$LIO lio_mq=$LIO_MQ rscst_fileio=$RSCST_FILE lio_fileio=$LIO_FILE rscst_blockio=$RSCST_BLK lio_iblock=$LIO_BLK"
for d in /sys/block/*/mq; do echo "hardware queues: $(basename $(dirname $d)) $(ls $d | wc -l) ($(cat $(dirname $d)/queue/scheduler))"; done
for d in "$NULLB" "$SDBG" "$RSCST" "$LIO" "$LIO_MQ" "$RSCST_FILE" "$LIO_FILE" "$RSCST_BLK" "$LIO_BLK"; do
	if [ ! -b "$d" ]; then
		echo "bench: a device is missing ('$d'); not measuring"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

SCENARIOS="null_blk scsi_debug rscst_local lio_tcm_loop_mq lio_tcm_loop
rscst_local_2j lio_tcm_loop_mq_2j lio_tcm_loop_2j scsi_debug_2j
rscst_local_qd1_lat_us lio_tcm_loop_mq_qd1_lat_us lio_tcm_loop_qd1_lat_us scsi_debug_qd1_lat_us
rscst_fileio_tmpfs lio_fileio_tmpfs
rscst_blockio_nullb lio_iblock_nullb rscst_blockio_qd1_lat_us lio_iblock_qd1_lat_us"
results="{"
declare -A R
for rep in $(seq $REPS); do
	for s in $SCENARIOS; do
		case $s in
		null_blk) v=$(iops $NULLB 32 1) ;;
		scsi_debug) v=$(iops $SDBG 32 1) ;;
		rscst_local) v=$(iops $RSCST 32 1) ;;
		lio_tcm_loop) v=$(iops $LIO 32 1) ;;
		lio_tcm_loop_mq) v=$(iops $LIO_MQ 32 1) ;;
		lio_tcm_loop_mq_2j) v=$(iops $LIO_MQ 32 2) ;;
		lio_tcm_loop_mq_qd1_lat_us) v=$(qd1_lat_us $LIO_MQ) ;;
		rscst_local_2j) v=$(iops $RSCST 32 2) ;;
		lio_tcm_loop_2j) v=$(iops $LIO 32 2) ;;
		scsi_debug_2j) v=$(iops $SDBG 32 2) ;;
		rscst_local_qd1_lat_us) v=$(qd1_lat_us $RSCST) ;;
		lio_tcm_loop_qd1_lat_us) v=$(qd1_lat_us $LIO) ;;
		scsi_debug_qd1_lat_us) v=$(qd1_lat_us $SDBG) ;;
		rscst_fileio_tmpfs) v=$(iops $RSCST_FILE 32 1) ;;
		lio_fileio_tmpfs) v=$(iops $LIO_FILE 32 1) ;;
		rscst_blockio_nullb) v=$(iops $RSCST_BLK 32 1) ;;
		lio_iblock_nullb) v=$(iops $LIO_BLK 32 1) ;;
		rscst_blockio_qd1_lat_us) v=$(qd1_lat_us $RSCST_BLK) ;;
		lio_iblock_qd1_lat_us) v=$(qd1_lat_us $LIO_BLK) ;;
		esac
		[[ $v =~ ^[0-9.]+$ ]] || bench_failed "scenario $s gave no number ('$v')"
		echo "rep $rep $s $v"
		R[$s]="${R[$s]:-}${R[$s]:+,}$v"
	done
done
for s in $SCENARIOS; do
	results="$results\"$s\": [${R[$s]}],"
done
echo "${results%,}}" >/mnt/out/bench.json
cat /mnt/out/bench.json
uname -r >/mnt/out/bench-kernel
echo "1 passed, 0 failed"
