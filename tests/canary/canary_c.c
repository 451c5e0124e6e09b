// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of the memory-error canary: one out-of-bounds write into a
 * kmalloc'ed object, so the lab proves its detector sees C code too.
 */
#include <linux/slab.h>

void rscst_canary_c_out_of_bounds(void);

void rscst_canary_c_out_of_bounds(void)
{
	/* volatile: keep the compiler from proving the store dead or out of range. */
	volatile char *p = kmalloc(40, GFP_KERNEL);
	volatile size_t i = 40;

	if (!p)
		return;
	p[i] = 0x5a;
	kfree((void *)p);
}
