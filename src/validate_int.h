/*-------------------------------------------------------------------------
 *
 * validate_int.h
 *	  What the files of the validator share (validate.c is the driver):
 *	  the collected field errors, the state a Cluster's checks look at, and
 *	  the helpers one file defines and others call.  Not for use outside
 *	  the validate*.c and config_writer.c files.
 *
 * IDENTIFICATION
 *	  src/validate_int.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_VALIDATE_INT_H
#define CB_VALIDATE_INT_H

#include "lib/stringinfo.h"
#include "model.h"

/* lengthof() as an int, for loops over tables */
#define NELEM(array)	((int) lengthof(array))

static inline bool
str_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static inline bool
str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Kubernetes field.ErrorType, with the words the API server prints */
typedef enum CbFieldErrorType
{
	CB_FIELD_INVALID,
	CB_FIELD_REQUIRED,
	CB_FIELD_FORBIDDEN,
	CB_FIELD_UNSUPPORTED
} CbFieldErrorType;

typedef struct CbFieldError
{
	CbFieldErrorType type;
	const char *path;
	const char *value;			/* Go-formatted bad value; NULL: not shown */
	const char *detail;			/* CloudNativePG's text, may be NULL */
	const char *hint;			/* what is allowed, for errhint */
} CbFieldError;

typedef struct CbFieldErrors
{
	int			n;
	int			cap;
	CbFieldError *items;
} CbFieldErrors;

/* everything a Cluster's checks look at */
typedef struct CbValidation
{
	CbClusterSpec *spec;
	CbMap		user_parameters;	/* spec.postgresql.parameters as written */
	const CbStringList *existing_clusters;
	bool		bootstrap_written;	/* spec.bootstrap in the document */
	int			bootstrap_methods;	/* methods written, before defaulting */
	CbFieldErrors errors;
} CbValidation;

typedef void (*CbCheck) (CbValidation *v);

extern void cb_add_field_error(CbFieldErrors *errors, CbFieldErrorType type,
							   const char *path, const char *value,
							   const char *detail, const char *hint);

static inline void
invalid(CbValidation *v, const char *path, const char *value,
		const char *detail, const char *hint)
{
	cb_add_field_error(&v->errors, CB_FIELD_INVALID, path, value, detail, hint);
}

/* Required and Forbidden errors never print the value */
static inline void
required(CbValidation *v, const char *path, const char *detail,
		 const char *hint)
{
	cb_add_field_error(&v->errors, CB_FIELD_REQUIRED, path, NULL, detail, hint);
}

static inline void
forbidden(CbValidation *v, const char *path, const char *detail,
		  const char *hint)
{
	cb_add_field_error(&v->errors, CB_FIELD_FORBIDDEN, path, NULL, detail, hint);
}

/*
 * What validate_schema.c and validate_webhook.c read of an external
 * cluster's key selectors: which parts the schema
 * requires, and which become file names.
 */
typedef struct CbExternalSelector
{
	const char *path;			/* below spec.externalClusters[i] */
	size_t		offset;			/* of the CbKeyRef in CbExternalCluster */
	bool		name_required;
	bool		is_file_name;
} CbExternalSelector;

#define CB_NEXTERNAL_SELECTORS 4
extern const CbExternalSelector cb_external_selectors[CB_NEXTERNAL_SELECTORS];

#define HINT_CLUSTER_NAME \
	"A Cluster name starts with a lower case letter, holds lower case " \
	"letters, digits and '-', ends with a letter or digit, and is at most " \
	"50 characters long."

typedef enum CbImageTagStatus
{
	CB_IMAGE_OK,
	CB_IMAGE_LATEST,
	CB_IMAGE_DIGEST_ONLY,
	CB_IMAGE_BAD_VERSION
} CbImageTagStatus;

/* validate.c */
extern void cb_report_forbidden(void *arg, const char *path,
								const char *detail, const char *hint);

/* validate_gofmt.c */
extern void cb_append_go_quoted(StringInfo buf, const char *s);
extern char *cb_go_quote(const char *s);
extern char *cb_go_int(int64 n);
extern char *cb_go_string_slice(const CbStringList *list);
extern char *cb_go_key_selector(const char *type, const CbKeyRef *ref);
extern char *cb_go_recovery_target(const CbRecoveryTarget *t);
extern char *cb_go_replica(const CbReplica *r);
extern char *cb_go_backup_source(const CbRecovery *rec);
extern char *cb_go_external_clusters(const CbClusterSpec *spec);

/* validate_values.c */
extern bool cb_is_digit(char c);
extern bool cb_is_lower_alnum(char c);
extern bool cb_str_eq_nocase(const char *a, const char *b);
extern bool cb_go_atoi(const char *s, int64 *result);
extern bool cb_fixed_digits(const char *s, int n, int *result);
extern bool cb_parse_pg_memory(const char *value, int64 *bytes);
extern CbImageTagStatus cb_image_tag_status(const char *image, int *major);
extern void cb_map_set(CbMap *map, const char *key, const char *value);
extern void cb_map_sort(CbMap *map);
extern bool cb_is_lsn(const char *lsn);
extern bool cb_is_xid(const char *xid);

/* validate_params.c */
extern CbMap cb_sanitized_parameters(const CbClusterSpec *spec,
									 const CbMap *user);
extern void cb_check_configuration(CbValidation *v);

/* validate_schema.c */
extern void cb_check_object_meta(CbFieldErrors *errors, const char *name,
								 const char *namespace);
extern void cb_check_data_keys(CbFieldErrors *errors, const CbMap *data);
extern void cb_schema_cel(CbValidation *v, bool ok, const char *path,
						  const char *message, const char *hint);
extern void cb_schema_spec(CbValidation *v);
extern void cb_schema_bootstrap(CbValidation *v);
extern const CbKeyRef *cb_external_selector(const CbExternalCluster *ec,
											int i);
extern void cb_schema_object_store(CbValidation *v, const CbObjectStore *store,
								   const char *path);
extern void cb_schema_external_clusters(CbValidation *v);

/* validate_webhook.c */
extern void cb_check_initdb(CbValidation *v);
extern void cb_check_recovery_database(CbValidation *v);
extern void cb_check_pg_basebackup_database(CbValidation *v);
extern void cb_check_import(CbValidation *v);
extern void cb_check_superuser_secret(CbValidation *v);
extern void cb_check_certificates(CbValidation *v);
extern void cb_check_bootstrap_method(CbValidation *v);
extern void cb_check_image_name(CbValidation *v);
extern void cb_check_recovery_target(CbValidation *v);
extern void cb_check_sync_replicas(CbValidation *v);
extern void cb_check_storage(CbValidation *v);
extern void cb_check_name(CbValidation *v);
extern void cb_check_pg_basebackup_source(CbValidation *v);
extern void cb_check_recovery_source(CbValidation *v);
extern void cb_check_recovery_data_source(CbValidation *v);
extern void cb_check_external_clusters(CbValidation *v);
extern void cb_check_replica_mode(CbValidation *v);
extern void cb_check_promotion_token(CbValidation *v);

/* validate_defaults.c */
extern void cb_default_cluster(CbClusterSpec *spec);

#endif							/* CB_VALIDATE_INT_H */
