/* mime/mime-fuzz.c — libFuzzer target fuzz-mime: parse arbitrary octets as a
 * message, then ENVELOPE, BODY, BODYSTRUCTURE, every section of every part,
 * BINARY sizes, searches, the Date header, the SORT and THREAD keys, and the
 * message as APPEND of a literal8 stores it. Nothing may crash or leak. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "mime.h"

static void sections_of(mime_tree const *t, stralloc *out)
{
  static char const *const suffix[] = { "", ".MIME", ".HEADER", ".TEXT", ".HEADER.FIELDS (From Subject)",
                                        ".HEADER.FIELDS.NOT (To)" };
  stralloc store = STRALLOC_ZERO, gen = STRALLOC_ZERO;
  /* paths 1..3 at every depth up to 3 */
  for (unsigned a = 0; a <= 3; a++)
    for (unsigned b = 0; b <= (a ? 3u : 0u); b++)
      for (unsigned s = 0; s < sizeof suffix / sizeof *suffix; s++) {
        char spec[64];
        size_t n = 0;
        if (a) { spec[n++] = '0' + a; if (b) { spec[n++] = '.'; spec[n++] = '0' + b; } }
        char const *suf = suffix[s];
        if (!n && *suf == '.') suf++;
        if (!n && s == 1) continue;
        memcpy(spec + n, suf, strlen(suf));
        n += strlen(suf);
        mime_section sec;
        mime_body body;
        if (!mime_section_parse(&sec, &store, spec, n)) continue;
        if (mime_section_get(&body, &gen, t, &sec) && !body.generated) {
          out->len = 0;
          mime_cat_crlf(out, t->data, body.start, body.end, 1, 100);
        }
        uint64_t size;
        int bin;
        mime_binary_size(&size, &bin, t, &sec);
      }
  stralloc_free(&store);
  stralloc_free(&gen);
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len);
int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len)
{
  mime_tree t = MIME_TREE_ZERO;
  stralloc out = STRALLOC_ZERO;
  if (!mime_parse(&t, (char const *)data, len)) return 0;
  mime_envelope(&out, &t, 0);
  out.len = 0;
  mime_bodystructure(&out, &t, 1);
  out.len = 0;
  mime_bodystructure(&out, &t, 0);
  sections_of(&t, &out);
  mime_search_header(&t, "Subject", "x", 1);
  mime_search_text(&t, "\xd0\x9f", 2);
  mime_search_header(&t, "From", "user@", 5);
  int64_t day;
  mime_sent_day(&t, &day);
  /* SORT and THREAD keys, from the whole and from the header block alone */
  mime_tree h = MIME_TREE_ZERO;
  stralloc refs = STRALLOC_ZERO;
  if (mime_parse(&h, (char const *)data, mime_header_len((char const *)data, len))) {
    int refwd;
    mime_key_subject(&out, &h, &refwd);
    mime_key_address(&out, &h, "From", 0);
    mime_key_address(&out, &h, "To", 1);
    mime_key_date(&day, &h);
    mime_key_ids(&out, &refs, &h);
    mime_tree_free(&h);
  }
  stralloc_free(&refs);
  static int null = -1;
  if (null < 0) null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  int again;
  if (null >= 0) mime_store(null, &t, &again);
  mime_tree_free(&t);
  stralloc_free(&out);
  return 0;
}
