/*
 * threads.c
 *		A parallel for-loop on threads of the backend.
 *
 * PostgreSQL parallelises a query with processes; a training's objective
 * is one computation over rows already in this backend's memory, so its
 * chunks are shared out to threads instead, as OpenBLAS and XGBoost do
 * with theirs.  The threads never touch PostgreSQL: the caller prepares
 * every buffer, and each task writes only its own results, so that the
 * caller can add them up in task order and get the same sums, bit for bit,
 * whatever the number of threads.  Signals stay with the backend's own
 * thread (the others block them), and no interrupt is served until every
 * thread has finished.
 */
#include "postgres.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "optimizer/cost.h"

#include "reframe.h"
#include "threads.h"

typedef struct ParallelFor
{
	int			ntasks;
	int			next;			/* the next task to hand out */
	pthread_mutex_t lock;
	void		(*fn) (void *arg, int task, int thread);
	void	   *arg;
} ParallelFor;

typedef struct Worker
{
	ParallelFor *pf;
	int			thread;
} Worker;

static int
NextTask(ParallelFor *pf)
{
	int			task;

	pthread_mutex_lock(&pf->lock);
	task = pf->next < pf->ntasks ? pf->next++ : -1;
	pthread_mutex_unlock(&pf->lock);
	return task;
}

static void *
WorkerMain(void *p)
{
	Worker	   *w = p;
	int			task;

	while ((task = NextTask(w->pf)) >= 0)
		w->pf->fn(w->pf->arg, task, w->thread);
	return NULL;
}

void
RfParallelFor(int ntasks, int nthreads, void (*fn) (void *arg, int task, int thread), void *arg)
{
	ParallelFor pf = {.ntasks = ntasks,.next = 0,.fn = fn,.arg = arg};
	pthread_t	tids[RF_MAX_THREADS];
	Worker		workers[RF_MAX_THREADS];
	int			started = 0;
	sigset_t	all,
				old;

	nthreads = Max(1, Min(Min(nthreads, ntasks), RF_MAX_THREADS));
	pthread_mutex_init(&pf.lock, NULL);
	if (nthreads > 1)
	{
		/* the new threads inherit a mask that blocks every signal */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		for (int t = 1; t < nthreads; t++)
		{
			workers[started].pf = &pf;
			workers[started].thread = t;
			if (pthread_create(&tids[started], NULL, WorkerMain, &workers[started]) != 0)
				break;			/* fewer threads: the others take more tasks */
			started++;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	{
		Worker		self = {.pf = &pf,.thread = 0};

		WorkerMain(&self);
	}
	for (int t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	pthread_mutex_destroy(&pf.lock);
}

int
RfTrainThreads(void)
{
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);
	int			n = reframe_threads > 0 ? reframe_threads : 1 + max_parallel_workers_per_gather;

	if (reframe_threads <= 0 && cores > 0)
		n = Min(n, (int) cores);
	return Max(1, Min(n, RF_MAX_THREADS));
}

/* ---------- sharing the cores with other processes (threads.h) ---------- */

#define CORES_HOLD_NS		100000000	/* 100 ms on one thread after contention */
#define CORES_HOLD_MAX_NS	2000000000	/* doubling up to 2 s */
#define CORES_MEASURE_NS	5000000		/* measure stretches of at least 5 ms */
#define CORES_SHARE			0.7			/* the backend's thread ran less: contended */

static int64
ClockNs(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The cores not running another task now: the machine's, less the runnable
 * tasks of /proc/loadavg other than this backend; all of them when that
 * cannot be read.
 */
static int
FreeCores(void)
{
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);
	FILE	   *f = fopen("/proc/loadavg", "r");
	double		l1,
				l5,
				l15;
	int			running = 0;
	int			total = 0;

	if (cores < 1)
		cores = 1;
	if (f == NULL)
		return (int) cores;
	if (fscanf(f, "%lf %lf %lf %d/%d", &l1, &l5, &l15, &running, &total) != 5)
		running = 1;
	fclose(f);
	return (int) Max(cores - Max(running - 1, 0), 1);
}

void
RfCoresStart(RfCores *c, int wanted)
{
	memset(c, 0, sizeof(RfCores));
	c->wanted = Max(wanted, 1);
	c->hold = CORES_HOLD_NS;
	c->now = c->wanted > 1 ? Min(c->wanted, FreeCores()) : 1;
	c->probe_at = ClockNs(CLOCK_MONOTONIC) + (c->now < c->wanted ? c->hold : 0);
}

int
RfCoresStep(RfCores *c)
{
	int64		now = ClockNs(CLOCK_MONOTONIC);

	if (c->now < c->wanted && now >= c->probe_at)
	{
		/* try more threads if the cores look free; else wait longer */
		c->now = Min(c->wanted, FreeCores());
		if (c->now == 1)
		{
			c->probe_at = now + c->hold;
			c->hold = Min(c->hold * 2, CORES_HOLD_MAX_NS);
		}
	}
	c->wall0 = now;
	c->cpu0 = ClockNs(CLOCK_THREAD_CPUTIME_ID);
	return c->now;
}

void
RfCoresDone(RfCores *c)
{
	int64		now = ClockNs(CLOCK_MONOTONIC);

	if (c->now <= 1)
		return;
	c->wall += now - c->wall0;
	c->cpu += ClockNs(CLOCK_THREAD_CPUTIME_ID) - c->cpu0;
	if (c->wall < CORES_MEASURE_NS)
		return;
	if (c->cpu < CORES_SHARE * c->wall)
	{
		/* others want the cores: one thread for a while */
		c->now = 1;
		c->probe_at = now + c->hold;
		c->hold = Min(c->hold * 2, CORES_HOLD_MAX_NS);
	}
	else
		c->hold = CORES_HOLD_NS;
	c->wall = c->cpu = 0;
}
