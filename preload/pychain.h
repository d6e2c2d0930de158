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
 * installed and never again. */
struct hs_pylink {
  struct hs_pyalloc prev;
  uint8_t domain; /* enum hs_domain */
  uint8_t pymem;  /* HS_PYMEM_* */
};

/* Set on this thread while a probe runs through the current chain; a hook entered with
 * hs_busy set notes its domain in hs_chain_hits when it is. */
extern HS_TLS int hs_chain_probing HS_HIDDEN;
extern HS_TLS unsigned hs_chain_hits HS_HIDDEN;
static inline void hs_chain_note(const struct hs_pylink *d) {
  if (HS_UNLIKELY(hs_chain_probing)) hs_chain_hits |= 1u << d->pymem;
}

/* Start-up: the PyMem_{Get,Set}Allocator entry points and heapshape's hooks (ctx ignored). */
void hs_chain_init(void (*get)(int, struct hs_pyalloc *), void (*set)(int, struct hs_pyalloc *),
                   int (*gil_check)(void), int (*add_pending)(int (*)(void *), void *),
                   const struct hs_pyalloc *hooks) HS_HIDDEN;
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
/* Cheap check from the hooks (every 1024 events of a thread; nothing without the GIL): when
 * a domain's top allocator changed since it was last checked, schedules hs_chain_ensure as a
 * pending call. */
void hs_chain_poll(void) HS_HIDDEN;

#endif /* HEAPSHAPE_PRELOAD_PYCHAIN_H */
