// SPDX-License-Identifier: GPL-2.0
//! rscst_disk.ko: the pass-through handlers (`dev_disk`, `dev_tape`,
//! `dev_changer`, `dev_processor`, `dev_raid`, `dev_cdrom`, `dev_modisk`
//! and SCST's `_perf` variants), which export real SCSI devices of this
//! machine.

use kernel::prelude::*;
use kernel::sync::Arc;

#[path = "../../crates/abi/src/lib.rs"]
pub mod abi;
#[path = "../../crates/mgmt/src/lib.rs"]
pub mod mgmt;

pub mod passthrough;
pub mod sys;

use sys::client::HandlerRegistration;

module! {
    type: Disk,
    name: "rscst_disk",
    description: "rscst pass-through handlers (dev_disk, dev_tape, dev_changer, dev_processor, dev_raid, dev_cdrom, dev_modisk)",
    license: "GPL",
    alias: ["scst_disk", "scst_tape", "scst_changer", "scst_processor", "scst_raid", "scst_cdrom", "scst_modisk"],
}

struct Disk {
    _handlers: KVec<HandlerRegistration<passthrough::Passthrough>>,
}

impl kernel::Module for Disk {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let all = passthrough::handlers();
        let mut regs = KVec::with_capacity(all.len(), GFP_KERNEL)?;
        for (ops, handler) in all {
            regs.push(HandlerRegistration::new(ops, Arc::new(handler, GFP_KERNEL)?)?, GFP_KERNEL)?;
        }
        Ok(Disk { _handlers: regs })
    }
}
