// SPDX-License-Identifier: GPL-2.0
//! Commands the core carries out as a series of calls into the handler's
//! block tier, one at a time: UNMAP (a DISCARD per range of its parameter
//! list), WRITE SAME (writes of a buffer filled with the block, or one
//! DISCARD), GET LBA STATUS (an LBA_STATUS per descriptor) and the
//! read-backs of `crate::scsi::readback` (VERIFY and WRITE AND VERIFY with
//! BYTCHK, COMPARE AND WRITE, PRE-FETCH: reads into a spare buffer, each
//! compared with the data-out buffer before the next call, and writes) and
//! EXTENDED COPY (`crate::copy`: reads from one device, writes to another).
//!
//! `crate::cmd` drives them: it asks [`next`] for the next call, makes it,
//! and hands each completion to [`record`]. The plans are built by the
//! `begin_*` functions in a thread (they allocate); everything else runs in
//! any context.

use crate::abi::{io_op, provisioning as handler_provisioning};
use crate::cmd::Cmd;
use crate::scsi::device::DeviceParams;
use crate::scsi::provisioning::{self, UnmapList, WriteSame};
use crate::scsi::readback::{self, Compare, ReadBack, Write};
use crate::scsi::sense::Sense;
use crate::sys::ops::DataBuf;
use kernel::alloc::flags::{GFP_ATOMIC, GFP_KERNEL};
use kernel::prelude::*;

/// Bytes of the buffer WRITE SAME fills with the block and writes again and
/// again.
const FILL_BYTES: u32 = 1 << 20;
/// The most LBA_STATUS calls one GET LBA STATUS makes: a handler answering
/// in short runs of one state (merged into one descriptor) cannot keep a
/// thread busy for the whole device; the answer then ends where they did.
const LBA_STATUS_CALLS: u32 = 1024;
/// Bytes one READ of a read-back reads at most (COMPARE AND WRITE reads all
/// its blocks at once: at most 255 of them).
const READ_BACK_CHUNK: u32 = 1 << 20;

/// What is left to do of a command the core runs as several handler calls.
#[derive(Default)]
pub enum Steps {
    /// Not such a command.
    #[default]
    Idle,
    /// UNMAP: its parameter list, already checked, and the next range.
    Unmap {
        /// The parameter list as received.
        list: KVec<u8>,
        /// Length the CDB gave it.
        param_len: u16,
        /// Index of the next range (of `UnmapList::ranges`).
        next: usize,
    },
    /// WRITE SAME by writing the command's buffer (a chunk of copies of the
    /// block) from `lba` until `end`.
    Fill {
        /// The next block to write.
        lba: u64,
        /// One past the last block.
        end: u64,
        /// Blocks the buffer holds.
        chunk: u32,
    },
    /// One DISCARD of `blocks` at `lba` (WRITE SAME with UNMAP), not made yet.
    Discard {
        /// First block.
        lba: u64,
        /// Blocks (at least one).
        blocks: u32,
        /// Made already.
        done: bool,
    },
    /// GET LBA STATUS: the descriptors found so far (room for `max`
    /// reserved), and the next block to ask about.
    LbaStatus {
        /// `(lba, blocks, provisioning status)`, ascending and contiguous.
        found: KVec<(u64, u32, u8)>,
        /// The next block to ask about.
        lba: u64,
        /// Descriptors wanted.
        max: u32,
        /// Allocation length of the CDB.
        alloc_len: u32,
        /// Calls made so far.
        calls: u32,
    },
    /// A read-back (`crate::scsi::readback`).
    ReadBack(ReadBackSteps),
    /// EXTENDED COPY (`crate::copy`).
    Copy(crate::copy::CopySteps),
}

/// A buffer of the core that a command's calls use in place of the
/// command's own: lent to the command for a call (its own kept here), given
/// back after it.
pub struct Spare {
    buf: DataBuf,
    /// `buf` holds the command's buffer, the command the spare one.
    lent: bool,
    /// The command's buffer's length (`CmdDesc::data_len` as received).
    data_len: u32,
}

impl Spare {
    /// A spare buffer of `len` bytes for `c` (thread context).
    pub fn alloc(c: &Cmd, len: u64) -> Result<Self, Sense> {
        let buf = c.session.target.fabric.core.sgv.alloc(len, false).map_err(|_| crate::cmd::BUSY)?;
        Ok(Spare { buf: DataBuf::owned(buf, len), lent: false, data_len: c.desc.data_len })
    }

    /// The spare buffer, while not lent.
    pub fn list(&mut self) -> crate::sys::sg::SgList<'_> {
        self.buf.list()
    }

    /// Zeroes the first `len` bytes of the spare buffer; nothing while it
    /// is lent (it was zeroed before it was).
    pub fn zero(&mut self, len: usize) {
        if !self.lent {
            self.buf.list().zero(len);
        }
    }

    /// Lends the spare buffer to the command for a call.
    pub fn lend(&mut self, data: &mut DataBuf) {
        if !self.lent {
            core::mem::swap(&mut self.buf, data);
            self.lent = true;
        }
    }

    /// Gives the command its own buffer and length back after a call.
    pub fn restore(&mut self, data: &mut DataBuf, data_len: &mut u32) {
        if self.lent {
            core::mem::swap(&mut self.buf, data);
            self.lent = false;
        }
        *data_len = self.data_len;
    }

    /// Returns the spare buffer to the SGV cache (after [`Spare::restore`]).
    pub fn free(&mut self, sgv: &crate::sgv::Sgv) {
        if let Some(b) = self.buf.take_owned() {
            sgv.free(b);
        }
    }
}

/// Where a read-back is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// WRITE AND VERIFY: the data-out buffer is written first.
    WriteFirst,
    /// Reading (and comparing) from `next`.
    Reading,
    /// COMPARE AND WRITE: every block compared equal; the second half of
    /// the data-out buffer is written.
    WriteAfter,
    /// Nothing left.
    Done,
}

/// A read-back in progress.
pub struct ReadBackSteps {
    plan: ReadBack,
    stage: Stage,
    /// Where reads go (and what COMPARE AND WRITE writes from): lent to
    /// the command for such a call.
    spare: Spare,
    /// Blocks one READ reads at most.
    chunk: u32,
    /// The next block to read.
    next: u64,
    /// Blocks read by the last call, not compared yet: `(lba, blocks)`.
    unchecked: Option<(u64, u32)>,
    /// The handler may leave a READ's buffer untouched (no `FILLS_READS`
    /// promise): the spare buffer, which held another command's data, is
    /// zeroed before each READ, or stale bytes would be compared.
    zero_reads: bool,
}

impl Steps {
    /// Whether the command is one of these.
    pub fn running(&self) -> bool {
        !matches!(self, Steps::Idle)
    }
}

/// The next handler call.
pub enum Next {
    /// Call the block tier with `op` on `blocks` at `lba`.
    Call {
        /// An [`io_op`] value.
        op: u8,
        /// First block.
        lba: u64,
        /// Blocks.
        blocks: u32,
        /// Force unit access (a write the command asks to reach the medium).
        fua: bool,
    },
    /// Nothing left: [`finish`] writes the answer.
    Done,
    /// The command fails with this sense (a read-back's miscompare).
    Fail(Sense),
}

/// UNMAP (thread context): copies and checks the parameter list; nothing is
/// deallocated unless all of it is valid.
pub fn begin_unmap(c: &mut Cmd, param_len: u16) -> Result<(), Sense> {
    let num_blocks = c.mapped.as_ref().map_or(0, |m| m.dev.num_blocks());
    let list = crate::cmd::param_list(c, param_len)?;
    UnmapList::parse(&list, param_len, &device_of(num_blocks))?;
    c.steps = Steps::Unmap { list, param_len, next: 0 };
    Ok(())
}

/// WRITE SAME (thread context): deallocation where
/// [`provisioning::write_same_plan`] allows it, else writes of a buffer
/// filled with the block received (zeros with NDOB), which replaces the
/// command's buffer.
pub fn begin_write_same(c: &mut Cmd, lba: u64, blocks: u32, unmap: bool, ndob: bool) -> Result<(), Sense> {
    let block_size = 1usize << c.desc.block_shift;
    let mut block = KVec::new();
    block.extend_with(block_size, 0u8, GFP_KERNEL).map_err(|_| crate::cmd::BUSY)?;
    let received = if ndob { 0 } else { c.data.list().copy_to(&mut block) };
    if provisioning::write_same_plan(unmap, ndob, block.get(..received).unwrap_or(&[]), block_size)? == WriteSame::Deallocate {
        c.steps = Steps::Discard { lba, blocks, done: false };
        return Ok(());
    }
    let chunk = blocks.min(FILL_BYTES >> c.desc.block_shift);
    let len = (chunk as usize) << c.desc.block_shift;
    let mut pattern = KVVec::with_capacity(len, GFP_KERNEL).map_err(|_| crate::cmd::BUSY)?;
    for _ in 0..chunk {
        pattern.extend_from_slice(&block, GFP_KERNEL).map_err(|_| crate::cmd::BUSY)?;
    }
    let sgv = &c.session.target.fabric.core.sgv;
    let buf = sgv.alloc(len as u64, false).map_err(|_| crate::cmd::BUSY)?;
    let mut fill = DataBuf::owned(buf, len as u64);
    fill.list().copy_from(&pattern);
    // The block received is no longer needed: the filled buffer replaces it.
    let mut received = core::mem::replace(&mut c.data, fill);
    if let Some(b) = received.take_owned() {
        sgv.free(b);
    }
    c.steps = Steps::Fill { lba, end: lba + u64::from(blocks), chunk };
    Ok(())
}

/// GET LBA STATUS (thread context) from `lba`, with room for as many
/// descriptors as `alloc_len` holds.
pub fn begin_lba_status(c: &mut Cmd, lba: u64, alloc_len: u32) -> Result<(), Sense> {
    let max = provisioning::lba_status_descriptors(alloc_len);
    let found = KVec::with_capacity(max as usize, GFP_KERNEL).map_err(|_| crate::cmd::BUSY)?;
    c.steps = Steps::LbaStatus { found, lba, max, alloc_len, calls: 0 };
    Ok(())
}

/// A read-back (thread context): a spare buffer for the reads, as large as
/// one READ of it (all of COMPARE AND WRITE's blocks: it writes them from
/// there).
pub fn begin_read_back(c: &mut Cmd, plan: ReadBack) -> Result<(), Sense> {
    let shift = c.desc.block_shift;
    let chunk = match plan.write {
        Write::After { .. } => plan.blocks,
        _ => plan.blocks.min((READ_BACK_CHUNK >> shift).max(1)),
    };
    let spare = Spare::alloc(c, u64::from(chunk) << shift)?;
    let stage = match plan.write {
        Write::Before { .. } => Stage::WriteFirst,
        _ => Stage::Reading,
    };
    let zero_reads = c.mapped.as_ref().is_none_or(|m| !m.dev.fills_reads());
    c.steps = Steps::ReadBack(ReadBackSteps {
        plan,
        stage,
        spare,
        chunk,
        next: plan.lba,
        unchecked: None,
        zero_reads,
    });
    Ok(())
}

/// The next call of a read-back, after comparing what the last one read.
fn next_read_back(rb: &mut ReadBackSteps, data: &mut DataBuf, shift: u32) -> Next {
    if let Some((lba, blocks)) = rb.unchecked.take() {
        if let Some(offset) = compare(rb, data, lba, blocks, shift) {
            rb.stage = Stage::Done;
            return Next::Fail(readback::miscompare(offset));
        }
    }
    let end = rb.plan.lba + u64::from(rb.plan.blocks);
    loop {
        match (rb.stage, rb.plan.write) {
            (Stage::WriteFirst, Write::Before { fua }) => {
                rb.stage = Stage::Reading;
                return Next::Call { op: io_op::WRITE, lba: rb.plan.lba, blocks: rb.plan.blocks, fua };
            }
            (Stage::Reading, _) if rb.next < end => {
                let blocks = u64::from(rb.chunk).min(end - rb.next) as u32;
                let lba = rb.next;
                rb.next += u64::from(blocks);
                rb.unchecked = (rb.plan.compare != Compare::Nothing).then_some((lba, blocks));
                if rb.zero_reads {
                    rb.spare.zero((blocks as usize) << shift);
                }
                rb.spare.lend(data);
                return Next::Call { op: io_op::READ, lba, blocks, fua: false };
            }
            (Stage::Reading, Write::After { .. }) => rb.stage = Stage::WriteAfter,
            (Stage::WriteAfter, Write::After { fua }) => {
                rb.stage = Stage::Done;
                // The blocks to write follow those to compare.
                let len = (rb.plan.blocks as usize) << shift;
                let copied = crate::sys::pages::sg_copy(&mut rb.spare.list(), &data.list(), len, len);
                if copied != len {
                    return Next::Fail(Sense::INTERNAL_TARGET_FAILURE);
                }
                rb.spare.lend(data);
                return Next::Call { op: io_op::WRITE, lba: rb.plan.lba, blocks: rb.plan.blocks, fua };
            }
            _ => {
                rb.stage = Stage::Done;
                return Next::Done;
            }
        }
    }
}

/// Compares `blocks` read at `lba` (at the start of the spare buffer) with
/// what the plan compares them with; the offset of the first differing byte
/// in the data-out buffer (for a single block compared with every block
/// read, in the range verified).
fn compare(rb: &mut ReadBackSteps, data: &mut DataBuf, lba: u64, blocks: u32, shift: u32) -> Option<u64> {
    let start = ((lba - rb.plan.lba) as usize) << shift;
    let len = (blocks as usize) << shift;
    let (read, sent) = (rb.spare.list(), data.list());
    match rb.plan.compare {
        Compare::Nothing => None,
        Compare::Buffer => crate::sys::pages::sg_compare(&read, 0, &sent, start, len).map(|i| (start + i) as u64),
        Compare::EveryBlock => {
            let block = 1usize << shift;
            (0..blocks as usize).find_map(|k| {
                crate::sys::pages::sg_compare(&read, k * block, &sent, 0, block).map(|i| (start + k * block + i) as u64)
            })
        }
    }
}

/// Puts a read-back's or a copy's buffers back (any context): the
/// command's own in place with its length, the spare one returned to the
/// SGV cache.
fn put_back(c: &mut Cmd) {
    let Steps::ReadBack(rb) = &mut c.steps else { return crate::copy::put_back(c) };
    rb.spare.restore(&mut c.data, &mut c.desc.data_len);
    rb.spare.free(&c.session.target.fabric.core.sgv);
}

/// Ends the steps of `c` (any context): no more calls; what a read-back
/// borrowed is given back.
pub fn clear(c: &mut Cmd) {
    put_back(c);
    c.steps = Steps::Idle;
}

/// The device the next handler call of `c` goes to: the command's own but
/// for an EXTENDED COPY's (its own too once the copy is done, when [`next`]
/// has no call left).
pub fn device_of_next_call(c: &Cmd) -> Option<&crate::lun::Mapped> {
    match &c.steps {
        Steps::Copy(cp) => crate::copy::unit_of_next_call(cp).or(c.mapped.as_ref()),
        _ => c.mapped.as_ref(),
    }
}

/// The next handler call of `c` (any context); `num_blocks` is the device's
/// capacity.
pub fn next(c: &mut Cmd, num_blocks: u64) -> Next {
    let shift = c.desc.block_shift;
    match &mut c.steps {
        Steps::Idle => Next::Done,
        Steps::ReadBack(rb) => next_read_back(rb, &mut c.data, shift),
        Steps::Copy(cp) => crate::copy::next_call(cp, &mut c.data),
        Steps::Unmap { list, param_len, next } => {
            // Checked when the plan was made: parsing again cannot fail.
            let range = UnmapList::parse(list, *param_len, &device_of(num_blocks))
                .ok()
                .and_then(|l| l.range(*next));
            match range {
                Some((lba, blocks)) => {
                    *next += 1;
                    Next::Call { op: io_op::DISCARD, lba, blocks, fua: false }
                }
                None => Next::Done,
            }
        }
        Steps::Fill { lba, end, chunk } => {
            if *lba >= *end {
                return Next::Done;
            }
            let blocks = u64::from(*chunk).min(*end - *lba) as u32;
            let at = *lba;
            *lba += u64::from(blocks);
            Next::Call { op: io_op::WRITE, lba: at, blocks, fua: false }
        }
        Steps::Discard { lba, blocks, done } => {
            if *done {
                return Next::Done;
            }
            *done = true;
            Next::Call { op: io_op::DISCARD, lba: *lba, blocks: *blocks, fua: false }
        }
        Steps::LbaStatus { found, lba, max, calls, .. } => {
            if found.len() >= *max as usize || *lba >= num_blocks || *calls >= LBA_STATUS_CALLS {
                return Next::Done;
            }
            *calls += 1;
            let left = u32::try_from(num_blocks - *lba).unwrap_or(u32::MAX);
            Next::Call { op: io_op::LBA_STATUS, lba: *lba, blocks: left, fua: false }
        }
    }
}

/// A call made by [`next`] completed with GOOD (any context): keeps what it
/// answered. The handler's answer is checked: a run of no block counts as
/// one, one beyond the last block (of `num_blocks`) ends there, and an
/// unknown state counts as mapped.
pub fn record(c: &mut Cmd, num_blocks: u64) {
    match &mut c.steps {
        // The spare buffer goes back where `next` expects it.
        Steps::ReadBack(rb) => return rb.spare.restore(&mut c.data, &mut c.desc.data_len),
        Steps::Copy(cp) => return crate::copy::record(cp, &mut c.data, &mut c.desc.data_len),
        _ => {}
    }
    let (answered, state) = (c.desc.blocks, c.desc.provisioning);
    if let Steps::LbaStatus { found, lba, .. } = &mut c.steps {
        if c.desc.io_op != io_op::LBA_STATUS {
            return;
        }
        let left = u32::try_from(num_blocks.saturating_sub(*lba)).unwrap_or(u32::MAX);
        let blocks = answered.clamp(1, left.max(1));
        let status = if state == handler_provisioning::DEALLOCATED {
            provisioning::DEALLOCATED
        } else {
            provisioning::MAPPED
        };
        let merged = match found.last_mut() {
            Some(last) if last.2 == status && last.0 + u64::from(last.1) == *lba => {
                match last.1.checked_add(blocks) {
                    Some(n) => {
                        last.1 = n;
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        };
        // Capacity was reserved for every descriptor: no allocation here.
        if !merged && found.push((*lba, blocks, status), GFP_ATOMIC).is_err() {
            return;
        }
        *lba += u64::from(blocks);
    }
}

/// All calls made (any context): writes GET LBA STATUS's answer into the
/// command's buffer and returns the bytes written (0 for the others); sets
/// a read-back's status (CONDITION MET for a PRE-FETCH that fit).
pub fn finish(c: &mut Cmd) -> Result<usize, Sense> {
    if let Steps::ReadBack(rb) = &c.steps {
        c.desc.status = rb.plan.status;
        return Ok(0);
    }
    let Steps::LbaStatus { found, alloc_len, .. } = &c.steps else { return Ok(0) };
    let descriptors = found.iter().copied();
    let len = (8 + 16 * found.len()).min(*alloc_len as usize);
    let mut out = KVec::new();
    out.extend_with(len, 0u8, GFP_ATOMIC).map_err(|_| crate::cmd::BUSY)?;
    let n = provisioning::encode_lba_status(descriptors, *alloc_len, &mut out);
    Ok(c.data.list().copy_from(&out[..n]))
}

/// A device of `num_blocks` blocks that deallocates, for re-reading an UNMAP
/// list checked against it before.
fn device_of(num_blocks: u64) -> DeviceParams<'static> {
    DeviceParams { num_blocks, thin_provisioned: true, ..DeviceParams::EMPTY }
}
