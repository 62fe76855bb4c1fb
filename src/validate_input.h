/*-------------------------------------------------------------------------
 *
 * validate_input.h
 *	  Rules on what a manifest may hand to PostgreSQL, initdb and libpq
 *	  (issue 11, "safety first"): parameter names compared as PostgreSQL
 *	  compares them, include directives refused, initdb options limited to
 *	  those CloudNativePG's own fields map to, connectionParameters that
 *	  would read host files or carry a secret refused.  Called by
 *	  validate.c; pure, like the rest of the model (see model.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_VALIDATE_INPUT_H
#define CB_VALIDATE_INPUT_H

#include "model.h"

/*
 * How a rule reports a refused input: the field path, the text (naming the
 * parameter or option, never its value) and what is allowed instead.
 */
typedef void (*CbInputReport) (void *arg, const char *path,
							   const char *detail, const char *hint);

/* GUC names compare case-insensitively (ASCII), as guc.c does */
extern bool cb_guc_name_eq(const char *a, const char *b);

/* the name folded to lower case (ASCII), as PostgreSQL stores it */
extern char *cb_guc_name_lower(const char *name);

/*
 * The parameters of spec.postgresql.parameters as written: include
 * directives and two keys naming the same parameter are reported.
 * path_prefix is "spec.postgresql.parameters.".
 */
extern void cb_check_parameter_names(const CbMap *user, const char *path_prefix,
									 CbInputReport report, void *arg);

/* true for include, include_if_exists and include_dir, in any case */
extern bool cb_guc_is_include(const char *name);

/*
 * spec.postgresql.pg_hba (hba true) or pg_ident: one line per item, no
 * include directive, no @file element in pg_hba
 */
extern void cb_check_config_lines(const CbStringList *lines, const char *path,
								  bool hba, CbInputReport report, void *arg);

/*
 * bootstrap.initdb.options, read as initdb's getopt_long reads its argv:
 * only the options of the allowlist at the top of validate_input.c pass.
 */
extern void cb_check_initdb_options(const CbStringList *options, const char *path,
									CbInputReport report, void *arg);

/* one externalClusters entry's connectionParameters */
extern void cb_check_connection_parameters(const CbMap *params, const char *path,
										   CbInputReport report, void *arg);

/* a Go duration (metav1.Duration) in milliseconds, 0 to INT_MAX; false if it is none */
extern bool cb_go_duration_ms(const char *s, int *ms);

/*
 * spec.replica: minApplyDelay a duration recovery_min_apply_delay takes; no
 * recovery target on a replica cluster (CloudNativePG ignores it silently)
 */
extern void cb_check_replica_rules(const CbClusterSpec *spec,
								   CbInputReport report, void *arg);

#endif							/* CB_VALIDATE_INPUT_H */
