# pochta-imapd (the MIME module comes from mime/, see mime/mime.h; spam learning
# from spam/, as an archive: of it imapd needs the token database alone).
include spam/build.mk

IMAPD_SRC := $(filter-out imapd/fuzz-%.c,$(wildcard imapd/*.c))
IMAPD_OBJ := $(call objs,$(IMAPD_SRC))

# Paths are bounded when the session starts (Maildir path < 3800 octets, folder names
# <= 200) and every snprintf result is checked or harmlessly truncated, so GCC's
# guesses about truncation are noise here.
$(IMAPD_OBJ): CFLAGS += -Wno-format-truncation
$(IMAPD_OBJ): CPPFLAGS += -Imime -Ispam

PROGS += $(O)/bin/pochta-imapd
$(O)/bin/pochta-imapd: $(IMAPD_OBJ) $(MIME_OBJ) $(SPAM_LIB) $(DNS_LIB) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(ZLIB) -lm)

# The command parser under libFuzzer: imapd/fuzz-imapcmd.c drives parse.c and the
# command reader over memory.
FUZZERS += $(O)/fuzz/fuzz-imapcmd
# (fobjs and FUZZ_LIB are defined after this file is included: spell them out)
$(O)/fuzz/fuzz-imapcmd: $(patsubst %.c,$(O)/fuzzobj/%.o,imapd/fuzz-imapcmd.c imapd/parse.c) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))

# The LIST wildcard matcher, against its backtracking definition for short inputs.
FUZZERS += $(O)/fuzz/fuzz-wildmat
$(O)/fuzz/fuzz-wildmat: $(patsubst %.c,$(O)/fuzzobj/%.o,imapd/fuzz-wildmat.c imapd/wildmat.c) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))

# The folder index check (index.c) and the modseq log (modseq.c) under libFuzzer.
IMAPD_STORE_FOBJ := $(patsubst %.c,$(O)/fuzzobj/%.o,imapd/index.c imapd/mbox.c imapd/mbox_find.c imapd/modseq.c imapd/recent.c imapd/uidvalidity.c)
FUZZERS += $(O)/fuzz/fuzz-index $(O)/fuzz/fuzz-modseq
$(O)/fuzz/fuzz-index: $(O)/fuzzobj/imapd/fuzz-index.o $(IMAPD_STORE_FOBJ) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))
$(O)/fuzz/fuzz-modseq: $(O)/fuzzobj/imapd/fuzz-modseq.o $(IMAPD_STORE_FOBJ) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))
