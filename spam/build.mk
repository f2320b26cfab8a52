# spam/ — spam and virus filtering (see spam/spam.h, pochta-spam(5), pochta-bayes(5)).
# Engines over memory, effects behind hooks (real.c and the *net.c, files, learn,
# junk). Linked into pochta-send (the delivery side), pochta (pochta learn, pochta
# spam) and, through SPAM_OBJ, pochta-smtpd once it calls spam_smtp_*. A build.mk
# that links SPAM_OBJ includes this file first (guarded); it includes mime/build.mk
# and dns/build.mk (DNS lists ask through dns/). Link with $(SPAM_LIBS) after the
# objects.
ifndef SPAM_MK
SPAM_MK := 1
include mime/build.mk
include dns/build.mk

SPAM_SRC := $(filter-out spam/spam-test.c spam/spam-bench.c spam/fuzz-%.c,$(wildcard spam/*.c))
SPAM_OBJ := $(call objs,$(SPAM_SRC)) $(MIME_OBJ) $(DNS_LIB)
SPAM_FOBJ := $(patsubst %.c,$(O)/fuzzobj/%.o,$(SPAM_SRC) $(DNS_SRC)) $(MIME_FOBJ)
SPAM_LIBS := $(SKALIBS) -lm
# the same objects as an archive, for a program that needs a part (pochta-imapd)
SPAM_LIB := $(O)/spam/libspam.a
$(SPAM_LIB): $(call objs,$(SPAM_SRC))
	rm -f $@
	ar rcs $@ $^
$(call objs,$(SPAM_SRC) spam/spam-test.c spam/spam-bench.c): CPPFLAGS += -Imime -Idns
$(patsubst %.c,$(O)/fuzzobj/%.o,$(SPAM_SRC) $(wildcard spam/fuzz-*.c)): FUZZFLAGS += -Imime -Idns

# Unit tests of every engine, and the drivers the bats files and benchmarks use.
CHECKS += $(O)/check/spam-test $(O)/check/spam-bench
$(O)/check/spam-test: $(call objs,spam/spam-test.c) $(SPAM_OBJ) $(LIBPOCHTA)
	$(call link,$(SPAM_LIBS))
$(O)/check/spam-bench: $(call objs,spam/spam-bench.c) $(SPAM_OBJ) $(LIBPOCHTA)
	$(call link,$(SPAM_LIBS))

# Fuzz targets: the message engines, the configuration parsers, the token
# database, clamd's answers and greylisting records (dns/ fuzzes its own parser).
SPAM_FUZZERS := fuzz-spammsg fuzz-spamconf fuzz-bayesdb fuzz-spamreply
FUZZERS += $(addprefix $(O)/fuzz/,$(SPAM_FUZZERS))
$(addprefix $(O)/fuzz/,$(SPAM_FUZZERS)): $(O)/fuzz/%: $(O)/fuzzobj/spam/%.o $(SPAM_FOBJ) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SPAM_LIBS))

endif
