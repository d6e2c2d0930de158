/* heapshape analyzer test fixtures (see fixture.h). Keep the tables in step with
 * tracemalloc_expected.py. */
#include "analyzer/testdata/fixture.h"

#include <string.h>

/* One frame: kind, file (Python file or native module), line, function, native address. */
struct fx_frame {
  enum hs_frame_kind kind;
  const char *file;
  int lineno;
  const char *name;
  uint64_t addr;
};

struct fx_site {
  unsigned domain;
  uint64_t live_count, live_bytes;
  struct fx_frame frames[2];
  int nframes;
};

#define PY(f, l, n) {HS_FRAME_PYTHON, f, l, n, 0}
#define NATIVE(m, a) {HS_FRAME_NATIVE, m, 0, "", a}
#define UNKNOWN {HS_FRAME_UNKNOWN, "", 0, "", 0}

static const struct fx_site old_sites[] = {
    {4, 3, 3000, {PY("/app/a.py", 10, "f"), PY("/app/main.py", 5, "<module>")}, 2},
    {3, 2, 500, {PY("/app/a.py", 10, "f"), PY("/app/main.py", 7, "<module>")}, 2},
    {2, 1, 100000, {PY("/app/b.py", 20, "g"), PY("/app/main.py", 8, "<module>")}, 2},
    {1, 4, 4096, {NATIVE("/nonexistent/libfoo.so", 0x1234)}, 1},
    {4, 1, 64, {UNKNOWN}, 1},
    {4, 0, 0, {PY("/app/dead.py", 1, "dead")}, 1},
    {4, 10, 12345678,
     {PY("/usr/lib/python3.11/json/decoder.py", 353, "raw_decode"), PY("/app/main.py", 9, "<module>")},
     2},
    {4, 1, 100, {PY("/app/t1.py", 1, "<module>")}, 1},
    {4, 1, 100, {PY("/app/t2.py", 1, "<module>")}, 1},
    {3, 2, 300, {PY("/app/c.pyc", 4, "h"), PY("/app/main.py", 5, "<module>")}, 2},
};

static const struct fx_site new_sites[] = {
    {4, 5, 5000, {PY("/app/a.py", 10, "f"), PY("/app/main.py", 5, "<module>")}, 2},
    {3, 2, 500, {PY("/app/a.py", 10, "f"), PY("/app/main.py", 7, "<module>")}, 2},
    {1, 2, 1024, {NATIVE("/nonexistent/libfoo.so", 0x1234)}, 1},
    {4, 1, 64, {UNKNOWN}, 1},
    {4, 10, 12345678,
     {PY("/usr/lib/python3.11/json/decoder.py", 353, "raw_decode"), PY("/app/main.py", 9, "<module>")},
     2},
    {4, 1, 100, {PY("/app/t1.py", 1, "<module>")}, 1},
    {4, 1, 100, {PY("/app/t2.py", 1, "<module>")}, 1},
    {4, 2, 2048, {PY("/app/new.py", 3, "<module>")}, 1},
    {4, 3, 0, {PY("/app/zero.py", 2, "<module>")}, 1},
};

int hsa_fixture_build(int which, struct hsa_snapshot *s, struct hsa_error *err) {
  const struct fx_site *sites = which ? new_sites : old_sites;
  size_t n = which ? sizeof new_sites / sizeof *new_sites : sizeof old_sites / sizeof *old_sites;
  hsa_snapshot_init(s);
  uint32_t empty;
  if (hsa_snapshot_add_string(s, "", &empty, err) != 0) goto fail;
  if (hsa_snapshot_set_program(s, "main", "python3 /app/main.py --fast", err) != 0) goto fail;
  s->meta.pid = which ? 4243 : 4242;
  s->meta.ppid = 1;
  s->meta.time_ns = 1700000000000000000ull;
  s->meta.start_time_ns = 1699999990000000000ull;
  s->meta.reason = which ? HS_REASON_EXIT : HS_REASON_SIGNAL;
  s->meta.seq = which ? 0 : 1;
  s->meta.python_version = 0x030b02f0u;
  s->meta.max_frames = 2;
  s->meta.flags = HS_META_FLAG_PYHOOKS;
  for (size_t i = 0; i < n; i++) {
    uint32_t ids[2];
    for (int k = 0; k < sites[i].nframes; k++) {
      const struct fx_frame *f = &sites[i].frames[k];
      if (hsa_snapshot_add_frame(s, f->kind, f->lineno, f->file, f->name, f->addr, &ids[k],
                                 err) != 0)
        goto fail;
    }
    struct hsa_site site;
    memset(&site, 0, sizeof site);
    site.domain = (uint8_t)sites[i].domain;
    site.nframes = (uint16_t)sites[i].nframes;
    site.live_count = sites[i].live_count;
    site.live_bytes = sites[i].live_bytes;
    site.allocs = sites[i].live_count + 1;
    site.frees = 1;
    site.alloc_bytes = sites[i].live_bytes + 8;
    site.peak_live_bytes = sites[i].live_bytes + 8;
    site.frames = ids;
    if (hsa_snapshot_add_site(s, &site, err) != 0) goto fail;
    s->meta.live_bytes += site.live_bytes;
    s->meta.live_count += site.live_count;
    s->meta.total_allocs += site.allocs;
    s->meta.total_frees += site.frees;
    s->meta.total_alloc_bytes += site.alloc_bytes;
  }
  s->meta.peak_live_bytes = s->meta.live_bytes * 2;
  return 0;
fail:
  hsa_snapshot_free(s);
  return -1;
}
