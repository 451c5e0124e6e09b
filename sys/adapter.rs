// SPDX-License-Identifier: GPL-2.0
//! Turns a safe [`DevHandler`] implementation into the C ops table the core
//! calls (the `OperationsVTable` pattern of rust/kernel/block/mq).

use super::client::{driver_of, IoCmd, Ops, RawCmd};
use crate::abi::{scsi_exec, DeviceSetup, HandlerOps, ABI_VERSION};
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
    /// `exec` deallocates (`io_op::DISCARD`) and reports provisioning
    /// (`io_op::LBA_STATUS`); deallocated blocks read as zeros.
    pub thin_provisioned: bool,
}

/// A device handler in safe Rust. The registered object is `self` in
/// every call (`HandlerRegistration::new(handler_ops::<T>(..), Arc<T>)`).
pub trait DevHandler: Send + Sync + 'static {
    /// Per-device state.
    type Dev: Send + Sync;
    /// The handler has the block tier: `exec` gets READ, WRITE and FLUSH.
    const BLOCK_TIER: bool = true;
    /// The handler has the raw SCSI tier: `exec_scsi` sees every command.
    const RAW_TIER: bool = false;
    /// The handler wants to hear of TMFs that aborted its commands.
    const TASK_MGMT: bool = false;
    /// Opens a device from its `add_device` parameters.
    fn attach(&self, name: &str, params: &str, msg: &mut MsgOut<'_>) -> Result<(KBox<Self::Dev>, Geometry)>;
    /// Executes a command (READ, WRITE, FLUSH) and completes it (only
    /// called with [`DevHandler::BLOCK_TIER`]).
    fn exec(&self, _dev: &Self::Dev, cmd: IoCmd) {
        cmd.complete(Some(INVALID_OPCODE))
    }
    /// The raw SCSI tier (only called with [`DevHandler::RAW_TIER`]):
    /// completes the command, or gives it back for the core to emulate.
    fn exec_scsi(&self, _dev: &Self::Dev, cmd: RawCmd) -> Result<(), RawCmd> {
        Err(cmd)
    }
    /// Formats extra attribute `index`.
    fn show_attr(&self, _dev: &Self::Dev, _index: u32, _out: &mut MsgOut<'_>) {}
    /// A TMF marked commands of `dev` aborted (only called with
    /// [`DevHandler::TASK_MGMT`]).
    fn task_mgmt(&self, _dev: &Self::Dev, _function: u8) {}
    /// The handler can say its backing store's size again (`resync_size`).
    const RESIZES: bool = false;
    /// The backing store's size now, in bytes (only called with
    /// [`DevHandler::RESIZES`]; thread context).
    fn size(&self, _dev: &Self::Dev) -> Result<u64> {
        Err(EINVAL)
    }
}

/// ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE.
const INVALID_OPCODE: (u8, u8, u8) = (0x05, 0x20, 0x00);

/// Builds the ops table for `T` (its `ctx`, a `T`, is set at
/// registration). `attr_names` must end with an empty name (`"\0\0"`).
pub const fn handler_ops<T: DevHandler>(
    name: &'static CStr,
    flags: u32,
    params_help: &'static CStr,
    attr_names: &'static [u8],
) -> Ops<HandlerOps, T> {
    // The core walks the list until an empty name: it must end in one.
    let n = attr_names.len();
    assert!(n >= 1 && attr_names[n - 1] == 0 && (n == 1 || attr_names[n - 2] == 0), "attr_names must end with an empty name");
    let table = HandlerOps {
        abi_version: ABI_VERSION,
        struct_size: core::mem::size_of::<HandlerOps>() as u32,
        name: name.as_ptr(),
        flags,
        device_type: 0,
        ctx: core::ptr::null_mut(),
        params_help: params_help.as_ptr(),
        attach: Some(attach::<T>),
        detach: Some(detach::<T>),
        exec: if T::BLOCK_TIER { Some(exec::<T>) } else { None },
        exec_scsi: if T::RAW_TIER { Some(exec_scsi::<T>) } else { None },
        show_attr: Some(show_attr::<T>),
        attr_names: attr_names.as_ptr().cast::<c_char>(),
        task_mgmt: if T::TASK_MGMT { Some(task_mgmt::<T>) } else { None },
        size: if T::RESIZES { Some(size::<T>) } else { None },
    };
    // SAFETY: every callback above is this adapter's for `T`, which reads
    // `ctx` as a `*const T`; the strings are statics.
    unsafe { Ops::new(table) }
}

/// # Safety
/// `ctx` is the context of a registered `handler_ops::<T>` table; `dev`
/// came from its `attach` and is not detached (ABI `size` contract).
unsafe extern "C" fn size<T: DevHandler>(ctx: *mut c_void, dev: *mut c_void) -> i64 {
    if dev.is_null() {
        return i64::from(EINVAL.to_errno());
    }
    // SAFETY: per the caller.
    let (h, dev) = unsafe { (driver_of::<T>(ctx), &*dev.cast::<T::Dev>()) };
    match h.size(dev) {
        Ok(bytes) => i64::try_from(bytes).unwrap_or(i64::MAX),
        Err(e) => i64::from(e.to_errno()),
    }
}

/// # Safety
/// `ctx` is the context of a registered `handler_ops::<T>` table; `dev`
/// came from its `attach` and is not detached (ABI `task_mgmt` contract).
unsafe extern "C" fn task_mgmt<T: DevHandler>(ctx: *mut c_void, dev: *mut c_void, function: u8) {
    if !dev.is_null() {
        // SAFETY: per the caller.
        let (h, dev) = unsafe { (driver_of::<T>(ctx), &*dev.cast::<T::Dev>()) };
        h.task_mgmt(dev, function)
    }
}

/// # Safety
/// Called by the core with valid buffers (ABI `attach` contract), `ctx`
/// the context of a registered `handler_ops::<T>` table.
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn attach<T: DevHandler>(
    ctx: *mut c_void,
    name: *const u8,
    name_len: usize,
    params: *const u8,
    params_len: usize,
    setup: *mut DeviceSetup,
    msg: *mut u8,
    msg_len: usize,
) -> c_int {
    // SAFETY: the core passes valid buffers of these lengths and our context.
    let (h, name, params, msg, setup) = unsafe {
        (
            driver_of::<T>(ctx),
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
    match h.attach(name, params, &mut out) {
        Ok((dev, geo)) => {
            setup.dev_priv = KBox::into_raw(dev).cast();
            setup.block_size = geo.block_size;
            setup.num_blocks = geo.num_blocks;
            setup.read_only = u8::from(geo.read_only);
            setup.write_cache = u8::from(geo.write_cache);
            setup.rotational = u8::from(geo.rotational);
            setup.size_is_key = u8::from(geo.size_is_key);
            setup.thin_provisioned = u8::from(geo.thin_provisioned);
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// `dev` came from `attach::<T>` and is released once.
unsafe extern "C" fn detach<T: DevHandler>(_ctx: *mut c_void, dev: *mut c_void) {
    if !dev.is_null() {
        // SAFETY: allocated by KBox in `attach::<T>`.
        drop(unsafe { KBox::from_raw(dev.cast::<T::Dev>()) });
    }
}

/// # Safety
/// `ctx` is the context of a registered `handler_ops::<T>` table; `cmd` is
/// a command handed to it whose `dev_priv` came from `attach::<T>`.
unsafe extern "C" fn exec<T: DevHandler>(ctx: *mut c_void, cmd: *mut crate::abi::CmdDesc) {
    // SAFETY: per the ABI `exec` contract.
    let Some(cmd) = (unsafe { IoCmd::from_raw(cmd) }) else { return };
    // SAFETY: our context; dev_priv is our device, alive until detach,
    // which the core only calls after every command completed.
    let (h, dev) = unsafe { (driver_of::<T>(ctx), &*cmd.dev_priv().cast::<T::Dev>()) };
    h.exec(dev, cmd)
}

/// # Safety
/// As for `exec`, with the ABI `exec_scsi` contract.
unsafe extern "C" fn exec_scsi<T: DevHandler>(ctx: *mut c_void, cmd: *mut crate::abi::CmdDesc) -> c_int {
    let given = cmd;
    // SAFETY: per the ABI `exec_scsi` contract.
    let Some(cmd) = (unsafe { RawCmd::from_raw(cmd) }) else { return scsi_exec::NOT_HANDLED };
    // SAFETY: as in `exec`.
    let (h, dev) = unsafe { (driver_of::<T>(ctx), &*cmd.dev_priv().cast::<T::Dev>()) };
    match h.exec_scsi(dev, cmd) {
        Ok(()) => scsi_exec::ACCEPTED,
        // Declined: the command is the core's again.
        Err(back) if core::ptr::eq(back.as_ptr(), given) => {
            let _ = back.into_raw();
            scsi_exec::NOT_HANDLED
        }
        Err(other) => {
            // Gave back another command (one it had kept) and kept this
            // one: this one stays the handler's; the other is completed
            // with an error by its drop.
            drop(other);
            scsi_exec::ACCEPTED
        }
    }
}

/// # Safety
/// `ctx` is the context of a registered `handler_ops::<T>` table; `dev`
/// came from its `attach`; `buf` holds `len` bytes.
unsafe extern "C" fn show_attr<T: DevHandler>(
    ctx: *mut c_void,
    dev: *mut c_void,
    index: u32,
    buf: *mut u8,
    len: usize,
) -> usize {
    if dev.is_null() || buf.is_null() {
        return 0;
    }
    // SAFETY: per the caller.
    let (h, dev, buf) =
        unsafe { (driver_of::<T>(ctx), &*(dev.cast::<T::Dev>()), core::slice::from_raw_parts_mut(buf, len)) };
    let mut out = MsgOut::new(buf);
    h.show_attr(dev, index, &mut out);
    out.len()
}
