// SPDX-License-Identifier: GPL-2.0
//! The core's workqueue: where command steps that may sleep run when the
//! fabric handed the command in from atomic context.

use super::bindings;
use core::ffi::c_char;
use core::ptr::NonNull;
use kernel::alloc::flags::GFP_ATOMIC;
use kernel::error::{code, Result};
use kernel::prelude::*;

extern "C" {
    fn rscst_sys_init_work(work: *mut bindings::work_struct, f: bindings::work_func_t);
    fn rscst_sys_queue_work(wq: *mut bindings::workqueue_struct, work: *mut bindings::work_struct) -> bool;
    fn rscst_sys_alloc_wq(name: *const c_char, per_cpu: bool, max_active: core::ffi::c_int) -> *mut bindings::workqueue_struct;
    fn rscst_sys_cpu() -> u32;
}

/// The CPU the caller runs on (a hint: it may migrate right after).
pub fn current_cpu() -> u32 {
    // SAFETY: raw_smp_processor_id() has no preconditions.
    unsafe { rscst_sys_cpu() }
}

/// A work item embedded in an object that a [`Workqueue`] can run.
#[repr(transparent)]
#[derive(Default)]
pub struct WorkItem(bindings::work_struct);

/// Implemented by the object embedding a [`WorkItem`], to run it.
pub trait WorkRun {
    /// Called in a workqueue thread (may sleep) with the object that was queued.
    fn run(item: NonNull<WorkItem>);
}

/// What a [`Workqueue`] is for.
#[derive(Clone, Copy)]
pub enum QueueKind {
    /// Steps that block (file I/O): unbound, at most `max_active` at once
    /// (0: the kernel's default).
    Blocking {
        /// Work items running at once.
        max_active: i32,
    },
    /// Short steps run on the CPU that queued them.
    PerCpu,
}

/// A workqueue.
///
/// # Invariants
/// `wq` is a live workqueue owned by this value.
pub struct Workqueue {
    wq: NonNull<bindings::workqueue_struct>,
}

// SAFETY: workqueues are designed for use from any context and thread.
unsafe impl Send for Workqueue {}
// SAFETY: as above.
unsafe impl Sync for Workqueue {}

impl Workqueue {
    /// Allocates a workqueue named `name`.
    pub fn new(name: &core::ffi::CStr, kind: QueueKind) -> Result<Self> {
        let (per_cpu, max_active) = match kind {
            QueueKind::Blocking { max_active } => (false, max_active),
            QueueKind::PerCpu => (true, 0),
        };
        // SAFETY: `name` is NUL-terminated and copied by alloc_workqueue.
        let wq = unsafe { rscst_sys_alloc_wq(name.as_ptr(), per_cpu, max_active) };
        // INVARIANT: a non-null result is a new workqueue we own.
        NonNull::new(wq).map(|wq| Workqueue { wq }).ok_or(code::ENOMEM)
    }

    /// Queues `item`; `T::run(item)` will be called once in a thread.
    ///
    /// # Safety
    /// `item` must stay valid, and not be queued again, until `T::run` runs.
    pub unsafe fn queue<T: WorkRun>(&self, item: NonNull<WorkItem>) {
        // SAFETY: a live queue (invariant), for the call; `item` per the caller.
        unsafe { self.raw().queue::<T>(item) }
    }

    /// The queue as a pointer, for queueing work that may end the queue's
    /// owner before the call returns (see [`RawQueue::queue`]).
    pub fn raw(&self) -> RawQueue {
        RawQueue(self.wq)
    }
}

/// A workqueue by address.
#[derive(Clone, Copy)]
pub struct RawQueue(NonNull<bindings::workqueue_struct>);

impl RawQueue {
    /// Queues `item`; `T::run(item)` will be called once in a thread.
    ///
    /// # Safety
    /// The queue is alive when the call starts (the kernel frees destroyed
    /// workqueues after an RCU grace period, which `queue_work` holds off);
    /// `item` must stay valid, and not be queued again, until `T::run` runs.
    pub unsafe fn queue<T: WorkRun>(self, item: NonNull<WorkItem>) {
        let work = item.as_ptr().cast::<bindings::work_struct>();
        // SAFETY: `work` is valid (caller); INIT_WORK on an idle item is
        // fine; the queue is alive (caller).
        unsafe {
            rscst_sys_init_work(work, Some(trampoline::<T>));
            rscst_sys_queue_work(self.0.as_ptr(), work);
        }
    }
}

/// Something to do once in a workqueue thread.
pub trait RunOnce: Send + 'static {
    /// Runs in a thread of the queue it was queued on (may sleep).
    fn run(self);
}

/// A value queued with its work item: the item first, so that the
/// item's address is the allocation's.
#[repr(C)]
struct Queued<T> {
    item: WorkItem,
    value: T,
}

impl<T: RunOnce> WorkRun for Queued<T> {
    fn run(item: NonNull<WorkItem>) {
        // SAFETY: `queue_value` queued the item of a leaked KBox<Queued<T>>,
        // which starts with it (repr(C)), and the work runs once.
        let q = unsafe { KBox::from_raw(item.as_ptr().cast::<Queued<T>>()) };
        let Queued { value, .. } = KBox::into_inner(q);
        value.run();
    }
}

impl Workqueue {
    /// Queues `value` to run once in a thread (any context: the allocation
    /// is atomic). On failure (out of memory) the value is dropped.
    pub fn queue_value<T: RunOnce>(&self, value: T) -> Result {
        let q = KBox::new(Queued { item: WorkItem::default(), value }, GFP_ATOMIC)?;
        let item = NonNull::from(&mut KBox::leak(q).item);
        // SAFETY: the allocation is leaked until `Queued::run` takes it back,
        // and the item is queued only here, once.
        unsafe { self.queue::<Queued<T>>(item) };
        Ok(())
    }
}

impl Drop for Workqueue {
    fn drop(&mut self) {
        // SAFETY: we own the workqueue (invariant); destroy drains pending work.
        unsafe { bindings::destroy_workqueue(self.wq.as_ptr()) };
    }
}

unsafe extern "C" fn trampoline<T: WorkRun>(work: *mut bindings::work_struct) {
    // WorkItem is repr(transparent) over work_struct.
    if let Some(item) = NonNull::new(work.cast::<WorkItem>()) {
        T::run(item);
    }
}
