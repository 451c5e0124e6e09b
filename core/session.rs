// SPDX-License-Identifier: GPL-2.0
//! Sessions (I_T nexuses): the commands in flight on each, their counters and
//! `targets/<driver>/<target>/sessions/<initiator>/`.
//!
//! Locking: the in-flight table is split by CPU (`inflight`, one
//! [`Shard`] per CPU): a command enters the shard of the CPU it arrives on
//! and leaves that same shard, so two CPUs receiving commands of one session
//! do not share a lock or a cache line. Each shard is a spinlock taken on
//! the data path (arrival, release) and by TMFs, and it disables interrupts
//! (the data path runs in any context). `group`, which LUN set the session
//! sees, is read under RCU without a lock, like the LUN tables. Waiters for
//! aborted commands (TMFs, session teardown) sleep on `released` under
//! `release_lock`, and an aborted command leaves its shard under
//! `release_lock` too (see [`Session::untrack`]). Lock order:
//! `Target::sessions` -> `Target::groups` (mutexes) -> `release_lock` ->
//! one shard at a time. Nothing holds `Target::sessions` while it waits:
//! walks over the sessions use `Target::for_each_session`.

use crate::sys::compat::NameBytes;
use crate::group::Group;
use crate::lun::{LunSet, Mapped};
use crate::sys::sysfs::{Attr, AttrOps, Dir, TextBuf};
use crate::target::Target;
use crate::scsi::pr::Port;
use crate::scsi::transport_id::TransportId;
use crate::scsi::ua::Ua;
use crate::ua::Attentions;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::alloc::flags::{GFP_ATOMIC, GFP_KERNEL};
use crate::sys::compat::fmt;
use kernel::prelude::*;
use kernel::str::CString;
use crate::sys::flags::AbortFlags;
use crate::sys::lock::IrqSpinLock;
use crate::sys::percpu::PerCpu;
use crate::sys::rcu::RcuArc;
use core::ptr::NonNull;
use kernel::sync::{Arc, CondVar, CondVarTimeoutResult, Mutex};
use kernel::{new_condvar, new_mutex};

/// How long session teardown waits for aborted commands before warning.
const DRAIN_WARN_MS: u32 = 30_000;

/// What happened to a LUN of a session's LUN set.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LunChange {
    /// A new LUN.
    Added,
    /// The LUN is about to go.
    Removed,
    /// The LUN was removed from the table.
    Gone,
    /// The LUN is about to be switched to another device.
    Leaving,
    /// The LUN was switched to another device.
    Replaced,
}

/// One command in flight, as TMFs see it.
#[derive(Clone, Copy)]
pub struct Track {
    /// The TMF epoch it arrived in (`Core::tmf_epoch`).
    pub epoch: u64,
    /// Initiator task tag.
    pub tag: u64,
    /// LUN.
    pub lun: u64,
    /// Aborted by a TMF or session loss.
    pub aborted: bool,
    /// Aborted by another I_T nexus's TMF on a logical unit whose control
    /// mode page has TAS set: answered with TASK ABORTED status rather than
    /// silently.
    pub task_aborted: bool,
    /// A PERSISTENT RESERVE OUT, which PREEMPT AND ABORT leaves alone: two
    /// of them preempting each other's initiators would otherwise each wait
    /// for the other.
    pub reservation_out: bool,
}

/// Memory of one in-flight slot: its entry, its place in the free stack
/// and its abort flag.
pub const SLOT_BYTES: usize =
    core::mem::size_of::<Option<Track>>() + core::mem::size_of::<usize>() + core::mem::size_of::<AtomicBool>();

/// One CPU's part of a session's in-flight table: a slot per command, found
/// in O(1) on arrival (a stack of free slots) and on release (the command
/// knows its shard and slot), and an abort flag per slot that the command
/// reads without the lock.
pub struct InFlight {
    slots: KVec<Option<Track>>,
    /// A stack of free slots: `free[..free_top]`. As long as `slots`, so
    /// that releasing a slot never allocates.
    free: KVec<usize>,
    free_top: usize,
    flags: AbortFlags,
    count: usize,
}

impl InFlight {
    fn new() -> Self {
        InFlight { slots: KVec::new(), free: KVec::new(), free_top: 0, flags: AbortFlags::new(), count: 0 }
    }

    /// A free slot, growing the table when there is none.
    fn free_slot(&mut self) -> Result<usize> {
        if let Some(top) = self.free_top.checked_sub(1) {
            if let Some(&i) = self.free.get(top) {
                self.free_top = top;
                return Ok(i);
            }
        }
        let i = self.slots.len();
        if i >= self.flags.capacity() {
            self.flags.grow(GFP_ATOMIC)?;
        }
        // Both pushes within reserved room: neither can fail halfway.
        self.free.reserve(1, GFP_ATOMIC)?;
        self.slots.reserve(1, GFP_ATOMIC)?;
        self.free.push(0, GFP_ATOMIC)?;
        self.slots.push(None, GFP_ATOMIC)?;
        Ok(i)
    }

    /// Removes the entry in `slot`, if any, and frees the slot.
    fn remove(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            if s.take().is_some() {
                self.count -= 1;
                self.release_slot(slot);
            }
        }
    }

    /// Whether `slot` holds a command that was aborted.
    fn is_aborted(&self, slot: usize) -> bool {
        matches!(self.slots.get(slot), Some(Some(t)) if t.aborted)
    }

    /// Whether `slot` holds a command that was aborted and is answered
    /// with TASK ABORTED status.
    pub fn answers_task_aborted(&self, slot: usize) -> bool {
        matches!(self.slots.get(slot), Some(Some(t)) if t.aborted && t.task_aborted)
    }

    /// Makes `slot` free again (no allocation).
    fn release_slot(&mut self, slot: usize) {
        // free_top counts free slots, fewer than `slots.len()` while this
        // one is in use, so the entry exists.
        if let Some(e) = self.free.get_mut(self.free_top) {
            *e = slot;
            self.free_top += 1;
        }
    }

    /// Marks every command matching `pred` aborted, to be answered with
    /// TASK ABORTED status if `task_aborted` and every TMF that marked it
    /// said so; returns how many.
    pub fn abort_matching(&mut self, pred: &dyn Fn(&Track) -> bool, task_aborted: bool) -> usize {
        let mut n = 0;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(t) = slot else { continue };
            if pred(t) {
                // A silent abort wins: a command marked for TASK ABORTED
                // whose own nexus is then lost or reset gets no response.
                t.task_aborted = if t.aborted { t.task_aborted && task_aborted } else { task_aborted };
                t.aborted = true;
                if let Some(flag) = self.flags.get(i) {
                    flag.store(true, Ordering::Release);
                }
                n += 1;
            }
        }
        n
    }

    /// Whether an aborted command matching `pred` is still in flight. (No
    /// allocation: a TMF waits on its predicate, not on a list of ids.)
    pub fn aborted_left(&self, pred: &dyn Fn(&Track) -> bool) -> bool {
        self.slots.iter().flatten().any(|t| t.aborted && pred(t))
    }

    /// Whether a command matching `pred` that is not aborted is in flight.
    pub fn live(&self, pred: &dyn Fn(&Track) -> bool) -> bool {
        self.slots.iter().flatten().any(|t| !t.aborted && pred(t))
    }
}

/// One CPU's shard of a session's in-flight table.
pub type Shard = IrqSpinLock<InFlight>;

/// Memory of a session's in-flight table per CPU, without its slots.
pub const SHARD_BYTES: usize = core::mem::size_of::<Shard>();

/// Per-session counters, shown in sysfs: one set per CPU (each command
/// counts on the CPU it runs on; sysfs shows the sums).
#[derive(Default)]
pub struct Stats {
    /// Commands received.
    pub commands: AtomicU64,
    /// READ commands.
    pub read_cmds: AtomicU64,
    /// WRITE commands.
    pub write_cmds: AtomicU64,
    /// Bytes read.
    pub read_bytes: AtomicU64,
    /// Bytes written.
    pub write_bytes: AtomicU64,
    /// Commands that ended with CHECK CONDITION.
    pub errors: AtomicU64,
}

/// An I_T nexus.
#[pin_data]
pub struct Session {
    /// The target it logged into.
    pub target: Arc<Target>,
    /// Initiator name.
    pub initiator: CString,
    /// The I_T nexus as reservations name it: the initiator port's
    /// TransportID (from the fabric's protocol and the initiator name) and
    /// the target's relative port identifier.
    pub port: Port,
    /// The fabric's session context.
    pub sess_priv: usize,
    /// A number for this I_T nexus no other ever has (`crate::aca`).
    pub nexus: u64,
    /// Set when unregistering: new commands are refused.
    pub dying: AtomicBool,
    /// Counters.
    pub stats: PerCpu<Stats>,
    /// Commands in flight, one shard per CPU.
    inflight: PerCpu<Shard>,
    /// Held by waiters for aborted commands while they look and by an
    /// aborted command while it leaves its shard.
    #[pin]
    release_lock: IrqSpinLock<()>,
    /// Signalled, under `release_lock`, when an aborted command leaves.
    #[pin]
    released: CondVar,
    /// Held while the fabric is told of a unit attention: once
    /// `unregister` set `dying` and took it, no such call is left.
    #[pin]
    fabric_calls: IrqSpinLock<()>,
    /// The access group whose LUNs the session sees (None: the target's).
    #[pin]
    group: RcuArc<Group>,
    /// Unit attention conditions pending, per LUN.
    #[pin]
    pub ua: Attentions,
    #[pin]
    sysfs: Mutex<SessionSysfs>,
}

struct SessionSysfs {
    attrs: KVec<Attr>,
    dir: Option<Dir>,
}

impl Session {
    /// Runs `f` with the session's LUN set (`f` must not sleep).
    fn with_luns<R>(&self, f: impl FnOnce(&LunSet) -> R) -> R {
        self.group.read(|g| match g {
            Some(g) => f(&g.luns),
            None => f(&self.target.luns),
        })
    }

    /// Looks a LUN up in the session's LUN set (data path, any context).
    pub fn lookup(&self, lun: u64) -> Option<Mapped> {
        self.with_luns(|s| s.lookup(lun))
    }

    /// The first LUN numbered `from` or more the session sees (see
    /// [`LunSet::next_lun`]).
    pub fn next_lun(&self, from: u64) -> Option<(u64, Option<Mapped>)> {
        self.with_luns(|s| s.next_lun(from))
    }

    /// Calls `f` with every LUN the session sees that maps a live device,
    /// in LUN order, while it returns true. No lock is held during the
    /// calls and nothing is allocated: the LUN table is walked from LUN to
    /// LUN.
    pub fn for_each_mapped(&self, mut f: impl FnMut(u64, Mapped) -> bool) {
        let mut from = 0;
        while let Some((lun, m)) = self.next_lun(from) {
            if let Some(m) = m {
                if !f(lun, m) {
                    return;
                }
            }
            let Some(next) = lun.checked_add(1) else { return };
            from = next;
        }
    }

    /// Calls `f` with every LUN the session sees (REPORT LUNS).
    pub fn for_each_lun(&self, f: impl FnMut(u64)) {
        self.with_luns(|s| s.for_each_lun(f))
    }

    /// LUN numbers at which the session sees `dev`.
    pub fn luns_of(&self, dev: &crate::device::Device) -> Result<KVec<u64>> {
        self.with_luns(|s| s.luns_of(dev))
    }

    /// Whether the session sees `group`'s LUNs (None: the target's).
    pub fn is_bound_to(&self, group: Option<&Arc<Group>>) -> bool {
        self.group.holds(group)
    }

    /// Binds the session to `group`, telling the fabric which LUNs vanish
    /// and appear (management context).
    pub fn rebind(&self, group: Option<Arc<Group>>) {
        if self.is_bound_to(group.as_ref()) {
            return;
        }
        let mut old = KVec::new();
        self.for_each_lun(|l| {
            let _ = old.push(l, GFP_ATOMIC);
        });
        // The devices seen so far (an ACA condition this nexus faulted at one
        // it no longer sees goes, below).
        let mut old_devs = KVec::new();
        self.for_each_mapped(|_, m| old_devs.push(m.dev, GFP_KERNEL).is_ok());
        let fabric = self.target.fabric.ops;
        let tpriv = self.target.priv_();
        for l in old.iter() {
            fabric.luns_changed(tpriv, self, *l, false);
        }
        // Returned after a grace period; dropped here, in management context
        // (its last reference removes sysfs files, which sleeps).
        let old_group = self.group.replace(group);
        drop(old_group);
        old_devs.iter().for_each(|d| self.device_left(d));
        drop(old_devs);
        let new = self.lun_numbers().unwrap_or_default();
        // Other logical units, or the same ones at other numbers: each is
        // new to this nexus, and the inventory changed.
        self.ua.clear(None, None);
        for ua in [Ua::PowerOnReset, Ua::ReportedLunsChanged] {
            self.raise(&new, ua);
        }
        for l in new.iter() {
            fabric.luns_changed(tpriv, self, *l, true);
        }
    }

    /// `dev` left this session's LUN set (management context, after the
    /// table or the group changed): an ACA condition this nexus faulted
    /// there goes, as it could no longer clear it, unless it still sees the
    /// device at another LUN.
    pub fn device_left(&self, dev: &crate::device::Device) {
        if self.luns_of(dev).map_or(true, |l| l.is_empty()) {
            crate::aca::clear_if_faulted(dev, self.nexus);
        }
    }

    /// `luns` (ascending) of the session's LUN set appeared, are about to
    /// go, are gone, or map another device (`change`): raises the unit
    /// attentions SPC asks for and tells the fabric (management context).
    pub fn luns_changed(&self, luns: &[u64], change: LunChange) {
        let others = || self.lun_numbers_but(luns).unwrap_or_default();
        match change {
            LunChange::Added => {
                // A LUN number used before starts afresh.
                luns.iter().for_each(|l| self.ua.clear(Some(*l), None));
                self.raise(luns, Ua::PowerOnReset);
                self.raise(&others(), Ua::ReportedLunsChanged);
            }
            LunChange::Removed => self.raise(&others(), Ua::ReportedLunsChanged),
            // After the table let go of them: a condition established
            // meanwhile goes too.
            LunChange::Gone => {
                luns.iter().for_each(|l| self.ua.clear(Some(*l), None));
                return self.ua.release_if_idle();
            }
            LunChange::Leaving => luns.iter().for_each(|l| self.ua.clear(Some(*l), None)),
            LunChange::Replaced => self.raise(luns, Ua::InquiryDataChanged),
        }
        let added = matches!(change, LunChange::Added | LunChange::Replaced);
        for l in luns {
            self.target.fabric.ops.luns_changed(self.target.priv_(), self, *l, added);
        }
    }

    /// Establishes `ua` at the ascending `luns` (thread context), then
    /// clears it again at those the session no longer sees (removed since
    /// `luns` was listed, their `Gone`, which cleared everything else
    /// there, already past), so that no condition outlives its LUN.
    pub fn establish(&self, luns: &[u64], ua: Ua) -> Result {
        self.establish_while(luns, ua, |set, l| set.contains(l))
    }

    /// Establishes `ua` at the ascending `luns`, then clears it again at
    /// those for which `still` no longer holds (the LUN changed meanwhile),
    /// and frees the table if that left nothing (thread context).
    fn establish_while(&self, luns: &[u64], ua: Ua, still: impl Fn(&LunSet, u64) -> bool) -> Result {
        let r = self.ua.establish(luns, ua);
        for l in luns.iter().copied() {
            if !self.with_luns(|set| still(set, l)) {
                self.ua.clear(Some(l), Some(ua));
            } else if r.is_ok() {
                self.tell_fabric_ua(l);
            }
        }
        self.ua.release_if_idle();
        r
    }

    /// Tells the fabric that a unit attention condition was established at
    /// `lun` (its `ua_raised`, for an asynchronous event), unless the
    /// session is being unregistered: the fabric may free its context once
    /// `unregister` returns.
    fn tell_fabric_ua(&self, lun: u64) {
        let _calls = self.fabric_calls.lock();
        if !self.dying.load(Ordering::Acquire) {
            self.target.fabric.ops.ua_raised(self.sess_priv, lun);
        }
    }

    /// Establishes `ua` at those of the ascending `luns` that map `dev`
    /// (thread context); a LUN switched to another device or removed since
    /// `luns` was listed is left alone, or, if it changed while the
    /// condition was being established, loses it again.
    pub fn establish_for_device(&self, dev: &crate::device::Device, luns: &[u64], ua: Ua) -> Result {
        let mut mapping = KVec::with_capacity(luns.len(), GFP_KERNEL)?;
        for l in luns.iter().copied().filter(|l| self.with_luns(|set| set.maps(*l, dev))) {
            mapping.push(l, GFP_KERNEL)?;
        }
        self.establish_while(&mapping, ua, |set, l| set.maps(l, dev))
    }

    /// [`Session::establish`], which on failure loses the condition and
    /// says so.
    pub fn raise(&self, luns: &[u64], ua: Ua) {
        if self.establish(luns, ua).is_err() {
            pr_warn!("session {:?}: out of memory: unit attention {:?} lost\n", self.initiator, ua);
        }
    }

    /// [`Session::raise`] at every LUN the session sees.
    pub fn raise_everywhere(&self, ua: Ua) {
        match self.lun_numbers() {
            Ok(luns) => self.raise(&luns, ua),
            Err(_) => pr_warn!("session {:?}: out of memory: unit attention {:?} lost\n", self.initiator, ua),
        }
    }

    /// The LUN numbers the session sees, ascending (management context).
    pub fn lun_numbers(&self) -> Result<KVec<u64>> {
        self.lun_numbers_but(&[])
    }

    /// The LUN numbers the session sees but those in the ascending
    /// `except`, ascending.
    fn lun_numbers_but(&self, except: &[u64]) -> Result<KVec<u64>> {
        let mut count = 0usize;
        self.for_each_lun(|_| count += 1);
        let mut luns = KVec::with_capacity(count, GFP_KERNEL)?;
        let mut oom = false;
        // Within the capacity unless LUNs were added meanwhile.
        self.for_each_lun(|l| {
            if except.binary_search(&l).is_err() {
                oom |= luns.push(l, GFP_ATOMIC).is_err();
            }
        });
        if oom {
            return Err(ENOMEM);
        }
        Ok(luns)
    }

    /// Enters a new command into the in-flight table (the shard of the CPU
    /// it arrives on) and returns that shard, the slot and the slot's abort
    /// flag, whose address stays valid as long as the session (see
    /// [`AbortFlags`]); refused once the session is dying. Use
    /// [`crate::sys::ops::SessionRef::track`], which pairs it with the
    /// untrack that ends the command.
    pub fn track(&self, tag: u64, lun: u64, reservation_out: bool) -> Result<(&Shard, usize, NonNull<AtomicBool>)> {
        // Another CPU's shard if the task migrates meanwhile: only slower.
        let shard = self.inflight.local();
        let mut f = shard.lock();
        // Checked under the shard lock, which `drain` takes after setting
        // `dying`: a command is either tracked before the drain looks at
        // its shard, or refused.
        if self.dying.load(Ordering::Acquire) {
            return Err(ENODEV);
        }
        let slot = f.free_slot()?;
        let flag = f.flags.get(slot).ok_or(ENOMEM)?;
        flag.store(false, Ordering::Relaxed);
        let flag = NonNull::from(flag);
        let epoch = self.target.fabric.core.tmf_epoch.load(Ordering::Acquire);
        f.slots[slot] = Some(Track { epoch, tag, lun, aborted: false, task_aborted: false, reservation_out });
        f.count += 1;
        Ok((shard, slot, flag))
    }

    /// Removes a command from the in-flight table: `shard` and `slot` are
    /// what [`Session::track`] returned for it. Only a command's
    /// `SessionRef` calls this, when it drops.
    pub(crate) fn untrack(&self, shard: &Shard, slot: usize) {
        {
            let mut f = shard.lock();
            if !f.is_aborted(slot) {
                // Nobody waits for a command that is not aborted, and a
                // TMF marks under this lock: gone before it could be.
                f.remove(slot);
                return;
            }
        }
        // Aborted, so a waiter may be watching for it to leave. It leaves
        // under `release_lock`, which waiters hold while they look: no
        // waiter can see it gone, return and free the session before this
        // call has let go of `release_lock`, its last use of the session.
        let _waiters = self.release_lock.lock();
        shard.lock().remove(slot);
        self.released.notify_all();
    }

    /// Commands in flight.
    pub fn active(&self) -> usize {
        self.inflight.iter().map(|s| s.lock().count).sum()
    }

    /// Marks the commands matching `pred` aborted (answered with TASK
    /// ABORTED status if `task_aborted`); returns how many.
    pub fn abort_matching(&self, pred: &dyn Fn(&Track) -> bool, task_aborted: bool) -> usize {
        self.inflight.iter().map(|s| s.lock().abort_matching(pred, task_aborted)).sum()
    }

    /// Whether a command matching `pred` that is not aborted is in flight
    /// (QUERY TASK, QUERY TASK SET).
    pub fn in_flight(&self, pred: &dyn Fn(&Track) -> bool) -> bool {
        self.inflight.iter().any(|s| s.lock().live(pred))
    }

    /// Whether an aborted command matching `pred` is still in flight.
    fn aborted_left(&self, pred: &dyn Fn(&Track) -> bool) -> bool {
        self.inflight.iter().any(|s| s.lock().aborted_left(pred))
    }

    /// Sleeps until no aborted command matching `pred` is in flight, woken
    /// as they are released; calls `stuck(ms waited)` every `warn_ms` that
    /// passes without it. Thread context; holds `release_lock` (and one
    /// shard at a time) while it checks, and no lock while it sleeps.
    pub fn wait_aborted(&self, pred: &dyn Fn(&Track) -> bool, warn_ms: u32, mut stuck: impl FnMut(u64)) {
        crate::sys::context::assert_may_sleep();
        let start = crate::sys::time::now_ms();
        let mut warned = 0u64;
        loop {
            let mut waiting = self.release_lock.lock();
            if !self.aborted_left(pred) {
                return;
            }
            // Interruptible: a long wait for a hung backend is no hung task.
            let res = self.released.wait_interruptible_timeout(&mut waiting, kernel::time::msecs_to_jiffies(warn_ms));
            drop(waiting);
            if let CondVarTimeoutResult::Signal { .. } = res {
                // A signal pending (a management write from a process that
                // was signalled) cannot cut the wait short: poll instead.
                crate::sys::time::sleep_ms(10);
            }
            let waited = crate::sys::time::now_ms().saturating_sub(start);
            if waited / u64::from(warn_ms) > warned {
                warned = waited / u64::from(warn_ms);
                stuck(waited);
            }
        }
    }

    /// Aborts every command (session loss) and waits for them.
    fn drain(&self) {
        self.abort_matching(&|_| true, false);
        // Those queued in a task set go now, not in their turn; the loss of
        // a faulted nexus clears its ACA condition.
        self.for_each_mapped(|_, m| {
            crate::cmd::release_aborted_at(&m.dev);
            crate::aca::clear_if_faulted(&m.dev, self.nexus);
            true
        });
        self.wait_aborted(&|_| true, DRAIN_WARN_MS, |waited| {
            pr_warn!("session {:?}: {} commands still in flight after {} ms\n", self.initiator, self.active(), waited);
        });
    }
}

#[derive(Clone, Copy)]
enum SessAttrKind {
    InitiatorName,
    ActiveCommands,
    Commands,
    ReadCmds,
    WriteCmds,
    ReadKb,
    WriteKb,
    Errors,
}

struct SessAttr {
    sess: Arc<Session>,
    kind: SessAttrKind,
}

impl AttrOps for SessAttr {
    fn show(&self, out: &mut TextBuf<'_>) {
        let s = &self.sess.stats;
        let sum = |field: fn(&Stats) -> &AtomicU64| s.iter().fold(0u64, |t, c| t.wrapping_add(field(c).load(Ordering::Relaxed)));
        let _ = match self.kind {
            SessAttrKind::InitiatorName => {
                out.push(self.sess.initiator.name_bytes());
                writeln!(out)
            }
            SessAttrKind::ActiveCommands => writeln!(out, "{}", self.sess.active()),
            SessAttrKind::Commands => writeln!(out, "{}", sum(|c| &c.commands)),
            SessAttrKind::ReadCmds => writeln!(out, "{}", sum(|c| &c.read_cmds)),
            SessAttrKind::WriteCmds => writeln!(out, "{}", sum(|c| &c.write_cmds)),
            SessAttrKind::ReadKb => writeln!(out, "{}", sum(|c| &c.read_bytes) >> 10),
            SessAttrKind::WriteKb => writeln!(out, "{}", sum(|c| &c.write_bytes) >> 10),
            SessAttrKind::Errors => writeln!(out, "{}", sum(|c| &c.errors)),
        };
    }
}

fn build_sysfs(s: &Arc<Session>) -> Result {
    let dir = s.target.with_sessions_dir(|d| d.map(|d| Dir::new(Some(d), &s.initiator)).transpose())?;
    let Some(dir) = dir else { return Ok(()) };
    let mut attrs = KVec::new();
    let list: [(&core::ffi::CStr, SessAttrKind); 8] = [
        (c"initiator_name", SessAttrKind::InitiatorName),
        (c"active_commands", SessAttrKind::ActiveCommands),
        (c"commands", SessAttrKind::Commands),
        (c"read_cmd_count", SessAttrKind::ReadCmds),
        (c"write_cmd_count", SessAttrKind::WriteCmds),
        (c"read_io_count_kb", SessAttrKind::ReadKb),
        (c"write_io_count_kb", SessAttrKind::WriteKb),
        (c"error_count", SessAttrKind::Errors),
    ];
    dir.add_attrs(&list, &mut attrs, |kind| Ok(Arc::new(SessAttr { sess: s.clone(), kind }, GFP_KERNEL)?))?;
    let mut sy = s.sysfs.lock();
    sy.attrs = attrs;
    sy.dir = Some(dir);
    Ok(())
}

fn teardown_sysfs(s: &Session) {
    let mut sy = s.sysfs.lock();
    sy.attrs = KVec::new();
    sy.dir = None;
}

/// Registers a session of `target` for `initiator` (process context).
pub fn register(target: &Arc<Target>, initiator: &[u8], sess_priv: usize) -> Result<Arc<Session>> {
    let name = core::str::from_utf8(initiator).map_err(|_| EINVAL)?;
    if !crate::mgmt::commands::is_valid_initiator_name(name) || name.contains('/') || name == "." || name == ".." {
        pr_err!("invalid initiator name\n");
        return Err(EINVAL);
    }
    if !target.enabled.load(Ordering::Acquire) {
        pr_err!("target {:?} is not enabled\n", target.name);
        return Err(ENODEV);
    }
    // The group is chosen under the sessions lock: a group deleted meanwhile
    // was either removed before this match (not chosen) or this session is
    // in the list before the deletion's rebind walks it (rebound).
    let mut list = target.sessions.lock();
    let group = crate::group::match_initiator(target, name);
    if list.iter().flatten().any(|s| s.initiator.name_bytes() == initiator) {
        pr_err!("session {} already exists on {:?}\n", name, target.name);
        return Err(EEXIST);
    }
    let cname = CString::try_from_fmt(fmt!("{}", name))?;
    let protocol = target.fabric.ops.protocol();
    let id = TransportId::of_initiator(protocol, initiator).ok_or(EINVAL)?;
    let port = Port { id, rel_tgt: target.rel_tgt_id };
    let stats = PerCpu::new(Stats::default)?;
    let inflight = PerCpu::new(|| crate::new_irq_spinlock!(InFlight::new(), "rscst_inflight"))?;
    let s = Arc::pin_init(
        pin_init!(Session {
            target: target.clone(),
            initiator: cname,
            port,
            sess_priv,
            nexus: crate::aca::next_nexus(),
            dying: AtomicBool::new(false),
            stats,
            inflight,
            release_lock <- crate::new_irq_spinlock!((), "rscst_inflight_release"),
            released <- new_condvar!("rscst_session_released"),
            fabric_calls <- crate::new_irq_spinlock!((), "rscst_session_fabric_calls"),
            group: RcuArc::new(group),
            ua <- Attentions::new(),
            sysfs <- new_mutex!(SessionSysfs { attrs: KVec::new(), dir: None }),
        }),
        GFP_KERNEL,
    )?;
    if let Err(e) = build_sysfs(&s) {
        teardown_sysfs(&s);
        return Err(e);
    }
    // A new I_T nexus: every logical unit reports a power on first (SAM-5).
    // Under the sessions lock, so that a LUN added meanwhile is either
    // listed here or told to this session by `lun_changed`.
    // Without memory for it, the session still registers (the condition
    // is lost, and the log says so).
    s.raise_everywhere(Ua::PowerOnReset);
    if let Err(e) = crate::slots::insert(&mut list, s.clone(), GFP_KERNEL) {
        teardown_sysfs(&s);
        return Err(e.into());
    }
    pr_info!("session {} on target {:?}\n", name, target.name);
    Ok(s)
}

/// Unregisters a session: aborts and waits for its commands (process context).
pub fn unregister(s: Arc<Session>) {
    s.dying.store(true, Ordering::Release);
    // A fabric call about a unit attention that saw the session alive ends
    // before this lock is had; none starts after.
    drop(s.fabric_calls.lock());
    s.drain();
    // I_T nexus loss: what it held with RESERVE is released (SPC-2 5.5.1);
    // its persistent registrations stay (SPC-4 5.13.1).
    crate::reservations::drop_spc2_seen_by(&s, Some(&s.port));
    {
        let mut list = s.target.sessions.lock();
        for slot in list.iter_mut() {
            if slot.as_ref().is_some_and(|x| Arc::ptr_eq(x, &s)) {
                *slot = None;
            }
        }
    }
    teardown_sysfs(&s);
    pr_info!("session {:?} closed\n", s.initiator);
}
