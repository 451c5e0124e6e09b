// SPDX-License-Identifier: GPL-2.0
//! rscst_kunit.ko: the KUnit tier. A fake fabric (registered twice: one
//! template that allows nothing, `kunit_strict`, and one that allows
//! callbacks in atomic context and re-entry, `kunit_open`) and three fake
//! handlers (`kunit_dev`, whose `exec` may sleep, `kunit_atomic`, with
//! `EXEC_ATOMIC`, and `kunit_raw`, with the raw SCSI tier) drive the real core through its C ABI from process
//! context, softirq (a timer) and hard IRQ (irq_work, hrtimer), and check
//! where the core calls them back, what they get, and how TMFs and
//! completions interleave. The suite (kunit_shim.c) runs when the module
//! loads; tests/vm/kunit.sh loads it and parses the KTAP output.

use kernel::prelude::*;

#[path = "../../crates/abi/src/lib.rs"]
pub mod abi;
#[path = "../../crates/mgmt/src/lib.rs"]
pub mod mgmt;

pub mod cases;
pub mod fakes;
pub mod sys;

use fakes::{Fake, FakeDev};
use kernel::sync::Arc;
use sys::client::{FabricRegistration, HandlerRegistration};

module! {
    type: KunitModule,
    name: "rscst_kunit",
    description: "rscst KUnit tier: the core driven by fake fabrics and handlers",
    license: "GPL",
}

/// The fakes' registrations.
struct Regs {
    _strict: FabricRegistration<Fake>,
    _open: FabricRegistration<Fake>,
    _dev: HandlerRegistration<FakeDev<false>>,
    _atomic: HandlerRegistration<FakeDev<false>>,
    _raw: HandlerRegistration<FakeDev<true>>,
    _raw_tape: HandlerRegistration<FakeDev<true>>,
}

struct KunitModule {
    regs: Option<Regs>,
}

impl Drop for KunitModule {
    fn drop(&mut self) {
        // Unregistering deletes what the fakes still serve; only then may
        // their state go.
        drop(self.regs.take());
        drop(fakes::STATE.take());
    }
}

impl kernel::Module for KunitModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        fakes::STATE.set(fakes::State::new()?);
        let regs = (|| -> Result<Regs> {
            Ok(Regs {
                _strict: FabricRegistration::new(fakes::STRICT_OPS, Arc::new(Fake { open: false }, GFP_KERNEL)?)?,
                _open: FabricRegistration::new(fakes::OPEN_OPS, Arc::new(Fake { open: true }, GFP_KERNEL)?)?,
                _dev: HandlerRegistration::new(fakes::DEV_OPS, Arc::new(FakeDev::<false>, GFP_KERNEL)?)?,
                _atomic: HandlerRegistration::new(fakes::ATOMIC_OPS, Arc::new(FakeDev::<false>, GFP_KERNEL)?)?,
                _raw: HandlerRegistration::new(fakes::RAW_OPS, Arc::new(FakeDev::<true>, GFP_KERNEL)?)?,
                _raw_tape: HandlerRegistration::new(fakes::RAW_TAPE_OPS, Arc::new(FakeDev::<true>, GFP_KERNEL)?)?,
            })
        })();
        match regs {
            Ok(r) => Ok(KunitModule { regs: Some(r) }),
            Err(e) => {
                drop(fakes::STATE.take());
                Err(e)
            }
        }
    }
}
