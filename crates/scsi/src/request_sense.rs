// SPDX-License-Identifier: GPL-2.0
//! REQUEST SENSE parameter data (SPC-4 6.29).

use super::sense::{Sense, SENSE_LEN};

/// Builds REQUEST SENSE parameter data for `sense`, in descriptor format (8 bytes) when
/// `desc` is set, otherwise fixed format (18 bytes), truncated to `alloc_len` and `out`.
/// Returns the number of bytes written; bytes of `out` past that are left untouched.
pub fn encode_request_sense(sense: Sense, desc: bool, alloc_len: u8, out: &mut [u8]) -> usize {
    let mut tmp = [0u8; SENSE_LEN];
    let full = if desc {
        sense.write_descriptor(&mut tmp)
    } else {
        sense.write_fixed(&mut tmp)
    };
    let n = full.min(usize::from(alloc_len)).min(out.len());
    if let (Some(dst), Some(src)) = (out.get_mut(..n), tmp.get(..n)) {
        dst.copy_from_slice(src);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_descriptor() {
        let mut out = [0xEEu8; 32];
        assert_eq!(
            encode_request_sense(Sense::NO_SENSE, false, 252, &mut out),
            18
        );
        assert_eq!(
            &out[..18],
            &[0x70, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(out[18], 0xEE);
        assert_eq!(
            encode_request_sense(Sense::POWER_ON_RESET, true, 252, &mut out),
            8
        );
        assert_eq!(&out[..8], &[0x72, 6, 0x29, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn truncation() {
        for desc in [false, true] {
            let full_len = if desc { 8 } else { 18 };
            let mut full = [0u8; 18];
            encode_request_sense(Sense::INVALID_OPCODE, desc, 255, &mut full);
            for alloc in 0..=20u8 {
                for olen in [0usize, 1, 7, 8, 17, 18, 19, 32] {
                    let mut out = [0xEEu8; 32];
                    let n =
                        encode_request_sense(Sense::INVALID_OPCODE, desc, alloc, &mut out[..olen]);
                    assert_eq!(n, full_len.min(usize::from(alloc)).min(olen));
                    assert_eq!(&out[..n], &full[..n]);
                    assert!(out[n..].iter().all(|&b| b == 0xEE));
                }
            }
        }
    }
}
