// SPDX-License-Identifier: GPL-2.0
//! rscst_vdisk.ko's only `unsafe` layer: bindings, the client ABI, the
//! handler ops-table adapter and kernel file I/O.

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
#[path = "../../../sys/bio.rs"]
pub mod bio;
#[path = "../../../sys/file.rs"]
pub mod file;
