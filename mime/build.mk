# mime/ — the MIME parser and what IMAP derives from it (see mime/mime.h for the API).
# Used by pochta-imapd and, through MIME_OBJ, by any program that needs to read a
# message's structure (spam scoring, Sieve). Included by every build.mk that needs
# MIME_OBJ before the top Makefile would reach it alphabetically, so it is guarded
# against a second inclusion. Defines MIME_SRC/OBJ/FOBJ, the unit-test program
# $(O)/check/mime-test (CHECKS) and the fuzz target fuzz-mime.
ifndef MIME_MK
MIME_MK := 1

MIME_SRC := $(filter-out mime/mime-test%.c mime/mime-fuzz%.c,$(wildcard mime/*.c))
MIME_OBJ := $(call objs,$(MIME_SRC))
# spelled out: this file is read before the top Makefile defines FO and FUZZ_LIB
MIME_FOBJ := $(patsubst %.c,$(O)/fuzzobj/%.o,$(MIME_SRC))

CHECKS += $(O)/check/mime-test
$(O)/check/mime-test: $(call objs,mime/mime-test.c) $(MIME_OBJ) $(LIBPOCHTA)
	$(call link,$(SKALIBS))

FUZZERS += $(O)/fuzz/fuzz-mime
$(O)/fuzz/fuzz-mime: $(O)/fuzzobj/mime/mime-fuzz.o $(MIME_FOBJ) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))

endif
