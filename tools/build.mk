# tools/: the admin tool, the checkpassword program, the sendmail injector.
# pochta learn and pochta spam use spam/ (SPAM_OBJ).
include checks/build.mk
include spam/build.mk
POCHTA_TOOL_SRC := tools/pochta.c tools/tf.c tools/addr.c tools/owner.c tools/password.c \
  tools/maildir_make.c tools/compile.c tools/cmd_init.c tools/cmd_domain.c tools/cmd_user.c \
  tools/cmd_alias.c tools/system.c tools/cmd_dkim.c tools/cmd_dns.c tools/cmd_check.c \
  tools/cmd_learn.c tools/cmd_spam.c tools/spamuser.c
PROGS += $(O)/bin/pochta
# DKIM keys, the records and their check use checks/ and dns/ (libc, BearSSL, libsodium)
$(call objs,$(POCHTA_TOOL_SRC)): CPPFLAGS += -Ichecks -Idns -Itls
$(call objs,tools/cmd_check.c tools/cmd_dns.c tools/cmd_dkim.c): CFLAGS += -Wno-format-truncation

$(O)/bin/pochta: $(call objs,$(POCHTA_TOOL_SRC)) $(SPAM_OBJ) $(LIBPOCHTA) $(CHECKS_LIB) $(DNS_LIB)
	$(call link,$(SPAM_LIBS) $(CRYPT) $(CHECKS_LIBS))
$(call objs,tools/cmd_learn.c tools/cmd_spam.c): CPPFLAGS += -Ispam -Imime

PROGS += $(O)/bin/pochta-checkpassword
$(O)/bin/pochta-checkpassword: $(call objs,tools/checkpassword.c tools/authfail.c tools/passcheck.c tools/cpsetuid.c) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))

PROGS += $(O)/bin/pochta-sendmail
$(O)/bin/pochta-sendmail: $(call objs,tools/sendmail.c tools/enqueue.c) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))
