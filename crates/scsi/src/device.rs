// SPDX-License-Identifier: GPL-2.0
//! Description of a logical unit as seen by the emulation (filled by the core from device
//! attributes).

/// What the emulation needs to know about a logical unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceParams<'a> {
    /// Logical block size in bytes (512, 1024, 2048 or 4096).
    pub block_size: u32,
    /// Capacity in logical blocks.
    pub num_blocks: u64,
    /// Write protected: WP bit in the mode parameter header; writes fail with
    /// WRITE PROTECTED.
    pub read_only: bool,
    /// Volatile write cache enabled: WCE bit of the caching mode page (08h).
    pub write_cache: bool,
    /// The initiator may switch the write cache (WCE is changeable in the caching mode page).
    pub write_cache_changeable: bool,
    /// Sense data in descriptor format (the control mode page's D_SENSE).
    pub descriptor_sense: bool,
    /// Commands aborted by another I_T nexus's task management end with TASK ABORTED
    /// status (the control mode page's TAS) rather than silently.
    pub task_aborted_status: bool,
    /// The control mode page's QUEUE ALGORITHM MODIFIER.
    pub queue_algorithm: super::task_set::QueueAlgorithm,
    /// The control mode page's QErr.
    pub qerr: super::task_set::QErr,
    /// The saved values of the saveable mode parameters (MODE SENSE page control 3), or
    /// None when the device keeps none (MODE SELECT's SP is then refused).
    pub saved_modes: Option<super::mode::ModeValues>,
    /// Rotating medium. When false, VPD page B1h reports MEDIUM ROTATION RATE 1
    /// (non-rotating); when true, 0 (not reported).
    pub rotational: bool,
    /// Removable medium (RMB bit of standard INQUIRY data).
    pub removable: bool,
    /// The device deallocates blocks, which then read as zeros: UNMAP, WRITE SAME with
    /// UNMAP and GET LBA STATUS (see [`super::provisioning`]); LBPME and LBPRZ.
    pub thin_provisioned: bool,
    /// T10 vendor identification, padded/truncated to 8 bytes with spaces in INQUIRY.
    pub vendor: &'a [u8],
    /// Product identification, padded/truncated to 16 bytes.
    pub product: &'a [u8],
    /// Product revision level, padded/truncated to 4 bytes.
    pub revision: &'a [u8],
    /// Unit serial number for VPD page 80h (ASCII), truncated to 64 bytes.
    pub serial: &'a [u8],
    /// Source of the NAA 5 (IEEE Registered) designator: the low 36 bits become the
    /// VENDOR SPECIFIC IDENTIFIER after the IEEE company id 00-14-05.
    pub naa_id: u64,
    /// Vendor-specific part of the T10 vendor ID designator (e.g. the device name);
    /// truncated to 64 bytes.
    pub t10_vendor_designator: &'a [u8],
    /// Relative target port identifier (1-based) for the relative target port designator.
    pub relative_port: u16,
    /// The target port group of the port the command came through, for the target port
    /// group designator (none when 0: the port is in no group).
    pub target_port_group: u16,
    /// The TPGS field of standard INQUIRY data: 0 no ALUA, [`TPGS_IMPLICIT`] and
    /// [`TPGS_EXPLICIT`] (SET TARGET PORT GROUPS is served).
    pub tpgs: u8,
    /// The asymmetric access state of the port the command came through.
    pub port_state: super::alua::AccessState,
    /// SCSI name string of the target port (e.g. `iqn...,t,0x1`); emitted only when
    /// non-empty, NUL terminated and padded to a multiple of 4, truncated to 251 bytes.
    pub target_port_name: &'a [u8],
    /// The longest READ or WRITE in bytes, reported in VPD page B0h as MAXIMUM TRANSFER
    /// LENGTH (in blocks); 0 reports no limit.
    pub max_transfer_bytes: u32,
}

/// TPGS bit: implicit ALUA (the states are set by management).
pub const TPGS_IMPLICIT: u8 = 0x1;
/// TPGS bit: explicit ALUA (SET TARGET PORT GROUPS).
pub const TPGS_EXPLICIT: u8 = 0x2;

impl DeviceParams<'_> {
    /// A device of 0 blocks of 512 bytes with empty strings; convenient base for tests.
    pub const EMPTY: DeviceParams<'static> = DeviceParams {
        block_size: 512,
        num_blocks: 0,
        read_only: false,
        write_cache: false,
        write_cache_changeable: false,
        descriptor_sense: false,
        task_aborted_status: false,
        queue_algorithm: super::task_set::QueueAlgorithm::Unrestricted,
        qerr: super::task_set::QErr::Continue,
        saved_modes: None,
        rotational: false,
        removable: false,
        thin_provisioned: false,
        vendor: b"",
        product: b"",
        revision: b"",
        serial: b"",
        naa_id: 0,
        t10_vendor_designator: b"",
        relative_port: 1,
        target_port_group: 0,
        tpgs: 0,
        port_state: super::alua::AccessState::ActiveOptimized,
        target_port_name: b"",
        max_transfer_bytes: 0,
    };

    /// The last logical block address (0 for an empty device).
    pub fn last_lba(&self) -> u64 {
        self.num_blocks.saturating_sub(1)
    }
}
