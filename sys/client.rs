// SPDX-License-Identifier: GPL-2.0
//! The client side of rscst.ko's C ABI, for fabric and handler modules:
//! declarations checked against `crates/abi` `exports`, and safe handles on
//! commands and sessions. Included by each client module's `sys` layer.

use super::sg::SgList;
use crate::abi::{self, exports, CmdDesc, FabricOps, HandlerOps};
use core::ffi::{c_int, c_void};
use core::marker::PhantomData;
use core::num::NonZeroUsize;
use core::pin::Pin;
use core::ptr::NonNull;
use kernel::error::{code, Error, Result};
use kernel::prelude::*;
use kernel::sync::{new_condvar, new_spinlock, Arc, CondVar, CondVarTimeoutResult, SpinLock};

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
    fn rscst_cmd_scsi_done(cmd: *mut CmdDesc, status: u8, sense: *const u8, sense_len: u32, resid: i32);
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
const _: exports::CmdScsiDone = rscst_cmd_scsi_done;
const _: exports::CmdTxDone = rscst_cmd_tx_done;
const _: exports::TaskMgmt = rscst_task_mgmt;
const _: exports::CmdAborted = rscst_cmd_aborted;

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
    /// Sets the context the core passes to every callback.
    fn set_ctx(&mut self, ctx: *mut c_void);
    /// Sets the ABI version and structure size the table claims.
    fn set_header(&mut self, version: u32, size: u32);
}

impl Table for HandlerOps {
    const REGISTER: exports::RegisterHandler = rscst_register_handler;
    const UNREGISTER: exports::UnregisterHandler = rscst_unregister_handler;
    fn set_ctx(&mut self, ctx: *mut c_void) {
        self.ctx = ctx;
    }
    fn set_header(&mut self, version: u32, size: u32) {
        self.abi_version = version;
        self.struct_size = size;
    }
}

impl Table for FabricOps {
    const REGISTER: exports::RegisterFabric = rscst_register_fabric;
    const UNREGISTER: exports::UnregisterFabric = rscst_unregister_fabric;
    fn set_ctx(&mut self, ctx: *mut c_void) {
        self.ctx = ctx;
    }
    fn set_header(&mut self, version: u32, size: u32) {
        self.abi_version = version;
        self.struct_size = size;
    }
}

/// An ops table whose callbacks take their context for a `D`: what the
/// adapters (`handler_ops`, `fabric_ops`) build, and the only kind of table
/// [`Registration::new`] accepts, so that a table is always registered with
/// the driver object its callbacks expect.
///
/// # Invariants
/// Every callback of `table` treats its `ctx` as a `*const D`, and every
/// pointer in `table` stays valid while the module is loaded.
pub struct Ops<T: Table, D> {
    table: T,
    _driver: PhantomData<fn(D)>,
}

impl<T: Table, D> Ops<T, D> {
    /// Wraps a table built for `D`.
    ///
    /// # Safety
    /// Every callback of `table` treats its `ctx` as a `*const D`, and every
    /// pointer in `table` stays valid while the module is loaded.
    pub const unsafe fn new(table: T) -> Self {
        // INVARIANT: per the caller.
        Ops { table, _driver: PhantomData }
    }

    /// The same table claiming another ABI version and structure size (for
    /// tests of the core's checks: the core refuses it).
    pub fn with_header(mut self, version: u32, size: u32) -> Self {
        self.table.set_header(version, size);
        self
    }
}

impl<D> Ops<FabricOps, D> {
    /// The same table without `xmit_response` (the core refuses it).
    pub fn without_xmit_response(mut self) -> Self {
        self.table.xmit_response = None;
        self
    }
}

impl<D> Ops<HandlerOps, D> {
    /// The same table for a handler of SCSI peripheral device type `t`
    /// (0 disk, 1 tape, 5 CD/DVD...; the adapters build disks).
    pub const fn with_device_type(mut self, t: u8) -> Self {
        self.table.device_type = t as u32;
        self
    }

    /// The same table without `exec` and `exec_scsi` (the core refuses it).
    pub fn without_tiers(mut self) -> Self {
        self.table.exec = None;
        self.table.exec_scsi = None;
        self
    }
}

/// A registered ops table and the driver object its callbacks reach as
/// `&self` (the table's `ctx`); unregistered on drop (the core deletes the
/// handler's devices or the fabric's targets first), and only then is the
/// driver object released.
///
/// # Invariants
/// `table` is registered with the core, its `ctx` points into `driver`,
/// and its callbacks treat `ctx` as a `*const D`.
pub struct Registration<T: Table, D: Send + Sync + 'static> {
    table: KBox<T>,
    driver: Arc<D>,
}

/// A registered device handler.
pub type HandlerRegistration<D> = Registration<HandlerOps, D>;
/// A registered fabric.
pub type FabricRegistration<D> = Registration<FabricOps, D>;

// SAFETY: the table is only read by the core (its pointers name immutable
// statics, its callbacks are thread-safe by the ABI contract) and `D` is
// Send + Sync.
unsafe impl<T: Table, D: Send + Sync> Send for Registration<T, D> {}
// SAFETY: as above.
unsafe impl<T: Table, D: Send + Sync> Sync for Registration<T, D> {}

impl<T: Table, D: Send + Sync + 'static> Registration<T, D> {
    /// Registers `ops`, whose callbacks get `driver` as their context.
    pub fn new(ops: Ops<T, D>, driver: Arc<D>) -> Result<Self> {
        check_core_abi()?;
        let mut table = ops.table;
        let ctx: *const D = &*driver;
        table.set_ctx(ctx.cast_mut().cast());
        let table = KBox::new(table, GFP_KERNEL)?;
        // SAFETY: the table stays allocated and unchanged until `drop` unregisters
        // it; its pointers stay valid and its callbacks treat `ctx` as a
        // `*const D` (Ops invariants); `driver` outlives the registration.
        let ret = unsafe { T::REGISTER(&*table) };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: registered just now, with `ctx` pointing into `driver`,
        // callbacks as the Ops invariant says.
        Ok(Registration { table, driver })
    }

    /// The driver object.
    pub fn driver(&self) -> &Arc<D> {
        &self.driver
    }
}

impl<T: Table, D: Send + Sync + 'static> Drop for Registration<T, D> {
    fn drop(&mut self) {
        // SAFETY: registered in `new`. After this call the core calls none
        // of the table's callbacks, so `driver` may go with `self`.
        unsafe { T::UNREGISTER(&*self.table) };
    }
}

/// The driver object behind a registered table's `ctx`.
///
/// # Safety
/// `ctx` is the context of a table registered by `Registration<_, D>`
/// that has not been unregistered yet (the core passes it to the table's
/// callbacks only while registered).
pub unsafe fn driver_of<'a, D>(ctx: *mut c_void) -> &'a D {
    // SAFETY: points into the registration's `Arc<D>`, alive while registered.
    unsafe { &*ctx.cast::<D>().cast_const() }
}

/// A value a fabric stores as a command's context (`fabric_priv`): the
/// core keeps it as a pointer and hands it back with the command.
pub trait Priv: Send + Sized {
    /// The pointer-sized form; never null.
    fn into_raw(self) -> NonNull<c_void>;
    /// Takes the value back.
    ///
    /// # Safety
    /// `p` came from `into_raw` of the same type, not taken back since.
    unsafe fn from_raw(p: NonNull<c_void>) -> Self;
}

impl Priv for NonZeroUsize {
    fn into_raw(self) -> NonNull<c_void> {
        // A non-zero integer is a non-null pointer value (never dereferenced).
        NonNull::new(self.get() as *mut c_void).unwrap_or(NonNull::dangling())
    }
    unsafe fn from_raw(p: NonNull<c_void>) -> Self {
        NonZeroUsize::new(p.as_ptr() as usize).unwrap_or(NonZeroUsize::MIN)
    }
}

impl<T: Send> Priv for KBox<T> {
    fn into_raw(self) -> NonNull<c_void> {
        // SAFETY: KBox::into_raw never returns null.
        unsafe { NonNull::new_unchecked(KBox::into_raw(self).cast()) }
    }
    unsafe fn from_raw(p: NonNull<c_void>) -> Self {
        // SAFETY: from KBox::into_raw of the same type (caller).
        unsafe { KBox::from_raw(p.as_ptr().cast()) }
    }
}

/// The types a fabric's commands and sessions carry across the ABI: the
/// per-command context it stores in each command, and its per-session
/// context, which the core hands back with each of the session's commands.
pub trait FabricTypes: Sized + Send + Sync + 'static {
    /// Per-command context.
    type CmdPriv: Priv;
    /// Per-session context.
    type Session: Send + Sync;
}

/// A command a handler owns (the part the block and raw tiers share). A
/// handler must complete every command it got; one it drops is completed
/// here with HARDWARE ERROR / INTERNAL TARGET FAILURE, so that nothing
/// waits for it forever.
///
/// # Invariants
/// Points to a live command the core handed to this handler's `exec` or
/// `exec_scsi`, not completed yet.
struct HandlerCmd(NonNull<CmdDesc>);

impl HandlerCmd {
    fn d(&self) -> &CmdDesc {
        // SAFETY: live and owned by us (invariant).
        unsafe { self.0.as_ref() }
    }

    fn sg(&mut self) -> SgList<'_> {
        let d = self.d();
        // SAFETY: the buffer belongs to the command until it completes.
        unsafe { SgList::from_raw(d.sg, d.sg_cnt) }
    }

    fn is_aborted(&self) -> bool {
        // SAFETY: a command we own (invariant).
        unsafe { rscst_cmd_aborted(self.0.as_ptr()) }
    }

    /// Gives up ownership without completing the command.
    fn into_raw(self) -> *mut CmdDesc {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Drop for HandlerCmd {
    fn drop(&mut self) {
        kernel::pr_err!("handler dropped a command without completing it\n");
        // SAFETY: ours (invariant), handed back once: `into_raw` forgets
        // `self`, so this runs only for a handle that was dropped.
        unsafe { rscst_cmd_exec_done(self.0.as_ptr(), 0x04, 0x44, 0x00) };
    }
}

/// A command a handler's block tier owns between `exec` and `complete`.
pub struct IoCmd(HandlerCmd);

// SAFETY: the handler may complete the command from any thread.
unsafe impl Send for IoCmd {}

impl IoCmd {
    /// Wraps the pointer `exec` received.
    ///
    /// # Safety
    /// `p` is the command passed to `exec`, not yet completed.
    pub unsafe fn from_raw(p: *mut CmdDesc) -> Option<Self> {
        // INVARIANT: per the caller.
        NonNull::new(p).map(|p| IoCmd(HandlerCmd(p)))
    }

    /// [`abi::io_op`] value.
    pub fn op(&self) -> u8 {
        self.0.d().io_op
    }
    /// First block.
    pub fn lba(&self) -> u64 {
        self.0.d().lba
    }
    /// Block count.
    pub fn blocks(&self) -> u32 {
        self.0.d().blocks
    }
    /// log2 of the block size.
    pub fn block_shift(&self) -> u32 {
        self.0.d().block_shift
    }
    /// Force unit access.
    pub fn fua(&self) -> bool {
        self.0.d().fua != 0
    }
    /// The handler's device context (for the adapter, which types it).
    pub fn dev_priv(&self) -> *mut c_void {
        self.0.d().dev_priv
    }
    /// The data buffer.
    pub fn sg(&mut self) -> SgList<'_> {
        self.0.sg()
    }

    /// Gives up the handle without completing the command; `from_raw`
    /// takes it back.
    pub fn into_raw(self) -> *mut CmdDesc {
        self.0.into_raw()
    }

    /// Whether a TMF or session loss aborted the command: its I/O may be
    /// skipped (the initiator gets no data and no status for it).
    pub fn is_aborted(&self) -> bool {
        self.0.is_aborted()
    }

    /// Completes an [`abi::io_op::LBA_STATUS`] request with GOOD: the
    /// `blocks` from `lba` on are all in `state` ([`abi::provisioning`]).
    pub fn complete_lba_status(mut self, blocks: u32, state: u8) {
        // SAFETY: live and owned by us (invariant); the core reads the
        // answer only after the completion below.
        let d = unsafe { (self.0).0.as_mut() };
        d.blocks = blocks;
        d.provisioning = state;
        self.complete(None)
    }

    /// Completes the command: GOOD when `sense` is None.
    pub fn complete(self, sense: Option<(u8, u8, u8)>) {
        let (k, a, q) = sense.unwrap_or((0, 0, 0));
        let p = self.into_raw();
        // SAFETY: hands our command back to the core exactly once (self is consumed).
        unsafe { rscst_cmd_exec_done(p, k, a, q) };
    }
}

/// A command a handler's raw SCSI tier owns between `exec_scsi` and
/// `complete`: it sees the CDB and answers with any status.
pub struct RawCmd(HandlerCmd);

// SAFETY: the handler may complete the command from any thread.
unsafe impl Send for RawCmd {}

impl RawCmd {
    /// Wraps the pointer `exec_scsi` received.
    ///
    /// # Safety
    /// `p` is the command passed to `exec_scsi`, not yet completed.
    pub unsafe fn from_raw(p: *mut CmdDesc) -> Option<Self> {
        // INVARIANT: per the caller.
        NonNull::new(p).map(|p| RawCmd(HandlerCmd(p)))
    }

    /// The CDB.
    pub fn cdb(&self) -> &[u8] {
        let d = self.0.d();
        &d.cdb[..usize::from(d.cdb_len).min(d.cdb.len())]
    }
    /// [`abi::dir`] of the data.
    pub fn data_dir(&self) -> u8 {
        self.0.d().data_dir
    }
    /// Bytes the command transfers (the buffer's size).
    pub fn data_len(&self) -> u32 {
        self.0.d().data_len
    }
    /// The handler's device context (for the adapter, which types it).
    pub fn dev_priv(&self) -> *mut c_void {
        self.0.d().dev_priv
    }
    /// The data buffer.
    pub fn sg(&mut self) -> SgList<'_> {
        self.0.sg()
    }
    /// Whether a TMF or session loss aborted the command.
    pub fn is_aborted(&self) -> bool {
        self.0.is_aborted()
    }

    /// Gives up the handle without completing the command (the adapter
    /// answers NOT_HANDLED with it).
    pub fn into_raw(self) -> *mut CmdDesc {
        self.0.into_raw()
    }

    /// The command's address, to tell commands apart.
    pub fn as_ptr(&self) -> *const CmdDesc {
        self.0 .0.as_ptr()
    }

    /// Completes the command with `status`, `sense` (with CHECK
    /// CONDITION) and `resid` bytes of `data_len` not transferred.
    pub fn complete(self, status: u8, sense: &[u8], resid: i32) {
        let p = self.into_raw();
        // SAFETY: hands our command back to the core exactly once (self is
        // consumed); `sense` is valid for its length.
        unsafe { rscst_cmd_scsi_done(p, status, sense.as_ptr(), sense.len() as u32, resid) };
    }

    /// Completes the command with CHECK CONDITION and the core's sense data
    /// for `sense` (key, additional sense code and qualifier): an answer of
    /// the target's own, not of the device behind the tier.
    pub fn complete_sense(self, sense: (u8, u8, u8)) {
        let (k, a, q) = sense;
        let p = self.into_raw();
        // SAFETY: hands our command back to the core exactly once (self is consumed).
        unsafe { rscst_cmd_exec_done(p, k, a, q) };
    }
}

/// A session a fabric registered, with its per-session context; dropping
/// it unregisters the session, and only then releases the context.
///
/// # Invariants
/// A live session from rscst_session_register, registered with a pointer
/// into `ctx` as its `sess_priv`.
pub struct SessionHandle<F: FabricTypes> {
    sess: NonNull<abi::Session>,
    ctx: Arc<F::Session>,
}

// SAFETY: the core's session entry points are thread-safe; the context is
// Send + Sync.
unsafe impl<F: FabricTypes> Send for SessionHandle<F> {}
// SAFETY: as above.
unsafe impl<F: FabricTypes> Sync for SessionHandle<F> {}

/// A target handle as the core gave it in `add_target`, for fabric `F`.
///
/// # Invariants
/// Valid until the fabric's `del_target` for it returns. The core calls
/// `del_target` and the fabric's `mgmt` under its management lock, so a
/// fabric that registers sessions from `mgmt` (or `add_target`) with a handle
/// it finds in its own target list never uses a stale one. The target
/// belongs to a fabric whose commands carry `F`'s contexts.
pub struct TargetHandle<F: FabricTypes>(*mut abi::Target, PhantomData<F>);

impl<F: FabricTypes> Clone for TargetHandle<F> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F: FabricTypes> Copy for TargetHandle<F> {}

impl<F: FabricTypes> TargetHandle<F> {
    /// Wraps the handle `add_target` received.
    ///
    /// # Safety
    /// `p` is the handle passed to the `add_target` of a table whose
    /// callbacks treat commands' contexts as `F`'s.
    pub unsafe fn from_raw(p: *mut abi::Target) -> Self {
        TargetHandle(p, PhantomData)
    }
}

// SAFETY: an opaque handle; the core's entry points are thread-safe.
unsafe impl<F: FabricTypes> Send for TargetHandle<F> {}
// SAFETY: as above.
unsafe impl<F: FabricTypes> Sync for TargetHandle<F> {}

/// A session's identity, to compare with the session the core names in
/// `luns_changed`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SessionId(usize);

impl SessionId {
    /// The identity of the session the core named.
    pub fn of_raw(p: *mut abi::Session) -> Self {
        SessionId(p as usize)
    }
}

impl<F: FabricTypes> SessionHandle<F> {
    /// Registers a session (process context, see [`TargetHandle`]) whose
    /// commands carry `ctx` ([`FabricCmd::session`]).
    pub fn register(tgt: TargetHandle<F>, initiator: &[u8], ctx: Arc<F::Session>) -> Result<Self> {
        let p: *const F::Session = &*ctx;
        // SAFETY: the handle is live (TargetHandle invariant); the name is
        // valid for its length; `p` stays valid until after unregistration
        // (we hold `ctx` until then).
        let sess = unsafe {
            rscst_session_register(tgt.0, initiator.as_ptr(), initiator.len(), p.cast_mut().cast())
        };
        // INVARIANT: non-null is a live session registered with `p`.
        let sess = NonNull::new(sess).ok_or(code::EINVAL)?;
        Ok(SessionHandle { sess, ctx })
    }

    /// The session's context.
    pub fn context(&self) -> &Arc<F::Session> {
        &self.ctx
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
    ) -> Option<FabricCmd<F>> {
        // SAFETY: live session (invariant); `cdb` valid for its length; the
        // scatterlist stays valid until tx_done (caller's duty, documented on FabricCmd).
        let p = unsafe {
            rscst_rx_cmd(self.sess.as_ptr(), lun, cdb.as_ptr(), cdb.len() as u32, tag, dir, expected_len, sg, sg_cnt)
        };
        // INVARIANT: a new command of this session, ours until `start`.
        NonNull::new(p).map(|p| FabricCmd(p, PhantomData))
    }

    /// The session's identity (see [`SessionId`]).
    pub fn id(&self) -> SessionId {
        SessionId(self.sess.as_ptr() as usize)
    }

    /// Runs a task management function and waits for its result (thread
    /// context). The fabric's `tmf_done` must be [`tmf_done_wakes_waiter`].
    pub fn task_mgmt_wait(&self, function: u8, lun: u64, tag: u64) -> c_int {
        self.task_mgmt_wait_info(function, lun, tag).0
    }

    /// [`Self::task_mgmt_wait`], with the additional response information.
    pub fn task_mgmt_wait_info(&self, function: u8, lun: u64, tag: u64) -> (c_int, u32) {
        super::compat::stack_pin_init!(let wait = TmfWait::new());
        let p: *const TmfWait = &*wait;
        // SAFETY: live session (invariant). `wait` outlives the TMF: on
        // success the core calls `tmf_done(p)` exactly once and we wait for
        // that call below before `wait` goes out of scope.
        let ret = unsafe { rscst_task_mgmt(self.sess.as_ptr(), function, lun, tag, p.cast_mut().cast()) };
        if ret != 0 {
            kernel::pr_err!("task management function {} not submitted: {}\n", function, ret);
            return (abi::tmf_result::FAILED, 0);
        }
        wait.as_ref().wait()
    }
}

impl<F: FabricTypes> Drop for SessionHandle<F> {
    /// Unregisters: aborts and waits for its commands (process context).
    /// Owners drop the handle only after their last `rx_cmd` (a SCSI host
    /// drops it after scsi_remove_host). The context goes after that.
    fn drop(&mut self) {
        // SAFETY: live session given up exactly once.
        unsafe { rscst_session_unregister(self.sess.as_ptr()) };
    }
}

/// A command a fabric owns: between rx and start, during `rdy_to_xfer`
/// until `rx_data_done`, and between `xmit_response` and `tx_done`.
///
/// # Invariants
/// A live command currently owned by the fabric, of a session registered
/// through `SessionHandle<F>` (so `sess_priv` points to an `F::Session`
/// that outlives the command) whose `fabric_priv` is null or came from
/// `F::CmdPriv::into_raw`.
pub struct FabricCmd<F: FabricTypes>(NonNull<CmdDesc>, PhantomData<F>);

// SAFETY: moved between contexts with its single owner.
unsafe impl<F: FabricTypes> Send for FabricCmd<F> {}

impl<F: FabricTypes> FabricCmd<F> {
    /// Wraps the pointer `rdy_to_xfer` or `xmit_response` received.
    ///
    /// # Safety
    /// `p` is the command passed to `rdy_to_xfer` or `xmit_response` of a
    /// table whose fabric registers its sessions as `SessionHandle<F>`.
    pub unsafe fn from_raw(p: *mut CmdDesc) -> Option<Self> {
        NonNull::new(p).map(|p| FabricCmd(p, PhantomData))
    }

    fn d(&self) -> &CmdDesc {
        // SAFETY: live and ours (invariant).
        unsafe { self.0.as_ref() }
    }

    /// Stores the fabric's per-command context (replacing, and dropping,
    /// any stored before).
    pub fn set_priv(&mut self, p: F::CmdPriv) {
        drop(self.take_priv());
        // SAFETY: live and ours (invariant); only the fabric writes this field.
        unsafe { self.0.as_mut().fabric_priv = p.into_raw().as_ptr() };
    }

    /// Sets the command's task attribute (an `abi::task_attr` code; SIMPLE
    /// unless set). Read when the command starts: set it before `start`.
    pub fn set_task_attr(&mut self, attr: u8) {
        // SAFETY: live and ours (invariant); the core reads the field only
        // once the command is started.
        unsafe { self.0.as_mut().task_attr = attr };
    }

    /// Takes the fabric's per-command context out of the command.
    pub fn take_priv(&mut self) -> Option<F::CmdPriv> {
        // SAFETY: live and ours (invariant).
        let d = unsafe { self.0.as_mut() };
        let p = NonNull::new(core::mem::replace(&mut d.fabric_priv, core::ptr::null_mut()))?;
        // SAFETY: a non-null `fabric_priv` came from `set_priv` (invariant)
        // and is cleared above, so it is taken back once.
        Some(unsafe { F::CmdPriv::from_raw(p) })
    }

    /// The context of the command's session.
    pub fn session(&self) -> &F::Session {
        // SAFETY: `sess_priv` points to the session's `F::Session`, which
        // outlives the command (invariant).
        unsafe { &*self.d().sess_priv.cast::<F::Session>().cast_const() }
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
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: ownership returns to the core (self consumed, its context
        // stays stored in the command).
        unsafe { rscst_cmd_rx_data_done(p, ok) };
    }

    /// Lets the core run it (`atomic`: the caller may not sleep).
    pub fn start(self, atomic: bool) {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: ownership passes to the core (self consumed, its context
        // stays stored in the command).
        unsafe { rscst_cmd_start(p, atomic) };
    }

    /// Releases the command after the response went out (dropping any
    /// context still stored in it).
    pub fn tx_done(mut self) {
        drop(self.take_priv());
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: ownership returns to the core for freeing (self consumed).
        unsafe { rscst_cmd_tx_done(p) };
    }
}

impl<F: FabricTypes> Drop for FabricCmd<F> {
    /// A fabric must hand every command on (`start`, `rx_data_done`,
    /// `tx_done`); one dropped instead is released so that nothing waits
    /// for it forever.
    fn drop(&mut self) {
        kernel::pr_err!("fabric dropped a command without handing it on\n");
        drop(self.take_priv());
        // SAFETY: ours (invariant), given up here once.
        unsafe { rscst_cmd_tx_done(self.0.as_ptr()) };
    }
}

/// Where a fabric thread waits for the result of a TMF it submitted.
#[pin_data]
pub struct TmfWait {
    /// The result and the additional response information.
    #[pin]
    result: SpinLock<Option<(c_int, u32)>>,
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

    fn wait(self: Pin<&Self>) -> (c_int, u32) {
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
pub unsafe extern "C" fn tmf_done_wakes_waiter(_ctx: *mut c_void, tmf_priv: *mut c_void, result: c_int, info: u32) {
    // SAFETY: the waiter is alive: it returns only after seeing the result
    // stored below, under the lock we hold until our last access.
    let w = unsafe { &*tmf_priv.cast::<TmfWait>() };
    let mut r = w.result.lock();
    *r = Some((result, info));
    w.done.notify_all();
    // The guard drops here: unlocking is the last access to the waiter.
}
