/* heapshape: where the frame walker reads CPython 3.13+ frames and code objects, and why it
 * may trust those places.
 *
 * From 3.13 on, _PyRuntime begins with _Py_DebugOffsets: the cookie "xdebugpy", PY_VERSION_HEX,
 * and the offsets of the thread-state, interpreter-frame and code-object fields that
 * out-of-process profilers read. It is initialized statically, so it can be read from the
 * shim's constructor, before the interpreter starts.
 *
 *  - Versions in the table below (3.13, 3.14, 3.15; offsets measured with offsetof against each
 *    version's own headers, tools/pyoffsets.c): every table entry that the debug offsets also
 *    give is compared with them at start-up. A mismatch (a patched or differently configured
 *    build) turns line attribution off with one warning; lines are never read from a layout
 *    the interpreter contradicts.
 *  - A newer version (not in the table) whose debug offsets are readable (cookie, a version at
 *    least the newest known, a structure of a known shape, every offset inside its structure):
 *    the walker uses the interpreter's own offsets, once a live check has passed: on the main
 *    thread, inside the eval loop (heapshape's pending call), the first frames found through
 *    those offsets must be the code objects and lines that the public frame API reports.
 *    Until then, and if it fails, Python allocations are recorded without lines. Frames in
 *    their prologue (before RESUME) cannot be told apart there (_co_firsttraceable is not in
 *    the debug offsets): an allocation made by one is given the function's first line.
 *  - Otherwise: no lines, one warning naming the version and what still works.
 *
 * Test hooks (environment, read once at start-up):
 *   HEAPSHAPE_TEST_CORRUPT_OFFSET=<field>  adds 8 to one table entry (frame.instr_ptr,
 *       frame.previous, frame.executable, frame.owner, tstate.current_frame, code.filename,
 *       code.name, code.co_code_adaptive, unicode.ascii_size)
 *   HEAPSHAPE_TEST_PYTHON=3.N[:nodebug]     pretends the interpreter is 3.N (3.N outside the
 *       table exercises the debug-offsets path); ":nodebug" also pretends _Py_DebugOffsets is
 *       unreadable.
 *
 * Nothing here allocates; warnings go through hs_warn3.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/core.h"
#include "preload/pyframe_layout.h"

struct hs_frame_layout hs_fl;

/* The table: per minor version, offsets from its headers (see tools/pyoffsets.c). */
static const struct hs_frame_layout hs_fl_table[] = {
    /* minor tstate prev exec instr owner first adapt file name ascii compact */
    {13, 72, 8, 0, 56, 70, 184, 200, 112, 120, 40, 56, 1},
    {14, 72, 8, 0, 56, 74, 192, 208, 112, 120, 40, 56, 1},
    {15, 72, 8, 0, 56, 74, 192, 208, 112, 120, 40, 56, 1},
};
#define HS_FL_NEWEST 15

/* Where each field sits inside _Py_DebugOffsets, per version of that structure (its layout
 * changed in 3.14 and 3.15: fields were added inside the sections). From the same headers. */
struct hs_dbg_shape {
  int minor;
  uint16_t size_min; /* bytes that must be readable */
  uint16_t tstate_size, tstate_frame;
  uint16_t frame_size, prev, exec, instr, owner;
  uint16_t code_size, filename, name, adapt;
  uint16_t ascii_size, compact_size; /* 0: not given */
};
static const struct hs_dbg_shape hs_dbg_shapes[] = {
    {13, 568, 152, 184, 224, 232, 240, 248, 264, 272, 280, 288, 344, 560, 0},
    {14, 760, 176, 208, 248, 256, 264, 272, 288, 312, 320, 328, 384, 640, 0},
    {15, 888, 176, 208, 312, 320, 328, 336, 352, 376, 384, 392, 448, 736, 744},
};

static inline uint64_t rd64(const char *p, size_t off) {
  uint64_t v;
  memcpy(&v, p + off, 8);
  return v;
}

/* 1 when the data symbol at p (exported by a loaded object) is at least n bytes long. */
static int hs_readable(const void *p, size_t n) {
  Dl_info info;
  const ElfW(Sym) *sym = NULL;
  if (!dladdr1(p, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || info.dli_saddr != p) return 0;
  return sym->st_size >= n;
}

/* One warning line: "Python 3.N<a><b><c><d>". */
static void hs_fl_warn(int minor, const char *a, const char *b, const char *c, const char *d) {
  char msg[640];
  size_t n = 0;
  char num[24];
  num[hs_fmt_u64(num, (uint64_t)minor)] = 0;
  const char *parts[6] = {"Python 3.", num, a, b, c, d};
  for (int i = 0; i < 6; i++)
    for (const char *s = parts[i]; s && *s && n < sizeof msg - 1; s++) msg[n++] = *s;
  msg[n] = 0;
  hs_warn3(msg, "", "");
}

/* Table entries the test hook may corrupt, by name. */
static uint32_t *hs_fl_field(struct hs_frame_layout *l, const char *name) {
  if (!strcmp(name, "tstate.current_frame")) return &l->tstate_frame;
  if (!strcmp(name, "frame.previous")) return &l->prev;
  if (!strcmp(name, "frame.executable")) return &l->exec;
  if (!strcmp(name, "frame.instr_ptr")) return &l->instr;
  if (!strcmp(name, "frame.owner")) return &l->owner;
  if (!strcmp(name, "code.filename")) return &l->co_filename;
  if (!strcmp(name, "code.name")) return &l->co_name;
  if (!strcmp(name, "code.co_code_adaptive")) return &l->adapt;
  if (!strcmp(name, "unicode.ascii_size")) return &l->ascii_size;
  return NULL;
}

/* Reads the interpreter's debug offsets with the structure shape s into out; returns the name
 * of the first implausible field, or NULL when every offset lies inside its structure. */
static const char *hs_dbg_read(const char *d, const struct hs_dbg_shape *s,
                               struct hs_frame_layout *out) {
  uint64_t ts = rd64(d, s->tstate_size), fs = rd64(d, s->frame_size), cs = rd64(d, s->code_size);
  if (ts < 64 || ts > 1 << 16) return "thread_state.size";
  if (fs < 32 || fs > 4096) return "interpreter_frame.size";
  if (cs < 64 || cs > 4096) return "code_object.size";
  struct {
    uint64_t v, lim;
    uint32_t *dst;
    const char *name;
  } f[] = {
      {rd64(d, s->tstate_frame), ts - 8, &out->tstate_frame, "thread_state.current_frame"},
      {rd64(d, s->prev), fs - 8, &out->prev, "interpreter_frame.previous"},
      {rd64(d, s->exec), fs - 8, &out->exec, "interpreter_frame.executable"},
      {rd64(d, s->instr), fs - 8, &out->instr, "interpreter_frame.instr_ptr"},
      {rd64(d, s->owner), fs - 1, &out->owner, "interpreter_frame.owner"},
      {rd64(d, s->filename), cs - 8, &out->co_filename, "code_object.filename"},
      {rd64(d, s->name), cs - 8, &out->co_name, "code_object.name"},
      {rd64(d, s->adapt), cs, &out->adapt, "code_object.co_code_adaptive"},
  };
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    if (f[i].v > f[i].lim) return f[i].name;
    *f[i].dst = (uint32_t)f[i].v;
  }
  uint64_t a = rd64(d, s->ascii_size);
  if (a < 24 || a > 128) return "unicode_object.asciiobject_size";
  out->ascii_size = (uint16_t)a;
  uint64_t c = s->compact_size ? rd64(d, s->compact_size) : a + 16;
  if (c < a || c > 160) return "unicode_object.compactunicodeobject_size";
  out->compact_size = (uint16_t)c;
  return NULL;
}

static const char hs_fl_still[] =
    "; Python allocations are recorded without lines (malloc-level sites and totals still work)";

int hs_frame_layout_init(int *minorp) {
  int minor = *minorp;
  memset(&hs_fl, 0, sizeof hs_fl);
  const char *sim = getenv("HEAPSHAPE_TEST_PYTHON");
  int nodebug = 0;
  if (sim && sim[0] == '3' && sim[1] == '.') {
    int m = 0;
    const char *p = sim + 2;
    while (*p >= '0' && *p <= '9') m = m * 10 + (*p++ - '0');
    if (m >= 13) minor = m;
    nodebug = !strcmp(p, ":nodebug");
    *minorp = minor;
  }

  const char *d = nodebug ? NULL : dlsym(RTLD_DEFAULT, "_PyRuntime");
  int dbg_minor = 0;
  const struct hs_dbg_shape *shape = NULL;
  if (d && hs_readable(d, 24) && !memcmp(d, "xdebugpy", 8)) {
    uint64_t v = rd64(d, 8);
    dbg_minor = (v >> 24) == 3 ? (int)((v >> 16) & 0xff) : 0;
    for (size_t i = 0; i < sizeof hs_dbg_shapes / sizeof hs_dbg_shapes[0]; i++)
      if (hs_dbg_shapes[i].minor == dbg_minor) shape = &hs_dbg_shapes[i];
    /* a newer structure: assume the newest known shape, which the checks below and the live
     * check must then confirm */
    if (!shape && dbg_minor > HS_FL_NEWEST) shape = &hs_dbg_shapes[sizeof hs_dbg_shapes / sizeof hs_dbg_shapes[0] - 1];
    if (shape && !hs_readable(d, shape->size_min)) shape = NULL;
    if (rd64(d, 16) != 0) shape = NULL; /* free-threaded build: another frame layout */
  }

  const struct hs_frame_layout *t = NULL;
  for (size_t i = 0; i < sizeof hs_fl_table / sizeof hs_fl_table[0]; i++)
    if ((int)hs_fl_table[i].minor == minor) t = &hs_fl_table[i];

  if (t) {
    struct hs_frame_layout want = *t;
    const char *bad = getenv("HEAPSHAPE_TEST_CORRUPT_OFFSET");
    uint32_t *fld = bad ? hs_fl_field(&want, bad) : NULL;
    if (fld) *fld += 8;
    struct hs_frame_layout got = want;
    const char *why = NULL;
    if (!shape) {
      why = "its _Py_DebugOffsets (start of _PyRuntime) are missing or unreadable";
    } else if (dbg_minor != minor) {
      why = "its _Py_DebugOffsets are of another version";
    } else if ((why = hs_dbg_read(d, shape, &got)) == NULL) {
      if (got.tstate_frame != want.tstate_frame || got.prev != want.prev || got.exec != want.exec ||
          got.instr != want.instr || got.owner != want.owner || got.co_filename != want.co_filename ||
          got.co_name != want.co_name || got.adapt != want.adapt || got.ascii_size != want.ascii_size)
        why = "its _Py_DebugOffsets contradict heapshape's frame table";
    }
    if (why) {
      hs_fl_warn(minor, ": line attribution off: ", why, hs_fl_still, "");
      return HS_FL_NONE;
    }
    hs_fl = want;
    return HS_FL_TABLE;
  }

  /* Not in the table. */
  if (minor > HS_FL_NEWEST && shape) {
    struct hs_frame_layout got;
    memset(&got, 0, sizeof got);
    const char *why = hs_dbg_read(d, shape, &got);
    const char *bad = getenv("HEAPSHAPE_TEST_CORRUPT_OFFSET");
    uint32_t *fld = bad && !why ? hs_fl_field(&got, bad) : NULL;
    if (fld) *fld += 8;
    if (!why) {
      got.minor = minor;
      got.check_first = 0;
      hs_fl = got;
      return HS_FL_DEBUG_PENDING;
    }
    hs_fl_warn(minor, " is newer than heapshape's frame table (3.8-3.15) and its _Py_DebugOffsets "
               "look wrong (", why, ")", hs_fl_still);
    return HS_FL_NONE;
  }
  hs_fl_warn(minor, minor > HS_FL_NEWEST
                        ? " is newer than heapshape's frame table (3.8-3.15) and its "
                          "_Py_DebugOffsets are unreadable"
                        : ": no frame layout known for this version",
             hs_fl_still, "", "");
  return HS_FL_NONE;
}

/* ------------------------------------------------------------------ the live check */

/* Copies n bytes at p into out without faulting when p is not readable: the kernel checks the
 * address of a write(2) to a pipe (EFAULT). Only the live check uses it. */
static int hs_safe_copy(int fds[2], const void *p, void *out, size_t n) {
  if (write(fds[1], p, n) != (ssize_t)n) return 0;
  return read(fds[0], out, n) == (ssize_t)n;
}

static uintptr_t hs_safe_ptr(int fds[2], const char *base, uint32_t off, int *ok) {
  uintptr_t v = 0;
  if (*ok && !hs_safe_copy(fds, base + off, &v, sizeof v)) *ok = 0;
  return v;
}

/* Called once on the main thread with the GIL held, inside the eval loop (heapshape's pending
 * call). Walks up to 4 frames with hs_fl, every read checked, and compares each frame with the
 * public API's. */
int hs_frame_layout_confirm(void) {
  void *(*get_tstate)(void), *(*tstate_frame)(void *), *(*frame_code)(void *), *(*frame_back)(void *);
  int (*frame_line)(void *), (*addr2line)(void *, int);
  void (*decref)(void *);
  void *code_type = dlsym(RTLD_DEFAULT, "PyCode_Type");
  *(void **)&get_tstate = dlsym(RTLD_DEFAULT, "PyThreadState_Get");
  *(void **)&tstate_frame = dlsym(RTLD_DEFAULT, "PyThreadState_GetFrame");
  *(void **)&frame_code = dlsym(RTLD_DEFAULT, "PyFrame_GetCode");
  *(void **)&frame_back = dlsym(RTLD_DEFAULT, "PyFrame_GetBack");
  *(void **)&frame_line = dlsym(RTLD_DEFAULT, "PyFrame_GetLineNumber");
  *(void **)&addr2line = dlsym(RTLD_DEFAULT, "PyCode_Addr2Line");
  *(void **)&decref = dlsym(RTLD_DEFAULT, "Py_DecRef");
  int fds[2];
  if (!code_type || !get_tstate || !tstate_frame || !frame_code || !frame_back || !frame_line ||
      !addr2line || !decref || pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    return 0;
  char *ts = get_tstate();
  void *pf = tstate_frame(ts); /* new reference, first complete frame */
  int checked = 0, ok = pf != NULL;
  char *f = (char *)hs_safe_ptr(fds, ts, hs_fl.tstate_frame, &ok);
  for (int k = 0; k < 4 && pf && ok; k++) {
    char *code = NULL;
    for (int hops = 0; f && ok && hops < 64; hops++) {
      uint8_t owner = (uint8_t)hs_safe_ptr(fds, f, hs_fl.owner, &ok);
      char *c = (char *)(hs_safe_ptr(fds, f, hs_fl.exec, &ok) & ~(uintptr_t)7);
      if (ok && owner < 3 && c && (void *)hs_safe_ptr(fds, c, 8, &ok) == code_type) {
        code = c;
        break;
      }
      f = (char *)hs_safe_ptr(fds, f, hs_fl.prev, &ok);
    }
    void *want = frame_code(pf); /* new reference */
    if (!ok || !code || code != want) {
      ok = 0;
    } else {
      char *instr = (char *)hs_safe_ptr(fds, f, hs_fl.instr, &ok);
      ptrdiff_t off = instr - (code + hs_fl.adapt);
      ok = ok && off >= 0 && off < (1 << 28) && addr2line(code, (int)off) == frame_line(pf);
      checked += ok;
      f = (char *)hs_safe_ptr(fds, f, hs_fl.prev, &ok);
    }
    decref(want);
    void *back = frame_back(pf); /* new reference */
    decref(pf);
    pf = back;
  }
  /* past the public API's outermost frame, our chain must end too (within 64 frames, with no
   * more Python frames): a wrong `previous` is caught even when only one frame runs */
  for (int hops = 0; f && ok && !pf; hops++) {
    uint8_t owner = (uint8_t)hs_safe_ptr(fds, f, hs_fl.owner, &ok);
    char *c = (char *)(hs_safe_ptr(fds, f, hs_fl.exec, &ok) & ~(uintptr_t)7);
    if (!ok || hops >= 64 || (owner < 3 && c && (void *)hs_safe_ptr(fds, c, 8, &ok) == code_type))
      ok = 0;
    f = (char *)hs_safe_ptr(fds, f, hs_fl.prev, &ok);
  }
  close(fds[0]);
  close(fds[1]);
  if (pf) decref(pf);
  ok = ok && checked > 0;
  if (ok)
    hs_fl_warn((int)hs_fl.minor, " is newer than heapshape's frame table (3.8-3.15): Python lines "
               "come from the interpreter's own _Py_DebugOffsets (checked on live frames); objects' "
               "anatomy is off", "", "", "");
  else
    hs_fl_warn((int)hs_fl.minor, " is newer than heapshape's frame table (3.8-3.15) and its "
               "_Py_DebugOffsets failed a check on live frames", hs_fl_still, "", "");
  return ok;
}
