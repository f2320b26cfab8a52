build/lib/conf.o: lib/conf.c lib/conf.h
lib/conf.h:
