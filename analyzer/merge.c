/* heapshape analyzer: merging snapshots (see merge.h). */
#include "analyzer/merge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "analyzer/errors.h"
#include "analyzer/reader.h"
#include "analyzer/snapshot_encode.h"

#define NCOUNTERS 6

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

uint64_t hsa_median_u64(uint64_t *v, size_t n) {
  if (n == 0) return 0;
  qsort(v, n, sizeof *v, cmp_u64);
  if (n % 2) return v[n / 2];
  return v[n / 2 - 1] / 2 + v[n / 2] / 2 + ((v[n / 2 - 1] % 2) & (v[n / 2] % 2));
}

/* A growing byte buffer for hash keys. */
struct kbuf {
  char *p;
  size_t len, cap;
};

static int kput(struct kbuf *b, const void *d, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, d, n);
  b->len += n;
  return 0;
}

/* Frame content key: kind, lineno, addr, filename\0, name\0. */
static int frame_key(const struct hsa_snapshot *s, uint32_t fid, struct kbuf *b) {
  const struct hs_frame_rec *f = &s->frames[fid];
  const char *fn = hsa_snapshot_string(s, f->filename_sid);
  const char *nm = hsa_snapshot_string(s, f->name_sid);
  if (kput(b, &f->kind, 1) || kput(b, &f->lineno, 4) || kput(b, &f->addr, 8) ||
      kput(b, fn, strlen(fn) + 1) || kput(b, nm, strlen(nm) + 1))
    return -1;
  return 0;
}

struct mframe {
  char *key;
  size_t keylen;
  uint32_t out_id;
  UT_hash_handle hh;
};

struct msite {
  char *key;
  size_t keylen;
  uint8_t domain;
  uint16_t nframes;
  uint32_t *frames; /* output frame ids */
  uint64_t *vals; /* n * NCOUNTERS */
  size_t order; /* first-seen order, for a stable output */
  UT_hash_handle hh;
};

static void site_counters(const struct hsa_site *s, uint64_t out[NCOUNTERS]) {
  out[0] = s->allocs;
  out[1] = s->frees;
  out[2] = s->alloc_bytes;
  out[3] = s->live_count;
  out[4] = s->live_bytes;
  out[5] = s->peak_live_bytes;
}

static int cmp_order(const void *a, const void *b) {
  const struct msite *x = *(struct msite *const *)a, *y = *(struct msite *const *)b;
  return (x->order > y->order) - (x->order < y->order);
}

/* a + b, or UINT64_MAX when it does not fit (hsa_merge refuses results above 2^60). */
static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static uint64_t combine(uint64_t *v, size_t n, enum hsa_merge_mode mode) {
  if (mode == HSA_MERGE_MEDIAN) return hsa_median_u64(v, n);
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum = sat_add(sum, v[i]);
  return sum;
}

int hsa_merge(const struct hsa_snapshot *const *in, size_t n, enum hsa_merge_mode mode,
              const char *const *names, struct hsa_snapshot *out, struct hsa_error *err) {
  hsa_snapshot_init(out);
  if (n == 0) return hsa_fail(err, "merge needs at least one snapshot");
  for (size_t i = 0; i < n; i++)
    if (hsa_snapshot_is_partial(in[i]))
      return hsa_fail(err,
                      "%s: is a partial per-test snapshot (only the sites one test touched); "
                      "merge combines whole processes: give it full snapshots (the exit "
                      "snapshot, heapshape_snapshot())",
                      in[i]->path ? in[i]->path : names && names[i] ? names[i] : "input");
  struct mframe *frames = NULL, *mf, *mftmp;
  struct msite *sites = NULL, *ms, *mstmp;
  struct kbuf kb = {NULL, 0, 0}, fkb = {NULL, 0, 0};
  uint32_t *ids = NULL;
  size_t idcap = 0, nsites = 0;
  struct msite **list = NULL;
  uint64_t *tmp = calloc(n, sizeof *tmp);
  char *cmdline = NULL;
  int rc = -1;
  if (!tmp) goto oom;

  for (size_t i = 0; i < n; i++) {
    const struct hsa_snapshot *s = in[i];
    for (uint32_t k = 0; k < s->nsites; k++) {
      const struct hsa_site *site = &s->sites[k];
      if (site->nframes > idcap) {
        uint32_t *p = realloc(ids, site->nframes * sizeof *ids);
        if (!p) goto oom;
        ids = p;
        idcap = site->nframes;
      }
      kb.len = 0;
      if (kput(&kb, &site->domain, 1)) goto oom;
      for (uint16_t j = 0; j < site->nframes; j++) {
        fkb.len = 0;
        if (frame_key(s, site->frames[j], &fkb)) goto oom;
        if (kput(&kb, fkb.p, fkb.len)) goto oom;
        HASH_FIND(hh, frames, fkb.p, fkb.len, mf);
        if (!mf) {
          const struct hs_frame_rec *f = &s->frames[site->frames[j]];
          uint32_t fid;
          if (hsa_snapshot_add_frame(out, (enum hs_frame_kind)f->kind, f->lineno,
                                     hsa_snapshot_string(s, f->filename_sid),
                                     hsa_snapshot_string(s, f->name_sid), f->addr, &fid, err))
            goto fail;
          if (!(mf = calloc(1, sizeof *mf)) || !(mf->key = malloc(fkb.len))) {
            free(mf);
            goto oom;
          }
          memcpy(mf->key, fkb.p, fkb.len);
          mf->keylen = fkb.len;
          mf->out_id = fid;
          HASH_ADD_KEYPTR(hh, frames, mf->key, mf->keylen, mf);
        }
        ids[j] = mf->out_id;
      }
      HASH_FIND(hh, sites, kb.p, kb.len, ms);
      if (!ms) {
        if (!(ms = calloc(1, sizeof *ms))) goto oom;
        ms->key = malloc(kb.len);
        ms->frames = malloc(site->nframes * sizeof *ms->frames);
        ms->vals = calloc(n * NCOUNTERS, sizeof *ms->vals);
        if (!ms->key || !ms->frames || !ms->vals) {
          free(ms->key);
          free(ms->frames);
          free(ms->vals);
          free(ms);
          goto oom;
        }
        memcpy(ms->key, kb.p, kb.len);
        ms->keylen = kb.len;
        ms->domain = site->domain;
        ms->nframes = site->nframes;
        memcpy(ms->frames, ids, site->nframes * sizeof *ids);
        ms->order = nsites++;
        HASH_ADD_KEYPTR(hh, sites, ms->key, ms->keylen, ms);
      }
      /* The same stack twice in one snapshot (should not happen): add up. */
      uint64_t c[NCOUNTERS];
      site_counters(site, c);
      for (int q = 0; q < NCOUNTERS; q++) ms->vals[i * NCOUNTERS + q] = sat_add(ms->vals[i * NCOUNTERS + q], c[q]);
    }
  }

  /* Sites, in first-seen order. */
  list = calloc(nsites ? nsites : 1, sizeof *list);
  if (!list) goto oom;
  {
    size_t at = 0;
    HASH_ITER(hh, sites, ms, mstmp) list[at++] = ms;
  }
  qsort(list, nsites, sizeof *list, cmp_order);
  for (size_t k = 0; k < nsites; k++) {
    ms = list[k];
    uint64_t c[NCOUNTERS];
    int any = 0;
    for (int q = 0; q < NCOUNTERS; q++) {
      for (size_t i = 0; i < n; i++) tmp[i] = ms->vals[i * NCOUNTERS + q];
      c[q] = combine(tmp, n, mode);
      any |= c[q] != 0;
    }
    if (!any) continue;
    struct hsa_site site;
    memset(&site, 0, sizeof site);
    site.domain = ms->domain;
    site.nframes = ms->nframes;
    site.frames = ms->frames;
    site.allocs = c[0];
    site.frees = c[1];
    site.alloc_bytes = c[2];
    site.live_count = c[3];
    site.live_bytes = c[4];
    site.peak_live_bytes = c[5];
    if (hsa_snapshot_add_site(out, &site, err)) goto fail;
  }

  /* META. */
  struct hs_meta *m = &out->meta;
#define COMBINE_META(field)                                       \
  do {                                                            \
    for (size_t i = 0; i < n; i++) tmp[i] = in[i]->meta.field;    \
    m->field = combine(tmp, n, mode);                             \
  } while (0)
  COMBINE_META(live_bytes);
  COMBINE_META(live_count);
  COMBINE_META(peak_live_bytes);
  COMBINE_META(total_allocs);
  COMBINE_META(total_frees);
  COMBINE_META(total_alloc_bytes);
#undef COMBINE_META
  m->reason = HS_REASON_EXIT;
  m->pid = mode == HSA_MERGE_SUM ? in[0]->meta.pid : 0;
  m->ppid = mode == HSA_MERGE_SUM ? in[0]->meta.ppid : 0;
  for (size_t i = 0; i < n; i++) {
    const struct hs_meta *im = &in[i]->meta;
    if (im->time_ns > m->time_ns) m->time_ns = im->time_ns;
    if (!m->start_time_ns || (im->start_time_ns && im->start_time_ns < m->start_time_ns))
      m->start_time_ns = im->start_time_ns;
    if (!m->python_version) m->python_version = im->python_version;
    if (im->max_frames > m->max_frames) m->max_frames = im->max_frames;
    m->flags |= im->flags & (HS_META_FLAG_DISABLED | HS_META_FLAG_PYHOOKS);
    if (!m->str_ascii_size) {
      m->str_ascii_size = im->str_ascii_size;
      m->str_compact_size = im->str_compact_size;
      m->gc_head_size = im->gc_head_size;
      m->small_request_threshold = im->small_request_threshold;
    }
  }
  /* Command line: the inputs. */
  {
    size_t len = 64;
    for (size_t i = 0; i < n; i++)
      len += strlen(names && names[i] ? names[i] : in[i]->path ? in[i]->path : "-") + 1;
    if (!(cmdline = malloc(len))) goto oom;
    size_t at = (size_t)snprintf(cmdline, len, "heapshape merge %s",
                                 mode == HSA_MERGE_SUM ? "--sum" : "--median");
    for (size_t i = 0; i < n; i++)
      at += (size_t)snprintf(cmdline + at, len - at, " %s",
                             names && names[i] ? names[i] : in[i]->path ? in[i]->path : "-");
    if (hsa_snapshot_set_program(out, hsa_snapshot_string(in[0], in[0]->meta.program_sid),
                                 cmdline, err))
      goto fail;
  }
  /* Modules (v4): every distinct (path, build-id, base) of the inputs, so the merged frames are
   * still checked against the build-ids recorded by the runs. */
  for (size_t i = 0; i < n; i++) {
    for (uint32_t k = 0; k < in[i]->nmodules; k++) {
      const struct hs_module_rec *im = &in[i]->modules[k];
      const char *path = hsa_snapshot_string(in[i], im->path_sid);
      const char *id = hsa_snapshot_string(in[i], im->build_id_sid);
      int seen = 0;
      for (uint32_t j = 0; j < out->nmodules && !seen; j++) {
        const struct hs_module_rec *om = &out->modules[j];
        seen = om->base == im->base && strcmp(hsa_snapshot_string(out, om->path_sid), path) == 0 &&
               strcmp(hsa_snapshot_string(out, om->build_id_sid), id) == 0;
      }
      if (!seen && hsa_snapshot_add_module(out, path, id, im->base, err)) goto fail;
    }
  }
  /* The reader refuses counters (and sums over sites) above HSA_COUNTER_MAX: so must merge,
   * or its output would not read back. Only damaged or hand-made inputs get near it. */
  {
    uint64_t sum[NCOUNTERS] = {0};
    const uint64_t meta[] = {m->live_bytes,   m->live_count,  m->peak_live_bytes,
                             m->total_allocs, m->total_frees, m->total_alloc_bytes};
    int over = 0;
    for (uint32_t k = 0; k < out->nsites && !over; k++) {
      uint64_t c[NCOUNTERS];
      site_counters(&out->sites[k], c);
      for (int q = 0; q < NCOUNTERS; q++)
        over |= c[q] > HSA_COUNTER_MAX || (sum[q] += c[q]) > HSA_COUNTER_MAX;
    }
    for (size_t q = 0; q < sizeof meta / sizeof meta[0]; q++) over |= meta[q] > HSA_COUNTER_MAX;
    if (over) {
      hsa_fail(err, "cannot %s these snapshots: a counter of the result would exceed 2^60 "
                    "(are the inputs damaged?)",
               mode == HSA_MERGE_SUM ? "sum" : "merge");
      goto fail;
    }
  }
  rc = 0;
  goto done;
oom:
  hsa_fail(err, "out of memory merging snapshots");
fail:
  hsa_snapshot_free(out);
done:
  HASH_ITER(hh, frames, mf, mftmp) {
    HASH_DEL(frames, mf);
    free(mf->key);
    free(mf);
  }
  HASH_ITER(hh, sites, ms, mstmp) {
    HASH_DEL(sites, ms);
    free(ms->key);
    free(ms->frames);
    free(ms->vals);
    free(ms);
  }
  free(list);
  free(kb.p);
  free(fkb.p);
  free(ids);
  free(tmp);
  free(cmdline);
  return rc;
}

int hsa_merge_files(const char *const *paths, size_t n, enum hsa_merge_mode mode,
                    const char *out_path) {
  struct hsa_snapshot *snaps = calloc(n ? n : 1, sizeof *snaps);
  const struct hsa_snapshot **ptrs = calloc(n ? n : 1, sizeof *ptrs);
  struct hsa_error err;
  size_t loaded = 0;
  int rc = 0;
  if (!snaps || !ptrs) {
    rc = hsa_cli_error("out of memory");
    goto out;
  }
  for (; loaded < n; loaded++) {
    if (hsa_snapshot_read_file(paths[loaded], &snaps[loaded], &err) != 0) {
      rc = hsa_cli_error("%s", err.msg);
      goto out;
    }
    ptrs[loaded] = &snaps[loaded];
  }
  struct hsa_snapshot merged;
  if (hsa_merge(ptrs, n, mode, paths, &merged, &err) != 0) {
    rc = hsa_cli_error("%s", err.msg);
    goto out;
  }
  if (hsa_snapshot_write_file(&merged, out_path, &err) != 0) rc = hsa_cli_error("%s", err.msg);
  hsa_snapshot_free(&merged);
out:
  while (loaded > 0) hsa_snapshot_free(&snaps[--loaded]);
  free(snaps);
  free(ptrs);
  return rc;
}

int hsa_cli_merge(int argc, char **argv) {
  enum hsa_merge_mode mode = HSA_MERGE_MEDIAN;
  const char *out = NULL;
  const char **inputs = calloc((size_t)argc, sizeof *inputs);
  size_t n = 0;
  int only_files = 0, rc;
  if (!inputs) return hsa_cli_error("out of memory");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_files || a[0] != '-') {
      inputs[n++] = a;
    } else if (strcmp(a, "--") == 0) {
      only_files = 1;
    } else if (strcmp(a, "--sum") == 0) {
      mode = HSA_MERGE_SUM;
    } else if (strcmp(a, "--median") == 0) {
      mode = HSA_MERGE_MEDIAN;
    } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
      if (i + 1 >= argc) {
        free(inputs);
        return hsa_cli_error("%s needs a path", a);
      }
      out = argv[++i];
    } else if (strncmp(a, "--output=", 9) == 0) {
      out = a + 9;
    } else {
      free(inputs);
      return hsa_cli_error("unknown option \"%s\" for merge; usage: heapshape merge "
                           "[--median|--sum] SNAPSHOT... -o OUTPUT",
                           a);
    }
  }
  if (!out || n == 0) {
    free(inputs);
    return hsa_cli_error("merge needs %s: heapshape merge [--median|--sum] SNAPSHOT... -o OUTPUT",
                         n == 0 ? "at least one snapshot" : "an output file (-o OUTPUT)");
  }
  rc = hsa_merge_files(inputs, n, mode, out);
  if (rc == 0)
    fprintf(stderr, "heapshape: merged %zu snapshot%s (%s) into %s\n", n, n == 1 ? "" : "s",
            mode == HSA_MERGE_SUM ? "sum of processes" : "median of runs", out);
  free(inputs);
  return rc;
}
