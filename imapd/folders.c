/* pochta-imapd: the folder list (Maildir++: INBOX is the Maildir itself, folder
 * "a.b" is the directory ".a.b" in it, hierarchy delimiter "."), subscriptions
 * (file "subscriptions", one name per line), and CREATE, DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE, LIST, LSUB, STATUS. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/djbunix.h>

#include "imapd.h"
#include "io.h"


static int is_inbox(char const *s, size_t n) { return strcase_eq(s, n, "INBOX"); }

/* A folder name is safe on disk: no '/', no empty component, no control octet. */
int folder_name_ok(char const *s, size_t n)
{
  if (!n || n > FOLDER_NAME_MAX || s[0] == '.' || s[n - 1] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    /* 8-bit names are not modified UTF-7 (UTF8=ACCEPT is not offered) */
    if (c < 0x20 || c >= 0x7f || c == '/' || c == '\\') return 0;
    if (c == '.' && i + 1 < n && s[i + 1] == '.') return 0;
  }
  if (n >= 1 && s[0] == '#') return 0;
  return 1;
}

int folder_canon(char const *name, size_t len, char *out, size_t outlen)
{
  if (is_inbox(name, len)) { snprintf(out, outlen, "INBOX"); return 1; }
  /* "INBOX.x" means "x" (some clients prefix everything with INBOX.) */
  if (len > 6 && !strncasecmp(name, "INBOX.", 6)) { name += 6; len -= 6; }
  if (!folder_name_ok(name, len) || len >= outlen) return 0;
  memcpy(out, name, len); out[len] = 0;
  return 1;
}

int folder_dir(char const *name, size_t len, char *dir, size_t dirlen)
{
  char c[FOLDER_NAME_MAX + 8];
  if (!folder_canon(name, len, c, sizeof c)) return 0;
  int n = !strcmp(c, "INBOX") ? snprintf(dir, dirlen, "%s", S.root) : snprintf(dir, dirlen, "%s/.%s", S.root, c);
  return n > 0 && (size_t)n < dirlen;
}

/* --- the folder list ----------------------------------------------------- */

static int cmp_str(void const *a, void const *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every existing folder except INBOX, sorted. Returns a NULL-terminated array. */
char **folders_all(size_t *count)
{
  DIR *D = opendir(S.root);
  size_t n = 0, cap = 16;
  char **v = malloc(cap * sizeof *v);
  if (!v) return 0;
  if (D) {
    struct dirent *de;
    while ((de = readdir(D))) {
      char const *d = de->d_name;
      if (d[0] != '.' || !d[1] || d[1] == '.' || d[1] == '#') continue;
      if (!folder_name_ok(d + 1, strlen(d + 1))) continue;
      char p[4500];
      snprintf(p, sizeof p, "%s/%s", S.root, d);
      if (!maildir_exists(p)) continue;
      if (n + 1 >= cap) { cap *= 2; char **nv = realloc(v, cap * sizeof *nv); if (!nv) break; v = nv; }
      v[n++] = strdup(d + 1);
    }
    closedir(D);
  }
  qsort(v, n, sizeof *v, cmp_str);
  v[n] = 0;
  *count = n;
  return v;
}

void folders_free(char **v) { if (!v) return; for (char **p = v; *p; p++) free(*p); free(v); }

char **subs_read(size_t *count)
{
  char p[4400];
  stralloc sa = STRALLOC_ZERO;
  size_t n = 0, cap = 16;
  char **v = malloc(cap * sizeof *v);
  if (!v) return 0;
  snprintf(p, sizeof p, "%s/subscriptions", S.root);
  if (openslurpclose(&sa, p)) {
    size_t i = 0;
    while (i < sa.len) {
      char *nl = memchr(sa.s + i, '\n', sa.len - i);
      size_t e = nl ? (size_t)(nl - sa.s) : sa.len;
      if (e > i && !(e - i == 3 && !memcmp(sa.s + i, "V\t2", 3))) {
        if (n + 1 >= cap) { cap *= 2; char **nv = realloc(v, cap * sizeof *nv); if (!nv) break; v = nv; }
        v[n] = strndup(sa.s + i, e - i);
        /* Dovecot's version 2 separates levels with TAB */
        for (char *c = v[n]; *c; c++) if (*c == '\t') *c = '.';
        n++;
      }
      i = e + 1;
    }
  }
  stralloc_free(&sa);
  v[n] = 0;
  *count = n;
  return v;
}

static int subs_write(char **v)
{
  char p[4400];
  stralloc sa = STRALLOC_ZERO;
  snprintf(p, sizeof p, "%s/subscriptions", S.root);
  for (char **s = v; *s; s++) if (**s) { stralloc_cats(&sa, *s); stralloc_catb(&sa, "\n", 1); }
  int ok = openwritenclose_suffix(p, sa.s ? sa.s : "", sa.len, ".tmp");
  stralloc_free(&sa);
  return ok;
}

static int subs_has(char **v, char const *name)
{
  for (char **s = v; *s; s++) if (!strcmp(*s, name) || (!strcasecmp(name, "INBOX") && !strcasecmp(*s, "INBOX"))) return 1;
  return 0;
}

/* --- CREATE DELETE RENAME ------------------------------------------------ */

int c_create(pcur *p, int uid)
{
  (void)uid;
  pstr n;
  char dir[4500], use[128];
  if (!p_sp(p) || !p_astring(p, &n)) { resp("BAD Syntax: CREATE mailbox"); return 1; }
  use[0] = 0;
  /* CREATE-SPECIAL-USE (RFC 6154 3): CREATE name (USE (\Sent ...)) */
  if (p_sp(p)) {
    int r = p_char(p, '(') && p_word(p, "USE") && p_sp(p) ? special_use_parse(p, use, sizeof use) : 0;
    if (r < 0) { resp("NO [USEATTR] Unknown special-use attribute"); return 1; }
    if (!r || !p_char(p, ')')) { resp("BAD Syntax: CREATE mailbox (USE (attributes))"); return 1; }
  }
  if (!p_eol(p)) { resp("BAD Syntax: CREATE mailbox"); return 1; }
  if (n.len && n.s[n.len - 1] == '.') n.len--;    /* "a." only says a will have children */
  if (is_inbox(n.s, n.len)) { resp("NO [ALREADYEXISTS] INBOX always exists"); return 1; }
  if (!folder_dir(n.s, n.len, dir, sizeof dir) || memchr(n.s, '*', n.len) || memchr(n.s, '%', n.len)) { resp("NO [CANNOT] Invalid mailbox name"); return 1; }
  if (maildir_exists(dir)) { resp("NO [ALREADYEXISTS] Mailbox exists"); return 1; }
  if (maildir_make(dir, 1) < 0) { respf("NO [SERVERBUG] Cannot create: %s", strerror(errno)); return 1; }
  if (use[0] && !special_use_write(dir, use)) {
    rm_rf(dir);   /* (RFC 6154 3: not made, when its use cannot be kept) */
    resp("NO [SERVERBUG] Cannot keep the special use"); return 1;
  }
  /* its uid list now, for its MAILBOXID (RFC 8474 4.1) */
  mbox mb;
  char g[33];
  memset(&mb, 0, sizeof mb);
  if (mbox_open(&mb, dir, 0) > 0) mbox_free(&mb);
  if (mailbox_guid(dir, g)) respf("OK [MAILBOXID (F%s)] CREATE completed", g);
  else resp("OK CREATE completed");
  return 1;
}

/* rm_rf() comes from skalibs (djbunix.h). */

int c_delete(pcur *p, int uid)
{
  (void)uid;
  pstr n;
  char dir[4500], trash[4600], uq[300];
  if (!p_sp(p) || !p_astring(p, &n) || !p_eol(p)) { resp("BAD Syntax: DELETE mailbox"); return 1; }
  if (is_inbox(n.s, n.len)) { resp("NO [CANNOT] INBOX cannot be deleted"); return 1; }
  if (!folder_dir(n.s, n.len, dir, sizeof dir) || !maildir_exists(dir)) { resp("NO [NONEXISTENT] No such mailbox"); return 1; }
  if (S.state == S_SELECTED && !strcmp(S.mb.dir, dir)) sess_unselect();
  uidvalidity_seen(dir);
  /* rename out of sight first (one atomic step), then remove */
  mbox_uniq(uq, sizeof uq);
  snprintf(trash, sizeof trash, "%s/.#deleted-%s", S.root, uq);
  if (rename(dir, trash) < 0) { respf("NO [SERVERBUG] Cannot delete: %s", strerror(errno)); return 1; }
  rm_rf(trash);
  resp("OK DELETE completed");
  return 1;
}

int c_rename(pcur *p, int uid)
{
  (void)uid;
  pstr a, b;
  char from[4500], to[4500], ca[256], cb[256];
  if (!p_sp(p) || !p_astring(p, &a) || !p_sp(p) || !p_astring(p, &b) || !p_eol(p)) { resp("BAD Syntax: RENAME from to"); return 1; }
  if (!folder_canon(a.s, a.len, ca, sizeof ca) || !folder_dir(a.s, a.len, from, sizeof from) || !maildir_exists(from)) { resp("NO [NONEXISTENT] No such mailbox"); return 1; }
  if (!folder_canon(b.s, b.len, cb, sizeof cb) || !strcmp(cb, "INBOX") || !folder_dir(b.s, b.len, to, sizeof to)) { resp("NO [CANNOT] Invalid target name"); return 1; }
  if (maildir_exists(to)) { resp("NO [ALREADYEXISTS] Target exists"); return 1; }
  if (!strcmp(ca, "INBOX")) {
    /* RENAME INBOX: move every message to the new folder, INBOX stays (empty) */
    if (maildir_make(to, 1) < 0) { resp("NO [SERVERBUG] Cannot create target"); return 1; }
    static char const *sub[2] = { "new", "cur" };
    for (int s = 0; s < 2; s++) {
      char d[4600]; snprintf(d, sizeof d, "%s/%s", from, sub[s]);
      DIR *D = opendir(d);
      if (!D) continue;
      struct dirent *de;
      while ((de = readdir(D))) {
        if (de->d_name[0] == '.') continue;
        char f1[4900], f2[4900];
        snprintf(f1, sizeof f1, "%s/%s", d, de->d_name);
        snprintf(f2, sizeof f2, "%s/%s/%s", to, sub[s], de->d_name);
        rename(f1, f2);
      }
      closedir(D);
      char t2[4600]; snprintf(t2, sizeof t2, "%s/%s", to, sub[s]);
      int fd = open(t2, O_RDONLY | O_DIRECTORY); if (fd >= 0) { fsync(fd); close(fd); }
      fd = open(d, O_RDONLY | O_DIRECTORY); if (fd >= 0) { fsync(fd); close(fd); }
    }
    resp("OK RENAME completed");
    return 1;
  }
  size_t la = strlen(ca), lb = strlen(cb);
  /* into its own child: the children would move into themselves (issue 10, 10) */
  if (lb > la && !strncmp(cb, ca, la) && cb[la] == '.') { resp("NO [CANNOT] Cannot move a mailbox into its own child"); return 1; }
  /* children move with their parent (.a.x -> .b.x): the list is taken before
   * anything moves, and every new name must be one */
  size_t cnt;
  char **all = folders_all(&cnt);
  if (!all) { resp("NO [SERVERBUG] Out of memory"); return 1; }
  for (size_t i = 0; i < cnt; i++)
    if (!strncmp(all[i], ca, la) && all[i][la] == '.' && lb + strlen(all[i]) - la > FOLDER_NAME_MAX) {
      folders_free(all); resp("NO [CANNOT] A child's name would be too long"); return 1;
    }
  if (S.state == S_SELECTED && !strncmp(S.mb.dir, from, strlen(from)) && (!S.mb.dir[strlen(from)] || S.mb.dir[strlen(from)] == '.')) sess_unselect();
  uidvalidity_seen(from);
  if (rename(from, to) < 0) { folders_free(all); respf("NO [SERVERBUG] Cannot rename: %s", strerror(errno)); return 1; }
  for (size_t i = 0; i < cnt; i++) {
    if (!strncmp(all[i], ca, la) && all[i][la] == '.') {
      char f1[4500], f2[4900];
      snprintf(f1, sizeof f1, "%s/.%s", S.root, all[i]);
      snprintf(f2, sizeof f2, "%s/.%s%s", S.root, cb, all[i] + la);
      uidvalidity_seen(f1);
      rename(f1, f2);
    }
  }
  folders_free(all);
  int fd = open(S.root, O_RDONLY | O_DIRECTORY); if (fd >= 0) { fsync(fd); close(fd); }
  resp("OK RENAME completed");
  return 1;
}

static int subscribe(pcur *p, int on)
{
  pstr n;
  char c[256];
  if (!p_sp(p) || !p_astring(p, &n) || !p_eol(p)) { resp(on ? "BAD Syntax: SUBSCRIBE mailbox" : "BAD Syntax: UNSUBSCRIBE mailbox"); return 1; }
  if (!folder_canon(n.s, n.len, c, sizeof c)) { resp("NO [CANNOT] Invalid mailbox name"); return 1; }
  size_t cnt;
  char **v = subs_read(&cnt);
  if (!v) { resp("NO [SERVERBUG] Out of memory"); return 1; }
  int has = subs_has(v, c);
  if (on && !has) {
    char **nv = realloc(v, (cnt + 2) * sizeof *nv);
    if (nv) { v = nv; v[cnt] = strdup(c); v[cnt + 1] = 0; }
    if (!subs_write(v)) { folders_free(v); resp("NO [SERVERBUG] Cannot write subscriptions"); return 1; }
  } else if (!on && has) {
    for (char **s = v; *s; s++) if (!strcmp(*s, c) || (!strcasecmp(c, "INBOX") && !strcasecmp(*s, "INBOX"))) **s = 0;
    if (!subs_write(v)) { folders_free(v); resp("NO [SERVERBUG] Cannot write subscriptions"); return 1; }
  }
  folders_free(v);
  resp(on ? "OK SUBSCRIBE completed" : "OK UNSUBSCRIBE completed");
  return 1;
}

int c_subscribe(pcur *p, int uid) { (void)uid; return subscribe(p, 1); }
int c_unsubscribe(pcur *p, int uid) { (void)uid; return subscribe(p, 0); }

#define ST_MESSAGES 1
#define ST_RECENT 2
#define ST_UIDNEXT 4
#define ST_UIDVALIDITY 8
#define ST_UNSEEN 16
#define ST_SIZE 32
#define ST_DELETED 64
#define ST_HIGHESTMODSEQ 128
#define ST_MAILBOXID 256

int parse_status_items(pcur *p, unsigned *items)
{
  *items = 0;
  if (!p_char(p, '(')) return 0;
  for (int first = 1; !p_char(p, ')'); first = 0) {
    pstr a;
    if (!first && !p_sp(p)) return 0;
    if (!p_atom(p, &a)) return 0;
    if (strcase_eq(a.s, a.len, "MESSAGES")) *items |= ST_MESSAGES;
    else if (strcase_eq(a.s, a.len, "RECENT")) *items |= ST_RECENT;
    else if (strcase_eq(a.s, a.len, "UIDNEXT")) *items |= ST_UIDNEXT;
    else if (strcase_eq(a.s, a.len, "UIDVALIDITY")) *items |= ST_UIDVALIDITY;
    else if (strcase_eq(a.s, a.len, "UNSEEN")) *items |= ST_UNSEEN;
    else if (strcase_eq(a.s, a.len, "SIZE")) *items |= ST_SIZE;
    else if (strcase_eq(a.s, a.len, "DELETED")) *items |= ST_DELETED;
    else if (strcase_eq(a.s, a.len, "HIGHESTMODSEQ")) *items |= ST_HIGHESTMODSEQ;
    else if (strcase_eq(a.s, a.len, "MAILBOXID")) *items |= ST_MAILBOXID;
    else return 0;
  }
  return *items != 0;
}

int put_status(char const *name, char const *dir, unsigned items)
{
  mbox mb;
  memset(&mb, 0, sizeof mb);
  int r = mbox_open(&mb, dir, 0);
  if (r <= 0) return r;
  uint32_t recent = items & ST_RECENT ? recent_count(&mb) : 0, unseen = 0, deleted = 0; uint64_t size = 0;
  for (size_t i = 0; i < mb.n; i++) {
    if (!(mb.m[i].flags & F_SEEN)) unseen++;
    if (mb.m[i].flags & F_DELETED) deleted++;
    if (items & ST_SIZE) size += mbox_size(&mb, &mb.m[i]);
  }
  io_puts("* STATUS "); io_putstr(name, strlen(name)); io_puts(" (");
  int sp = 0;
#define ITEM(bit, label, val) if (items & bit) { if (sp) io_put(" ", 1); io_puts(label " "); io_putu(val); sp = 1; }
  ITEM(ST_MESSAGES, "MESSAGES", mb.n)
  ITEM(ST_RECENT, "RECENT", recent)
  ITEM(ST_UIDNEXT, "UIDNEXT", mb.uidnext)
  ITEM(ST_UIDVALIDITY, "UIDVALIDITY", mb.uidvalidity)
  ITEM(ST_UNSEEN, "UNSEEN", unseen)
  ITEM(ST_SIZE, "SIZE", size)
  ITEM(ST_DELETED, "DELETED", deleted)
  ITEM(ST_HIGHESTMODSEQ, "HIGHESTMODSEQ", mb.hms)
#undef ITEM
  if (items & ST_MAILBOXID) { if (sp) io_put(" ", 1); put_mailboxid(dir); }
  io_puts(")\r\n");
  mbox_free(&mb);
  return 1;
}

int c_status(pcur *p, int uid)
{
  (void)uid;
  pstr n;
  unsigned items;
  char dir[4500], c[256];
  if (!p_sp(p) || !p_astring(p, &n) || !p_sp(p) || !parse_status_items(p, &items) || !p_eol(p)) { resp("BAD Syntax: STATUS mailbox (items)"); return 1; }
  /* RFC 7162 3.1: STATUS (HIGHESTMODSEQ) is a CONDSTORE-enabling command */
  if (items & ST_HIGHESTMODSEQ) condstore_on();
  if (!folder_canon(n.s, n.len, c, sizeof c) || !folder_dir(n.s, n.len, dir, sizeof dir)) { resp("NO [NONEXISTENT] No such mailbox"); return 1; }
  int r = put_status(c, dir, items);
  if (r == 0) { resp("NO [NONEXISTENT] No such mailbox"); return 1; }
  if (r < 0) { resp("NO [SERVERBUG] Cannot read mailbox"); return 1; }
  resp("OK STATUS completed");
  return 1;
}

/* --- special use (RFC 6154) ------------------------------------------------ */

/* The attributes a folder may be given, in the order they are written. */
static char const *const uses[] = { "\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash" };

int special_use_parse(pcur *p, char *out, size_t len)
{
  unsigned bits = 0;
  if (!p_char(p, '(')) return 0;
  for (int first = 1; !p_char(p, ')'); first = 0) {
    pstr f;
    if ((!first && !p_sp(p)) || !p_flag(p, &f)) return 0;
    size_t i;
    for (i = 0; i < sizeof uses / sizeof *uses; i++) if (strcase_eq(f.s, f.len, uses[i])) break;
    if (i == sizeof uses / sizeof *uses) return -1;
    bits |= 1u << i;
  }
  if (!bits) return 0;
  out[0] = 0;
  for (size_t i = 0; i < sizeof uses / sizeof *uses; i++)
    if (bits & (1u << i)) { if (out[0]) strncat(out, " ", len - strlen(out) - 1); strncat(out, uses[i], len - strlen(out) - 1); }
  return 1;
}

/* A folder's own special use lives in "pochta-specialuse" in it (one line). */
int special_use_write(char const *dir, char const *use)
{
  char p[4700];
  snprintf(p, sizeof p, "%s/pochta-specialuse", dir);
  char line[160];
  int n = snprintf(line, sizeof line, "%s\n", use);
  return openwritenclose_suffix(p, line, (size_t)n, ".tmp");
}

char const *special_of(char const *name)
{
  static char buf[128];
  char p[4700];
  for (int i = 0; i < 5; i++) if (!strcmp(name, special_use[i][0])) return special_use[i][1];
  if (!strcmp(name, "INBOX") || snprintf(p, sizeof p, "%s/.%s/pochta-specialuse", S.root, name) >= (int)sizeof p) return 0;
  int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t r = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (r <= 1 || buf[0] != '\\') return 0;
  buf[r] = 0;
  char *nl = strchr(buf, '\n');
  if (nl) *nl = 0;
  /* (only what CREATE writes: attributes and spaces) */
  for (char *c = buf; *c; c++) if (!(*c == ' ' || *c == '\\' || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z'))) return 0;
  return buf;
}
