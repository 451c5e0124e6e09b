// SPDX-License-Identifier: GPL-2.0
/* C wrappers for kernel inline functions rscst_local's Rust calls. */
#include <linux/bottom_half.h>
#include <linux/hardirq.h>
#include <linux/irqflags.h>
#include <linux/cpumask.h>
#include <scsi/scsi_cmnd.h>

void rscst_local_scsi_done(struct scsi_cmnd *cmd);
unsigned int rscst_local_online_cpus(void);

/*
 * scsi_done with bottom halves disabled around it. With more than one
 * hardware queue, blk-mq completes a request on the CPU that submitted it
 * (or one sharing its cache) right in scsi_done, else by IPI. With one
 * (a host on a one-CPU machine) it completes it in BLOCK_SOFTIRQ on this
 * CPU; raised from a thread, that softirq would wake ksoftirqd (a context
 * switch per completion). Raised with bottom halves disabled, it runs when
 * they are enabled again, right here, in the caller's context.
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

unsigned int rscst_local_online_cpus(void)
{
	return num_online_cpus();
}
