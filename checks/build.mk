# checks/: SPF, DKIM (verify and sign), DMARC, ARC, iprev, Authentication-Results.
# Pure engines with DNS behind a hook (see checks/checks.h for the API). libc,
# BearSSL, libsodium and the public suffix list (read in checks/psl.c); no skalibs, so any program
# can link CHECKS_LIB (with LIBPOCHTA, for lib/base64.c). Includes dns/build.mk for DNS_LIB.
ifndef CHECKS_MK
CHECKS_MK := 1
include dns/build.mk

CHECKS_SRC := checks/util.c checks/msg.c checks/canon.c checks/sig.c checks/keys.c \
  checks/dkim.c checks/spf.c checks/spf_macro.c checks/dmarc.c checks/psl.c checks/arc.c \
  checks/iprev.c checks/authres.c checks/run.c checks/keydir.c checks/dnstable.c tls/pemfile.c
CHECKS_OBJ := $(call objs,$(CHECKS_SRC))
$(call objs,checks/keys.c): CPPFLAGS += -Itls
$(CHECKS_OBJ): CPPFLAGS += -Idns
# Reasons (why) are cut to their buffers on purpose: GCC's truncation guesses are noise.
$(CHECKS_OBJ): CFLAGS += -Wno-format-truncation
CHECKS_LIB := $(O)/checks/libchecks.a
$(CHECKS_LIB): $(CHECKS_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^
# what a program linking CHECKS_LIB adds (after the archives)
SODIUM := -l:libsodium.a
CHECKS_LIBS := $(BEARSSL) $(SODIUM)

# pochta-dkimsign: the signing step (setgid pochta-dkim in the documented install)
PROGS += $(O)/bin/pochta-dkimsign
$(call objs,checks/dkimsign.c): CPPFLAGS += -Idns
$(O)/bin/pochta-dkimsign: $(call objs,checks/dkimsign.c) $(CHECKS_LIB) $(DNS_LIB) $(LIBPOCHTA)
	$(call link,$(CHECKS_LIBS) $(SKALIBS))

CHECKS += $(O)/check/spftest
$(call objs,checks/spftest.c): CPPFLAGS += -Idns
$(O)/check/spftest: $(call objs,checks/spftest.c) $(CHECKS_LIB) $(DNS_LIB) $(LIBPOCHTA)
	$(call link,$(CHECKS_LIBS))

CHECKS += $(O)/check/checktool
$(call objs,checks/checktool.c): CPPFLAGS += -Idns
$(O)/check/checktool: $(call objs,checks/checktool.c) $(CHECKS_LIB) $(DNS_LIB) $(LIBPOCHTA)
	$(call link,$(CHECKS_LIBS))

# Fuzz targets (spelled out: the top Makefile defines FO and fobjs after build.mk)
CHECKS_FOBJ := $(patsubst %.c,$(O)/fuzzobj/%.o,$(CHECKS_SRC) $(DNS_SRC))
$(CHECKS_FOBJ) $(O)/fuzzobj/checks/fuzz-msgauth.o $(O)/fuzzobj/checks/fuzz-spf.o: FUZZFLAGS += -Idns -Itls
FUZZERS += $(O)/fuzz/fuzz-msgauth $(O)/fuzz/fuzz-spf
$(O)/fuzz/fuzz-msgauth: $(O)/fuzzobj/checks/fuzz-msgauth.o $(CHECKS_FOBJ) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(CHECKS_LIBS))
$(O)/fuzz/fuzz-spf: $(O)/fuzzobj/checks/fuzz-spf.o $(CHECKS_FOBJ) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(CHECKS_LIBS))

endif
