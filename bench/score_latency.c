/*
 * score_latency: one client process driving several connections, as
 * pgbench -j 1 does, each running a query as a prepared statement back to
 * back for a number of seconds; writes each execution's round-trip latency
 * in microseconds (one per line) to a file.  pgbench's per-transaction log
 * reuses a cached clock reading and reports 0 us for many sub-100-us
 * transactions, so the latency benchmarks time each call here.
 *
 *   score_latency CONNINFO CONNECTIONS SECONDS QUERY OUTFILE
 *
 * Exits 1 on the first failed execution, printing the server's message.
 */
#include <poll.h>
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

static int
send_query(PGconn *conn, double *started)
{
	*started = now_us();
	return PQsendQueryPrepared(conn, "q", 0, NULL, NULL, NULL, 0);
}

int
main(int argc, char **argv)
{
	PGconn	   *conns[MAX_CONNS];
	double		started[MAX_CONNS];
	struct pollfd fds[MAX_CONNS];
	int			n;
	int			active;
	double		end;
	FILE	   *out;

	if (argc != 6 || (n = atoi(argv[2])) < 1 || n > MAX_CONNS)
	{
		fprintf(stderr, "usage: %s CONNINFO CONNECTIONS SECONDS QUERY OUTFILE\n", argv[0]);
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
		fds[i].fd = PQsocket(conns[i]);
		fds[i].events = POLLIN;
		if (!send_query(conns[i], &started[i]))
		{
			fprintf(stderr, "send failed: %s", PQerrorMessage(conns[i]));
			return 1;
		}
	}
	active = n;
	while (active > 0)
	{
		if (poll(fds, n, 1000) < 0)
		{
			perror("poll");
			return 2;
		}
		for (int i = 0; i < n; i++)
		{
			PGresult   *res;
			double		t1;
			int			ok = 1;

			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLERR | POLLHUP)))
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
			fprintf(out, "%.1f\n", t1 - started[i]);
			if (t1 >= end)
			{
				fds[i].fd = -1;
				active--;
			}
			else if (!send_query(conns[i], &started[i]))
			{
				fprintf(stderr, "send failed: %s", PQerrorMessage(conns[i]));
				return 1;
			}
		}
	}
	fclose(out);
	for (int i = 0; i < n; i++)
		PQfinish(conns[i]);
	return 0;
}
