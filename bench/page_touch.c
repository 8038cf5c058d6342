/*
 * page_touch.c: what a new process pays to first touch pages of shared
 * memory it inherited, as a new backend does when it first scores from the
 * shared model cache.  A parent maps and fills 28 MB shared (as the
 * postmaster maps the main segment); each of three forked children reads
 * one byte of N distinct 4 kB pages twice and prints both passes' times.
 * No PostgreSQL involved: it tells the machine's cost per page from
 * reframe's.
 *
 *   cc -O2 -o page_touch bench/page_touch.c && ./page_touch 3000
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Reads one byte of each of n pages spread over the region (a fixed order). */
static long
touch(const char *p, size_t pages, int n)
{
	long		s = 0;

	for (int i = 0; i < n; i++)
		s += p[((size_t) i * 2654435761u % pages) * 4096 + 64];
	return s;
}

int
main(int argc, char **argv)
{
	size_t		size = (size_t) 28 << 20;
	int			n = argc > 1 ? atoi(argv[1]) : 3000;
	char	   *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || n < 1 || (size_t) n > size / 4096)
		return 1;
	memset(p, 1, size);
	for (int k = 0; k < 3; k++)
	{
		pid_t		child = fork();

		if (child == 0)
		{
			double		t0 = ms();
			long		s = touch(p, size / 4096, n);
			double		t1 = ms();

			s += touch(p, size / 4096, n);
			printf("child %d: %d pages, first touch %.2f ms (%.2f us a page), again %.2f ms%s\n",
				   k + 1, n, t1 - t0, (t1 - t0) * 1e3 / n, ms() - t1, s == 42 ? " " : "");
			fflush(stdout);
			_exit(0);
		}
		waitpid(child, NULL, 0);
	}
	return 0;
}
