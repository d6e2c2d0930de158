/* heapshape: the shim's place in CPython's chain of PEP 445 allocators (see pychain.h).
 *
 * Whether a chain reaches heapshape is found by a probe: with the GIL held and hs_busy set,
 * one byte is allocated and freed through the domain's current allocator; a heapshape hook
 * entered on the way (it passes the request on untouched because hs_busy is set) notes its
 * domain. A wrapper above heapshape (tracemalloc started by PYTHONTRACEMALLOC, -X tracemalloc
 * or tracemalloc.start(); a test's own allocator) therefore leaves the chain alone, and only
 * an allocator that replaced heapshape's (PYTHONMALLOC, -X dev, a restore of an allocator
 * saved before heapshape's hooks went in) gets a new link on top. The probe's byte is seen by
 * the allocators above heapshape (tracemalloc traces it and forgets it again). For the RAW
 * domain a check also probes calloc and realloc, to learn where a wrapper on top passes
 * requests on from (struct hs_pylink's fwd: what else reaches the link is the wrapper's own
 * bookkeeping).
 */
#define _GNU_SOURCE
#include "preload/pychain.h"

#include <dlfcn.h>
#include <string.h>

HS_TLS int hs_chain_probing;
HS_TLS unsigned hs_chain_hits;
HS_TLS const struct hs_pylink *hs_chain_first;
HS_TLS void *hs_chain_site;
HS_TLS unsigned hs_chain_raw_events;
static volatile int hs_chain_scheduled;

/* Links are never reused: a program may keep any of them (as tracemalloc keeps the allocator
 * it wrapped) and restore it at any time. 16 per domain is far more than a program that
 * starts and stops tracemalloc over PYTHONMALLOC needs; past that heapshape stops putting
 * itself back (one warning). */
#define HS_LINKS 16
static struct hs_pylink hs_links[3][HS_LINKS];
static unsigned hs_nlinks[3];
static void (*hs_get)(int, struct hs_pyalloc *);
static void (*hs_set)(int, struct hs_pyalloc *);
static int (*hs_gil_check)(void);
static int (*hs_add_pending)(int (*)(void *), void *);
static struct hs_pyalloc hs_hooks[3];
/* each domain's top allocator when it was last checked (read by hs_chain_poll on any thread) */
static void *volatile hs_top_ctx[3];
static void *volatile hs_top_malloc[3];

/* the domains heapshape hooks (bits of HS_PYMEM_*): RAW alone while the Python allocators
 * are untraced (pyarena.c), the others then being left as they are */
static volatile unsigned hs_domains = 7;
/* hs_chain_exit ran: no link is put on top again */
static volatile int hs_chain_off;

void hs_chain_domains(unsigned mask) { hs_domains = mask; }

static const uint8_t hs_domain_of[3] = {HS_DOMAIN_RAW, HS_DOMAIN_MEM, HS_DOMAIN_OBJ};

void hs_chain_init(void (*get)(int, struct hs_pyalloc *), void (*set)(int, struct hs_pyalloc *),
                   int (*gil_check)(void), int (*add_pending)(int (*)(void *), void *),
                   const struct hs_pyalloc hooks[3]) {
  hs_gil_check = gil_check;
  hs_add_pending = add_pending;
  hs_get = get;
  hs_set = set;
  for (int d = 0; d < 3; d++) hs_hooks[d] = hooks[d];
}

static int hs_is_link(const void *ctx) {
  const char *c = ctx, *lo = (const char *)hs_links, *hi = lo + sizeof hs_links;
  return c >= lo && c < hi;
}

static void hs_note_top(int pymem) {
  struct hs_pyalloc cur;
  hs_get(pymem, &cur);
  hs_top_ctx[pymem] = cur.ctx;
  hs_top_malloc[pymem] = (void *)cur.malloc;
}

static int hs_push(int pymem, const struct hs_pyalloc *cur) {
  if (hs_nlinks[pymem] == HS_LINKS) {
    static int warned;
    if (!warned++)
      hs_warn3("the Python allocators were replaced too often; ",
               "Python allocations are no longer all recorded", "");
    return -1;
  }
  struct hs_pylink *l = &hs_links[pymem][hs_nlinks[pymem]++];
  l->prev = *cur;
  l->domain = hs_domain_of[pymem];
  l->pymem = (uint8_t)pymem;
  struct hs_pyalloc ours = hs_hooks[pymem];
  ours.ctx = l;
  hs_set(pymem, &ours);
  hs_note_top(pymem);
  return 0;
}

int hs_chain_install(int pymem) {
  if (hs_chain_off) return -1;
  struct hs_pyalloc cur;
  hs_get(pymem, &cur);
  if (hs_is_link(cur.ctx)) return 0;
  return hs_push(pymem, &cur);
}

/* Passes one request of kind fn (HS_FWD_*; a one-byte block, freed again) through cur with
 * hs_busy set: the heapshape hooks it reaches pass it on. Returns the domains reached (bits of
 * HS_PYMEM_*), -1 when there was no memory for it; *first and *site: the first link of domain
 * pymem reached and where it was called from. */
static int hs_probe(int pymem, const struct hs_pyalloc *cur, int fn,
                    const struct hs_pylink **first, void **site) {
  int busy = hs_busy, probing = hs_chain_probing;
  unsigned hits = hs_chain_hits;
  const struct hs_pylink *f = hs_chain_first;
  void *s = hs_chain_site;
  hs_busy = 1;
  void *old = fn == HS_FWD_REALLOC ? cur->malloc(cur->ctx, 1) : NULL;
  hs_chain_probing = pymem + 1;
  hs_chain_hits = 0;
  hs_chain_first = NULL;
  void *p = NULL;
  if (fn == HS_FWD_MALLOC) p = cur->malloc(cur->ctx, 1);
  else if (fn == HS_FWD_CALLOC) p = cur->calloc(cur->ctx, 1, 1);
  else if (old) p = cur->realloc(cur->ctx, old, 2);
  unsigned got = hs_chain_hits;
  *first = hs_chain_first;
  *site = hs_chain_site;
  hs_chain_probing = probing;
  hs_chain_hits = hits;
  hs_chain_first = f;
  hs_chain_site = s;
  if (p) cur->free(cur->ctx, p);
  else if (old) cur->free(cur->ctx, old);
  hs_busy = busy;
  return p ? (int)got : -1;
}

/* 1 when a request to cur passes through one of heapshape's hooks for this domain. */
static int hs_reaches_us(int pymem, const struct hs_pyalloc *cur) {
  if (hs_is_link(cur->ctx)) return 1;
  const struct hs_pylink *first;
  void *site;
  int got = hs_probe(pymem, cur, HS_FWD_MALLOC, &first, &site);
  /* no memory for the probe: cannot tell, and a cycle is worse than a gap */
  return got < 0 || ((got >> pymem) & 1);
}

/* 1 when code is heapshape's own: a wrapper passed the probe on by a tail call. */
static int hs_own_code(const void *code) {
  Dl_info a, b;
  return !dladdr(code, &a) || !dladdr((const void *)hs_probe, &b) || a.dli_fbase == b.dli_fbase;
}

/* The RAW domain's links: fwd learned for the link a foreign wrapper on top (cur) forwards
 * to, cleared for every other (see struct hs_pylink). */
static void hs_screen_raw(const struct hs_pyalloc *cur) {
  const struct hs_pylink *hit[3] = {NULL, NULL, NULL};
  void *site[3] = {NULL, NULL, NULL};
  if (!hs_is_link(cur->ctx))
    for (int fn = 0; fn < 3; fn++) {
      int got = hs_probe(HS_PYMEM_RAW, cur, fn, &hit[fn], &site[fn]);
      if (got < 0 || !hit[fn] || hs_own_code(site[fn])) hit[fn] = NULL;
    }
  for (unsigned i = 0; i < hs_nlinks[HS_PYMEM_RAW]; i++) {
    struct hs_pylink *l = &hs_links[HS_PYMEM_RAW][i];
    for (int fn = 0; fn < 3; fn++) l->fwd[fn] = hit[fn] == l ? site[fn] : NULL;
  }
}

void hs_chain_ensure(void) {
  if (hs_chain_off) return;
  int busy = hs_busy;
  hs_busy = 1;
  for (int d = 0; d < 3; d++) {
    if (!(hs_domains >> d & 1)) continue;
    struct hs_pyalloc cur;
    hs_get(d, &cur);
    if (hs_reaches_us(d, &cur)) hs_note_top(d);
    else hs_push(d, &cur);
    if (d == HS_PYMEM_RAW) {
      hs_get(d, &cur);
      hs_screen_raw(&cur);
    }
  }
  hs_busy = busy;
}

static int hs_chain_pending(void *arg) {
  (void)arg;
  hs_chain_scheduled = 0;
  hs_chain_ensure();
  return 0;
}

void hs_chain_poll(void) {
  /* with the GIL only: from 3.13 PyMem_GetAllocator takes a mutex whose slow path detaches
   * the calling thread's state */
  if (!hs_get || hs_chain_scheduled || hs_py_pending || !hs_gil_check()) return;
  for (int d = 0; d < 3; d++) {
    if (!(hs_domains >> d & 1)) continue;
    struct hs_pyalloc cur;
    hs_get(d, &cur);
    if (cur.ctx != hs_top_ctx[d] || (void *)cur.malloc != hs_top_malloc[d]) {
      hs_chain_scheduled = 1;
      if (hs_add_pending(hs_chain_pending, NULL) != 0) hs_chain_scheduled = 0; /* queue full */
      return;
    }
  }
}

/* After the exit snapshot (exit_hook.c, GIL held; nothing is recorded any more): a MEM or OBJ
 * domain whose top allocator is one of heapshape's links gets back the allocator that link
 * passes requests on to, so that finalization's frees no longer go through the hooks (they
 * only passed them on). Blocks allocated through the link were allocated by that allocator.
 * RAW keeps its link: a thread without the GIL may be inside it at this moment. */
void hs_chain_exit(void) {
  hs_chain_off = 1;
  for (int d = HS_PYMEM_MEM; d <= HS_PYMEM_OBJ; d++) {
    if (!(hs_domains >> d & 1)) continue;
    struct hs_pyalloc cur;
    hs_get(d, &cur);
    if (!hs_is_link(cur.ctx)) continue;
    struct hs_pyalloc prev = ((const struct hs_pylink *)cur.ctx)->prev;
    hs_set(d, &prev);
    hs_note_top(d);
  }
}
