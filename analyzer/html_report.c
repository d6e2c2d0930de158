/* heapshape analyzer: the HTML report (see html_report.h). The page's code is
 * analyzer/report/{boot.js,report.js,report.css}, embedded by the genrule report_assets. */
#include "analyzer/html_report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uthash.h>

#include "analyzer/advise.h"
#include "analyzer/anatomy_report.h"
#include "analyzer/errors.h"
#include "analyzer/help.h"
#include "analyzer/version.h"
#include "analyzer/reader.h"
#include "analyzer/report.h"
#include "analyzer/stacks.h"
#include "analyzer/stats.h"
#include "analyzer/timeline.h"

/* generated from analyzer/report/ (report_assets.c) */
extern const char hsa_asset_boot_js[];
extern const char hsa_asset_report_js[];
extern const char hsa_asset_report_css[];


/* ---- labels shared by both snapshots of a diff ---- */

struct glabel {
  char *text;
  uint32_t id;
  UT_hash_handle hh;
};

struct tkey {
  uint32_t parent, label;
};

struct tnode {
  struct tkey k;
  uint32_t id;
  UT_hash_handle hh;
};

struct tree {
  struct glabel *labels;
  char **ltext;
  char *kinds;
  uint32_t nlabels, caplabels;
  struct tnode *index;
  uint32_t n, cap; /* nodes 1..n; slot 0 is the root */
  uint32_t *parent, *label;
  uint64_t (*val)[4];
  int oom;
};

static uint32_t glabel_id(struct tree *t, const char *text, char kind) {
  struct glabel *g = NULL;
  HASH_FIND_STR(t->labels, text, g);
  if (g) return g->id;
  if (t->nlabels == t->caplabels) {
    uint32_t cap = t->caplabels ? 2 * t->caplabels : 256;
    char **p = realloc(t->ltext, cap * sizeof *p);
    char *k = p ? realloc(t->kinds, cap + 1) : NULL;
    if (p) t->ltext = p;
    if (!p || !k) {
      t->oom = 1;
      return 0;
    }
    t->kinds = k;
    t->caplabels = cap;
  }
  if (!(g = calloc(1, sizeof *g)) || !(g->text = strdup(text))) {
    free(g);
    t->oom = 1;
    return 0;
  }
  g->id = t->nlabels;
  t->ltext[t->nlabels] = g->text;
  t->kinds[t->nlabels++] = kind;
  t->kinds[t->nlabels] = '\0';
  HASH_ADD_KEYPTR(hh, t->labels, g->text, strlen(g->text), g);
  return g->id;
}

static uint32_t tree_child(struct tree *t, uint32_t parent, uint32_t label) {
  struct tkey k = {parent, label};
  struct tnode *e = NULL;
  HASH_FIND(hh, t->index, &k, sizeof k, e);
  if (e) return e->id;
  if (t->n + 1 >= t->cap) {
    uint32_t cap = t->cap ? 2 * t->cap : 1024;
    uint32_t *p = realloc(t->parent, cap * sizeof *p);
    if (p) t->parent = p;
    uint32_t *l = realloc(t->label, cap * sizeof *l);
    if (l) t->label = l;
    uint64_t(*v)[4] = realloc(t->val, cap * sizeof *v);
    if (v) t->val = v;
    if (!p || !l || !v) {
      t->oom = 1;
      return 0;
    }
    t->cap = cap;
  }
  if (!(e = calloc(1, sizeof *e))) {
    t->oom = 1;
    return 0;
  }
  uint32_t id = ++t->n;
  t->parent[id] = parent;
  t->label[id] = label;
  memset(t->val[id], 0, sizeof t->val[id]);
  e->k = k;
  e->id = id;
  HASH_ADD(hh, t->index, k, sizeof k, e);
  return id;
}

/* Adds the sites of s to the tree: view 0 (columns 0, 1) or view 1 (columns 2, 3); peak takes
 * the values of the peak copy. */
static int tree_add(struct tree *t, const struct hsa_stacks *st, int view, int peak) {
  const struct hsa_snapshot *s = st->s;
  uint32_t *map = malloc((st->nlabels ? st->nlabels : 1) * sizeof *map);
  if (!map) return -1;
  for (uint32_t l = 0; l < st->nlabels; l++) map[l] = UINT32_MAX;
  for (uint32_t i = 0; i < s->nframes; i++) {
    const struct hsa_stack_frame *f = &st->frames[i];
    if (map[f->label] == UINT32_MAX)
      map[f->label] = glabel_id(t, st->labels[f->label], f->native ? 'n' : f->unknown ? 'u' : 'p');
  }
  for (uint32_t i = 0; i < s->nsites && !t->oom; i++) {
    uint64_t bytes, blocks;
    hsa_stacks_site_value(s, i, peak, &bytes, &blocks);
    if (!bytes && !blocks) continue;
    const struct hsa_site *site = &s->sites[i];
    uint32_t node = 0;
    for (int k = site->nframes - 1; k >= 0 && !t->oom; k--)
      node = tree_child(t, node, map[st->frames[site->frames[k]].label]);
    if (t->oom) break;
    t->val[node][2 * view] += bytes;
    t->val[node][2 * view + 1] += blocks;
  }
  free(map);
  return t->oom ? -1 : 0;
}

static void tree_free(struct tree *t) {
  struct glabel *g, *gt;
  HASH_ITER(hh, t->labels, g, gt) {
    HASH_DEL(t->labels, g);
    free(g->text);
    free(g);
  }
  struct tnode *e, *et;
  HASH_ITER(hh, t->index, e, et) {
    HASH_DEL(t->index, e);
    free(e);
  }
  free(t->ltext);
  free(t->kinds);
  free(t->parent);
  free(t->label);
  free(t->val);
}

/* ---- the data document ---- */

static void meta_json(FILE *j, const struct hsa_snapshot *s) {
  char py[32];
  hsa_python_version(s->meta.python_version, py, sizeof py);
  fputs("{\"path\":", j);
  hsa_json_string(j, s->path ? s->path : "");
  fputs(",\"program\":", j);
  hsa_json_string(j, hsa_snapshot_string(s, s->meta.program_sid));
  fputs(",\"cmdline\":", j);
  hsa_json_string(j, hsa_snapshot_string(s, s->meta.cmdline_sid));
  fprintf(j,
          ",\"pid\":%u,\"python\":\"%s\",\"reason\":\"%s\",\"time_ns\":%" PRIu64
          ",\"start_ns\":%" PRIu64 ",\"live_bytes\":%" PRIu64 ",\"live_blocks\":%" PRIu64
          ",\"peak_bytes\":%" PRIu64 ",\"allocs\":%" PRIu64 ",\"alloc_bytes\":%" PRIu64
          ",\"sites\":%u,\"sample_rate\":%" PRIu64 ",\"has_peak\":%s,\"peak_copy_bytes\":%" PRIu64
          ",\"peak_copy_t\":%.6f,\"format_version\":%u,\"heapshape\":\"%s\"}",
          s->meta.pid, py, hsa_reason_name(s->meta.reason), s->meta.time_ns,
          s->meta.start_time_ns, s->meta.live_bytes, s->meta.live_count,
          s->meta.peak_live_bytes, s->meta.total_allocs, s->meta.total_alloc_bytes, s->nsites,
          s->meta.sample_rate, hsa_snapshot_has_peak(s) ? "true" : "false", s->peak_live_bytes,
          (double)s->peak_time_ns / 1e9, s->version, HSA_VERSION);
}

static int stats_json(FILE *j, const struct hsa_snapshot *old, const struct hsa_snapshot *s,
                      int peak, struct hsa_symbolizer *sym, struct hsa_error *err) {
  struct hsa_options opt;
  struct hsa_stats st;
  memset(&opt, 0, sizeof opt);
  opt.key = HSA_KEY_LINENO;
  opt.peak = peak;
  int r = old ? hsa_stats_diff(old, s, &opt, sym, &st, err) : hsa_stats_compute(s, &opt, sym, &st, err);
  if (r != 0) return -1;
  /* hsa_report_json ends with a newline; harmless inside the document */
  hsa_report_json(j, &st, HSA_HTML_TABLE_ROWS);
  fprintf(j, ",\"stats_rows\":%zu", st.n);
  hsa_stats_free(&st);
  return 0;
}

static void advice_json(FILE *j, const struct hsa_snapshot *s) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  int ok = 0;
  if (m) {
    char *argv[] = {(char *)"advise", (char *)s->path, (char *)"--format", (char *)"json", NULL};
    ok = hsa_advise_main(4, argv, m) == 0;
    fclose(m);
  }
  if (ok && len) fwrite(buf, 1, len, j);
  else fputs("null", j);
  free(buf);
}

static int data_json(FILE *j, const struct hsa_snapshot *old, const struct hsa_snapshot *s,
                     struct hsa_symbolizer *sym, struct hsa_error *err) {
  struct tree t;
  struct hsa_stacks st_new, st_old;
  int have_new = 0, have_old = 0, rc = -1;
  memset(&t, 0, sizeof t);
  int peak = !old && hsa_snapshot_has_peak(s);
  if (hsa_stacks_init(&st_new, s, sym, err) != 0) goto out;
  have_new = 1;
  if (tree_add(&t, &st_new, 0, 0) != 0) goto oom;
  if (old) {
    if (hsa_stacks_init(&st_old, old, sym, err) != 0) goto out;
    have_old = 1;
    if (tree_add(&t, &st_old, 1, 0) != 0) goto oom;
  } else if (peak && tree_add(&t, &st_new, 1, 1) != 0) {
    goto oom;
  }
  fprintf(j, "{\"format\":1,\"diff\":%s,\"meta\":", old ? "true" : "false");
  meta_json(j, s);
  fputs(",\"old_meta\":", j);
  if (old) meta_json(j, old);
  else fputs("null", j);
  fprintf(j, ",\"views\":%s,\"labels\":[",
          old ? "[\"new\",\"old\"]" : peak ? "[\"now\",\"peak\"]" : "[\"now\"]");
  for (uint32_t l = 0; l < t.nlabels; l++) {
    if (l) fputc(',', j);
    hsa_json_string(j, t.ltext[l]);
  }
  fprintf(j, "],\"kinds\":\"%s\",\"stride\":6,\"nodes\":[", t.kinds ? t.kinds : "");
  for (uint32_t k = 1; k <= t.n; k++)
    fprintf(j, "%s%u,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, k > 1 ? "," : "",
            t.parent[k], t.label[k], t.val[k][0], t.val[k][1], t.val[k][2], t.val[k][3]);
  fputs("],\"stats\":", j);
  if (stats_json(j, old, s, 0, sym, err) != 0) goto out;
  fputs(",\"stats_peak\":", j);
  if (peak) {
    if (stats_json(j, NULL, s, 1, sym, err) != 0) goto out;
  } else {
    fputs("null", j);
  }
  fputs(",\"timeline\":", j);
  if (s->version >= 3 && s->ntime > 0) {
    if (hsa_timeline_report_json(j, s, sym, err) != 0) goto out;
  } else {
    fputs("null", j);
  }
  fputs(",\"anatomy\":", j);
  if (hsa_snapshot_has_anatomy(s)) {
    struct hsa_options opt;
    struct hsa_anatomy an;
    memset(&opt, 0, sizeof opt);
    if (hsa_anatomy_compute(s, &opt, sym, &an, err) != 0) goto out;
    hsa_anatomy_report_json(j, s, &an, HSA_HTML_ANATOMY_ROWS);
    hsa_anatomy_free(&an);
    fputs(",\"advice\":", j);
    if (s->path) advice_json(j, s);
    else fputs("null", j);
  } else {
    fputs("null,\"advice\":null", j);
  }
  fputs("}", j);
  rc = 0;
  goto out;
oom:
  rc = hsa_fail(err, "%s: out of memory building the report", s->path ? s->path : "");
out:
  if (have_new) hsa_stacks_free(&st_new);
  if (have_old) hsa_stacks_free(&st_old);
  tree_free(&t);
  return rc;
}

/* ---- the page ---- */

static void html_text(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else fputc(*s, f);
  }
}

/* Copies a JSON document into a <script> element: "</" becomes "<\/" (same JSON value). */
static void script_safe(FILE *f, const char *p, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i + 1 < n; i++)
    if (p[i] == '<' && p[i + 1] == '/') {
      fwrite(p + start, 1, i + 1 - start, f);
      fputc('\\', f);
      start = i + 1;
    }
  fwrite(p + start, 1, n - start, f);
}

int hsa_html_report_write(FILE *f, const struct hsa_snapshot *old, const struct hsa_snapshot *snap,
                          struct hsa_symbolizer *sym, struct hsa_error *err) {
  char *buf = NULL;
  size_t len = 0;
  FILE *j = open_memstream(&buf, &len);
  if (!j) return hsa_fail(err, "out of memory");
  int r = data_json(j, old, snap, sym, err);
  if (fclose(j) != 0 && r == 0) r = hsa_fail(err, "out of memory");
  if (r != 0) {
    free(buf);
    return -1;
  }
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"heapshape " HSA_VERSION "\">\n<title>heapshape ",
        f);
  fputs(old ? "diff: " : "report: ", f);
  html_text(f, hsa_snapshot_string(snap, snap->meta.program_sid));
  fputs("</title>\n<script>", f);
  fputs(hsa_asset_boot_js, f);
  fputs("</script>\n<style>", f);
  fputs(hsa_asset_report_css, f);
  fputs("</style></head>\n<body>\n<noscript>This report needs JavaScript.</noscript>\n"
        "<div id=\"app\"></div>\n<script type=\"application/json\" id=\"hs-data\">",
        f);
  script_safe(f, buf, len);
  free(buf);
  fputs("</script>\n<script>", f);
  fputs(hsa_asset_report_js, f);
  fputs("</script>\n</body></html>\n", f);
  return ferror(f) ? hsa_fail(err, "writing the report failed: %s", strerror(errno)) : 0;
}

int hsa_html_report_file(const char *old_path, const char *path, const char *out_path,
                         int symbols, struct hsa_error *err) {
  struct hsa_snapshot s, o;
  int rc = -1, have_old = 0;
  if (hsa_snapshot_read_file(path, &s, err) != 0) return -1;
  if (old_path) {
    if (hsa_snapshot_read_file(old_path, &o, err) != 0) {
      hsa_snapshot_free(&s);
      return -1;
    }
    have_old = 1;
  }
  struct hsa_symbolizer *sym = symbols ? hsa_symbolizer_new() : NULL;
  hsa_symbolizer_set_warnings(sym, stderr);
  size_t n = strlen(out_path) + 32;
  char *tmp = malloc(n);
  FILE *f = NULL;
  if (!tmp) {
    hsa_fail(err, "out of memory");
    goto out;
  }
  snprintf(tmp, n, "%s.tmp%ld", out_path, (long)getpid());
  if (!(f = fopen(tmp, "w"))) {
    hsa_fail(err, "%s: cannot write the report: %s; give -o a writable path", out_path,
             strerror(errno));
    goto out;
  }
  rc = hsa_html_report_write(f, have_old ? &o : NULL, &s, sym, err);
  if (fclose(f) != 0 && rc == 0)
    rc = hsa_fail(err, "%s: writing the report failed: %s", out_path, strerror(errno));
  if (rc == 0 && rename(tmp, out_path) != 0)
    rc = hsa_fail(err, "%s: cannot write the report: %s", out_path, strerror(errno));
  if (rc != 0) unlink(tmp);
out:
  free(tmp);
  hsa_symbolizer_free(sym);
  if (have_old) hsa_snapshot_free(&o);
  hsa_snapshot_free(&s);
  return rc;
}

int hsa_cli_report(int argc, char **argv) {
  const char *files[2] = {NULL, NULL}, *out = NULL;
  size_t nfiles = 0;
  int symbols = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(hsa_help_text("report"), stdout);
      return 0;
    } else if (strcmp(a, "--no-symbols") == 0) {
      symbols = 0;
    } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
      if (i + 1 >= argc) return hsa_cli_error("option %s needs a value; see heapshape report --help", a);
      out = argv[++i];
    } else if (strncmp(a, "--output=", 9) == 0) {
      out = a + 9;
    } else if (a[0] == '-' && a[1]) {
      return hsa_cli_error("unknown option \"%s\" for report; see heapshape report --help", a);
    } else if (nfiles == 2) {
      return hsa_cli_error("report takes 1 or 2 snapshot files; unexpected argument \"%s\"", a);
    } else {
      files[nfiles++] = a;
    }
  }
  if (!nfiles)
    return hsa_cli_error("report needs a snapshot file: heapshape report SNAPSHOT [-o FILE.html]");
  const char *snap = files[nfiles - 1], *old = nfiles == 2 ? files[0] : NULL;
  char def[4200];
  if (!out) {
    size_t n = strlen(snap);
    if (n > 6 && strcmp(snap + n - 6, ".hsnap") == 0) n -= 6;
    snprintf(def, sizeof def, "%.*s%s", (int)n, snap, old ? "-diff.html" : ".html");
    out = def;
  }
  struct hsa_error err;
  if (hsa_html_report_file(old, snap, out, symbols, &err) != 0) return hsa_cli_error("%s", err.msg);
  printf("%s\n", out);
  return 0;
}
