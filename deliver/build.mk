# pochta-deliver: local delivery into a Maildir.
PROGS += $(O)/bin/pochta-deliver
$(O)/bin/pochta-deliver: $(call objs,deliver/deliver.c) $(LIBPOCHTA)
	$(call link,$(SKALIBS))
