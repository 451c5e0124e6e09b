// SPDX-License-Identifier: GPL-2.0
//! Sans-IO SCSI target primitives: CDB decoding, sense data and SPC-4/SBC-3 disk emulation.
//!
//! This crate is `core`-only and panic-free on any input so that the same source can be
//! compiled into Linux kernel modules (as a module of another crate) and into user-space
//! tools and fuzzers. Every response is written into a caller-provided buffer and truncated
//! to that buffer and to the initiator's allocation length.
//!
//! The source is also compiled as a module of kernel crates
//! (`#[path = ".../crates/scsi/src/lib.rs"] pub mod scsi;`), so modules refer to each other
//! with `super::` paths, which resolve the same way in both settings (`crate::` would name
//! the outer crate's root there).
#![cfg_attr(not(CONFIG_RUST), no_std)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::float_arithmetic
    )
)]

#[cfg(test)]
extern crate std;

pub mod alua;
pub mod cdb;
pub mod device;
pub mod emulate;
// The fuzz targets' checks: host builds only (the kernel modules never call
// them, and their test-only code need not be in them).
#[cfg(not(CONFIG_RUST))]
pub mod fuzz;
pub mod inquiry;
pub mod luns;
pub mod mode;
pub mod mode_file;
pub mod pr;
pub mod pr_file;
pub mod provisioning;
pub mod readback;
pub mod request_sense;
pub mod rsoc;
pub mod rstmf;
pub mod sense;
pub mod status;
pub mod task_set;
pub mod transport_id;
pub mod ua;
mod wr;
pub mod xcopy;

pub use self::cdb::{Cdb, DataDir, Op};
pub use self::device::DeviceParams;
pub use self::emulate::{emulate_disk, Action};
pub use self::sense::{Sense, SENSE_LEN};
