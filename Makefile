# pochta — one Makefile; each program folder adds its own rules in build.mk.
# make [O=build] [SAN=1] [MUSL=1]  programs into $(O)/bin
# make fuzz                        libFuzzer targets into $(O)/fuzz (clang)
# MUSL=1: static-pie programs on musl instead of glibc, with the libraries of
# MUSLDEPS (mk/musl-deps.sh builds them; build.sh does both). Every exec of a glibc
# program costs ~0.7 ms here against ~0.2 ms on musl (README, "Building").
O ?= build
SAN ?=
MUSL ?=
CC ?= gcc
HOSTCC := gcc
FUZZCC ?= clang

CPPFLAGS := -D_GNU_SOURCE -Ilib
CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -fstack-protector-strong -fPIE
LDFLAGS := -static-pie -Wl,-z,relro,-z,now
ifeq ($(SAN),1)
# ASan cannot be static; FORTIFY and ASan check the same things twice.
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS := -pie -Wl,-z,relro,-z,now -fsanitize=address,undefined
else
# (musl's headers have no fortified variants: there this defines nothing)
CPPFLAGS += -D_FORTIFY_SOURCE=2
endif
LDCC = $(CC)
LDSTART :=
LDEND :=
ifeq ($(MUSL),1)
MUSLDEPS ?= $(O)/musl-deps
MUSLLIB := /usr/lib/$(shell uname -m)-linux-musl
# musl's headers and ours first (-I wins over the -isystem of musl's specs: libxcrypt's
# crypt.h over musl's), the kernel's headers after them
CC := gcc -specs=$(MUSLLIB)/musl-gcc.specs
CPPFLAGS += -I$(MUSLDEPS)/include -isystem $(MUSLDEPS)/kinclude
# Debian's musl specs know no -static-pie: the start files and libc by hand
LDCC := gcc
LDFLAGS := -nostdlib -static-pie -Wl,--no-dynamic-linker -Wl,-z,relro,-z,now -L$(MUSLDEPS)/lib
LDSTART := $(MUSLLIB)/rcrt1.o $(MUSLLIB)/crti.o $(shell gcc -print-file-name=crtbeginS.o)
LDEND := -L$(MUSLLIB) -lc $(shell gcc -print-libgcc-file-name) $(shell gcc -print-file-name=crtendS.o) $(MUSLLIB)/crtn.o
endif

# Libraries, named by archive so that the link map shows which objects each gives.
SKALIBS := -l:libskarnet.a
BEARSSL := -l:libbearssl.a
ZLIB    := -l:libz.a
OWFAT   := /usr/lib/libowfat.a
CRYPT   := -l:libcrypt.a

LIBPOCHTA := $(O)/lib/libpochta.a
LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)

PROGS :=
FUZZERS :=
CHECKS :=

# $(call objs,a/x.c a/y.c) -> $(O)/a/x.o $(O)/a/y.o
objs = $(patsubst %.c,$(O)/%.o,$(1))

# Link a program; refuse it if skalibs and libowfat both gave it objects.
# $(call link,LIBS)
define link
	@mkdir -p $(dir $@)
	$(LDCC) $(LDFLAGS) -o $@.tmp $(LDSTART) $(filter %.o %.a,$^) $(1) $(LDEND) -Wl,-Map=$@.map
	sh mk/check-link $@.map
	mv -f $@.tmp $@
endef

all: progs

# Objects remember the flags they were made with: make them again when the flags
# change (MUSL=1, SAN=1 into the same O), instead of linking a mixture.
FLAGSTAMP := $(O)/.flags
FLAGS_NOW := $(CC) $(CPPFLAGS) $(CFLAGS) $(LDCC) $(LDFLAGS)
$(shell mkdir -p $(O); echo '$(FLAGS_NOW)' | cmp -s - $(FLAGSTAMP) || echo '$(FLAGS_NOW)' >$(FLAGSTAMP))

$(O)/%.o: %.c $(FLAGSTAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBPOCHTA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# Fuzz targets: clang with libFuzzer, ASan and UBSan; objects kept apart.
FO := $(O)/fuzzobj
FUZZFLAGS := -std=gnu11 -O1 -g -D_GNU_SOURCE -DPOCHTA_FUZZ -Ilib -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
$(FO)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZFLAGS) -MMD -MP -c -o $@ $<
fobjs = $(patsubst %.c,$(FO)/%.o,$(1))
# $(call fuzzlink,LIBS)
define fuzzlink
	@mkdir -p $(dir $@)
	$(FUZZCC) -fsanitize=fuzzer,address,undefined -o $@ $(filter %.o %.a,$^) $(1)
endef
FUZZ_LIB := $(O)/fuzzobj/libpochta.a
$(FUZZ_LIB): $(LIB_SRC:%.c=$(FO)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

include $(sort $(wildcard */build.mk))

progs: $(PROGS)
check-progs: $(CHECKS)
fuzz: $(FUZZERS)

PREFIX ?= /usr/local
DESTDIR ?=
install: progs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(wildcard man/*.8) $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(PREFIX)/share/man/man5/

clean:
	rm -rf $(O)

.PHONY: all progs fuzz clean check-progs install
-include $(shell find $(O) -name '*.d' 2>/dev/null)
