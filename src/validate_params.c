/*-------------------------------------------------------------------------
 *
 * validate_params.c
 *	  spec.postgresql.parameters: CloudNativePG's defaults, the parameters
 *	  the operator owns, the stored (sanitized) map, and the webhook's
 *	  configuration checks (item 18).
 *
 * Pure, like the rest of the model (see model.h).
 *
 * IDENTIFICATION
 *	  src/validate_params.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "model.h"
#include "validate_input.h"
#include "validate_int.h"


/* ---------- PostgreSQL parameters ---------- */

/* CloudNativePG's defaults (docs/cnpg-rules.md §1.2), sorted by key */
static const struct
{
	const char *key;
	const char *value;
}			parameter_defaults[] = {
	{"archive_timeout", "5min"},
	{"dynamic_shared_memory_type", "posix"},
	{"full_page_writes", "on"},
	{"log_destination", "csvlog"},
	{"log_directory", "/controller/log"},
	{"log_filename", "postgres"},
	{"log_rotation_age", "0"},
	{"log_rotation_size", "0"},
	{"log_truncate_on_rotation", "false"},
	{"logging_collector", "on"},
	{"max_parallel_workers", "32"},
	{"max_replication_slots", "32"},
	{"max_worker_processes", "32"},
	{"shared_memory_type", "mmap"},
	{"shared_preload_libraries", ""},
	{"ssl_max_protocol_version", "TLSv1.3"},
	{"ssl_min_protocol_version", "TLSv1.3"},
	{"wal_keep_size", "512MB"},
	{"wal_level", "logical"},
	{"wal_log_hints", "on"},
	{"wal_receiver_timeout", "5s"},
	{"wal_sender_timeout", "5s"},
};

/*
 * Parameters the operator owns: the "fixed" and the "blocked" lists of
 * docs/cnpg-rules.md §1.2, which the webhook treats alike.
 */
static const char *const operator_parameters[] = {
	/* fixed */
	"archive_mode", "cluster_name", "port", "primary_conninfo",
	"primary_slot_name", "recovery_target", "recovery_target_action",
	"recovery_target_inclusive", "recovery_target_lsn", "recovery_target_name",
	"recovery_target_time", "recovery_target_timeline", "recovery_target_xid",
	"restore_command", "shared_preload_libraries", "temp_tablespaces",
	"archive_command", "pg_failover_slots.primary_dsn",
	"pg_failover_slots.standby_slot_names", "ssl", "ssl_ca_file",
	"ssl_cert_file", "ssl_crl_file", "ssl_dh_params_file", "ssl_key_file",
	"ssl_passphrase_command", "ssl_passphrase_command_supports_reload",
	"ssl_prefer_server_ciphers", "synchronous_standby_names",
	"synchronized_standby_slots",
	/* blocked */
	"allow_system_table_mods", "bonjour", "bonjour_name", "config_file",
	"data_directory", "data_sync_retry", "event_source", "external_pid_file",
	"hba_file", "hot_standby", "ident_file", "jit_provider",
	"listen_addresses", "logging_collector", "unix_socket_directories",
	"unix_socket_group", "unix_socket_permissions", "archive_cleanup_command",
	"log_destination", "log_directory", "log_file_mode", "log_filename",
	"log_rotation_age", "log_rotation_size", "log_truncate_on_rotation",
	"promote_trigger_file", "recovery_end_command", "recovery_min_apply_delay",
	"restart_after_crash", "stats_temp_directory", "syslog_facility",
	"syslog_ident", "syslog_sequence_numbers", "syslog_split_messages",
};

static bool
is_operator_parameter(const char *key)
{
	int			i;

	for (i = 0; i < NELEM(operator_parameters); i++)
		if (cb_guc_name_eq(operator_parameters[i], key))
			return true;
	return false;
}

static const char *
parameter_default(const char *key)
{
	int			i;

	for (i = 0; i < NELEM(parameter_defaults); i++)
		if (cb_guc_name_eq(parameter_defaults[i].key, key))
			return parameter_defaults[i].value;
	return NULL;
}

/* computed archive_mode (docs/cnpg-rules.md §1.2) */
static const char *
archive_mode_for(const CbClusterSpec *spec)
{
	if (str_eq(cb_map_get(&spec->annotations, "cnpg.io/skipWalArchiving"),
			   "enabled"))
		return "off";
	return cb_is_replica_cluster(spec) ? "always" : "on";
}

/*
 * What CloudNativePG's default computation yields for a key, without the
 * mandatory settings: the only value an operator parameter may be given.
 */
static const char *
operator_parameter_reference(const CbClusterSpec *spec, const char *key)
{
	if (cb_guc_name_eq(key, "archive_mode"))
		return archive_mode_for(spec);
	return parameter_default(key);
}

/*
 * The stored map (docs/cnpg-rules.md §2 item 5): the defaults, the user's
 * values over them (operator parameters included, so that the checks can
 * refuse them), archive_mode computed last.  Names are folded to lower
 * case, as PostgreSQL reads them: "WAL_LEVEL" replaces the default
 * wal_level instead of standing beside it, and every later lookup by name
 * sees it.
 */
CbMap
cb_sanitized_parameters(const CbClusterSpec *spec, const CbMap *user)
{
	CbMap		result = {0};
	int			i;

	for (i = 0; i < NELEM(parameter_defaults); i++)
		cb_map_set(&result, parameter_defaults[i].key, parameter_defaults[i].value);
	for (i = 0; i < user->n; i++)
		if (user->items[i].key != NULL)
			cb_map_set(&result, cb_guc_name_lower(user->items[i].key),
					   user->items[i].value);
	cb_map_set(&result, "archive_mode", archive_mode_for(spec));
	cb_map_sort(&result);
	return result;
}

/* a GUC name, optionally namespaced with a single dot */
static bool
is_parameter_name(const char *key)
{
	int			part;

	for (part = 0; part < 2; part++)
	{
		if (!((*key >= 'A' && *key <= 'Z') || (*key >= 'a' && *key <= 'z') ||
			  *key == '_'))
			return false;
		for (key++; *key && *key != '.'; key++)
			if (!((*key >= 'A' && *key <= 'Z') || cb_is_lower_alnum(*key) ||
				  *key == '_' || *key == '$'))
				return false;
		if (*key == '\0')
			return true;
		key++;
	}
	return false;
}

/* CloudNativePG's ParsePostgresConfigBoolean: PostgreSQL's unique prefixes */
static bool
parse_pg_boolean(const char *value, bool *result)
{
	static const char *const true_words[] = {
		"1", "on", "y", "ye", "yes", "t", "tr", "tru", "true"
	};
	static const char *const false_words[] = {
		"0", "of", "off", "n", "no", "f", "fa", "fal", "fals", "false"
	};
	int			i;

	for (i = 0; i < NELEM(true_words); i++)
		if (cb_str_eq_nocase(value, true_words[i]))
			return (*result = true);
	for (i = 0; i < NELEM(false_words); i++)
		if (cb_str_eq_nocase(value, false_words[i]))
			return !(*result = false);
	return false;
}


#define PARAMETERS_PATH "spec.postgresql.parameters."

/*
 * item 18: names, then the parameters the operator owns, whatever the case
 * of their names (PostgreSQL's are case-insensitive; CloudNativePG's check
 * is not).  A refused parameter's value is never shown: it may be a
 * password (primary_conninfo) or a command.
 */
static void
check_parameter_keys(CbValidation *v)
{
	const CbMap *user = &v->user_parameters;
	int			i;

	cb_check_parameter_names(user, PARAMETERS_PATH, cb_report_forbidden, v);
	cb_check_config_lines(&v->spec->pg_hba, "spec.postgresql.pg_hba", true,
						  cb_report_forbidden, v);
	cb_check_config_lines(&v->spec->pg_ident, "spec.postgresql.pg_ident", false,
						  cb_report_forbidden, v);
	for (i = 0; i < user->n; i++)
	{
		const char *key = user->items[i].key ? user->items[i].key : "";
		const char *value = user->items[i].value;
		const char *reference;

		if (!is_parameter_name(key))
		{
			invalid(v, psprintf(PARAMETERS_PATH "%s", key), cb_go_quote(key),
					"must be a valid PostgreSQL configuration parameter name "
					"(a GUC name, optionally namespaced with a single dot)",
					"Parameter names are letters, digits, '_' and '$', with at most one dot.");
			continue;
		}
		if (!is_operator_parameter(key))
			continue;
		reference = operator_parameter_reference(v->spec, key);
		if (reference == NULL || !str_eq(value, reference))
			invalid(v, psprintf(PARAMETERS_PATH "%s", key), NULL,
					"Can't set fixed configuration parameter",
					cb_guc_name_eq(key, "shared_preload_libraries")
					? "List libraries in spec.postgresql.shared_preload_libraries."
					: reference
					? psprintf("%s is managed by the operator: leave it out, or set it to '%s'.",
							   key, reference)
					: psprintf("%s is managed by the operator: leave it out.", key));
	}
}

/* item 18: wal_level and what it needs */
static void
check_wal_level(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;
	const char *wal_level = cb_map_get(&spec->parameters, "wal_level");
	const char *senders = cb_map_get(&spec->parameters, "max_wal_senders");
	bool		needs_wal = spec->instances > 1 || cb_is_replica_cluster(spec) ||
		!str_eq(cb_map_get(&spec->parameters, "archive_mode"), "off");

	if (!str_eq(wal_level, "logical") && !str_eq(wal_level, "replica") &&
		!str_eq(wal_level, "minimal"))
		invalid(v, PARAMETERS_PATH "wal_level", NULL,
				"unrecognized `wal_level` value - allowed values: `logical`, `replica`, `minimal`",
				"wal_level is logical, replica or minimal.");
	else if (needs_wal && str_eq(wal_level, "minimal"))
		invalid(v, PARAMETERS_PATH "wal_level", NULL,
				"`wal_level` should be set at `logical` or `replica` when `archive_mode` is `on`, "
				"'.instances' field is greater than 1, or this is a replica cluster",
				"wal_level minimal needs one instance, no replica mode and WAL archiving off.");
	if (str_eq(wal_level, "minimal") && !str_eq(senders, "0"))
		invalid(v, PARAMETERS_PATH "max_wal_senders", NULL,
				"`max_wal_senders` should be set at `0` when `wal_level` is `minimal`",
				"Set max_wal_senders to 0 with wal_level minimal.");
}

/* item 18: memory values as PostgreSQL writes them (oracle row 21) */
static void
check_shared_buffers(CbValidation *v)
{
	const char *value = cb_map_get(&v->spec->parameters, "shared_buffers");

	/* CloudNativePG prints the parameter's name as the bad value */
	if (!str_empty(value) && !cb_parse_pg_memory(value, NULL))
		invalid(v, PARAMETERS_PATH "shared_buffers", cb_go_quote("shared_buffers"),
				"Invalid value for configuration parameter shared_buffers. More info on "
				"accepted values format: https://www.postgresql.org/docs/current/"
				"config-setting.html#CONFIG-SETTING-NAMES-VALUES",
				"Memory values are a number of MB, or a number with B, kB, MB, GB or TB, as in 256MB.");
}

static void
check_wal_log_hints(CbValidation *v)
{
	const char *value = cb_map_get(&v->spec->parameters, "wal_log_hints");
	bool		on = false;

	if (value == NULL)
		return;
	if (!parse_pg_boolean(value, &on))
		invalid(v, PARAMETERS_PATH "wal_log_hints", NULL,
				"invalid `wal_log_hints`. Must be a postgres boolean",
				"wal_log_hints is on or off.");
	if (v->spec->instances > 1 && !on)
		invalid(v, PARAMETERS_PATH "wal_log_hints", NULL,
				"`wal_log_hints` must be set to `on` when `instances` > 1",
				"Standbys need wal_log_hints on (pg_rewind).");
}

/* min_wal_size < max_wal_size < the WAL volume (validateWalSizeConfiguration) */
static void
check_wal_sizes(CbValidation *v)
{
	static const struct
	{
		const char *key;
		const char *fallback;
	}			sizes[] = {{"min_wal_size", "80MB"}, {"max_wal_size", "1GB"}};
	const char *hint = "min_wal_size must be below max_wal_size, both below "
		"the walStorage size.";
	const char *values[2];
	int64		bytes[2] = {0, 0};
	int64		volume = 0;
	int			i;

	for (i = 0; i < 2; i++)
	{
		const char *value = cb_map_get(&v->spec->parameters, sizes[i].key);

		values[i] = str_empty(value) ? sizes[i].fallback : value;
		if (!cb_parse_pg_memory(values[i], &bytes[i]))
		{
			bytes[i] = 0;
			invalid(v, psprintf(PARAMETERS_PATH "%s", sizes[i].key), NULL,
					psprintf("Invalid value for configuration parameter %s",
							 sizes[i].key), hint);
		}
	}
	if (bytes[0] != 0 && bytes[1] != 0 && bytes[0] >= bytes[1])
		invalid(v, PARAMETERS_PATH "min_wal_size", NULL,
				"Invalid vale. Parameter min_wal_size (default 80MB) should be "
				"smaller than parameter max_wal_size (default 1GB)", hint);
	if (!v->spec->has_wal_storage ||
		!cb_parse_quantity(v->spec->wal_storage_size, &volume))
		return;
	for (i = 0; i < 2; i++)
		if (values[i] != sizes[i].fallback && bytes[i] != 0 && bytes[i] >= volume)
			invalid(v, psprintf(PARAMETERS_PATH "%s", sizes[i].key), NULL,
					psprintf("Invalid value. Parameter %s (default %s) should be "
							 "smaller than WAL volume size",
							 sizes[i].key, sizes[i].fallback), hint);
}

/* item 18 */
void
cb_check_configuration(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;
	int			major = 0;

	check_parameter_keys(v);

	/*
	 * An image tag without a version was reported by item 8; CloudNativePG
	 * stops here then.  With an image catalog the major is the catalog's,
	 * which the model does not carry, so the version check is skipped.
	 */
	if (!spec->has_image_catalog_ref)
	{
		if (cb_image_tag_status(spec->image_name ? spec->image_name : "", &major) != CB_IMAGE_OK)
			return;
		if (major < 13)
			invalid(v, "spec.imageName", cb_go_quote(spec->image_name),
					"Unsupported PostgreSQL version. Versions 13 or newer are supported",
					"Use an image of PostgreSQL 13 or newer.");
	}
	check_wal_level(v);
	check_shared_buffers(v);
	check_wal_log_hints(v);
	check_wal_sizes(v);
}
