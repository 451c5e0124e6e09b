// SPDX-License-Identifier: GPL-2.0
//! Device handlers: registration and `handlers/<name>/mgmt`
//! (`add_device NAME [k=v; ...]`, `del_device NAME`).

use crate::sys::compat::NameBytes;
use crate::mgmt::commands::{parse_handler_cmd, HandlerCmd};
use crate::msg::MgmtResult;
use crate::registry::{Core, Graveyard, Registry, Teardown};
use crate::sys::abi::CoreRef;
use crate::sys::ops::HandlerRef;
use crate::sys::sysfs::{Attr, AttrOps, Dir, Link, TextBuf};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{Arc, Mutex};
use kernel::{new_mutex};
use crate::mgmt_err;

/// A registered device handler.
#[pin_data]
pub struct Handler {
    /// Its ops table.
    pub ops: HandlerRef,
    /// The core it is registered with.
    pub core: CoreRef,
    /// Set (under `Core::reg`) when unregistering: stores refuse.
    pub dead: AtomicBool,
    /// `handlers/<name>/` and its files.
    #[pin]
    sysfs: Mutex<HandlerSysfs>,
}

struct HandlerSysfs {
    /// Links `handlers/<h>/<device>` -> `devices/<device>`.
    links: KVec<Option<(CString, Link)>>,
    attrs: KVec<Attr>,
    dir: Option<Dir>,
}

impl Handler {
    /// Handler name.
    pub fn name(&self) -> &core::ffi::CStr {
        self.ops.name()
    }

    /// Runs `f` with `handlers/<h>/`.
    pub fn with_dir<R>(&self, f: impl FnOnce(Option<&Dir>) -> R) -> R {
        let s = self.sysfs.lock();
        f(s.dir.as_ref())
    }

    /// Adds the `handlers/<h>/<device>` link.
    pub fn link_device(&self, dev_dir: &Dir, name: &CString) -> Result {
        let mut s = self.sysfs.lock();
        let Some(dir) = s.dir.as_ref() else { return Ok(()) };
        let link = dir.add_link(dev_dir, name)?;
        let name = CString::try_from(&**name)?;
        crate::slots::insert(&mut s.links, (name, link), GFP_KERNEL)?;
        Ok(())
    }

    /// Removes the `handlers/<h>/<device>` link.
    pub fn unlink_device(&self, name: &[u8]) {
        let mut s = self.sysfs.lock();
        for slot in s.links.iter_mut() {
            if slot.as_ref().is_some_and(|(n, _)| n.name_bytes() == name) {
                *slot = None;
            }
        }
    }
}

impl Teardown for Handler {
    fn teardown(&self) {
        // Dropping a file waits for its running stores, which may wait for
        // this mutex: take everything out, then drop it unlocked.
        let parts = {
            let mut s = self.sysfs.lock();
            (core::mem::take(&mut s.links), core::mem::take(&mut s.attrs), s.dir.take())
        };
        drop(parts);
    }
}

struct HandlerMgmt {
    handler: Arc<Handler>,
}

impl AttrOps for HandlerMgmt {
    fn show(&self, out: &mut TextBuf<'_>) {
        let _ = write!(
            out,
            "Usage: echo \"add_device device_name [parameters]\" >mgmt\n       \
             echo \"del_device device_name\" >mgmt\n\n\
             where parameters are one or more param_name=value pairs separated by ';'\n\n\
             The following parameters available: "
        );
        out.push(self.handler.ops.params_help().to_bytes());
        out.push(b"\n");
    }

    fn store(&self, input: &[u8]) -> Result {
        let core = self.handler.core;
        core.run_mgmt(input, |reg, grave| match parse_handler_cmd(input) {
            _ if self.handler.dead.load(Ordering::Acquire) => Err(mgmt_err!(ENOENT, "handler is being unregistered")),
            Ok(HandlerCmd::AddDevice { name, params }) => {
                crate::device::add(&core, reg, grave, &self.handler, name, params.as_str())
            }
            Ok(HandlerCmd::DelDevice { name }) => crate::device::del(reg, grave, name.as_bytes()),
            Err(e) => Err(mgmt_err!(EINVAL, "{}", e.message())),
        })
    }
}

struct HandlerType {
    handler: Arc<Handler>,
}

impl AttrOps for HandlerType {
    fn show(&self, out: &mut TextBuf<'_>) {
        let t = self.handler.ops.device_type();
        let _ = writeln!(out, "{} - {}", t, crate::device::type_name(t));
    }
}

/// Registers a handler (from `rscst_register_handler`).
pub fn register(core: CoreRef, ops: HandlerRef) -> Result {
    let mut reg = core.reg.lock();
    if reg.handlers.iter().any(|h| h.name() == ops.name()) {
        pr_err!("handler {:?} already registered\n", ops.name());
        return Err(EEXIST);
    }
    let dir = Dir::new(Some(&core.handlers_dir), ops.name())?;
    let h = Arc::pin_init(
        pin_init!(Handler {
            ops,
            core,
            dead: AtomicBool::new(false),
            sysfs <- new_mutex!(HandlerSysfs { links: KVec::new(), attrs: KVec::new(), dir: Some(dir) }),
        }),
        GFP_KERNEL,
    )?;
    {
        let mut s = h.sysfs.lock();
        let Some(dir) = s.dir.as_ref() else { return Err(EINVAL) };
        let mgmt = dir.add_attr(c"mgmt", 0o644, Arc::new(HandlerMgmt { handler: h.clone() }, GFP_KERNEL)?)?;
        let ty = dir.add_attr(c"type", 0o444, Arc::new(HandlerType { handler: h.clone() }, GFP_KERNEL)?)?;
        s.attrs.push(mgmt, GFP_KERNEL)?;
        s.attrs.push(ty, GFP_KERNEL)?;
    }
    reg.handlers.push(h, GFP_KERNEL)?;
    pr_info!("handler {:?} registered\n", ops.name());
    Ok(())
}

/// Unregisters a handler, deleting its devices (from `rscst_unregister_handler`).
pub fn unregister(core: &Core, ops: *const crate::abi::HandlerOps) {
    crate::registry::until_done(core, b"unregister_handler", |reg: &mut Registry, grave: &mut Graveyard| -> MgmtResult {
        if !reg.handlers.iter().any(|h| h.ops.is(ops)) {
            return Ok(());
        }
        // Everything that allocates comes first, so a failure changes nothing.
        let devices = reg.devices.iter().flatten().filter(|d| d.handler.ops.is(ops)).count();
        grave.reserve(devices + 1)?;
        let gone = crate::slots::take_where(&mut reg.handlers, |h| h.ops.is(ops), GFP_KERNEL)
            .map_err(|_| mgmt_err!(ENOMEM, "out of memory"))?;
        for h in gone {
            h.dead.store(true, Ordering::Release);
            grave.bury(h)?;
        }
        loop {
            let next = reg.devices.iter().flatten().find(|d| d.handler.ops.is(ops)).cloned();
            let Some(d) = next else { return Ok(()) };
            crate::device::force_del(reg, grave, d.name.name_bytes())?;
        }
    });
}
