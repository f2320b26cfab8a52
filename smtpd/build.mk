# pochta-smtpd: the ESMTP server (port 25, submission 587/465).
SMTPD_ENGINE := smtpd/io.c smtpd/cmd.c smtpd/mail.c smtpd/data.c smtpd/received.c \
  smtpd/auth.c smtpd/starttls.c smtpd/log.c
PROGS += $(O)/bin/pochta-smtpd
$(O)/bin/pochta-smtpd: $(call objs,$(SMTPD_ENGINE) smtpd/real.c smtpd/main.c) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))

FUZZERS += $(O)/fuzz/fuzz-smtpd
$(O)/fuzz/fuzz-smtpd: $(call fobjs,$(SMTPD_ENGINE) smtpd/fuzz.c) $(FUZZ_LIB)
	$(call fuzzlink,$(SKALIBS) $(CRYPT))
