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
PG_CPPFLAGS = -I$(srcdir)/src -I$(shell $(PG_CONFIG) --includedir)
PG_CFLAGS = -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK = -lyaml -lssl -lcrypto -lcurl -L$(shell $(PG_CONFIG) --libdir) -lpq

REGRESS = $(basename $(notdir $(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --temp-instance=tmp_check_regress --temp-config=$(srcdir)/test/regress.conf \
	--load-extension=cnpg_bootstrap
TAP_TESTS = 1
EXTRA_CLEAN = src/fields_gen.c tmp_check_regress fuzz/fuzz_manifest

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

src/fields_gen.c: tools/gen_fields.pl data/cnpg-cluster-fields.tsv data/cnpg-objectstore-fields.tsv
	perl tools/gen_fields.pl data/cnpg-cluster-fields.tsv data/cnpg-objectstore-fields.tsv > $@.tmp && mv $@.tmp $@

# libFuzzer target for the YAML -> spec path (the model is pure, see src/model.h)
MODEL_SRCS = src/manifest.c src/validate.c src/fields_gen.c
fuzz/fuzz_manifest: fuzz/fuzz_manifest.c fuzz/pgshim.c $(MODEL_SRCS)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I$(srcdir)/src \
		-I$(shell $(PG_CONFIG) --includedir-server) -o $@ $^ -lyaml

.PHONY: fuzz
fuzz: fuzz/fuzz_manifest
