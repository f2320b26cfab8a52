# pochta-smtpd: the ESMTP server (port 25, submission 587/465).
SMTPD_ENGINE := smtpd/io.c smtpd/cmd.c smtpd/mail.c smtpd/data.c smtpd/header.c smtpd/received.c \
  smtpd/auth.c smtpd/starttls.c smtpd/log.c
PROGS += $(O)/bin/pochta-smtpd
$(O)/bin/pochta-smtpd: $(call objs,$(SMTPD_ENGINE) smtpd/real.c smtpd/main.c) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))

FUZZERS += $(O)/fuzz/fuzz-smtpd
# (FO is defined after the build.mk files are included, so fobjs cannot be used here)
$(O)/fuzz/fuzz-smtpd: $(patsubst %.c,$(O)/fuzzobj/%.o,$(SMTPD_ENGINE) smtpd/fuzz.c) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS) $(CRYPT))
