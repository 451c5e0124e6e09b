#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: builds the non-debug "bench" kernel (cached) and the modules for
# it in a scratch copy, boots one guest, runs lab/guest/bench.sh, and writes
# the medians and ratios to bench/results/latest.md.
source "$(dirname "$0")/lib.sh"
bash "$LAB_DIR/setup-host.sh"
kdir=$(bash "$LAB_DIR/kernel/build.sh" bench)
bash "$LAB_DIR/rootfs/build.sh" >/dev/null
# The repository's own .ko files belong to the debug kernel: build the
# bench modules in a copy.
copy="$RSCST_CACHE/bench-tree"
mkdir -p "$copy"
rsync -a --delete --exclude /out --exclude /crates/target --exclude /fuzz/target --exclude '*.ko' --exclude '*.o' \
	--exclude /sys/generated "$REPO_DIR/" "$copy/"
bash "$copy/lab/build-modules.sh" bench "$kdir"
RSCST_SHARE_DIR="$copy" bash "$LAB_DIR/run-vm.sh" bench 1800 bench
python3 - "$REPO_DIR/out/bench/bench.json" "$REPO_DIR/bench/results/latest.md" "$(cat "$REPO_DIR/out/bench/bench-kernel")" <<'PY'
import json, statistics, sys, datetime
data = json.load(open(sys.argv[1]))
med = {k: statistics.median(v) for k, v in data.items()}
lio = med["lio_tcm_loop"]
lines = [
    "# rscst benchmarks",
    "",
    f"Measured {datetime.date.today()} in one guest boot (kernel {sys.argv[3]}, non-debug config,",
    "qemu TCG, 2 vCPUs; absolute numbers are TCG numbers, compare the ratios).",
    "Reproduce with `make bench`.",
    "",
    "fio: `--rw=randread --bs=4k --iodepth=32 --numjobs=1 --ioengine=libaio --direct=1`,",
    "15 s per run after 2 s ramp, scenarios interleaved, median of the runs.",
    "",
    "| scenario | runs (IOPS) | median IOPS | vs LIO tcm_loop | vs scsi_debug | vs null_blk |",
    "|---|---|---|---|---|---|",
]
names = {"null_blk": "null_blk (block layer only)", "rscst_local": "rscst_local + vdisk_nullio",
         "lio_tcm_loop": "LIO tcm_loop + rd_mcp (rd_nullio=1)",
         "scsi_debug": "scsi_debug fake_rw=1 (SCSI initiator stack, no target)"}
for k in ["rscst_local", "lio_tcm_loop", "scsi_debug", "null_blk"]:
    runs = ", ".join(str(x) for x in data[k])
    lines.append(f"| {names[k]} | {runs} | {int(med[k])} | {med[k]/lio:.2f}x | {med[k]/med['scsi_debug']:.2f}x | {med[k]/med['null_blk']:.2f}x |")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
