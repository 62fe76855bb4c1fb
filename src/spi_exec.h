/*-------------------------------------------------------------------------
 *
 * spi_exec.h
 *	  The one way the extension runs SQL through SPI, internal to the files
 *	  that issue statements: catalog.c (objects, Secret values, ConfigMaps,
 *	  the rows apply and delete write), status.c (the worker's status, step
 *	  journal, ports and teardown) and apply.c (its SQL functions' SPI
 *	  connection, one comparison of documents).  Nothing else includes it,
 *	  and no other file calls SPI.
 *
 * A statement's values are always bound parameters of a declared type,
 * built from a small array of CbArg; never pieces of its text.  Rows are
 * read through typed getters that check the column's type, and copy what
 * they return into the result context (below).  A worker's short
 * transaction is cb_tx_begin()/cb_tx_commit() (declared in catalog.h,
 * which the worker includes).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_SPI_EXEC_H
#define CB_SPI_EXEC_H

#include "postgres.h"
#include "nodes/pg_list.h"

typedef enum CbArgType
{
	CB_ARG_TEXT,
	CB_ARG_INT4,
	CB_ARG_BOOL,
	CB_ARG_BYTEA
} CbArgType;

/* one bound parameter: build it with the cb_arg_*() functions */
typedef struct CbArg
{
	CbArgType	type;
	bool		isnull;
	const char *str;			/* TEXT, BYTEA */
	int			len;			/* BYTEA */
	int32		i4;				/* INT4 */
	bool		b;				/* BOOL */
} CbArg;

/* text; NULL is SQL NULL */
static inline CbArg
cb_arg_text(const char *s)
{
	CbArg		a = {CB_ARG_TEXT, s == NULL, s, 0, 0, false};

	return a;
}

static inline CbArg
cb_arg_int4(int32 v)
{
	CbArg		a = {CB_ARG_INT4, false, NULL, 0, v, false};

	return a;
}

/* int4, or SQL NULL unless present */
static inline CbArg
cb_arg_int4_if(bool present, int32 v)
{
	CbArg		a = {CB_ARG_INT4, !present, NULL, 0, v, false};

	return a;
}

static inline CbArg
cb_arg_bool(bool v)
{
	CbArg		a = {CB_ARG_BOOL, false, NULL, 0, 0, v};

	return a;
}

/* len bytes at p (not NUL-terminated: Secret values may be binary) */
static inline CbArg
cb_arg_bytea(const char *p, int len)
{
	CbArg		a = {CB_ARG_BYTEA, false, p, len, 0, false};

	return a;
}

/* SPI in the caller's transaction (the SQL functions of apply.c) */
extern void cb_spi_connect(void);
extern void cb_spi_finish(void);

/*
 * Run one statement with its parameters; SPI connected.  Returns the number
 * of rows processed; the rows are read with cb_row_*() until the next
 * statement.  An SPI failure is an ERROR.
 */
extern uint64 cb_spi_exec(const char *sql, const CbArg *args, int nargs,
						  bool read_only);

/* one statement, no rows read, in a worker's transaction of its own */
extern uint64 cb_spi_exec_tx(const char *sql, const CbArg *args, int nargs);

/*
 * Where results are copied: the context current at cb_tx_begin() in a
 * worker's transaction, else the one current when the getter runs.
 */
extern MemoryContext cb_spi_result_cxt(void);

/*
 * Typed getters of the last statement's rows (row 0-based, col 1-based).
 * cb_row_text: the column as text (its output function), copied; NULL if
 * SQL NULL.  The others check the column's type (an ERROR if it is not
 * the one asked for) and return if_null for SQL NULL.
 */
extern char *cb_row_text(uint64 row, int col);
extern int32 cb_row_int4(uint64 row, int col, int32 if_null);
extern bool cb_row_bool(uint64 row, int col, bool if_null);
/* a bytea's bytes, copied with a NUL after them; NULL if SQL NULL */
extern char *cb_row_bytea(uint64 row, int col, int *len);
/* column col of every row, as a List of cb_row_text() strings */
extern List *cb_rows_text(int col);

#endif							/* CB_SPI_EXEC_H */
