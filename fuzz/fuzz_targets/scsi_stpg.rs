// SPDX-License-Identifier: GPL-2.0
//! Fuzz target `scsi_stpg`: `scsi::alua::StpgList::parse` on arbitrary SET TARGET PORT
//! GROUPS parameter lists.
//!
//! With the `libfuzzer` feature this is a libFuzzer target for `cargo fuzz`; without it,
//! a stable driver: with no arguments it replays `corpus/scsi_stpg/` and runs the
//! mutation loop, with file arguments it runs the target on each file (to reproduce a
//! crash).
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rscst_fuzz::targets::scsi_stpg(data));

#[cfg(not(feature = "libfuzzer"))]
fn main() -> std::process::ExitCode {
    rscst_fuzz::driver::main("scsi_stpg")
}
