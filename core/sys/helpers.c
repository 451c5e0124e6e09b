// SPDX-License-Identifier: GPL-2.0
/* C wrappers for kernel macros and inline functions rscst.ko's Rust calls. */
#include <linux/sysfs.h>
#include <linux/workqueue.h>
#include <linux/smp.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/spinlock.h>
#include <linux/preempt.h>
#include <linux/hardirq.h>
#include <linux/kernel.h>

void rscst_sys_attr_init(struct attribute *attr);
void rscst_sys_init_work(struct work_struct *work, work_func_t fn);
bool rscst_sys_queue_work(struct workqueue_struct *wq, struct work_struct *work);
struct workqueue_struct *rscst_sys_alloc_wq(const char *name, bool per_cpu, int max_active);
unsigned int rscst_sys_cpu(void);

void rscst_sys_attr_init(struct attribute *attr)
{
	sysfs_attr_init(attr);
}

void rscst_sys_init_work(struct work_struct *work, work_func_t fn)
{
	INIT_WORK(work, fn);
}

bool rscst_sys_queue_work(struct workqueue_struct *wq, struct work_struct *work)
{
	return queue_work(wq, work);
}

struct workqueue_struct *rscst_sys_alloc_wq(const char *name, bool per_cpu, int max_active)
{
	/*
	 * Per-CPU queues run work on the CPU that queued it (short steps such
	 * as handing a response to a fabric); unbound ones suit steps that
	 * block (file I/O), which must not hold up the submitting CPU.
	 */
	unsigned int flags = WQ_MEM_RECLAIM | (per_cpu ? 0 : WQ_UNBOUND);

	return alloc_workqueue("%s", flags, max_active, name);
}

unsigned int rscst_sys_cpu(void)
{
	return raw_smp_processor_id();
}

struct page *rscst_sys_alloc_page(bool atomic);
void *rscst_sys_page_address(struct page *page);

/* One zeroed page for an SGV buffer; GFP_ATOMIC when the caller cannot sleep. */
struct page *rscst_sys_alloc_page(bool atomic)
{
	return alloc_page((atomic ? GFP_ATOMIC : GFP_KERNEL) | __GFP_NOWARN | __GFP_ZERO);
}

void *rscst_sys_page_address(struct page *page)
{
	return page_address(page);
}

unsigned long rscst_sys_spin_lock_irqsave(spinlock_t *lock);
void rscst_sys_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);
int rscst_sys_context(void);
void rscst_sys_might_sleep(void);

unsigned long rscst_sys_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void rscst_sys_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

/*
 * The caller's context: 0 may sleep, 1 atomic (softirq, BH or preemption
 * disabled; the latter only seen with CONFIG_PREEMPT_COUNT), 2 hard IRQ,
 * NMI or interrupts disabled.
 */
int rscst_sys_context(void)
{
	if (in_hardirq() || in_nmi() || irqs_disabled())
		return 2;
	if (!in_task() || in_atomic())
		return 1;
	return 0;
}

/* Reports (in a kernel with CONFIG_DEBUG_ATOMIC_SLEEP) a caller that may not sleep. */
void rscst_sys_might_sleep(void)
{
	might_sleep();
}
