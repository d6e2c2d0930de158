/* heapshape: "Python allocators untraced", pytest-memray's default model
 * (HEAPSHAPE_PYTHON_ALLOCATORS=untraced; the pytest plugin's default).
 *
 * The MEM and OBJ domains get no PEP 445 hooks and free-list re-attribution stays off, so
 * pymalloc's ~hundreds of millions of small-object events in a test suite cost nothing. What
 * is recorded: the RAW domain and the interposed malloc family as always, and pymalloc's
 * arenas (256 KiB up to 3.9, 1 MiB from 3.10) through PyObject_SetArenaAllocator, each as one
 * block in the RAW domain at the Python line whose allocation needed a new arena (memray sees
 * the same arenas through its mmap hook). Small objects are then visible only as the arenas
 * that hold them: an arena is recorded when pymalloc maps it and forgotten when pymalloc
 * unmaps it (when its last block is freed).
 *
 * heapshape_trace_python_allocators() (GIL held) switches to traced, once and for good: the
 * arenas recorded so far are dropped (counted as freed at their lines) and no new one is
 * recorded, then the MEM and OBJ hooks go on top of whatever allocator those domains have
 * (pychain.c), and re-attribution starts. Dropping rather than keeping the recorded arenas
 * until pymalloc unmaps them: an arena lives as long as one of its blocks does, and every
 * block the hooks record in it after the switch would be counted twice, once inside the
 * arena and once by itself. Blocks allocated before the switch are then unknown to the hooks
 * (their frees are forwarded: the map filter says they were never recorded), as for blocks
 * older than the hooks in any late start. The hooks are never taken off again: a block
 * recorded by them and freed while they are off would leave a stale entry.
 *
 * Arena calls come from pymalloc, which runs with the GIL held: the list of recorded arenas is
 * protected by the GIL. Bookkeeping memory comes from mmap.
 */
#define _GNU_SOURCE
#include "preload/pyarena.h"

#include "heapshape/heapshape.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/mman.h>

int hs_py_untraced;

/* PyObjectArenaAllocator, mirrored (stable since 3.4). */
struct hs_arena_api {
  void *ctx;
  void *(*alloc)(void *ctx, size_t size);
  void (*free)(void *ctx, void *ptr, size_t size);
};
static struct hs_arena_api hs_arena_prev;
static int hs_arena_on; /* new arenas are recorded */

/* The arenas recorded and not yet unmapped (65,536 of at least 256 KiB: 16 GiB or more of
 * small objects; past that new arenas are not recorded). */
#define HS_ARENAS 65536
static void **hs_arenas;
static size_t hs_narenas;

static void *hs_arena_alloc(void *ctx, size_t size) {
  (void)ctx;
  void *p = hs_arena_prev.alloc(hs_arena_prev.ctx, size);
  /* outermost level only (hs_busy), like the hooks */
  if (!p || !hs_arena_on || hs_busy || !hs_active || hs_narenas == HS_ARENAS) return p;
  hs_busy = 1;
  if (!hs_sampled_out(size)) {
    hs_core_alloc(p, size, hs_py_site_now(HS_DOMAIN_RAW));
    hs_arenas[hs_narenas++] = p;
  }
  hs_busy = 0;
  return p;
}

/* Forgets p if it was recorded (GIL held). */
static void hs_arena_forget(void *p) {
  for (size_t i = hs_narenas; i-- > 0;)
    if (hs_arenas[i] == p) {
      hs_arenas[i] = hs_arenas[--hs_narenas];
      int busy = hs_busy; /* also inside a traced hook after the switch: the arena must go */
      hs_busy = 1;
      if (hs_active) hs_core_free(p, NULL, NULL);
      hs_busy = busy;
      return;
    }
}

static void hs_arena_free(void *ctx, void *ptr, size_t size) {
  (void)ctx;
  /* forgotten first: once unmapped, another thread's mmap may get the address */
  if (ptr && hs_narenas) hs_arena_forget(ptr);
  hs_arena_prev.free(hs_arena_prev.ctx, ptr, size);
}

int hs_arena_init(void) {
  void (*get)(struct hs_arena_api *), (*set)(struct hs_arena_api *);
  *(void **)&get = dlsym(RTLD_DEFAULT, "PyObject_GetArenaAllocator");
  *(void **)&set = dlsym(RTLD_DEFAULT, "PyObject_SetArenaAllocator");
  if (!get || !set) return -1;
  void *m = mmap(NULL, HS_ARENAS * sizeof(void *), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return -1;
  hs_arenas = m;
  get(&hs_arena_prev);
  if (!hs_arena_prev.alloc || !hs_arena_prev.free) return -1;
  struct hs_arena_api ours = {NULL, hs_arena_alloc, hs_arena_free};
  set(&ours);
  hs_arena_on = 1;
  return 0;
}

/* Public API (include/heapshape/heapshape.h). */
__attribute__((visibility("default"))) int heapshape_trace_python_allocators(void) {
  if (!hs_active) {
    errno = ENODEV;
    return -1;
  }
  if (!hs_py_untraced) return 0;
  if (!hs_py_holds_gil()) {
    errno = EPERM;
    return -1;
  }
  int busy = hs_busy;
  hs_busy = 1;
  hs_arena_on = 0;
  while (hs_narenas) hs_core_free(hs_arenas[--hs_narenas], NULL, NULL);
  hs_py_trace_python();
  hs_py_untraced = 0;
  hs_busy = busy;
  return 1;
}
