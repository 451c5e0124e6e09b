// SPDX-License-Identifier: GPL-2.0
//! Lines and values written to SCST's ALUA files under `device_groups/`: the `mgmt` files
//! of device groups, their devices, target groups and a target group's targets, and the
//! `group_id`, `preferred` and remote `rel_tgt_id` attributes.
//!
//! As in SCST, the verbs of these `mgmt` files are case-insensitive, and a group is
//! created with `create` or `add` (scstadmin writes `add` for target groups).

use super::commands::{
    is_valid_device_name, is_valid_target_name, last_word, name, prepare, split_word, GroupCmd,
};
use super::error::ParseError;
use super::params::{parse_bool, parse_u32};

/// A line written to `devices/mgmt` or to a target group's `mgmt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberCmd<'a> {
    /// `add NAME`
    Add {
        /// The device or target.
        name: &'a str,
    },
    /// `del NAME`
    Del {
        /// The device or target.
        name: &'a str,
    },
}

/// Parses a line written to `device_groups/mgmt` or `device_groups/<dg>/target_groups/mgmt`.
pub fn parse_alua_group_cmd(line: &[u8]) -> Result<GroupCmd<'_>, ParseError> {
    let (verb, rest) = split_word(prepare(line)?);
    let group = || name(last_word(rest)?, is_valid_device_name);
    if verb.eq_ignore_ascii_case("create") || verb.eq_ignore_ascii_case("add") {
        Ok(GroupCmd::Create { name: group()? })
    } else if verb.eq_ignore_ascii_case("del") {
        Ok(GroupCmd::Del { name: group()? })
    } else {
        Err(ParseError::UnknownCommand)
    }
}

fn parse_member_cmd(line: &[u8], valid: fn(&str) -> bool) -> Result<MemberCmd<'_>, ParseError> {
    let (verb, rest) = split_word(prepare(line)?);
    let member = || name(last_word(rest)?, valid);
    if verb.eq_ignore_ascii_case("add") {
        Ok(MemberCmd::Add { name: member()? })
    } else if verb.eq_ignore_ascii_case("del") {
        Ok(MemberCmd::Del { name: member()? })
    } else {
        Err(ParseError::UnknownCommand)
    }
}

/// Parses a line written to `device_groups/<dg>/devices/mgmt`.
pub fn parse_dg_device_cmd(line: &[u8]) -> Result<MemberCmd<'_>, ParseError> {
    parse_member_cmd(line, is_valid_device_name)
}

/// Parses a line written to `device_groups/<dg>/target_groups/<tg>/mgmt`.
pub fn parse_tg_target_cmd(line: &[u8]) -> Result<MemberCmd<'_>, ParseError> {
    parse_member_cmd(line, is_valid_target_name)
}

/// An attribute value as written: one trailing newline dropped, and nothing else changed
/// (SCST compares `state` names exactly).
pub fn attr_value(input: &[u8]) -> Result<&str, ParseError> {
    let v = input.strip_suffix(b"\n").unwrap_or(input);
    core::str::from_utf8(v).map_err(|_| ParseError::NotUtf8)
}

/// Parses a `group_id` or remote `rel_tgt_id` value: 1 to 65535 (0 is refused, as in SCST).
pub fn parse_port_id(input: &[u8]) -> Result<u16, ParseError> {
    let v = parse_u32(attr_value(input)?.trim())?;
    match u16::try_from(v) {
        Ok(id) if id != 0 => Ok(id),
        _ => Err(ParseError::BadNumber),
    }
}

/// Parses a `preferred` value: `0` or `1`.
pub fn parse_preferred(input: &[u8]) -> Result<bool, ParseError> {
    parse_bool(attr_value(input)?.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_commands() {
        assert_eq!(
            parse_alua_group_cmd(b"create dg1\n"),
            Ok(GroupCmd::Create { name: "dg1" })
        );
        assert_eq!(
            parse_alua_group_cmd(b"add tg1"),
            Ok(GroupCmd::Create { name: "tg1" })
        );
        assert_eq!(
            parse_alua_group_cmd(b"CREATE dg1"),
            Ok(GroupCmd::Create { name: "dg1" })
        );
        assert_eq!(
            parse_alua_group_cmd(b"Del dg1"),
            Ok(GroupCmd::Del { name: "dg1" })
        );
        assert_eq!(
            parse_alua_group_cmd(b"remove dg1"),
            Err(ParseError::UnknownCommand)
        );
        assert_eq!(
            parse_alua_group_cmd(b"create"),
            Err(ParseError::MissingArgument)
        );
        assert_eq!(
            parse_alua_group_cmd(b"create a b"),
            Err(ParseError::TooManyArguments)
        );
        assert_eq!(
            parse_alua_group_cmd(b"create a/b"),
            Err(ParseError::BadName)
        );
        assert_eq!(parse_alua_group_cmd(b""), Err(ParseError::Empty));
    }

    #[test]
    fn member_commands() {
        assert_eq!(
            parse_dg_device_cmd(b"add disk01\n"),
            Ok(MemberCmd::Add { name: "disk01" })
        );
        assert_eq!(
            parse_dg_device_cmd(b"DEL disk01"),
            Ok(MemberCmd::Del { name: "disk01" })
        );
        assert_eq!(parse_dg_device_cmd(b"add a,b"), Err(ParseError::BadName));
        assert_eq!(
            parse_tg_target_cmd(b"add iqn.2024-01.local:tgt1,t,0x1"),
            Ok(MemberCmd::Add {
                name: "iqn.2024-01.local:tgt1,t,0x1"
            })
        );
        assert_eq!(
            parse_tg_target_cmd(b"create t1"),
            Err(ParseError::UnknownCommand)
        );
    }

    #[test]
    fn values() {
        assert_eq!(parse_port_id(b"7\n"), Ok(7));
        assert_eq!(parse_port_id(b"0x100"), Ok(256));
        assert_eq!(parse_port_id(b"65535"), Ok(65535));
        assert_eq!(parse_port_id(b"0"), Err(ParseError::BadNumber));
        assert_eq!(parse_port_id(b"65536"), Err(ParseError::BadNumber));
        assert_eq!(parse_port_id(b"-1"), Err(ParseError::BadNumber));
        assert_eq!(parse_port_id(b""), Err(ParseError::BadNumber));
        assert_eq!(parse_preferred(b"1\n"), Ok(true));
        assert_eq!(parse_preferred(b"0"), Ok(false));
        assert_eq!(parse_preferred(b"2"), Err(ParseError::BadNumber));
        assert_eq!(attr_value(b"standby\n"), Ok("standby"));
        assert_eq!(attr_value(b"standby\n\n"), Ok("standby\n"));
        assert_eq!(attr_value(b"\xff"), Err(ParseError::NotUtf8));
    }
}
