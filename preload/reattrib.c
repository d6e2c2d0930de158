/* heapshape free-list re-attribution: when CPython creates an object in a block it did not just
 * allocate (a float, list, tuple, dict, ... popped from its type's free list), the block moves
 * to the Python line that created it, as tracemalloc does (_Py_NewReference ->
 * _PyTraceMalloc_NewReference, or its reference tracer from 3.13).
 *
 * How the creation is seen, by version (docs/DESIGN.md, "Free lists", says why):
 *   3.13 and later  the interpreter's reference tracer (PyRefTracer_SetTracer), CREATE
 *                   events; a tracer installed before ours is chained, and one the program
 *                   installs later is chained too when its call reaches our
 *                   PyRefTracer_SetTracer (shared libpython), else ours yields to it and comes
 *                   back when it is removed (3.15+ announces a replacement with
 *                   TRACKER_REMOVED, which both directions honour).
 *   3.9 - 3.12      _Py_NewReference (and 3.12's _Py_NewReferenceNoTotal) exported from the
 *                   shim: a shared libpython calls them through its PLT, so ours runs and
 *                   forwards to the interpreter's. A static interpreter (Debian's python3.11)
 *                   calls its own copies directly: no re-attribution there.
 *   3.8             nothing: _Py_NewReference is inline and reaches an exported function only
 *                   while tracemalloc is tracing.
 * Nothing the program can see changes: tracemalloc's flag is never touched, and
 * PyRefTracer_GetTracer answers what the program installed.
 *
 * Cost on the common path (an object created in the block the hook just recorded): two
 * thread-local loads and a compare. In sampled mode, where most blocks are not recorded, one
 * more: the map filter's bits of the three places the block can start (in one 8 KiB array).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>

#include "preload/core.h"
#include "preload/pyarena.h"
#include "preload/pyframe_layout.h"

#define HS_EXPORT __attribute__((visibility("default")))

typedef int (*hs_reftracer)(void *op, int event, void *data);

volatile int hs_reattrib_wanted;

/* The interpreter's names, exported from the shim. */
HS_EXPORT void _Py_NewReference(void *op);
HS_EXPORT void _Py_NewReferenceNoTotal(void *op);
HS_EXPORT int PyRefTracer_SetTracer(hs_reftracer tracer, void *data);
HS_EXPORT hs_reftracer PyRefTracer_GetTracer(void **data);

static int hs_ra_minor;     /* 3.minor of the interpreter, 0 = none */
static int hs_ra_deferred;  /* the Python allocators untraced (pyarena.c): off until the switch */
static int hs_ra_newref;    /* 3.9-3.12: our _Py_NewReference re-attributes */
static unsigned long hs_ra_preheader; /* type flags that put 16 more bytes before the object */
static void (*p_newref)(void *), (*p_newref_nototal)(void *);
static int (*p_set_tracer)(hs_reftracer, void *);
static hs_reftracer (*p_get_tracer)(void **);
static void *(*p_err_occurred)(void);
static int (*p_gil_check)(void);

/* 3.13+: ours is installed (hs_ra_on), the program's own tracer is chained (GIL-protected). */
static int hs_ra_on;
static hs_reftracer hs_ra_prev;
static void *hs_ra_prev_data;

#define HS_TPFLAGS_HAVE_GC (1ul << 14)

/* An object is created at o (GIL held): 0 when nothing is to be moved, known without
 * touching the object (so _Py_NewReference can ask before forwarding, and forward as a tail
 * call), 1 when hs_ra_move must look once the object is made. */
static inline int hs_ra_look(uintptr_t o) {
  if (HS_LIKELY(o - hs_last_block < hs_last_size)) {
    /* created in the block just recorded: a fresh allocation. Consumed, so that the block's
     * next creation (a float dropped and re-created with no recorded allocation between, or
     * any block in sampled mode, where most allocations leave this alone) is looked at. */
    hs_last_size = 0;
    return 0;
  }
  /* Without a shadow table (sampled mode) every recorded block is in the hash map, and the
   * block starts at o, o - 16 or o - 32: when the map's filter holds none of these, the block
   * was never recorded (sampled out, or older than the hooks) and nothing is to be moved.
   * Same answer as hs_core_reattribute's own filter test, before the type's flags are read;
   * in sampled mode outside exact windows most creations end here. */
  if (!hs_l1) {
    size_t i = hs_filter_index(o);
    if (!(hs_filter_bit(i) | hs_filter_bit((i - 1) & (HS_MAP_FILTER - 1)) |
          hs_filter_bit((i - 2) & (HS_MAP_FILTER - 1))))
      return 0;
  }
  return 1;
}

/* Where the block of the object just made at o starts: _PyType_PreHeaderSize (GC header,
 * 3.11+ managed dict/weakref). */
static inline uintptr_t hs_ra_block(uintptr_t o) {
  const char *tp = *(const char *const *)(o + 8);
  unsigned long flags = *(const unsigned long *)(tp + 168);
  return o - ((flags & HS_TPFLAGS_HAVE_GC) ? 16 : 0) - ((flags & hs_ra_preheader) ? 16 : 0);
}

/* The object at o, just made, may sit in a recorded block: moved to the current line. */
static __attribute__((noinline)) void hs_ra_move(uintptr_t o) {
  if (!hs_active || hs_busy) return;
  uintptr_t block = hs_ra_block(o);
  hs_busy = 1;
  if (HS_UNLIKELY(hs_attention)) hs_attend();
  hs_core_reattribute((void *)block, hs_py_site_now);
  hs_busy = 0;
}

/* An object was just created at op (GIL held). */
static inline void hs_ra_created(void *op) {
  if (hs_ra_look((uintptr_t)op)) hs_ra_move((uintptr_t)op);
}

/* ------------------------------------------------------------------ 3.9 - 3.12 */

static void hs_ra_resolve(void (**p)(void *), const char *name) {
  if (!*p) *(void **)p = dlsym(RTLD_NEXT, name);
}

/* Asks first (the object's type is set, its reference count not yet) and forwards last, as a
 * tail call, when there is nothing to move: the common case costs the question and a jump. */
HS_EXPORT void _Py_NewReference(void *op) {
  if (HS_UNLIKELY(!p_newref)) hs_ra_resolve(&p_newref, "_Py_NewReference");
  if (hs_ra_newref && hs_ra_look((uintptr_t)op)) {
    p_newref(op);
    hs_ra_move((uintptr_t)op);
    return;
  }
  p_newref(op);
}

HS_EXPORT void _Py_NewReferenceNoTotal(void *op) {
  if (HS_UNLIKELY(!p_newref_nototal)) hs_ra_resolve(&p_newref_nototal, "_Py_NewReferenceNoTotal");
  if (hs_ra_newref && hs_ra_look((uintptr_t)op)) {
    p_newref_nototal(op);
    hs_ra_move((uintptr_t)op);
    return;
  }
  p_newref_nototal(op);
}

/* ------------------------------------------------------------------ 3.13 and later */

enum { HS_RT_CREATE = 0, HS_RT_REMOVED = 2 /* 3.15+: PyRefTracer_TRACKER_REMOVED */ };

/* The thread state (pyframe_layout.h, hs_tstate_tls): hs_ra_tls, the offset the tracer
 * loads it from itself; 0: call hs_ra_tstate_fn. */
static char *(*hs_ra_tstate_fn)(void);
static long hs_ra_tls;
/* hs_ra_fast's table is filled in the one-frame configuration only (pyhooks.c, hs_fast):
 * HS_RA_FAST_CALL, or HS_RA_FAST_TLS when the thread state is read inline; otherwise
 * hs_ra_fast is not tried (at 16 frames it would miss on every event; without the shadow
 * table, sampled mode, it has no slot to read). Several frames with the shadow table:
 * HS_RA_FAST_MEMO_TLS (the tracer's inline part) or HS_RA_FAST_MEMO (hs_ra_trace_slow) try
 * hs_ra_memo_ok and pyhooks.c's hs_py_ra_memo (the walk memo's hit path). */
enum { HS_RA_FAST_OFF, HS_RA_FAST_CALL, HS_RA_FAST_TLS, HS_RA_FAST_MEMO, HS_RA_FAST_MEMO_TLS };
static int hs_ra_fast_mode;

static inline char *hs_ra_tstate(int tls) { return tls ? hs_tstate_tls(hs_ra_tls) : hs_ra_tstate_fn(); }

/* pyframe_layout.h */
long hs_tstate_tls_of(const void *code) {
  const unsigned char *fn = code;
  if (!fn) return 0;
  if (fn[0] == 0xf3 && fn[1] == 0x0f && fn[2] == 0x1e && fn[3] == 0xfa) fn += 4;
  static const unsigned char mov[] = {0x64, 0x48, 0x8b, 0x04, 0x25};
  for (int i = 0; i < 5; i++)
    if (fn[i] != mov[i]) return 0;
  if (fn[9] != 0xc3) return 0;
  int32_t d = (int32_t)((uint32_t)fn[5] | (uint32_t)fn[6] << 8 | (uint32_t)fn[7] << 16 | (uint32_t)fn[8] << 24);
  return d;
}

/* 3.13+, one frame, shadow table: what the object just created at o asks for, found without
 * a call (but the thread state's, when tls is 0) when its block is in the shadow table and
 * pyhooks.c's per-thread table knows the current line (the innermost instruction pointer ->
 * OBJ site, an entry hs_py_site_now made): HS_FAST_SAME, its block is at that line already;
 * HS_FAST_MOVE, it goes there (*mv says how, for hs_ra_move_to). HS_FAST_NO sends the event to
 * hs_ra_move (a block in the hash map or not recorded, a table miss, work waiting, the shim's
 * own call). The checks are hs_ra_move's and hs_py_site_now's (hs_walk and hs_fast, never
 * turned off again, are implied by a table hit), so the outcome is theirs. The shadow slot,
 * the likely cache miss, is loaded before the frame is read. */
enum { HS_FAST_NO, HS_FAST_SAME, HS_FAST_MOVE };
struct hs_ra_mv {
  uintptr_t block;
  uint32_t *ss;
  uint32_t s, site;
};
static inline __attribute__((always_inline)) int hs_ra_fast(uintptr_t o, int tls, struct hs_ra_mv *mv) {
  /* !hs_active, hs_attention; hs_busy, hs_py_own */
  if (HS_UNLIKELY(!hs_gate_open() || hs_hot_flags != 0)) return HS_FAST_NO;
  uintptr_t block = hs_ra_block(o);
  uint32_t *ss = hs_shadow_peek_l1(block); /* hs_ra_fast_mode is on only with the shadow table */
  if (HS_UNLIKELY(!ss)) return HS_FAST_NO;
  uint32_t s = *ss;
  const char *ts = hs_ra_tstate(tls);
  const char *f = ts ? *(const char *const *)(ts + hs_fl.tstate_frame) : NULL;
  if (HS_UNLIKELY(!f) || *(const uint8_t *)(f + hs_fl.owner) >= 3) return HS_FAST_NO;
  const char *ip = *(const char *const *)(f + hs_fl.instr);
  const struct hs_now_e *n = hs_now_at(ip);
  if (n->ip != ip || n->epoch != hs_code_epoch || !s || !hs_shadow_is(s, block)) return HS_FAST_NO;
  if (HS_LIKELY((s & HS_SHADOW_SITE_MASK) == n->site)) return HS_FAST_SAME;
  mv->block = block;
  mv->ss = ss;
  mv->s = s;
  mv->site = n->site;
  return HS_FAST_MOVE;
}

/* 3.13+, several frames, shadow table (HS_RA_FAST_MEMO, HS_RA_FAST_MEMO_TLS): the checks of
 * hs_ra_fast before any site is asked, for a block in the shadow table; 1 when they pass (*mv
 * has the block, its slot and the slot's value, *ts the thread state): then pyhooks.c's
 * hs_py_ra_memo asks the walk memo's hit path and moves the block (hs_core_reattribute_obj),
 * and on a memo miss calls hs_ra_memo_miss. 0 sends the event to the general path. The outcome
 * is hs_ra_move's: the site is the one hs_py_site_now would answer (hs_py_site_of(ts, OBJ), as
 * hs_py_site_slow asks it at several frames). Before round eight every re-created object at
 * several frames went through hs_ra_move, hs_core_reattribute, hs_py_site_now and
 * hs_py_site_slow around that lookup. */
static inline __attribute__((always_inline)) int hs_ra_memo_ok(uintptr_t o, int tls, struct hs_ra_mv *mv,
                                                              const char **ts) {
  /* !hs_active, hs_attention; hs_busy, hs_py_own */
  if (HS_UNLIKELY(!hs_gate_open() || hs_hot_flags != 0 || hs_ra_prev)) return 0;
  uintptr_t block = hs_ra_block(o);
  uint32_t *ss = hs_shadow_peek_l1(block); /* the mode is on only with the shadow table */
  if (HS_UNLIKELY(!ss)) return 0;
  uint32_t s = *ss;
  if (HS_UNLIKELY(!s || !hs_shadow_is(s, block))) return 0;
  *ts = hs_ra_tstate(tls);
  if (HS_UNLIKELY(!*ts)) return 0;
  mv->block = block;
  mv->ss = ss;
  mv->s = s;
  return 1;
}

static __attribute__((noinline)) void hs_ra_move(uintptr_t o);

/* hs_py_ra_memo's memo miss: the site as hs_core_reattribute would ask it (an OBJ block; the
 * others take hs_ra_move), under hs_busy, without its other layers. No tracer is chained
 * (hs_ra_memo_ok). */
int hs_ra_memo_miss(void *op, uintptr_t block, uint32_t *ss, uint32_t s, const char *ts) {
  uint32_t site = UINT32_MAX;
  if (HS_LIKELY(hs_site_domain(s & HS_SHADOW_SITE_MASK) == HS_DOMAIN_OBJ)) {
    hs_busy = 1;
    site = hs_py_site_obj_full(ts);
    hs_busy = 0;
  }
  if (HS_UNLIKELY(site == UINT32_MAX))
    hs_ra_move((uintptr_t)op);
  else if ((s & HS_SHADOW_SITE_MASK) != site && hs_active) /* hs_core_reattribute_obj's condition */
    hs_core_reattribute_obj(block, ss, s, site);
  return 0;
}

static int hs_ra_chain(void *op, int event);

/* HS_FAST_MOVE: core.c moves the block (checking that its site is an OBJ one; else the general
 * path, under hs_busy); the tracer's answer. */
static __attribute__((noinline)) int hs_ra_move_to(void *op, uintptr_t block, uint32_t *ss, uint32_t s, uint32_t site) {
  hs_core_reattribute_obj(block, ss, s, site);
  return HS_LIKELY(!hs_ra_prev) ? 0 : hs_ra_chain(op, HS_RT_CREATE);
}

/* What a tracer chained behind ours gets, and 3.15's TRACKER_REMOVED. */
static __attribute__((noinline)) int hs_ra_chain(void *op, int event) {
  hs_reftracer prev = hs_ra_prev;
  int r = prev ? prev(op, event, hs_ra_prev_data) : 0;
  if (event == HS_RT_REMOVED && !(p_err_occurred && p_err_occurred())) {
    /* a direct call of the program's replaces ours (and the one chained behind it) */
    hs_ra_on = 0;
    hs_ra_prev = NULL;
    hs_reattrib_wanted = 1;
    hs_attention = 1;
  }
  return r;
}

/* CREATE events the tracer's inline part did not settle. */
static __attribute__((noinline)) int hs_ra_trace_slow(void *op) {
  uintptr_t o = (uintptr_t)op;
  if (hs_ra_look(o)) {
    struct hs_ra_mv mv;
    const char *ts;
    if (hs_ra_fast_mode == HS_RA_FAST_MEMO && hs_ra_memo_ok(o, 0, &mv, &ts))
      return hs_py_ra_memo(op, mv.block, mv.ss, mv.s, ts);
    int r = hs_ra_fast_mode == HS_RA_FAST_CALL ? hs_ra_fast(o, 0, &mv) : HS_FAST_NO;
    if (r == HS_FAST_MOVE) return hs_ra_move_to(op, mv.block, mv.ss, mv.s, mv.site);
    if (r == HS_FAST_NO) hs_ra_move(o);
  }
  return HS_LIKELY(!hs_ra_prev) ? 0 : hs_ra_chain(op, HS_RT_CREATE);
}

/* The reference tracer. Its common events need no stack frame: DESTROY (as many as CREATE;
 * nothing to do unless a tracer is chained), an object created in the block a hook just
 * recorded, and, with the thread state read inline, one re-created in a block of the shadow
 * table at a line the per-thread table knows (hs_ra_fast; a move to another line calls
 * hs_ra_move_to); the rest goes to hs_ra_trace_slow. Three of them: hs_ra_trace_tls, for
 * hs_ra_fast_mode HS_RA_FAST_TLS (decided at start-up, so not tested per event),
 * hs_ra_trace_memo for HS_RA_FAST_MEMO_TLS (several frames: hs_ra_memo_ok, then pyhooks.c's
 * hs_py_ra_memo), and hs_ra_trace for every other mode; hs_ra_fn is the one installed. */
static inline __attribute__((always_inline)) int hs_ra_trace_t(void *op, int event, int kind, int solo) {
  if (HS_LIKELY(event == HS_RT_CREATE)) {
    uintptr_t o = (uintptr_t)op;
    if (HS_LIKELY(o - hs_last_block < hs_last_size)) {
      hs_last_size = 0; /* hs_ra_look says why */
    } else {
      struct hs_ra_mv mv;
      int r = HS_FAST_NO;
      if (kind == HS_RA_FAST_TLS) {
        r = hs_ra_fast(o, 1, &mv);
      } else if (kind == HS_RA_FAST_MEMO_TLS) {
        const char *ts;
        if (hs_ra_memo_ok(o, 1, &mv, &ts)) return hs_py_ra_memo(op, mv.block, mv.ss, mv.s, ts);
      }
      if (r == HS_FAST_MOVE) {
        if (HS_LIKELY(solo || !hs_ra_prev)) return hs_core_reattribute_obj(mv.block, mv.ss, mv.s, mv.site);
        return hs_ra_move_to(op, mv.block, mv.ss, mv.s, mv.site);
      }
      if (r == HS_FAST_NO) return hs_ra_trace_slow(op);
    }
    if (HS_LIKELY(solo || !hs_ra_prev)) return 0;
  } else if (solo || (HS_LIKELY(!hs_ra_prev) && event != HS_RT_REMOVED)) {
    return 0; /* solo: 3.13/3.14 only, where TRACKER_REMOVED never comes */
  }
  return hs_ra_chain(op, event);
}
static int hs_ra_trace(void *op, int event, void *data) {
  (void)data;
  return hs_ra_trace_t(op, event, HS_RA_FAST_OFF, 0);
}
static int hs_ra_trace_tls(void *op, int event, void *data) {
  (void)data;
  return hs_ra_trace_t(op, event, HS_RA_FAST_TLS, 0);
}
/* hs_ra_trace_tls while no tracer is chained behind ours (3.13/3.14: installed only with
 * hs_ra_prev NULL; PyRefTracer_SetTracer puts hs_ra_trace_tls in its place before it chains
 * one, and this one back after the program's tracer is removed), so it never tests
 * hs_ra_prev, and a DESTROY event is a test and a return (no TRACKER_REMOVED before 3.15). */
static int hs_ra_trace_tls_solo(void *op, int event, void *data) {
  (void)data;
  return hs_ra_trace_t(op, event, HS_RA_FAST_TLS, 1);
}
static int hs_ra_trace_memo(void *op, int event, void *data) {
  (void)data;
  return hs_ra_trace_t(op, event, HS_RA_FAST_MEMO_TLS, 0);
}
static hs_reftracer hs_ra_fn = hs_ra_trace; /* ours, as installed: hs_reattrib_init chooses */
/* the two forms of ours: without a tracer chained (solo) and with one; the same function
 * except for 3.13/3.14 at one frame (hs_ra_trace_tls_solo, hs_ra_trace_tls) */
static hs_reftracer hs_ra_fn_solo = hs_ra_trace, hs_ra_fn_chain = hs_ra_trace;
static int hs_ra_is_ours(hs_reftracer f) { return f && (f == hs_ra_fn_solo || f == hs_ra_fn_chain); }

/* Installs ours on top of whatever is there (GIL held). From 3.15 the interpreter tells a
 * tracer it replaces that it is removed (TRACKER_REMOVED); one installed before ours is then
 * not chained behind ours but left alone, and ours waits until it is gone. */
static int hs_ra_exited; /* hs_reattrib_exit ran: ours is never installed again */
static void hs_ra_install(void) {
  if (hs_ra_exited) return;
  void *data = NULL;
  hs_reftracer cur = p_get_tracer(&data);
  if (hs_ra_is_ours(cur)) {
    hs_ra_fn = cur;
    hs_ra_on = 1;
    return;
  }
  if (cur && hs_ra_minor >= 15) return;
  hs_ra_prev = cur;
  hs_ra_prev_data = data;
  hs_ra_fn = cur ? hs_ra_fn_chain : hs_ra_fn_solo;
  if (p_set_tracer(hs_ra_fn, NULL) == 0) hs_ra_on = 1;
}

/* The program's calls that go through the dynamic linker (a shared libpython's own
 * tracemalloc, extension modules on a shared build) land here: theirs is chained behind ours,
 * and GetTracer reports theirs, so the program sees what it set. */
HS_EXPORT int PyRefTracer_SetTracer(hs_reftracer tracer, void *data) {
  if (!p_set_tracer) *(void **)&p_set_tracer = dlsym(RTLD_NEXT, "PyRefTracer_SetTracer");
  if (!p_set_tracer) return -1;
  void *cur_data;
  if (!hs_ra_on || !p_get_tracer || p_get_tracer(&cur_data) != hs_ra_fn)
    return p_set_tracer(tracer, data); /* ours is not installed: nothing to keep */
  if (hs_ra_is_ours(tracer)) tracer = NULL;
  if (hs_ra_minor >= 15 && hs_ra_prev && tracer != hs_ra_prev) { /* as the interpreter does */
    hs_ra_prev(NULL, HS_RT_REMOVED, hs_ra_prev_data);
    if (p_err_occurred && p_err_occurred()) return -1;
  }
  /* 3.13/3.14 at one frame (elsewhere the two forms are one function): the chaining form is
   * installed before a tracer is chained, the solo form after none is; both under the GIL, so
   * the solo form never runs while hs_ra_prev is set */
  if (tracer && hs_ra_fn != hs_ra_fn_chain) {
    if (p_set_tracer(hs_ra_fn_chain, NULL) != 0) return -1;
    hs_ra_fn = hs_ra_fn_chain;
  }
  hs_ra_prev = tracer;
  hs_ra_prev_data = data;
  if (!tracer && hs_ra_fn != hs_ra_fn_solo && p_set_tracer(hs_ra_fn_solo, NULL) == 0)
    hs_ra_fn = hs_ra_fn_solo;
  return 0;
}

HS_EXPORT hs_reftracer PyRefTracer_GetTracer(void **data) {
  if (!p_get_tracer) *(void **)&p_get_tracer = dlsym(RTLD_NEXT, "PyRefTracer_GetTracer");
  if (!p_get_tracer) {
    if (data) *data = NULL;
    return NULL;
  }
  /* the installed one, read each time: a libpython bound to its own copies (LTO builds)
   * replaces ours without passing here */
  hs_reftracer cur = p_get_tracer(data);
  if (cur != hs_ra_fn || !hs_ra_on) return cur;
  if (data) *data = hs_ra_prev_data;
  return hs_ra_prev;
}

/* A static interpreter's own calls bypass the functions above: every 1024 events of a thread
 * the installed tracer is read (no lock, no GIL: two words). When it is not ours, the next
 * hook that holds the GIL looks again: replaced by the program, ours yields (the program's
 * tracer runs alone) until it is removed, then ours comes back. */
void hs_reattrib_poll(void) {
  if (hs_ra_minor < 13 || hs_ra_deferred || !p_get_tracer || !hs_py_hooked || hs_py_pending) return;
  void *data;
  if (p_get_tracer(&data) == hs_ra_fn) return;
  hs_reattrib_wanted = 1;
  hs_attention = 1;
}

void hs_reattrib_attend(void) {
  if (!p_gil_check || !p_gil_check()) return; /* later, on a thread that holds the GIL */
  hs_reattrib_wanted = 0;
  void *data;
  hs_reftracer cur = p_get_tracer(&data);
  if (cur == hs_ra_fn) return;
  hs_ra_on = 0;
  hs_ra_prev = NULL;
  if (!cur) hs_ra_install();
}

/* ------------------------------------------------------------------ set-up */

void hs_reattrib_init(int minor) {
  /* HEAPSHAPE_REATTRIBUTE=0 turns it off (each block stays at its first allocation's line):
   * for float-heavy code it costs up to a quarter more CPU (docs/PERFORMANCE.md) */
  if (!hs_env_u32("HEAPSHAPE_REATTRIBUTE", 1, 0, 1)) return;
  hs_ra_minor = minor;
  hs_ra_preheader = minor >= 12 ? (1ul << 4) | (1ul << 3) /* MANAGED_DICT | MANAGED_WEAKREF */
                    : minor == 11 ? (1ul << 4)            /* MANAGED_DICT */
                                  : 0;
  if (minor >= 13) {
    *(void **)&p_err_occurred = dlsym(RTLD_DEFAULT, "PyErr_Occurred");
    *(void **)&p_gil_check = dlsym(RTLD_DEFAULT, "PyGILState_Check");
    *(void **)&hs_ra_tstate_fn = dlsym(RTLD_DEFAULT, "PyThreadState_GetUnchecked");
    hs_ra_tls = hs_tstate_tls_of((const void *)hs_ra_tstate_fn);
    if (hs_ra_tstate_fn && hs_proc.max_frames == 1 && !hs_native_mode && hs_l1) /* hs_l1: set before, kept */
      hs_ra_fast_mode = hs_ra_tls ? HS_RA_FAST_TLS : HS_RA_FAST_CALL;
    else if (hs_ra_tstate_fn && hs_proc.max_frames > 1 && !hs_native_mode && hs_l1 &&
             hs_env_u32("HEAPSHAPE_TRACER_MEMO", 1, 0, 1))
      hs_ra_fast_mode = hs_ra_tls ? HS_RA_FAST_MEMO_TLS : HS_RA_FAST_MEMO;
    hs_ra_fn = hs_ra_fast_mode == HS_RA_FAST_TLS        ? hs_ra_trace_tls
               : hs_ra_fast_mode == HS_RA_FAST_MEMO_TLS ? hs_ra_trace_memo
                                                        : hs_ra_trace;
    hs_ra_fn_solo = hs_ra_fn_chain = hs_ra_fn;
    if (hs_ra_fast_mode == HS_RA_FAST_TLS && minor < 15 && hs_env_u32("HEAPSHAPE_RA_SOLO", 1, 0, 1))
      hs_ra_fn_solo = hs_ra_trace_tls_solo; /* HEAPSHAPE_RA_SOLO=0: the chaining form always */
    hs_ra_fn = hs_ra_fn_solo; /* hs_ra_install chooses again */
    *(void **)&p_set_tracer = dlsym(RTLD_NEXT, "PyRefTracer_SetTracer");
    *(void **)&p_get_tracer = dlsym(RTLD_NEXT, "PyRefTracer_GetTracer");
    if (!p_set_tracer || !p_get_tracer) {
      /* A static interpreter defines them before us (so even our own references to these
       * names bind to its copies): take the global ones unless they are ours. */
      void *s = dlsym(RTLD_DEFAULT, "PyRefTracer_SetTracer"), *g = dlsym(RTLD_DEFAULT, "PyRefTracer_GetTracer");
      Dl_info mine, theirs;
      if (s && g && dladdr((void *)hs_reattrib_init, &mine) && dladdr(s, &theirs) &&
          mine.dli_fbase != theirs.dli_fbase) {
        *(void **)&p_set_tracer = s;
        *(void **)&p_get_tracer = g;
      }
    }
  } else if (minor >= 9) {
    hs_ra_resolve(&p_newref, "_Py_NewReference");
    if (minor == 12) hs_ra_resolve(&p_newref_nototal, "_Py_NewReferenceNoTotal");
    hs_ra_newref = p_newref != NULL;
  }
  if (hs_py_untraced) { /* nothing of the OBJ domain is recorded: nothing to move */
    hs_ra_deferred = 1;
    hs_ra_newref = 0;
  }
}

void hs_reattrib_start(void) {
  if (hs_ra_minor >= 13 && !hs_ra_deferred && p_set_tracer && p_get_tracer && !hs_ra_on) hs_ra_install();
}

/* The switch to traced Python allocators (pyarena.c), GIL held: re-attribution from now on. */
void hs_reattrib_enable(void) {
  if (!hs_ra_deferred) return;
  hs_ra_deferred = 0;
  if (hs_ra_minor >= 13) {
    if (p_set_tracer && p_get_tracer && !hs_ra_on) hs_ra_install();
  } else if (hs_ra_minor >= 9) {
    hs_ra_newref = p_newref != NULL;
  }
}

/* After the exit snapshot (exit_hook.c, GIL held; nothing is recorded any more): ours steps
 * down, so that finalization's deallocations no longer call it (append's 3,000,000 ints at
 * exit on 3.14: as many calls), and a tracer chained behind ours is the interpreter's again.
 * On 3.15 the interpreter tells ours it is removed; what that asks for (installing ours
 * again) is undone. */
void hs_reattrib_exit(void) {
  if (hs_ra_minor < 13 || !hs_ra_on || !p_get_tracer || !p_set_tracer) return;
  void *data;
  if (p_get_tracer(&data) != hs_ra_fn) return;
  hs_reftracer prev = hs_ra_prev;
  void *prev_data = hs_ra_prev_data;
  hs_ra_exited = 1;
  hs_ra_on = 0;
  hs_ra_prev = NULL;
  if (p_set_tracer(prev, prev_data) != 0 && p_err_occurred && p_err_occurred()) {
    void (*clear)(void);
    *(void **)&clear = dlsym(RTLD_DEFAULT, "PyErr_Clear");
    if (clear) clear();
  }
  hs_reattrib_wanted = 0;
}
