// SPDX-License-Identifier: GPL-2.0
//! `add_device` parameters shared by the vdisk handlers.

use crate::mgmt::params::{parse_bool, parse_size, parse_u32, Params};
use crate::sys::adapter::MsgOut;
use core::fmt::Write;
use kernel::prelude::*;

/// Parsed parameters; `None` where not given.
#[derive(Default)]
pub struct VdiskParams<'a> {
    /// `filename`.
    pub filename: Option<&'a str>,
    /// `blocksize`.
    pub block_size: Option<u32>,
    /// `size` in bytes (`size_mb` converted).
    pub size: Option<u64>,
    /// `read_only`.
    pub read_only: bool,
    /// `write_through`.
    pub write_through: bool,
    /// `nv_cache`.
    pub nv_cache: bool,
    /// `read_zero`.
    pub read_zero: bool,
    /// `rotational`.
    pub rotational: bool,
    /// `thin_provisioned`.
    pub thin_provisioned: Option<bool>,
}

/// Parses `params`, accepting only the keys in `allowed`.
pub fn parse<'a>(params: &'a str, allowed: &[&str], msg: &mut MsgOut<'_>) -> Result<VdiskParams<'a>> {
    let mut p = VdiskParams::default();
    for item in Params::new(params) {
        let (k, v) = match item {
            Ok(kv) => kv,
            Err(e) => {
                let _ = write!(msg, "{}", e.message());
                return Err(EINVAL);
            }
        };
        if !allowed.contains(&k) {
            let _ = write!(msg, "unknown parameter '{}' (allowed: {})", k, AllowedList(allowed));
            return Err(EINVAL);
        }
        let bad = |msg: &mut MsgOut<'_>| {
            let _ = write!(msg, "bad value '{}' for {}", v, k);
            EINVAL
        };
        match k {
            "filename" => p.filename = Some(v),
            "blocksize" => {
                let bs = parse_u32(v).map_err(|_| bad(msg))?;
                if !matches!(bs, 512 | 1024 | 2048 | 4096) {
                    let _ = write!(msg, "blocksize must be 512, 1024, 2048 or 4096, not {}", bs);
                    return Err(EINVAL);
                }
                p.block_size = Some(bs);
            }
            "size" => p.size = Some(parse_size(v).map_err(|_| bad(msg))?),
            "size_mb" => {
                let mb = parse_size(v).map_err(|_| bad(msg))?;
                p.size = Some(mb.checked_mul(1 << 20).ok_or_else(|| bad(msg))?);
            }
            "read_only" => p.read_only = parse_bool(v).map_err(|_| bad(msg))?,
            "write_through" => p.write_through = parse_bool(v).map_err(|_| bad(msg))?,
            "nv_cache" => p.nv_cache = parse_bool(v).map_err(|_| bad(msg))?,
            "read_zero" => p.read_zero = parse_bool(v).map_err(|_| bad(msg))?,
            "rotational" => p.rotational = parse_bool(v).map_err(|_| bad(msg))?,
            "thin_provisioned" => p.thin_provisioned = Some(parse_bool(v).map_err(|_| bad(msg))?),
            _ => return Err(bad(msg)),
        }
    }
    Ok(p)
}

struct AllowedList<'a>(&'a [&'a str]);

impl core::fmt::Display for AllowedList<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, k) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(k)?;
        }
        Ok(())
    }
}
