// SPDX-License-Identifier: GPL-2.0
//! A bounded, NUL-terminated message buffer a client module fills for the
//! core (error reasons, attribute values).

use core::fmt;

/// Text written into a caller's buffer, truncated, always NUL-terminated.
pub struct MsgOut<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> MsgOut<'a> {
    /// Wraps `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        if let Some(b) = buf.first_mut() {
            *b = 0;
        }
        MsgOut { buf, len: 0 }
    }

    /// Bytes written (without the NUL).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Write for MsgOut<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep one byte for the terminating NUL.
        let room = self.buf.len().saturating_sub(self.len + 1);
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if let Some(b) = self.buf.get_mut(self.len) {
            *b = 0;
        }
        Ok(())
    }
}
