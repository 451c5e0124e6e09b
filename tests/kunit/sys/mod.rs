// SPDX-License-Identifier: GPL-2.0
//! rscst_kunit.ko's only `unsafe` layer: bindings, the client ABI, the
//! fabric and handler ops-table adapters (the same as rscst_local's and
//! rscst_vdisk's), and safe wrappers around the C shim.

#[path = "../../../sys/bindings.rs"]
pub mod bindings;
#[path = "../../../sys/compat.rs"]
pub mod compat;
#[path = "../../../sys/client.rs"]
pub mod client;
#[path = "../../../sys/global.rs"]
pub mod global;
#[path = "../../../sys/msgout.rs"]
pub mod msgout;
#[path = "../../../sys/sg.rs"]
pub mod sg;

#[path = "../../../sys/adapter.rs"]
pub mod adapter;
#[path = "../../../fabrics/local/sys/fabric_ops.rs"]
pub mod fabric_ops;

pub mod exports;
pub mod shim;
