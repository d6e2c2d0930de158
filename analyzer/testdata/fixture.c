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

/* One row: site, type name ("" = no type), objects, bytes, gc, pre, hdr, rounding, data,
 * owned blocks, owned bytes, owned header, owned rounding, owned data. */
struct fx_row {
  uint32_t site;
  const char *type;
  uint64_t v[12];
};

static const struct fx_row fx_rows[] = {
    {0, "dict", {3, 192, 48, 0, 48, 0, 0, 6, 600, 72, 24, 72}},
    {4, "P", {10, 560, 160, 160, 160, 40, 0, 20, 480, 320, 0, 160}},
    {3, "", {1, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {7, "tuple", {2, 2048, 32, 0, 48, 0, 0, 0, 0, 0, 0, 0}},
    {0, "float", {2, 48, 0, 0, 32, 0, 16, 0, 0, 0, 0, 0}},
};

int hsa_fixture_add_anatomy(struct hsa_snapshot *s, struct hsa_error *err) {
  static const struct {
    const char *name;
    uint32_t flags;
    uint64_t tp_flags;
    int64_t basicsize, itemsize;
  } types[] = {
      {"int", HS_TYPE_STATIC, 1ull << 24, 24, 4},   {"float", HS_TYPE_STATIC, 0, 24, 0},
      {"str", HS_TYPE_STATIC, 1ull << 28, 80, 0},   {"tuple", HS_TYPE_STATIC, 1ull << 26, 24, 8},
      {"list", HS_TYPE_STATIC, 1ull << 25, 40, 0},  {"dict", HS_TYPE_STATIC, 1ull << 29, 48, 0},
      {"P", HS_TYPE_HEAP, (1ull << 9) | (1ull << 14) | (1ull << 4), 16, 0},
  };
  uint32_t ids[7];
  for (int i = 0; i < 7; i++)
    if (hsa_snapshot_add_type(s, types[i].name, types[i].flags, types[i].tp_flags,
                              types[i].basicsize, types[i].itemsize, &ids[i], err) != 0)
      return -1;
  for (size_t i = 0; i < sizeof fx_rows / sizeof *fx_rows; i++) {
    const struct fx_row *x = &fx_rows[i];
    struct hs_anat_rec r;
    memset(&r, 0, sizeof r);
    r.site = x->site;
    r.type = x->type[0] ? hsa_snapshot_find_type(s, x->type) : HS_NO_TYPE;
    r.objects = x->v[0];
    r.bytes = x->v[1];
    r.gc_bytes = x->v[2];
    r.preheader_bytes = x->v[3];
    r.header_bytes = x->v[4];
    r.rounding_bytes = x->v[5];
    r.data_bytes = x->v[6];
    r.owned_blocks = x->v[7];
    r.owned_bytes = x->v[8];
    r.owned_header_bytes = x->v[9];
    r.owned_rounding_bytes = x->v[10];
    r.owned_data_bytes = x->v[11];
    if (hsa_snapshot_add_row(s, &r, err) != 0) return -1;
  }
  uint32_t x, y, mass, empty, tflt = ids[1], tint = ids[0], tstr = ids[2];
  if (hsa_snapshot_add_string(s, "x", &x, err) != 0 || hsa_snapshot_add_string(s, "y", &y, err) != 0 ||
      hsa_snapshot_add_string(s, "mass", &mass, err) != 0 ||
      hsa_snapshot_add_string(s, "", &empty, err) != 0)
    return -1;
  struct hsa_shape_field f_dict[] = {{x, tflt}, {y, tflt}, {mass, tflt}};
  struct hsa_shape_field f_dict2[] = {{x, tflt}};
  struct hsa_shape_field f_p[] = {{x, tflt}, {y, tint}};
  struct hsa_shape_field f_tuple[] = {{empty, tflt}, {empty, tint}, {empty, tstr}};
  struct hsa_shape shapes[] = {
      {0, 1, 3, HS_SHAPE_DICT, 1, 40, f_dict2, 0, {0}, NULL},
      {0, 2, 3, HS_SHAPE_DICT, 3, 3, f_dict, 0, {0}, NULL},
      {1, 10, 10, HS_SHAPE_INSTANCE_DICT, 2, 2, f_p, 0, {0}, NULL},
      {3, 2, 2, HS_SHAPE_TUPLE, 3, 3, f_tuple, 0, {0}, NULL},
  };
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    if (hsa_snapshot_add_shape(s, &shapes[i], err) != 0) return -1;
  s->meta.str_ascii_size = 48;
  s->meta.str_compact_size = 72;
  s->meta.gc_head_size = 16;
  s->meta.small_request_threshold = 512;
  s->meta.flags2 = HS_META2_ANATOMY;
  s->meta.anatomy_us = 1234;
  return 0;
}

int hsa_fixture_add_history(struct hsa_snapshot *s, int sampled, struct hsa_error *err) {
  if (s->nsites != 9) return hsa_fail(err, "hsa_fixture_add_history needs the NEW fixture");
  struct hs_peak_rec_disk peak[8];
  memset(peak, 0, sizeof peak);
  for (uint32_t i = 0; i < 8; i++) {
    peak[i].live_count = s->sites[i].live_count;
    peak[i].live_bytes = s->sites[i].live_bytes;
  }
  peak[0].live_count = 30;
  peak[0].live_bytes = 3000000;
  peak[5].live_count = peak[5].live_bytes = 0;
  peak[7].live_count = peak[7].live_bytes = 0;
  uint64_t total = 0;
  for (int i = 0; i < 8; i++) total += peak[i].live_bytes;
  if (hsa_snapshot_set_peak(s, peak, 8, total, 2500000000ull, err) != 0) return -1;
  static const uint64_t t[5] = {10000000ull, 500000000ull, 2500000000ull, 3000000000ull,
                                3200000000ull};
  const uint64_t live[5] = {1000000, 8000000, total, 12400000, 12300000};
  struct hs_time_rec recs[5];
  memset(recs, 0, sizeof recs);
  for (int i = 0; i < 5; i++) {
    recs[i].t_ns = t[i];
    recs[i].live_bytes = live[i];
    recs[i].live_count = 10 + (uint64_t)i;
    recs[i].top[0].site = 4;
    recs[i].top[0].bytes = live[i] / 2;
    recs[i].top[1].site = 0;
    recs[i].top[1].bytes = live[i] / 4;
  }
  if (hsa_snapshot_set_timeline(s, recs, 5, 20000000ull, err) != 0) return -1;
  if (sampled) {
    struct hs_estm_rec est[9];
    for (uint32_t i = 0; i < 9; i++) {
      est[i].live_bytes = (double)s->sites[i].live_bytes + 100.0 * (i + 1);
      est[i].live_count = (double)s->sites[i].live_count + 0.4;
      est[i].live_bytes_var = 10000.0 * (i + 1) * (i + 1);
      est[i].alloc_bytes = (double)s->sites[i].alloc_bytes;
    }
    if (hsa_snapshot_set_estimates(s, est, 9, err) != 0) return -1;
    s->meta.sample_rate = 16384;
  }
  return 0;
}
