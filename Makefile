# Plain make: `make` builds the four static tools into build/musl/bin,
# `make check` runs every test, `make demo` runs the main job on a sample.
include mk/config.mk

# Every CPU for the build (make -j1 to see one command at a time).
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
endif

TOOLS   = snap restore prune mount-remote
LIBSRC  = $(wildcard lib/*.c)
LIBOBJ  = $(LIBSRC:lib/%.c=$(O)/lib/%.o)
LIBA    = $(O)/libbk.a
UNITSRC = $(wildcard tests/unit/*.c)
UNITBIN = $(UNITSRC:tests/unit/%.c=$(O)/tests/%)
HELPSRC = $(wildcard tests/helpers/*.c)
HELPBIN = $(HELPSRC:tests/helpers/%.c=$(O)/helpers/%)
FUZZSRC = $(filter-out tests/fuzz/replay.c,$(wildcard tests/fuzz/*.c))
FUZZBIN = $(FUZZSRC:tests/fuzz/%.c=$(O)/fuzz/%)
PAGES   = $(wildcard */*.1 */*.5)

all: $(TOOLS:%=$(BIN)/%)

ifeq ($(STATIC),1)
include mk/deps.mk
DEPS = $(DEPS_STAMP)
else
# A dynamic build links Debian's -dev libraries (glibc).
DEPS_STAMP = $(O)/.sysdeps
DEPS_CFLAGS = $(shell pkg-config --cflags fuse3 2>/dev/null)
DEPS_LIBS = -lfuse3 -lrsync -lnettle -lz -lpthread
DEPS = $(DEPS_STAMP)
$(DEPS_STAMP):
	@sh mk/need.sh pkg-config:pkg-config \
	    /usr/include/librsync.h:librsync-dev \
	    /usr/include/fuse3/fuse.h:libfuse3-dev \
	    /usr/include/nettle/sha1.h:nettle-dev \
	    /usr/include/zlib.h:zlib1g-dev
	@mkdir -p $(O) && touch $@
endif

# -MMD -MP: each object's headers are listed in a .d file beside it, so
# touching a header rebuilds exactly what includes it.
ALL_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DVERSION='"$(VERSION)"' -Ilib $(DEPS_CFLAGS) $(WARN) -MMD -MP $(CFLAGS)
-include $(wildcard $(O)/*/*.d $(O)/*/*/*.d)

$(O)/lib/%.o: lib/%.c $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBA): $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

# Each tool: its directory's .c files plus libbk.a.
define tool
$(1)_SRC = $$(wildcard $(1)/*.c)
$(1)_OBJ = $$($(1)_SRC:%.c=$(O)/%.o)
$(BIN)/$(1): $$($(1)_OBJ) $(LIBA)
	@mkdir -p $$(@D)
	$(CC) $(LDFLAGS) $(CFLAGS) -o $$@ $$($(1)_OBJ) $(LIBA) $(DEPS_LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool,$(t))))

$(O)/%.o: %.c $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(O)/tests/%: tests/unit/%.c $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIBA) $(DEPS_LIBS)

# Programs the shell tests use (not tests themselves).
$(O)/helpers/%: tests/helpers/%.c $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(DEPS_LIBS)

# Fuzz targets: replay drivers for make check (any CC), and real
# libFuzzer builds with `make fuzz FUZZ=name FUZZ_RUNS=n` (clang, glibc).
$(O)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIBA) $(DEPS_LIBS)

# The same targets linked with libFuzzer's main (make fuzz sets LDFLAGS).
$(O)/libfuzz/%: tests/fuzz/%.c $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(DEPS_LIBS)

FUZZ = meta
FUZZ_RUNS = 1000000
FUZZO = build/fuzz
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer-no-link,address,undefined
fuzz:
	@sh mk/need.sh clang:clang
	@sh mk/need.sh "$$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$$(uname -m).a:libclang-rt-$$(clang -dumpversion | cut -d. -f1)-dev"
	$(MAKE) CC=clang O=$(FUZZO) CFLAGS='$(FUZZ_CFLAGS)' \
	    LDFLAGS=-fsanitize=fuzzer,address,undefined $(FUZZO)/libfuzz/$(FUZZ)
	mkdir -p build/fuzz-corpus/$(FUZZ)
	$(FUZZO)/libfuzz/$(FUZZ) -runs=$(FUZZ_RUNS) build/fuzz-corpus/$(FUZZ) tests/fuzz/corpus/$(FUZZ)

check: all $(UNITBIN) $(FUZZBIN) $(HELPBIN)
	@sh mk/need.sh mandoc:mandoc file:file col:bsdextrautils strip:binutils
	@BIN=$(BIN) UNIT=$(O)/tests FUZZBIN=$(O)/fuzz HELP=$(O)/helpers sh tests/run.sh

demo: all
	@BIN=$(BIN) sh tests/demo.sh

# Long kill -9 loops over snap, its rollback and prune (KILLS=300),
# snap patching in place through the agent (INPLACE_KILLS=100), and
# thinning prunes (THIN_KILLS=120).
torture: all $(HELPBIN)
	@BIN=$(BIN) HELP=$(O)/helpers THIN_KILLS=$${THIN_KILLS:-120} JOBS=1 \
	    sh tests/run.sh tests/torture.sh tests/torture-inplace.sh tests/thin.t

# Knobs (BENCH, N, RUNS, ...) are listed in bench/README.
bench: all
	@BIN=$(BIN) sh bench/run.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	for t in $(TOOLS); do \
		cp $(BIN)/$$t $(DESTDIR)$(BINDIR)/$$t.new && \
		strip $(DESTDIR)$(BINDIR)/$$t.new && \
		mv $(DESTDIR)$(BINDIR)/$$t.new $(DESTDIR)$(BINDIR)/$$t && \
		cp $$t/$$t.1 $(DESTDIR)$(MANDIR)/man1/ || exit 1; \
	done
	cp lib/bk-repository.5 $(DESTDIR)$(MANDIR)/man5/

# A tarball of the stripped static binaries, man pages and the example.
DIST = bk-$(VERSION)-$(shell uname -m)
dist: all
	rm -rf build/dist && mkdir -p build/dist/$(DIST)
	$(MAKE) install PREFIX=/ DESTDIR=$(CURDIR)/build/dist/$(DIST) \
	    BINDIR=/bin MANDIR=/man
	cp README build/dist/$(DIST)/
	if [ -d examples ]; then cp -r examples build/dist/$(DIST)/; fi
	tar -C build/dist -czf build/$(DIST).tar.gz $(DIST)
	@echo build/$(DIST).tar.gz

clean:
	rm -rf build/musl $(O)

distclean:
	rm -rf build

.PHONY: all check demo bench fuzz install dist clean distclean torture
