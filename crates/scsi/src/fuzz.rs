// SPDX-License-Identifier: GPL-2.0
//! Fuzzing entry point: decodes and emulates a CDB against device parameters derived from
//! the input, checking the crate's output invariants.

use super::cdb::{Cdb, Op};
use super::device::DeviceParams;
use super::emulate::{emulate_disk, Action};
use super::wr::{get_be64, get_u8};

/// Bytes of fuzz input used for the device parameters before the CDB.
pub const FUZZ_HEADER_LEN: usize = 12;

const BLOCK_SIZES: [u32; 4] = [512, 1024, 2048, 4096];

/// Splits `data` into device parameters, output buffer length and CDB bytes.
///
/// Layout: byte 0 block size (bits 1..0) and flags (bit 2 read-only, 3 write cache,
/// 4 rotational, 5 removable); bytes 1..9 capacity seed (bit 60 also QUEUE ALGORITHM
/// MODIFIER 0, bits 62..61 QErr, bit 39 saved values kept, bits 45..40 those values as
/// `ModeValues::pack` makes them); byte 9 capacity shaping (bits 1..0:
/// raw, 16-bit, near `u64::MAX`, zero), thin provisioning (bit 2) and TAS (bit 3); byte 10 output length (bit 7 clear: 512, else
/// `(b & 0x7F) * 5`); byte 11 CDB length (mod 33). Then the CDB, then string material.
pub fn fuzz_params(data: &[u8]) -> (DeviceParams<'_>, usize, &[u8]) {
    let b0 = get_u8(data, 0);
    let seed = get_be64(data, 1);
    let num_blocks = match get_u8(data, 9) & 3 {
        0 => seed,
        1 => seed & 0xFFFF,
        2 => u64::MAX.saturating_sub(seed & 0xFF),
        _ => 0,
    };
    let b10 = get_u8(data, 10);
    let out_len = if b10 & 0x80 == 0 {
        512
    } else {
        usize::from(b10 & 0x7F).saturating_mul(5)
    };
    let body = data.get(FUZZ_HEADER_LEN..).unwrap_or(&[]);
    let cdb_len = usize::from(get_u8(data, 11) % 33).min(body.len());
    let (cdb, strings) = body.split_at(cdb_len);
    // Cut the string material into pieces of varying length.
    let (vendor, r) = strings.split_at(strings.len().min(9));
    let (product, r) = r.split_at(r.len().min(17));
    let (serial, r) = r.split_at(r.len().min(70));
    let (t10, name) = r.split_at(r.len().min(70));
    let dev = DeviceParams {
        block_size: BLOCK_SIZES.get(usize::from(b0 & 3)).copied().unwrap_or(512),
        num_blocks,
        read_only: b0 & 0x04 != 0,
        write_cache: b0 & 0x08 != 0,
        write_cache_changeable: b0 & 0x40 != 0,
        descriptor_sense: b0 & 0x80 != 0,
        task_aborted_status: get_u8(data, 9) & 0x08 != 0,
        queue_algorithm: if seed & (1 << 60) != 0 {
            super::task_set::QueueAlgorithm::Restricted
        } else {
            super::task_set::QueueAlgorithm::Unrestricted
        },
        qerr: super::task_set::QErr::from_field((seed >> 61) as u8 & 3)
            .unwrap_or(super::task_set::QErr::Continue),
        // Saved values (or none) from bits 39..46 of the seed.
        saved_modes: super::mode::ModeValues::unpack((seed >> 40) as u8 & 0x3F)
            .filter(|_| seed & (1 << 39) != 0),
        rotational: b0 & 0x10 != 0,
        removable: b0 & 0x20 != 0,
        thin_provisioned: get_u8(data, 9) & 0x04 != 0,
        vendor,
        product,
        revision: product,
        serial,
        naa_id: seed,
        t10_vendor_designator: t10,
        relative_port: u16::from(b10),
        target_port_group: u16::from(b0),
        tpgs: get_u8(data, 9) >> 6,
        port_state: super::alua::AccessState::from_code(get_u8(data, 9) >> 4 & 0x3)
            .unwrap_or_default(),
        target_port_name: name,
        max_transfer_bytes: u32::from(b10) << 16,
    };
    (dev, out_len, cdb)
}

/// Runs one fuzz case and returns whether every invariant held: decoding and emulation are
/// deterministic, data-in lengths fit both `out` and the allocation length, and block I/O
/// is non-empty, in range and never a write to a read-only device.
pub fn fuzz_check(data: &[u8]) -> bool {
    let (dev, out_len, cdb) = fuzz_params(data);
    // A field pointer points into the CDB.
    let points_inside = |s: &super::sense::Sense| {
        s.field
            .map_or(true, |f| f.in_cdb && usize::from(f.byte) < cdb.len())
    };
    let c = match Cdb::decode(cdb) {
        Ok(c) => c,
        Err(s) => return points_inside(&s),
    };
    let mut a = [0u8; 640];
    let mut b = [0x55u8; 640];
    let (Some(oa), Some(ob)) = (a.get_mut(..out_len), b.get_mut(..out_len)) else {
        return true;
    };
    let ra = emulate_disk(&c, &dev, oa);
    let rb = emulate_disk(&c, &dev, ob);
    if ra != rb {
        return false;
    }
    match ra {
        Action::DataIn { len } => {
            let alloc = c.transfer_len(dev.block_size);
            len <= out_len
                && u64::try_from(len).is_ok_and(|l| l <= alloc)
                && oa.get(..len) == ob.get(..len)
        }
        Action::Read { lba, blocks, fua } => {
            blocks > 0
                && lba
                    .checked_add(u64::from(blocks))
                    .is_some_and(|e| e <= dev.num_blocks)
                && c.op == Op::Read { lba, blocks, fua }
        }
        Action::Write { lba, blocks, fua } => {
            blocks > 0
                && !dev.read_only
                && lba
                    .checked_add(u64::from(blocks))
                    .is_some_and(|e| e <= dev.num_blocks)
                && (c.op == Op::Write { lba, blocks, fua }
                    || (fua
                        && c.op
                            == Op::WriteAndVerify {
                                lba,
                                blocks,
                                compare: false,
                            }))
        }
        Action::ReadBack(r) => read_back_holds(&c, &dev, &r),
        Action::Flush { lba, blocks, .. } => {
            (lba == 0 && blocks == 0)
                || lba
                    .checked_add(u64::from(blocks))
                    .is_some_and(|e| e <= dev.num_blocks)
        }
        Action::WriteSame {
            lba,
            blocks,
            unmap,
            ndob,
        } => {
            let in_range = lba
                .checked_add(u64::from(blocks))
                .is_some_and(|e| e <= dev.num_blocks);
            in_range
                && blocks > 0
                && blocks <= super::provisioning::MAX_WRITE_SAME_BLOCKS
                && !dev.read_only
                && (!unmap || dev.thin_provisioned)
                && c.op
                    == Op::WriteSame {
                        lba,
                        blocks,
                        unmap,
                        ndob,
                    }
        }
        Action::Unmap { .. } => dev.thin_provisioned && !dev.read_only,
        Action::Copy { param_len } => param_len > 0 && c.op == Op::ExtendedCopy { param_len },
        Action::LbaStatus { lba, .. } => dev.thin_provisioned && lba < dev.num_blocks,
        Action::Check(s) => points_inside(&s),
        Action::Good | Action::Core => true,
    }
}

/// A read-back plan covers blocks that exist, writes only a writable device, and its data-out
/// buffer holds what it compares and writes; only COMPARE AND WRITE is atomic, only a
/// PRE-FETCH completes with CONDITION MET.
fn read_back_holds(c: &Cdb, dev: &super::DeviceParams<'_>, r: &super::readback::ReadBack) -> bool {
    use super::readback::{Compare, Write};
    let bs = u64::from(dev.block_size);
    let bytes = u64::from(r.blocks).saturating_mul(bs);
    let data_out = c.transfer_len(dev.block_size);
    let in_range = r
        .lba
        .checked_add(u64::from(r.blocks))
        .is_some_and(|e| e <= dev.num_blocks);
    let buffer_ok = match (r.compare, r.write) {
        (Compare::Nothing, Write::Nothing) => data_out == 0,
        (Compare::Buffer, Write::After { .. }) => data_out == bytes.saturating_mul(2),
        (Compare::Buffer, _) => data_out == bytes,
        (Compare::EveryBlock, Write::Nothing) => data_out == bs,
        _ => false,
    };
    let writes = r.write != Write::Nothing;
    let is_caw = matches!(c.op, Op::CompareAndWrite { .. });
    let is_prefetch = matches!(c.op, Op::PreFetch { .. });
    r.blocks > 0
        && in_range
        && buffer_ok
        && !(writes && dev.read_only)
        && r.atomic == is_caw
        && (r.status == super::status::GOOD
            || (r.status == super::status::CONDITION_MET && is_prefetch))
}

/// Validates a MODE SELECT parameter list: byte 0 picks the device (as [`fuzz_params`]'s
/// byte 0, with bit 4 its QUEUE ALGORITHM MODIFIER 0 and bits 5 and 7 its QErr) and bit 7
/// of byte 1 MODE SELECT(10); the list follows. Returns whether the
/// invariants held: the answer is deterministic, and an accepted list changes the write
/// cache only on a device that lets the initiator change it, and a refusal's field pointer
/// lies inside the list.
pub fn fuzz_mode_select(data: &[u8]) -> bool {
    let b0 = get_u8(data, 0);
    let dev = DeviceParams {
        block_size: BLOCK_SIZES.get(usize::from(b0 & 3)).copied().unwrap_or(512),
        num_blocks: 1 << 20,
        read_only: b0 & 0x04 != 0,
        write_cache: b0 & 0x08 != 0,
        write_cache_changeable: b0 & 0x40 != 0,
        queue_algorithm: if b0 & 0x10 != 0 {
            super::task_set::QueueAlgorithm::Restricted
        } else {
            super::task_set::QueueAlgorithm::Unrestricted
        },
        qerr: match (b0 & 0x20 != 0, b0 & 0x80 != 0) {
            (false, false) => super::task_set::QErr::Continue,
            (true, false) => super::task_set::QErr::AbortAll,
            _ => super::task_set::QErr::AbortThisNexus,
        },
        ..DeviceParams::EMPTY
    };
    let ten = get_u8(data, 1) & 0x80 != 0;
    let list = data.get(2..).unwrap_or(&[]);
    let a = super::mode::parse_mode_select(list, ten, &dev);
    if a != super::mode::parse_mode_select(list, ten, &dev) {
        return false;
    }
    match a {
        Ok(changes) => changes.write_cache.map_or(true, |wce| {
            dev.write_cache_changeable || wce == dev.write_cache
        }),
        // A field pointer points into the list.
        Err(s) => s
            .field
            .map_or(true, |f| !f.in_cdb && usize::from(f.byte) < list.len()),
    }
}

/// Checks a WRITE SAME with its data-out buffer: byte 0 is the device (bit 0 thin
/// provisioned, bit 1 read-only, bits 2..3 the block size 512 << n), bytes 1..17 a WRITE
/// SAME(10) or (16) CDB (byte 1 decides which, odd for 16), the rest the data received.
/// Returns whether the invariants held: emulation and the plan are deterministic; an
/// accepted command's plan deallocates exactly when UNMAP is set on a thin-provisioned
/// device and no data came (NDOB) or the first block received is zeros, and refuses data
/// shorter than one block without NDOB with PARAMETER LIST LENGTH ERROR.
pub fn fuzz_write_same(data: &[u8]) -> bool {
    use super::provisioning::{write_same_plan, WriteSame};
    let flags = get_u8(data, 0);
    let dev = DeviceParams {
        num_blocks: 1 << 20,
        block_size: 512 << ((flags >> 2) & 3),
        thin_provisioned: flags & 1 != 0,
        read_only: flags & 2 != 0,
        ..DeviceParams::EMPTY
    };
    let mut cdb = [0u8; 16];
    for (b, &x) in cdb.iter_mut().zip(data.get(1..).unwrap_or(&[])) {
        *b = x;
    }
    let sixteen = cdb[0] & 1 != 0;
    cdb[0] = if sixteen { 0x93 } else { 0x41 };
    let cdb = if sixteen { &cdb[..] } else { &cdb[..10] };
    let received = data.get(17..).unwrap_or(&[]);
    let Ok(c) = Cdb::decode(cdb) else { return true };
    let mut out = [0u8; 8];
    let Action::WriteSame { unmap, ndob, .. } = emulate_disk(&c, &dev, &mut out) else {
        return true;
    };
    let bs = dev.block_size as usize;
    let plan = write_same_plan(unmap, ndob, received, bs);
    if plan != write_same_plan(unmap, ndob, received, bs) || (ndob && !sixteen) {
        return false;
    }
    let zeros = received
        .get(..bs)
        .is_some_and(|b| b.iter().all(|&x| x == 0));
    match plan {
        Ok(WriteSame::Deallocate) => unmap && dev.thin_provisioned && (ndob || zeros),
        Ok(WriteSame::Write) => !(unmap && (ndob || zeros)),
        Err(s) => {
            !ndob && received.len() < bs && s == super::sense::Sense::PARAMETER_LIST_LENGTH_ERROR
        }
    }
}

/// Validates an UNMAP parameter list: bytes 0..8 are the device's capacity, bytes 8..10
/// the CDB's PARAMETER LIST LENGTH; the list follows. Returns whether the invariants held:
/// the answer is deterministic; an accepted list yields at most
/// [`super::provisioning::MAX_UNMAP_DESCRIPTORS`] non-empty ranges, each inside the
/// device, of at most [`super::provisioning::MAX_UNMAP_BLOCKS`] blocks in all, and
/// [`super::provisioning::UnmapList::range`] agrees with the iterator; a refusal's field
/// pointer lies inside the list.
pub fn fuzz_unmap(data: &[u8]) -> bool {
    use super::provisioning::{UnmapList, MAX_UNMAP_BLOCKS, MAX_UNMAP_DESCRIPTORS};
    let dev = DeviceParams {
        num_blocks: get_be64(data, 0),
        thin_provisioned: true,
        ..DeviceParams::EMPTY
    };
    let param_len = super::wr::get_be16(data, 8);
    let list = data.get(10..).unwrap_or(&[]);
    let a = UnmapList::parse(list, param_len, &dev);
    if a.map(|u| u.ranges().count())
        != UnmapList::parse(list, param_len, &dev).map(|u| u.ranges().count())
    {
        return false;
    }
    match a {
        Ok(u) => {
            let mut total = 0u64;
            let mut n = 0usize;
            for (i, (lba, blocks)) in u.ranges().enumerate() {
                total = total.saturating_add(u64::from(blocks));
                n = n.saturating_add(1);
                let inside = lba
                    .checked_add(u64::from(blocks))
                    .is_some_and(|e| e <= dev.num_blocks);
                if !inside || blocks == 0 || u.range(i) != Some((lba, blocks)) {
                    return false;
                }
            }
            n <= MAX_UNMAP_DESCRIPTORS as usize && total <= u64::from(MAX_UNMAP_BLOCKS)
        }
        Err(s) => s
            .field
            .map_or(true, |f| !f.in_cdb && usize::from(f.byte) < list.len()),
    }
}

/// Checks a SET TARGET PORT GROUPS parameter list (the whole input). Returns whether the
/// invariants held: the answer is deterministic; an accepted list names each group once,
/// asks for no transitioning state, and has one change per 4 bytes after the header; a
/// refusal's field pointer lies inside the list (or, for a list too long, at the CDB's
/// PARAMETER LIST LENGTH).
pub fn fuzz_stpg(data: &[u8]) -> bool {
    use super::alua::{AccessState, StpgList};
    let a = StpgList::parse(data);
    if a.map(|l| l.changes().count()) != StpgList::parse(data).map(|l| l.changes().count()) {
        return false;
    }
    match a {
        Ok(l) => {
            let mut n = 0usize;
            let mut ok = true;
            for (i, c) in l.changes().enumerate() {
                n = n.saturating_add(1);
                ok &= c.state != AccessState::Transitioning;
                ok &= l.changes().take(i).all(|o| o.group != c.group);
                ok &= c.offset < data.len();
            }
            ok && n.saturating_mul(4).saturating_add(4) == data.len()
                && n <= super::alua::MAX_STPG_DESCRIPTORS
        }
        Err(s) => s.field.map_or(true, |f| {
            (f.in_cdb && f.byte == 6) || (!f.in_cdb && usize::from(f.byte) < data.len())
        }),
    }
}

/// Checks an EXTENDED COPY (LID1) parameter list: bytes 0..4 are the CDB's PARAMETER LIST
/// LENGTH, the list follows. Returns whether the invariants held: the answer is
/// deterministic; an accepted list has at most the advertised descriptors, no more bytes
/// of them than advertised, each CSCD a designator of 1 to 16 bytes, each segment between
/// CSCDs the list has; a refusal's field pointer lies inside the list.
pub fn fuzz_xcopy(data: &[u8]) -> bool {
    use super::xcopy::{
        CopyList, CSCD_LEN, MAX_CSCD_DESCRIPTORS, MAX_DESCRIPTOR_LIST_LEN, MAX_SEGMENT_DESCRIPTORS,
        SEGMENT_LEN,
    };
    let param_len = super::wr::get_be32(data, 0);
    let list = data.get(4..).unwrap_or(&[]);
    let a = CopyList::parse(list, param_len);
    let again = CopyList::parse(list, param_len);
    if a.map(|c| (c.cscds().count(), c.segments().count()))
        != again.map(|c| (c.cscds().count(), c.segments().count()))
    {
        return false;
    }
    match a {
        Ok(c) => {
            let cscds = c.cscds().count();
            let designators_ok = c.cscds().all(|d| (1..=16).contains(&d.designator.len()));
            let segments_ok = c
                .segments()
                .all(|s| usize::from(s.src) < cscds && usize::from(s.dst) < cscds);
            let bytes = cscds
                .saturating_mul(CSCD_LEN)
                .saturating_add(c.segments().count().saturating_mul(SEGMENT_LEN));
            cscds <= usize::from(MAX_CSCD_DESCRIPTORS)
                && u32::try_from(bytes).is_ok_and(|b| b <= MAX_DESCRIPTOR_LIST_LEN)
                && c.segments().count() <= usize::from(MAX_SEGMENT_DESCRIPTORS)
                && designators_ok
                && segments_ok
        }
        Err(s) => s
            .field
            .map_or(true, |f| !f.in_cdb && usize::from(f.byte) < list.len()),
    }
}

/// Registrations in a fixed array, for [`fuzz_pr_out`].
struct FewRegistrations {
    regs: [super::pr::Registration; 8],
    used: usize,
}

impl super::pr::Registrations for FewRegistrations {
    fn list(&self) -> &[super::pr::Registration] {
        self.regs.get(..self.used).unwrap_or(&[])
    }
    fn list_mut(&mut self) -> &mut [super::pr::Registration] {
        self.regs.get_mut(..self.used).unwrap_or(&mut [])
    }
    fn add(&mut self, r: super::pr::Registration) -> Result<(), super::sense::Sense> {
        let slot = self
            .regs
            .get_mut(self.used)
            .ok_or(super::pr::INSUFFICIENT_REGISTRATION_RESOURCES)?;
        *slot = r;
        self.used = self.used.saturating_add(1);
        Ok(())
    }
    fn remove(&mut self, i: usize) {
        if i < self.used {
            if let Some(tail) = self.regs.get_mut(i..self.used) {
                tail.rotate_left(1);
            }
            self.used = self.used.saturating_sub(1);
        }
    }
}

/// Runs a sequence of PERSISTENT RESERVE OUT commands (and SPC-2 RESERVE/RELEASE) from four
/// I_T nexuses on one logical unit. Each command is a nexus byte (its low two bits pick the
/// nexus, bit 7 makes it RESERVE(6) and bit 6 RELEASE(6) instead), a 10-byte CDB, a length
/// byte and that many bytes of parameter list. Returns whether the invariants held after
/// every command: at most one registration holds the reservation, exactly one for a type
/// that is not all registrants and none for one that is; a reservation has a registrant;
/// every key is non-zero; PRgeneration moves by at most one, and not on failure; refusals
/// point inside the CDB or the list; READ FULL STATUS accounts for every registration.
pub fn fuzz_pr_out(data: &[u8]) -> bool {
    use super::pr::{in_sa, parse_pr_out, Answer, Port};
    use super::transport_id::{protocol, TransportId};
    let names: [&[u8]; 4] = [b"ini-a", b"ini-b", b"iqn.x:c,i,0x1", b"iqn.x:c,i,0x2"];
    let port = |k: u8| -> Port {
        let name = names.get(usize::from(k & 3)).copied().unwrap_or(b"x");
        let proto = if k & 2 != 0 {
            protocol::ISCSI
        } else {
            protocol::SAS
        };
        Port {
            id: TransportId::of_initiator(proto, name).unwrap_or(TransportId::NONE),
            rel_tgt: u16::from(k & 1).saturating_add(1),
        }
    };
    let mut s = few_reservations();
    let mut rest = data;
    let mut out = [0u8; 4096];
    while let [who, tail @ ..] = rest {
        // A CDB is always whole (the decoder refuses a short one): a short input is padded.
        let mut cdb = [0u8; 10];
        for (d, s) in cdb.iter_mut().zip(tail) {
            *d = *s;
        }
        let tail = tail.get(10..).unwrap_or(&[]);
        let n = usize::from(tail.first().copied().unwrap_or(0));
        let list = tail.get(1..).unwrap_or(&[]);
        let list = list.get(..n).unwrap_or(list);
        rest = tail.get(n.saturating_add(1)..).unwrap_or(&[]);
        let me = port(*who);
        let before = s.generation;
        let answer = if who & 0x80 != 0 {
            s.reserve_spc2(&me)
        } else if who & 0x40 != 0 {
            s.release_spc2(&me)
        } else {
            match parse_pr_out(&cdb, list) {
                Ok(cmd) => s.pr_out(
                    &me,
                    &cmd,
                    &|p| (p == 1 || p == 2).then_some(super::transport_id::protocol::SAS),
                    &mut |_| {},
                ),
                Err(e) => Answer::Check(e),
            }
        };
        let moved = s.generation.wrapping_sub(before);
        if moved > 1 || (answer != Answer::Good && moved != 0) {
            return false;
        }
        if let Answer::Check(e) = answer {
            let inside = e.field.map_or(true, |f| {
                usize::from(f.byte) < if f.in_cdb { cdb.len() } else { list.len() }
            });
            if !inside {
                return false;
            }
        }
        let regs = super::pr::Registrations::list(&s.regs);
        if !s.holders_consistent() || regs.iter().any(|r| r.key == 0) {
            return false;
        }
        // One registration per I_T nexus.
        if (0..4u8).any(|k| regs.iter().filter(|r| r.is_of(&port(k))).count() > 1) {
            return false;
        }
        let full = s.pr_in(in_sa::READ_FULL_STATUS, u16::MAX, &mut out);
        let listed = super::wr::get_be32(&out, 4) as usize;
        let expected: usize = regs
            .iter()
            .map(|r| r.port.id.as_bytes().len().saturating_add(24))
            .sum();
        if full.map_or(true, |n| n != expected.saturating_add(8)) || listed != expected {
            return false;
        }
    }
    true
}

/// An empty state over [`FewRegistrations`].
fn few_reservations() -> super::pr::Reservations<FewRegistrations> {
    use super::transport_id::TransportId;
    let empty = super::pr::Registration {
        key: 0,
        port: super::pr::Port {
            id: TransportId::NONE,
            rel_tgt: 0,
        },
        all_tg_pt: false,
        holder: false,
    };
    super::pr::Reservations {
        generation: 0,
        reservation: None,
        aptpl: false,
        regs: FewRegistrations {
            regs: [empty; 8],
            used: 0,
        },
        spc2: None,
    }
}

/// Reads `data` as the saved mode parameters file of device `d` (`super::mode_file`), as
/// it is and after the device's name line. Returns whether the invariants held: an
/// accepted file, written out again, reads back as the same values.
pub fn fuzz_mode_file(data: &[u8]) -> bool {
    use super::mode::ModeValues;
    use super::mode_file::{encode, parse};
    use super::task_set::{QErr, QueueAlgorithm};
    let base = ModeValues {
        write_cache: true,
        descriptor_sense: false,
        task_aborted_status: false,
        queue_algorithm: QueueAlgorithm::Unrestricted,
        qerr: QErr::Continue,
    };
    let mut named = [0u8; 4096];
    let body = data.get(..data.len().min(4000)).unwrap_or(&[]);
    named[0] = b'd';
    named[1] = b'\n';
    for (d, s) in named.iter_mut().skip(2).zip(body) {
        *d = *s;
    }
    let named = named.get(..body.len().saturating_add(2)).unwrap_or(&[]);
    [data, named].iter().all(|text| {
        let Ok(r) = parse(text, b"d", base) else {
            return true;
        };
        if parse(text, b"d", base) != Ok(r) {
            return false;
        }
        let mut out = [0u8; 128];
        let mut len = 0usize;
        encode(b"d", &r.values, &mut |b| {
            for (d, s) in out.iter_mut().skip(len).zip(b) {
                *d = *s;
            }
            len = len.saturating_add(b.len());
        });
        let again = parse(out.get(..len).unwrap_or(&[]), b"d", base);
        again.map(|a| a.values) == Ok(r.values)
    })
}

/// Reads `data` as a persistent reservations file (`super::pr_file`). Returns whether the
/// invariants held: a state it accepts has one holder for a reservation that is not all
/// registrants, none for one that is, a registrant for every reservation and no key 0;
/// written out again it reads back as the same state and the same text.
pub fn fuzz_pr_file(data: &[u8]) -> bool {
    // As it is, and as a body with a correct `end` line (so that the mutations reach the
    // body's reader rather than all failing the checksum).
    let mut sealed = [0u8; 4096];
    let body = data.get(..data.len().min(4000)).unwrap_or(&[]);
    let mut len = 0usize;
    let mut put = |b: &[u8]| {
        if let Some(dst) = sealed.get_mut(len..len.saturating_add(b.len())) {
            for (d, s) in dst.iter_mut().zip(b) {
                *d = *s;
            }
            len = len.saturating_add(b.len());
        }
    };
    put(body);
    super::pr_file::seal(body, 1, &mut put);
    pr_file_holds(data) && pr_file_holds(sealed.get(..len).unwrap_or(&[]))
}

fn pr_file_holds(data: &[u8]) -> bool {
    use super::pr::Registrations;
    use super::pr_file::{decode, encode};
    let mut s = few_reservations();
    if decode(data, &mut s).is_err() {
        return true;
    }
    if !s.holders_consistent() || s.regs.list().iter().any(|r| r.key == 0) {
        return false;
    }
    // Written into a fixed buffer (8 registrations of at most 2 * 248 + 60 bytes fit).
    let mut buf = [0u8; 8192];
    let mut len = 0usize;
    let mut overflow = false;
    encode(
        &s,
        7,
        &mut |b| match buf.get_mut(len..len.saturating_add(b.len())) {
            Some(dst) => {
                dst.copy_from_slice(b);
                len = len.saturating_add(b.len());
            }
            None => overflow = true,
        },
    );
    let text = buf.get(..len).unwrap_or(&[]);
    let mut again = few_reservations();
    if overflow || decode(text, &mut again) != Ok(7) {
        return false;
    }
    again.generation == s.generation
        && again.aptpl == s.aptpl
        && again.reservation == s.reservation
        && again.regs.list() == s.regs.list()
}

/// Decodes and emulates a CDB with parameters derived from the first bytes of `data` (see
/// [`fuzz_params`]). Cheap; panics only in test or `cfg(fuzzing)` builds, when an invariant
/// checked by [`fuzz_check`] fails.
pub fn fuzz_one(data: &[u8]) {
    let ok = fuzz_check(data);
    #[cfg(any(test, fuzzing))]
    assert!(ok, "scsi fuzz invariant violated");
    #[cfg(not(any(test, fuzzing)))]
    let _ = ok;
}

#[cfg(test)]
mod tests {
    use super::super::sense::Sense;
    use super::*;
    use std::{vec, vec::Vec};

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn byte(&mut self) -> u8 {
            self.next() as u8
        }
    }

    /// Opcodes worth hitting often: the supported ones plus a few others.
    const INTERESTING: &[u8] = &[
        0x00, 0x03, 0x08, 0x0A, 0x12, 0x15, 0x1A, 0x1B, 0x1E, 0x25, 0x28, 0x2A, 0x2F, 0x35, 0x55,
        0x5A, 0x88, 0x8A, 0x8F, 0x91, 0x9E, 0xA0, 0xA3, 0xA8, 0xAA, 0xAF, 0x7F, 0xC0,
    ];

    fn random_case(r: &mut Rng, buf: &mut Vec<u8>) {
        buf.clear();
        let n = (r.next() % 400) as usize;
        for _ in 0..n {
            buf.push(r.byte());
        }
        if buf.len() > FUZZ_HEADER_LEN && r.next() % 4 != 0 {
            buf[FUZZ_HEADER_LEN] = INTERESTING[(r.next() as usize) % INTERESTING.len()];
        }
        // Make service actions and small fields plausible sometimes.
        if buf.len() > FUZZ_HEADER_LEN + 2 && r.next() % 2 == 0 {
            let v = [0x10u8, 0x0C, 0x0D, 0x01, 0x00, 0x08][(r.next() % 6) as usize];
            buf[FUZZ_HEADER_LEN + 1] = v;
        }
        if buf.len() > FUZZ_HEADER_LEN + 4 && r.next() % 2 == 0 {
            buf[FUZZ_HEADER_LEN + 2] =
                [0x00, 0x08, 0x3F, 0x0A, 0x83, 0x80, 0xB0][(r.next() % 7) as usize];
        }
    }

    #[test]
    fn random_inputs_hold_invariants() {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        let mut buf = Vec::new();
        let mut decoded = 0;
        for _ in 0..200_000 {
            random_case(&mut r, &mut buf);
            assert!(fuzz_check(&buf), "case {buf:02x?}");
            fuzz_one(&buf);
            let (_, _, cdb) = fuzz_params(&buf);
            if Cdb::decode(cdb).is_ok() {
                decoded += 1;
            }
        }
        assert!(decoded > 10_000, "too few valid CDBs: {decoded}");
    }

    #[test]
    fn random_cdbs_all_lengths() {
        // Cdb::decode and emulate_disk never panic on random CDBs of lengths 0..=32 with
        // random parameters, and responses are truncated exactly.
        let mut r = Rng(0xDEAD_BEEF_CAFE_F00D);
        let sizes = [
            0u64,
            1,
            2,
            255,
            1000,
            0xFFFF_FFFF,
            0x1_0000_0000,
            u64::MAX - 1,
            u64::MAX,
        ];
        for i in 0..100_000u32 {
            let len = (i % 33) as usize;
            let mut cdb = [0u8; 32];
            for b in cdb.iter_mut() {
                *b = r.byte();
            }
            if r.next() % 3 != 0 {
                cdb[0] = INTERESTING[(r.next() as usize) % INTERESTING.len()];
            }
            if r.next() % 2 == 0 {
                // Half of them with bit 2 clear from byte 5 on: NACA clear
                // wherever the CONTROL byte sits, as most initiators send it.
                for b in cdb.iter_mut().skip(5) {
                    *b &= !0x04;
                }
            }
            let dev = DeviceParams {
                block_size: BLOCK_SIZES[(r.next() % 4) as usize],
                num_blocks: sizes[(r.next() as usize) % sizes.len()],
                read_only: r.next() % 2 == 0,
                write_cache: r.next() % 2 == 0,
                write_cache_changeable: r.next() % 2 == 0,
                descriptor_sense: r.next() % 2 == 0,
                task_aborted_status: r.next() % 2 == 0,
                rotational: r.next() % 2 == 0,
                removable: r.next() % 2 == 0,
                ..DeviceParams::EMPTY
            };
            let Ok(c) = Cdb::decode(&cdb[..len]) else {
                continue;
            };
            let mut full = [0u8; 2048];
            let fa = emulate_disk(&c, &dev, &mut full);
            let out_len = (r.next() % 600) as usize;
            let mut out = vec![0xA5u8; out_len];
            let a = emulate_disk(&c, &dev, &mut out);
            match (fa, a) {
                (Action::DataIn { len: fl }, Action::DataIn { len }) => {
                    assert!(fl as u64 <= c.transfer_len(dev.block_size));
                    assert_eq!(len, fl.min(out_len), "{c:?}");
                    assert_eq!(&out[..len], &full[..len]);
                }
                (x, y) => assert_eq!(x, y),
            }
        }
    }

    #[test]
    fn short_and_empty_inputs() {
        for n in 0..64usize {
            let data: Vec<u8> = (0..n as u8).collect();
            fuzz_one(&data);
        }
        fuzz_one(&[]);
        // A write to a read-only device through the fuzz layout.
        let mut d = vec![0x04u8, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 10];
        d.extend_from_slice(&[0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
        let (dev, out_len, cdb) = fuzz_params(&d);
        assert!(dev.read_only);
        assert_eq!(out_len, 512);
        let c = Cdb::decode(cdb).unwrap();
        let mut out = [0u8; 512];
        assert_eq!(
            emulate_disk(&c, &dev, &mut out),
            Action::Check(Sense::WRITE_PROTECTED)
        );
        assert!(fuzz_check(&d));
    }
}
