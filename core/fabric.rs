// SPDX-License-Identifier: GPL-2.0
//! Fabrics (target drivers): registration and `targets/<driver>/mgmt`
//! (`add_target`, `del_target`, and the driver's own commands).

use crate::mgmt::commands::{parse_driver_cmd, DriverCmd};
use crate::msg::MgmtResult;
use crate::registry::{Core, Graveyard, Registry, Teardown};
use crate::sys::abi::CoreRef;
use crate::sys::ops::FabricRef;
use crate::sys::sysfs::{Attr, AttrOps, Dir, TextBuf};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::{new_mutex};
use crate::mgmt_err;

/// A registered fabric.
#[pin_data]
pub struct Fabric {
    /// Its ops table.
    pub ops: FabricRef,
    /// The core it is registered with.
    pub core: CoreRef,
    /// Set (under `Core::reg`) when unregistering: stores refuse.
    pub dead: AtomicBool,
    /// TMFs submitted and not yet reported with `tmf_done`.
    pub tmfs_pending: AtomicU32,
    #[pin]
    sysfs: Mutex<FabricSysfs>,
}

struct FabricSysfs {
    attrs: KVec<Attr>,
    dir: Option<Dir>,
}

impl Fabric {
    /// Runs `f` with `targets/<driver>/`.
    pub fn with_dir<R>(&self, f: impl FnOnce(Option<&Dir>) -> R) -> R {
        let s = self.sysfs.lock();
        f(s.dir.as_ref())
    }
}

impl Teardown for Fabric {
    fn teardown(&self) {
        let parts = {
            let mut s = self.sysfs.lock();
            (core::mem::take(&mut s.attrs), s.dir.take())
        };
        drop(parts);
    }
}

struct FabricMgmt {
    fabric: Arc<Fabric>,
}

impl AttrOps for FabricMgmt {
    fn show(&self, out: &mut TextBuf<'_>) {
        let _ = write!(
            out,
            "Usage: echo \"add_target target_name [parameters]\" >mgmt\n       \
             echo \"del_target target_name\" >mgmt\n"
        );
        out.push(self.fabric.ops.mgmt_help().to_bytes());
    }

    fn store(&self, input: &[u8]) -> Result {
        let fabric = &self.fabric;
        let core = fabric.core;
        core.run_mgmt(input, |reg, grave| match parse_driver_cmd(input) {
            _ if fabric.dead.load(Ordering::Acquire) => Err(mgmt_err!(ENOENT, "target driver is being unregistered")),
            Ok(DriverCmd::AddTarget { name, params }) => crate::target::add(reg, grave, fabric, name, params.as_str()),
            Ok(DriverCmd::DelTarget { name }) => crate::target::del(reg, grave, fabric, name.as_bytes()),
            Ok(DriverCmd::Other { .. }) => {
                let mut msg = [0u8; 160];
                fabric.ops.mgmt(input, &mut msg).map_err(|e| {
                    let end = msg.iter().position(|b| *b == 0).unwrap_or(msg.len());
                    let text = core::str::from_utf8(&msg[..end]).unwrap_or("?");
                    crate::msg::MgmtError::new(e, format_args!("{}", text))
                })
            }
            Err(e) => Err(mgmt_err!(EINVAL, "{}", e.message())),
        })
    }
}

/// Registers a fabric (from `rscst_register_fabric`).
pub fn register(core: CoreRef, ops: FabricRef) -> Result {
    let mut reg = core.reg.lock();
    if reg.fabrics.iter().any(|f| f.ops.name() == ops.name()) {
        return Err(EEXIST);
    }
    let dir = Dir::new(Some(&core.targets_dir), ops.name())?;
    let f = Arc::pin_init(
        pin_init!(Fabric { ops, core, dead: AtomicBool::new(false), tmfs_pending: AtomicU32::new(0), sysfs <- new_mutex!(FabricSysfs { attrs: KVec::new(), dir: Some(dir) }) }),
        GFP_KERNEL,
    )?;
    {
        let mut s = f.sysfs.lock();
        let Some(dir) = s.dir.as_ref() else { return Err(EINVAL) };
        let mgmt = dir.add_attr(c"mgmt", 0o644, Arc::new(FabricMgmt { fabric: f.clone() }, GFP_KERNEL)?)?;
        s.attrs.push(mgmt, GFP_KERNEL)?;
    }
    reg.fabrics.push(f, GFP_KERNEL)?;
    pr_info!("target driver {:?} registered\n", ops.name());
    Ok(())
}

/// Unregisters a fabric, deleting its targets first.
pub fn unregister(core: &Core, ops: *const crate::abi::FabricOps) {
    let mut gone = None;
    crate::registry::until_done(core, b"unregister_fabric", |reg: &mut Registry, grave: &mut Graveyard| -> MgmtResult {
        let Some(f) = reg.fabrics.iter().find(|f| f.ops.is(ops)).cloned() else {
            return Ok(());
        };
        gone = Some(f.clone());
        // Everything that allocates comes first, so a failure changes nothing.
        let targets = reg.targets.iter().flatten().filter(|t| Arc::ptr_eq(&t.fabric, &f)).count();
        grave.reserve(targets + 1)?;
        crate::slots::take_where(&mut reg.fabrics, |x| Arc::ptr_eq(x, &f), GFP_KERNEL)
            .map_err(|_| mgmt_err!(ENOMEM, "out of memory"))?;
        f.dead.store(true, Ordering::Release);
        crate::target::del_all(reg, grave, &f)?;
        grave.bury(f)
    });
    // TMFs submitted before its sessions went away may still be about to
    // call the fabric's `tmf_done`; its module stays until they did (the
    // TMFs of other fabrics are not waited for).
    if let Some(f) = gone {
        let mut waited = 0u64;
        while !crate::sys::time::wait_until(60_000, 5, || f.tmfs_pending.load(Ordering::Acquire) == 0) {
            waited += 60_000;
            pr_warn!("fabric {:?}: TMFs still running after {} ms\n", f.ops.name(), waited);
        }
    }
}
