// SPDX-License-Identifier: GPL-2.0
//! Commands the core carries out as a series of calls into the handler's
//! block tier, one at a time: UNMAP (a DISCARD per range of its parameter
//! list), WRITE SAME (writes of a buffer filled with the block, or one
//! DISCARD) and GET LBA STATUS (an LBA_STATUS per descriptor).
//!
//! `crate::cmd` drives them: it asks [`next`] for the next call, makes it,
//! and hands each completion to [`record`]. The plans are built by the
//! `begin_*` functions in a thread (they allocate); everything else runs in
//! any context.

use crate::abi::{io_op, provisioning as handler_provisioning};
use crate::cmd::Cmd;
use crate::scsi::device::DeviceParams;
use crate::scsi::provisioning::{self, UnmapList, WriteSame};
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
    },
    /// Nothing left: [`finish`] writes the answer.
    Done,
}

/// UNMAP (thread context): copies and checks the parameter list; nothing is
/// deallocated unless all of it is valid.
pub fn begin_unmap(c: &mut Cmd, param_len: u16) -> Result<(), Sense> {
    let num_blocks = c.mapped.as_ref().map_or(0, |m| m.dev.geo.num_blocks);
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
    if !ndob && c.data.list().copy_to(&mut block) != block_size {
        return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
    }
    if provisioning::write_same_plan(unmap, ndob, &block) == WriteSame::Deallocate {
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

/// The next handler call of `c` (any context); `num_blocks` is the device's
/// capacity.
pub fn next(c: &mut Cmd, num_blocks: u64) -> Next {
    match &mut c.steps {
        Steps::Idle => Next::Done,
        Steps::Unmap { list, param_len, next } => {
            // Checked when the plan was made: parsing again cannot fail.
            let range = UnmapList::parse(list, *param_len, &device_of(num_blocks))
                .ok()
                .and_then(|l| l.range(*next));
            match range {
                Some((lba, blocks)) => {
                    *next += 1;
                    Next::Call { op: io_op::DISCARD, lba, blocks }
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
            Next::Call { op: io_op::WRITE, lba: at, blocks }
        }
        Steps::Discard { lba, blocks, done } => {
            if *done {
                return Next::Done;
            }
            *done = true;
            Next::Call { op: io_op::DISCARD, lba: *lba, blocks: *blocks }
        }
        Steps::LbaStatus { found, lba, max, calls, .. } => {
            if found.len() >= *max as usize || *lba >= num_blocks || *calls >= LBA_STATUS_CALLS {
                return Next::Done;
            }
            *calls += 1;
            let left = u32::try_from(num_blocks - *lba).unwrap_or(u32::MAX);
            Next::Call { op: io_op::LBA_STATUS, lba: *lba, blocks: left }
        }
    }
}

/// A call made by [`next`] completed with GOOD (any context): keeps what it
/// answered. The handler's answer is checked: a run of no block counts as
/// one, one beyond the last block (of `num_blocks`) ends there, and an
/// unknown state counts as mapped.
pub fn record(c: &mut Cmd, num_blocks: u64) {
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
/// command's buffer and returns the bytes written (0 for the others).
pub fn finish(c: &mut Cmd) -> Result<usize, Sense> {
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
