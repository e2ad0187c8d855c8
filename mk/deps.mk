# deps.mk - static musl builds of zlib, librsync, libfuse3 and nettle.
# Include from the top-level Makefile; objects/programs that use these
# libraries should depend on $(DEPS_STAMP). See mk/deps.sh.

DEPS_PREFIX = build/deps/prefix
# Written by mk/deps.sh only after all four libraries were built.
DEPS_STAMP = $(DEPS_PREFIX)/.stamp

# -Ibuild/deps/kinc: kernel headers (linux/, asm/, asm-generic/) for musl-gcc.
DEPS_CFLAGS = -I$(DEPS_PREFIX)/include -Ibuild/deps/kinc
# Order matters for static linking; -lpthread/-ldl are part of musl's libc.
DEPS_LIBS = $(DEPS_PREFIX)/lib/libfuse3.a $(DEPS_PREFIX)/lib/librsync.a \
	$(DEPS_PREFIX)/lib/libnettle.a $(DEPS_PREFIX)/lib/libz.a -lpthread

# Keep this rule from becoming the default goal when included early (GNU make).
_deps_goal := $(.DEFAULT_GOAL)
$(DEPS_STAMP): mk/deps.sh
	sh mk/deps.sh
.DEFAULT_GOAL := $(_deps_goal)
