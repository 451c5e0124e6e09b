#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmarks inside the lab guest (bench kernel, no debug options): fio 4k
# random read, iodepth 32, against null_blk, scsi_debug (fake_rw=1, delay=0:
# a SCSI host that completes inside queuecommand), rscst_local + vdisk_nullio
# and LIO tcm_loop + rd_mcp (rd_nullio=1), interleaved, several repetitions.
# Writes /mnt/out/bench.json: {"scenario": [iops, ...], ...}.
. /mnt/rscst/tests/vm/lib.sh
set -u
REPS=${RSCST_BENCH_REPS:-5}
RUNTIME=${RSCST_BENCH_RUNTIME:-15}
FIO_ARGS="--rw=randread --bs=4k --iodepth=32 --numjobs=1 --ioengine=libaio --direct=1 --time_based --runtime=$RUNTIME --ramp_time=2 --size=512M --output-format=json"

iops() { # DEVICE -> IOPS (integer)
	fio --name=bench --filename="$1" $FIO_ARGS | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["jobs"][0]["read"]["iops"]))'
}

# scsi_debug: a SCSI host whose "target" does nothing and completes in the
# submitter's context.
modprobe scsi_debug dev_size_mb=1024 delay=0 fake_rw=1 max_queue=192
SDBG=""
for d in /sys/bus/scsi/devices/*; do
	[ "$(cat $d/model 2>/dev/null | tr -d ' ')" = scsi_debug ] && SDBG=/dev/$(ls $d/block | head -1)
done

# null_blk: the block layer alone.
modprobe null_blk nr_devices=1 queue_mode=2 irqmode=0 gb=1 bs=512
NULLB=/dev/nullb0

# rscst: loopback + nullio.
load_rscst
mgmt $SCST/handlers/vdisk_nullio/mgmt "add_device bnull size_mb=1024"
RSCST=$(export_local bnull bench b1)

# LIO: tcm_loop + rd_mcp with rd_nullio, configured through configfs.
modprobe target_core_mod
modprobe tcm_loop
C=/sys/kernel/config/target
mkdir -p $C/core/rd_mcp_0/null0
echo "rd_pages=262144,rd_nullio=1" >$C/core/rd_mcp_0/null0/control
echo 1 >$C/core/rd_mcp_0/null0/enable
T=$C/loopback/naa.5001405aaaaaaaa1/tpgt_1
mkdir -p $T/lun/lun_0
echo naa.5001405aaaaaaaa2 >$T/nexus
ln -s $C/core/rd_mcp_0/null0 $T/lun/lun_0/port0
LIO=""
for i in $(seq 50); do
	for d in /sys/bus/scsi/devices/*; do
		[ "$(cat $d/vendor 2>/dev/null | tr -d ' ')" = LIO-ORG ] && LIO=/dev/$(ls $d/block 2>/dev/null | head -1)
	done
	[ -n "$LIO" ] && [ "$LIO" != /dev/ ] && break
	sleep 0.2
done
echo "devices: null_blk=$NULLB scsi_debug=$SDBG rscst=$RSCST lio=$LIO"
for d in "$NULLB" "$SDBG" "$RSCST" "$LIO"; do
	if [ ! -b "$d" ]; then
		echo "bench: a device is missing ('$d'); not measuring"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

results="{"
declare -A R
for rep in $(seq $REPS); do
	for s in null_blk scsi_debug rscst_local lio_tcm_loop; do
		case $s in
		null_blk) d=$NULLB ;;
		scsi_debug) d=$SDBG ;;
		rscst_local) d=$RSCST ;;
		lio_tcm_loop) d=$LIO ;;
		esac
		v=$(iops $d)
		echo "rep $rep $s $v"
		R[$s]="${R[$s]:-}${R[$s]:+,}$v"
	done
done
for s in null_blk scsi_debug rscst_local lio_tcm_loop; do
	results="$results\"$s\": [${R[$s]}],"
done
echo "${results%,}}" >/mnt/out/bench.json
cat /mnt/out/bench.json
uname -r >/mnt/out/bench-kernel
echo "1 passed, 0 failed"
