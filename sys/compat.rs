// SPDX-License-Identifier: GPL-2.0
//! What differs between the kernel lines rscst builds on (Linux 6.12 and
//! Linux 7), under one name for the rest of the code. `rscst_kernel7` is set
//! by `sys/compat.mk` from the kernel's version.

/// The `fmt!` macro (a `macro_rules!` at the crate root in 6.12, a
/// procedural macro in the prelude in 7, where `kernel::fmt` is a module).
#[cfg(not(rscst_kernel7))]
pub use kernel::fmt;
/// The `fmt!` macro (see above).
#[cfg(rscst_kernel7)]
pub use kernel::prelude::fmt;

/// The bytes of a [`kernel::str::CString`] (whose `CStr` is the kernel's own
/// type in 6.12, with `as_bytes`, and `core::ffi::CStr` in 7, with
/// `to_bytes`).
pub trait NameBytes {
    /// The bytes, without the NUL.
    fn name_bytes(&self) -> &[u8];
    /// The bytes, with the NUL.
    fn name_bytes_with_nul(&self) -> &[u8];
}

impl NameBytes for kernel::str::CString {
    #[cfg(not(rscst_kernel7))]
    fn name_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
    #[cfg(not(rscst_kernel7))]
    fn name_bytes_with_nul(&self) -> &[u8] {
        self.as_bytes_with_nul()
    }
    #[cfg(rscst_kernel7)]
    fn name_bytes(&self) -> &[u8] {
        self.to_bytes()
    }
    #[cfg(rscst_kernel7)]
    fn name_bytes_with_nul(&self) -> &[u8] {
        self.to_bytes_with_nul()
    }
}

/// `stack_pin_init!` (from the `pin_init` crate in 7).
#[cfg(not(rscst_kernel7))]
pub use kernel::stack_pin_init;
/// `stack_pin_init!` (see above).
#[cfg(rscst_kernel7)]
pub use pin_init::stack_pin_init;
