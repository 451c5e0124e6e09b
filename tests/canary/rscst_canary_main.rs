// SPDX-License-Identifier: GPL-2.0
//! rscst_canary.ko: a test-only module that commits memory errors on purpose.
//!
//! The lab's self-test (lab/selftest-canary.sh) loads it in a guest and
//! requires that the run fails with the detector's reports: a use-after-free
//! and an out-of-bounds write in Rust, and an out-of-bounds write in C. If
//! the debug kernel ever stops detecting them, `make check` fails. Never
//! load this module anywhere else.

use kernel::prelude::*;

module! {
    type: Canary,
    name: "rscst_canary",
    description: "Deliberate memory errors for the lab's detector self-test",
    license: "GPL",
}

extern "C" {
    fn rscst_canary_c_out_of_bounds();
}

/// The loaded canary (holds nothing).
struct Canary;

/// Writes one byte into a buffer after freeing it (at offset 32: KASAN keeps
/// its quarantine link in the first bytes of a freed object, and the canary
/// must be reported, not crash the guest).
#[inline(never)]
fn canary_rust_use_after_free() -> Result {
    let mut v = KVec::<u8>::with_capacity(48, GFP_KERNEL)?;
    let p = v.as_mut_ptr();
    drop(v);
    // SAFETY: none: `p` points into freed memory. This write is the
    // deliberate use-after-free the detector must report.
    unsafe { core::ptr::write_volatile(p.add(core::hint::black_box(32)), 0xa5) };
    Ok(())
}

/// Writes one byte just past the end of a 48-byte allocation.
#[inline(never)]
fn canary_rust_out_of_bounds() -> Result {
    let mut v = KVec::<u8>::with_capacity(48, GFP_KERNEL)?;
    let p = v.as_mut_ptr();
    // SAFETY: none: offset 48 is one past the allocation. This write is the
    // deliberate out-of-bounds access the detector must report.
    unsafe { core::ptr::write_volatile(p.add(core::hint::black_box(48)), 0x5a) };
    Ok(())
}

impl kernel::Module for Canary {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("rscst_canary: committing deliberate memory errors\n");
        canary_rust_use_after_free()?;
        canary_rust_out_of_bounds()?;
        // SAFETY: a C function without arguments; its out-of-bounds write is
        // deliberate (see canary_c.c).
        unsafe { rscst_canary_c_out_of_bounds() };
        pr_info!("rscst_canary: done\n");
        Ok(Canary)
    }
}
