/*
 * threads.h
 *		A parallel for-loop over tasks on threads of this backend.
 */
#ifndef REFRAME_THREADS_H
#define REFRAME_THREADS_H

/*
 * Runs fn(arg, task, thread) for every task in 0 .. ntasks - 1 on up to
 * nthreads threads (thread 0 is the caller's).  fn must not call into
 * PostgreSQL (no palloc, no ereport, no interrupts): it only computes into
 * memory prepared for it, and may call ReframeYield.  Tasks are handed
 * out in order, one at a time.
 */
extern void RfParallelFor(int ntasks, int nthreads, void (*fn) (void *arg, int task, int thread),
						  void *arg);

/* The threads a training computes with: reframe.threads, or by default as parallel query would. */
extern int	RfTrainThreads(void);

/*
 * How many of a library's threads (XGBoost's, which spin while they wait
 * for each other) to use step by step on a server whose cores other
 * processes may want.  RfCoresStart begins with the cores free now (not
 * counting this backend); before each step RfCoresStep returns the number
 * to use, and after it RfCoresDone measures the step: if the backend's own
 * thread got less than its share of a core, the machine is contended and
 * the next steps run on one thread, trying more again later (after 100 ms,
 * doubling up to 2 s while the cores stay busy).  Calls nothing of
 * PostgreSQL but the clock and /proc/loadavg.
 */
typedef struct RfCores
{
	int			wanted;			/* at most */
	int			now;			/* in use */
	int64		probe_at;		/* ns: when one thread may try more */
	int64		hold;			/* ns: the next wait before trying more */
	int64		wall0;			/* the measured stretch's start, wall and CPU */
	int64		cpu0;
	int64		wall;			/* measured so far */
	int64		cpu;
} RfCores;

extern void RfCoresStart(RfCores *c, int wanted);
extern int	RfCoresStep(RfCores *c);
extern void RfCoresDone(RfCores *c);

#endif
