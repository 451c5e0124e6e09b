// SPDX-License-Identifier: GPL-2.0
//! SCSI devices of the midlayer, found by `H:C:I:L`, and commands passed to
//! them: each command's CDB goes to the device in a pass-through request
//! whose data is the command's own pages (no copy); the request's end (in
//! softirq, hard IRQ or a thread) completes the command with the device's
//! status, sense and residual, verbatim.

use super::client::RawCmd;
use crate::abi::dir;
use core::ffi::c_void;
use core::ptr::NonNull;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::{code, Error, Result};
use kernel::prelude::*;

/// Opaque: `struct scsi_device`.
#[repr(C)]
pub struct ScsiDeviceRaw {
    _opaque: [u8; 0],
}

/// Opaque: `struct request`.
#[repr(C)]
struct Request {
    _opaque: [u8; 0],
}

// helpers.c.
extern "C" {
    fn rscst_sys_pt_lookup(host: u32, channel: u32, id: u32, lun: u64) -> *mut ScsiDeviceRaw;
    fn rscst_sys_pt_put(sdev: *mut ScsiDeviceRaw);
    fn rscst_sys_pt_type(sdev: *mut ScsiDeviceRaw) -> u8;
    fn rscst_sys_pt_gone(sdev: *mut ScsiDeviceRaw) -> bool;
    fn rscst_sys_pt_alloc(
        sdev: *mut ScsiDeviceRaw,
        write: bool,
        cdb: *const u8,
        cdb_len: u32,
        timeout_ms: u32,
        retries: i32,
    ) -> *mut Request;
    fn rscst_sys_pt_map(rq: *mut Request, sgl: *mut c_void, nents: u32, len: u32, write: bool) -> i32;
    fn rscst_sys_pt_map_kern(rq: *mut Request, buf: *mut u8, len: u32) -> i32;
    fn rscst_sys_pt_max_bytes(sdev: *mut ScsiDeviceRaw) -> u64;
    fn rscst_sys_pt_free(rq: *mut Request);
    fn rscst_sys_pt_execute(rq: *mut Request, data: *mut c_void, at_head: bool);
    fn rscst_sys_pt_execute_sync(
        sdev: *mut ScsiDeviceRaw,
        cdb: *const u8,
        cdb_len: u32,
        buf: *mut u8,
        len: u32,
        timeout_ms: u32,
    ) -> i32;
}

/// Sense key, additional sense code and qualifier.
pub type Sense = (u8, u8, u8);

/// How a command ends that the device never answered.
#[derive(Clone, Copy)]
pub struct OnFailure {
    /// The device was removed from the midlayer.
    pub device_gone: Sense,
    /// The device did not answer in time.
    pub timed_out: Sense,
    /// The path to the device failed (the host driver's error).
    pub transport: Sense,
    /// The target failed: no memory, or a buffer the device cannot take
    /// in one request.
    pub internal: Sense,
}

/// How a command is sent.
#[derive(Clone, Copy)]
pub struct Dispatch {
    /// Time the device has to answer.
    pub timeout_ms: u32,
    /// Times the midlayer may resend it after a transport error (0 for
    /// commands that must not run twice, as a tape's).
    pub retries: i32,
    /// Ahead of the device's queued commands (HEAD OF QUEUE).
    pub at_head: bool,
    /// Applied to the data the device returned with GOOD.
    pub fixup: Option<Fixup>,
}

/// A change to the first bytes of the data a device returned: `apply`
/// gets at most `len` of them (as many as came) and `arg`.
#[derive(Clone, Copy)]
pub struct Fixup {
    /// How many of the first bytes `apply` looks at.
    pub len: usize,
    /// The change.
    pub apply: fn(&mut [u8], u32),
    /// Its argument.
    pub arg: u32,
}

/// A SCSI device of the midlayer, referenced (with its host driver's
/// module) while this exists. The device may still be removed meanwhile:
/// its commands then fail.
///
/// # Invariants
/// `sdev` came from `scsi_device_lookup` and holds the reference it
/// took, dropped once.
pub struct ScsiDevice {
    sdev: NonNull<ScsiDeviceRaw>,
}

// SAFETY: a referenced scsi_device may be used and released from any thread.
unsafe impl Send for ScsiDevice {}
// SAFETY: requests may be sent to it from any thread at once.
unsafe impl Sync for ScsiDevice {}

/// The midlayer's result word of a request: status byte, host byte.
struct ScsiResult(i32);

/// The midlayer's `DID_OK`, `DID_NO_CONNECT`, `DID_TIME_OUT`.
const DID_OK: u8 = 0x00;
const DID_NO_CONNECT: u8 = 0x01;
const DID_TIME_OUT: u8 = 0x03;
/// SAM status GOOD and CHECK CONDITION.
const GOOD: u8 = 0x00;
const CHECK_CONDITION: u8 = 0x02;
/// The most bytes a [`Fixup`] looks at.
pub const FIXUP_MAX: usize = 64;

impl ScsiResult {
    fn status(&self) -> u8 {
        (self.0 & 0xFF) as u8
    }
    fn host(&self) -> u8 {
        ((self.0 >> 16) & 0xFF) as u8
    }
}

impl ScsiDevice {
    /// The device at `host:channel:id:lun`, ENODEV when there is none (or
    /// it is being removed). Thread context.
    pub fn lookup(host: u32, channel: u32, id: u32, lun: u64) -> Result<Self> {
        // SAFETY: plain lookup; a non-null result carries a reference.
        let p = unsafe { rscst_sys_pt_lookup(host, channel, id, lun) };
        // INVARIANT: referenced by the lookup.
        NonNull::new(p).map(|sdev| ScsiDevice { sdev }).ok_or(code::ENODEV)
    }

    /// The peripheral device type (0 disk, 1 tape, 5 CD/DVD...).
    pub fn device_type(&self) -> u8 {
        // SAFETY: referenced (invariant).
        unsafe { rscst_sys_pt_type(self.sdev.as_ptr()) }
    }

    /// The most bytes one request of the device moves (its host's
    /// maximum transfer).
    pub fn max_bytes(&self) -> u64 {
        // SAFETY: referenced (invariant).
        unsafe { rscst_sys_pt_max_bytes(self.sdev.as_ptr()) }
    }

    /// Whether the device was removed from the midlayer.
    pub fn is_gone(&self) -> bool {
        // SAFETY: referenced (invariant).
        unsafe { rscst_sys_pt_gone(self.sdev.as_ptr()) }
    }

    /// Sends `cdb` and waits for at most `buf.len()` bytes of data in
    /// `buf`: Ok with the status byte, or the error that kept it from the
    /// device (EIO for a transport error). Thread context.
    pub fn query(&self, cdb: &[u8], buf: &mut KVec<u8>, timeout_ms: u32) -> Result<u8> {
        // SAFETY: referenced (invariant); `buf` is kmalloc'ed (DMA-able)
        // and holds `len` bytes; the call waits for the request's end.
        let r = unsafe {
            rscst_sys_pt_execute_sync(
                self.sdev.as_ptr(),
                cdb.as_ptr(),
                cdb.len() as u32,
                buf.as_mut_ptr(),
                buf.len() as u32,
                timeout_ms,
            )
        };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        let r = ScsiResult(r);
        if r.host() != DID_OK {
            return Err(code::EIO);
        }
        Ok(r.status())
    }

    /// Sends `cmd`'s CDB with its buffer (`data_len` bytes, in the
    /// command's direction) to the device; the command completes when the
    /// device answers, as the device answered, or as `failed` says when it
    /// could not. Thread context (waits for a free tag).
    pub fn send(&self, mut cmd: RawCmd, how: Dispatch, failed: OnFailure) {
        if self.is_gone() {
            return cmd.complete_sense(failed.device_gone);
        }
        let Ok(pending) = KBox::new_uninit(GFP_KERNEL) else {
            return cmd.complete_sense(failed.internal);
        };
        let write = cmd.data_dir() == dir::WRITE;
        let len = if cmd.data_dir() == dir::NONE { 0 } else { cmd.data_len() };
        let cdb = cmd.cdb();
        // SAFETY: referenced (invariant); `cdb` is valid for its length
        // (copied into the request).
        let rq = unsafe {
            rscst_sys_pt_alloc(self.sdev.as_ptr(), write, cdb.as_ptr(), cdb.len() as u32, how.timeout_ms, how.retries)
        };
        let v = rq as isize;
        if rq.is_null() || (-4095..0).contains(&v) {
            let gone = v == -(code::ENODEV.to_errno() as isize) || self.is_gone();
            return cmd.complete_sense(if gone { failed.device_gone } else { failed.internal });
        }
        let mut bounce = None;
        if len != 0 {
            let (sg, nents) = cmd.sg().raw();
            // SAFETY: `rq` is ours, not executed; the buffer holds the
            // command's `data_len` bytes and stays the command's until it
            // completes, after the request ended.
            let r = unsafe { rscst_sys_pt_map(rq, sg.cast(), nents, len, write) };
            let mapped = match r {
                0 => true,
                // Ranges the device's DMA cannot take (a 6-byte READ BLOCK
                // LIMITS, an odd offset): through a buffer of our own.
                NOT_ALIGNED => match bounce_buffer(&mut cmd, write) {
                    Ok(mut buf) => {
                        // SAFETY: `rq` is ours and holds no bio; `buf` has
                        // `len` bytes and lives in the `Pending` until the
                        // request ended.
                        let r = unsafe { rscst_sys_pt_map_kern(rq, buf.as_mut_ptr(), len) };
                        bounce = Some(buf);
                        r == 0
                    }
                    Err(_) => false,
                },
                _ => false,
            };
            if !mapped {
                // SAFETY: ours, never executed; frees it and its bios.
                unsafe { rscst_sys_pt_free(rq) };
                return cmd.complete_sense(failed.internal);
            }
        }
        let pending = KBox::write(pending, Pending { cmd, sdev: self.sdev, failed, bounce, write, fixup: how.fixup });
        // SAFETY: `rq` is ours with its CDB and pages; `rscst_pt_done` gets
        // the `Pending` back exactly once, when the request ended.
        unsafe { rscst_sys_pt_execute(rq, KBox::into_raw(pending).cast(), how.at_head) };
    }
}

impl Drop for ScsiDevice {
    fn drop(&mut self) {
        // SAFETY: the lookup's reference (invariant), given back once.
        unsafe { rscst_sys_pt_put(self.sdev.as_ptr()) };
    }
}

/// [`rscst_sys_pt_map`]'s answer for a buffer to bounce.
const NOT_ALIGNED: i32 = 1;

/// The largest copy of a command's data: one bio of the kernel's most
/// pages (`BIO_MAX_VECS`). Kmalloc'ed, so that its end may free it in any
/// context (a vmalloc'ed one could not be freed where a driver completes
/// inline, under RCU).
const BOUNCE_MAX: usize = 256 << 12;

/// A copy of `cmd`'s buffer (of its write data) for a request.
fn bounce_buffer(cmd: &mut RawCmd, write: bool) -> Result<KVec<u8>> {
    let len = cmd.data_len() as usize;
    if len > BOUNCE_MAX {
        return Err(code::EINVAL);
    }
    let mut buf = KVec::from_elem(0u8, len, GFP_KERNEL)?;
    if write {
        cmd.sg().copy_to(&mut buf);
    }
    Ok(buf)
}

/// A command whose request is at the device.
struct Pending {
    cmd: RawCmd,
    /// The data's copy, when the request moves it rather than the
    /// command's pages: read data is copied back at the end.
    bounce: Option<KVec<u8>>,
    write: bool,
    fixup: Option<Fixup>,
    /// The device, referenced until the command completes (a device is
    /// released only once none of its commands is left).
    sdev: NonNull<ScsiDeviceRaw>,
    failed: OnFailure,
}

/// A request of [`ScsiDevice::send`] ended (any context): completes its
/// command with what the device answered.
///
/// # Safety
/// Called by helpers.c once per executed request, with the `Pending` it
/// was sent with and the request's sense buffer valid for `sense_len`
/// bytes during the call.
#[no_mangle]
unsafe extern "C" fn rscst_pt_done(data: *mut c_void, result: i32, sense: *const u8, sense_len: u32, resid: u32) {
    // SAFETY: the box `send` leaked for this request, taken back once.
    let Pending { mut cmd, sdev, failed, bounce, write, fixup } =
        KBox::into_inner(unsafe { KBox::from_raw(data.cast::<Pending>()) });
    // (sg copies map pages atomically, and kfree frees: any context.)
    if let (Some(buf), false) = (&bounce, write) {
        cmd.sg().copy_from(buf);
    }
    drop(bounce);
    let r = ScsiResult(result);
    match r.host() {
        DID_OK => {
            if let (Some(f), GOOD) = (fixup, r.status()) {
                let came = (cmd.data_len() as usize).saturating_sub(resid as usize).min(f.len);
                let mut head = [0u8; FIXUP_MAX];
                let head = &mut head[..came.min(FIXUP_MAX)];
                let n = cmd.sg().copy_to(head);
                (f.apply)(&mut head[..n], f.arg);
                cmd.sg().copy_from(&head[..n]);
            }
            let sense: &[u8] = if r.status() == CHECK_CONDITION && sense_len != 0 {
                // SAFETY: per the caller.
                unsafe { core::slice::from_raw_parts(sense, sense_len as usize) }
            } else {
                &[]
            };
            cmd.complete(r.status(), sense, i32::try_from(resid).unwrap_or(i32::MAX))
        }
        // SAFETY: the device is referenced until its commands completed.
        h if h == DID_NO_CONNECT || unsafe { rscst_sys_pt_gone(sdev.as_ptr()) } => {
            cmd.complete_sense(failed.device_gone)
        }
        DID_TIME_OUT => cmd.complete_sense(failed.timed_out),
        _ => cmd.complete_sense(failed.transport),
    }
}
