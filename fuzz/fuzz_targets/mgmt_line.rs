// SPDX-License-Identifier: GPL-2.0
//! Fuzz target `mgmt_line`: every `mgmt` command-line parser and helper
//! (`mgmt::fuzz::fuzz_one`).
//!
//! With the `libfuzzer` feature this is a libFuzzer target for `cargo fuzz`; without it,
//! a stable driver: with no arguments it replays `corpus/mgmt_line/` and runs the
//! mutation loop, with file arguments it runs the target on each file (to reproduce a
//! crash).
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rscst_fuzz::targets::mgmt_line(data));

#[cfg(not(feature = "libfuzzer"))]
fn main() -> std::process::ExitCode {
    rscst_fuzz::driver::main("mgmt_line")
}
