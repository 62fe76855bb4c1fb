/*-------------------------------------------------------------------------
 *
 * spi_exec.c
 *	  The extension's one SPI helper: a statement with typed bound
 *	  parameters, typed getters of its rows, the result context they copy
 *	  into, and a worker's short transaction (cb_tx_begin/cb_tx_commit).
 *	  See spi_exec.h for who may use it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "spi_exec.h"

/* the most parameters a statement of ours binds */
#define CB_SPI_MAX_ARGS 8

/* where getters copy their results (see cb_spi_result_cxt) */
static MemoryContext result_cxt = NULL;

/* the caller's context, current again after cb_tx_commit */
static MemoryContext caller_cxt = NULL;

MemoryContext
cb_spi_result_cxt(void)
{
	return result_cxt ? result_cxt : CurrentMemoryContext;
}

void
cb_spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

void
cb_spi_finish(void)
{
	SPI_finish();
}

void
cb_tx_begin(void)
{
	result_cxt = caller_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	cb_spi_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
cb_tx_commit(void)
{
	cb_spi_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();

	/*
	 * CommitTransactionCommand leaves TopMemoryContext current: a worker's
	 * loop would then allocate there, never freed, at every pass.
	 */
	MemoryContextSwitchTo(caller_cxt);
	result_cxt = caller_cxt = NULL;
}

static Datum
bytea_datum(const char *v, int len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), v, len);
	return PointerGetDatum(b);
}

uint64
cb_spi_exec(const char *sql, const CbArg *args, int nargs, bool read_only)
{
	Oid			types[CB_SPI_MAX_ARGS];
	Datum		values[CB_SPI_MAX_ARGS];
	char		nulls[CB_SPI_MAX_ARGS + 1] = {0};
	int			rc;

	if (nargs > CB_SPI_MAX_ARGS)
		elog(ERROR, "cnpg_bootstrap catalog statement with %d parameters", nargs);
	for (int i = 0; i < nargs; i++)
	{
		const CbArg *a = &args[i];

		values[i] = (Datum) 0;
		nulls[i] = a->isnull ? 'n' : ' ';
		switch (a->type)
		{
			case CB_ARG_TEXT:
				types[i] = TEXTOID;
				if (!a->isnull)
					values[i] = CStringGetTextDatum(a->str);
				break;
			case CB_ARG_INT4:
				types[i] = INT4OID;
				values[i] = Int32GetDatum(a->i4);
				break;
			case CB_ARG_BOOL:
				types[i] = BOOLOID;
				values[i] = BoolGetDatum(a->b);
				break;
			case CB_ARG_BYTEA:
				types[i] = BYTEAOID;
				if (!a->isnull)
					values[i] = bytea_datum(a->str, a->len);
				break;
		}
	}
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
	if (rc < 0)
		elog(ERROR, "cnpg_bootstrap catalog statement failed: %s",
			 SPI_result_code_string(rc));
	return SPI_processed;
}

uint64
cb_spi_exec_tx(const char *sql, const CbArg *args, int nargs)
{
	uint64		n;

	cb_tx_begin();
	n = cb_spi_exec(sql, args, nargs, false);
	cb_tx_commit();
	return n;
}

/* the value at (row, col) of the last statement, checked to be of type */
static Datum
row_datum(uint64 row, int col, Oid type, bool *isnull)
{
	Oid			actual;

	if (SPI_tuptable == NULL || row >= SPI_processed)
		elog(ERROR, "cnpg_bootstrap catalog: no row %llu to read",
			 (unsigned long long) row);
	actual = SPI_gettypeid(SPI_tuptable->tupdesc, col);
	if (actual != type)
		elog(ERROR, "cnpg_bootstrap catalog: column %d is of type %u, not %u",
			 col, actual, type);
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

char *
cb_row_text(uint64 row, int col)
{
	char	   *v;

	if (SPI_tuptable == NULL || row >= SPI_processed)
		elog(ERROR, "cnpg_bootstrap catalog: no row %llu to read",
			 (unsigned long long) row);
	v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
	return v ? MemoryContextStrdup(cb_spi_result_cxt(), v) : NULL;
}

int32
cb_row_int4(uint64 row, int col, int32 if_null)
{
	bool		isnull;
	Datum		d = row_datum(row, col, INT4OID, &isnull);

	return isnull ? if_null : DatumGetInt32(d);
}

bool
cb_row_bool(uint64 row, int col, bool if_null)
{
	bool		isnull;
	Datum		d = row_datum(row, col, BOOLOID, &isnull);

	return isnull ? if_null : DatumGetBool(d);
}

char *
cb_row_bytea(uint64 row, int col, int *len)
{
	bool		isnull;
	Datum		d = row_datum(row, col, BYTEAOID, &isnull);
	bytea	   *b;
	char	   *v;

	*len = 0;
	if (isnull)
		return NULL;
	b = DatumGetByteaPP(d);
	*len = VARSIZE_ANY_EXHDR(b);
	v = MemoryContextAlloc(cb_spi_result_cxt(), *len + 1);
	memcpy(v, VARDATA_ANY(b), *len);
	v[*len] = '\0';
	return v;
}

List *
cb_rows_text(int col)
{
	List	   *l = NIL;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *v = cb_row_text(i, col);
		MemoryContext old = MemoryContextSwitchTo(cb_spi_result_cxt());

		l = lappend(l, v);
		MemoryContextSwitchTo(old);
	}
	return l;
}
