#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make demo: set up the lab if needed, boot it, run lab/guest/demo.sh, show it.
source "$(dirname "$0")/lib.sh"
bash "$LAB_DIR/setup-host.sh"
bash "$LAB_DIR/kernel/build.sh" debug >/dev/null
bash "$LAB_DIR/rootfs/build.sh" >/dev/null
bash "$LAB_DIR/build-modules.sh" debug
rc=0
bash "$LAB_DIR/run-vm.sh" demo 900 || rc=$?
cat "$REPO_DIR/out/demo/suite.log"
exit $rc
