/* Frame and code-object layout of CPython 3.13+ for the frame walker (pyframe_layout.c). */
#ifndef HEAPSHAPE_PRELOAD_PYFRAME_LAYOUT_H
#define HEAPSHAPE_PRELOAD_PYFRAME_LAYOUT_H
#include <stdint.h>

#include "preload/core.h"

struct hs_frame_layout {
  uint32_t minor;
  uint32_t tstate_frame;       /* PyThreadState.current_frame */
  uint32_t prev, exec, instr;  /* _PyInterpreterFrame.previous, f_executable, instr_ptr */
  uint32_t owner;              /* _PyInterpreterFrame.owner (a char); >= 3: not a Python frame */
  uint32_t first, adapt;       /* PyCodeObject._co_firsttraceable, co_code_adaptive */
  uint32_t co_filename, co_name;
  uint32_t ascii_size, compact_size; /* sizeof(PyASCIIObject), sizeof(PyCompactUnicodeObject) */
  uint32_t check_first;        /* 1: `first` is known (table); 0: prologue frames not detected */
};
extern struct hs_frame_layout hs_fl HS_HIDDEN;

enum { HS_FL_NONE, HS_FL_TABLE, HS_FL_DEBUG_PENDING };
/* Chooses hs_fl for 3.<*minor> (3.13+) and warns when lines will not be attributed. Under the
 * test hook HEAPSHAPE_TEST_PYTHON, *minor is replaced by the pretended version. */
int hs_frame_layout_init(int *minor) HS_HIDDEN;
/* HS_FL_DEBUG_PENDING only: the live check (main thread, GIL held, inside the eval loop);
 * warns with the outcome; returns 1 when hs_fl may be used. */
int hs_frame_layout_confirm(void) HS_HIDDEN;

/* The thread state as PyThreadState_GetUnchecked returns it. A static interpreter's copy of
 * that function is one instruction, a load at a fixed offset from the thread pointer (its
 * _Py_tss_tstate, in the executable's own TLS block): hs_tstate_tls_of(fn) is that offset when
 * fn's code is `[endbr64] mov %fs:disp32, %rax; ret`, else 0 (call it then; reattrib.c), and
 * hs_tstate_tls(offset) does the load. */
long hs_tstate_tls_of(const void *fn) HS_HIDDEN;
static inline char *hs_tstate_tls(long off) {
  char *ts;
  __asm__ volatile("movq %%fs:(%1), %0" : "=r"(ts) : "r"(off));
  return ts;
}
#endif
