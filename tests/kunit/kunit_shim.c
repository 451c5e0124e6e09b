// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of rscst_kunit: KUnit suite registration (6.12 has no Rust
 * macro for it), and what the Rust test bodies need from C: running a
 * function in softirq (a timer) or hard IRQ (irq_work) and waiting for it,
 * the caller's context, and writing management lines into sysfs files the
 * way an administrator does.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/hardirq.h>
#include <linux/hrtimer.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/irq_work.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/string.h>
#include <linux/timer.h>

typedef void (*rscst_kunit_fn)(void *arg);

/* The Rust test bodies: NULL on success, else a static message. */
const char *rscst_kunit_setup(void);
void rscst_kunit_teardown(void);
#define RSCST_CASES(X) \
	X(emulated_in_thread_is_not_reentered) \
	X(emulated_in_softirq_defers_strict_fabric) \
	X(emulated_in_softirq_runs_inline_for_open_fabric) \
	X(start_in_hardirq_answers_from_a_thread) \
	X(exec_done_in_hardirq_responds_from_a_thread) \
	X(atomic_handler_runs_inline_in_softirq) \
	X(sleeping_handler_runs_in_a_thread) \
	X(inline_completion_goes_back_to_the_exec_call) \
	X(rdy_to_xfer_follows_the_template) \
	X(reused_sgv_buffer_is_zeroed_before_a_read) \
	X(abort_task_waits_for_the_held_command) \
	X(lun_reset_spares_commands_after_it) \
	X(target_reset_marks_every_session_first) \
	X(abort_races_hardirq_completions) \
	X(registration_refuses_bad_tables) \
	X(raw_tier_answers_any_status_sense_and_residual) \
	X(raw_tier_declines_and_the_core_emulates) \
	X(raw_tier_malformed_answers_become_internal_failures) \
	X(raw_tier_gets_write_data_for_unknown_cdbs) \
	X(commands_carry_their_session_context) \
	X(raw_tier_read_only_lun_refuses_writes) \
	X(raw_tier_large_unknown_cdb_from_softirq) \
	X(raw_tier_of_a_tape_gets_commands_sized_by_the_initiator) \
	X(unregistration_waits_for_commands_of_every_cpu) \
	X(lun_replace_never_leaves_the_lun_missing) \
	X(abort_task_set_clear_task_set_and_nexus_reset_abort_held_commands) \
	X(lun_reset_leaves_one_unit_attention_per_nexus) \
	X(lun_inventory_changes_raise_unit_attentions_until_report_luns) \
	X(clear_task_set_tells_the_other_initiator) \
	X(new_nexus_reports_power_on_at_every_lun) \
	X(mode_select_switches_the_write_cache_of_every_nexus) \
	X(unmap_makes_one_discard_per_range_one_at_a_time) \
	X(an_aborted_unmap_makes_no_further_discard) \
	X(read_backs_compare_what_the_medium_holds) \
	X(compare_and_write_holds_writes_until_it_completes) \
	X(query_functions_find_without_aborting) \
	X(task_aborted_status_goes_to_the_other_initiator) \
	X(preempt_and_abort_ends_the_preempted_initiators_commands) \
	X(ordered_waits_for_earlier_commands_and_holds_later_ones) \
	X(aca_attribute_is_refused_and_restricted_reordering_orders_simple_commands) \
	X(qerr_aborts_the_task_set_on_check_condition) \
	X(abort_task_set_answers_commands_queued_in_the_task_set_at_once) \
	X(target_reset_answers_task_aborted_where_tas_is_set) \
	X(preempt_and_abort_at_the_head_of_the_queue_ends_what_is_queued_behind) \
	X(aca_condition_admits_only_the_faulted_nexus_aca_command_until_clear_aca) \
	X(aca_condition_blocks_the_task_set_until_clear_aca_reset_or_preemption) \
	X(the_fabric_is_told_of_each_unit_attention_raised)

#define DECLARE_BODY(name) const char *rscst_kunit_##name(void);
RSCST_CASES(DECLARE_BODY)

#define DEFINE_CASE(name)                                      \
	static void case_##name(struct kunit *test)            \
	{                                                      \
		const char *err = rscst_kunit_##name();        \
		if (err)                                       \
			KUNIT_FAIL(test, "%s", err);           \
	}
RSCST_CASES(DEFINE_CASE)

static int suite_init(struct kunit_suite *suite)
{
	const char *err = rscst_kunit_setup();

	if (err) {
		pr_err("rscst_kunit: setup failed: %s\n", err);
		/* suite_exit is not called after a failed suite_init. */
		rscst_kunit_teardown();
		return -EINVAL;
	}
	return 0;
}

static void suite_exit(struct kunit_suite *suite)
{
	rscst_kunit_teardown();
}

void rscst_kunit_case_init(void);

/* Each case starts with no command held (a failed case may leave some)
 * and no unit attention pending. */
static int case_init(struct kunit *test)
{
	rscst_kunit_case_init();
	return 0;
}

#define LIST_CASE(n) { .run_case = case_##n, .name = #n },
static struct kunit_case rscst_cases[] = {
	RSCST_CASES(LIST_CASE)
	{}
};

static struct kunit_suite rscst_suite = {
	.name = "rscst_core",
	.suite_init = suite_init,
	.suite_exit = suite_exit,
	.init = case_init,
	.test_cases = rscst_cases,
};
kunit_test_suite(rscst_suite);

/*
 * Where a callback of the fakes runs: 2 in hard IRQ, 1 in softirq or with
 * bottom halves off, 0 otherwise (the suite's threads and the core's
 * workers; the suite never calls the core under a lock of its own).
 */
int rscst_kunit_context(void);
int rscst_kunit_context(void)
{
	if (in_hardirq())
		return 2;
	return in_softirq() ? 1 : 0;
}

const void *rscst_kunit_current(void);
const void *rscst_kunit_current(void)
{
	return current;
}

struct on_timer {
	struct timer_list timer;
	struct completion done;
	rscst_kunit_fn fn;
	void *arg;
};

static void timer_fn(struct timer_list *t)
{
	struct on_timer *o = from_timer(o, t, timer);

	o->fn(o->arg);
	complete(&o->done);
}

struct on_irq_work {
	struct irq_work work;
	rscst_kunit_fn fn;
	void *arg;
};

static void irq_work_fn(struct irq_work *w)
{
	struct on_irq_work *o = container_of(w, struct on_irq_work, work);

	o->fn(o->arg);
}

/* Runs fn(arg) in softirq (where 1) or hard IRQ (where 2) and waits for it. */
void rscst_kunit_run_in(int where, rscst_kunit_fn fn, void *arg);
void rscst_kunit_run_in(int where, rscst_kunit_fn fn, void *arg)
{
	if (where == 1) {
		struct on_timer o = { .fn = fn, .arg = arg };

		init_completion(&o.done);
		timer_setup_on_stack(&o.timer, timer_fn, 0);
		mod_timer(&o.timer, jiffies);
		wait_for_completion(&o.done);
		del_timer_sync(&o.timer);
		destroy_timer_on_stack(&o.timer);
	} else if (where == 2) {
		struct on_irq_work o = { .work = IRQ_WORK_INIT_HARD(irq_work_fn), .fn = fn, .arg = arg };

		irq_work_queue(&o.work);
		irq_work_sync(&o.work);
	} else {
		fn(arg);
	}
}

struct on_cpu {
	rscst_kunit_fn fn;
	void *arg;
};

static void on_cpu_fn(void *p)
{
	struct on_cpu *o = p;

	o->fn(o->arg);
}

/*
 * Runs fn(arg) on CPU `cpu` (in its interrupt, or with interrupts off: when
 * it is this CPU, or an idle CPU polling) and waits for it; -ENXIO when `cpu` is not online.
 */
int rscst_kunit_run_on_cpu(unsigned int cpu, rscst_kunit_fn fn, void *arg);
int rscst_kunit_run_on_cpu(unsigned int cpu, rscst_kunit_fn fn, void *arg)
{
	struct on_cpu o = { .fn = fn, .arg = arg };

	return smp_call_function_single(cpu, on_cpu_fn, &o, 1);
}

/* A single-entry scatterlist over a kernel buffer. */
void rscst_kunit_sg_one(struct scatterlist *sg, void *buf, unsigned int len);
void rscst_kunit_sg_one(struct scatterlist *sg, void *buf, unsigned int len)
{
	sg_init_one(sg, buf, len);
}

size_t rscst_kunit_sg_size(void);
size_t rscst_kunit_sg_size(void)
{
	return sizeof(struct scatterlist);
}

/* Writes `line` into the sysfs file `path`, as `echo line >path` does. */
int rscst_kunit_write(const char *path, const char *line);
int rscst_kunit_write(const char *path, const char *line)
{
	struct file *f = filp_open(path, O_WRONLY, 0);
	loff_t pos = 0;
	ssize_t n;

	if (IS_ERR(f))
		return PTR_ERR(f);
	n = kernel_write(f, line, strlen(line), &pos);
	filp_close(f, NULL);
	if (n < 0)
		return n;
	return n == strlen(line) ? 0 : -EIO;
}


struct async_call {
	struct work_struct work;
	struct completion done;
	rscst_kunit_fn fn;
	void *arg;
};

static void async_fn(struct work_struct *w)
{
	struct async_call *a = container_of(w, struct async_call, work);

	a->fn(a->arg);
	complete(&a->done);
}

/*
 * Runs fn(arg) in a kernel thread, on CPU `cpu` unless it is negative;
 * NULL when out of memory.
 */
void *rscst_kunit_async(int cpu, rscst_kunit_fn fn, void *arg);
void *rscst_kunit_async(int cpu, rscst_kunit_fn fn, void *arg)
{
	struct async_call *a = kzalloc(sizeof(*a), GFP_KERNEL);

	if (!a)
		return NULL;
	a->fn = fn;
	a->arg = arg;
	init_completion(&a->done);
	INIT_WORK(&a->work, async_fn);
	if (cpu < 0)
		queue_work(system_unbound_wq, &a->work);
	else
		queue_work_on(cpu, system_wq, &a->work);
	return a;
}

bool rscst_kunit_async_done(void *h);
bool rscst_kunit_async_done(void *h)
{
	return completion_done(&((struct async_call *)h)->done);
}

/* Waits for the call and frees it. */
void rscst_kunit_async_wait(void *h);
void rscst_kunit_async_wait(void *h)
{
	struct async_call *a = h;

	wait_for_completion(&a->done);
	kfree(a);
}

struct later {
	struct hrtimer timer;
	rscst_kunit_fn fn;
	void *arg;
};

static enum hrtimer_restart later_fn(struct hrtimer *t)
{
	struct later *l = container_of(t, struct later, timer);

	l->fn(l->arg);
	return HRTIMER_NORESTART;
}

/* A timer that calls fn(arg) in hard IRQ; NULL when out of memory. */
void *rscst_kunit_later_new(rscst_kunit_fn fn, void *arg);
void *rscst_kunit_later_new(rscst_kunit_fn fn, void *arg)
{
	struct later *l = kzalloc(sizeof(*l), GFP_KERNEL);

	if (!l)
		return NULL;
	l->fn = fn;
	l->arg = arg;
	hrtimer_init(&l->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	l->timer.function = later_fn;
	return l;
}

/* Fires the timer once, `us` microseconds from now (any context). */
void rscst_kunit_later_start(void *h, unsigned int us);
void rscst_kunit_later_start(void *h, unsigned int us)
{
	struct later *l = h;

	hrtimer_start(&l->timer, ns_to_ktime((u64)us * 1000), HRTIMER_MODE_REL_HARD);
}

void rscst_kunit_later_free(void *h);
void rscst_kunit_later_free(void *h)
{
	struct later *l = h;

	if (l) {
		hrtimer_cancel(&l->timer);
		kfree(l);
	}
}

