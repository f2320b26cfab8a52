# imapd/mime.mk — the MIME module of pochta-imapd (see imapd/mime.h for the API).
# Included by imapd/build.mk (`include imapd/mime.mk`); guarded against a second
# inclusion. Defines IMAPD_MIME_SRC/OBJ/FOBJ for pochta-imapd and its fuzzers, the
# unit-test program $(O)/check/mime-test (CHECKS) and the fuzz target fuzz-mime.
ifndef IMAPD_MIME_MK
IMAPD_MIME_MK := 1

IMAPD_MIME_SRC := $(filter-out imapd/mime-test%.c imapd/mime-fuzz%.c,\
  $(wildcard imapd/mime*.c imapd/envelope*.c imapd/bodystructure*.c imapd/search-text*.c))
IMAPD_MIME_OBJ := $(call objs,$(IMAPD_MIME_SRC))
# spelled out: this file is read before the top Makefile defines FO and FUZZ_LIB
IMAPD_MIME_FOBJ := $(patsubst %.c,$(O)/fuzzobj/%.o,$(IMAPD_MIME_SRC))

CHECKS += $(O)/check/mime-test
$(O)/check/mime-test: $(call objs,imapd/mime-test.c) $(IMAPD_MIME_OBJ) $(LIBPOCHTA)
	$(call link,$(SKALIBS))

FUZZERS += $(O)/fuzz/fuzz-mime
$(O)/fuzz/fuzz-mime: $(O)/fuzzobj/imapd/mime-fuzz.o $(IMAPD_MIME_FOBJ) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))

endif
