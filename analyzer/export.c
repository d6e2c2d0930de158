/* heapshape analyzer: `heapshape export` (see export.h): speedscope, collapsed and csv, and the
 * command. pprof is in export_pprof.c. */
#include "analyzer/export.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/errors.h"
#include "analyzer/help.h"
#include "analyzer/version.h"
#include "analyzer/reader.h"
#include "analyzer/report.h"


/* ---- speedscope ---- */

int hsa_export_speedscope(FILE *f, const struct hsa_stacks *st, int peak, struct hsa_error *err) {
  const struct hsa_snapshot *s = st->s;
  /* one speedscope frame per label; file/line from the first frame id with that label */
  int32_t *first = malloc((st->nlabels ? st->nlabels : 1) * sizeof *first);
  if (!first) return hsa_fail(err, "out of memory");
  for (uint32_t l = 0; l < st->nlabels; l++) first[l] = -1;
  for (uint32_t i = 0; i < s->nframes; i++)
    if (first[st->frames[i].label] < 0) first[st->frames[i].label] = (int32_t)i;
  fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
        "\"shared\":{\"frames\":[", f);
  for (uint32_t l = 0; l < st->nlabels; l++) {
    const struct hsa_stack_frame *sf = &st->frames[first[l]];
    fputs(l ? ",{\"name\":" : "{\"name\":", f);
    hsa_json_string(f, st->labels[l]);
    if (!sf->unknown) {
      fputs(",\"file\":", f);
      hsa_json_string(f, sf->file);
      if (sf->line > 0) fprintf(f, ",\"line\":%d", sf->line);
    }
    fputc('}', f);
  }
  free(first);
  fputs("]},\"profiles\":[", f);
  char name[600];
  const char *prog = hsa_snapshot_string(s, s->meta.program_sid);
  for (int which = 0; which < 2; which++) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < s->nsites; i++) {
      uint64_t b, n;
      hsa_stacks_site_value(s, i, peak, &b, &n);
      total += which ? n : b;
    }
    snprintf(name, sizeof name, "%s: live %s%s", prog, which ? "blocks" : "bytes",
             peak ? " at the peak" : "");
    fputs(which ? ",{\"type\":\"sampled\",\"name\":" : "{\"type\":\"sampled\",\"name\":", f);
    hsa_json_string(f, name);
    fprintf(f, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%" PRIu64 ",\"samples\":[",
            which ? "none" : "bytes", total);
    int any = 0;
    for (uint32_t i = 0; i < s->nsites; i++) {
      uint64_t b, n;
      hsa_stacks_site_value(s, i, peak, &b, &n);
      if (!(which ? n : b)) continue;
      const struct hsa_site *site = &s->sites[i];
      fputs(any ? ",[" : "[", f);
      for (int k = site->nframes - 1; k >= 0; k--)
        fprintf(f, "%s%u", k == site->nframes - 1 ? "" : ",", st->frames[site->frames[k]].label);
      fputc(']', f);
      any = 1;
    }
    fputs("],\"weights\":[", f);
    any = 0;
    for (uint32_t i = 0; i < s->nsites; i++) {
      uint64_t b, n;
      hsa_stacks_site_value(s, i, peak, &b, &n);
      if (!(which ? n : b)) continue;
      fprintf(f, "%s%" PRIu64, any ? "," : "", which ? n : b);
      any = 1;
    }
    fputs("]}", f);
  }
  snprintf(name, sizeof name, "heapshape: %s (pid %u)", prog, s->meta.pid);
  fputs("],\"name\":", f);
  hsa_json_string(f, name);
  fputs(",\"activeProfileIndex\":0,\"exporter\":\"heapshape " HSA_VERSION "\"}\n", f);
  return ferror(f) ? hsa_fail(err, "writing the export failed: %s", strerror(errno)) : 0;
}

/* ---- collapsed ---- */

struct folded {
  char *stack;
  uint64_t bytes;
};

static int cmp_folded(const void *a, const void *b) {
  return strcmp(((const struct folded *)a)->stack, ((const struct folded *)b)->stack);
}

int hsa_export_collapsed(FILE *f, const struct hsa_stacks *st, int peak, struct hsa_error *err) {
  const struct hsa_snapshot *s = st->s;
  /* sanitized labels: ';' separates frames, a newline ends the line */
  char **clean = calloc(st->nlabels ? st->nlabels : 1, sizeof *clean);
  struct folded *rows = calloc(s->nsites ? s->nsites : 1, sizeof *rows);
  size_t n = 0;
  int rc = -1;
  if (!clean || !rows) goto oom;
  for (uint32_t l = 0; l < st->nlabels; l++) {
    if (!(clean[l] = strdup(st->labels[l]))) goto oom;
    for (char *c = clean[l]; *c; c++)
      if (*c == ';') *c = ',';
      else if (*c == '\n' || *c == '\r') *c = ' ';
  }
  for (uint32_t i = 0; i < s->nsites; i++) {
    uint64_t b, cnt;
    hsa_stacks_site_value(s, i, peak, &b, &cnt);
    if (!b) continue;
    const struct hsa_site *site = &s->sites[i];
    size_t len = 0;
    for (uint16_t k = 0; k < site->nframes; k++)
      len += strlen(clean[st->frames[site->frames[k]].label]) + 1;
    char *p = malloc(len + 1);
    if (!p) goto oom;
    size_t o = 0;
    for (int k = site->nframes - 1; k >= 0; k--) {
      const char *lab = clean[st->frames[site->frames[k]].label];
      size_t ll = strlen(lab);
      if (o) p[o++] = ';';
      memcpy(p + o, lab, ll);
      o += ll;
    }
    p[o] = '\0';
    rows[n].stack = p;
    rows[n++].bytes = b;
  }
  qsort(rows, n, sizeof *rows, cmp_folded);
  for (size_t i = 0; i < n;) {
    uint64_t sum = 0;
    size_t j = i;
    for (; j < n && strcmp(rows[j].stack, rows[i].stack) == 0; j++) sum += rows[j].bytes;
    fprintf(f, "%s %" PRIu64 "\n", rows[i].stack, sum);
    i = j;
  }
  rc = ferror(f) ? hsa_fail(err, "writing the export failed: %s", strerror(errno)) : 0;
  goto out;
oom:
  rc = hsa_fail(err, "out of memory");
out:
  if (clean)
    for (uint32_t l = 0; l < st->nlabels; l++) free(clean[l]);
  free(clean);
  if (rows)
    for (size_t i = 0; i < n; i++) free(rows[i].stack);
  free(rows);
  return rc;
}

/* ---- csv ---- */

static void csv_field(FILE *f, const char *v) {
  if (!strpbrk(v, ",\"\r\n")) {
    fputs(v, f);
    return;
  }
  fputc('"', f);
  for (; *v; v++) {
    if (*v == '"') fputc('"', f);
    fputc(*v, f);
  }
  fputc('"', f);
}

int hsa_export_csv(FILE *f, const struct hsa_stats *stats, struct hsa_error *err) {
  fputs(stats->sampled ? "filename,lineno,function,size,count,average,size_stderr\r\n"
                       : "filename,lineno,function,size,count,average\r\n", f);
  for (size_t i = 0; i < stats->n; i++) {
    const struct hsa_stat *it = &stats->items[i];
    const struct hsa_frame_text *fr = hsa_stat_frame(it);
    csv_field(f, fr->filename);
    fprintf(f, ",%d,", fr->lineno);
    csv_field(f, fr->name);
    fprintf(f, ",%" PRId64 ",%" PRId64 ",%" PRId64, it->size, it->count,
            it->count ? it->size / it->count : 0);
    if (stats->sampled) fprintf(f, ",%.0f", sqrt(it->size_var));
    fputs("\r\n", f);
  }
  return ferror(f) ? hsa_fail(err, "writing the export failed: %s", strerror(errno)) : 0;
}

/* ---- command ---- */

int hsa_cli_export(int argc, char **argv) {
  const char *file = NULL, *format = NULL, *out = NULL;
  int peak = 0, symbols = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(hsa_help_text("export"), stdout);
      return 0;
    } else if (strcmp(a, "--format") == 0 || strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
      if (i + 1 >= argc) return hsa_cli_error("option %s needs a value; see heapshape export --help", a);
      *(strcmp(a, "--format") == 0 ? &format : &out) = argv[++i];
    } else if (strncmp(a, "--format=", 9) == 0) {
      format = a + 9;
    } else if (strncmp(a, "--output=", 9) == 0) {
      out = a + 9;
    } else if (strcmp(a, "--peak") == 0) {
      peak = 1;
    } else if (strcmp(a, "--no-symbols") == 0) {
      symbols = 0;
    } else if (a[0] == '-' && a[1]) {
      return hsa_cli_error("unknown option \"%s\" for export; see heapshape export --help", a);
    } else if (file) {
      return hsa_cli_error("export takes 1 snapshot file; unexpected argument \"%s\"", a);
    } else {
      file = a;
    }
  }
  if (!file) return hsa_cli_error("export needs a snapshot file: heapshape export SNAPSHOT --format FORMAT");
  if (!format)
    return hsa_cli_error("export needs --format pprof, speedscope, collapsed or csv");
  int fmt = strcmp(format, "pprof") == 0        ? 0
            : strcmp(format, "speedscope") == 0 ? 1
            : strcmp(format, "collapsed") == 0  ? 2
            : strcmp(format, "csv") == 0        ? 3
                                                : -1;
  if (fmt < 0)
    return hsa_cli_error("bad --format \"%s\"; use pprof, speedscope, collapsed or csv", format);
  struct hsa_snapshot s;
  struct hsa_error err;
  if (hsa_snapshot_read_file(file, &s, &err) != 0) return hsa_cli_error("%s", err.msg);
  int rc = 0;
  struct hsa_symbolizer *sym = NULL;
  struct hsa_stacks st;
  int have_stacks = 0;
  FILE *f = NULL;
  if (peak && !hsa_snapshot_has_peak(&s)) {
    rc = hsa_cli_error("%s: --peak: the snapshot has no peak copy: %s", file,
                       hsa_snapshot_no_peak_reason(&s));
    goto done;
  }
  if (symbols) {
    if (!(sym = hsa_symbolizer_new())) {
      rc = hsa_cli_error("out of memory");
      goto done;
    }
    hsa_symbolizer_set_warnings(sym, stderr);
  }
  if (fmt != 3) {
    if (hsa_stacks_init(&st, &s, sym, &err) != 0) {
      rc = hsa_cli_error("%s", err.msg);
      goto done;
    }
    have_stacks = 1;
  }
  f = out && strcmp(out, "-") != 0 ? fopen(out, fmt == 0 ? "wb" : "w") : stdout;
  if (!f) {
    rc = hsa_cli_error("%s: cannot write: %s; give -o a writable path", out, strerror(errno));
    goto done;
  }
  int r;
  if (fmt == 0) r = hsa_export_pprof(f, &st, peak, &err);
  else if (fmt == 1) r = hsa_export_speedscope(f, &st, peak, &err);
  else if (fmt == 2) r = hsa_export_collapsed(f, &st, peak, &err);
  else {
    struct hsa_options opt;
    struct hsa_stats stats;
    memset(&opt, 0, sizeof opt);
    opt.key = HSA_KEY_LINENO;
    opt.peak = peak;
    r = hsa_stats_compute(&s, &opt, sym, &stats, &err);
    if (r == 0) {
      r = hsa_export_csv(f, &stats, &err);
      hsa_stats_free(&stats);
    }
  }
  if (r != 0) rc = hsa_cli_error("%s", err.msg);
  if (f != stdout) {
    if (fclose(f) != 0 && rc == 0) rc = hsa_cli_error("%s: writing failed: %s", out, strerror(errno));
  } else if (fflush(stdout) != 0 && rc == 0) {
    rc = hsa_cli_error("writing the export failed: %s", strerror(errno));
  }
done:
  if (have_stacks) hsa_stacks_free(&st);
  hsa_symbolizer_free(sym);
  hsa_snapshot_free(&s);
  return rc;
}
