// SPDX-License-Identifier: GPL-2.0
//! rscst.ko's only `unsafe` layer: kernel bindings, sysfs, the workqueue,
//! scatter-gather access and the exported C ABI. Everything above it is safe
//! Rust.

#[path = "../../sys/bindings.rs"]
pub mod bindings;
#[path = "../../sys/compat.rs"]
pub mod compat;
#[path = "../../sys/sg.rs"]
pub mod sg;


pub mod abi;
pub mod context;
#[path = "../../sys/file.rs"]
pub mod file;
pub mod flags;
#[path = "../../sys/global.rs"]
pub mod global;
pub mod lock;
pub mod ops;
pub mod pages;
pub mod percpu;
pub mod rcu;
pub mod slab;
pub mod sysfs;
pub mod time;
pub mod work;
