// SPDX-License-Identifier: GPL-2.0
//! The client side of rscst.ko's C ABI, for fabric and handler modules:
//! declarations checked against `crates/abi` `exports`, and safe handles on
//! commands and sessions. Included by each client module's `sys` layer.

use super::sg::SgList;
use crate::abi::{self, exports, CmdDesc, FabricOps, HandlerOps};
use core::ffi::{c_int, c_void};
use core::pin::Pin;
use core::ptr::NonNull;
use kernel::error::{code, Error, Result};
use kernel::prelude::*;
use kernel::sync::{new_condvar, new_spinlock, CondVar, CondVarTimeoutResult, SpinLock};

extern "C" {
    fn rscst_abi_version() -> u32;
    fn rscst_register_handler(ops: *const HandlerOps) -> c_int;
    fn rscst_unregister_handler(ops: *const HandlerOps);
    fn rscst_register_fabric(ops: *const FabricOps) -> c_int;
    fn rscst_unregister_fabric(ops: *const FabricOps);
    fn rscst_session_register(
        tgt: *mut abi::Target,
        initiator: *const u8,
        initiator_len: usize,
        sess_priv: *mut c_void,
    ) -> *mut abi::Session;
    fn rscst_session_unregister(sess: *mut abi::Session);
    fn rscst_rx_cmd(
        sess: *mut abi::Session,
        lun: u64,
        cdb: *const u8,
        cdb_len: u32,
        tag: u64,
        expected_dir: u8,
        expected_len: u32,
        sg: *mut c_void,
        sg_cnt: u32,
    ) -> *mut CmdDesc;
    fn rscst_cmd_start(cmd: *mut CmdDesc, atomic: bool);
    fn rscst_cmd_rx_data_done(cmd: *mut CmdDesc, ok: bool);
    fn rscst_sg_copy(dst: *mut c_void, dst_nents: u32, src: *mut c_void, src_nents: u32, len: usize) -> usize;
    fn rscst_cmd_exec_done(cmd: *mut CmdDesc, key: u8, asc: u8, ascq: u8);
    fn rscst_cmd_tx_done(cmd: *mut CmdDesc);
    fn rscst_task_mgmt(sess: *mut abi::Session, function: u8, lun: u64, tag: u64, tmf_priv: *mut c_void) -> c_int;
    fn rscst_cmd_aborted(cmd: *mut CmdDesc) -> bool;
}

// Both sides of the boundary are checked against the one list of signatures.
const _: exports::AbiVersion = rscst_abi_version;
const _: exports::SessionRegister = rscst_session_register;
const _: exports::SessionUnregister = rscst_session_unregister;
const _: exports::RxCmd = rscst_rx_cmd;
const _: exports::CmdStart = rscst_cmd_start;
const _: exports::CmdRxDataDone = rscst_cmd_rx_data_done;
const _: exports::SgCopy = rscst_sg_copy;
const _: exports::CmdExecDone = rscst_cmd_exec_done;
const _: exports::CmdTxDone = rscst_cmd_tx_done;
const _: exports::TaskMgmt = rscst_task_mgmt;
const _: exports::CmdAborted = rscst_cmd_aborted;

/// An ops table in a `static` (raw pointers make it !Sync by default).
#[repr(transparent)]
pub struct OpsCell<T>(pub T);

// SAFETY: the tables are immutable statics; their pointers point to other
// immutable statics and their callbacks are thread-safe by the ABI contract.
unsafe impl<T> Sync for OpsCell<T> {}

fn check_core_abi() -> Result {
    // SAFETY: no preconditions.
    let v = unsafe { rscst_abi_version() };
    if v != abi::ABI_VERSION {
        kernel::pr_err!("core ABI {} but this module was built for {}\n", v, abi::ABI_VERSION);
        return Err(code::EINVAL);
    }
    Ok(())
}

/// An ops table kind the core registers.
pub trait Table: 'static {
    /// The core's registration function for it.
    const REGISTER: unsafe extern "C" fn(*const Self) -> c_int;
    /// The core's unregistration function for it.
    const UNREGISTER: unsafe extern "C" fn(*const Self);
}

impl Table for HandlerOps {
    const REGISTER: exports::RegisterHandler = rscst_register_handler;
    const UNREGISTER: exports::UnregisterHandler = rscst_unregister_handler;
}

impl Table for FabricOps {
    const REGISTER: exports::RegisterFabric = rscst_register_fabric;
    const UNREGISTER: exports::UnregisterFabric = rscst_unregister_fabric;
}

/// A registered ops table; unregistered on drop (the core deletes the
/// handler's devices or the fabric's targets first).
pub struct Registration<T: Table>(&'static OpsCell<T>);

/// A registered device handler.
pub type HandlerRegistration = Registration<HandlerOps>;
/// A registered fabric.
pub type FabricRegistration = Registration<FabricOps>;

impl<T: Table> Registration<T> {
    /// Registers `ops`.
    pub fn new(ops: &'static OpsCell<T>) -> Result<Self> {
        check_core_abi()?;
        // SAFETY: a static table, valid for the module's life (we unregister in drop).
        let ret = unsafe { T::REGISTER(&ops.0) };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(Registration(ops))
    }
}

impl<T: Table> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `new`.
        unsafe { T::UNREGISTER(&self.0 .0) };
    }
}

/// A command a handler owns between `exec` and `complete`.
///
/// # Invariants
/// Points to a live command the core handed to this handler's `exec`.
pub struct IoCmd(NonNull<CmdDesc>);

// SAFETY: the handler may complete the command from any thread.
unsafe impl Send for IoCmd {}

impl IoCmd {
    /// Wraps the pointer `exec` received.
    ///
    /// # Safety
    /// `p` is the command passed to `exec`, not yet completed.
    pub unsafe fn from_raw(p: *mut CmdDesc) -> Option<Self> {
        NonNull::new(p).map(IoCmd)
    }

    fn d(&self) -> &CmdDesc {
        // SAFETY: live and owned by us (invariant).
        unsafe { self.0.as_ref() }
    }

    /// [`abi::io_op`] value.
    pub fn op(&self) -> u8 {
        self.d().io_op
    }
    /// First block.
    pub fn lba(&self) -> u64 {
        self.d().lba
    }
    /// Block count.
    pub fn blocks(&self) -> u32 {
        self.d().blocks
    }
    /// log2 of the block size.
    pub fn block_shift(&self) -> u32 {
        self.d().block_shift
    }
    /// Force unit access.
    pub fn fua(&self) -> bool {
        self.d().fua != 0
    }
    /// The handler's device context.
    pub fn dev_priv(&self) -> usize {
        self.d().dev_priv as usize
    }
    /// The data buffer.
    pub fn sg(&mut self) -> SgList<'_> {
        let d = self.d();
        // SAFETY: the buffer belongs to the command until it completes.
        unsafe { SgList::from_raw(d.sg, d.sg_cnt) }
    }

    /// Gives up the handle without completing the command; `from_raw`
    /// takes it back.
    pub fn into_raw(self) -> *mut CmdDesc {
        self.0.as_ptr()
    }

    /// Whether a TMF or session loss aborted the command: its I/O may be
    /// skipped (the initiator gets no data and no status for it).
    pub fn is_aborted(&self) -> bool {
        // SAFETY: a command we own (invariant).
        unsafe { rscst_cmd_aborted(self.0.as_ptr()) }
    }

    /// Completes the command: GOOD when `sense` is None.
    pub fn complete(self, sense: Option<(u8, u8, u8)>) {
        let (k, a, q) = sense.unwrap_or((0, 0, 0));
        // SAFETY: hands our command back to the core exactly once (self is consumed).
        unsafe { rscst_cmd_exec_done(self.0.as_ptr(), k, a, q) };
    }
}

/// A session a fabric registered; hand it back with `unregister`.
///
/// # Invariants
/// A live session from rscst_session_register.
pub struct SessionHandle(NonNull<abi::Session>);

// SAFETY: the core's session entry points are thread-safe.
unsafe impl Send for SessionHandle {}
// SAFETY: as above.
unsafe impl Sync for SessionHandle {}

/// A target handle as the core gave it in `add_target`.
///
/// # Invariants
/// Valid until the fabric's `del_target` for it returns. The core calls
/// `del_target` and the fabric's `mgmt` under its management lock, so a
/// fabric that registers sessions from `mgmt` (or `add_target`) with a handle
/// it finds in its own target list never uses a stale one.
#[derive(Clone, Copy)]
pub struct TargetHandle(*mut abi::Target);

impl TargetHandle {
    /// Wraps the handle `add_target` received.
    ///
    /// # Safety
    /// `p` is the handle passed to `add_target`.
    pub unsafe fn from_raw(p: *mut abi::Target) -> Self {
        TargetHandle(p)
    }
}

// SAFETY: an opaque handle; the core's entry points are thread-safe.
unsafe impl Send for TargetHandle {}
// SAFETY: as above.
unsafe impl Sync for TargetHandle {}

impl SessionHandle {
    /// Registers a session (process context, see [`TargetHandle`]).
    pub fn register(tgt: TargetHandle, initiator: &[u8], sess_priv: usize) -> Result<Self> {
        // SAFETY: the handle is live (TargetHandle invariant); the name is
        // valid for its length.
        let p = unsafe { rscst_session_register(tgt.0, initiator.as_ptr(), initiator.len(), sess_priv as *mut c_void) };
        // INVARIANT: non-null is a live session.
        NonNull::new(p).map(SessionHandle).ok_or(code::EINVAL)
    }

    /// Hands in a command (any context). None: out of memory or session
    /// going away; answer BUSY.
    #[allow(clippy::too_many_arguments)]
    pub fn rx_cmd(
        &self,
        lun: u64,
        cdb: &[u8],
        tag: u64,
        dir: u8,
        expected_len: u32,
        sg: *mut c_void,
        sg_cnt: u32,
    ) -> Option<FabricCmd> {
        // SAFETY: live session (invariant); `cdb` valid for its length; the
        // scatterlist stays valid until tx_done (caller's duty, documented on FabricCmd).
        let p = unsafe {
            rscst_rx_cmd(self.0.as_ptr(), lun, cdb.as_ptr(), cdb.len() as u32, tag, dir, expected_len, sg, sg_cnt)
        };
        NonNull::new(p).map(FabricCmd)
    }

    /// An identity to compare with the session the core names in
    /// `luns_changed`.
    pub fn id(&self) -> usize {
        self.0.as_ptr() as usize
    }

    /// Runs a task management function and waits for its result (thread
    /// context). The fabric's `tmf_done` must be [`tmf_done_wakes_waiter`].
    pub fn task_mgmt_wait(&self, function: u8, lun: u64, tag: u64) -> c_int {
        kernel::stack_pin_init!(let wait = TmfWait::new());
        let p: *const TmfWait = &*wait;
        // SAFETY: live session (invariant). `wait` outlives the TMF: on
        // success the core calls `tmf_done(p)` exactly once and we wait for
        // that call below before `wait` goes out of scope.
        let ret = unsafe { rscst_task_mgmt(self.0.as_ptr(), function, lun, tag, p.cast_mut().cast()) };
        if ret != 0 {
            kernel::pr_err!("task management function {} not submitted: {}\n", function, ret);
            return abi::tmf_result::FAILED;
        }
        wait.as_ref().wait()
    }

}

impl Drop for SessionHandle {
    /// Unregisters: aborts and waits for its commands (process context).
    /// Owners drop the handle only after their last `rx_cmd` (a SCSI host
    /// drops it after scsi_remove_host).
    fn drop(&mut self) {
        // SAFETY: live session given up exactly once.
        unsafe { rscst_session_unregister(self.0.as_ptr()) };
    }
}

/// A command a fabric owns: between rx and start, and between
/// `xmit_response` and `tx_done`.
///
/// # Invariants
/// A live command currently owned by the fabric.
pub struct FabricCmd(NonNull<CmdDesc>);

// SAFETY: moved between contexts with its single owner.
unsafe impl Send for FabricCmd {}

impl FabricCmd {
    /// Wraps the pointer `xmit_response` received.
    ///
    /// # Safety
    /// `p` is the command passed to `xmit_response`.
    pub unsafe fn from_raw(p: *mut CmdDesc) -> Option<Self> {
        NonNull::new(p).map(FabricCmd)
    }

    fn d(&self) -> &CmdDesc {
        // SAFETY: live and ours (invariant).
        unsafe { self.0.as_ref() }
    }

    /// Stores the fabric's per-command context.
    pub fn set_priv(&mut self, p: usize) {
        // SAFETY: live and ours (invariant); only the fabric writes this field.
        unsafe { self.0.as_mut().fabric_priv = p as *mut c_void };
    }
    /// The fabric's per-command context.
    pub fn priv_(&self) -> usize {
        self.d().fabric_priv as usize
    }
    /// SCSI status.
    pub fn status(&self) -> u8 {
        self.d().status
    }
    /// Sense bytes.
    pub fn sense(&self) -> &[u8] {
        let d = self.d();
        &d.sense[..usize::from(d.sense_len).min(d.sense.len())]
    }
    /// Residual (positive: underrun).
    pub fn resid(&self) -> i32 {
        self.d().resid
    }
    /// Aborted: send nothing, just `tx_done`.
    pub fn aborted(&self) -> bool {
        self.d().aborted != 0
    }

    /// The command's data buffer (scatterlist, entries).
    pub fn sg(&self) -> (*mut c_void, u32) {
        (self.d().sg, self.d().sg_cnt)
    }

    /// Bytes the command transfers.
    pub fn data_len(&self) -> u32 {
        self.d().data_len
    }

    /// Copies `len` bytes from a scatterlist into the command's buffer.
    ///
    /// # Safety
    /// `sg` is a valid scatterlist of `nents` entries for the call.
    pub unsafe fn copy_in(&mut self, sg: *mut c_void, nents: u32, len: usize) -> usize {
        let (d, n) = self.sg();
        // SAFETY: our buffer is valid while we own the command; `sg` per the caller.
        unsafe { rscst_sg_copy(d, n, sg, nents, len) }
    }

    /// Copies `len` bytes from the command's buffer into a scatterlist.
    ///
    /// # Safety
    /// `sg` is a valid scatterlist of `nents` entries for the call.
    pub unsafe fn copy_out(&self, sg: *mut c_void, nents: u32, len: usize) -> usize {
        let (s, n) = self.sg();
        // SAFETY: as in `copy_in`.
        unsafe { rscst_sg_copy(sg, nents, s, n, len) }
    }

    /// Write data is in the buffer (or could not be fetched).
    pub fn rx_data_done(self, ok: bool) {
        // SAFETY: ownership returns to the core (self consumed).
        unsafe { rscst_cmd_rx_data_done(self.0.as_ptr(), ok) };
    }

    /// Lets the core run it (`atomic`: the caller may not sleep).
    pub fn start(self, atomic: bool) {
        // SAFETY: ownership passes to the core (self consumed).
        unsafe { rscst_cmd_start(self.0.as_ptr(), atomic) };
    }

    /// Releases the command after the response went out.
    pub fn tx_done(self) {
        // SAFETY: ownership returns to the core for freeing (self consumed).
        unsafe { rscst_cmd_tx_done(self.0.as_ptr()) };
    }
}

/// Where a fabric thread waits for the result of a TMF it submitted.
#[pin_data]
pub struct TmfWait {
    #[pin]
    result: SpinLock<Option<c_int>>,
    #[pin]
    done: CondVar,
}

impl TmfWait {
    fn new() -> impl PinInit<Self> {
        pin_init!(TmfWait {
            result <- new_spinlock!(None, "rscst_tmf_result"),
            done <- new_condvar!("rscst_tmf_done"),
        })
    }

    fn wait(self: Pin<&Self>) -> c_int {
        loop {
            let mut r = self.result.lock();
            if let Some(v) = *r {
                return v;
            }
            // Interruptible with a timeout: waiting for a hung backend is no
            // hung task.
            let res = self.done.wait_interruptible_timeout(&mut r, kernel::time::msecs_to_jiffies(30_000));
            drop(r);
            if let CondVarTimeoutResult::Signal { .. } = res {
                // A pending signal (a reset ioctl's caller was signalled)
                // cannot cut the wait short, nor may it make it spin: poll.
                // SAFETY: msleep only needs a context that may sleep, which
                // this one is (it just slept).
                unsafe { super::bindings::msleep(10) };
            }
        }
    }
}

/// The `tmf_done` callback of fabrics that wait with
/// [`SessionHandle::task_mgmt_wait`].
///
/// # Safety
/// `tmf_priv` is the `TmfWait` that `task_mgmt_wait` submitted, and this is
/// the core's one call for it.
pub unsafe extern "C" fn tmf_done_wakes_waiter(tmf_priv: *mut c_void, result: c_int) {
    // SAFETY: the waiter is alive: it returns only after seeing the result
    // stored below, under the lock we hold until our last access.
    let w = unsafe { &*tmf_priv.cast::<TmfWait>() };
    let mut r = w.result.lock();
    *r = Some(result);
    w.done.notify_all();
    // The guard drops here: unlocking is the last access to the waiter.
}
