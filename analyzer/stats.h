/* heapshape analyzer: live-memory statistics grouped like Python's tracemalloc
 * (Snapshot.statistics and Snapshot.compare_to in Lib/tracemalloc.py), with tracemalloc's
 * filters (Filter with fnmatch on the innermost frame's file name, all_frames=False) and a
 * domain filter.
 *
 * Frames print as tracemalloc's Frame does, `filename:lineno`:
 *   Python frame  -> co_filename:lineno
 *   native frame  -> srcfile:line when libdwfl finds line information (function name in
 *                    hsa_frame_text.name), else "<module path>+0x<addr>" with lineno 0
 *   unknown frame -> "<unknown>:0"
 * Errors follow snapshot.h (0 / -1 and a struct hsa_error).
 */
#ifndef HEAPSHAPE_ANALYZER_STATS_H
#define HEAPSHAPE_ANALYZER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "analyzer/snapshot.h"
#include "analyzer/symbolize.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tracemalloc's key_type. */
enum hsa_key {
  HSA_KEY_LINENO,    /* innermost frame: filename and line */
  HSA_KEY_FILENAME,  /* innermost frame's filename, line 0 */
  HSA_KEY_TRACEBACK, /* all frames */
  HSA_KEY_TYPE,      /* Python type (object anatomy, format v2): the rows of ANAT grouped by
                      * type name; size = bytes + owned bytes, count = objects; untyped
                      * blocks under "<no type>". Filters apply to the row's site. */
};

/* Parses "lineno" / "filename" / "traceback" / "type"; 0 / -1. */
int hsa_key_parse(const char *text, enum hsa_key *key);

/* Bit for a domain in hsa_options.domain_mask. */
#define HSA_DOMAIN_BIT(d) (1u << (d))
/* Parses "malloc", "raw", "mem", "obj" or "python" (= raw|mem|obj) into a mask; 0 / -1. */
int hsa_domain_parse(const char *text, unsigned *mask);

struct hsa_options {
  enum hsa_key key;
  const char *const *include; /* fnmatch patterns; a site passes if any matches (if any given) */
  size_t ninclude;
  const char *const *exclude; /* a site is dropped if any matches */
  size_t nexclude;
  unsigned domain_mask; /* HSA_DOMAIN_BIT()s to keep; 0 keeps all domains */
  int peak; /* 1: the live memory of the PEAK copy (format v3) instead of the snapshot's */
};

/* A frame as printed. The strings are owned by the struct hsa_stats that holds the frame. */
struct hsa_frame_text {
  const char *filename;
  int lineno;
  const char *name; /* Python: co_name; native: function if known, else ""; unknown: "" */
  int native; /* 1 for native frames */
};

/* One line of output: tracemalloc's Statistic (size_diff/count_diff 0) or StatisticDiff.
 * With HSA_KEY_TYPE, frames holds one pseudo-frame whose filename is the type name (lineno 0,
 * name ""), so that grouping and sorting work unchanged. */
struct hsa_stat {
  struct hsa_frame_text *frames; /* oldest first, like tracemalloc.Traceback; >= 1 frame */
  size_t nframes;
  int64_t size;
  int64_t size_diff;
  int64_t count;
  int64_t count_diff;
  /* Sampled snapshots (hsa_stats.sampled): variance of size (of size_diff for a diff: the
   * variances of both snapshots add), the sum over the grouped sites' ESTM variances. */
  double size_var;
};

struct hsa_stats {
  enum hsa_key key;
  int is_diff; /* 1 when made by hsa_stats_diff */
  struct hsa_stat *items; /* sorted as tracemalloc sorts them */
  size_t n;
  int64_t total_size, total_count; /* over the filtered set (the new snapshot for a diff) */
  int64_t total_size_diff, total_count_diff; /* diff only: new total - old total */
  int sampled; /* 1 if a snapshot was sampled: sizes and counts are estimates (size_var set) */
  double total_size_var; /* variance of total_size (of total_size_diff for a diff) */
  void *pool; /* owned strings */
};

/* Groups the live memory of s (sites with live_count 0 contribute nothing) by opt->key after
 * filtering, sorted like Snapshot.statistics (size, count, traceback; descending). sym may be
 * NULL (no symbolization). On success the caller frees *out with hsa_stats_free.
 * HSA_KEY_TYPE fails (with the reason and how to get one) if a snapshot has no anatomy.
 * A sampled snapshot (hsa_snapshot_is_sampled) contributes its estimates (ESTM live bytes and
 * blocks, summed per group and rounded) and their variances; sites whose sampled live_count
 * is 0 still contribute nothing. With opt->peak the PEAK copy's per-site live memory is used
 * instead (fails, with the reason, when a snapshot has no peak copy, and with HSA_KEY_TYPE);
 * a sampled snapshot's peak copy already holds rounded estimates, without variances. */
int hsa_stats_compute(const struct hsa_snapshot *s, const struct hsa_options *opt,
                      struct hsa_symbolizer *sym, struct hsa_stats *out, struct hsa_error *err);

/* Like Snapshot.compare_to(old, key): groups both snapshots, then one entry per key in either,
 * sorted by (abs(size_diff), size, abs(count_diff), count, traceback), descending. */
int hsa_stats_diff(const struct hsa_snapshot *old_s, const struct hsa_snapshot *new_s,
                   const struct hsa_options *opt, struct hsa_symbolizer *sym,
                   struct hsa_stats *out, struct hsa_error *err);

void hsa_stats_free(struct hsa_stats *st);

/* The frame tracemalloc prints for a statistic (str(Traceback) is its oldest frame). */
const struct hsa_frame_text *hsa_stat_frame(const struct hsa_stat *st);

/* The frame a site is attributed to by keys lineno and filename, by the include/exclude
 * filters, and by the anatomy and timeline views: its innermost Python frame if it has one
 * (a --native stack mixes native frames with Python frames: the C extension's allocation
 * belongs to the Python line that called into it; the native frames show with --key
 * traceback), else its innermost frame. Without --native a site's frames are all Python
 * frames, or one native or unknown frame, so this is the innermost frame, as in tracemalloc. */
uint32_t hsa_site_key_frame(const struct hsa_snapshot *s, const struct hsa_site *site);

/* 1 if a site passes opt's domain mask and include/exclude filters, given its innermost frame
 * as resolved by hsa_frame_resolve. */
int hsa_site_passes(const struct hsa_site *site, const struct hsa_frame_text *innermost,
                    const struct hsa_options *opt);

/* Resolves frame id fid of s for printing (see the file comment); key HSA_KEY_FILENAME gives
 * the filename-level form (lineno 0, native frames without line info by module path). The
 * strings point into s, sym, or buf (size buflen, used for the "+0x" form). */
void hsa_frame_resolve(const struct hsa_snapshot *s, uint32_t fid, struct hsa_symbolizer *sym,
                       enum hsa_key key, struct hsa_frame_text *out, char *buf, size_t buflen);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_STATS_H */
