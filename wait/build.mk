# pochta-wait: no libc, its own entry point, no sanitizer (nothing to check in
# a loop around one system call), Linux x86_64 only: elsewhere it is not built
# and the daemons wait in a fresh image of themselves.
ifeq ($(shell uname -m),x86_64)
PROGS += $(O)/bin/pochta-wait
WAIT_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -fPIE -ffreestanding -fno-stack-protector -fno-asynchronous-unwind-tables
$(O)/wait/wait.o: wait/wait.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(WAIT_CFLAGS) -c -o $@ $<
$(O)/bin/pochta-wait: $(O)/wait/wait.o
	@mkdir -p $(dir $@)
	$(HOSTCC) -static-pie -nostdlib -Wl,-z,relro,-z,now -Wl,-z,noexecstack -o $@.tmp $< -Wl,-Map=$@.map
	sh mk/check-link $@.map
	mv -f $@.tmp $@
endif
