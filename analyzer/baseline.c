/* heapshape analyzer: baseline files (see baseline.h). */
#include "analyzer/baseline.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/reader.h"
#include "analyzer/report.h"

/* ---- sizes and percentages ---- */

int hsa_parse_size(const char *text, double *bytes) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || !isfinite(v) || v < 0) return -1;
  while (*end == ' ') end++;
  char unit[8];
  size_t n = 0;
  for (; *end && n < sizeof unit - 1; end++) unit[n++] = (char)tolower((unsigned char)*end);
  unit[n] = '\0';
  if (*end) return -1;
  static const struct {
    const char *name;
    double mult;
  } units[] = {
      {"", 1},       {"b", 1},
      {"k", 1024.0}, {"kb", 1024.0}, {"kib", 1024.0},
      {"m", 1048576.0}, {"mb", 1048576.0}, {"mib", 1048576.0},
      {"g", 1073741824.0}, {"gb", 1073741824.0}, {"gib", 1073741824.0},
      {"t", 1099511627776.0}, {"tb", 1099511627776.0}, {"tib", 1099511627776.0},
  };
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcmp(unit, units[i].name) == 0) {
      *bytes = v * units[i].mult;
      return 0;
    }
  }
  return -1;
}

int hsa_parse_percent(const char *text, double *pct) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || !isfinite(v) || v < 0) return -1;
  if (*end == '%') end++;
  if (*end) return -1;
  *pct = v;
  return 0;
}

/* ---- relativize ---- */

int hsa_snapshot_relativize(struct hsa_snapshot *s, const char *root, struct hsa_error *err) {
  if (!root || !root[0]) return 0;
  size_t rl = strlen(root);
  while (rl > 1 && root[rl - 1] == '/') rl--;
  for (uint32_t i = 0; i < s->nframes; i++) {
    struct hs_frame_rec *f = &s->frames[i];
    if (f->kind != HS_FRAME_PYTHON) continue;
    const char *name = hsa_snapshot_string(s, f->filename_sid);
    if (strncmp(name, root, rl) != 0 || name[rl] != '/' || !name[rl + 1]) continue;
    char *rel = strdup(name + rl + 1); /* add_string may move s->strings */
    if (!rel) return hsa_fail(err, "out of memory");
    uint32_t sid;
    int rc = hsa_snapshot_add_string(s, rel, &sid, err);
    free(rel);
    if (rc != 0) return -1;
    s->frames[i].filename_sid = sid;
  }
  return 0;
}

/* ---- writing ---- */

double hsa_baseline_min_size = 0;

static void write_escaped(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '\\') fputs("\\\\", f);
    else if (*s == '\t') fputs("\\t", f);
    else if (*s == '\n') fputs("\\n", f);
    else if (*s == '\r') fputs("\\r", f);
    else fputc(*s, f);
  }
}

struct bl_row {
  char *filename; /* owned */
  int lineno;
  uint64_t size, count, peak;
};

static int cmp_row(const void *pa, const void *pb) {
  const struct bl_row *a = pa, *b = pb;
  int c = strcmp(a->filename, b->filename);
  if (c) return c;
  return (a->lineno > b->lineno) - (a->lineno < b->lineno);
}

int hsa_baseline_all_sites = 0;

int hsa_is_startup_file(const char *f) {
  return strncmp(f, "<frozen ", 8) == 0 || strcmp(f, "<unknown>") == 0;
}

int hsa_baseline_write(FILE *f, const struct hsa_snapshot *s, enum hsa_key key,
                       struct hsa_symbolizer *sym, struct hsa_error *err) {
  if (key != HSA_KEY_LINENO && key != HSA_KEY_FILENAME)
    return hsa_fail(err, "a baseline groups by lineno or filename");
  /* One row per site (innermost frame resolved as the stats code does), then sort and merge
   * equal keys: the same groups as `heapshape stats --key KEY`, plus the peaks. */
  struct bl_row *rows = calloc(s->nsites ? s->nsites : 1, sizeof *rows);
  size_t nrows = 0;
  if (!rows) return hsa_fail(err, "out of memory writing a baseline");
  for (uint32_t i = 0; i < s->nsites; i++) {
    const struct hsa_site *site = &s->sites[i];
    if (!site->live_count && !(hsa_baseline_all_sites && site->peak_live_bytes)) continue;
    struct hsa_frame_text ft;
    char buf[4200];
    hsa_frame_resolve(s, hsa_site_key_frame(s, site), sym, key, &ft, buf, sizeof buf);
    struct bl_row *r = &rows[nrows];
    if (!(r->filename = strdup(ft.filename))) {
      for (size_t k = 0; k < nrows; k++) free(rows[k].filename);
      free(rows);
      return hsa_fail(err, "out of memory writing a baseline");
    }
    r->lineno = ft.lineno;
    r->size = site->live_bytes;
    r->count = site->live_count;
    r->peak = site->peak_live_bytes;
    nrows++;
  }
  qsort(rows, nrows, sizeof *rows, cmp_row);
  size_t out = 0;
  for (size_t i = 0; i < nrows; i++) {
    if (out && cmp_row(&rows[out - 1], &rows[i]) == 0) {
      rows[out - 1].size += rows[i].size;
      rows[out - 1].count += rows[i].count;
      rows[out - 1].peak += rows[i].peak;
      free(rows[i].filename);
    } else {
      rows[out++] = rows[i];
    }
  }
  nrows = out;
  char py[32];
  hsa_python_version(s->meta.python_version, py, sizeof py);
  const struct hs_meta *m = &s->meta;
  fprintf(f, HSA_BASELINE_MAGIC "%d\n", HSA_BASELINE_VERSION);
  fputs("# Written by `heapshape baseline save`; check a new snapshot against it with\n"
        "# `heapshape check BASELINE NEW`. Sites: live memory grouped by the innermost frame\n"
        "# (filename, lineno, size, count, peak), sorted by file name and line.\n",
        f);
  fprintf(f, "key\t%s\n", key == HSA_KEY_LINENO ? "lineno" : "filename");
  fputs("program\t", f);
  write_escaped(f, hsa_snapshot_string(s, m->program_sid));
  fprintf(f, "\npython\t%s\n", py);
  fprintf(f,
          "total\tlive_bytes\t%" PRIu64 "\tlive_count\t%" PRIu64 "\tpeak_live_bytes\t%" PRIu64
          "\talloc_bytes\t%" PRIu64 "\tallocs\t%" PRIu64 "\n",
          m->live_bytes, m->live_count, m->peak_live_bytes, m->total_alloc_bytes,
          m->total_allocs);
  /* The interpreter's start-up lines (<frozen ...> and <unknown>) below --min-size are summed
   * into one line, "<frozen ...>" 0: `check` compares the total of the start-up lines, which
   * the small ones are part of (what start-up holds moves between them from run to run). */
  struct bl_row small = {NULL, 0, 0, 0, 0};
  int small_written = 0;
  for (size_t i = 0; i < nrows; i++)
    if ((double)rows[i].size < hsa_baseline_min_size && hsa_is_startup_file(rows[i].filename)) {
      small.size += rows[i].size;
      small.count += rows[i].count;
      small.peak += rows[i].peak;
    }
  for (size_t i = 0; i <= nrows; i++) {
    if (!small_written && small.count && (i == nrows || strcmp(rows[i].filename, HSA_STARTUP_SMALL) > 0)) {
      small_written = 1;
      fputs("site\t" HSA_STARTUP_SMALL, f);
      fprintf(f, "\t0\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", small.size, small.count, small.peak);
    }
    if (i == nrows) break;
    if ((double)rows[i].size < hsa_baseline_min_size && !(hsa_baseline_all_sites && !rows[i].count))
      continue;
    fputs("site\t", f);
    write_escaped(f, rows[i].filename);
    fprintf(f, "\t%d\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", rows[i].lineno, rows[i].size,
            rows[i].count, rows[i].peak);
  }
  for (size_t i = 0; i < nrows; i++) free(rows[i].filename);
  free(rows);
  if (ferror(f)) return hsa_fail(err, "writing the baseline failed: %s", strerror(errno));
  return 0;
}

/* ---- reading ---- */

static void unescape(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (*s == '\\' && s[1]) {
      s++;
      *o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s;
    } else {
      *o++ = *s;
    }
  }
  *o = '\0';
}

/* Splits line (modified) at tabs into at most max fields; returns the count. */
static size_t split_tabs(char *line, char **fields, size_t max) {
  size_t n = 0;
  char *p = line;
  while (n < max) {
    fields[n++] = p;
    char *t = strchr(p, '\t');
    if (!t) break;
    *t = '\0';
    p = t + 1;
  }
  return n;
}

static int parse_u64(const char *s, uint64_t *v) {
  if (!*s || !isdigit((unsigned char)*s)) return -1;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || *end) return -1;
  *v = x;
  return 0;
}

static int parse_baseline(FILE *f, const char *path, struct hsa_snapshot *out, enum hsa_key *key,
                          struct hsa_error *err) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  unsigned lineno = 0;
  int have_key = 0, have_total = 0, rc = -1;
  while ((len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (lineno == 1) {
      size_t ml = strlen(HSA_BASELINE_MAGIC);
      if (strncmp(line, HSA_BASELINE_MAGIC, ml) != 0) {
        hsa_fail(err, "%s: not a heapshape baseline (the first line is not \"%sN\")", path,
                 HSA_BASELINE_MAGIC);
        goto out;
      }
      uint64_t v;
      if (parse_u64(line + ml, &v) != 0 || v != HSA_BASELINE_VERSION) {
        hsa_fail(err, "%s: baseline format version \"%s\"; this heapshape reads version %d "
                 "(save the baseline again with this heapshape)",
                 path, line + ml, HSA_BASELINE_VERSION);
        goto out;
      }
      continue;
    }
    if (line[0] == '#' || line[0] == '\0') continue;
    char *fl[12];
    size_t nf = split_tabs(line, fl, 12);
    if (strcmp(fl[0], "key") == 0 && nf == 2) {
      if (strcmp(fl[1], "lineno") == 0) *key = HSA_KEY_LINENO;
      else if (strcmp(fl[1], "filename") == 0) *key = HSA_KEY_FILENAME;
      else goto bad;
      have_key = 1;
    } else if (strcmp(fl[0], "program") == 0 && nf == 2) {
      unescape(fl[1]);
      if (hsa_snapshot_set_program(out, fl[1], "", err) != 0) goto out;
    } else if (strcmp(fl[0], "python") == 0 && nf == 2) {
      unsigned a = 0, b = 0, c = 0;
      if (sscanf(fl[1], "%u.%u.%u", &a, &b, &c) == 3)
        out->meta.python_version = (a << 24) | (b << 16) | (c << 8) | 0xf0;
    } else if (strcmp(fl[0], "total") == 0 && nf % 2 == 1) {
      for (size_t i = 1; i + 1 < nf; i += 2) {
        uint64_t v;
        if (parse_u64(fl[i + 1], &v) != 0) goto bad;
        if (strcmp(fl[i], "live_bytes") == 0) out->meta.live_bytes = v;
        else if (strcmp(fl[i], "live_count") == 0) out->meta.live_count = v;
        else if (strcmp(fl[i], "peak_live_bytes") == 0) out->meta.peak_live_bytes = v;
        else if (strcmp(fl[i], "alloc_bytes") == 0) out->meta.total_alloc_bytes = v;
        else if (strcmp(fl[i], "allocs") == 0) out->meta.total_allocs = v;
        /* unknown names: written by a newer heapshape of the same version; ignore */
      }
      have_total = 1;
    } else if (strcmp(fl[0], "site") == 0 && nf == 6) {
      uint64_t ln, size, count, peak;
      if (parse_u64(fl[2], &ln) != 0 || ln > INT32_MAX || parse_u64(fl[3], &size) != 0 ||
          parse_u64(fl[4], &count) != 0 || parse_u64(fl[5], &peak) != 0)
        goto bad;
      unescape(fl[1]);
      uint32_t fid;
      if (hsa_snapshot_add_frame(out, HS_FRAME_PYTHON, (int32_t)ln, fl[1], "", 0, &fid, err))
        goto out;
      struct hsa_site site;
      memset(&site, 0, sizeof site);
      site.domain = HS_DOMAIN_MALLOC;
      site.nframes = 1;
      site.frames = &fid;
      site.allocs = count;
      site.alloc_bytes = size;
      site.live_count = count;
      site.live_bytes = size;
      site.peak_live_bytes = peak;
      if (hsa_snapshot_add_site(out, &site, err) != 0) goto out;
    } else {
      goto bad;
    }
  }
  if (ferror(f)) {
    hsa_fail(err, "%s: read error: %s", path, strerror(errno));
    goto out;
  }
  if (lineno == 0) {
    hsa_fail(err, "%s: not a heapshape baseline (the file is empty)", path);
    goto out;
  }
  if (!have_key || !have_total) {
    hsa_fail(err, "%s: corrupt baseline: no \"%s\" line; the file is incomplete", path,
             have_key ? "total" : "key");
    goto out;
  }
  out->meta.reason = HS_REASON_EXIT;
  rc = 0;
  goto out;
bad:
  hsa_fail(err, "%s:%u: corrupt baseline: unexpected line (expected key, program, python, "
           "total or site with tab-separated fields)",
           path, lineno);
out:
  free(line);
  return rc;
}

int hsa_baseline_read_file(const char *path, struct hsa_snapshot *out, enum hsa_key *key,
                           struct hsa_error *err) {
  hsa_snapshot_init(out);
  FILE *f = fopen(path, "r");
  if (!f) return hsa_fail(err, "%s: cannot open: %s", path, strerror(errno));
  enum hsa_key k = HSA_KEY_LINENO;
  int rc = parse_baseline(f, path, out, &k, err);
  fclose(f);
  if (rc == 0 && !(out->path = strdup(path))) rc = hsa_fail(err, "%s: out of memory", path);
  if (rc != 0) {
    hsa_snapshot_free(out);
    return -1;
  }
  if (key) *key = k;
  return 0;
}

int hsa_input_read_file(const char *path, struct hsa_snapshot *out, int *is_baseline,
                        enum hsa_key *key, struct hsa_error *err) {
  hsa_snapshot_init(out);
  FILE *f = fopen(path, "rb");
  if (!f) return hsa_fail(err, "%s: cannot open: %s", path, strerror(errno));
  char head[32] = "";
  size_t got = fread(head, 1, sizeof head - 1, f);
  fclose(f);
  size_t ml = strlen(HSA_BASELINE_MAGIC);
  if (got >= ml && memcmp(head, HSA_BASELINE_MAGIC, ml) == 0) {
    if (is_baseline) *is_baseline = 1;
    return hsa_baseline_read_file(path, out, key, err);
  }
  if (is_baseline) *is_baseline = 0;
  if (got >= 1 && memcmp(head, HS_MAGIC, got < HS_MAGIC_LEN ? got : HS_MAGIC_LEN) == 0)
    return hsa_snapshot_read_file(path, out, err);
  return hsa_fail(err,
                  "%s: neither a heapshape snapshot (.hsnap) nor a baseline (%s); give a file "
                  "written by heapshape run or heapshape baseline save",
                  path, got ? "unrecognized first bytes" : "the file is empty");
}
