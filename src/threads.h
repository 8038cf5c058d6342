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

#endif
