// SPDX-License-Identifier: GPL-2.0
//! rscst_vdisk.ko: virtual disk handlers `vdisk_nullio` (no backing store),
//! `vdisk_fileio` (a file or block device node through the page cache) and
//! `vdisk_blockio` (a block device, bios straight from commands' pages).

use kernel::prelude::*;
use kernel::sync::Arc;

#[path = "../../crates/abi/src/lib.rs"]
pub mod abi;
#[path = "../../crates/mgmt/src/lib.rs"]
pub mod mgmt;

pub mod backing;
pub mod blockio;
pub mod fileio;
pub mod nullio;
pub mod params;
pub mod sys;

use sys::client::HandlerRegistration;

module! {
    type: Vdisk,
    name: "rscst_vdisk",
    description: "rscst virtual disk handlers (vdisk_nullio, vdisk_fileio, vdisk_blockio)",
    license: "GPL",
    alias: ["scst_vdisk"],
}

struct Vdisk {
    _blockio: HandlerRegistration<blockio::BlockioHandler>,
    _fileio: HandlerRegistration<fileio::FileioHandler>,
    _nullio: HandlerRegistration<nullio::NullioHandler>,
}

impl kernel::Module for Vdisk {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let nullio = HandlerRegistration::new(nullio::OPS, Arc::new(nullio::NullioHandler, GFP_KERNEL)?)?;
        let fileio = HandlerRegistration::new(fileio::OPS, Arc::new(fileio::FileioHandler, GFP_KERNEL)?)?;
        let blockio = HandlerRegistration::new(blockio::OPS, Arc::new(blockio::BlockioHandler, GFP_KERNEL)?)?;
        Ok(Vdisk { _blockio: blockio, _fileio: fileio, _nullio: nullio })
    }
}
