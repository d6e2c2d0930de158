/* heapshape CPython side: PyMem allocator hooks on the RAW, MEM and OBJ domains, the Python
 * call site of an allocation read from the interpreter's own frames (the exit snapshot's hook
 * is exit_hook.c).
 *
 * No libpython is linked: every Py* symbol is looked up with dlsym at start-up, and a process
 * without them is tracked as plain malloc. Frame and object layouts per version were measured
 * with offsetof against each version's headers (docs/cpython-internals.md); from 3.13 on the
 * layout comes from pyframe_layout.c, checked against the interpreter's _Py_DebugOffsets. Nothing here allocates through the hooked allocator or holds hs_lock while
 * calling into Python.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "preload/core.h"
#include "preload/pyarena.h"
#include "preload/pychain.h"
#include "preload/pyframe_layout.h"

volatile int hs_py_pending;
struct hs_pyinfo hs_pyi;
uint32_t hs_py_version;
int hs_py_hooked;

/* Resolved at start-up, read-only afterwards. */
static void (*p_GetAllocator)(int, struct hs_pyalloc *);
static void (*p_SetAllocator)(int, struct hs_pyalloc *);
static char *(*p_tstate_get)(void);
static void *(*p_gilstate_this)(void);
static int (*p_Addr2Line)(void *, int);
static int (*p_IsInitialized)(void);
static int (*p_GILState_Check)(void);
static int (*p_AddPendingCall)(int (*)(void *), void *);
static void *p_UnicodeType, *p_CodeType;
static int (*p_GILState_Ensure)(void);
static void (*p_GILState_Release)(int);

/* Frame layout of the running interpreter (see the table in docs/cpython-internals.md). */
enum hs_walk_kind { HS_WALK_NONE, HS_WALK_38, HS_WALK_310, HS_WALK_311, HS_WALK_312, HS_WALK_313 };
static enum hs_walk_kind hs_walk;
static size_t hs_co_filename = 104, hs_co_name = 112;
static size_t hs_ascii_size = 48, hs_compact_size = 72;

/* ------------------------------------------------------------------ strings from Python */

/* Copies a str object's text as UTF-8 into out (at most cap bytes); returns the length.
 * Reads only the object itself: compact strings carry their data inline. */
static size_t hs_py_str(const char *u, char *out, size_t cap) {
  if (!u || *(void *const *)(u + 8) != p_UnicodeType) return 0;
  int64_t len = *(const int64_t *)(u + 16);
  uint32_t state = *(const uint32_t *)(u + 32);
  unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
  const unsigned char *data;
  if (compact && ascii) {
    data = (const unsigned char *)u + hs_ascii_size;
    kind = 1;
  } else if (compact) {
    data = (const unsigned char *)u + hs_compact_size;
  } else {
    data = *(const unsigned char *const *)(u + hs_compact_size);
    if (!data) return 0;
  }
  size_t n = 0;
  for (int64_t i = 0; i < len; i++) {
    uint32_t c = kind == 1 ? data[i] : kind == 2 ? ((const uint16_t *)data)[i]
                                                  : ((const uint32_t *)data)[i];
    if (c < 0x80) {
      if (n + 1 > cap) break;
      out[n++] = (char)c;
    } else if (c < 0x800) {
      if (n + 2 > cap) break;
      out[n++] = (char)(0xC0 | (c >> 6));
      out[n++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      if (n + 3 > cap) break;
      out[n++] = (char)(0xE0 | (c >> 12));
      out[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
      out[n++] = (char)(0x80 | (c & 0x3F));
    } else {
      if (n + 4 > cap) break;
      out[n++] = (char)(0xF0 | (c >> 18));
      out[n++] = (char)(0x80 | ((c >> 12) & 0x3F));
      out[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
      out[n++] = (char)(0x80 | (c & 0x3F));
    }
  }
  return n;
}

static uint32_t hs_py_intern_str(const char *u) {
  char buf[1024];
  size_t n = hs_py_str(u, buf, sizeof buf);
  return hs_intern_string(buf, n);
}

/* ------------------------------------------------------------------ the line cache */

/* (code object, instruction offset) -> frame id and, for one-frame sites, the site per
 * domain. Direct-mapped; protected by the GIL (entries are only touched by the thread that
 * holds it). An entry is valid only while no code object was freed at its address since it
 * was made (hs_lc_valid, below). */
#define HS_LCACHE 8192
struct hs_lcache {
  const char *code;
  int32_t off;
  uint32_t frame;
  uint32_t site[HS_DOMAIN_COUNT]; /* site id + 1; 0 = not computed */
  unsigned epoch;                 /* hs_code_epoch when last validated */
};
static struct hs_lcache hs_lc[HS_LCACHE];
/* entries in use - 1: HS_LCACHE unless HEAPSHAPE_LINE_CACHE asks for fewer (a power of two;
 * tests use 1 so that every frame of a stack evicts the one before it) */
static size_t hs_lc_mask = HS_LCACHE - 1;

/* A freed code object's address is soon reused by another code object, often with its
 * co_filename str reused too, so comparing those pointers cannot tell them apart. Instead the
 * OBJ free hook (under the GIL) counts every code object freed, tracked or not (code objects
 * are not GC objects in 3.8-3.13, so ob_type is at +8), and records the count in a bucket of
 * hs_code_freed chosen by the address. An entry made at epoch E for code C is valid while no
 * code object of C's bucket was freed after E. */
#define HS_CODE_BUCKETS 4096
unsigned hs_code_epoch = 1; /* core.h */
static unsigned hs_code_freed[HS_CODE_BUCKETS];

static inline size_t hs_code_bucket(const void *code) {
  return (size_t)(((uint64_t)(uintptr_t)code >> 4) * 0x9E3779B97F4A7C15ull >> 52) & (HS_CODE_BUCKETS - 1);
}

static void hs_code_freed_at(const void *code) {
  hs_code_freed[hs_code_bucket(code)] = ++hs_code_epoch;
}

/* Untraced (pyarena.c): no OBJ free hook sees code objects go, so PyCode_Type's tp_dealloc
 * (offset 48 in every non-debug build, 3.8-3.15) is wrapped to count them; it stays wrapped
 * after a switch to traced (a second count is harmless). Nothing compares code objects'
 * tp_dealloc with code_dealloc. */
static void (*hs_code_dealloc_prev)(void *);
static void hs_code_dealloc(void *op) {
  hs_code_freed_at(op);
  hs_code_dealloc_prev(op);
}

static void hs_code_dealloc_wrap(void) {
  void (**slot)(void *) = (void (**)(void *))((char *)p_CodeType + 48);
  if (!*slot || *slot == hs_code_dealloc) return;
  hs_code_dealloc_prev = *slot;
  *slot = hs_code_dealloc;
}

static inline int hs_lc_valid(const struct hs_lcache *e, const char *code, int32_t off) {
  return e->code == code && e->off == off && e->epoch >= hs_code_freed[hs_code_bucket(code)];
}

/* Set while walking this thread's own frames without the GIL (a C extension released it
 * around an allocation): the shared cache is then left alone and entries are built in
 * per-thread scratch. */
static HS_TLS int hs_py_released;
static HS_TLS unsigned hs_py_scratch_next;
#define HS_SCRATCH 64
static HS_TLS struct hs_lcache hs_py_scratch[HS_SCRATCH];

static struct hs_lcache *hs_py_frame_uncached(const char *code, int32_t off) {
  if (*(void *const *)(code + 8) != p_CodeType) return NULL;
  struct hs_lcache *e = &hs_py_scratch[hs_py_scratch_next++ % HS_SCRATCH];
  const void *fname = *(void *const *)(code + hs_co_filename);
  const void *name = *(void *const *)(code + hs_co_name);
  int line = p_Addr2Line((void *)code, off);
  uint32_t fs = hs_py_intern_str(fname), ns = hs_py_intern_str(name);
  memset(e, 0, sizeof *e);
  e->frame = hs_intern_frame(HS_FRAME_PYTHON, line, fs, ns, 0);
  return e;
}

static inline struct hs_lcache *hs_lc_slot(const char *code, int32_t off) {
  size_t h = (size_t)((((uint64_t)(uintptr_t)code >> 4) ^ (uint64_t)(uint32_t)off * 0x9E3779B1u) *
                      0x9E3779B97F4A7C15ull >> 51) & hs_lc_mask;
  return &hs_lc[h];
}

/* The cache entry of (code, off) if present and still valid, else NULL. */
static inline struct hs_lcache *hs_py_frame_cached(const char *code, int32_t off) {
  if (HS_UNLIKELY(hs_py_released)) return NULL;
  struct hs_lcache *e = hs_lc_slot(code, off);
  return hs_lc_valid(e, code, off) ? e : NULL;
}

/* 3.11+: the interpreter's PyCodeAddressRange, a position in a code object's location table
 * (co_linetable). PyCode_Addr2Line starts one at the table's head for every call and walks it
 * forward to the offset, so a line costs the length of the table before it: 5,000
 * instructions a call at start-up on 3.14 (1,672 calls, 8.3 M of the shim's 23 M extra
 * instructions on `-c pass`). The memo of a code object below keeps its range and walks on
 * from there with _PyCode_CheckLineNumber, the function PyCode_Addr2Line ends with; an offset
 * before the range starts the walk again at the head. Only forward, exactly as a fresh call
 * does, so the line is the same. The first line of every memo is checked against
 * PyCode_Addr2Line; a difference (a layout this does not know) turns this off for the
 * process. */
struct hs_lrange {
  int ar_start, ar_end, ar_line;
  struct {
    int computed_line;
    const uint8_t *lo_next, *limit;
  } o; /* the interpreter's struct _opaque: at offset 16 */
};
static int (*p_CheckLineNumber)(int, struct hs_lrange *);
static void *p_BytesType;
static size_t hs_co_firstlineno; /* 0: no range walking (before 3.11, or turned off) */

/* _PyLineTable_InitAddressRange (3.11+) of code's co_linetable; 0 if that is no bytes object.
 * co_linetable follows co_name and co_qualname in 3.11-3.15. */
static int hs_lrange_init(struct hs_lrange *r, const char *code) {
  const char *lt = *(const char *const *)(code + hs_co_name + 16);
  if (!lt || *(void *const *)(lt + 8) != p_BytesType) return 0;
  r->o.lo_next = (const uint8_t *)lt + 32; /* PyBytesObject.ob_sval */
  r->o.limit = r->o.lo_next + *(const int64_t *)(lt + 16);
  r->ar_start = -1;
  r->ar_end = 0;
  r->o.computed_line = *(const int *)(code + hs_co_firstlineno);
  r->ar_line = -1;
  return 1;
}

/* code object -> interned co_filename and co_name and its line-table position, valid like a
 * line-cache entry */
#define HS_CODEMEMO 1024
static struct hs_codememo {
  const char *code;
  unsigned epoch;
  uint32_t fs, ns;
  int walk; /* r is in use */
  struct hs_lrange r;
} hs_cm[HS_CODEMEMO];

/* PyCode_Addr2Line(code, off), walking on from m's range when it has one. */
static int hs_py_line(struct hs_codememo *m, const char *code, int32_t off, int fresh) {
  if (!m->walk || off < 0) return p_Addr2Line((void *)code, off);
  if (off < m->r.ar_start && !hs_lrange_init(&m->r, code)) {
    m->walk = 0;
    return p_Addr2Line((void *)code, off);
  }
  int line = p_CheckLineNumber(off, &m->r);
#ifdef HS_LT_CHECK /* check build: every line against the interpreter's */
  if (line != p_Addr2Line((void *)code, off)) __builtin_trap();
#endif
  if (HS_UNLIKELY(fresh)) {
    int want = p_Addr2Line((void *)code, off);
    if (line != want) {
      hs_co_firstlineno = 0;
      m->walk = 0;
      return want;
    }
  }
  return line;
}

static struct hs_lcache *hs_py_frame(const char *code, int32_t off) {
  if (HS_UNLIKELY(hs_py_released)) return hs_py_frame_uncached(code, off);
  struct hs_lcache *e = hs_lc_slot(code, off);
  if (HS_LIKELY(hs_lc_valid(e, code, off))) return e;
  if (*(void *const *)(code + 8) != p_CodeType) return NULL;
  /* a code object's file and function names, interned once per code object, not per offset */
  struct hs_codememo *m = &hs_cm[hs_code_bucket(code) & (HS_CODEMEMO - 1)];
  int fresh = m->code != code || m->epoch < hs_code_freed[hs_code_bucket(code)];
  if (fresh) {
    m->fs = hs_py_intern_str(*(void *const *)(code + hs_co_filename));
    m->ns = hs_py_intern_str(*(void *const *)(code + hs_co_name));
    m->code = code;
    m->epoch = hs_code_epoch;
    m->walk = hs_co_firstlineno && hs_lrange_init(&m->r, code);
  }
  int line = hs_py_line(m, code, off, fresh);
  uint32_t fs = m->fs, ns = m->ns;
  e->code = code;
  e->off = off;
  e->epoch = hs_code_epoch;
  e->frame = hs_intern_frame(HS_FRAME_PYTHON, line, fs, ns, 0);
  memset(e->site, 0, sizeof e->site);
  return e;
}

/* The exit snapshot's census and serialization need up to a few MiB of scratch on top of
 * everything live, so a small program's peak RSS is reached there (Debian 3.11 deltablue 120:
 * ru_maxrss 1.0 MiB above its high-water mark at the start of the exit snapshot). The line
 * cache and the code memo are 384 KiB of that, resident once used (direct-mapped, so a few
 * thousand lines touch every page) and of no use after the exit snapshot (tracking stops).
 * Given back to the kernel before it, GIL held (the only users of both hold it): every
 * entry is made invalid first, as if each bucket's code object had been freed, so that an
 * entry the page boundaries cut leaves nothing valid behind, then the pages wholly inside
 * each table are dropped (MADV_DONTNEED: zero pages again, an entry of code NULL). A lookup
 * during the snapshot misses and rebuilds the same frame. (core.c drops the native-site
 * cache alike, hs_native_exit_release.) */
void hs_py_exit_release(void) {
  unsigned e = ++hs_code_epoch;
  for (size_t i = 0; i < HS_CODE_BUCKETS; i++) hs_code_freed[i] = e;
  hs_drop_pages(hs_lc, sizeof hs_lc);
  hs_drop_pages(hs_cm, sizeof hs_cm);
}

/* ------------------------------------------------------------------ frame walking */

/* The calling thread's thread state if it holds the GIL, else NULL. */
static inline char *hs_py_gil_tstate(void) {
  char *ts = p_tstate_get();
  if (!ts) return NULL;
  if (hs_walk >= HS_WALK_312) return ts; /* 3.12+: thread-local, NULL when detached */
  return ts == p_gilstate_this() ? ts : NULL; /* <= 3.11: the GIL holder, any thread */
}

#define RD_PTR(p, off) (*(char *const *)((p) + (off)))
#define RD_I32(p, off) (*(const int32_t *)((p) + (off)))

/* 3.11+, several frames: the last walk of this thread, raw frame by raw frame (every frame
 * of the chain it visited, kept or skipped). While the innermost frame runs, the frames that
 * called it are frozen, so the next allocation usually finds the same chain: when every
 * visited frame still has the same address, owner and instruction pointer (which names its
 * code object, see hs_wm_same_from), and no code object was freed since (hs_code_epoch: a code pointer then
 * still names the same object), the walk would keep the same frames with the same lines, and
 * the site found last time is the answer. Checking reads four words per frame from the data
 * stack; it saves each frame's line-cache probe and the site cache's hash and compare
 * (churn4 on 3.14 with 16 frames: free-list re-creations, one full walk each, on a chain that
 * changed only in the innermost instruction pointer, and mostly not at all). 3.11 and 3.12
 * (issue 18, round five) read their frames through hs_fl too (hs_py_init fills it in).
 * The memo also keeps each visited frame's id (round six): when only the innermost frame is
 * new, the site is the recorded ids with the first one replaced (no walk), and a call or a
 * return between two allocations is followed without a walk (hs_wm_shift). */
#define HS_WM_RAW 40
#define HS_WM_TAB_BITS 5
#define HS_WM_TAB (1 << HS_WM_TAB_BITS)
struct hs_wmframe {
  const char *f, *exec, *instr;
  uint32_t owner;
  uint32_t id; /* the frame's id + 1 when the walk kept it, 0 when it skipped it */
};
static HS_TLS struct hs_walkmemo {
  const char *ts;
  unsigned epoch;                 /* hs_code_epoch when made; 0: empty */
  int raw;                        /* frames visited */
  int to_end;                     /* 1: the walk ended at the end of the chain (not at max) */
  uint32_t max;                   /* hs_proc.max_frames it was made for */
  unsigned gen;                   /* the chain's number (hs_wm_gen); tab entries of other ones are void */
  int n;                          /* frames kept (ids[0..n)) */
  struct hs_wmsite {               /* the innermost frame's id on this chain -> site */
    uint32_t frame0;                /* frame id + 1 */
    unsigned gen;
    uint32_t site[HS_DOMAIN_COUNT]; /* site id + 1; 0 = not known */
  } tab[HS_WM_TAB];
  struct hs_wmframe fr[HS_WM_RAW];
  uint32_t ids[HS_WM_RAW];        /* the kept frames' ids, innermost first (the site's stack) */
} hs_wmv[2];
/* Two memos a thread (round seven): the current one (hs_wm_cur, which the hit path reads; NULL
 * until the first miss) and the chain the thread left last. A call and its return alternate
 * between two chains (raytrace: a method and the Vector method it calls), so the chain a move
 * lands on is often the other memo's: then the memos trade places, with the other's table of
 * sites still valid, instead of moving again (hs_py_site_miss). A move or a walk writes the
 * other memo and makes it current, so the one left stays. */
static HS_TLS struct hs_walkmemo *hs_wm_cur;
static HS_TLS unsigned hs_wm_gen; /* counts the chains recorded in either memo (their gen) */
/* The innermost frame's id by its instruction pointer (with f_executable and owner, on which
 * skipping a frame depends), per thread, valid while hs_code_epoch is unchanged: the line
 * cache's probe is a likely cache miss, this table is small and hot. */
#define HS_IPF 64
static HS_TLS struct hs_ipframe {
  const char *instr, *exec;
  unsigned epoch;
  uint32_t owner, frame;
} hs_ipf[HS_IPF];

/* hs_py_walk_seg's 3.11+ cases record the frames they visit in this memo when set (raw = -1
 * when the chain was longer than HS_WM_RAW) */
static HS_TLS struct hs_walkmemo *hs_wm_rec;

/* The walk's frame f into m (m->raw = -1 once the chain is longer than HS_WM_RAW). */
static inline void hs_wm_record(struct hs_walkmemo *m, const char *f, uint8_t owner) {
  int r = m->raw;
  if (r >= 0 && r < HS_WM_RAW) {
    m->fr[r].f = f;
    m->fr[r].exec = RD_PTR(f, hs_fl.exec);
    m->fr[r].instr = RD_PTR(f, hs_fl.instr);
    m->fr[r].owner = owner;
    m->fr[r].id = 0;
    m->raw = r + 1;
  } else {
    m->raw = -1;
  }
}

/* The frame the walk recorded last was kept with id `id` (n: frames kept before it). */
static inline void hs_wm_kept(struct hs_walkmemo *m, uint32_t id, int n) {
  if (m->raw > 0) {
    m->fr[m->raw - 1].id = id + 1;
    m->ids[n] = id;
    m->n = n + 1;
  }
}

/* 3.11+: the line-cache entry of the Python frame f (owner < 3), or NULL when it is skipped
 * (no code object, or a frame still in its prologue). */
static inline struct hs_lcache *hs_py_frame313(const char *f, uint8_t owner) {
  char *code = (char *)((uintptr_t)RD_PTR(f, hs_fl.exec) & ~(uintptr_t)7);
  char *instr = RD_PTR(f, hs_fl.instr);
  char *first = code + hs_fl.adapt;
  if (!code) return NULL;
  struct hs_lcache *e = hs_py_frame_cached(code, (int32_t)(instr - first));
  if (!e) {
    if (*(void *const *)(code + 8) != p_CodeType) return NULL;
    if (owner != 1 && hs_fl.check_first && instr < first + 2 * (ptrdiff_t)RD_I32(code, hs_fl.first))
      return NULL;
    e = hs_py_frame(code, (int32_t)(instr - first));
  }
  return e;
}

/* Collects the frame ids of up to max innermost complete Python frames into ids, and their
 * cache entries into out (out[0] is used by the one-frame path only: with several frames an
 * entry can be taken over by a later frame of the same walk that maps to the same slot, so its
 * id is copied the moment it is looked up; before 2026-12-01 the ids were read from the
 * entries after the walk, and two colliding frames gave a wrong line). When seg is not
 * NULL, seg[k] is set to 1 when frame k is the outermost Python frame run by one C call of
 * _PyEval_EvalFrameDefault (3.8-3.10: every frame; 3.11: the frame marked is_entry; 3.12+:
 * the frame below a C-stack entry frame), which is how --native interleaves the two stacks. */
static int hs_py_walk_seg(char *ts, struct hs_lcache **out, uint32_t *ids, int max, uint8_t *seg) {
  int n = 0;
  char *f;
#define HS_SEG_END()               \
  do {                             \
    if (seg && n > 0) seg[n - 1] = 1; \
  } while (0)
  switch (hs_walk) {
    case HS_WALK_38:
    case HS_WALK_310:
      for (f = RD_PTR(ts, 24); f && n < max; f = RD_PTR(f, 24)) {
        char *code = RD_PTR(f, 32);
        int32_t off = hs_walk == HS_WALK_38 ? RD_I32(f, 104) : RD_I32(f, 96) * 2;
        struct hs_lcache *e = hs_py_frame(code, off);
        if (e) {
          if (seg) seg[n] = 1;
          ids[n] = e->frame;
          out[n++] = e;
        }
      }
      break;
    case HS_WALK_311:
    case HS_WALK_312: {
      int v311 = hs_walk == HS_WALK_311;
      size_t o_prev = v311 ? 48 : 8, o_code = v311 ? 32 : 0, o_owner = v311 ? 69 : 70;
      size_t o_first = v311 ? 168 : 176, o_adapt = v311 ? 184 : 192;
      char *cframe = RD_PTR(ts, 56);
      if (!cframe) break;
      for (f = RD_PTR(cframe, v311 ? 8 : 0); f && n < max; f = RD_PTR(f, o_prev)) {
        uint8_t owner = *(const uint8_t *)(f + o_owner);
        if (HS_UNLIKELY(hs_wm_rec)) hs_wm_record(hs_wm_rec, f, owner);
        if (owner == 3) { /* 3.12: C-stack entry frame */
          HS_SEG_END();
          continue;
        }
        char *code = RD_PTR(f, o_code);
        char *instr = RD_PTR(f, 56);
        char *first = code + o_adapt;
        int entry = v311 && *(const uint8_t *)(f + 68);
        /* a cached (code, offset) was complete when cached: skip reading _co_firsttraceable,
         * which sits on another cache line of the code object */
        struct hs_lcache *e = hs_py_frame_cached(code, (int32_t)(instr - first));
        if (!e && !(owner != 1 && instr < first + 2 * (ptrdiff_t)RD_I32(code, o_first)))
          e = hs_py_frame(code, (int32_t)(instr - first));
        if (e) {
          if (seg) seg[n] = 0;
          if (HS_UNLIKELY(hs_wm_rec)) hs_wm_kept(hs_wm_rec, e->frame, n);
          ids[n] = e->frame;
          out[n++] = e;
        }
        if (entry) HS_SEG_END();
      }
      if (HS_UNLIKELY(hs_wm_rec)) hs_wm_rec->to_end = f == NULL;
      break;
    }
    case HS_WALK_313: /* 3.13+: hs_fl; 3.14 tags f_executable (a _PyStackRef) in its low bits */
      for (f = RD_PTR(ts, hs_fl.tstate_frame); f && n < max; f = RD_PTR(f, hs_fl.prev)) {
        uint8_t owner = *(const uint8_t *)(f + hs_fl.owner);
        if (HS_UNLIKELY(hs_wm_rec)) hs_wm_record(hs_wm_rec, f, owner);
        if (owner >= 3) { /* C-stack entry (3.13: CSTACK; 3.14+: INTERPRETER, CSTACK) */
          HS_SEG_END();
          continue;
        }
        struct hs_lcache *e = hs_py_frame313(f, owner);
        if (e) {
          if (seg) seg[n] = 0;
          if (HS_UNLIKELY(hs_wm_rec)) hs_wm_kept(hs_wm_rec, e->frame, n);
          ids[n] = e->frame;
          out[n++] = e;
        }
      }
      if (HS_UNLIKELY(hs_wm_rec)) hs_wm_rec->to_end = f == NULL;
      break;
    case HS_WALK_NONE:
      break;
  }
#undef HS_SEG_END
  return n;
}

static int hs_py_walk(char *ts, struct hs_lcache **out, uint32_t *ids, int max) {
  return hs_py_walk_seg(ts, out, ids, max, NULL);
}

int hs_py_frames(void *tstate, uint32_t *frames, uint8_t *seg, int max) {
  struct hs_lcache *es[HS_MAX_FRAMES];
  if (max > HS_MAX_FRAMES) max = HS_MAX_FRAMES;
  return hs_py_walk_seg(tstate, es, frames, max, seg);
}

int hs_py_entry_frames(void *tstate, uintptr_t *out, int max) {
  int n = 0;
  char *f = NULL, *ts = tstate;
  size_t o_prev = 8, o_owner = 70;
  if (hs_walk == HS_WALK_312) {
    char *cframe = RD_PTR(ts, 56);
    f = cframe ? RD_PTR(cframe, 0) : NULL;
  } else if (hs_walk == HS_WALK_313) {
    f = RD_PTR(ts, hs_fl.tstate_frame);
    o_prev = hs_fl.prev;
    o_owner = hs_fl.owner;
  }
  for (int hops = 0; f && n < max && hops < 4096; f = RD_PTR(f, o_prev), hops++)
    if (*(const uint8_t *)(f + o_owner) >= 3) out[n++] = (uintptr_t)f;
  return n;
}

static uint32_t hs_unknown_site[HS_DOMAIN_COUNT]; /* site + 1; benign race: same value */

#define HS_SCACHE 4096
#define HS_SCACHE_FRAMES 16
static struct hs_scache {
  uint32_t tag, n;
  uint32_t site[HS_DOMAIN_COUNT]; /* site id + 1 */
  uint32_t frames[HS_SCACHE_FRAMES];
} hs_sc[HS_SCACHE];

static uint32_t hs_py_unknown_site(uint8_t domain) {
  if (!hs_unknown_site[domain]) {
    struct hs_stack st;
    st.n = 1;
    st.frames[0] = hs_intern_frame(HS_FRAME_UNKNOWN, 0, 0, 0, 0);
    hs_unknown_site[domain] = hs_intern_site(domain, &st) + 1;
  }
  return hs_unknown_site[domain] - 1;
}

/* 1 when the raw frames from f on are m's fr[k..raw) (and the chain ends after them when
 * the recorded one did). The code object (f_executable) is not compared: an instruction
 * pointer lies inside the code object that runs it, and while no code object was freed since
 * the memo was made (the caller checks hs_code_epoch) the same pointer is the same object. */
static inline int hs_wm_same_from(const struct hs_walkmemo *m, const char *f, int k) {
  for (; k < m->raw; k++) {
    const struct hs_wmframe *w = &m->fr[k];
    if (f != w->f || RD_PTR(f, hs_fl.instr) != w->instr ||
        *(const uint8_t *)(f + hs_fl.owner) != w->owner)
      return 0;
    f = RD_PTR(f, hs_fl.prev);
  }
  return !(m->to_end && f);
}

/* 1 when the frames that called f0 are the chain m recorded (see there). */
static inline int hs_wm_same(const struct hs_walkmemo *m, const char *ts, const char *f0) {
  if (m->epoch != hs_code_epoch || m->ts != ts || m->max != hs_proc.max_frames) return 0;
  return hs_wm_same_from(m, RD_PTR(f0, hs_fl.prev), 1);
}

static uint32_t hs_py_site_walked(char *ts, uint8_t domain);
static uint32_t hs_py_site_ids(uint8_t domain, const uint32_t *ids, int n);

#ifdef HS_WM_CHECK
#include <unistd.h>
/* Check build (--copt=-DHS_WM_CHECK, never shipped): every answer of hs_py_site_of is
 * compared with a full walk's, and after each depth move (hs_wm_shift), each new innermost
 * line and each trade of the two memos the current memo is compared with the one a recording
 * walk makes of the same chain (frames, ids, raw, n, to_end). The counts go to stderr at exit:
 * lookups (of them the reference tracer's memo hits, hs_py_site_memo_obj), moves followed,
 * trades, walks again, answers that differ, memos that differ. */
static uint64_t hs_wmc_n, hs_wmc_shift, hs_wmc_trade, hs_wmc_walk, hs_wmc_bad, hs_wmc_badmemo;
static uint64_t hs_wmc_hit16; /* of hs_wmc_n: the tracer's hits (hs_py_site_memo_obj) */
static void hs_wmc_put(char **p, const char *label, uint64_t v) {
  char d[24];
  int k = 0;
  while (*label) *(*p)++ = *label++;
  do d[k++] = (char)('0' + v % 10); while ((v /= 10) && k < 24);
  while (k) *(*p)++ = d[--k];
}
__attribute__((destructor)) static void hs_wmc_report(void) {
  char buf[256], *p = buf;
  hs_wmc_put(&p, "heapshape wm-check: lookups ", hs_wmc_n);
  hs_wmc_put(&p, " tracer-hits ", hs_wmc_hit16);
  hs_wmc_put(&p, " moves ", hs_wmc_shift);
  hs_wmc_put(&p, " trades ", hs_wmc_trade);
  hs_wmc_put(&p, " walks ", hs_wmc_walk);
  hs_wmc_put(&p, " mismatches ", hs_wmc_bad);
  hs_wmc_put(&p, " memo-mismatches ", hs_wmc_badmemo);
  *p++ = '\n';
  (void)!write(2, buf, (size_t)(p - buf));
}
/* after a move or a trade: the current memo as a recording walk of the same chain makes it? */
static void hs_wmc_memo(char *ts, uint8_t domain) {
  static struct hs_walkmemo fresh;
  const struct hs_walkmemo moved = *hs_wm_cur;
  fresh.raw = 0;
  fresh.n = 0;
  hs_wm_rec = &fresh;
  hs_py_site_walked(ts, domain);
  hs_wm_rec = NULL;
  int bad = fresh.raw != moved.raw || fresh.n != moved.n || fresh.to_end != moved.to_end;
  for (int i = 0; !bad && i < moved.raw; i++)
    bad = fresh.fr[i].f != moved.fr[i].f || fresh.fr[i].exec != moved.fr[i].exec ||
          fresh.fr[i].instr != moved.fr[i].instr || fresh.fr[i].owner != moved.fr[i].owner ||
          fresh.fr[i].id != moved.fr[i].id;
  for (int i = 0; !bad && i < moved.n; i++) bad = fresh.ids[i] != moved.ids[i];
  hs_wmc_badmemo += bad;
}
static uint32_t hs_py_site_memo(char *ts, uint8_t domain);
static uint32_t hs_py_site_of(char *ts, uint8_t domain) {
  uint32_t s = hs_py_site_memo(ts, domain);
  if (hs_walk >= HS_WALK_311 && hs_proc.max_frames > 1 && !hs_py_released) {
    hs_wmc_n++;
    hs_wmc_bad += hs_py_site_walked(ts, domain) != s;
  }
  return s;
}
#define HS_WMC(x) (x)
#define hs_py_site_of hs_py_site_memo
#else
#define HS_WMC(x) ((void)0)
#endif

/* The kept frame f (owner < 3)'s id + 1 through hs_ipf, 0 when the walk would skip it. */
static inline __attribute__((always_inline)) uint32_t hs_ipf_frame(const char *f, uint8_t owner) {
  const char *ip = RD_PTR(f, hs_fl.instr), *x = RD_PTR(f, hs_fl.exec);
  struct hs_ipframe *ipf = &hs_ipf[((uintptr_t)ip >> 1) & (HS_IPF - 1)];
  if (HS_LIKELY(ipf->instr == ip && ipf->exec == x && ipf->owner == owner &&
                ipf->epoch == hs_code_epoch))
    return ipf->frame;
  struct hs_lcache *e = hs_py_frame313(f, owner);
  if (!e) return 0;
  ipf->instr = ip;
  ipf->exec = x;
  ipf->owner = owner;
  ipf->epoch = hs_code_epoch;
  ipf->frame = e->frame + 1;
  return e->frame + 1;
}

/* m's innermost frame becomes f0 (kept, id frame0 - 1); the frames above are unchanged. */
static inline void hs_wm_set0(struct hs_walkmemo *m, const char *f0, uint32_t frame0) {
  struct hs_wmframe *w = &m->fr[0];
  w->f = f0;
  w->exec = RD_PTR(f0, hs_fl.exec);
  w->instr = RD_PTR(f0, hs_fl.instr);
  w->owner = *(const uint8_t *)(f0 + hs_fl.owner);
  w->id = frame0;
  m->ids[0] = frame0 - 1;
}

/* d holds a new chain: a gen no entry of either memo's table has */
static void hs_wm_newgen(struct hs_walkmemo *d) {
  if (++hs_wm_gen == 0) { /* wrapped: no entry may look current */
    memset(hs_wmv[0].tab, 0, sizeof hs_wmv[0].tab);
    memset(hs_wmv[1].tab, 0, sizeof hs_wmv[1].tab);
    hs_wmv[0].gen = hs_wmv[1].gen = 0;
    hs_wm_gen = 1;
  }
  d->gen = hs_wm_gen;
}

/* 3.11+, m valid for this thread but the chain above f0 is not its chain: a call or a
 * return between two allocations moves the innermost frame up or down and leaves the frames
 * further out as they were. When one of f0 and its next HS_WM_REACH - 1 callers (g[i]) is one
 * of the recorded chain's innermost HS_WM_REACH frames (fr[j]), with the same code object and
 * owner, and the frames above it are fr[j + 1..] unchanged, d (the other memo) is made the new
 * chain: g[0..i] looked up (g[i] may run another line now), the rest copied from m with their
 * ids; a frame that leaves or enters the max-frame window at the outer end is dropped or
 * walked, as the walk would. Returns 1 then (the site is that of d->ids[0..n)); 0 when no such
 * frame is found (d unchanged) or d was dropped (epoch 0). m is left as it was. frame0: f0's
 * id + 1. */
#define HS_WM_REACH 4
__attribute__((noinline, cold)) static int hs_wm_shift(const struct hs_walkmemo *m, struct hs_walkmemo *d,
                                                       const char *f0, uint32_t frame0) {
  int raw = m->raw, max = (int)m->max, lim = raw < HS_WM_REACH ? raw : HS_WM_REACH;
  const char *g[HS_WM_REACH];
  int ng = 0, i, j;
  /* The two commonest moves first (round eight; raytrace 1 on 3.14, 16 frames: 0.57 M of
   * 1.71 M anchors at (0, 1), a return, and 0.33 M at (1, 0), a call): any anchor that passes
   * the checks below gives the same memo (the new chain's), so the order only decides which
   * one is tried; when the one tried fails, the search of all pairs follows. */
  g[0] = f0;
  g[1] = RD_PTR(f0, hs_fl.prev);
  if (raw > 1 && f0 == m->fr[1].f)
    i = 0, j = 1;
  else if (g[1] == m->fr[0].f)
    i = 1, j = 0;
  else
    goto search;
  if (*(const uint8_t *)(g[i] + hs_fl.owner) == m->fr[j].owner && RD_PTR(g[i], hs_fl.exec) == m->fr[j].exec &&
      hs_wm_same_from(m, RD_PTR(g[i], hs_fl.prev), j + 1))
    goto move;
search:
  for (const char *f = f0; f && ng < HS_WM_REACH; f = RD_PTR(f, hs_fl.prev)) g[ng++] = f;
  /* (0, 0) is no move: hs_wm_same compared that */
  for (i = 0; i < ng; i++)
    for (j = !i; j < lim; j++)
      if (g[i] == m->fr[j].f) goto found;
  return 0;
found:;
  const char *gi = g[i];
  if (*(const uint8_t *)(gi + hs_fl.owner) != m->fr[j].owner ||
      RD_PTR(gi, hs_fl.exec) != m->fr[j].exec || !hs_wm_same_from(m, RD_PTR(gi, hs_fl.prev), j + 1))
    return 0;
move:;
  int nraw = i + 1 + (raw - j - 1);
  if (nraw > HS_WM_RAW) return 0;
  /* the new frames' ids + 1 (g[0]'s is frame0; 0: skipped) */
  uint32_t gid[HS_WM_REACH];
  gid[0] = frame0;
  for (int k = 1; k <= i; k++) {
    uint8_t owner = *(const uint8_t *)(g[k] + hs_fl.owner);
    gid[k] = owner >= 3 ? 0 : hs_ipf_frame(g[k], owner);
  }
  int kept_old = 0, kept_new = 0; /* kept frames in fr[0..j], in g[0..i] */
  for (int k = 0; k <= j; k++) kept_old += m->fr[k].id != 0;
  for (int k = 0; k <= i; k++) kept_new += gid[k] != 0;
  int n = kept_new + m->n - kept_old;
  /* memmove, not memcpy (the two never overlap): GCC inlines this memcpy as rep movsb, and
   * callgrind counts its every byte (raytrace on 3.14: +250 M instructions) */
  memmove(&d->fr[i + 1], &m->fr[j + 1], (size_t)(raw - j - 1) * sizeof m->fr[0]);
  memmove(&d->ids[kept_new], &m->ids[kept_old], (size_t)(m->n - kept_old) * sizeof m->ids[0]);
  d->to_end = m->to_end;
  for (int k = 0, c = 0; k <= i; k++) {
    struct hs_wmframe *w = &d->fr[k];
    w->f = g[k];
    w->exec = RD_PTR(g[k], hs_fl.exec);
    w->instr = RD_PTR(g[k], hs_fl.instr);
    w->owner = *(const uint8_t *)(g[k] + hs_fl.owner);
    w->id = gid[k];
    if (gid[k]) d->ids[c++] = gid[k] - 1;
  }
  if (n >= max) {
    /* as the walk: the chain ends at the max-th kept frame */
    int extra = n - max;
    while (nraw > 1 && (extra > 0 || d->fr[nraw - 1].id == 0)) {
      if (d->fr[nraw - 1].id) extra--;
      nraw--;
      d->to_end = 0;
    }
    n = max;
  } else if (!d->to_end) {
    /* the frames past the recorded ones that enter the window: walk them */
    const char *f = RD_PTR(d->fr[nraw - 1].f, hs_fl.prev);
    for (; f && n < max; f = RD_PTR(f, hs_fl.prev)) {
      if (nraw >= HS_WM_RAW) {
        d->epoch = 0;
        return 0;
      }
      uint8_t owner = *(const uint8_t *)(f + hs_fl.owner);
      struct hs_wmframe *w = &d->fr[nraw++];
      w->f = f;
      w->exec = RD_PTR(f, hs_fl.exec);
      w->instr = RD_PTR(f, hs_fl.instr);
      w->owner = owner;
      w->id = 0;
      if (owner >= 3) continue;
      struct hs_lcache *e = hs_py_frame313(f, owner);
      if (e) {
        w->id = e->frame + 1;
        d->ids[n++] = e->frame;
      }
    }
    d->to_end = f == NULL;
  }
  d->n = n;
  d->raw = nraw;
  d->ts = m->ts;
  d->max = m->max;
  d->epoch = m->epoch;
  hs_wm_newgen(d);
  return 1;
}

/* 3.11+: the innermost frame (3.11, 3.12: through the C frame, cframe->current_frame) */
static inline const char *hs_wm_f0(const char *ts) {
  if (hs_walk == HS_WALK_313) return RD_PTR(ts, hs_fl.tstate_frame);
  const char *cframe = RD_PTR(ts, 56);
  return cframe ? RD_PTR(cframe, hs_walk == HS_WALK_311 ? 8 : 0) : NULL;
}

/* hs_py_site_of when the memo's table has no site for (frame0, domain) or the chain above the
 * innermost frame is not the recorded one: kept out of line, so that the hit path keeps its
 * registers */
__attribute__((noinline)) static uint32_t hs_py_site_miss(char *ts, uint8_t domain, uint32_t frame0) {
  const char *f0 = hs_wm_f0(ts);
  struct hs_walkmemo *m = hs_wm_cur;
  if (HS_UNLIKELY(!m)) m = hs_wm_cur = &hs_wmv[0];
  struct hs_walkmemo *o = m == &hs_wmv[0] ? &hs_wmv[1] : &hs_wmv[0];
  uint32_t s;
  int same = hs_wm_same(m, ts, f0);
  if (!same && hs_wm_same(o, ts, f0)) {
    /* back on the chain left last: the memos trade places */
    hs_wm_cur = m = o;
    same = 1;
    HS_WMC(hs_wmc_trade++);
  }
  struct hs_wmsite *w = &m->tab[(frame0 * 0x9E3779B1u) >> (32 - HS_WM_TAB_BITS)];
  int mine = w->gen == m->gen && w->frame0 == frame0;
  if (same) {
    if (mine && w->site[domain]) return w->site[domain] - 1;
    /* the chain above f0 is known: f0 is new (another line, or another frame in its place) */
    hs_wm_set0(m, f0, frame0);
    s = hs_py_site_ids(domain, m->ids, m->n);
    HS_WMC(hs_wmc_memo(ts, domain));
  } else if (m->epoch == hs_code_epoch && m->ts == ts &&
             m->max == hs_proc.max_frames && hs_wm_shift(m, o, f0, frame0)) {
    hs_wm_cur = m = o;
    w = &m->tab[(frame0 * 0x9E3779B1u) >> (32 - HS_WM_TAB_BITS)];
    s = hs_py_site_ids(domain, m->ids, m->n);
    mine = 0;
    HS_WMC(hs_wmc_shift++);
    HS_WMC(hs_wmc_memo(ts, domain));
  } else {
    /* walk again, recording the chain in the other memo (not memoized when it ran past
     * HS_WM_RAW frames) */
    unsigned epoch = hs_code_epoch;
    o->epoch = 0;
    o->raw = 0;
    o->n = 0;
    HS_WMC(hs_wmc_walk++);
    hs_wm_rec = o;
    s = hs_py_site_walked(ts, domain);
    hs_wm_rec = NULL;
    if (s == UINT32_MAX || o->raw <= 0) return s;
    hs_wm_newgen(o);
    o->ts = ts;
    o->max = hs_proc.max_frames;
    o->epoch = epoch;
    hs_wm_cur = m = o;
    w = &m->tab[(frame0 * 0x9E3779B1u) >> (32 - HS_WM_TAB_BITS)];
    mine = 0;
  }
  if (s != UINT32_MAX) {
    if (!mine) {
      memset(w->site, 0, sizeof w->site);
      w->frame0 = frame0;
      w->gen = m->gen;
    }
    w->site[domain] = s + 1;
  }
  return s;
}

/* Python site of the current thread, or UINT32_MAX when it runs no Python code. */
static uint32_t hs_py_site_of(char *ts, uint8_t domain) {
  if (hs_walk < HS_WALK_311 || hs_proc.max_frames == 1 || hs_py_released)
    return hs_py_site_walked(ts, domain);
  /* the innermost frame moves from one allocation to the next: its frame id (hs_ipf, else
   * the line cache) keys the memo's small table; the frames above it are compared */
  const char *f0 = hs_wm_f0(ts);
  uint8_t owner0 = f0 ? *(const uint8_t *)(f0 + hs_fl.owner) : 3;
  if (owner0 >= 3) return hs_py_site_walked(ts, domain);
  uint32_t frame0 = hs_ipf_frame(f0, owner0);
  if (!frame0) return hs_py_site_walked(ts, domain); /* only a kept innermost frame is memoized */
  const struct hs_walkmemo *m = hs_wm_cur;
  if (HS_UNLIKELY(!m)) return hs_py_site_miss(ts, domain, frame0);
  const struct hs_wmsite *w = &m->tab[(frame0 * 0x9E3779B1u) >> (32 - HS_WM_TAB_BITS)];
  if (HS_LIKELY(w->gen == m->gen && w->frame0 == frame0 && w->site[domain] && hs_wm_same(m, ts, f0)))
    return w->site[domain] - 1;
  return hs_py_site_miss(ts, domain, frame0);
}

#ifdef HS_WM_CHECK
#undef hs_py_site_of
#endif

/* hs_py_site_of(ts, HS_DOMAIN_OBJ)'s hit path only, for the reference tracer at several
 * frames (hs_py_ra_memo; 3.13+, GIL held, hs_py_own and hs_busy clear): the
 * answer when hs_ipf knows the innermost frame, the current memo's table has its site and the
 * chain compare holds; UINT32_MAX otherwise (then hs_ra_memo_miss asks hs_py_site_of, which
 * finds what this probe found: nothing here changes any state). It calls nothing and allocates nothing,
 * so the tracer runs it without hs_busy. */
static inline __attribute__((always_inline)) uint32_t hs_py_site_memo_obj(const char *ts) {
  if (HS_UNLIKELY(hs_walk < HS_WALK_311 || hs_proc.max_frames == 1 || hs_py_released || hs_native_mode))
    return UINT32_MAX;
  const char *f0 = hs_wm_f0(ts);
  if (HS_UNLIKELY(!f0)) return UINT32_MAX;
  uint8_t owner0 = *(const uint8_t *)(f0 + hs_fl.owner);
  const char *ip = RD_PTR(f0, hs_fl.instr), *x = RD_PTR(f0, hs_fl.exec);
  const struct hs_ipframe *ipf = &hs_ipf[((uintptr_t)ip >> 1) & (HS_IPF - 1)];
  const struct hs_walkmemo *m = hs_wm_cur;
  if (HS_UNLIKELY(owner0 >= 3 || ipf->instr != ip || ipf->exec != x || ipf->owner != owner0 ||
                  ipf->epoch != hs_code_epoch || !ipf->frame || !m))
    return UINT32_MAX;
  uint32_t frame0 = ipf->frame;
  const struct hs_wmsite *w = &m->tab[(frame0 * 0x9E3779B1u) >> (32 - HS_WM_TAB_BITS)];
  if (HS_LIKELY(w->gen == m->gen && w->frame0 == frame0 && w->site[HS_DOMAIN_OBJ] && hs_wm_same(m, ts, f0))) {
    uint32_t s = w->site[HS_DOMAIN_OBJ] - 1;
#ifdef HS_WM_CHECK
    hs_busy = 1; /* the full walk may intern */
    hs_wmc_n++;
    hs_wmc_hit16++;
    hs_wmc_bad += hs_py_site_walked((char *)ts, HS_DOMAIN_OBJ) != s;
    hs_busy = 0;
#endif
    return s;
  }
  return UINT32_MAX;
}

/* The reference tracer at several frames (reattrib.c, hs_ra_memo_ok passed: GIL held, hs_busy,
 * hs_py_own and hs_attention clear, no tracer chained; the object op re-created in block, whose
 * shadow slot ss holds s): the block moves to the site the memo's hit path answers
 * (hs_core_reattribute_obj), or stays; a memo miss goes back to reattrib.c (hs_ra_memo_miss).
 * The tracer's answer, 0. */
int hs_py_ra_memo(void *op, uintptr_t block, uint32_t *ss, uint32_t s, const char *ts) {
  uint32_t site = hs_py_site_memo_obj(ts);
  if (HS_UNLIKELY(site == UINT32_MAX)) return hs_ra_memo_miss(op, block, ss, s, ts);
  if ((s & HS_SHADOW_SITE_MASK) == site) return 0;
  return hs_core_reattribute_obj(block, ss, s, site);
}

/* hs_py_site_now(HS_DOMAIN_OBJ) for the reference tracer at several frames after
 * hs_py_site_memo_obj missed (the same conditions; the caller holds hs_busy: a walk may
 * intern): what hs_py_site_slow answers, without its tests of the one-frame path. UINT32_MAX
 * when the caller must take the general path (--native, no walk). */
uint32_t hs_py_site_obj_full(const char *ts) {
  if (HS_UNLIKELY(hs_walk == HS_WALK_NONE || hs_native_mode || hs_py_own)) return UINT32_MAX;
  uint32_t s = hs_py_site_of((char *)ts, HS_DOMAIN_OBJ);
  return s != UINT32_MAX ? s : hs_py_unknown_site(HS_DOMAIN_OBJ);
}

static uint32_t hs_py_site_walked(char *ts, uint8_t domain) {
  struct hs_lcache *es[HS_MAX_FRAMES];
  uint32_t ids[HS_MAX_FRAMES];
  int n = hs_py_walk(ts, es, ids, (int)hs_proc.max_frames);
  if (n == 0) return UINT32_MAX;
  if (n == 1 && hs_proc.max_frames == 1) {
    struct hs_lcache *e = es[0];
    if (HS_UNLIKELY(!e->site[domain])) {
      struct hs_stack st;
      st.n = 1;
      st.frames[0] = e->frame;
      e->site[domain] = hs_intern_site(domain, &st) + 1;
    }
    return e->site[domain] - 1;
  }
  return hs_py_site_ids(domain, ids, n);
}

/* The site of the stack ids[0..n) (n >= 1): the site cache, else the locked table. The stack
 * is copied into a struct hs_stack only when the locked table is asked (round seven: the
 * cache's hit path hashes and compares ids in place). */
static uint32_t hs_py_site_ids(uint8_t domain, const uint32_t *ids, int n) {
  struct hs_stack st;
  /* two ids a step, as one 64-bit word (round eight: half the multiplies; raytrace on 3.14
   * at 16 frames asks this 1.9 M times, mostly for 10-16 ids) */
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
  int i = 0;
  for (; i + 2 <= n; i += 2) {
    uint64_t x;
    memcpy(&x, ids + i, sizeof x);
    h = (h ^ x) * 0xBF58476D1CE4E5B9ull;
  }
  if (i < n) h = (h ^ ids[i]) * 0xBF58476D1CE4E5B9ull;
  h ^= h >> 29; /* the odd ids (a word's upper half) reach the tag's low bits too */
  if (n > HS_SCACHE_FRAMES || hs_py_released) {
    st.n = (uint32_t)n;
    memcpy(st.frames, ids, 4u * (uint32_t)n);
    return hs_intern_site(domain, &st);
  }
  /* Multi-frame sites: a direct-mapped cache from the frame ids to the site, in front of the
   * locked hash table (GIL-protected, like the line cache). */
  struct hs_scache *c = &hs_sc[(h >> 40) & (HS_SCACHE - 1)];
  uint32_t tag = (uint32_t)(h >> 8) | 1u;
  if (c->tag == tag && c->n == (uint32_t)n && memcmp(c->frames, ids, 4u * (uint32_t)n) == 0) {
    if (HS_LIKELY(c->site[domain])) return c->site[domain] - 1;
  } else {
    c->tag = tag;
    c->n = (uint32_t)n;
    memcpy(c->frames, ids, 4u * (uint32_t)n);
    memset(c->site, 0, sizeof c->site);
  }
  st.n = (uint32_t)n;
  memcpy(st.frames, ids, 4u * (uint32_t)n);
  uint32_t site = hs_intern_site(domain, &st);
  c->site[domain] = site + 1;
  return site;
}

int hs_py_holds_gil(void) {
  return hs_walk != HS_WALK_NONE && !hs_py_pending && hs_py_gil_tstate() != NULL;
}

int hs_py_gil_acquire(void) {
  if (hs_walk == HS_WALK_NONE || hs_py_pending || !p_GILState_Ensure || !p_IsInitialized()) return -1;
  if (hs_py_gil_tstate()) return -2; /* already held: nothing to release */
  if (hs_walk < HS_WALK_312 ? !p_gilstate_this() : 0) return -1;
  return p_GILState_Ensure();
}

void hs_py_gil_release(int token) {
  if (token >= 0 && p_GILState_Release) p_GILState_Release(token);
}

/* Site of a thread that released the GIL (numpy does around large callocs): its own frames
 * do not change while it sits in this hook, so they are read without the shared cache. */
static uint32_t hs_py_released_site(uint8_t domain) {
  char *ts = p_IsInitialized() ? p_gilstate_this() : NULL;
  if (!ts) return UINT32_MAX;
  hs_py_released = 1;
  uint32_t s;
  if (HS_UNLIKELY(hs_native_mode)) {
    s = hs_native_site_stack(domain, ts);
  } else {
    struct hs_lcache *es[HS_SCRATCH];
    struct hs_stack st;
    int n = hs_py_walk(ts, es, st.frames, hs_proc.max_frames < HS_SCRATCH ? (int)hs_proc.max_frames : HS_SCRATCH);
    st.n = (uint32_t)n;
    s = n ? hs_intern_site(domain, &st) : UINT32_MAX;
  }
  hs_py_released = 0;
  return s;
}


uint32_t hs_py_or_native_site(uint8_t domain, uintptr_t ret) {
  if (HS_UNLIKELY(hs_py_own)) return hs_py_unknown_site(domain);
  if (hs_walk != HS_WALK_NONE && !hs_py_pending) {
    char *ts = hs_py_gil_tstate();
    if (ts) {
      if (HS_UNLIKELY(hs_native_mode)) return hs_native_site_stack(domain, ts);
      uint32_t s = hs_py_site_of(ts, domain);
      if (s != UINT32_MAX) return s;
    } else {
      uint32_t s = hs_py_released_site(domain);
      if (s != UINT32_MAX) return s;
    }
  }
  if (HS_UNLIKELY(hs_native_mode)) return hs_native_site_stack(domain, NULL);
  return hs_native_site(domain, ret);
}

/* One-frame fast path (not --native), for MEM and OBJ (GIL held): the innermost frame's
 * (code, offset) read inline; then a small per-thread memo of recent (code, offset) pairs,
 * then the line cache. UINT32_MAX sends the caller to the general walk (incomplete or C-entry
 * frames, cache misses, first sight of a site). A memo entry is dropped whenever a code object
 * is freed (hs_code_epoch). The memo has 16 entries, not 1: a loop body allocates on several
 * lines in turn (churn4: a tuple, a dict and a float, a str and a list, ints), and one entry
 * missed on about half of the allocations, each miss a probe of the shared line cache and of
 * the free-epoch table. */
static int hs_fast;
#define HS_MEMO 16
static HS_TLS struct hs_memo {
  const char *code;
  int32_t off;
  unsigned epoch;
  uint32_t site[HS_DOMAIN_COUNT]; /* site + 1 */
} hs_memo[HS_MEMO];

static uint32_t hs_py_site_obj_miss(char *ts, const char *ip);

/* now (a constant where it is inlined): on 3.13+ an OBJ request asks hs_now first (hs_py_site);
 * walk: hs_walk, or HS_WALK_313 in the hooks specialised for it (hs_py_site_spec) */
static inline __attribute__((always_inline)) uint32_t hs_py_site_fast_walk(char *ts, uint8_t domain, int now,
                                                                          enum hs_walk_kind walk) {
  const char *code, *f;
  int32_t off;
  switch (walk) {
    case HS_WALK_38:
    case HS_WALK_310:
      f = RD_PTR(ts, 24);
      if (HS_UNLIKELY(!f)) return UINT32_MAX;
      code = RD_PTR(f, 32);
      off = walk == HS_WALK_38 ? RD_I32(f, 104) : RD_I32(f, 96) * 2;
      break;
    case HS_WALK_311:
    case HS_WALK_312: {
      int v311 = walk == HS_WALK_311;
      const char *cframe = RD_PTR(ts, 56);
      if (HS_UNLIKELY(!cframe)) return UINT32_MAX;
      f = RD_PTR(cframe, v311 ? 8 : 0);
      if (HS_UNLIKELY(!f) || (!v311 && *(const uint8_t *)(f + 70) == 3)) return UINT32_MAX;
      code = RD_PTR(f, v311 ? 32 : 0);
      off = (int32_t)(RD_PTR(f, 56) - (code + (v311 ? 184 : 192)));
      break;
    }
    case HS_WALK_313:
      f = RD_PTR(ts, hs_fl.tstate_frame);
      if (HS_UNLIKELY(!f) || *(const uint8_t *)(f + hs_fl.owner) >= 3) return UINT32_MAX;
      if (now && domain == HS_DOMAIN_OBJ) {
        const char *ip = RD_PTR(f, hs_fl.instr);
        const struct hs_now_e *n = hs_now_at(ip);
        if (HS_LIKELY(n->ip == ip && n->epoch == hs_code_epoch)) return n->site;
        return hs_py_site_obj_miss(ts, ip);
      }
      code = (const char *)((uintptr_t)RD_PTR(f, hs_fl.exec) & ~(uintptr_t)7);
      if (HS_UNLIKELY(!code)) return UINT32_MAX;
      off = (int32_t)(RD_PTR(f, hs_fl.instr) - (code + hs_fl.adapt));
      break;
    default:
      return UINT32_MAX;
  }
  struct hs_memo *m = &hs_memo[(((uintptr_t)code >> 4) + ((uint32_t)off >> 1)) & (HS_MEMO - 1)];
  if (m->code == code && m->off == off && m->epoch == hs_code_epoch && HS_LIKELY(m->site[domain]))
    return m->site[domain] - 1;
  struct hs_lcache *e = hs_lc_slot(code, off);
  if (!e->site[domain] || !hs_lc_valid(e, code, off)) return UINT32_MAX;
  if (m->code != code || m->off != off || m->epoch != hs_code_epoch) {
    memset(m->site, 0, sizeof m->site);
    m->code = code;
    m->off = off;
    m->epoch = hs_code_epoch;
  }
  m->site[domain] = e->site[domain];
  return e->site[domain] - 1;
}
static inline __attribute__((always_inline)) uint32_t hs_py_site_fast_now(char *ts, uint8_t domain, int now) {
  return hs_py_site_fast_walk(ts, domain, now, hs_walk);
}
static inline __attribute__((always_inline)) uint32_t hs_py_site_fast(char *ts, uint8_t domain) {
  return hs_py_site_fast_now(ts, domain, 0);
}

/* hs_py_site after the one-frame fast path: tried is set when hs_py_site tried it and it
 * missed (it is not tried again) */
static __attribute__((noinline)) uint32_t hs_py_site_slow(uint8_t domain, int tried) {
  if (HS_UNLIKELY(hs_py_own)) return hs_py_unknown_site(domain); /* the shim's own call */
  if (hs_walk != HS_WALK_NONE) {
    /* MEM and OBJ are called with the GIL held (the C API's contract), so the current thread
     * state is ours; RAW may be called without it and is checked. */
    char *ts = domain == HS_DOMAIN_RAW ? hs_py_gil_tstate() : p_tstate_get();
    if (HS_LIKELY(hs_fast) && ts && domain != HS_DOMAIN_RAW && !tried) {
      uint32_t s = hs_py_site_fast(ts, domain);
      if (HS_LIKELY(s != UINT32_MAX)) return s;
    }
    if (ts) {
      if (HS_UNLIKELY(hs_native_mode)) return hs_native_site_stack(domain, ts);
      uint32_t s = hs_py_site_of(ts, domain);
      if (s != UINT32_MAX) return s;
    } else if (domain == HS_DOMAIN_RAW && !hs_py_pending) {
      uint32_t s = hs_py_released_site(domain);
      if (s != UINT32_MAX) return s;
    }
  }
  if (HS_UNLIKELY(hs_native_mode)) return hs_native_site_stack(domain, NULL);
  return hs_py_unknown_site(domain);
}

/* The site of the current allocation: the one-frame fast path inline in the hooks (MEM and
 * OBJ, GIL held), everything else in hs_py_site_slow, which keeps the hooks' common path free
 * of the slow paths' stack frame. On 3.13+ an OBJ allocation asks the per-thread table
 * instruction pointer -> OBJ site (hs_now, below) first: the answer hs_py_site_fast would
 * give (hs_py_site_now says why), without the offset arithmetic and the memo's three
 * compares; a miss fills the entry, which the reference tracer (reattrib.c) then finds too. */
static inline __attribute__((always_inline)) uint32_t hs_py_site(uint8_t domain) {
  int tried = 0;
  if (HS_LIKELY(hs_fast) && HS_LIKELY(!hs_py_own) && domain != HS_DOMAIN_RAW) {
    char *ts = p_tstate_get();
    if (HS_LIKELY(ts != NULL)) {
      uint32_t s = hs_py_site_fast_now(ts, domain, 1);
      if (HS_LIKELY(s != UINT32_MAX)) return s;
      tried = 1;
    }
  }
  return hs_py_site_slow(domain, tried);
}

/* ------------------------------------------------------------------ allocator hooks */

/* Each hook records at the outermost level only: a large OBJ request that falls through to
 * RAW and then to libc malloc is one allocation, in the OBJ domain. A request that a PEP 445
 * wrapper above makes for itself (tracemalloc's trace entries; pychain.h, fwd) is passed on
 * with hs_busy clear: the libc wrapper records it in the malloc domain. The block just recorded
 * is remembered: the object created in it next is not a free-list reuse (reattrib.c). */
static inline void hs_py_record(void *p, size_t size, uint32_t site) {
  hs_core_alloc(p, size, site);
  hs_last_block = (uintptr_t)p;
  hs_last_size = size;
}

/* The per-thread table instruction pointer -> OBJ site (3.13+, one frame): the OBJ hooks'
 * first question (hs_py_site) and reattrib.c's for every object re-created from a free list
 * (hs_py_site_now, and its tracer's inline path). While no code object was freed
 * (hs_code_epoch) the innermost frame's instruction pointer names one code object and offset,
 * so (pointer -> site) needs neither the offset arithmetic nor the memo's and line cache's
 * probes. Float code re-creates objects on a few dozen instructions over and over (bm_float:
 * one entry missed on most events, 64 entries almost never; raytrace's allocating and
 * re-creating instructions together missed 64 entries often, 512 still often, 1024 seldom; core.h).
 * OBJ only: the objects re-created from free lists are PyObject_Malloc blocks. */
/* hs_now is in hs_hot (core.h): reattrib.c's tracer reads it too */

/* hs_py_site's table miss (3.13+, one frame, OBJ, GIL held, the innermost frame complete):
 * the memo path, and the entry filled when it answers. */
static __attribute__((noinline)) uint32_t hs_py_site_obj_miss(char *ts, const char *ip) {
  uint32_t s = hs_py_site_fast(ts, HS_DOMAIN_OBJ);
  if (HS_LIKELY(s != UINT32_MAX)) {
    struct hs_now_e *n = hs_now_at(ip);
    n->ip = ip;
    n->epoch = hs_code_epoch;
    n->site = s;
    return s;
  }
  return hs_py_site_slow(HS_DOMAIN_OBJ, 1);
}

uint32_t hs_py_site_now(uint8_t domain) { return hs_py_site(domain); }

/* The hooks specialised at install (hs_py_hooks) for the common setup: exact mode (no
 * sampling), one frame or (round eight) several, not --native, 3.13+ with the frame table (hs_walk
 * HS_WALK_313 from the start). Then an OBJ or MEM link has no wrapper's requests to screen (fwd is a RAW link's), no
 * RAW tick, nothing sampled out, and hs_fast and hs_walk are known: the hooks below are the
 * general ones with those tests folded away, the domain a constant, and, where the interpreter
 * is static, the thread state read inline (hs_py_tls) instead of through a call. Anything
 * unusual at entry (hs_busy, the shim's own call, hs_attention, tracking off) goes to the
 * general hook, which does what it always did. RAW keeps the general hooks. */
static long hs_py_tls; /* hs_tstate_tls_of(PyThreadState_GetUnchecked), or 0 */
enum { HS_ANY = 0xff }; /* the domain argument of the general hooks: d->domain */

/* hs_py_site for the specialised hooks (tls & HS_SPEC_TLS: the thread state read inline;
 * tls & HS_SPEC_FRAMES: several frames). With several frames the general path was the hook's
 * own tests, hs_py_site and hs_py_site_slow (their fast path is off) before hs_py_site_of: that
 * call is made at once, and where it finds no Python frame the site is hs_py_site_slow's
 * (unknown; --native is never specialised). */
enum { HS_SPEC_TLS = 1, HS_SPEC_FRAMES = 2 };
static inline __attribute__((always_inline)) uint32_t hs_py_site_spec(uint8_t domain, int tls) {
  if (tls & HS_SPEC_FRAMES) {
    char *ts = (tls & HS_SPEC_TLS) ? hs_tstate_tls(hs_py_tls) : p_tstate_get();
    uint32_t s = HS_LIKELY(ts != NULL) ? hs_py_site_of(ts, domain) : UINT32_MAX;
    return HS_LIKELY(s != UINT32_MAX) ? s : hs_py_unknown_site(domain);
  }
  char *ts = tls ? hs_tstate_tls(hs_py_tls) : p_tstate_get();
  if (HS_UNLIKELY(ts == NULL)) return hs_py_site_slow(domain, 0);
  uint32_t s = hs_py_site_fast_walk(ts, domain, 1, HS_WALK_313);
  if (HS_LIKELY(s != UINT32_MAX)) return s;
  return hs_py_site_slow(domain, 1);
}

/* The specialised hooks' entry test: 1 when the general hook must take the request. */
static inline __attribute__((always_inline)) int hs_py_unusual(void) {
  /* hs_busy, hs_py_own; !hs_active, hs_attention */
  return HS_UNLIKELY(hs_hot_flags != 0) || HS_UNLIKELY(!hs_gate_open());
}

static void *hs_py_malloc(void *ctx, size_t size);
static void *hs_py_calloc(void *ctx, size_t nelem, size_t elsize);
static void *hs_py_realloc(void *ctx, void *ptr, size_t size);

/* The general hook (dom HS_ANY) and the specialised ones (dom a constant). */
static inline __attribute__((always_inline)) void *hs_py_malloc_t(void *ctx, size_t size, uint8_t dom, int tls) {
  struct hs_pylink *d = ctx;
  if (dom != HS_ANY) {
    if (hs_py_unusual()) return hs_py_malloc(ctx, size);
    hs_busy = 1;
  } else {
    if (HS_UNLIKELY(hs_busy || !hs_active)) {
      hs_chain_note(d, __builtin_return_address(0));
      return d->prev.malloc(d->prev.ctx, size);
    }
    if (hs_chain_foreign(d, HS_FWD_MALLOC, __builtin_return_address(0))) {
      hs_chain_raw_tick(d);
      return d->prev.malloc(d->prev.ctx, size);
    }
    hs_busy = 1;
    hs_chain_raw_tick(d);
    if (HS_UNLIKELY(hs_attention)) hs_attend();
  }
  void *p = d->prev.malloc(d->prev.ctx, size);
  if (dom != HS_ANY) {
    if (HS_LIKELY(p != NULL)) hs_py_record(p, size, hs_py_site_spec(dom, tls));
  } else if (p && !hs_sampled_out(size))
    hs_py_record(p, size, hs_py_site(d->domain));
  hs_busy = 0;
  return p;
}

static inline __attribute__((always_inline)) void *hs_py_calloc_t(void *ctx, size_t nelem, size_t elsize,
                                                                  uint8_t dom, int tls) {
  struct hs_pylink *d = ctx;
  if (dom != HS_ANY) {
    if (hs_py_unusual()) return hs_py_calloc(ctx, nelem, elsize);
    hs_busy = 1;
  } else {
    if (HS_UNLIKELY(hs_busy || !hs_active)) {
      hs_chain_note(d, __builtin_return_address(0));
      return d->prev.calloc(d->prev.ctx, nelem, elsize);
    }
    if (hs_chain_foreign(d, HS_FWD_CALLOC, __builtin_return_address(0))) {
      hs_chain_raw_tick(d);
      return d->prev.calloc(d->prev.ctx, nelem, elsize);
    }
    hs_busy = 1;
    hs_chain_raw_tick(d);
    if (HS_UNLIKELY(hs_attention)) hs_attend();
  }
  void *p = d->prev.calloc(d->prev.ctx, nelem, elsize);
  if (dom != HS_ANY) {
    if (HS_LIKELY(p != NULL)) hs_py_record(p, nelem * elsize, hs_py_site_spec(dom, tls));
  } else if (p && !hs_sampled_out(nelem * elsize))
    hs_py_record(p, nelem * elsize, hs_py_site(d->domain));
  hs_busy = 0;
  return p;
}

static inline __attribute__((always_inline)) void *hs_py_realloc_t(void *ctx, void *ptr, size_t size,
                                                                   uint8_t dom, int tls) {
  struct hs_pylink *d = ctx;
  if (dom != HS_ANY) {
    if (hs_py_unusual()) return hs_py_realloc(ctx, ptr, size);
    hs_busy = 1;
  } else {
    if (HS_UNLIKELY(hs_busy || !hs_active)) {
      hs_chain_note(d, __builtin_return_address(0));
      return d->prev.realloc(d->prev.ctx, ptr, size);
    }
    if (hs_chain_foreign(d, HS_FWD_REALLOC, __builtin_return_address(0))) {
      hs_chain_raw_tick(d);
      return d->prev.realloc(d->prev.ctx, ptr, size);
    }
    hs_busy = 1;
    hs_chain_raw_tick(d);
    if (HS_UNLIKELY(hs_attention)) hs_attend();
  }
  uint32_t osite = 0;
  size_t osize = 0;
  /* Forget the old block first: once realloc returns, another thread may get its address. */
  int had = ptr ? hs_core_free(ptr, &osite, &osize) : 0;
  void *p = d->prev.realloc(d->prev.ctx, ptr, size);
  if (p) {
    if (dom != HS_ANY) hs_py_record(p, size, hs_py_site_spec(dom, tls));
    else if (!hs_sampled_out(size)) hs_py_record(p, size, hs_py_site(d->domain));
  } else if (had)
    hs_core_alloc(ptr, osize, osite); /* failed: the old block lives on */
  hs_busy = 0;
  return p;
}

static inline __attribute__((always_inline)) void hs_py_free_t(void *ctx, void *ptr, uint8_t dom) {
  struct hs_pylink *d = ctx;
  /* a code object going away (tracked or not): entries keyed by its address are stale */
  if ((dom == HS_ANY ? d->domain : dom) == HS_DOMAIN_OBJ && ptr &&
      HS_UNLIKELY(*(void *const *)((char *)ptr + 8) == p_CodeType))
    hs_code_freed_at(ptr);
  /* the specialised hooks' common case (hs_attention, which the general path attends to, clear) */
  if (dom != HS_ANY && HS_LIKELY(ptr && !hs_busy && hs_gate_open())) {
    hs_busy = 1;
    hs_core_free(ptr, NULL, NULL);
    d->prev.free(d->prev.ctx, ptr);
    hs_busy = 0;
    return;
  }
  if (ptr && !hs_busy && hs_active) {
    hs_busy = 1;
    if (HS_UNLIKELY(hs_attention)) hs_attend();
    hs_core_free(ptr, NULL, NULL);
    d->prev.free(d->prev.ctx, ptr);
    hs_busy = 0;
    return;
  }
  d->prev.free(d->prev.ctx, ptr);
}

static void *hs_py_malloc(void *ctx, size_t size) { return hs_py_malloc_t(ctx, size, HS_ANY, 0); }
static void *hs_py_calloc(void *ctx, size_t n, size_t e) { return hs_py_calloc_t(ctx, n, e, HS_ANY, 0); }
static void *hs_py_realloc(void *ctx, void *ptr, size_t size) { return hs_py_realloc_t(ctx, ptr, size, HS_ANY, 0); }
static void hs_py_free(void *ctx, void *ptr) { hs_py_free_t(ctx, ptr, HS_ANY); }

/* The specialised sets: domain (OBJ, MEM) x thread state (called, inline). */
#define HS_PY_SPEC(name, dom, tls)                                                                       \
  static void *hs_py_malloc_##name(void *ctx, size_t size) { return hs_py_malloc_t(ctx, size, dom, tls); } \
  static void *hs_py_calloc_##name(void *ctx, size_t n, size_t e) {                                     \
    return hs_py_calloc_t(ctx, n, e, dom, tls);                                                         \
  }                                                                                                     \
  static void *hs_py_realloc_##name(void *ctx, void *ptr, size_t size) {                                \
    return hs_py_realloc_t(ctx, ptr, size, dom, tls);                                                   \
  }
HS_PY_SPEC(obj, HS_DOMAIN_OBJ, 0)
HS_PY_SPEC(obj_tls, HS_DOMAIN_OBJ, HS_SPEC_TLS)
HS_PY_SPEC(mem, HS_DOMAIN_MEM, 0)
HS_PY_SPEC(mem_tls, HS_DOMAIN_MEM, HS_SPEC_TLS)
HS_PY_SPEC(objn, HS_DOMAIN_OBJ, HS_SPEC_FRAMES)
HS_PY_SPEC(objn_tls, HS_DOMAIN_OBJ, HS_SPEC_FRAMES | HS_SPEC_TLS)
HS_PY_SPEC(memn, HS_DOMAIN_MEM, HS_SPEC_FRAMES)
HS_PY_SPEC(memn_tls, HS_DOMAIN_MEM, HS_SPEC_FRAMES | HS_SPEC_TLS)
static void hs_py_free_obj(void *ctx, void *ptr) { hs_py_free_t(ctx, ptr, HS_DOMAIN_OBJ); }
static void hs_py_free_mem(void *ctx, void *ptr) { hs_py_free_t(ctx, ptr, HS_DOMAIN_MEM); }

/* Sampled mode: most allocations are not sampled and most frees are of blocks never
 * recorded, so these answer them with a countdown and a filter load and leave the rest (and
 * every allocation while hs_exact_on, testpeak.c) to the general hooks above (same bookkeeping, same nesting rule: hs_busy keeps an OBJ request that
 * falls through to RAW from being counted twice). */
static __attribute__((noinline)) void *hs_py_malloc_sampled_slow(struct hs_pylink *d, void *p,
                                                                  size_t size, int64_t before) {
  hs_busy = 1;
  if (HS_UNLIKELY(hs_attention)) hs_attend();
  hs_sample_left = before; /* hs_sampled_out decides, with its first-use rule */
  if (p && hs_active && !hs_sampled_out(size)) hs_py_record(p, size, hs_py_site(d->domain));
  hs_busy = 0;
  return p;
}

static void *hs_py_malloc_sampled(void *ctx, size_t size) {
  struct hs_pylink *d = ctx;
  if (hs_busy || hs_chain_foreign(d, HS_FWD_MALLOC, __builtin_return_address(0))) {
    hs_chain_note(d, __builtin_return_address(0));
    return d->prev.malloc(d->prev.ctx, size);
  }
  hs_busy = 1;
  void *p = d->prev.malloc(d->prev.ctx, size);
  hs_busy = 0;
  int64_t before = hs_sample_left, left = before - (int64_t)size;
  if (HS_LIKELY(left > 0 && before != 0 && !(hs_attention | hs_exact_on))) {
    hs_sample_left = left;
    return p;
  }
  return hs_py_malloc_sampled_slow(d, p, size, before);
}

static void hs_py_free_sampled(void *ctx, void *ptr) {
  struct hs_pylink *d = ctx;
  if (ptr && !hs_map_may_hold(ptr) && !hs_attention) {
    if (d->domain == HS_DOMAIN_OBJ && HS_UNLIKELY(*(void *const *)((char *)ptr + 8) == p_CodeType))
      hs_code_freed_at(ptr);
    d->prev.free(d->prev.ctx, ptr);
    return;
  }
  hs_py_free(ctx, ptr);
}

/* heapshape's hooks, as installed on each domain (h[HS_PYMEM_*]; pychain.c gives each link its
 * own ctx): the specialised OBJ and MEM hooks above when the setup is theirs, decided once
 * here (nothing they fold away changes later: hs_sample_rate, hs_proc.max_frames and
 * hs_native_mode are set before, hs_walk HS_WALK_313 from the frame table stays), else the
 * general ones. */
static void hs_py_hooks(struct hs_pyalloc h[3]) {
  int sampled = hs_sample_rate && !hs_l1; /* every recorded block in the map */
  for (int i = 0; i < 3; i++) {
    h[i].ctx = NULL;
    h[i].malloc = sampled ? hs_py_malloc_sampled : hs_py_malloc;
    h[i].calloc = hs_py_calloc;
    h[i].realloc = hs_py_realloc;
    h[i].free = sampled ? hs_py_free_sampled : hs_py_free;
  }
  if (hs_sample_rate || hs_walk != HS_WALK_313 || hs_native_mode ||
      !hs_env_u32("HEAPSHAPE_SPECIALISED_HOOKS", 1, 0, 1))
    return;
  hs_py_tls = hs_tstate_tls_of((const void *)p_tstate_get);
  int tls = hs_py_tls != 0;
#define HS_PY_SET(dom, name) \
  (h[dom].malloc = hs_py_malloc_##name, h[dom].calloc = hs_py_calloc_##name, h[dom].realloc = hs_py_realloc_##name)
  if (hs_proc.max_frames != 1) /* several frames (round eight) */
    tls ? (HS_PY_SET(HS_PYMEM_OBJ, objn_tls), HS_PY_SET(HS_PYMEM_MEM, memn_tls))
        : (HS_PY_SET(HS_PYMEM_OBJ, objn), HS_PY_SET(HS_PYMEM_MEM, memn));
  else
    tls ? (HS_PY_SET(HS_PYMEM_OBJ, obj_tls), HS_PY_SET(HS_PYMEM_MEM, mem_tls))
        : (HS_PY_SET(HS_PYMEM_OBJ, obj), HS_PY_SET(HS_PYMEM_MEM, mem));
#undef HS_PY_SET
  h[HS_PYMEM_OBJ].free = hs_py_free_obj;
  h[HS_PYMEM_MEM].free = hs_py_free_mem;
}

static int hs_fl_pending; /* a newer Python's debug offsets await their live check */

/* Runs on the main thread with the GIL held (Py_AddPendingCall). */
static int hs_py_after_init(void *arg) {
  /* PYTHONMALLOC / -X dev replaced our hooks during pre-initialization: back on top, unless
   * the chain still reaches them (tracemalloc started at start-up wraps them) */
  hs_chain_ensure();
  hs_py_own = 1;
  if (hs_fl_pending) {
    hs_fl_pending = 0;
    if (hs_frame_layout_confirm()) {
      hs_walk = HS_WALK_313;
      hs_fast = hs_proc.max_frames == 1 && !hs_native_mode;
    }
  }
  int r = hs_exit_hook_register(arg); /* exit_hook.c */
  hs_py_own = 0;
  return r;
}

/* Called from hooks (hs_busy set) until the interpreter is initialized and this thread holds
 * the GIL: PYTHONMALLOC / -X dev may have replaced our allocators during pre-initialization. */
void hs_py_finish_init(void) {
  if (!p_IsInitialized() || !p_GILState_Check()) return;
  hs_py_pending = 0;
  hs_proc_mark_base(0); /* writers.c: a child's own work starts after the start-up */
  p_AddPendingCall(hs_py_after_init, NULL);
  hs_reattrib_start();
}

/* The one-way switch from untraced (pyarena.c), GIL held: the MEM and OBJ hooks on top of
 * whatever those domains have now, and re-attribution from now on. */
void hs_py_trace_python(void) {
  hs_chain_domains(7u);
  hs_chain_install(HS_PYMEM_MEM);
  hs_chain_install(HS_PYMEM_OBJ);
  hs_reattrib_enable();
}

#define HS_SYM(var, name) (*(void **)&(var) = dlsym(RTLD_DEFAULT, name))

void hs_py_init(void) {
  const char *(*getver)(void);
  if (!HS_SYM(getver, "Py_GetVersion")) return;
  const char *v = getver();
  int major = 0, minor = 0, micro = 0;
  while (*v >= '0' && *v <= '9') major = major * 10 + (*v++ - '0');
  if (*v == '.') v++;
  while (*v >= '0' && *v <= '9') minor = minor * 10 + (*v++ - '0');
  if (*v == '.') v++;
  while (*v >= '0' && *v <= '9') micro = micro * 10 + (*v++ - '0');
  const unsigned long *pyver = dlsym(RTLD_DEFAULT, "Py_Version");
  hs_py_version = pyver ? (uint32_t)*pyver
                        : (uint32_t)((major << 24) | (minor << 16) | (micro << 8) | 0xF0);
  int ok = HS_SYM(p_GetAllocator, "PyMem_GetAllocator") && HS_SYM(p_SetAllocator, "PyMem_SetAllocator") &&
           HS_SYM(p_IsInitialized, "Py_IsInitialized") && HS_SYM(p_GILState_Check, "PyGILState_Check") &&
           HS_SYM(p_AddPendingCall, "Py_AddPendingCall") && HS_SYM(p_Addr2Line, "PyCode_Addr2Line") &&
           HS_SYM(p_gilstate_this, "PyGILState_GetThisThreadState") &&
           (p_UnicodeType = dlsym(RTLD_DEFAULT, "PyUnicode_Type")) != NULL &&
           (p_CodeType = dlsym(RTLD_DEFAULT, "PyCode_Type")) != NULL;
  if (!ok || major != 3 || minor < 5) {
    hs_warn3("this Python lacks the allocator API heapshape needs; ",
             "only libc malloc is tracked", "");
    hs_py_version = 0;
    return;
  }
  if (!HS_SYM(p_tstate_get, "PyThreadState_GetUnchecked")) HS_SYM(p_tstate_get, "_PyThreadState_UncheckedGet");
  switch (minor) {
    case 8: case 9: hs_walk = HS_WALK_38; break;
    case 10: hs_walk = HS_WALK_310; break;
    case 11: hs_walk = HS_WALK_311; break;
    case 12: hs_walk = HS_WALK_312; break;
    default: hs_walk = HS_WALK_NONE; break;
  }
  int layout = minor >= 13 ? hs_frame_layout_init(&minor) : HS_FL_NONE;
  if (hs_walk == HS_WALK_311 || hs_walk == HS_WALK_312) {
    /* the walk memo (hs_wm) and its frame lookups read frames through hs_fl: 3.11/3.12's
     * _PyInterpreterFrame (docs/cpython-internals.md; f_code is a plain pointer, which the
     * 3.14 tag mask leaves alone; prev_instr is the instruction pointer; owner 3 on 3.12
     * only) */
    int v311 = hs_walk == HS_WALK_311;
    memset(&hs_fl, 0, sizeof hs_fl);
    hs_fl.minor = (uint32_t)minor;
    hs_fl.prev = v311 ? 48 : 8;
    hs_fl.exec = v311 ? 32 : 0;
    hs_fl.instr = 56;
    hs_fl.owner = v311 ? 69 : 70;
    hs_fl.first = v311 ? 168 : 176;
    hs_fl.adapt = v311 ? 184 : 192;
    hs_fl.check_first = 1;
  }
  if (layout == HS_FL_TABLE) hs_walk = HS_WALK_313;
  hs_fl_pending = layout == HS_FL_DEBUG_PENDING && p_tstate_get;
  if (!p_tstate_get) hs_walk = HS_WALK_NONE;
  HS_SYM(p_GILState_Ensure, "PyGILState_Ensure");
  HS_SYM(p_GILState_Release, "PyGILState_Release");
  if (hs_walk == HS_WALK_NONE && minor < 13)
    hs_warn3("no frame layout known for this Python version; ",
             "Python allocations are recorded without lines", "");
  if (minor >= 11) {
    hs_co_filename = 112;
    hs_co_name = 120;
  }
  if (minor >= 12) {
    hs_ascii_size = 40;
    hs_compact_size = 56;
  }
  /* co_firstlineno: after co_flags, (3.11 only) co_warmup and _co_linearray_entry_size, and
   * four ints */
  if (minor >= 11 && HS_SYM(p_CheckLineNumber, "_PyCode_CheckLineNumber") &&
      (p_BytesType = dlsym(RTLD_DEFAULT, "PyBytes_Type")) != NULL)
    hs_co_firstlineno = minor == 11 ? 72 : 68;
  if (layout != HS_FL_NONE) {
    hs_co_filename = hs_fl.co_filename;
    hs_co_name = hs_fl.co_name;
    hs_ascii_size = hs_fl.ascii_size;
    hs_compact_size = hs_fl.compact_size;
  }
  hs_pyi.minor = minor;
  /* the anatomy pass knows object layouts up to the newest version in the frame table */
  if (minor <= 15 && (minor < 13 || layout == HS_FL_TABLE))
    hs_pyi.type_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyType_Type");
  hs_pyi.float_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyFloat_Type");
  hs_pyi.long_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyLong_Type");
  hs_pyi.unicode_type = (uintptr_t)p_UnicodeType;
  hs_pyi.bytes_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyBytes_Type");
  hs_pyi.bytearray_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyByteArray_Type");
  hs_pyi.set_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PySet_Type");
  hs_pyi.frozenset_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyFrozenSet_Type");
  hs_pyi.bool_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyBool_Type");
  hs_pyi.none_obj = (uintptr_t)dlsym(RTLD_DEFAULT, "_Py_NoneStruct");
  hs_pyi.ascii_size = (uint16_t)hs_ascii_size;
  hs_pyi.compact_size = (uint16_t)hs_compact_size;
  struct hs_pyalloc hooks[3];
  hs_py_hooks(hooks);
  hs_chain_init(p_GetAllocator, p_SetAllocator, p_GILState_Check, p_AddPendingCall, hooks);
  /* HEAPSHAPE_PYTHON_ALLOCATORS=untraced: RAW and pymalloc's arenas only (pyarena.c) */
  const char *pa = getenv("HEAPSHAPE_PYTHON_ALLOCATORS");
  hs_py_untraced = pa && strcmp(pa, "untraced") == 0 && hs_arena_init() == 0;
  if (hs_py_untraced) hs_code_dealloc_wrap();
  hs_chain_domains(hs_py_untraced ? 1u << HS_PYMEM_RAW : 7u);
  hs_chain_install(HS_PYMEM_RAW);
  if (!hs_py_untraced) {
    hs_chain_install(HS_PYMEM_MEM);
    hs_chain_install(HS_PYMEM_OBJ);
  }
  uint32_t lc = hs_env_u32("HEAPSHAPE_LINE_CACHE", HS_LCACHE, 1, HS_LCACHE);
  while (lc & (lc - 1)) lc &= lc - 1; /* a power of two */
  hs_lc_mask = lc - 1;
  hs_fast = hs_walk != HS_WALK_NONE && hs_proc.max_frames == 1 && !hs_native_mode;
  hs_reattrib_init(minor);
  hs_py_hooked = 1;
  hs_py_pending = 1;
  hs_attention = 1;
}
