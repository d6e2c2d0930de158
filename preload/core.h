/* heapshape shim core: the tables behind every recorded allocation, and the process lifecycle.
 *
 * interpose.c turns libc calls into hs_core_* calls; pyhooks.c does the same for CPython's
 * PyMem allocator domains and computes Python call sites; snapshot_write.c serializes the
 * tables. Everything here may run inside malloc: no stdio, no allocation through the hooked
 * allocator (bookkeeping uses __libc_malloc or mmap), no calls into Python.
 *
 * Locking: one mutex, hs_lock, protects the pointer map, the site/frame/string tables and the
 * totals. It is never held across a call into Python or into the program's allocator.
 * pthread_atfork takes it around fork so the child inherits consistent tables.
 */
#ifndef HEAPSHAPE_PRELOAD_CORE_H
#define HEAPSHAPE_PRELOAD_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "heapshape/format.h"

#define HS_LIKELY(x) __builtin_expect(!!(x), 1)
#define HS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HS_HIDDEN __attribute__((visibility("hidden")))
#define HS_TLS __thread __attribute__((tls_model("initial-exec")))

#define HS_MAX_FRAMES 128
#define HS_PATH_MAX 4096

/* glibc's allocator entry points; the shim forwards to these and uses them for itself. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

/* pyhooks.c's per-thread table, innermost frame's instruction pointer -> current OBJ site
 * (3.13+, one frame; filled by the OBJ hooks and hs_py_site_now, valid while hs_code_epoch is
 * unchanged; 1024 entries, 16 KiB a thread: on raytrace 1 the tracer's inline path missed
 * 256 entries 421,943 times, 512 about as often, 1024 32,409 times). The
 * reference tracer (reattrib.c, hs_ra_fast) reads it inline and relies on this: a hit is what
 * hs_py_site_now(HS_DOMAIN_OBJ) would answer, given a thread state, a Python frame and
 * hs_py_own clear; an entry exists only once the one-frame path is on for good (hs_walk and
 * hs_fast are never turned off again). */
#define HS_NOW 1024
struct hs_now_e {
  const char *ip;
  unsigned epoch;
  uint32_t site;
};

/* The thread-local words the Python hooks and the reference tracer read on every event, in
 * one block (hs_hot): the shim is a shared object, so each thread-local variable's offset is
 * a load from the GOT; one block needs one such load for all of them, and the two flags
 * tested together (hs_busy, hs_py_own) are one 8-byte word, one load and test (hs_hot_flags). */
struct hs_hot {
  struct hs_now_e now[HS_NOW];       /* hs_now (below); first: an entry's address is one add */
  union {
    struct {
      /* Set while this thread is inside heapshape (bookkeeping or a hooked allocator call):
       * allocations made then are forwarded untouched and not recorded. */
      int busy;
      int own; /* hs_py_own (below) */
    };
    uint64_t any;
  } flags;
  uintptr_t last_block, last_size; /* hs_last_block, hs_last_size (below) */
};
extern HS_TLS struct hs_hot hs_hot HS_HIDDEN;
#define hs_busy (hs_hot.flags.busy)
#define hs_py_own (hs_hot.flags.own)
#define hs_last_block (hs_hot.last_block)
#define hs_last_size (hs_hot.last_size)
#define hs_now (hs_hot.now)
/* hs_now's entry for the instruction pointer ip: index (ip >> 1) & (HS_NOW - 1), written as
 * the byte offset it makes (one shift and one mask) */
static inline __attribute__((always_inline)) struct hs_now_e *hs_now_at(const char *ip) {
  return (struct hs_now_e *)((char *)hs_now + (((uintptr_t)ip << 3) & ((uintptr_t)(HS_NOW - 1) << 4)));
}
/* hs_busy | hs_py_own, in one load */
#define hs_hot_flags (hs_hot.flags.any)

/* The two process-wide words the hooks test on every event, in one 8-byte word: hs_gate_open
 * is 1 exactly when tracking is on and nothing waits (hs_active 1, hs_attention 0). */
union hs_gate {
  struct {
    /* 1 while tracking. Written by init (before threads), by hs_disable (any thread, once). */
    int active;
    /* Non-zero when some slow-path work waits for a safe point: a requested dump (SIGUSR2) or
     * the end of interpreter initialization. Checked by every hook at depth 0. */
    int attention;
  };
  uint64_t both;
};
extern volatile union hs_gate hs_gate HS_HIDDEN;
#define hs_active (hs_gate.active)
#define hs_attention (hs_gate.attention)
#define hs_gate_open() (hs_gate.both == 1)
extern volatile int hs_dump_requested HS_HIDDEN;
/* enum hs_reason of the requested dump (signal or interval) */
extern volatile uint32_t hs_dump_reason HS_HIDDEN;
/* Async-signal-safe: asks for a snapshot at the next safe point. */
static inline void hs_request_dump(uint32_t reason) {
  hs_dump_reason = reason;
  hs_dump_requested = 1;
  hs_attention = 1;
}

/* 1 when this process writes its exit or periodic snapshots (writers.c says which do).
 * Takes hs_lock. */
uint32_t hs_proc_writes(void) HS_HIDDEN;       /* writers.c: enum hs_writer, 0: writes nothing */
void hs_exit_write(void) HS_HIDDEN;            /* writers.c: the exit snapshot, when the rules allow */
uint32_t hs_proc_rule_locked(void) HS_HIDDEN;  /* the same, hs_lock held and totals merged */
void hs_proc_mark_base(int at_fork) HS_HIDDEN; /* a child's own work starts here */
int hs_budget_allows(void) HS_HIDDEN;          /* child_budget.c: 0 when the children's budget is spent */
void hs_budget_note(uint64_t bytes) HS_HIDDEN;    /* the snapshot just written, when budgeted */
void hs_budget_release(void) HS_HIDDEN;         /* drops the ledger's lock without a record */
/* By hand: the root, or a child outliving it, deletes the ledger at exit (and the root, at its
 * very end, once more) */
void hs_budget_close(void) HS_HIDDEN;
void hs_budget_exit(void) HS_HIDDEN;
uint64_t hs_live_now(void) HS_HIDDEN;          /* live bytes of every thread (core.c) */

/* Time-driven periodic snapshots (timer.c). */
extern int hs_timer_running HS_HIDDEN;
void hs_timer_init(void) HS_HIDDEN;
void hs_timer_resume(void) HS_HIDDEN; /* after a fork, from the hooks */
void hs_timer_kick(void) HS_HIDDEN;   /* async-signal-safe: a request is waiting */

/* The snapshot signal (sigsnap.c): 0 when none. */
extern int hs_snap_signal HS_HIDDEN;
void hs_signal_init(void) HS_HIDDEN;

/* A call site: frame ids, innermost first. frames_raw is scratch for hs_intern_mixed_site. */
struct hs_stack {
  uint32_t n;
  uint32_t frames[HS_MAX_FRAMES];
  uint64_t frames_raw[HS_MAX_FRAMES];
};

/* Sampled mode (HEAPSHAPE_SAMPLE_RATE=bytes): allocations are recorded as points of a
 * Poisson process over allocated bytes with mean spacing hs_sample_rate, per thread. Returns
 * 1 when this allocation is not sampled (and must not be recorded). */
extern uint64_t hs_sample_rate HS_HIDDEN;
extern HS_TLS int64_t hs_sample_left HS_HIDDEN;
void hs_sample_next(void) HS_HIDDEN;
/* Non-zero while sampled mode records every allocation (testpeak.c: heapshape_exact(1), or a
 * per-test window open): such blocks carry HS_MAP_EXACT and count with weight 1. */
extern volatile int hs_exact_on HS_HIDDEN;
static inline int hs_sampled_out(size_t size) {
  if (HS_LIKELY(!hs_sample_rate)) return 0;
  if (HS_UNLIKELY(hs_exact_on)) return 0;
  if (HS_UNLIKELY(hs_sample_left == 0)) hs_sample_next(); /* thread's first allocation */
  hs_sample_left -= (int64_t)size;
  if (HS_LIKELY(hs_sample_left > 0)) return 1;
  hs_sample_next();
  return 0;
}

/* Records a new block p of size bytes at site. Caller holds hs_busy. */
void hs_core_alloc(void *p, size_t size, uint32_t site) HS_HIDDEN;
/* Forgets p; returns 1 and its site/size when it was tracked. Caller holds hs_busy. */
int hs_core_free(void *p, uint32_t *site, size_t *size) HS_HIDDEN;

/* Interning (take hs_lock themselves). Return 0 on failure (site 0 is the catch-all). */
uint32_t hs_intern_string(const char *s, size_t len) HS_HIDDEN;
/* Same, caller holds hs_lock; returns UINT32_MAX on failure. */
uint32_t hs_intern_string_unlocked(const char *s, size_t len) HS_HIDDEN;
uint32_t hs_intern_frame(uint8_t kind, int32_t lineno, uint32_t file_sid, uint32_t name_sid,
                         uint64_t addr) HS_HIDDEN;
uint32_t hs_intern_site(uint8_t domain, const struct hs_stack *st) HS_HIDDEN;
/* Site of a stack whose entries are frame ids, or, where native[i], native addresses in
 * frames_raw[i] (interned here, under one lock). */
uint32_t hs_intern_mixed_site(uint8_t domain, struct hs_stack *st, const uint8_t *native) HS_HIDDEN;
/* Site of a native caller address (frame kind NATIVE), cached. */
uint32_t hs_native_site(uint8_t domain, uintptr_t ret) HS_HIDDEN;

void hs_lock_acquire(void) HS_HIDDEN;
void hs_lock_release(void) HS_HIDDEN;

/* Slow path run by hooks at depth 0 when hs_attention is set. */
void hs_attend(void) HS_HIDDEN;

/* Turns tracking off for good with one warning line. */
void hs_disable(const char *why, int err) HS_HIDDEN;

/* Writes a warning line "heapshape: warning: <a><b><c>" to stderr (write(2), no stdio). */
void hs_warn3(const char *a, const char *b, const char *c) HS_HIDDEN;

/* Snapshot writing (snapshot_write.c). reason is enum hs_reason. path NULL = default name. */
/* The decimal value of environment variable name, clamped to [lo, hi]; dflt when unset. */
uint32_t hs_env_u32(const char *name, uint32_t dflt, uint32_t lo, uint32_t hi) HS_HIDDEN;

int hs_snapshot_write(const char *path, uint32_t reason) HS_HIDDEN;

/* The snapshot writer streams its output through a small window straight into the file, so
 * a snapshot never needs memory the size of the file (at exit, when the heap is usually at
 * its largest, that buffer was most of the shim's share of peak RSS on small programs). The
 * CRC of the END section is computed window by window. A write error is kept in err; later
 * output is dropped and the writer reports the error once serialization is over. */
struct hs_out {
  char *buf;
  size_t cap, len;  /* window */
  uint64_t flushed; /* bytes already handed to the file */
  uint32_t crc;     /* over the flushed bytes */
  int fd, err;
};
void hs_out_put(struct hs_out *o, const void *p, size_t n) HS_HIDDEN;
void hs_out_pad8(struct hs_out *o) HS_HIDDEN; /* zero bytes up to a multiple of 8 */

/* Process facts, filled at init and after fork (core.c). */
struct hs_process {
  int pid;
  int root_pid;         /* HEAPSHAPE_ROOT_PID, or 0 */
  int root_by_hand;     /* no HEAPSHAPE_ROOT_PID: LD_PRELOAD set by hand (root_process.c) */
  int root_inferred;    /* root_pid found from HEAPSHAPE_DIR or LD_PRELOAD (writers.c) */
  uint32_t max_frames;  /* HEAPSHAPE_FRAMES, default 1 */
  uint32_t program_sid;
  uint32_t cmdline_sid;
  uint32_t seq;         /* last sequence number used for a non-exit snapshot */
  int final_written;    /* exit snapshot done */
  int anatomy;          /* HEAPSHAPE_ANATOMY, default 1 */
  int fsync;            /* HEAPSHAPE_FSYNC, default 0: fsync a snapshot before its rename */
  int all_children;     /* HEAPSHAPE_CHILDREN=all: every child process writes a snapshot */
  int no_children;      /* HEAPSHAPE_CHILDREN=none: only the root writes an exit snapshot */
  uint32_t child_budget_mib; /* HEAPSHAPE_CHILD_BUDGET, default 128; 0: no limit (child_budget.c) */
  int budget_pending;   /* the next snapshot is a budgeted child's: note its size */
  int forked;           /* a child of fork() (set in the child's atfork handler) */
  int exec_tried;       /* execve or a relative was called (writers.c) */
  int has_base;         /* base_live is set (writers.c) */
  uint64_t base_live, base_high; /* live bytes at the fork or the end of Python's start-up, the most since */
  uint64_t interval_ns; /* HEAPSHAPE_INTERVAL (seconds, may be fractional): periodic snapshots */
  uint64_t start_ns;
  char program[256];
  char output[HS_PATH_MAX]; /* HEAPSHAPE_OUTPUT (root process exit snapshot) or "" */
  char dir[HS_PATH_MAX];    /* directory for default names */
};
extern struct hs_process hs_proc HS_HIDDEN;

/* Totals, protected by hs_lock. */
struct hs_totals {
  uint64_t live_bytes, live_count, peak_live_bytes;
  uint64_t allocs, frees, alloc_bytes;
};

/* Per-site estimates in sampled mode (ESTM section), and the per-site live memory at the last
 * high-water copy (PEAK section), the timeline (TIME section). All under hs_lock. */
struct hs_site_est {
  double live_bytes, live_count, live_bytes_var, alloc_bytes;
};
struct hs_peak_rec {
  uint64_t live_count, live_bytes;
};
#define HS_TIME_TOP 4
struct hs_time_sample {
  uint64_t t_ns; /* since tracking started */
  uint64_t live_bytes, live_count;
  struct {
    uint32_t site, pad;
    uint64_t bytes;
  } top[HS_TIME_TOP];
};
struct hs_history {
  const struct hs_site_est *est; /* NULL unless sampling */
  const struct hs_peak_rec *peak;
  uint32_t peak_sites;            /* entries in peak */
  uint64_t peak_bytes, peak_time_ns;
  const struct hs_time_sample *time;
  uint32_t time_count;
  uint64_t time_interval_ns;
};
/* Caller holds hs_lock. */
void hs_history_get(struct hs_history *h) HS_HIDDEN;
/* Sums the per-thread statistics into the site statistics and hs_tot; caller holds hs_lock. */
void hs_stats_merge(void) HS_HIDDEN;
extern struct hs_totals hs_tot HS_HIDDEN;

/* Table access for the writer; caller holds hs_lock. */
struct hs_site_stats {
  uint64_t allocs, frees, alloc_bytes, live_count, live_bytes, peak_live_bytes;
};
struct hs_string_view {
  const char *s;
  uint32_t len;
};
struct hs_frame_view {
  uint8_t kind;
  int32_t lineno;
  uint32_t file_sid, name_sid;
  uint64_t addr;
};
uint32_t hs_string_count(void) HS_HIDDEN;
struct hs_string_view hs_string_get(uint32_t id) HS_HIDDEN;
uint32_t hs_frame_count(void) HS_HIDDEN;
struct hs_frame_view *hs_frame_get(uint32_t id) HS_HIDDEN;
uint32_t hs_site_count(void) HS_HIDDEN;
const struct hs_site_stats *hs_site_stats_get(uint32_t id, uint8_t *domain,
                                              const uint32_t **frames,
                                              uint32_t *nframes) HS_HIDDEN;

/* The live blocks, for the anatomy pass (caller holds hs_lock). Each live block has an index
 * below hs_live_capacity(); hs_live_addr is 0 for an index without a block. A value is
 * size << HS_SITE_ID_BITS | site. */
struct hs_slot { /* a hash map slot (core.c) */
  uintptr_t key; /* block address, 0 = empty */
  uint64_t val;
};
#define HS_SITE_ID_BITS 24
#define HS_SITE_ID_MASK ((1ull << HS_SITE_ID_BITS) - 1)
#define HS_REGION_SHIFT 21
/* shadow slots cover 32-byte granules (core.c explains) */
#define HS_GRANULE_SHIFT 5
#define HS_LEAF_SLOTS ((size_t)1 << (HS_REGION_SHIFT - HS_GRANULE_SHIFT))
#define HS_PRESENT (1ull << 63)
/* a hash map value with HS_MAP_WIN was allocated while a per-test window was open
 * (testpeak.c); sizes are below 2^37 */
#define HS_MAP_WIN (1ull << 62)
/* a hash map value with HS_MAP_EXACT was recorded by sampled mode while it recorded every
 * allocation (hs_exact_on): it stands for itself alone in the estimates; sizes are below 2^37 */
#define HS_MAP_EXACT (1ull << 61)
#define HS_VAL_MASK (~(HS_PRESENT | HS_MAP_WIN | HS_MAP_EXACT))
/* slot = (size + 1) << 22 | half << 21 | win << 20 | site: half is bit 4 of the block's
 * address, win says the block was allocated while a per-test window was open (testpeak.c) */
#define HS_SHADOW_SITE_BITS 21
#define HS_SHADOW_HALF (1u << HS_SHADOW_SITE_BITS)
#define HS_SHADOW_SIZE_SHIFT (HS_SHADOW_SITE_BITS + 1)
#define HS_SHADOW_WIN (1u << 20)
#define HS_SHADOW_SITE_MASK ((1u << 20) - 1)
#define HS_SHADOW_MAX_SIZE 1022u
extern uint32_t **hs_l1 HS_HIDDEN;
/* Counting filter over the pointer map's keys (written under hs_lock, read without it): a
 * free whose counter is 0 has no entry in the map. Indexed by the address's 16-byte granule
 * modulo 1 MiB, not by a hash: consecutive frees are mostly of nearby blocks, so their
 * counters share cache lines (a hashed index made this load an L1 miss on most frees, 69% of
 * the sampled-mode free path in perf). Addresses 1 MiB apart share a counter, which costs only
 * a locked lookup. */
#define HS_MAP_FILTER 65536
extern uint8_t hs_map_filter[HS_MAP_FILTER] HS_HIDDEN;
/* The same filter as one bit per counter (counter != 0), 8 KiB: what the lock-free readers
 * load. The counters (128 KiB when they were 16-bit; 64 KiB of 8-bit ones since 2026-12-04,
 * resident in every process that has a few hundred blocks in the map, spread over 1 MiB of
 * addresses; a counter saturates at 255 and stays: its bit then stays set, which costs only
 * locked lookups) missed the cache on most reads: in perf of the sampled
 * session on more-itertools, the filter load was 59% of re-attribution's samples. Both are
 * written under hs_lock, the bits with a plain read and an atomic store (no other writer). */
extern uint64_t hs_map_bits[HS_MAP_FILTER / 64] HS_HIDDEN;
static inline size_t hs_filter_index(uintptr_t key) {
  return (size_t)(key >> 4) & (HS_MAP_FILTER - 1);
}
static inline int hs_filter_bit(size_t i) {
  return (int)(__atomic_load_n(&hs_map_bits[i >> 6], __ATOMIC_RELAXED) >> (i & 63)) & 1;
}
/* Sampled mode keeps every recorded block in the map (no shadow table): 0 means p was
 * certainly not recorded. */
static inline int hs_map_may_hold(const void *p) {
  return hs_filter_bit(hs_filter_index((uintptr_t)p));
}
extern uint32_t **hs_leaves HS_HIDDEN;
/* 1 when address a cannot be in the shadow table: not 16-byte aligned, or at or above 2^47;
 * one mask and test ((a & 15) || (a >> 47) compiled to five instructions). */
static inline __attribute__((always_inline)) int hs_shadow_outside(uintptr_t a) {
  return (a & ~((((uintptr_t)1 << 47) - 1) & ~(uintptr_t)15)) != 0;
}
/* The shadow slot of address a without creating anything (NULL: no leaf, or a is not for the
 * shadow table); read without hs_lock, as hs_core_reattribute does. The main slot: the second
 * of two 16-byte blocks in a granule is in the side slot behind it (slot + HS_LEAF_SLOTS). */
static inline uint32_t *hs_shadow_peek(uintptr_t a) {
  if (HS_UNLIKELY(!hs_l1 || hs_shadow_outside(a))) return NULL;
  uint32_t *leaf = __atomic_load_n(&hs_l1[a >> HS_REGION_SHIFT], __ATOMIC_ACQUIRE);
  return leaf ? &leaf[(a & (((uintptr_t)1 << HS_REGION_SHIFT) - 1)) >> HS_GRANULE_SHIFT] : NULL;
}

/* hs_shadow_peek where the shadow table is known to be there (hs_l1 is never taken away). */
static inline __attribute__((always_inline)) uint32_t *hs_shadow_peek_l1(uintptr_t a) {
  if (HS_UNLIKELY(hs_shadow_outside(a))) return NULL;
  uint32_t *leaf = __atomic_load_n(&hs_l1[a >> HS_REGION_SHIFT], __ATOMIC_ACQUIRE);
  return leaf ? &leaf[(a & (((uintptr_t)1 << HS_REGION_SHIFT) - 1)) >> HS_GRANULE_SHIFT] : NULL;
}

static inline uint32_t hs_shadow_half(uintptr_t a) { return (uint32_t)(a >> 4 & 1) << HS_SHADOW_SITE_BITS; }
static inline uint32_t hs_shadow_encode(uintptr_t a, uint64_t size, uint32_t site) {
  return (uint32_t)(size + 1) << HS_SHADOW_SIZE_SHIFT | hs_shadow_half(a) | site;
}
/* Whether slot s (non-zero) records the block at address a (and not its neighbour in the
 * same 32-byte granule). */
static inline int hs_shadow_is(uint32_t s, uintptr_t a) {
  return ((s ^ hs_shadow_half(a)) & HS_SHADOW_HALF) == 0;
}
/* shadow slot -> size << HS_SITE_ID_BITS | site */
static inline uint64_t hs_shadow_decode(uint32_t s) {
  return (uint64_t)((s >> HS_SHADOW_SIZE_SHIFT) - 1) << HS_SITE_ID_BITS | (s & HS_SHADOW_SITE_MASK);
}
static inline uint64_t hs_shadow_size(uint32_t s) { return (s >> HS_SHADOW_SIZE_SHIFT) - 1; }
extern uintptr_t *hs_leaf_base HS_HIDDEN;
extern uint32_t *hs_leaf_no_of HS_HIDDEN;
/* a region's side slots (the second of two 16-byte blocks in a granule, at main slot +
 * HS_LEAF_SLOTS; core.c explains) have a side number once one was used: hs_side_no_of holds it
 * + 1 (0: none); hs_sides[side number] is the region's side slots, hs_side_base its address */
extern uint32_t *hs_side_no_of HS_HIDDEN;
extern uint32_t **hs_sides HS_HIDDEN;
extern uintptr_t *hs_side_base HS_HIDDEN;
extern uint32_t hs_nsides HS_HIDDEN;
extern uint32_t hs_nleaves HS_HIDDEN;
extern struct hs_slot *hs_map HS_HIDDEN;
extern size_t hs_map_mask HS_HIDDEN;
extern unsigned hs_map_shift HS_HIDDEN;

static inline size_t hs_map_hash(uintptr_t key) {
  return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> hs_map_shift);
}
/* the first index of the side slots: after the leaves and the hash map (a multiple of 64) */
static inline size_t hs_live_side_start(void) {
  return (size_t)hs_nleaves * HS_LEAF_SLOTS + hs_map_mask + 1;
}
static inline size_t hs_live_capacity(void) {
  return hs_live_side_start() + (size_t)hs_nsides * HS_LEAF_SLOTS;
}
/* index idx >= hs_live_side_start(): its side slot and, into *base, its region's address */
static inline uint32_t hs_live_side_slot(size_t idx, uintptr_t *base) {
  size_t k = idx - hs_live_side_start();
  *base = hs_side_base[k / HS_LEAF_SLOTS];
  return hs_sides[k / HS_LEAF_SLOTS][k % HS_LEAF_SLOTS];
}
static inline uint64_t hs_live_val(size_t idx) {
  size_t nl = (size_t)hs_nleaves * HS_LEAF_SLOTS;
  if (idx < nl) {
    uint32_t s = hs_leaves[idx / HS_LEAF_SLOTS][idx % HS_LEAF_SLOTS];
    return s ? hs_shadow_decode(s) : 0;
  }
  if (HS_UNLIKELY(idx >= hs_live_side_start())) {
    uintptr_t base;
    uint32_t s = hs_live_side_slot(idx, &base);
    return s ? hs_shadow_decode(s) : 0;
  }
  return hs_map[idx - nl].val & HS_VAL_MASK;
}
static inline uintptr_t hs_live_addr(size_t idx) {
  size_t nl = (size_t)hs_nleaves * HS_LEAF_SLOTS;
  if (idx < nl) {
    size_t leaf = idx / HS_LEAF_SLOTS, slot = idx % HS_LEAF_SLOTS;
    uint32_t s = hs_leaves[leaf][slot];
    return s ? hs_leaf_base[leaf] + (slot << HS_GRANULE_SHIFT) + (s & HS_SHADOW_HALF ? 16 : 0) : 0;
  }
  if (HS_UNLIKELY(idx >= hs_live_side_start())) {
    uintptr_t base;
    uint32_t s = hs_live_side_slot(idx, &base);
    size_t slot = (idx - hs_live_side_start()) % HS_LEAF_SLOTS;
    return s ? base + (slot << HS_GRANULE_SHIFT) + (s & HS_SHADOW_HALF ? 16 : 0) : 0;
  }
  return hs_map[idx - nl].key;
}
/* The index of the block at a (16-byte aligned, below 2^47, in a region with side slots) in its
 * side slot, its value into *val; -1 when not there (core.c; hs_lock held). */
long hs_live_find_side(uintptr_t a, uint64_t *val) HS_HIDDEN;
/* Index of the live block starting at addr, or -1. */
static inline long hs_live_find(uintptr_t a) {
  if (!a) return -1;
  if (hs_l1 && !hs_shadow_outside(a)) {
    uint32_t *leaf = hs_l1[a >> HS_REGION_SHIFT];
    size_t slot = (a & (((uintptr_t)1 << HS_REGION_SHIFT) - 1)) >> HS_GRANULE_SHIFT;
    if (leaf && leaf[slot] && hs_shadow_is(leaf[slot], a))
      return (long)((size_t)hs_leaf_no_of[a >> HS_REGION_SHIFT] * HS_LEAF_SLOTS + slot);
    if (leaf && HS_UNLIKELY(hs_side_no_of[a >> HS_REGION_SHIFT])) {
      uint64_t val;
      long j = hs_live_find_side(a, &val);
      if (j >= 0) return j;
    }
  }
  size_t i = hs_map_hash(a);
  while (hs_map[i].key && hs_map[i].key != a) i = (i + 1) & hs_map_mask;
  return hs_map[i].key ? (long)((size_t)hs_nleaves * HS_LEAF_SLOTS + i) : -1;
}
/* hs_live_find that also gives the block's value (what hs_live_val of the index returns). */
static inline __attribute__((always_inline)) long hs_live_find_val(uintptr_t a, uint64_t *val) {
  if (!a) return -1;
  if (hs_l1 && !hs_shadow_outside(a)) {
    uint32_t *leaf = hs_l1[a >> HS_REGION_SHIFT];
    size_t slot = (a & (((uintptr_t)1 << HS_REGION_SHIFT) - 1)) >> HS_GRANULE_SHIFT;
    if (leaf && leaf[slot] && hs_shadow_is(leaf[slot], a)) {
      *val = hs_shadow_decode(leaf[slot]);
      return (long)((size_t)hs_leaf_no_of[a >> HS_REGION_SHIFT] * HS_LEAF_SLOTS + slot);
    }
    if (leaf && HS_UNLIKELY(hs_side_no_of[a >> HS_REGION_SHIFT])) {
      long j = hs_live_find_side(a, val);
      if (j >= 0) return j;
    }
  }
  size_t i = hs_map_hash(a);
  while (hs_map[i].key && hs_map[i].key != a) i = (i + 1) & hs_map_mask;
  if (!hs_map[i].key) return -1;
  *val = hs_map[i].val & HS_VAL_MASK;
  return (long)((size_t)hs_nleaves * HS_LEAF_SLOTS + i);
}
uint8_t hs_site_domain(uint32_t site) HS_HIDDEN;
/* The domain of every site (count of them), for passes that look up many; hs_lock held. */
const uint8_t *hs_site_domains(uint32_t *count) HS_HIDDEN;

/* What the anatomy pass needs to know about the interpreter (pyhooks.c fills it). */
struct hs_pyinfo {
  int minor;                  /* 3.minor; 0 without Python */
  uintptr_t type_type, float_type, long_type, unicode_type, bytes_type;
  uintptr_t bytearray_type, set_type, frozenset_type;
  uintptr_t bool_type, none_obj; /* PyBool_Type, Py_None (ELEM kinds) */
  uint16_t ascii_size, compact_size;
};
extern struct hs_pyinfo hs_pyi HS_HIDDEN;
/* 1 when the calling thread holds the GIL of a hooked interpreter. */
int hs_py_holds_gil(void) HS_HIDDEN;
/* Before the exit snapshot, GIL held: the line cache and code memo back to the kernel. */
void hs_py_exit_release(void) HS_HIDDEN;
/* core.c: the same for the native-site cache (takes hs_lock); and the pages wholly inside
 * [lo, lo + n) given back (MADV_DONTNEED). */
void hs_native_exit_release(void) HS_HIDDEN;
void hs_drop_pages(void *lo, size_t n) HS_HIDDEN;
/* Takes the GIL for a thread that has a thread state but released it (ctypes calls);
 * returns a token for hs_py_gil_release, or -1 when it could not. */
int hs_py_gil_acquire(void) HS_HIDDEN;
void hs_py_gil_release(int token) HS_HIDDEN;

/* Anatomy (object_census.c): classifies live blocks, attributes owned memory, samples shapes.
 * Caller holds hs_lock and the GIL; maps_text is /proc/self/maps read before the lock.
 * Results stay valid until hs_anatomy_free. */
struct hs_anatomy;
struct hs_anatomy *hs_anatomy_collect(const char *maps_text) HS_HIDDEN;
/* Appends the TYPE, ANAT and SHAP sections to o (see struct hs_out). */
struct hs_out;
void hs_anatomy_serialize(const struct hs_anatomy *a, struct hs_out *o) HS_HIDDEN;
uint32_t hs_anatomy_micros(const struct hs_anatomy *a) HS_HIDDEN;
/* Appends the ELEM section (format v5, after MODS). */
void hs_anatomy_serialize_elem(const struct hs_anatomy *a, struct hs_out *o) HS_HIDDEN;
void hs_anatomy_free(struct hs_anatomy *a) HS_HIDDEN;

/* Per-test high-water mark (testpeak.c, heapshape_peak_reset/heapshape_peak_get): while a
 * window is open (hs_win_open), every block allocated is marked (HS_SHADOW_WIN / HS_MAP_WIN)
 * and counted in hs_win_live; a marked block's free uncounts it. The window's peak is the
 * highest hs_win_live, exact at every event: pytest-memray's "memory allocated during the
 * test at its high-water mark". */
extern volatile int hs_win_open HS_HIDDEN;
void hs_win_add(uint64_t size) HS_HIDDEN;
void hs_win_sub(uint64_t size) HS_HIDDEN;

/* --native (native.c): the call site is the native stack, with the Python frames of each
 * _PyEval_EvalFrameDefault call put in its place. */
extern int hs_native_mode HS_HIDDEN;
void hs_native_init(void) HS_HIDDEN;
uint32_t hs_native_site_stack(uint8_t domain, void *tstate) HS_HIDDEN;
/* Python frame ids of the thread state's stack (innermost first) and segment ends (see
 * pyhooks.c); returns the count. Caller holds the GIL. */
int hs_py_frames(void *tstate, uint32_t *frames, uint8_t *seg, int max) HS_HIDDEN;
/* Addresses of the C-stack entry frames in the thread state's frame chain (3.12+: the
 * _PyInterpreterFrame each C call of the eval loop keeps on its own C stack), innermost first;
 * 0 before 3.12. Caller holds the GIL (or is the thread that released it). */
int hs_py_entry_frames(void *tstate, uintptr_t *out, int max) HS_HIDDEN;

/* Python side (pyhooks.c). */
void hs_py_init(void) HS_HIDDEN;
void hs_py_finish_init(void) HS_HIDDEN; /* pending post-initialization work */
/* Without HEAPSHAPE_ROOT_PID (root_process.c): the pid of the root of the profiled tree, the
 * first of this process's ancestors (or itself) whose parent lacks NAME=VALUE in its
 * environment or lacks this shim; pid when this process is the root. */
int hs_tree_root_pid(int pid, const char *name, const char *value) HS_HIDDEN;
/* 1 while process pid runs (not gone, not a zombie: root_process.c) */
int hs_pid_running(int pid) HS_HIDDEN;
/* Registers the exit snapshot with the interpreter (exit_hook.c); a Py_AddPendingCall callback. */
int hs_exit_hook_register(void *arg) HS_HIDDEN;
extern volatile int hs_py_pending HS_HIDDEN;
extern uint32_t hs_py_version HS_HIDDEN; /* PY_VERSION_HEX or 0 */
extern int hs_py_hooked HS_HIDDEN;
/* Site for a libc allocation: the Python line when this thread runs Python code, else the
 * native caller. */
uint32_t hs_py_or_native_site(uint8_t domain, uintptr_t ret) HS_HIDDEN;
/* hs_py_own (hs_hot): set while the shim itself calls into Python (exit_hook.c's
 * registration, the frame-layout check): what is allocated is recorded, at <unknown>:0
 * rather than at the program's line that happens to run, so that a block it drops onto a
 * free list is known when the program re-creates an object in it (reattrib.c) and its frees
 * leave no stale entries. */

/* Free-list re-attribution (reattrib.c): a block whose object is created again (from a type's
 * free list) moves to the creating line, as tracemalloc does. */
int hs_core_reattribute(void *p, uint32_t (*site_of)(uint8_t domain)) HS_HIDDEN; /* core.c */
/* The same for a block in the shadow table (slot ss, read as s) whose new site is known, an
 * OBJ site other than its own (the reference tracer's fast path): hs_core_reattribute's
 * outcome, which it calls when the block's site is not an OBJ one. Called without hs_busy
 * (the tracer's events are not allocations); it sets hs_busy where it may allocate. The caller
 * has just seen hs_active set (its common case does not test it again). Returns 0. */
int hs_core_reattribute_obj(uintptr_t key, uint32_t *ss, uint32_t s, uint32_t site) HS_HIDDEN;
uint32_t hs_py_site_now(uint8_t domain) HS_HIDDEN; /* pyhooks.c: the current site, GIL held */
/* The reference tracer at several frames (3.13+; reattrib.c hs_ra_memo_ok says when): pyhooks.c
 * moves the re-created object's block to the walk memo's answer, reattrib.c's hs_ra_memo_miss
 * takes a memo miss, and asks pyhooks.c's hs_py_site_obj_full (hs_py_site_now(HS_DOMAIN_OBJ) at
 * several frames, under hs_busy; UINT32_MAX: ask hs_py_site_now). Each returns the tracer's 0. */
int hs_py_ra_memo(void *op, uintptr_t block, uint32_t *ss, uint32_t s, const char *ts) HS_HIDDEN;
int hs_ra_memo_miss(void *op, uintptr_t block, uint32_t *ss, uint32_t s, const char *ts) HS_HIDDEN;
uint32_t hs_py_site_obj_full(const char *ts) HS_HIDDEN;
/* hs_last_block (hs_hot): the block a Python hook just recorded, hs_last_size its size */
extern volatile int hs_reattrib_wanted HS_HIDDEN;  /* the tracer must be installed again */
extern unsigned hs_code_epoch HS_HIDDEN; /* pyhooks.c: code objects freed, + 1 */
void hs_reattrib_init(int minor) HS_HIDDEN;        /* hs_py_init */
void hs_reattrib_start(void) HS_HIDDEN;            /* end of initialization, GIL held */
void hs_reattrib_exit(void) HS_HIDDEN;             /* after the exit snapshot, GIL held */
void hs_reattrib_poll(void) HS_HIDDEN;             /* every 1024 events of a thread, no lock */
void hs_reattrib_attend(void) HS_HIDDEN;           /* hs_attend */
void hs_reattrib_enable(void) HS_HIDDEN;           /* the switch to traced (pyarena.c) */

/* One line of /proc/self/maps: "lo-hi perms offset dev inode [path]". */
struct hs_map_line {
  uint64_t lo, hi, off;
  char perms[4];
  const char *path; /* the file's absolute path, or NULL (anonymous, [heap], ...) */
  size_t pathlen;
};
/* Parses the line at *cursor (a NUL-terminated copy of the file; NULL or "" ends at once) and
 * moves *cursor to the next line; returns 0 at the end. */
int hs_maps_next(const char **cursor, struct hs_map_line *out) HS_HIDDEN;

/* Partial per-test snapshots (partial.c; docs/snapshot-format.md, PART): heapshape_mark()
 * keeps every site's counters; a view says what one snapshot holds: every table (kind
 * HS_PART_FULL, the arrays NULL: identity), or the sites a test touched and what they refer
 * to, renumbered in the tables' order (x_ids: the process ids written, x_new: process id ->
 * written id or UINT32_MAX). Counters are read from stats/est/peak/tot by process site id. */
struct hs_view {
  uint32_t kind, mark, process_sites;
  uint64_t mark_time_ns;  /* since tracking started */
  uint64_t wall_ns;       /* META time */
  uint32_t nsites, nframes, nstrings;
  uint32_t *site_ids, *site_new, *frame_ids, *frame_new, *string_ids, *string_new;
  const struct hs_site_stats *stats;
  const struct hs_site_est *est; /* NULL unless sampled */
  const struct hs_peak_rec *peak;
  uint32_t peak_sites;
  uint64_t peak_bytes, peak_time_ns;
  const struct hs_totals *tot;
  int time_mode;          /* 0 every TIME sample, 1 those after time_after, 2 none */
  uint64_t time_after;
  void *mem;              /* scratch (mmap) behind the arrays */
  size_t memlen;
};
/* Caller holds hs_lock after hs_stats_merge: v becomes the HS_PART_SINCE view (the sites
 * touched since the mark, with the closure docs/snapshot-format.md describes). 0, or -1 with
 * errno (EINVAL: no mark was taken; ENOMEM). */
int hs_view_since_mark(struct hs_view *v) HS_HIDDEN;
/* The view of a full snapshot: every table as it is (hs_lock held, after a merge). */
void hs_view_full(struct hs_view *v) HS_HIDDEN;
/* Turns a since view into its HS_PART_AT_MARK pair (hs_lock held). */
void hs_view_at_mark(struct hs_view *v) HS_HIDDEN;
void hs_view_free(struct hs_view *v) HS_HIDDEN;
/* The site statistics array, by site id (hs_lock; valid until sites are added). */
const struct hs_site_stats *hs_site_stats_table(void) HS_HIDDEN;
/* The modules native frames point into (snapshot_write.c; hs_lock). */
const struct hs_module_rec *hs_modules_get(uint32_t *n) HS_HIDDEN;
/* Writes the pair of partial snapshots (path: since the mark; mark_path, if not NULL: at the
 * mark). 0, or -1 with errno. */
int hs_snapshot_write_partial(const char *path, const char *mark_path) HS_HIDDEN;

/* Small no-allocation formatting helpers (util in core.c). */
size_t hs_fmt_u64(char *out, uint64_t v) HS_HIDDEN; /* returns length, no NUL */
uint64_t hs_now_ns(void) HS_HIDDEN;

#endif /* HEAPSHAPE_PRELOAD_CORE_H */
