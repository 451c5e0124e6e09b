// SPDX-License-Identifier: GPL-2.0
//! The transport-neutral command state machine, sans IO.
//!
//! Every SCSI command the core handles walks these states, whatever the fabric
//! (loopback, iSCSI, SRP, FC) and whatever the handler. The core performs the
//! work of each step; this crate only decides which step may follow which, who
//! owns the command in each state, and where the step may run, so that the
//! rules are unit-tested on the host and identical in every caller.
//!
//! ```text
//!  rx_cmd ─► New ──parse, buffer──(write data?)──► DataWait ──rx_data_done──┐
//!             │          │                                                    ▼
//!             │          └──────────────────────────────────────────────────► Ready
//!             │ parse error                                                    │ exec
//!             ▼                                                                ▼
//!            Done ◄──────────────── exec_done (handler) ◄──────────────── Executing
//!             │ xmit_response                       (emulated commands go Ready ─► Done)
//!             ▼
//!        Transmitting ──tx_done──► Freed
//! ```
//!
//! "Active" states (New, Ready, Done) are run by the core, either in
//! the caller's context or, when that context is atomic and the step may
//! sleep, in a core thread. "Passive" states (DataWait, Executing,
//! Transmitting) wait for a callback from the fabric or handler.

#![cfg_attr(not(CONFIG_RUST), no_std)]
#![forbid(unsafe_code)]

/// Where a command is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Handed in by the fabric, not looked at yet.
    New,
    /// The fabric is fetching write data (passive).
    DataWait,
    /// Data present; ready to emulate or hand to the handler.
    Ready,
    /// A handler owns the command (passive); for a command the core carries
    /// out as several handler calls, the core holds it between two calls.
    Executing,
    /// Status (and sense) are final; the response may be sent.
    Done,
    /// The fabric owns the command while it sends the response (passive).
    Transmitting,
    /// Released: nobody may touch the command again.
    Freed,
}

/// What happened to a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Parsing succeeded; `needs_data` when write data must be fetched first.
    Parsed {
        /// The command carries data-out that is not in the buffer yet.
        needs_data: bool,
    },
    /// Parsing failed (unknown opcode, bad LUN, bad field): a CHECK CONDITION
    /// is set and the command goes straight to `Done`.
    Rejected,
    /// The fabric delivered the write data.
    DataReceived,
    /// The core started execution: by a handler (`emulated == false`) or by
    /// emulation that finished at once (`emulated == true`).
    Execute {
        /// Emulated in the core; there is no passive handler step.
        emulated: bool,
    },
    /// The handler completed the command.
    ExecDone,
    /// The handler's raw SCSI tier did not handle the CDB: the command is
    /// the core's again, to emulate.
    Declined,
    /// The response is handed to the fabric.
    Transmit,
    /// The fabric is finished with the command.
    TxDone,
}

/// An event that is not allowed in the command's state: a bug in the caller
/// or a misbehaving fabric/handler; the core logs and ignores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadTransition {
    /// State the command was in.
    pub from: State,
    /// The event that does not apply.
    pub event: Event,
}

impl State {
    /// The state that follows `event`, or why it cannot.
    pub fn next(self, event: Event) -> Result<State, BadTransition> {
        use Event as E;
        use State as S;
        let to = match (self, event) {
            (S::New, E::Parsed { needs_data: true }) => S::DataWait,
            (S::New, E::Parsed { needs_data: false }) => S::Ready,
            (S::New, E::Rejected) => S::Done,
            (S::DataWait, E::DataReceived) => S::Ready,
            // A failed data transfer ends the command with a sense.
            (S::DataWait, E::Rejected) => S::Done,
            (S::Ready, E::Execute { emulated: false }) => S::Executing,
            (S::Ready, E::Execute { emulated: true }) => S::Done,
            (S::Ready, E::Rejected) => S::Done,
            (S::Executing, E::ExecDone) => S::Done,
            (S::Executing, E::Declined) => S::Ready,
            (S::Done, E::Transmit) => S::Transmitting,
            (S::Transmitting, E::TxDone) => S::Freed,
            (from, event) => return Err(BadTransition { from, event }),
        };
        Ok(to)
    }

    /// Who owns the command in this state.
    pub fn owner(self) -> Owner {
        match self {
            State::New | State::Ready | State::Done => Owner::Core,
            State::DataWait | State::Transmitting => Owner::Fabric,
            State::Executing => Owner::Handler,
            State::Freed => Owner::Nobody,
        }
    }

    /// Whether the core runs this state (active) or waits for a callback
    /// (passive).
    pub fn is_active(self) -> bool {
        self.owner() == Owner::Core
    }

    /// What an abort (TMF or session loss) does to a command in this state.
    pub fn on_abort(self) -> AbortAction {
        match self {
            // Not started: finish it now, without running it.
            State::New | State::Ready => AbortAction::FinishNow,
            // Someone else holds it: mark it and let them hand it back; the TMF
            // completes only after that, so no command completes after its
            // abort was reported.
            State::DataWait | State::Executing => AbortAction::WaitForOwner,
            // Result known: suppress the response, then release.
            State::Done => AbortAction::SuppressResponse,
            // Already on the wire (or gone): the abort finds it completed.
            State::Transmitting | State::Freed => AbortAction::TooLate,
        }
    }
}

/// Who may touch a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The core's state machine.
    Core,
    /// The fabric (transferring data or sending the response).
    Fabric,
    /// The device handler.
    Handler,
    /// Nobody: the command is freed.
    Nobody,
}

/// The effect of an abort on one command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbortAction {
    /// Complete it as aborted right away.
    FinishNow,
    /// Mark it aborted; the owner returns it and it completes silently.
    WaitForOwner,
    /// Its status is set; do not send it, just release it (unless another
    /// I_T nexus's TMF aborted it under TAS: then it is answered with TASK
    /// ABORTED status).
    SuppressResponse,
    /// It is being or has been answered; the abort does not affect it.
    TooLate,
}

/// Execution context a step is offered in, from the most to the least
/// permissive (the order `worst` uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Context {
    /// A thread that may sleep.
    Thread,
    /// Softirq, or preemption or bottom halves disabled (under a spinlock):
    /// must not sleep.
    Atomic,
    /// Hard IRQ, or interrupts disabled: must not sleep, and the core calls
    /// neither handlers nor fabrics from here, it only queues work.
    Irq,
}

impl Context {
    /// The more restrictive of two views of the same context (what the
    /// caller declared and what the kernel reports).
    pub fn worst(self, other: Context) -> Context {
        if self >= other {
            self
        } else {
            other
        }
    }
}

/// Whether to execute a command right where it is rather than on one of
/// its device's queues: in a thread always, in atomic context when the
/// handler allows it, never in hard IRQ. Running where the command is saves
/// a thread hop and a cross-CPU completion at every queue depth: under a
/// deep queue each submitting CPU executes its own commands.
pub fn exec_here(ctx: Context, handler_exec_atomic: bool) -> bool {
    match ctx {
        Context::Thread => true,
        Context::Atomic => handler_exec_atomic,
        Context::Irq => false,
    }
}

/// Where a step that ends in a fabric callback (`rdy_to_xfer`,
/// `xmit_response`) runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The context.
    pub ctx: Context,
    /// The step runs inside one of the fabric's own calls into the core
    /// (`rscst_cmd_start`, `rscst_cmd_rx_data_done`), so calling the fabric
    /// back would re-enter it.
    pub in_fabric_call: bool,
}

impl Frame {
    /// A core thread: any callback may run here.
    pub const THREAD: Frame = Frame {
        ctx: Context::Thread,
        in_fabric_call: false,
    };
}

/// What a fabric's template allows for one callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallbackRules {
    /// The callback may run in atomic context (never in hard IRQ).
    pub atomic_ok: bool,
    /// The core may call it from inside the fabric's own calls.
    pub reentrant: bool,
}

/// Whether the core may call a fabric callback right where it is; otherwise
/// it hands the step to per-CPU work, which calls it in a thread.
pub fn may_call_fabric(frame: Frame, rules: CallbackRules) -> bool {
    if frame.in_fabric_call && !rules.reentrant {
        return false;
    }
    match frame.ctx {
        Context::Thread => true,
        Context::Atomic => rules.atomic_ok,
        Context::Irq => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_STATES: [State; 7] = [
        State::New,
        State::DataWait,
        State::Ready,
        State::Executing,
        State::Done,
        State::Transmitting,
        State::Freed,
    ];

    const ALL_EVENTS: [Event; 10] = [
        Event::Parsed { needs_data: true },
        Event::Parsed { needs_data: false },
        Event::Rejected,
        Event::DataReceived,
        Event::Execute { emulated: false },
        Event::Execute { emulated: true },
        Event::ExecDone,
        Event::Declined,
        Event::Transmit,
        Event::TxDone,
    ];

    fn run(events: &[Event]) -> Result<State, BadTransition> {
        events.iter().try_fold(State::New, |s, e| s.next(*e))
    }

    const CONTEXTS: [Context; 3] = [Context::Thread, Context::Atomic, Context::Irq];

    #[test]
    fn worst_context_is_the_most_restrictive() {
        for a in CONTEXTS {
            for b in CONTEXTS {
                let w = a.worst(b);
                assert_eq!(w, b.worst(a));
                assert!(w == a || w == b);
                assert!(w >= a && w >= b);
            }
        }
        assert_eq!(Context::Thread.worst(Context::Irq), Context::Irq);
    }

    #[test]
    fn atomic_handlers_run_inline_at_any_depth() {
        assert!(exec_here(Context::Atomic, true));
        assert!(!exec_here(Context::Atomic, false));
        assert!(exec_here(Context::Thread, false));
        assert!(exec_here(Context::Thread, true));
        assert!(!exec_here(Context::Irq, true));
    }

    #[test]
    fn fabric_callbacks_follow_the_template() {
        let strict = CallbackRules {
            atomic_ok: false,
            reentrant: false,
        };
        let atomic = CallbackRules {
            atomic_ok: true,
            reentrant: false,
        };
        let open = CallbackRules {
            atomic_ok: true,
            reentrant: true,
        };
        let at = |ctx, in_fabric_call| Frame {
            ctx,
            in_fabric_call,
        };
        // A core thread may call anything a fabric registered.
        assert!(may_call_fabric(Frame::THREAD, strict));
        // Atomic context only for callbacks that allow it.
        assert!(!may_call_fabric(at(Context::Atomic, false), strict));
        assert!(may_call_fabric(at(Context::Atomic, false), atomic));
        // Never in hard IRQ, whatever the template says.
        assert!(!may_call_fabric(at(Context::Irq, false), open));
        // Inside the fabric's own call only when it allows re-entry, even
        // in a thread.
        assert!(!may_call_fabric(at(Context::Thread, true), atomic));
        assert!(may_call_fabric(at(Context::Thread, true), open));
        assert!(may_call_fabric(at(Context::Atomic, true), open));
        assert!(!may_call_fabric(at(Context::Irq, true), open));
    }

    #[test]
    fn read_through_a_handler() {
        let s = run(&[
            Event::Parsed { needs_data: false },
            Event::Execute { emulated: false },
            Event::ExecDone,
            Event::Transmit,
            Event::TxDone,
        ]);
        assert_eq!(s, Ok(State::Freed));
    }

    #[test]
    fn write_waits_for_data() {
        let s = State::New.next(Event::Parsed { needs_data: true });
        assert_eq!(s, Ok(State::DataWait));
        assert_eq!(State::DataWait.owner(), Owner::Fabric);
        assert_eq!(State::DataWait.next(Event::DataReceived), Ok(State::Ready));
    }

    #[test]
    fn rejected_command_still_answers() {
        let s = run(&[Event::Rejected, Event::Transmit, Event::TxDone]);
        assert_eq!(s, Ok(State::Freed));
    }

    #[test]
    fn emulated_command_skips_the_handler() {
        let s = run(&[
            Event::Parsed { needs_data: false },
            Event::Execute { emulated: true },
        ]);
        assert_eq!(s, Ok(State::Done));
    }

    #[test]
    fn double_completion_is_refused() {
        let s = run(&[
            Event::Parsed { needs_data: false },
            Event::Execute { emulated: false },
            Event::ExecDone,
            Event::ExecDone,
        ]);
        assert_eq!(
            s,
            Err(BadTransition {
                from: State::Done,
                event: Event::ExecDone
            })
        );
    }

    #[test]
    fn freed_is_terminal() {
        for e in ALL_EVENTS {
            assert!(State::Freed.next(e).is_err(), "{e:?}");
        }
    }

    #[test]
    fn every_path_ends_in_freed() {
        // Exhaustive walk: from New, every sequence of allowed events either
        // continues or reaches Freed, within 8 steps. A handler declines a
        // command at most once (the core emulates what was declined).
        fn walk(s: State, declined: bool, depth: u32, ends: &mut u32) {
            assert!(depth <= 8, "path too long at {s:?}");
            if s == State::Freed {
                *ends += 1;
                return;
            }
            let mut moved = false;
            for e in ALL_EVENTS {
                if e == Event::Declined && declined {
                    continue;
                }
                if let Ok(n) = s.next(e) {
                    moved = true;
                    walk(n, declined || e == Event::Declined, depth + 1, ends);
                }
            }
            assert!(moved, "dead end at {s:?}");
        }
        let mut ends = 0;
        walk(State::New, false, 0, &mut ends);
        // Each of the two ways to Ready (with or without write data) ends
        // in six: by the handler, emulated, rejected, or declined by the
        // raw tier and then any of those three. Plus rejections at New and
        // at DataWait.
        assert_eq!(ends, 14);
    }

    #[test]
    fn a_declined_command_goes_back_to_the_core() {
        let s = run(&[
            Event::Parsed { needs_data: false },
            Event::Execute { emulated: false },
            Event::Declined,
            Event::Execute { emulated: true },
        ]);
        assert_eq!(s, Ok(State::Done));
        assert!(State::Ready.next(Event::Declined).is_err());
        assert!(State::Done.next(Event::Declined).is_err());
    }

    #[test]
    fn abort_rules() {
        assert_eq!(State::New.on_abort(), AbortAction::FinishNow);
        assert_eq!(State::Executing.on_abort(), AbortAction::WaitForOwner);
        assert_eq!(State::DataWait.on_abort(), AbortAction::WaitForOwner);
        assert_eq!(State::Done.on_abort(), AbortAction::SuppressResponse);
        assert_eq!(State::Transmitting.on_abort(), AbortAction::TooLate);
        for s in ALL_STATES {
            // A command is waited for exactly when someone other than the core owns it
            // before the result is known.
            let waits = s.on_abort() == AbortAction::WaitForOwner;
            assert_eq!(
                waits,
                matches!(s.owner(), Owner::Fabric | Owner::Handler) && s != State::Transmitting
            );
        }
    }

    #[test]
    fn active_states() {
        assert!(State::Ready.is_active());
        assert!(!State::Executing.is_active());
    }
}
