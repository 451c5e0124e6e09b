// SPDX-License-Identifier: GPL-2.0
//! The `H:C:I:L` names of SCSI devices that pass-through handlers attach
//! (`add_device 2:0:0:0`), as SCST names them.

use super::error::ParseError;

/// A SCSI device's address in the SCSI midlayer: host number, channel,
/// target id and LUN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hctl {
    /// SCSI host number (`/sys/class/scsi_host/hostN`).
    pub host: u32,
    /// Channel (bus) on that host.
    pub channel: u32,
    /// Target id.
    pub id: u32,
    /// Logical unit number.
    pub lun: u64,
}

/// Parses `H:C:I:L`: four decimal numbers, host, channel and id of at most
/// 32 bits, no sign, no blanks, no leading zeros (as the midlayer prints
/// them in `/sys/class/scsi_device`).
pub fn parse_hctl(name: &str) -> Result<Hctl, ParseError> {
    let mut parts = name.split(':');
    let mut next = || parts.next().ok_or(ParseError::BadNumber).and_then(decimal);
    let h = Hctl {
        host: u32::try_from(next()?).map_err(|_| ParseError::BadNumber)?,
        channel: u32::try_from(next()?).map_err(|_| ParseError::BadNumber)?,
        id: u32::try_from(next()?).map_err(|_| ParseError::BadNumber)?,
        lun: next()?,
    };
    if parts.next().is_some() {
        return Err(ParseError::BadNumber);
    }
    Ok(h)
}

/// A decimal number with no leading zero (but `0` itself).
fn decimal(s: &str) -> Result<u64, ParseError> {
    let b = s.as_bytes();
    if b.is_empty() || (b.len() > 1 && b[0] == b'0') || !b.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadNumber);
    }
    b.iter().try_fold(0u64, |v, &d| {
        v.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or(ParseError::BadNumber)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_decimal_numbers() {
        assert_eq!(
            parse_hctl("2:0:0:0"),
            Ok(Hctl {
                host: 2,
                channel: 0,
                id: 0,
                lun: 0
            })
        );
        assert_eq!(
            parse_hctl("4294967295:1:17:18446744073709551615"),
            Ok(Hctl {
                host: u32::MAX,
                channel: 1,
                id: 17,
                lun: u64::MAX
            })
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "2",
            "2:0:0",
            "2:0:0:0:0",
            "2:0:0:",
            ":0:0:0",
            "02:0:0:0",
            "2:0:0:00",
            "-2:0:0:0",
            "+2:0:0:0",
            " 2:0:0:0",
            "2:0:0:0 ",
            "0x2:0:0:0",
            "4294967296:0:0:0",
            "2:0:0:18446744073709551616",
            "disk1",
            "2::0:0",
        ] {
            assert_eq!(parse_hctl(bad), Err(ParseError::BadNumber), "{bad:?}");
        }
    }
}
