/*
 * progress.c
 *		Training progress in shared memory: one slot per running training,
 *		written by its backend, copied for reframe.training_progress()
 *		(train_sql.c).
 *
 * The slots are allocated on first use from the shared memory PostgreSQL
 * keeps spare for extensions (as pg_prewarm's autoprewarm does), so reframe
 * needs no shared_preload_libraries entry.  Each slot has a spinlock; the
 * writer holds it for a few stores, the reader to copy the slot.
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/float.h"
#include "utils/timestamp.h"

#include "progress.h"

typedef struct ProgressSlot
{
	slock_t		mutex;
	RfProgress	shown;			/* pid 0 when free */
} ProgressSlot;

static ProgressSlot *slots = NULL;
static ProgressSlot *mine = NULL;	/* this backend's slot while it trains */
static bool exit_hook = false;

static ProgressSlot *
ProgressSlots(void)
{
	bool		found;

	if (slots)
		return slots;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	slots = ShmemInitStruct("reframe training progress",
							sizeof(ProgressSlot) * RF_PROGRESS_SLOTS, &found);
	if (!found)
	{
		memset(slots, 0, sizeof(ProgressSlot) * RF_PROGRESS_SLOTS);
		for (int i = 0; i < RF_PROGRESS_SLOTS; i++)
			SpinLockInit(&slots[i].mutex);
	}
	LWLockRelease(AddinShmemInitLock);
	return slots;
}

static void
ProgressRelease(void)
{
	if (mine == NULL)
		return;
	SpinLockAcquire(&mine->mutex);
	mine->shown.pid = 0;
	SpinLockRelease(&mine->mutex);
	mine = NULL;
}

static void
ProgressReleaseCallback(void *arg)
{
	ProgressRelease();
}

static void
ProgressExit(int code, Datum arg)
{
	ProgressRelease();
}

void
ProgressStart(const char *model, MemoryContext cxt)
{
	ProgressSlot *s = ProgressSlots();
	MemoryContextCallback *cb;

	ProgressRelease();
	if (!exit_hook)
	{
		before_shmem_exit(ProgressExit, (Datum) 0);
		exit_hook = true;
	}
	for (int i = 0; i < RF_PROGRESS_SLOTS && mine == NULL; i++)
	{
		SpinLockAcquire(&s[i].mutex);
		if (s[i].shown.pid == 0)
		{
			s[i].shown.pid = MyProcPid;
			s[i].shown.dbid = MyDatabaseId;
			s[i].shown.userid = GetUserId();
			strlcpy(s[i].shown.model, model, sizeof(s[i].shown.model));
			strlcpy(s[i].shown.phase, "starting", sizeof(s[i].shown.phase));
			s[i].shown.rows = 0;
			s[i].shown.iteration = 0;
			s[i].shown.loss = get_float8_nan();
			s[i].shown.started = s[i].shown.updated = GetCurrentTimestamp();
			mine = &s[i];
		}
		SpinLockRelease(&s[i].mutex);
	}
	cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	cb->func = ProgressReleaseCallback;
	cb->arg = NULL;
	MemoryContextRegisterResetCallback(cxt, cb);
}

void
ProgressPhase(const char *phase)
{
	TimestampTz now;

	if (mine == NULL)
		return;
	now = GetCurrentTimestamp();
	SpinLockAcquire(&mine->mutex);
	strlcpy(mine->shown.phase, phase, sizeof(mine->shown.phase));
	mine->shown.updated = now;
	SpinLockRelease(&mine->mutex);
}

void
ProgressRows(int64 rows)
{
	if (mine == NULL)
		return;
	SpinLockAcquire(&mine->mutex);
	mine->shown.rows = rows;
	SpinLockRelease(&mine->mutex);
}

void
ProgressIteration(int iteration, double loss)
{
	TimestampTz now;

	if (mine == NULL)
		return;
	now = GetCurrentTimestamp();
	SpinLockAcquire(&mine->mutex);
	mine->shown.iteration = iteration;
	mine->shown.loss = loss;
	mine->shown.updated = now;
	SpinLockRelease(&mine->mutex);
}

/* A copy of each running training's slot, taken under its lock; returns how many. */
int
ProgressSnapshot(RfProgress *out)
{
	ProgressSlot *s = ProgressSlots();
	int			n = 0;

	for (int i = 0; i < RF_PROGRESS_SLOTS; i++)
	{
		SpinLockAcquire(&s[i].mutex);
		if (s[i].shown.pid != 0)
			out[n++] = s[i].shown;
		SpinLockRelease(&s[i].mutex);
	}
	return n;
}
