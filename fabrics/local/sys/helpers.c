// SPDX-License-Identifier: GPL-2.0
/* C wrappers for kernel inline functions rscst_local's Rust calls. */
#include <linux/bottom_half.h>
#include <linux/hardirq.h>
#include <linux/irqflags.h>
#include <scsi/scsi_cmnd.h>

void rscst_local_scsi_done(struct scsi_cmnd *cmd);

/*
 * scsi_done with bottom halves disabled around it. A SCSI host has one
 * hardware queue here, so blk-mq completes the request in BLOCK_SOFTIRQ on
 * this CPU; raised from a thread, that softirq would wake ksoftirqd (a
 * context switch per completion). Raised with bottom halves disabled, it
 * runs when they are enabled again, right here, in the caller's context.
 * In hard IRQ or with interrupts disabled, where bottom halves cannot be
 * enabled again, plain scsi_done.
 */
void rscst_local_scsi_done(struct scsi_cmnd *cmd)
{
	if (in_hardirq() || irqs_disabled()) {
		scsi_done(cmd);
		return;
	}
	local_bh_disable();
	scsi_done(cmd);
	local_bh_enable();
}
