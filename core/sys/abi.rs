// SPDX-License-Identifier: GPL-2.0
//! The C functions rscst.ko exports to fabrics and handlers (signatures in
//! crates/abi `exports`), translating raw handles into safe ones.

use super::global::Global;
use super::ops::{CmdPtr, FabricRef, HandlerRef, TableError};
use super::sg::SgList;
use crate::abi::{self, exports, CmdDesc, FabricOps, HandlerOps};
use crate::registry::Core;
use crate::session::Session;
use crate::target::Target;
use core::ffi::{c_int, c_void};
use kernel::error::code;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// The core, for entry points that carry no context. Everything else reaches
/// it through the object graph ([`CoreRef`] in fabrics and handlers).
pub static CORE: Global<Core> = Global::new();

/// The core as the objects it owns (fabrics and handlers, and through them
/// targets, sessions, groups, commands and their sysfs files) refer to it.
///
/// # Invariants
/// Points to the core installed in [`CORE`]. It is dropped only at module
/// exit, after every fabric and handler module unregistered (they hold
/// references to this module) and after its own sysfs files are removed,
/// so it outlives every object holding a `CoreRef`.
#[derive(Clone, Copy)]
pub struct CoreRef(core::ptr::NonNull<Core>);

// SAFETY: Core is Sync; the reference is valid on any thread (invariant).
unsafe impl Send for CoreRef {}
// SAFETY: as above.
unsafe impl Sync for CoreRef {}

impl CoreRef {
    /// The installed core, while the module is live.
    pub(crate) fn installed() -> Option<CoreRef> {
        // INVARIANT: the installed core.
        CORE.get().map(|c| CoreRef(core::ptr::NonNull::from(c)))
    }
}

impl core::ops::Deref for CoreRef {
    type Target = Core;
    fn deref(&self) -> &Core {
        // SAFETY: alive as long as any holder (invariant).
        unsafe { self.0.as_ref() }
    }
}

fn report(what: &str, e: TableError) -> c_int {
    pr_err!("{} refused: {:?}\n", what, e);
    code::EINVAL.to_errno()
}

/// Converts a fabric's target handle back.
///
/// # Safety
/// `tgt` came from `target_handle` for a target that still exists (fabrics
/// may use it only between `add_target` and `del_target` returning).
unsafe fn target_from_handle(tgt: *mut abi::Target) -> Option<Arc<Target>> {
    if tgt.is_null() {
        return None;
    }
    // SAFETY: per the caller the target's Arc is alive.
    let b: ArcBorrow<'_, Target> = unsafe { ArcBorrow::from_raw(tgt.cast::<Target>()) };
    Some(b.into())
}

/// The handle a fabric gets for a target (borrowed, see `target_from_handle`).
pub fn target_handle(t: &Arc<Target>) -> *mut abi::Target {
    let p: *const Target = &**t;
    p.cast_mut().cast()
}

/// # Safety
/// `sess` came from `rscst_session_register` and is not yet unregistered.
unsafe fn session_borrow<'a>(sess: *mut abi::Session) -> ArcBorrow<'a, Session> {
    // SAFETY: per the caller the session's Arc is alive.
    unsafe { ArcBorrow::from_raw(sess.cast::<Session>()) }
}

/// Returns the ABI version (lets clients check before registering).
#[no_mangle]
pub unsafe extern "C" fn rscst_abi_version() -> u32 {
    abi::ABI_VERSION
}
const _: exports::AbiVersion = rscst_abi_version;

/// See [`exports::RegisterHandler`].
#[no_mangle]
pub unsafe extern "C" fn rscst_register_handler(ops: *const HandlerOps) -> c_int {
    let Some(core) = CoreRef::installed() else { return code::ENODEV.to_errno() };
    // SAFETY: the ABI requires a valid table that outlives registration.
    match unsafe { HandlerRef::validate(ops) } {
        Ok(h) => match crate::handler::register(core, h) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        },
        Err(e) => report("handler", e),
    }
}
const _: exports::RegisterHandler = rscst_register_handler;

/// See [`exports::UnregisterHandler`].
#[no_mangle]
pub unsafe extern "C" fn rscst_unregister_handler(ops: *const HandlerOps) {
    if let Some(core) = CORE.get() {
        crate::handler::unregister(core, ops);
    }
}
const _: exports::UnregisterHandler = rscst_unregister_handler;

/// See [`exports::RegisterFabric`].
#[no_mangle]
pub unsafe extern "C" fn rscst_register_fabric(ops: *const FabricOps) -> c_int {
    let Some(core) = CoreRef::installed() else { return code::ENODEV.to_errno() };
    // SAFETY: the ABI requires a valid table that outlives registration.
    match unsafe { FabricRef::validate(ops) } {
        Ok(f) => match crate::fabric::register(core, f) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        },
        Err(e) => report("fabric", e),
    }
}
const _: exports::RegisterFabric = rscst_register_fabric;

/// See [`exports::UnregisterFabric`].
#[no_mangle]
pub unsafe extern "C" fn rscst_unregister_fabric(ops: *const FabricOps) {
    if let Some(core) = CORE.get() {
        crate::fabric::unregister(core, ops);
    }
}
const _: exports::UnregisterFabric = rscst_unregister_fabric;

/// See [`exports::SessionRegister`].
#[no_mangle]
pub unsafe extern "C" fn rscst_session_register(
    tgt: *mut abi::Target,
    initiator: *const u8,
    initiator_len: usize,
    sess_priv: *mut c_void,
) -> *mut abi::Session {
    super::context::assert_may_sleep();
    // SAFETY: the fabric passes the handle it got in add_target (ABI rule).
    let Some(target) = (unsafe { target_from_handle(tgt) }) else {
        return core::ptr::null_mut();
    };
    if initiator.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: the fabric passes `initiator_len` readable bytes.
    let name = unsafe { core::slice::from_raw_parts(initiator, initiator_len) };
    match crate::session::register(&target, name, sess_priv as usize) {
        Ok(s) => Arc::into_raw(s).cast_mut().cast(),
        Err(e) => {
            pr_err!("session registration failed: {:?}\n", e);
            core::ptr::null_mut()
        }
    }
}
const _: exports::SessionRegister = rscst_session_register;

/// See [`exports::SessionUnregister`].
#[no_mangle]
pub unsafe extern "C" fn rscst_session_unregister(sess: *mut abi::Session) {
    super::context::assert_may_sleep();
    if sess.is_null() {
        return;
    }
    // SAFETY: the pointer came from Arc::into_raw in rscst_session_register
    // and the fabric gives up its reference here.
    let s: Arc<Session> = unsafe { Arc::from_raw(sess.cast::<Session>()) };
    crate::session::unregister(s);
}
const _: exports::SessionUnregister = rscst_session_unregister;

/// See [`exports::RxCmd`].
#[no_mangle]
pub unsafe extern "C" fn rscst_rx_cmd(
    sess: *mut abi::Session,
    lun: u64,
    cdb: *const u8,
    cdb_len: u32,
    tag: u64,
    expected_dir: u8,
    expected_len: u32,
    sg: *mut c_void,
    sg_cnt: u32,
) -> *mut CmdDesc {
    if sess.is_null() || cdb.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: a registered session (ABI rule).
    let s = unsafe { session_borrow(sess) };
    let len = (cdb_len as usize).min(abi::MAX_CDB_LEN);
    // SAFETY: the fabric passes `cdb_len` readable bytes; we read at most that.
    let cdb = unsafe { core::slice::from_raw_parts(cdb, len) };
    // SAFETY: the fabric's buffer stays valid until tx_done (ABI rule).
    let data = unsafe { crate::sys::ops::DataBuf::lent(sg, sg_cnt) };
    let rx = crate::cmd::Rx { lun, cdb, tag, expected_dir, expected_len, data };
    match crate::cmd::rx(&s, rx) {
        Ok(c) => c.into_desc(),
        Err(_) => core::ptr::null_mut(),
    }
}
const _: exports::RxCmd = rscst_rx_cmd;

/// See [`exports::CmdStart`].
#[no_mangle]
pub unsafe extern "C" fn rscst_cmd_start(cmd: *mut CmdDesc, atomic: bool) {
    if cmd.is_null() {
        return;
    }
    // SAFETY: the fabric hands back the command it got from rscst_rx_cmd.
    let c = unsafe { CmdPtr::from_desc(cmd) };
    crate::cmd::start(c, crate::cmd::fabric_frame(atomic));
}
const _: exports::CmdStart = rscst_cmd_start;

/// See [`exports::CmdRxDataDone`].
#[no_mangle]
pub unsafe extern "C" fn rscst_cmd_rx_data_done(cmd: *mut CmdDesc, ok: bool) {
    if cmd.is_null() {
        return;
    }
    // SAFETY: the fabric hands back the command it got in rdy_to_xfer.
    let c = unsafe { CmdPtr::from_desc(cmd) };
    crate::cmd::rx_data_done(c, ok);
}
const _: exports::CmdRxDataDone = rscst_cmd_rx_data_done;

/// See [`exports::CmdExecDone`].
#[no_mangle]
pub unsafe extern "C" fn rscst_cmd_exec_done(cmd: *mut CmdDesc, key: u8, asc: u8, ascq: u8) {
    if cmd.is_null() {
        return;
    }
    // SAFETY: the handler hands back the command it got in exec.
    let c = unsafe { CmdPtr::from_desc(cmd) };
    crate::cmd::exec_done(c, crate::scsi::sense::Sense::new(key, asc, ascq));
}
const _: exports::CmdExecDone = rscst_cmd_exec_done;

/// See [`exports::CmdScsiDone`].
#[no_mangle]
pub unsafe extern "C" fn rscst_cmd_scsi_done(cmd: *mut CmdDesc, status: u8, sense: *const u8, sense_len: u32, resid: i32) {
    if cmd.is_null() {
        return;
    }
    let n = if sense.is_null() { 0 } else { (sense_len as usize).min(abi::SENSE_BUF_LEN) };
    // Copied before the command is touched: the handler may pass the
    // command's own sense field.
    let mut copy = [0u8; abi::SENSE_BUF_LEN];
    if n != 0 {
        // SAFETY: the handler passes `sense_len` readable bytes (ABI rule);
        // we read at most that, and none from a null pointer. `copy` is
        // ours, so the ranges do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(sense, copy.as_mut_ptr(), n) };
    }
    // SAFETY: the handler hands back the command it got in exec_scsi.
    let c = unsafe { CmdPtr::from_desc(cmd) };
    crate::cmd::scsi_done(c, status, &copy[..n], resid);
}
const _: exports::CmdScsiDone = rscst_cmd_scsi_done;

/// See [`exports::CmdTxDone`].
#[no_mangle]
pub unsafe extern "C" fn rscst_cmd_tx_done(cmd: *mut CmdDesc) {
    if cmd.is_null() {
        return;
    }
    // SAFETY: the fabric hands back the command it got in xmit_response.
    let c = unsafe { CmdPtr::from_desc(cmd) };
    crate::cmd::tx_done(c);
}
const _: exports::CmdTxDone = rscst_cmd_tx_done;

/// See [`exports::TaskMgmt`].
#[no_mangle]
pub unsafe extern "C" fn rscst_task_mgmt(
    sess: *mut abi::Session,
    function: u8,
    lun: u64,
    tag: u64,
    tmf_priv: *mut c_void,
) -> c_int {
    if sess.is_null() {
        return code::EINVAL.to_errno();
    }
    // SAFETY: a registered session (ABI rule).
    let s: Arc<Session> = unsafe { session_borrow(sess) }.into();
    match crate::tmf::submit(&s, function, lun, tag, super::ops::TmfPriv::new(tmf_priv)) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
const _: exports::TaskMgmt = rscst_task_mgmt;

/// See [`exports::CmdAborted`].
#[no_mangle]
pub unsafe extern "C" fn rscst_cmd_aborted(cmd: *mut CmdDesc) -> bool {
    if cmd.is_null() {
        return false;
    }
    // SAFETY: the caller owns the command (ABI rule), which the core does
    // not touch meanwhile, and keeps it for the call; `desc` heads the
    // repr(C) Cmd.
    let c = unsafe { &*cmd.cast::<crate::cmd::Cmd>() };
    c.session.aborted()
}
const _: exports::CmdAborted = rscst_cmd_aborted;

/// See [`exports::SgCopy`].
#[no_mangle]
pub unsafe extern "C" fn rscst_sg_copy(
    dst: *mut c_void,
    dst_nents: u32,
    src: *mut c_void,
    src_nents: u32,
    len: usize,
) -> usize {
    // SAFETY: the caller passes two valid scatterlists it owns for the call.
    let (mut d, s) = unsafe { (SgList::from_raw(dst, dst_nents), SgList::from_raw(src, src_nents)) };
    super::pages::sg_copy(&mut d, &s, 0, len)
}
const _: exports::SgCopy = rscst_sg_copy;
