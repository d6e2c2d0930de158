/* heapshape: the shim's place in CPython's chain of PEP 445 allocators (pychain.c).
 *
 * Every PEP 445 user (tracemalloc, the debug hooks of PYTHONMALLOC=debug / -X dev, a program
 * calling PyMem_SetAllocator through ctypes) saves the allocator it finds and calls it from
 * its own. Each time heapshape puts its hooks on top of a chain it uses a new "link" (a ctx
 * with its own saved allocator) and never rewrites one already handed out: whoever saved an
 * older link and restores it later gets exactly the chain it saved, and heapshape never
 * installs itself on top of a chain that already reaches one of its links (which made the
 * cycle tracemalloc -> heapshape -> tracemalloc -> ... before 2026-12-03).
 */
#ifndef HEAPSHAPE_PRELOAD_PYCHAIN_H
#define HEAPSHAPE_PRELOAD_PYCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "preload/core.h"

/* PyMemAllocatorEx, mirrored (stable since 3.5). */
struct hs_pyalloc {
  void *ctx;
  void *(*malloc)(void *ctx, size_t size);
  void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
  void *(*realloc)(void *ctx, void *ptr, size_t new_size);
  void (*free)(void *ctx, void *ptr);
};
enum { HS_PYMEM_RAW = 0, HS_PYMEM_MEM = 1, HS_PYMEM_OBJ = 2 };

/* The ctx of heapshape's hooks: the allocator it wraps, written once before the link is
 * installed and never again, and fwd, rewritten at each check of the chain (pychain.c).
 *
 * fwd: a PEP 445 wrapper above a RAW link calls it for two things: to pass on the program's
 * requests, and for its own bookkeeping. tracemalloc allocates a trace entry (16 bytes) for
 * every block it traces, and its tracebacks, through the RAW allocator it saved, which is
 * heapshape's link: counted as the program's Python memory, they doubled the blocks of every
 * line under PYTHONTRACEMALLOC. fwd[fn] is the return address the wrapper's forwarding call
 * of malloc / calloc / realloc comes from, learned by a probe; a request of that kind from
 * anywhere else is the wrapper's own, and heapshape's hook passes it on untouched (its libc
 * malloc wrapper records it at the same line in the malloc domain). NULL: not screened (no
 * wrapper above, an OBJ or MEM link, or a wrapper that passes requests on by a tail call, so
 * that the return address is the program's). */
struct hs_pylink {
  struct hs_pyalloc prev;
  uint8_t domain; /* enum hs_domain */
  uint8_t pymem;  /* HS_PYMEM_* */
  void *volatile fwd[3];
};
enum { HS_FWD_MALLOC = 0, HS_FWD_CALLOC = 1, HS_FWD_REALLOC = 2 };

/* Set on this thread while a probe runs through the current chain (to its domain + 1); a
 * hook entered with hs_busy set notes its domain in hs_chain_hits when it is, and the first
 * link of the probed domain reached and the return address it was called from. */
extern HS_TLS int hs_chain_probing HS_HIDDEN;
extern HS_TLS unsigned hs_chain_hits HS_HIDDEN;
extern HS_TLS const struct hs_pylink *hs_chain_first HS_HIDDEN;
extern HS_TLS void *hs_chain_site HS_HIDDEN;
static inline void hs_chain_note(const struct hs_pylink *d, void *ret) {
  if (HS_UNLIKELY(hs_chain_probing)) {
    if (d->pymem + 1 == hs_chain_probing && !hs_chain_first) {
      hs_chain_first = d;
      hs_chain_site = ret;
    }
    hs_chain_hits |= 1u << d->pymem;
  }
}
/* 1 when a request of kind fn, called from ret, is a wrapper's own bookkeeping (see fwd). */
static inline int hs_chain_foreign(const struct hs_pylink *d, int fn, const void *ret) {
  const void *f = d->fwd[fn];
  return HS_UNLIKELY(f != NULL) && f != ret;
}

/* Start-up: the PyMem_{Get,Set}Allocator entry points and heapshape's hooks for each domain
 * (hooks[HS_PYMEM_*]; ctx ignored). */
void hs_chain_init(void (*get)(int, struct hs_pyalloc *), void (*set)(int, struct hs_pyalloc *),
                   int (*gil_check)(void), int (*add_pending)(int (*)(void *), void *),
                   const struct hs_pyalloc hooks[3]) HS_HIDDEN;
/* The domains the checks below look after (bits of HS_PYMEM_*; all three unless the Python
 * allocators are untraced, pyarena.c): a domain outside the mask is left alone. */
void hs_chain_domains(unsigned mask) HS_HIDDEN;
/* Puts the hooks on top of domain pymem unless the current allocator is already one of ours
 * (constructor; before any other thread or PEP 445 user can run). 0 on success. */
int hs_chain_install(int pymem) HS_HIDDEN;
/* With the GIL held, from a pending call (Py_AddPendingCall: the eval loop runs it outside
 * any allocator, so the probe cannot re-enter an allocator that holds its own lock, as
 * tracemalloc's free does): for each domain whose chain no longer reaches one of heapshape's
 * links (PYTHONMALLOC / -X dev replaced them during pre-initialization; a PEP 445 user that
 * had wrapped them restored an allocator saved before), installs a new link on top. A chain
 * that reaches a link is left as it is. */
void hs_chain_ensure(void) HS_HIDDEN;
/* After the exit snapshot (GIL held): the MEM and OBJ domains' own allocators back where
 * heapshape's link is on top; no link is installed again. */
void hs_chain_exit(void) HS_HIDDEN;
/* (hs_chain_ensure also learns each RAW link's fwd sites, or clears them when heapshape's link
 * is on top again.) */
/* Cheap check from the hooks (every 1024 events of a thread; nothing without the GIL): when
 * a domain's top allocator changed since it was last checked, schedules hs_chain_ensure as a
 * pending call. */
void hs_chain_poll(void) HS_HIDDEN;
/* RAW requests are few, and tracemalloc starting or stopping above heapshape shows first in
 * them (one trace entry per traced block): a RAW link's hooks check the chain every 16 of
 * their requests rather than every 1024 events (until the check, a wrapper's trace entries
 * count as the program's, or after it left the program's RAW blocks count as malloc). */
extern HS_TLS unsigned hs_chain_raw_events HS_HIDDEN;
static inline void hs_chain_raw_tick(const struct hs_pylink *d) {
  if (HS_UNLIKELY(d->pymem == HS_PYMEM_RAW) && !(++hs_chain_raw_events & 15)) {
    int busy = hs_busy;
    hs_busy = 1;
    hs_chain_poll();
    hs_busy = busy;
  }
}

#endif /* HEAPSHAPE_PRELOAD_PYCHAIN_H */
