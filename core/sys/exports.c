// SPDX-License-Identifier: GPL-2.0
/*
 * Exports rscst.ko's C ABI (defined in Rust, core/sys/abi.rs) to the fabric
 * and handler modules. The prototypes only need to name the symbols; the
 * authoritative signatures are in crates/abi/src/lib.rs.
 */
#include <linux/export.h>

#define RSCST_EXPORT(name) extern void name(void); EXPORT_SYMBOL_GPL(name)

RSCST_EXPORT(rscst_abi_version);
RSCST_EXPORT(rscst_register_handler);
RSCST_EXPORT(rscst_unregister_handler);
RSCST_EXPORT(rscst_register_fabric);
RSCST_EXPORT(rscst_unregister_fabric);
RSCST_EXPORT(rscst_session_register);
RSCST_EXPORT(rscst_session_unregister);
RSCST_EXPORT(rscst_rx_cmd);
RSCST_EXPORT(rscst_cmd_start);
RSCST_EXPORT(rscst_cmd_rx_data_done);
RSCST_EXPORT(rscst_cmd_exec_done);
RSCST_EXPORT(rscst_cmd_scsi_done);
RSCST_EXPORT(rscst_cmd_tx_done);
RSCST_EXPORT(rscst_task_mgmt);
RSCST_EXPORT(rscst_sg_copy);
RSCST_EXPORT(rscst_cmd_aborted);
