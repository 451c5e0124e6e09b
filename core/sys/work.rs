// SPDX-License-Identifier: GPL-2.0
//! The core's workqueue: where command steps that may sleep run when the
//! fabric handed the command in from atomic context.

use super::bindings;
use core::ffi::c_char;
use core::ptr::NonNull;
use kernel::error::{code, Result};

extern "C" {
    fn rscst_sys_init_work(work: *mut bindings::work_struct, f: bindings::work_func_t);
    fn rscst_sys_queue_work(wq: *mut bindings::workqueue_struct, work: *mut bindings::work_struct) -> bool;
    fn rscst_sys_alloc_wq(name: *const c_char) -> *mut bindings::workqueue_struct;
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

/// An unbound workqueue.
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
    pub fn new(name: &core::ffi::CStr) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated and copied by alloc_workqueue.
        let wq = unsafe { rscst_sys_alloc_wq(name.as_ptr()) };
        // INVARIANT: a non-null result is a new workqueue we own.
        NonNull::new(wq).map(|wq| Workqueue { wq }).ok_or(code::ENOMEM)
    }

    /// Queues `item`; `T::run(item)` will be called once in a thread.
    ///
    /// # Safety
    /// `item` must stay valid, and not be queued again, until `T::run` runs.
    pub unsafe fn queue<T: WorkRun>(&self, item: NonNull<WorkItem>) {
        let work = item.as_ptr().cast::<bindings::work_struct>();
        // SAFETY: `work` is valid (caller); INIT_WORK on an idle item is fine.
        unsafe {
            rscst_sys_init_work(work, Some(trampoline::<T>));
            rscst_sys_queue_work(self.wq.as_ptr(), work);
        }
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
