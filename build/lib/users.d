build/lib/users.o: lib/users.c lib/conf.h lib/users.h
lib/conf.h:
lib/users.h:
