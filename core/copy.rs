// SPDX-License-Identifier: GPL-2.0
//! EXTENDED COPY (LID1): the copy manager. The parameter list is checked by
//! `crate::scsi::xcopy`; here its CSCD descriptors are resolved to the
//! logical units the I_T nexus reaches, every segment is checked before a
//! block moves, and the blocks go from the source's handler to the
//! destination's through a buffer of the core, one READ and one WRITE at a
//! time: the data never passes through the initiator.
//!
//! `crate::steps` runs it like its other plans: [`next_call`] says which
//! call comes next (and does not move on: a call may wait for a thread or
//! for the destination's write gate and be asked for again), [`record`]
//! moves on once it completed. `crate::cmd` makes each call on the device
//! [`unit_of_next_call`] names, and passes that destination's write gate
//! for each WRITE ([`destination_of_next_call`]).

use crate::abi::io_op;
use crate::cmd::Cmd;
use crate::lun::Mapped;
use crate::scsi::emulate::check_range;
use crate::scsi::sense::Sense;
use crate::scsi::xcopy::{self, CopyList, Cscd, Segment};
use crate::steps::{Next, Spare};
use crate::sys::ops::DeviceRef;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;

/// Bytes one READ (and the WRITE after it) moves at most.
const CHUNK_BYTES: u32 = 1 << 20;
/// CODE SET binary.
const CODE_SET_BINARY: u8 = 1;
/// DESIGNATOR TYPE NAA.
const DESIGNATOR_NAA: u8 = 3;

/// Which call of the current chunk comes next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Read the next chunk from the source.
    Read,
    /// Write the chunk just read to the destination.
    Write,
}

/// An EXTENDED COPY in progress.
pub struct CopySteps {
    /// The logical unit each CSCD descriptor names, by descriptor index
    /// (None: named by no segment, so never resolved).
    units: KVec<Option<Mapped>>,
    /// The segments, every one checked.
    segments: KVec<Segment>,
    /// Index of the segment being copied.
    segment: usize,
    /// Blocks of it copied.
    copied: u32,
    phase: Phase,
    /// Where the chunks go between their READ and their WRITE.
    spare: Spare,
    /// The command's own block size (log2), given back at the end: each
    /// call carries its device's.
    block_shift: u32,
    /// The sources' handlers may leave a READ's buffer untouched (no
    /// `FILLS_READS` promise): the buffer is zeroed before their READs, or
    /// another command's data would reach the destination.
    zero_reads: bool,
}

/// EXTENDED COPY (thread context): copies and checks the parameter list,
/// resolves the logical units it names and checks every segment against
/// them, so that a copy that cannot be done moves nothing.
pub fn begin_copy(c: &mut Cmd, param_len: u32) -> Result<(), Sense> {
    let list = crate::cmd::param_list(c, param_len)?;
    let parsed = CopyList::parse(&list, param_len)?;
    let mut units = KVec::new();
    let mut cscds = KVec::new();
    for cscd in parsed.cscds() {
        cscds.push(cscd, GFP_KERNEL).map_err(|_| crate::cmd::BUSY)?;
        units.push(None, GFP_KERNEL).map_err(|_| crate::cmd::BUSY)?;
    }
    let mut segments = KVec::new();
    let mut largest = 0u32;
    let mut zero_reads = false;
    for s in parsed.segments() {
        for id in [s.src, s.dst] {
            let id = usize::from(id);
            if units[id].is_none() {
                units[id] = Some(resolve(c, &cscds[id], parsed.cscd_offset(id))?);
            }
        }
        let (Some(src), Some(dst)) = (&units[usize::from(s.src)], &units[usize::from(s.dst)]) else {
            return Err(Sense::INTERNAL_TARGET_FAILURE);
        };
        if s.blocks == 0 {
            // Copies nothing (SPC-4 6.4.6.1), its units found all the same.
            continue;
        }
        let bytes = check_segment(c, &s, src, dst)?;
        largest = largest.max(bytes);
        zero_reads |= !src.dev.fills_reads();
        segments.push(s, GFP_KERNEL).map_err(|_| crate::cmd::BUSY)?;
    }
    if segments.is_empty() {
        // Nothing to copy: the steps stay idle and the command ends GOOD.
        return Ok(());
    }
    let spare = Spare::alloc(c, u64::from(largest.min(CHUNK_BYTES)))?;
    c.steps = crate::steps::Steps::Copy(CopySteps {
        units,
        segments,
        segment: 0,
        copied: 0,
        phase: Phase::Read,
        spare,
        block_shift: c.desc.block_shift,
        zero_reads,
    });
    Ok(())
}

/// The logical unit a CSCD descriptor (at `offset` in the parameter list)
/// names, among those the I_T nexus reaches: by its NAA designator (VPD
/// page 83h), the one designator every logical unit here has and the one
/// initiators copy into their lists. A DISK BLOCK LENGTH other than the
/// unit's is refused as SCST refuses it.
fn resolve(c: &Cmd, cscd: &Cscd<'_>, offset: usize) -> Result<Mapped, Sense> {
    if cscd.nul || cscd.code_set != CODE_SET_BINARY || cscd.designator_type != DESIGNATOR_NAA {
        return Err(xcopy::COPY_TARGET_NOT_REACHABLE);
    }
    // The first LUN that maps it writable, else the first that maps it.
    let mut found: Option<Mapped> = None;
    c.session.for_each_mapped(|_, m| {
        let naa = crate::scsi::inquiry::naa5(m.dev.naa_id).to_be_bytes();
        if cscd.designator == naa && found.as_ref().is_none_or(|f| f.read_only && !m.read_only) {
            let writable = !m.read_only;
            found = Some(m);
            return !writable;
        }
        true
    });
    let m = found.ok_or(xcopy::COPY_TARGET_NOT_REACHABLE)?;
    if cscd.block_len != 0 && cscd.block_len != m.dev.geo.block_size {
        return Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(offset + 29, None));
    }
    Ok(m)
}

/// Checks a segment of at least one block from `src` to `dst` as the
/// sender would be checked sending the READ and the WRITE itself: the
/// devices copy through their block tier, in blocks of one size, within
/// their capacity (else COPY TARGET DEVICE NOT REACHABLE, as in LIO), the
/// destination writable and neither reserved by another I_T nexus against
/// it. Returns the segment's bytes (65535 blocks at most: they fit).
fn check_segment(c: &Cmd, s: &Segment, src: &Mapped, dst: &Mapped) -> Result<u32, Sense> {
    for m in [src, dst] {
        if !m.dev.handler.ops.has_exec() {
            // A raw-tier-only handler has no block tier to copy through.
            return Err(xcopy::COPY_TARGET_NOT_REACHABLE);
        }
    }
    let block_size = src.dev.geo.block_size;
    let blocks = u32::from(s.blocks);
    let fits = |m: &Mapped, lba: u64| check_range(&capacity(m), lba, blocks).is_ok();
    if dst.dev.geo.block_size != block_size || !fits(src, s.src_lba) || !fits(dst, s.dst_lba) {
        return Err(xcopy::COPY_TARGET_NOT_REACHABLE);
    }
    if dst.read_only || dst.dev.geo.read_only {
        return Err(Sense::WRITE_PROTECTED);
    }
    let port = &c.session.port;
    if src.dev.reservations.conflicts(port, || crate::scsi::pr::Access::Read)
        || dst.dev.reservations.conflicts(port, || crate::scsi::pr::Access::Write)
    {
        return Err(crate::cmd::CONFLICT);
    }
    Ok(blocks << src.dev.geo.block_shift)
}

/// What `check_range` needs of a device.
fn capacity(m: &Mapped) -> crate::scsi::device::DeviceParams<'static> {
    crate::scsi::device::DeviceParams { num_blocks: m.dev.num_blocks(), ..crate::scsi::device::DeviceParams::EMPTY }
}

impl CopySteps {
    /// The segment being copied, if any is left.
    fn current(&self) -> Option<&Segment> {
        self.segments.get(self.segment)
    }

    /// The unit of CSCD descriptor `id` (resolved by `begin_copy` for every
    /// segment).
    fn unit(&self, id: u16) -> Option<&Mapped> {
        self.units.get(usize::from(id)).and_then(Option::as_ref)
    }
}

/// The logical unit the next call goes to (None when none is left).
pub fn unit_of_next_call(cp: &CopySteps) -> Option<&Mapped> {
    let s = cp.current()?;
    match cp.phase {
        Phase::Read => cp.unit(s.src),
        Phase::Write => cp.unit(s.dst),
    }
}

/// Checks the next call as the one before it was checked (any context): the
/// unit is not going away, and no reservation taken since the copy began
/// forbids the nexus (`port`) to read the source or write the destination.
/// A reservation conflict ends the copy as one found before it began does;
/// the blocks copied by then stay.
pub fn check_next_call(cp: &CopySteps, port: &crate::scsi::pr::Port) -> Result<(), Sense> {
    let Some(m) = unit_of_next_call(cp) else { return Ok(()) };
    if m.dev.dying.load(core::sync::atomic::Ordering::Relaxed) {
        return Err(xcopy::COPY_TARGET_NOT_REACHABLE);
    }
    let access = match cp.phase {
        Phase::Read => crate::scsi::pr::Access::Read,
        Phase::Write => crate::scsi::pr::Access::Write,
    };
    if m.dev.reservations.conflicts(port, || access) {
        return Err(crate::cmd::CONFLICT);
    }
    Ok(())
}

/// The destination whose write gate the next call needs a pass of: Some
/// for a WRITE.
pub fn destination_of_next_call(cp: &CopySteps) -> Option<&DeviceRef> {
    match cp.phase {
        Phase::Write => unit_of_next_call(cp).map(|m| &m.dev),
        Phase::Read => None,
    }
}

/// The next call, lending it the buffer; asking again before [`record`]
/// gives the same call.
pub fn next_call(cp: &mut CopySteps, data: &mut crate::sys::ops::DataBuf) -> Next {
    let Some(s) = cp.current().copied() else { return Next::Done };
    let Some(shift) = unit_of_next_call(cp).map(|m| m.dev.geo.block_shift) else {
        return Next::Fail(Sense::INTERNAL_TARGET_FAILURE);
    };
    let (start, blocks) = chunk(cp, &s, shift);
    let (op, lba) = match cp.phase {
        Phase::Read => {
            if cp.zero_reads {
                cp.spare.zero((blocks as usize) << shift);
            }
            (io_op::READ, s.src_lba + start)
        }
        Phase::Write => (io_op::WRITE, s.dst_lba + start),
    };
    cp.spare.lend(data);
    Next::Call { op, lba, blocks, fua: false }
}

/// The call [`next_call`] made completed with GOOD: the buffer back, and on
/// to the next call.
pub fn record(cp: &mut CopySteps, data: &mut crate::sys::ops::DataBuf, data_len: &mut u32) {
    cp.spare.restore(data, data_len);
    let Some(s) = cp.current().copied() else { return };
    cp.phase = match cp.phase {
        Phase::Read => Phase::Write,
        Phase::Write => {
            let shift = unit_of_next_call(cp).map_or(0, |m| m.dev.geo.block_shift);
            let blocks = chunk(cp, &s, shift).1;
            cp.copied += blocks;
            if cp.copied >= u32::from(s.blocks) {
                cp.segment += 1;
                cp.copied = 0;
            }
            Phase::Read
        }
    };
}

/// The chunk of segment `s` its READ and WRITE move next, once `copied`
/// blocks of it were, with blocks of `1 << shift` bytes: `(offset in the
/// segment, blocks)`. From the segment's start, but from its end where the
/// destination overlaps the source further on in the same unit, so that no
/// chunk reads blocks an earlier one overwrote.
fn chunk(cp: &CopySteps, s: &Segment, shift: u32) -> (u64, u32) {
    let total = u32::from(s.blocks);
    let blocks = (CHUNK_BYTES >> shift).max(1).min(total - cp.copied);
    let same_unit = match (cp.unit(s.src), cp.unit(s.dst)) {
        (Some(a), Some(b)) => core::ptr::eq::<crate::device::Device>(&*a.dev, &*b.dev),
        _ => false,
    };
    let overlaps_ahead = s.dst_lba > s.src_lba && s.dst_lba < s.src_lba + u64::from(total);
    if same_unit && overlaps_ahead {
        (u64::from(total - cp.copied - blocks), blocks)
    } else {
        (u64::from(cp.copied), blocks)
    }
}

/// Gives back what the copy borrowed (any context): the command's buffer
/// and block size, the spare buffer to the SGV cache, the units' counts.
pub fn put_back(c: &mut Cmd) {
    let crate::steps::Steps::Copy(cp) = &mut c.steps else { return };
    cp.spare.restore(&mut c.data, &mut c.desc.data_len);
    c.desc.block_shift = cp.block_shift;
    cp.spare.free(&c.session.target.fabric.core.sgv);
}
