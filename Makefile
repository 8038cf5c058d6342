EXTENSION = reframe
EXTVERSION = 0.3.0

MODULE_big = reframe
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))

DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# earlier versions' scripts and the upgrade scripts between versions, as released
DATA = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))

TESTS = $(sort $(wildcard test/sql/*.sql))
REGRESS = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test --load-extension=$(EXTENSION)

# Hand-written loops are written to auto-vectorise at -O3; override with OPTFLAGS="" (e.g. for valgrind).
OPTFLAGS = -O3 -fno-math-errno -fno-trapping-math
PG_CFLAGS += $(OPTFLAGS) -std=gnu99
PG_CPPFLAGS += -I/usr/include/x86_64-linux-gnu/openblas-pthread
SHLIB_LINK += -lopenblas -lxgboost -lm -pthread
# only PostgreSQL's entry points are exported (reframe.map)
SHLIB_LINK += -Wl,--version-script=$(srcdir)/reframe.map

EXTRA_CLEAN = $(DATA_built)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# PGXS tracks no header dependencies: rebuild everything when a header changes.
$(OBJS): $(wildcard src/*.h)

# The loss kernels vectorise exp/log through libmvec; see src/kernels.h.
src/kernels.o: CFLAGS += -ffast-math
src/encoder_stats.o: CFLAGS += -ffp-contract=off

# Memory safety: the regression suites against a valgrind-built server (slow).
.PHONY: valgrind-check
valgrind-check:
	bash scripts/valgrind-check.sh
