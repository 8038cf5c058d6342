/*
 * yield.c
 *		Training gives way to the queries it shares the cores with.
 *
 * A training is one long CPU-bound call.  The kernel's fair scheduler lets a
 * process that has used less CPU than others run first, but only at the end
 * of the running one's time slice, which on a busy machine can be a whole
 * timer tick (4 ms at HZ=250): a scoring query that wakes up on the core a
 * training holds waits that long, about a hundred times its own run time.
 * So the training's loops call ReframeYield() often, and every
 * reframe.train_yield_interval it offers its core with sched_yield().  With
 * nothing else runnable on the core the call returns at once; otherwise the
 * waiting query runs first.  Scoring never yields.  The training's threads
 * (threads.h) yield too, each on its own clock: a thread that never gave
 * way would hold the other core as long as the backend gives its own.
 */
#include "postgres.h"

#include <sched.h>

#include "portability/instr_time.h"

#include "reframe.h"

double		reframe_train_yield_interval = 0.02;	/* ms */

void
ReframeYield(void)
{
	static __thread instr_time last;	/* calls nothing of PostgreSQL */
	instr_time	now;

	if (reframe_train_yield_interval <= 0)
		return;
	INSTR_TIME_SET_CURRENT(now);
	if (INSTR_TIME_IS_ZERO(last))
		last = now;
	else
	{
		instr_time	elapsed = now;

		INSTR_TIME_SUBTRACT(elapsed, last);
		if (INSTR_TIME_GET_MILLISEC(elapsed) >= reframe_train_yield_interval)
		{
			sched_yield();
			last = now;
		}
	}
}
