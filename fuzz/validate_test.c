/*-------------------------------------------------------------------------
 *
 * validate_test.c
 *	  Unit tests of src/validate.c without a server: the validation and
 *	  defaulting rows (1-21) of docs/cnpg-rules.md §12, then the helpers
 *	  (quantities, image tags, recovery target lines, custom.conf) and the
 *	  error texts.
 *
 * The file includes validate.c and the files it is split into (see
 * validate_int.h), so that a row the oracle states for
 * one webhook check (as CloudNativePG's Go tests do) can run that check
 * alone.  Specs are built by hand, with the tri-state fields left unset as
 * src/manifest.c leaves them.
 *
 * Build and run from the repository root, on fuzz/pgshim.c's palloc:
 *	  gcc -I src -I $(pg_config --includedir-server) -o /tmp/validate_test \
 *		  fuzz/validate_test.c fuzz/pgshim.c src/validate_input.c src/validate_bootstrap.c src/promotion_token.c && /tmp/validate_test
 * With -DCB_WITH_MANIFEST (and src/manifest.c src/fields_gen.c -lyaml -lm)
 * a few rows also go through cb_manifest_parse, as apply does.
 *
 * It prints PASS or FAIL per row and "N passed, M failed" last; the exit
 * status is 1 if any row failed.
 *
 *-------------------------------------------------------------------------
 */
#include "../src/validate.c"
#include "../src/validate_gofmt.c"
#include "../src/validate_values.c"
#include "../src/validate_params.c"
#include "../src/config_writer.c"
#include "../src/validate_schema.c"
#include "../src/validate_webhook.c"
#include "../src/validate_defaults.c"

/* port.h points these at libpgport; the test uses the C library's */
#undef printf
#undef vsnprintf
#include <stdarg.h>
#include <stdio.h>


/* ---------- a tiny harness: one PASS/FAIL line per row ---------- */

static int	rows_passed;
static int	rows_failed;
static const char *row_name;
static StringInfoData row_failures;

static void
row_begin(const char *name)
{
	row_name = name;
	initStringInfo(&row_failures);
}

static void
row_end(void)
{
	if (row_failures.len == 0)
	{
		printf("PASS %s\n", row_name);
		rows_passed++;
	}
	else
	{
		printf("FAIL %s\n%s", row_name, row_failures.data);
		rows_failed++;
	}
}

static void expect(bool ok, const char *fmt,...) pg_attribute_printf(2, 3);

static void
expect(bool ok, const char *fmt,...)
{
	va_list		args;
	char		line[2048];

	if (ok)
		return;
	va_start(args, fmt);
	vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	appendStringInfo(&row_failures, "     - %s\n", line);
}

static char *
errors_text(const CbFieldErrors *e)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < e->n; i++)
		appendStringInfo(&buf, "[%s] ", field_error_text(&e->items[i]));
	return e->n ? buf.data : "(no errors)";
}

/* the errors hold one whose "path: Type[: value]: detail" text is given */
static bool
has_error(const CbFieldErrors *e, const char *text)
{
	int			i;

	for (i = 0; i < e->n; i++)
		if (strcmp(field_error_text(&e->items[i]), text) == 0)
			return true;
	return false;
}

/* the errors hold one at path whose detail is given */
static bool
has_detail(const CbFieldErrors *e, const char *path, const char *detail)
{
	int			i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->items[i].path, path) == 0 &&
			str_eq(e->items[i].detail, detail))
			return true;
	return false;
}

static void
expect_count(CbFieldErrors e, int count, const char *what)
{
	expect(e.n == count, "%s: expected %d error(s), got %s", what, count,
		   errors_text(&e));
}

#define EXPECT_COUNT(e, count, what) expect_count((e), (count), (what))
#define EXPECT_ERROR(e, text) \
	expect(has_error(&(e), (text)), "expected error %s, got %s", \
		   (text), errors_text(&(e)))
#define EXPECT_DETAIL(e, path, detail) \
	expect(has_detail(&(e), (path), (detail)), \
		   "expected %s: ...: %s, got %s", (path), (detail), errors_text(&(e)))
#define EXPECT_STR(got, want, what) \
	expect(str_eq((got), (want)), "%s: expected \"%s\", got \"%s\"", \
		   (what), (want) ? (want) : "(null)", (got) ? (got) : "(null)")


/* ---------- building specs ---------- */

/* a Cluster as manifest.c leaves one: nothing defaulted, tri-states unset */
static CbClusterSpec *
new_spec(const char *name)
{
	CbClusterSpec *spec = palloc0(sizeof(CbClusterSpec));

	spec->name = pstrdup(name);
	spec->storage_size = "1Gi";
	spec->bootstrap.initdb.data_checksums = CB_UNSET;
	spec->bootstrap.recovery.target.target_immediate = CB_UNSET;
	spec->bootstrap.recovery.target.exclusive = CB_UNSET;
	spec->replica.enabled = CB_UNSET;
	return spec;
}

static CbStringList
strings(int n,...)
{
	CbStringList list = {n, palloc0(sizeof(char *) * (n + 1))};
	va_list		args;
	int			i;

	va_start(args, n);
	for (i = 0; i < n; i++)
		list.items[i] = pstrdup(va_arg(args, const char *));
	va_end(args);
	return list;
}

static void
set_param(CbClusterSpec *spec, const char *key, const char *value)
{
	cb_map_set(&spec->parameters, key, value);
}

static CbExternalCluster *
add_external(CbClusterSpec *spec, const char *name, bool with_store)
{
	CbExternalCluster *ec;

	spec->external_clusters = spec->external_clusters
		? repalloc(spec->external_clusters,
				   (spec->nexternal_clusters + 1) * sizeof(CbExternalCluster))
		: palloc(sizeof(CbExternalCluster));
	ec = &spec->external_clusters[spec->nexternal_clusters++];
	memset(ec, 0, sizeof(*ec));
	ec->name = name ? pstrdup(name) : NULL;
	if (with_store)
	{
		ec->barman_object_store.present = true;
		ec->barman_object_store.destination_path = "s3://bucket/path";
	}
	return ec;
}

static void
use_recovery(CbClusterSpec *spec, const char *source)
{
	spec->bootstrap.recovery.present = true;
	spec->bootstrap.recovery.source = source ? pstrdup(source) : NULL;
	spec->bootstrap_written = true;
}

static CbRecoveryTarget *
use_target(CbClusterSpec *spec)
{
	use_recovery(spec, NULL);
	spec->bootstrap.recovery.target.present = true;
	return &spec->bootstrap.recovery.target;
}

/* the whole pipeline: defaulting, schema, webhook */
static CbFieldErrors
validate_all(CbClusterSpec *spec, const CbStringList *existing)
{
	CbFieldErrors errors;

	validate_cluster(spec, existing, &errors);
	return errors;
}

/* one webhook check alone, on the spec as given (no defaulting) */
static CbFieldErrors
run_check_stored(CbClusterSpec *spec, CbCheck check,
				 const CbStringList *existing)
{
	CbValidation v = {0};
	const CbBootstrap *b = &spec->bootstrap;

	v.spec = spec;
	v.existing_clusters = existing;
	v.user_parameters = spec->parameters;
	v.bootstrap_methods = b->initdb.present + b->recovery.present +
		b->pg_basebackup.present;
	v.bootstrap_written = spec->bootstrap_written || v.bootstrap_methods > 0;
	check(&v);
	return v.errors;
}

static CbFieldErrors
run_check(CbClusterSpec *spec, CbCheck check)
{
	return run_check_stored(spec, check, NULL);
}

static char *
repeat(char c, int n)
{
	char	   *s = palloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}


/* ---------- docs/cnpg-rules.md §12, rows 1-21 ---------- */

static void
row01_defaulting(void)
{
	CbClusterSpec *spec = new_spec("cluster-example");
	CbFieldErrors e;

	row_begin("row 1: defaulting (empty Cluster; initdb/recovery {database: appdb})");
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 0, "empty cluster");
	expect(spec->bootstrap.method == CB_BOOTSTRAP_INITDB, "method is initdb");
	expect(spec->bootstrap.initdb.present, "initdb present after defaulting");
	EXPECT_STR(spec->bootstrap.initdb.database, "app", "database");
	EXPECT_STR(spec->bootstrap.initdb.owner, "app", "owner");
	EXPECT_STR(spec->bootstrap.initdb.encoding, "UTF8", "encoding");
	EXPECT_STR(spec->bootstrap.initdb.locale_collate, "C", "localeCollate");
	EXPECT_STR(spec->bootstrap.initdb.locale_ctype, "C", "localeCType");
	expect(spec->bootstrap.initdb.locale == NULL, "locale stays unset");
	expect(spec->parameters.n > 0, "parameters non-empty");
	EXPECT_STR(cb_map_get(&spec->parameters, "archive_mode"), "on", "archive_mode");
	EXPECT_STR(cb_map_get(&spec->parameters, "wal_level"), "logical", "wal_level");
	EXPECT_STR(spec->image_name, CB_DEFAULT_IMAGE, "imageName");
	expect(spec->pg_major == 18, "pg_major 18, got %d", spec->pg_major);
	EXPECT_STR(spec->namespace, "default", "namespace");
	expect(spec->instances == 1, "instances 1");
	EXPECT_STR(spec->log_level, "info", "logLevel");
	expect(!spec->enable_superuser_access, "enableSuperuserAccess false");
	EXPECT_STR(spec->superuser_secret_name, "cluster-example-superuser",
			   "superuser secret");
	EXPECT_STR(spec->bootstrap.initdb.secret.name, "cluster-example-app", "app secret");
	expect(!spec->bootstrap.initdb.secret.present, "generated secret not 'present'");
	expect(spec->storage_bytes == INT64CONST(1073741824), "storage_bytes");
	for (int i = 1; i < spec->parameters.n; i++)
		expect(strcmp(spec->parameters.items[i - 1].key,
					  spec->parameters.items[i].key) < 0, "parameters sorted");

	spec = new_spec("c");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.database = "appdb";
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 0, "initdb {database: appdb}");
	EXPECT_STR(spec->bootstrap.initdb.owner, "appdb", "initdb owner");

	spec = new_spec("c");
	add_external(spec, "src", true);
	use_recovery(spec, "src");
	spec->bootstrap.recovery.database = "appdb";
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 0, "recovery {database: appdb}");
	expect(spec->bootstrap.method == CB_BOOTSTRAP_RECOVERY, "method recovery");
	EXPECT_STR(spec->bootstrap.recovery.owner, "appdb", "recovery owner");
	expect(!spec->bootstrap.initdb.present, "no initdb beside recovery");

	/* a monolith import brings its own databases: no "app" */
	spec = new_spec("c");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.import.present = true;
	spec->bootstrap.initdb.import.type = "monolith";
	spec->bootstrap.initdb.import.databases = strings(1, "*");
	spec->bootstrap.initdb.import.source_external_cluster = "src";
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 0, "monolith");
	expect(spec->bootstrap.initdb.database == NULL, "monolith: no default database");

	/* archive_mode: replica cluster "always", annotation "off" */
	spec = new_spec("c");
	add_external(spec, "src", true);
	use_recovery(spec, "src");
	spec->replica.present = true;
	spec->replica.enabled = 1;
	spec->replica.source = "src";
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 0, "replica cluster");
	EXPECT_STR(cb_map_get(&spec->parameters, "archive_mode"), "always", "replica archive_mode");
	expect(spec->bootstrap.recovery.secret.name == NULL, "no app secret for a replica");
	spec = new_spec("c");
	cb_map_set(&spec->annotations, "cnpg.io/skipWalArchiving", "enabled");
	e = validate_all(spec, NULL);
	EXPECT_STR(cb_map_get(&spec->parameters, "archive_mode"), "off", "skipWalArchiving");
	row_end();
}

static void
row02_two_methods(void)
{
	CbClusterSpec *spec = new_spec("c");
	CbFieldErrors e;

	row_begin("row 2: initdb + recovery -> one Forbidden error");
	spec->bootstrap.initdb.present = true;
	use_recovery(spec, NULL);
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 1, "initdb + recovery");
	EXPECT_ERROR(e, "spec.bootstrap: Forbidden: Only one bootstrap method can be specified at a time");
	row_end();
}

static void
row03_database_owner(void)
{
	CbClusterSpec *spec = new_spec("c");
	CbFieldErrors e;

	row_begin("row 3: initdb {database: app} / {owner: app} without defaulting");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.database = "app";
	e = run_check(spec, cb_check_initdb);
	EXPECT_COUNT(e, 1, "database only");
	EXPECT_ERROR(e, "spec.bootstrap.initdb.owner: Invalid value: \"\": You need to specify the database owner user");

	spec->bootstrap.initdb.database = NULL;
	spec->bootstrap.initdb.owner = "app";
	e = run_check(spec, cb_check_initdb);
	EXPECT_COUNT(e, 1, "owner only");
	EXPECT_ERROR(e, "spec.bootstrap.initdb.database: Invalid value: \"\": You need to specify the database name");

	/* the same pair for pg_basebackup, and after defaulting via monolith */
	spec = new_spec("c");
	spec->bootstrap.pg_basebackup.present = true;
	spec->bootstrap.pg_basebackup.owner = "app";
	e = run_check(spec, cb_check_pg_basebackup_database);
	EXPECT_DETAIL(e, "spec.bootstrap.pg_basebackup.database", "You need to specify the database name");
	spec = new_spec("c");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.owner = "owner";
	spec->bootstrap.initdb.import.present = true;
	spec->bootstrap.initdb.import.type = "monolith";
	spec->bootstrap.initdb.import.databases = strings(1, "db");
	spec->bootstrap.initdb.import.source_external_cluster = "src";
	e = validate_all(spec, NULL);
	EXPECT_DETAIL(e, "spec.bootstrap.initdb.database", "You need to specify the database name");
	row_end();
}

static void
row04_sql_refs(void)
{
	CbClusterSpec *spec = new_spec("c");
	CbKeyRef	ref = {true, "x", ""};
	CbFieldErrors e;

	row_begin("row 4: postInitApplicationSQLRefs secretRefs [{name: x, key: \"\"}]");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.post_init_application_sql_refs.nsecrets = 1;
	spec->bootstrap.initdb.post_init_application_sql_refs.secrets = &ref;
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 1, "empty key");
	EXPECT_ERROR(e, "spec.bootstrap.initdb.postInitApplicationSQLRefs.secretRefs: Invalid value: "
				 "api.SecretKeySelector{LocalObjectReference:api.LocalObjectReference{Name:\"x\"}, Key:\"\"}: "
				 "key and name must be specified");
	row_end();
}

static void
row05_wal_segment_size(void)
{
	CbClusterSpec *spec = new_spec("c");
	CbFieldErrors e;

	row_begin("row 5: walSegmentSize 3 / 64");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.wal_segment_size = 3;
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 1, "walSegmentSize 3");
	EXPECT_ERROR(e, "spec.bootstrap.initdb.walSegmentSize: Invalid value: 3: WAL segment size must be a power of 2");

	spec = new_spec("c");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.wal_segment_size = 64;
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 0, "walSegmentSize 64");
	expect(spec->bootstrap.initdb.wal_segment_size == 64, "kept 64");

	/* the schema bound comes first (1..1024) */
	spec = new_spec("c");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.wal_segment_size = 2048;
	e = validate_all(spec, NULL);
	EXPECT_ERROR(e, "spec.bootstrap.initdb.walSegmentSize: Invalid value: 2048: "
				 "spec.bootstrap.initdb.walSegmentSize in body should be less than or equal to 1024");
	row_end();
}

static void
row06_icu(void)
{
	CbClusterSpec *spec = new_spec("c");
	CbInitdb   *initdb = &spec->bootstrap.initdb;
	CbFieldErrors e;

	row_begin("row 6: initdb ICU locale (accepted, not defaulted away); CEL rules");
	initdb->present = true;
	initdb->encoding = "UTF-8";
	initdb->locale_provider = "icu";
	initdb->icu_locale = "und";
	initdb->icu_rules = "&A < z <<< Z";
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 0, "icu initdb");
	EXPECT_STR(initdb->encoding, "UTF-8", "encoding kept");
	EXPECT_STR(initdb->icu_rules, "&A < z <<< Z", "icuRules kept");
	expect(initdb->locale == NULL, "no locale added");

	spec = new_spec("c");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.icu_locale = "und";
	spec->bootstrap.initdb.builtin_locale = "C.UTF-8";
	spec->bootstrap.initdb.locale_provider = "icu";
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 1, "builtinLocale with icu");
	EXPECT_ERROR(e, "spec.bootstrap.initdb: Invalid value: \"object\": "
				 "builtinLocale is only available when localeProvider is set to `builtin`");
	spec = new_spec("c");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.icu_rules = "";
	e = validate_all(spec, NULL);
	EXPECT_DETAIL(e, "spec.bootstrap.initdb",
				  "icuRules is only available when localeProvider is set to `icu`");
	spec = new_spec("c");
	spec->image_name = "ghcr.io/cloudnative-pg/postgresql:17";
	spec->has_image_catalog_ref = true;
	e = validate_all(spec, NULL);
	EXPECT_ERROR(e, "spec: Invalid value: \"object\": imageName and imageCatalogRef are mutually exclusive");
	row_end();
}

static void
row07_names(void)
{
	static const struct
	{
		const char *name;
		int			errors;
		const char *detail;
	}			cases[] = {
		{"test.one", 1, "cluster name must be a valid DNS label"},
		{"4b96d026-a956-47eb-bae8-a99b840805c3", 1, "cluster name must be a valid DNS label"},
		{NULL, 1, "the maximum length of a cluster name is 50 characters"},	/* 56 */
		{NULL, 2, NULL},		/* 81 */
		{"abcdefghi-abcdefghi-abcdefghi-abcdef", 0, NULL},	/* 36 */
	};
	CbFieldErrors e;

	row_begin("row 7: cluster names (dots, leading digit, 56, 81, 36 characters)");
	for (int i = 0; i < NELEM(cases); i++)
	{
		const char *name = cases[i].name ? cases[i].name
			: repeat('a', i == 2 ? 56 : 81);
		CbClusterSpec *spec = new_spec(name);

		e = run_check(spec, cb_check_name);
		EXPECT_COUNT(e, cases[i].errors, name);
		if (cases[i].detail)
			EXPECT_DETAIL(e, "metadata.name", cases[i].detail);
	}
	/* through the pipeline: "test.one" passes the API server, not the webhook */
	e = validate_all(new_spec("test.one"), NULL);
	EXPECT_ERROR(e, "metadata.name: Invalid value: \"test.one\": cluster name must be a valid DNS label");
	e = validate_all(new_spec("Test"), NULL);
	EXPECT_DETAIL(e, "metadata.name", DNS1123_SUBDOMAIN_ERROR);
	row_end();
}

static CbClusterSpec *
import_spec(const char *type, CbStringList databases, CbStringList roles)
{
	CbClusterSpec *spec = new_spec("c");
	CbImport   *imp = &spec->bootstrap.initdb.import;

	spec->bootstrap.initdb.present = true;
	imp->present = true;
	imp->type = (char *) type;
	imp->databases = databases;
	imp->roles = roles;
	imp->source_external_cluster = "src";
	return spec;
}

static void
row08_import_type(void)
{
	CbStringList none = {0};
	CbFieldErrors e;

	row_begin("row 8: import type fooBar");
	e = run_check(import_spec("fooBar", strings(1, "foo"), none), cb_check_import);
	EXPECT_COUNT(e, 1, "fooBar");
	EXPECT_ERROR(e, "spec.bootstrap.initdb.import.type: Invalid value: \"fooBar\": Unrecognized import type");
	/* the CRD's enum refuses it first when the whole pipeline runs */
	e = validate_all(import_spec("fooBar", strings(1, "foo"), none), NULL);
	EXPECT_ERROR(e, "spec.bootstrap.initdb.import.type: Unsupported value: \"fooBar\": "
				 "supported values: \"microservice\", \"monolith\"");
	row_end();
}

static void
row09_microservice(void)
{
	CbStringList none = {0};
	CbFieldErrors e;

	row_begin("row 9: microservice [foo,bar]; [foo]+roles [bar]; [*foo]; [foo]");
	e = run_check(import_spec("microservice", strings(2, "foo", "bar"), none), cb_check_import);
	EXPECT_COUNT(e, 1, "[foo,bar]");
	EXPECT_ERROR(e, "spec.bootstrap.initdb.import.databases: Invalid value: []string{\"foo\", \"bar\"}: "
				 "You need to specify a single database for the `microservice` import type");
	e = run_check(import_spec("microservice", strings(1, "foo"), strings(1, "bar")), cb_check_import);
	EXPECT_COUNT(e, 1, "roles");
	EXPECT_DETAIL(e, "spec.bootstrap.initdb.import.roles",
				  "You cannot specify roles to import for the `microservice` import type");
	e = run_check(import_spec("microservice", strings(1, "*foo"), none), cb_check_import);
	EXPECT_COUNT(e, 1, "[*foo]");
	EXPECT_DETAIL(e, "spec.bootstrap.initdb.import.databases.0",
				  "You cannot specify any wildcard for the `microservice` import type");
	e = run_check(import_spec("microservice", strings(1, "foo"), none), cb_check_import);
	EXPECT_COUNT(e, 0, "[foo]");
	row_end();
}

static void
row10_monolith(void)
{
	CbStringList none = {0};
	CbClusterSpec *spec;
	CbFieldErrors e;

	row_begin("row 10: monolith []; [foo]+postImport; [bar,*]; [foo]+roles [baz,*]; [*]+[*]");
	e = run_check(import_spec("monolith", none, none), cb_check_import);
	EXPECT_COUNT(e, 1, "[]");
	EXPECT_DETAIL(e, "spec.bootstrap.initdb.import.databases",
				  "You need to specify at least a database for the `monolith` import type");
	spec = import_spec("monolith", strings(1, "foo"), none);
	spec->bootstrap.initdb.import.post_import_application_sql = strings(1, "SELECT 1");
	e = run_check(spec, cb_check_import);
	EXPECT_COUNT(e, 1, "postImportApplicationSQL");
	EXPECT_DETAIL(e, "spec.bootstrap.initdb.import.postImportApplicationSQL",
				  "postImportApplicationSQL is not allowed for the `monolith` import type");
	e = run_check(import_spec("monolith", strings(2, "bar", "*"), none), cb_check_import);
	EXPECT_COUNT(e, 1, "[bar,*]");
	EXPECT_DETAIL(e, "spec.bootstrap.initdb.import.databases",
				  "Wildcard import cannot be used along other database names");
	e = run_check(import_spec("monolith", strings(1, "foo"), strings(2, "baz", "*")), cb_check_import);
	EXPECT_COUNT(e, 1, "roles [baz,*]");
	EXPECT_DETAIL(e, "spec.bootstrap.initdb.import.roles",
				  "Wildcard import cannot be used along other role names");
	e = run_check(import_spec("monolith", strings(1, "*"), strings(1, "*")), cb_check_import);
	EXPECT_COUNT(e, 0, "[*] + [*]");
	row_end();
}

static void
row11_exclusive_targets(void)
{
	CbClusterSpec *spec = new_spec("c");
	CbRecoveryTarget *t = use_target(spec);
	CbFieldErrors e;

	row_begin("row 11: targetLSN + targetTime -> mutually exclusive");
	t->target_lsn = "1/1";
	t->target_time = "2021-09-01 10:22:47.000000+06";
	e = run_check(spec, cb_check_recovery_target);
	EXPECT_COUNT(e, 1, "lsn + time");
	EXPECT_ERROR(e, "spec.bootstrap.recovery.recoveryTarget: Invalid value: "
				 "v1.RecoveryTarget{BackupID:\"\", TargetTLI:\"\", TargetXID:\"\", TargetName:\"\", "
				 "TargetLSN:\"1/1\", TargetTime:\"2021-09-01 10:22:47.000000+06\", "
				 "TargetImmediate:(*bool)(nil), Exclusive:(*bool)(nil)}: "
				 "Recovery target options are mutually exclusive");

	/* targetImmediate counts when written, even false */
	spec = new_spec("c");
	t = use_target(spec);
	t->backup_id = "20220616T142236";
	t->target_immediate = 0;
	t->target_name = "p";
	e = run_check(spec, cb_check_recovery_target);
	EXPECT_COUNT(e, 1, "immediate false + name");
	row_end();
}

static void
row12_target_time(void)
{
	static const struct
	{
		const char *time;
		bool		ok;
	}			cases[] = {
		{"2021-09-01 10:22:47.000000+06:00", true},
		{"2020-01-01 01:01:00", true},
		{"2021-09-01 10:22:47.000000 +06:00", false},
		{"2021-09-01T10:22:47Z", true},
		{"2021-09-01T10:22:47+03:00", true},
		{"2021-09-01T10:22:47", true},
		{"2021-09-01", true},
		{"2021-02-30 10:00:00", false},
		{"yesterday", false},
	};
	CbFieldErrors e;

	row_begin("row 12: targetTime formats");
	for (int i = 0; i < NELEM(cases); i++)
	{
		CbClusterSpec *spec = new_spec("c");

		use_target(spec)->target_time = (char *) cases[i].time;
		e = run_check(spec, cb_check_recovery_target);
		EXPECT_COUNT(e, cases[i].ok ? 0 : 1, cases[i].time);
		if (!cases[i].ok)
			EXPECT_DETAIL(e, "spec.bootstrap.recovery.recoveryTarget",
						  "The format of TargetTime is invalid");
	}
	row_end();
}

static void
row13_backup_id(void)
{
	CbClusterSpec *spec = new_spec("c");
	CbRecoveryTarget *t = use_target(spec);
	CbFieldErrors e;

	row_begin("row 13: backupID with targetName; targetXID without backupID");
	t->backup_id = "20220616T142236";
	t->target_name = "restore_point_1";
	e = run_check(spec, cb_check_recovery_target);
	EXPECT_COUNT(e, 0, "backupID + name");

	spec = new_spec("c");
	t = use_target(spec);
	t->target_xid = "1234";
	e = run_check(spec, cb_check_recovery_target);
	EXPECT_COUNT(e, 1, "xid without backupID");
	EXPECT_ERROR(e, "spec.bootstrap.recovery.recoveryTarget: Required value: BackupID is missing");

	/* a recovery from volume snapshots finds its backup without an ID */
	spec->bootstrap.recovery.has_volume_snapshots = true;
	e = run_check(spec, cb_check_recovery_target);
	EXPECT_COUNT(e, 0, "xid with volumeSnapshots");
	row_end();
}

static void
row14_xid(void)
{
	static const struct
	{
		const char *xid;
		bool		ok;
	}			cases[] = {
		{"4294967295", true}, {"4294967296", false}, {"-1", false}, {"1/1", false},
	};
	CbFieldErrors e;

	row_begin("row 14: targetXID 4294967295 / 4294967296 / -1 / 1/1");
	for (int i = 0; i < NELEM(cases); i++)
	{
		CbClusterSpec *spec = new_spec("c");
		CbRecoveryTarget *t = use_target(spec);

		t->backup_id = "b";
		t->target_xid = (char *) cases[i].xid;
		e = run_check(spec, cb_check_recovery_target);
		EXPECT_COUNT(e, cases[i].ok ? 0 : 1, cases[i].xid);
		if (!cases[i].ok)
			EXPECT_DETAIL(e, "spec.bootstrap.recovery.recoveryTarget.targetXID",
						  "recovery target xid must be a non-negative 32-bit integer");
	}
	row_end();
}

static void
row15_target_name(void)
{
	const struct
	{
		const char *name;
		const char *detail;		/* NULL: accepted */
	}			cases[] = {
		{repeat('a', 63), NULL},
		{repeat('a', 64), "recovery target name must be shorter than 64 bytes"},
		{"line1\nline2", "recovery target name must not contain ASCII control characters"},
		{"a\x7f" "b", "recovery target name must not contain ASCII control characters"},
		{"my'restore point", NULL},
	};
	CbFieldErrors e;

	row_begin("row 15: targetName 63/64 bytes, newline, DEL, quote");
	for (int i = 0; i < NELEM(cases); i++)
	{
		CbClusterSpec *spec = new_spec("c");
		CbRecoveryTarget *t = use_target(spec);

		t->backup_id = "b";
		t->target_name = (char *) cases[i].name;
		e = run_check(spec, cb_check_recovery_target);
		EXPECT_COUNT(e, cases[i].detail ? 1 : 0, cases[i].name);
		if (cases[i].detail)
			EXPECT_DETAIL(e, "spec.bootstrap.recovery.recoveryTarget.targetName",
						  cases[i].detail);
	}
	row_end();
}

static void
row16_tli_lsn(void)
{
	static const struct
	{
		const char *tli;
		const char *lsn;
		bool		ok;
	}			cases[] = {
		{"latest", NULL, true}, {"23", NULL, true}, {"0", NULL, false},
		{"-5", NULL, false}, {"I don't remember", NULL, false},
		{NULL, "1/1", true},
		{NULL, "28734982739847293874823974928738423/987429837498273498723984723", false},
		{NULL, "1/1/1", false}, {NULL, "/1", false}, {NULL, "FFFFFFFF/0", true},
	};
	CbFieldErrors e;

	row_begin("row 16: targetTLI latest, 23 / 0, -5, words; targetLSN 1/1 / huge");
	for (int i = 0; i < NELEM(cases); i++)
	{
		CbClusterSpec *spec = new_spec("c");
		CbRecoveryTarget *t = use_target(spec);

		t->target_tli = (char *) cases[i].tli;
		t->target_lsn = (char *) cases[i].lsn;
		e = run_check(spec, cb_check_recovery_target);
		EXPECT_COUNT(e, cases[i].ok ? 0 : 1, cases[i].tli ? cases[i].tli : cases[i].lsn);
		if (!cases[i].ok && cases[i].tli)
			EXPECT_DETAIL(e, "spec.bootstrap.recovery.recoveryTarget.targetTLI",
						  "recovery target timeline can be set to 'latest' or a positive integer");
		if (!cases[i].ok && cases[i].lsn)
			EXPECT_DETAIL(e, "spec.bootstrap.recovery.recoveryTarget", "Invalid TargetLSN");
	}
	row_end();
}

static void
row17_target_lines(void)
{
	CbRecoveryTarget t = {0};

	row_begin("row 17: recovery_target_* lines (quoting, escaping, time, order)");
	t.present = true;
	t.target_immediate = CB_UNSET;
	t.exclusive = CB_UNSET;
	t.target_name = "my'restore'point";
	EXPECT_STR(cb_recovery_target_conf(&t),
			   "recovery_target_inclusive = 'true'\n"
			   "recovery_target_name = 'my''restore''point'\n", "quote");
	t.target_name = "path\\to\\restore";
	EXPECT_STR(cb_recovery_target_conf(&t),
			   "recovery_target_inclusive = 'true'\n"
			   "recovery_target_name = 'path\\\\to\\\\restore'\n", "backslash");
	t.target_name = "line1\nline2";
	EXPECT_STR(cb_recovery_target_conf(&t),
			   "recovery_target_inclusive = 'true'\n"
			   "recovery_target_name = 'line1\\nline2'\n", "newline");

	t.target_name = NULL;
	t.exclusive = 1;
	t.target_tli = "latest";
	t.target_time = "2021-09-01T10:22:47+03:00";
	EXPECT_STR(cb_recovery_target_conf(&t),
			   "recovery_target_inclusive = 'false'\n"
			   "recovery_target_time = '2021-09-01 10:22:47.000000+03:00'\n"
			   "recovery_target_timeline = 'latest'\n", "time and timeline");
	t.target_time = NULL;
	t.target_tli = NULL;
	t.exclusive = 0;
	t.target_immediate = 1;
	EXPECT_STR(cb_recovery_target_conf(&t),
			   "recovery_target = 'immediate'\n"
			   "recovery_target_inclusive = 'true'\n", "immediate");
	t.present = false;
	EXPECT_STR(cb_recovery_target_conf(&t), "", "no recoveryTarget");

	EXPECT_STR(cb_recovery_target_time("2021-09-01T10:22:47Z"),
			   "2021-09-01 10:22:47.000000+00:00", "Z");
	EXPECT_STR(cb_recovery_target_time("2021-09-01T10:22:47.123456789-05:30"),
			   "2021-09-01 10:22:47.123456-05:30", "fraction, negative offset");
	EXPECT_STR(cb_recovery_target_time("2021-09-01T10:22:47"),
			   "2021-09-01 10:22:47.000000+00:00", "no zone");
	EXPECT_STR(cb_recovery_target_time("2021-09-01 10:22:47.000000+06"),
			   "2021-09-01 10:22:47.000000+06", "PostgreSQL form kept");
	expect(cb_recovery_target_time("2021-09-01T10:22:47+0300") == NULL, "+0300 refused");
	row_end();
}

static void
row18_external_clusters(void)
{
	CbClusterSpec *spec = new_spec("c");
	CbExternalCluster *ec;
	CbFieldErrors e;

	row_begin("row 18: externalClusters duplicates, empty, path components");
	add_external(spec, "one", true);
	add_external(spec, "one", true);
	e = run_check(spec, cb_check_external_clusters);
	EXPECT_COUNT(e, 1, "[one, one]");
	EXPECT_ERROR(e, "spec.externalClusters: Invalid value: []v1.ExternalCluster{"
				 "v1.ExternalCluster{Name:\"one\", ...}, v1.ExternalCluster{Name:\"one\", ...}}: "
				 "the list of external clusters contains duplicate values");

	spec = new_spec("c");
	add_external(spec, NULL, false);
	e = run_check(spec, cb_check_external_clusters);
	EXPECT_COUNT(e, 1, "[{}]");
	EXPECT_ERROR(e, "spec.externalClusters[0]: Required value: "
				 "one of connectionParameters, plugin and barmanObjectStore is required");
	e = validate_all(spec, NULL);
	EXPECT_ERROR(e, "spec.externalClusters[0].name: Required value");

	for (int i = 0; i < 2; i++)
	{
		spec = new_spec("c");
		add_external(spec, i ? "nested/pwned" : "../pwned", true);
		e = run_check(spec, cb_check_external_clusters);
		EXPECT_COUNT(e, 1, "name with a path");
		EXPECT_DETAIL(e, "spec.externalClusters[0].name",
					  "cannot contain a path separator or a '..' component");
	}

	spec = new_spec("c");
	ec = add_external(spec, "one", true);
	ec->ssl_cert = (CbKeyRef) {true, "secret", "../pwned"};
	e = run_check(spec, cb_check_external_clusters);
	EXPECT_COUNT(e, 1, "sslCert key");
	EXPECT_ERROR(e, "spec.externalClusters[0].sslCert.key: Invalid value: \"../pwned\": "
				 "cannot contain a path separator or a '..' component");

	spec = new_spec("c");
	ec = add_external(spec, "one", true);
	ec->password = (CbKeyRef) {true, "../pwned", "../pwned"};
	e = run_check(spec, cb_check_external_clusters);
	EXPECT_COUNT(e, 0, "password selector is not a file name");
	row_end();
}

static void
row19_recovery_source(void)
{
	CbClusterSpec *spec = new_spec("c");
	CbFieldErrors e;

	row_begin("row 19: recovery.source test against [another-test] / [test]");
	use_recovery(spec, "test");
	add_external(spec, "another-test", false);
	e = run_check(spec, cb_check_recovery_source);
	EXPECT_COUNT(e, 2, "unknown source");
	EXPECT_ERROR(e, "spec.bootstrap.recovery.source: Invalid value: \"test\": External cluster test not found");
	EXPECT_DETAIL(e, "spec.bootstrap.recovery.source",
				  "External cluster test cannot be used for recovery: "
				  "missing connection parameters, Barman, or CNPG-i configuration");

	spec = new_spec("c");
	use_recovery(spec, "test");
	add_external(spec, "test", false);
	e = run_check(spec, cb_check_recovery_source);
	EXPECT_COUNT(e, 1, "source without store");

	spec = new_spec("c");
	use_recovery(spec, "test");
	add_external(spec, "test", true);
	e = run_check(spec, cb_check_recovery_source);
	EXPECT_COUNT(e, 0, "source with a store");
	row_end();
}

static CbClusterSpec *
replica_spec(void)
{
	CbClusterSpec *spec = new_spec("c");

	spec->replica.present = true;
	spec->replica.enabled = 1;
	spec->replica.source = "test";
	add_external(spec, "test", true);
	return spec;
}

static void
row20_replica(void)
{
	CbStringList existing = {0};
	CbClusterSpec *spec;
	CbFieldErrors e;

	row_begin("row 20: replica mode and its bootstrap");
	e = run_check(replica_spec(), cb_check_replica_mode);
	EXPECT_COUNT(e, 1, "no bootstrap");
	EXPECT_ERROR(e, "spec.bootstrap: Required value: bootstrap configuration is required for replica mode");
	/* after defaulting the bootstrap is initdb: the next message, as on Kubernetes */
	e = validate_all(replica_spec(), NULL);
	EXPECT_COUNT(e, 1, "no bootstrap, defaulted");
	EXPECT_DETAIL(e, "spec.replicaCluster",
				  "replica mode bootstrap is compatible only with pg_basebackup or recovery");

	spec = replica_spec();
	spec->bootstrap.initdb.present = true;
	e = run_check(spec, cb_check_replica_mode);
	EXPECT_COUNT(e, 1, "initdb, new");
	EXPECT_DETAIL(e, "spec.replicaCluster",
				  "replica mode bootstrap is compatible only with pg_basebackup or recovery");

	spec->has_resource_version = true;
	e = run_check(spec, cb_check_replica_mode);
	EXPECT_COUNT(e, 0, "initdb with resourceVersion");
	spec->has_resource_version = false;
	existing = strings(1, "c");
	e = run_check_stored(spec, cb_check_replica_mode, &existing);
	EXPECT_COUNT(e, 0, "initdb, already stored");
	e = validate_all(spec, &existing);
	EXPECT_COUNT(e, 0, "initdb, already stored, whole pipeline");

	spec = replica_spec();
	spec->bootstrap.pg_basebackup.present = true;
	spec->bootstrap.pg_basebackup.source = "test";
	e = run_check(spec, cb_check_replica_mode);
	EXPECT_COUNT(e, 0, "pg_basebackup");
	spec = replica_spec();
	use_recovery(spec, "test");
	e = run_check(spec, cb_check_replica_mode);
	EXPECT_COUNT(e, 0, "recovery");

	spec = replica_spec();
	use_recovery(spec, "test");
	spec->replica.primary = "toast";
	e = run_check(spec, cb_check_replica_mode);
	EXPECT_ERROR(e, "spec.replicaCluster.enabled: Forbidden: "
				 "replica mode enabled is not compatible with the primary field");
	EXPECT_ERROR(e, "spec.replicaCluster.primary: Invalid value: \"toast\": External cluster toast not found");

	/* only source: a replica; self == primary: not one */
	spec = replica_spec();
	spec->replica.enabled = CB_UNSET;
	expect(cb_is_replica_cluster(spec), "source only is a replica");
	spec->replica.self = "c";
	spec->replica.primary = "c";
	expect(!cb_is_replica_cluster(spec), "self == primary is not a replica");
	row_end();
}

static void
row21_memory_units(void)
{
	static const struct
	{
		const char *value;
		int64		bytes;		/* -1: refused */
	}			cases[] = {
		{"1", INT64CONST(1048576)}, {"1B", 1}, {"1kB", 1024},
		{"1MB", INT64CONST(1048576)}, {"1 MB", INT64CONST(1048576)},
		{"1TB", INT64CONST(1099511627776)},
		{"1kb", -1}, {"1Mb", -1}, {"1G", -1}, {"1random", -1},
	};
	CbFieldErrors e;

	row_begin("row 21: shared_buffers 1,1B,1kB,1MB,1 MB,1TB / 1kb,1Mb,1G,1random");
	for (int i = 0; i < NELEM(cases); i++)
	{
		int64		bytes = -1;
		bool		ok = cb_parse_pg_memory(cases[i].value, &bytes);
		CbClusterSpec *spec = new_spec("c");

		expect(ok == (cases[i].bytes >= 0) && (!ok || bytes == cases[i].bytes),
			   "%s: got ok=%d bytes=" INT64_FORMAT, cases[i].value, ok, bytes);
		set_param(spec, "shared_buffers", cases[i].value);
		e = validate_all(spec, NULL);
		EXPECT_COUNT(e, ok ? 0 : 1, cases[i].value);
	}
	e = validate_all(new_spec("c"), NULL);
	{
		CbClusterSpec *spec = new_spec("c");

		set_param(spec, "shared_buffers", "1G");
		e = validate_all(spec, NULL);
		EXPECT_ERROR(e, "spec.postgresql.parameters.shared_buffers: Invalid value: \"shared_buffers\": "
					 "Invalid value for configuration parameter shared_buffers. More info on accepted "
					 "values format: https://www.postgresql.org/docs/current/config-setting.html"
					 "#CONFIG-SETTING-NAMES-VALUES");
	}
	row_end();
}


/* ---------- beyond the oracle rows ---------- */

static void
test_quantities(void)
{
	static const struct
	{
		const char *text;
		int64		bytes;		/* -1: refused */
	}			cases[] = {
		{"1Gi", INT64CONST(1073741824)}, {"500M", 500000000}, {"1e9", 1000000000},
		{"1", 1}, {"0.5Gi", 536870912}, {"1k", 1000}, {"1E", INT64CONST(1000000000000000000)},
		{"1.5", 2}, {"100m", 1}, {"1e+3", 1000}, {"+1Ki", 1024},
		{"1.5Gi", INT64CONST(1610612736)}, {"0.3k", 300}, {"2.25Mi", 2359296},
		{"1E9", 1000000000}, {"5e-1", 1},
		{"1GB", -1}, {"", -1}, {"1K", -1}, {"1 Gi", -1}, {"Gi", -1}, {"1e", -1},
		{"1Gi ", -1}, {"-", -1}, {".", -1},
	};

	row_begin("quantities (storage.size): 1Gi, 500M, 1e9, 1 ok; 1GB refused");
	for (int i = 0; i < NELEM(cases); i++)
	{
		int64		bytes = -1;
		bool		ok = cb_parse_quantity(cases[i].text, &bytes);

		expect(ok == (cases[i].bytes >= 0) && (!ok || bytes == cases[i].bytes),
			   "\"%s\": got ok=%d bytes=" INT64_FORMAT, cases[i].text, ok, bytes);
	}
	row_end();
}

static void
test_storage(void)
{
	CbClusterSpec *spec = new_spec("c");
	CbFieldErrors e;

	row_begin("storage: size missing / pvcTemplate request / bad size / walStorage");
	spec->storage_size = NULL;
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 1, "no size");
	EXPECT_ERROR(e, "spec.storage.size: Invalid value: \"\": "
				 "Size not configured. Please add it, or a storage request in the pvcTemplate.");
	spec = new_spec("c");
	spec->storage_size = NULL;
	spec->has_storage_pvc_template_request = true;
	EXPECT_COUNT(validate_all(spec, NULL), 0, "pvcTemplate request");
	spec = new_spec("c");
	spec->storage_size = "1GB";
	e = validate_all(spec, NULL);
	EXPECT_ERROR(e, "spec.storage.size: Invalid value: \"1GB\": Size value isn't valid");
	spec = new_spec("c");
	spec->has_wal_storage = true;
	e = validate_all(spec, NULL);
	EXPECT_DETAIL(e, "spec.walStorage.size",
				  "Size not configured. Please add it, or a storage request in the pvcTemplate.");
	spec = new_spec("c");
	spec->has_wal_storage = true;
	spec->wal_storage_size = "1Gi";
	set_param(spec, "max_wal_size", "2GB");
	e = validate_all(spec, NULL);
	EXPECT_DETAIL(e, "spec.postgresql.parameters.max_wal_size",
				  "Invalid value. Parameter max_wal_size (default 1GB) should be smaller than WAL volume size");
	row_end();
}

static void
test_images(void)
{
	static const struct
	{
		const char *image;
		int			major;
		const char *detail;		/* webhook item 8 or 18 */
	}			cases[] = {
		{CB_DEFAULT_IMAGE, 18, NULL},
		{"ghcr.io/cloudnative-pg/postgresql:17", 17, NULL},
		{"registry.dev:5000/postgresql:16", 16, NULL},
		{"postgres:15.5-10", 15, NULL},
		{"postgres:17rc1", 17, NULL},
		{"x/y:16@sha256:abcdef", 16, NULL},
		{"postgres:latest", 0, "Can't use 'latest' as image tag as we can't detect upgrades"},
		{"registry.dev:5000/postgresql", 0, "Can't use 'latest' as image tag as we can't detect upgrades"},
		{"postgres@sha256:abcdef", 0, "Can't use just the image sha as we can't detect upgrades"},
		{"postgres:bookworm", 0, "invalid version tag"},
		{"postgres:16.100", 0, "invalid version tag"},
		{"postgres:12.4", 12, "Unsupported PostgreSQL version. Versions 13 or newer are supported"},
	};

	row_begin("image tags: major version, latest, digest, bad tags, PostgreSQL < 13");
	for (int i = 0; i < NELEM(cases); i++)
	{
		CbClusterSpec *spec = new_spec("c");
		CbFieldErrors e;

		expect(cb_pg_major_from_image(cases[i].image) == cases[i].major,
			   "%s: major %d, got %d", cases[i].image, cases[i].major,
			   cb_pg_major_from_image(cases[i].image));
		spec->image_name = (char *) cases[i].image;
		e = validate_all(spec, NULL);
		EXPECT_COUNT(e, cases[i].detail ? 1 : 0, cases[i].image);
		if (cases[i].detail)
			EXPECT_DETAIL(e, "spec.imageName", cases[i].detail);
	}
	row_end();
}

static void
test_parameters(void)
{
	static const struct
	{
		const char *key;
		const char *value;
		const char *detail;		/* NULL: accepted */
	}			cases[] = {
		{"archive_mode", "on", NULL},
		{"log_destination", "csvlog", NULL},
		{"shared_preload_libraries", "", NULL},
		{"pg_stat_statements.max", "10000", NULL},
		{"port", "5432", "Can't set fixed configuration parameter"},
		{"archive_mode", "off", "Can't set fixed configuration parameter"},
		{"shared_preload_libraries", "pg_stat_statements", "Can't set fixed configuration parameter"},
		{"listen_addresses", "*", "Can't set fixed configuration parameter"},
		{"a.b.c", "1", "must be a valid PostgreSQL configuration parameter name "
		"(a GUC name, optionally namespaced with a single dot)"},
		{"wal_level", "archive", "unrecognized `wal_level` value - allowed values: `logical`, `replica`, `minimal`"},
		{"wal_log_hints", "off", "`wal_log_hints` must be set to `on` when `instances` > 1"},
	};

	row_begin("parameters: fixed/blocked keys, names, wal_level, wal_log_hints");
	for (int i = 0; i < NELEM(cases); i++)
	{
		CbClusterSpec *spec = new_spec("c");
		CbFieldErrors e;

		spec->instances = 3;
		set_param(spec, cases[i].key, cases[i].value);
		e = validate_all(spec, NULL);
		EXPECT_COUNT(e, cases[i].detail ? 1 : 0, cases[i].key);
		if (cases[i].detail)
			EXPECT_DETAIL(e, psprintf("spec.postgresql.parameters.%s", cases[i].key),
						  cases[i].detail);
		expect(str_eq(cb_map_get(&spec->parameters, cases[i].key), cases[i].value) ||
			   strcmp(cases[i].key, "archive_mode") == 0,
			   "%s kept in the stored map", cases[i].key);
	}
	{
		CbClusterSpec *spec = new_spec("c");
		CbFieldErrors e;

		set_param(spec, "wal_level", "minimal");
		e = validate_all(spec, NULL);
		EXPECT_COUNT(e, 2, "minimal with archiving and senders");
		spec = new_spec("c");
		cb_map_set(&spec->annotations, "cnpg.io/skipWalArchiving", "enabled");
		set_param(spec, "wal_level", "minimal");
		set_param(spec, "max_wal_senders", "0");
		e = validate_all(spec, NULL);
		EXPECT_COUNT(e, 0, "minimal, one instance, no archiving, no senders");
	}
	row_end();
}

/* issue 11: names in any case, include directives, initdb options, sources */
static void
test_input_rules(void)
{
	static const struct
	{
		const char *key;
		const char *value;
		bool		refused;
	}			params[] = {
		{"Restore_Command", "cp x %p", true},
		{"LOG_FILE_MODE", "0666", true},
		{"Shared_Preload_Libraries", "x", true},
		{"include", "/etc/x", true},
		{"Include_If_Exists", "/etc/x", true},
		{"Archive_Mode", "on", false},
		{"Work_Mem", "8MB", false},
	};
	static const struct
	{
		const char *items[3];
		int			n;
		bool		refused;
	}			options[] = {
		{{"-kEUTF8", "--locale=C"}, 2, false},
		{{"-E", "-D"}, 2, false},	/* -D is -E's value, as getopt reads it */
		{{"--encoding", "UTF8", "-k"}, 3, false},
		{{"-kD", "/x"}, 2, true},
		{{"--pgdata=/x"}, 1, true},
		{{"--pgd=/x"}, 1, true},
		{{"-k", "/x"}, 2, true},
		{{"--locale"}, 1, true},
		{{"-U", "x"}, 2, true},
	};
	CbFieldErrors e;
	CbClusterSpec *spec;
	CbExternalCluster *ec;

	row_begin("input rules: parameter names in any case, include, initdb options, sources");
	for (int i = 0; i < NELEM(params); i++)
	{
		spec = new_spec("c");
		set_param(spec, params[i].key, params[i].value);
		e = validate_all(spec, NULL);
		EXPECT_COUNT(e, params[i].refused ? 1 : 0, params[i].key);
		for (int j = 0; j < e.n; j++)
			expect(e.items[j].value == NULL, "%s: value shown", params[i].key);
	}
	/* stored lower case: the default is replaced, lookups see it */
	spec = new_spec("c");
	set_param(spec, "Work_Mem", "8MB");
	set_param(spec, "WAL_LEVEL", "replica");
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 0, "Work_Mem, WAL_LEVEL");
	EXPECT_STR(cb_map_get(&spec->parameters, "work_mem"), "8MB", "work_mem");
	EXPECT_STR(cb_map_get(&spec->parameters, "wal_level"), "replica", "wal_level");
	expect(cb_map_get(&spec->parameters, "WAL_LEVEL") == NULL, "WAL_LEVEL kept as written");
	spec = new_spec("c");
	spec->instances = 2;
	set_param(spec, "WAL_LEVEL", "minimal");
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 2, "WAL_LEVEL minimal with 2 instances");
	spec = new_spec("c");
	set_param(spec, "work_mem", "4MB");
	set_param(spec, "WORK_MEM", "8MB");
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 1, "work_mem twice");

	for (int i = 0; i < NELEM(options); i++)
	{
		spec = new_spec("c");
		spec->bootstrap.initdb.present = true;
		spec->bootstrap.initdb.options.n = options[i].n;
		spec->bootstrap.initdb.options.items = (char **) options[i].items;
		e = validate_all(spec, NULL);
		EXPECT_COUNT(e, options[i].refused ? 1 : 0, options[i].items[0]);
	}

	spec = new_spec("c");
	ec = add_external(spec, "src", false);
	ec->has_connection_parameters = true;
	cb_map_set(&ec->connection_parameters, "host", "h");
	cb_map_set(&ec->connection_parameters, "SSLPassword", "x");
	cb_map_set(&ec->connection_parameters, "sslrootcert", "system");
	e = validate_all(spec, NULL);
	EXPECT_ERROR(e, "spec.externalClusters[0].connectionParameters.SSLPassword: Forbidden: "
				 "connection parameter SSLPassword cannot be used: the key's passphrase "
				 "would reach command lines and primary_conninfo");
	EXPECT_COUNT(e, 1, "sslpassword");

	/*
	 * Keys are written unquoted into conninfo strings (pg_basebackup -d,
	 * pg_dump, primary_conninfo): one that is not a plain word became
	 * other keywords there, past the refusals above (fuzz/fuzz_conninfo)
	 */
	{
		static const char *const keys[] = {
			" passfile", "application_name='x' passfile", "\tdbname", "host=h", "a b", ""
		};

		for (int i = 0; i < NELEM(keys); i++)
		{
			spec = new_spec("c");
			ec = add_external(spec, "src", false);
			ec->has_connection_parameters = true;
			cb_map_set(&ec->connection_parameters, "host", "h");
			cb_map_set(&ec->connection_parameters, keys[i], "/etc/S3CR3T");
			e = validate_all(spec, NULL);
			EXPECT_COUNT(e, 1, keys[i]);
			EXPECT_ERROR(e, "spec.externalClusters[0].connectionParameters.<key 2>: Forbidden: "
						 "a connection parameter's name is a libpq keyword: letters, digits "
						 "and '_' only (the name is not shown)");
		}
	}
	spec = new_spec("c");
	add_external(spec, "src", true);
	spec->bootstrap.pg_basebackup.present = true;
	spec->bootstrap.pg_basebackup.source = "src";
	e = validate_all(spec, NULL);
	EXPECT_DETAIL(e, "spec.bootstrap.pg_basebackup.source",
				  "External cluster src cannot be used for pg_basebackup: missing connection parameters");
	row_end();
}

static void
test_other_webhook_rules(void)
{
	CbClusterSpec *spec = new_spec("c");
	CbFieldErrors e;

	row_begin("superuser secret, certificates, sync replicas, pg_basebackup source, snapshots");
	spec->has_superuser_secret = true;
	spec->superuser_secret_name = "";
	spec->certificates.present = true;
	spec->certificates.server_tls_secret = "tls";
	spec->certificates.server_alt_dns_names = strings(2, "a.example", "b.example");
	spec->certificates.replication_tls_secret = "repl";
	spec->instances = 3;
	spec->max_sync_replicas = 3;
	spec->min_sync_replicas = 1;
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 5, "five rules");
	EXPECT_ERROR(e, "spec.superusersecret.name: Invalid value: \"\": Super user secret name can't be empty");
	EXPECT_ERROR(e, "spec.certificates.serveraltdnsnames: Invalid value: \"[a.example b.example]\": "
				 "Server alternative DNS names can't be defined when server TLS secret is provided");
	EXPECT_DETAIL(e, "spec.certificates.servercasecret",
				  "Server CA secret can't be empty when server TLS secret is provided");
	EXPECT_DETAIL(e, "spec.certificates.clientcasecret",
				  "Client CA secret can't be empty when client replication secret is provided");
	EXPECT_ERROR(e, "spec.maxSyncReplicas: Invalid value: 3: maxSyncReplicas must be lower than the number of instances");

	spec = new_spec("c");
	spec->bootstrap.pg_basebackup.present = true;
	spec->bootstrap.pg_basebackup.source = "nowhere";
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 1, "pg_basebackup source");
	EXPECT_ERROR(e, "spec.bootstrap.pg_basebackup.source: Invalid value: \"nowhere\": External cluster nowhere not found");
	EXPECT_STR(spec->bootstrap.pg_basebackup.database, "app", "pg_basebackup database");

	spec = new_spec("c");
	use_recovery(spec, NULL);
	spec->bootstrap.recovery.has_volume_snapshots = true;
	spec->bootstrap.recovery.volume_snapshots_kind = "VolumeSnapshot";
	spec->bootstrap.recovery.volume_snapshots_api_group = "snapshot.storage.k8s.io";
	spec->bootstrap.recovery.has_volume_snapshots_wal = true;
	spec->bootstrap.recovery.volume_snapshots_wal_kind = "PersistentVolumeClaim";
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 2, "WAL snapshot without walStorage");
	EXPECT_DETAIL(e, "spec.bootstrap.recovery.dataSource.walStorage",
				  "A WAL storage configuration is required when recovering using a DataSource for WALs");
	/* then ours: no VolumeSnapshot objects on one host */
	EXPECT_ERROR(e, "spec.bootstrap.recovery.volumeSnapshots: Forbidden: recovery from volume "
				 "snapshots is not possible on one host: there are no VolumeSnapshot or "
				 "PersistentVolumeClaim objects to restore");
	spec->bootstrap.recovery.volume_snapshots_api_group = "apps";
	spec->bootstrap.recovery.volume_snapshots_wal_api_group = "v1";
	e = run_check(spec, cb_check_recovery_data_source);
	EXPECT_COUNT(e, 3, "snapshot kinds");
	EXPECT_DETAIL(e, "spec.bootstrap.recovery.storage",
				  "Only VolumeSnapshots and PersistentVolumeClaims are supported");
	EXPECT_DETAIL(e, "spec.bootstrap.recovery.dataSource.walStorage",
				  "Only VolumeSnapshots and PersistentVolumeClaims are supported");
	spec->bootstrap.recovery.backup = (CbKeyRef) {true, "backup", NULL};
	e = run_check(spec, cb_check_recovery_data_source);
	EXPECT_DETAIL(e, "spec.bootstrap.recovery.backup",
				  "Recovery from dataSource is not compatible with other types of recovery");
	row_end();
}

/* base64 of a JSON token, as a demoted CloudNativePG primary hands it over */
static const char *good_token =
"eyJsYXRlc3RDaGVja3BvaW50VGltZWxpbmVJRCI6IjEiLCJyZWRvV2FsRmlsZSI6IjAwMDAwMDAx"
"MDAwMDAwMDAwMDAwMDAwMyIsImRhdGFiYXNlU3lzdGVtSWRlbnRpZmllciI6IjczNjk0NzIzNTQ0"
"NDEzNDE5ODQiLCJsYXRlc3RDaGVja3BvaW50UkVET0xvY2F0aW9uIjoiMC8zMDAwMDI4IiwidGlt"
"ZU9mTGF0ZXN0Q2hlY2twb2ludCI6IlRodSBNYXkgMTYgMTA6MDA6MDAgMjAyNCIsIm9wZXJhdG9y"
"VmVyc2lvbiI6IjEuMjQuMCJ9";

static void
test_promotion_token(void)
{
	static const struct
	{
		const char *token;
		const char *detail;		/* NULL: accepted */
	}			cases[] = {
		{NULL, NULL},			/* good_token */
		{"not base64!", "Invalid promotionToken format: invalid promotion token "
		"(Base64 decoding failed): illegal base64 data at input byte 3"},
		{"abc", "Invalid promotionToken format: invalid promotion token "
		"(Base64 decoding failed): illegal base64 data at input byte 0"},
		{"eyJhIjoxfQ==", "Invalid promotionToken content: invalid promotion token "
		"(LatestCheckpointTimelineID is empty)"},	/* {"a":1} */
		{"eyJhIjo=", "Invalid promotionToken format: invalid promotion token "
		"(JSON decoding failed): unexpected end of JSON input"},	/* {"a": */
		{"WzFd", "Invalid promotionToken format: invalid promotion token "
		"(JSON decoding failed): json: cannot unmarshal array into Go value of type "
		"utils.PgControldataTokenContent"},	/* [1] */
	};

	row_begin("promotion token: format, content, replica, minApplyDelay");
	for (int i = 0; i < NELEM(cases); i++)
	{
		CbClusterSpec *spec = new_spec("c");
		CbFieldErrors e;

		spec->replica.present = true;
		spec->replica.source = "test";
		spec->replica.self = "c";
		spec->replica.primary = "c";
		add_external(spec, "test", true);
		add_external(spec, "c", true);
		spec->replica.promotion_token = (char *) (cases[i].token ? cases[i].token : good_token);
		e = validate_all(spec, NULL);
		EXPECT_COUNT(e, cases[i].detail ? 1 : 0, spec->replica.promotion_token);
		if (cases[i].detail)
			EXPECT_DETAIL(e, "spec.replicaCluster.token", cases[i].detail);
	}
	{
		CbClusterSpec *spec = replica_spec();
		CbFieldErrors e;

		use_recovery(spec, "test");
		spec->replica.promotion_token = (char *) good_token;
		e = validate_all(spec, NULL);
		EXPECT_DETAIL(e, "spec.replicaCluster.token",
					  "promotionToken is only allowed for primary clusters");
		spec->replica.min_apply_delay = "1h";
		e = validate_all(spec, NULL);
		EXPECT_DETAIL(e, "spec.replicaCluster.minApplyDelay",
					  "minApplyDelay cannot be applied with a promotion token");
	}
	row_end();
}

static char *
fake_sha256(const char *data, size_t len)
{
	return psprintf("sha-of-%zu-bytes", len);
}

static void
test_custom_conf(void)
{
	CbClusterSpec *spec = new_spec("c");
	char	   *conf;

	row_begin("custom.conf: sorted, escaped, cluster_name, cnpg.* last, sha line");
	set_param(spec, "search_path", "it's\t\"x\"\\");
	set_param(spec, "cnpg.extra", "1");
	validate_all(spec, NULL);
	conf = cb_custom_conf(spec, NULL);
	expect(strstr(conf, "archive_mode = 'on'\narchive_timeout = '5min'\ncluster_name = 'c'\n") != NULL,
		   "sorted defaults with cluster_name: %s", conf);
	expect(strstr(conf, "search_path = 'it''s\\t\"x\"\\\\'\n") != NULL, "escaping: %s", conf);
	expect(strstr(conf, "shared_preload_libraries = ''\n") != NULL, "empty value");
	expect(strcmp(conf + strlen(conf) - strlen("cnpg.extra = '1'\n"), "cnpg.extra = '1'\n") == 0,
		   "cnpg.* last: %s", conf);
	conf = cb_custom_conf(spec, fake_sha256);
	expect(strstr(conf, "cnpg.extra = '1'\ncnpg.config_sha256 = 'sha-of-") != NULL,
		   "sha line last: %s", conf);
	row_end();
}

static void
test_error_report(void)
{
	CbManifest	manifest = {0};
	CbDocument	docs[2] = {{0}};
	CbSecret	secret = {0};
	CbClusterSpec *spec = new_spec("bad");
	CbError		err = {0};

	row_begin("error report: errmsg, errdetail (one and many), errhint, sqlstate, Secrets");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.wal_segment_size = 3;
	docs[0].kind = CB_KIND_CLUSTER;
	docs[0].kind_name = "Cluster";
	docs[0].cluster = spec;
	manifest.ndocs = 1;
	manifest.docs = docs;
	expect(!cb_manifest_validate(&manifest, NULL, &err), "rejected");
	expect(err.sqlstate == ERRCODE_INVALID_PARAMETER_VALUE, "sqlstate 22023");
	EXPECT_STR(err.message, "Cluster/bad: spec.bootstrap.initdb.walSegmentSize: "
			   "WAL segment size must be a power of 2", "errmsg");
	EXPECT_STR(err.detail, "Cluster.postgresql.cnpg.io \"bad\" is invalid: "
			   "spec.bootstrap.initdb.walSegmentSize: Invalid value: 3: "
			   "WAL segment size must be a power of 2", "errdetail");
	EXPECT_STR(err.hint, "walSegmentSize must be a power of 2 between 1 and 1024 (MB).", "errhint");

	spec = new_spec("bad");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.wal_segment_size = 3;
	spec->max_sync_replicas = 1;
	docs[0].cluster = spec;
	cb_manifest_validate(&manifest, NULL, &err);
	EXPECT_STR(err.detail, "Cluster.postgresql.cnpg.io \"bad\" is invalid: ["
			   "spec.bootstrap.initdb.walSegmentSize: Invalid value: 3: "
			   "WAL segment size must be a power of 2, "
			   "spec.maxSyncReplicas: Invalid value: 1: "
			   "maxSyncReplicas must be lower than the number of instances]", "errdetail list");

	/* a good Cluster, then a Secret with a bad name and a bad key */
	docs[0].cluster = new_spec("good");
	secret.name = "Bad_Name";
	cb_map_set(&secret.data, "pass word", "x");
	docs[1].kind = CB_KIND_SECRET;
	docs[1].kind_name = "Secret";
	docs[1].secret = &secret;
	docs[1].index = 1;
	manifest.ndocs = 2;
	expect(!cb_manifest_validate(&manifest, NULL, &err), "secret rejected");
	EXPECT_STR(err.message, "Secret/Bad_Name: metadata.name: " DNS1123_SUBDOMAIN_ERROR, "secret errmsg");
	expect(strstr(err.detail, "Secret \"Bad_Name\" is invalid: [metadata.name: Invalid value: \"Bad_Name\": ") == err.detail &&
		   strstr(err.detail, "data[pass word]: Invalid value: \"pass word\": a valid config key") != NULL,
		   "secret errdetail: %s", err.detail);
	secret.name = "good-secret";
	secret.data.n = 0;
	expect(cb_manifest_validate(&manifest, NULL, &err), "good documents accepted");
	EXPECT_STR(secret.namespace, "default", "secret namespace");
	row_end();
}

/* specs shaped like the accepted samples in shared/samples (EXPECTED.md) */
static void
test_sample_shapes(void)
{
	CbClusterSpec *spec;
	CbExternalCluster *ec;
	CbFieldErrors e;

	row_begin("sample shapes: cluster-example, full, replica-tls, dc-b, catalog, restore");
	spec = new_spec("cluster-example");
	spec->instances = 3;
	EXPECT_COUNT(validate_all(spec, NULL), 0, "cluster-example");

	spec = new_spec("cluster-example-full");
	spec->instances = 3;
	spec->image_name = "ghcr.io/cloudnative-pg/postgresql:18.6-system-trixie";
	set_param(spec, "shared_buffers", "256MB");
	set_param(spec, "pg_stat_statements.max", "10000");
	set_param(spec, "pg_stat_statements.track", "all");
	set_param(spec, "auto_explain.log_min_duration", "10s");
	spec->bootstrap.initdb.present = true;
	spec->bootstrap.initdb.database = "app";
	spec->bootstrap.initdb.owner = "app";
	spec->bootstrap.initdb.secret = (CbKeyRef) {true, "cluster-example-app-user", NULL};
	spec->enable_superuser_access = true;
	spec->has_superuser_secret = true;
	spec->superuser_secret_name = "cluster-example-superuser";
	EXPECT_COUNT(validate_all(spec, NULL), 0, "cluster-example-full");

	spec = new_spec("cluster-replica-tls");
	spec->instances = 3;
	spec->bootstrap.pg_basebackup.present = true;
	spec->bootstrap.pg_basebackup.source = "cluster-example";
	spec->replica.present = true;
	spec->replica.primary = "cluster-example";
	spec->replica.source = "cluster-example";
	ec = add_external(spec, "cluster-example", false);
	ec->has_connection_parameters = true;
	cb_map_set(&ec->connection_parameters, "host", "cluster-example-rw");
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 0, "cluster-replica-tls");
	expect(cb_is_replica_cluster(spec), "replica-tls is a replica");

	spec = new_spec("cluster-dc-b");
	spec->instances = 3;
	use_recovery(spec, "cluster-dc-a");
	spec->replica.present = true;
	spec->replica.self = "cluster-dc-b";
	spec->replica.primary = "cluster-dc-a";
	spec->replica.source = "cluster-dc-a";
	add_external(spec, "cluster-dc-a", true);
	add_external(spec, "cluster-dc-b", true);
	EXPECT_COUNT(validate_all(spec, NULL), 0, "cluster-dc-b");

	spec = new_spec("cluster-example");
	spec->has_image_catalog_ref = true;
	e = validate_all(spec, NULL);
	EXPECT_COUNT(e, 0, "catalog");
	expect(spec->image_name == NULL && spec->pg_major == 0, "catalog: no image, no major");

	spec = new_spec("cluster-restore");
	spec->storage_size = "5Gi";
	use_recovery(spec, "clusterBackup");
	spec->bootstrap.recovery.target.present = true;
	spec->bootstrap.recovery.target.target_immediate = CB_UNSET;
	spec->bootstrap.recovery.target.exclusive = CB_UNSET;
	spec->bootstrap.recovery.target.target_time = "2023-08-11 11:14:21.00000+02";
	add_external(spec, "clusterBackup", true);
	EXPECT_COUNT(validate_all(spec, NULL), 0, "cluster-restore-pitr");
	row_end();
}

#ifdef CB_WITH_MANIFEST

/* parse and validate a YAML stream as cnpg_bootstrap_apply does */
static bool
apply_yaml(const char *yaml, const CbStringList *existing, CbManifest **m,
		   CbError *err)
{
	memset(err, 0, sizeof(*err));
	if (!cb_manifest_parse(yaml, strlen(yaml), m, err))
		return false;
	return cb_manifest_validate(*m, existing, err);
}

#define CLUSTER_HEAD \
	"apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: c\n"

static void
test_through_parser(void)
{
	CbStringList existing = strings(1, "c");
	CbManifest *m = NULL;
	CbError		err;
	CbClusterSpec *spec;
	const char *replica_initdb =
		CLUSTER_HEAD
		"spec:\n  instances: 1\n  storage: {size: 1Gi}\n"
		"  replica: {enabled: true, source: src}\n"
		"  bootstrap: {initdb: {}}\n"
		"  externalClusters:\n  - name: src\n    connectionParameters: {host: x}\n";

	row_begin("through cb_manifest_parse: defaults, tri-states, replica rule, Secret keys");
	expect(apply_yaml(CLUSTER_HEAD "spec:\n  instances: 3\n  storage:\n    size: 1Gi\n",
					  NULL, &m, &err), "cluster-example shape: %s", err.message);
	spec = m && m->ndocs == 1 ? m->docs[0].cluster : NULL;
	expect(spec != NULL && str_eq(spec->bootstrap.initdb.owner, "app") &&
		   spec->pg_major == 18 && spec->storage_bytes == INT64CONST(1073741824),
		   "defaults after parsing");

	expect(!apply_yaml(replica_initdb, NULL, &m, &err), "replica with initdb, new");
	EXPECT_STR(err.message, "Cluster/c: spec.replicaCluster: replica mode bootstrap "
			   "is compatible only with pg_basebackup or recovery", "errmsg");
	expect(apply_yaml(replica_initdb, &existing, &m, &err),
		   "replica with initdb, already stored: %s", err.message);

	/* targetImmediate: false is written, so it counts and needs a backupID */
	expect(!apply_yaml(CLUSTER_HEAD
					   "spec:\n  instances: 1\n  storage: {size: 1Gi}\n"
					   "  bootstrap:\n    recovery:\n      source: src\n"
					   "      recoveryTarget: {targetImmediate: false}\n"
					   "  externalClusters:\n  - name: src\n"
					   "    barmanObjectStore: {destinationPath: 's3://b/p'}\n",
					   NULL, &m, &err), "targetImmediate false without backupID");
	EXPECT_STR(err.message, "Cluster/c: spec.bootstrap.recovery.recoveryTarget: "
			   "BackupID is missing", "errmsg");

	/* the parser or the validator refuses it; either names the Secret */
	expect(!apply_yaml("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
					   "stringData:\n  'a key': x\n", NULL, &m, &err) &&
		   strncmp(err.message, "Secret/s: ", 10) == 0, "Secret key: %s", err.message);
	row_end();
}
#endif							/* CB_WITH_MANIFEST */

int
main(void)
{
	row01_defaulting();
	row02_two_methods();
	row03_database_owner();
	row04_sql_refs();
	row05_wal_segment_size();
	row06_icu();
	row07_names();
	row08_import_type();
	row09_microservice();
	row10_monolith();
	row11_exclusive_targets();
	row12_target_time();
	row13_backup_id();
	row14_xid();
	row15_target_name();
	row16_tli_lsn();
	row17_target_lines();
	row18_external_clusters();
	row19_recovery_source();
	row20_replica();
	row21_memory_units();
	test_quantities();
	test_storage();
	test_images();
	test_parameters();
	test_input_rules();
	test_other_webhook_rules();
	test_promotion_token();
	test_custom_conf();
	test_error_report();
	test_sample_shapes();
#ifdef CB_WITH_MANIFEST
	test_through_parser();
#endif

	printf("%d passed, %d failed\n", rows_passed, rows_failed);
	return rows_failed > 0 ? 1 : 0;
}
