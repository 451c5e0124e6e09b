// SPDX-License-Identifier: GPL-2.0
//! The fuzz target bodies: one function per parser of untrusted bytes, shared by the
//! libFuzzer binaries and the stable driver.

use scsi::sense::{Sense, SENSE_LEN};

/// A fuzz target: its name (also the name of its binary and of its corpus directory), its
/// body and mutation tokens that help the blind stable driver reach deeper states.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Name of the target, its `fuzz_targets/<name>.rs` file and `corpus/<name>/` directory.
    pub name: &'static str,
    /// The target body; panics when an invariant is violated.
    pub run: fn(&[u8]),
    /// Byte strings the mutator may insert or overwrite with.
    pub dict: &'static [&'static [u8]],
    /// Whether inputs are mostly text (the mutator then favours printable ASCII).
    pub text: bool,
}

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "scsi_cdb",
        run: scsi_cdb,
        dict: SCSI_DICT,
        text: false,
    },
    Target {
        name: "mgmt_line",
        run: mgmt_line,
        dict: MGMT_DICT,
        text: true,
    },
    Target {
        name: "scsi_sense_parse",
        run: scsi_sense_parse,
        dict: SENSE_DICT,
        text: false,
    },
    Target {
        name: "scsi_mode_select",
        run: scsi_mode_select,
        dict: MODE_SELECT_DICT,
        text: false,
    },
    Target {
        name: "scsi_unmap",
        run: scsi_unmap,
        dict: UNMAP_DICT,
        text: false,
    },
    Target {
        name: "scsi_xcopy",
        run: scsi_xcopy,
        dict: XCOPY_DICT,
        text: false,
    },
    Target {
        name: "scsi_stpg",
        run: scsi_stpg,
        dict: STPG_DICT,
        text: false,
    },
    Target {
        name: "scsi_write_same",
        run: scsi_write_same,
        dict: WRITE_SAME_DICT,
        text: false,
    },
    Target {
        name: "scsi_pr_out",
        run: scsi_pr_out,
        dict: PR_OUT_DICT,
        text: false,
    },
    Target {
        name: "scsi_pr_file",
        run: scsi_pr_file,
        dict: PR_FILE_DICT,
        text: true,
    },
    Target {
        name: "scsi_mode_file",
        run: scsi_mode_file,
        dict: MODE_FILE_DICT,
        text: true,
    },
];

/// Looks a target up by name.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// CDB decoding and disk emulation over device parameters derived from the input (layout:
/// see `scsi::fuzz::fuzz_params`: a 12-byte header, then the CDB, then string material).
///
/// `scsi::fuzz::fuzz_one` asserts its invariants only under `cfg(fuzzing)` (set by
/// `cargo fuzz`), so the result of `fuzz_check` is asserted here as well for the stable
/// driver.
pub fn scsi_cdb(data: &[u8]) {
    assert!(scsi::fuzz::fuzz_check(data), "scsi fuzz invariant violated");
    scsi::fuzz::fuzz_one(data);
}

/// MODE SELECT parameter list validation (layout: see `scsi::fuzz::fuzz_mode_select`: a
/// device byte, a byte whose bit 7 picks MODE SELECT(10), then the list).
pub fn scsi_mode_select(data: &[u8]) {
    assert!(
        scsi::fuzz::fuzz_mode_select(data),
        "MODE SELECT invariant violated"
    );
}

/// UNMAP parameter list validation (layout: see `scsi::fuzz::fuzz_unmap`: the device's
/// capacity, the CDB's parameter list length, then the list).
pub fn scsi_unmap(data: &[u8]) {
    assert!(scsi::fuzz::fuzz_unmap(data), "UNMAP invariant violated");
}

/// WRITE SAME with its data-out buffer (layout: see `scsi::fuzz::fuzz_write_same`: the
/// device, a WRITE SAME CDB, then the data received).
pub fn scsi_write_same(data: &[u8]) {
    assert!(
        scsi::fuzz::fuzz_write_same(data),
        "WRITE SAME invariant violated"
    );
}

/// EXTENDED COPY (LID1) parameter list validation (layout: see `scsi::fuzz::fuzz_xcopy`:
/// the CDB's PARAMETER LIST LENGTH in four bytes, then the list).
pub fn scsi_xcopy(data: &[u8]) {
    assert!(
        scsi::fuzz::fuzz_xcopy(data),
        "EXTENDED COPY invariant violated"
    );
}

/// SET TARGET PORT GROUPS parameter list validation (the whole input is the list; see
/// `scsi::fuzz::fuzz_stpg`).
pub fn scsi_stpg(data: &[u8]) {
    assert!(
        scsi::fuzz::fuzz_stpg(data),
        "SET TARGET PORT GROUPS invariant violated"
    );
}

/// Sequences of PERSISTENT RESERVE OUT commands from four nexuses (layout: see
/// `scsi::fuzz::fuzz_pr_out`: per command a nexus byte, a 10-byte CDB, a length byte, the
/// list).
pub fn scsi_pr_out(data: &[u8]) {
    assert!(
        scsi::fuzz::fuzz_pr_out(data),
        "PERSISTENT RESERVE OUT invariant violated"
    );
}

/// Persistent reservation files (layout: `scsi::pr_file`): read, and if accepted written
/// and read again (see `scsi::fuzz::fuzz_pr_file`).
pub fn scsi_pr_file(data: &[u8]) {
    assert!(
        scsi::fuzz::fuzz_pr_file(data),
        "persistent reservation file invariant violated"
    );
}

/// Saved mode parameter files (layout: `scsi::mode_file`): read, and if accepted written
/// and read again (see `scsi::fuzz::fuzz_mode_file`).
pub fn scsi_mode_file(data: &[u8]) {
    assert!(
        scsi::fuzz::fuzz_mode_file(data),
        "saved mode parameters file invariant violated"
    );
}

const MODE_FILE_DICT: &[&[u8]] = &[
    b"d\n",
    b"TAS=",
    b"QERR=",
    b"D_SENSE=",
    b"QUEUE_ALG=",
    b"WRITE_THROUGH=",
    b"TMF_ONLY=",
    b"SWP=",
    b"DPICZ=",
    b"0x",
    b";",
];

/// The file's keywords and a SAS TransportID.
const PR_FILE_DICT: &[&[u8]] = &[
    b"rscst persistent reservations 1\n",
    b"generation ",
    b"aptpl 1\n",
    b"reservation ",
    b"registration 000000000000000a 1 0 1 ",
    b"060000005b9a0a8f834b67cb000000000000000000000000",
    b"45000014",
    b"\n",
];

/// PERSISTENT RESERVE OUT CDBs (REGISTER, RESERVE of each type, PREEMPT, REGISTER AND
/// MOVE), keys, flags and TransportID headers.
const PR_OUT_DICT: &[&[u8]] = &[
    &[0x5F, 0x00, 0x00, 0, 0, 0, 0, 0, 0x18, 0],
    &[0x5F, 0x01, 0x05, 0, 0, 0, 0, 0, 0x18, 0],
    &[0x5F, 0x01, 0x08, 0, 0, 0, 0, 0, 0x18, 0],
    &[0x5F, 0x04, 0x03, 0, 0, 0, 0, 0, 0x18, 0],
    &[0x5F, 0x07, 0x00, 0, 0, 0, 0, 0, 0x30, 0],
    &[0, 0, 0, 0, 0, 0, 0, 0x0A],
    &[0, 0, 0, 0, 0, 0, 0, 0x0B],
    &[0x08, 0, 0, 0],
    &[0x06, 0, 0, 0],
    &[0x45, 0, 0, 0x14],
];

/// Descriptor headers of EXTENDED COPY lists: identification CSCDs, block-to-block
/// segments, list lengths.
const XCOPY_DICT: &[&[u8]] = &[
    &[0xE4, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x10],
    &[0x02, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x01],
    &[0x00, 0x20],
    &[0x00, 0x00, 0x00, 0x1C],
    &[0x00, 0x00, 0x00, 0x00],
];

/// UNMAP headers, block counts and addresses near the limits.
const UNMAP_DICT: &[&[u8]] = &[
    &[0x00, 0x16, 0x00, 0x10, 0, 0, 0, 0],
    &[0x04, 0x06, 0x04, 0x00],
    &[0x00, 0x40, 0x00, 0x00],
    &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
    &[0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8],
];

/// WRITE SAME: UNMAP and NDOB in byte 1 of the CDB, small block counts, zero blocks.
const WRITE_SAME_DICT: &[&[u8]] = &[
    &[0x08],
    &[0x09],
    &[0x00, 0x00, 0x00, 0x01],
    &[0x00, 0x00, 0x00, 0x40],
    &[0x00; 16],
    &[0xFF; 4],
];

/// SET TARGET PORT GROUPS descriptors: each state code, groups 0, 1 and 65535.
const STPG_DICT: &[&[u8]] = &[
    &[0x00, 0x00, 0x00, 0x01],
    &[0x01, 0x00, 0x00, 0x02],
    &[0x02, 0x00, 0xFF, 0xFF],
    &[0x03, 0x00, 0x00, 0x00],
    &[0x0E, 0x00, 0x00, 0x01],
    &[0x0F, 0x00, 0x00, 0x01],
];

/// Mode page headers and page images MODE SELECT lists are made of.
const MODE_SELECT_DICT: &[&[u8]] = &[
    &[0x08, 0x12, 0x04],
    &[0x08, 0x12, 0x00],
    &[0x0A, 0x0A, 0x02, 0x10],
    &[0x01, 0x0A],
    &[0x1C, 0x0A, 0x08],
    &[0x48, 0x01],
    &[0x00, 0x00, 0x00, 0x08],
    &[0x00, 0x00, 0x02, 0x00],
    &[0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x10],
];

/// Every `mgmt` command-line parser and helper on arbitrary bytes; must never panic.
pub fn mgmt_line(data: &[u8]) {
    mgmt::fuzz::fuzz_one(data);
}

/// `Sense::parse` on arbitrary bytes; whatever it accepts must survive a round trip
/// through every encoder unchanged, and the fixed-format encoding of a parsed sense must
/// be a fixed point of parse + encode.
pub fn scsi_sense_parse(data: &[u8]) {
    let parsed = Sense::parse(data);
    assert_eq!(parsed, Sense::parse(data), "parse is not deterministic");

    // The encoders accept any triple (the key is masked to 4 bits) and truncate.
    let raw = Sense::new(byte(data, 0), byte(data, 1), byte(data, 2));
    let masked = Sense::new(raw.key & 0x0F, raw.asc, raw.ascq);
    let mut short = [0xEEu8; SENSE_LEN + 2];
    let n = usize::from(byte(data, 3)) % short.len();
    let got = raw.write_fixed(&mut short[..n]);
    assert_eq!(got, n.min(SENSE_LEN), "write_fixed length into {n} bytes");
    assert!(short[got..].iter().all(|&b| b == 0xEE), "write past end");
    let mut full = [0u8; SENSE_LEN];
    assert_eq!(raw.write_fixed(&mut full), SENSE_LEN);
    assert_eq!(short[..got], full[..got], "truncated write is not a prefix");
    assert_eq!(
        Sense::parse(&full),
        Some(masked),
        "{raw:?} fixed round trip"
    );

    let Some(s) = parsed else {
        return;
    };
    assert!(s.key <= 0x0F, "parsed key not masked: {s:?}");

    // Fixed format, without and with INFORMATION.
    let mut fixed = [0u8; SENSE_LEN];
    assert_eq!(s.write_fixed(&mut fixed), SENSE_LEN);
    let reparsed = Sense::parse(&fixed);
    assert_eq!(reparsed, Some(s), "fixed round trip of {s:?}: {fixed:02x?}");
    let mut again = [0u8; SENSE_LEN];
    if let Some(r) = reparsed {
        assert_eq!(r.write_fixed(&mut again), SENSE_LEN);
    }
    assert_eq!(fixed, again, "fixed encoding is not stable");
    let info = u32::from_be_bytes([byte(data, 3), byte(data, 4), byte(data, 5), byte(data, 6)]);
    let informed = s.with_info(u64::from(info));
    let mut with_info = [0u8; SENSE_LEN];
    assert_eq!(informed.write_fixed(&mut with_info), SENSE_LEN);
    assert_eq!(
        Sense::parse(&with_info),
        Some(s),
        "fixed+info round trip of {s:?}"
    );
    let mut desc_info = [0u8; 20];
    assert_eq!(informed.write_descriptor(&mut desc_info), 20);
    assert_eq!(
        Sense::parse(&desc_info),
        Some(s),
        "descriptor+info round trip of {s:?}"
    );

    // Descriptor format.
    let mut desc = [0u8; 8];
    assert_eq!(s.write_descriptor(&mut desc), 8);
    assert_eq!(
        Sense::parse(&desc),
        Some(s),
        "descriptor round trip of {s:?}"
    );

    // Parsing looks at a prefix only: trailing bytes never change an accepted result.
    let mut longer = data.to_vec();
    longer.extend_from_slice(&[0xA5; 3]);
    assert_eq!(
        Sense::parse(&longer),
        Some(s),
        "trailing bytes changed the result"
    );
}

fn byte(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

/// Opcodes, service actions, page codes and length bytes for the CDB target.
const SCSI_DICT: &[&[u8]] = &[
    &[0x00],
    &[0x03],
    &[0x08],
    &[0x0A],
    &[0x12],
    &[0x12, 0x01, 0x80],
    &[0x12, 0x01, 0x83],
    &[0x12, 0x01, 0xB0],
    &[0x15],
    &[0x1A, 0x00, 0x3F],
    &[0x1A, 0x08, 0x08],
    &[0x1B],
    &[0x1E],
    &[0x25],
    &[0x28],
    &[0x2A],
    &[0x2F],
    &[0x35],
    &[0x55],
    &[0x5A, 0x00, 0x3F],
    &[0x88],
    &[0x8A],
    &[0x8F],
    &[0x91],
    &[0x9E, 0x10],
    &[0xA0],
    &[0xA3, 0x0C],
    &[0xA3, 0x0A],
    &[0xA8],
    &[0xAA],
    &[0xAF],
    &[0xFF, 0xFF, 0xFF, 0xFF],
    &[0x00, 0x00, 0x00, 0x00],
    &[0x00, 0x00, 0x00, 0x01],
    &[0x7F, 0xFF, 0xFF, 0xFF],
    &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
];

/// Command words, separators and values for the `mgmt` target.
const MGMT_DICT: &[&[u8]] = &[
    b"add_device ",
    b"del_device ",
    b"add_target ",
    b"del_target ",
    b"add ",
    b"del ",
    b"replace ",
    b"clear",
    b"create ",
    b"move ",
    b"disk1 ",
    b"0 ",
    b"0x1f ",
    b"18446744073709551615",
    b"18446744073709551616",
    b"filename=/x",
    b"blocksize=4096",
    b"read_only=1",
    b"; ",
    b";;",
    b"=",
    b"==",
    b"iqn.1994-05.com.redhat:*",
    b" ",
    b"\t",
    b"\n",
    b"\r",
    b"\0",
    b"*a?",
    b"**",
    b"!",
    b"4K",
    b"1G",
    b"16E",
    b"\xC3\xA9",
    b"\xE2\x82\xAC",
    b"\xF0\x9F\x92\xBE",
    b"\xFF",
];

/// Response codes and field values for the sense target.
const SENSE_DICT: &[&[u8]] = &[
    &[0x70],
    &[0x71],
    &[0x72],
    &[0x73],
    &[0xF0],
    &[0xF1],
    &[0x0A],
    &[0x05, 0x24, 0x00],
    &[0x06, 0x29, 0x00],
    &[0xFF, 0xFF, 0xFF],
];
