/* Per-test high-water mark: heapshape_peak_reset() opens a window, heapshape_peak_get() reads
 * the highest number of bytes that blocks allocated since the reset held at once, which is
 * pytest-memray's limit_memory measure ("memory allocated during the test at its high-water
 * mark": blocks older than the test are not counted, and freeing them gives the test nothing).
 *
 * While a window is open, hs_core_alloc marks each block it records (HS_SHADOW_WIN in a
 * shadow slot, HS_MAP_WIN in a hash map value) and adds its size to hs_win_live; freeing a
 * marked block subtracts it. Both are atomic additions, so the peak is exact at every event,
 * in every thread; they cost something only while a window is open (the plugin opens one for
 * tests marked limit_memory). A reset clears the marks of the previous window's blocks
 * (a walk over the shadow leaves and the hash map, under hs_lock: about 1 ms per 100 MiB of
 * small-block heap) before it opens the next, so a mark always means "allocated since the
 * last reset".
 *
 * In sampled mode (HEAPSHAPE_SAMPLE_RATE) a window records every allocation, as does
 * heapshape_exact(1) until heapshape_exact(0) (the pytest plugin's marked tests in a sampled
 * session): hs_exact_on sends every allocation past the sampling countdown, and each block
 * recorded then carries HS_MAP_EXACT and counts with weight 1 in the site estimates (the
 * Horvitz-Thompson weight of a block recorded with probability 1), so the estimates stay
 * unbiased and what such a test allocated is counted exactly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>

#include "heapshape/heapshape.h"
#include "preload/core.h"

volatile int hs_win_open;
static int64_t hs_win_live, hs_win_peak;
/* bit 0: heapshape_exact(1); bit 1: a window is open */
volatile int hs_exact_on;
#define HS_EXACT_API 1
#define HS_EXACT_WIN 2

void hs_win_add(uint64_t size) {
  int64_t v = __atomic_add_fetch(&hs_win_live, (int64_t)size, __ATOMIC_RELAXED);
  int64_t p = __atomic_load_n(&hs_win_peak, __ATOMIC_RELAXED);
  while (v > p &&
         !__atomic_compare_exchange_n(&hs_win_peak, &p, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

void hs_win_sub(uint64_t size) { __atomic_sub_fetch(&hs_win_live, (int64_t)size, __ATOMIC_RELAXED); }

/* Clears every window mark; caller holds hs_lock (leaves and map stable). Shadow slots are
 * written lock-free by the threads that allocate and free their blocks: a compare-and-swap
 * leaves a slot alone when it changed meanwhile (a free or a new block, neither marked now). */
static void hs_win_clear_marks(void) {
  for (uint32_t l = 0; l < hs_nleaves + hs_nsides; l++) { /* the leaves, then the side slots */
    uint32_t *leaf = l < hs_nleaves ? hs_leaves[l] : hs_sides[l - hs_nleaves];
    for (size_t i = 0; i < HS_LEAF_SLOTS; i++) {
      uint32_t s = __atomic_load_n(&leaf[i], __ATOMIC_RELAXED);
      if (!(s & HS_SHADOW_WIN)) continue;
      __atomic_compare_exchange_n(&leaf[i], &s, s & ~HS_SHADOW_WIN, 0, __ATOMIC_RELAXED,
                                  __ATOMIC_RELAXED);
    }
  }
  for (size_t i = 0; i <= hs_map_mask; i++)
    if (hs_map[i].key) hs_map[i].val &= ~HS_MAP_WIN;
}

/* Public API (include/heapshape/heapshape.h). */
__attribute__((visibility("default"))) int heapshape_peak_reset(void) {
  if (!hs_active) {
    errno = ENODEV;
    return -1;
  }
  int saved = hs_busy;
  hs_busy = 1;
  __atomic_store_n(&hs_win_open, 0, __ATOMIC_SEQ_CST);
  __atomic_or_fetch(&hs_exact_on, HS_EXACT_WIN, __ATOMIC_SEQ_CST);
  hs_lock_acquire();
  hs_win_clear_marks();
  __atomic_store_n(&hs_win_live, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&hs_win_peak, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&hs_win_open, 1, __ATOMIC_SEQ_CST);
  hs_lock_release();
  hs_busy = saved;
  return 0;
}

__attribute__((visibility("default"))) int heapshape_peak_get(unsigned long long *peak,
                                                              unsigned long long *current) {
  if (!hs_active) {
    errno = ENODEV;
    return -1;
  }
  int64_t p = __atomic_load_n(&hs_win_peak, __ATOMIC_RELAXED);
  int64_t c = __atomic_load_n(&hs_win_live, __ATOMIC_RELAXED);
  if (peak) *peak = p > 0 ? (unsigned long long)p : 0;
  if (current) *current = c > 0 ? (unsigned long long)c : 0;
  return 0;
}

/* Closes the window: blocks allocated from now on are not counted (nor marked). */
__attribute__((visibility("default"))) int heapshape_peak_stop(void) {
  __atomic_store_n(&hs_win_open, 0, __ATOMIC_SEQ_CST);
  __atomic_and_fetch(&hs_exact_on, ~HS_EXACT_WIN, __ATOMIC_SEQ_CST);
  return 0;
}

__attribute__((visibility("default"))) int heapshape_exact(int on) {
  if (!hs_active) {
    errno = ENODEV;
    return -1;
  }
  if (on)
    __atomic_or_fetch(&hs_exact_on, HS_EXACT_API, __ATOMIC_SEQ_CST);
  else
    __atomic_and_fetch(&hs_exact_on, ~HS_EXACT_API, __ATOMIC_SEQ_CST);
  return hs_sample_rate ? 1 : 0;
}
