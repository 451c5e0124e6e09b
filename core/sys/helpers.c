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
#include <linux/slab.h>
#include <linux/xarray.h>
#include <linux/rcupdate.h>
#include <linux/percpu.h>
#include <linux/cpumask.h>
#include <linux/version.h>

/*
 * Since 6.17 a per-CPU workqueue says so with WQ_PERCPU (7.x warns when a
 * queue names neither WQ_PERCPU nor WQ_UNBOUND); 6.12 has no such flag.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 17, 0)
#define RSCST_WQ_PERCPU WQ_PERCPU
#else
#define RSCST_WQ_PERCPU 0
#endif

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
	unsigned int flags = WQ_MEM_RECLAIM | (per_cpu ? RSCST_WQ_PERCPU : WQ_UNBOUND);

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
bool rscst_sys_spin_trylock_irqsave(spinlock_t *lock, unsigned long *flags);
void rscst_sys_spin_assert_held(spinlock_t *lock);
void rscst_sys_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);
int rscst_sys_context(void);
void rscst_sys_might_sleep(void);

bool rscst_sys_spin_trylock_irqsave(spinlock_t *lock, unsigned long *flags)
{
	unsigned long f;

	if (!spin_trylock_irqsave(lock, f))
		return false;
	*flags = f;
	return true;
}

void rscst_sys_spin_assert_held(spinlock_t *lock)
{
	lockdep_assert_held(lock);
}

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

struct kmem_cache *rscst_sys_cache_create(const char *name, unsigned int size, unsigned int align);
void *rscst_sys_cache_alloc(struct kmem_cache *cache);
void rscst_sys_cache_free(struct kmem_cache *cache, void *obj);
void rscst_sys_cache_destroy(struct kmem_cache *cache);

struct kmem_cache *rscst_sys_cache_create(const char *name, unsigned int size, unsigned int align)
{
	/* Its own cache: visible in /proc/slabinfo, and a leak is reported. */
	return kmem_cache_create(name, size, align, SLAB_NO_MERGE, NULL);
}

/* Objects are allocated on the data path, in any context. */
void *rscst_sys_cache_alloc(struct kmem_cache *cache)
{
	return kmem_cache_alloc(cache, GFP_ATOMIC | __GFP_NOWARN);
}

void rscst_sys_cache_free(struct kmem_cache *cache, void *obj)
{
	kmem_cache_free(cache, obj);
}

void rscst_sys_cache_destroy(struct kmem_cache *cache)
{
	kmem_cache_destroy(cache);
}

struct xarray *rscst_sys_xa_new(void);
void rscst_sys_xa_free(struct xarray *xa);
void *rscst_sys_xa_load(struct xarray *xa, unsigned long index);
void *rscst_sys_xa_find(struct xarray *xa, unsigned long *index);
int rscst_sys_xa_store(struct xarray *xa, unsigned long index, void *entry, void **old);
void *rscst_sys_xa_erase(struct xarray *xa, unsigned long index);
void rscst_sys_rcu_read_lock(void);
void rscst_sys_rcu_read_unlock(void);

/* An empty xarray (its nodes point back to it, so it is allocated here). */
struct xarray *rscst_sys_xa_new(void)
{
	struct xarray *xa = kmalloc(sizeof(*xa), GFP_KERNEL);

	if (xa)
		xa_init(xa);
	return xa;
}

/* Frees an xarray whose entries were all erased. */
void rscst_sys_xa_free(struct xarray *xa)
{
	xa_destroy(xa);
	kfree(xa);
}

/* The entry at `index` (the caller holds rcu_read_lock). */
void *rscst_sys_xa_load(struct xarray *xa, unsigned long index)
{
	return xa_load(xa, index);
}

/* The first entry at or after *index, which it updates (rcu_read_lock held). */
void *rscst_sys_xa_find(struct xarray *xa, unsigned long *index)
{
	return xa_find(xa, index, ULONG_MAX, XA_PRESENT);
}

/* Stores `entry` at `index`, returning the entry it replaced in *old. */
int rscst_sys_xa_store(struct xarray *xa, unsigned long index, void *entry, void **old)
{
	void *prev = xa_store(xa, index, entry, GFP_KERNEL);

	if (xa_is_err(prev))
		return xa_err(prev);
	*old = prev;
	return 0;
}

/* Removes and returns the entry at `index` (never allocates). */
void *rscst_sys_xa_erase(struct xarray *xa, unsigned long index)
{
	return xa_erase(xa, index);
}

void rscst_sys_rcu_read_lock(void)
{
	rcu_read_lock();
}

void rscst_sys_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

void rscst_sys_synchronize_rcu(void);

/* Waits until every RCU reader that may see a removed entry is done. */
void rscst_sys_synchronize_rcu(void)
{
	synchronize_rcu();
}

void *rscst_sys_percpu_alloc(size_t size, size_t align);
void rscst_sys_percpu_free(void *p);
void *rscst_sys_percpu_local(void *p);
void *rscst_sys_percpu_of(void *p, unsigned int cpu);
int rscst_sys_next_possible_cpu(int prev);

/*
 * Rust holds a per-CPU pointer as a plain one. The casts go through an
 * integer, as the kernel's own per-CPU accessors do: since 6.15, with GCC
 * 14 and USE_X86_SEG_SUPPORT (Debian's 7.2), per-CPU pointers live in
 * their own address space (__seg_gs), which a direct cast may not leave
 * or enter.
 */
#define RSCST_PERCPU(p) ((void __percpu __force *)(unsigned long)(p))

/* Zeroed per-CPU storage (the Rust side initializes each copy). */
void *rscst_sys_percpu_alloc(size_t size, size_t align)
{
	return (void __force *)(unsigned long)__alloc_percpu(size, align);
}

void rscst_sys_percpu_free(void *p)
{
	free_percpu(RSCST_PERCPU(p));
}

/* The current CPU's copy, without disabling preemption. */
void *rscst_sys_percpu_local(void *p)
{
	return raw_cpu_ptr(RSCST_PERCPU(p));
}

void *rscst_sys_percpu_of(void *p, unsigned int cpu)
{
	return per_cpu_ptr(RSCST_PERCPU(p), cpu);
}

/* The next possible CPU after prev (-1 to start), or -1 after the last. */
int rscst_sys_next_possible_cpu(int prev)
{
	unsigned int next = cpumask_next(prev, cpu_possible_mask);

	return next < nr_cpu_ids ? (int)next : -1;
}
