// SPDX-License-Identifier: GPL-2.0
//! Runs every fuzz target on the stable toolchain: corpus replay plus `RSCST_FUZZ_ITERS`
//! (default 200000) deterministic mutations each, failing on any panic.

use std::fs;
use std::path::Path;

use rscst_fuzz::driver::{self, Config, Rng};
use rscst_fuzz::targets::{self, Target};

fn fuzz(name: &str) {
    let target = targets::target(name).expect("target is listed in TARGETS");
    let report = driver::run(target, &Config::from_env());
    // Shown with `--nocapture` (tests/host/run.sh) and on failure.
    println!("{report}");
    assert!(report.replayed > 0, "corpus/{name}/ is empty");
    assert!(report.crashes.is_empty(), "{report}");
}

#[test]
fn scsi_cdb() {
    fuzz("scsi_cdb");
}

#[test]
fn mgmt_line() {
    fuzz("mgmt_line");
}

#[test]
fn scsi_sense_parse() {
    fuzz("scsi_sense_parse");
}

#[test]
fn scsi_mode_select() {
    fuzz("scsi_mode_select");
}

#[test]
fn scsi_unmap() {
    fuzz("scsi_unmap");
}

#[test]
fn scsi_xcopy() {
    fuzz("scsi_xcopy");
}

#[test]
fn scsi_stpg() {
    fuzz("scsi_stpg");
}

#[test]
fn scsi_write_same() {
    fuzz("scsi_write_same");
}

#[test]
fn scsi_pr_out() {
    fuzz("scsi_pr_out");
}

#[test]
fn scsi_pr_file() {
    fuzz("scsi_pr_file");
}

#[test]
fn scsi_mode_file() {
    fuzz("scsi_mode_file");
}

#[test]
fn every_target_has_a_binary_a_corpus_and_a_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let this = fs::read_to_string(dir.join("tests/targets.rs")).unwrap();
    for t in targets::TARGETS {
        let bin = format!("fuzz_targets/{}.rs", t.name);
        assert!(dir.join(&bin).is_file(), "{bin} missing");
        assert!(
            manifest.contains(&format!("path = \"{bin}\"")),
            "{bin} not in Cargo.toml"
        );
        assert!(
            this.contains(&format!("fn {}()", t.name)),
            "no #[test] for {}",
            t.name
        );
        assert!(
            !driver::load_corpus(&dir.join("corpus").join(t.name)).is_empty(),
            "corpus/{} is empty",
            t.name
        );
    }
    let bins = fs::read_dir(dir.join("fuzz_targets")).unwrap().count();
    assert_eq!(
        bins,
        targets::TARGETS.len(),
        "fuzz_targets/ and TARGETS differ"
    );
}

fn panics_on_magic(data: &[u8]) {
    assert!(
        !data.windows(2).any(|w| w == [0xDE, 0xAD]),
        "found the magic bytes"
    );
}

#[test]
fn driver_reports_and_saves_crashes() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("driver-selftest");
    let _ = fs::remove_dir_all(&tmp);
    let corpus = tmp.join("corpus/selftest");
    fs::create_dir_all(&corpus).unwrap();
    fs::write(corpus.join("seed"), [0xDE, 0x00, 0x00]).unwrap();
    let target = Target {
        name: "selftest",
        run: panics_on_magic,
        dict: &[&[0xAD]],
        text: false,
    };
    let cfg = Config {
        corpus_root: tmp.join("corpus"),
        crash_dir: tmp.join("crashes"),
        iterations: 1_000_000,
        seed: 1,
    };
    let report = driver::run(&target, &cfg);
    assert_eq!(report.crashes.len(), 1, "{report}");
    assert!(report.iterations < cfg.iterations, "loop did not stop");
    let crash = &report.crashes[0];
    assert!(crash.message.contains("magic"), "{}", crash.message);
    let saved = crash.file.as_ref().expect("crash saved");
    assert_eq!(fs::read(saved).unwrap(), crash.input);

    // Kept in the corpus, the crash is caught by the replay.
    fs::copy(saved, corpus.join("regression")).unwrap();
    let cfg = Config {
        iterations: 0,
        ..cfg
    };
    let report = driver::run(&target, &cfg);
    assert_eq!(report.replayed, 2);
    assert_eq!(report.crashes.len(), 1);
    assert_eq!(
        report.crashes[0].file.as_deref(),
        Some(corpus.join("regression").as_path())
    );

    // Same seed, same inputs.
    let mut a = Rng::new(5);
    let mut b = Rng::new(5);
    assert!((0..100).all(|_| a.next_u64() == b.next_u64()));
}
