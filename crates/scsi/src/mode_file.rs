// SPDX-License-Identifier: GPL-2.0
//! The file that keeps a device's saved mode parameters (MODE SELECT with SP set), in the
//! format of SCST's vdisk (`/var/lib/scst/vdev_mode_pages/<device>`), so that a device
//! moved between SCST and rscst keeps them:
//!
//! ```text
//! disk1
//! TAS=0
//! QERR=0
//! D_SENSE=1
//! QUEUE_ALG=1
//! WRITE_THROUGH=1
//! ```
//!
//! The first line is the device's name: a file that does not start with it is not this
//! device's, or was not written to its end (the core writes the name last, see
//! `core/saved_modes.rs`). Then `KEY=VALUE` entries, separated by line feeds, `;` or NUL,
//! keys in any case, values in decimal (or hexadecimal after `0x`). rscst writes every key
//! it keeps, control page first and WRITE_THROUGH (the inverse of WCE) last, as SCST's
//! reader wants them. It reads SCST's other keys too: TMF_ONLY, SWP and DPICZ, which rscst
//! does not implement, are accepted at 0 and ignored (and named) at 1. Anything else (an
//! unknown key, a value out of range, an entry without `=`) refuses the whole file, so that
//! a damaged file restores nothing rather than part of what was saved.

use super::mode::ModeValues;
use super::task_set::{QErr, QueueAlgorithm};

/// The longest file read back.
pub const MAX_FILE_LEN: usize = 4096;

/// Why a file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeFileError {
    /// It does not start with the device's name and a line feed.
    NotThisDevice,
    /// Entry `n` (from 1, after the name) is not one this format allows.
    Entry(usize),
}

/// What a file restores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The saved values: the file's, the others from the base given.
    pub values: ModeValues,
    /// A key set to 1 that rscst does not implement (the last one), ignored.
    pub ignored: Option<&'static str>,
}

/// Writes the file for `device` with `v` saved. The first `device.len() + 1` bytes (the
/// name's line) are what a reader checks first.
pub fn encode(device: &[u8], v: &ModeValues, out: &mut dyn FnMut(&[u8])) {
    out(device);
    out(b"\n");
    let entries: [(&[u8], u8); 5] = [
        (b"TAS", u8::from(v.task_aborted_status)),
        (b"QERR", v.qerr.field()),
        (b"D_SENSE", u8::from(v.descriptor_sense)),
        (b"QUEUE_ALG", v.queue_algorithm.field()),
        (b"WRITE_THROUGH", u8::from(!v.write_cache)),
    ];
    for (key, value) in entries {
        out(key);
        out(b"=");
        // Every value is one decimal digit.
        out(&[b'0'.saturating_add(value % 10)]);
        out(b"\n");
    }
}

/// Reads the file `text` of `device`: the values it saved over `base`.
pub fn parse(text: &[u8], device: &[u8], base: ModeValues) -> Result<Restored, ModeFileError> {
    let rest = text
        .strip_prefix(device)
        .and_then(|r| r.strip_prefix(b"\n"))
        .ok_or(ModeFileError::NotThisDevice)?;
    let mut r = Restored {
        values: base,
        ignored: None,
    };
    let entries = rest
        .split(|&b| b == b'\n' || b == b';' || b == 0)
        .map(|e| e.trim_ascii())
        .filter(|e| !e.is_empty());
    for (i, entry) in entries.enumerate() {
        let bad = ModeFileError::Entry(i.saturating_add(1));
        let eq = entry.iter().position(|&b| b == b'=').ok_or(bad)?;
        let (key, value) = entry.split_at(eq);
        let key = key.trim_ascii();
        let value = number(value.get(1..).unwrap_or(&[]).trim_ascii()).ok_or(bad)?;
        let flag = || match value {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        };
        let field = u8::try_from(value).ok();
        let v = &mut r.values;
        if key.eq_ignore_ascii_case(b"TAS") {
            v.task_aborted_status = flag().ok_or(bad)?;
        } else if key.eq_ignore_ascii_case(b"QERR") {
            v.qerr = field.and_then(QErr::from_field).ok_or(bad)?;
        } else if key.eq_ignore_ascii_case(b"D_SENSE") {
            v.descriptor_sense = flag().ok_or(bad)?;
        } else if key.eq_ignore_ascii_case(b"QUEUE_ALG") {
            v.queue_algorithm = field.and_then(QueueAlgorithm::from_field).ok_or(bad)?;
        } else if key.eq_ignore_ascii_case(b"WRITE_THROUGH") {
            v.write_cache = !flag().ok_or(bad)?;
        } else if let Some(name) = NOT_IMPLEMENTED
            .iter()
            .find(|n| key.eq_ignore_ascii_case(n.as_bytes()))
        {
            if flag().ok_or(bad)? {
                r.ignored = Some(name);
            }
        } else {
            return Err(bad);
        }
    }
    Ok(r)
}

/// SCST's keys for control page fields rscst does not implement.
const NOT_IMPLEMENTED: [&str; 3] = ["TMF_ONLY", "SWP", "DPICZ"];

/// A decimal number, or hexadecimal after `0x`; None if it is not one or exceeds u32.
fn number(s: &[u8]) -> Option<u32> {
    let (digits, radix) = match s.strip_prefix(b"0x").or_else(|| s.strip_prefix(b"0X")) {
        Some(hex) => (hex, 16),
        None => (s, 10),
    };
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &b| {
        let d = char::from(b).to_digit(radix)?;
        acc.checked_mul(radix)?.checked_add(d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const BASE: ModeValues = ModeValues {
        write_cache: true,
        descriptor_sense: false,
        task_aborted_status: false,
        queue_algorithm: QueueAlgorithm::Unrestricted,
        qerr: QErr::Continue,
    };

    fn text(device: &[u8], v: &ModeValues) -> Vec<u8> {
        let mut t = Vec::new();
        encode(device, v, &mut |b| t.extend_from_slice(b));
        t
    }

    #[test]
    fn written_as_scst_writes_it_and_read_back() {
        let v = ModeValues {
            write_cache: false,
            descriptor_sense: true,
            task_aborted_status: true,
            queue_algorithm: QueueAlgorithm::Restricted,
            qerr: QErr::AbortThisNexus,
        };
        let t = text(b"disk1", &v);
        assert_eq!(
            t,
            b"disk1\nTAS=1\nQERR=3\nD_SENSE=1\nQUEUE_ALG=0\nWRITE_THROUGH=1\n"
        );
        assert_eq!(
            parse(&t, b"disk1", BASE),
            Ok(Restored {
                values: v,
                ignored: None
            })
        );
        for qerr in [QErr::Continue, QErr::AbortAll, QErr::AbortThisNexus] {
            for bits in 0..16u8 {
                let v = ModeValues {
                    write_cache: bits & 1 != 0,
                    descriptor_sense: bits & 2 != 0,
                    task_aborted_status: bits & 4 != 0,
                    queue_algorithm: QueueAlgorithm::from_field(bits >> 3).unwrap(),
                    qerr,
                };
                assert_eq!(parse(&text(b"d", &v), b"d", BASE).unwrap().values, v);
            }
        }
    }

    #[test]
    fn a_file_scst_wrote_restores_what_it_names() {
        // SCST writes only what differs from its defaults.
        let r = parse(b"disk01\nD_SENSE=1\nWRITE_THROUGH=1\n", b"disk01", BASE).unwrap();
        assert_eq!(
            r.values,
            ModeValues {
                write_cache: false,
                descriptor_sense: true,
                ..BASE
            }
        );
        // Its other separators, cases, spacing, and hexadecimal.
        let r = parse(b"d\n tas = 0x1 ;qErr=1\0\n\nSWP=0;TMF_ONLY=0", b"d", BASE).unwrap();
        assert_eq!(
            r,
            Restored {
                values: ModeValues {
                    task_aborted_status: true,
                    qerr: QErr::AbortAll,
                    ..BASE
                },
                ignored: None
            }
        );
        // Keys rscst does not implement, set: ignored and named.
        let r = parse(b"d\nSWP=1\nDPICZ=1\nTAS=1\n", b"d", BASE).unwrap();
        assert_eq!(r.ignored, Some("DPICZ"));
        assert!(r.values.task_aborted_status);
        // Only the name: nothing saved differs from the base.
        assert_eq!(parse(b"d\n", b"d", BASE).unwrap().values, BASE);
    }

    #[test]
    fn another_device_or_a_torn_write_restores_nothing() {
        let t = text(b"disk1", &BASE);
        for (file, dev) in [
            (&t[..], &b"disk11"[..]),
            (&t[..], b"disk"),
            (&t[..5], b"disk1"),
            (b"", b"disk1"),
            (b"\0\0\0\0\0\nTAS=1\n", b"disk1"),
        ] {
            assert_eq!(parse(file, dev, BASE), Err(ModeFileError::NotThisDevice));
        }
    }

    #[test]
    fn a_bad_entry_refuses_the_whole_file() {
        for (file, n) in [
            (&b"d\nTAS=1\nTAS=2\n"[..], 2),
            (b"d\nQERR=2\n", 1),
            (b"d\nQUEUE_ALG=2\n", 1),
            (b"d\nD_SENSE\n", 1),
            (b"d\nD_SENSE=\n", 1),
            (b"d\nWRITE_THROUGH=-1\n", 1),
            (b"d\nTAS=1;WCE=1\n", 2),
            (b"d\nSWP=2\n", 1),
            (b"d\nTAS=0x\n", 1),
            (b"d\nTAS=99999999999\n", 1),
            (b"d\nTAS=1 1\n", 1),
        ] {
            assert_eq!(
                parse(file, b"d", BASE),
                Err(ModeFileError::Entry(n)),
                "{:?}",
                core::str::from_utf8(file)
            );
        }
    }
}
