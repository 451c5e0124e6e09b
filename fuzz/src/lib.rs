// SPDX-License-Identifier: GPL-2.0
//! Fuzz target bodies for rscst's parsers of untrusted bytes, and a dependency-free
//! driver that runs them on the stable toolchain.
//!
//! Each target in [`targets::TARGETS`] is a plain function over `&[u8]` that panics when
//! an invariant breaks. The binaries in `fuzz_targets/` wrap the same functions in
//! `libfuzzer_sys::fuzz_target!` when the `libfuzzer` feature is on (for `cargo fuzz` on
//! nightly) and otherwise run the [`driver`]: replay of `corpus/<target>/` followed by a
//! deterministic mutation loop. `cargo test` runs the driver for every target.

pub mod driver;
pub mod targets;

pub use driver::{Config, Crash, Report};
pub use targets::{Target, TARGETS};
