/* The runner's message index: open-addressing hash by id, a binary min-heap
 * by due time (with positions kept in the messages, so any message can leave
 * it in O(log n)), and two intrusive doubly linked lists. */
#include <stdlib.h>

#include "sched.h"

static msg **tab;       /* hash slots; NULL empty, TOMB deleted */
static size_t tabcap, tabused, count;
static msg tomb;
#define TOMB (&tomb)

static size_t slot(uint64_t id)
{
  id ^= id >> 33; id *= 0xff51afd7ed558ccdULL; id ^= id >> 33;
  return (size_t)id & (tabcap - 1);
}

msg *msgs_find(uint64_t id)
{
  if (!tabcap) return 0;
  for (size_t i = slot(id);; i = (i + 1) & (tabcap - 1)) {
    if (!tab[i]) return 0;
    if (tab[i] != TOMB && tab[i]->id == id) return tab[i];
  }
}

static int grow(void)
{
  size_t oldcap = tabcap, ncap = tabcap ? tabcap * 2 : 1024;
  msg **old = tab;
  while (count * 2 >= ncap) ncap *= 2;   /* after many deletes: rehash to fit */
  tab = calloc(ncap, sizeof *tab);
  if (!tab) { tab = old; return 0; }
  tabcap = ncap; tabused = 0;
  for (size_t i = 0; i < oldcap; i++) {
    msg *m = old[i];
    if (!m || m == TOMB) continue;
    size_t j = slot(m->id);
    while (tab[j]) j = (j + 1) & (tabcap - 1);
    tab[j] = m; tabused++;
  }
  free(old);
  return 1;
}

int msgs_add(msg *m)
{
  size_t i;
  if ((tabused + 1) * 2 > tabcap && !grow()) return 0;
  for (i = slot(m->id); tab[i] && tab[i] != TOMB; i = (i + 1) & (tabcap - 1)) ;
  if (!tab[i]) tabused++;
  tab[i] = m;
  count++;
  return 1;
}

void msgs_del(msg *m)
{
  if (!tabcap) return;
  for (size_t i = slot(m->id); tab[i]; i = (i + 1) & (tabcap - 1)) {
    if (tab[i] == m) { tab[i] = TOMB; count--; return; }
  }
}

size_t msgs_count(void) { return count; }

void msgs_each(void (*f)(msg *))
{
  for (size_t i = 0; i < tabcap; i++) if (tab[i] && tab[i] != TOMB) f(tab[i]);
}

mlist ready, blocked, blocked_remote;

static void list_del(mlist *l, msg *m)
{
  if (m->prev) m->prev->next = m->next; else l->head = m->next;
  if (m->next) m->next->prev = m->prev; else l->tail = m->prev;
  m->prev = m->next = 0;
  l->n--;
}

static void list_add(mlist *l, msg *m)
{
  m->next = 0; m->prev = l->tail;
  if (l->tail) l->tail->next = m; else l->head = m;
  l->tail = m;
  l->n++;
}

static msg **heap;
static size_t hlen, hcap;

static void hset(size_t i, msg *m) { heap[i] = m; m->hpos = i; }

static void hup(size_t i)
{
  msg *m = heap[i];
  while (i) {
    size_t p = (i - 1) / 2;
    if (heap[p]->due <= m->due) break;
    hset(i, heap[p]); i = p;
  }
  hset(i, m);
}

static void hdown(size_t i)
{
  msg *m = heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= hlen) break;
    if (c + 1 < hlen && heap[c + 1]->due < heap[c]->due) c++;
    if (heap[c]->due >= m->due) break;
    hset(i, heap[c]); i = c;
  }
  hset(i, m);
}

static void heap_del(msg *m)
{
  size_t i = m->hpos;
  msg *last = heap[--hlen];
  if (i == hlen) return;
  hset(i, last);
  if (i && heap[(i - 1) / 2]->due > last->due) hup(i); else hdown(i);
}

void sched_unplace(msg *m)
{
  switch (m->where) {
    case W_READY: list_del(&ready, m); break;
    case W_BLOCKED: list_del(&blocked, m); break;
    case W_BLOCKED_REMOTE: list_del(&blocked_remote, m); break;
    case W_HEAP: heap_del(m); break;
    default: break;
  }
  m->where = W_NONE;
}

void sched_ready(msg *m) { sched_unplace(m); list_add(&ready, m); m->where = W_READY; }
void sched_blocked(msg *m) { sched_unplace(m); list_add(&blocked, m); m->where = W_BLOCKED; }
void sched_blocked_remote(msg *m) { sched_unplace(m); list_add(&blocked_remote, m); m->where = W_BLOCKED_REMOTE; }
void sched_wake(mlist *l, size_t n) { while (n-- && l->head) sched_ready(l->head); }

void sched_heap(msg *m, uint64_t due)
{
  sched_unplace(m);
  if (hlen == hcap) {
    size_t n = hcap ? hcap * 2 : 1024;
    msg **h = realloc(heap, n * sizeof *h);
    if (!h) { list_add(&ready, m); m->where = W_READY; return; }  /* degrade: try now */
    heap = h; hcap = n;
  }
  m->due = due;
  m->where = W_HEAP;
  hset(hlen, m);
  hup(hlen++);
}

msg *sched_pop_ready(void)
{
  msg *m = ready.head;
  if (m) { list_del(&ready, m); m->where = W_NONE; }
  return m;
}

msg *sched_heap_top(void) { return hlen ? heap[0] : 0; }
