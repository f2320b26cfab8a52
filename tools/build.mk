# tools/: the admin tool, the checkpassword program, the sendmail injector.
# pochta learn and pochta spam use spam/ (SPAM_OBJ).
include spam/build.mk
POCHTA_TOOL_SRC := tools/pochta.c tools/tf.c tools/addr.c tools/owner.c tools/password.c \
  tools/maildir_make.c tools/compile.c tools/cmd_init.c tools/cmd_domain.c tools/cmd_user.c \
  tools/cmd_alias.c tools/system.c tools/cmd_learn.c tools/cmd_spam.c tools/spamuser.c
PROGS += $(O)/bin/pochta

$(O)/bin/pochta: $(call objs,$(POCHTA_TOOL_SRC)) $(SPAM_OBJ) $(LIBPOCHTA)
	$(call link,$(SPAM_LIBS) $(CRYPT))
$(call objs,tools/cmd_learn.c tools/cmd_spam.c): CPPFLAGS += -Ispam -Imime

PROGS += $(O)/bin/pochta-checkpassword
$(O)/bin/pochta-checkpassword: $(call objs,tools/checkpassword.c tools/authfail.c tools/passcheck.c tools/cpsetuid.c) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))

PROGS += $(O)/bin/pochta-sendmail
$(O)/bin/pochta-sendmail: $(call objs,tools/sendmail.c tools/enqueue.c tools/rfc822addr.c) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))

# Fuzz target: the To/Cc/Bcc address-list scanner of pochta-sendmail.
FUZZERS += $(O)/fuzz/fuzz-rfc822addr
# (explicit paths: FO, fobjs and FUZZ_LIB are defined after the include of build.mk)
$(O)/fuzz/fuzz-rfc822addr: $(O)/fuzzobj/tools/fuzz-rfc822addr.o $(O)/fuzzobj/tools/rfc822addr.o $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))
