// SPDX-License-Identifier: GPL-2.0
//! Logical unit numbers: SAM-5 single-level LUN encoding and the REPORT LUNS parameter data.
//!
//! Flat LUN numbers map to 8-byte LUNs as: peripheral device addressing (`00 LL`) below 256,
//! flat space addressing (`4H LL`) below 16384, extended flat space (`D2 xx xx xx`) below
//! 2^24 and long extended flat space (`E2 xx xx xx xx xx`) below 2^40. Larger numbers are not
//! representable.

use super::wr::Wr;

/// Largest LUN number plus one that [`encode_lun`] can represent.
pub const MAX_LUNS: u64 = 1 << 40;

/// The "LOGICAL UNIT NOT SPECIFIED" extended address, returned by [`encode_lun`] for LUN
/// numbers that cannot be represented.
pub const LUN_NOT_SPECIFIED: [u8; 8] = [0xFF; 8];

/// The REPORT LUNS well-known logical unit.
pub const WLUN_REPORT_LUNS: [u8; 8] = [0xC1, 0x01, 0, 0, 0, 0, 0, 0];

/// Whether REPORT LUNS with this SELECT REPORT field lists the logical
/// units a session sees (SPC-4 6.33, SPC-5). rscst has neither well-known
/// logical units (the REPORT LUNS well-known LUN is not served:
/// [`decode_lun`] refuses it) nor conglomerates, so 00h (all but
/// well-known ones), 02h (all) and 11h (administrative ones and those in no
/// conglomerate) list every LUN, while 01h (well-known ones only) and 10h
/// (administrative ones only) list none. 12h (the conglomerate of the
/// addressed unit, when that is an administrative one) is refused by the
/// CDB decoder: no unit is.
pub fn report_lists_luns(select_report: u8) -> bool {
    matches!(select_report, 0x00 | 0x02 | 0x11)
}

/// Encodes a REPORT LUNS response: an 8-byte header (LUN LIST LENGTH = 8 * count) then each
/// LUN encoded by [`encode_lun`]. LUN numbers of [`MAX_LUNS`] or more are skipped and not
/// counted. Output is truncated (byte-exact) to `alloc_len` and `out`; returns the bytes
/// written. The LUN LIST LENGTH always states the full count (saturating at 2^32 - 8).
pub fn encode_report_luns(
    luns: impl Iterator<Item = u64> + Clone,
    alloc_len: u32,
    out: &mut [u8],
) -> usize {
    let limit = usize::try_from(alloc_len).unwrap_or(usize::MAX);
    let count = luns.clone().filter(|&l| l < MAX_LUNS).count();
    let list_len = u32::try_from(count)
        .unwrap_or(u32::MAX)
        .saturating_mul(8)
        .min(0xFFFF_FFF8);
    let mut w = Wr::new(out, limit);
    w.be32(list_len);
    w.be32(0);
    for lun in luns.filter(|&l| l < MAX_LUNS) {
        if w.pos() >= w.cap() {
            break;
        }
        w.bytes(&encode_lun(lun));
    }
    w.finish()
}

/// Decodes an 8-byte SAM LUN into a flat LUN number. Accepts single-level peripheral device
/// (bus 0), flat space, extended flat space and long extended flat space addresses with all
/// following levels zero; anything else (hierarchical, logical unit addressing, well-known
/// LUNs) -> `None`.
pub fn decode_lun(lun: [u8; 8]) -> Option<u64> {
    let [b0, b1, b2, b3, b4, b5, b6, b7] = lun;
    let (value, tail): (u64, &[u8]) = match b0 {
        0x00 => (u64::from(b1), &[b2, b3, b4, b5, b6, b7]),
        0x40..=0x7F => (
            (u64::from(b0 & 0x3F) << 8) | u64::from(b1),
            &[b2, b3, b4, b5, b6, b7],
        ),
        0xD2 => (
            u64::from_be_bytes([0, 0, 0, 0, 0, b1, b2, b3]),
            &[b4, b5, b6, b7],
        ),
        0xE2 => (u64::from_be_bytes([0, 0, 0, b1, b2, b3, b4, b5]), &[b6, b7]),
        _ => return None,
    };
    if tail.iter().any(|&b| b != 0) {
        return None;
    }
    Some(value)
}

/// The 8-byte SAM LUN behind a Linux midlayer LUN number (`scsi_device::lun`, packed by
/// the kernel's `int_to_scsilun`: each two-byte addressing level in turn, the first level in
/// the low 16 bits). Flat LUN 256, for example, is `0x4100` to Linux.
pub fn linux_lun_to_sam(lun: u64) -> [u8; 8] {
    let [a1, a0, b1, b0, c1, c0, d1, d0] = lun.to_le_bytes();
    [a0, a1, b0, b1, c0, c1, d0, d1]
}

/// Inverse of [`linux_lun_to_sam`] (the kernel's `scsilun_to_int`).
pub fn sam_to_linux_lun(lun: [u8; 8]) -> u64 {
    let [a0, a1, b0, b1, c0, c1, d0, d1] = lun;
    u64::from_le_bytes([a1, a0, b1, b0, c1, c0, d1, d0])
}

/// The flat LUN number a Linux midlayer LUN number addresses, or `None` when it is not a
/// single-level address [`decode_lun`] accepts.
pub fn flat_lun_of_linux(lun: u64) -> Option<u64> {
    decode_lun(linux_lun_to_sam(lun))
}

/// The Linux midlayer LUN number under which a flat LUN number appears after a REPORT
/// LUNS scan.
pub fn linux_lun_of_flat(lun: u64) -> u64 {
    sam_to_linux_lun(encode_lun(lun))
}

/// Inverse of [`decode_lun`]: the shortest single-level encoding of `lun`, or
/// [`LUN_NOT_SPECIFIED`] when `lun >= MAX_LUNS`.
pub fn encode_lun(lun: u64) -> [u8; 8] {
    let b = lun.to_be_bytes();
    let [_, _, _, x4, x3, x2, x1, x0] = b;
    if lun < 0x100 {
        [0, x0, 0, 0, 0, 0, 0, 0]
    } else if lun < 0x4000 {
        [0x40 | x1, x0, 0, 0, 0, 0, 0, 0]
    } else if lun < 0x100_0000 {
        [0xD2, x2, x1, x0, 0, 0, 0, 0]
    } else if lun < MAX_LUNS {
        [0xE2, x4, x3, x2, x1, x0, 0, 0]
    } else {
        LUN_NOT_SPECIFIED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_lun_numbers() {
        // Peripheral addressing: Linux numbers equal flat numbers below 256.
        for l in 0..256u64 {
            assert_eq!(linux_lun_of_flat(l), l);
            assert_eq!(flat_lun_of_linux(l), Some(l));
        }
        // Flat space: 0x40 | high bits in the first byte.
        assert_eq!(linux_lun_of_flat(256), 0x4100);
        assert_eq!(linux_lun_of_flat(300), 0x412C);
        assert_eq!(linux_lun_of_flat(0x3FFF), 0x7FFF);
        assert_eq!(flat_lun_of_linux(0x412C), Some(300));
        // Extended flat space: D2 00 40 00 -> levels 0xD200, 0x4000.
        assert_eq!(linux_lun_of_flat(0x4000), 0x4000_D200);
        // Round trips over every address range.
        let mut l = 0u64;
        while l < MAX_LUNS {
            assert_eq!(flat_lun_of_linux(linux_lun_of_flat(l)), Some(l), "{:#x}", l);
            l = l * 3 + 1;
        }
        // Hierarchical (bus 1) and well-known LUNs address no flat LUN.
        assert_eq!(flat_lun_of_linux(0x0100), None);
        assert_eq!(flat_lun_of_linux(0xC101), None);
        for x in [
            0u64,
            1,
            0x4100,
            0xFFFF_FFFF_FFFF_FFFF,
            0x0123_4567_89AB_CDEF,
        ] {
            assert_eq!(sam_to_linux_lun(linux_lun_to_sam(x)), x);
        }
    }

    #[test]
    fn lun_encodings() {
        assert_eq!(encode_lun(0), [0; 8]);
        assert_eq!(encode_lun(5), [0, 5, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_lun(255), [0, 0xFF, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_lun(256), [0x41, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_lun(0x3FFF), [0x7F, 0xFF, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_lun(0x4000), [0xD2, 0, 0x40, 0, 0, 0, 0, 0]);
        assert_eq!(encode_lun(0xFF_FFFF), [0xD2, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]);
        assert_eq!(encode_lun(0x100_0000), [0xE2, 0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(
            encode_lun(MAX_LUNS - 1),
            [0xE2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0]
        );
        assert_eq!(encode_lun(MAX_LUNS), LUN_NOT_SPECIFIED);
        assert_eq!(encode_lun(u64::MAX), LUN_NOT_SPECIFIED);
    }

    #[test]
    fn lun_decodings() {
        assert_eq!(decode_lun([0x40, 7, 0, 0, 0, 0, 0, 0]), Some(7));
        assert_eq!(decode_lun([0x00, 7, 0, 0, 0, 0, 0, 1]), None);
        assert_eq!(decode_lun([0x01, 7, 0, 0, 0, 0, 0, 0]), None); // bus 1
        assert_eq!(decode_lun([0x80, 7, 0, 0, 0, 0, 0, 0]), None); // LU addressing
        assert_eq!(decode_lun(WLUN_REPORT_LUNS), None);
        assert_eq!(decode_lun(LUN_NOT_SPECIFIED), None);
        assert_eq!(decode_lun([0xD2, 0, 0, 1, 0, 0, 0, 0]), Some(1));
        assert_eq!(decode_lun([0xD2, 0, 0, 1, 1, 0, 0, 0]), None);
        assert_eq!(
            decode_lun([0xE2, 1, 2, 3, 4, 5, 0, 0]),
            Some(0x01_0203_0405)
        );
        assert_eq!(decode_lun([0xE2, 1, 2, 3, 4, 5, 6, 0]), None);
    }

    #[test]
    fn round_trip_random() {
        let mut x = 0x1234_5678_9ABC_DEF1u64;
        for _ in 0..20000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let lun = x >> (x % 64);
            let enc = encode_lun(lun);
            if lun < MAX_LUNS {
                assert_eq!(decode_lun(enc), Some(lun));
            } else {
                assert_eq!(enc, LUN_NOT_SPECIFIED);
            }
            let raw = x.to_be_bytes();
            if let Some(l) = decode_lun(raw) {
                assert!(l < MAX_LUNS);
            }
        }
        for lun in 0..0x4100u64 {
            assert_eq!(decode_lun(encode_lun(lun)), Some(lun));
        }
    }

    #[test]
    fn report_luns() {
        let mut out = [0xEEu8; 64];
        let n = encode_report_luns([0u64, 1, 300].into_iter(), 1000, &mut out);
        assert_eq!(n, 32);
        assert_eq!(
            &out[..32],
            &[
                0, 0, 0, 24, 0, 0, 0, 0, //
                0, 0, 0, 0, 0, 0, 0, 0, //
                0, 1, 0, 0, 0, 0, 0, 0, //
                0x41, 0x2C, 0, 0, 0, 0, 0, 0,
            ]
        );
        // Empty list.
        let n = encode_report_luns(core::iter::empty(), 16, &mut out);
        assert_eq!(n, 8);
        assert_eq!(&out[..8], &[0; 8]);
        // Unrepresentable LUNs are skipped and not counted.
        let n = encode_report_luns([u64::MAX, 2].into_iter(), 100, &mut out);
        assert_eq!(n, 16);
        assert_eq!(&out[..4], &[0, 0, 0, 8]);
        assert_eq!(&out[8..16], &[0, 2, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn select_report() {
        assert!(report_lists_luns(0x00));
        assert!(report_lists_luns(0x02));
        assert!(report_lists_luns(0x11));
        for sel in [0x01u8, 0x10, 0x12, 0x03, 0xFF] {
            assert!(!report_lists_luns(sel), "{sel:#x}");
        }
    }

    #[test]
    fn report_luns_truncation() {
        let luns = 0u64..5;
        let mut full = [0u8; 48];
        assert_eq!(encode_report_luns(luns.clone(), 48, &mut full), 48);
        for alloc in 0..=50u32 {
            let mut out = [0xEEu8; 64];
            let n = encode_report_luns(luns.clone(), alloc, &mut out);
            assert_eq!(n, (alloc as usize).min(48));
            assert_eq!(&out[..n], &full[..n]);
            assert!(out[n..].iter().all(|&b| b == 0xEE));
        }
        for olen in 0..=50usize {
            let mut out = [0xEEu8; 64];
            let n = encode_report_luns(luns.clone(), u32::MAX, &mut out[..olen]);
            assert_eq!(n, olen.min(48));
            assert_eq!(&out[..n], &full[..n]);
        }
        // A huge list is counted fully but only what fits is written, quickly.
        let mut out = [0u8; 24];
        let n = encode_report_luns(0u64..1_000_000, u32::MAX, &mut out);
        assert_eq!(n, 24);
        assert_eq!(&out[..4], &8_000_000u32.to_be_bytes());
        assert_eq!(&out[16..24], &[0, 1, 0, 0, 0, 0, 0, 0]);
    }
}
