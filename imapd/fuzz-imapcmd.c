/* libFuzzer target for the IMAP command tokenizer (parse.c): the input is taken as
 * a command in its in-memory form (literals inline as "{N}\n" + data, see parse.h)
 * and walked the way the handlers walk it: tag, verb, then any mix of strings,
 * numbers, sequence sets, flags and nested lists. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static void walk(pcur *p, int depth)
{
  range rr[SEQSET_MAX];
  for (int steps = 0; steps < 10000 && !p_eol(p); steps++) {
    pstr s; uint32_t n; uint64_t n64; int sp;
    seqset ss = { rr, 0 };
    size_t before = p->pos;
    if (p_char(p, '(')) { if (depth < 64) walk(p, depth + 1); continue; }
    if (p_char(p, ')')) { if (depth) return; continue; }
    if (p_sp(p)) continue;
    if (p_seqset(p, &ss)) { for (uint32_t x = 1; x < 5; x++) (void)seqset_has(&ss, x, 3); continue; }
    if (p_number64(p, &n64)) continue;
    if (p_nz_number(p, &n)) continue;
    if (p_word(p, "NIL")) continue;
    if (p_flag(p, &s)) continue;
    if (p_literal(p, &s, &sp)) continue;
    if (p_astring(p, &s)) { (void)strcase_eq(s.s, s.len, "INBOX"); continue; }
    if (p_nstring(p, &s)) continue;
    if (p->pos == before) p->pos++;   /* skip what nothing takes */
  }
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  /* the tokenizer unescapes in place: work on a copy */
  char *buf = malloc(size ? size : 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  pcur p = { .s = buf, .len = size, .pos = 0 };
  pstr tag, verb;
  if (p_tag(&p, &tag) && p_sp(&p) && p_atom(&p, &verb)) walk(&p, 0);
  else { p.pos = 0; walk(&p, 0); }
  free(buf);
  return 0;
}
