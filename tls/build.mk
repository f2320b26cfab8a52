# tls/: pochta-tlsd (the TLS engine) and libtlsclient.a (client side for pochta-remote).
TLSD_SRC := tls/tlsd.c tls/tlsd_io.c tls/tlsd_creds.c tls/pemfile.c tls/tlsnames.c
PROGS += $(O)/bin/pochta-tlsd
$(O)/bin/pochta-tlsd: $(call objs,$(TLSD_SRC)) $(LIBPOCHTA)
	$(call link,$(LIBPOCHTA) $(SKALIBS) $(BEARSSL))

# Client side: plain libc + BearSSL, no skalibs, so pochta-remote (libowfat) can link it.
TLSCLIENT_SRC := tls/tlsclient.c tls/pemfile.c tls/tlsnames.c tls/x509san.c
TLSCLIENT := $(O)/tls/libtlsclient.a
$(TLSCLIENT): $(call objs,$(TLSCLIENT_SRC))
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# pochta-tlsprobe: a test client of libtlsclient (used by tests/tls-*.bats).
PROGS += $(O)/bin/pochta-tlsprobe
$(O)/bin/pochta-tlsprobe: $(call objs,tls/tlsprobe.c) $(TLSCLIENT)
	$(call link,$(BEARSSL))

# Fuzz target: PEM files through BearSSL's PEM, key and X.509 decoders.
FUZZERS += $(O)/fuzz/fuzz-pem
$(O)/fuzz/fuzz-pem: $(O)/fuzzobj/tls/fuzz-pem.o $(O)/fuzzobj/tls/pemfile.o
	$(call fuzzlink,$(BEARSSL))

# Fuzz target: the subjectAltName walk that matches a smarthost's address.
FUZZERS += $(O)/fuzz/fuzz-x509san
$(O)/fuzz/fuzz-x509san: $(O)/fuzzobj/tls/fuzz-x509san.o $(O)/fuzzobj/tls/x509san.o
	$(call fuzzlink,)
