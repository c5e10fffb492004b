# Build, test and run everything. The public targets first make sure the Debian
# packages are installed (scripts/deps.sh), then re-enter make for the real work,
# so that pkg-config is only asked once the libraries are there.

CC ?= cc
# V=1 shows the full commands.
Q := $(if $(V),,@)
CLANG ?= clang
BUILD ?= build
PKGS := libevent libevent_openssl openssl libmicrohttpd jansson sqlite3 libcurl
CFLAGS_COMMON := -std=c11 -Wall -Wextra -Werror -g -D_GNU_SOURCE -MMD -MP -Ishared -Ishared/mqtt -Ishared/util -Idataplane -Icontrolplane
CFLAGS_REL := $(CFLAGS_COMMON) -O2
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CFLAGS_ASAN := $(CFLAGS_COMMON) -O1 $(SAN)
# ThreadSanitizer cannot be combined with ASan: the cross-thread tests get their own build.
CFLAGS_TSAN := $(CFLAGS_COMMON) -O1 -fsanitize=thread -fno-omit-frame-pointer
# Deferred (=) so pkg-config runs only inside recipes, after deps.sh.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lwslay -lpthread  # libwslay-dev ships no .pc file

SHARED_SRC := $(sort $(wildcard shared/*.c shared/*/*.c))
BROKER_SRC := $(sort $(wildcard dataplane/*.c))
# The broker minus its main(), so unit tests can link its modules.
BROKER_LIB_SRC := $(filter-out dataplane/main.c,$(BROKER_SRC))
CONTROL_SRC := $(sort $(wildcard controlplane/*.c))
# The control plane minus its main(), for unit tests and fuzz targets of its parsers.
CONTROL_LIB_SRC := $(filter-out controlplane/main.c,$(CONTROL_SRC))
CLI_SRC := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(1)/obj/%.o,$(2))

REL_BINS := $(BUILD)/bin/egbroker $(BUILD)/bin/egcontrol $(BUILD)/bin/egctl
ASAN_BINS := $(BUILD)/asan/bin/egbroker $(BUILD)/asan/bin/egcontrol $(BUILD)/asan/bin/egctl
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/asan/test/%,$(UNIT_SRC))
TSAN_BINS := $(BUILD)/tsan/test/test_xthread_ring $(BUILD)/tsan/test/test_session_store_sqlite $(BUILD)/tsan/test/test_realm $(BUILD)/tsan/bin/egbroker
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/asan/tools/%,$(TOOL_SRC))
# Fuzz targets also build with gcc + sanitizers and a file-replaying main, so
# `make test` replays the kept crash inputs without needing clang.
REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/asan/replay/%,$(FUZZ_SRC))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

.PHONY: all test run fuzz bench deps binaries test-binaries fuzz-binaries check-test format format-check clean
.DEFAULT_GOAL := all
# Keep the objects of pattern-built tests (make would delete them as intermediates).
.SECONDARY:

all:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory binaries

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory format-check >/dev/null || { echo "make test: sources not formatted (make format)"; \
		clang-format --dry-run $(FORMAT_FILES) 2>&1 | head -20; exit 1; }
	@$(MAKE) --no-print-directory binaries test-binaries
	@$(MAKE) --no-print-directory -C bench  # the load generator must keep compiling
	@tests/run.sh $(BUILD)

run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory binaries
	@scripts/run.sh $(BUILD)

fuzz:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-binaries

# Throughput, latency and connection benchmarks against Debian's mosquitto (about 13 minutes with the TLS part).
bench:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory binaries
	@$(MAKE) --no-print-directory -C bench
	@bench/run.sh

deps:
	@scripts/deps.sh test

binaries: $(REL_BINS)
test-binaries: $(ASAN_BINS) $(UNIT_BINS) $(TSAN_BINS) $(TOOL_BINS) $(REPLAY_BINS)
fuzz-binaries: $(FUZZ_BINS)

# ---- release build
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  CC      $<')
	$(Q)$(CC) $(CFLAGS_REL) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/lib/libegshared.a: $(call obj,$(BUILD),$(SHARED_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/egbroker: $(call obj,$(BUILD),$(BROKER_SRC)) $(BUILD)/lib/libegshared.a
$(BUILD)/bin/egcontrol: $(call obj,$(BUILD),$(CONTROL_SRC)) $(BUILD)/lib/libegshared.a
$(BUILD)/bin/egctl: $(call obj,$(BUILD),$(CLI_SRC)) $(BUILD)/lib/libegshared.a
$(REL_BINS):
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) $(CFLAGS_REL) -o $@ $^ $(PKG_LIBS)

# ---- sanitizer build (tests)
$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  CC asan $<')
	$(Q)$(CC) $(CFLAGS_ASAN) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/asan/lib/libegshared.a: $(call obj,$(BUILD)/asan,$(SHARED_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/bin/egbroker: $(call obj,$(BUILD)/asan,$(BROKER_SRC)) $(BUILD)/asan/lib/libegshared.a
$(BUILD)/asan/bin/egcontrol: $(call obj,$(BUILD)/asan,$(CONTROL_SRC)) $(BUILD)/asan/lib/libegshared.a
$(BUILD)/asan/bin/egctl: $(call obj,$(BUILD)/asan,$(CLI_SRC)) $(BUILD)/asan/lib/libegshared.a
$(ASAN_BINS):
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) $(CFLAGS_ASAN) -o $@ $^ $(PKG_LIBS)

$(BUILD)/asan/lib/libegbroker.a: $(call obj,$(BUILD)/asan,$(BROKER_LIB_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/lib/libegcontrol.a: $(call obj,$(BUILD)/asan,$(CONTROL_LIB_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/test/%: $(BUILD)/asan/obj/tests/unit/%.o $(BUILD)/asan/lib/libegbroker.a $(BUILD)/asan/lib/libegcontrol.a $(BUILD)/asan/lib/libegshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) $(CFLAGS_ASAN) -o $@ $^ $(PKG_LIBS) $$(pkg-config --libs cmocka)

$(BUILD)/asan/tools/%: $(BUILD)/asan/obj/tests/tools/%.o $(BUILD)/asan/lib/libegshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) $(CFLAGS_ASAN) -o $@ $^ $(PKG_LIBS)

$(BUILD)/asan/replay/%: $(BUILD)/asan/obj/tests/fuzz/%.o $(BUILD)/asan/obj/tests/fuzz/replay_main.o $(BUILD)/asan/lib/libegcontrol.a $(BUILD)/asan/lib/libegshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) $(CFLAGS_ASAN) -o $@ $^ $(PKG_LIBS)

# ---- ThreadSanitizer build (tests of the code shared between threads)
$(BUILD)/tsan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  CC tsan $<')
	$(Q)$(CC) $(CFLAGS_TSAN) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/tsan/lib/libegshared.a: $(call obj,$(BUILD)/tsan,$(SHARED_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tsan/test/test_xthread_ring: $(call obj,$(BUILD)/tsan,tests/unit/test_xthread_ring.c dataplane/xthread_ring.c dataplane/message.c) $(BUILD)/tsan/lib/libegshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) $(CFLAGS_TSAN) -o $@ $^ $(PKG_LIBS) $$(pkg-config --libs cmocka)

# The session store commits on its own thread: its suite runs under ThreadSanitizer too.
$(BUILD)/tsan/test/test_session_store_sqlite: $(call obj,$(BUILD)/tsan,tests/unit/test_session_store_sqlite.c $(BROKER_LIB_SRC)) $(BUILD)/tsan/lib/libegshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) $(CFLAGS_TSAN) -o $@ $^ $(PKG_LIBS) $$(pkg-config --libs cmocka)

# The realm's counters are taken by every worker thread.
$(BUILD)/tsan/test/test_realm: $(call obj,$(BUILD)/tsan,tests/unit/test_realm.c $(BROKER_LIB_SRC)) $(BUILD)/tsan/lib/libegshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) $(CFLAGS_TSAN) -o $@ $^ $(PKG_LIBS) $$(pkg-config --libs cmocka)

# The broker with worker threads: tests/run.sh drives the client suites through it.
$(BUILD)/tsan/bin/egbroker: $(call obj,$(BUILD)/tsan,$(BROKER_SRC)) $(BUILD)/tsan/lib/libegshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) $(CFLAGS_TSAN) -o $@ $^ $(PKG_LIBS)

# ---- libFuzzer (clang)
FUZZ_CFLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -Ishared -Ishared/mqtt -Ishared/util -Icontrolplane -fsanitize=fuzzer,address,undefined
$(BUILD)/fuzz/%: tests/fuzz/%.c $(SHARED_SRC) $(CONTROL_LIB_SRC) $(wildcard tests/fuzz/*.h shared/*/*.h controlplane/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) $$(pkg-config --cflags $(PKGS)) -o $@ $(filter %.c,$^) $$(pkg-config --libs $(PKGS))

# ---- formatting
FORMAT_FILES = $(shell git ls-files '*.c' '*.h')
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
