/* Partial per-test snapshots (docs/snapshot-format.md, PART; include/heapshape/heapshape.h).
 *
 * A long pytest session has tens of thousands of sites (30,981 in more-itertools' suite) and
 * a full snapshot writes them all (3.2 MB); a test touches a few hundred. heapshape_mark()
 * keeps every site's counters (and the totals, the peak copy, the estimates) when a test
 * starts; at its end heapshape_snapshot_since_mark() writes the sites whose allocations or
 * frees changed since, as they are now and as they were at the mark. This file keeps the mark
 * and computes which sites, frames, strings and modules such a snapshot holds (a struct
 * hs_view); snapshot_write.c serializes a view.
 *
 * Memory: the mark's copies and a view's scratch come from mmap, never from the hooked
 * allocator; everything here runs under hs_lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "heapshape/heapshape.h"
#include "preload/core.h"

static struct {
  uint32_t number;     /* 0 until the first mark */
  uint32_t nsites;     /* sites the process had at the mark */
  uint64_t time_ns;    /* since tracking started */
  uint64_t wall_ns;
  struct hs_totals tot;
  struct hs_site_stats *stats;
  size_t stats_len;    /* bytes mapped */
  struct hs_site_est *est; /* sampled mode */
  size_t est_len;
  struct hs_peak_rec *peak;
  size_t peak_len;
  uint32_t peak_sites;
  uint64_t peak_bytes, peak_time_ns;
  int had_samples;     /* TIME samples existed at the mark */
  uint64_t last_sample_ns;
} hs_mark; /* hs_lock */

/* *p holds at least need bytes (mapped; *len the mapped size); -1 when memory ran out. */
static int hs_mark_reserve(void **p, size_t *len, size_t need) {
  if (need <= *len) return 0;
  size_t n = *len ? *len : 1 << 16;
  while (n < need) n *= 2;
  void *m = *p ? mremap(*p, *len, n, MREMAP_MAYMOVE)
               : mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return -1;
  *p = m;
  *len = n;
  return 0;
}

__attribute__((visibility("default"))) int heapshape_mark(void) {
  if (!hs_active) {
    errno = ENODEV;
    return -1;
  }
  int saved = hs_busy;
  hs_busy = 1;
  int rc = 0;
  hs_lock_acquire();
  hs_stats_merge();
  uint32_t n = hs_site_count();
  struct hs_history h;
  hs_history_get(&h);
  if (hs_mark_reserve((void **)&hs_mark.stats, &hs_mark.stats_len, (size_t)n * sizeof *hs_mark.stats) < 0 ||
      (h.est && hs_mark_reserve((void **)&hs_mark.est, &hs_mark.est_len, (size_t)n * sizeof *hs_mark.est) < 0) ||
      hs_mark_reserve((void **)&hs_mark.peak, &hs_mark.peak_len,
                      (size_t)h.peak_sites * sizeof *hs_mark.peak + 1) < 0) {
    hs_mark.number = 0; /* no usable mark */
    rc = -1;
  } else {
    if (n) memcpy(hs_mark.stats, hs_site_stats_table(), (size_t)n * sizeof *hs_mark.stats);
    if (h.est && n) memcpy(hs_mark.est, h.est, (size_t)n * sizeof *hs_mark.est);
    if (h.peak_sites) memcpy(hs_mark.peak, h.peak, (size_t)h.peak_sites * sizeof *hs_mark.peak);
    hs_mark.number++;
    hs_mark.nsites = n;
    hs_mark.tot = hs_tot;
    hs_mark.wall_ns = hs_now_ns();
    hs_mark.time_ns = hs_mark.wall_ns - hs_proc.start_ns;
    hs_mark.peak_sites = h.peak_sites;
    hs_mark.peak_bytes = h.peak_bytes;
    hs_mark.peak_time_ns = h.peak_time_ns;
    hs_mark.had_samples = h.time_count > 0;
    hs_mark.last_sample_ns = h.time_count ? h.time[h.time_count - 1].t_ns : 0;
  }
  hs_lock_release();
  hs_busy = saved;
  if (rc) errno = ENOMEM;
  return rc;
}

__attribute__((visibility("default"))) int heapshape_snapshot_since_mark(const char *path,
                                                                         const char *mark_path) {
  if (!hs_active) {
    errno = ENODEV;
    return -1;
  }
  if (!path || !*path) {
    errno = EINVAL;
    return -1;
  }
  int saved = hs_busy;
  hs_busy = 1;
  int r = hs_snapshot_write_partial(path, mark_path && *mark_path ? mark_path : NULL);
  int e = errno;
  hs_busy = saved;
  errno = e;
  return r;
}

/* A set of innermost-frame keys: a Python frame's (file, line), any other frame's id. */
static uint64_t hs_line_key(uint32_t frame) {
  const struct hs_frame_view *f = hs_frame_get(frame);
  if (f->kind == HS_FRAME_PYTHON) return (uint64_t)f->file_sid << 32 | (uint32_t)f->lineno;
  return 1ull << 63 | frame;
}

static int hs_keyset_add(uint64_t *set, size_t mask, uint64_t key) { /* key + 1 stored */
  size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;
  while (set[i] && set[i] != key + 1) i = (i + 1) & mask;
  int fresh = !set[i];
  set[i] = key + 1;
  return fresh;
}

static int hs_keyset_has(const uint64_t *set, size_t mask, uint64_t key) {
  size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;
  while (set[i] && set[i] != key + 1) i = (i + 1) & mask;
  return set[i] != 0;
}

void hs_view_full(struct hs_view *v) {
  struct hs_history h;
  hs_history_get(&h);
  memset(v, 0, sizeof *v);
  v->kind = HS_PART_FULL;
  v->nsites = v->process_sites = hs_site_count();
  v->nframes = hs_frame_count();
  v->nstrings = hs_string_count();
  v->wall_ns = hs_now_ns();
  v->stats = hs_site_stats_table();
  v->est = h.est;
  v->peak = h.peak;
  v->peak_sites = h.peak_sites;
  v->peak_bytes = h.peak_bytes;
  v->peak_time_ns = h.peak_time_ns;
  v->tot = &hs_tot;
}

void hs_view_free(struct hs_view *v) {
  if (v->mem) munmap(v->mem, v->memlen);
  v->mem = NULL;
}

int hs_view_since_mark(struct hs_view *v) {
  hs_view_full(v); /* the counters as they are now; the tables' subset below */
  v->nsites = v->nframes = v->nstrings = 0;
  if (!hs_mark.number) {
    errno = EINVAL;
    return -1;
  }
  uint32_t ns = hs_site_count(), nf = hs_frame_count(), nstr = hs_string_count(), nmod;
  const struct hs_module_rec *mods = hs_modules_get(&nmod);
  const struct hs_site_stats *st = hs_site_stats_table();
  struct hs_history h;
  hs_history_get(&h);
  size_t keycap = 64;
  while (keycap < 2 * (size_t)ns + 2) keycap *= 2;
  /* scratch: site flags, 2 x sites, 2 x frames, 2 x strings (u32), the key set (u64) */
  size_t len = keycap * 8 + ((size_t)ns * 2 + (size_t)nf * 2 + (size_t)nstr * 2 + 8) * 4 + ns + 8;
  void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    errno = ENOMEM;
    return -1;
  }
  v->mem = mem;
  v->memlen = len;
  uint64_t *keys = mem;
  uint32_t *u = (uint32_t *)(keys + keycap);
  v->site_ids = u;
  v->site_new = u + ns;
  v->frame_ids = u + 2 * (size_t)ns;
  v->frame_new = v->frame_ids + nf;
  v->string_ids = v->frame_new + nf;
  v->string_new = v->string_ids + nstr;
  uint8_t *in = (uint8_t *)(v->string_new + nstr);
  size_t mask = keycap - 1;

  /* 1. touched since the mark; 2. the top sites of the TIME samples kept */
  for (uint32_t i = 0; i < ns; i++)
    in[i] = i >= hs_mark.nsites || st[i].allocs != hs_mark.stats[i].allocs ||
            st[i].frees != hs_mark.stats[i].frees;
  v->time_mode = hs_mark.had_samples ? 1 : 0;
  v->time_after = hs_mark.last_sample_ns;
  for (uint32_t t = 0; t < h.time_count; t++) {
    if (v->time_mode == 1 && h.time[t].t_ns <= v->time_after) continue;
    for (int k = 0; k < HS_TIME_TOP; k++)
      if (h.time[t].top[k].bytes && h.time[t].top[k].site < ns) in[h.time[t].top[k].site] = 1;
  }
  /* 3. every site at the same innermost line */
  for (uint32_t i = 0; i < ns; i++) {
    if (!in[i]) continue;
    uint8_t d;
    const uint32_t *fr;
    uint32_t n;
    hs_site_stats_get(i, &d, &fr, &n);
    if (n) hs_keyset_add(keys, mask, hs_line_key(fr[0]));
  }
  for (uint32_t i = 0; i < ns; i++) {
    v->site_new[i] = UINT32_MAX;
    if (in[i]) continue;
    uint8_t d;
    const uint32_t *fr;
    uint32_t n;
    hs_site_stats_get(i, &d, &fr, &n);
    if (n && hs_keyset_has(keys, mask, hs_line_key(fr[0]))) in[i] = 1;
  }
  /* the sites, the frames they use, the strings those and META use */
  for (uint32_t i = 0; i < nf; i++) v->frame_new[i] = UINT32_MAX;
  for (uint32_t i = 0; i < nstr; i++) v->string_new[i] = UINT32_MAX;
  for (uint32_t i = 0; i < ns; i++) {
    if (!in[i]) continue;
    v->site_new[i] = v->nsites;
    v->site_ids[v->nsites++] = i;
    uint8_t d;
    const uint32_t *fr;
    uint32_t n;
    hs_site_stats_get(i, &d, &fr, &n);
    for (uint32_t k = 0; k < n; k++)
      if (fr[k] < nf) v->frame_new[fr[k]] = 0; /* used; numbered below */
  }
  if (nstr) v->string_new[0] = 0; /* the empty string */
  if (hs_proc.program_sid < nstr) v->string_new[hs_proc.program_sid] = 0;
  if (hs_proc.cmdline_sid < nstr) v->string_new[hs_proc.cmdline_sid] = 0;
  for (uint32_t i = 0; i < nf; i++) {
    if (v->frame_new[i] == UINT32_MAX) continue;
    v->frame_new[i] = v->nframes;
    v->frame_ids[v->nframes++] = i;
    const struct hs_frame_view *f = hs_frame_get(i);
    if (f->file_sid < nstr) v->string_new[f->file_sid] = 0;
    if (f->name_sid < nstr) v->string_new[f->name_sid] = 0;
  }
  for (uint32_t i = 0; i < nmod; i++)
    if (mods[i].path_sid < nstr && v->string_new[mods[i].path_sid] != UINT32_MAX &&
        mods[i].build_id_sid < nstr)
      v->string_new[mods[i].build_id_sid] = 0;
  for (uint32_t i = 0; i < nstr; i++) {
    if (v->string_new[i] == UINT32_MAX) continue;
    v->string_new[i] = v->nstrings;
    v->string_ids[v->nstrings++] = i;
  }
  v->kind = HS_PART_SINCE;
  v->mark = hs_mark.number;
  v->mark_time_ns = hs_mark.time_ns;
  return 0;
}

void hs_view_at_mark(struct hs_view *v) {
  uint32_t n = 0; /* the sites that existed at the mark: a prefix, ids are increasing */
  while (n < v->nsites && v->site_ids[n] < hs_mark.nsites) n++;
  v->nsites = n;
  v->kind = HS_PART_AT_MARK;
  v->process_sites = hs_mark.nsites;
  v->wall_ns = hs_mark.wall_ns;
  v->stats = hs_mark.stats;
  v->est = v->est ? hs_mark.est : NULL;
  v->peak = hs_mark.peak;
  v->peak_sites = hs_mark.peak_sites;
  v->peak_bytes = hs_mark.peak_bytes;
  v->peak_time_ns = hs_mark.peak_time_ns;
  v->tot = &hs_mark.tot;
  v->time_mode = 2;
}
