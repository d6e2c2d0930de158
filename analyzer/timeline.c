/* heapshape analyzer: the timeline view (see timeline.h). */
#include "analyzer/timeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/errors.h"
#include "analyzer/reader.h"
#include "analyzer/report.h"
#include "analyzer/stats.h"

static int need_timeline(const struct hsa_snapshot *s, struct hsa_error *err) {
  if (s->version >= 3 && s->ntime > 0) return 0;
  return hsa_fail(err, "%s: the snapshot has no timeline: %s", s->path ? s->path : "snapshot",
                  hsa_snapshot_no_timeline_reason(s));
}

/* The innermost frame of site id (as `stats --key lineno` prints it). */
static void site_frame(const struct hsa_snapshot *s, uint32_t site, struct hsa_symbolizer *sym,
                       struct hsa_frame_text *out, char *buf, size_t buflen) {
  hsa_frame_resolve(s, hsa_site_key_frame(s, &s->sites[site]), sym, HSA_KEY_LINENO, out, buf,
                    buflen);
}

int hsa_timeline_report_json(FILE *f, const struct hsa_snapshot *s, struct hsa_symbolizer *sym,
                             struct hsa_error *err) {
  if (need_timeline(s, err) != 0) return -1;
  fprintf(f, "{\"interval_ns\":%" PRIu64 ",\"sample_rate\":%" PRIu64 ",\"samples\":[",
          s->time_interval_ns, s->meta.sample_rate);
  for (uint32_t i = 0; i < s->ntime; i++) {
    const struct hs_time_rec *t = &s->timeline[i];
    fprintf(f, "%s{\"t\":%.6f,\"live_bytes\":%" PRIu64 ",\"live_count\":%" PRIu64 ",\"top\":[",
            i ? "," : "", (double)t->t_ns / 1e9, t->live_bytes, t->live_count);
    int first = 1;
    for (int k = 0; k < HS_TIME_TOP_SITES; k++) {
      if (!t->top[k].bytes) continue;
      struct hsa_frame_text fr;
      char buf[4200];
      site_frame(s, t->top[k].site, sym, &fr, buf, sizeof buf);
      fputs(first ? "{\"filename\":" : ",{\"filename\":", f);
      hsa_json_string(f, fr.filename);
      fprintf(f, ",\"lineno\":%d,\"function\":", fr.lineno);
      hsa_json_string(f, fr.name);
      fprintf(f, ",\"bytes\":%" PRIu64 "}", t->top[k].bytes);
      first = 0;
    }
    fputs("]}", f);
  }
  fputs("]}\n", f);
  return ferror(f) ? hsa_fail(err, "writing the timeline failed: %s", strerror(errno)) : 0;
}

int hsa_timeline_report_text(FILE *f, const struct hsa_snapshot *s, struct hsa_symbolizer *sym,
                             int width, struct hsa_error *err) {
  if (need_timeline(s, err) != 0) return -1;
  if (width < 1) width = HSA_TIMELINE_WIDTH;
  uint32_t n = s->ntime;
  uint32_t per = (n + HSA_TIMELINE_MAX_LINES - 1) / HSA_TIMELINE_MAX_LINES; /* samples/bucket */
  uint64_t max = 0;
  uint32_t imax = 0;
  for (uint32_t i = 0; i < n; i++)
    if (s->timeline[i].live_bytes > max) {
      max = s->timeline[i].live_bytes;
      imax = i;
    }
  char size[32];
  hsa_format_size((double)max, 0, size, sizeof size);
  fprintf(f, "%s: %u samples over %.3fs (sampling interval %.0f ms); max %s at %.3fs%s\n",
          s->path ? s->path : "snapshot", n, (double)s->timeline[n - 1].t_ns / 1e9,
          (double)s->time_interval_ns / 1e6, size,
          (double)s->timeline[imax].t_ns / 1e9,
          s->meta.sample_rate ? "; sampled mode: bytes of the sampled blocks only" : "");
  if (per > 1) fprintf(f, "(each line: the largest of %u consecutive samples)\n", per);
  char *bar = malloc((size_t)width + 1);
  if (!bar) return hsa_fail(err, "out of memory");
  for (uint32_t b = 0; b < n; b += per) {
    uint32_t best = b;
    for (uint32_t i = b; i < n && i < b + per; i++)
      if (s->timeline[i].live_bytes > s->timeline[best].live_bytes) best = i;
    const struct hs_time_rec *t = &s->timeline[best];
    int fill = max ? (int)((double)t->live_bytes / (double)max * width + 0.5) : 0;
    if (fill > width) fill = width;
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, ' ', (size_t)(width - fill));
    bar[width] = '\0';
    hsa_format_size((double)t->live_bytes, 0, size, sizeof size);
    fprintf(f, "%9.3fs %10s |%s|", (double)t->t_ns / 1e9, size, bar);
    if (t->top[0].bytes) {
      struct hsa_frame_text fr;
      char buf[4200], top[32];
      site_frame(s, t->top[0].site, sym, &fr, buf, sizeof buf);
      hsa_format_size((double)t->top[0].bytes, 0, top, sizeof top);
      fprintf(f, " %s:%d (%s)", fr.filename, fr.lineno, top);
    }
    fputc('\n', f);
  }
  free(bar);
  return ferror(f) ? hsa_fail(err, "writing the timeline failed: %s", strerror(errno)) : 0;
}

int hsa_cli_timeline(int argc, char **argv) {
  const char *file = NULL;
  int json = 0, symbols = 1;
  long width = HSA_TIMELINE_WIDTH;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = NULL;
    if (strncmp(a, "--format", 8) == 0 && (a[8] == '\0' || a[8] == '=')) {
      if (a[8] == '=') v = a + 9;
      else if (i + 1 < argc) v = argv[++i];
      else return hsa_cli_error("option --format needs a value; see heapshape --help");
      if (strcmp(v, "json") == 0) json = 1;
      else if (strcmp(v, "text") == 0) json = 0;
      else return hsa_cli_error("bad --format \"%s\"; use text or json", v);
    } else if (strncmp(a, "--width", 7) == 0 && (a[7] == '\0' || a[7] == '=')) {
      if (a[7] == '=') v = a + 8;
      else if (i + 1 < argc) v = argv[++i];
      else return hsa_cli_error("option --width needs a value; see heapshape --help");
      char *end;
      errno = 0;
      width = strtol(v, &end, 10);
      if (errno || end == v || *end || width < 1 || width > 1000)
        return hsa_cli_error("bad --width \"%s\"; use a number from 1 to 1000", v);
    } else if (strcmp(a, "--no-symbols") == 0) {
      symbols = 0;
    } else if (a[0] == '-' && strcmp(a, "-") != 0) {
      return hsa_cli_error("unknown option \"%s\" for timeline; see heapshape timeline --help", a);
    } else if (file) {
      return hsa_cli_error("timeline takes 1 file; unexpected argument \"%s\"", a);
    } else {
      file = a;
    }
  }
  if (!file) return hsa_cli_error("timeline needs a snapshot file: heapshape timeline FILE");
  struct hsa_snapshot s;
  struct hsa_error err;
  if (hsa_snapshot_read_file(file, &s, &err) != 0) return hsa_cli_error("%s", err.msg);
  struct hsa_symbolizer *sym = symbols ? hsa_symbolizer_new() : NULL;
  hsa_symbolizer_set_warnings(sym, stderr);
  int rc = json ? hsa_timeline_report_json(stdout, &s, sym, &err)
                : hsa_timeline_report_text(stdout, &s, sym, (int)width, &err);
  if (rc != 0) rc = hsa_cli_error("%s", err.msg);
  else if (fflush(stdout) != 0) rc = hsa_cli_error("writing the report failed: %s", strerror(errno));
  hsa_symbolizer_free(sym);
  hsa_snapshot_free(&s);
  return rc;
}
