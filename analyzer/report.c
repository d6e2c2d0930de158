/* heapshape analyzer: text, JSON and `info` output (see report.h). */
#include "analyzer/report.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void hsa_format_size(double size, int sign, char *out, size_t outlen) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  for (int u = 0; u < 5; u++) {
    if (fabs(size) < 100 && u != 0) {
      snprintf(out, outlen, sign ? "%+.1f %s" : "%.1f %s", size, units[u]);
      return;
    }
    if (fabs(size) < 10 * 1024 || u == 4) {
      snprintf(out, outlen, sign ? "%+.0f %s" : "%.0f %s", size, units[u]);
      return;
    }
    size /= 1024;
  }
}

/* Appends printf output to out at *len, never overflowing. */
static void append(char *out, size_t outlen, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *out, size_t outlen, size_t *len, const char *fmt, ...) {
  if (*len >= outlen) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out + *len, outlen - *len, fmt, ap);
  va_end(ap);
  if (n > 0) *len += (size_t)n < outlen - *len ? (size_t)n : outlen - *len - 1;
}

void hsa_stat_format(const struct hsa_stat *st, int is_diff, enum hsa_key key, char *out,
                     size_t outlen) {
  hsa_stat_format_ex(st, is_diff, key, 0, out, outlen);
}

void hsa_stat_format_ex(const struct hsa_stat *st, int is_diff, enum hsa_key key, int sampled,
                        char *out, size_t outlen) {
  const struct hsa_frame_text *f = hsa_stat_frame(st);
  char size[32], diff[32];
  size_t len = 0;
  out[0] = '\0';
  if (key == HSA_KEY_TYPE) append(out, outlen, &len, "%s", f->filename); /* the type name */
  else append(out, outlen, &len, "%s:%d", f->filename, f->lineno);
  if (f->native && f->name[0] && key != HSA_KEY_FILENAME)
    append(out, outlen, &len, " (%s)", f->name);
  char se[48] = "";
  if (sampled) {
    char x[32];
    hsa_format_size(sqrt(st->size_var > 0 ? st->size_var : 0), 0, x, sizeof x);
    snprintf(se, sizeof se, " (\xc2\xb1%s)", x); /* U+00B1 PLUS-MINUS SIGN, UTF-8 */
  }
  hsa_format_size((double)st->size, 0, size, sizeof size);
  if (is_diff) {
    hsa_format_size((double)st->size_diff, 1, diff, sizeof diff);
    append(out, outlen, &len, ": size=%s (%s)%s, count=%" PRId64 " (%+" PRId64 ")", size, diff,
           se, st->count, st->count_diff);
  } else {
    append(out, outlen, &len, ": size=%s%s, count=%" PRId64, size, se, st->count);
  }
  if (st->count) {
    hsa_format_size((double)st->size / (double)st->count, 0, size, sizeof size);
    append(out, outlen, &len, ", average=%s", size);
  }
}

/* ---- source lines for --key traceback, like linecache.getline ---- */

struct source_file {
  struct source_file *next;
  char *path;
  char *text;    /* whole file, NUL-terminated; NULL if unreadable */
  char **lines;  /* starts of lines (not terminated: up to '\n' or NUL) */
  size_t nlines;
};

static struct source_file *source_load(struct source_file **cache, const char *path) {
  for (struct source_file *sf = *cache; sf; sf = sf->next)
    if (strcmp(sf->path, path) == 0) return sf;
  struct source_file *sf = calloc(1, sizeof *sf);
  if (!sf) return NULL;
  sf->path = strdup(path);
  if (!sf->path) {
    free(sf);
    return NULL;
  }
  FILE *in = path[0] ? fopen(path, "rb") : NULL;
  if (in) {
    size_t cap = 0, len = 0;
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0 && len < (64u << 20)) {
      if (len + got + 1 > cap) {
        size_t ncap = cap ? cap * 2 : 65536;
        while (ncap < len + got + 1) ncap *= 2;
        char *p = realloc(sf->text, ncap);
        if (!p) break;
        sf->text = p;
        cap = ncap;
      }
      memcpy(sf->text + len, buf, got);
      len += got;
    }
    fclose(in);
    if (sf->text) {
      sf->text[len] = '\0';
      size_t n = 1;
      for (size_t i = 0; i < len; i++) n += sf->text[i] == '\n';
      sf->lines = malloc(n * sizeof *sf->lines);
      if (sf->lines) {
        char *p = sf->text;
        for (;;) {
          sf->lines[sf->nlines++] = p;
          char *nl = strchr(p, '\n');
          if (!nl || !nl[1]) break;
          p = nl + 1;
        }
      }
    }
  }
  sf->next = *cache;
  *cache = sf;
  return sf;
}

static void source_free(struct source_file *sf) {
  while (sf) {
    struct source_file *next = sf->next;
    free(sf->path);
    free(sf->text);
    free(sf->lines);
    free(sf);
    sf = next;
  }
}

/* Line lineno of path stripped of surrounding whitespace (Python's str.strip()) into out;
 * "" when unknown. */
static void source_line(struct source_file **cache, const char *path, int lineno, char *out,
                        size_t outlen) {
  out[0] = '\0';
  if (lineno < 1) return;
  struct source_file *sf = source_load(cache, path);
  if (!sf || !sf->lines || (size_t)lineno > sf->nlines) return;
  const char *a = sf->lines[lineno - 1];
  const char *b = strchr(a, '\n');
  if (!b) b = a + strlen(a);
  while (a < b && strchr(" \t\r\f\v", *a)) a++;
  while (b > a && strchr(" \t\r\f\v", b[-1])) b--;
  size_t n = (size_t)(b - a) < outlen - 1 ? (size_t)(b - a) : outlen - 1;
  memcpy(out, a, n);
  out[n] = '\0';
}

/* One frame as Traceback.format() prints it (oldest first): `  File "f", line N` and the
 * stripped source line indented by 4 when the file is readable. Native frames: with source
 * information `  File "src.c", line 42, in function`; without, `  File "/lib/libfoo.so",
 * address 0x1234, in function` (", in function" only when the symbol is known). */
static void print_frame(FILE *f, const struct hsa_frame_text *fr, struct source_file **cache) {
  if (fr->native && fr->lineno == 0) {
    const char *plus = strstr(fr->filename, "+0x");
    const char *last = plus;
    while (last && (plus = strstr(last + 1, "+0x"))) last = plus;
    if (last) fprintf(f, "  File \"%.*s\", address %s", (int)(last - fr->filename), fr->filename,
                      last + 1);
    else fprintf(f, "  File \"%s\"", fr->filename);
    if (fr->name[0]) fprintf(f, ", in %s", fr->name);
    fputc('\n', f);
    return;
  }
  fprintf(f, "  File \"%s\", line %d", fr->filename, fr->lineno);
  if (fr->native && fr->name[0]) fprintf(f, ", in %s", fr->name);
  fputc('\n', f);
  char src[4096];
  source_line(cache, fr->filename, fr->lineno, src, sizeof src);
  if (src[0]) fprintf(f, "    %s\n", src);
}

int hsa_report_text(FILE *f, const struct hsa_stats *st, size_t limit) {
  size_t n = limit && limit < st->n ? limit : st->n;
  char line[8192];
  struct source_file *cache = NULL;
  for (size_t i = 0; i < n; i++) {
    hsa_stat_format_ex(&st->items[i], st->is_diff, st->key, st->sampled, line, sizeof line);
    fprintf(f, "%s\n", line);
    if (st->key == HSA_KEY_TRACEBACK)
      for (size_t k = 0; k < st->items[i].nframes; k++)
        print_frame(f, &st->items[i].frames[k], &cache);
  }
  source_free(cache);
  return ferror(f) ? -1 : 0;
}

void hsa_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': fputs("\\\"", f); break;
      case '\\': fputs("\\\\", f); break;
      case '\n': fputs("\\n", f); break;
      case '\r': fputs("\\r", f); break;
      case '\t': fputs("\\t", f); break;
      default:
        if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
  }
  fputc('"', f);
}

int hsa_report_json(FILE *f, const struct hsa_stats *st, size_t limit) {
  size_t n = limit && limit < st->n ? limit : st->n;
  fputs("{\"statistics\":[", f);
  for (size_t i = 0; i < n; i++) {
    const struct hsa_stat *s = &st->items[i];
    const struct hsa_frame_text *fr = hsa_stat_frame(s);
    if (st->key == HSA_KEY_TYPE) {
      fputs(i ? ",{\"type\":" : "{\"type\":", f);
      hsa_json_string(f, fr->filename);
      fprintf(f, ",\"size\":%" PRId64 ",\"count\":%" PRId64, s->size, s->count);
    } else {
      fputs(i ? ",{\"filename\":" : "{\"filename\":", f);
      hsa_json_string(f, fr->filename);
      fprintf(f, ",\"lineno\":%d,\"size\":%" PRId64 ",\"count\":%" PRId64, fr->lineno,
              s->size, s->count);
    }
    if (st->is_diff)
      fprintf(f, ",\"size_diff\":%" PRId64 ",\"count_diff\":%" PRId64, s->size_diff,
              s->count_diff);
    if (st->sampled) fprintf(f, ",\"size_stderr\":%.0f", sqrt(s->size_var > 0 ? s->size_var : 0));
    if (st->key == HSA_KEY_TRACEBACK) {
      fputs(",\"traceback\":[", f);
      for (size_t k = 0; k < s->nframes; k++) {
        fputs(k ? ",{\"filename\":" : "{\"filename\":", f);
        hsa_json_string(f, s->frames[k].filename);
        fprintf(f, ",\"lineno\":%d,\"name\":", s->frames[k].lineno);
        hsa_json_string(f, s->frames[k].name);
        fputc('}', f);
      }
      fputc(']', f);
    }
    fputc('}', f);
  }
  fprintf(f, "],\"total_size\":%" PRId64 ",\"total_count\":%" PRId64, st->total_size,
          st->total_count);
  if (st->is_diff)
    fprintf(f, ",\"total_size_diff\":%" PRId64 ",\"total_count_diff\":%" PRId64,
            st->total_size_diff, st->total_count_diff);
  if (st->sampled)
    fprintf(f, ",\"total_size_stderr\":%.0f",
            sqrt(st->total_size_var > 0 ? st->total_size_var : 0));
  fputs("}\n", f);
  return ferror(f) ? -1 : 0;
}

void hsa_python_version(unsigned hex, char *out, size_t outlen) {
  if (!hex) {
    snprintf(out, outlen, "none");
    return;
  }
  unsigned major = hex >> 24, minor = (hex >> 16) & 0xff, micro = (hex >> 8) & 0xff;
  unsigned level = (hex >> 4) & 0xf, serial = hex & 0xf;
  const char *lv = level == 0xa ? "a" : level == 0xb ? "b" : level == 0xc ? "rc" : "";
  if (level == 0xf || !lv[0])
    snprintf(out, outlen, "%u.%u.%u", major, minor, micro);
  else
    snprintf(out, outlen, "%u.%u.%u%s%u", major, minor, micro, lv, serial);
}

static void format_time(uint64_t ns, char *out, size_t outlen) {
  if (!ns) {
    snprintf(out, outlen, "unknown");
    return;
  }
  time_t t = (time_t)(ns / 1000000000u);
  struct tm tm;
  if (!gmtime_r(&t, &tm) || !strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm))
    snprintf(out, outlen, "%" PRIu64 " ns", ns);
}

int hsa_report_info(FILE *f, const struct hsa_snapshot *s) {
  const struct hs_meta *m = &s->meta;
  char py[32], t[64], t0[64], live[32], peak[32], total[32];
  hsa_python_version(m->python_version, py, sizeof py);
  format_time(m->time_ns, t, sizeof t);
  format_time(m->start_time_ns, t0, sizeof t0);
  hsa_format_size((double)m->live_bytes, 0, live, sizeof live);
  hsa_format_size((double)m->peak_live_bytes, 0, peak, sizeof peak);
  hsa_format_size((double)m->total_alloc_bytes, 0, total, sizeof total);
  fprintf(f, "file: %s\n", s->path ? s->path : "-");
  fprintf(f, "format version: %u\n", s->version);
  fprintf(f, "pid: %u (parent %u)\n", m->pid, m->ppid);
  fprintf(f, "program: %s\n", hsa_snapshot_string(s, m->program_sid));
  fprintf(f, "command line: %s\n", hsa_snapshot_string(s, m->cmdline_sid));
  fprintf(f, "python version: %s\n", py);
  fprintf(f, "reason: %s", hsa_reason_name(m->reason));
  if (m->reason == HS_REASON_EXIT) fputc('\n', f);
  else fprintf(f, " (snapshot %u)\n", m->seq);
  if (m->writer) fprintf(f, "written because: %s\n", hsa_writer_name(m->writer));
  fprintf(f, "taken: %s (tracking since %s)\n", t, t0);
  const char *smp = s->version >= 3 && m->sample_rate ? " (sampled blocks only)" : "";
  fprintf(f, "live: %" PRIu64 " bytes (%s) in %" PRIu64 " blocks%s\n", m->live_bytes, live,
          m->live_count, smp);
  if (hsa_snapshot_is_sampled(s)) {
    double eb = 0, ec = 0, var = 0;
    for (uint32_t i = 0; i < s->nestimates; i++) {
      eb += s->estimates[i].live_bytes;
      ec += s->estimates[i].live_count;
      var += s->estimates[i].live_bytes_var;
    }
    char e1[32], e2[32];
    hsa_format_size(eb, 0, e1, sizeof e1);
    hsa_format_size(sqrt(var), 0, e2, sizeof e2);
    fprintf(f, "live (estimate): %.0f bytes (%s \xc2\xb1%s) in %.0f blocks\n", eb, e1, e2, ec);
  }
  fprintf(f, "peak live: %" PRIu64 " bytes (%s)%s\n", m->peak_live_bytes, peak, smp);
  fprintf(f, "allocations: %" PRIu64 " (%" PRIu64 " bytes, %s), frees: %" PRIu64 "\n",
          m->total_allocs, m->total_alloc_bytes, total, m->total_frees);
  fprintf(f, "python frames per allocation: %u\n", m->max_frames);
  fprintf(f, "python hooks: %s\n", (m->flags & HS_META_FLAG_PYHOOKS) ? "installed" : "no");
  if (m->flags & HS_META_FLAG_DISABLED)
    fprintf(f, "warning: tracking was disabled by an error before this snapshot; the numbers "
               "are incomplete\n");
  if (s->version >= 3 && m->sample_rate)
    fprintf(f, "sampling: sampled every %" PRIu64 " bytes on average; sizes and counts are "
               "estimates%s\n",
            m->sample_rate, hsa_snapshot_is_sampled(s) ? "" : " (but the snapshot has none)");
  if (hsa_snapshot_has_peak(s)) {
    char pk[32];
    uint64_t pb = 0, pc = 0;
    for (uint32_t i = 0; i < s->npeak; i++) {
      pb += s->peak[i].live_bytes;
      pc += s->peak[i].live_count;
    }
    hsa_format_size((double)pb, 0, pk, sizeof pk);
    fprintf(f, "peak copy: %" PRIu64 " bytes (%s) in %" PRIu64 " blocks, taken %.3f s after "
               "tracking started (heapshape stats --peak)\n",
            pb, pk, pc, (double)s->peak_time_ns / 1e9);
  } else {
    fprintf(f, "peak copy: none (%s)\n",
            s->version < 3 ? (s->version == 1 ? "format version 1" : "format version 2")
                           : "the process never held 1 MiB");
  }
  if (s->version >= 3 && s->ntime)
    fprintf(f, "timeline: %u samples over %.3f s, every %.0f ms (heapshape timeline)\n",
            s->ntime, (double)s->timeline[s->ntime - 1].t_ns / 1e9,
            (double)s->time_interval_ns / 1e6);
  else
    fprintf(f, "timeline: none\n");
  fprintf(f, "sites: %u\nframes: %u\nstrings: %u\n", s->nsites, s->nframes, s->nstrings);
  if (hsa_snapshot_is_partial(s))
    fprintf(f, "partial: %u of the process's %u sites, %s mark %u (taken %.3f s after tracking "
               "started); totals above are the whole process's\n",
            s->nsites, s->part.process_sites,
            s->part.kind == HS_PART_SINCE ? "those touched since" : "as they were at",
            s->part.mark, (double)s->part.mark_time_ns / 1e9);
  if (hsa_snapshot_has_anatomy(s))
    fprintf(f, "anatomy: %u types, %u rows, %u shapes (pass took %.1f ms)\n", s->ntypes,
            s->nrows, s->nshapes, m->anatomy_us / 1000.0);
  else
    fprintf(f, "anatomy: none (%s)\n", s->version < 2 ? "format version 1"
                                      : !m->python_version ? "no Python interpreter"
                                      : hsa_snapshot_is_partial(s) ? "a partial snapshot"
                                                           : "the anatomy pass did not run");
  if (s->version < 4) {
    fprintf(f, "modules: none (format version %u)\n", s->version);
  } else {
    fprintf(f, "modules: %u\n", s->nmodules);
    const uint32_t show = 10;
    for (uint32_t i = 0; i < s->nmodules && i < show; i++) {
      const struct hs_module_rec *mo = &s->modules[i];
      const char *id = hsa_snapshot_string(s, mo->build_id_sid);
      fprintf(f, "  %s build-id %s base 0x%" PRIx64 "\n", hsa_snapshot_string(s, mo->path_sid),
              id[0] ? id : "none", mo->base);
    }
    if (s->nmodules > show) fprintf(f, "  ... %u more\n", s->nmodules - show);
  }
  return ferror(f) ? -1 : 0;
}
