// SPDX-License-Identifier: GPL-2.0
//! A SCSI host whose commands a safe [`HostOps`] serves: the loopback
//! initiator side. queuecommand runs in atomic context; the error-handler
//! callbacks run in the SCSI EH thread (process context).

use super::bindings;
use core::ffi::{c_int, CStr};
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::{code, Error, Result};
use kernel::prelude::*;
use kernel::sync::Arc;

const DMA_TO_DEVICE: u32 = 1;
const DMA_FROM_DEVICE: u32 = 2;
const SCSI_MLQUEUE_HOST_BUSY: QcStatus = 0x1055;
/// What `queuecommand` returns (an `int` in 6.12, `enum scsi_qc_status`
/// in 7).
#[cfg(not(rscst_kernel7))]
type QcStatus = c_int;
/// What `queuecommand` returns (see above).
#[cfg(rscst_kernel7)]
type QcStatus = core::ffi::c_uint;
const EH_SUCCESS: c_int = 0x2002;
const EH_FAILED: c_int = 0x2003;
const SCSI_SENSE_BUFFERSIZE: usize = 96;

extern "C" {
    /// `scsi_done` with bottom halves disabled around it (`helpers.c`), so
    /// that a block softirq it raises (a host with one hardware queue)
    /// runs in the caller's context rather than in ksoftirqd (plain
    /// `scsi_done` in hard IRQ or with interrupts disabled). Any context.
    fn rscst_local_scsi_done(cmd: *mut core::ffi::c_void);
    /// The number of online CPUs (`num_online_cpus()`).
    fn rscst_local_online_cpus() -> u32;
}

/// Most hardware queues a host gets.
const MAX_HW_QUEUES: u32 = 16;

/// A hardware queue per online CPU, at most [`MAX_HW_QUEUES`]: blk-mq then
/// dispatches each CPU's requests on its own queue (no shared dispatch lock,
/// and no I/O scheduler by default), and a command completed on the CPU
/// that submitted it finishes right there. Each queue preallocates its own
/// `can_queue` requests, hence the cap; CPUs beyond it, or coming online
/// later, share queues. A CPU going offline waits until its queue is empty,
/// so a hung backing store can delay that.
fn hw_queues(online_cpus: u32) -> u32 {
    online_cpus.clamp(1, MAX_HW_QUEUES)
}

/// Data direction of a SCSI command.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// No data.
    None,
    /// Device to host.
    Read,
    /// Host to device.
    Write,
}

/// A command from the SCSI midlayer, owned until `complete`.
///
/// # Invariants
/// A live scsi_cmnd handed to queuecommand, not yet completed.
pub struct ScsiCmd(NonNull<bindings::scsi_cmnd>);

// SAFETY: a scsi_cmnd may be completed from any context.
unsafe impl Send for ScsiCmd {}

impl ScsiCmd {
    fn c(&self) -> &bindings::scsi_cmnd {
        // SAFETY: live (invariant).
        unsafe { self.0.as_ref() }
    }

    /// LUN.
    pub fn lun(&self) -> u64 {
        // SAFETY: a live command has a live device.
        unsafe { (*self.c().device).lun }
    }
    /// CDB bytes.
    pub fn cdb(&self) -> &[u8] {
        let c = self.c();
        // SAFETY: `cmnd` holds at least `cmd_len` bytes (SCSI midlayer).
        unsafe { core::slice::from_raw_parts(c.cmnd.as_ptr(), usize::from(c.cmd_len).min(c.cmnd.len())) }
    }
    /// Data direction.
    pub fn dir(&self) -> Dir {
        match self.c().sc_data_direction {
            DMA_TO_DEVICE => Dir::Write,
            DMA_FROM_DEVICE => Dir::Read,
            _ => Dir::None,
        }
    }
    /// Buffer length.
    pub fn bufflen(&self) -> u32 {
        self.c().sdb.length
    }
    /// The scatterlist and its entry count.
    pub fn sg(&self) -> (*mut core::ffi::c_void, u32) {
        let t = &self.c().sdb.table;
        (t.sgl.cast(), t.nents)
    }
    /// Copies the midlayer's write data into `cmd`'s own buffer.
    pub fn copy_into<F: super::client::FabricTypes>(&self, cmd: &mut super::client::FabricCmd<F>) -> usize {
        let (sg, n) = self.sg();
        // SAFETY: the midlayer's scatterlist is valid while the command is live.
        unsafe { cmd.copy_in(sg, n, self.bufflen() as usize) }
    }

    /// Copies `len` bytes of `cmd`'s read data into the midlayer's buffer.
    pub fn copy_from<F: super::client::FabricTypes>(&self, cmd: &super::client::FabricCmd<F>, len: usize) -> usize {
        let (sg, n) = self.sg();
        // SAFETY: as in `copy_into`.
        unsafe { cmd.copy_out(sg, n, len.min(self.bufflen() as usize)) }
    }

    /// A tag unique among this host's commands in flight.
    pub fn tag(&self) -> u64 {
        self.0.as_ptr() as u64
    }

    /// Completes the command with host byte DID_RESET (aborted by a reset;
    /// the midlayer retries it).
    pub fn complete_reset(self) {
        const DID_RESET: c_int = 0x08;
        let p = self.0.as_ptr();
        // SAFETY: live and ours until scsi_done (invariant).
        unsafe {
            (*p).result = DID_RESET << 16;
            rscst_local_scsi_done(p.cast());
        }
    }

    /// Completes the command with `status`, `sense` and residual `resid`.
    pub fn complete(self, status: u8, sense: &[u8], resid: i32) {
        let p = self.0.as_ptr();
        // SAFETY: live and ours until scsi_done (invariant); the sense buffer
        // holds SCSI_SENSE_BUFFERSIZE bytes.
        unsafe {
            (*p).result = c_int::from(status);
            if !sense.is_empty() && !(*p).sense_buffer.is_null() {
                let n = sense.len().min(SCSI_SENSE_BUFFERSIZE);
                core::ptr::copy_nonoverlapping(sense.as_ptr(), (*p).sense_buffer, n);
            }
            (*p).resid_len = resid.max(0) as u32;
            rscst_local_scsi_done(p.cast());
        }
    }
}

/// A midlayer command is the loopback fabric's per-command context: stored
/// in the core's command until the response completes it.
impl super::client::Priv for ScsiCmd {
    fn into_raw(self) -> NonNull<core::ffi::c_void> {
        self.0.cast()
    }
    unsafe fn from_raw(p: NonNull<core::ffi::c_void>) -> Self {
        // INVARIANT: `p` came from `into_raw` (caller), so it is a live,
        // uncompleted scsi_cmnd: only `ScsiCmd`'s consuming methods
        // complete one, and this one was stored instead.
        ScsiCmd(p.cast())
    }
}

/// What serves a host.
pub trait HostOps: Send + Sync + 'static {
    /// A new command (atomic context). Err(cmd): busy, the midlayer retries.
    fn queue(&self, cmd: ScsiCmd) -> Result<(), ScsiCmd>;
    /// ABORT TASK for `tag` (EH thread). True on success.
    fn abort(&self, lun: u64, tag: u64) -> bool;
    /// LOGICAL UNIT RESET (EH thread).
    fn lun_reset(&self, lun: u64) -> bool;
    /// TARGET RESET (EH thread); also used for host reset.
    fn target_reset(&self) -> bool;
}

/// A root device the hosts hang off (their parent in sysfs).
///
/// # Invariants
/// A device from __root_device_register, unregistered on drop.
pub struct RootDevice(NonNull<bindings::device>);

// SAFETY: a registered device may be referenced from any thread.
unsafe impl Send for RootDevice {}
// SAFETY: as above.
unsafe impl Sync for RootDevice {}

impl RootDevice {
    /// Registers /sys/devices/`name`.
    pub fn new(name: &CStr, module: &'static ThisModule) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated; `module` is this module.
        let d = unsafe { bindings::__root_device_register(name.as_ptr(), module.as_ptr().cast()) };
        let v = d as isize;
        if (-4095..0).contains(&v) {
            return Err(Error::from_errno(v as i32));
        }
        NonNull::new(d).map(RootDevice).ok_or(code::ENOMEM)
    }
}

impl Drop for RootDevice {
    fn drop(&mut self) {
        // SAFETY: registered in `new` (invariant).
        unsafe { bindings::root_device_unregister(self.0.as_ptr()) };
    }
}

/// A host template for hosts served by `T`.
pub struct Template<T: HostOps> {
    t: KBox<bindings::scsi_host_template>,
    _name: &'static CStr,
    _p: PhantomData<T>,
}

// SAFETY: the template is immutable after construction.
unsafe impl<T: HostOps> Send for Template<T> {}
// SAFETY: as above.
unsafe impl<T: HostOps> Sync for Template<T> {}

impl<T: HostOps> Template<T> {
    /// Builds the template (`can_queue` commands per hardware queue, requests of at
    /// most `max_sectors` 512-byte sectors).
    pub fn new(name: &'static CStr, module: &'static ThisModule, can_queue: i32, max_sectors: u32) -> Result<Self> {
        let mut t = KBox::new(bindings::scsi_host_template::default(), GFP_KERNEL)?;
        t.module = module.as_ptr().cast();
        t.name = name.as_ptr();
        t.proc_name = name.as_ptr();
        t.queuecommand = Some(queuecommand::<T>);
        t.eh_abort_handler = Some(eh_abort::<T>);
        t.eh_device_reset_handler = Some(eh_device_reset::<T>);
        t.eh_target_reset_handler = Some(eh_target_reset::<T>);
        t.eh_host_reset_handler = Some(eh_host_reset::<T>);
        t.can_queue = can_queue;
        t.this_id = -1;
        t.sg_tablesize = 0xffff;
        t.cmd_per_lun = can_queue as i16;
        t.max_sectors = max_sectors;
        t.dma_boundary = u64::MAX as _;
        t.max_segment_size = u32::MAX;
        t.set_skip_settle_delay(1);
        Ok(Template { t, _name: name, _p: PhantomData })
    }
}

/// What a host's hostdata holds: the serving `T`, and how many error-handler
/// callbacks are using it.
///
/// The hostdata lives as long as the Scsi_Host, which an open /dev/sdX or
/// /dev/sgN keeps after `scsi_remove_host`: Linux 6.12's SG_SCSI_RESET ioctl
/// (an O_NDELAY fd skips the state checks) still calls the EH handlers of a
/// removed host. So removal clears `ops` and waits for `users` to drain
/// before it drops `T`; a callback that finds `ops` cleared answers FAILED.
///
/// # Invariants
/// `ops` is null or `Arc::into_raw` of a live `Arc<T>` that the host owns;
/// it is only cleared (once, by [`ScsiHost::drop`]), never set again.
struct HostData<T> {
    ops: AtomicPtr<T>,
    users: AtomicU32,
}

/// A registered SCSI host; removed (waiting for its commands) on drop.
///
/// # Invariants
/// `shost` is an added host whose hostdata holds an initialised
/// `HostData<T>`.
pub struct ScsiHost<T: HostOps> {
    shost: NonNull<bindings::Scsi_Host>,
    _p: PhantomData<T>,
}

// SAFETY: SCSI host APIs are thread-safe.
unsafe impl<T: HostOps> Send for ScsiHost<T> {}
// SAFETY: as above.
unsafe impl<T: HostOps> Sync for ScsiHost<T> {}

impl<T: HostOps> ScsiHost<T> {
    /// Allocates, adds and scans a host served by `ops`. Process context.
    pub fn new(tmpl: &Template<T>, parent: &RootDevice, ops: Arc<T>, max_lun: u64) -> Result<Self> {
        let size = core::mem::size_of::<HostData<T>>() as c_int;
        // SAFETY: the template outlives every host (module state, dropped last).
        let sh = unsafe { bindings::scsi_host_alloc(&*tmpl.t, size) };
        let sh = NonNull::new(sh).ok_or(code::ENOMEM)?;
        let data = HostData { ops: AtomicPtr::new(Arc::into_raw(ops).cast_mut()), users: AtomicU32::new(0) };
        // SAFETY: a fresh, not yet added host (its queue count may be set) with
        // room for a HostData<T> of unsigned-long aligned hostdata (enough for
        // its atomics); `rscst_local_online_cpus` has no precondition.
        unsafe {
            let h = sh.as_ptr();
            (*h).max_id = 1;
            (*h).max_channel = 0;
            (*h).max_lun = max_lun;
            (*h).max_cmd_len = 32;
            (*h).nr_hw_queues = hw_queues(rscst_local_online_cpus());
            host_data::<T>(h).write(data);
            let ret = bindings::scsi_add_host_with_dma(h, parent.0.as_ptr(), parent.0.as_ptr());
            if ret != 0 {
                let d = &*host_data::<T>(h);
                drop(Arc::from_raw(d.ops.load(Ordering::SeqCst)));
                bindings::scsi_host_put(h);
                return Err(Error::from_errno(ret));
            }
            bindings::scsi_scan_host(h);
        }
        // INVARIANT: added, hostdata initialised.
        Ok(ScsiHost { shost: sh, _p: PhantomData })
    }

    /// Host number (hostN).
    pub fn host_no(&self) -> u32 {
        // SAFETY: live host (invariant).
        unsafe { (*self.shost.as_ptr()).host_no }
    }

    /// Makes a new LUN visible (process context).
    pub fn add_lun(&self, lun: u64) {
        // SAFETY: live host; scsi_add_device probes synchronously.
        let sdev = unsafe { bindings::__scsi_add_device(self.shost.as_ptr(), 0, 0, lun, core::ptr::null_mut()) };
        let v = sdev as isize;
        if !sdev.is_null() && !(-4095..0).contains(&v) {
            // SAFETY: __scsi_add_device returned a referenced device.
            unsafe { bindings::scsi_device_put(sdev) };
        }
    }

    /// Removes a LUN's device (process context).
    pub fn remove_lun(&self, lun: u64) {
        // SAFETY: live host.
        let sdev = unsafe { bindings::scsi_device_lookup(self.shost.as_ptr(), 0, 0, lun) };
        if !sdev.is_null() {
            // SAFETY: a referenced device from scsi_device_lookup.
            unsafe {
                bindings::scsi_remove_device(sdev);
                bindings::scsi_device_put(sdev);
            }
        }
    }
}

impl<T: HostOps> Drop for ScsiHost<T> {
    fn drop(&mut self) {
        let h = self.shost.as_ptr();
        // scsi_remove_host removes every device and waits for their
        // requests, so queuecommand is never called again; the error
        // handlers (the EH thread lives until the last scsi_host_put, and
        // the reset ioctl of an fd still open) go through `with_ops`.
        // SAFETY: live host (invariant); callbacks handled as just said.
        unsafe {
            bindings::scsi_remove_host(h);
            let d = &*host_data::<T>(h);
            let ops = d.ops.swap(core::ptr::null_mut(), Ordering::SeqCst);
            // A callback that loaded `ops` before the swap counted itself in
            // `users` first (SeqCst on both sides): wait for it to finish.
            while d.users.load(Ordering::SeqCst) != 0 {
                bindings::msleep(1);
            }
            if !ops.is_null() {
                drop(Arc::from_raw(ops));
            }
            // The hostdata itself stays until the last reference (an open
            // device node) drops the Scsi_Host.
            bindings::scsi_host_put(h);
        }
    }
}

/// # Safety
/// `h` is one of our hosts: its hostdata holds an initialised `HostData<T>`.
unsafe fn host_data<T>(h: *mut bindings::Scsi_Host) -> *mut HostData<T> {
    // SAFETY: per the caller; hostdata is the host's trailing storage.
    unsafe { (*h).hostdata.as_mut_ptr().cast::<HostData<T>>() }
}

/// Runs `f` with the serving `T` of host `h`, or returns `None` when the host
/// was removed (its `T` dropped or being dropped).
///
/// # Safety
/// `h` is one of our hosts, referenced for the duration of the call.
unsafe fn with_ops<T: HostOps, R>(h: *mut bindings::Scsi_Host, f: impl FnOnce(&T) -> R) -> Option<R> {
    // SAFETY: per the caller, the hostdata is initialised and alive.
    let d = unsafe { &*host_data::<T>(h) };
    d.users.fetch_add(1, Ordering::SeqCst);
    let p = d.ops.load(Ordering::SeqCst);
    let r = if p.is_null() {
        None
    } else {
        // SAFETY: not yet cleared, and we are counted in `users`, so
        // `ScsiHost::drop` keeps the Arc alive until we are done.
        Some(f(unsafe { &*p }))
    };
    d.users.fetch_sub(1, Ordering::SeqCst);
    r
}

/// # Safety
/// Called by the midlayer's error handling (EH thread or ioctl) with a
/// command of one of our hosts.
unsafe fn eh_with_ops<T: HostOps>(cmd: *mut bindings::scsi_cmnd, f: impl FnOnce(&T, u64) -> bool) -> c_int {
    // SAFETY: the command's device and host are referenced by the caller.
    let (h, lun) = unsafe { ((*(*cmd).device).host, (*(*cmd).device).lun) };
    // SAFETY: as above.
    let ok = unsafe { with_ops::<T, bool>(h, |ops| f(ops, lun)) };
    if ok.is_none() {
        pr_info!("reset on a removed host refused\n");
    }
    disposition(ok.unwrap_or(false))
}

unsafe extern "C" fn queuecommand<T: HostOps>(h: *mut bindings::Scsi_Host, cmd: *mut bindings::scsi_cmnd) -> QcStatus {
    let Some(c) = NonNull::new(cmd) else { return SCSI_MLQUEUE_HOST_BUSY };
    // The midlayer queues commands only to devices of a host that is not yet
    // removed (scsi_remove_host removes and drains every device first); the
    // hot path does without `with_ops`' counting.
    // SAFETY: so `ops` is set and stays so for this call.
    let ops = unsafe { &*(*host_data::<T>(h)).ops.load(Ordering::Acquire) };
    match ops.queue(ScsiCmd(c)) {
        Ok(()) => 0,
        Err(_) => SCSI_MLQUEUE_HOST_BUSY,
    }
}

fn disposition(ok: bool) -> c_int {
    if ok {
        EH_SUCCESS
    } else {
        EH_FAILED
    }
}

unsafe extern "C" fn eh_abort<T: HostOps>(cmd: *mut bindings::scsi_cmnd) -> c_int {
    // SAFETY: EH callback for our host with a live command.
    unsafe { eh_with_ops::<T>(cmd, |ops, lun| ops.abort(lun, cmd as u64)) }
}

unsafe extern "C" fn eh_device_reset<T: HostOps>(cmd: *mut bindings::scsi_cmnd) -> c_int {
    // SAFETY: as above.
    unsafe { eh_with_ops::<T>(cmd, |ops, lun| ops.lun_reset(lun)) }
}

unsafe extern "C" fn eh_target_reset<T: HostOps>(cmd: *mut bindings::scsi_cmnd) -> c_int {
    // SAFETY: as above.
    unsafe { eh_with_ops::<T>(cmd, |ops, _| ops.target_reset()) }
}

unsafe extern "C" fn eh_host_reset<T: HostOps>(cmd: *mut bindings::scsi_cmnd) -> c_int {
    // SAFETY: as above.
    unsafe { eh_with_ops::<T>(cmd, |ops, _| ops.target_reset()) }
}
