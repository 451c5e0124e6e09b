// SPDX-License-Identifier: GPL-2.0
//! Fuzzing entry point that drives every parser with arbitrary bytes.

use super::attr::format_attr;
use super::commands::{
    is_valid_device_name, is_valid_initiator_name, is_valid_target_name, parse_driver_cmd,
    parse_group_cmd, parse_handler_cmd, parse_initiator_cmd, parse_lun_cmd, DriverCmd, HandlerCmd,
    InitiatorCmd, LunCmd,
};
use super::params::{parse_bool, parse_size, parse_u32, parse_u64, Params};
use super::wildcard::initiator_matches;

/// Runs every parser and helper of this crate on `data`; it must never panic.
///
/// Meant to be called by a `cargo fuzz` target and by the property tests.
pub fn fuzz_one(data: &[u8]) {
    let mut sink = 0usize;
    if let Ok(HandlerCmd::AddDevice { params, .. }) = parse_handler_cmd(data) {
        sink ^= exercise_params(params);
    }
    match parse_driver_cmd(data) {
        Ok(DriverCmd::AddTarget { params, .. }) => sink ^= exercise_params(params),
        Ok(DriverCmd::Other { args, .. }) => sink ^= exercise_params(Params::new(args)),
        _ => {}
    }
    if let Ok(LunCmd::Add { params, .. } | LunCmd::Replace { params, .. }) = parse_lun_cmd(data) {
        sink ^= exercise_params(params);
    }
    sink ^= usize::from(parse_group_cmd(data).is_ok());
    sink ^= usize::from(super::alua::parse_alua_group_cmd(data).is_ok())
        ^ usize::from(super::alua::parse_dg_device_cmd(data).is_ok())
        ^ usize::from(super::alua::parse_tg_target_cmd(data).is_ok())
        ^ usize::from(super::alua::parse_port_id(data).is_ok())
        ^ usize::from(super::alua::parse_preferred(data).is_ok());
    if let Ok(InitiatorCmd::Move { name, group }) = parse_initiator_cmd(data) {
        sink ^= usize::from(initiator_matches(name, group));
    }

    let text = match core::str::from_utf8(data) {
        Ok(text) => text,
        Err(e) => core::str::from_utf8(data.get(..e.valid_up_to()).unwrap_or_default())
            .unwrap_or_default(),
    };
    sink ^= exercise_params(Params::new(text));
    sink ^= exercise_value(text);
    sink ^= usize::from(is_valid_device_name(text))
        ^ usize::from(is_valid_target_name(text))
        ^ usize::from(is_valid_initiator_name(text))
        ^ usize::from(super::hctl::parse_hctl(text).is_ok());
    // Split the text in two to get a pattern and a name.
    let mid = text.len() / 2;
    let (pattern, name) = match (text.get(..mid), text.get(mid..)) {
        (Some(a), Some(b)) => (a, b),
        _ => (text, text),
    };
    sink ^= usize::from(initiator_matches(pattern, name));
    sink ^= usize::from(initiator_matches(text, text));

    let mut out = [0u8; 64];
    sink ^= format_attr(text, data.first().is_some_and(|b| b & 1 == 1), &mut out);
    core::hint::black_box(sink);
}

fn exercise_params(params: Params<'_>) -> usize {
    let mut sink = usize::from(params.is_empty()) ^ usize::from(params.check().is_ok());
    sink ^= usize::from(params.validate(&["filename", "read_only"]).is_ok());
    for (key, value) in params.clone().flatten() {
        sink ^= exercise_value(value);
        sink ^= usize::from(matches!(params.get(key), Ok(Some(_))));
    }
    sink
}

fn exercise_value(value: &str) -> usize {
    let a = parse_u64(value).unwrap_or(0);
    let b = parse_u32(value).unwrap_or(0);
    let c = parse_size(value).unwrap_or(0);
    let d = parse_bool(value).unwrap_or(false);
    (a ^ u64::from(b) ^ c ^ u64::from(d)) as usize
}

#[cfg(test)]
mod tests {
    use super::super::commands::*;
    use super::super::wildcard::initiator_matches;
    use super::fuzz_one;

    /// Deterministic xorshift64* generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const WORDS: [&[u8]; 24] = [
        b"add_device ",
        b"del_device ",
        b"add_target ",
        b"del_target ",
        b"add ",
        b"del ",
        b"replace ",
        b"clear",
        b"create ",
        b"move ",
        b"disk1 ",
        b"0 ",
        b"0x1f ",
        b"5 ",
        b"read_only=1",
        b"; ",
        b"=",
        b"iqn.1994-05.com.redhat:*",
        b" ",
        b"\t",
        b"\n",
        b"*a?",
        b"!",
        b"4K",
    ];

    /// Fills `buf` with random bytes, or with random tokens when `tokens`.
    fn fill(rng: &mut Rng, buf: &mut [u8], tokens: bool) -> usize {
        let len = rng.below(buf.len() + 1);
        let mut i = 0;
        while i < len {
            if tokens {
                let word = WORDS[rng.below(WORDS.len())];
                for &b in word {
                    if i < len {
                        buf[i] = b;
                        i += 1;
                    }
                }
            } else {
                buf[i] = match rng.below(4) {
                    0 => rng.next() as u8,
                    _ => b' ' + (rng.below(95) as u8),
                };
                i += 1;
            }
        }
        len
    }

    fn run_all(data: &[u8]) {
        fuzz_one(data);
        let _ = parse_handler_cmd(data);
        let _ = parse_driver_cmd(data);
        let _ = parse_lun_cmd(data);
        let _ = parse_group_cmd(data);
        let _ = parse_initiator_cmd(data);
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut buf = [0u8; 5000];
        for round in 0..400 {
            let len = fill(&mut rng, &mut buf, round % 2 == 1);
            run_all(&buf[..len]);
        }
    }

    #[test]
    fn random_token_lines_parse_consistently() {
        let mut rng = Rng(42);
        let mut buf = [0u8; 120];
        let mut ok = 0;
        for _ in 0..20_000 {
            let len = fill(&mut rng, &mut buf, true);
            let line = &buf[..len];
            run_all(line);
            if let Ok(LunCmd::Add { params, .. } | LunCmd::Replace { params, .. }) =
                parse_lun_cmd(line)
            {
                ok += 1;
                // A returned command has fully valid parameters.
                assert_eq!(params.check(), Ok(()));
                for item in params {
                    assert!(item.is_ok());
                }
            }
            if let Ok(InitiatorCmd::Add { name }) = parse_initiator_cmd(line) {
                assert!(is_valid_initiator_name(name));
                assert!(initiator_matches("*", name));
            }
        }
        assert!(
            ok > 0,
            "the generator should produce some valid LUN commands"
        );
    }

    #[test]
    fn wildcard_agrees_with_a_simple_reference() {
        // Exhaustive check on short strings over a tiny alphabet against a
        // straightforward dynamic-programming matcher.
        fn reference(p: &[u8], n: &[u8]) -> bool {
            let mut row = [false; 8];
            row[0] = true;
            for &pc in p {
                let mut next = [false; 8];
                if pc == b'*' {
                    let mut any = false;
                    for j in 0..=n.len() {
                        any |= row[j];
                        next[j] = any;
                    }
                } else {
                    for j in 1..=n.len() {
                        next[j] = row[j - 1] && (pc == b'?' || pc == n[j - 1]);
                    }
                }
                row = next;
            }
            row[n.len()]
        }
        let alphabet = [b'a', b'b', b'*', b'?'];
        let mut p = [0u8; 5];
        let mut n = [0u8; 5];
        for plen in 0..=4 {
            for pcode in 0..4usize.pow(plen as u32) {
                let mut c = pcode;
                for slot in p.iter_mut().take(plen) {
                    *slot = alphabet[c % 4];
                    c /= 4;
                }
                for nlen in 0..=5 {
                    for ncode in 0..2usize.pow(nlen as u32) {
                        let mut c = ncode;
                        for slot in n.iter_mut().take(nlen) {
                            *slot = alphabet[c % 2];
                            c /= 2;
                        }
                        let (ps, ns) = (&p[..plen], &n[..nlen]);
                        let (Ok(pstr), Ok(nstr)) =
                            (core::str::from_utf8(ps), core::str::from_utf8(ns))
                        else {
                            panic!("ascii");
                        };
                        assert_eq!(
                            initiator_matches(pstr, nstr),
                            reference(ps, ns),
                            "{pstr:?} {nstr:?}"
                        );
                    }
                }
            }
        }
    }
}
