# cnpg_bootstrap: CloudNativePG's cluster bootstrap as a PostgreSQL extension.
# PGXS build; see README.md ("Development") for how tests run on these machines.

MODULE_big = cnpg_bootstrap
EXTENSION = cnpg_bootstrap
DATA = cnpg_bootstrap--0.1.sql
PGFILEDESC = "cnpg_bootstrap - CloudNativePG bootstrap without Kubernetes"

# src/fields_gen.c is generated from CloudNativePG's schema (data/*.tsv)
SRCS = $(sort $(wildcard src/*.c))
OBJS = cnpg_bootstrap.o $(patsubst %.c,%.o,$(filter-out src/fields_gen.c,$(SRCS))) src/fields_gen.o

PG_CONFIG ?= pg_config
# restore_command's programs (src/bin/, outside the module's wildcard)
WALRESTORE = src/bin/cnpg_bootstrap_wal_restore src/bin/cnpg_bootstrap_wal_fetch
# the cnpg-bootstrap command (src/cli/, outside the module's wildcard; man page doc/cnpg-bootstrap.1)
CLI = src/bin/cnpg-bootstrap
PG_CPPFLAGS = -I$(srcdir)/src -I$(shell $(PG_CONFIG) --includedir)
PG_CFLAGS = -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK = -lyaml -lssl -lcrypto -lcurl -larchive -L$(shell $(PG_CONFIG) --libdir) -lpq

REGRESS = $(basename $(notdir $(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --temp-instance=tmp_check_regress --temp-config=$(srcdir)/test/regress.conf \
	--load-extension=cnpg_bootstrap
# Isolation specs (specs/*.spec, expected/<spec>.out): concurrent apply and
# delete, run by pg_isolation_regress with `make installcheck` after REGRESS
ISOLATION = $(basename $(notdir $(sort $(wildcard specs/*.spec))))
ISOLATION_OPTS = --temp-instance=tmp_check_iso --temp-config=$(srcdir)/test/isolation.conf \
	--load-extension=cnpg_bootstrap
TAP_TESTS = 1
EXTRA_CLEAN = src/fields_gen.c tmp_check_regress tmp_check_iso output_iso fuzz/fuzz_manifest fuzz/fuzz_secret \
	fuzz/fuzz_recovery fuzz/fuzz_conninfo fuzz/obj $(WALRESTORE) $(CLI)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The restore_command (each program built from src/bin/<its name>.c):
# cnpg_bootstrap_wal_restore serves prefetched WAL with libc and the static
# libpgcommon only, fast to start, and execs cnpg_bootstrap_wal_fetch on a
# miss: the module's object-store code built without the backend
# (-DCB_OS_NO_BACKEND), libcurl, OpenSSL, libarchive.
PGLIBS_FE = -L$(shell $(PG_CONFIG) --pkglibdir) -lpgcommon -lpgport
WALFETCH_SRCS = src/bin/cnpg_bootstrap_wal_fetch.c src/bin/wal_restore_shim.c \
	src/objectstore.c src/os_config.c src/os_sigv4.c src/os_xml.c src/os_transfer.c src/oswait.c \
	src/hmac_sha256.c src/azureblob.c src/gcs.c src/barman.c src/walrestore_conf.c
all: $(WALRESTORE)
src/bin/cnpg_bootstrap_wal_restore: src/bin/cnpg_bootstrap_wal_restore.c src/walrestore_conf.c \
		src/walrestore_conf.h src/bin/wal_restore_shim.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -I$(srcdir)/src/bin -o $@ $(filter %.c,$^) $(LDFLAGS) $(PGLIBS_FE)
src/bin/cnpg_bootstrap_wal_fetch: $(WALFETCH_SRCS) src/bin/wal_restore_shim.h src/objectstore.h src/os_int.h \
		src/hmac_sha256.h src/azureblob.h src/gcs.h src/barman.h src/walrestore_conf.h src/model.h src/walspool.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -DCB_OS_NO_BACKEND -I$(srcdir)/src/bin -o $@ $(WALFETCH_SRCS) \
		$(LDFLAGS) $(PGLIBS_FE) -lcurl -lssl -lcrypto -larchive

.PHONY: install-walrestore uninstall-walrestore
install: install-walrestore
install-walrestore: $(WALRESTORE)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(WALRESTORE) '$(DESTDIR)$(bindir)/'
uninstall: uninstall-walrestore
uninstall-walrestore:
	rm -f $(addprefix '$(DESTDIR)$(bindir)'/,$(notdir $(WALRESTORE)))

# cnpg-bootstrap links libpq and libc only: no backend, no libpgcommon
CLI_SRCS = $(sort $(wildcard $(srcdir)/src/cli/*.c))
CB_VERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(srcdir)/cnpg_bootstrap.control)
all: $(CLI)
$(CLI): $(CLI_SRCS) src/cli/cli.h cnpg_bootstrap.control
	$(CC) $(CFLAGS) -D_GNU_SOURCE -I$(shell $(PG_CONFIG) --includedir) -DCB_VERSION='"$(CB_VERSION)"' \
		-o $@ $(CLI_SRCS) $(LDFLAGS) -L$(shell $(PG_CONFIG) --libdir) -lpq

.PHONY: install-cli uninstall-cli
install: install-cli
install-cli: $(CLI)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(CLI) '$(DESTDIR)$(bindir)/'
uninstall: uninstall-cli
uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/$(notdir $(CLI))'

src/fields_gen.c: tools/gen_fields.pl data/cnpg-cluster-fields.tsv data/cnpg-objectstore-fields.tsv
	perl tools/gen_fields.pl data/cnpg-cluster-fields.tsv data/cnpg-objectstore-fields.tsv > $@.tmp && mv $@.tmp $@

# libFuzzer target for the YAML -> spec path (the model is pure, see src/model.h)
# the manifest reader (src/manifest.c and the files it is split into)
MANIFEST_SRCS = src/manifest.c src/yaml_tree.c src/schema_check.c src/manifest_fill.c \
	src/manifest_errors.c src/node_json.c
MODEL_SRCS = $(MANIFEST_SRCS) src/validate.c src/validate_gofmt.c src/validate_values.c src/validate_params.c \
	src/config_writer.c src/validate_schema.c src/validate_webhook.c src/validate_defaults.c \
	src/validate_input.c src/validate_bootstrap.c src/promotion_token.c src/fields_gen.c
# One binary per target (fuzz/README.md says why); the model's objects are
# built once, instrumented, under fuzz/obj/.
FUZZ_TARGETS = fuzz/fuzz_manifest fuzz/fuzz_secret fuzz/fuzz_recovery fuzz/fuzz_conninfo
FUZZ_CC = clang -g -O1 -Wno-ignored-attributes -I$(srcdir)/src -I$(shell $(PG_CONFIG) --includedir-server)
FUZZ_MODEL_OBJS = $(patsubst src/%.c,fuzz/obj/%.o,$(MODEL_SRCS)) fuzz/obj/pgshim.o
fuzz/obj/%.o: src/%.c
	@mkdir -p fuzz/obj
	$(FUZZ_CC) -fsanitize=fuzzer-no-link,address,undefined -I$(shell $(PG_CONFIG) --includedir) -c -o $@ $<
fuzz/obj/pgshim.o: fuzz/pgshim.c
	@mkdir -p fuzz/obj
	$(FUZZ_CC) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
fuzz/fuzz_manifest fuzz/fuzz_secret fuzz/fuzz_recovery: fuzz/%: fuzz/%.c fuzz/fuzz_util.h $(FUZZ_MODEL_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_MODEL_OBJS) -lyaml
# the conninfo target checks against libpq itself
fuzz/fuzz_conninfo: fuzz/fuzz_conninfo.c fuzz/fuzz_util.h $(FUZZ_MODEL_OBJS) fuzz/obj/external.o \
		fuzz/obj/pgpass.o fuzz/obj/secrets.o fuzz/obj/hmac_sha256.o
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -I$(shell $(PG_CONFIG) --includedir) -o $@ $< \
		$(filter %.o,$^) -lyaml -L$(shell $(PG_CONFIG) --libdir) -lpq \
		-L$(shell $(PG_CONFIG) --pkglibdir) -lpgcommon -lpgport -lssl -lcrypto

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS)

# Unit tests of the pure parts, run without a server (tools/run-tests.sh)
PGINC_SERVER = $(shell $(PG_CONFIG) --includedir-server)
PGPKGLIB = $(shell $(PG_CONFIG) --pkglibdir)
UNIT_CC = gcc -O1 -g -Wall -I$(srcdir)/src -I$(PGINC_SERVER) -I$(shell $(PG_CONFIG) --includedir)

.PHONY: unit
unit: src/fields_gen.c
	$(UNIT_CC) -DCB_WITH_MANIFEST -o fuzz/validate_test fuzz/validate_test.c fuzz/pgshim.c \
		src/validate_input.c src/validate_bootstrap.c src/promotion_token.c $(MANIFEST_SRCS) src/fields_gen.c -lyaml -lm
	fuzz/validate_test
	$(UNIT_CC) -o test/unit/test_secrets test/unit/test_secrets.c test/unit/unit_shim.c \
		src/secrets.c src/pgpass.c src/hmac_sha256.c -L$(PGPKGLIB) -lpgcommon -lpgport -lpq -lssl -lcrypto
	test/unit/test_secrets
	$(UNIT_CC) -o test/unit/test_redact test/unit/test_redact.c test/unit/unit_shim.c \
		src/redact.c -L$(PGPKGLIB) -lpgcommon -lpgport
	test/unit/test_redact
	$(UNIT_CC) -o test/unit/test_tls test/unit/test_tls.c test/unit/unit_shim.c \
		src/tls.c -L$(PGPKGLIB) -lpgcommon -lpgport -lssl -lcrypto
	d=$$(mktemp -d /tmp/cbtls.XXXXXX) && test/unit/test_tls $$d; rc=$$?; rm -rf $$d; exit $$rc
	# process.c, childreg.c, pgconn.c, secrets.c inside a scratch server
	$(srcdir)/test/unit/run_worker_harness.sh $(srcdir) $(PG_CONFIG)

# The Debian package postgresql-15-cnpg-bootstrap (debian/), built by
# pg_buildext in a copy of the tree; DEB_OUTDIR gets the .deb.  Named from
# this Makefile's directory: on a fresh machine (no pg_config yet, so no
# PGXS and no srcdir) the script installs what the build needs.
DEB_OUTDIR ?= build
.PHONY: deb
deb:
	$(dir $(firstword $(MAKEFILE_LIST)))tools/build-deb.sh $(DEB_OUTDIR)
