// SPDX-License-Identifier: GPL-2.0
//! Fuzz target `scsi_write_same`: WRITE SAME(10/16) emulation and
//! `scsi::provisioning::write_same_plan` on arbitrary CDBs and data-out buffers.
//!
//! With the `libfuzzer` feature this is a libFuzzer target for `cargo fuzz`; without it,
//! a stable driver: with no arguments it replays `corpus/scsi_write_same/` and runs the
//! mutation loop, with file arguments it runs the target on each file (to reproduce a
//! crash).
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rscst_fuzz::targets::scsi_write_same(data));

#[cfg(not(feature = "libfuzzer"))]
fn main() -> std::process::ExitCode {
    rscst_fuzz::driver::main("scsi_write_same")
}
