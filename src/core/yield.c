/*
 * yield.c
 *		Training gives way to the queries it shares the cores with.
 *
 * A training is one long CPU-bound call.  The kernel's fair scheduler lets a
 * process that has used less CPU than others run first, but only at the end
 * of the running one's time slice, which on a busy machine can be a whole
 * timer tick (4 ms at HZ=250): a scoring query that wakes up on the core a
 * training holds waits that long, about a hundred times its own run time.
 * So the training's loops call ReframeYield() often, and it offers its core
 * with sched_yield() every reframe.train_yield_interval while other processes
 * want the cores.  Scoring never yields.  The training's threads (threads.h)
 * yield too, each on its own clock: a thread that never gave way would hold
 * the other core as long as the backend gives its own.
 *
 * A yield is a system call (about 1.4 us in this virtual machine: 7% of a
 * training at 20 us), wasted when nothing waits.  So while nobody has been
 * waiting a training offers its core once a millisecond, and a yield that
 * gave the core away (it took YIELD_TAKEN_NS or more: another process ran)
 * makes every thread of the training yield at the full rate for the next
 * YIELD_BUSY_NS.  Under steady load a training yields as often as
 * reframe.train_yield_interval says; on an idle machine it pays a thousand
 * system calls a second.  A query that wakes while the training yields
 * slowly waits at most a millisecond, and its wait is what turns the full
 * rate on.
 */
#include "postgres.h"

#include <sched.h>
#include <time.h>

#include "reframe.h"

double		reframe_train_yield_interval = 0.02;	/* ms */

#define YIELD_IDLE_NS	1000000		/* with nobody waiting, offer the core each ms */
#define YIELD_TAKEN_NS	20000		/* a yield this long gave the core away */
#define YIELD_BUSY_NS	50000000	/* then yield at the full rate for 50 ms */

/* until when every thread yields at the full rate; written by any of them */
static int64 busy_until;

/* each thread's own clock; calls nothing of PostgreSQL */
static __thread int64 last_yield;

static int64
NowNs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
ReframeYield(void)
{
	int64		interval = (int64) (reframe_train_yield_interval * 1000000.0);
	int64		now;
	int64		wait;

	if (interval <= 0)
		return;
	now = NowNs();
	if (last_yield == 0)
	{
		last_yield = now;
		return;
	}
	wait = now < __atomic_load_n(&busy_until, __ATOMIC_RELAXED) ? interval : Max(interval, YIELD_IDLE_NS);
	if (now - last_yield < wait)
		return;
	sched_yield();
	last_yield = NowNs();
	if (last_yield - now >= YIELD_TAKEN_NS)
		__atomic_store_n(&busy_until, last_yield + YIELD_BUSY_NS, __ATOMIC_RELAXED);
}
