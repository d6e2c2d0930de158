/* heapshape --native: the call site of an allocation as a native stack (libunwind's
 * unw_backtrace, which caches unwind information per address), mixed with Python frames:
 * every native frame inside _PyEval_EvalFrameDefault is replaced by the Python frames that
 * call of the interpreter runs, so a stack reads
 *     malloc caller (C extension) <- ... <- app.py:12 <- PyObject_Call <- ... <- app.py:3
 * innermost first. Addresses are stored raw; the snapshot writer turns them into
 * (module, offset) and the analyzer symbolizes them offline.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <string.h>

#include "preload/core.h"

int hs_native_mode;                     /* HEAPSHAPE_NATIVE; set at start-up */
static uintptr_t hs_eval_lo, hs_eval_hi; /* _PyEval_EvalFrameDefault */
static uintptr_t hs_self_lo, hs_self_hi; /* this library's code */

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

void hs_native_init(void) {
  dl_iterate_phdr(hs_find_self, (void *)(uintptr_t)&hs_native_init);
  void *f = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
  Dl_info info;
  const ElfW(Sym) *sym = NULL;
  if (f && dladdr1(f, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size) {
    hs_eval_lo = (uintptr_t)f;
    hs_eval_hi = hs_eval_lo + sym->st_size;
  }
}

uint32_t hs_native_site_stack(uint8_t domain, void *tstate) {
  void *ips[HS_MAX_FRAMES + 16];
  uint32_t py[HS_MAX_FRAMES];
  uint8_t seg[HS_MAX_FRAMES];
  uint32_t max = hs_proc.max_frames;
  int npy = tstate ? hs_py_frames(tstate, py, seg, HS_MAX_FRAMES) : 0;
  /* unwinding costs per frame: go only as deep as the frames kept (+ our own few) */
  int want = (int)max + 8;
  int nn = unw_backtrace(ips, want < HS_MAX_FRAMES + 16 ? want : HS_MAX_FRAMES + 16);
  struct hs_stack st;
  uint8_t native[HS_MAX_FRAMES];
  st.n = 0;
  int k = 0; /* next Python frame */
  for (int i = 0; i < nn && st.n < max; i++) {
    uintptr_t ip = (uintptr_t)ips[i];
    if (ip >= hs_self_lo && ip < hs_self_hi) continue; /* heapshape's own frames */
    if (ip >= hs_eval_lo && ip < hs_eval_hi && k < npy) {
      do {
        native[st.n] = 0;
        st.frames[st.n++] = py[k];
      } while (!seg[k++] && k < npy && st.n < max);
      continue;
    }
    native[st.n] = 1;
    st.frames_raw[st.n++] = ip;
  }
  /* Python frames whose interpreter call was not found (no symbol): outermost last */
  while (k < npy && st.n < max) {
    native[st.n] = 0;
    st.frames[st.n++] = py[k++];
  }
  if (st.n == 0) {
    native[0] = 0;
    st.frames[st.n++] = hs_intern_frame(HS_FRAME_UNKNOWN, 0, 0, 0, 0);
  }
  return hs_intern_mixed_site(domain, &st, native);
}
