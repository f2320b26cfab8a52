/* mime/mime-test.c — unit-test driver for the MIME module.
 *   mime-test check CORPUSDIR EXPECTEDDIR   compare every corpus message with the
 *        answers Dovecot gave (tests/imapd-mime/expected, see regen-expected.sh);
 *        prints one line per comparison, exit 0 when all match, 1 otherwise.
 *   mime-test check-sums DIR SUMFILE  the same for generated messages too big to keep:
 *        SUMFILE holds `sha256sum` lines of Dovecot's answers (limits.sha256)
 *   mime-test envelope|bodystructure|body|size FILE
 *   mime-test section FILE SPEC [SKIP MAX]   BODY[SPEC]<SKIP.MAX> as IMAP sends it
 *   mime-test binary FILE SPEC        BINARY[SPEC];  mime-test binsize FILE SPEC
 *   mime-test search-header FILE NAME NEEDLE | search-body FILE NEEDLE | search-text FILE NEEDLE
 *   mime-test date STRING             utc and zone of an RFC 5322 date
 *   mime-test sentday FILE
 * Exit 100 on usage errors, 111 on system errors. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <errno.h>
#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>
#include <skalibs/sha256.h>
#include "mime.h"

static struct { char const *name, *spec; int binary, size; } const sections[] = {
  { "HEADER", "HEADER", 0, 0 }, { "TEXT", "TEXT", 0, 0 }, { "1", "1", 0, 0 },
  { "1.MIME", "1.MIME", 0, 0 }, { "1.HEADER", "1.HEADER", 0, 0 }, { "1.TEXT", "1.TEXT", 0, 0 },
  { "1.1", "1.1", 0, 0 }, { "2", "2", 0, 0 }, { "2.MIME", "2.MIME", 0, 0 },
  { "2.HEADER", "2.HEADER", 0, 0 }, { "2.TEXT", "2.TEXT", 0, 0 }, { "2.1", "2.1", 0, 0 },
  { "2.1.MIME", "2.1.MIME", 0, 0 }, { "2.2", "2.2", 0, 0 }, { "3", "3", 0, 0 },
  { "3.MIME", "3.MIME", 0, 0 },
  { "FIELDS", "HEADER.FIELDS (FROM Subject x-none)", 0, 0 },
  { "FIELDSNOT", "HEADER.FIELDS.NOT (From subject DATE)", 0, 0 },
  { "2.FIELDS", "2.HEADER.FIELDS (Subject)", 0, 0 },
  { "BIN1", "1", 1, 0 }, { "BINSIZE1", "1", 1, 1 }, { "BIN2", "2", 1, 0 },
  { "BINSIZE2", "2", 1, 1 }, { "BIN3", "3", 1, 0 }, { "BINSIZE3", "3", 1, 1 },
};

/* Deliberate differences from Dovecot, each with its reason. */
static struct { char const *msg, *item, *why; } const differ[] = {
  { "17", "BIN1", "BINARY of a multipart: Dovecot decodes the parts inside and rewrites their headers; we send the body as BODY does" },
  { "17", "BINSIZE1", "same as BIN1" },
  { "04", "BIN2", "BINARY of a message/rfc822: Dovecot decodes the parts inside and rewrites their headers; we send the message as BODY does" },
  { "04", "BINSIZE2", "same as BIN2" },
  { "limits/01", "1.1", "200 nested multiparts whose boundaries are prefixes of each other: past the depth limit Dovecot gives one empty line to a different part (2 octets); BODYSTRUCTURE and every other item match" },
};

static void die(int code, char const *what)
{
  fprintf(stderr, "mime-test: %s: %s\n", what, strerror(errno));
  exit(code);
}

static int load(mime_msg *m, mime_tree *t, char const *path)
{
  int fd = open(path, O_RDONLY);
  if (fd < 0) die(111, path);
  if (!mime_msg_map(m, fd)) die(111, "mmap");
  close(fd);
  if (!mime_parse(t, m->data, m->len)) die(111, "parse");
  return 1;
}

static int cat_num(stralloc *sa, uint64_t v)
{
  char b[UINT64_FMT];
  return stralloc_catb(sa, b, uint64_fmt(b, v));
}

/* The value of one item, as it appears in a FETCH response. */
static int item(stralloc *out, mime_tree const *t, char const *what, char const *spec, int binary, int size)
{
  if (!strcmp(what, "envelope")) return mime_envelope(out, t, 0);
  if (!strcmp(what, "bodystructure")) return mime_bodystructure(out, t, 1);
  if (!strcmp(what, "body")) return mime_bodystructure(out, t, 0);
  if (!strcmp(what, "size")) return cat_num(out, mime_vsize(t->data, t->len));
  mime_section sec;
  stralloc store = STRALLOC_ZERO, gen = STRALLOC_ZERO;
  int ok = 0;
  if (!mime_section_parse(&sec, &store, spec, strlen(spec))) { errno = EINVAL; goto done; }
  if (!binary) {
    mime_body b;
    if (!mime_section_get(&b, &gen, t, &sec)) goto done;
    if (!stralloc_cats(out, "{") || !cat_num(out, b.size) || !stralloc_cats(out, "}\r\n")) goto done;
    if (b.generated) { if (!stralloc_catb(out, gen.s, gen.len)) goto done; }
    else if (!mime_cat_crlf(out, t->data, b.start, b.end, 0, UINT64_MAX)) goto done;
    ok = 1;
  } else {
    uint64_t n;
    int bin, r = mime_binary_size(&n, &bin, t, &sec);
    if (r == -1) { ok = stralloc_cats(out, "!NO"); goto done; }
    if (r <= 0) goto done;
    if (size) { ok = cat_num(out, n); goto done; }
    if (!stralloc_cats(out, bin ? "~{" : "{") || !cat_num(out, n) || !stralloc_cats(out, "}\r\n")) goto done;
    /* write through a buffer into a pipe-less memory sink: use a temp file */
    char tmpl[] = "/tmp/mime-test.XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) goto done;
    unlink(tmpl);
    char bb[8192];
    buffer w = BUFFER_INIT(&buffer_write, fd, bb, sizeof bb);
    if (mime_binary_write(&w, t, &sec, 0, UINT64_MAX) <= 0 || !buffer_flush(&w)) { close(fd); goto done; }
    off_t len = lseek(fd, 0, SEEK_CUR);
    if (len < 0 || lseek(fd, 0, SEEK_SET) < 0 || !stralloc_readyplus(out, len)) { close(fd); goto done; }
    if (read(fd, out->s + out->len, len) != len) { close(fd); goto done; }
    out->len += len;
    close(fd);
    ok = 1;
  }
done:
  stralloc_free(&store);
  stralloc_free(&gen);
  return ok;
}

static int readfile(stralloc *sa, char const *path)
{
  char buf[8192];
  ssize_t r;
  int fd = open(path, O_RDONLY);
  sa->len = 0;
  if (fd < 0) return 0;
  while ((r = read(fd, buf, sizeof buf)) > 0)
    if (!stralloc_catb(sa, buf, r)) die(111, "alloc");
  close(fd);
  return r == 0;
}

static stralloc sums = STRALLOC_ZERO;   /* check-sums: the SUMFILE */
static char const *sums_prefix = "";

static int difference(char const *nn, char const *itemname)
{
  char key[64];
  snprintf(key, sizeof key, "%s%s", sums_prefix, nn);
  for (size_t i = 0; i < sizeof differ / sizeof *differ; i++)
    if (!strcmp(differ[i].msg, key) && !strcmp(differ[i].item, itemname)) {
      printf("ok %s %s # deliberate difference: %s\n", key, itemname, differ[i].why);
      return 1;
    }
  return 0;
}

/* compare the SHA-256 of got (plus a newline for the top-level items, as the
 * recorded files have) with the line "<hex>  NN.suffix" of the sums file */
static int compare_sum(char const *nn, char const *itemname, stralloc const *got, char const *suffix, int nl)
{
  SHA256Schedule ctx;
  char dig[32], hex[65], name[128];
  sha256_init(&ctx);
  sha256_update(&ctx, got->s, got->len);
  if (nl) sha256_update(&ctx, "\n", 1);
  sha256_final(&ctx, dig);
  for (int i = 0; i < 32; i++) { hex[2 * i] = "0123456789abcdef"[(unsigned char)dig[i] >> 4]; hex[2 * i + 1] = "0123456789abcdef"[dig[i] & 15]; }
  hex[64] = 0;
  snprintf(name, sizeof name, "  %s.%s\n", nn, suffix);
  if (difference(nn, itemname)) return 1;
  for (size_t k = 0; k + 64 < sums.len;) {
    char const *nl2 = memchr(sums.s + k, '\n', sums.len - k);
    size_t e = nl2 ? (size_t)(nl2 - sums.s) + 1 : sums.len;
    if (e - k == 64 + strlen(name) && !memcmp(sums.s + k + 64, name, strlen(name))) {
      int same = !memcmp(sums.s + k, hex, 64);
      printf("%s %s%s %s\n", same ? "ok" : "FAIL", sums_prefix, nn, itemname);
      return same;
    }
    k = e;
  }
  printf("FAIL %s%s %s: no sum recorded\n", sums_prefix, nn, itemname);
  return 0;
}

static int compare(char const *nn, char const *itemname, stralloc const *got, char const *expdir, char const *suffix, int nl)
{
  stralloc exp = STRALLOC_ZERO;
  char path[4096];
  if (sums.len) return compare_sum(nn, itemname, got, suffix, nl);
  if (snprintf(path, sizeof path, "%s/%s.%s", expdir, nn, suffix) >= (int)sizeof path) { errno = ENAMETOOLONG; die(100, expdir); }
  if (!readfile(&exp, path)) { printf("FAIL %s %s: no expected file %s\n", nn, itemname, path); return 0; }
  if (nl && exp.len && exp.s[exp.len - 1] == '\n') exp.len--;
  if (exp.len && exp.s[0] == '!') { exp.len = 3; }  /* "!NO" refusals */
  if (difference(nn, itemname)) { stralloc_free(&exp); return 1; }
  int same = exp.len == got->len && !memcmp(exp.s, got->s, got->len);
  if (same) printf("ok %s %s\n", nn, itemname);
  else {
    printf("FAIL %s %s\n  want: %.*s\n  got:  %.*s\n", nn, itemname, (int)(exp.len > 600 ? 600 : exp.len), exp.s,
           (int)(got->len > 600 ? 600 : got->len), got->s);
  }
  stralloc_free(&exp);
  return same;
}

static int check(char const *corpus, char const *expdir)
{
  DIR *d = opendir(corpus);
  struct dirent *e;
  char names[256][256];
  int n = 0, fails = 0, total = 0;
  if (!d) die(111, corpus);
  while ((e = readdir(d)) && n < 256) {
    size_t l = strlen(e->d_name);
    if (l > 4 && l < 250 && !strcmp(e->d_name + l - 4, ".eml")) strcpy(names[n++], e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], (int (*)(void const *, void const *))strcmp);
  for (int i = 0; i < n; i++) {
    char path[4096], nn[3] = { names[i][0], names[i][1], 0 };
    mime_msg m = MIME_MSG_ZERO;
    mime_tree t = MIME_TREE_ZERO;
    stralloc got = STRALLOC_ZERO;
    if (snprintf(path, sizeof path, "%s/%s", corpus, names[i]) >= (int)sizeof path) { errno = ENAMETOOLONG; die(100, corpus); }
    load(&m, &t, path);
    static char const *const items[] = { "envelope", "bodystructure", "body", "size" };
    for (int k = 0; k < 4; k++) {
      got.len = 0;
      if (!item(&got, &t, items[k], 0, 0, 0)) die(111, items[k]);
      total++;
      if (!compare(nn, items[k], &got, expdir, items[k], 1)) fails++;
    }
    for (size_t k = 0; k < sizeof sections / sizeof *sections; k++) {
      char suffix[64];
      got.len = 0;
      if (!item(&got, &t, "section", sections[k].spec, sections[k].binary, sections[k].size)) die(111, sections[k].spec);
      if (snprintf(suffix, sizeof suffix, "sec.%s", sections[k].name) >= (int)sizeof suffix) { errno = ENAMETOOLONG; die(100, "suffix"); }
      total++;
      if (!compare(nn, sections[k].name, &got, expdir, suffix, 0)) fails++;
    }
    stralloc_free(&got);
    mime_tree_free(&t);
    mime_msg_unmap(&m);
  }
  printf("%d of %d comparisons match\n", total - fails, total);
  return fails ? 1 : 0;
}

static mime_msg m = MIME_MSG_ZERO;
static mime_tree t = MIME_TREE_ZERO;
static stralloc out = STRALLOC_ZERO;

/* every way out of main frees what it holds, so the sanitizers see no leak */
static void cleanup(void)
{
  stralloc_free(&out);
  stralloc_free(&sums);
  mime_tree_free(&t);
  mime_msg_unmap(&m);
}

int main(int argc, char **argv)
{
  atexit(cleanup);
  if (argc < 2) goto usage;
  if (!strcmp(argv[1], "check") && argc == 4) return check(argv[2], argv[3]);
  if (!strcmp(argv[1], "check-sums") && argc == 4) {
    if (!readfile(&sums, argv[3]) || !sums.len) die(111, argv[3]);
    sums_prefix = "limits/";
    return check(argv[2], 0);
  }
  if (!strcmp(argv[1], "date") && argc == 3) {
    int64_t utc; int tz;
    if (!mime_date_parse(argv[2], strlen(argv[2]), &utc, &tz)) { printf("invalid\n"); return 1; }
    printf("%lld %d\n", (long long)utc, tz);
    return 0;
  }
  if (argc < 3) goto usage;
  load(&m, &t, argv[2]);
  if (!strcmp(argv[1], "tree")) {
    /* the part table: index parent depth flags header and body offsets, sizes */
    for (uint32_t i = 0; i < t.n; i++) {
      mime_part const *p = &t.parts[i];
      printf("%u %d %u 0x%x hdr=%zu-%zu body=%zu-%zu vsize=%llu lines=%llu\n", i, p->parent == MIME_NONE ? -1 : (int)p->parent,
             p->depth, p->flags, p->hdr_start, p->hdr_end, p->body_start, p->body_end,
             (unsigned long long)p->body_vsize, (unsigned long long)p->body_lines);
    }
    return 0;
  }
  if (!strcmp(argv[1], "sentday")) {
    int64_t day;
    if (!mime_sent_day(&t, &day)) { printf("none\n"); return 1; }
    printf("%lld\n", (long long)day);
    return 0;
  }
  if (!strncmp(argv[1], "search-", 7)) {
    int r;
    if (!strcmp(argv[1], "search-header") && argc == 5) r = mime_search_header(&t, argv[3], argv[4], strlen(argv[4]));
    else if (!strcmp(argv[1], "search-body") && argc == 4) r = mime_search_body(&t, argv[3], strlen(argv[3]));
    else if (!strcmp(argv[1], "search-text") && argc == 4) r = mime_search_text(&t, argv[3], strlen(argv[3]));
    else goto usage;
    if (r < 0) die(111, "search");
    printf("%s\n", r ? "match" : "nomatch");
    return r ? 0 : 1;
  }
  if (!strcmp(argv[1], "section") && argc == 6) {
    /* a partial fetch: the window of the converted octets */
    mime_section sec;
    mime_body b;
    stralloc store = STRALLOC_ZERO, gen = STRALLOC_ZERO;
    uint64_t skip, max;
    if (!uint640_scan(argv[4], &skip) || !uint640_scan(argv[5], &max)) goto usage;
    if (!mime_section_parse(&sec, &store, argv[3], strlen(argv[3]))) { printf("BAD\n"); return 1; }
    if (!mime_section_get(&b, &gen, &t, &sec)) die(111, "section");
    if (b.generated) {
      uint64_t from = skip < gen.len ? skip : gen.len, n = gen.len - from < max ? gen.len - from : max;
      if (!stralloc_catb(&out, gen.s + from, n)) die(111, "alloc");
    } else if (!mime_cat_crlf(&out, t.data, b.start, b.end, skip, max)) die(111, "section");
    stralloc_free(&store);
    stralloc_free(&gen);
  } else if (!strcmp(argv[1], "section") || !strcmp(argv[1], "binary") || !strcmp(argv[1], "binsize")) {
    if (argc != 4) goto usage;
    if (!item(&out, &t, "section", argv[3], argv[1][0] == 'b', argv[1][3] == 's')) {
      if (errno == EINVAL) { printf("BAD\n"); return 1; }
      die(111, "section");
    }
  } else if (argc == 3) {
    if (!item(&out, &t, argv[1], 0, 0, 0)) goto usage;
    if (!stralloc_cats(&out, "\n")) die(111, "alloc");
  } else goto usage;
  if (out.len && fwrite(out.s, 1, out.len, stdout) != out.len) die(111, "write");
  return 0;
usage:
  fprintf(stderr, "usage: mime-test check CORPUS EXPECTED | envelope|bodystructure|body|size FILE | section|binary|binsize FILE SPEC | search-header FILE NAME NEEDLE | search-body|search-text FILE NEEDLE | date STRING | sentday FILE\n");
  return 100;
}
