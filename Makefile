EXTENSION = reframe
EXTVERSION = 0.3.0

MODULE_big = reframe
# The layers, lowest first: each folder's files use those of the folders
# before it (scripts/check-layers.sh checks what is left to untangle).
#   core      settings, matrices, kernels, threads, JSON, options, optimizers
#   encode    the encoder and its statistics, streamed moments
#   heads     links, losses, targets, ranking, metric accumulators and kernels
#   families  the trunk, the network, each family and its fitters
#   store     model tables, versions, the model cache, blends, Citus
#   stream    aggregate passes: moments, gradients, streaming L-BFGS
#   apply     scoring, evaluating, explaining, exporting; the metric aggregates
#   train     reading the source, the driver, choosing options
#   reframe.c the module's entry point
LAYERS = core encode heads families store stream apply train
OBJS = $(patsubst %.c,%.o,$(foreach d,$(LAYERS),$(wildcard src/$(d)/*.c)) src/reframe.c)

DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# earlier versions' scripts and the upgrade scripts between versions, as released
DATA = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))

TESTS = $(sort $(wildcard test/sql/*.sql))
REGRESS = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test --load-extension=$(EXTENSION)

# Hand-written loops are written to auto-vectorise at -O3; override with OPTFLAGS="" (e.g. for valgrind).
OPTFLAGS = -O3 -fno-math-errno -fno-trapping-math
PG_CFLAGS += $(OPTFLAGS) -std=gnu99
PG_CPPFLAGS += $(foreach d,$(LAYERS),-I$(srcdir)/src/$(d)) -I/usr/include/x86_64-linux-gnu/openblas-pthread
SHLIB_LINK += -lopenblas -lxgboost -lm -pthread
# Only PostgreSQL's entry points are exported: the module magic, _PG_init and
# each PG_FUNCTION_INFO_V1 function with its info function.  Everything else
# (helpers, the settings' variables) stays inside reframe.so, so that no name
# of reframe's collides with another extension's in the same backend.  The
# version script is written from the sources.
SHLIB_LINK += -Wl,--version-script=reframe.exports

EXTRA_CLEAN = $(DATA_built) reframe.exports

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

reframe.exports: $(OBJS:.o=.c)
	{ echo '{ global: Pg_magic_func; _PG_init;'; \
	  sed -n 's/^PG_FUNCTION_INFO_V1(\([a-z_0-9]*\));.*/  \1; pg_finfo_\1;/p' $^; \
	  echo 'local: *; };'; } > $@
$(shlib): reframe.exports
all: reframe.exports

# PGXS tracks no header dependencies: rebuild everything when a header changes.
$(OBJS): $(wildcard src/*/*.h)

# The loss kernels vectorise exp/log through libmvec; see src/core/kernels.h.
src/core/kernels.o: CFLAGS += -ffast-math
src/encode/encoder_stats.o: CFLAGS += -ffp-contract=off

# Memory safety: the regression suites against a valgrind-built server (slow).
.PHONY: valgrind-check
valgrind-check:
	bash scripts/valgrind-check.sh
