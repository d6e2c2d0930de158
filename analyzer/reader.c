/* heapshape analyzer: .hsnap reader (see reader.h; format in docs/snapshot-format.md).
 *
 * Order of checks, chosen so each damaged file gets the most useful message:
 *   1. file header: magic, byte-order mark, version, header size;
 *   2. if the file ends with an END section, its CRC (so a flipped byte anywhere is reported as
 *      corruption rather than as whatever field it happened to land in);
 *   3. the sections in order, with their lengths (truncation) and every id range.
 */
#include "analyzer/reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *tag_name(uint32_t tag) {
  switch (tag) {
    case HS_TAG_META: return "META";
    case HS_TAG_STRS: return "STRS";
    case HS_TAG_FRMS: return "FRMS";
    case HS_TAG_SITE: return "SITE";
    case HS_TAG_TYPE: return "TYPE";
    case HS_TAG_ANAT: return "ANAT";
    case HS_TAG_SHAP: return "SHAP";
    case HS_TAG_PEAK: return "PEAK";
    case HS_TAG_TIME: return "TIME";
    case HS_TAG_ESTM: return "ESTM";
    case HS_TAG_MODS: return "MODS";
    case HS_TAG_ELEM: return "ELEM";
    case HS_TAG_PART: return "PART";
    case HS_TAG_END: return "END";
    default: return "?";
  }
}

/* Printable form of 4 tag bytes, e.g. "XYZ\x01" -> "XYZ?". */
static void tag_text(uint32_t tag, char out[5]) {
  for (int i = 0; i < 4; i++) {
    unsigned char c = (unsigned char)(tag >> (8 * i));
    out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  out[4] = '\0';
}

static uint32_t rd32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* Cursor over one section's payload. */
struct cursor {
  const char *name; /* file name, for messages */
  const unsigned char *base; /* start of the file */
  uint64_t pos, end; /* absolute offsets */
};

/* Locates the section expected at *off: checks the tag, that header and padded payload fit,
 * and advances *off past it. */
static int open_section(const unsigned char *d, uint64_t size, uint64_t *off, uint32_t want,
                        const char *name, struct cursor *c, struct hsa_error *err) {
  if (*off + sizeof(struct hs_section_header) > size)
    return hsa_fail(err,
                    "%s: truncated: section %s starts at byte %llu but the file has %llu bytes; "
                    "the snapshot was cut short (was the program killed while writing it?)",
                    name, tag_name(want), (unsigned long long)*off, (unsigned long long)size);
  struct hs_section_header h;
  memcpy(&h, d + *off, sizeof h);
  if (h.tag != want) {
    char t[5];
    tag_text(h.tag, t);
    return hsa_fail(err,
                    "%s: corrupt: expected section %s at byte %llu but found \"%s\"; the file is "
                    "damaged or was not written by heapshape",
                    name, tag_name(want), (unsigned long long)*off, t);
  }
  uint64_t start = *off + sizeof h;
  if (h.length > size || start + hs_pad8(h.length) > size)
    return hsa_fail(err,
                    "%s: truncated: section %s ends at byte %llu but the file has %llu bytes; "
                    "the snapshot was cut short (was the program killed while writing it?)",
                    name, tag_name(want),
                    (unsigned long long)(h.length > UINT64_MAX / 2 ? h.length : start + hs_pad8(h.length)),
                    (unsigned long long)size);
  c->name = name;
  c->base = d;
  c->pos = start;
  c->end = start + h.length;
  *off = start + hs_pad8(h.length);
  return 0;
}

static int need(struct cursor *c, uint64_t n, const char *what, struct hsa_error *err) {
  if (n > c->end - c->pos)
    return hsa_fail(err,
                    "%s: corrupt: %s at byte %llu runs past the end of its section (byte %llu); "
                    "the file is damaged",
                    c->name, what, (unsigned long long)c->pos, (unsigned long long)c->end);
  return 0;
}

/* Checks one counter of record index of a section against HSA_COUNTER_MAX, and its running
 * sum over the section's records (*sum; NULL for a counter that is not summed). */
static int check_counter(const struct hsa_snapshot *s, const char *record, uint32_t index,
                         const char *field, uint64_t v, uint64_t *sum, struct hsa_error *err) {
  if (v > HSA_COUNTER_MAX)
    return hsa_fail(err,
                    "%s: corrupt: %s %u has %s %llu, more than 2^60 (no process gets near "
                    "that); the file is damaged",
                    s->path, record, index, field, (unsigned long long)v);
  if (sum && (*sum += v) > HSA_COUNTER_MAX)
    return hsa_fail(err,
                    "%s: corrupt: the %s of all %ss add up to more than 2^60 (at %s %u); the "
                    "file is damaged",
                    s->path, field, record, record, index);
  return 0;
}

static int read_meta(const unsigned char *d, uint64_t size, uint64_t *off,
                     struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  if (open_section(d, size, off, HS_TAG_META, s->path, &c, err) != 0) return -1;
  if (c.end - c.pos != sizeof s->meta)
    return hsa_fail(err, "%s: corrupt: section META is %llu bytes long, expected %zu", s->path,
                    (unsigned long long)(c.end - c.pos), sizeof s->meta);
  memcpy(&s->meta, d + c.pos, sizeof s->meta);
  if (s->version < 2) {
    /* v1: bytes 104.. were reserved (zero); a v1 file reads as v2 without anatomy */
    s->meta.str_ascii_size = s->meta.str_compact_size = 0;
    s->meta.gc_head_size = s->meta.small_request_threshold = 0;
    s->meta.flags2 = s->meta.anatomy_us = 0;
    s->meta.sample_rate = 0;
  }
  if (s->version < 3) s->meta.sample_rate = 0; /* v2: bytes 120.. were reserved */
  const struct hs_meta *m = &s->meta;
  const uint64_t v[] = {m->live_bytes,  m->live_count,  m->peak_live_bytes,   m->total_allocs,
                        m->total_frees, m->total_alloc_bytes, m->sample_rate};
  static const char *const names[] = {"live bytes",   "live blocks", "peak live bytes",
                                      "allocations",  "frees",       "bytes allocated",
                                      "sample rate"};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (check_counter(s, "META", 0, names[i], v[i], NULL, err) != 0) return -1;
  return 0;
}

static int read_strings(const unsigned char *d, uint64_t size, uint64_t *off,
                        struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  if (open_section(d, size, off, HS_TAG_STRS, s->path, &c, err) != 0) return -1;
  if (need(&c, 4, "the string count", err) != 0) return -1;
  uint32_t n = rd32(d + c.pos);
  c.pos += 4;
  /* Each string takes at least 4 bytes: bound the count before allocating. */
  if ((uint64_t)n * 4 > c.end - c.pos)
    return hsa_fail(err, "%s: corrupt: section STRS claims %u strings but has only %llu bytes",
                    s->path, n, (unsigned long long)(c.end - c.pos));
  s->strings = calloc(n ? n : 1, sizeof *s->strings);
  s->string_lens = calloc(n ? n : 1, sizeof *s->string_lens);
  if (!s->strings || !s->string_lens)
    return hsa_fail(err, "%s: out of memory reading %u strings", s->path, n);
  for (uint32_t i = 0; i < n; i++) {
    if (need(&c, 4, "a string length", err) != 0) return -1;
    uint32_t len = rd32(d + c.pos);
    c.pos += 4;
    if (need(&c, len, "a string", err) != 0) return -1;
    char *str = malloc((size_t)len + 1);
    if (!str) return hsa_fail(err, "%s: out of memory reading a %u-byte string", s->path, len);
    memcpy(str, d + c.pos, len);
    str[len] = '\0';
    c.pos += len;
    s->strings[i] = str;
    s->string_lens[i] = len;
    s->nstrings = i + 1;
  }
  if (c.pos != c.end)
    return hsa_fail(err, "%s: corrupt: %llu unexpected bytes after the last string in STRS",
                    s->path, (unsigned long long)(c.end - c.pos));
  return 0;
}

static int check_sid(const struct hsa_snapshot *s, uint32_t sid, const char *what,
                     uint32_t index, struct hsa_error *err) {
  if (sid >= s->nstrings)
    return hsa_fail(err,
                    "%s: corrupt: %s %u refers to string %u but the snapshot has %u strings",
                    s->path, what, index, sid, s->nstrings);
  return 0;
}

static int read_frames(const unsigned char *d, uint64_t size, uint64_t *off,
                       struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  if (open_section(d, size, off, HS_TAG_FRMS, s->path, &c, err) != 0) return -1;
  if (need(&c, 8, "the frame count", err) != 0) return -1;
  uint32_t n = rd32(d + c.pos);
  c.pos += 8;
  if ((uint64_t)n * sizeof(struct hs_frame_rec) != c.end - c.pos)
    return hsa_fail(err,
                    "%s: corrupt: section FRMS claims %u frames (%llu bytes) but holds %llu bytes",
                    s->path, n, (unsigned long long)n * sizeof(struct hs_frame_rec),
                    (unsigned long long)(c.end - c.pos));
  s->frames = calloc(n ? n : 1, sizeof *s->frames);
  if (!s->frames) return hsa_fail(err, "%s: out of memory reading %u frames", s->path, n);
  memcpy(s->frames, d + c.pos, (size_t)n * sizeof *s->frames);
  s->nframes = n;
  for (uint32_t i = 0; i < n; i++) {
    if (check_sid(s, s->frames[i].filename_sid, "frame", i, err) != 0) return -1;
    if (check_sid(s, s->frames[i].name_sid, "frame", i, err) != 0) return -1;
  }
  return 0;
}

static int read_sites(const unsigned char *d, uint64_t size, uint64_t *off,
                      struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  if (open_section(d, size, off, HS_TAG_SITE, s->path, &c, err) != 0) return -1;
  if (need(&c, 8, "the site count", err) != 0) return -1;
  uint32_t n = rd32(d + c.pos);
  c.pos += 8;
  if ((uint64_t)n * hs_site_rec_size(1) > c.end - c.pos)
    return hsa_fail(err, "%s: corrupt: section SITE claims %u sites but has only %llu bytes",
                    s->path, n, (unsigned long long)(c.end - c.pos));
  s->sites = calloc(n ? n : 1, sizeof *s->sites);
  if (!s->sites) return hsa_fail(err, "%s: out of memory reading %u sites", s->path, n);
  uint64_t sums[6] = {0};
  static const char *const names[6] = {"allocations", "frees",      "bytes allocated",
                                       "live blocks", "live bytes", "peak live bytes"};
  for (uint32_t i = 0; i < n; i++) {
    struct hs_site_rec r;
    if (need(&c, sizeof r, "a site", err) != 0) return -1;
    memcpy(&r, d + c.pos, sizeof r);
    if (r.nframes == 0)
      return hsa_fail(err, "%s: corrupt: site %u has no frames (at least 1 is required)",
                      s->path, i);
    if (need(&c, hs_site_rec_size(r.nframes), "a site", err) != 0) return -1;
    const uint64_t v[6] = {r.allocs,     r.frees,      r.alloc_bytes,
                           r.live_count, r.live_bytes, r.peak_live_bytes};
    for (int k = 0; k < 6; k++)
      if (check_counter(s, "site", i, names[k], v[k], &sums[k], err) != 0) return -1;
    struct hsa_site *site = &s->sites[i];
    site->domain = r.domain;
    site->nframes = r.nframes;
    site->allocs = r.allocs;
    site->frees = r.frees;
    site->alloc_bytes = r.alloc_bytes;
    site->live_count = r.live_count;
    site->live_bytes = r.live_bytes;
    site->peak_live_bytes = r.peak_live_bytes;
    site->frames = malloc(sizeof *site->frames * r.nframes);
    if (!site->frames) return hsa_fail(err, "%s: out of memory reading site %u", s->path, i);
    s->nsites = i + 1;
    memcpy(site->frames, d + c.pos + sizeof r, sizeof *site->frames * r.nframes);
    for (uint32_t k = 0; k < r.nframes; k++) {
      if (site->frames[k] >= s->nframes)
        return hsa_fail(err,
                        "%s: corrupt: site %u refers to frame %u but the snapshot has %u frames",
                        s->path, i, site->frames[k], s->nframes);
    }
    c.pos += hs_site_rec_size(r.nframes);
  }
  if (c.pos != c.end)
    return hsa_fail(err, "%s: corrupt: %llu unexpected bytes after the last site in SITE",
                    s->path, (unsigned long long)(c.end - c.pos));
  return 0;
}

/* Opens a v2 anatomy section: a u32 count and 4 zero bytes, then records. */
static int open_counted(const unsigned char *d, uint64_t size, uint64_t *off, uint32_t tag,
                        struct hsa_snapshot *s, struct cursor *c, uint32_t *n,
                        struct hsa_error *err) {
  if (open_section(d, size, off, tag, s->path, c, err) != 0) return -1;
  char what[40];
  snprintf(what, sizeof what, "the %s count", tag_name(tag));
  if (need(c, 8, what, err) != 0) return -1;
  *n = rd32(d + c->pos);
  c->pos += 8;
  return 0;
}

static int check_type_id(const struct hsa_snapshot *s, uint32_t t, const char *what,
                         uint32_t index, struct hsa_error *err) {
  if (t != HS_NO_TYPE && t >= s->ntypes)
    return hsa_fail(err,
                    "%s: corrupt: %s %u refers to type %u but the snapshot has %u types", s->path,
                    what, index, t, s->ntypes);
  return 0;
}

static int read_types(const unsigned char *d, uint64_t size, uint64_t *off,
                      struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  uint32_t n;
  if (open_counted(d, size, off, HS_TAG_TYPE, s, &c, &n, err) != 0) return -1;
  if ((uint64_t)n * sizeof(struct hs_type_rec) != c.end - c.pos)
    return hsa_fail(err,
                    "%s: corrupt: section TYPE claims %u types (%llu bytes) but holds %llu bytes",
                    s->path, n, (unsigned long long)n * sizeof(struct hs_type_rec),
                    (unsigned long long)(c.end - c.pos));
  if (n == HS_NO_TYPE)
    return hsa_fail(err, "%s: corrupt: section TYPE claims %u types", s->path, n);
  s->types = calloc(n ? n : 1, sizeof *s->types);
  if (!s->types) return hsa_fail(err, "%s: out of memory reading %u types", s->path, n);
  memcpy(s->types, d + c.pos, (size_t)n * sizeof *s->types);
  s->ntypes = n;
  for (uint32_t i = 0; i < n; i++) {
    if (check_sid(s, s->types[i].name_sid, "type", i, err) != 0) return -1;
    if (s->types[i].basicsize < 0 || s->types[i].itemsize < 0)
      return hsa_fail(err,
                      "%s: corrupt: type %u has a negative size (basicsize %lld, itemsize %lld)",
                      s->path, i, (long long)s->types[i].basicsize,
                      (long long)s->types[i].itemsize);
    if (s->types[i].basicsize > HSA_TYPE_SIZE_MAX || s->types[i].itemsize > HSA_TYPE_SIZE_MAX)
      return hsa_fail(err,
                      "%s: corrupt: type %u is larger than 2^40 bytes (basicsize %lld, itemsize "
                      "%lld)",
                      s->path, i, (long long)s->types[i].basicsize,
                      (long long)s->types[i].itemsize);
  }
  return 0;
}

static int read_rows(const unsigned char *d, uint64_t size, uint64_t *off,
                     struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  uint32_t n;
  if (open_counted(d, size, off, HS_TAG_ANAT, s, &c, &n, err) != 0) return -1;
  if ((uint64_t)n * sizeof(struct hs_anat_rec) != c.end - c.pos)
    return hsa_fail(err,
                    "%s: corrupt: section ANAT claims %u rows (%llu bytes) but holds %llu bytes",
                    s->path, n, (unsigned long long)n * sizeof(struct hs_anat_rec),
                    (unsigned long long)(c.end - c.pos));
  s->rows = calloc(n ? n : 1, sizeof *s->rows);
  if (!s->rows) return hsa_fail(err, "%s: out of memory reading %u anatomy rows", s->path, n);
  memcpy(s->rows, d + c.pos, (size_t)n * sizeof *s->rows);
  s->nrows = n;
  uint64_t sums[12] = {0};
  static const char *const names[12] = {
      "objects",      "bytes",       "GC header bytes",       "pre-header bytes",
      "header bytes", "rounding",    "data bytes",            "owned blocks",
      "owned bytes",  "owned header bytes", "owned rounding", "owned data bytes"};
  for (uint32_t i = 0; i < n; i++) {
    const struct hs_anat_rec *r = &s->rows[i];
    const uint64_t v[12] = {r->objects,        r->bytes,          r->gc_bytes,
                            r->preheader_bytes, r->header_bytes,  r->rounding_bytes,
                            r->data_bytes,      r->owned_blocks,  r->owned_bytes,
                            r->owned_header_bytes, r->owned_rounding_bytes,
                            r->owned_data_bytes};
    for (int k = 0; k < 12; k++)
      if (check_counter(s, "anatomy row", i, names[k], v[k], &sums[k], err) != 0) return -1;
    if (s->rows[i].site >= s->nsites)
      return hsa_fail(err,
                      "%s: corrupt: anatomy row %u refers to site %u but the snapshot has %u "
                      "sites",
                      s->path, i, s->rows[i].site, s->nsites);
    if (check_type_id(s, s->rows[i].type, "anatomy row", i, err) != 0) return -1;
  }
  return 0;
}

static int read_shapes(const unsigned char *d, uint64_t size, uint64_t *off,
                       struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  uint32_t n;
  if (open_counted(d, size, off, HS_TAG_SHAP, s, &c, &n, err) != 0) return -1;
  if ((uint64_t)n * sizeof(struct hs_shape_rec) > c.end - c.pos)
    return hsa_fail(err, "%s: corrupt: section SHAP claims %u shapes but has only %llu bytes",
                    s->path, n, (unsigned long long)(c.end - c.pos));
  s->shapes = calloc(n ? n : 1, sizeof *s->shapes);
  if (!s->shapes) return hsa_fail(err, "%s: out of memory reading %u shapes", s->path, n);
  for (uint32_t i = 0; i < n; i++) {
    struct hs_shape_rec r;
    if (need(&c, sizeof r, "a shape", err) != 0) return -1;
    memcpy(&r, d + c.pos, sizeof r);
    if (r.nfields > HS_SHAPE_MAX_FIELDS)
      return hsa_fail(err, "%s: corrupt: shape %u has %u fields (at most %d are stored)",
                      s->path, i, r.nfields, HS_SHAPE_MAX_FIELDS);
    uint64_t recsize = hs_pad8(sizeof r + 8u * (uint64_t)r.nfields);
    if (need(&c, recsize, "a shape", err) != 0) return -1;
    if (r.row >= s->nrows)
      return hsa_fail(err,
                      "%s: corrupt: shape %u refers to anatomy row %u but the snapshot has %u "
                      "rows",
                      s->path, i, r.row, s->nrows);
    if (r.count > r.samples || r.length < r.nfields)
      return hsa_fail(err,
                      "%s: corrupt: shape %u is inconsistent (%u of %u samples, length %llu "
                      "with %u fields)",
                      s->path, i, r.count, r.samples, (unsigned long long)r.length, r.nfields);
    struct hsa_shape *sh = &s->shapes[i];
    sh->fields = calloc(r.nfields ? r.nfields : 1, sizeof *sh->fields);
    if (!sh->fields) return hsa_fail(err, "%s: out of memory reading shape %u", s->path, i);
    s->nshapes = i + 1;
    sh->row = r.row;
    sh->count = r.count;
    sh->samples = r.samples;
    sh->kind = r.kind;
    sh->nfields = r.nfields;
    sh->length = r.length;
    memcpy(sh->fields, d + c.pos + sizeof r, sizeof *sh->fields * r.nfields);
    for (uint32_t k = 0; k < r.nfields; k++) {
      if (sh->fields[k].name_sid >= s->nstrings)
        return hsa_fail(err,
                        "%s: corrupt: shape %u field %u refers to string %u but the snapshot "
                        "has %u strings",
                        s->path, i, k, sh->fields[k].name_sid, s->nstrings);
      if (sh->fields[k].type != HS_NO_TYPE && sh->fields[k].type >= s->ntypes)
        return hsa_fail(err,
                        "%s: corrupt: shape %u field %u refers to type %u but the snapshot "
                        "has %u types",
                        s->path, i, k, sh->fields[k].type, s->ntypes);
    }
    c.pos += recsize;
  }
  if (c.pos != c.end)
    return hsa_fail(err, "%s: corrupt: %llu unexpected bytes after the last shape in SHAP",
                    s->path, (unsigned long long)(c.end - c.pos));
  return 0;
}

/* ---- v3: PEAK, TIME, ESTM ---- */

static int read_peak(const unsigned char *d, uint64_t size, uint64_t *off,
                     struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  if (open_section(d, size, off, HS_TAG_PEAK, s->path, &c, err) != 0) return -1;
  struct hs_peak_hdr h;
  if (need(&c, sizeof h, "the PEAK header", err) != 0) return -1;
  memcpy(&h, d + c.pos, sizeof h);
  c.pos += sizeof h;
  if ((uint64_t)h.count * sizeof(struct hs_peak_rec_disk) != c.end - c.pos)
    return hsa_fail(err,
                    "%s: corrupt: section PEAK claims %u sites (%llu bytes) but holds %llu bytes",
                    s->path, h.count,
                    (unsigned long long)h.count * sizeof(struct hs_peak_rec_disk),
                    (unsigned long long)(c.end - c.pos));
  if (h.count > s->nsites)
    return hsa_fail(err,
                    "%s: corrupt: section PEAK holds %u sites but the snapshot has %u sites",
                    s->path, h.count, s->nsites);
  s->peak = calloc(h.count ? h.count : 1, sizeof *s->peak);
  if (!s->peak) return hsa_fail(err, "%s: out of memory reading the peak copy", s->path);
  memcpy(s->peak, d + c.pos, (size_t)h.count * sizeof *s->peak);
  s->npeak = h.count;
  uint64_t sums[2] = {0};
  if (check_counter(s, "PEAK", 0, "live bytes", h.live_bytes, NULL, err) != 0 ||
      check_counter(s, "PEAK", 0, "time", h.time_ns, NULL, err) != 0)
    return -1;
  for (uint32_t i = 0; i < h.count; i++)
    if (check_counter(s, "peak site", i, "live blocks", s->peak[i].live_count, &sums[0], err) ||
        check_counter(s, "peak site", i, "live bytes", s->peak[i].live_bytes, &sums[1], err))
      return -1;
  s->peak_live_bytes = h.live_bytes;
  s->peak_time_ns = h.time_ns;
  return 0;
}

static int read_timeline(const unsigned char *d, uint64_t size, uint64_t *off,
                         struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  if (open_section(d, size, off, HS_TAG_TIME, s->path, &c, err) != 0) return -1;
  struct hs_time_hdr h;
  if (need(&c, sizeof h, "the TIME header", err) != 0) return -1;
  memcpy(&h, d + c.pos, sizeof h);
  c.pos += sizeof h;
  if (h.ntop != HS_TIME_TOP_SITES)
    return hsa_fail(err,
                    "%s: corrupt: section TIME keeps %u top sites per sample, expected %d",
                    s->path, h.ntop, HS_TIME_TOP_SITES);
  if ((uint64_t)h.count * sizeof(struct hs_time_rec) != c.end - c.pos)
    return hsa_fail(err,
                    "%s: corrupt: section TIME claims %u samples (%llu bytes) but holds %llu "
                    "bytes",
                    s->path, h.count, (unsigned long long)h.count * sizeof(struct hs_time_rec),
                    (unsigned long long)(c.end - c.pos));
  s->timeline = calloc(h.count ? h.count : 1, sizeof *s->timeline);
  if (!s->timeline) return hsa_fail(err, "%s: out of memory reading the timeline", s->path);
  memcpy(s->timeline, d + c.pos, (size_t)h.count * sizeof *s->timeline);
  s->ntime = h.count;
  s->time_interval_ns = h.interval_ns;
  if (check_counter(s, "TIME", 0, "interval", h.interval_ns, NULL, err) != 0) return -1;
  for (uint32_t i = 0; i < h.count; i++) {
    const struct hs_time_rec *t = &s->timeline[i];
    uint64_t top_sum = 0;
    if (check_counter(s, "timeline sample", i, "time", t->t_ns, NULL, err) ||
        check_counter(s, "timeline sample", i, "live bytes", t->live_bytes, NULL, err) ||
        check_counter(s, "timeline sample", i, "live blocks", t->live_count, NULL, err))
      return -1;
    for (int k = 0; k < HS_TIME_TOP_SITES; k++)
      if (check_counter(s, "timeline sample", i, "top-site bytes", t->top[k].bytes, &top_sum,
                        err))
        return -1;
    if (i > 0 && t->t_ns < s->timeline[i - 1].t_ns)
      return hsa_fail(err,
                      "%s: corrupt: timeline sample %u (at %llu ns) is earlier than sample %u "
                      "(at %llu ns)",
                      s->path, i, (unsigned long long)t->t_ns, i - 1,
                      (unsigned long long)s->timeline[i - 1].t_ns);
    for (int k = 0; k < HS_TIME_TOP_SITES; k++) {
      if (t->top[k].bytes && t->top[k].site >= s->nsites)
        return hsa_fail(err,
                        "%s: corrupt: timeline sample %u refers to site %u but the snapshot "
                        "has %u sites",
                        s->path, i, t->top[k].site, s->nsites);
    }
  }
  return 0;
}

static int read_estimates(const unsigned char *d, uint64_t size, uint64_t *off,
                          struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  uint32_t n;
  if (open_counted(d, size, off, HS_TAG_ESTM, s, &c, &n, err) != 0) return -1;
  if ((uint64_t)n * sizeof(struct hs_estm_rec) != c.end - c.pos)
    return hsa_fail(err,
                    "%s: corrupt: section ESTM claims %u estimates (%llu bytes) but holds %llu "
                    "bytes",
                    s->path, n, (unsigned long long)n * sizeof(struct hs_estm_rec),
                    (unsigned long long)(c.end - c.pos));
  if (s->meta.sample_rate == 0 && n != 0)
    return hsa_fail(err,
                    "%s: corrupt: section ESTM holds %u estimates but the snapshot is not "
                    "sampled (META sample rate 0)",
                    s->path, n);
  if (s->meta.sample_rate != 0 && n != s->nsites)
    return hsa_fail(err,
                    "%s: corrupt: section ESTM holds %u estimates but the snapshot has %u sites "
                    "(a sampled snapshot has one per site)",
                    s->path, n, s->nsites);
  s->estimates = calloc(n ? n : 1, sizeof *s->estimates);
  if (!s->estimates) return hsa_fail(err, "%s: out of memory reading the estimates", s->path);
  memcpy(s->estimates, d + c.pos, (size_t)n * sizeof *s->estimates);
  s->nestimates = n;
  double sums[4] = {0, 0, 0, 0};
  for (uint32_t i = 0; i < n; i++) {
    struct hs_estm_rec *e = &s->estimates[i];
    double *v[4] = {&e->live_bytes, &e->live_count, &e->live_bytes_var, &e->alloc_bytes};
    for (int k = 0; k < 4; k++) {
      /* NaN fails both comparisons */
      if (!(*v[k] > -1e300 && *v[k] < 1e300))
        return hsa_fail(err, "%s: corrupt: estimate %d of site %u is not a finite number",
                        s->path, k, i);
      /* The shim keeps running sums (added on allocation, subtracted on free): when
       * everything is freed they may end a rounding error below zero. */
      if (*v[k] < 0) *v[k] = 0;
      /* the variance may be large; the estimates are counters like the others */
      if (k != 2 && (sums[k] += *v[k]) > (double)HSA_COUNTER_MAX)
        return hsa_fail(err,
                        "%s: corrupt: the estimates %d of all sites add up to more than 2^60 "
                        "(at site %u); the file is damaged",
                        s->path, k, i);
    }
  }
  return 0;
}

/* ---- v4: MODS ---- */

static int read_modules(const unsigned char *d, uint64_t size, uint64_t *off,
                        struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  uint32_t n;
  if (open_counted(d, size, off, HS_TAG_MODS, s, &c, &n, err) != 0) return -1;
  if ((uint64_t)n * sizeof(struct hs_module_rec) != c.end - c.pos)
    return hsa_fail(err,
                    "%s: corrupt: section MODS claims %u modules (%llu bytes) but holds %llu "
                    "bytes",
                    s->path, n, (unsigned long long)n * sizeof(struct hs_module_rec),
                    (unsigned long long)(c.end - c.pos));
  s->modules = calloc(n ? n : 1, sizeof *s->modules);
  if (!s->modules) return hsa_fail(err, "%s: out of memory reading %u modules", s->path, n);
  memcpy(s->modules, d + c.pos, (size_t)n * sizeof *s->modules);
  s->nmodules = n;
  for (uint32_t i = 0; i < n; i++) {
    const struct hs_module_rec *m = &s->modules[i];
    if (check_sid(s, m->path_sid, "module", i, err) != 0) return -1;
    if (check_sid(s, m->build_id_sid, "module", i, err) != 0) return -1;
    if (!hsa_build_id_valid(s->strings[m->build_id_sid], s->string_lens[m->build_id_sid]))
      return hsa_fail(err,
                      "%s: corrupt: module %u (%s) has build-id \"%s\", which is not an "
                      "even-length lowercase hex string",
                      s->path, i, s->strings[m->path_sid], s->strings[m->build_id_sid]);
  }
  return 0;
}

/* ---- v5: ELEM ---- */

static int read_elems(const unsigned char *d, uint64_t size, uint64_t *off,
                      struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  uint32_t n;
  if (open_counted(d, size, off, HS_TAG_ELEM, s, &c, &n, err) != 0) return -1;
  for (uint32_t i = 0; i < n; i++) {
    struct hs_elem_rec r;
    if (need(&c, sizeof r, "a container record", err) != 0) return -1;
    memcpy(&r, d + c.pos, sizeof r);
    if (r.shape >= s->nshapes)
      return hsa_fail(err,
                      "%s: corrupt: ELEM record %u refers to shape %u but the snapshot has %u "
                      "shapes",
                      s->path, i, r.shape, s->nshapes);
    struct hsa_shape *sh = &s->shapes[r.shape];
    if (r.nfields != sh->nfields || sh->has_elem)
      return hsa_fail(err,
                      "%s: corrupt: ELEM record %u does not match shape %u (%u fields, shape has "
                      "%u%s)",
                      s->path, i, r.shape, r.nfields, sh->nfields,
                      sh->has_elem ? ", and a record already" : "");
    uint64_t recsize = hs_pad8(sizeof r + 4u * (uint64_t)r.nfields);
    if (need(&c, recsize, "a container record", err) != 0) return -1;
    sh->maxlen = calloc(r.nfields ? r.nfields : 1, sizeof *sh->maxlen);
    if (!sh->maxlen) return hsa_fail(err, "%s: out of memory reading ELEM", s->path);
    memcpy(sh->maxlen, d + c.pos + sizeof r, 4u * (size_t)r.nfields);
    if (r.items_site != 0xFFFFFFFFu && r.items_site >= s->nsites)
      return hsa_fail(err,
                      "%s: corrupt: ELEM record %u refers to site %u but the snapshot has %u "
                      "sites",
                      s->path, i, r.items_site, s->nsites);
    sh->elem = r;
    sh->has_elem = 1;
    c.pos += recsize;
  }
  if (c.pos != c.end)
    return hsa_fail(err, "%s: corrupt: %llu unexpected bytes after the last record in ELEM",
                    s->path, (unsigned long long)(c.end - c.pos));
  return 0;
}

/* ---- v6: PART ---- */

static int read_part(const unsigned char *d, uint64_t size, uint64_t *off,
                     struct hsa_snapshot *s, struct hsa_error *err) {
  struct cursor c;
  if (open_section(d, size, off, HS_TAG_PART, s->path, &c, err) != 0) return -1;
  struct hs_part_hdr h;
  if (need(&c, sizeof h, "the PART header", err) != 0) return -1;
  memcpy(&h, d + c.pos, sizeof h);
  c.pos += sizeof h;
  if (h.kind != HS_PART_FULL && h.kind != HS_PART_SINCE && h.kind != HS_PART_AT_MARK)
    return hsa_fail(err,
                    "%s: corrupt: section PART has kind %u (0 full, 1 since a mark, 2 at a "
                    "mark); the file is damaged or newer than this heapshape",
                    s->path, h.kind);
  if ((uint64_t)h.count * 4 != c.end - c.pos)
    return hsa_fail(err,
                    "%s: corrupt: section PART claims %u site ids (%llu bytes) but holds %llu "
                    "bytes",
                    s->path, h.count, (unsigned long long)h.count * 4,
                    (unsigned long long)(c.end - c.pos));
  if (h.kind == HS_PART_FULL) {
    if (h.count != 0 || h.mark != 0 || h.process_sites != s->nsites)
      return hsa_fail(err,
                      "%s: corrupt: section PART says a full snapshot of %u sites with %u site "
                      "ids and mark %u, but SITE holds %u sites",
                      s->path, h.process_sites, h.count, h.mark, s->nsites);
    s->part = h;
    return 0;
  }
  if (h.count != s->nsites || h.mark == 0 || h.process_sites < s->nsites)
    return hsa_fail(err,
                    "%s: corrupt: section PART says a partial snapshot (kind %u, mark %u) of %u "
                    "sites out of the process's %u, but SITE holds %u sites",
                    s->path, h.kind, h.mark, h.count, h.process_sites, s->nsites);
  if (check_counter(s, "PART", 0, "mark time", h.mark_time_ns, NULL, err) != 0) return -1;
  s->part_site_ids = calloc(h.count ? h.count : 1, sizeof *s->part_site_ids);
  if (!s->part_site_ids) return hsa_fail(err, "%s: out of memory reading PART", s->path);
  memcpy(s->part_site_ids, d + c.pos, 4u * (size_t)h.count);
  for (uint32_t i = 0; i < h.count; i++) {
    uint32_t id = s->part_site_ids[i];
    if (id >= h.process_sites || (i > 0 && id <= s->part_site_ids[i - 1]))
      return hsa_fail(err,
                      "%s: corrupt: PART gives site %u the process site id %u, which is %s",
                      s->path, i, id,
                      id >= h.process_sites ? "beyond the process's site count"
                                            : "not above the previous site's");
  }
  s->part = h;
  return 0;
}

/* The CRC check, done up front when the file ends in something that looks like END. Returns 1
 * if it checked (and matched), 0 if there is no END at the tail, -1 on mismatch. */
static int check_tail_crc(const unsigned char *d, uint64_t size, const char *name,
                          struct hsa_error *err) {
  const uint64_t tail = sizeof(struct hs_section_header) + sizeof(struct hs_end_rec);
  if (size < sizeof(struct hs_file_header) + tail) return 0;
  struct hs_section_header h;
  memcpy(&h, d + size - tail, sizeof h);
  if (h.tag != HS_TAG_END || h.length != sizeof(struct hs_end_rec)) return 0;
  struct hs_end_rec e;
  memcpy(&e, d + size - sizeof e, sizeof e);
  uint32_t crc = hs_crc32(0, d, (size_t)(size - tail));
  if (crc != e.crc32)
    return hsa_fail(err,
                    "%s: corrupt: CRC mismatch (stored 0x%08x, computed 0x%08x over %llu bytes); "
                    "the file was damaged after it was written",
                    name, e.crc32, crc, (unsigned long long)(size - tail));
  return 1;
}

static int read_header(const unsigned char *d, uint64_t size, struct hsa_snapshot *s,
                       struct hsa_error *err) {
  const char *name = s->path;
  uint64_t m = size < HS_MAGIC_LEN ? size : HS_MAGIC_LEN;
  if (size == 0 || memcmp(d, HS_MAGIC, (size_t)m) != 0)
    return hsa_fail(err,
                    "%s: not a heapshape snapshot (%s); expected a .hsnap file written by "
                    "heapshape run",
                    name, size == 0 ? "the file is empty" : "bad magic bytes");
  if (size < sizeof(struct hs_file_header))
    return hsa_fail(err,
                    "%s: truncated: the file header ends at byte %zu but the file has %llu bytes",
                    name, sizeof(struct hs_file_header), (unsigned long long)size);
  struct hs_file_header h;
  memcpy(&h, d, sizeof h);
  if (h.bom == 0x04030201u)
    return hsa_fail(err,
                    "%s: the snapshot is big-endian (byte-order mark 0x04030201); this heapshape "
                    "reads little-endian snapshots only",
                    name);
  if (h.bom != HS_BOM)
    return hsa_fail(err, "%s: corrupt: bad byte-order mark 0x%08x (expected 0x%08x)", name,
                    h.bom, HS_BOM);
  if (h.version < HS_FORMAT_MIN_READ || h.version > HS_FORMAT_MAX_READ)
    return hsa_fail(err,
                    "%s: snapshot format version %u; this heapshape reads versions %u to %u "
                    "(use a heapshape that matches the one that wrote the file)",
                    name, h.version, HS_FORMAT_MIN_READ, HS_FORMAT_MAX_READ);
  if (h.header_size != sizeof(struct hs_file_header))
    return hsa_fail(err, "%s: corrupt: header size %u, expected %zu", name, h.header_size,
                    sizeof(struct hs_file_header));
  s->version = h.version;
  return 0;
}

int hsa_snapshot_read_buffer(const void *data, size_t len, const char *name,
                             struct hsa_snapshot *out, struct hsa_error *err) {
  const unsigned char *d = data;
  uint64_t size = len;
  hsa_snapshot_init(out);
  out->path = strdup(name ? name : "<buffer>");
  if (!out->path) return hsa_fail(err, "%s: out of memory", name);
  if (read_header(d, size, out, err) != 0) goto fail;
  if (check_tail_crc(d, size, out->path, err) < 0) goto fail;
  uint64_t off = sizeof(struct hs_file_header);
  if (read_meta(d, size, &off, out, err) != 0) goto fail;
  if (read_strings(d, size, &off, out, err) != 0) goto fail;
  if (read_frames(d, size, &off, out, err) != 0) goto fail;
  if (read_sites(d, size, &off, out, err) != 0) goto fail;
  if (check_sid(out, out->meta.program_sid, "META program name", 0, err) != 0) goto fail;
  if (check_sid(out, out->meta.cmdline_sid, "META command line", 0, err) != 0) goto fail;
  if (out->version >= 2) {
    if (read_types(d, size, &off, out, err) != 0) goto fail;
    if (read_rows(d, size, &off, out, err) != 0) goto fail;
    if (read_shapes(d, size, &off, out, err) != 0) goto fail;
  }
  if (out->version >= 3) {
    if (read_peak(d, size, &off, out, err) != 0) goto fail;
    if (read_timeline(d, size, &off, out, err) != 0) goto fail;
    if (read_estimates(d, size, &off, out, err) != 0) goto fail;
  }
  if (out->version >= 4) {
    if (read_modules(d, size, &off, out, err) != 0) goto fail;
  }
  if (out->version >= 5) {
    if (read_elems(d, size, &off, out, err) != 0) goto fail;
  }
  if (out->version >= 6) {
    if (read_part(d, size, &off, out, err) != 0) goto fail;
  } else {
    out->part.process_sites = out->nsites; /* v1-v5: every site of the process */
  }
  uint64_t end_at = off;
  struct cursor c;
  if (open_section(d, size, &off, HS_TAG_END, out->path, &c, err) != 0) goto fail;
  if (c.end - c.pos != sizeof(struct hs_end_rec)) {
    hsa_fail(err, "%s: corrupt: section END is %llu bytes long, expected %zu", out->path,
             (unsigned long long)(c.end - c.pos), sizeof(struct hs_end_rec));
    goto fail;
  }
  if (off != size) {
    hsa_fail(err, "%s: corrupt: %llu unexpected bytes after the END section (at byte %llu)",
             out->path, (unsigned long long)(size - off), (unsigned long long)off);
    goto fail;
  }
  /* The tail check above has already verified the CRC (END is the tail); repeat it in case
   * the layout walk found END elsewhere, which off == size rules out, so this is cheap. */
  struct hs_end_rec e;
  memcpy(&e, d + c.pos, sizeof e);
  if (hs_crc32(0, d, (size_t)end_at) != e.crc32) {
    hsa_fail(err, "%s: corrupt: CRC mismatch; the file was damaged after it was written",
             out->path);
    goto fail;
  }
  return 0;
fail:
  hsa_snapshot_free(out);
  return -1;
}

int hsa_snapshot_read_file(const char *path, struct hsa_snapshot *out, struct hsa_error *err) {
  hsa_snapshot_init(out);
  FILE *f = fopen(path, "rb");
  if (!f) return hsa_fail(err, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    int e = errno;
    fclose(f);
    return hsa_fail(err, "%s: cannot stat: %s", path, strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    fclose(f);
    return hsa_fail(err, "%s: is a directory, not a snapshot file", path);
  }
  size_t size = (size_t)st.st_size;
  unsigned char *buf = malloc(size ? size : 1);
  if (!buf) {
    fclose(f);
    return hsa_fail(err, "%s: out of memory reading %zu bytes", path, size);
  }
  size_t got = size ? fread(buf, 1, size, f) : 0;
  int rerr = ferror(f);
  fclose(f);
  if (rerr || got != size) {
    free(buf);
    return hsa_fail(err, "%s: read error (got %zu of %zu bytes)", path, got, size);
  }
  int rc = hsa_snapshot_read_buffer(buf, size, path, out, err);
  free(buf);
  return rc;
}
