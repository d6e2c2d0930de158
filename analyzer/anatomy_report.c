/* heapshape analyzer: object anatomy table, shape text and the size model (see anatomy_report.h). */
#include "analyzer/anatomy_report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/report.h"

/* Owned strings of a struct hsa_anatomy (native frame names in "+0x" form). */
struct anat_priv {
  char **strs;
  size_t n, cap;
};

static const char *priv_strdup(struct anat_priv *p, const char *s) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 16;
    char **v = realloc(p->strs, cap * sizeof *v);
    if (!v) return NULL;
    p->strs = v;
    p->cap = cap;
  }
  char *c = strdup(s);
  if (c) p->strs[p->n++] = c;
  return c;
}

static int no_anatomy(const struct hsa_snapshot *s, const char *what, struct hsa_error *err) {
  return hsa_fail(err, "%s: %s needs object anatomy, which this snapshot does not have: %s",
                  s->path ? s->path : "snapshot", what, hsa_snapshot_no_anatomy_reason(s));
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

static int cmp_row_desc(const void *pa, const void *pb) {
  const struct hsa_anat_row *a = pa, *b = pb;
  int c = cmp_u64(b->total, a->total);
  if (!c) c = cmp_u64(b->objects, a->objects);
  if (!c) c = strcmp(a->frame.filename, b->frame.filename);
  if (!c) c = a->frame.lineno < b->frame.lineno ? -1 : a->frame.lineno > b->frame.lineno;
  if (!c) c = strcmp(a->type, b->type);
  if (!c) c = a->row < b->row ? -1 : a->row > b->row;
  return c;
}

static int cmp_shape_desc(const void *pa, const void *pb) {
  const struct hsa_shape *a = *(const struct hsa_shape *const *)pa;
  const struct hsa_shape *b = *(const struct hsa_shape *const *)pb;
  if (a->count != b->count) return a->count > b->count ? -1 : 1;
  return a < b ? -1 : a > b; /* file order */
}

void hsa_anatomy_free(struct hsa_anatomy *a) {
  if (!a) return;
  for (size_t i = 0; i < a->n; i++) free(a->rows[i].shapes);
  free(a->rows);
  struct anat_priv *p = a->priv;
  if (p) {
    for (size_t i = 0; i < p->n; i++) free(p->strs[i]);
    free(p->strs);
    free(p);
  }
  memset(a, 0, sizeof *a);
}

int hsa_anatomy_compute(const struct hsa_snapshot *s, const struct hsa_options *opt,
                        struct hsa_symbolizer *sym, struct hsa_anatomy *out,
                        struct hsa_error *err) {
  memset(out, 0, sizeof *out);
  if (!hsa_snapshot_has_anatomy(s)) return no_anatomy(s, "heapshape anatomy", err);
  const char *name = s->path ? s->path : "snapshot";
  struct anat_priv *p = calloc(1, sizeof *p);
  out->priv = p;
  /* per site: passes the filters (1), fails (2); innermost frame resolved lazily */
  uint8_t *pass = calloc(s->nsites ? s->nsites : 1, 1);
  struct hsa_frame_text *sf = calloc(s->nsites ? s->nsites : 1, sizeof *sf);
  uint32_t *slot = malloc(sizeof *slot * (s->nrows ? s->nrows : 1));
  out->rows = calloc(s->nrows ? s->nrows : 1, sizeof *out->rows);
  if (!p || !pass || !sf || !slot || !out->rows) goto oom;
  out->python_version = s->meta.python_version;
  out->anatomy_ms = s->meta.anatomy_us / 1000.0;
  for (uint32_t r = 0; r < s->nrows; r++) /* sites with rows (3): their frames are needed */
    if (s->rows[r].site < s->nsites) pass[s->rows[r].site] = 3;
  for (uint32_t i = 0; i < s->nsites; i++) {
    const struct hsa_site *site = &s->sites[i];
    char buf[4200];
    /* a site with nothing live counts for nothing: its frame is not symbolized */
    if (!site->live_count && !site->live_bytes && pass[i] != 3) {
      pass[i] = 2;
      continue;
    }
    hsa_frame_resolve(s, hsa_site_key_frame(s, site), sym, HSA_KEY_LINENO, &sf[i], buf,
                      sizeof buf);
    if (sf[i].filename == buf && !(sf[i].filename = priv_strdup(p, buf))) goto oom;
    pass[i] = hsa_site_passes(site, &sf[i], opt) ? 1 : 2;
    if (pass[i] != 1) continue;
    out->live_bytes += site->live_bytes;
    if (site->domain == HS_DOMAIN_OBJ) out->obj_bytes += site->live_bytes;
  }
  for (uint32_t i = 0; i < s->nrows; i++) {
    const struct hs_anat_rec *r = &s->rows[i];
    slot[i] = UINT32_MAX;
    if (pass[r->site] != 1) continue;
    const struct hsa_site *site = &s->sites[r->site];
    if (r->type == HS_NO_TYPE && site->domain == HS_DOMAIN_OBJ) out->untyped_obj_bytes += r->bytes;
    struct hsa_anat_row *o = &out->rows[out->n];
    slot[i] = (uint32_t)out->n++;
    o->row = i;
    o->frame = sf[r->site];
    o->type = hsa_snapshot_type_name(s, r->type);
    o->domain = site->domain;
    o->objects = r->objects;
    o->bytes = r->bytes;
    o->owned_blocks = r->owned_blocks;
    o->owned_bytes = r->owned_bytes;
    o->total = r->bytes + r->owned_bytes;
    o->gc = r->gc_bytes;
    o->preheader = r->preheader_bytes;
    o->header = r->header_bytes;
    o->owned_header = r->owned_header_bytes;
    o->rounding = r->rounding_bytes + r->owned_rounding_bytes;
    o->data = r->data_bytes + r->owned_data_bytes;
    /* a block without an object header (numpy data, array.array storage, C buffers) is all
     * data (the shim writes 0 data bytes for them: docs/snapshot-format.md, ANAT) */
    if (r->type == HS_NO_TYPE) o->data = o->total;
    /* data can exceed total only in a damaged file; never print a negative overhead */
    o->overhead = o->total > o->data ? o->total - o->data : 0;
    o->overhead_share = o->total ? (double)o->overhead / (double)o->total : 0.0;
    out->anatomy_bytes += o->total;
    if (r->type != HS_NO_TYPE) {
      out->typed_bytes += o->total;
      out->typed_data += o->data < o->total ? o->data : o->total;
    }
  }
  /* shapes, per row */
  for (uint32_t k = 0; k < s->nshapes; k++) {
    uint32_t at = slot[s->shapes[k].row];
    if (at != UINT32_MAX) out->rows[at].nshapes++;
  }
  for (size_t i = 0; i < out->n; i++) {
    if (!out->rows[i].nshapes) continue;
    out->rows[i].shapes = calloc(out->rows[i].nshapes, sizeof *out->rows[i].shapes);
    if (!out->rows[i].shapes) goto oom;
    out->rows[i].nshapes = 0;
  }
  for (uint32_t k = 0; k < s->nshapes; k++) {
    uint32_t at = slot[s->shapes[k].row];
    if (at == UINT32_MAX) continue;
    struct hsa_anat_row *o = &out->rows[at];
    o->shapes[o->nshapes++] = &s->shapes[k];
  }
  for (size_t i = 0; i < out->n; i++)
    if (out->rows[i].nshapes > 1)
      qsort(out->rows[i].shapes, out->rows[i].nshapes, sizeof *out->rows[i].shapes,
            cmp_shape_desc);
  qsort(out->rows, out->n, sizeof *out->rows, cmp_row_desc);
  out->typed_obj_share =
      out->obj_bytes ? 1.0 - (double)(out->untyped_obj_bytes < out->obj_bytes
                                          ? out->untyped_obj_bytes : out->obj_bytes) /
                                 (double)out->obj_bytes
                     : 1.0;
  out->overhead_share =
      out->typed_bytes ? (double)(out->typed_bytes - out->typed_data) / (double)out->typed_bytes
                       : 0.0;
  free(pass);
  free(sf);
  free(slot);
  return 0;
oom:
  free(pass);
  free(sf);
  free(slot);
  hsa_anatomy_free(out);
  return hsa_fail(err, "%s: out of memory building the anatomy table", name);
}

/* ---- shapes ---- */

const char *hsa_shape_kind_name(unsigned kind) {
  switch (kind) {
    case HS_SHAPE_DICT: return "dict";
    case HS_SHAPE_INSTANCE_DICT: return "instance";
    case HS_SHAPE_INSTANCE_SLOTS: return "slots";
    case HS_SHAPE_TUPLE: return "tuple";
    case HS_SHAPE_LIST: return "list";
    default: return "kind-?";
  }
}

struct sbuf {
  char *p;
  size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...) {
  if (b->len + 1 >= b->cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (n > 0) b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

void hsa_shape_format(const struct hsa_snapshot *s, const char *type_name,
                      const struct hsa_shape *sh, char *out, size_t outlen) {
  if (!outlen) return;
  char tmp[16384];
  struct sbuf b = {tmp, 0, sizeof tmp};
  tmp[0] = '\0';
  const char *open = "{", *close = "}";
  int named = 1;
  switch (sh->kind) {
    case HS_SHAPE_DICT:
    case HS_SHAPE_INSTANCE_DICT: break;
    case HS_SHAPE_INSTANCE_SLOTS: open = "(slots){"; break;
    case HS_SHAPE_TUPLE: open = "("; close = ")"; named = 0; break;
    case HS_SHAPE_LIST: open = "["; close = "]"; named = 0; break;
    default: break; /* a kind newer than this reader: show the fields as stored */
  }
  sb_add(&b, "%s%s", type_name, open);
  for (uint16_t k = 0; k < sh->nfields; k++) {
    const struct hsa_shape_field *f = &sh->fields[k];
    const char *ty = f->type == HS_NO_TYPE ? "?" : hsa_snapshot_type_name(s, f->type);
    if (named) sb_add(&b, "%s%s: %s", k ? ", " : "", hsa_snapshot_string(s, f->name_sid), ty);
    else sb_add(&b, "%s%s", k ? ", " : "", ty);
  }
  if (sh->length > sh->nfields) sb_add(&b, "%s...", sh->nfields ? ", " : "");
  sb_add(&b, "%s", close);
  if (b.len < outlen) {
    memcpy(out, tmp, b.len + 1);
  } else if (outlen > 4) {
    memcpy(out, tmp, outlen - 4);
    memcpy(out + outlen - 4, "...", 4);
  } else {
    out[0] = '\0';
  }
}

/* ---- reports ---- */

static void size_text(uint64_t v, char *out, size_t outlen) { hsa_format_size((double)v, 0, out, outlen); }

int hsa_anatomy_report_text(FILE *f, const struct hsa_snapshot *s, const struct hsa_anatomy *a,
                            size_t limit) {
  size_t n = limit && limit < a->n ? limit : a->n;
  char t1[32], t2[32], t3[32], t4[32], shape[80];
  for (size_t i = 0; i < n; i++) {
    const struct hsa_anat_row *r = &a->rows[i];
    size_text(r->total, t1, sizeof t1);
    fprintf(f, "%s:%d", r->frame.filename, r->frame.lineno);
    if (r->frame.name[0]) fprintf(f, " (%s)", r->frame.name);
    fprintf(f, ": %s: objects=%" PRIu64 ", total=%s", r->type, r->objects, t1);
    if (r->objects) {
      hsa_format_size((double)r->total / (double)r->objects, 0, t1, sizeof t1);
      fprintf(f, ", average=%s", t1);
    }
    fputc('\n', f);
    size_text(r->gc, t1, sizeof t1);
    size_text(r->preheader, t2, sizeof t2);
    size_text(r->header, t3, sizeof t3);
    size_text(r->owned_bytes, t4, sizeof t4);
    fprintf(f, "    gc header=%s, pre-header=%s, object header=%s, owned=%s\n", t1, t2, t3, t4);
    size_text(r->data, t1, sizeof t1);
    size_text(r->overhead, t2, sizeof t2);
    size_text(r->rounding, t3, sizeof t3);
    fprintf(f, "    data=%s, headers & pointers=%s (%.1f%%), rounding=+%s\n", t1, t2,
            100.0 * r->overhead_share, t3);
    if (r->nshapes) {
      const struct hsa_shape *sh = r->shapes[0];
      hsa_shape_format(s, r->type, sh, shape, sizeof shape);
      fprintf(f, "    shape: %s (%u/%u)", shape, sh->count, sh->samples);
      if (r->nshapes > 1)
        fprintf(f, ", +%zu other shape%s", r->nshapes - 1, r->nshapes > 2 ? "s" : "");
      fputc('\n', f);
    }
  }
  size_text(a->live_bytes, t1, sizeof t1);
  size_text(a->typed_bytes, t2, sizeof t2);
  hsa_python_version(a->python_version, t3, sizeof t3);
  fprintf(f, "total: live=%s, typed=%.1f%% of OBJ bytes, headers & pointers=%.1f%% of %s typed\n",
          t1, 100.0 * a->typed_obj_share, 100.0 * a->overhead_share, t2);
  fprintf(f, "anatomy pass: %.1f ms (python %s)\n", a->anatomy_ms, t3);
  return ferror(f) ? -1 : 0;
}

int hsa_anatomy_report_json(FILE *f, const struct hsa_snapshot *s, const struct hsa_anatomy *a,
                            size_t limit) {
  size_t n = limit && limit < a->n ? limit : a->n;
  char text[16384], py[32];
  fputs("{\"rows\":[", f);
  for (size_t i = 0; i < n; i++) {
    const struct hsa_anat_row *r = &a->rows[i];
    fputs(i ? ",{\"filename\":" : "{\"filename\":", f);
    hsa_json_string(f, r->frame.filename);
    fprintf(f, ",\"lineno\":%d,\"function\":", r->frame.lineno);
    hsa_json_string(f, r->frame.name);
    fputs(",\"type\":", f);
    hsa_json_string(f, r->type);
    fprintf(f,
            ",\"domain\":\"%s\",\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64
            ",\"owned_blocks\":%" PRIu64 ",\"owned_bytes\":%" PRIu64 ",\"total_bytes\":%" PRIu64
            ",\"gc_header\":%" PRIu64 ",\"preheader\":%" PRIu64 ",\"object_header\":%" PRIu64
            ",\"owned_header\":%" PRIu64 ",\"rounding\":%" PRIu64 ",\"data\":%" PRIu64
            ",\"overhead\":%" PRIu64 ",\"overhead_share\":%.6f,\"shapes\":[",
            hsa_domain_name(r->domain), r->objects, r->bytes, r->owned_blocks, r->owned_bytes,
            r->total, r->gc, r->preheader, r->header, r->owned_header, r->rounding, r->data,
            r->overhead, r->overhead_share);
    for (size_t k = 0; k < r->nshapes; k++) {
      const struct hsa_shape *sh = r->shapes[k];
      hsa_shape_format(s, r->type, sh, text, sizeof text);
      fprintf(f, "%s{\"kind\":\"%s\",\"kind_id\":%u,\"text\":", k ? "," : "",
              hsa_shape_kind_name(sh->kind), sh->kind);
      hsa_json_string(f, text);
      fprintf(f, ",\"count\":%u,\"samples\":%u,\"length\":%" PRIu64 ",\"fields\":[", sh->count,
              sh->samples, sh->length);
      for (uint16_t j = 0; j < sh->nfields; j++) {
        fputs(j ? ",{\"name\":" : "{\"name\":", f);
        hsa_json_string(f, hsa_snapshot_string(s, sh->fields[j].name_sid));
        fputs(",\"type\":", f);
        hsa_json_string(f, sh->fields[j].type == HS_NO_TYPE
                               ? "?" : hsa_snapshot_type_name(s, sh->fields[j].type));
        fputc('}', f);
      }
      fputs("]}", f);
    }
    fputs("]}", f);
  }
  hsa_python_version(a->python_version, py, sizeof py);
  fputs("],\"python_version\":", f);
  hsa_json_string(f, py);
  fprintf(f,
          ",\"anatomy_ms\":%.3f,\"live_bytes\":%" PRIu64 ",\"anatomy_bytes\":%" PRIu64
          ",\"typed_bytes\":%" PRIu64 ",\"obj_bytes\":%" PRIu64 ",\"untyped_obj_bytes\":%" PRIu64
          ",\"typed_obj_share\":%.6f,\"overhead_share\":%.6f,\"total_rows\":%zu}\n",
          a->anatomy_ms, a->live_bytes, a->anatomy_bytes, a->typed_bytes, a->obj_bytes,
          a->untyped_obj_bytes, a->typed_obj_share, a->overhead_share, a->n);
  return ferror(f) ? -1 : 0;
}

/* ---- size model ---- */

static const struct hs_type_rec *need_type(const struct hsa_snapshot *s, const char *name,
                                           struct hsa_size *out) {
  uint32_t t = hsa_snapshot_find_type(s, name);
  if (t != HS_NO_TYPE) return &s->types[t];
  out->bytes = -1;
  snprintf(out->formula, sizeof out->formula, "type %s is not in the snapshot", name);
  return NULL;
}

/* int.__sizeof__ of a value of bitlen significant bits (0 for zero). */
static void int_size(const struct hsa_snapshot *s, unsigned bitlen, struct hsa_size *out) {
  const struct hs_type_rec *t = need_type(s, "int", out);
  if (!t) return;
  unsigned bits = t->itemsize == 4 ? 30 : t->itemsize == 2 ? 15 : 0;
  if (!bits) {
    out->bytes = -1;
    snprintf(out->formula, sizeof out->formula, "unexpected int digit size %" PRId64,
             t->itemsize);
    return;
  }
  int64_t digits = (bitlen + bits - 1) / bits;
  /* 3.11+: max(|ob_size|, 1) digits (anatomy_report.h) */
  if (digits == 0 && s->meta.python_version >= 0x030b0000u) digits = 1;
  out->bytes = t->basicsize + digits * t->itemsize;
  snprintf(out->formula, sizeof out->formula, "int %" PRId64 " + %" PRId64 " x %" PRId64,
           t->basicsize, digits, t->itemsize);
}

static void gc_size(const struct hsa_snapshot *s, const char *name, int64_t items,
                    struct hsa_size *out) {
  const struct hs_type_rec *t = need_type(s, name, out);
  if (!t) return;
  out->bytes = s->meta.gc_head_size + t->basicsize + items * t->itemsize;
  snprintf(out->formula, sizeof out->formula,
           "gc head %u + %s %" PRId64 " + %" PRId64 " x %" PRId64, s->meta.gc_head_size, name,
           t->basicsize, items, t->itemsize);
}

static void ascii_size(const struct hsa_snapshot *s, int64_t len, struct hsa_size *out) {
  out->bytes = s->meta.str_ascii_size + len + 1;
  snprintf(out->formula, sizeof out->formula, "ascii header %u + %" PRId64 " + 1",
           s->meta.str_ascii_size, len);
}

int hsa_size_model(const struct hsa_snapshot *s, struct hsa_size out[HSA_NSIZES],
                   struct hsa_error *err) {
  if (!hsa_snapshot_has_anatomy(s)) return no_anatomy(s, "heapshape sizes", err);
  static const char *const exprs[HSA_NSIZES] = {"0",    "2**30", "2**60", "1.0", "True", "False",
                                                "''",   "'hello'", "()",  "[]",  "{}"};
  for (int i = 0; i < HSA_NSIZES; i++) {
    memset(&out[i], 0, sizeof out[i]);
    out[i].expr = exprs[i];
  }
  int_size(s, 0, &out[0]);
  int_size(s, 31, &out[1]);
  int_size(s, 61, &out[2]);
  const struct hs_type_rec *ft = need_type(s, "float", &out[3]);
  if (ft) {
    out[3].bytes = ft->basicsize;
    snprintf(out[3].formula, sizeof out[3].formula, "float %" PRId64, ft->basicsize);
  }
  int_size(s, 1, &out[4]);
  int_size(s, 0, &out[5]);
  ascii_size(s, 0, &out[6]);
  ascii_size(s, 5, &out[7]);
  gc_size(s, "tuple", 0, &out[8]);
  gc_size(s, "list", 0, &out[9]);
  gc_size(s, "dict", 0, &out[10]);
  return 0;
}

int hsa_sizes_report(FILE *f, const struct hsa_snapshot *s, const struct hsa_size *sizes,
                     int json) {
  char py[32];
  hsa_python_version(s->meta.python_version, py, sizeof py);
  if (json) {
    fputs("{\"python_version\":", f);
    hsa_json_string(f, py);
    fputs(",\"sizes\":[", f);
    for (int i = 0; i < HSA_NSIZES; i++) {
      fputs(i ? ",{\"expr\":" : "{\"expr\":", f);
      hsa_json_string(f, sizes[i].expr);
      if (sizes[i].bytes >= 0) fprintf(f, ",\"bytes\":%" PRId64 ",\"formula\":", sizes[i].bytes);
      else fputs(",\"bytes\":null,\"formula\":", f);
      hsa_json_string(f, sizes[i].formula);
      fputc('}', f);
    }
    fputs("]}\n", f);
  } else {
    for (int i = 0; i < HSA_NSIZES; i++) {
      if (sizes[i].bytes >= 0)
        fprintf(f, "%s: %" PRId64 " bytes\n", sizes[i].expr, sizes[i].bytes);
      else
        fprintf(f, "%s: unknown (%s)\n", sizes[i].expr, sizes[i].formula);
    }
  }
  return ferror(f) ? -1 : 0;
}
