// SPDX-License-Identifier: GPL-2.0
//! rscst_vdisk.ko: virtual disk handlers `vdisk_nullio` (no backing store) and
//! `vdisk_fileio` (a file or block device node through the page cache).

use kernel::prelude::*;

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
    author: "rscst developers",
    description: "rscst virtual disk handlers (vdisk_nullio, vdisk_fileio)",
    license: "GPL",
    alias: ["scst_vdisk"],
}

struct Vdisk {
    _fileio: HandlerRegistration,
    _nullio: HandlerRegistration,
}

impl kernel::Module for Vdisk {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let nullio = HandlerRegistration::new(&nullio::OPS)?;
        let fileio = HandlerRegistration::new(&fileio::OPS)?;
        Ok(Vdisk { _fileio: fileio, _nullio: nullio })
    }
}
