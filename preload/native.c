/* heapshape --native: the call site of an allocation as a native stack (libunwind's
 * unw_backtrace, which caches unwind information per address), mixed with Python frames:
 * every native frame of the interpreter's eval loop is replaced by the Python frames that
 * call of the eval loop runs, so a stack reads
 *     malloc caller (C extension) <- ... <- app.py:12 <- PyObject_Call <- ... <- app.py:3
 * innermost first. Addresses are stored raw; the snapshot writer turns them into
 * (module, offset) and the analyzer symbolizes them offline.
 *
 * Which code is the eval loop: _PyEval_EvalFrameDefault's symbol range, and the code ranges
 * learned at run time. A compiler may move most of the loop out of that symbol: Debian's
 * 3.14/3.15 (GCC, PGO) keep 1,184 bytes under the symbol and run the opcodes in its cold part,
 * an 84 KiB code range with no symbol that the hot part jumps to; a tail-calling build runs
 * them in one function per opcode. What does not move: from 3.12 on, each C call of the eval
 * loop keeps an entry _PyInterpreterFrame as a local on its own C stack, linked into the
 * thread's frame chain. hs_native_learn unwinds once with stack pointers, finds the native
 * frame whose stack area [sp, caller's sp) holds each entry frame, and adds that frame's
 * function range (its FDE in .eh_frame, through unw_get_proc_info). It runs on the first
 * stacks with Python frames and again (a bounded number of times) when a stack's Python
 * frames find no eval frame to stand in for.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <string.h>

#include "preload/core.h"

int hs_native_mode;                     /* HEAPSHAPE_NATIVE; set at start-up */
static uintptr_t hs_self_lo, hs_self_hi; /* this library's code */

/* Code ranges of the eval loop [lo, hi): written before hs_neval is raised (release), read
 * after it (acquire); never removed. */
#define HS_EVAL_RANGES 8
static struct {
  uintptr_t lo, hi;
} hs_eval[HS_EVAL_RANGES];
static int hs_neval;
static int hs_learning;                 /* one learner at a time (others skip) */
static int hs_learn_left = 16;          /* learning unwinds left; first one on the first stack */
static int hs_learned_once;

static int hs_find_self(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  uintptr_t probe = (uintptr_t)arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (probe >= lo && probe < hi) {
      hs_self_lo = lo;
      hs_self_hi = hi;
      return 1;
    }
  }
  return 0;
}

/* Adds [lo, hi) unless known; caller is the one learner (or start-up). Returns 1 when new. */
static int hs_eval_add(uintptr_t lo, uintptr_t hi) {
  int n = __atomic_load_n(&hs_neval, __ATOMIC_ACQUIRE);
  if (hi <= lo || hi - lo > (64u << 20) || n >= HS_EVAL_RANGES) return 0;
  for (int i = 0; i < n; i++)
    if (lo < hs_eval[i].hi && hs_eval[i].lo < hi) return 0; /* known (or overlapping one) */
  hs_eval[n].lo = lo;
  hs_eval[n].hi = hi;
  __atomic_store_n(&hs_neval, n + 1, __ATOMIC_RELEASE);
  return 1;
}

/* 1 when the return address ip lies in the eval loop (ip - 1: the call instruction). */
static inline int hs_in_eval(uintptr_t ip) {
  int n = __atomic_load_n(&hs_neval, __ATOMIC_ACQUIRE);
  for (int i = 0; i < n; i++)
    if (ip - 1 - hs_eval[i].lo < hs_eval[i].hi - hs_eval[i].lo) return 1;
  return 0;
}

void hs_native_init(void) {
  dl_iterate_phdr(hs_find_self, (void *)(uintptr_t)&hs_native_init);
  void *f = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
  Dl_info info;
  const ElfW(Sym) *sym = NULL;
  if (f && dladdr1(f, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size)
    hs_eval_add((uintptr_t)f, (uintptr_t)f + sym->st_size);
}

/* Unwinds this thread's stack with stack pointers and adds the function range of every native
 * frame that holds one of the thread state's C-stack entry frames. Returns 1 when a range was
 * added. Allocation-free (libunwind's local unwinding uses its own memory pools). */
static int hs_native_learn(void *tstate) {
  uintptr_t entries[64];
  int ne = hs_py_entry_frames(tstate, entries, 64);
  if (ne <= 0) return 0;
  if (__atomic_exchange_n(&hs_learning, 1, __ATOMIC_ACQUIRE)) return 0;
  int added = 0;
  unw_context_t uc;
  unw_cursor_t c;
  if (unw_getcontext(&uc) == 0 && unw_init_local(&c, &uc) == 0) {
    unw_word_t ip = 0, sp = 0;
    unw_get_reg(&c, UNW_REG_IP, &ip);
    unw_get_reg(&c, UNW_REG_SP, &sp);
    for (int depth = 0; depth < 512; depth++) {
      unw_proc_info_t pi;
      int have = unw_get_proc_info(&c, &pi) == 0 && pi.start_ip < pi.end_ip;
      uintptr_t lo = have ? (uintptr_t)pi.start_ip : 0, hi = have ? (uintptr_t)pi.end_ip : 0;
      uintptr_t my_ip = (uintptr_t)ip, my_sp = (uintptr_t)sp;
      if (unw_step(&c) <= 0) break;
      unw_get_reg(&c, UNW_REG_IP, &ip);
      unw_get_reg(&c, UNW_REG_SP, &sp);
      if ((uintptr_t)sp <= my_sp) break; /* the stack grows down: callers sit higher */
      if (!have || (my_ip >= hs_self_lo && my_ip < hs_self_hi)) continue;
      for (int e = 0; e < ne; e++)
        if (entries[e] >= my_sp && entries[e] < (uintptr_t)sp) {
          added |= hs_eval_add(lo, hi);
          break;
        }
    }
  }
  __atomic_store_n(&hs_learning, 0, __ATOMIC_RELEASE);
  return added;
}

/* Fills st/native from the Python frames and the native return addresses; returns the number
 * of Python frames put in place of eval-loop frames. */
static int hs_native_mix(struct hs_stack *st, uint8_t *native, void *const *ips, int nn,
                         const uint32_t *py, const uint8_t *seg, int npy, uint32_t max) {
  st->n = 0;
  int k = 0; /* next Python frame */
  for (int i = 0; i < nn && st->n < max; i++) {
    uintptr_t ip = (uintptr_t)ips[i];
    if (ip >= hs_self_lo && ip < hs_self_hi) continue; /* heapshape's own frames */
    if (k < npy && hs_in_eval(ip)) {
      do {
        native[st->n] = 0;
        st->frames[st->n++] = py[k];
      } while (!seg[k++] && k < npy && st->n < max);
      continue;
    }
    native[st->n] = 1;
    st->frames_raw[st->n++] = ip;
  }
  int placed = k;
  /* Python frames whose interpreter call was not found: outermost last */
  while (k < npy && st->n < max) {
    native[st->n] = 0;
    st->frames[st->n++] = py[k++];
  }
  return placed;
}

uint32_t hs_native_site_stack(uint8_t domain, void *tstate) {
  void *ips[HS_MAX_FRAMES + 16];
  uint32_t py[HS_MAX_FRAMES];
  uint8_t seg[HS_MAX_FRAMES];
  uint32_t max = hs_proc.max_frames;
  int npy = tstate ? hs_py_frames(tstate, py, seg, HS_MAX_FRAMES) : 0;
  /* unwinding costs per frame: go only as deep as the frames kept (+ our own few) */
  int want = (int)max + 8;
  if (want > HS_MAX_FRAMES + 16) want = HS_MAX_FRAMES + 16;
  int nn = unw_backtrace(ips, want);
  struct hs_stack st;
  uint8_t native[HS_MAX_FRAMES];
  int placed = hs_native_mix(&st, native, ips, nn, py, seg, npy, max);
  /* Python frames left over although the whole stack was unwound, or none placed at all: the
   * eval loop runs (also) in code not known yet */
  if (npy > 0 && __atomic_load_n(&hs_learn_left, __ATOMIC_RELAXED) > 0 &&
      (!__atomic_load_n(&hs_learned_once, __ATOMIC_RELAXED) ||
       (placed < npy && ((nn < want && st.n < max) || placed == 0)))) {
    __atomic_store_n(&hs_learned_once, 1, __ATOMIC_RELAXED);
    if (__atomic_fetch_sub(&hs_learn_left, 1, __ATOMIC_RELAXED) > 0 && hs_native_learn(tstate))
      hs_native_mix(&st, native, ips, nn, py, seg, npy, max);
  }
  if (st.n == 0) {
    native[0] = 0;
    st.frames[st.n++] = hs_intern_frame(HS_FRAME_UNKNOWN, 0, 0, 0, 0);
  }
  return hs_intern_mixed_site(domain, &st, native);
}
