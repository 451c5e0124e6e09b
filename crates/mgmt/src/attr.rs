// SPDX-License-Identifier: GPL-2.0
//! Formatting of sysfs attribute values the way SCST shows them.

/// Marker line SCST prints after a value that differs from the default, so
/// that `scstadmin` knows to save it.
pub const KEY_MARK: &str = "[key]";

/// Writes `value` followed by a newline (unless it already ends with one) and,
/// when `non_default` is set, a `[key]` line, into `out`.
///
/// Returns the number of bytes written. Output that does not fit is silently
/// truncated (possibly in the middle of a UTF-8 sequence).
pub fn format_attr(value: &str, non_default: bool, out: &mut [u8]) -> usize {
    let newline: &[u8] = if value.ends_with('\n') { b"" } else { b"\n" };
    let mark: &[u8] = if non_default { b"[key]\n" } else { b"" };
    let mut written = 0;
    for part in [value.as_bytes(), newline, mark] {
        let Some(dst) = out.get_mut(written..) else {
            break;
        };
        let n = part.len().min(dst.len());
        if let (Some(d), Some(s)) = (dst.get_mut(..n), part.get(..n)) {
            d.copy_from_slice(s);
            written += n;
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(value: &str, non_default: bool, out: &mut [u8]) -> usize {
        format_attr(value, non_default, out)
    }

    #[test]
    fn default_value() {
        let mut buf = [0u8; 64];
        let n = fmt("512", false, &mut buf);
        assert_eq!(buf.get(..n), Some(&b"512\n"[..]));
    }

    #[test]
    fn non_default_value() {
        let mut buf = [0u8; 64];
        let n = fmt("4096", true, &mut buf);
        assert_eq!(buf.get(..n), Some(&b"4096\n[key]\n"[..]));
        assert!(KEY_MARK.len() + 1 < n);
    }

    #[test]
    fn value_with_newline_and_empty_value() {
        let mut buf = [0u8; 64];
        let n = fmt("/dev/sdb\n", true, &mut buf);
        assert_eq!(buf.get(..n), Some(&b"/dev/sdb\n[key]\n"[..]));
        let n = fmt("", false, &mut buf);
        assert_eq!(buf.get(..n), Some(&b"\n"[..]));
    }

    #[test]
    fn truncates() {
        let mut buf = [0u8; 7];
        let n = fmt("4096", true, &mut buf);
        assert_eq!(n, 7);
        assert_eq!(&buf, b"4096\n[k");
        let mut buf = [0u8; 2];
        assert_eq!(fmt("4096", true, &mut buf), 2);
        assert_eq!(&buf, b"40");
        assert_eq!(fmt("4096", true, &mut []), 0);
    }
}
