/* heapshape analyzer: `heapshape check` and `heapshape baseline save` (see check.h). */
#include "analyzer/check.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/baseline.h"
#include "analyzer/errors.h"
#include "analyzer/report.h"
#include "analyzer/symbolize.h"

/* ---- evaluation ---- */

static void fmt_size(double v, int sign, char *out, size_t n) { hsa_format_size(v, sign, out, n); }

/* "+12.5%" of diff over base, or "new" when base is 0. */
static void fmt_pct(double diff, double base, char *out, size_t n) {
  if (base > 0) snprintf(out, n, "%+.1f%%", 100.0 * diff / base);
  else snprintf(out, n, diff > 0 ? "new" : "+0.0%%");
}

static struct hsa_check_item *add_item(struct hsa_check_result *r, size_t *cap) {
  if (r->nitems == *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    struct hsa_check_item *p = realloc(r->items, ncap * sizeof *p);
    if (!p) return NULL;
    r->items = p;
    *cap = ncap;
  }
  struct hsa_check_item *it = &r->items[r->nitems++];
  memset(it, 0, sizeof *it);
  return it;
}

static void site_name(const struct hsa_stat *st, enum hsa_key key, char *out, size_t n) {
  const struct hsa_frame_text *f = hsa_stat_frame(st);
  if (key == HSA_KEY_FILENAME) snprintf(out, n, "%s", f->filename);
  else snprintf(out, n, "%s:%d", f->filename, f->lineno);
}

/* Lines of the interpreter's own start-up: frozen importlib (and other frozen modules) and
 * memory allocated outside any Python frame. What each of them holds moves from run to run
 * (101 KiB went from <unknown>:0 to <frozen importlib._bootstrap_external>:729 between two
 * runs of one program whose total moved by 201 B), so --site-max-increase checks them as
 * one group, their total. */
static int is_startup_site(const struct hsa_stat *st) {
  const char *f = hsa_stat_frame(st)->filename;
  return f && hsa_is_startup_file(f);
}

int hsa_check_evaluate(const struct hsa_snapshot *base, const struct hsa_snapshot *new_s,
                       enum hsa_key key, const struct hsa_check_limits *lim,
                       struct hsa_symbolizer *sym, struct hsa_check_result *out,
                       struct hsa_error *err) {
  memset(out, 0, sizeof *out);
  out->key = key;
  out->baseline_path = base->path;
  out->new_path = new_s->path;
  out->limit_lines = 10;
  struct hsa_options opt;
  memset(&opt, 0, sizeof opt);
  opt.key = key;
  if (hsa_stats_diff(base, new_s, &opt, sym, &out->diff, err) != 0) return -1;
  out->base_total = base->meta.live_bytes;
  out->new_total = new_s->meta.live_bytes;
  out->base_peak = base->meta.peak_live_bytes;
  out->new_peak = new_s->meta.peak_live_bytes;
  size_t cap = 0;
  struct hsa_check_item *it;
  char a[32], b[32], c[32], d[32], e[32];
  double bt = (double)out->base_total, nt = (double)out->new_total, diff = nt - bt;

  if (lim->has_pct || lim->has_bytes) {
    if (!(it = add_item(out, &cap))) goto oom;
    it->kind = HSA_CHECK_INCREASE;
    double allowed = 0;
    if (lim->has_pct) allowed = lim->pct / 100.0 * bt;
    if (lim->has_bytes && lim->bytes > allowed) allowed = lim->bytes;
    if (lim->has_pct && lim->has_bytes)
      snprintf(it->option, sizeof it->option, "--max-increase %s or --max-increase-bytes %s",
               lim->pct_text, lim->bytes_text);
    else if (lim->has_pct)
      snprintf(it->option, sizeof it->option, "--max-increase %s", lim->pct_text);
    else
      snprintf(it->option, sizeof it->option, "--max-increase-bytes %s", lim->bytes_text);
    snprintf(it->what, sizeof it->what, "total live memory");
    it->baseline = bt;
    it->value = nt;
    it->allowed = allowed;
    it->exceeded = diff > allowed;
    it->over = diff - allowed;
    fmt_size(diff, 1, a, sizeof a);
    fmt_pct(diff, bt, b, sizeof b);
    fmt_size(bt, 0, c, sizeof c);
    fmt_size(nt, 0, d, sizeof d);
    fmt_size(allowed, 1, e, sizeof e);
    if (it->exceeded) {
      char over[32];
      fmt_size(it->over, 0, over, sizeof over);
      snprintf(it->message, sizeof it->message,
               "total live memory grew by %s (%s), %s -> %s; %s allows %s: over the limit by %s",
               a, b, c, d, it->option, e, over);
    } else {
      snprintf(it->message, sizeof it->message,
               "total live memory changed by %s (%s), %s -> %s; %s allows %s", a, b, c, d,
               it->option, e);
    }
  }
  if (lim->has_total) {
    if (!(it = add_item(out, &cap))) goto oom;
    it->kind = HSA_CHECK_TOTAL;
    snprintf(it->option, sizeof it->option, "--max-total %s", lim->total_text);
    snprintf(it->what, sizeof it->what, "total live memory");
    it->baseline = bt;
    it->value = nt;
    it->allowed = lim->total;
    it->exceeded = nt > lim->total;
    it->over = nt - lim->total;
    fmt_size(nt, 0, a, sizeof a);
    fmt_size(lim->total, 0, b, sizeof b);
    fmt_size(it->over, 0, c, sizeof c);
    if (it->exceeded)
      snprintf(it->message, sizeof it->message,
               "total live memory is %s; %s allows %s: over the limit by %s", a, it->option, b, c);
    else
      snprintf(it->message, sizeof it->message, "total live memory is %s; %s allows %s", a,
               it->option, b);
  }
  if (lim->has_peak) {
    if (!(it = add_item(out, &cap))) goto oom;
    it->kind = HSA_CHECK_PEAK;
    double bp = (double)out->base_peak, np = (double)out->new_peak;
    snprintf(it->option, sizeof it->option, "--max-peak %s", lim->peak_text);
    snprintf(it->what, sizeof it->what, "peak live memory");
    it->baseline = bp;
    it->value = np;
    it->allowed = lim->peak_is_pct ? bp * (1 + lim->peak / 100.0) : lim->peak;
    it->exceeded = np > it->allowed;
    it->over = np - it->allowed;
    fmt_size(np, 0, a, sizeof a);
    fmt_size(bp, 0, b, sizeof b);
    fmt_pct(np - bp, bp, c, sizeof c);
    fmt_size(it->allowed, 0, d, sizeof d);
    fmt_size(it->over, 0, e, sizeof e);
    if (it->exceeded)
      snprintf(it->message, sizeof it->message,
               "peak live memory is %s (baseline %s, %s); %s allows %s: over the limit by %s", a,
               b, c, it->option, d, e);
    else
      snprintf(it->message, sizeof it->message,
               "peak live memory is %s (baseline %s, %s); %s allows %s", a, b, c, it->option, d);
  }
  if (lim->has_site) {
    size_t bad = 0;
    char opt_text[160];
    char floor_text[32];
    fmt_size(lim->site_floor, 0, floor_text, sizeof floor_text);
    snprintf(opt_text, sizeof opt_text, "--site-max-increase %s", lim->site_text);
    double su_old = 0, su_new = 0; /* the start-up group */
    for (size_t i = 0; i <= out->diff.n; i++) {
      const struct hsa_stat *st = i < out->diff.n ? &out->diff.items[i] : NULL;
      if (st && is_startup_site(st)) {
        su_old += (double)(st->size - st->size_diff);
        su_new += (double)st->size;
        continue;
      }
      double old = st ? (double)(st->size - st->size_diff) : su_old;
      double grow = st ? (double)st->size_diff : su_new - su_old;
      double allowed = lim->site_pct / 100.0 * old;
      if (allowed < lim->site_floor) allowed = lim->site_floor;
      if (grow <= allowed) continue;
      if (!(it = add_item(out, &cap))) goto oom;
      bad++;
      it->kind = HSA_CHECK_SITE;
      it->site = st;
      snprintf(it->option, sizeof it->option, "%s", opt_text);
      char name[400];
      if (st)
        site_name(st, key, name, sizeof name);
      else
        snprintf(name, sizeof name, "interpreter start-up (<frozen ...> and <unknown> lines)");
      snprintf(it->what, sizeof it->what, "site %s", name);
      it->baseline = old;
      it->value = old + grow;
      it->allowed = allowed;
      it->exceeded = 1;
      it->over = grow - allowed;
      fmt_size(grow, 1, a, sizeof a);
      fmt_pct(grow, old, b, sizeof b);
      fmt_size(old, 0, c, sizeof c);
      fmt_size(old + grow, 0, d, sizeof d);
      fmt_size(allowed, 1, e, sizeof e);
      char over[32];
      fmt_size(it->over, 0, over, sizeof over);
      snprintf(it->message, sizeof it->message,
               "%s grew by %s (%s), %s -> %s; %s (floor %s) allows %s: over the limit by %s",
               name, a, b, c, d, opt_text, floor_text, e, over);
    }
    if (!bad) {
      if (!(it = add_item(out, &cap))) goto oom;
      it->kind = HSA_CHECK_SITE;
      snprintf(it->option, sizeof it->option, "%s", opt_text);
      snprintf(it->what, sizeof it->what, "every site");
      snprintf(it->message, sizeof it->message,
               "no site grew by more than %s of its baseline size (floor %s)", lim->site_text,
               floor_text);
    }
  }
  for (size_t i = 0; i < out->nitems; i++) out->nexceeded += out->items[i].exceeded != 0;
  return 0;
oom:
  hsa_check_result_free(out);
  return hsa_fail(err, "out of memory checking limits");
}

void hsa_check_result_free(struct hsa_check_result *r) {
  hsa_stats_free(&r->diff);
  free(r->items);
  r->items = NULL;
  r->nitems = r->nexceeded = 0;
}

/* The diff lines that explain a result: the offending sites when a site limit failed, else the
 * sites that grew, largest first (tracemalloc order), at most r->limit_lines. Returns the count
 * written into out (capacity r->limit_lines). */
static size_t culprit_lines(const struct hsa_check_result *r, const struct hsa_stat **out) {
  size_t n = 0, max = r->limit_lines ? r->limit_lines : (size_t)-1;
  for (size_t i = 0; i < r->nitems && n < max; i++)
    if (r->items[i].kind == HSA_CHECK_SITE && r->items[i].site) out[n++] = r->items[i].site;
  for (size_t i = 0; i < r->diff.n && n < max; i++) {
    const struct hsa_stat *st = &r->diff.items[i];
    if (st->size_diff <= 0) continue;
    int dup = 0;
    for (size_t k = 0; k < n && !dup; k++) dup = out[k] == st;
    if (!dup) out[n++] = st;
  }
  return n;
}

static const struct hsa_stat **culprits_alloc(const struct hsa_check_result *r, size_t *n) {
  size_t cap = r->limit_lines ? r->limit_lines : r->diff.n + r->nitems;
  const struct hsa_stat **v = calloc(cap ? cap : 1, sizeof *v);
  *n = v ? culprit_lines(r, v) : 0;
  return v;
}

/* ---- text ---- */

int hsa_check_report_text(FILE *f, const struct hsa_check_result *r) {
  if (r->nexceeded)
    fprintf(f, "heapshape check: FAILED: %zu limit%s exceeded (baseline %s, new %s)\n",
            r->nexceeded, r->nexceeded == 1 ? "" : "s", r->baseline_path, r->new_path);
  else
    fprintf(f, "heapshape check: OK: all limits met (baseline %s, new %s)\n", r->baseline_path,
            r->new_path);
  for (size_t i = 0; i < r->nitems; i++)
    fprintf(f, "%s %s\n", r->items[i].exceeded ? "FAIL" : "ok  ", r->items[i].message);
  size_t n;
  const struct hsa_stat **lines = culprits_alloc(r, &n);
  if (n) {
    fprintf(f, "%s (tracemalloc StatisticDiff, key %s):\n",
            r->nexceeded ? "Top increases" : "Largest increases",
            r->key == HSA_KEY_FILENAME ? "filename" : "lineno");
    char line[8192];
    for (size_t i = 0; i < n; i++) {
      hsa_stat_format(lines[i], 1, r->key, line, sizeof line);
      fprintf(f, "%s\n", line);
    }
  }
  free(lines);
  return ferror(f) ? -1 : 0;
}

/* ---- markdown ---- */

static void md_text(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '|' || *s == '*' || *s == '_' || *s == '<' || *s == '>' || *s == '`' ||
        *s == '[' || *s == ']' || *s == '\\')
      fputc('\\', f);
    fputc(*s == '\n' ? ' ' : *s, f);
  }
}

int hsa_check_report_markdown(FILE *f, const struct hsa_check_result *r) {
  char a[32], b[32], c[32], d[32];
  if (r->nexceeded)
    fprintf(f, "### :x: heapshape memory check: %zu limit%s exceeded\n\n", r->nexceeded,
            r->nexceeded == 1 ? "" : "s");
  else
    fputs("### :white_check_mark: heapshape memory check: all limits met\n\n", f);
  fputs("Baseline `", f);
  fputs(r->baseline_path ? r->baseline_path : "-", f);
  fputs("`, new `", f);
  fputs(r->new_path ? r->new_path : "-", f);
  fputs("`.\n\n", f);
  fmt_size((double)r->base_total, 0, a, sizeof a);
  fmt_size((double)r->new_total, 0, b, sizeof b);
  fmt_size((double)r->new_total - (double)r->base_total, 1, c, sizeof c);
  fmt_pct((double)r->new_total - (double)r->base_total, (double)r->base_total, d, sizeof d);
  fprintf(f, "Total live memory: %s → %s (%s, %s).\n\n", a, b, c, d);
  fputs("| Result | Check | Limit | Baseline | New | Change | Allowed |\n"
        "|---|---|---|---|---|---|---|\n",
        f);
  for (size_t i = 0; i < r->nitems; i++) {
    const struct hsa_check_item *it = &r->items[i];
    fputs(it->exceeded ? "| :x: exceeded | " : "| :white_check_mark: ok | ", f);
    md_text(f, it->what);
    fputs(" | `", f);
    fputs(it->option, f);
    fputs("` | ", f);
    if (it->kind == HSA_CHECK_SITE && !it->site && !it->exceeded) { /* "every site" */
      fputs("| | | |\n", f);
      continue;
    }
    fmt_size(it->baseline, 0, a, sizeof a);
    fmt_size(it->value, 0, b, sizeof b);
    fmt_size(it->value - it->baseline, 1, c, sizeof c);
    fmt_pct(it->value - it->baseline, it->baseline, d, sizeof d);
    fprintf(f, "%s | %s | %s (%s) | ", a, b, c, d);
    fmt_size(it->allowed, it->kind == HSA_CHECK_INCREASE || it->kind == HSA_CHECK_SITE, a,
             sizeof a);
    fprintf(f, "%s |\n", a);
  }
  size_t n;
  const struct hsa_stat **lines = culprits_alloc(r, &n);
  if (n) {
    fprintf(f, "\n<details%s><summary>%s (tracemalloc StatisticDiff, key %s)</summary>\n\n```\n",
            r->nexceeded ? " open" : "", r->nexceeded ? "Top increases" : "Largest increases",
            r->key == HSA_KEY_FILENAME ? "filename" : "lineno");
    char line[8192];
    for (size_t i = 0; i < n; i++) {
      hsa_stat_format(lines[i], 1, r->key, line, sizeof line);
      fprintf(f, "%s\n", line);
    }
    fputs("```\n\n</details>\n", f);
  }
  free(lines);
  return ferror(f) ? -1 : 0;
}

/* ---- JUnit XML ---- */

static void xml_text(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '&': fputs("&amp;", f); break;
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '"': fputs("&quot;", f); break;
      case '\'': fputs("&apos;", f); break;
      default:
        if (*p < 0x20 && *p != '\n' && *p != '\t') fputc('?', f);
        else fputc(*p, f);
    }
  }
}

int hsa_check_report_junit(FILE *f, const struct hsa_check_result *r) {
  size_t n;
  const struct hsa_stat **lines = culprits_alloc(r, &n);
  char line[8192];
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
  fprintf(f, "<testsuites name=\"heapshape check\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n",
          r->nitems, r->nexceeded);
  fprintf(f,
          "  <testsuite name=\"heapshape.memory\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
          "skipped=\"0\" time=\"0\">\n",
          r->nitems, r->nexceeded);
  fputs("    <properties>\n      <property name=\"baseline\" value=\"", f);
  xml_text(f, r->baseline_path ? r->baseline_path : "-");
  fputs("\"/>\n      <property name=\"new\" value=\"", f);
  xml_text(f, r->new_path ? r->new_path : "-");
  fprintf(f, "\"/>\n      <property name=\"baseline_live_bytes\" value=\"%" PRIu64 "\"/>\n"
             "      <property name=\"new_live_bytes\" value=\"%" PRIu64 "\"/>\n"
             "      <property name=\"new_peak_live_bytes\" value=\"%" PRIu64 "\"/>\n"
             "    </properties>\n",
          r->base_total, r->new_total, r->new_peak);
  for (size_t i = 0; i < r->nitems; i++) {
    const struct hsa_check_item *it = &r->items[i];
    fprintf(f, "    <testcase classname=\"heapshape.memory%s\" name=\"",
            it->kind == HSA_CHECK_SITE ? ".site" : "");
    xml_text(f, it->what);
    fputs(" (", f);
    xml_text(f, it->option);
    fputs(")\" time=\"0\"", f);
    if (!it->exceeded) {
      fputs("/>\n", f);
      continue;
    }
    fputs(">\n      <failure type=\"MemoryRegression\" message=\"", f);
    xml_text(f, it->message);
    fputs("\">", f);
    xml_text(f, it->message);
    fputs("\n", f);
    if (it->site) {
      hsa_stat_format(it->site, 1, r->key, line, sizeof line);
      xml_text(f, line);
      fputs("\n", f);
    } else {
      for (size_t k = 0; k < n; k++) {
        hsa_stat_format(lines[k], 1, r->key, line, sizeof line);
        xml_text(f, line);
        fputs("\n", f);
      }
    }
    fputs("</failure>\n    </testcase>\n", f);
  }
  fputs("  </testsuite>\n</testsuites>\n", f);
  free(lines);
  return ferror(f) ? -1 : 0;
}

/* ---- JSON ---- */

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static const char *kind_name(enum hsa_check_kind k) {
  switch (k) {
    case HSA_CHECK_INCREASE: return "increase";
    case HSA_CHECK_TOTAL: return "total";
    case HSA_CHECK_PEAK: return "peak";
    default: return "site";
  }
}

int hsa_check_report_json(FILE *f, const struct hsa_check_result *r) {
  fprintf(f, "{\"result\":\"%s\",\"exceeded\":%zu,\"baseline\":", r->nexceeded ? "fail" : "ok",
          r->nexceeded);
  json_str(f, r->baseline_path ? r->baseline_path : "-");
  fputs(",\"new\":", f);
  json_str(f, r->new_path ? r->new_path : "-");
  fprintf(f,
          ",\"key\":\"%s\",\"total\":{\"baseline\":%" PRIu64 ",\"new\":%" PRIu64
          ",\"diff\":%.0f},\"peak\":{\"baseline\":%" PRIu64 ",\"new\":%" PRIu64 "},\"limits\":[",
          r->key == HSA_KEY_FILENAME ? "filename" : "lineno", r->base_total, r->new_total,
          (double)r->new_total - (double)r->base_total, r->base_peak, r->new_peak);
  for (size_t i = 0; i < r->nitems; i++) {
    const struct hsa_check_item *it = &r->items[i];
    fprintf(f, "%s{\"kind\":\"%s\",\"option\":", i ? "," : "", kind_name(it->kind));
    json_str(f, it->option);
    fputs(",\"what\":", f);
    json_str(f, it->what);
    fprintf(f, ",\"exceeded\":%s,\"baseline\":%.0f,\"value\":%.0f,\"allowed\":%.0f,\"message\":",
            it->exceeded ? "true" : "false", it->baseline, it->value, it->allowed);
    json_str(f, it->message);
    fputc('}', f);
  }
  fputs("],\"top\":[", f);
  size_t n;
  const struct hsa_stat **lines = culprits_alloc(r, &n);
  for (size_t i = 0; i < n; i++) {
    const struct hsa_frame_text *fr = hsa_stat_frame(lines[i]);
    fputs(i ? ",{\"filename\":" : "{\"filename\":", f);
    json_str(f, fr->filename);
    fprintf(f,
            ",\"lineno\":%d,\"size\":%" PRId64 ",\"size_diff\":%" PRId64 ",\"count\":%" PRId64
            ",\"count_diff\":%" PRId64 "}",
            fr->lineno, lines[i]->size, lines[i]->size_diff, lines[i]->count,
            lines[i]->count_diff);
  }
  free(lines);
  fputs("]}\n", f);
  return ferror(f) ? -1 : 0;
}

/* ---- command line ---- */

static const char check_usage[] =
    "usage: heapshape check BASELINE NEW [--max-increase PCT] [--max-increase-bytes SIZE]\n"
    "         [--max-total SIZE] [--max-peak SIZE|PCT] [--site-max-increase PCT]\n"
    "         [--site-floor SIZE] [--key lineno|filename] [--limit N]\n"
    "         [--format text|markdown|junit|json] [-o FILE] [--root DIR] [--no-symbols]";

static const char *opt_value(int argc, char **argv, int *i, const char *name) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (a[n] == '=') return a + n + 1;
  if (*i + 1 >= argc) {
    hsa_cli_error("option %s needs a value; %s", name, check_usage);
    return NULL;
  }
  return argv[++*i];
}

static int is_opt(const char *arg, const char *name) {
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* Reads path (snapshot or baseline), relativizes it. */
static int load_input(const char *path, const char *root, struct hsa_snapshot *s, int *is_bl,
                      enum hsa_key *key) {
  struct hsa_error err;
  if (hsa_input_read_file(path, s, is_bl, key, &err) != 0) return hsa_cli_error("%s", err.msg);
  if (hsa_snapshot_relativize(s, root, &err) != 0) {
    hsa_snapshot_free(s);
    return hsa_cli_error("%s", err.msg);
  }
  return 0;
}

static const char *default_root(char *buf, size_t n) {
  return getcwd(buf, n) ? buf : "";
}

int hsa_cli_check(int argc, char **argv) {
  struct hsa_check_limits lim;
  memset(&lim, 0, sizeof lim);
  lim.site_floor = HSA_CHECK_DEFAULT_SITE_FLOOR;
  const char *files[2] = {NULL, NULL};
  size_t nfiles = 0;
  int key_given = 0, symbols = 1, only_files = 0;
  enum hsa_key key = HSA_KEY_LINENO;
  const char *format = "text", *out_path = NULL, *root = NULL;
  long limit = 10;
  char cwd[PATH_MAX];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
      if (nfiles == 2)
        return hsa_cli_error("check takes two files; unexpected argument \"%s\"; %s", a,
                             check_usage);
      files[nfiles++] = a;
    } else if (strcmp(a, "--") == 0) {
      only_files = 1;
    } else if (is_opt(a, "--max-increase")) {
      if (!(v = opt_value(argc, argv, &i, "--max-increase"))) return HSA_EXIT_USAGE;
      if (hsa_parse_percent(v, &lim.pct) != 0)
        return hsa_cli_error("bad --max-increase \"%s\"; use a percentage such as 10%%", v);
      lim.has_pct = 1;
      snprintf(lim.pct_text, sizeof lim.pct_text, "%g%%", lim.pct);
    } else if (is_opt(a, "--max-increase-bytes")) {
      if (!(v = opt_value(argc, argv, &i, "--max-increase-bytes"))) return HSA_EXIT_USAGE;
      if (hsa_parse_size(v, &lim.bytes) != 0)
        return hsa_cli_error("bad --max-increase-bytes \"%s\"; use a size such as 1MiB", v);
      lim.has_bytes = 1;
      snprintf(lim.bytes_text, sizeof lim.bytes_text, "%s", v);
    } else if (is_opt(a, "--max-total")) {
      if (!(v = opt_value(argc, argv, &i, "--max-total"))) return HSA_EXIT_USAGE;
      if (hsa_parse_size(v, &lim.total) != 0)
        return hsa_cli_error("bad --max-total \"%s\"; use a size such as 200MiB", v);
      lim.has_total = 1;
      snprintf(lim.total_text, sizeof lim.total_text, "%s", v);
    } else if (is_opt(a, "--max-peak")) {
      if (!(v = opt_value(argc, argv, &i, "--max-peak"))) return HSA_EXIT_USAGE;
      size_t vl = strlen(v);
      if (vl && v[vl - 1] == '%') {
        if (hsa_parse_percent(v, &lim.peak) != 0)
          return hsa_cli_error("bad --max-peak \"%s\"; use a size (200MiB) or a percentage", v);
        lim.peak_is_pct = 1;
      } else if (hsa_parse_size(v, &lim.peak) != 0) {
        return hsa_cli_error("bad --max-peak \"%s\"; use a size (200MiB) or a percentage", v);
      }
      lim.has_peak = 1;
      snprintf(lim.peak_text, sizeof lim.peak_text, "%s", v);
    } else if (is_opt(a, "--site-max-increase")) {
      if (!(v = opt_value(argc, argv, &i, "--site-max-increase"))) return HSA_EXIT_USAGE;
      if (hsa_parse_percent(v, &lim.site_pct) != 0)
        return hsa_cli_error("bad --site-max-increase \"%s\"; use a percentage such as 50%%", v);
      lim.has_site = 1;
      snprintf(lim.site_text, sizeof lim.site_text, "%g%%", lim.site_pct);
    } else if (is_opt(a, "--site-floor")) {
      if (!(v = opt_value(argc, argv, &i, "--site-floor"))) return HSA_EXIT_USAGE;
      if (hsa_parse_size(v, &lim.site_floor) != 0)
        return hsa_cli_error("bad --site-floor \"%s\"; use a size such as 64KiB", v);
    } else if (is_opt(a, "--key")) {
      if (!(v = opt_value(argc, argv, &i, "--key"))) return HSA_EXIT_USAGE;
      if (hsa_key_parse(v, &key) != 0 || (key != HSA_KEY_LINENO && key != HSA_KEY_FILENAME))
        return hsa_cli_error("bad --key \"%s\" for check; use lineno or filename", v);
      key_given = 1;
    } else if (is_opt(a, "--limit")) {
      if (!(v = opt_value(argc, argv, &i, "--limit"))) return HSA_EXIT_USAGE;
      char *end;
      errno = 0;
      limit = strtol(v, &end, 10);
      if (errno || end == v || *end || limit < 0)
        return hsa_cli_error("bad --limit \"%s\"; use a number >= 0 (0 = all)", v);
    } else if (is_opt(a, "--format")) {
      if (!(v = opt_value(argc, argv, &i, "--format"))) return HSA_EXIT_USAGE;
      if (strcmp(v, "text") && strcmp(v, "markdown") && strcmp(v, "junit") && strcmp(v, "json"))
        return hsa_cli_error("bad --format \"%s\"; use text, markdown, junit or json", v);
      format = v;
    } else if (strcmp(a, "-o") == 0 || is_opt(a, "--output")) {
      if (!(v = opt_value(argc, argv, &i, a[1] == 'o' ? "-o" : "--output"))) return HSA_EXIT_USAGE;
      out_path = v;
    } else if (is_opt(a, "--root")) {
      if (!(v = opt_value(argc, argv, &i, "--root"))) return HSA_EXIT_USAGE;
      root = v;
    } else if (strcmp(a, "--no-symbols") == 0) {
      symbols = 0;
    } else {
      return hsa_cli_error("unknown option \"%s\" for check; %s", a, check_usage);
    }
  }
  if (nfiles != 2)
    return hsa_cli_error("check needs two files, BASELINE and NEW; %s", check_usage);
  if (!lim.has_pct && !lim.has_bytes) {
    lim.has_pct = 1;
    lim.pct = HSA_CHECK_DEFAULT_PCT;
    snprintf(lim.pct_text, sizeof lim.pct_text, "%g%%", lim.pct);
  }
  if (!root) root = default_root(cwd, sizeof cwd);

  struct hsa_snapshot base, news;
  int bl_base = 0, bl_new = 0;
  enum hsa_key kb = HSA_KEY_LINENO, kn = HSA_KEY_LINENO;
  int rc = load_input(files[0], root, &base, &bl_base, &kb);
  if (rc) return rc;
  if ((rc = load_input(files[1], root, &news, &bl_new, &kn)) != 0) {
    hsa_snapshot_free(&base);
    return rc;
  }
  /* A baseline grouped by filename cannot be compared line by line. */
  enum hsa_key coarsest = (bl_base && kb == HSA_KEY_FILENAME) || (bl_new && kn == HSA_KEY_FILENAME)
                              ? HSA_KEY_FILENAME
                              : HSA_KEY_LINENO;
  if (!key_given) {
    key = coarsest;
  } else if (key == HSA_KEY_LINENO && coarsest == HSA_KEY_FILENAME) {
    hsa_snapshot_free(&base);
    hsa_snapshot_free(&news);
    return hsa_cli_error("%s was saved with --key filename; check it with --key filename "
                         "(or save the baseline again with --key lineno)",
                         bl_base && kb == HSA_KEY_FILENAME ? files[0] : files[1]);
  }
  struct hsa_symbolizer *sym = symbols ? hsa_symbolizer_new() : NULL;
  hsa_symbolizer_set_warnings(sym, stderr);
  struct hsa_check_result res;
  struct hsa_error err;
  if (hsa_check_evaluate(&base, &news, key, &lim, sym, &res, &err) != 0) {
    rc = hsa_cli_error("%s", err.msg);
    goto out;
  }
  res.limit_lines = (size_t)limit;
  FILE *f = stdout;
  if (out_path && strcmp(out_path, "-") != 0) {
    f = fopen(out_path, "w");
    if (!f) {
      rc = hsa_cli_error("%s: cannot create: %s", out_path, strerror(errno));
      hsa_check_result_free(&res);
      goto out;
    }
  }
  int w;
  if (strcmp(format, "markdown") == 0) w = hsa_check_report_markdown(f, &res);
  else if (strcmp(format, "junit") == 0) w = hsa_check_report_junit(f, &res);
  else if (strcmp(format, "json") == 0) w = hsa_check_report_json(f, &res);
  else w = hsa_check_report_text(f, &res);
  if (f != stdout) {
    if (fclose(f) != 0) w = -1;
  } else if (fflush(stdout) != 0) {
    w = -1;
  }
  if (w != 0) {
    rc = hsa_cli_error("writing the report to %s failed: %s", out_path ? out_path : "stdout",
                       strerror(errno));
  } else {
    rc = res.nexceeded ? HSA_EXIT_REGRESSION : 0;
    /* With the report in a file, still say on stderr why the build fails. */
    if (f != stdout && strcmp(format, "text") != 0) {
      for (size_t i = 0; i < res.nitems; i++)
        if (res.items[i].exceeded) fprintf(stderr, "heapshape check: FAIL %s\n", res.items[i].message);
      if (!res.nexceeded) fprintf(stderr, "heapshape check: OK: all limits met\n");
    }
  }
  hsa_check_result_free(&res);
out:
  hsa_symbolizer_free(sym);
  hsa_snapshot_free(&base);
  hsa_snapshot_free(&news);
  return rc;
}

int hsa_cli_baseline(int argc, char **argv) {
  static const char usage[] =
      "usage: heapshape baseline save SNAPSHOT --to FILE [--key lineno|filename] [--min-size SIZE] "
      "[--all-sites] [--root DIR] [--no-symbols]";
  if (argc < 2 || strcmp(argv[1], "save") != 0)
    return hsa_cli_error("baseline needs a subcommand; %s", usage);
  const char *snap = NULL, *to = NULL, *root = NULL, *v;
  enum hsa_key key = HSA_KEY_LINENO;
  int symbols = 1;
  char cwd[PATH_MAX];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-') {
      if (snap) return hsa_cli_error("baseline save takes one snapshot; unexpected \"%s\"", a);
      snap = a;
    } else if (is_opt(a, "--to") || strcmp(a, "-o") == 0) {
      if (!(v = opt_value(argc, argv, &i, a[1] == 'o' ? "-o" : "--to"))) return HSA_EXIT_USAGE;
      to = v;
    } else if (is_opt(a, "--key")) {
      if (!(v = opt_value(argc, argv, &i, "--key"))) return HSA_EXIT_USAGE;
      if (hsa_key_parse(v, &key) != 0 || (key != HSA_KEY_LINENO && key != HSA_KEY_FILENAME))
        return hsa_cli_error("bad --key \"%s\" for a baseline; use lineno or filename", v);
    } else if (is_opt(a, "--root")) {
      if (!(v = opt_value(argc, argv, &i, "--root"))) return HSA_EXIT_USAGE;
      root = v;
    } else if (strcmp(a, "--all-sites") == 0) {
      hsa_baseline_all_sites = 1;
    } else if (is_opt(a, "--min-size")) {
      if (!(v = opt_value(argc, argv, &i, "--min-size"))) return HSA_EXIT_USAGE;
      if (hsa_parse_size(v, &hsa_baseline_min_size) != 0)
        return hsa_cli_error("bad --min-size \"%s\"; use a size such as 1KiB", v);
    } else if (strcmp(a, "--no-symbols") == 0) {
      symbols = 0;
    } else {
      return hsa_cli_error("unknown option \"%s\" for baseline save; %s", a, usage);
    }
  }
  if (!snap || !to) return hsa_cli_error("baseline save needs %s; %s",
                                         !snap ? "a snapshot" : "--to FILE", usage);
  if (!root) root = default_root(cwd, sizeof cwd);
  struct hsa_snapshot s;
  int rc = load_input(snap, root, &s, NULL, NULL);
  if (rc) return rc;
  struct hsa_symbolizer *sym = symbols ? hsa_symbolizer_new() : NULL;
  hsa_symbolizer_set_warnings(sym, stderr);
  struct hsa_error err;
  int to_stdout = strcmp(to, "-") == 0;
  char *tmp = NULL;
  FILE *f = stdout;
  if (!to_stdout) {
    size_t n = strlen(to) + 32;
    tmp = malloc(n);
    if (!tmp) {
      rc = hsa_cli_error("out of memory");
      goto out;
    }
    snprintf(tmp, n, "%s.tmp.%ld", to, (long)getpid());
    if (!(f = fopen(tmp, "w"))) {
      rc = hsa_cli_error("%s: cannot create: %s", to, strerror(errno));
      goto out;
    }
  }
  int w = hsa_baseline_write(f, &s, key, sym, &err);
  if (!to_stdout) {
    if (fclose(f) != 0 && w == 0) w = hsa_fail(&err, "%s: write error: %s", to, strerror(errno));
    if (w == 0 && rename(tmp, to) != 0)
      w = hsa_fail(&err, "%s: cannot write: %s", to, strerror(errno));
    if (w != 0) unlink(tmp);
  } else if (fflush(stdout) != 0 && w == 0) {
    w = hsa_fail(&err, "writing to stdout failed: %s", strerror(errno));
  }
  if (w != 0) rc = hsa_cli_error("%s", err.msg);
  else if (!to_stdout) fprintf(stderr, "heapshape: baseline of %s written to %s\n", snap, to);
out:
  free(tmp);
  hsa_symbolizer_free(sym);
  hsa_snapshot_free(&s);
  return rc;
}
