// SPDX-License-Identifier: GPL-2.0
//! The execution context of the caller, and the debug kernel's check that a
//! caller which must be able to sleep can.

use crate::lifecycle::Context;

extern "C" {
    fn rscst_sys_context() -> core::ffi::c_int;
    fn rscst_sys_might_sleep();
}

/// The context the caller runs in, as far as the kernel can tell: a caller
/// holding a plain spinlock in process context looks like [`Context::Thread`]
/// in a kernel without `CONFIG_PREEMPT_COUNT`, which is why fabrics also say
/// whether they are atomic when they hand a command in.
pub fn current() -> Context {
    // SAFETY: reads the preempt count and the interrupt flag; no preconditions.
    match unsafe { rscst_sys_context() } {
        0 => Context::Thread,
        1 => Context::Atomic,
        _ => Context::Irq,
    }
}

/// Declares that the caller may sleep here. In a kernel with
/// `CONFIG_DEBUG_ATOMIC_SLEEP` (the lab's debug kernel) a caller in atomic
/// context gets a "sleeping function called from invalid context" report,
/// which fails the VM run.
pub fn assert_may_sleep() {
    // SAFETY: might_sleep() has no preconditions; it only checks.
    unsafe { rscst_sys_might_sleep() }
}
