# dns/: the one DNS module (stub resolver), libc only, so any program can link it
# (pochta-remote too: no skalibs, no lib/). See dns/dns.h for the API.
# Defines DNS_OBJ (link these) and DNS_LIB (the same as an archive), the check program
# dnsq and the fuzz target fuzz-dnsparse. Guarded: other build.mk files include it
# first to use DNS_LIB.
ifndef DNS_MK
DNS_MK := 1

# (lib/readsmall.c: libc only, in libpochta.a too; an archive gives a program the
# first copy it needs, so linking both never defines it twice)
DNS_SRC := dns/dns_pkt.c dns/dns_conf.c dns/dns_net.c dns/dns_cache.c dns/dns_resolve.c lib/readsmall.c
DNS_OBJ := $(call objs,$(DNS_SRC))
DNS_LIB := $(O)/dns/libdns.a
$(DNS_LIB): $(DNS_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

CHECKS += $(O)/check/dnsq
$(O)/check/dnsq: $(call objs,dns/dnsq.c) $(DNS_LIB)
	$(call link,)

FUZZERS += $(O)/fuzz/fuzz-dnsparse
# (spelled out: the top Makefile defines fobjs after including build.mk files)
$(O)/fuzz/fuzz-dnsparse: $(patsubst %.c,$(O)/fuzzobj/%.o,dns/fuzz-dnsparse.c dns/dns_pkt.c)
	$(call fuzzlink,)

endif
