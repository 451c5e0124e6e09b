// SPDX-License-Identifier: GPL-2.0
//! rscst_vdisk.ko: virtual disk handlers `vdisk_nullio` (no backing store) and
//! `vdisk_fileio` (a file or block device node through the page cache).

use kernel::prelude::*;
use kernel::sync::Arc;

#[path = "../../crates/abi/src/lib.rs"]
pub mod abi;
#[path = "../../crates/mgmt/src/lib.rs"]
pub mod mgmt;

pub mod fileio;
pub mod nullio;
pub mod params;
pub mod sys;

use sys::client::HandlerRegistration;

module! {
    type: Vdisk,
    name: "rscst_vdisk",
    description: "rscst virtual disk handlers (vdisk_nullio, vdisk_fileio)",
    license: "GPL",
    alias: ["scst_vdisk"],
}

struct Vdisk {
    _fileio: HandlerRegistration<fileio::FileioHandler>,
    _nullio: HandlerRegistration<nullio::NullioHandler>,
}

impl kernel::Module for Vdisk {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let nullio = HandlerRegistration::new(nullio::OPS, Arc::new(nullio::NullioHandler, GFP_KERNEL)?)?;
        let fileio = HandlerRegistration::new(fileio::OPS, Arc::new(fileio::FileioHandler, GFP_KERNEL)?)?;
        Ok(Vdisk { _fileio: fileio, _nullio: nullio })
    }
}
