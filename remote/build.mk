# remote/: pochta-remote (libc + BearSSL + dns/: no skalibs, no lib/),
# pochta-bounce (skalibs + lib/), and the reply-parser fuzz target.
include dns/build.mk

REMOTE_SRC := remote/remote.c remote/smtp.c remote/conn.c remote/tls.c remote/reply.c \
  remote/msg.c remote/mx.c remote/rdns.c remote/cfg.c remote/log.c remote/b64.c remote/family.c \
  remote/acked.c
# TLS client: tls/libtlsclient.a (plain libc + BearSSL), see tls/tlsclient.h.
$(O)/bin/pochta-remote: $(call objs,$(REMOTE_SRC)) $(O)/tls/libtlsclient.a $(DNS_LIB)
	$(call link,$(BEARSSL))
$(call objs,remote/rdns.c): CPPFLAGS += -Idns
$(call objs,remote/tls.c): CPPFLAGS += -Itls

BOUNCE_SRC := remote/bounce.c remote/dsn.c
$(O)/bin/pochta-bounce: $(call objs,$(BOUNCE_SRC)) $(LIBPOCHTA)
	$(call link,$(LIBPOCHTA) $(SKALIBS) $(CRYPT))

# (explicit paths: the top Makefile defines fobjs after including build.mk files)
$(O)/fuzz/fuzz-reply: $(O)/fuzzobj/remote/fuzz-reply.o $(O)/fuzzobj/remote/reply.o
	$(call fuzzlink,)

PROGS += $(O)/bin/pochta-remote $(O)/bin/pochta-bounce
FUZZERS += $(O)/fuzz/fuzz-reply
