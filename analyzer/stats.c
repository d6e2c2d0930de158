/* heapshape analyzer: grouping, filtering, diffing and sorting (see stats.h).
 * Mirrors Lib/tracemalloc.py: Snapshot._group_by, Filter._match (all_frames=False),
 * _compare_grouped_stats and the _sort_key methods. Output formatting is in report.c. */
#include "analyzer/stats.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

int hsa_key_parse(const char *text, enum hsa_key *key) {
  if (strcmp(text, "lineno") == 0) *key = HSA_KEY_LINENO;
  else if (strcmp(text, "filename") == 0) *key = HSA_KEY_FILENAME;
  else if (strcmp(text, "traceback") == 0) *key = HSA_KEY_TRACEBACK;
  else if (strcmp(text, "type") == 0) *key = HSA_KEY_TYPE;
  else return -1;
  return 0;
}

int hsa_domain_parse(const char *text, unsigned *mask) {
  if (strcmp(text, "malloc") == 0) *mask = HSA_DOMAIN_BIT(HS_DOMAIN_MALLOC);
  else if (strcmp(text, "raw") == 0) *mask = HSA_DOMAIN_BIT(HS_DOMAIN_RAW);
  else if (strcmp(text, "mem") == 0) *mask = HSA_DOMAIN_BIT(HS_DOMAIN_MEM);
  else if (strcmp(text, "obj") == 0) *mask = HSA_DOMAIN_BIT(HS_DOMAIN_OBJ);
  else if (strcmp(text, "python") == 0)
    *mask = HSA_DOMAIN_BIT(HS_DOMAIN_RAW) | HSA_DOMAIN_BIT(HS_DOMAIN_MEM) |
            HSA_DOMAIN_BIT(HS_DOMAIN_OBJ);
  else return -1;
  return 0;
}

/* ---- string pool: every string a struct hsa_stats hands out lives here ---- */

struct pool_chunk {
  struct pool_chunk *next;
  size_t used, cap;
  char data[];
};

static const char *pool_strdup(void **pool, const char *s) {
  size_t n = strlen(s) + 1;
  struct pool_chunk *c = *pool;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > 65536 ? n : 65536;
    struct pool_chunk *nc = malloc(sizeof *nc + cap);
    if (!nc) return NULL;
    nc->next = c;
    nc->used = 0;
    nc->cap = cap;
    *pool = c = nc;
  }
  char *p = c->data + c->used;
  memcpy(p, s, n);
  c->used += n;
  return p;
}

static void pool_free(void *pool) {
  struct pool_chunk *c = pool;
  while (c) {
    struct pool_chunk *next = c->next;
    free(c);
    c = next;
  }
}

/* ---- frames ---- */

void hsa_frame_resolve(const struct hsa_snapshot *s, uint32_t fid, struct hsa_symbolizer *sym,
                       enum hsa_key key, struct hsa_frame_text *out, char *buf, size_t buflen) {
  const struct hs_frame_rec *f = &s->frames[fid];
  out->native = 0;
  out->name = "";
  switch (f->kind) {
    case HS_FRAME_PYTHON:
      out->filename = hsa_snapshot_string(s, f->filename_sid);
      out->lineno = key == HSA_KEY_FILENAME ? 0 : f->lineno;
      out->name = hsa_snapshot_string(s, f->name_sid);
      return;
    case HS_FRAME_NATIVE: {
      const char *module = hsa_snapshot_string(s, f->filename_sid);
      struct hsa_symbol sy;
      out->native = 1;
      if (sym && hsa_symbolize_checked(sym, module,
                                       hsa_snapshot_module_build_id(s, f->filename_sid),
                                       s->path, f->addr, &sy)) {
        if (sy.function) out->name = sy.function;
        if (sy.file) {
          out->filename = sy.file;
          out->lineno = key == HSA_KEY_FILENAME ? 0 : sy.line;
          return;
        }
      }
      if (key == HSA_KEY_FILENAME) {
        out->filename = module;
      } else {
        snprintf(buf, buflen, "%s+0x%" PRIx64, module, f->addr);
        out->filename = buf;
      }
      out->lineno = 0;
      return;
    }
    default: /* HS_FRAME_UNKNOWN, and kinds newer than this reader */
      out->filename = "<unknown>";
      out->lineno = 0;
      return;
  }
}

uint32_t hsa_site_key_frame(const struct hsa_snapshot *s, const struct hsa_site *site) {
  for (uint16_t k = 0; k < site->nframes; k++)
    if (s->frames[site->frames[k]].kind == HS_FRAME_PYTHON) return site->frames[k];
  return site->frames[0];
}

/* tracemalloc's _normalize_filename on POSIX: strip the "c" of ".pyc". */
static int filter_match(const char *pattern, const char *filename) {
  char pat[4096], name[4096];
  snprintf(pat, sizeof pat, "%s", pattern);
  snprintf(name, sizeof name, "%s", filename);
  size_t lp = strlen(pat), ln = strlen(name);
  if (lp >= 4 && strcmp(pat + lp - 4, ".pyc") == 0) pat[lp - 1] = '\0';
  if (ln >= 4 && strcmp(name + ln - 4, ".pyc") == 0) name[ln - 1] = '\0';
  /* Python's fnmatch: no escapes, '*' crosses '/', leading dots are ordinary. */
  return fnmatch(pat, name, FNM_NOESCAPE) == 0;
}

int hsa_site_passes(const struct hsa_site *site, const struct hsa_frame_text *innermost,
                       const struct hsa_options *opt) {
  if (opt->domain_mask && (site->domain >= 32 || !(opt->domain_mask & HSA_DOMAIN_BIT(site->domain))))
    return 0;
  if (opt->ninclude) {
    int any = 0;
    for (size_t i = 0; i < opt->ninclude && !any; i++)
      any = filter_match(opt->include[i], innermost->filename);
    if (!any) return 0;
  }
  for (size_t i = 0; i < opt->nexclude; i++)
    if (filter_match(opt->exclude[i], innermost->filename)) return 0;
  return 1;
}

/* ---- grouping ---- */

struct group {
  char *key; /* filename\0lineno\0 per frame, oldest first */
  size_t keylen;
  struct hsa_stat stat;
  int64_t old_size, old_count; /* diff: the old snapshot's values */
  double est_size, est_count, old_est_size, old_est_count; /* sampled snapshots' estimates */
  double var; /* summed variances (both snapshots for a diff) */
  int in_new, in_old;
  UT_hash_handle hh;
};

struct grouper {
  struct group *groups;
  void **pool;
  char *keybuf;
  size_t keycap;
};

static int key_append(struct grouper *g, size_t *len, const struct hsa_frame_text *f) {
  char num[24];
  int nl = snprintf(num, sizeof num, "%d", f->lineno);
  size_t fl = strlen(f->filename);
  size_t need = *len + fl + 1 + (size_t)nl + 1;
  if (need > g->keycap) {
    size_t cap = g->keycap ? g->keycap : 256;
    while (cap < need) cap *= 2;
    char *p = realloc(g->keybuf, cap);
    if (!p) return -1;
    g->keybuf = p;
    g->keycap = cap;
  }
  memcpy(g->keybuf + *len, f->filename, fl + 1);
  memcpy(g->keybuf + *len + fl + 1, num, (size_t)nl + 1);
  *len = need;
  return 0;
}

/* The group for the key in g->keybuf (keylen bytes), created with frames tb[0..n) if new;
 * NULL when out of memory. */
static struct group *find_group(struct grouper *g, size_t keylen, const struct hsa_frame_text *tb,
                                size_t n) {
  struct group *grp = NULL;
  HASH_FIND(hh, g->groups, g->keybuf, keylen, grp);
  if (!grp) {
    grp = calloc(1, sizeof *grp);
    if (!grp) return NULL;
    grp->key = malloc(keylen);
    grp->stat.frames = calloc(n, sizeof *grp->stat.frames);
    if (!grp->key || !grp->stat.frames) {
      free(grp->key);
      free(grp->stat.frames);
      free(grp);
      return NULL;
    }
    memcpy(grp->key, g->keybuf, keylen);
    grp->keylen = keylen;
    grp->stat.nframes = n;
    for (size_t k = 0; k < n; k++) {
      struct hsa_frame_text *d = &grp->stat.frames[k];
      *d = tb[k];
      d->filename = pool_strdup(g->pool, tb[k].filename);
      d->name = pool_strdup(g->pool, tb[k].name);
      if (!d->filename || !d->name) {
        free(grp->key);
        free(grp->stat.frames);
        free(grp);
        return NULL;
      }
    }
    HASH_ADD_KEYPTR(hh, g->groups, grp->key, grp->keylen, grp);
  }
  return grp;
}

/* Frame i from rf[i], resolved on first use (group_snapshot's lazy table); NULL when out of
 * memory. */
static const struct hsa_frame_text *resolve_frame(struct grouper *g, const struct hsa_snapshot *s,
                                                  uint32_t i, struct hsa_symbolizer *sym,
                                                  enum hsa_key key, struct hsa_frame_text *rf) {
  char buf[4200];
  if (rf[i].filename) return &rf[i];
  hsa_frame_resolve(s, i, sym, key, &rf[i], buf, sizeof buf);
  if (rf[i].filename == buf) rf[i].filename = pool_strdup(g->pool, buf);
  return rf[i].filename ? &rf[i] : NULL;
}

/* Adds the live memory of snapshot s to g (as "old" data when is_old). */
static int group_snapshot(struct grouper *g, const struct hsa_snapshot *s,
                          const struct hsa_options *opt, struct hsa_symbolizer *sym, int is_old,
                          struct hsa_error *err) {
  struct hsa_frame_text *rf = calloc(s->nframes ? s->nframes : 1, sizeof *rf);
  struct hsa_frame_text *tb = NULL;
  size_t tbcap = 0;
  if (!rf) return hsa_fail(err, "%s: out of memory resolving frames", s->path ? s->path : "");
  /* Frames are resolved when first used (a filename of NULL: not yet), so only the frames
   * of live sites are symbolized; the "+0x" names go to the stats pool so they outlive s. */
#define RF(i) resolve_frame(g, s, (i), sym, opt->key, rf)
  if (opt->key == HSA_KEY_TYPE) {
    /* one pseudo-frame per group: the type name (see stats.h) */
    for (uint32_t i = 0; i < s->nrows; i++) {
      const struct hs_anat_rec *row = &s->rows[i];
      const struct hsa_site *site = &s->sites[row->site];
      if (!row->objects && !row->bytes && !row->owned_bytes) continue;
      const struct hsa_frame_text *kt = RF(hsa_site_key_frame(s, site));
      if (!kt) goto oom;
      if (!hsa_site_passes(site, kt, opt)) continue;
      struct hsa_frame_text ft = {hsa_snapshot_type_name(s, row->type), 0, "", 0};
      size_t keylen = 0;
      if (key_append(g, &keylen, &ft) != 0) goto oom;
      struct group *grp = find_group(g, keylen, &ft, 1);
      if (!grp) goto oom;
      int64_t size = (int64_t)(row->bytes + row->owned_bytes), count = (int64_t)row->objects;
      if (is_old) {
        grp->in_old = 1;
        grp->old_size += size;
        grp->old_count += count;
      } else {
        grp->in_new = 1;
        grp->stat.size += size;
        grp->stat.count += count;
      }
    }
    free(rf);
    free(tb);
    return 0;
  }
  int sampled = !opt->peak && hsa_snapshot_is_sampled(s);
  for (uint32_t i = 0; i < s->nsites; i++) {
    const struct hsa_site *site = &s->sites[i];
    if (opt->peak) {
      if (i >= s->npeak || s->peak[i].live_count == 0) continue;
    } else if (site->live_count == 0) {
      continue;
    }
    uint32_t kf = hsa_site_key_frame(s, site);
    if (!RF(kf)) goto oom;
    if (!hsa_site_passes(site, &rf[kf], opt)) continue;
    size_t n = opt->key == HSA_KEY_TRACEBACK ? site->nframes : 1;
    if (n > tbcap) {
      struct hsa_frame_text *p = realloc(tb, n * sizeof *tb);
      if (!p) goto oom;
      tb = p;
      tbcap = n;
    }
    if (opt->key == HSA_KEY_TRACEBACK)
      for (size_t k = 0; k < n; k++) { /* oldest first */
        const struct hsa_frame_text *t = RF(site->frames[n - 1 - k]);
        if (!t) goto oom;
        tb[k] = *t;
      }
    else
      tb[0] = rf[kf];
    size_t keylen = 0;
    for (size_t k = 0; k < n; k++)
      if (key_append(g, &keylen, &tb[k]) != 0) goto oom;
    struct group *grp = find_group(g, keylen, tb, n);
    if (!grp) goto oom;
    if (is_old) grp->in_old = 1;
    else grp->in_new = 1;
    if (sampled) {
      const struct hs_estm_rec *e = &s->estimates[i];
      *(is_old ? &grp->old_est_size : &grp->est_size) += e->live_bytes;
      *(is_old ? &grp->old_est_count : &grp->est_count) += e->live_count;
      grp->var += e->live_bytes_var;
    } else {
      uint64_t bytes = opt->peak ? s->peak[i].live_bytes : site->live_bytes;
      uint64_t count = opt->peak ? s->peak[i].live_count : site->live_count;
      *(is_old ? &grp->old_size : &grp->stat.size) += (int64_t)bytes;
      *(is_old ? &grp->old_count : &grp->stat.count) += (int64_t)count;
    }
  }
  free(rf);
  free(tb);
  return 0;
oom:
  free(rf);
  free(tb);
  return hsa_fail(err, "%s: out of memory grouping statistics", s->path ? s->path : "");
#undef RF
}

/* ---- sorting (tracemalloc's _sort_key, reverse=True) ---- */

static int cmp_i64(int64_t a, int64_t b) { return a < b ? -1 : a > b; }
static int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

/* Traceback.__lt__: tuples of (filename, lineno), oldest first, compared lexicographically. */
static int cmp_traceback(const struct hsa_stat *a, const struct hsa_stat *b) {
  size_t n = a->nframes < b->nframes ? a->nframes : b->nframes;
  for (size_t i = 0; i < n; i++) {
    int c = strcmp(a->frames[i].filename, b->frames[i].filename);
    if (c) return c < 0 ? -1 : 1;
    c = cmp_i64(a->frames[i].lineno, b->frames[i].lineno);
    if (c) return c;
  }
  return cmp_i64((int64_t)a->nframes, (int64_t)b->nframes);
}

/* Descending by Statistic._sort_key = (size, count, traceback). */
static int cmp_stat_desc(const void *pa, const void *pb) {
  const struct hsa_stat *a = pa, *b = pb;
  int c = cmp_i64(a->size, b->size);
  if (!c) c = cmp_i64(a->count, b->count);
  if (!c) c = cmp_traceback(a, b);
  return -c;
}

/* Descending by StatisticDiff._sort_key = (abs(size_diff), size, abs(count_diff), count,
 * traceback). */
static int cmp_diff_desc(const void *pa, const void *pb) {
  const struct hsa_stat *a = pa, *b = pb;
  int c = cmp_i64(abs64(a->size_diff), abs64(b->size_diff));
  if (!c) c = cmp_i64(a->size, b->size);
  if (!c) c = cmp_i64(abs64(a->count_diff), abs64(b->count_diff));
  if (!c) c = cmp_i64(a->count, b->count);
  if (!c) c = cmp_traceback(a, b);
  return -c;
}

static void grouper_free(struct grouper *g) {
  struct group *grp, *tmp;
  HASH_ITER(hh, g->groups, grp, tmp) {
    HASH_DEL(g->groups, grp);
    free(grp->key);
    free(grp->stat.frames);
    free(grp);
  }
  free(g->keybuf);
}

/* Moves the groups of g into out->items (the frames arrays change owner) and sorts them. */
static int finish(struct grouper *g, struct hsa_stats *out, int is_diff, struct hsa_error *err) {
  size_t n = HASH_COUNT(g->groups);
  out->items = calloc(n ? n : 1, sizeof *out->items);
  if (!out->items) return hsa_fail(err, "out of memory sorting statistics");
  struct group *grp, *tmp;
  size_t i = 0;
  HASH_ITER(hh, g->groups, grp, tmp) {
    struct hsa_stat st = grp->stat;
    /* estimates: summed per group, then rounded */
    st.size += llround(grp->est_size);
    st.count += llround(grp->est_count);
    grp->old_size += llround(grp->old_est_size);
    grp->old_count += llround(grp->old_est_count);
    st.size_var = grp->var;
    out->total_size_var += grp->var;
    if (is_diff) {
      /* _compare_grouped_stats: only-old keys get size 0 and negative diffs. */
      if (!grp->in_new) st.size = st.count = 0;
      st.size_diff = st.size - grp->old_size;
      st.count_diff = st.count - grp->old_count;
      out->total_size_diff += st.size_diff;
      out->total_count_diff += st.count_diff;
    }
    out->total_size += st.size;
    out->total_count += st.count;
    out->items[i++] = st;
    HASH_DEL(g->groups, grp);
    free(grp->key);
    free(grp);
  }
  out->n = i;
  qsort(out->items, out->n, sizeof *out->items, is_diff ? cmp_diff_desc : cmp_stat_desc);
  return 0;
}

static void stats_begin(struct hsa_stats *out, const struct hsa_options *opt, int is_diff) {
  memset(out, 0, sizeof *out);
  out->key = opt->key;
  out->is_diff = is_diff;
}

/* Checks the snapshot can answer opt (anatomy for --key type, a peak copy for --peak) and
 * notes in out whether its figures are estimates. */
static int need_data(const struct hsa_snapshot *s, const struct hsa_options *opt,
                     struct hsa_stats *out, struct hsa_error *err);

static int need_anatomy(const struct hsa_snapshot *s, const struct hsa_options *opt,
                        struct hsa_error *err) {
  if (opt->key != HSA_KEY_TYPE || hsa_snapshot_has_anatomy(s)) return 0;
  return hsa_fail(err, "%s: --key type needs object anatomy, which this snapshot does not have: %s",
                  s->path ? s->path : "snapshot", hsa_snapshot_no_anatomy_reason(s));
}

static int need_data(const struct hsa_snapshot *s, const struct hsa_options *opt,
                     struct hsa_stats *out, struct hsa_error *err) {
  const char *name = s->path ? s->path : "snapshot";
  if (opt->peak) {
    if (opt->key == HSA_KEY_TYPE)
      return hsa_fail(err,
                      "%s: --peak cannot be combined with --key type (object anatomy describes "
                      "the objects live when the snapshot was taken, not at the peak)",
                      name);
    if (!hsa_snapshot_has_peak(s))
      return hsa_fail(err, "%s: --peak needs the snapshot's copy of the live memory at the "
                           "peak, which it does not have: %s",
                      name, hsa_snapshot_no_peak_reason(s));
    return 0;
  }
  if (need_anatomy(s, opt, err) != 0) return -1;
  if (opt->key != HSA_KEY_TYPE && hsa_snapshot_is_sampled(s)) out->sampled = 1;
  return 0;
}

int hsa_stats_compute(const struct hsa_snapshot *s, const struct hsa_options *opt,
                      struct hsa_symbolizer *sym, struct hsa_stats *out, struct hsa_error *err) {
  stats_begin(out, opt, 0);
  if (need_data(s, opt, out, err) != 0) return -1;
  struct grouper g = {NULL, &out->pool, NULL, 0};
  int rc = group_snapshot(&g, s, opt, sym, 0, err);
  if (rc == 0) rc = finish(&g, out, 0, err);
  grouper_free(&g);
  if (rc != 0) hsa_stats_free(out);
  return rc;
}

int hsa_stats_diff(const struct hsa_snapshot *old_s, const struct hsa_snapshot *new_s,
                   const struct hsa_options *opt, struct hsa_symbolizer *sym,
                   struct hsa_stats *out, struct hsa_error *err) {
  stats_begin(out, opt, 1);
  if (need_data(old_s, opt, out, err) != 0 || need_data(new_s, opt, out, err) != 0) return -1;
  struct grouper g = {NULL, &out->pool, NULL, 0};
  int rc = group_snapshot(&g, new_s, opt, sym, 0, err);
  if (rc == 0) rc = group_snapshot(&g, old_s, opt, sym, 1, err);
  if (rc == 0) rc = finish(&g, out, 1, err);
  grouper_free(&g);
  if (rc != 0) hsa_stats_free(out);
  return rc;
}

void hsa_stats_free(struct hsa_stats *st) {
  if (!st) return;
  for (size_t i = 0; i < st->n; i++) free(st->items[i].frames);
  free(st->items);
  pool_free(st->pool);
  memset(st, 0, sizeof *st);
}

const struct hsa_frame_text *hsa_stat_frame(const struct hsa_stat *st) { return &st->frames[0]; }
