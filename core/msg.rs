// SPDX-License-Identifier: GPL-2.0
//! Management errors: an errno for the writer plus a readable message for the
//! kernel log and `last_sysfs_mgmt_res`.

use core::fmt::{self, Write};
use kernel::error::Error;

/// Longest message kept.
pub const MSG_LEN: usize = 192;

/// A short message in a fixed buffer (no allocation, truncates).
pub struct Msg {
    buf: [u8; MSG_LEN],
    len: usize,
}

impl Msg {
    /// An empty message.
    pub const fn new() -> Self {
        Msg { buf: [0; MSG_LEN], len: 0 }
    }

    /// The text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The text, lossy for non-UTF-8 (never produced by this module).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("?")
    }

    /// Appends bytes up to the capacity.
    pub fn push_bytes(&mut self, b: &[u8]) {
        let n = b.len().min(MSG_LEN - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
    }
}

impl Default for Msg {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for Msg {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_bytes(s.as_bytes());
        Ok(())
    }
}

/// A failed management command.
pub struct MgmtError {
    /// What the writer's `write()` returns.
    pub err: Error,
    /// Why, for people.
    pub msg: Msg,
}

impl MgmtError {
    /// An error with a formatted message.
    pub fn new(err: Error, args: fmt::Arguments<'_>) -> Self {
        let mut msg = Msg::new();
        let _ = msg.write_fmt(args);
        MgmtError { err, msg }
    }
}

/// Result of a management command.
pub type MgmtResult = Result<(), MgmtError>;

/// Builds a [`MgmtError`] from an errno constant and a format string.
#[macro_export]
macro_rules! mgmt_err {
    ($e:ident, $($arg:tt)*) => {
        $crate::msg::MgmtError::new(kernel::error::code::$e, format_args!($($arg)*))
    };
}
