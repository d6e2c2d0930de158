/* heapshape analyzer: `heapshape advise` (see advise.h). */
#include "analyzer/advise.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/anatomy_report.h"
#include "analyzer/baseline.h"
#include "analyzer/errors.h"
#include "analyzer/reader.h"
#include "analyzer/report.h"
#include "analyzer/snapshot.h"
#include "analyzer/symbolize.h"

#define ADV_MAX_FIELDS HS_SHAPE_MAX_FIELDS
#define ADV_MAX_ALTS 8
#define ADV_MAX_PIDS 16
#define ADV_NUMPY_HEADER 112.0 /* sys.getsizeof(np.empty(0)): the ndarray object, dims */
#define ADV_STR_ASSUMED 16     /* U<k> when the snapshot gives no string length */

enum fkind { FK_FLOAT, FK_INT, FK_BOOL, FK_STR, FK_OBJ };
static const char *const fkind_name[] = {"float", "int", "bool", "str", "object"};

enum rkind { RK_DICT, RK_INSTANCE, RK_SLOTS, RK_TUPLE, RK_NAMEDTUPLE, RK_LIST };
enum ckind { CK_NONE, CK_SEQ, CK_2D, CK_DICT };
static const char *const rkind_name[] = {"dict", "instance", "slots instance", "tuple",
                                         "namedtuple", "list"};

struct field {
  char name[64];  /* key, attribute, or f<i> for positions */
  char ident[64]; /* a Python identifier for it */
  enum fkind kind;
  const char *type; /* observed type name(s) of the dominant shape */
  unsigned width;   /* str: k of U<k> */
  double chars;     /* str: average characters (from data bytes) */
};

struct alt {
  const char *kind;
  double est;
  char detail[240];
};

struct site {
  const struct hsa_snapshot *s;
  const char *snapshot_path;
  const char *filename, *function, *type;
  int lineno;
  enum rkind rk;
  char shape[256];
  unsigned scount, ssamples, nshapes;
  struct field f[ADV_MAX_FIELDS];
  int nf;
  uint64_t objects, rec_bytes, cont_bytes, header, overhead, data, boxes;
  double current;
  int str_assumed;   /* some U<k> is an assumption */
  int str_longest;   /* U<k> is the longest sampled value (format v5), not an average */
  unsigned str_samples; /* sampled records the longest str was taken from */
  uint64_t row_objects; /* objects of the whole anatomy row (several shapes: > objects) */
  unsigned ngroups;     /* shape groups at the row (1: the row is one shape) */
  /* homogeneous numeric container (ck != CK_NONE): one list, tuple or dict of numbers */
  int ck;
  uint64_t nelem, ncols; /* elements (rows for CK_2D), columns for CK_2D */
  uint64_t ncontainers;  /* containers of this shape at the line */
  enum fkind ekind, kkind; /* element kind; key kind for CK_DICT */
  int covered; /* the inner lists of a CK_2D site at the same line: advised there */
  uint64_t nunknown; /* elements the census could not type (<= 1 in 10,000), said in the advice */
  int numeric_kind;  /* -1: not all one numeric kind; else the enum fkind */
  int numpy_ok;      /* every field float/int/bool/str */
  struct alt alts[ADV_MAX_ALTS];
  int nalts;
  int nproc; /* processes (snapshots) holding this site; 0: merged into another */
  uint32_t pids[ADV_MAX_PIDS];
  uint64_t max_objects; /* per process */
  char classname[64];
};

/* ---- small helpers ---- */

struct sb {
  char *p;
  size_t len, cap;
};

static void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sb *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (b->len + (size_t)n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) return;
    b->p = q;
    b->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

static const char *sb_str(const struct sb *b) { return b->p ? b->p : ""; }

static void size_text(double v, char *out, size_t outlen) { hsa_format_size(v, 0, out, outlen); }

/* 1234567 -> "1_234_567" (Python literal) or "1,234,567" */
static void group_digits(uint64_t v, char sep, char *out, size_t outlen) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "%" PRIu64, v);
  size_t n = strlen(tmp), o = 0;
  for (size_t i = 0; i < n && o + 2 < outlen; i++) {
    if (i && (n - i) % 3 == 0) out[o++] = sep;
    out[o++] = tmp[i];
  }
  out[o] = '\0';
}

static int is_keyword(const char *s) {
  static const char *const kw[] = {
      "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
      "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
      "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
      "try", "while", "with", "yield", "np", "n", "i", "r", "records", "table", "rec"};
  for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
    if (strcmp(s, kw[i]) == 0) return 1;
  return 0;
}

static void make_ident(const char *name, char *out, size_t outlen) {
  size_t o = 0;
  if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')))
    out[o++] = '_';
  for (const char *p = name; *p && o + 2 < outlen; p++) {
    char c = *p;
    int ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out[o++] = ok ? c : '_';
  }
  out[o] = '\0';
  if (is_keyword(out) && o + 2 < outlen) {
    out[o++] = '_';
    out[o] = '\0';
  }
}

/* Python string literal of s (double quotes, backslash escapes). */
static void py_quote(const char *s, char *out, size_t outlen) {
  size_t o = 0;
  out[o++] = '"';
  for (; *s && o + 4 < outlen; s++) {
    if (*s == '"' || *s == '\\') out[o++] = '\\';
    out[o++] = (unsigned char)*s < 32 ? '?' : *s;
  }
  out[o++] = '"';
  out[o] = '\0';
}

static enum fkind kind_of_type(const char *t) {
  if (strcmp(t, "float") == 0 || strcmp(t, "numpy.float64") == 0) return FK_FLOAT;
  if (strcmp(t, "int") == 0 || strcmp(t, "numpy.int64") == 0) return FK_INT;
  if (strcmp(t, "bool") == 0 || strcmp(t, "numpy.bool_") == 0 || strcmp(t, "numpy.bool") == 0)
    return FK_BOOL;
  if (strcmp(t, "str") == 0) return FK_STR;
  return FK_OBJ;
}

static enum fkind merge_kind(enum fkind a, enum fkind b) {
  if (a == b) return a;
  if (a == FK_OBJ || b == FK_OBJ || a == FK_STR || b == FK_STR) return FK_OBJ;
  if (a == FK_FLOAT || b == FK_FLOAT) return FK_FLOAT; /* int/bool with float */
  return FK_INT;                                        /* bool with int */
}

static const char *np_dtype(const struct field *f, char *buf, size_t n) {
  switch (f->kind) {
    case FK_FLOAT: return "np.float64";
    case FK_INT: return "np.int64";
    case FK_BOOL: return "np.bool_";
    case FK_STR: snprintf(buf, n, "\"U%u\"", f->width); return buf;
    default: return "object";
  }
}

static const char *dtype_label(const struct field *f, char *buf, size_t n) {
  switch (f->kind) {
    case FK_FLOAT: return "float64";
    case FK_INT: return "int64";
    case FK_BOOL: return "bool";
    case FK_STR: snprintf(buf, n, "U%u", f->width); return buf;
    default: return "object";
  }
}

static double itemsize(const struct field *f) {
  switch (f->kind) {
    case FK_FLOAT:
    case FK_INT: return 8;
    case FK_BOOL: return 1;
    case FK_STR: return 4.0 * f->width;
    default: return 8;
  }
}

static double pad64(double v) { return ceil(v / 64.0) * 64.0; }

static int64_t type_size(const struct hsa_snapshot *s, const char *name, int item, int64_t dflt) {
  uint32_t t = hsa_snapshot_find_type(s, name);
  if (t == HS_NO_TYPE) return dflt;
  return item ? s->types[t].itemsize : s->types[t].basicsize;
}

/* The record accessor of field i of record r, e.g. r["x"], r.x, r[0]. */
static void accessor(const struct site *st, int i, char *out, size_t outlen) {
  char q[160];
  switch (st->rk) {
    case RK_DICT:
      py_quote(st->f[i].name, q, sizeof q);
      snprintf(out, outlen, "r[%s]", q);
      break;
    case RK_INSTANCE:
    case RK_SLOTS: snprintf(out, outlen, "r.%s", st->f[i].name); break;
    default: snprintf(out, outlen, "r[%d]", i); break;
  }
}

/* ---- finding record rows ---- */

static int shapes_compatible(const struct hsa_shape *a, const struct hsa_shape *b) {
  if (a->kind != b->kind || a->nfields != b->nfields || a->length != b->length) return 0;
  for (uint16_t k = 0; k < a->nfields; k++)
    if (a->fields[k].name_sid != b->fields[k].name_sid) return 0;
  return 1;
}

/* Whether the list row l holds (pointers to) the records of type tname: its top shape is a
 * list whose stored items are all of that type. */
static int holds_records(const struct hsa_snapshot *s, const struct hsa_anat_row *l,
                         const char *tname) {
  if (strcmp(l->type, "list") != 0 || !l->nshapes) return 0;
  const struct hsa_shape *sh = l->shapes[0];
  if (sh->kind != HS_SHAPE_LIST || !sh->nfields) return 0;
  for (uint16_t k = 0; k < sh->nfields; k++) {
    uint32_t t = sh->fields[k].type;
    if (t == HS_NO_TYPE || strcmp(hsa_snapshot_type_name(s, t), tname) != 0) return 0;
  }
  return 1;
}

/* Bytes of the list(s) holding the records of row r: a list row at the same line holding
 * records of its type, else the list row elsewhere whose item arrays fit n pointers best. */
static uint64_t container_bytes(const struct hsa_snapshot *s, const struct hsa_anatomy *an,
                                const struct hsa_anat_row *r) {
  const struct hsa_anat_row *best = NULL;
  for (size_t i = 0; i < an->n; i++) {
    const struct hsa_anat_row *l = &an->rows[i];
    if (l == r || !holds_records(s, l, r->type)) continue;
    double ptrs = (double)l->owned_bytes / 8.0;
    if (ptrs < 0.9 * (double)r->objects || ptrs > 3.0 * (double)r->objects) continue;
    int same = strcmp(l->frame.filename, r->frame.filename) == 0 &&
               l->frame.lineno == r->frame.lineno;
    if (same) return l->total;
    if (!best || l->total > best->total) best = l;
  }
  return best ? best->total : 0;
}

/* The snapshot and line of anatomy row r. */
static void site_where(struct site *st, const struct hsa_snapshot *s, const struct hsa_anat_row *r) {
  st->s = s;
  st->snapshot_path = s->path ? s->path : "snapshot";
  st->filename = r->frame.filename;
  st->lineno = r->frame.lineno;
  st->function = r->frame.name;
  st->type = r->type;
}

/* Fills st from the group of shapes of anatomy row r that starts at r->shapes[g] (the shapes
 * compatible with it: same kind, names and length), marking them in used; 0 when they are
 * not records. Each group is its own recommendation: a row whose objects have several shapes
 * gets one per shape, its objects and bytes shared out by the sampled counts. */
static int make_site(const struct hsa_snapshot *s, const struct hsa_anatomy *an,
                     const struct hsa_anat_row *r, size_t g, uint8_t *used, struct site *st) {
  memset(st, 0, sizeof *st);
  if (!r->nshapes || r->domain != HS_DOMAIN_OBJ || used[g]) return 0;
  const struct hsa_shape *top = r->shapes[g];
  for (size_t j = g; j < r->nshapes; j++)
    if (shapes_compatible(top, r->shapes[j])) used[j] = 1;
  if (!top->nfields || top->length != top->nfields) return 0;
  if (top->length >= HS_ELEM_BIG) return 0; /* a big container, not a record */
  switch (top->kind) {
    case HS_SHAPE_DICT: st->rk = RK_DICT; break;
    case HS_SHAPE_INSTANCE_DICT: st->rk = RK_INSTANCE; break;
    case HS_SHAPE_INSTANCE_SLOTS: st->rk = RK_SLOTS; break;
    case HS_SHAPE_TUPLE: st->rk = strcmp(r->type, "tuple") == 0 ? RK_TUPLE : RK_NAMEDTUPLE; break;
    case HS_SHAPE_LIST: st->rk = RK_LIST; break;
    default: return 0;
  }
  /* compatible shapes (same names and length) make up the dominant shape */
  unsigned count = 0, ngroups = 0;
  enum fkind kinds[ADV_MAX_FIELDS];
  uint32_t longest[ADV_MAX_FIELDS];
  int has_longest = 1;
  memset(longest, 0, sizeof longest);
  for (size_t j = 0; j < r->nshapes; j++) { /* groups of records at the row */
    int seen = 0;
    for (size_t q = 0; q < j; q++) seen |= shapes_compatible(r->shapes[q], r->shapes[j]);
    ngroups += !seen && r->shapes[j]->length < HS_ELEM_BIG;
  }
  for (uint16_t k = 0; k < top->nfields; k++) {
    uint32_t t = top->fields[k].type;
    kinds[k] = t == HS_NO_TYPE ? FK_OBJ : kind_of_type(hsa_snapshot_type_name(s, t));
  }
  for (size_t j = 0; j < r->nshapes; j++) {
    const struct hsa_shape *sh = r->shapes[j];
    if (!shapes_compatible(top, sh)) continue;
    count += sh->count;
    if (!sh->has_elem || !sh->maxlen) has_longest = 0;
    for (uint16_t k = 0; has_longest && k < sh->nfields; k++)
      if (sh->maxlen[k] > longest[k]) longest[k] = sh->maxlen[k];
    for (uint16_t k = 0; k < sh->nfields; k++) {
      uint32_t t = sh->fields[k].type;
      kinds[k] = merge_kind(kinds[k],
                            t == HS_NO_TYPE ? FK_OBJ : kind_of_type(hsa_snapshot_type_name(s, t)));
    }
  }
  /* one shape, or a share of the row big enough to stand for its records */
  if (ngroups <= 1 && 2 * count < top->samples) return 0;
  double share = ngroups > 1 && top->samples ? (double)count / (double)top->samples : 1.0;
  st->ngroups = ngroups;
  st->row_objects = r->objects;
  site_where(st, s, r);
  st->scount = count;
  st->ssamples = top->samples;
  st->nshapes = (unsigned)r->nshapes;
  hsa_shape_format(s, r->type, top, st->shape, sizeof st->shape);
  st->nf = top->nfields;
  int nfloat = 0, nint = 0, nstr = 0;
  for (int k = 0; k < st->nf; k++) {
    struct field *f = &st->f[k];
    if (st->rk == RK_DICT || st->rk == RK_INSTANCE || st->rk == RK_SLOTS)
      snprintf(f->name, sizeof f->name, "%s", hsa_snapshot_string(s, top->fields[k].name_sid));
    else
      snprintf(f->name, sizeof f->name, "f%d", k);
    if (!f->name[0]) snprintf(f->name, sizeof f->name, "f%d", k);
    make_ident(f->name, f->ident, sizeof f->ident);
    f->kind = kinds[k];
    f->type = top->fields[k].type == HS_NO_TYPE ? "?" : hsa_snapshot_type_name(s, top->fields[k].type);
    nfloat += f->kind == FK_FLOAT;
    nint += f->kind == FK_INT;
    nstr += f->kind == FK_STR;
  }
  const struct hs_anat_rec *raw = &s->rows[r->row];
#define SHARE(v) ((uint64_t)llround((double)(v) * share))
  st->objects = SHARE(r->objects);
  st->max_objects = st->objects;
  st->rec_bytes = SHARE(r->total);
  st->cont_bytes = SHARE(container_bytes(s, an, r));
  st->current = (double)(st->rec_bytes + st->cont_bytes);
  st->header = SHARE(r->gc + r->preheader + r->header + r->owned_header);
  st->overhead = SHARE(r->overhead);
  st->data = SHARE(r->data);
  /* boxed values owned now: owned object headers + owned data, less owned __dict__ objects
   * (before 3.11 every instance has one: GC head + 16-byte header) */
  uint64_t boxes = raw->owned_header_bytes + raw->owned_data_bytes, nonbox = 0;
  if (st->rk == RK_INSTANCE && s->meta.python_version < 0x030b0000u)
    nonbox = r->objects * (uint64_t)(s->meta.gc_head_size + 16);
  st->boxes = SHARE(boxes > nonbox ? boxes - nonbox : 0);
#undef SHARE
  /* str widths: data per record less 8 per float and one digit per int, spread over the str
   * fields; each str's data counts its trailing NUL */
  if (nstr && has_longest) {
    /* format v5: the longest value of each str field among the sampled records, so that a
     * U<k> column holds every sampled value whole */
    st->str_longest = 1;
    st->str_samples = count;
    for (int k = 0; k < st->nf; k++) {
      if (st->f[k].kind != FK_STR) continue;
      st->f[k].width = longest[k] ? longest[k] : 1;
      st->f[k].chars = longest[k];
    }
    /* Arrow stores each str at its own length: the average from the data bytes */
    double per = r->objects ? (double)r->data / (double)r->objects : 0;
    double intdata = s->meta.python_version >= 0x030b0000u ? 8.0 : 4.0;
    double chars = (per - 8.0 * nfloat - intdata * nint) / nstr - 1.0;
    for (int k = 0; k < st->nf; k++)
      if (st->f[k].kind == FK_STR && chars >= 1.0 && chars < st->f[k].chars) st->f[k].chars = chars;
  } else if (nstr) {
    double per = r->objects ? (double)r->data / (double)r->objects : 0;
    /* a one-digit int is sizeof(PyLongObject) = 32 bytes from 3.11 (_PyLong_FromMedium),
     * 28 before: 8 or 4 data bytes */
    double intdata = s->meta.python_version >= 0x030b0000u ? 8.0 : 4.0;
    double chars = (per - 8.0 * nfloat - intdata * nint) / nstr - 1.0;
    for (int k = 0; k < st->nf; k++) {
      if (st->f[k].kind != FK_STR) continue;
      if (chars >= 1.0) {
        st->f[k].chars = chars;
        /* a damaged snapshot can claim absurd data sizes: cap the width (found by fuzzing:
         * a float-to-unsigned conversion out of range) */
        double w = ceil(chars - 1e-9);
        st->f[k].width = w < 1e9 ? (unsigned)w : 1000000000u;
      } else {
        st->f[k].chars = ADV_STR_ASSUMED;
        st->f[k].width = ADV_STR_ASSUMED;
        st->str_assumed = 1;
      }
    }
  }
  st->numeric_kind = (int)st->f[0].kind;
  st->numpy_ok = 1;
  for (int k = 0; k < st->nf; k++) {
    if ((int)st->f[k].kind != st->numeric_kind) st->numeric_kind = -1;
    if (st->f[k].kind == FK_OBJ) st->numpy_ok = 0;
  }
  if (st->numeric_kind == FK_STR || st->numeric_kind == FK_OBJ) st->numeric_kind = -1;
  if (st->rk == RK_INSTANCE || st->rk == RK_SLOTS || st->rk == RK_NAMEDTUPLE)
    snprintf(st->classname, sizeof st->classname, "%s", st->type);
  else
    snprintf(st->classname, sizeof st->classname, "Record");
  /* "module.Class" -> "Class" */
  char *dot = strrchr(st->classname, '.');
  if (dot) memmove(st->classname, dot + 1, strlen(dot));
  st->nproc = 1;
  st->pids[0] = s->meta.pid;
  return 1;
}

/* ---- homogeneous numeric containers ---- */

/* The one numeric kind of kind counts c (float, int or bool), or FK_OBJ when the elements are
 * not all one of them. */
static enum fkind one_numeric_kind(const uint64_t *c) {
  uint64_t total = 0;
  for (int k = 0; k < HS_EK_KINDS; k++) total += c[k];
  if (!total) return FK_OBJ;
  if (c[HS_EK_FLOAT] == total) return FK_FLOAT;
  if (c[HS_EK_INT] == total) return FK_INT;
  if (c[HS_EK_BOOL] == total) return FK_BOOL;
  return FK_OBJ;
}

/* Elements the census counted as "other" that a container may hold and still be advised as
 * numbers: at most 1 in 10,000 (on 3.14 the census leaves the odd object untyped; a
 * float among 10,000 Decimals would not pass). The advice names how many. */
static uint64_t other_allowed(uint64_t total) { return total / 10000; }

/* one_numeric_kind, ignoring up to `allow` elements of kind other; *other gets how many. */
static enum fkind numeric_kind_allowing(const uint64_t *c, uint64_t allow, uint64_t *other) {
  uint64_t tmp[HS_EK_KINDS];
  memcpy(tmp, c, sizeof tmp);
  *other = 0;
  if (tmp[HS_EK_OTHER] <= allow) {
    *other = tmp[HS_EK_OTHER];
    tmp[HS_EK_OTHER] = 0;
  }
  return one_numeric_kind(tmp);
}

static int same_line(const struct hsa_anat_row *a, const struct hsa_anat_row *b) {
  return a->frame.lineno == b->frame.lineno && strcmp(a->frame.filename, b->frame.filename) == 0;
}

/* Bytes of the rows of type tname at r's line (boxed numbers another object also refers to
 * stay in their own row). */
static uint64_t line_bytes_of(const struct hsa_anatomy *an, const struct hsa_anat_row *r,
                              const char *tname) {
  uint64_t b = 0;
  for (size_t i = 0; i < an->n; i++)
    if (&an->rows[i] != r && same_line(&an->rows[i], r) && strcmp(an->rows[i].type, tname) == 0)
      b += an->rows[i].total;
  return b;
}

/* A site for the biggest list, tuple or dict of r whose elements were all scanned (format v5,
 * ELEM) and are numbers of one kind: a list or tuple of float, int or bool (CK_SEQ), a list of
 * equal-length lists or tuples of such numbers (CK_2D), a dict of int keys to one numeric
 * kind (CK_DICT). 1 when found. */
/* Live bytes of the sites attributed to the same Python line as site `site` (what `stats`
 * shows for that line), or 0 when that frame is not a Python line. */
static uint64_t live_at_site_line(const struct hsa_snapshot *s, uint32_t site) {
  const struct hs_frame_rec *f = &s->frames[hsa_site_key_frame(s, &s->sites[site])];
  if (f->kind != HS_FRAME_PYTHON) return 0;
  uint64_t b = 0;
  for (uint32_t i = 0; i < s->nsites; i++) {
    const struct hs_frame_rec *g = &s->frames[hsa_site_key_frame(s, &s->sites[i])];
    if (g->kind == HS_FRAME_PYTHON && g->lineno == f->lineno && g->filename_sid == f->filename_sid)
      b += s->sites[i].live_bytes;
  }
  return b;
}

static int make_container_site(const struct hsa_snapshot *s, const struct hsa_anatomy *an,
                               const struct hsa_anat_row *r, struct hsa_symbolizer *sym,
                               struct site *st) {
  memset(st, 0, sizeof *st);
  if (!r->nshapes || r->domain != HS_DOMAIN_OBJ) return 0;
  const struct hsa_shape *sh = NULL;
  int ck = CK_NONE;
  enum fkind ek = FK_OBJ;
  for (size_t j = 0; j < r->nshapes && !sh; j++) {
    const struct hsa_shape *c = r->shapes[j];
    const struct hs_elem_rec *e = &c->elem;
    if (!c->has_elem || !(e->flags & HS_ELEM_COMPLETE) || c->length < HS_ELEM_BIG) continue;
    if (c->kind == HS_SHAPE_LIST || c->kind == HS_SHAPE_TUPLE) {
      /* lists of lists: a list of tuples is a list of records (namedtuple-like), advised as
       * columns at the tuples' row */
      uint64_t seqs = e->values[HS_EK_LIST], total = 0;
      for (int k = 0; k < HS_EK_KINDS; k++) total += e->values[k];
      uint64_t other = 0, inner_other = 0;
      if ((ek = numeric_kind_allowing(e->values, other_allowed(total), &other)) != FK_OBJ) {
        ck = CK_SEQ;
      } else if (seqs && seqs + e->values[HS_EK_OTHER] == total &&
                 e->values[HS_EK_OTHER] <= other_allowed(total) && e->inner_min == e->inner_max &&
                 e->inner_max > 0) {
        uint64_t itotal = 0;
        for (int k = 0; k < HS_EK_KINDS; k++) itotal += e->inner[k];
        other = e->values[HS_EK_OTHER];
        if ((ek = numeric_kind_allowing(e->inner, other_allowed(itotal), &inner_other)) != FK_OBJ)
          ck = CK_2D;
      }
      st->nunknown = other + inner_other;
    } else if (c->kind == HS_SHAPE_DICT) {
      if (one_numeric_kind(e->keys) == FK_INT && (ek = one_numeric_kind(e->values)) != FK_OBJ)
        ck = CK_DICT;
    }
    if (ck != CK_NONE) sh = c;
  }
  if (!sh) return 0;
  uint64_t nunknown = st->nunknown;
  site_where(st, s, r);
  st->nunknown = nunknown;
  st->ck = ck;
  st->rk = sh->kind == HS_SHAPE_DICT ? RK_DICT : sh->kind == HS_SHAPE_TUPLE ? RK_TUPLE : RK_LIST;
  st->ekind = ek;
  st->kkind = FK_INT;
  st->nelem = sh->length;
  st->ncols = ck == CK_2D ? sh->elem.inner_max : 1;
  /* every container this long in the row was sampled: the count is exact */
  st->ncontainers = sh->count;
  st->scount = sh->count;
  st->ssamples = sh->samples;
  st->nshapes = (unsigned)r->nshapes;
  st->ngroups = 1;
  st->row_objects = r->objects;
  {
    char nb[32], mb[32];
    group_digits(st->nelem, ',', nb, sizeof nb);
    group_digits(st->ncols, ',', mb, sizeof mb);
    const char *open = sh->kind == HS_SHAPE_TUPLE ? "(" : sh->kind == HS_SHAPE_DICT ? "{" : "[";
    const char *close = sh->kind == HS_SHAPE_TUPLE ? ")" : sh->kind == HS_SHAPE_DICT ? "}" : "]";
    if (ck == CK_2D)
      snprintf(st->shape, sizeof st->shape, "%s%s%s x list[%s x %s]%s", r->type, open, nb, mb,
               fkind_name[ek], close);
    else if (ck == CK_DICT)
      snprintf(st->shape, sizeof st->shape, "%s%s%s x int: %s%s", r->type, open, nb,
               fkind_name[ek], close);
    else
      snprintf(st->shape, sizeof st->shape, "%s%s%s x %s%s", r->type, open, nb, fkind_name[ek],
               close);
  }
  st->objects = st->nelem * st->ncols * st->ncontainers;
  st->max_objects = st->objects;
  /* now: the row (containers, item arrays, boxed numbers only they refer to; for CK_2D the
   * inner lists too, made at the same line), plus the other boxed numbers made at the line */
  uint64_t now = r->total + line_bytes_of(an, r, fkind_name[ek]);
  if (ck == CK_DICT && ek != FK_INT) now += line_bytes_of(an, r, "int");
  /* The line that built the data is the one of the item array or table: the container
   * object may come from a free list, made at another line (issue 14), taking the boxed
   * numbers it owns to that line's anatomy row. Then what is live at the data's line is the
   * better "now" (the item array, the numbers, the inner lists). */
  uint32_t isite = sh->elem.items_site;
  if (isite != 0xFFFFFFFFu && isite < s->nsites) {
    struct hsa_frame_text ft;
    char buf[16];
    hsa_frame_resolve(s, hsa_site_key_frame(s, &s->sites[isite]), sym, HSA_KEY_LINENO, &ft, buf,
                      sizeof buf);
    if (!ft.native && ft.filename != buf &&
        (ft.lineno != r->frame.lineno || strcmp(ft.filename, r->frame.filename) != 0)) {
      st->filename = ft.filename;
      st->lineno = ft.lineno;
      st->function = ft.name;
      uint64_t there = live_at_site_line(s, isite);
      if (there > now) now = there;
    }
  }
  st->rec_bytes = now;
  st->current = (double)now;
  st->header = r->gc + r->preheader + r->header + r->owned_header;
  st->overhead = r->overhead;
  /* data: the numbers' own bytes (8 per float or int, 1 per bool; int keys too) */
  st->data = st->objects * (ek == FK_BOOL ? 1u : 8u) + (ck == CK_DICT ? 8u * st->objects : 0u);
  st->nf = ck == CK_DICT ? 2 : 1;
  snprintf(st->f[0].name, sizeof st->f[0].name, ck == CK_DICT ? "keys" : "values");
  st->f[0].kind = ck == CK_DICT ? FK_INT : ek;
  if (ck == CK_DICT) {
    snprintf(st->f[1].name, sizeof st->f[1].name, "values");
    st->f[1].kind = ek;
  }
  for (int k = 0; k < st->nf; k++) {
    make_ident(st->f[k].name, st->f[k].ident, sizeof st->f[k].ident);
    st->f[k].type = fkind_name[st->f[k].kind];
  }
  st->numeric_kind = (int)ek;
  st->numpy_ok = 1;
  snprintf(st->classname, sizeof st->classname, "values");
  st->nproc = 1;
  st->pids[0] = s->meta.pid;
  return 1;
}

/* ---- estimates ---- */

static void add_alt(struct site *st, const char *kind, double est, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_alt(struct site *st, const char *kind, double est, const char *fmt, ...) {
  if (st->nalts == ADV_MAX_ALTS) return;
  struct alt *a = &st->alts[st->nalts++];
  a->kind = kind;
  a->est = est;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->detail, sizeof a->detail, fmt, ap);
  va_end(ap);
}

static double est_soa(const struct site *st, double n) {
  double e = 0;
  for (int k = 0; k < st->nf; k++) e += ADV_NUMPY_HEADER + n * itemsize(&st->f[k]);
  return e;
}

static double est_struct(const struct site *st, double n, double *recsize) {
  double per = 0;
  for (int k = 0; k < st->nf; k++) per += itemsize(&st->f[k]);
  if (recsize) *recsize = per;
  return ADV_NUMPY_HEADER + n * per;
}

static double est_arrow(const struct site *st, double n) {
  double e = 0;
  for (int k = 0; k < st->nf; k++) {
    switch (st->f[k].kind) {
      case FK_BOOL: e += pad64(ceil(n / 8.0)); break;
      case FK_STR: e += pad64(4.0 * (n + 1)) + pad64(n * st->f[k].chars); break;
      default: e += pad64(8.0 * n); break;
    }
  }
  return e;
}

/* The numpy layout of the records (SoA when one numeric kind, else structured). */
static double est_numpy(const struct site *st, double n) {
  return st->numeric_kind >= 0 ? est_soa(st, n) : est_struct(st, n, NULL);
}

#define ADV_NUMPY_2D_HEADER 128.0 /* sys.getsizeof(np.empty((0, 0))): one more dim and stride */
#define ADV_ARRAY_HEADER 64.0     /* sys.getsizeof(array.array("d")) on 3.8-3.13 */

static const char *array_code(enum fkind k) { return k == FK_BOOL ? "b" : k == FK_INT ? "q" : "d"; }

static void compute_container_alts(struct site *st) {
  double nc = (double)st->ncontainers, n = (double)st->nelem, m = (double)st->ncols;
  double isz = itemsize(&st->f[st->nf - 1]);
  char dt[32], t1[32];
  const char *what = st->rk == RK_TUPLE ? "tuple" : st->rk == RK_DICT ? "dict" : "list";
  if (st->ck == CK_SEQ) {
    add_alt(st, "numpy-array", nc * (ADV_NUMPY_HEADER + n * isz),
            "one %s array of %" PRIu64 " per %s (112 B + %g B per element): the numbers stop "
            "being objects", dtype_label(&st->f[0], dt, sizeof dt), st->nelem, what, isz);
    add_alt(st, "array.array", nc * (ADV_ARRAY_HEADER + n * isz),
            "without numpy: array.array(\"%s\") of %" PRIu64 " (64 B + %g B per element)",
            array_code(st->ekind), st->nelem, isz);
  } else if (st->ck == CK_2D) {
    add_alt(st, "numpy-2d", nc * (ADV_NUMPY_2D_HEADER + n * m * isz),
            "one C-ordered %s array of shape (%" PRIu64 ", %" PRIu64 ") (128 B + %g B per "
            "element) instead of %" PRIu64 " inner lists", dtype_label(&st->f[0], dt, sizeof dt),
            st->nelem, st->ncols, isz, st->nelem);
  } else if (st->ck == CK_DICT) {
    size_text(nc * (2 * ADV_NUMPY_HEADER + n * (8 + isz)), t1, sizeof t1);
    add_alt(st, "two-arrays", nc * (2 * ADV_NUMPY_HEADER + n * (8 + isz)),
            "two numpy arrays of %" PRIu64 ": int64 keys sorted, %s values in the same order "
            "(2 x 112 B + %g B per entry); look up with np.searchsorted",
            st->nelem, dtype_label(&st->f[1], dt, sizeof dt), 8 + isz);
  }
}

static void compute_alts(struct site *st, double ram) {
  if (st->ck != CK_NONE) {
    compute_container_alts(st);
    return;
  }
  const struct hsa_snapshot *s = st->s;
  double n = (double)st->objects, gc = s->meta.gc_head_size ? s->meta.gc_head_size : 16;
  char t1[32], t2[32], t3[32];
  double keep = 0.98 * st->current; /* only alternatives that save something */
  if (st->numpy_ok && st->current > ram) {
    double e = est_numpy(st, n);
    size_text(ram, t1, sizeof t1);
    add_alt(st, "memmap", e,
            "live records exceed RAM (%s): numpy.memmap on disk (%s), pages in on demand; or "
            "process in chunks", t1, (size_text(e, t2, sizeof t2), t2));
  }
  if (st->numpy_ok && st->numeric_kind >= 0) {
    double e = est_soa(st, n);
    if (e < keep)
      add_alt(st, "soa-numpy", e, "%d %s array%s of %" PRIu64 " (112 B + %g B per record each)",
              st->nf, dtype_label(&st->f[0], t1, sizeof t1), st->nf == 1 ? "" : "s", st->objects,
              itemsize(&st->f[0]));
  } else if (st->numpy_ok) {
    double per;
    double e = est_struct(st, n, &per);
    char strnote[160] = "";
    if (st->str_assumed)
      snprintf(strnote, sizeof strnote, "; str width U16 ASSUMED (strings are shared: no length seen)");
    else if (st->str_longest)
      snprintf(strnote, sizeof strnote, "; str width = the longest of %u sampled values "
               "(check max(len(s)): a longer one would be cut)", st->str_samples);
    else
      for (int k = 0; k < st->nf; k++)
        if (st->f[k].kind == FK_STR)
          snprintf(strnote, sizeof strnote, "; str width = the AVERAGE length (snapshot format "
                   "< 5 has no longest value: longer values would be cut)");
    if (e < keep)
      add_alt(st, "structured-array", e,
              "one numpy structured array, %g B per record (packed fields)%s", per, strnote);
    double ea = est_arrow(st, n);
    if (ea < keep)
      add_alt(st, "arrow", ea,
              "pyarrow Table: 8 B per float64/int64, 1 bit per bool, 4 B offset + characters "
              "per str, buffers padded to 64 B");
  }
  int64_t obj_bs = type_size(s, "object", 0, 16);
  int64_t tup_bs = type_size(s, "tuple", 0, 24), tup_is = type_size(s, "tuple", 1, 8);
  size_text(st->boxes, t2, sizeof t2);
  size_text(st->cont_bytes, t3, sizeof t3);
  if (st->rk != RK_SLOTS) {
    double per = gc + (double)obj_bs + 8.0 * st->nf;
    double e = n * per + (double)st->boxes + (double)st->cont_bytes;
    if (e < keep)
      add_alt(st, "slots-dataclass", e,
              "%g B per instance (GC %g + %" PRId64 " + 8 x %d slots), boxed values stay (%s), "
              "list of records %s%s", per, gc, obj_bs, st->nf, t2, t3,
              s->meta.python_version && s->meta.python_version < 0x030a0000u
                  ? "; dataclass(slots=True) needs 3.10: write __slots__ by hand" : "");
  }
  if (st->rk != RK_TUPLE && st->rk != RK_NAMEDTUPLE) {
    double per = gc + (double)tup_bs + (double)tup_is * st->nf;
    double e = n * per + (double)st->boxes + (double)st->cont_bytes;
    if (e < keep)
      add_alt(st, "namedtuple", e,
              "%g B per tuple (GC %g + %" PRId64 " + %" PRId64 " x %d), boxed values stay (%s), "
              "list of records %s", per, gc, tup_bs, tup_is, st->nf, t2, t3);
  }
}

/* ---- code ---- */

static void field_list(const struct site *st, const char *fmt_kind, struct sb *b) {
  char acc[200];
  for (int k = 0; k < st->nf; k++) {
    if (strcmp(fmt_kind, "ident") == 0) sb_add(b, "%s%s", k ? ", " : "", st->f[k].ident);
    else {
      accessor(st, k, acc, sizeof acc);
      sb_add(b, "%s%s", k ? ", " : "", acc);
    }
  }
}

static void dtype_decl(const struct site *st, struct sb *b) {
  char dt[32], q[160];
  sb_add(b, "rec = np.dtype([");
  for (int k = 0; k < st->nf; k++) {
    py_quote(st->f[k].name, q, sizeof q);
    sb_add(b, "%s(%s, %s)", k ? ", " : "", q, np_dtype(&st->f[k], dt, sizeof dt));
  }
  sb_add(b, "])%s\n", st->str_assumed   ? "  # U16: assumed, check max(len(s))"
                   : st->str_longest ? "  # str: the longest sampled value; check max(len(s))"
                                     : "");
}

static void gen_container_code(const struct site *st, const char *kind, struct sb *b) {
  char n[32], m[32], dt[32], dt2[32];
  group_digits(st->nelem, '_', n, sizeof n);
  group_digits(st->ncols, '_', m, sizeof m);
  const char *d0 = np_dtype(&st->f[0], dt, sizeof dt);
  const char *d1 = np_dtype(&st->f[st->nf - 1], dt2, sizeof dt2);
  if (strcmp(kind, "numpy-array") == 0) {
    sb_add(b, "import numpy as np\nn = %s  # elements of the %s at this line\n", n,
           st->rk == RK_TUPLE ? "tuple" : "list");
    sb_add(b, "values = np.empty(n, dtype=%s)  # then values[i] = ... instead of append\n", d0);
    sb_add(b, "# from an iterable: values = np.fromiter(iterable, dtype=%s, count=n)\n", d0);
    sb_add(b, "# from the list already built: values = np.array(values, dtype=%s)\n", d0);
  } else if (strcmp(kind, "array.array") == 0) {
    sb_add(b, "from array import array\nvalues = array(\"%s\", iterable)  # %s; or "
              "array(\"%s\", values) from the list already built\n",
           array_code(st->ekind), st->ekind == FK_FLOAT ? "C doubles"
                                  : st->ekind == FK_INT ? "64-bit ints" : "one byte per bool",
           array_code(st->ekind));
  } else if (strcmp(kind, "numpy-2d") == 0) {
    sb_add(b, "import numpy as np\nrows, cols = %s, %s\n", n, m);
    sb_add(b, "matrix = np.empty((rows, cols), dtype=%s)  # C order: matrix[i] is row i\n", d0);
    sb_add(b, "# fill row by row: matrix[i, :] = ...  instead of building a list per row\n");
    sb_add(b, "# from the lists already built: matrix = np.array(rows_list, dtype=%s)\n", d0);
  } else if (strcmp(kind, "two-arrays") == 0) {
    sb_add(b, "import numpy as np\nn = %s  # entries of the dict at this line\n", n);
    sb_add(b, "keys = np.fromiter(d.keys(), dtype=np.int64, count=n)\n"
              "values = np.fromiter(d.values(), dtype=%s, count=n)\n", d1);
    sb_add(b, "order = np.argsort(keys)\nkeys, values = keys[order], values[order]\n");
    sb_add(b, "# d[k] becomes: i = np.searchsorted(keys, k); values[i] if i < n and keys[i] == k\n");
  }
}

static void gen_code(const struct site *st, const char *kind, struct sb *b) {
  char n[32], dt[32], acc[200], q[160];
  if (st->ck != CK_NONE) {
    gen_container_code(st, kind, b);
    return;
  }
  group_digits(st->max_objects, '_', n, sizeof n);
  const char *src = st->rk == RK_DICT ? "dict" : st->rk == RK_LIST ? "list" : "record";
  if (strcmp(kind, "soa-numpy") == 0 || (strcmp(kind, "memmap") == 0 && st->numeric_kind >= 0)) {
    int mm = strcmp(kind, "memmap") == 0;
    sb_add(b, "import numpy as np\nn = %s  # records at this line\n", n);
    for (int k = 0; k < st->nf; k++) {
      if (mm)
        sb_add(b, "%s = np.memmap(\"%s.bin\", dtype=%s, mode=\"w+\", shape=(n,))\n",
               st->f[k].ident, st->f[k].ident, np_dtype(&st->f[k], dt, sizeof dt));
      else
        sb_add(b, "%s = np.empty(n, dtype=%s)\n", st->f[k].ident,
               np_dtype(&st->f[k], dt, sizeof dt));
    }
    sb_add(b, "for i in range(n):  # instead of one %s per record:\n    ", src);
    for (int k = 0; k < st->nf; k++) sb_add(b, "%s%s[i]", k ? ", " : "", st->f[k].ident);
    sb_add(b, " = ...  # the values of ");
    field_list(st, "acc", b);
    accessor(st, 0, acc, sizeof acc);
    sb_add(b, "\n# from records already built: %s = np.fromiter((%s for r in records), "
              "dtype=%s, count=n)\n", st->f[0].ident, acc, np_dtype(&st->f[0], dt, sizeof dt));
  } else if (strcmp(kind, "structured-array") == 0 || strcmp(kind, "memmap") == 0) {
    sb_add(b, "import numpy as np\nn = %s  # records at this line\n", n);
    dtype_decl(st, b);
    if (strcmp(kind, "memmap") == 0)
      sb_add(b, "table = np.memmap(\"table.bin\", dtype=rec, mode=\"w+\", shape=(n,))\n");
    else
      sb_add(b, "table = np.empty(n, dtype=rec)\n");
    sb_add(b, "for i in range(n):  # instead of one %s per record:\n    table[i] = (", src);
    field_list(st, "ident", b);
    sb_add(b, "%s)\n", st->nf == 1 ? "," : "");
    sb_add(b, "# from records already built: table = np.fromiter(((");
    field_list(st, "acc", b);
    sb_add(b, "%s) for r in records), dtype=rec, count=n)\n", st->nf == 1 ? "," : "");
  } else if (strcmp(kind, "arrow") == 0) {
    static const char *const pa_type[] = {"pa.float64()", "pa.int64()", "pa.bool_()",
                                          "pa.string()", "None"};
    sb_add(b, "import pyarrow as pa\ntable = pa.table({\n");
    for (int k = 0; k < st->nf; k++) {
      py_quote(st->f[k].name, q, sizeof q);
      accessor(st, k, acc, sizeof acc);
      sb_add(b, "    %s: pa.array([%s for r in records], %s),\n", q, acc, pa_type[st->f[k].kind]);
    }
    sb_add(b, "})  # better: append the values to per-column lists instead of building records\n");
  } else if (strcmp(kind, "slots-dataclass") == 0) {
    sb_add(b, "from dataclasses import dataclass\n\n@dataclass(slots=True)\nclass %s:\n",
           st->classname);
    for (int k = 0; k < st->nf; k++)
      sb_add(b, "    %s: %s\n", st->f[k].ident,
             st->f[k].kind == FK_OBJ ? "object" : fkind_name[st->f[k].kind]);
    sb_add(b, "\nrecords = [%s(", st->classname);
    field_list(st, "ident", b);
    sb_add(b, ") for ...]  # where each %s was built\n", src);
  } else if (strcmp(kind, "namedtuple") == 0) {
    sb_add(b, "from typing import NamedTuple\n\nclass %s(NamedTuple):\n", st->classname);
    for (int k = 0; k < st->nf; k++)
      sb_add(b, "    %s: %s\n", st->f[k].ident,
             st->f[k].kind == FK_OBJ ? "object" : fkind_name[st->f[k].kind]);
    sb_add(b, "\nrecords = [%s(", st->classname);
    field_list(st, "ident", b);
    sb_add(b, ") for ...]  # where each %s was built\n", src);
  } else if (strcmp(kind, "shared-memory") == 0) {
    sb_add(b, "import numpy as np\nfrom multiprocessing import shared_memory\nn = %s\n", n);
    if (st->numeric_kind >= 0) {
      sb_add(b, "shm = shared_memory.SharedMemory(create=True, size=%d * n * %g)  # parent, "
                "before forking\n", st->nf, itemsize(&st->f[0]));
      sb_add(b, "cols = np.ndarray((%d, n), dtype=%s, buffer=shm.buf)\n", st->nf,
             np_dtype(&st->f[0], dt, sizeof dt));
      for (int k = 0; k < st->nf; k++) sb_add(b, "%s%s", k ? ", " : "", st->f[k].ident);
      sb_add(b, "%s = cols  # fill once, in the parent\n", st->nf == 1 ? "," : "");
      sb_add(b, "# children (fork or spawn): shm = shared_memory.SharedMemory(name=NAME); "
                "cols = np.ndarray((%d, n), dtype=%s, buffer=shm.buf)\n", st->nf,
             np_dtype(&st->f[0], dt, sizeof dt));
    } else {
      dtype_decl(st, b);
      sb_add(b, "shm = shared_memory.SharedMemory(create=True, size=n * rec.itemsize)  # parent\n"
                "table = np.ndarray((n,), dtype=rec, buffer=shm.buf)  # fill once, in the parent\n"
                "# children: table = np.ndarray((n,), dtype=rec, buffer="
                "shared_memory.SharedMemory(name=NAME).buf)\n");
    }
    sb_add(b, "# at the end, in the parent: shm.close(); shm.unlink()\n");
  }
}

/* ---- multi-process grouping ---- */

static int same_site(const struct site *a, const struct site *b) {
  return a->lineno == b->lineno && strcmp(a->filename, b->filename) == 0 &&
         strcmp(a->type, b->type) == 0 && strcmp(a->shape, b->shape) == 0 && a->rk == b->rk &&
         a->ck == b->ck;
}

static void merge_into(struct site *g, const struct site *o) {
  if (g->nproc < ADV_MAX_PIDS) g->pids[g->nproc] = o->pids[0];
  g->nproc++;
  g->objects += o->objects;
  if (o->max_objects > g->max_objects) g->max_objects = o->max_objects;
  g->rec_bytes += o->rec_bytes;
  g->cont_bytes += o->cont_bytes;
  g->current += o->current;
  g->header += o->header;
  g->overhead += o->overhead;
  g->data += o->data;
  g->boxes += o->boxes;
}

/* ---- output ---- */

struct advice {
  struct site *sites;
  size_t n, cap;
  size_t below; /* record rows under the threshold */
  uint64_t min_objects;
  double ram;
  int ram_given;
};

static int cmp_site(const void *pa, const void *pb) {
  const struct site *a = pa, *b = pb;
  if (a->current != b->current) return a->current > b->current ? -1 : 1;
  int c = strcmp(a->filename, b->filename);
  return c ? c : a->lineno - b->lineno;
}

static void base_name(const char *p, char *out, size_t outlen) {
  snprintf(out, outlen, "%s", p);
}

static void print_container_head(FILE *f, const struct site *st, const char *ind, int markdown) {
  char n[32], m[32], t1[32], t4[32], py[32];
  group_digits(st->nelem, ',', n, sizeof n);
  group_digits(st->ncols, ',', m, sizeof m);
  const char *what = st->rk == RK_TUPLE ? "tuple" : st->rk == RK_DICT ? "dict" : "list";
  fprintf(f, "%s%" PRIu64 " %s%s of %s ", ind, st->ncontainers, what,
          st->ncontainers == 1 ? "" : "s", n);
  if (st->ck == CK_2D) fprintf(f, "lists of %s %s", m, fkind_name[st->ekind]);
  else if (st->ck == CK_DICT) fprintf(f, "int -> %s entries", fkind_name[st->ekind]);
  else fprintf(f, "%s", fkind_name[st->ekind]);
  fprintf(f, " (every element scanned), shape %s%s%s\n", markdown ? "`" : "", st->shape,
          markdown ? "`" : "");
  if (st->nunknown)
    fprintf(f, "%s%" PRIu64 " element%s of a type the census could not tell: check %s before "
               "converting\n", ind, st->nunknown, st->nunknown == 1 ? "" : "s",
            st->nunknown == 1 ? "it" : "them");
  fprintf(f, "%selements: all %s -> %s\n", ind, fkind_name[st->ekind],
          st->ck == CK_2D ? "equal-length rows of one numeric kind: one 2-D array"
          : st->ck == CK_DICT ? "int keys, one numeric kind: two arrays"
                              : "one numeric kind: one array");
  size_text(st->current, t1, sizeof t1);
  size_text((double)st->data, t4, sizeof t4);
  hsa_python_version(st->s->meta.python_version, py, sizeof py);
  fprintf(f, "%snow: %s at this line (containers, item arrays, boxed numbers), data %s; "
             "headers & pointers %.1f%% (python %s)\n",
          ind, t1, t4, st->current > 0 ? 100.0 * (st->current - (double)st->data) / st->current : 0,
          py);
}

static void print_text(FILE *f, const struct advice *adv, int markdown, const char *const *files,
                       size_t nfiles) {
  char t1[32], t2[32], t3[32], t4[32], n[32], loc[1200];
  size_t shown = 0;
  for (size_t i = 0; i < adv->n; i++) shown += adv->sites[i].nproc > 0 && adv->sites[i].nalts > 0;
  group_digits(adv->min_objects, ',', n, sizeof n);
  if (markdown) fprintf(f, "## heapshape advise\n\n");
  fprintf(f, "%zu site%s with %s+ records worth a layout change", shown, shown == 1 ? "" : "s", n);
  if (adv->below) fprintf(f, " (%zu smaller record site%s left alone: readable code wins)",
                          adv->below, adv->below == 1 ? "" : "s");
  fprintf(f, "%s\n", markdown ? ".\n" : "");
  for (size_t i = 0; i < adv->n; i++) {
    const struct site *st = &adv->sites[i];
    if (!st->nproc || !st->nalts) continue;
    base_name(st->filename, loc, sizeof loc);
    group_digits(st->objects, ',', n, sizeof n);
    char py[32];
    hsa_python_version(st->s->meta.python_version, py, sizeof py);
    if (markdown)
      fprintf(f, "### `%s:%d` (%s)\n\n", loc, st->lineno, st->function);
    else
      fprintf(f, "\n%s:%d (%s)\n", loc, st->lineno, st->function);
    const char *ind = markdown ? "- " : "  ";
    if (st->ck != CK_NONE) {
      print_container_head(f, st, ind, markdown);
    } else {
    if (st->ngroups > 1) {
      char all[32];
      group_digits(st->row_objects, ',', all, sizeof all);
      fprintf(f, "%s~%s of %s %s records (one of %u shapes at this line, each advised apart)",
              ind, n, all, rkind_name[st->rk], st->ngroups);
    } else {
      fprintf(f, "%s%s %s records", ind, n, rkind_name[st->rk]);
    }
    if (st->nproc > 1) fprintf(f, " in %d processes", st->nproc);
    fprintf(f, ", shape %s%s%s (%u/%u sampled)\n", markdown ? "`" : "", st->shape,
            markdown ? "`" : "", st->scount, st->ssamples);
    fprintf(f, "%sfields: ", ind);
    for (int k = 0; k < st->nf; k++)
      fprintf(f, "%s%s %s", k ? ", " : "", st->f[k].name, fkind_name[st->f[k].kind]);
    fprintf(f, " -> %s\n",
            !st->numpy_ok ? "arbitrary objects: no numpy layout, slots or namedtuple"
            : st->numeric_kind >= 0 ? "one numeric kind: struct of arrays"
                                    : "mixed kinds: structured array or Arrow table");
    size_text(st->current, t1, sizeof t1);
    size_text((double)st->rec_bytes, t2, sizeof t2);
    size_text((double)st->cont_bytes, t3, sizeof t3);
    size_text((double)st->data, t4, sizeof t4);
    fprintf(f, "%snow: %s (records %s + list of records %s), data %s; object headers %.1f%%, "
               "headers & pointers %.1f%% (python %s)\n",
            ind, t1, t2, t3, t4, st->rec_bytes ? 100.0 * st->header / st->rec_bytes : 0,
            st->rec_bytes ? 100.0 * st->overhead / st->rec_bytes : 0, py);
    }
    if (markdown)
      fprintf(f, "\n| # | layout | estimated | ratio | how |\n|---|---|---:|---:|---|\n");
    for (int k = 0; k < st->nalts; k++) {
      const struct alt *a = &st->alts[k];
      size_text(a->est, t1, sizeof t1);
      if (markdown)
        fprintf(f, "| %d | %s | %s | %.1fx smaller | %s |\n", k + 1, a->kind, t1,
                st->current / a->est, a->detail);
      else
        fprintf(f, "  %d. %-16s %10s  %5.1fx smaller  %s\n", k + 1, a->kind, t1,
                st->current / a->est, a->detail);
    }
    struct sb code = {0};
    gen_code(st, st->alts[0].kind, &code);
    if (markdown) {
      fprintf(f, "\nRewrite (%s):\n\n```python\n%s```\n\n", st->alts[0].kind, sb_str(&code));
    } else {
      fprintf(f, "  rewrite (%s):\n", st->alts[0].kind);
      const char *p = sb_str(&code);
      while (*p) {
        const char *e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        fprintf(f, "    %.*s\n", (int)(e - p), p);
        p = *e ? e + 1 : e;
      }
    }
    free(code.p);
  }
  if (!shown) fprintf(f, "%sno advice: no record site reaches --min-objects\n", markdown ? "\n" : "");
  (void)files;
  (void)nfiles;
}

static void print_json(FILE *f, const struct advice *adv, const char *const *files,
                       size_t nfiles) {
  fputs("{\"recommendations\":[", f);
  int first = 1;
  char dt[32];
  for (size_t i = 0; i < adv->n; i++) {
    const struct site *st = &adv->sites[i];
    if (!st->nproc) continue;
    for (int k = 0; k < st->nalts; k++) {
      const struct alt *a = &st->alts[k];
      fputs(first ? "{\"filename\":" : ",{\"filename\":", f);
      first = 0;
      hsa_json_string(f, st->filename);
      fprintf(f, ",\"lineno\":%d,\"function\":", st->lineno);
      hsa_json_string(f, st->function);
      fputs(",\"kind\":", f);
      hsa_json_string(f, a->kind);
      fprintf(f, ",\"rank\":%d,\"objects\":%" PRIu64 ",\"fields\":[", k + 1, st->objects);
      for (int j = 0; j < st->nf; j++) {
        fputs(j ? ",{\"name\":" : "{\"name\":", f);
        hsa_json_string(f, st->f[j].name);
        fputs(",\"type\":", f);
        hsa_json_string(f, fkind_name[st->f[j].kind]);
        fputs(",\"observed\":", f);
        hsa_json_string(f, st->f[j].type);
        fputs(",\"dtype\":", f);
        hsa_json_string(f, dtype_label(&st->f[j], dt, sizeof dt));
        fputc('}', f);
      }
      fprintf(f, "],\"current_bytes\":%.0f,\"estimated_bytes\":%.0f,\"ratio\":%.4f", st->current,
              a->est, a->est > 0 ? st->current / a->est : 0.0);
      fprintf(f, ",\"saving_bytes\":%.0f,\"record_bytes\":%" PRIu64 ",\"container_bytes\":%" PRIu64
                 ",\"boxed_bytes\":%" PRIu64 ",\"header_share\":%.4f,\"overhead_share\":%.4f",
              st->current - a->est, st->rec_bytes, st->cont_bytes, st->boxes,
              st->rec_bytes ? (double)st->header / st->rec_bytes : 0,
              st->rec_bytes ? (double)st->overhead / st->rec_bytes : 0);
      fputs(",\"type\":", f);
      hsa_json_string(f, st->type);
      fputs(",\"record\":", f);
      hsa_json_string(f, rkind_name[st->rk]);
      fputs(",\"shape\":", f);
      hsa_json_string(f, st->shape);
      fprintf(f, ",\"shape_count\":%u,\"shape_samples\":%u,\"str_width_assumed\":%s,"
                 "\"str_width\":\"%s\",\"shape_groups\":%u,\"row_objects\":%" PRIu64,
              st->scount, st->ssamples, st->str_assumed ? "true" : "false",
              st->str_assumed ? "assumed" : st->str_longest ? "longest" : "average", st->ngroups,
              st->row_objects);
      fprintf(f, ",\"container\":\"%s\",\"elements\":%" PRIu64 ",\"columns\":%" PRIu64
                 ",\"containers\":%" PRIu64 ",\"unknown_elements\":%" PRIu64
                 ",\"processes\":%d,\"pids\":[",
              st->ck == CK_SEQ ? "sequence" : st->ck == CK_2D ? "2d" : st->ck == CK_DICT ? "dict" : "",
              st->nelem, st->ncols, st->ncontainers, st->nunknown, st->nproc);
      for (int j = 0; j < st->nproc && j < ADV_MAX_PIDS; j++) fprintf(f, "%s%u", j ? "," : "", st->pids[j]);
      fputs("],\"detail\":", f);
      hsa_json_string(f, a->detail);
      struct sb code = {0};
      gen_code(st, a->kind, &code);
      fputs(",\"code\":", f);
      hsa_json_string(f, sb_str(&code));
      free(code.p);
      fputs(",\"snapshot\":", f);
      hsa_json_string(f, st->snapshot_path);
      fputc('}', f);
    }
  }
  fprintf(f, "],\"min_objects\":%" PRIu64 ",\"ram_bytes\":%.0f,\"below_threshold\":%zu,"
             "\"snapshots\":[", adv->min_objects, adv->ram, adv->below);
  for (size_t i = 0; i < nfiles; i++) {
    if (i) fputc(',', f);
    hsa_json_string(f, files[i]);
  }
  fputs("]}\n", f);
}

/* ---- command ---- */

static double machine_ram(void) {
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && psize > 0 ? (double)pages * (double)psize : 1e300;
}

int hsa_cli_advise(int argc, char **argv) { return hsa_advise_main(argc, argv, stdout); }

/* hsa_advise_loaded's snapshot and symbolizer, used by hsa_advise_main instead of reading the
 * file and making its own (run's summary: one read, one symbolization; issue 18). */
static const struct hsa_snapshot *pre_snap;
static struct hsa_symbolizer *pre_sym;

int hsa_advise_loaded(FILE *out, const struct hsa_snapshot *s, const char *path,
                      struct hsa_symbolizer *sym, long limit) {
  char a0[] = "advise", a2[] = "--limit", a3[32];
  snprintf(a3, sizeof a3, "%ld", limit);
  char *argv[] = {a0, (char *)path, a2, a3, NULL};
  pre_snap = s;
  pre_sym = sym;
  int rc = hsa_advise_main(4, argv, out);
  pre_snap = NULL;
  pre_sym = NULL;
  return rc;
}

int hsa_advise_main(int argc, char **argv, FILE *out) {
  struct advice adv;
  memset(&adv, 0, sizeof adv);
  adv.min_objects = 100000;
  adv.ram = machine_ram();
  int fmt = 0; /* 0 text, 1 markdown, 2 json */
  long limit = 0;
  const char **files = calloc((size_t)argc + 1, sizeof *files);
  size_t nfiles = 0;
  if (!files) return hsa_cli_error("out of memory");
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    size_t alen = strlen(a);
    const char *v = NULL;
#define OPT(name)                                                                     \
  (strncmp(a, name, strlen(name)) == 0 && (a[strlen(name)] == '\0' || a[strlen(name)] == '=') && \
   (v = a[strlen(name)] == '=' ? a + strlen(name) + 1 : (i + 1 < argc ? argv[++i] : NULL), 1))
    if (OPT("--min-objects")) {
      char *end;
      errno = 0;
      unsigned long long m = v ? strtoull(v, &end, 10) : 0;
      if (!v || errno || end == v || *end || v[0] == '-') {
        rc = hsa_cli_error("bad --min-objects \"%s\"; use a number of records >= 0", v ? v : "");
        goto out;
      }
      adv.min_objects = m;
    } else if (OPT("--ram")) {
      if (!v || hsa_parse_size(v, &adv.ram) != 0 || adv.ram <= 0) {
        rc = hsa_cli_error("bad --ram \"%s\"; use a size like 16G or 512MiB", v ? v : "");
        goto out;
      }
      adv.ram_given = 1;
    } else if (OPT("--format")) {
      if (v && strcmp(v, "text") == 0) fmt = 0;
      else if (v && strcmp(v, "markdown") == 0) fmt = 1;
      else if (v && strcmp(v, "json") == 0) fmt = 2;
      else {
        rc = hsa_cli_error("bad --format \"%s\"; use text, markdown or json", v ? v : "");
        goto out;
      }
    } else if (OPT("--limit")) {
      char *end;
      errno = 0;
      limit = v ? strtol(v, &end, 10) : -1;
      if (!v || errno || end == v || *end || limit < 0) {
        rc = hsa_cli_error("bad --limit \"%s\"; use a number >= 0 (0 = all)", v ? v : "");
        goto out;
      }
    } else if (a[0] == '-' && alen > 1) {
      rc = hsa_cli_error("unknown option \"%s\" for advise; see heapshape advise --help", a);
      goto out;
    } else {
      files[nfiles++] = a;
    }
#undef OPT
  }
  if (!nfiles) {
    rc = hsa_cli_error("advise needs a snapshot file: heapshape advise FILE [FILE...]");
    goto out;
  }
  struct hsa_snapshot *snaps = calloc(nfiles, sizeof *snaps);
  struct hsa_anatomy *ans = calloc(nfiles, sizeof *ans);
  const struct hsa_snapshot *given = nfiles == 1 ? pre_snap : NULL;
  struct hsa_symbolizer *sym = pre_sym ? pre_sym : hsa_symbolizer_new();
  if (!pre_sym) hsa_symbolizer_set_warnings(sym, stderr);
  size_t loaded = 0, computed = 0;
  if (!snaps || !ans || !sym) {
    rc = hsa_cli_error("out of memory");
    goto done;
  }
  struct hsa_options opt;
  memset(&opt, 0, sizeof opt);
  opt.key = HSA_KEY_LINENO;
  for (; loaded < nfiles; loaded++) {
    struct hsa_error err;
    if (given) {
      snaps[loaded] = *given; /* borrowed: not freed below */
      continue;
    }
    if (hsa_snapshot_read_file(files[loaded], &snaps[loaded], &err) != 0) {
      rc = hsa_cli_error("%s", err.msg);
      goto done;
    }
  }
  for (; computed < nfiles; computed++) {
    struct hsa_error err;
    if (hsa_anatomy_compute(&snaps[computed], &opt, sym, &ans[computed], &err) != 0) {
      rc = hsa_cli_error("%s", err.msg);
      goto done;
    }
    const struct hsa_anatomy *an = &ans[computed];
    for (size_t r = 0; r < an->n; r++) {
      const struct hsa_anat_row *row = &an->rows[r];
      uint8_t used[64];
      memset(used, 0, sizeof used);
      struct site cs;
      /* a homogeneous numeric container first: its row's inner lists are not records */
      int ncont = make_container_site(&snaps[computed], an, row, sym, &cs);
      for (size_t g = 0; g < row->nshapes + (size_t)ncont && g < 64; g++) {
        struct site st;
        if (g == row->nshapes) st = cs;
        else if (ncont && cs.ck == CK_2D) continue;
        else if (!make_site(&snaps[computed], an, row, g, used, &st)) continue;
        if (adv.n == adv.cap) {
          size_t cap = adv.cap ? 2 * adv.cap : 16;
          struct site *p = realloc(adv.sites, cap * sizeof *p);
          if (!p) {
            rc = hsa_cli_error("out of memory");
            goto done;
          }
          adv.sites = p;
          adv.cap = cap;
        }
        adv.sites[adv.n++] = st;
      }
    }
  }
  /* the rows of a 2-D site are its inner lists: one recommendation, the 2-D array */
  for (size_t i = 0; i < adv.n; i++) {
    const struct site *c = &adv.sites[i];
    if (c->ck != CK_2D) continue;
    for (size_t j = 0; j < adv.n; j++) {
      struct site *o = &adv.sites[j];
      if (o->ck == CK_NONE && o->s == c->s && o->rk == RK_LIST &&
          (uint64_t)o->nf == c->ncols && o->lineno == c->lineno &&
          strcmp(o->filename, c->filename) == 0)
        o->covered = 1;
    }
  }
  /* thresholds per process; then group the same site across processes */
  size_t kept = 0;
  for (size_t i = 0; i < adv.n; i++) {
    if (adv.sites[i].covered) continue;
    /* a row of several shapes: the row's records decide, and each shape gets its advice */
    uint64_t count = adv.sites[i].ngroups > 1 ? adv.sites[i].row_objects : adv.sites[i].objects;
    if (count < adv.min_objects) {
      adv.below++;
      continue;
    }
    adv.sites[kept++] = adv.sites[i];
  }
  adv.n = kept;
  qsort(adv.sites, adv.n, sizeof *adv.sites, cmp_site);
  for (size_t i = 0; i < adv.n; i++) {
    struct site *g = &adv.sites[i];
    if (!g->nproc) continue;
    for (size_t j = i + 1; j < adv.n; j++) {
      struct site *o = &adv.sites[j];
      if (!o->nproc || o->s == g->s || !same_site(g, o)) continue;
      merge_into(g, o);
      o->nproc = 0;
    }
  }
  for (size_t i = 0; i < adv.n; i++) {
    struct site *st = &adv.sites[i];
    if (!st->nproc) continue;
    if (st->nproc > 1 && st->numpy_ok && st->ck == CK_NONE) {
      /* one copy, shared, instead of one per process */
      double one = est_numpy(st, (double)st->max_objects);
      char t1[32];
      size_text(st->current - one, t1, sizeof t1);
      add_alt(st, "shared-memory", one,
              "%d processes build the same records: one copy in multiprocessing.shared_memory "
              "with numpy views saves %s over all of them", st->nproc, t1);
    }
    compute_alts(st, adv.ram);
  }
  qsort(adv.sites, adv.n, sizeof *adv.sites, cmp_site);
  if (limit > 0) {
    size_t shown = 0;
    for (size_t i = 0; i < adv.n; i++)
      if (adv.sites[i].nproc && adv.sites[i].nalts && ++shown > (size_t)limit) adv.sites[i].nproc = 0;
  }
  if (fmt == 2) print_json(out, &adv, files, nfiles);
  else print_text(out, &adv, fmt == 1, files, nfiles);
  if (ferror(out) || fflush(out) != 0) {
    fprintf(stderr, "heapshape: error: writing the advice failed: %s\n", strerror(errno));
    rc = 1;
  }
done:
  free(adv.sites);
  while (computed > 0) hsa_anatomy_free(&ans[--computed]);
  while (!given && loaded > 0) hsa_snapshot_free(&snaps[--loaded]);
  free(ans);
  free(snaps);
  if (sym != pre_sym) hsa_symbolizer_free(sym);
out:
  free(files);
  return rc;
}
