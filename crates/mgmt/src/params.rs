// SPDX-License-Identifier: GPL-2.0
//! `key=value; key=value` parameter lists and SCST-style number parsing.

use super::error::ParseError;
use core::iter::FusedIterator;

/// Returns `true` for the blanks that separate words: space and tab.
pub(crate) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Trims spaces and tabs from both ends of `s`.
pub(crate) fn trim_blanks(s: &str) -> &str {
    s.trim_matches(is_blank)
}

/// Iterator over `key=value` pairs separated by `';'`.
///
/// Blanks (spaces, tabs) around keys, values and separators are trimmed and
/// empty items are skipped. Each item yields `Ok((key, value))`, or
/// `Err(ParseError::BadParam)` for an item without `'='`, with an empty key or
/// with a key containing blanks. The value is everything after the first `'='`
/// (so it may itself contain `'='`) and may be empty.
///
/// [`get`](Self::get), [`is_empty`](Self::is_empty) and
/// [`validate`](Self::validate) look at the items not yet yielded by the
/// iterator; the parsers hand out fresh, already checked `Params`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params<'a> {
    rest: &'a str,
}

/// A key that [`Params::validate`] did not find in its allowed list.
///
/// For a malformed item (no `'='`, empty key) it holds the trimmed item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownKey<'a>(pub &'a str);

impl From<UnknownKey<'_>> for ParseError {
    fn from(_: UnknownKey<'_>) -> Self {
        ParseError::BadParam
    }
}

/// Splits one non-empty, trimmed item into its key and value.
fn split_item(item: &str) -> Result<(&str, &str), ParseError> {
    let (key, value) = item.split_once('=').ok_or(ParseError::BadParam)?;
    let key = trim_blanks(key);
    if key.is_empty() || key.contains(is_blank) {
        return Err(ParseError::BadParam);
    }
    Ok((key, trim_blanks(value)))
}

impl<'a> Params<'a> {
    /// Wraps a parameter string; nothing is checked until iteration.
    pub fn new(s: &'a str) -> Self {
        Self { rest: s }
    }

    /// The not yet iterated part of the raw parameter string.
    pub fn as_str(&self) -> &'a str {
        self.rest
    }

    /// Returns the next non-empty trimmed item, advancing past it.
    fn next_item(&mut self) -> Option<&'a str> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (item, rest) = match self.rest.split_once(';') {
                Some((item, rest)) => (item, rest),
                None => (self.rest, ""),
            };
            self.rest = rest;
            let item = trim_blanks(item);
            if !item.is_empty() {
                return Some(item);
            }
        }
    }

    /// Looks `key` up.
    ///
    /// Returns the value of the first item with that key, `Ok(None)` when no
    /// item has it, and `Err(ParseError::BadParam)` if any item is malformed
    /// or the key occurs more than once.
    pub fn get(&self, key: &str) -> Result<Option<&'a str>, ParseError> {
        let mut found = None;
        for item in self.clone() {
            let (k, v) = item?;
            if k == key {
                if found.is_some() {
                    return Err(ParseError::BadParam);
                }
                found = Some(v);
            }
        }
        Ok(found)
    }

    /// Returns `true` when there are no (non-empty) items left.
    pub fn is_empty(&self) -> bool {
        self.clone().next_item().is_none()
    }

    /// Checks every key against `allowed`; returns the first key not in it.
    ///
    /// A malformed item is reported as an unknown key holding the item text.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), UnknownKey<'a>> {
        let mut items = self.clone();
        while let Some(item) = items.next_item() {
            match split_item(item) {
                Ok((key, _)) if allowed.contains(&key) => {}
                Ok((key, _)) => return Err(UnknownKey(key)),
                Err(_) => return Err(UnknownKey(item)),
            }
        }
        Ok(())
    }

    /// Checks that every item is well formed and no key repeats.
    ///
    /// Quadratic in the number of items, which is bounded by the line length.
    pub fn check(&self) -> Result<(), ParseError> {
        let mut outer = self.clone();
        while let Some(item) = outer.next() {
            let (key, _) = item?;
            for later in outer.clone() {
                if later?.0 == key {
                    return Err(ParseError::BadParam);
                }
            }
        }
        Ok(())
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<(&'a str, &'a str), ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().map(split_item)
    }
}

impl FusedIterator for Params<'_> {}

/// Parses an unsigned number as SCST's `mgmt` files write it: decimal, or
/// hexadecimal with a `0x`/`0X` prefix.
///
/// No sign, blanks or separators are accepted. A decimal number with a
/// leading zero (`"010"`) is rejected because SCST's C parser reads it as
/// octal; refusing it avoids silently picking a different value.
pub fn parse_u64(s: &str) -> Result<u64, ParseError> {
    let bytes = s.as_bytes();
    let (digits, radix) = match bytes {
        [b'0', b'x' | b'X', hex @ ..] => (hex, 16),
        [b'0', _, ..] => return Err(ParseError::BadNumber),
        _ => (bytes, 10),
    };
    if digits.is_empty() {
        return Err(ParseError::BadNumber);
    }
    let mut value: u64 = 0;
    for &b in digits {
        let digit = char::from(b).to_digit(radix).ok_or(ParseError::BadNumber)?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(digit)))
            .ok_or(ParseError::BadNumber)?;
    }
    Ok(value)
}

/// Like [`parse_u64`], for values that must fit in 32 bits.
pub fn parse_u32(s: &str) -> Result<u32, ParseError> {
    u32::try_from(parse_u64(s)?).map_err(|_| ParseError::BadNumber)
}

/// Parses a boolean attribute value: exactly `"0"` (false) or `"1"` (true).
///
/// Words such as `y`/`n` or `true`/`false` are rejected with `BadNumber`.
pub fn parse_bool(s: &str) -> Result<bool, ParseError> {
    match s {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(ParseError::BadNumber),
    }
}

/// Parses a size in bytes: a [`parse_u64`] number optionally followed by a
/// binary multiplier `K`, `M`, `G` or `T` (case-insensitive, powers of 1024),
/// which may itself be followed by `B`/`b` (`"4k"`, `"4KB"`, `"0x10M"`).
///
/// A bare `B` is not a suffix (`"0x1B"` is 27). Overflow gives `BadNumber`.
pub fn parse_size(s: &str) -> Result<u64, ParseError> {
    let unit = |c: char| match c.to_ascii_uppercase() {
        'K' => Some(10u32),
        'M' => Some(20),
        'G' => Some(30),
        'T' => Some(40),
        _ => None,
    };
    let mut number = s;
    let mut shift = 0;
    let mut chars = s.chars();
    let mut last = chars.next_back();
    if matches!(last, Some('B' | 'b')) && chars.clone().next_back().and_then(unit).is_some() {
        last = chars.next_back();
    }
    if let Some(sh) = last.and_then(unit) {
        number = chars.as_str();
        shift = sh;
    }
    let value = parse_u64(number)?;
    if value.leading_zeros() < shift {
        return Err(ParseError::BadNumber);
    }
    Ok(value << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect<'a>(
        p: Params<'a>,
        out: &mut [Option<Result<(&'a str, &'a str), ParseError>>],
    ) -> usize {
        let mut n = 0;
        for item in p {
            if let Some(slot) = out.get_mut(n) {
                *slot = Some(item);
            }
            n += 1;
        }
        n
    }

    #[test]
    fn iterates_trimmed_pairs() {
        let mut out = [None; 4];
        let p = Params::new(" filename=/disk1 ;  blocksize = 4096;; \t;nv_cache=1 ;");
        assert_eq!(collect(p, &mut out), 3);
        assert_eq!(out[0], Some(Ok(("filename", "/disk1"))));
        assert_eq!(out[1], Some(Ok(("blocksize", "4096"))));
        assert_eq!(out[2], Some(Ok(("nv_cache", "1"))));
    }

    #[test]
    fn value_may_contain_equals_and_be_empty() {
        let mut p = Params::new("a=b=c; d=");
        assert_eq!(p.next(), Some(Ok(("a", "b=c"))));
        assert_eq!(p.next(), Some(Ok(("d", ""))));
        assert_eq!(p.next(), None);
        assert_eq!(p.next(), None);
    }

    #[test]
    fn malformed_items_are_bad_param() {
        let mut p = Params::new("novalue; =x; a b=1; ok=1");
        assert_eq!(p.next(), Some(Err(ParseError::BadParam)));
        assert_eq!(p.next(), Some(Err(ParseError::BadParam)));
        assert_eq!(p.next(), Some(Err(ParseError::BadParam)));
        assert_eq!(p.next(), Some(Ok(("ok", "1"))));
        assert_eq!(p.next(), None);
    }

    #[test]
    fn get_first_missing_duplicate_malformed() {
        let p = Params::new("filename=/x; blocksize=512");
        assert_eq!(p.get("blocksize"), Ok(Some("512")));
        assert_eq!(p.get("filename"), Ok(Some("/x")));
        assert_eq!(p.get("read_only"), Ok(None));
        assert_eq!(Params::new("a=1; a=2").get("a"), Err(ParseError::BadParam));
        assert_eq!(Params::new("a=1; junk").get("a"), Err(ParseError::BadParam));
        assert_eq!(Params::new("").get("a"), Ok(None));
    }

    #[test]
    fn check_is_empty_as_str() {
        assert_eq!(Params::new("a=1; b=2").check(), Ok(()));
        assert_eq!(
            Params::new("a=1; b=2; a=3").check(),
            Err(ParseError::BadParam)
        );
        assert_eq!(Params::new("a=1; b").check(), Err(ParseError::BadParam));
        assert_eq!(Params::new("").check(), Ok(()));
        assert!(Params::new("").is_empty());
        assert!(Params::new(" ; ;\t").is_empty());
        assert!(!Params::new("a=1").is_empty());
        assert_eq!(Params::new("a=1").as_str(), "a=1");
    }

    #[test]
    fn validate_reports_first_unknown() {
        let p = Params::new("filename=/x; bogus=1; other=2");
        assert_eq!(p.validate(&["filename", "bogus", "other"]), Ok(()));
        assert_eq!(p.validate(&["filename"]), Err(UnknownKey("bogus")));
        assert_eq!(
            Params::new("junk").validate(&["junk"]),
            Err(UnknownKey("junk"))
        );
        assert_eq!(Params::new("").validate(&[]), Ok(()));
        assert_eq!(ParseError::from(UnknownKey("x")), ParseError::BadParam);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("0"), Ok(0));
        assert_eq!(parse_u64("4096"), Ok(4096));
        assert_eq!(parse_u64("0x1F"), Ok(31));
        assert_eq!(parse_u64("0X1f"), Ok(31));
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_u64("0xffffffffffffffff"), Ok(u64::MAX));
        for bad in [
            "",
            "0x",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1a",
            "010",
            "00",
            "0b1",
            "é",
            "18446744073709551616",
            "0x10000000000000000",
        ] {
            assert_eq!(parse_u64(bad), Err(ParseError::BadNumber), "{bad:?}");
        }
        assert_eq!(parse_u32("4294967295"), Ok(u32::MAX));
        assert_eq!(parse_u32("4294967296"), Err(ParseError::BadNumber));
        assert_eq!(parse_u32("x"), Err(ParseError::BadNumber));
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool("0"), Ok(false));
        assert_eq!(parse_bool("1"), Ok(true));
        for bad in ["", "2", "y", "n", "true", "01", " 1"] {
            assert_eq!(parse_bool(bad), Err(ParseError::BadNumber));
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("4KB"), Ok(4096));
        assert_eq!(parse_size("4kb"), Ok(4096));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("3TB"), Ok(3 << 40));
        assert_eq!(parse_size("0x10M"), Ok(16 << 20));
        assert_eq!(parse_size("0x1B"), Ok(27));
        assert_eq!(parse_size("16777215T"), Ok(16_777_215 << 40));
        for bad in [
            "",
            "K",
            "KB",
            "B",
            "1B",
            "1 K",
            "1KK",
            "1KBB",
            "1P",
            "16777216T",
            "0xK",
            "1é",
        ] {
            assert_eq!(parse_size(bad), Err(ParseError::BadNumber), "{bad:?}");
        }
    }
}
