// SPDX-License-Identifier: GPL-2.0
//! Safe handles on the ops tables fabrics and handlers register, and on the
//! commands handed across the ABI.

use crate::abi::{fabric_flags, CmdDesc, DeviceSetup, FabricOps, HandlerOps};
use crate::cmd::Cmd;
use crate::device::Device;
use crate::lifecycle::CallbackRules;
use core::ffi::{c_void, CStr};
use core::marker::PhantomPinned;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU8, Ordering};
use kernel::error::{Error, Result};

/// Why a table was refused at registration.
#[derive(Debug)]
pub enum TableError {
    /// ABI version differs.
    Version(u32),
    /// Structure size differs (module built against another ABI).
    Size(u32),
    /// A required field is missing.
    Missing(&'static str),
    /// A field holds a value the ABI does not allow.
    Invalid(&'static str),
}

/// Reads a NUL-terminated C string of a registered table.
///
/// # Safety
/// `p` is null or a NUL-terminated string valid for `'a`.
unsafe fn table_str<'a>(p: *const core::ffi::c_char) -> Option<&'a CStr> {
    // SAFETY: guaranteed by the caller.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

/// Checks the header every ops table starts with.
fn check_header(version: u32, size: u32, expected: usize, name: *const core::ffi::c_char) -> Result<(), TableError> {
    if version != crate::abi::ABI_VERSION {
        return Err(TableError::Version(version));
    }
    if size as usize != expected {
        return Err(TableError::Size(size));
    }
    if name.is_null() {
        return Err(TableError::Missing("name"));
    }
    Ok(())
}

/// A registered handler's ops table.
///
/// # Invariants
/// Points to a table that passed `validate` and stays valid and unchanged
/// until the handler unregisters, which the core only allows after dropping
/// every `HandlerRef`-using object.
#[derive(Clone, Copy)]
pub struct HandlerRef(NonNull<HandlerOps>);

// SAFETY: the table is immutable while registered and its callbacks are
// required to be thread-safe by the ABI contract.
unsafe impl Send for HandlerRef {}
// SAFETY: as above.
unsafe impl Sync for HandlerRef {}

impl HandlerRef {
    /// Checks a table handed to `rscst_register_handler`.
    ///
    /// # Safety
    /// `p` is null or a valid table that outlives the registration.
    pub unsafe fn validate(p: *const HandlerOps) -> Result<Self, TableError> {
        let ptr = NonNull::new(p.cast_mut()).ok_or(TableError::Missing("table"))?;
        // SAFETY: valid per the caller.
        let t = unsafe { ptr.as_ref() };
        check_header(t.abi_version, t.struct_size, core::mem::size_of::<HandlerOps>(), t.name)?;
        if t.attach.is_none() || (t.exec.is_none() && t.exec_scsi.is_none()) {
            return Err(TableError::Missing("attach, and exec or exec_scsi"));
        }
        // INVARIANT: checked above; lifetime per the caller.
        Ok(HandlerRef(ptr))
    }

    fn t(&self) -> &HandlerOps {
        // SAFETY: valid while registered (invariant).
        unsafe { self.0.as_ref() }
    }

    /// Identity of the table.
    pub fn is(&self, p: *const HandlerOps) -> bool {
        core::ptr::eq(self.0.as_ptr(), p)
    }

    /// Handler name.
    pub fn name(&self) -> &CStr {
        // SAFETY: non-null (validated), NUL-terminated per the ABI.
        unsafe { table_str(self.t().name) }.unwrap_or(c"?")
    }

    /// `add_device` parameter help.
    pub fn params_help(&self) -> &CStr {
        // SAFETY: null or NUL-terminated per the ABI.
        unsafe { table_str(self.t().params_help) }.unwrap_or(c"")
    }

    /// Whether the handler has the block tier (`exec`).
    pub fn has_exec(&self) -> bool {
        self.t().exec.is_some()
    }

    /// Whether the handler has the raw SCSI tier (`exec_scsi`).
    pub fn has_exec_scsi(&self) -> bool {
        self.t().exec_scsi.is_some()
    }

    /// Whether `exec` never sleeps.
    pub fn exec_atomic(&self) -> bool {
        self.t().flags & crate::abi::handler_flags::EXEC_ATOMIC != 0
    }

    /// Whether a successful READ fills the whole buffer.
    pub fn fills_reads(&self) -> bool {
        self.t().flags & crate::abi::handler_flags::FILLS_READS != 0
    }

    /// Whether the initiator may switch the device's write cache off and on
    /// (the core then sets FUA on WRITEs while it is off).
    pub fn manages_write_cache(&self) -> bool {
        self.t().flags & crate::abi::handler_flags::WRITE_CACHE != 0
    }

    /// SCSI peripheral device type.
    pub fn device_type(&self) -> u8 {
        self.t().device_type as u8
    }

    /// Opens a device; on failure `msg` holds the handler's reason. The
    /// returned [`DevPriv`] is the only way to reach the device in the
    /// handler, and `detach` consumes it.
    pub fn attach(&self, name: &[u8], params: &[u8], msg: &mut [u8]) -> Result<(DevPriv, DeviceSetup)> {
        let mut setup = DeviceSetup::default();
        let Some(attach) = self.t().attach else {
            return Err(kernel::error::code::EINVAL);
        };
        // SAFETY: all pointers are valid for the given lengths for the call;
        // the handler writes only `setup` and at most `msg.len()` bytes of msg.
        let ret = unsafe {
            attach(
                self.t().ctx,
                name.as_ptr(),
                name.len(),
                params.as_ptr(),
                params.len(),
                &mut setup,
                msg.as_mut_ptr(),
                msg.len(),
            )
        };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: the context `attach` just returned, not yet detached.
        let dev = DevPriv(setup.dev_priv as usize);
        setup.dev_priv = core::ptr::null_mut();
        Ok((dev, setup))
    }

    /// Releases a device (all its commands are done). Consumes the token,
    /// so no device is released twice.
    pub fn detach(&self, dev: DevPriv) {
        if let Some(detach) = self.t().detach {
            // SAFETY: `dev.0` is what `attach` returned (DevPriv invariant),
            // released here once since the token is consumed.
            unsafe { detach(self.t().ctx, dev.0 as *mut c_void) };
        }
    }

    /// Hands `cmd` to the handler's block tier for device `dev`; the
    /// handler owns the command until `exec_done`. Returns the command when
    /// the handler completed it before `exec` returned: the caller continues
    /// it (see [`ExecCall`]); otherwise whoever completes it does. Callers
    /// check [`HandlerRef::has_exec`] first; without `exec` the command
    /// comes back at once, unchanged.
    pub fn exec(&self, dev: DevContext, cmd: CmdPtr) -> Option<CmdPtr> {
        let Some(exec) = self.t().exec else { return Some(cmd) };
        let ctx = self.t().ctx;
        // SAFETY: ownership of the command passes to the handler (ABI rule)
        // and comes back through rscst_cmd_exec_done.
        call_handler(dev, cmd, |desc| unsafe { exec(ctx, desc) }).1
    }

    /// Offers `cmd` to the handler's raw SCSI tier for device `dev`.
    pub fn exec_scsi(&self, dev: DevContext, cmd: CmdPtr) -> RawAnswer {
        let Some(exec_scsi) = self.t().exec_scsi else { return RawAnswer::NotHandled(cmd) };
        let ctx = self.t().ctx;
        // SAFETY: ownership of the command passes to the handler (ABI rule)
        // and comes back through rscst_cmd_scsi_done/exec_done, or, when it
        // answers NOT_HANDLED, with the return.
        let (ret, back, desc) = call_handler(dev, cmd, |desc| unsafe { exec_scsi(ctx, desc) });
        if ret != crate::abi::scsi_exec::NOT_HANDLED {
            if ret != crate::abi::scsi_exec::ACCEPTED {
                // Not an answer the ABI defines: the handler may have taken
                // the command, so it stays the handler's (declining it
                // could put it in two places at once).
                kernel::pr_err!("handler {:?}: exec_scsi returned {}, taken as ACCEPTED\n", self.name(), ret);
            }
            return RawAnswer::Accepted(back);
        }
        match back {
            // Not completed: the handler declined without touching it,
            // and the command is ours again.
            None => {
                // SAFETY: the handler gave the command back by declining
                // (ABI rule), so nobody else holds it.
                RawAnswer::NotHandled(unsafe { CmdPtr::from_desc(desc) })
            }
            Some(done) => {
                kernel::pr_err!("handler {:?} declined a command it completed\n", self.name());
                RawAnswer::Accepted(Some(done))
            }
        }
    }

    /// Tells the handler that TMF `function` aborted commands of device
    /// `dev` (thread context).
    pub fn task_mgmt(&self, dev: &DeviceRef, function: u8) {
        if let Some(f) = self.t().task_mgmt {
            super::context::assert_may_sleep();
            // SAFETY: `dev.ctx` is the context of an attached device: `dev`
            // counts it as in flight, and teardown detaches a device only
            // after that count dropped to zero.
            unsafe { f(self.t().ctx, dev.ctx.0 as *mut c_void, function) };
        }
    }

    /// Whether the handler can say a device's size again (`resync_size`).
    pub fn resizes(&self) -> bool {
        self.t().size.is_some()
    }

    /// The size of device `dev`'s backing store now, in bytes (thread
    /// context): None without the handler's `size`.
    pub fn size(&self, dev: &DevPriv) -> Option<Result<u64>> {
        let f = self.t().size?;
        super::context::assert_may_sleep();
        // SAFETY: `dev` is attached (DevPriv invariant: not yet consumed by
        // detach).
        let r = unsafe { f(self.t().ctx, dev.0 as *mut c_void) };
        Some(match u64::try_from(r) {
            Ok(bytes) => Ok(bytes),
            Err(_) => Err(kernel::error::Error::from_errno(i32::try_from(r).unwrap_or(-22))),
        })
    }

    /// Names of the handler's extra device attributes.
    pub fn attr_names(&self) -> impl Iterator<Item = &CStr> + '_ {
        let mut p = self.t().attr_names;
        core::iter::from_fn(move || {
            if p.is_null() {
                return None;
            }
            // SAFETY: a NUL-separated list ended by an empty name (ABI).
            let name = unsafe { CStr::from_ptr(p) };
            if name.is_empty() {
                return None;
            }
            // SAFETY: the next name starts after this one's NUL, still in the list.
            p = unsafe { p.add(name.count_bytes() + 1) };
            Some(name)
        })
    }

    /// Formats extra attribute `index` of a device into `buf`.
    pub fn show_attr(&self, dev: &DevPriv, index: u32, buf: &mut [u8]) -> usize {
        let Some(show) = self.t().show_attr else { return 0 };
        // SAFETY: `dev` is attached (DevPriv invariant: not yet consumed by
        // detach); `buf` is valid for its length, the handler writes within it.
        let n = unsafe { show(self.t().ctx, dev.0 as *mut c_void, index, buf.as_mut_ptr(), buf.len()) };
        n.min(buf.len())
    }
}

/// What a handler's raw SCSI tier did with a command.
pub enum RawAnswer {
    /// Taken: completed inside the call (`Some`: the caller continues it)
    /// or to be completed later by the handler (`None`).
    Accepted(Option<CmdPtr>),
    /// Not handled: the core emulates it.
    NotHandled(CmdPtr),
}

/// Calls into a handler with `cmd` (whose `dev_priv` is set here from
/// `dev`, whatever the descriptor held), around the [`ExecCall`]
/// handshake. Returns what `call` returned; the command when the handler
/// completed it before the call returned (the caller continues it); and the
/// descriptor, which is the caller's again only if the handler's answer
/// says it never took the command.
fn call_handler<R>(dev: DevContext, mut cmd: CmdPtr, call: impl FnOnce(*mut CmdDesc) -> R) -> (R, Option<CmdPtr>, *mut CmdDesc) {
    let c = cmd.get();
    c.desc.dev_priv = dev.0 as *mut c_void;
    c.exec_call.state.store(ExecCall::CALLING, Ordering::Release);
    let p = cmd.0;
    // `dev_priv` is the context of a device whose commands are all done
    // before it is detached (the core's teardown waits for them).
    let desc = cmd.into_desc();
    let ret = call(desc);
    // The command is still allocated: its completion, if it came already,
    // found CALLING and handed the command back to us instead of continuing
    // it, and a later one finds IDLE only after this exchange. Only atomic
    // operations touch `exec_call` from two threads. `ExecCall` is !Unpin,
    // and rustc today does not treat a `&mut` to a !Unpin type as exclusive
    // (the `UnsafePinned` workaround Rust-for-Linux's `Opaque` relies on
    // too), so the completer's `&mut Cmd` does not conflict with this access.
    // SAFETY: allocated and shared atomically, as explained above.
    let state = unsafe { &*core::ptr::addr_of!((*p.as_ptr()).exec_call.state) };
    let back = match state.compare_exchange(ExecCall::CALLING, ExecCall::IDLE, Ordering::AcqRel, Ordering::Acquire) {
        // The handler still owns it (or declined it).
        Ok(_) => None,
        Err(_) => {
            state.store(ExecCall::IDLE, Ordering::Relaxed);
            // INVARIANT: handed back by its completion; ours alone.
            Some(CmdPtr(p))
        }
    };
    (ret, back, desc)
}

/// A device's context in its handler, from a successful `attach`.
///
/// # Invariants
/// Holds the context `attach` returned; the device is not detached while
/// the token exists ([`HandlerRef::detach`] consumes it). Not `Clone`.
pub struct DevPriv(usize);

impl DevPriv {
    /// The context for commands ([`HandlerRef::exec`]).
    pub fn context(&self) -> DevContext {
        DevContext(self.0)
    }
}

/// A device's handler context as commands carry it. Valid while the device
/// has commands in flight: the core detaches a device only after they all
/// finished (see `Device::teardown`).
#[derive(Clone, Copy)]
pub struct DevContext(usize);

/// A fabric's target context, from a successful `add_target`.
///
/// # Invariants
/// Holds the context `add_target` returned; `del_target` has not been called
/// for it ([`FabricRef::del_target`] consumes it). Not `Clone`.
pub struct TgtPriv(usize);

impl TgtPriv {
    /// The raw context, for the fabric callbacks that take it by value.
    pub fn raw(&self) -> usize {
        self.0
    }
}

/// The fabric's context of a submitted TMF, handed back once in `tmf_done`.
///
/// # Invariants
/// Not `Clone`: one token per accepted `rscst_task_mgmt`.
pub struct TmfPriv(usize);

impl TmfPriv {
    /// The context the fabric passed to `rscst_task_mgmt`.
    pub fn new(p: *mut c_void) -> Self {
        TmfPriv(p as usize)
    }
}

/// A registered fabric's ops table. Invariants as for [`HandlerRef`].
#[derive(Clone, Copy)]
pub struct FabricRef(NonNull<FabricOps>);

// SAFETY: as for HandlerRef.
unsafe impl Send for FabricRef {}
// SAFETY: as for HandlerRef.
unsafe impl Sync for FabricRef {}

impl FabricRef {
    /// Checks a table handed to `rscst_register_fabric`.
    ///
    /// # Safety
    /// `p` is null or a valid table that outlives the registration.
    pub unsafe fn validate(p: *const FabricOps) -> Result<Self, TableError> {
        let ptr = NonNull::new(p.cast_mut()).ok_or(TableError::Missing("table"))?;
        // SAFETY: valid per the caller.
        let t = unsafe { ptr.as_ref() };
        check_header(t.abi_version, t.struct_size, core::mem::size_of::<FabricOps>(), t.name)?;
        if t.xmit_response.is_none() {
            return Err(TableError::Missing("xmit_response"));
        }
        if t.protocol > 0xF {
            return Err(TableError::Invalid("protocol"));
        }
        // INVARIANT: checked above; lifetime per the caller.
        Ok(FabricRef(ptr))
    }

    fn t(&self) -> &FabricOps {
        // SAFETY: valid while registered (invariant).
        unsafe { self.0.as_ref() }
    }

    /// Identity of the table.
    pub fn is(&self, p: *const FabricOps) -> bool {
        core::ptr::eq(self.0.as_ptr(), p)
    }

    /// Driver name.
    pub fn name(&self) -> &CStr {
        // SAFETY: non-null (validated), NUL-terminated per the ABI.
        unsafe { table_str(self.t().name) }.unwrap_or(c"?")
    }

    /// The PROTOCOL IDENTIFIER of the fabric's transport (at most 0xF).
    pub fn protocol(&self) -> u8 {
        (self.t().protocol & 0xF) as u8
    }

    /// Whether targets must be enabled explicitly (the fabric has `enable`).
    pub fn has_enable(&self) -> bool {
        self.t().enable.is_some()
    }

    /// Help for driver-specific mgmt commands.
    pub fn mgmt_help(&self) -> &CStr {
        // SAFETY: null or NUL-terminated per the ABI.
        unsafe { table_str(self.t().mgmt_help) }.unwrap_or(c"")
    }

    /// `add_target`: returns the fabric's target context.
    pub fn add_target(&self, tgt: *mut crate::abi::Target, name: &[u8], params: &[u8]) -> Result<TgtPriv> {
        let Some(f) = self.t().add_target else {
            return Err(kernel::error::code::EINVAL);
        };
        let mut priv_: *mut c_void = core::ptr::null_mut();
        // SAFETY: valid pointers for the given lengths; `tgt` is an opaque
        // handle the fabric passes back to rscst_session_register.
        let ret = unsafe {
            f(self.t().ctx, tgt, name.as_ptr(), name.len(), params.as_ptr(), params.len(), &mut priv_)
        };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: just returned by add_target.
        Ok(TgtPriv(priv_ as usize))
    }

    /// `del_target`. Consumes the token, so no target is deleted twice.
    pub fn del_target(&self, tgt: TgtPriv) {
        if let Some(f) = self.t().del_target {
            // SAFETY: `tgt.0` came from add_target (TgtPriv invariant) and is
            // released here once since the token is consumed.
            unsafe { f(self.t().ctx, tgt.0 as *mut c_void) };
        }
    }

    /// A driver-specific mgmt command.
    pub fn mgmt(&self, line: &[u8], msg: &mut [u8]) -> Result {
        let Some(f) = self.t().mgmt else {
            return Err(kernel::error::code::EINVAL);
        };
        // SAFETY: valid buffers for their lengths.
        let ret = unsafe { f(self.t().ctx, line.as_ptr(), line.len(), msg.as_mut_ptr(), msg.len()) };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(())
    }

    /// `enabled` changed.
    pub fn enable(&self, tgt_priv: usize, on: bool) -> Result {
        let Some(f) = self.t().enable else { return Ok(()) };
        // SAFETY: `tgt_priv` came from add_target.
        let ret = unsafe { f(self.t().ctx, tgt_priv as *mut c_void, on) };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(())
    }

    /// Asks the fabric for write data; it owns the command until rx_data_done.
    pub fn rdy_to_xfer(&self, cmd: CmdPtr) -> Result<(), CmdPtr> {
        let Some(f) = self.t().rdy_to_xfer else { return Err(cmd) };
        let desc = cmd.into_desc();
        // SAFETY: ownership passes to the fabric (ABI rule) on success.
        let ret = unsafe { f(self.t().ctx, desc) };
        if ret != 0 {
            // SAFETY: on failure the fabric did not take the command.
            return Err(unsafe { CmdPtr::from_desc(desc) });
        }
        Ok(())
    }

    /// Hands the response to the fabric; it owns the command until tx_done.
    pub fn xmit_response(&self, cmd: CmdPtr) {
        let Some(f) = self.t().xmit_response else { return };
        // SAFETY: ownership passes to the fabric (ABI rule).
        unsafe { f(self.t().ctx, cmd.into_desc()) };
    }

    /// Where the core may call `rdy_to_xfer` (`data`) or `xmit_response`.
    pub fn rules(&self, data: bool) -> CallbackRules {
        let flags = self.t().flags;
        let atomic = if data { fabric_flags::RDY_TO_XFER_ATOMIC } else { fabric_flags::XMIT_ATOMIC };
        CallbackRules { atomic_ok: flags & atomic != 0, reentrant: flags & fabric_flags::REENTRANT != 0 }
    }

    /// Whether the fabric can be told that a TMF finished.
    pub fn has_tmf_done(&self) -> bool {
        self.t().tmf_done.is_some()
    }

    /// The TMF submitted with `tmf_priv` finished with `result` and the
    /// additional response information `info`.
    pub fn tmf_done(&self, tmf_priv: TmfPriv, result: core::ffi::c_int, info: u32) {
        if let Some(f) = self.t().tmf_done {
            // SAFETY: `tmf_priv` is what the fabric submitted the TMF with,
            // given back once (the token is consumed).
            unsafe { f(self.t().ctx, tmf_priv.0 as *mut c_void, result, info) };
        }
    }

    /// A unit attention condition was established at `lun` for the
    /// session whose fabric context is `sess_priv` (see `Session::tell_fabric_ua`
    /// for why the session is still registered).
    pub fn ua_raised(&self, sess_priv: usize, lun: u64) {
        if let Some(f) = self.t().ua_raised {
            // SAFETY: `sess_priv` is the context the fabric registered the
            // session with, and the session is not unregistered yet (its
            // `fabric_calls` lock is held, see `Session::tell_fabric_ua`).
            unsafe { f(self.t().ctx, sess_priv as *mut c_void, lun) };
        }
    }

    /// A LUN appeared for a session or is going away from it.
    pub fn luns_changed(&self, tgt_priv: usize, sess: &crate::session::Session, lun: u64, added: bool) {
        if let Some(f) = self.t().luns_changed {
            let sess: *const crate::session::Session = sess;
            // SAFETY: `tgt_priv` came from add_target; `sess` is the handle the
            // fabric got from rscst_session_register (it only compares it).
            unsafe { f(self.t().ctx, tgt_priv as *mut c_void, sess.cast_mut().cast(), lun, added) };
        }
    }
}

/// A command's reference to its session, without a reference count.
///
/// The session cannot go away under it: a session is freed only after
/// `session::unregister` drained it, which waits until no command is tracked
/// in its in-flight table, and one is tracked from [`SessionRef::track`]
/// until the `SessionRef` is dropped. `Cmd` holds it in a `ManuallyDrop`,
/// which `CmdPtr` drops only after the rest of the command was dropped and
/// its memory went back to the cache (or when a command that could not be
/// allocated is discarded): untracking is a command's very last action. So a command never holds the last reference to a session
/// (and through it to its target): that drops in a management or TMF
/// thread, never on the data path.
///
/// # Invariants
/// Points to a session in whose in-flight table a command is tracked in
/// slot `slot` of `shard`, one of the session's shards; `aborted` is that
/// slot's abort flag (valid as long as the session).
pub struct SessionRef {
    sess: NonNull<crate::session::Session>,
    shard: NonNull<crate::session::Shard>,
    slot: usize,
    aborted: NonNull<core::sync::atomic::AtomicBool>,
}

// SAFETY: Session and its shards are Sync; the references are valid on any
// thread (invariant).
unsafe impl Send for SessionRef {}
// SAFETY: as above.
unsafe impl Sync for SessionRef {}

impl SessionRef {
    /// Tracks a new command in `s` (refused once `s` is dying);
    /// `reservation_out` for a PERSISTENT RESERVE OUT.
    pub fn track(s: &crate::session::Session, tag: u64, lun: u64, reservation_out: bool) -> Result<Self> {
        let (shard, slot, aborted) = s.track(tag, lun, reservation_out)?;
        // INVARIANT: just tracked in `s`, in that shard and slot, with that
        // slot's flag; the shard is part of `s`.
        Ok(SessionRef { sess: NonNull::from(s), shard: NonNull::from(shard), slot, aborted })
    }

    /// Whether a TMF or session loss aborted the command: one atomic load,
    /// no lock (TMFs set the flag under the lock of the command's shard).
    pub fn aborted(&self) -> bool {
        // SAFETY: the flag lives as long as the session, which outlives
        // this tracked command (invariant).
        unsafe { self.aborted.as_ref() }.load(Ordering::Acquire)
    }

    /// Whether the command, aborted, is answered with TASK ABORTED status
    /// (another I_T nexus's TMF, TAS set) rather than silently. Takes the
    /// lock of its shard: only asked of aborted commands.
    pub fn answers_task_aborted(&self) -> bool {
        // SAFETY: the shard lives as long as the session, which outlives
        // this tracked command (invariant).
        unsafe { self.shard.as_ref() }.lock().answers_task_aborted(self.slot)
    }
}

impl Drop for SessionRef {
    fn drop(&mut self) {
        // SAFETY: still tracked, so the session and its shards are alive
        // (invariant); nothing uses this reference afterwards.
        let (sess, shard) = unsafe { (self.sess.as_ref(), self.shard.as_ref()) };
        sess.untrack(shard, self.slot);
    }
}

impl core::ops::Deref for SessionRef {
    type Target = crate::session::Session;
    fn deref(&self) -> &crate::session::Session {
        // SAFETY: tracked, so alive (invariant).
        unsafe { self.sess.as_ref() }
    }
}

/// Who continues a command whose handler completed it: the core's call
/// into the handler's `exec` when the completion came before that call
/// returned (the handler completed it inline: the core then goes on in the
/// caller's frame, which knows whether it may call the fabric), or else the
/// completer. An atomic handshake between the two (see [`HandlerRef::exec`]
/// and [`CmdPtr::completed_by_handler`]).
pub struct ExecCall {
    state: AtomicU8,
    // Shared between two threads while one of them owns the command: keeps
    // `&mut Cmd` from being treated as exclusive of this field.
    _pin: PhantomPinned,
}

impl ExecCall {
    const IDLE: u8 = 0;
    const CALLING: u8 = 1;
    const DONE_DURING_CALL: u8 = 2;

    /// Not in a handler's `exec` call.
    pub const fn new() -> Self {
        ExecCall { state: AtomicU8::new(Self::IDLE), _pin: PhantomPinned }
    }
}

/// A command's (or a TMF's) reference to its device, counted in
/// `Device::inflight` instead of the device's reference count.
///
/// The device cannot go away under it: a device is freed only after its
/// teardown, which sets `Device::dying` and then waits until `inflight` is
/// zero; [`DeviceRef::count`] raises `inflight` and then checks `dying`
/// (both sequentially consistent), so either the teardown sees the count
/// and waits for it, or `count` sees `dying` and backs off. So the data path
/// never holds the last reference to a device, whose release sleeps (its
/// workqueue is destroyed).
///
/// # Invariants
/// Points to a device whose `inflight` counts this value.
pub struct DeviceRef(NonNull<Device>);

// SAFETY: Device is Sync; the reference is valid on any thread (invariant).
unsafe impl Send for DeviceRef {}
// SAFETY: as above.
unsafe impl Sync for DeviceRef {}

impl DeviceRef {
    /// Counts a new holder of `dev`; None once its teardown began.
    pub fn count(dev: &Device) -> Option<Self> {
        dev.inflight.fetch_add(1, Ordering::SeqCst);
        if dev.dying.load(Ordering::SeqCst) {
            dev.inflight.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        // INVARIANT: counted, and the teardown will see it (see above).
        Some(DeviceRef(NonNull::from(dev)))
    }
}

impl Drop for DeviceRef {
    fn drop(&mut self) {
        // SAFETY: counted, so alive (invariant); the decrement is the last
        // access through this reference.
        unsafe { self.0.as_ref() }.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl core::ops::Deref for DeviceRef {
    type Target = Device;
    fn deref(&self) -> &Device {
        // SAFETY: counted, so alive (invariant).
        unsafe { self.0.as_ref() }
    }
}

/// A call into a device's handler in progress, counted in
/// `Device::exec_active`: the command may be completed and freed (and its
/// [`DeviceRef`] dropped) before the call returns, and the device's
/// teardown waits for this count too.
///
/// # Invariants
/// Points to a device whose `exec_active` counts this value.
pub struct ExecActive(NonNull<Device>);

impl ExecActive {
    /// Counts a call about to start; `dev` is held by the command's
    /// [`DeviceRef`] at this point.
    pub fn begin(dev: &DeviceRef) -> Self {
        dev.exec_active.fetch_add(1, Ordering::AcqRel);
        // INVARIANT: counted just now.
        ExecActive(NonNull::from(&**dev))
    }

    /// The device, alive while this count is.
    pub fn device(&self) -> &Device {
        // SAFETY: counted, so alive while `self` lives (invariant); the
        // returned borrow cannot outlive `self`.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for ExecActive {
    fn drop(&mut self) {
        // SAFETY: counted, so alive (invariant); the decrement is the last
        // access through this reference.
        unsafe { self.0.as_ref() }.exec_active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Exclusive ownership of a command in flight (an object of the core's
/// `rscst_cmd` slab cache).
///
/// # Invariants
/// Points to a live `Cmd` allocated by `CmdPtr::alloc`; exactly one `CmdPtr`
/// (or one fabric/handler holding the raw descriptor) exists per command.
pub struct CmdPtr(NonNull<Cmd>);

// SAFETY: a command moves between threads with its single owner.
unsafe impl Send for CmdPtr {}

impl CmdPtr {
    /// Allocates a command (atomic allocation: fabrics call in from any context).
    pub fn alloc(cmd: Cmd) -> Result<Self> {
        let core = cmd.session.target.fabric.core;
        match core.cmds.alloc(cmd) {
            // INVARIANT: fresh allocation from the core's command cache,
            // single owner.
            Ok(p) => Ok(CmdPtr(p)),
            Err(mut cmd) => {
                // SAFETY: `session` is not used again; it untracks last.
                let session = unsafe { ManuallyDrop::take(&mut cmd.session) };
                drop(cmd);
                drop(session);
                Err(kernel::error::code::ENOMEM)
            }
        }
    }

    /// Ends the command at `p`: drops it, gives its memory back to the
    /// core's cache, and only then untracks it from its session (the
    /// command's very last action: the session, and the module, may go
    /// right after).
    ///
    /// # Safety
    /// `p` is a live command from `alloc`, owned by the caller and not
    /// used again.
    unsafe fn end(p: NonNull<Cmd>) {
        // SAFETY: live (caller). The core outlives its commands (CoreRef).
        let core = unsafe { p.as_ref() }.session.target.fabric.core;
        // SAFETY: live and ours (caller); `session` is moved out here and
        // not used again (ManuallyDrop: `free` does not drop it).
        let session = unsafe { ManuallyDrop::take(&mut (*p.as_ptr()).session) };
        // SAFETY: from `core.cmds.alloc` in `alloc`, ended once (caller).
        unsafe { core.cmds.free(p) };
        drop(session);
    }

    /// The command.
    pub fn get(&mut self) -> &mut Cmd {
        // SAFETY: live and exclusively ours (invariant).
        unsafe { self.0.as_mut() }
    }

    /// Gives up ownership as the ABI handle. The descriptor's buffer fields
    /// are set from the command's [`DataBuf`] first, so what a fabric or
    /// handler is told is always the real buffer.
    pub fn into_desc(mut self) -> *mut CmdDesc {
        let c = self.get();
        c.desc.sg = c.data.sg;
        c.desc.sg_cnt = c.data.nents;
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // `desc` is the first field of the repr(C) Cmd.
        p.cast()
    }

    /// Takes ownership back from an ABI handle.
    ///
    /// # Safety
    /// `desc` came from `into_desc` and its holder hands ownership back.
    pub unsafe fn from_desc(desc: *mut CmdDesc) -> Self {
        // SAFETY: per the caller, non-null and pointing at a live Cmd.
        CmdPtr(unsafe { NonNull::new_unchecked(desc.cast()) })
    }

    /// The embedded work item, for deferring the command to a thread.
    pub fn into_work(self) -> NonNull<super::work::WorkItem> {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: `p` is live; taking a field address does not create a reference.
        unsafe { NonNull::new_unchecked(core::ptr::addr_of_mut!((*p).work)) }
    }

    /// Takes ownership back from a queued work item.
    ///
    /// # Safety
    /// `work` came from `into_work` and the work has just run.
    pub unsafe fn from_work(work: NonNull<super::work::WorkItem>) -> Self {
        let off = core::mem::offset_of!(Cmd, work);
        // SAFETY: `work` lies `off` bytes into a live Cmd (per the caller).
        CmdPtr(unsafe { NonNull::new_unchecked(work.as_ptr().cast::<u8>().sub(off).cast()) })
    }

    /// The handler completed the command (`rscst_cmd_exec_done`), its status
    /// set. Returns it when the completer continues it, or None when the
    /// core's `exec` call is still running and continues it on return.
    pub fn completed_by_handler(self) -> Option<CmdPtr> {
        // SAFETY: the command is live and ours; the field is only touched
        // atomically (see `HandlerRef::exec`).
        let state = unsafe { &*core::ptr::addr_of!((*self.0.as_ptr()).exec_call.state) };
        match state.compare_exchange(ExecCall::CALLING, ExecCall::DONE_DURING_CALL, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                // Ownership goes back to the running `exec` call.
                core::mem::forget(self);
                None
            }
            Err(_) => Some(self),
        }
    }

    /// Releases the command, then untracks it from its session: the last
    /// access to the session (see [`SessionRef`]).
    pub fn free(self) {
        let p = self.0;
        core::mem::forget(self);
        // SAFETY: allocated in `alloc`; we are the only owner.
        unsafe { Self::end(p) };
    }
}

impl Drop for CmdPtr {
    fn drop(&mut self) {
        // A command must be handed on or freed explicitly. Dropping one is a
        // bug; release what it holds so drains do not wait for it forever.
        kernel::pr_err!("command dropped without completion\n");
        crate::cmd::release(self.get());
        // SAFETY: as in `free`.
        unsafe { Self::end(self.0) };
    }
}

/// Runs a deferred command step in a workqueue thread.
struct CmdWork;

impl super::work::WorkRun for CmdWork {
    fn run(item: NonNull<super::work::WorkItem>) {
        // SAFETY: only `defer` queues command work items, from `into_work`.
        let cmd = unsafe { CmdPtr::from_work(item) };
        crate::cmd::run_deferred(cmd);
    }
}

/// Continues `cmd` in a thread of the queue `pick` chooses for it
/// (`crate::cmd::run_deferred`): the core's, or its device's.
pub fn defer(mut cmd: CmdPtr, pick: impl FnOnce(&Cmd) -> &super::work::Workqueue) {
    let wq = pick(cmd.get()).raw();
    let item = cmd.into_work();
    // The command is live and owned by the queued work until it runs; a
    // command is queued at most once at a time (single owner). The queue is
    // the core's (alive while any command is) or that of the command's
    // device, which the command keeps alive until the work ran; should the
    // work run, finish the command and let the device go before
    // `queue_work` returns, the workqueue itself is freed only after an RCU
    // grace period, which `queue_work` holds off. No Rust reference to the
    // device is held across the call.
    // SAFETY: a live, unqueued item and a live queue, as explained above.
    unsafe { wq.queue::<CmdWork>(item) };
}

/// A command's data buffer: the initiator's, lent by the fabric with the
/// command, or an SGV buffer the command owns. The core reads and writes
/// data only through this, never through the descriptor's `sg` fields
/// (which safe code can write); those are set from it at every hand-off
/// ([`CmdPtr::into_desc`]).
///
/// # Invariants
/// `sg` is null, or a scatterlist of `nents` entries valid while this value
/// lives: the fabric's (the ABI keeps it valid until `tx_done`) or the one
/// of `owned`.
pub struct DataBuf {
    sg: *mut c_void,
    nents: u32,
    owned: Option<crate::sgv::SgvBuf>,
}

// SAFETY: the buffer moves with its command between threads (single owner).
unsafe impl Send for DataBuf {}

impl DataBuf {
    /// No buffer (yet).
    pub fn none() -> Self {
        // INVARIANT: null.
        DataBuf { sg: core::ptr::null_mut(), nents: 0, owned: None }
    }

    /// The buffer a fabric hands in with a command.
    ///
    /// # Safety
    /// `sg` is null or a scatterlist of `nents` entries that stays valid
    /// until the command's `tx_done` (the ABI rule for `rscst_rx_cmd`).
    pub unsafe fn lent(sg: *mut c_void, nents: u32) -> Self {
        // INVARIANT: per the caller.
        DataBuf { sg, nents, owned: None }
    }

    /// An SGV buffer shaped for `len` bytes, owned by the command.
    pub fn owned(mut buf: crate::sgv::SgvBuf, len: u64) -> Self {
        let (sg, nents) = buf.shape(len);
        // INVARIANT: the scatterlist of `buf`, which lives as long as we do.
        DataBuf { sg, nents, owned: Some(buf) }
    }

    /// Whether there is a buffer.
    pub fn is_none(&self) -> bool {
        self.sg.is_null()
    }

    /// The buffer as a scatter-gather list.
    pub fn list(&mut self) -> super::sg::SgList<'_> {
        // SAFETY: valid while we live (invariant); `&mut self` keeps it so.
        unsafe { super::sg::SgList::from_raw(self.sg, self.nents) }
    }

    /// Gives back the owned SGV buffer, if any; afterwards there is none.
    pub fn take_owned(&mut self) -> Option<crate::sgv::SgvBuf> {
        let b = self.owned.take()?;
        // INVARIANT: null again.
        self.sg = core::ptr::null_mut();
        self.nents = 0;
        Some(b)
    }
}
