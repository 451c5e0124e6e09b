// SPDX-License-Identifier: GPL-2.0
//! Matching of session initiator names against SCST initiator patterns.

use core::str::Chars;

/// Returns whether initiator `name` matches `pattern`.
///
/// `*` matches any run of characters (including none) and `?` exactly one
/// character; everything else matches itself, case-sensitively. A pattern
/// starting with `!` matches exactly the names its remainder does not match
/// (`"!"` alone therefore matches every non-empty name). The empty pattern
/// matches only the empty name.
///
/// Runs without recursion or allocation, in at most
/// `O(pattern.len() * name.len())` steps (linear for typical patterns).
pub fn initiator_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix('!') {
        Some(inner) => !glob(inner, name),
        None => glob(pattern, name),
    }
}

/// Shell-style `*`/`?` matching with a single backtrack point: on mismatch
/// only the most recent `*` needs to absorb one more character.
fn glob(pattern: &str, name: &str) -> bool {
    let mut p = pattern.chars();
    let mut n = name.chars();
    // Pattern just after the last `*` seen, and the name position it resumes at.
    let mut star: Option<(Chars<'_>, Chars<'_>)> = None;
    loop {
        let mut next_n = n.clone();
        let matched = match p.clone().next() {
            Some('*') => {
                p.next();
                star = Some((p.clone(), n.clone()));
                continue;
            }
            Some(pc) => match next_n.next() {
                Some(nc) => pc == '?' || pc == nc,
                None => false,
            },
            None => {
                if n.as_str().is_empty() {
                    return true;
                }
                false
            }
        };
        if matched {
            p.next();
            n = next_n;
            continue;
        }
        match &mut star {
            Some((star_p, star_n)) => {
                if star_n.next().is_none() {
                    return false;
                }
                p = star_p.clone();
                n = star_n.clone();
            }
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::initiator_matches as m;

    #[test]
    fn literals() {
        assert!(m(
            "iqn.1994-05.com.redhat:abc",
            "iqn.1994-05.com.redhat:abc"
        ));
        assert!(!m(
            "iqn.1994-05.com.redhat:abc",
            "iqn.1994-05.com.redhat:abd"
        ));
        assert!(!m("abc", "ABC"));
        assert!(!m("abc", "abcd"));
        assert!(!m("abcd", "abc"));
    }

    #[test]
    fn star() {
        assert!(m("*", ""));
        assert!(m("*", "anything at all"));
        assert!(m("**", "x"));
        assert!(m(
            "iqn.1994-05.com.redhat:*",
            "iqn.1994-05.com.redhat:host1"
        ));
        assert!(m("iqn.1994-05.com.redhat:*", "iqn.1994-05.com.redhat:"));
        assert!(!m("iqn.1994-05.com.redhat:*", "iqn.1994-05.com.suse:host1"));
        assert!(m("*:host1", "iqn.x:host1"));
        assert!(!m("*:host1", "iqn.x:host2"));
    }

    #[test]
    fn question_mark() {
        assert!(m("?", "a"));
        assert!(!m("?", ""));
        assert!(!m("?", "ab"));
        assert!(m("h?st", "host"));
        assert!(m("??", "é1"), "? matches one character, not one byte");
        assert!(m("a?*", "ab"));
        assert!(!m("a?*", "a"));
    }

    #[test]
    fn several_stars() {
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(m("a*b*c", "abbbcbc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(!m("a*b*c", "bac"));
        assert!(m("*a*a*", "banana"));
        assert!(!m("*x*", "banana"));
    }

    #[test]
    fn negation() {
        assert!(!m("!iqn.*", "iqn.host"));
        assert!(m("!iqn.*", "eui.1234"));
        assert!(m("!", "x"));
        assert!(!m("!", ""));
        assert!(m("!!x", "x"), "only one leading ! negates");
        assert!(!m("!!x", "!x"));
        assert!(m("a!", "a!"));
    }

    #[test]
    fn empty() {
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("a", ""));
        assert!(m("*", ""));
        assert!(m("!a", ""));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let mut buf = [b'a'; 20_000];
        let name = core::str::from_utf8(&buf).unwrap_or_default();
        let start = std::time::Instant::now();
        assert!(!m("*a*a*a*a*b", name));
        assert!(!m("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", name));
        assert!(m("*a*a*a*a*a", name));
        assert!(!m("*?*?*?*?*?*?*?*?*?*?*b", name));
        if let Some(last) = buf.last_mut() {
            *last = b'b';
        }
        let name = core::str::from_utf8(&buf).unwrap_or_default();
        assert!(m("*a*a*a*a*b", name));
        assert!(m("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", name));
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "took {:?}",
            start.elapsed()
        );
    }
}
