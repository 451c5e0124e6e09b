// SPDX-License-Identifier: GPL-2.0
//! A bounded byte writer: builds a response into a fixed buffer, silently dropping bytes that
//! do not fit while still counting the full logical length.

/// Writes into a slice; bytes past its end are counted but discarded.
pub(crate) struct Wr<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Wr<'a> {
    /// Starts writing at offset 0 of `buf`; nothing at or past `limit` is ever written.
    pub(crate) fn new(buf: &'a mut [u8], limit: usize) -> Self {
        let n = buf.len().min(limit);
        let (buf, _) = buf.split_at_mut(n);
        Wr { buf, pos: 0 }
    }

    /// Logical number of bytes written so far (may exceed the buffer).
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Size of the underlying buffer (already limited).
    pub(crate) fn cap(&self) -> usize {
        self.buf.len()
    }

    /// Appends one byte.
    pub(crate) fn u8(&mut self, v: u8) {
        if let Some(b) = self.buf.get_mut(self.pos) {
            *b = v;
        }
        self.pos = self.pos.saturating_add(1);
    }

    /// Appends bytes.
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        for &b in v {
            self.u8(b);
        }
    }

    /// Appends a big-endian u16.
    pub(crate) fn be16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    /// Appends a big-endian u32.
    pub(crate) fn be32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    /// Appends a big-endian u64.
    pub(crate) fn be64(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes());
    }

    /// Appends `n` zero bytes.
    pub(crate) fn zeros(&mut self, n: usize) {
        for _ in 0..n {
            self.u8(0);
        }
    }

    /// Appends exactly `n` bytes taken from `src`: truncated, padded with `pad`, and with every
    /// byte outside printable ASCII (0x20..=0x7E) replaced by a space.
    pub(crate) fn ascii(&mut self, src: &[u8], n: usize, pad: u8) {
        let mut it = src.iter();
        for _ in 0..n {
            match it.next() {
                Some(&b) => self.u8(printable(b)),
                None => self.u8(pad),
            }
        }
    }

    /// Overwrites one already-written byte (no-op if it was dropped).
    pub(crate) fn set_u8(&mut self, at: usize, v: u8) {
        if let Some(b) = self.buf.get_mut(at) {
            *b = v;
        }
    }

    /// Overwrites a big-endian u16 at `at` (the part that fits).
    pub(crate) fn set_be16(&mut self, at: usize, v: u16) {
        self.set_bytes(at, &v.to_be_bytes());
    }

    /// Overwrites a big-endian u32 at `at` (the part that fits).
    pub(crate) fn set_be32(&mut self, at: usize, v: u32) {
        self.set_bytes(at, &v.to_be_bytes());
    }

    fn set_bytes(&mut self, at: usize, v: &[u8]) {
        let mut p = at;
        for &b in v {
            self.set_u8(p, b);
            p = p.saturating_add(1);
        }
    }

    /// Number of valid bytes: the logical length limited to the limit and the buffer size.
    pub(crate) fn finish(self) -> usize {
        self.pos.min(self.buf.len())
    }
}

/// Maps a byte to printable ASCII, replacing anything else by a space.
pub(crate) fn printable(b: u8) -> u8 {
    if (0x20..=0x7E).contains(&b) {
        b
    } else {
        b' '
    }
}

/// The `N` bytes at `at` of `b`, or zeros when out of range. `try_from`, not
/// `copy_from_slice`: no length-mismatch panic path (whose symbol the 6.12
/// kernel's objtool does not know from rustc 1.95 on).
fn bytes_at<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b.get(at..at.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .unwrap_or([0; N])
}

/// Big-endian u16 at `at` of `b`, or 0 when out of range.
pub(crate) fn get_be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(bytes_at(b, at))
}

/// Big-endian u32 at `at` of `b`, or 0 when out of range.
pub(crate) fn get_be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes_at(b, at))
}

/// Big-endian u64 at `at` of `b`, or 0 when out of range.
pub(crate) fn get_be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(bytes_at(b, at))
}

/// Byte at `at` of `b`, or 0 when out of range.
pub(crate) fn get_u8(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

/// The FNV-1a offset basis.
pub(crate) const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// 64-bit FNV-1a of `bytes`, continued from `h` ([`FNV_BASIS`] to start).
pub(crate) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_and_counts() {
        let mut buf = [0xAAu8; 3];
        let mut w = Wr::new(&mut buf, 10);
        w.be32(0x0102_0304);
        w.set_be16(2, 0xFFEE);
        assert_eq!(w.pos(), 4);
        assert_eq!(w.finish(), 3);
        assert_eq!(buf, [1, 2, 0xFF]);
        let mut buf = [0xAAu8; 4];
        let mut w = Wr::new(&mut buf, 2);
        w.be32(0x0102_0304);
        w.set_u8(3, 9);
        assert_eq!(w.cap(), 2);
        assert_eq!(w.finish(), 2);
        assert_eq!(buf, [1, 2, 0xAA, 0xAA]);
    }

    #[test]
    fn ascii_pads_and_sanitizes() {
        let mut buf = [0u8; 6];
        let mut w = Wr::new(&mut buf, 6);
        w.ascii(b"a\0b", 6, b' ');
        assert_eq!(&buf, b"a b   ");
        let mut buf = [0u8; 2];
        let mut w = Wr::new(&mut buf, 2);
        w.ascii(b"abc", 2, b' ');
        assert_eq!(&buf, b"ab");
    }

    #[test]
    fn getters_out_of_range() {
        assert_eq!(get_be16(&[1], 0), 0);
        assert_eq!(get_be32(&[1, 2, 3, 4], 0), 0x0102_0304);
        assert_eq!(get_be64(&[1, 2, 3], 0), 0);
        assert_eq!(get_u8(&[], 5), 0);
        assert_eq!(get_be16(&[1, 2], usize::MAX), 0);
    }
}
