/* heapshape interposer: the libc allocation functions, exported from libheapshape.so so that
 * LD_PRELOAD puts them ahead of glibc's. Each forwards to glibc's __libc_* entry point (no
 * dlsym bootstrap) and, at the outermost level, records the block with its call site.
 * Blocks are never prefixed with a header of ours, so malloc_usable_size passes through and
 * frees of blocks we never saw are forwarded unchanged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <malloc.h>
#include <stdlib.h>

#include "preload/core.h"

#define HS_EXPORT __attribute__((visibility("default")))
#define HS_RET ((uintptr_t)__builtin_return_address(0))

/* Records p (size bytes) for a caller at return address ret. */
static inline void hs_record(void *p, size_t size, uintptr_t ret) {
  hs_busy = 1;
  if (HS_UNLIKELY(hs_attention)) hs_attend();
  hs_core_alloc(p, size, hs_py_or_native_site(HS_DOMAIN_MALLOC, ret));
  hs_busy = 0;
}

#define HS_SHOULD_RECORD_N(p, n) (HS_LIKELY(hs_active) && HS_LIKELY(!hs_busy) && (p) && !hs_sampled_out(n))

HS_EXPORT void *malloc(size_t size) {
  void *p = __libc_malloc(size);
  if (HS_SHOULD_RECORD_N(p, size)) hs_record(p, size, HS_RET);
  return p;
}

HS_EXPORT void *calloc(size_t nmemb, size_t size) {
  void *p = __libc_calloc(nmemb, size);
  if (HS_SHOULD_RECORD_N(p, nmemb * size)) hs_record(p, nmemb * size, HS_RET);
  return p;
}

HS_EXPORT void free(void *ptr) {
  if (ptr && HS_LIKELY(hs_active) && !hs_busy) {
    hs_busy = 1;
    if (HS_UNLIKELY(hs_attention)) hs_attend();
    /* Forget the block before it is freed: afterwards another thread may get its address. */
    hs_core_free(ptr, NULL, NULL);
    hs_busy = 0;
  }
  __libc_free(ptr);
}

static void *hs_realloc_impl(void *ptr, size_t size, uintptr_t ret) {
  if (!HS_LIKELY(hs_active) || hs_busy) return __libc_realloc(ptr, size);
  hs_busy = 1;
  uint32_t osite = 0;
  size_t osize = 0;
  int had = ptr ? hs_core_free(ptr, &osite, &osize) : 0;
  hs_busy = 0;
  void *p = __libc_realloc(ptr, size);
  if (p) {
    if (!hs_sampled_out(size)) hs_record(p, size, ret);
  } else if (had && size) {
    hs_busy = 1; /* failed: the old block lives on */
    hs_core_alloc(ptr, osize, osite);
    hs_busy = 0;
  }
  return p;
}

HS_EXPORT void *realloc(void *ptr, size_t size) { return hs_realloc_impl(ptr, size, HS_RET); }

HS_EXPORT void *reallocarray(void *ptr, size_t nmemb, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(nmemb, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return hs_realloc_impl(ptr, total, HS_RET);
}

static void *hs_memalign_impl(size_t align, size_t size, uintptr_t ret) {
  void *p = __libc_memalign(align, size);
  if (HS_SHOULD_RECORD_N(p, size)) hs_record(p, size, ret);
  return p;
}

HS_EXPORT int posix_memalign(void **memptr, size_t alignment, size_t size) {
  if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0)
    return EINVAL;
  int saved = errno;
  void *p = hs_memalign_impl(alignment, size, HS_RET);
  if (!p) {
    int e = errno;
    errno = saved;
    return e ? e : ENOMEM;
  }
  *memptr = p;
  errno = saved;
  return 0;
}

HS_EXPORT void *aligned_alloc(size_t alignment, size_t size) {
  return hs_memalign_impl(alignment, size, HS_RET);
}

HS_EXPORT void *memalign(size_t alignment, size_t size) {
  return hs_memalign_impl(alignment, size, HS_RET);
}

HS_EXPORT void *valloc(size_t size) {
  void *p = __libc_valloc(size);
  if (HS_SHOULD_RECORD_N(p, size)) hs_record(p, size, HS_RET);
  return p;
}

HS_EXPORT void *pvalloc(size_t size) {
  void *p = __libc_pvalloc(size);
  if (HS_SHOULD_RECORD_N(p, size)) hs_record(p, size, HS_RET);
  return p;
}
