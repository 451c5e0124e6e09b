/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel C APIs rscst's modules call: bindgen turns this into sys/generated/bindings.rs. */
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <linux/slab.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/uio.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/scatterlist.h>
#include <linux/highmem.h>
#include <linux/workqueue.h>
#include <linux/delay.h>
#include <linux/timekeeping.h>
#include <linux/spinlock.h>
#include <linux/completion.h>
#include <linux/smp.h>
#include <scsi/scsi.h>
#include <scsi/scsi_host.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_tcq.h>
#include <scsi/scsi_eh.h>
