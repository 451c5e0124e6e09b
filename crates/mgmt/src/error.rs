// SPDX-License-Identifier: GPL-2.0
//! Errors reported by the `mgmt` command-line parsers.

/// Longest accepted command line in bytes, not counting one trailing `'\n'`.
///
/// This matches the size of the page a sysfs `store()` callback receives.
pub const MAX_LINE: usize = 4096;

/// `EINVAL`, the errno every [`ParseError`] maps to.
pub const EINVAL: i32 = 22;

/// Why a line written to a `mgmt` file was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The line is empty or holds only whitespace.
    Empty,
    /// The line is not valid UTF-8, or holds a control character other than
    /// a tab or one trailing newline.
    NotUtf8,
    /// The first word is not a command accepted by this `mgmt` file.
    UnknownCommand,
    /// A required argument (name, LUN number, group, ...) is missing.
    MissingArgument,
    /// The command was followed by more words than it accepts.
    TooManyArguments,
    /// A device, group, target or initiator name breaks the naming rules.
    BadName,
    /// A `key=value` item lacks `'='`, has an empty or blank-containing key,
    /// or repeats a key.
    BadParam,
    /// A number does not parse or does not fit its type.
    BadNumber,
    /// The line is longer than [`MAX_LINE`] bytes.
    TooLong,
}

impl ParseError {
    /// Short human-readable description, suitable for a kernel log line.
    pub fn message(&self) -> &'static str {
        match self {
            Self::Empty => "empty command",
            Self::NotUtf8 => "invalid characters (not UTF-8 or control characters)",
            Self::UnknownCommand => "unknown command",
            Self::MissingArgument => "missing argument",
            Self::TooManyArguments => "too many arguments",
            Self::BadName => "invalid name",
            Self::BadParam => "invalid key=value parameter",
            Self::BadNumber => "invalid number",
            Self::TooLong => "command line too long",
        }
    }

    /// Positive errno to return from `store()` (negate it for the kernel).
    ///
    /// Always [`EINVAL`], which is what SCST returns for malformed `mgmt`
    /// input, so existing tools see the same error for every case.
    pub fn errno(&self) -> i32 {
        EINVAL
    }
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ParseError; 9] = [
        ParseError::Empty,
        ParseError::NotUtf8,
        ParseError::UnknownCommand,
        ParseError::MissingArgument,
        ParseError::TooManyArguments,
        ParseError::BadName,
        ParseError::BadParam,
        ParseError::BadNumber,
        ParseError::TooLong,
    ];

    #[test]
    fn every_error_has_a_distinct_message_and_einval() {
        for (i, a) in ALL.iter().enumerate() {
            assert!(!a.message().is_empty());
            assert_eq!(a.errno(), 22);
            for b in ALL.iter().skip(i + 1) {
                assert_ne!(a.message(), b.message());
            }
        }
        assert_eq!(ParseError::UnknownCommand.message(), "unknown command");
    }
}
