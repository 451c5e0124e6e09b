// SPDX-License-Identifier: GPL-2.0
//! Fuzz target `scsi_unmap`: `scsi::provisioning::UnmapList::parse` on arbitrary UNMAP
//! parameter lists, lengths and device capacities.
//!
//! With the `libfuzzer` feature this is a libFuzzer target for `cargo fuzz`; without it,
//! a stable driver: with no arguments it replays `corpus/scsi_unmap/` and runs the
//! mutation loop, with file arguments it runs the target on each file (to reproduce a
//! crash).
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rscst_fuzz::targets::scsi_unmap(data));

#[cfg(not(feature = "libfuzzer"))]
fn main() -> std::process::ExitCode {
    rscst_fuzz::driver::main("scsi_unmap")
}
