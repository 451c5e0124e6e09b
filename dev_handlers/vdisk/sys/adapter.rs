// SPDX-License-Identifier: GPL-2.0
//! Turns a safe [`DevHandler`] implementation into the C ops table the core
//! calls (the `OperationsVTable` pattern of rust/kernel/block/mq).

use super::client::IoCmd;
use crate::abi::{DeviceSetup, HandlerOps, ABI_VERSION};
use core::ffi::{c_char, c_int, c_void, CStr};
use core::fmt;
pub use super::msgout::MsgOut;
use kernel::prelude::*;

/// Size and flags of a device, reported at attach.
pub struct Geometry {
    /// Block size in bytes.
    pub block_size: u32,
    /// Capacity in blocks.
    pub num_blocks: u64,
    /// Refuses writes.
    pub read_only: bool,
    /// Volatile write cache (WCE).
    pub write_cache: bool,
    /// Rotating medium.
    pub rotational: bool,
    /// The size came from the configuration, not from the backing store.
    pub size_is_key: bool,
}

/// A device handler in safe Rust.
pub trait DevHandler: 'static {
    /// Per-device state.
    type Dev: Send + Sync;
    /// Opens a device from its `add_device` parameters.
    fn attach(name: &str, params: &str, msg: &mut MsgOut<'_>) -> Result<(KBox<Self::Dev>, Geometry)>;
    /// Executes a command (READ, WRITE, FLUSH) and completes it.
    fn exec(dev: &Self::Dev, cmd: IoCmd);
    /// Formats extra attribute `index`.
    fn show_attr(dev: &Self::Dev, index: u32, out: &mut MsgOut<'_>);
    /// A TMF marked commands of `dev` aborted (only called for tables built
    /// with [`with_task_mgmt`]).
    fn task_mgmt(_dev: &Self::Dev, _function: u8) {}
}

/// Adds `T::task_mgmt` as the table's `task_mgmt` hook.
pub const fn with_task_mgmt<T: DevHandler>(mut ops: HandlerOps) -> HandlerOps {
    ops.task_mgmt = Some(task_mgmt::<T>);
    ops
}

/// # Safety
/// `dev` came from `attach::<T>` and is not detached (ABI `task_mgmt` contract).
unsafe extern "C" fn task_mgmt<T: DevHandler>(dev: *mut c_void, function: u8) {
    if !dev.is_null() {
        // SAFETY: per the caller.
        T::task_mgmt(unsafe { &*dev.cast::<T::Dev>() }, function)
    }
}

/// Builds the ops table for `T`.
pub const fn handler_ops<T: DevHandler>(
    name: &'static CStr,
    flags: u32,
    params_help: &'static CStr,
    attr_names: &'static [u8],
) -> HandlerOps {
    HandlerOps {
        abi_version: ABI_VERSION,
        struct_size: core::mem::size_of::<HandlerOps>() as u32,
        name: name.as_ptr(),
        flags,
        device_type: 0,
        ctx: core::ptr::null_mut(),
        params_help: params_help.as_ptr(),
        attach: Some(attach::<T>),
        detach: Some(detach::<T>),
        exec: Some(exec::<T>),
        show_attr: Some(show_attr::<T>),
        attr_names: attr_names.as_ptr().cast::<c_char>(),
        task_mgmt: None,
    }
}

/// # Safety
/// Called by the core with valid buffers (ABI `attach` contract).
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn attach<T: DevHandler>(
    _ctx: *mut c_void,
    name: *const u8,
    name_len: usize,
    params: *const u8,
    params_len: usize,
    setup: *mut DeviceSetup,
    msg: *mut u8,
    msg_len: usize,
) -> c_int {
    // SAFETY: the core passes valid buffers of these lengths.
    let (name, params, msg, setup) = unsafe {
        (
            core::slice::from_raw_parts(name, name_len),
            core::slice::from_raw_parts(params, params_len),
            core::slice::from_raw_parts_mut(msg, msg_len),
            &mut *setup,
        )
    };
    let mut out = MsgOut::new(msg);
    let (Ok(name), Ok(params)) = (core::str::from_utf8(name), core::str::from_utf8(params)) else {
        let _ = fmt::Write::write_str(&mut out, "parameters are not UTF-8");
        return EINVAL.to_errno();
    };
    match T::attach(name, params, &mut out) {
        Ok((dev, geo)) => {
            setup.dev_priv = KBox::into_raw(dev) as usize;
            setup.block_size = geo.block_size;
            setup.num_blocks = geo.num_blocks;
            setup.read_only = u8::from(geo.read_only);
            setup.write_cache = u8::from(geo.write_cache);
            setup.rotational = u8::from(geo.rotational);
            setup.size_is_key = u8::from(geo.size_is_key);
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// `dev` came from `attach::<T>` and is released once.
unsafe extern "C" fn detach<T: DevHandler>(dev: *mut c_void) {
    if !dev.is_null() {
        // SAFETY: allocated by KBox in `attach::<T>`.
        drop(unsafe { KBox::from_raw(dev.cast::<T::Dev>()) });
    }
}

/// # Safety
/// `cmd` is a command handed to this handler whose `dev_priv` came from `attach::<T>`.
unsafe extern "C" fn exec<T: DevHandler>(cmd: *mut crate::abi::CmdDesc) {
    // SAFETY: per the ABI `exec` contract.
    let Some(cmd) = (unsafe { IoCmd::from_raw(cmd) }) else { return };
    // SAFETY: dev_priv is our device, alive until detach, which the core only
    // calls after every command completed.
    let dev = unsafe { &*(cmd.dev_priv() as *const T::Dev) };
    T::exec(dev, cmd)
}

/// # Safety
/// `dev` came from `attach::<T>`; `buf` holds `len` bytes.
unsafe extern "C" fn show_attr<T: DevHandler>(dev: *mut c_void, index: u32, buf: *mut u8, len: usize) -> usize {
    if dev.is_null() || buf.is_null() {
        return 0;
    }
    // SAFETY: per the caller.
    let (dev, buf) = unsafe { (&*(dev.cast::<T::Dev>()), core::slice::from_raw_parts_mut(buf, len)) };
    let mut out = MsgOut::new(buf);
    T::show_attr(dev, index, &mut out);
    out.len()
}
