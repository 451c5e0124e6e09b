// SPDX-License-Identifier: GPL-2.0
//! Safe wrappers around kunit_shim.c: running code in softirq or hard IRQ,
//! in a thread or later in hard IRQ; the caller's context; a kernel buffer
//! with its scatterlist; management writes.

use super::client::{FabricCmd, FabricTypes, IoCmd};
use crate::abi::CmdDesc;
use core::sync::atomic::{AtomicPtr, Ordering};
use core::ffi::{c_char, c_int, c_uint, c_void, CStr};
use core::ptr::NonNull;
use kernel::error::{Error, Result};
use kernel::prelude::*;

type Fn = unsafe extern "C" fn(arg: *mut c_void);

extern "C" {
    fn rscst_kunit_context() -> c_int;
    fn rscst_kunit_current() -> *const c_void;
    fn rscst_kunit_run_in(where_: c_int, f: Fn, arg: *mut c_void);
    fn rscst_kunit_run_on_cpu(cpu: c_uint, f: Fn, arg: *mut c_void) -> c_int;
    fn rscst_kunit_sg_one(sg: *mut c_void, buf: *mut c_void, len: c_uint);
    fn rscst_kunit_sg_size() -> usize;
    fn rscst_kunit_write(path: *const c_char, line: *const c_char) -> c_int;
    fn rscst_kunit_async(cpu: c_int, f: Fn, arg: *mut c_void) -> *mut c_void;
    fn rscst_kunit_async_done(h: *mut c_void) -> bool;
    fn rscst_kunit_async_wait(h: *mut c_void);
    fn rscst_kunit_later_new(f: Fn, arg: *mut c_void) -> *mut c_void;
    fn rscst_kunit_later_start(h: *mut c_void, us: c_uint);
    fn rscst_kunit_later_free(h: *mut c_void);
}

/// Where [`run_in`] runs its function.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Where {
    /// The calling thread.
    Thread,
    /// A timer callback (softirq).
    Softirq,
    /// An irq_work callback (hard IRQ).
    Hardirq,
}

/// Where the caller runs: 2 in hard IRQ, 1 in softirq (or with bottom
/// halves off), 0 otherwise.
pub fn context() -> u8 {
    // SAFETY: reads the preempt count and the interrupt flag.
    unsafe { rscst_kunit_context() as u8 }
}

/// The current task, as an identity.
pub fn current_task() -> usize {
    // SAFETY: reads `current`.
    unsafe { rscst_kunit_current() as usize }
}

unsafe extern "C" fn call_dyn(arg: *mut c_void) {
    // SAFETY: `arg` is the `&mut &mut dyn FnMut()` that `run_in` or `Async`
    // passed, alive until the call returned (they wait for it).
    let f = unsafe { &mut *arg.cast::<&mut dyn FnMut()>() };
    f()
}

/// Runs `f` in `w` and waits for it (thread context).
pub fn run_in(w: Where, mut f: impl FnMut() + Send) {
    let mut f: &mut dyn FnMut() = &mut f;
    let code = match w {
        Where::Thread => 0,
        Where::Softirq => 1,
        Where::Hardirq => 2,
    };
    let arg: *mut &mut dyn FnMut() = &mut f;
    // SAFETY: `call_dyn` gets `arg`, valid until this call returns, which
    // the shim does only after `f` ran.
    unsafe { rscst_kunit_run_in(code, call_dyn, arg.cast()) };
}

/// Runs `f` on CPU `cpu` (in its interrupt, or with interrupts off: when
/// it is this CPU, or an idle CPU polling) and waits for it (thread context); false, without
/// running `f`, when that CPU is not online.
pub fn run_on_cpu(cpu: u32, mut f: impl FnMut() + Send) -> bool {
    let mut f: &mut dyn FnMut() = &mut f;
    let arg: *mut &mut dyn FnMut() = &mut f;
    // SAFETY: `call_dyn` gets `arg`, valid until this call returns, which
    // the shim does only after `f` ran (or when it will not run).
    unsafe { rscst_kunit_run_on_cpu(cpu, call_dyn, arg.cast()) == 0 }
}

/// A function running in a kernel thread (see [`with_async`]).
pub struct Running {
    handle: NonNull<c_void>,
}

impl Running {
    /// Whether it returned.
    pub fn done(&self) -> bool {
        // SAFETY: a live handle: `with_async` frees it only after `during`.
        unsafe { rscst_kunit_async_done(self.handle.as_ptr()) }
    }
}

/// Runs `f` in a kernel thread while `during` runs here, then waits for
/// `f` to return (thread context). None when no thread could be had.
pub fn with_async<R>(f: impl FnMut() + Send, during: impl FnOnce(&Running) -> R) -> Option<R> {
    with_async_on(None, f, during)
}

/// [`with_async`] with the thread on CPU `cpu`, if given (an online one).
pub fn with_async_on<R>(cpu: Option<u32>, mut f: impl FnMut() + Send, during: impl FnOnce(&Running) -> R) -> Option<R> {
    let cpu = match cpu {
        Some(c) => c_int::try_from(c).ok()?,
        None => -1,
    };
    let mut f: &mut dyn FnMut() = &mut f;
    let arg: *mut &mut dyn FnMut() = &mut f;
    // SAFETY: `arg` stays valid until the call returned: this function
    // waits for it below before `f` goes out of scope, on every path.
    let h = unsafe { rscst_kunit_async(cpu, call_dyn, arg.cast()) };
    let running = Running { handle: NonNull::new(h)? };
    let r = during(&running);
    // SAFETY: a live handle, waited for and freed once.
    unsafe { rscst_kunit_async_wait(running.handle.as_ptr()) };
    Some(r)
}

/// Calls a function in hard IRQ some microseconds after `start`.
///
/// # Invariants
/// `handle` is a live shim timer whose argument is `target`.
pub struct Later<T: Send + Sync + 'static> {
    handle: NonNull<c_void>,
    _target: core::marker::PhantomData<T>,
}

// SAFETY: the shim timer may be started from any thread.
unsafe impl<T: Send + Sync + 'static> Send for Later<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync + 'static> Sync for Later<T> {}

/// What a [`Later`] calls.
pub trait Fire: Send + Sync + 'static {
    /// Runs in hard IRQ.
    fn fire(&self);
}

unsafe extern "C" fn fire<T: Fire>(arg: *mut c_void) {
    // SAFETY: `arg` is the `&'static T` given to `Later::new`.
    unsafe { &*arg.cast::<T>() }.fire()
}

impl<T: Fire> Later<T> {
    /// A timer calling `target.fire()`.
    pub fn new(target: &'static T) -> Result<Self> {
        let arg: *const T = target;
        // SAFETY: `target` lives forever.
        let h = unsafe { rscst_kunit_later_new(fire::<T>, arg.cast_mut().cast()) };
        Ok(Later { handle: NonNull::new(h).ok_or(ENOMEM)?, _target: core::marker::PhantomData })
    }

    /// Fires once, `us` microseconds from now (any context).
    pub fn start(&self, us: u32) {
        // SAFETY: a live timer (invariant).
        unsafe { rscst_kunit_later_start(self.handle.as_ptr(), us) };
    }
}

impl<T: Send + Sync + 'static> Drop for Later<T> {
    fn drop(&mut self) {
        // SAFETY: a live timer, cancelled and freed once.
        unsafe { rscst_kunit_later_free(self.handle.as_ptr()) };
    }
}

/// A kernel buffer with a one-entry scatterlist over it.
pub struct SgBuf {
    sg: KVec<u64>,
    buf: KVec<u8>,
}

impl SgBuf {
    /// A zeroed buffer of `len` bytes (`atomic`: the caller may not sleep).
    pub fn new(len: usize, atomic: bool) -> Result<Self> {
        // An empty scatterlist entry would point at no memory.
        if len == 0 || len > u32::MAX as usize {
            return Err(EINVAL);
        }
        let flags = if atomic { GFP_ATOMIC } else { GFP_KERNEL };
        // SAFETY: no preconditions.
        let words = unsafe { rscst_kunit_sg_size() }.div_ceil(8);
        let mut sg = KVec::new();
        sg.extend_with(words, 0u64, flags)?;
        let mut buf = KVec::new();
        buf.extend_with(len, 0u8, flags)?;
        let mut b = SgBuf { sg, buf };
        // SAFETY: `sg` has room for a scatterlist (size from C, 8-aligned);
        // `buf` is a kernel buffer of `len` bytes; both live as long as `b`
        // and never move (their heap storage is not reallocated).
        unsafe { rscst_kunit_sg_one(b.sg.as_mut_ptr().cast(), b.buf.as_mut_ptr().cast(), len as c_uint) };
        Ok(b)
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Fills the buffer with `b`.
    pub fn fill(&mut self, b: u8) {
        self.buf.iter_mut().for_each(|x| *x = b);
    }

    /// Overwrites the start of the buffer with `bytes` (as much as fits).
    pub fn overwrite_start(&mut self, bytes: &[u8]) {
        self.buf.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s);
    }

    /// Copies the command's data into this buffer; returns bytes copied.
    pub fn copy_from_cmd<F: FabricTypes>(&mut self, cmd: &FabricCmd<F>) -> usize {
        let len = self.buf.len();
        // SAFETY: our scatterlist is valid for the call.
        unsafe { cmd.copy_out(self.sg.as_mut_ptr().cast(), 1, len) }
    }

    /// Copies this buffer into the command's data; returns bytes copied.
    pub fn copy_into_cmd<F: FabricTypes>(&mut self, cmd: &mut FabricCmd<F>) -> usize {
        let len = self.buf.len();
        // SAFETY: our scatterlist is valid for the call.
        unsafe { cmd.copy_in(self.sg.as_mut_ptr().cast(), 1, len) }
    }
}

/// Writes `line` into the sysfs file `path` (thread context).
pub fn write(path: &CStr, line: &CStr) -> Result {
    // SAFETY: both NUL-terminated, valid for the call.
    let r = unsafe { rscst_kunit_write(path.as_ptr(), line.as_ptr()) };
    if r < 0 {
        return Err(Error::from_errno(r));
    }
    Ok(())
}

/// Sleeps `ms` milliseconds (thread context).
pub fn sleep_ms(ms: u32) {
    // SAFETY: msleep needs a context that may sleep; callers are threads.
    unsafe { super::bindings::msleep(ms) };
}

/// Commands a handler holds, in slots any context may fill and empty.
pub struct CmdSlots<const N: usize>([AtomicPtr<CmdDesc>; N]);

impl<const N: usize> CmdSlots<N> {
    /// Empty slots.
    pub const fn new() -> Self {
        CmdSlots([const { AtomicPtr::new(core::ptr::null_mut()) }; N])
    }

    /// Keeps `cmd`; gives it back when every slot is taken.
    pub fn put(&self, cmd: IoCmd) -> core::result::Result<(), IoCmd> {
        let p = cmd.into_raw();
        for s in self.0.iter() {
            if s.compare_exchange(core::ptr::null_mut(), p, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                return Ok(());
            }
        }
        // SAFETY: `p` came from `into_raw` just above and is not stored.
        Err(unsafe { IoCmd::from_raw(p) }.expect("non-null"))
    }

    /// Takes a held command back.
    pub fn take(&self) -> Option<IoCmd> {
        for s in self.0.iter() {
            let p = s.swap(core::ptr::null_mut(), Ordering::AcqRel);
            if !p.is_null() {
                // SAFETY: stored by `put` from `into_raw`; the swap gives it
                // to us alone.
                return unsafe { IoCmd::from_raw(p) };
            }
        }
        None
    }

    /// Takes back the held command in the last occupied slot.
    pub fn take_last(&self) -> Option<IoCmd> {
        for s in self.0.iter().rev() {
            let p = s.swap(core::ptr::null_mut(), Ordering::AcqRel);
            if !p.is_null() {
                // SAFETY: as in `take`.
                return unsafe { IoCmd::from_raw(p) };
            }
        }
        None
    }

    /// Commands held.
    pub fn count(&self) -> usize {
        self.0.iter().filter(|s| !s.load(Ordering::Acquire).is_null()).count()
    }
}
