# pochta-smtpd: the ESMTP server (port 25, submission 587/465).
SMTPD_ENGINE := smtpd/io.c smtpd/cmd.c smtpd/mail.c smtpd/data.c smtpd/header.c smtpd/received.c \
  smtpd/auth.c smtpd/starttls.c smtpd/log.c
PROGS += $(O)/bin/pochta-smtpd
# queue/qwrite.c and the queue format: pochta-smtpd writes the queue itself
SMTPD_QUEUE_OBJ := $(call objs,queue/qfmt.c queue/qdir.c queue/qwrite.c)
$(call objs,smtpd/inqueue.c): CPPFLAGS += -Iqueue
include checks/build.mk
include spam/build.mk
$(call objs,smtpd/inspect.c): CPPFLAGS += -Ichecks -Idns -Ispam -Imime
$(O)/bin/pochta-smtpd: $(call objs,$(SMTPD_ENGINE) smtpd/real.c smtpd/inqueue.c smtpd/hold.c smtpd/inspect.c smtpd/main.c) $(SMTPD_QUEUE_OBJ) $(SPAM_OBJ) $(LIBPOCHTA) $(CHECKS_LIB) $(DNS_LIB)
	$(call link,$(SKALIBS) $(CHECKS_LIBS) $(SPAM_LIBS))

FUZZERS += $(O)/fuzz/fuzz-smtpd
# (FO is defined after the build.mk files are included, so fobjs cannot be used here)
$(O)/fuzz/fuzz-smtpd: $(patsubst %.c,$(O)/fuzzobj/%.o,$(SMTPD_ENGINE) smtpd/fuzz.c) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS) $(CRYPT))
