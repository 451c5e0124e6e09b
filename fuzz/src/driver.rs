// SPDX-License-Identifier: GPL-2.0
//! Stable-toolchain fuzz driver: replays a target's corpus, then runs a deterministic
//! xorshift mutation loop over it, catching panics and saving crashing inputs.
//!
//! It has no coverage feedback (that is what `cargo fuzz` is for); it is a cheap, fully
//! reproducible smoke fuzzer that runs in CI on stable Rust. The same seed and iteration
//! count always produce the same inputs.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::targets::{self, Target};

/// Mutation iterations per target unless `RSCST_FUZZ_ITERS` says otherwise.
pub const DEFAULT_ITERS: u64 = 200_000;
/// Seed of the mutation loop unless `RSCST_FUZZ_SEED` says otherwise.
pub const DEFAULT_SEED: u64 = 0x5EED_2C57_F022_0001;
/// Longest input the mutator produces: just over the `mgmt` line limit (4096) so that
/// the too-long path is exercised too.
pub const MAX_INPUT: usize = 4200;

/// Deterministic xorshift64* generator.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced, xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 { DEFAULT_SEED } else { seed })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        // `n` fits in u64 on every supported target and the result is below `n`.
        (self.next_u64() % n as u64) as usize
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 24) as u8
    }

    /// A random byte; for text inputs, 7 times out of 8 a printable ASCII one, so that
    /// mutations do not mostly produce invalid UTF-8.
    pub fn byte_for(&mut self, text: bool) -> u8 {
        if text && self.below(8) != 0 {
            b' ' + self.below(95) as u8
        } else {
            self.byte()
        }
    }
}

/// Bytes that tend to sit on boundaries of binary formats.
const INTERESTING: [u8; 12] = [
    0x00, 0x01, 0x02, 0x0A, 0x20, 0x3F, 0x7F, 0x80, 0xC0, 0xFE, 0xFF, b'=',
];

/// Bytes that tend to sit on boundaries of text formats.
const INTERESTING_TEXT: [u8; 16] = [
    b' ', b'\t', b'\n', b'\r', b'=', b';', b'*', b'?', b'!', b'0', b'9', b'x', b'_', 0x00, 0x7F,
    0xFF,
];

/// Applies one random mutation to `buf`. `corpus` supplies splice material and `dict`
/// tokens; `text` biases new bytes towards printable ASCII. The result is at most
/// [`MAX_INPUT`] bytes.
pub fn mutate_once(
    rng: &mut Rng,
    buf: &mut Vec<u8>,
    corpus: &[Vec<u8>],
    dict: &[&[u8]],
    text: bool,
) {
    let len = buf.len();
    match rng.below(13) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            // Text: mostly stay within ASCII (bit 7 makes invalid UTF-8).
            let bits = if text && rng.below(8) != 0 { 7 } else { 8 };
            buf[i] ^= 1 << rng.below(bits);
        }
        // Random byte.
        1 if len > 0 => {
            let i = rng.below(len);
            buf[i] = rng.byte_for(text);
        }
        // Interesting byte.
        2 if len > 0 => {
            let i = rng.below(len);
            buf[i] = if text {
                INTERESTING_TEXT[rng.below(INTERESTING_TEXT.len())]
            } else {
                INTERESTING[rng.below(INTERESTING.len())]
            };
        }
        // Small add/subtract.
        3 if len > 0 => {
            let i = rng.below(len);
            let d = (rng.below(16) + 1) as u8;
            buf[i] = if rng.below(2) == 0 {
                buf[i].wrapping_add(d)
            } else {
                buf[i].wrapping_sub(d)
            };
        }
        // Insert 1..=8 random bytes.
        4 => {
            let at = rng.below(len + 1);
            let n = rng.below(8) + 1;
            let bytes: Vec<u8> = (0..n).map(|_| rng.byte_for(text)).collect();
            buf.splice(at..at, bytes);
        }
        // Delete a range.
        5 if len > 0 => {
            let at = rng.below(len);
            let n = rng.below((len - at).min(16)) + 1;
            buf.drain(at..at + n);
        }
        // Truncate.
        6 => buf.truncate(rng.below(len + 1)),
        // Duplicate a chunk of the input at another place in it.
        7 if len > 1 => {
            let from = rng.below(len);
            let n = rng.below((len - from).min(32)) + 1;
            let chunk = buf[from..from + n].to_vec();
            let to = rng.below(len + 1);
            buf.splice(to..to, chunk);
        }
        // Splice: our head with another corpus entry's tail.
        8 if !corpus.is_empty() => {
            let other = &corpus[rng.below(corpus.len())];
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            buf.truncate(cut);
            buf.extend_from_slice(&other[from..]);
        }
        // Insert a dictionary token.
        9 if !dict.is_empty() => {
            let tok = dict[rng.below(dict.len())];
            let at = rng.below(len + 1);
            buf.splice(at..at, tok.iter().copied());
        }
        // Overwrite with a dictionary token.
        10 if !dict.is_empty() && len > 0 => {
            let tok = dict[rng.below(dict.len())];
            let at = rng.below(len);
            for (i, &b) in tok.iter().enumerate() {
                if let Some(slot) = buf.get_mut(at + i) {
                    *slot = b;
                }
            }
        }
        // Big-endian 16/32-bit boundary value (CDB lengths, LBAs, allocation lengths).
        11 if len > 1 && !text => {
            let width = if rng.below(2) == 0 { 2 } else { 4 }.min(len);
            let at = rng.below(len - width + 1);
            let v: u32 = match rng.below(5) {
                0 => 0,
                1 => 1,
                2 => u32::MAX,
                3 => 0x8000_0000,
                _ => rng.next_u64() as u32 & 0x1FF,
            };
            let be = v.to_be_bytes();
            buf[at..at + width].copy_from_slice(&be[4 - width..]);
        }
        // Repeat a byte many times (long lines, long names).
        12 => {
            let b = if len > 0 {
                buf[rng.below(len)]
            } else {
                rng.byte_for(text)
            };
            let at = rng.below(len + 1);
            let n = [16, 64, 256, 4096][rng.below(4).min(rng.below(4))];
            buf.splice(at..at, std::iter::repeat(b).take(n));
        }
        _ => {
            let at = rng.below(len + 1);
            buf.insert(at, rng.byte_for(text));
        }
    }
    buf.truncate(MAX_INPUT);
}

/// Builds the next input: a corpus entry (or nothing, if the corpus is empty) with 1 to
/// 8 stacked mutations (see [`mutate_once`]).
pub fn next_input(
    rng: &mut Rng,
    buf: &mut Vec<u8>,
    corpus: &[Vec<u8>],
    dict: &[&[u8]],
    text: bool,
) {
    buf.clear();
    if !corpus.is_empty() {
        buf.extend_from_slice(&corpus[rng.below(corpus.len())]);
    }
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        mutate_once(rng, buf, corpus, dict, text);
    }
}

/// Where the driver reads seeds, writes crashes, and how long it runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Directory holding one `<target>/` corpus directory per target.
    pub corpus_root: PathBuf,
    /// Directory crashing inputs are written to (created on demand).
    pub crash_dir: PathBuf,
    /// Mutation iterations per target.
    pub iterations: u64,
    /// Seed of the mutation loop.
    pub seed: u64,
}

impl Config {
    /// The checked-in corpus and crash directories of this package, iterations from
    /// `RSCST_FUZZ_ITERS` (default [`DEFAULT_ITERS`]) and seed from `RSCST_FUZZ_SEED`
    /// (decimal or `0x` hex, default [`DEFAULT_SEED`]).
    pub fn from_env() -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        Config {
            corpus_root: dir.join("corpus"),
            crash_dir: dir.join("crashes"),
            iterations: env_u64("RSCST_FUZZ_ITERS").unwrap_or(DEFAULT_ITERS),
            seed: env_u64("RSCST_FUZZ_SEED").unwrap_or(DEFAULT_SEED),
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim().replace('_', "");
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    match parsed {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={v:?} is not a number"),
    }
}

/// An input that made a target panic.
#[derive(Clone, Debug)]
pub struct Crash {
    /// The input.
    pub input: Vec<u8>,
    /// The panic message.
    pub message: String,
    /// The corpus file it came from, or the crash file it was saved to.
    pub file: Option<PathBuf>,
}

impl fmt::Display for Crash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "panic: {}", self.message)?;
        if let Some(file) = &self.file {
            write!(f, "\n  file: {}", file.display())?;
        }
        write!(
            f,
            "\n  input ({} bytes): {}",
            self.input.len(),
            hex(&self.input)
        )
    }
}

/// Outcome of [`run`] for one target.
#[derive(Clone, Debug)]
pub struct Report {
    /// Target name.
    pub target: &'static str,
    /// Corpus files replayed.
    pub replayed: usize,
    /// Mutated inputs run.
    pub iterations: u64,
    /// Inputs that panicked: every failing corpus file, then at most one mutated input
    /// (the loop stops at the first new crash).
    pub crashes: Vec<Crash>,
    /// Wall time of replay and mutation loop.
    pub elapsed: Duration,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fuzz {}: {} corpus files, {} mutated inputs, {} crashes, {:.2}s",
            self.target,
            self.replayed,
            self.iterations,
            self.crashes.len(),
            self.elapsed.as_secs_f64()
        )?;
        for c in &self.crashes {
            write!(f, "\n{c}")?;
        }
        Ok(())
    }
}

/// Reads every regular, non-hidden file of `dir`, sorted by name. A missing directory
/// reads as empty.
pub fn load_corpus(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let data = fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (p, data)
        })
        .collect()
}

thread_local! {
    /// Set while [`catch`] runs a target on this thread: the panic hook then records the
    /// message and location here instead of printing them.
    static CAUGHT: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that is silent for panics inside [`catch`] and defers to
/// the previous hook otherwise.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_owned()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "non-string panic payload".to_owned()
            };
            let message = match info.location() {
                Some(l) => format!("{message} (at {}:{}:{})", l.file(), l.line(), l.column()),
                None => message,
            };
            let recorded = CAUGHT.with(|c| match &mut *c.borrow_mut() {
                Some(slot) => {
                    *slot = Some(message);
                    true
                }
                None => false,
            });
            if !recorded {
                previous(info);
            }
        }));
    });
}

/// Runs `f(input)`, returning the panic message and location if it panicked.
pub fn catch(f: fn(&[u8]), input: &[u8]) -> Option<String> {
    install_hook();
    CAUGHT.with(|c| *c.borrow_mut() = Some(None));
    let result = panic::catch_unwind(AssertUnwindSafe(|| f(input)));
    let recorded = CAUGHT.with(|c| c.borrow_mut().take()).flatten();
    result
        .err()
        .map(|_| recorded.unwrap_or_else(|| "panic without message".to_owned()))
}

/// 64-bit FNV-1a, to name crash files after their content.
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Lower-case hex of `data`.
pub fn hex(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Writes `input` to `<crash_dir>/crash-<target>-<fnv1a>`, returning the path.
pub fn save_crash(crash_dir: &Path, target: &str, input: &[u8]) -> std::io::Result<PathBuf> {
    fs::create_dir_all(crash_dir)?;
    let path = crash_dir.join(format!("crash-{target}-{:016x}", fnv1a(input)));
    if !path.exists() {
        fs::write(&path, input)?;
    }
    Ok(path)
}

/// Replays `corpus_root/<target>/`, then runs `cfg.iterations` mutated inputs through the
/// target. The mutation loop stops at the first crash, which is saved to `cfg.crash_dir`.
pub fn run(target: &Target, cfg: &Config) -> Report {
    let start = Instant::now();
    let files = load_corpus(&cfg.corpus_root.join(target.name));
    let mut crashes = Vec::new();
    for (path, data) in &files {
        if let Some(message) = catch(target.run, data) {
            crashes.push(Crash {
                input: data.clone(),
                message,
                file: Some(path.clone()),
            });
        }
    }
    let corpus: Vec<Vec<u8>> = files.into_iter().map(|(_, d)| d).collect();
    // Mix the target name into the seed so that targets explore differently.
    let mut rng = Rng::new(cfg.seed ^ fnv1a(target.name.as_bytes()));
    let mut buf = Vec::with_capacity(MAX_INPUT);
    let mut iterations = 0;
    while iterations < cfg.iterations {
        next_input(&mut rng, &mut buf, &corpus, target.dict, target.text);
        iterations += 1;
        if let Some(message) = catch(target.run, &buf) {
            let file = match save_crash(&cfg.crash_dir, target.name, &buf) {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("cannot save crash to {}: {e}", cfg.crash_dir.display());
                    None
                }
            };
            crashes.push(Crash {
                input: buf.clone(),
                message,
                file,
            });
            break;
        }
    }
    Report {
        target: target.name,
        replayed: corpus.len(),
        iterations,
        crashes,
        elapsed: start.elapsed(),
    }
}

/// `main` of a target binary built without the `libfuzzer` feature: with file arguments,
/// runs the target on each file (to reproduce a crash); without, runs [`run`] with
/// [`Config::from_env`]. Fails if anything panicked.
pub fn main(name: &str) -> ExitCode {
    let Some(target) = targets::target(name) else {
        eprintln!("unknown fuzz target {name}");
        return ExitCode::FAILURE;
    };
    let files: Vec<String> = std::env::args().skip(1).collect();
    let mut failed = false;
    if files.is_empty() {
        let report = run(target, &Config::from_env());
        println!("{report}");
        failed = !report.crashes.is_empty();
    } else {
        for file in files {
            let data = match fs::read(&file) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("{file}: {e}");
                    failed = true;
                    continue;
                }
            };
            match catch(target.run, &data) {
                Some(message) => {
                    println!("{name} {file}: CRASH: {message}\n  input: {}", hex(&data));
                    failed = true;
                }
                None => println!("{name} {file}: ok"),
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_deterministic_and_bounded() {
        let corpus = vec![b"add disk1 0".to_vec(), vec![0x12, 0, 0, 0, 0x24, 0]];
        let dict: &[&[u8]] = &[b"; ", b"="];
        let gen = |seed| {
            let mut rng = Rng::new(seed);
            let mut buf = Vec::new();
            let mut out = Vec::new();
            for _ in 0..2000 {
                next_input(&mut rng, &mut buf, &corpus, dict, seed % 2 == 0);
                assert!(buf.len() <= MAX_INPUT);
                out.push(buf.clone());
            }
            out
        };
        let a = gen(7);
        assert_eq!(a, gen(7));
        assert_ne!(a, gen(8));
        // The mutator actually changes things.
        assert!(a.iter().filter(|x| !corpus.contains(x)).count() > 1500);
    }

    #[test]
    fn mutate_handles_empty_inputs() {
        let mut rng = Rng::new(1);
        let mut buf = Vec::new();
        for _ in 0..10_000 {
            next_input(&mut rng, &mut buf, &[], &[], false);
            next_input(&mut rng, &mut buf, &[], &[], true);
        }
    }

    #[test]
    fn rng_zero_seed_is_usable() {
        let mut r = Rng::new(0);
        assert_ne!(r.next_u64(), r.next_u64());
        assert_eq!(r.below(0), 0);
    }
}
