# pochta-pop3d: POP3 server over Maildir; fuzz target for its command parser.
POP3D_SRC := pop3d/main.c pop3d/auth.c pop3d/session.c pop3d/io.c pop3d/log.c pop3d/cmd.c
PROGS += $(O)/bin/pochta-pop3d
$(O)/bin/pochta-pop3d: $(call objs,$(POP3D_SRC)) $(LIBPOCHTA)
	$(call link,$(SKALIBS))

# Spelled out: the Makefile defines fobjs and FUZZ_LIB after including build.mk.
FUZZERS += $(O)/fuzz/fuzz-pop3cmd
$(O)/fuzz/fuzz-pop3cmd: $(patsubst %.c,$(O)/fuzzobj/%.o,pop3d/fuzz-pop3cmd.c pop3d/cmd.c) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))
