// SPDX-License-Identifier: GPL-2.0
//! Allocation-free parsers for the command lines written to SCST's sysfs `mgmt` files.
#![cfg_attr(not(CONFIG_RUST), no_std)]
#![forbid(unsafe_code)]

pub mod alua;
pub mod attr;
pub mod commands;
pub mod error;
// The fuzz targets' checks: host builds only (the kernel modules never call
// them, and their test-only code need not be in them).
#[cfg(not(CONFIG_RUST))]
pub mod fuzz;
pub mod hctl;
pub mod params;
pub mod wildcard;

pub use self::attr::format_attr;
pub use self::commands::{
    is_valid_device_name, is_valid_initiator_name, is_valid_target_name, parse_driver_cmd,
    parse_group_cmd, parse_handler_cmd, parse_initiator_cmd, parse_lun_cmd, DriverCmd, GroupCmd,
    HandlerCmd, InitiatorCmd, LunCmd,
};
pub use self::error::{ParseError, MAX_LINE};
pub use self::hctl::{parse_hctl, Hctl};
pub use self::params::{parse_bool, parse_size, parse_u32, parse_u64, Params, UnknownKey};
pub use self::wildcard::initiator_matches;
