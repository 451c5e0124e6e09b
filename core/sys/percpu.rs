// SPDX-License-Identifier: GPL-2.0
//! Per-CPU storage: one `T` per possible CPU (`alloc_percpu`), for data
//! that every command touches (counters, the SGV cache's front) so that
//! CPUs do not bounce one cache line between them.
//!
//! Access goes through shared references only: `local` gives the current
//! CPU's `T` without disabling preemption, so `T` must be correct when a
//! task migrates in between (atomics, or a lock of its own), and `iter`
//! visits every CPU's `T` while other CPUs use theirs (`T: Sync`).

use core::ffi::{c_int, c_uint, c_void};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{code, Result};
use kernel::prelude::PinInit;

extern "C" {
    fn rscst_sys_percpu_alloc(size: usize, align: usize) -> *mut c_void;
    fn rscst_sys_percpu_free(p: *mut c_void);
    fn rscst_sys_percpu_local(p: *mut c_void) -> *mut c_void;
    fn rscst_sys_percpu_of(p: *mut c_void, cpu: c_uint) -> *mut c_void;
    fn rscst_sys_next_possible_cpu(prev: c_int) -> c_int;
}

/// One `T` per possible CPU.
///
/// # Invariants
/// `ptr` is a per-CPU allocation of `size_of::<T>()` bytes aligned for `T`
/// in which every possible CPU's copy holds an initialized `T`; it is
/// freed (after dropping each `T`) only in `drop`.
pub struct PerCpu<T: Send + Sync> {
    ptr: NonNull<c_void>,
    _t: PhantomData<T>,
}

// SAFETY: each CPU's `T` is Send; the storage moves with the owner.
unsafe impl<T: Send + Sync> Send for PerCpu<T> {}
// SAFETY: only shared references are handed out, to a `T: Sync`.
unsafe impl<T: Send + Sync> Sync for PerCpu<T> {}

/// The possible CPUs, in order.
fn possible_cpus() -> impl Iterator<Item = c_uint> {
    let mut prev: c_int = -1;
    core::iter::from_fn(move || {
        // SAFETY: no preconditions; returns the next possible CPU after
        // `prev`, or -1 when there is none.
        let next = unsafe { rscst_sys_next_possible_cpu(prev) };
        if next < 0 {
            return None;
        }
        prev = next;
        Some(next as c_uint)
    })
}

impl<T: Send + Sync> PerCpu<T> {
    /// Allocates one `T` per possible CPU, each initialized in place by
    /// what `init` returns (a value, or a pin-initializer for types that
    /// must not move, such as locks). Process context: the allocation may
    /// sleep.
    pub fn new<I: PinInit<T>>(mut init: impl FnMut() -> I) -> Result<Self> {
        super::context::assert_may_sleep();
        // SAFETY: no preconditions beyond a context that may sleep.
        let raw = unsafe { rscst_sys_percpu_alloc(core::mem::size_of::<T>().max(1), core::mem::align_of::<T>()) };
        let ptr = NonNull::new(raw).ok_or(code::ENOMEM)?;
        for cpu in possible_cpus() {
            // SAFETY: `ptr` is a live per-CPU allocation sized and aligned
            // for `T`; `cpu` is possible, so its copy exists, is not
            // initialized yet, and never moves (freed only in place).
            let done = unsafe { init().__pinned_init(rscst_sys_percpu_of(ptr.as_ptr(), cpu).cast::<T>()) };
            // An infallible initializer.
            if let Err(never) = done {
                match never {}
            }
        }
        // INVARIANT: allocated and every possible CPU's copy initialized.
        Ok(PerCpu { ptr, _t: PhantomData })
    }

    /// The current CPU's `T` (which may no longer be the current CPU's by
    /// the time it is used: see the module comment).
    pub fn local(&self) -> &T {
        // SAFETY: initialized for every possible CPU (invariant), the
        // current one among them; shared access to a `T: Sync`.
        unsafe { &*rscst_sys_percpu_local(self.ptr.as_ptr()).cast::<T>() }
    }

    /// Every possible CPU's `T`.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        possible_cpus().map(move |cpu| {
            // SAFETY: as in `local`, for a possible CPU.
            unsafe { &*rscst_sys_percpu_of(self.ptr.as_ptr(), cpu).cast::<T>() }
        })
    }
}

impl<T: Send + Sync> Drop for PerCpu<T> {
    fn drop(&mut self) {
        for cpu in possible_cpus() {
            // SAFETY: initialized (invariant) and dropped once, here; no
            // reference outlives `self`.
            unsafe { core::ptr::drop_in_place(rscst_sys_percpu_of(self.ptr.as_ptr(), cpu).cast::<T>()) };
        }
        // SAFETY: allocated in `new`, freed once.
        unsafe { rscst_sys_percpu_free(self.ptr.as_ptr()) };
    }
}
