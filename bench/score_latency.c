/*
 * score_latency: one client process driving several connections, as
 * pgbench -j 1 does, each running a query as a prepared statement for a
 * number of seconds; writes each execution's round-trip latency and how late
 * it started, in microseconds (one line a call), to a file.  pgbench's per-transaction log reuses a cached clock
 * reading and reports 0 us for many sub-100-us transactions, so the latency
 * benchmarks time each call here.
 *
 *   score_latency CONNINFO CONNECTIONS SECONDS QUERY OUTFILE [RATE]
 *
 * Without RATE (or with 0) each connection runs the query back to back.
 * With RATE each connection starts calls as a Poisson process of RATE calls
 * a second, as pgbench --rate does.  A call's round trip runs from sending it
 * to its result; its lateness from its scheduled start to sending it, which
 * is the client's own wake-up delay, or, when the call before it has not
 * returned, the wait for that one (a stall shows in the lateness of every
 * call it delayed, not only in its own round trip).
 *
 * Exits 1 on the first failed execution, printing the server's message.
 */
#define _GNU_SOURCE
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libpq-fe.h>

#define MAX_CONNS 64

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* xorshift64*: a fixed seed per connection, so every run paces alike */
static double
uniform01(uint64_t *state)
{
	uint64_t	x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return ((x * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

/* microseconds to the next call of a Poisson process of rate calls a second */
static double
next_interval_us(uint64_t *state, double rate)
{
	return -log(1.0 - uniform01(state)) * 1e6 / rate;
}

int
main(int argc, char **argv)
{
	PGconn	   *conns[MAX_CONNS];
	double		scheduled[MAX_CONNS];	/* start of the call in flight or next */
	int			in_flight[MAX_CONNS];
	double		sent[MAX_CONNS];
	uint64_t	rng[MAX_CONNS];
	struct pollfd fds[MAX_CONNS];
	int			n;
	int			active;
	double		rate = 0;
	double		end;
	FILE	   *out;

	if ((argc != 6 && argc != 7) || (n = atoi(argv[2])) < 1 || n > MAX_CONNS ||
		(argc == 7 && (rate = atof(argv[6])) < 0))
	{
		fprintf(stderr, "usage: %s CONNINFO CONNECTIONS SECONDS QUERY OUTFILE [RATE]\n", argv[0]);
		return 2;
	}
	for (int i = 0; i < n; i++)
	{
		PGresult   *res;

		conns[i] = PQconnectdb(argv[1]);
		if (PQstatus(conns[i]) != CONNECTION_OK)
		{
			fprintf(stderr, "connection failed: %s", PQerrorMessage(conns[i]));
			return 2;
		}
		res = PQprepare(conns[i], "q", argv[4], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			fprintf(stderr, "prepare failed: %s", PQerrorMessage(conns[i]));
			return 2;
		}
		PQclear(res);
	}
	out = fopen(argv[5], "w");
	if (out == NULL)
	{
		perror(argv[5]);
		return 2;
	}
	end = now_us() + atof(argv[3]) * 1e6;
	for (int i = 0; i < n; i++)
	{
		rng[i] = 0x9E3779B97F4A7C15ULL * (i + 1);
		scheduled[i] = now_us() + (rate > 0 ? next_interval_us(&rng[i], rate) : 0);
		in_flight[i] = 0;
		fds[i].fd = PQsocket(conns[i]);
	}
	active = n;
	while (active > 0)
	{
		double		t = now_us();
		double		wait_us = 1e6;
		struct timespec timeout;

		/* start every call that is due */
		for (int i = 0; i < n; i++)
		{
			if (fds[i].fd < 0 || in_flight[i])
				continue;
			if (scheduled[i] <= t)
			{
				sent[i] = now_us();
				if (!PQsendQueryPrepared(conns[i], "q", 0, NULL, NULL, NULL, 0))
				{
					fprintf(stderr, "send failed: %s", PQerrorMessage(conns[i]));
					return 1;
				}
				in_flight[i] = 1;
			}
			else if (scheduled[i] - t < wait_us)
				wait_us = scheduled[i] - t;
		}
		timeout.tv_sec = (time_t) (wait_us / 1e6);
		timeout.tv_nsec = (long) ((wait_us - timeout.tv_sec * 1e6) * 1e3);
		for (int i = 0; i < n; i++)
		{
			fds[i].events = in_flight[i] ? POLLIN : 0;
			fds[i].revents = 0;
		}
		if (ppoll(fds, n, &timeout, NULL) < 0)
		{
			perror("poll");
			return 2;
		}
		for (int i = 0; i < n; i++)
		{
			PGresult   *res;
			double		t1;
			int			ok = 1;

			if (fds[i].fd < 0 || !in_flight[i] ||
				!(fds[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			if (!PQconsumeInput(conns[i]))
			{
				fprintf(stderr, "connection lost: %s", PQerrorMessage(conns[i]));
				return 1;
			}
			if (PQisBusy(conns[i]))
				continue;
			t1 = now_us();
			while ((res = PQgetResult(conns[i])) != NULL)
			{
				if (PQresultStatus(res) != PGRES_TUPLES_OK)
				{
					fprintf(stderr, "execution failed: %s", PQresultErrorMessage(res));
					ok = 0;
				}
				PQclear(res);
			}
			if (!ok)
				return 1;
			fprintf(out, "%.1f %.1f\n", t1 - sent[i], sent[i] - scheduled[i]);
			in_flight[i] = 0;
			/* back to back: the next call starts now; paced: on its schedule */
			scheduled[i] = rate > 0 ? scheduled[i] + next_interval_us(&rng[i], rate) : now_us();
			if (scheduled[i] >= end)
			{
				fds[i].fd = -1;
				active--;
			}
		}
	}
	fclose(out);
	for (int i = 0; i < n; i++)
		PQfinish(conns[i]);
	return 0;
}
