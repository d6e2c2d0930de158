/* heapshape analyzer: .hsnap encoder (see snapshot_encode.h). Builds the whole file in a
 * growing memory buffer, then appends END with the CRC of everything before it. */
#include "analyzer/snapshot_encode.h"

#include "heapshape/encode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct buf {
  unsigned char *p;
  size_t len, cap;
  int oom;
};

static void put(struct buf *b, const void *data, size_t n) {
  if (b->oom || n == 0) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void put32(struct buf *b, uint32_t v) { put(b, &v, 4); }

static void sink_put(void *ctx, const void *p, size_t n) { put(ctx, p, n); }

static void pad8(struct buf *b) {
  struct hs_sink k = {sink_put, b};
  hs_enc_pad8(&k, b->len);
}

/* Writes a section header with a placeholder length; returns the header's offset. */
static size_t begin_section(struct buf *b, uint32_t tag) {
  struct hs_sink k = {sink_put, b};
  size_t at = b->len;
  hs_enc_section(&k, tag, 0);
  return at;
}

static void end_section(struct buf *b, size_t at) {
  if (b->oom) return;
  uint64_t length = b->len - at - sizeof(struct hs_section_header);
  memcpy(b->p + at + offsetof(struct hs_section_header, length), &length, sizeof length);
  pad8(b);
}

int hsa_snapshot_encode(const struct hsa_snapshot *s, unsigned char **data, size_t *len,
                        struct hsa_error *err) {
  return hsa_snapshot_encode_version(s, HS_FORMAT_VERSION, data, len, err);
}

int hsa_snapshot_encode_version(const struct hsa_snapshot *s, uint32_t version,
                                unsigned char **data, size_t *len, struct hsa_error *err) {
  if (version < 1 || version > HS_FORMAT_VERSION)
    return hsa_fail(err, "cannot encode format version %u (this heapshape writes 1 to %u)",
                    version, HS_FORMAT_VERSION);
  if (version >= 3 && s->meta.sample_rate && s->nestimates != s->nsites)
    return hsa_fail(err,
                    "cannot encode a sampled snapshot (sample rate %llu) with %u estimates for "
                    "%u sites (one per site is required)",
                    (unsigned long long)s->meta.sample_rate, s->nestimates, s->nsites);
  for (uint32_t i = 0; version >= 4 && i < s->nmodules; i++)
    if (s->modules[i].path_sid >= s->nstrings || s->modules[i].build_id_sid >= s->nstrings)
      return hsa_fail(err, "cannot encode module %u: string id out of range", i);
  if (version >= 3 && s->npeak > s->nsites)
    return hsa_fail(err, "cannot encode a peak copy of %u sites for %u sites", s->npeak,
                    s->nsites);
  if (s->part.kind != HS_PART_FULL && version < 6)
    return hsa_fail(err, "cannot encode a partial snapshot in format version %u (PART is new in 6)",
                    version);
  if (hsa_snapshot_is_partial(s) && s->part.count != s->nsites)
    return hsa_fail(err, "cannot encode a partial snapshot with %u site ids for %u sites",
                    s->part.count, s->nsites);
  struct buf b = {NULL, 0, 0, 0};
  struct hs_sink k = {sink_put, &b};
  hs_enc_file_header(&k, version);

  size_t at = begin_section(&b, HS_TAG_META);
  struct hs_meta meta = s->meta;
  if (version < 2) { /* v1: bytes 104.. are reserved */
    memset((unsigned char *)&meta + offsetof(struct hs_meta, str_ascii_size), 0,
           sizeof meta - offsetof(struct hs_meta, str_ascii_size));
  }
  if (version < 3) meta.sample_rate = 0; /* v2: bytes 120.. are reserved */
  put(&b, &meta, sizeof meta);
  end_section(&b, at);

  at = begin_section(&b, HS_TAG_STRS);
  put32(&b, s->nstrings);
  for (uint32_t i = 0; i < s->nstrings; i++) {
    uint32_t n = s->string_lens ? s->string_lens[i] : (uint32_t)strlen(s->strings[i]);
    put32(&b, n);
    put(&b, s->strings[i], n);
  }
  end_section(&b, at);

  at = begin_section(&b, HS_TAG_FRMS);
  put32(&b, s->nframes);
  put32(&b, 0);
  put(&b, s->frames, sizeof *s->frames * s->nframes);
  end_section(&b, at);

  at = begin_section(&b, HS_TAG_SITE);
  hs_enc_count(&k, s->nsites);
  for (uint32_t i = 0; i < s->nsites; i++) {
    const struct hsa_site *site = &s->sites[i];
    struct hs_site_rec r;
    memset(&r, 0, sizeof r);
    r.domain = site->domain;
    r.nframes = site->nframes;
    r.allocs = site->allocs;
    r.frees = site->frees;
    r.alloc_bytes = site->alloc_bytes;
    r.live_count = site->live_count;
    r.live_bytes = site->live_bytes;
    r.peak_live_bytes = site->peak_live_bytes;
    hs_enc_site(&k, &r, site->frames);
  }
  end_section(&b, at);

  if (version >= 2) {
    at = begin_section(&b, HS_TAG_TYPE);
    put32(&b, s->ntypes);
    put32(&b, 0);
    put(&b, s->types, sizeof *s->types * s->ntypes);
    end_section(&b, at);

    at = begin_section(&b, HS_TAG_ANAT);
    put32(&b, s->nrows);
    put32(&b, 0);
    put(&b, s->rows, sizeof *s->rows * s->nrows);
    end_section(&b, at);

    at = begin_section(&b, HS_TAG_SHAP);
    put32(&b, s->nshapes);
    put32(&b, 0);
    for (uint32_t i = 0; i < s->nshapes; i++) {
      const struct hsa_shape *sh = &s->shapes[i];
      struct hs_shape_rec r;
      memset(&r, 0, sizeof r);
      r.row = sh->row;
      r.count = sh->count;
      r.samples = sh->samples;
      r.kind = sh->kind;
      r.nfields = sh->nfields;
      r.length = sh->length;
      put(&b, &r, sizeof r);
      put(&b, sh->fields, sizeof *sh->fields * sh->nfields);
      pad8(&b);
    }
    end_section(&b, at);
  }

  if (version >= 3) {
    at = begin_section(&b, HS_TAG_PEAK);
    struct hs_peak_hdr ph;
    memset(&ph, 0, sizeof ph);
    ph.count = s->npeak;
    ph.live_bytes = s->peak_live_bytes;
    ph.time_ns = s->peak_time_ns;
    put(&b, &ph, sizeof ph);
    put(&b, s->peak, sizeof *s->peak * s->npeak);
    end_section(&b, at);

    at = begin_section(&b, HS_TAG_TIME);
    struct hs_time_hdr th;
    memset(&th, 0, sizeof th);
    th.count = s->ntime;
    th.ntop = HS_TIME_TOP_SITES;
    th.interval_ns = s->time_interval_ns;
    put(&b, &th, sizeof th);
    put(&b, s->timeline, sizeof *s->timeline * s->ntime);
    end_section(&b, at);

    at = begin_section(&b, HS_TAG_ESTM);
    uint32_t ne = meta.sample_rate ? s->nestimates : 0;
    put32(&b, ne);
    put32(&b, 0);
    put(&b, s->estimates, sizeof *s->estimates * ne);
    end_section(&b, at);
  }

  if (version >= 4) {
    at = begin_section(&b, HS_TAG_MODS);
    put32(&b, s->nmodules);
    put32(&b, 0);
    for (uint32_t i = 0; i < s->nmodules; i++) {
      struct hs_module_rec r = s->modules[i];
      r.reserved = 0;
      put(&b, &r, sizeof r);
    }
    end_section(&b, at);
  }

  if (version >= 5) {
    uint32_t ne = 0;
    for (uint32_t i = 0; i < s->nshapes; i++) ne += s->shapes[i].has_elem != 0;
    at = begin_section(&b, HS_TAG_ELEM);
    put32(&b, ne);
    put32(&b, 0);
    for (uint32_t i = 0; i < s->nshapes; i++) {
      const struct hsa_shape *sh = &s->shapes[i];
      if (!sh->has_elem) continue;
      struct hs_elem_rec r = sh->elem;
      r.shape = i;
      r.nfields = sh->nfields;
      put(&b, &r, sizeof r);
      put(&b, sh->maxlen, sizeof *sh->maxlen * sh->nfields);
      pad8(&b);
    }
    end_section(&b, at);
  }

  if (version >= 6) {
    struct hs_part_hdr ph = s->part;
    if (!hsa_snapshot_is_partial(s)) {
      memset(&ph, 0, sizeof ph);
      ph.process_sites = s->nsites;
    }
    hs_enc_part(&k, &ph, s->part_site_ids);
    pad8(&b);
  }

  if (b.oom) {
    free(b.p);
    return hsa_fail(err, "out of memory encoding a snapshot");
  }
  struct hs_end_rec e = {hs_crc32(0, b.p, b.len), 0};
  at = begin_section(&b, HS_TAG_END);
  put(&b, &e, sizeof e);
  end_section(&b, at);
  if (b.oom) {
    free(b.p);
    return hsa_fail(err, "out of memory encoding a snapshot");
  }
  *data = b.p;
  *len = b.len;
  return 0;
}

int hsa_snapshot_write_file(const struct hsa_snapshot *s, const char *path,
                            struct hsa_error *err) {
  unsigned char *data;
  size_t len;
  if (hsa_snapshot_encode(s, &data, &len, err) != 0) return -1;
  size_t n = strlen(path) + 32;
  char *tmp = malloc(n);
  if (!tmp) {
    free(data);
    return hsa_fail(err, "%s: out of memory", path);
  }
  snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    int e = errno;
    hsa_fail(err, "%s: cannot create: %s", tmp, strerror(e));
    free(tmp);
    free(data);
    return -1;
  }
  size_t put_n = fwrite(data, 1, len, f);
  int bad = put_n != len;
  if (fclose(f) != 0) bad = 1;
  free(data);
  if (bad || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    hsa_fail(err, "%s: cannot write snapshot: %s", path, strerror(e));
    free(tmp);
    return -1;
  }
  free(tmp);
  return 0;
}
