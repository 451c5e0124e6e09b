// SPDX-License-Identifier: GPL-2.0
/* C wrappers for kernel macros and inline functions rscst.ko's Rust calls. */
#include <linux/sysfs.h>
#include <linux/workqueue.h>
#include <linux/smp.h>
#include <linux/gfp.h>
#include <linux/mm.h>

void rscst_sys_attr_init(struct attribute *attr);
void rscst_sys_init_work(struct work_struct *work, work_func_t fn);
bool rscst_sys_queue_work(struct workqueue_struct *wq, struct work_struct *work);
struct workqueue_struct *rscst_sys_alloc_wq(const char *name);
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

struct workqueue_struct *rscst_sys_alloc_wq(const char *name)
{
	/* Unbound: file I/O blocks, so do not tie commands to the submitting CPU. */
	return alloc_workqueue("%s", WQ_UNBOUND | WQ_MEM_RECLAIM, 0, name);
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
