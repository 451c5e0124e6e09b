// SPDX-License-Identifier: GPL-2.0
//! rscst_local.ko's only `unsafe` layer: bindings, the client ABI, the fabric
//! ops-table adapter and the SCSI host glue.

#[path = "../../../sys/bindings.rs"]
pub mod bindings;
#[path = "../../../sys/compat.rs"]
pub mod compat;
#[path = "../../../sys/client.rs"]
pub mod client;
#[path = "../../../sys/msgout.rs"]
pub mod msgout;
#[path = "../../../sys/sg.rs"]
pub mod sg;

pub mod fabric_ops;
pub mod scsi_host;
