/* Include once, in the main file of a setuid or setgid program. In the test
 * build (ASan+UBSan) LeakSanitizer ptraces the process at exit, which a set-id
 * process does not allow: every run would fail. Its set-id runs are not
 * checked for leaks; its other runs (the tests' own) still are. Nothing in
 * other builds. */
#ifndef POCHTA_LSAN_SETID_H
#define POCHTA_LSAN_SETID_H
#ifdef __SANITIZE_ADDRESS__
#include <sys/auxv.h>
char const *__lsan_default_options(void);
char const *__lsan_default_options(void) { return getauxval(AT_SECURE) ? "detect_leaks=0" : ""; }
#endif
#endif
