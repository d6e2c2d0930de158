/* heapshape analyzer: the CI memory gate, `heapshape check BASELINE NEW`, and
 * `heapshape baseline save`. Semantics (also in docs/ci.md):
 *
 *   total live memory  = META live_bytes (what `heapshape info` and `run` print as "live").
 *   --max-increase PCT and --max-increase-bytes SIZE bound the growth of the total over the
 *       baseline. The allowance is the LARGER of the two when both are given (a regression only
 *       when both are exceeded), as pytest.approx combines rel and abs: a small program gets the
 *       absolute slack, a big one the relative slack. With neither, --max-increase 10% applies.
 *   --max-total SIZE   the new total must not exceed SIZE (no baseline needed for the rule).
 *   --max-peak SIZE|PCT  META peak_live_bytes of NEW must not exceed SIZE, or (with a %) the
 *       baseline's peak by more than PCT.
 *   --site-max-increase PCT  every group of --key (a tracemalloc StatisticDiff line) may grow by
 *       at most PCT of its baseline size; growth at or under --site-floor (default 64 KiB) never
 *       counts, so small sites do not flap. A site absent from the baseline has grown by an
 *       infinite percentage: it fails only above the floor.
 *
 * Exit status: 0 all limits met, 1 a limit exceeded, 2 usage or input error (one line). */
#ifndef HEAPSHAPE_ANALYZER_CHECK_H
#define HEAPSHAPE_ANALYZER_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "analyzer/snapshot.h"
#include "analyzer/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HSA_EXIT_REGRESSION 1
#define HSA_CHECK_DEFAULT_PCT 10.0
#define HSA_CHECK_DEFAULT_SITE_FLOOR (64.0 * 1024)

struct hsa_check_limits {
  int has_pct, has_bytes, has_total, has_peak, peak_is_pct, has_site;
  double pct, bytes, total, peak, site_pct, site_floor;
  char pct_text[32], bytes_text[32], total_text[32], peak_text[32], site_text[32];
};

enum hsa_check_kind { HSA_CHECK_INCREASE, HSA_CHECK_TOTAL, HSA_CHECK_PEAK, HSA_CHECK_SITE };

/* One evaluated limit (for HSA_CHECK_SITE: one offending site, or one passing summary). */
struct hsa_check_item {
  enum hsa_check_kind kind;
  char option[160]; /* e.g. "--max-increase 10%" */
  char what[512]; /* "total live memory", "peak live memory", "site app.py:12" */
  int exceeded;
  double baseline, value, allowed; /* bytes; allowed = the most value may be (or grow by) */
  double over; /* bytes over the limit when exceeded */
  char message[1024]; /* one sentence: what, by how much, which limit */
  const struct hsa_stat *site; /* HSA_CHECK_SITE with a site */
};

struct hsa_check_result {
  const char *baseline_path, *new_path;
  enum hsa_key key;
  struct hsa_stats diff; /* baseline -> new, tracemalloc order */
  struct hsa_check_item *items;
  size_t nitems, nexceeded;
  uint64_t base_total, new_total, base_peak, new_peak;
  size_t limit_lines; /* how many diff lines reports show */
};

/* Evaluates the limits; base and new must already be relativized. 0 / -1. */
int hsa_check_evaluate(const struct hsa_snapshot *base, const struct hsa_snapshot *new_s,
                       enum hsa_key key, const struct hsa_check_limits *lim,
                       struct hsa_symbolizer *sym, struct hsa_check_result *out,
                       struct hsa_error *err);
void hsa_check_result_free(struct hsa_check_result *r);

int hsa_check_report_text(FILE *f, const struct hsa_check_result *r);
int hsa_check_report_markdown(FILE *f, const struct hsa_check_result *r);
int hsa_check_report_junit(FILE *f, const struct hsa_check_result *r);
int hsa_check_report_json(FILE *f, const struct hsa_check_result *r);

/* `heapshape check ...` and `heapshape baseline save ...`; argv[0] is the command. */
int hsa_cli_check(int argc, char **argv);
int hsa_cli_baseline(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_CHECK_H */
