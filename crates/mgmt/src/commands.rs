// SPDX-License-Identifier: GPL-2.0
//! Parsers for the command lines written to SCST's sysfs `mgmt` files.
//!
//! Every parser takes the raw bytes given to `store()`, strips one trailing
//! `'\n'`, requires at most [`MAX_LINE`] bytes of UTF-8 without control
//! characters (tabs allowed), trims blanks, splits words on spaces and tabs and
//! returns a command that borrows from the input. Command words are
//! case-sensitive. Parameter lists are fully checked with [`Params::check`]
//! before a command is returned.

use super::error::{ParseError, MAX_LINE};
use super::params::{is_blank, parse_u64, trim_blanks, Params};

/// Longest device or group name in bytes.
pub const MAX_DEVICE_NAME: usize = 64;
/// Longest target name in bytes (an iSCSI name is at most 223 bytes).
pub const MAX_TARGET_NAME: usize = 223;
/// Longest initiator name or pattern in bytes.
pub const MAX_INITIATOR_NAME: usize = 223;

/// Command written to `handlers/<handler>/mgmt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandlerCmd<'a> {
    /// `add_device NAME [key=value; ...]`
    AddDevice {
        /// New device name.
        name: &'a str,
        /// Device parameters (may be empty), e.g. `filename=/x; blocksize=4096`.
        params: Params<'a>,
    },
    /// `del_device NAME`
    DelDevice {
        /// Device to delete.
        name: &'a str,
    },
}

/// Command written to `targets/<driver>/mgmt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriverCmd<'a> {
    /// `add_target NAME [key=value; ...]`
    AddTarget {
        /// New target name.
        name: &'a str,
        /// Target parameters (may be empty).
        params: Params<'a>,
    },
    /// `del_target NAME`
    DelTarget {
        /// Target to delete.
        name: &'a str,
    },
    /// Any other command, left for the target driver to interpret.
    Other {
        /// The command word: 1 or more of `[a-z0-9_]`.
        verb: &'a str,
        /// The rest of the line, trimmed (may be empty).
        args: &'a str,
    },
}

/// Command written to `targets/<driver>/<target>/luns/mgmt` or
/// `targets/<driver>/<target>/ini_groups/<group>/luns/mgmt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LunCmd<'a> {
    /// `add DEVICE LUN [key=value; ...]`
    Add {
        /// Device to export.
        device: &'a str,
        /// LUN number (range is for the caller to enforce).
        lun: u64,
        /// LUN parameters (may be empty), e.g. `read_only=1`.
        params: Params<'a>,
    },
    /// `del LUN`
    Del {
        /// LUN to remove.
        lun: u64,
    },
    /// `replace DEVICE LUN [key=value; ...]`
    Replace {
        /// Device to export instead.
        device: &'a str,
        /// LUN number.
        lun: u64,
        /// LUN parameters (may be empty).
        params: Params<'a>,
    },
    /// `clear`: remove every LUN.
    Clear,
}

/// Command written to `targets/<driver>/<target>/ini_groups/mgmt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupCmd<'a> {
    /// `create NAME`
    Create {
        /// New group name.
        name: &'a str,
    },
    /// `del NAME`
    Del {
        /// Group to delete.
        name: &'a str,
    },
}

/// Command written to `.../ini_groups/<group>/initiators/mgmt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitiatorCmd<'a> {
    /// `add NAME`: NAME may be a wildcard pattern.
    Add {
        /// Initiator name or pattern.
        name: &'a str,
    },
    /// `del NAME`
    Del {
        /// Initiator name or pattern.
        name: &'a str,
    },
    /// `move NAME GROUP`: move NAME to another group of the same target.
    Move {
        /// Initiator name or pattern.
        name: &'a str,
        /// Destination group name.
        group: &'a str,
    },
    /// `clear`: remove every initiator of the group.
    Clear,
}

/// Device or group name: 1..=64 bytes of `[A-Za-z0-9_.:-]`, not `.` or `..`.
pub fn is_valid_device_name(name: &str) -> bool {
    is_valid_name(name, MAX_DEVICE_NAME, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-')
    })
}

/// Target name: 1..=223 bytes of `[A-Za-z0-9_.:,-]`, not `.` or `..`.
pub fn is_valid_target_name(name: &str) -> bool {
    is_valid_name(name, MAX_TARGET_NAME, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b',' | b'-')
    })
}

/// Initiator name or pattern: 1..=223 bytes of printable, non-space ASCII
/// (`'!'..='~'`, so wildcards `*`, `?` and a leading `!` are allowed).
pub fn is_valid_initiator_name(name: &str) -> bool {
    (1..=MAX_INITIATOR_NAME).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_graphic())
}

fn is_valid_name(name: &str, max: usize, ok: impl Fn(u8) -> bool) -> bool {
    (1..=max).contains(&name.len()) && name != "." && name != ".." && name.bytes().all(ok)
}

/// Checks and trims a raw `store()` buffer; the result is non-empty.
pub(crate) fn prepare(line: &[u8]) -> Result<&str, ParseError> {
    let line = match line {
        [body @ .., b'\n'] => body,
        _ => line,
    };
    if line.len() > MAX_LINE {
        return Err(ParseError::TooLong);
    }
    let line = core::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ParseError::NotUtf8);
    }
    let line = trim_blanks(line);
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    Ok(line)
}

/// Splits off the first word; the rest has leading blanks removed.
pub(crate) fn split_word(s: &str) -> (&str, &str) {
    match s.split_once(is_blank) {
        Some((word, rest)) => (word, rest.trim_start_matches(is_blank)),
        None => (s, ""),
    }
}

/// Takes the next word, which must exist.
fn take_word(s: &str) -> Result<(&str, &str), ParseError> {
    let (word, rest) = split_word(s);
    if word.is_empty() {
        Err(ParseError::MissingArgument)
    } else {
        Ok((word, rest))
    }
}

/// Takes the last word: it must exist and be followed by nothing.
pub(crate) fn last_word(s: &str) -> Result<&str, ParseError> {
    let (word, rest) = take_word(s)?;
    if rest.is_empty() {
        Ok(word)
    } else {
        Err(ParseError::TooManyArguments)
    }
}

fn no_more(s: &str) -> Result<(), ParseError> {
    if s.is_empty() {
        Ok(())
    } else {
        Err(ParseError::TooManyArguments)
    }
}

pub(crate) fn name(word: &str, valid: fn(&str) -> bool) -> Result<&str, ParseError> {
    if valid(word) {
        Ok(word)
    } else {
        Err(ParseError::BadName)
    }
}

fn params(s: &str) -> Result<Params<'_>, ParseError> {
    let p = Params::new(s);
    p.check()?;
    Ok(p)
}

/// Parses a line written to `handlers/<handler>/mgmt`.
pub fn parse_handler_cmd(line: &[u8]) -> Result<HandlerCmd<'_>, ParseError> {
    let (verb, rest) = split_word(prepare(line)?);
    match verb {
        "add_device" => {
            let (word, rest) = take_word(rest)?;
            Ok(HandlerCmd::AddDevice {
                name: name(word, is_valid_device_name)?,
                params: params(rest)?,
            })
        }
        "del_device" => Ok(HandlerCmd::DelDevice {
            name: name(last_word(rest)?, is_valid_device_name)?,
        }),
        _ => Err(ParseError::UnknownCommand),
    }
}

/// Parses a line written to `targets/<driver>/mgmt`.
///
/// Commands other than `add_target`/`del_target` are returned as
/// [`DriverCmd::Other`] when their first word is made of `[a-z0-9_]`.
pub fn parse_driver_cmd(line: &[u8]) -> Result<DriverCmd<'_>, ParseError> {
    let (verb, rest) = split_word(prepare(line)?);
    match verb {
        "add_target" => {
            let (word, rest) = take_word(rest)?;
            Ok(DriverCmd::AddTarget {
                name: name(word, is_valid_target_name)?,
                params: params(rest)?,
            })
        }
        "del_target" => Ok(DriverCmd::DelTarget {
            name: name(last_word(rest)?, is_valid_target_name)?,
        }),
        _ if verb
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
        {
            Ok(DriverCmd::Other { verb, args: rest })
        }
        _ => Err(ParseError::UnknownCommand),
    }
}

fn lun(word: &str) -> Result<u64, ParseError> {
    parse_u64(word)
}

/// Parses a line written to a `luns/mgmt` file.
pub fn parse_lun_cmd(line: &[u8]) -> Result<LunCmd<'_>, ParseError> {
    let (verb, rest) = split_word(prepare(line)?);
    match verb {
        "add" | "replace" => {
            let (device, rest) = take_word(rest)?;
            let device = name(device, is_valid_device_name)?;
            let (number, rest) = take_word(rest)?;
            let lun = lun(number)?;
            let params = params(rest)?;
            Ok(if verb == "add" {
                LunCmd::Add {
                    device,
                    lun,
                    params,
                }
            } else {
                LunCmd::Replace {
                    device,
                    lun,
                    params,
                }
            })
        }
        "del" => Ok(LunCmd::Del {
            lun: lun(last_word(rest)?)?,
        }),
        "clear" => no_more(rest).map(|()| LunCmd::Clear),
        _ => Err(ParseError::UnknownCommand),
    }
}

/// Parses a line written to an `ini_groups/mgmt` file.
pub fn parse_group_cmd(line: &[u8]) -> Result<GroupCmd<'_>, ParseError> {
    let (verb, rest) = split_word(prepare(line)?);
    match verb {
        "create" => Ok(GroupCmd::Create {
            name: name(last_word(rest)?, is_valid_device_name)?,
        }),
        "del" => Ok(GroupCmd::Del {
            name: name(last_word(rest)?, is_valid_device_name)?,
        }),
        _ => Err(ParseError::UnknownCommand),
    }
}

/// Parses a line written to an `initiators/mgmt` file.
pub fn parse_initiator_cmd(line: &[u8]) -> Result<InitiatorCmd<'_>, ParseError> {
    let (verb, rest) = split_word(prepare(line)?);
    match verb {
        "add" => Ok(InitiatorCmd::Add {
            name: name(last_word(rest)?, is_valid_initiator_name)?,
        }),
        "del" => Ok(InitiatorCmd::Del {
            name: name(last_word(rest)?, is_valid_initiator_name)?,
        }),
        "move" => {
            let (ini, rest) = take_word(rest)?;
            let ini = name(ini, is_valid_initiator_name)?;
            Ok(InitiatorCmd::Move {
                name: ini,
                group: name(last_word(rest)?, is_valid_device_name)?,
            })
        }
        "clear" => no_more(rest).map(|()| InitiatorCmd::Clear),
        _ => Err(ParseError::UnknownCommand),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Params<'_> {
        Params::new(s)
    }

    #[test]
    fn add_device_with_params() {
        let cmd = parse_handler_cmd(b"add_device disk1 filename=/disk1; blocksize=4096\n");
        assert_eq!(
            cmd,
            Ok(HandlerCmd::AddDevice {
                name: "disk1",
                params: p("filename=/disk1; blocksize=4096"),
            })
        );
        if let Ok(HandlerCmd::AddDevice { params, .. }) = cmd {
            assert_eq!(params.get("filename"), Ok(Some("/disk1")));
            assert_eq!(params.get("blocksize"), Ok(Some("4096")));
        } else {
            panic!("not AddDevice");
        }
    }

    #[test]
    fn add_device_without_params_and_blanks() {
        assert_eq!(
            parse_handler_cmd(b" \tadd_device\t 1:0:0:0 \t"),
            Ok(HandlerCmd::AddDevice {
                name: "1:0:0:0",
                params: p(""),
            })
        );
    }

    #[test]
    fn del_device() {
        assert_eq!(
            parse_handler_cmd(b"del_device disk1\n"),
            Ok(HandlerCmd::DelDevice { name: "disk1" })
        );
    }

    #[test]
    fn handler_errors() {
        let e = |s: &[u8]| parse_handler_cmd(s).err();
        assert_eq!(e(b""), Some(ParseError::Empty));
        assert_eq!(e(b"\n"), Some(ParseError::Empty));
        assert_eq!(e(b" \t \n"), Some(ParseError::Empty));
        assert_eq!(e(b"add_device \xff"), Some(ParseError::NotUtf8));
        assert_eq!(e(b"add_device d\r\n"), Some(ParseError::NotUtf8));
        assert_eq!(e(b"add_device d\0"), Some(ParseError::NotUtf8));
        assert_eq!(e(b"add_device d\n\n"), Some(ParseError::NotUtf8));
        assert_eq!(e(b"add_device d\x7f"), Some(ParseError::NotUtf8));
        assert_eq!(
            e("add_device d\u{85}".as_bytes()),
            Some(ParseError::NotUtf8)
        );
        assert_eq!(e(b"ADD_DEVICE disk1"), Some(ParseError::UnknownCommand));
        assert_eq!(e(b"add_target disk1"), Some(ParseError::UnknownCommand));
        assert_eq!(e(b"add_device"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"add_device  \n"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"del_device"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"del_device a b"), Some(ParseError::TooManyArguments));
        assert_eq!(e(b"add_device bad/name"), Some(ParseError::BadName));
        assert_eq!(e("add_device dïsk".as_bytes()), Some(ParseError::BadName));
        assert_eq!(e(b"add_device .."), Some(ParseError::BadName));
        assert_eq!(e(b"del_device ."), Some(ParseError::BadName));
        assert_eq!(e(b"add_device d filename"), Some(ParseError::BadParam));
        assert_eq!(e(b"add_device d =1"), Some(ParseError::BadParam));
        assert_eq!(e(b"add_device d a=1; a=2"), Some(ParseError::BadParam));
    }

    #[test]
    fn too_long() {
        let mut buf = [b' '; MAX_LINE + 2];
        buf[..13].copy_from_slice(b"del_device d ");
        // Exactly MAX_LINE bytes plus a newline is accepted.
        buf[MAX_LINE] = b'\n';
        assert_eq!(
            parse_handler_cmd(&buf[..=MAX_LINE]),
            Ok(HandlerCmd::DelDevice { name: "d" })
        );
        assert_eq!(
            parse_handler_cmd(&buf[..MAX_LINE]),
            Ok(HandlerCmd::DelDevice { name: "d" })
        );
        buf[MAX_LINE] = b' ';
        assert_eq!(
            parse_handler_cmd(&buf[..=MAX_LINE]),
            Err(ParseError::TooLong)
        );
        buf[MAX_LINE + 1] = b'\n';
        assert_eq!(parse_handler_cmd(&buf), Err(ParseError::TooLong));
        assert_eq!(parse_lun_cmd(&buf), Err(ParseError::TooLong));
        assert_eq!(parse_driver_cmd(&buf), Err(ParseError::TooLong));
        assert_eq!(parse_group_cmd(&buf), Err(ParseError::TooLong));
        assert_eq!(parse_initiator_cmd(&buf), Err(ParseError::TooLong));
    }

    #[test]
    fn add_target() {
        assert_eq!(
            parse_driver_cmd(b"add_target iqn.2026-11.org.example:t1\n"),
            Ok(DriverCmd::AddTarget {
                name: "iqn.2026-11.org.example:t1",
                params: p(""),
            })
        );
        assert_eq!(
            parse_driver_cmd(b"add_target 21:00:00:24:ff:00:00:01 node_name=x; a,b=1"),
            Ok(DriverCmd::AddTarget {
                name: "21:00:00:24:ff:00:00:01",
                params: p("node_name=x; a,b=1"),
            })
        );
        assert_eq!(
            parse_driver_cmd(b"add_target a,b"),
            Ok(DriverCmd::AddTarget {
                name: "a,b",
                params: p(""),
            })
        );
    }

    #[test]
    fn del_target_and_other() {
        assert_eq!(
            parse_driver_cmd(b"del_target iqn.2026-11.org.example:t1"),
            Ok(DriverCmd::DelTarget {
                name: "iqn.2026-11.org.example:t1"
            })
        );
        assert_eq!(
            parse_driver_cmd(b"add_attribute IncomingUser  joe  secret \n"),
            Ok(DriverCmd::Other {
                verb: "add_attribute",
                args: "IncomingUser  joe  secret",
            })
        );
        assert_eq!(
            parse_driver_cmd(b"enable2"),
            Ok(DriverCmd::Other {
                verb: "enable2",
                args: "",
            })
        );
    }

    #[test]
    fn driver_errors() {
        let e = |s: &[u8]| parse_driver_cmd(s).err();
        let long = [b'a'; MAX_TARGET_NAME + 1];
        let mut line = [b' '; 11 + MAX_TARGET_NAME + 1];
        line[..11].copy_from_slice(b"add_target ");
        line[11..11 + MAX_TARGET_NAME].copy_from_slice(&long[..MAX_TARGET_NAME]);
        assert!(parse_driver_cmd(&line).is_ok());
        line[11..].copy_from_slice(&long);
        assert_eq!(e(&line), Some(ParseError::BadName));
        assert_eq!(e(b""), Some(ParseError::Empty));
        assert_eq!(e(b"add_target \xc3"), Some(ParseError::NotUtf8));
        assert_eq!(e(b"Add_Target x"), Some(ParseError::UnknownCommand));
        assert_eq!(e(b"add-target x"), Some(ParseError::UnknownCommand));
        assert_eq!(e(b"add_target"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"del_target"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"del_target a b"), Some(ParseError::TooManyArguments));
        assert_eq!(e(b"add_target a/b"), Some(ParseError::BadName));
        assert_eq!(e(b"del_target a*"), Some(ParseError::BadName));
        assert_eq!(e(b"add_target t x"), Some(ParseError::BadParam));
    }

    #[test]
    fn lun_add() {
        assert_eq!(
            parse_lun_cmd(b"add disk1 0\n"),
            Ok(LunCmd::Add {
                device: "disk1",
                lun: 0,
                params: p(""),
            })
        );
        let cmd = parse_lun_cmd(b"add disk1 5 read_only=1");
        assert_eq!(
            cmd,
            Ok(LunCmd::Add {
                device: "disk1",
                lun: 5,
                params: p("read_only=1"),
            })
        );
        if let Ok(LunCmd::Add { params, .. }) = cmd {
            assert_eq!(params.get("read_only"), Ok(Some("1")));
            assert_eq!(params.validate(&["read_only"]), Ok(()));
        }
        assert_eq!(
            parse_lun_cmd(b"add 1:0:0:0 0x10"),
            Ok(LunCmd::Add {
                device: "1:0:0:0",
                lun: 16,
                params: p(""),
            })
        );
    }

    #[test]
    fn lun_del_replace_clear() {
        assert_eq!(parse_lun_cmd(b"del 5"), Ok(LunCmd::Del { lun: 5 }));
        assert_eq!(
            parse_lun_cmd(b"replace disk2 5 read_only=0 \n"),
            Ok(LunCmd::Replace {
                device: "disk2",
                lun: 5,
                params: p("read_only=0"),
            })
        );
        assert_eq!(parse_lun_cmd(b"clear"), Ok(LunCmd::Clear));
        assert_eq!(parse_lun_cmd(b"  clear \n"), Ok(LunCmd::Clear));
    }

    #[test]
    fn lun_errors() {
        let e = |s: &[u8]| parse_lun_cmd(s).err();
        assert_eq!(e(b"\t\n"), Some(ParseError::Empty));
        assert_eq!(e(b"add d\x01 0"), Some(ParseError::NotUtf8));
        assert_eq!(e(b"create grp"), Some(ParseError::UnknownCommand));
        assert_eq!(e(b"add"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"add disk1"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"replace disk1"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"del"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"del 5 6"), Some(ParseError::TooManyArguments));
        assert_eq!(e(b"clear now"), Some(ParseError::TooManyArguments));
        assert_eq!(e(b"add d/1 0"), Some(ParseError::BadName));
        assert_eq!(e(b"add disk1 5 read_only"), Some(ParseError::BadParam));
        assert_eq!(e(b"add disk1 x"), Some(ParseError::BadNumber));
        assert_eq!(e(b"add disk1 -1"), Some(ParseError::BadNumber));
        assert_eq!(e(b"del 99999999999999999999"), Some(ParseError::BadNumber));
        assert_eq!(e(b"del 010"), Some(ParseError::BadNumber));
    }

    #[test]
    fn groups() {
        assert_eq!(
            parse_group_cmd(b"create grp1\n"),
            Ok(GroupCmd::Create { name: "grp1" })
        );
        assert_eq!(
            parse_group_cmd(b"del grp1"),
            Ok(GroupCmd::Del { name: "grp1" })
        );
        let e = |s: &[u8]| parse_group_cmd(s).err();
        assert_eq!(e(b""), Some(ParseError::Empty));
        assert_eq!(e(b"create \xe2\x82"), Some(ParseError::NotUtf8));
        assert_eq!(e(b"add grp1"), Some(ParseError::UnknownCommand));
        assert_eq!(e(b"create"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"del"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"create a b"), Some(ParseError::TooManyArguments));
        assert_eq!(e(b"create g*"), Some(ParseError::BadName));
        let name = [b'g'; MAX_DEVICE_NAME + 1];
        let mut line = [b'x'; 7 + MAX_DEVICE_NAME + 1];
        line[..7].copy_from_slice(b"create ");
        line[7..].copy_from_slice(&name);
        assert_eq!(e(&line), Some(ParseError::BadName));
        assert!(parse_group_cmd(&line[..line.len() - 1]).is_ok());
    }

    #[test]
    fn initiators() {
        assert_eq!(
            parse_initiator_cmd(b"add iqn.1994-05.com.redhat:*\n"),
            Ok(InitiatorCmd::Add {
                name: "iqn.1994-05.com.redhat:*"
            })
        );
        assert_eq!(
            parse_initiator_cmd(b"add !iqn.1994-05.com.[x]?/@,"),
            Ok(InitiatorCmd::Add {
                name: "!iqn.1994-05.com.[x]?/@,"
            })
        );
        assert_eq!(
            parse_initiator_cmd(b"del 21:00:00:24:ff:00:00:02"),
            Ok(InitiatorCmd::Del {
                name: "21:00:00:24:ff:00:00:02"
            })
        );
        assert_eq!(
            parse_initiator_cmd(b"move iqn.x:h1 grp2"),
            Ok(InitiatorCmd::Move {
                name: "iqn.x:h1",
                group: "grp2"
            })
        );
        assert_eq!(parse_initiator_cmd(b"clear\n"), Ok(InitiatorCmd::Clear));
    }

    #[test]
    fn initiator_errors() {
        let e = |s: &[u8]| parse_initiator_cmd(s).err();
        assert_eq!(e(b" "), Some(ParseError::Empty));
        assert_eq!(e(b"add \x1b[0m"), Some(ParseError::NotUtf8));
        assert_eq!(e(b"remove x"), Some(ParseError::UnknownCommand));
        assert_eq!(e(b"add"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"del"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"move x"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"move"), Some(ParseError::MissingArgument));
        assert_eq!(e(b"add a b"), Some(ParseError::TooManyArguments));
        assert_eq!(e(b"move a g1 g2"), Some(ParseError::TooManyArguments));
        assert_eq!(e(b"clear x"), Some(ParseError::TooManyArguments));
        assert_eq!(e("add ïnit".as_bytes()), Some(ParseError::BadName));
        assert_eq!(e(b"move a g*"), Some(ParseError::BadName));
        let mut line = [b'i'; 4 + MAX_INITIATOR_NAME + 1];
        line[..4].copy_from_slice(b"add ");
        assert_eq!(e(&line), Some(ParseError::BadName));
        assert!(parse_initiator_cmd(&line[..line.len() - 1]).is_ok());
    }

    #[test]
    fn name_rules() {
        assert!(is_valid_device_name("disk_1.a:b-c"));
        assert!(!is_valid_device_name(""));
        assert!(!is_valid_device_name("a,b"));
        assert!(!is_valid_device_name("a b"));
        assert!(is_valid_device_name("..."));
        assert!(is_valid_target_name("iqn.2026-11.org.example:t1,x"));
        assert!(!is_valid_target_name(""));
        assert!(!is_valid_target_name(".."));
        assert!(!is_valid_target_name("t*"));
        assert!(is_valid_initiator_name("!*?[]@/,~"));
        assert!(!is_valid_initiator_name(""));
        assert!(!is_valid_initiator_name("a b"));
        assert!(!is_valid_initiator_name("a\tb"));
    }
}
