# lib/: libpochta.a itself is built by the top Makefile (every lib/*.c);
# here, the fuzz targets of its parsers (in lib/fuzz/, kept out of the library).
FUZZERS += $(O)/fuzz/fuzz-connlimits
$(O)/fuzz/fuzz-connlimits: $(O)/fuzzobj/lib/fuzz/fuzz-connlimits.o $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))

# The address-list scanner (To/Cc/Bcc of pochta-sendmail -t; From/Sender of submission).
FUZZERS += $(O)/fuzz/fuzz-rfc822addr
$(O)/fuzz/fuzz-rfc822addr: $(O)/fuzzobj/lib/fuzz/fuzz-rfc822addr.o $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))
