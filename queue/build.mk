# queue/: pochta-queue (enqueue), pochta-send (the runner), pochta-queuectl (tools).
# pochta-send's delivery worker files spam into Junk (spam/): it links SPAM_OBJ.
include spam/build.mk
QUEUE_COMMON := $(call objs,queue/qfmt.c queue/qdir.c queue/qcheck.c queue/qwrite.c)
PROGS += $(O)/bin/pochta-queue $(O)/bin/pochta-send $(O)/bin/pochta-queuectl $(O)/bin/pochta-postdrop
$(O)/bin/pochta-postdrop: $(call objs,queue/postdrop.c) $(QUEUE_COMMON) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))
$(O)/bin/pochta-queue: $(call objs,queue/pochta-queue.c) $(QUEUE_COMMON) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))
$(O)/bin/pochta-send: $(call objs,queue/send.c queue/sched.c queue/spawn.c queue/worker.c queue/delivery.c queue/pickup.c) $(QUEUE_COMMON) $(SPAM_OBJ) $(LIBPOCHTA)
	$(call link,$(SPAM_LIBS) $(CRYPT))
$(call objs,queue/worker.c queue/delivery.c): CPPFLAGS += -Ispam -Imime
$(O)/bin/pochta-queuectl: $(call objs,queue/queuectl.c) $(QUEUE_COMMON) $(LIBPOCHTA)
	$(call link,$(SKALIBS) $(CRYPT))

# Fuzz target: the envelope and state-file parsers.
FUZZERS += $(O)/fuzz/fuzz-queue-env
# (FO and FUZZ_LIB are defined after the build.mk files are included: spelled out here)
$(O)/fuzz/fuzz-queue-env: $(patsubst %.c,$(O)/fuzzobj/%.o,queue/fuzz-env.c queue/qfmt.c) $(O)/fuzzobj/libpochta.a
	$(call fuzzlink,$(SKALIBS))
