# Plain make: `make` builds the four static tools into build/musl/bin,
# `make check` runs every test, `make demo` runs the main job on a sample.
include mk/config.mk

TOOLS   = snap restore prune mount-remote
LIBSRC  = $(wildcard lib/*.c)
LIBOBJ  = $(LIBSRC:lib/%.c=$(O)/lib/%.o)
LIBA    = $(O)/libbk.a
UNITSRC = $(wildcard tests/unit/*.c)
UNITBIN = $(UNITSRC:tests/unit/%.c=$(O)/tests/%)
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

ALL_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DVERSION='"$(VERSION)"' -Ilib $(DEPS_CFLAGS) $(WARN) $(CFLAGS)

$(O)/lib/%.o: lib/%.c lib/*.h $(DEPS)
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

$(O)/%.o: %.c lib/*.h $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(O)/tests/%: tests/unit/%.c tests/unit/tap.h $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIBA) $(DEPS_LIBS)

# Fuzz targets: replay drivers for make check (any CC), and real
# libFuzzer builds with `make fuzz FUZZ=name RUNS=n` (clang, glibc).
$(O)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIBA) $(DEPS_LIBS)

FUZZ = meta
RUNS = 1000000
fuzz:
	$(MAKE) CC=clang LDFLAGS= CFLAGS='-g -O1 -fsanitize=fuzzer-no-link,address,undefined' build/clang/libbk.a
	@sh mk/need.sh /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev
	clang -std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Ilib -g -O1 \
	    -fsanitize=fuzzer,address,undefined -o build/clang/fuzz-$(FUZZ) \
	    tests/fuzz/$(FUZZ).c build/clang/libbk.a -lfuse3 -lrsync -lnettle -lz -lpthread
	mkdir -p build/fuzz-corpus/$(FUZZ)
	build/clang/fuzz-$(FUZZ) -runs=$(RUNS) build/fuzz-corpus/$(FUZZ) tests/fuzz/corpus/$(FUZZ)

check: all $(UNITBIN) $(FUZZBIN)
	@sh mk/need.sh mandoc:mandoc file:file col:bsdextrautils strip:binutils
	@BIN=$(BIN) UNIT=$(O)/tests FUZZBIN=$(O)/fuzz sh tests/run.sh

demo: all
	@BIN=$(BIN) sh tests/demo.sh

# Knobs (BENCH, N, RUNS, ...) are listed in bench/README.  RUNS is also
# fuzz's knob, so it is passed on only when given on the command line.
bench: all
	@BIN=$(BIN) RUNS=$(if $(filter command line,$(origin RUNS)),$(RUNS)) \
	    sh bench/run.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	for t in $(TOOLS); do \
		cp $(BIN)/$$t $(DESTDIR)$(BINDIR)/$$t.new && \
		strip $(DESTDIR)$(BINDIR)/$$t.new && \
		mv $(DESTDIR)$(BINDIR)/$$t.new $(DESTDIR)$(BINDIR)/$$t; \
		cp $$t/$$t.1 $(DESTDIR)$(MANDIR)/man1/; \
	done

clean:
	rm -rf build/musl $(O)

distclean:
	rm -rf build

.PHONY: all check demo bench fuzz install clean distclean
