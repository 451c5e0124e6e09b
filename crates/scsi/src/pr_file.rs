// SPDX-License-Identifier: GPL-2.0
//! The file that keeps a logical unit's persistent reservations through power loss (APTPL):
//! a short text the core writes after every change while APTPL is set and reads back when
//! the device is added again.
//!
//! ```text
//! rscst persistent reservations 1
//! generation 11
//! aptpl 1
//! reservation 3
//! registration 000000000000000a 1 0 1 060000005b9a0a8f834b67cb000000000000000000000000
//! end 42 9f1c0d33a2b4e5f6
//! ```
//!
//! One `registration` line per registration, in order: key (16 hex digits), relative
//! target port identifier, ALL_TG_PT, holder, TransportID (hex). `reservation` (its type)
//! only while one exists. SPC-2 reservations are not kept (they end with their nexus). The
//! last line holds the write's sequence number and a checksum (64-bit FNV-1a) of everything
//! before it: the core writes two files in turn and restores the newest whole one, so that
//! a crash while one is written leaves the other (see `core/reservations.rs`). The reader
//! refuses anything else, so that a damaged file restores nothing rather than a state SPC-4
//! does not allow.

use super::pr::{PrType, Registration, Registrations, Reservations, MAX_REGISTRATIONS};
use super::transport_id::TransportId;
use super::wr::{fnv1a, FNV_BASIS};

/// The first line.
const MAGIC: &[u8] = b"rscst persistent reservations 1";

/// Why a file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileError {
    /// Line `n` (from 1) is not what the format allows.
    Line(usize),
    /// The first line is not this format's.
    NotThisFormat,
    /// The registrations and the reservation do not agree (holders), or two
    /// registrations are for one I_T nexus.
    Inconsistent,
    /// More than [`MAX_REGISTRATIONS`] registrations, or no room for them.
    TooMany,
    /// The `end` line is missing, or its checksum is not that of the text before it: the
    /// file was not written to its end.
    Torn,
}

/// Writes the `end` line for the text `body` before it, as write number `seq`.
pub fn seal(body: &[u8], seq: u64, out: &mut dyn FnMut(&[u8])) {
    end_line(fnv1a(FNV_BASIS, body), seq, out);
}

fn end_line(sum: u64, seq: u64, out: &mut dyn FnMut(&[u8])) {
    let mut num = [0u8; 20];
    let mut check = [0u8; 16];
    hex(&sum.to_be_bytes(), &mut check);
    out(b"end ");
    out(decimal(seq, &mut num));
    out(b" ");
    out(&check);
    out(b"\n");
}

/// Writes `s` (its persistent part) in the file's format, piece by piece, to `out`, as
/// write number `seq`.
pub fn encode<R: Registrations>(s: &Reservations<R>, seq: u64, out: &mut dyn FnMut(&[u8])) {
    let mut sum = FNV_BASIS;
    let mut body = |b: &[u8]| {
        sum = fnv1a(sum, b);
        out(b);
    };
    encode_body(s, &mut body);
    end_line(sum, seq, out);
}

fn encode_body<R: Registrations>(s: &Reservations<R>, out: &mut dyn FnMut(&[u8])) {
    let mut num = [0u8; 20];
    out(MAGIC);
    out(b"\ngeneration ");
    out(decimal(u64::from(s.generation), &mut num));
    out(b"\naptpl ");
    out(if s.aptpl { b"1" } else { b"0" });
    out(b"\n");
    if let Some(t) = s.reservation {
        out(b"reservation ");
        out(decimal(u64::from(t.code()), &mut num));
        out(b"\n");
    }
    for r in s.regs.list() {
        out(b"registration ");
        let mut key = [0u8; 16];
        hex(&r.key.to_be_bytes(), &mut key);
        out(&key);
        out(b" ");
        out(decimal(u64::from(r.port.rel_tgt), &mut num));
        out(if r.all_tg_pt { b" 1" } else { b" 0" });
        out(if r.holder { b" 1 " } else { b" 0 " });
        for b in r.port.id.as_bytes() {
            let mut two = [0u8; 2];
            hex(&[*b], &mut two);
            out(&two);
        }
        out(b"\n");
    }
}

/// Reads a file written by [`encode`] into `s` (which must be empty: its registrations are
/// added to); returns its write number.
pub fn decode<R: Registrations>(text: &[u8], s: &mut Reservations<R>) -> Result<u64, FileError> {
    // The last line: "end SEQ CHECKSUM", over everything before it.
    let text = text.strip_suffix(b"\n").ok_or(FileError::Torn)?;
    let cut = text
        .iter()
        .rposition(|&b| b == b'\n')
        .ok_or(FileError::Torn)?;
    let (body, last) = text.split_at(cut.saturating_add(1));
    let mut end = last.split(|&b| b == b' ');
    let (Some(b"end"), Some(seq), Some(sum), None) =
        (end.next(), end.next(), end.next(), end.next())
    else {
        return Err(FileError::Torn);
    };
    let seq = parse_decimal(seq).ok_or(FileError::Torn)?;
    if parse_hex_u64(sum) != Some(fnv1a(FNV_BASIS, body)) {
        return Err(FileError::Torn);
    }
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    decode_body(body, s)?;
    Ok(seq)
}

fn decode_body<R: Registrations>(text: &[u8], s: &mut Reservations<R>) -> Result<(), FileError> {
    let mut lines = text.split(|&b| b == b'\n').enumerate();
    match lines.next() {
        Some((_, first)) if first == MAGIC => {}
        _ => return Err(FileError::NotThisFormat),
    }
    let (mut generation, mut aptpl, mut reservation) = (None, None, None);
    for (i, line) in lines {
        let bad = FileError::Line(i.saturating_add(1));
        if line.is_empty() {
            continue;
        }
        let mut words = line.split(|&b| b == b' ');
        let word = words.next().unwrap_or(&[]);
        let mut field = || words.next().ok_or(bad);
        match word {
            b"generation" if generation.is_none() => {
                generation =
                    Some(u32::try_from(parse_decimal(field()?).ok_or(bad)?).map_err(|_| bad)?)
            }
            b"aptpl" if aptpl.is_none() => {
                aptpl = Some(match field()? {
                    b"0" => false,
                    b"1" => true,
                    _ => return Err(bad),
                })
            }
            b"reservation" if reservation.is_none() => {
                let code = u8::try_from(parse_decimal(field()?).ok_or(bad)?).map_err(|_| bad)?;
                reservation = Some(PrType::from_code(code).ok_or(bad)?);
            }
            b"registration" => {
                let key = parse_hex_u64(field()?).ok_or(bad)?;
                let rel_tgt =
                    u16::try_from(parse_decimal(field()?).ok_or(bad)?).map_err(|_| bad)?;
                let all_tg_pt = flag(field()?).ok_or(bad)?;
                let holder = flag(field()?).ok_or(bad)?;
                let mut raw = [0u8; super::transport_id::MAX_LEN];
                let tid = field()?;
                let n = unhex(tid, &mut raw).ok_or(bad)?;
                let (id, used) =
                    TransportId::parse(raw.get(..n).unwrap_or(&[])).map_err(|_| bad)?;
                if key == 0 || used != n {
                    return Err(bad);
                }
                if s.regs.list().len() >= MAX_REGISTRATIONS {
                    return Err(FileError::TooMany);
                }
                let port = super::pr::Port { id, rel_tgt };
                s.regs
                    .add(Registration {
                        key,
                        port,
                        all_tg_pt,
                        holder,
                    })
                    .map_err(|_| FileError::TooMany)?;
            }
            _ => return Err(bad),
        }
        if words.next().is_some() {
            return Err(bad);
        }
    }
    s.reservation = reservation;
    if !s.holders_consistent() || !s.registrations_distinct() {
        s.reservation = None;
        return Err(FileError::Inconsistent);
    }
    s.generation = generation.unwrap_or(0);
    s.aptpl = aptpl.unwrap_or(false);
    Ok(())
}

fn flag(w: &[u8]) -> Option<bool> {
    match w {
        b"0" => Some(false),
        b"1" => Some(true),
        _ => None,
    }
}

/// `v` in decimal, in `buf`.
fn decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at = at.saturating_sub(1);
        if let Some(d) = buf.get_mut(at) {
            *d = b'0'.saturating_add((v % 10) as u8);
        }
        v /= 10;
        if v == 0 || at == 0 {
            break;
        }
    }
    buf.get(at..).unwrap_or(&[])
}

fn parse_decimal(w: &[u8]) -> Option<u64> {
    if w.is_empty() || w.len() > 19 {
        return None;
    }
    w.iter().try_fold(0u64, |n, &c| {
        let d = char::from(c).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

fn parse_hex_u64(w: &[u8]) -> Option<u64> {
    let mut b = [0u8; 8];
    if w.len() != 16 || unhex(w, &mut b)? != 8 {
        return None;
    }
    Some(u64::from_be_bytes(b))
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lower-case hex into `out` (twice as long).
fn hex(bytes: &[u8], out: &mut [u8]) {
    for (b, pair) in bytes.iter().zip(out.chunks_mut(2)) {
        for (slot, nibble) in pair.iter_mut().zip([b >> 4, b & 0x0F]) {
            *slot = DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
        }
    }
}

/// Reads the hex digits `w` into `out`; returns how many bytes (None: odd, too long or not
/// hex).
fn unhex(w: &[u8], out: &mut [u8]) -> Option<usize> {
    if w.len() % 2 != 0 || w.len() / 2 > out.len() {
        return None;
    }
    for (pair, o) in w.chunks(2).zip(out.iter_mut()) {
        let mut v = 0u8;
        for &c in pair {
            let d = u8::try_from(char::from(c).to_digit(16)?).ok()?;
            v = v.wrapping_shl(4) | d;
        }
        *o = v;
    }
    Some(w.len() / 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pr::test_regs::Regs;
    use crate::pr::Port;
    use crate::transport_id::protocol;
    use std::vec::Vec;

    fn text(s: &Reservations<Regs>) -> Vec<u8> {
        let mut v = Vec::new();
        encode(s, 42, &mut |b| v.extend_from_slice(b));
        v
    }

    /// `t` with its last line replaced by a correct `end` line.
    fn resealed(t: &[u8]) -> Vec<u8> {
        let body_end = t[..t.len() - 1].iter().rposition(|&b| b == b'\n').unwrap() + 1;
        let body = &t[..body_end];
        let mut v = body.to_vec();
        let mut check = [0u8; 16];
        hex(&fnv1a(FNV_BASIS, body).to_be_bytes(), &mut check);
        v.extend_from_slice(b"end 42 ");
        v.extend_from_slice(&check);
        v.push(b'\n');
        v
    }

    fn sample() -> Reservations<Regs> {
        let port = |name: &[u8], proto, rel_tgt| Port {
            id: TransportId::of_initiator(proto, name).unwrap(),
            rel_tgt,
        };
        let mut s = Reservations::<Regs> {
            generation: 11,
            aptpl: true,
            reservation: Some(PrType::ExclusiveAccess),
            ..Default::default()
        };
        s.regs.0.push(Registration {
            key: 0xa,
            port: port(b"500140500000000a", protocol::SAS, 1),
            all_tg_pt: false,
            holder: true,
        });
        s.regs.0.push(Registration {
            key: u64::MAX,
            port: port(
                b"iqn.2024-01.org.x:init,i,0x23d000000001",
                protocol::ISCSI,
                65535,
            ),
            all_tg_pt: true,
            holder: false,
        });
        s
    }

    #[test]
    fn a_written_state_reads_back_the_same() {
        let s = sample();
        let t = text(&s);
        assert!(t.starts_with(b"rscst persistent reservations 1\ngeneration 11\naptpl 1\nreservation 3\nregistration 000000000000000a 1 0 1 0600000050014050"));
        assert!(t.ends_with(b"\n") && t.windows(7).any(|w| w == b"\nend 42"));
        let mut back = Reservations::<Regs>::default();
        assert_eq!(decode(&t, &mut back), Ok(42));
        assert_eq!(
            (back.generation, back.aptpl, back.reservation),
            (11, true, Some(PrType::ExclusiveAccess))
        );
        assert_eq!(back.regs.0, s.regs.0);
        assert_eq!(text(&back), t);
    }

    #[test]
    fn damaged_files_restore_nothing() {
        let good = text(&sample());
        let cases: [(&[u8], &[u8], FileError); 7] = [
            (
                b"rscst persistent reservations 1",
                b"rscst persistent reservations 2",
                FileError::NotThisFormat,
            ),
            (b"generation 11", b"generation 11 12", FileError::Line(2)),
            (b"aptpl 1", b"aptpl 2", FileError::Line(3)),
            (b"reservation 3", b"reservation 2", FileError::Line(4)),
            (
                b"000000000000000a 1 0 1",
                b"0000000000000000 1 0 1",
                FileError::Line(5),
            ),
            (
                b"000000000000000a 1 0 1",
                b"000000000000000a 1 0 0",
                FileError::Inconsistent,
            ),
            (b"0600000050014050", b"0600000050014g50", FileError::Line(5)),
        ];
        for (from, to, err) in cases {
            let pos = good.windows(from.len()).position(|w| w == from).unwrap();
            let mut bad = good.clone();
            bad.splice(pos..pos + from.len(), to.iter().copied());
            let mut s = Reservations::<Regs>::default();
            // Changed without its checksum: torn; with it: the line's own error.
            assert_eq!(decode(&bad, &mut s), Err(FileError::Torn));
            let mut s = Reservations::<Regs>::default();
            let msg = std::string::String::from_utf8_lossy(to);
            assert_eq!(decode(&resealed(&bad), &mut s), Err(err), "{msg}");
        }
        // Cut anywhere: torn.
        for n in [0, 10, good.len() / 2, good.len() - 1] {
            let mut s = Reservations::<Regs>::default();
            assert_eq!(decode(&good[..n], &mut s), Err(FileError::Torn), "{n}");
        }
        let mut s = Reservations::<Regs>::default();
        let other = resealed(b"rscst persistent reservations 1\nholder x\nend\n");
        assert_eq!(decode(&other, &mut s), Err(FileError::Line(2)));
    }
}
