// SPDX-License-Identifier: GPL-2.0
//! rscst.ko: the transport-neutral SCSI target core.
//!
//! Fabrics (rscst_local, later iSCSI, SRP, FC) hand in commands; device
//! handlers (rscst_vdisk, ...) execute block I/O; the core owns every SCSI rule
//! in between and the SCST-compatible sysfs tree at /sys/kernel/scst_tgt.
//! See Documentation/architecture.md for who calls whom and the lock order.

// `pin_init!` expands recursively, once per field: `Device` has more fields
// than the default limit (128) allows.
#![recursion_limit = "512"]

use kernel::prelude::*;

#[path = "../crates/abi/src/lib.rs"]
pub mod abi;
#[path = "../crates/lifecycle/src/lib.rs"]
pub mod lifecycle;
#[path = "../crates/mgmt/src/lib.rs"]
pub mod mgmt;
#[path = "../crates/scsi/src/lib.rs"]
pub mod scsi;
#[path = "../crates/ratelimit/src/lib.rs"]
pub mod ratelimit;
#[path = "../crates/sgv/src/lib.rs"]
pub mod sgv_policy;

pub mod aca;
pub mod alua;
pub mod cmd;
pub mod copy;
pub mod device;
pub mod fabric;
pub mod gate;
pub mod group;
pub mod handler;
pub mod lun;
pub mod msg;
pub mod registry;
pub mod reservations;
pub mod saved_modes;
pub mod session;
pub mod sgv;
pub mod slots;
pub mod steps;
pub mod sys;
pub mod target;
pub mod tmf;
pub mod ua;

module! {
    type: Rscst,
    name: "rscst",
    description: "rscst SCSI target core (SCST-compatible)",
    license: "GPL",
    alias: ["scst"],
}

struct Rscst;

impl kernel::Module for Rscst {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let core = registry::Core::new()?;
        sys::abi::CORE.set(core);
        if let Some(core) = sys::abi::CoreRef::installed() {
            if let Err(e) = alua::install(core) {
                drop(sys::abi::CORE.take());
                return Err(e);
            }
        }
        pr_info!("rscst {} loaded (ABI {})\n", registry::VERSION, abi::ABI_VERSION);
        // What Documentation/architecture.md section 7.3 quotes.
        pr_info!(
            "memory: command {} B, session {} B + {} B per CPU + {} B per command slot, LUN entry {} B, device {} B\n",
            core::mem::size_of::<cmd::Cmd>(),
            core::mem::size_of::<session::Session>(),
            core::mem::size_of::<session::Stats>() + session::SHARD_BYTES,
            session::SLOT_BYTES,
            core::mem::size_of::<lun::LunEntry>(),
            core::mem::size_of::<device::Device>()
        );
        Ok(Rscst)
    }
}

impl Drop for Rscst {
    fn drop(&mut self) {
        // Fabrics and handlers hold references to this module, so none is left.
        if let Some(core) = sys::abi::CoreRef::installed() {
            alua::uninstall(&core);
        }
        drop(sys::abi::CORE.take());
        pr_info!("rscst unloaded\n");
    }
}
