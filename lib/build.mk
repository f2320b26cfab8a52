# lib/: libpochta.a itself is built by the top Makefile (every lib/*.c);
# here, the fuzz targets of its parsers (in lib/fuzz/, kept out of the library).
FUZZERS += $(O)/fuzz/fuzz-connlimits
$(O)/fuzz/fuzz-connlimits: $(O)/fuzzobj/lib/fuzz/fuzz-connlimits.o $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))
