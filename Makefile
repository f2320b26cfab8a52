# pochta — one Makefile; each program folder adds its own rules in build.mk.
# make [O=build] [SAN=1]        programs into $(O)/bin
# make fuzz                      libFuzzer targets into $(O)/fuzz (clang)
O ?= build
SAN ?=
CC ?= gcc
FUZZCC ?= clang

CPPFLAGS := -D_GNU_SOURCE -Ilib
CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -fstack-protector-strong -fPIE
LDFLAGS := -static-pie -Wl,-z,relro,-z,now
ifeq ($(SAN),1)
# ASan cannot be static; FORTIFY and ASan check the same things twice.
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS := -pie -Wl,-z,relro,-z,now -fsanitize=address,undefined
else
CPPFLAGS += -D_FORTIFY_SOURCE=2
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
	$(CC) $(LDFLAGS) -o $@.tmp $(filter %.o %.a,$^) $(1) -Wl,-Map=$@.map
	sh mk/check-link $@.map
	mv -f $@.tmp $@
endef

all: progs

$(O)/%.o: %.c
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
