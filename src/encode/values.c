/*
 * values.c
 *		Values of a row as reframe reads them: the numeric types, a datum as a
 *		double, strings coded by a dictionary (RfDict), a row's hash; doubles
 *		as a float8[].
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "encoder.h"

/* ---------- string dictionary ---------- */

struct RfDict
{
	MemoryContext mcxt;			/* where strings are kept */
	int			size;			/* entries used */
	int			cap;			/* slots, a power of two */
	int		   *slots;			/* code + 1, 0 = empty */
	uint32	   *hashes;			/* per code */
	char	  **strings;		/* per code */
};

RfDict *
RfDictCreate(void)
{
	RfDict	   *d = palloc0(sizeof(RfDict));

	d->mcxt = CurrentMemoryContext;
	d->cap = 64;
	d->slots = palloc0(sizeof(int) * d->cap);
	d->hashes = palloc(sizeof(uint32) * d->cap / 2);
	d->strings = palloc(sizeof(char *) * d->cap / 2);
	return d;
}

static void
RfDictGrow(RfDict *d)
{
	int			cap = d->cap * 2;

	d->slots = repalloc_huge(d->slots, sizeof(int) * cap);
	memset(d->slots, 0, sizeof(int) * cap);
	d->hashes = repalloc_huge(d->hashes, sizeof(uint32) * cap / 2);
	d->strings = repalloc_huge(d->strings, sizeof(char *) * cap / 2);
	d->cap = cap;
	for (int code = 0; code < d->size; code++)
	{
		uint32		i = d->hashes[code] & (cap - 1);

		while (d->slots[i] != 0)
			i = (i + 1) & (cap - 1);
		d->slots[i] = code + 1;
	}
}

/* Returns the code of s, adding it when insert is true; -1 if absent. */
int
RfDictCode(RfDict *d, const char *s, bool insert)
{
	uint32		h = hash_bytes((const unsigned char *) s, strlen(s));
	uint32		i = h & (d->cap - 1);

	while (d->slots[i] != 0)
	{
		int			code = d->slots[i] - 1;

		if (d->hashes[code] == h && strcmp(d->strings[code], s) == 0)
			return code;
		i = (i + 1) & (d->cap - 1);
	}
	if (!insert)
		return -1;
	d->hashes[d->size] = h;
	d->strings[d->size] = MemoryContextStrdup(d->mcxt, s);
	d->slots[i] = d->size + 1;
	d->size++;
	if (d->size * 2 >= d->cap)
		RfDictGrow(d);
	return d->size - 1;
}

int
RfDictSize(const RfDict *d)
{
	return d->size;
}

const char *
RfDictString(const RfDict *d, int code)
{
	return d->strings[code];
}

/*
 * A fast content hash of n doubles, for the validation split: the split
 * must depend on the row's values, not on the order rows arrive in.
 */
uint64
ReframeHashDoubles(const double *x, int n, uint64 h)
{
	const uint64 *w = (const uint64 *) x;	/* -fno-strict-aliasing */
	const uint64 m = UINT64CONST(0x9E3779B97F4A7C15);
	uint64		a = h,
				b = h ^ UINT64CONST(0x243F6A8885A308D3),
				c = h ^ UINT64CONST(0x13198A2E03707344),
				d = h ^ UINT64CONST(0xA4093822299F31D0);
	int			i = 0;

	/*
	 * Four independent multiply-xorshift chains, so their latencies overlap;
	 * in four variables, not an array, or GCC keeps them in memory and each
	 * step waits on a store (2.5x slower)
	 */
	for (; i + 4 <= n; i += 4)
	{
		a = (a ^ w[i]) * m;
		a ^= a >> 29;
		b = (b ^ w[i + 1]) * m;
		b ^= b >> 29;
		c = (c ^ w[i + 2]) * m;
		c ^= c >> 29;
		d = (d ^ w[i + 3]) * m;
		d ^= d >> 29;
	}
	for (; i < n; i++)
	{
		a = (a ^ w[i]) * m;
		a ^= a >> 29;
	}
	return hash_combine64(hash_combine64(hash_combine64(a, b), c), d);
}

/* ---------- types ---------- */

bool
ReframeIsNumericType(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			return true;
		default:
			return false;
	}
}

/* Converts a value of a numeric type (see ReframeIsNumericType) to double. */
double
ReframeDatumToDouble(Datum d, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return (double) DatumGetInt16(d);
		case INT4OID:
			return (double) DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case FLOAT4OID:
			return (double) DatumGetFloat4(d);
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
		case BOOLOID:
			return DatumGetBool(d) ? 1.0 : 0.0;
		default:
			elog(ERROR, "reframe: unexpected numeric type %u", typid);
	}
	return 0;					/* keep compiler quiet */
}

/* n doubles as a one-dimensional float8[]. */
ArrayType *
ReframeFloat8Array(const double *v, int n)
{
	Size		size = ARR_OVERHEAD_NONULLS(1) + sizeof(double) * n;
	ArrayType  *arr = palloc0(size);

	SET_VARSIZE(arr, size);
	arr->ndim = 1;
	arr->dataoffset = 0;
	arr->elemtype = FLOAT8OID;
	ARR_DIMS(arr)[0] = n;
	ARR_LBOUND(arr)[0] = 1;
	memcpy(ARR_DATA_PTR(arr), v, sizeof(double) * n);
	return arr;
}
