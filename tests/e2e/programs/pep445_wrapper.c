/* A PEP 445 user of its own, for tests/e2e/test_pep445.py: hs_wrap_install() wraps the OBJ
 * domain's current allocator with one that counts calls, hs_wrap_remove() restores the one it
 * saved (the pattern PEP 445 documents), hs_wrap_calls() is the count. Loaded with ctypes;
 * the Py* functions are looked up at run time, so it links against nothing. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef struct {
  void *ctx;
  void *(*malloc)(void *ctx, size_t size);
  void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
  void *(*realloc)(void *ctx, void *ptr, size_t new_size);
  void (*free)(void *ctx, void *ptr);
} alloc_t;

static alloc_t saved;
static long calls;

static void *w_malloc(void *ctx, size_t n) {
  (void)ctx;
  __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
  return saved.malloc(saved.ctx, n);
}
static void *w_calloc(void *ctx, size_t a, size_t b) {
  (void)ctx;
  __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
  return saved.calloc(saved.ctx, a, b);
}
static void *w_realloc(void *ctx, void *p, size_t n) {
  (void)ctx;
  __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
  return saved.realloc(saved.ctx, p, n);
}
static void w_free(void *ctx, void *p) {
  (void)ctx;
  saved.free(saved.ctx, p);
}

int hs_wrap_install(void) {
  void (*get)(int, alloc_t *) = (void (*)(int, alloc_t *))dlsym(RTLD_DEFAULT, "PyMem_GetAllocator");
  void (*set)(int, alloc_t *) = (void (*)(int, alloc_t *))dlsym(RTLD_DEFAULT, "PyMem_SetAllocator");
  if (!get || !set) return -1;
  get(2 /* PYMEM_DOMAIN_OBJ */, &saved);
  alloc_t mine = {&saved, w_malloc, w_calloc, w_realloc, w_free};
  set(2, &mine);
  return 0;
}

int hs_wrap_remove(void) {
  void (*set)(int, alloc_t *) = (void (*)(int, alloc_t *))dlsym(RTLD_DEFAULT, "PyMem_SetAllocator");
  if (!set) return -1;
  set(2, &saved);
  return 0;
}

long hs_wrap_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }
