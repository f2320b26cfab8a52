# tools/: the admin tool, the checkpassword program, the sendmail injector.
POCHTA_TOOL_SRC := tools/pochta.c tools/tf.c tools/addr.c tools/owner.c tools/password.c \
  tools/maildir_make.c tools/compile.c tools/cmd_init.c tools/cmd_domain.c tools/cmd_user.c \
  tools/cmd_alias.c tools/system.c
PROGS += $(O)/bin/pochta

$(O)/bin/pochta: $(call objs,$(POCHTA_TOOL_SRC)) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))

PROGS += $(O)/bin/pochta-checkpassword
$(O)/bin/pochta-checkpassword: $(call objs,tools/checkpassword.c tools/authfail.c tools/passcheck.c tools/cpsetuid.c) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))

PROGS += $(O)/bin/pochta-sendmail
$(O)/bin/pochta-sendmail: $(call objs,tools/sendmail.c tools/enqueue.c) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))
