// SPDX-License-Identifier: GPL-2.0
//! Turns a safe [`FabricDriver`] into the C ops table the core calls.

use super::client::{FabricCmd, TargetHandle};
use super::msgout::MsgOut;
use crate::abi::{CmdDesc, FabricOps, ABI_VERSION};
use core::ffi::{c_int, c_void, CStr};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// A fabric in safe Rust.
pub trait FabricDriver: 'static {
    /// Per-target state.
    type Target: Send + Sync;
    /// `add_target NAME [params]`.
    fn add_target(tgt: TargetHandle, name: &str, params: &str) -> Result<Arc<Self::Target>>;
    /// The target is being deleted: drop its sessions.
    fn del_target(tgt: Arc<Self::Target>);
    /// A driver-specific mgmt command.
    fn mgmt(line: &str, msg: &mut MsgOut<'_>) -> Result;
    /// Fetches write data into the command's buffer, then `rx_data_done`.
    fn rdy_to_xfer(cmd: FabricCmd);
    /// Sends the response (or not, when aborted) and releases the command.
    fn xmit_response(cmd: FabricCmd);
    /// A LUN appeared for the session whose [`SessionHandle::id`] is
    /// `session`, or is about to go from it.
    ///
    /// [`SessionHandle::id`]: super::client::SessionHandle::id
    fn lun_changed(tgt: &Self::Target, session: usize, lun: u64, added: bool);
}

/// Builds the ops table for `T`.
pub const fn fabric_ops<T: FabricDriver>(name: &'static CStr, flags: u32, help: &'static CStr) -> FabricOps {
    FabricOps {
        abi_version: ABI_VERSION,
        struct_size: core::mem::size_of::<FabricOps>() as u32,
        name: name.as_ptr(),
        flags,
        _reserved: 0,
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
    }
}

/// # Safety
/// ABI `add_target` contract: valid buffers and a writable `tgt_priv`.
unsafe extern "C" fn add_target<T: FabricDriver>(
    _ctx: *mut c_void,
    tgt: *mut crate::abi::Target,
    name: *const u8,
    name_len: usize,
    params: *const u8,
    params_len: usize,
    tgt_priv: *mut *mut c_void,
) -> c_int {
    // SAFETY: per the ABI contract.
    let (name, params) = unsafe {
        (core::slice::from_raw_parts(name, name_len), core::slice::from_raw_parts(params, params_len))
    };
    let (Ok(name), Ok(params)) = (core::str::from_utf8(name), core::str::from_utf8(params)) else {
        return EINVAL.to_errno();
    };
    // SAFETY: the handle the core passed to add_target.
    match T::add_target(unsafe { TargetHandle::from_raw(tgt) }, name, params) {
        Ok(t) => {
            // SAFETY: `tgt_priv` is writable (ABI); released in del_target.
            unsafe { *tgt_priv = Arc::into_raw(t).cast_mut().cast() };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// `p` came from `add_target::<T>` and is released once.
unsafe extern "C" fn del_target<T: FabricDriver>(p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: from Arc::into_raw in add_target.
        T::del_target(unsafe { Arc::from_raw(p.cast::<T::Target>()) });
    }
}

/// # Safety
/// ABI `mgmt` contract.
unsafe extern "C" fn mgmt<T: FabricDriver>(
    _ctx: *mut c_void,
    line: *const u8,
    len: usize,
    msg: *mut u8,
    msg_len: usize,
) -> c_int {
    // SAFETY: per the ABI contract.
    let (line, msg) = unsafe { (core::slice::from_raw_parts(line, len), core::slice::from_raw_parts_mut(msg, msg_len)) };
    let mut out = MsgOut::new(msg);
    let Ok(line) = core::str::from_utf8(line) else { return EINVAL.to_errno() };
    match T::mgmt(line, &mut out) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// ABI `rdy_to_xfer` contract.
unsafe extern "C" fn rdy_to_xfer<T: FabricDriver>(cmd: *mut CmdDesc) -> c_int {
    // SAFETY: the core hands us the command.
    match unsafe { FabricCmd::from_raw(cmd) } {
        Some(c) => {
            T::rdy_to_xfer(c);
            0
        }
        None => EINVAL.to_errno(),
    }
}

/// # Safety
/// ABI `xmit_response` contract.
unsafe extern "C" fn xmit_response<T: FabricDriver>(cmd: *mut CmdDesc) {
    // SAFETY: the core hands us the command.
    if let Some(c) = unsafe { FabricCmd::from_raw(cmd) } {
        T::xmit_response(c)
    }
}

/// # Safety
/// `p` came from `add_target::<T>` and the target is not deleted yet.
unsafe extern "C" fn lun_changed<T: FabricDriver>(p: *mut c_void, sess: *mut crate::abi::Session, lun: u64, added: bool) {
    if p.is_null() {
        return;
    }
    // SAFETY: the Arc from add_target is alive until del_target.
    let t: ArcBorrow<'_, T::Target> = unsafe { ArcBorrow::from_raw(p.cast::<T::Target>()) };
    T::lun_changed(&t, sess as usize, lun, added)
}
