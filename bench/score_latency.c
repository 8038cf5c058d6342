/*
 * score_latency: one client that runs a query as a prepared statement, back
 * to back for a number of seconds, and writes each execution's round-trip
 * latency in microseconds (one per line) to a file.  pgbench's per-
 * transaction log reuses a cached clock reading and reports 0 µs for many
 * sub-100-µs transactions, so the latency benchmarks time each call here.
 *
 *   score_latency "dbname=..." SECONDS "SELECT ..." OUTFILE
 *
 * Exits 1 on the first failed execution, printing the server's message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libpq-fe.h>

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
	PGconn	   *conn;
	PGresult   *res;
	FILE	   *out;
	double		end;
	long		n = 0;

	if (argc != 5)
	{
		fprintf(stderr, "usage: %s CONNINFO SECONDS QUERY OUTFILE\n", argv[0]);
		return 2;
	}
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "connection failed: %s", PQerrorMessage(conn));
		return 2;
	}
	res = PQprepare(conn, "q", argv[3], 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "prepare failed: %s", PQerrorMessage(conn));
		return 2;
	}
	PQclear(res);
	out = fopen(argv[4], "w");
	if (out == NULL)
	{
		perror(argv[4]);
		return 2;
	}
	end = now_us() + atof(argv[2]) * 1e6;
	for (;;)
	{
		double		t0 = now_us();
		double		t1;

		if (t0 >= end)
			break;
		res = PQexecPrepared(conn, "q", 0, NULL, NULL, NULL, 0);
		t1 = now_us();
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			fprintf(stderr, "execution %ld failed: %s", n + 1, PQerrorMessage(conn));
			fclose(out);
			return 1;
		}
		PQclear(res);
		fprintf(out, "%.1f\n", t1 - t0);
		n++;
	}
	fclose(out);
	PQfinish(conn);
	return 0;
}
