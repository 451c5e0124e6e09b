// SPDX-License-Identifier: GPL-2.0
//! Fuzz target `scsi_mode_file`: saved mode parameter files:
//! `scsi::mode_file::parse` and `encode` on arbitrary text.
//!
//! With the `libfuzzer` feature this is a libFuzzer target for `cargo fuzz`; without it,
//! a stable driver: with no arguments it replays `corpus/scsi_mode_file/` and runs the
//! mutation loop, with file arguments it runs the target on each file (to reproduce a
//! crash).
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rscst_fuzz::targets::scsi_mode_file(data));

#[cfg(not(feature = "libfuzzer"))]
fn main() -> std::process::ExitCode {
    rscst_fuzz::driver::main("scsi_mode_file")
}
