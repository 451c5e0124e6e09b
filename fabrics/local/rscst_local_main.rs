// SPDX-License-Identifier: GPL-2.0
//! rscst_local.ko: the loopback fabric (SCST's scst_local). Each session is a
//! SCSI host on this machine whose LUNs appear as /dev/sdX and /dev/sgN.

use kernel::prelude::*;

#[path = "../../crates/abi/src/lib.rs"]
pub mod abi;
#[path = "../../crates/mgmt/src/lib.rs"]
pub mod mgmt;
#[path = "../../crates/scsi/src/lib.rs"]
pub mod scsi;

pub mod local;
pub mod sys;

use sys::client::FabricRegistration;

module! {
    type: RscstLocal,
    name: "rscst_local",
    description: "rscst loopback fabric (SCST scst_local)",
    license: "GPL",
    alias: ["scst_local"],
}

struct RscstLocal {
    /// Dropping it unregisters the fabric, which deletes every target (and
    /// so every host) first, and then releases the fabric object.
    _reg: FabricRegistration<local::Local>,
}

impl kernel::Module for RscstLocal {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let reg = FabricRegistration::new(local::OPS, local::Local::new(module)?)?;
        Ok(RscstLocal { _reg: reg })
    }
}
