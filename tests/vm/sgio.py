#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One SCSI command through the SG_IO ioctl, with its exact outcome.

    sgio.py DEVICE CDB-HEX [--in LEN | --out DATA-HEX]
    sgio.py --serve


Prints one line: "good", "check KK/AA/QQ" (sense key, ASC and ASCQ, from
fixed or descriptor sense), or "status SS" (any other SCSI status); then
"sense HEX" with the sense bytes, if any, and, for a data-in command,
"data HEX" with the bytes received. Exits 0 when the
command reached the device (whatever its status), 1 when the ioctl or the
transport failed. sg3_utils' tools print sense as text; the VM suites
compare exact codes and bytes.

With --serve, it reads one command per line on stdin (the arguments above,
separated by spaces) and answers each with the lines above followed by a
line "end", so that a suite pays Python's start-up once (seconds under the
lab's emulated CPU) instead of once per command.
"""
import ctypes
import fcntl
import os
import sys

SG_IO = 0x2285
SG_DXFER_NONE, SG_DXFER_TO_DEV, SG_DXFER_FROM_DEV = -1, -2, -3


class SgIoHdr(ctypes.Structure):
    """struct sg_io_hdr (include/scsi/sg.h)."""

    _fields_ = [
        ("interface_id", ctypes.c_int),
        ("dxfer_direction", ctypes.c_int),
        ("cmd_len", ctypes.c_ubyte),
        ("mx_sb_len", ctypes.c_ubyte),
        ("iovec_count", ctypes.c_ushort),
        ("dxfer_len", ctypes.c_uint),
        ("dxferp", ctypes.c_void_p),
        ("cmdp", ctypes.c_void_p),
        ("sbp", ctypes.c_void_p),
        ("timeout", ctypes.c_uint),
        ("flags", ctypes.c_uint),
        ("pack_id", ctypes.c_int),
        ("usr_ptr", ctypes.c_void_p),
        ("status", ctypes.c_ubyte),
        ("masked_status", ctypes.c_ubyte),
        ("msg_status", ctypes.c_ubyte),
        ("sb_len_wr", ctypes.c_ubyte),
        ("host_status", ctypes.c_ushort),
        ("driver_status", ctypes.c_ushort),
        ("resid", ctypes.c_int),
        ("duration", ctypes.c_uint),
        ("info", ctypes.c_uint),
    ]


def sense_codes(sense):
    """(key, asc, ascq) of fixed (70h/71h) or descriptor (72h/73h) sense."""
    code = sense[0] & 0x7F if sense else 0
    if code in (0x72, 0x73) and len(sense) >= 4:
        return sense[1] & 0x0F, sense[2], sense[3]
    if code in (0x70, 0x71) and len(sense) >= 14:
        return sense[2] & 0x0F, sense[12], sense[13]
    return None


def serve():
    """Runs the commands of stdin's lines, each answer ended by "end"."""
    for line in sys.stdin:
        args = line.split()
        try:
            run(args)
        except (OSError, ValueError) as e:
            print(f"error {e}")
        print("end", flush=True)
    return 0


def main(argv):
    if argv[1:] == ["--serve"]:
        return serve()
    if len(argv) not in (3, 5):
        sys.exit(__doc__)
    return run(argv[1:])


def run(args):
    """One command: DEVICE CDB-HEX [--in LEN | --out DATA-HEX]."""
    if len(args) not in (2, 4):
        raise ValueError("usage: DEVICE CDB-HEX [--in LEN | --out DATA-HEX]")
    dev, cdb = args[0], bytes.fromhex(args[1])
    direction, data = SG_DXFER_NONE, b""
    if len(args) == 4:
        if args[2] == "--in":
            direction, data = SG_DXFER_FROM_DEV, bytes(int(args[3]))
        elif args[2] == "--out":
            direction, data = SG_DXFER_TO_DEV, bytes.fromhex(args[3])
        else:
            raise ValueError(f"unknown option {args[2]}")
    cdb_buf = ctypes.create_string_buffer(cdb, len(cdb))
    data_buf = ctypes.create_string_buffer(data, max(len(data), 1))
    sense_buf = ctypes.create_string_buffer(64)
    hdr = SgIoHdr(
        interface_id=ord("S"),
        dxfer_direction=direction,
        cmd_len=len(cdb),
        mx_sb_len=64,
        dxfer_len=len(data),
        dxferp=ctypes.addressof(data_buf),
        cmdp=ctypes.addressof(cdb_buf),
        sbp=ctypes.addressof(sense_buf),
        timeout=30000,
    )
    fd = os.open(dev, os.O_RDWR | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, SG_IO, hdr)
    finally:
        os.close(fd)
    if hdr.host_status or (hdr.driver_status & 0x0F and hdr.status == 0):
        print(f"transport host_status={hdr.host_status:#x} driver_status={hdr.driver_status:#x}")
        return 1
    sense = sense_buf.raw[: hdr.sb_len_wr]
    if hdr.status == 0x02:
        codes = sense_codes(sense)
        print("check " + ("%02x/%02x/%02x" % codes if codes else "(no sense)"))
    elif hdr.status == 0:
        print("good")
    else:
        print(f"status {hdr.status:02x}")
    if sense:
        print("sense " + sense.hex())
    if direction == SG_DXFER_FROM_DEV:
        print("data " + data_buf.raw[: len(data) - max(hdr.resid, 0)].hex())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
