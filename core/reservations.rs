// SPDX-License-Identifier: GPL-2.0
//! The reservations of each device, SPC-2 and persistent (the rules are
//! `crate::scsi::pr`'s): what the data path checks every command against,
//! and the commands that change them (PERSISTENT RESERVE OUT, RESERVE,
//! RELEASE), answer them (PERSISTENT RESERVE IN) or drop them (resets and
//! nexus loss).
//!
//! Locking: the state is published under RCU ([`RcuArc`]), so the check
//! every command makes costs a load and nothing when nothing is reserved or
//! registered (the state is then absent). Changes are made one at a time
//! under the `writer` mutex, on a copy that replaces the published state
//! once the command succeeded: a command that fails changes nothing, and a
//! reader sees the old state or the new one. Effects on other I_T nexuses
//! (unit attentions, PREEMPT AND ABORT's aborts) follow publication, with
//! the mutex released. Thread context throughout, but for `conflicts`.

use crate::cmd::Cmd;
use crate::device::Device;
use crate::scsi::cdb::Op;
use crate::registry::Core;
use crate::scsi::pr::{Access, Answer, Notice, Port, Registration, Registrations, Reservations};
use crate::scsi::sense::Sense;
use crate::scsi::pr_file::FileError;
use crate::sys::compat::fmt;
use crate::sys::file::KernelFile;
use crate::sys::rcu::RcuArc;
use crate::sys::compat::NameBytes;
use kernel::str::CString;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::new_mutex;

/// A device's registrations, in the kernel: `slots[..used]` (6.12's
/// `KVec` cannot shrink, so a removal moves the rest down a slot and keeps
/// the last one for the next registration).
#[derive(Default)]
pub struct Registered {
    slots: KVec<Registration>,
    used: usize,
}

/// A device's reservations.
pub type State = Reservations<Registered>;

impl Registrations for Registered {
    fn list(&self) -> &[Registration] {
        self.slots.get(..self.used).unwrap_or(&[])
    }

    fn list_mut(&mut self) -> &mut [Registration] {
        self.slots.get_mut(..self.used).unwrap_or(&mut [])
    }

    fn add(&mut self, r: Registration) -> Result<(), Sense> {
        match self.slots.get_mut(self.used) {
            Some(slot) => *slot = r,
            None => self.slots.push(r, GFP_KERNEL).map_err(|_| crate::scsi::pr::INSUFFICIENT_REGISTRATION_RESOURCES)?,
        }
        self.used += 1;
        Ok(())
    }

    fn remove(&mut self, i: usize) {
        if let Some(tail) = self.slots.get_mut(i..self.used) {
            if !tail.is_empty() {
                tail.rotate_left(1);
                self.used -= 1;
            }
        }
    }
}

/// The reservations of one device.
#[pin_data]
pub struct DeviceReservations {
    /// What the data path checks; None while nothing is reserved or
    /// registered.
    published: RcuArc<State>,
    /// Held while changing the state.
    #[pin]
    writer: Mutex<Writer>,
}

/// What changes of the state need.
struct Writer {
    /// The state `published` shows (also when that is none: its
    /// PRgeneration counts on).
    state: Option<Arc<State>>,
    /// Where the state is kept through power loss, once the device is
    /// added.
    files: Option<PrFiles>,
}

/// The two files a device's persistent reservations are kept in while
/// APTPL is set (SCST's `pr_file_name` and its `.1`): written in turn, each
/// whole and synced before the next, so that a crash while one is written
/// leaves the other; the newest whole one is read back.
struct PrFiles {
    /// `pr_file_name`.
    path: CString,
    /// `pr_file_name` and `.1`.
    alt: CString,
    /// Set by an administrator (shown with `[key]`).
    explicit: bool,
    /// The number of the newest write found or made (0: none).
    seq: u64,
    /// The next write goes to `alt`.
    next_alt: bool,
    /// The newest file may restore something (its APTPL is set, or it
    /// could not be read): the next change is written, even one that
    /// clears APTPL, until a write succeeds.
    on_disk: bool,
}

/// The directory of the default files, as SCST's.
const PR_DIR: &str = "/var/lib/scst/pr";
/// The longest file read back.
const PR_FILE_MAX: usize = 1 << 20;
/// File errors are logged, but rate limited: every PERSISTENT RESERVE OUT
/// of an initiator may meet the same one.
static FILE_LOG: crate::ratelimit::RateLimit = crate::ratelimit::RateLimit::new(5, 60_000);

impl DeviceReservations {
    /// Nothing reserved or registered.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(DeviceReservations {
            published: RcuArc::new(None),
            writer <- new_mutex!(Writer { state: None, files: None }, "rscst_reservations"),
        })
    }

    /// Whether a command of `access` from the I_T nexus `port` conflicts
    /// with a reservation (any context; `access` is only computed when
    /// something is reserved or registered).
    pub fn conflicts(&self, port: &Port, access: impl FnOnce() -> Access) -> bool {
        self.published.read(|s| s.is_some_and(|s| s.conflicts(port, access())))
    }

    /// Runs `f` with the current state (thread context).
    pub fn with<R>(&self, f: impl FnOnce(Option<&State>) -> R) -> R {
        let w = self.writer.lock();
        f(w.state.as_deref())
    }

    /// Applies `change` to a copy of the state and publishes the copy if it
    /// answered GOOD; `notices` receives what other nexuses must hear of
    /// (thread context).
    fn change(&self, change: impl FnOnce(&mut State, &mut dyn FnMut(Notice)) -> Answer) -> Result<(Answer, KVec<Notice>), Sense> {
        crate::sys::context::assert_may_sleep();
        let mut w = self.writer.lock();
        let mut next = copy(w.state.as_deref())?;
        let mut notices = KVec::new();
        let mut lost = false;
        let answer = change(&mut next, &mut |n| lost |= notices.push(n, GFP_KERNEL).is_err());
        if answer != Answer::Good {
            return Ok((answer, KVec::new()));
        }
        if lost {
            pr_warn!("out of memory: a reservation change is not told to every initiator\n");
        }
        // The data path sees nothing once nothing is reserved or registered;
        // the writer keeps PRgeneration, which never goes back.
        let next = Arc::new(next, GFP_KERNEL).map_err(|_| crate::cmd::BUSY)?;
        let visible = if next.is_empty() { None } else { Some(next.clone()) };
        drop(self.published.replace(visible));
        // Kept through power loss while APTPL is set; once it is cleared,
        // a last write says so (and restores nothing).
        if let Some(files) = w.files.as_mut() {
            if next.aptpl || files.on_disk {
                files.save(&next);
            }
        }
        w.state = Some(next);
        Ok((answer, notices))
    }

    /// PERSISTENT RESERVE OUT from `port` (thread context): the answer,
    /// once every nexus it affects was told and, for PREEMPT AND ABORT,
    /// their commands at this device were aborted and are gone.
    pub fn persistent_reserve_out(&self, core: &Core, dev: &Device, port: &Port, cdb: &[u8], list: &[u8]) -> Result<Answer, Sense> {
        let cmd = crate::scsi::pr::parse_pr_out(cdb, list)?;
        let protocol = |rel_tgt: u16| core.rel_tgt_protocol(rel_tgt);
        let (answer, notices) = self.change(|s, notice| s.pr_out(port, &cmd, &protocol, notice))?;
        tell(core, dev, &notices, port);
        Ok(answer)
    }

    /// RESERVE(6/10) from `port`.
    pub fn reserve(&self, port: &Port) -> Result<Answer, Sense> {
        self.change(|s, _| s.reserve_spc2(port)).map(|(a, _)| a)
    }

    /// RELEASE(6/10) from `port`.
    pub fn release(&self, port: &Port) -> Result<Answer, Sense> {
        self.change(|s, _| s.release_spc2(port)).map(|(a, _)| a)
    }

    /// Drops the SPC-2 reservation: any (a reset of the logical unit or
    /// target) or only one `port` holds (its I_T nexus is gone). Thread
    /// context; without memory the reservation stays, and the log says so.
    pub fn drop_spc2(&self, port: Option<&Port>) {
        let held = self.published.read(|s| s.is_some_and(|s| s.spc2.as_ref().is_some_and(|h| port.is_none_or(|p| p == h))));
        if !held {
            return;
        }
        if self.change(|s, _| {
            s.reset_spc2(port);
            Answer::Good
        })
        .is_err()
        {
            pr_warn!("out of memory: an SPC-2 reservation was not released\n");
        }
    }
}

impl DeviceReservations {
    /// Takes `path` (None: the default, `/var/lib/scst/pr/<device>`) as
    /// where the device's reservations are kept, and restores what was kept
    /// there with APTPL set (management context, when the device is added
    /// and when `pr_file_name` is written). Files that cannot be read or
    /// are not whole restore nothing, and the log says why.
    pub fn load(&self, device: &CString, path: Option<&str>) -> Result {
        let explicit = path.is_some();
        let device = text_of(device);
        let path = match path {
            Some(p) => CString::try_from_fmt(fmt!("{}", p))?,
            None => CString::try_from_fmt(fmt!("{}/{}", PR_DIR, device))?,
        };
        let alt = CString::try_from_fmt(fmt!("{}.1", text_of(&path)))?;
        let mut newest: Option<(u64, bool, State)> = None;
        // A file that exists but cannot be read may be the newest: the next
        // change is written whatever it is, with a number from the clock.
        let mut unread = false;
        for (file, is_alt) in [(&path, false), (&alt, true)] {
            match read_state(file) {
                Ok(Some((seq, s))) if newest.as_ref().is_none_or(|n| seq > n.0) => newest = Some((seq, is_alt, s)),
                Ok(_) => {}
                Err(why) => {
                    unread = true;
                    pr_warn!("device {}: persistent reservations file {}: {}\n", device, text_of(file), why);
                }
            }
        }
        let mut w = self.writer.lock();
        let (seq, next_alt, state) = match newest {
            // The next write goes to the other file.
            Some((seq, was_alt, s)) => {
                let from = if was_alt { &alt } else { &path };
                if s.aptpl {
                    pr_info!("device {}: {} registrations restored from {}\n", device, s.regs.list().len(), text_of(from));
                }
                (seq, !was_alt, Some(s))
            }
            None => (0, false, None),
        };
        let on_disk = unread || state.as_ref().is_some_and(|s| s.aptpl);
        let state = state.filter(|s| s.aptpl);
        let state = state.map(|s| Arc::new(s, GFP_KERNEL)).transpose()?;
        let visible = state.as_ref().filter(|s| !s.is_empty()).cloned();
        drop(self.published.replace(visible));
        w.state = state;
        w.files = Some(PrFiles { path, alt, explicit, seq, next_alt, on_disk });
        Ok(())
    }

    /// `pr_file_name`: the path, and `[key]` when an administrator set it.
    pub fn show_file(&self, out: &mut crate::sys::sysfs::TextBuf<'_>) {
        let w = self.writer.lock();
        if let Some(f) = &w.files {
            let _ = crate::device::key_attr(out, text_of(&f.path), f.explicit);
        }
    }
}

impl PrFiles {
    /// Writes `s` to the file whose turn it is (thread context); a failure
    /// is logged, and the command that changed the state still succeeds, as
    /// in SCST.
    fn save(&mut self, s: &State) {
        // Numbers grow with every write, and from the clock on (a million a
        // second), so that a write after a reload that could not read the
        // newest file still outnumbers it.
        let seq = self.seq.saturating_add(1).max(crate::sys::time::wall_seconds().saturating_mul(1_000_000));
        let mut text = KVec::new();
        let mut oom = false;
        crate::scsi::pr_file::encode(s, seq, &mut |b| oom |= text.extend_from_slice(b, GFP_KERNEL).is_err());
        let file = if self.next_alt { &self.alt } else { &self.path };
        let written = if oom {
            Err(ENOMEM)
        } else {
            KernelFile::create(file).and_then(|f| f.write_all_synced(&text))
        };
        match written {
            Ok(()) => {
                self.seq = seq;
                self.next_alt = !self.next_alt;
                self.on_disk = s.aptpl;
            }
            Err(e) => {
                if FILE_LOG.allow(crate::sys::time::now_ms()) {
                    pr_warn!("persistent reservations not kept in {}: error {}\n", text_of(file), e.to_errno());
                }
            }
        }
    }
}

/// The state kept in `file` and its write number; None if there is no
/// such file.
fn read_state(file: &CString) -> core::result::Result<Option<(u64, State)>, &'static str> {
    let Some(text) = read_kept_file(file, PR_FILE_MAX)? else { return Ok(None) };
    let mut s = State::default();
    match crate::scsi::pr_file::decode(&text, &mut s) {
        Ok(seq) => Ok(Some((seq, s))),
        Err(FileError::Torn) => Err("not written to its end: ignored"),
        Err(FileError::NotThisFormat) => Err("not rscst's format: ignored"),
        Err(_) => Err("malformed: ignored"),
    }
}

/// The text of a file the core keeps state in, at most `max` bytes (thread
/// context); None if there is no such file, else why it cannot be used.
pub(crate) fn read_kept_file(file: &CString, max: usize) -> core::result::Result<Option<KVec<u8>>, &'static str> {
    let f = match KernelFile::open_plain(file) {
        Ok(f) => f,
        Err(e) if e == ENOENT => return Ok(None),
        Err(e) if e == EINVAL => return Err("not a regular file"),
        Err(_) => return Err("cannot be opened"),
    };
    f.read_all(max).map(Some).map_err(|_| "cannot be read (or is too long)")
}

/// A name or path as text.
pub(crate) fn text_of(s: &CString) -> &str {
    core::str::from_utf8(s.name_bytes()).unwrap_or("?")
}

/// Drops the SPC-2 reservations of the devices `s` sees: any, or those
/// `port` holds (thread context; walks the LUN table without allocating).
pub fn drop_spc2_seen_by(s: &crate::session::Session, port: Option<&Port>) {
    s.for_each_mapped(|_, m| {
        m.dev.reservations.drop_spc2(port);
        true
    });
}

/// A copy of `s` (an empty state for none) that can change.
fn copy(s: Option<&State>) -> Result<State, Sense> {
    let Some(s) = s else { return Ok(State::default()) };
    let live = s.regs.list();
    let mut slots = KVec::with_capacity(live.len(), GFP_KERNEL).map_err(|_| crate::cmd::BUSY)?;
    slots.extend_from_slice(live, GFP_KERNEL).map_err(|_| crate::cmd::BUSY)?;
    let regs = Registered { used: slots.len(), slots };
    Ok(Reservations { generation: s.generation, reservation: s.reservation, aptpl: s.aptpl, regs, spc2: s.spc2 })
}

/// Establishes each notice's unit attention on the I_T nexuses it names,
/// at their LUNs of `dev`, and aborts their commands there when it says so
/// (PREEMPT AND ABORT), waiting until those are gone. `from` is the nexus
/// whose command it was: it is never aborted.
fn tell(core: &Core, dev: &Device, notices: &[Notice], from: &Port) {
    if notices.is_empty() {
        return;
    }
    let names = |n: &Notice, s: &crate::session::Session| n.is_for(&s.port);
    for n in notices {
        crate::ua::raise_on_device_where(core, dev, n.ua, &|s| names(n, s) && s.port != *from);
    }
    if notices.iter().any(|n| n.abort) {
        crate::tmf::abort_at_device(core, dev, &|s| s.port != *from && notices.iter().any(|n| n.abort && names(n, s)));
    }
}

/// Serves PERSISTENT RESERVE IN and OUT, RESERVE(6/10) and RELEASE(6/10)
/// for `c` (thread context); an error is the command's CHECK CONDITION (or
/// `crate::cmd::CONFLICT`).
pub fn serve(c: &mut Cmd, op: &Op) -> Result<(), Sense> {
    crate::sys::context::assert_may_sleep();
    let list = match *op {
        Op::PersistentReserveOut { param_len, .. } => crate::cmd::param_list(c, param_len)?,
        _ => KVec::new(),
    };
    let m = c.mapped.as_ref().ok_or(Sense::LUN_NOT_SUPPORTED)?;
    let pr = &m.dev.reservations;
    let port = &c.session.port;
    let answer = match *op {
        Op::PersistentReserveIn { sa, alloc_len } => {
            let mut buf = KVec::new();
            buf.extend_with(usize::from(alloc_len), 0u8, GFP_KERNEL).map_err(|_| crate::cmd::BUSY)?;
            let empty = State::default();
            let n = pr.with(|s| s.unwrap_or(&empty).pr_in(sa, alloc_len, &mut buf))?;
            let copied = c.data.list().copy_from(&buf[..n.min(buf.len())]);
            c.desc.resid = crate::cmd::resid(c.desc.expected_len, copied as u64);
            return Ok(());
        }
        Op::PersistentReserveOut { .. } => {
            let core = c.session.target.fabric.core;
            let cdb = &c.desc.cdb[..usize::from(c.desc.cdb_len)];
            pr.persistent_reserve_out(&core, &m.dev, port, cdb, &list)?
        }
        Op::Reserve => pr.reserve(port)?,
        Op::Release => pr.release(port)?,
        _ => return Err(Sense::INVALID_OPCODE),
    };
    match answer {
        Answer::Good => {
            // No data goes back.
            c.desc.resid = crate::cmd::resid(c.desc.expected_len, u64::from(c.desc.data_len));
            Ok(())
        }
        Answer::Conflict => Err(crate::cmd::CONFLICT),
        Answer::Check(sense) => Err(sense),
    }
}
