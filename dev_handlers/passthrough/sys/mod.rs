// SPDX-License-Identifier: GPL-2.0
//! rscst_disk.ko's only `unsafe` layer: bindings, the client ABI, the
//! handler ops-table adapter and SCSI pass-through requests.

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

#[path = "../../../sys/adapter.rs"]
pub mod adapter;
pub mod scsi_pt;
