// SPDX-License-Identifier: GPL-2.0
//! Turns a safe [`FabricDriver`] into the C ops table the core calls. The
//! registered driver object is `self` in every call
//! (`FabricRegistration::new(fabric_ops::<T>(..), Arc<T>)`).

use super::client::{driver_of, FabricCmd, FabricTypes, Ops, SessionId, TargetHandle};
use super::msgout::MsgOut;
use crate::abi::{CmdDesc, FabricOps, ABI_VERSION};
use core::ffi::{c_int, c_void, CStr};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// A fabric in safe Rust.
pub trait FabricDriver: FabricTypes {
    /// Per-target state.
    type Target: Send + Sync;
    /// `add_target NAME [params]`.
    fn add_target(&self, tgt: TargetHandle<Self>, name: &str, params: &str) -> Result<Arc<Self::Target>>;
    /// The target is being deleted: drop its sessions.
    fn del_target(&self, tgt: Arc<Self::Target>);
    /// A driver-specific mgmt command.
    fn mgmt(&self, line: &str, msg: &mut MsgOut<'_>) -> Result;
    /// Fetches write data into the command's buffer, then `rx_data_done`.
    fn rdy_to_xfer(&self, cmd: FabricCmd<Self>);
    /// Sends the response (or not, when aborted) and releases the command.
    fn xmit_response(&self, cmd: FabricCmd<Self>);
    /// A LUN appeared for `session`, or is about to go from it.
    fn lun_changed(&self, tgt: &Self::Target, session: SessionId, lun: u64, added: bool);
    /// A unit attention condition was established for `session` at `lun`
    /// (any context: only queue work here). A fabric whose protocol has
    /// asynchronous events may report it; by default nothing happens.
    fn ua_raised(&self, _session: &Self::Session, _lun: u64) {}
}

/// Builds the ops table for `T` (its `ctx`, a `T`, is set at registration).
pub const fn fabric_ops<T: FabricDriver>(
    name: &'static CStr,
    protocol: u32,
    flags: u32,
    help: &'static CStr,
) -> Ops<FabricOps, T> {
    let table = FabricOps {
        abi_version: ABI_VERSION,
        struct_size: core::mem::size_of::<FabricOps>() as u32,
        name: name.as_ptr(),
        flags,
        protocol,
        ctx: core::ptr::null_mut(),
        mgmt_help: help.as_ptr(),
        add_target: Some(add_target::<T>),
        del_target: Some(del_target::<T>),
        mgmt: Some(mgmt::<T>),
        enable: None,
        rdy_to_xfer: Some(rdy_to_xfer::<T>),
        xmit_response: Some(xmit_response::<T>),
        luns_changed: Some(lun_changed::<T>),
        tmf_done: Some(super::client::tmf_done_wakes_waiter),
        ua_raised: Some(ua_raised::<T>),
    };
    // SAFETY: every callback above is this adapter's for `T`, which reads
    // `ctx` as a `*const T` (`tmf_done_wakes_waiter` ignores it); the
    // strings are statics.
    unsafe { Ops::new(table) }
}

/// # Safety
/// ABI `add_target` contract: valid buffers and a writable `tgt_priv`;
/// `ctx` is the context of a registered `fabric_ops::<T>` table.
unsafe extern "C" fn add_target<T: FabricDriver>(
    ctx: *mut c_void,
    tgt: *mut crate::abi::Target,
    name: *const u8,
    name_len: usize,
    params: *const u8,
    params_len: usize,
    tgt_priv: *mut *mut c_void,
) -> c_int {
    // SAFETY: per the ABI contract.
    let (fabric, name, params) = unsafe {
        (
            driver_of::<T>(ctx),
            core::slice::from_raw_parts(name, name_len),
            core::slice::from_raw_parts(params, params_len),
        )
    };
    let (Ok(name), Ok(params)) = (core::str::from_utf8(name), core::str::from_utf8(params)) else {
        return EINVAL.to_errno();
    };
    // SAFETY: the handle the core passed to this table's add_target, whose
    // commands carry `T`'s contexts (this adapter is the only writer).
    match fabric.add_target(unsafe { TargetHandle::from_raw(tgt) }, name, params) {
        Ok(t) => {
            // SAFETY: `tgt_priv` is writable (ABI); released in del_target.
            unsafe { *tgt_priv = Arc::into_raw(t).cast_mut().cast() };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// `ctx` as for `add_target`; `p` came from `add_target::<T>` and is
/// released once.
unsafe extern "C" fn del_target<T: FabricDriver>(ctx: *mut c_void, p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: our context; `p` from Arc::into_raw in add_target.
        let (fabric, t) = unsafe { (driver_of::<T>(ctx), Arc::from_raw(p.cast::<T::Target>())) };
        fabric.del_target(t);
    }
}

/// # Safety
/// ABI `mgmt` contract; `ctx` as for `add_target`.
unsafe extern "C" fn mgmt<T: FabricDriver>(
    ctx: *mut c_void,
    line: *const u8,
    len: usize,
    msg: *mut u8,
    msg_len: usize,
) -> c_int {
    // SAFETY: per the ABI contract.
    let (fabric, line, msg) = unsafe {
        (driver_of::<T>(ctx), core::slice::from_raw_parts(line, len), core::slice::from_raw_parts_mut(msg, msg_len))
    };
    let mut out = MsgOut::new(msg);
    let Ok(line) = core::str::from_utf8(line) else { return EINVAL.to_errno() };
    match fabric.mgmt(line, &mut out) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// ABI `rdy_to_xfer` contract; `ctx` as for `add_target`.
unsafe extern "C" fn rdy_to_xfer<T: FabricDriver>(ctx: *mut c_void, cmd: *mut CmdDesc) -> c_int {
    // SAFETY: our context; the core hands us a command of one of our
    // sessions (registered as `SessionHandle<T>`).
    match unsafe { (driver_of::<T>(ctx), FabricCmd::<T>::from_raw(cmd)) } {
        (fabric, Some(c)) => {
            fabric.rdy_to_xfer(c);
            0
        }
        (_, None) => EINVAL.to_errno(),
    }
}

/// # Safety
/// ABI `xmit_response` contract; `ctx` as for `add_target`.
unsafe extern "C" fn xmit_response<T: FabricDriver>(ctx: *mut c_void, cmd: *mut CmdDesc) {
    // SAFETY: as in `rdy_to_xfer`.
    if let (fabric, Some(c)) = unsafe { (driver_of::<T>(ctx), FabricCmd::<T>::from_raw(cmd)) } {
        fabric.xmit_response(c)
    }
}

/// # Safety
/// `ctx` as for `add_target`; `sess_priv` is the context a session of this
/// fabric was registered with (`SessionHandle::register`: a
/// `*const T::Session` kept alive until after its unregistration), and the
/// session is still registered (ABI `ua_raised` contract).
unsafe extern "C" fn ua_raised<T: FabricDriver>(ctx: *mut c_void, sess_priv: *mut c_void, lun: u64) {
    if sess_priv.is_null() {
        return;
    }
    // SAFETY: per the caller.
    let (fabric, session) = unsafe { (driver_of::<T>(ctx), &*sess_priv.cast_const().cast::<T::Session>()) };
    fabric.ua_raised(session, lun)
}

/// # Safety
/// `ctx` as for `add_target`; `p` came from `add_target::<T>` and the
/// target is not deleted yet.
unsafe extern "C" fn lun_changed<T: FabricDriver>(
    ctx: *mut c_void,
    p: *mut c_void,
    sess: *mut crate::abi::Session,
    lun: u64,
    added: bool,
) {
    if p.is_null() {
        return;
    }
    // SAFETY: our context; the Arc from add_target is alive until del_target.
    let (fabric, t): (&T, ArcBorrow<'_, T::Target>) =
        unsafe { (driver_of::<T>(ctx), ArcBorrow::from_raw(p.cast::<T::Target>())) };
    fabric.lun_changed(&t, SessionId::of_raw(sess), lun, added)
}
