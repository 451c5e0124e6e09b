// SPDX-License-Identifier: GPL-2.0
//! TransportIDs (SPC-4 7.6.4): how persistent reservations name an initiator port. A
//! session's own comes from its fabric's protocol and initiator name
//! ([`TransportId::of_initiator`]); PERSISTENT RESERVE OUT parameter lists carry others
//! ([`TransportId::parse`]); READ FULL STATUS reports them ([`TransportId::as_bytes`]).

use super::sense::Sense;
use super::wr::{get_be16, get_u8};

/// PROTOCOL IDENTIFIER values (SPC-4 7.6.1) of the fabrics rscst has or plans.
pub mod protocol {
    /// Fibre Channel (FCP-4).
    pub const FCP: u8 = 0x0;
    /// SCSI RDMA Protocol.
    pub const SRP: u8 = 0x4;
    /// iSCSI.
    pub const ISCSI: u8 = 0x5;
    /// Serial Attached SCSI; also what loopback fabrics (SCST's scst_local, rscst_local)
    /// report.
    pub const SAS: u8 = 0x6;
}

/// The longest TransportID kept: an iSCSI one of a 223-byte name, the ",i,0x" separator, a
/// 12-digit ISID and its NUL, padded to a multiple of four.
pub const MAX_LEN: usize = 248;
/// The length of the fixed-size TransportIDs (Fibre Channel, SRP, SAS).
pub const FIXED_LEN: usize = 24;
/// The shortest iSCSI TransportID (SPC-4: an ADDITIONAL LENGTH of at least 20).
const ISCSI_MIN_LEN: usize = 24;
/// What separates an iSCSI initiator port's name from its ISID (format 01b).
const ISID_SEPARATOR: &[u8] = b",i,0x";

/// One TransportID in the encoding SPC-4 gives it: `bytes[..len]`, zero beyond.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TransportId {
    len: u16,
    bytes: [u8; MAX_LEN],
}

impl core::fmt::Debug for TransportId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "TransportId(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl TransportId {
    /// An empty one (zero length), which matches nothing.
    pub const NONE: TransportId = TransportId {
        len: 0,
        bytes: [0; MAX_LEN],
    };

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// PROTOCOL IDENTIFIER.
    pub fn protocol(&self) -> u8 {
        get_u8(&self.bytes, 0) & 0x0F
    }

    fn fixed(protocol: u8, at: usize, id: &[u8]) -> TransportId {
        let mut t = TransportId::NONE;
        t.len = FIXED_LEN as u16;
        if let Some(b) = t.bytes.get_mut(0) {
            *b = protocol;
        }
        for (d, s) in t.bytes.iter_mut().skip(at).zip(id) {
            *d = *s;
        }
        t
    }

    /// The TransportID of an initiator port that a fabric of `protocol` names `name`:
    /// - iSCSI: the name as it is (format 01b when it carries ",i,0x" and an ISID, else
    ///   00b), NUL-terminated and padded to a multiple of four;
    /// - Fibre Channel: the N_Port name from its 16 hex digits (colons allowed);
    /// - SRP: the 16-byte initiator port identifier from its 32 hex digits (an optional
    ///   "0x" first);
    /// - SAS, and any name the rules above cannot read: an 8-byte SAS address derived from
    ///   the name (its first 8 bytes as 16 hex digits when they are, else a hash of it with
    ///   NAA 5 in the top nibble), which is what loopback sessions get.
    ///
    /// None for an empty name or an iSCSI name too long to encode.
    pub fn of_initiator(protocol: u8, name: &[u8]) -> Option<TransportId> {
        if name.is_empty() {
            return None;
        }
        match protocol {
            protocol::ISCSI => {
                // Name, NUL, padding: the whole a multiple of four bytes.
                let body = name.len().checked_add(1)?.checked_next_multiple_of(4)?;
                let len = body.checked_add(4)?.max(ISCSI_MIN_LEN);
                if len > MAX_LEN || name.contains(&0) {
                    return None;
                }
                let format = if find(name, ISID_SEPARATOR).is_some() {
                    0x40
                } else {
                    0
                };
                let mut t = TransportId::NONE;
                t.len = len as u16;
                let extra = u16::try_from(len.checked_sub(4)?).ok()?;
                for (d, s) in t.bytes.iter_mut().zip(
                    [format | protocol::ISCSI, 0]
                        .into_iter()
                        .chain(extra.to_be_bytes())
                        .chain(name.iter().copied()),
                ) {
                    *d = s;
                }
                Some(t)
            }
            protocol::FCP => {
                let mut id = [0u8; 8];
                Some(if hex_into(name, &mut id) {
                    TransportId::fixed(protocol::FCP, 8, &id)
                } else {
                    TransportId::fixed(protocol::SAS, 4, &sas_address(name))
                })
            }
            protocol::SRP => {
                let digits = name.strip_prefix(b"0x").unwrap_or(name);
                let mut id = [0u8; 16];
                Some(if hex_into(digits, &mut id) {
                    TransportId::fixed(protocol::SRP, 8, &id)
                } else {
                    TransportId::fixed(protocol::SAS, 4, &sas_address(name))
                })
            }
            _ => Some(TransportId::fixed(protocol::SAS, 4, &sas_address(name))),
        }
    }

    /// Reads the TransportID at the start of `buf` (a PERSISTENT RESERVE OUT parameter
    /// list's); returns it and its length. INVALID FIELD IN PARAMETER LIST for a protocol or
    /// format this target does not know, a malformed iSCSI name, or one that runs past `buf`.
    pub fn parse(buf: &[u8]) -> Result<(TransportId, usize), Sense> {
        let bad = Sense::INVALID_FIELD_IN_PARAMETER_LIST;
        let b0 = *buf.first().ok_or(bad)?;
        let (format, proto) = (b0 >> 6, b0 & 0x0F);
        let len = match proto {
            protocol::FCP | protocol::SRP | protocol::SAS if format == 0 => FIXED_LEN,
            protocol::ISCSI if format <= 1 => {
                let extra = usize::from(get_be16(buf, 2));
                let len = extra.checked_add(4).ok_or(bad)?;
                if len < ISCSI_MIN_LEN || len % 4 != 0 || len > MAX_LEN {
                    return Err(bad);
                }
                len
            }
            _ => return Err(bad),
        };
        let raw = buf.get(..len).ok_or(bad)?;
        let mut t = TransportId::NONE;
        t.len = len as u16;
        for (d, s) in t.bytes.iter_mut().zip(raw) {
            *d = *s;
        }
        if proto == protocol::ISCSI {
            // Reserved byte 1, then a NUL-terminated name; format 01b's holds an ISID.
            let name = t.iscsi_name();
            let has_isid = find(name, ISID_SEPARATOR).is_some();
            if get_u8(raw, 1) != 0
                || name.is_empty()
                || name.len() >= len.saturating_sub(4)
                || has_isid != (format == 1)
            {
                return Err(bad);
            }
            // Whatever follows the NUL is padding: keep it zero so that equal IDs compare
            // equal byte for byte.
            let end = name.len().saturating_add(4);
            for b in t.bytes.iter_mut().skip(end) {
                *b = 0;
            }
        } else if get_u8(raw, 1) != 0 {
            return Err(bad);
        }
        Ok((t, len))
    }

    /// Whether it names one initiator port: any but an iSCSI name without ISID (format 00b),
    /// which names every port of that initiator.
    pub fn is_one_port(&self) -> bool {
        self.len != 0 && !(self.protocol() == protocol::ISCSI && get_u8(&self.bytes, 0) >> 6 == 0)
    }

    /// The iSCSI name (with its ",i,0x" ISID when format 01b), up to its NUL.
    fn iscsi_name(&self) -> &[u8] {
        let body = self.as_bytes().get(4..).unwrap_or(&[]);
        let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
        body.get(..end).unwrap_or(&[])
    }

    /// Whether `self` names the initiator port `port` (a session's own TransportID): equal
    /// bytes, except that iSCSI names compare without regard to case and a format 00b
    /// iSCSI TransportID (a name without ISID: the initiator device) names every port of
    /// that name.
    pub fn names(&self, port: &TransportId) -> bool {
        if self.len == 0 || port.len == 0 || self.protocol() != port.protocol() {
            return false;
        }
        if self.protocol() != protocol::ISCSI {
            return self.as_bytes() == port.as_bytes();
        }
        let (a, b) = (self.iscsi_name(), port.iscsi_name());
        let device_of = |n: &'_ [u8]| -> usize { find(n, ISID_SEPARATOR).unwrap_or(n.len()) };
        let a_isid = find(a, ISID_SEPARATOR).is_some();
        if a_isid {
            a.eq_ignore_ascii_case(b)
        } else {
            a.eq_ignore_ascii_case(b.get(..device_of(b)).unwrap_or(b))
        }
    }
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Fills `out` from exactly `2 * out.len()` hex digits in `text`, colons ignored.
fn hex_into(text: &[u8], out: &mut [u8]) -> bool {
    let mut digits = text.iter().filter(|&&c| c != b':');
    for o in out.iter_mut() {
        let (Some(h), Some(l)) = (digits.next(), digits.next()) else {
            return false;
        };
        let (Some(h), Some(l)) = (hex(*h), hex(*l)) else {
            return false;
        };
        *o = (h << 4) | l;
    }
    digits.next().is_none()
}

fn hex(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The SAS address a loopback initiator of this name gets: its first 16 characters read as
/// hex digits when they are that, else an FNV-1a hash of the whole name under NAA 5 (so that
/// distinct session names give distinct, stable addresses).
fn sas_address(name: &[u8]) -> [u8; 8] {
    let mut id = [0u8; 8];
    if hex_into(name, &mut id) {
        return id;
    }
    let h = super::wr::fnv1a(super::wr::FNV_BASIS, name);
    ((h & 0x0FFF_FFFF_FFFF_FFFF) | 0x5000_0000_0000_0000).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iscsi_ids_are_padded_and_typed_by_their_isid() {
        let t = TransportId::of_initiator(protocol::ISCSI, b"iqn.a").unwrap();
        assert_eq!(
            t.as_bytes(),
            b"\x05\x00\x00\x14iqn.a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        );
        assert!(!t.is_one_port());
        let p =
            TransportId::of_initiator(protocol::ISCSI, b"iqn.2024-01.org.x:init,i,0x23d000000001")
                .unwrap();
        assert_eq!(p.as_bytes()[0], 0x45);
        assert_eq!(p.as_bytes().len() % 4, 0);
        let (q, n) = TransportId::parse(p.as_bytes()).unwrap();
        assert_eq!((q, n), (p, p.as_bytes().len()));
    }

    #[test]
    fn a_name_without_isid_names_every_port_of_that_initiator() {
        let port = TransportId::of_initiator(protocol::ISCSI, b"iqn.x:a,i,0x1").unwrap();
        let device = TransportId::of_initiator(protocol::ISCSI, b"IQN.X:A").unwrap();
        let other = TransportId::of_initiator(protocol::ISCSI, b"iqn.x:ab").unwrap();
        let other_port = TransportId::of_initiator(protocol::ISCSI, b"iqn.x:a,i,0x2").unwrap();
        assert!(device.names(&port));
        assert!(!other.names(&port));
        assert!(!other_port.names(&port));
        assert!(port.names(&port));
    }

    #[test]
    fn fixed_ids_carry_the_address_at_its_place() {
        let fc = TransportId::of_initiator(protocol::FCP, b"21:00:00:24:ff:31:4c:4e").unwrap();
        assert_eq!(
            &fc.as_bytes()[8..16],
            &[0x21, 0, 0, 0x24, 0xff, 0x31, 0x4c, 0x4e]
        );
        assert_eq!(fc.as_bytes().len(), 24);
        let srp = TransportId::of_initiator(protocol::SRP, b"0x0002c90300a0b8c10002c90300a0b8c2")
            .unwrap();
        assert_eq!(srp.as_bytes()[0], 4);
        assert_eq!(srp.as_bytes()[23], 0xc2);
        let a = TransportId::of_initiator(protocol::SAS, b"ini-a").unwrap();
        let b = TransportId::of_initiator(protocol::SAS, b"ini-b").unwrap();
        assert_eq!(a.as_bytes()[0], 6);
        assert_eq!(a.as_bytes()[4] >> 4, 5);
        assert!(a != b && !a.names(&b) && a.names(&a));
        let raw = TransportId::of_initiator(protocol::SAS, b"500140500000000a").unwrap();
        assert_eq!(
            &raw.as_bytes()[4..12],
            &[0x50, 0x01, 0x40, 0x50, 0, 0, 0, 0x0a]
        );
    }

    #[test]
    fn malformed_ids_are_refused() {
        let bad: Result<usize, Sense> = Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST);
        assert_eq!(TransportId::parse(&[]).map(|x| x.1), bad);
        assert_eq!(TransportId::parse(&[0x06; 23]).map(|x| x.1), bad);
        assert_eq!(TransportId::parse(&[0x03; 24]).map(|x| x.1), bad);
        assert_eq!(TransportId::parse(&[0x46; 24]).map(|x| x.1), bad);
        // iSCSI: a length not a multiple of four, too short, no NUL, an ISID in format 00b.
        let mut i = [0u8; 24];
        i[0] = 5;
        i[3] = 17;
        assert_eq!(TransportId::parse(&i).map(|x| x.1), bad);
        i[3] = 12;
        assert_eq!(TransportId::parse(&i).map(|x| x.1), bad);
        i[3] = 20;
        i[4..24].copy_from_slice(b"iqn.aaaaaaaaaaaaaaaa");
        assert_eq!(TransportId::parse(&i).map(|x| x.1), bad);
        i[4..24].copy_from_slice(b"iqn.a,i,0x1\0\0\0\0\0\0\0\0\0");
        assert_eq!(TransportId::parse(&i).map(|x| x.1), bad);
        i[0] = 0x45;
        assert_eq!(TransportId::parse(&i).map(|x| x.1), Ok(24));
    }
}
