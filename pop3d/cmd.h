/* The POP3 command table and parsers for command lines, message numbers and
 * AUTH PLAIN responses. Pure functions, no I/O: the fuzz target drives them. */
#ifndef POP3D_CMD_H
#define POP3D_CMD_H

#include <stddef.h>

enum pop3_verb {
  V_UNKNOWN = 0,
  V_USER, V_PASS, V_APOP, V_AUTH, V_STLS, V_CAPA, V_QUIT,
  V_STAT, V_LIST, V_RETR, V_DELE, V_NOOP, V_RSET, V_TOP, V_UIDL,
};

/* A parsed line: the verb and up to two space-separated arguments (pointers
 * into the line). argc 3 means "more arguments than any command takes". */
typedef struct pop3_cmd_s pop3_cmd;
struct pop3_cmd_s {
  enum pop3_verb verb;
  int argc;
  char const *arg[2];
  size_t arglen[2];
  char const *rest;          /* everything after "VERB " (PASS takes spaces) */
  size_t restlen;
};

/* Parse line (len octets, may hold NULs). 1 parsed (verb may be V_UNKNOWN),
 * 0 malformed: a NUL or a control character in the line. */
int cmd_parse(char const *line, size_t len, pop3_cmd *c);

/* The verb's name, for logs. */
char const *cmd_name(enum pop3_verb v);

/* A message number: decimal digits only, value 1..max. 1 ok (*n set), 0 not. */
int cmd_msgnum(char const *s, size_t len, unsigned long max, unsigned long *n);

/* A line count for TOP: decimal digits only; values too large to hold are
 * taken as "every line". 1 ok, 0 not a number. */
int cmd_count(char const *s, size_t len, unsigned long long *n);

/* Decode base64 (RFC 4648, padding required, no white space) into out
 * (room outmax). Returns the decoded length, or -1 if malformed/too long. */

/* Split a decoded AUTH PLAIN message authzid\0authcid\0passwd.
 * 1 ok (pointers into msg; user and pass NUL-terminated in place, so msg
 * needs one spare octet at msg[len]), 0 malformed or authzid differs. */
int plain_split(char *msg, size_t len, char const **user, char const **pass);

#endif
