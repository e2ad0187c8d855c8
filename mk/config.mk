# Every build knob in one place.  Override on the command line:
#   make CC=clang LDFLAGS= CFLAGS='-g -fsanitize=address,undefined'
# builds a dynamic glibc variant (system -dev libraries) for sanitizers
# and fuzzing; the default is the static musl build.

VERSION = 0.1.0
PREFIX  = /usr/local
BINDIR  = $(PREFIX)/bin
MANDIR  = $(PREFIX)/share/man

ifeq ($(origin CC),default)
CC = musl-gcc
endif
CFLAGS  = -O2 -g
LDFLAGS = -static
WARN    = -Wall -Wextra -Wno-unused-parameter

# musl-gcc means the static build against the libraries mk/deps.sh makes.
ifeq ($(notdir $(firstword $(CC))),musl-gcc)
STATIC  = 1
VARIANT = musl
else
STATIC  = 0
VARIANT = $(notdir $(firstword $(CC)))
endif

O   = build/$(VARIANT)
BIN = $(O)/bin
