// SPDX-License-Identifier: GPL-2.0
//! REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS parameter data (SPC-4 r37 6.36):
//! the task management functions the core carries out (`core/tmf.rs`).

/// Byte 0: ABORT TASK (ATS), ABORT TASK SET (ATSS), CLEAR ACA (CACAS),
/// CLEAR TASK SET (CTSS), LOGICAL UNIT RESET (LURS) and QUERY TASK (QTS);
/// TARGET RESET, which the core also carries out, has only an obsolete bit
/// in SPC-4.
const BYTE0: u8 = 0x80 | 0x40 | 0x20 | 0x10 | 0x08 | 0x04;
/// Byte 1: QUERY ASYNCHRONOUS EVENT (QAES: its FUNCTION SUCCEEDED carries
/// the pending condition's sense codes to fabrics whose responses have
/// room for them), QUERY TASK SET (QTSS) and I_T NEXUS RESET (ITNRS).
const BYTE1: u8 = 0x04 | 0x02 | 0x01;
/// Length of the extended format (REPD set).
const EXTENDED_LEN: usize = 16;

/// Encodes the answer, the basic 4-byte format or the extended 16-byte
/// one (`repd`; no timeouts: TMFTMOV 0), truncated to `alloc_len` (the
/// decoder refuses less than four) and `out`; returns the bytes written.
pub fn encode_report_supported_tmfs(repd: bool, alloc_len: u32, out: &mut [u8]) -> usize {
    let mut answer = [0u8; EXTENDED_LEN];
    answer[0] = BYTE0;
    answer[1] = BYTE1;
    let len = if repd {
        // ADDITIONAL DATA LENGTH: the 12 bytes after byte 3.
        answer[3] = 0x0C;
        EXTENDED_LEN
    } else {
        4
    };
    let n = len.min(alloc_len as usize).min(out.len());
    for (o, a) in out.iter_mut().zip(answer.iter()).take(n) {
        *o = *a;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_extended() {
        let mut out = [0xEEu8; 32];
        assert_eq!(encode_report_supported_tmfs(false, 100, &mut out), 4);
        assert_eq!(out[..5], [0xFC, 0x07, 0, 0, 0xEE]);
        let mut out = [0xEEu8; 32];
        assert_eq!(encode_report_supported_tmfs(true, 100, &mut out), 16);
        assert_eq!(
            out[..16],
            [0xFC, 0x07, 0, 0x0C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(out[16], 0xEE);
    }

    #[test]
    fn truncation() {
        for alloc in 0..20u32 {
            let mut out = [0xEEu8; 32];
            let n = encode_report_supported_tmfs(true, alloc, &mut out);
            assert_eq!(n, (alloc as usize).min(16));
            assert!(out[n..].iter().all(|&b| b == 0xEE));
        }
        let mut out = [0u8; 2];
        assert_eq!(encode_report_supported_tmfs(false, 100, &mut out), 2);
        assert_eq!(out, [0xFC, 0x07]);
    }
}
