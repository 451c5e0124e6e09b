// SPDX-License-Identifier: GPL-2.0
//! A spinlock that also disables local interrupts while held.
//!
//! The data-path locks (a session's in-flight table, LUN tables, a session's
//! group, the SGV pools) are taken from every context a fabric or handler
//! may call in from: process context, softirq (socket callbacks, RDMA
//! completions) and hard IRQ (bio completion). Linux 6.12's `kernel::sync`
//! has only the plain `spin_lock` backend, which deadlocks when an interrupt
//! on the same CPU takes a lock its interrupted code holds, so this is the
//! `spin_lock_irqsave` backend for the generic [`Lock`].

use core::ffi::c_ulong;
use kernel::ffi::c_char;
use kernel::sync::lock::{Backend, Lock};

extern "C" {
    fn rscst_sys_spin_lock_irqsave(lock: *mut kernel::bindings::spinlock_t) -> c_ulong;
    fn rscst_sys_spin_unlock_irqrestore(lock: *mut kernel::bindings::spinlock_t, flags: c_ulong);
    #[cfg(rscst_kernel7)]
    fn rscst_sys_spin_trylock_irqsave(lock: *mut kernel::bindings::spinlock_t, flags: *mut c_ulong) -> bool;
    #[cfg(rscst_kernel7)]
    fn rscst_sys_spin_assert_held(lock: *mut kernel::bindings::spinlock_t);
}

/// A spinlock taken with local interrupts disabled: usable from any context.
pub type IrqSpinLock<T> = Lock<T, IrqSpinLockBackend>;

/// Creates an [`IrqSpinLock`] initialiser with a lockdep class of its own
/// for each place it is written.
#[macro_export]
macro_rules! new_irq_spinlock {
    ($inner:expr, $name:literal $(,)?) => {
        $crate::sys::lock::IrqSpinLock::new($inner, kernel::c_str!($name), kernel::static_lock_class!())
    };
}

/// The `spin_lock_irqsave` backend. Its guard keeps the saved interrupt
/// state, restored on unlock.
pub struct IrqSpinLockBackend;

// SAFETY: a spinlock gives one CPU at a time ownership between `lock` and
// `unlock`; `relock` (the default) locks the same way as `lock`; on Linux 7,
// `try_lock` returns a guard state only after it acquired the lock.
unsafe impl Backend for IrqSpinLockBackend {
    type State = kernel::bindings::spinlock_t;
    type GuardState = c_ulong;

    unsafe fn init(ptr: *mut Self::State, name: *const c_char, key: *mut kernel::bindings::lock_class_key) {
        // SAFETY: `ptr` is valid for writes, `name` and `key` for reads
        // forever (this function's contract).
        unsafe { kernel::bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: `ptr` points to a spinlock initialised by `init` (this
        // function's contract).
        unsafe { rscst_sys_spin_lock_irqsave(ptr) }
    }

    unsafe fn unlock(ptr: *mut Self::State, flags: &Self::GuardState) {
        // SAFETY: the caller owns the lock (this function's contract) and
        // `flags` is what locking it saved.
        unsafe { rscst_sys_spin_unlock_irqrestore(ptr, *flags) }
    }

    // Linux 7's backends also try to lock and assert that a lock is held.
    #[cfg(rscst_kernel7)]
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        let mut flags: c_ulong = 0;
        // SAFETY: `ptr` points to a spinlock initialised by `init` (this
        // function's contract); `flags` is a local.
        unsafe { rscst_sys_spin_trylock_irqsave(ptr, &mut flags) }.then_some(flags)
    }

    #[cfg(rscst_kernel7)]
    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // SAFETY: `ptr` points to an initialised spinlock (this function's
        // contract).
        unsafe { rscst_sys_spin_assert_held(ptr) }
    }
}
