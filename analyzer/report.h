/* heapshape analyzer: output. Text lines are exactly Python's str(tracemalloc.Statistic) and
 * str(tracemalloc.StatisticDiff); sizes exactly tracemalloc._format_size. JSON is
 *   {"statistics":[{"filename":..,"lineno":..,"size":..,"count":..
 *                   [,"size_diff":..,"count_diff":..][,"traceback":[{"filename":..,"lineno":..,
 *                   "name":..},...]]}],
 *    "total_size":..,"total_count":..[,"total_size_diff":..,"total_count_diff":..]}
 * with "filename"/"lineno" the frame the text line shows and "traceback" (key traceback only)
 * oldest frame first, like tracemalloc.Traceback. With --key type a text line is
 * `TYPE: size=..., count=..., average=...` (count = objects) and a JSON entry has "type" instead
 * of "filename"/"lineno". For sampled snapshots (estimates) each JSON entry also has
 * "size_stderr" (bytes: the standard error of "size", of "size_diff" for a diff) and the
 * document "total_size_stderr". */
#ifndef HEAPSHAPE_ANALYZER_REPORT_H
#define HEAPSHAPE_ANALYZER_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "analyzer/snapshot.h"
#include "analyzer/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tracemalloc._format_size(size, sign) into out (>= 32 bytes is always enough). */
void hsa_format_size(double size, int sign, char *out, size_t outlen);

/* One statistic as str(Statistic) (is_diff 0) or str(StatisticDiff) (is_diff 1), no newline.
 * Native frames with a known function name get " (function)" after `filename:lineno`
 * (keys lineno and traceback); Python and unknown frames print exactly as tracemalloc. */
void hsa_stat_format(const struct hsa_stat *st, int is_diff, enum hsa_key key, char *out,
                     size_t outlen);

/* Same, for a sampled statistic (sampled 1): ` (±X)` follows the size (the size diff for a
 * diff), X the standard error sqrt(size_var) in the same size format, e.g.
 * `app.py:3: size=19.1 MiB (±312 KiB), count=10012, average=2001 B`. */
void hsa_stat_format_ex(const struct hsa_stat *st, int is_diff, enum hsa_key key, int sampled,
                        char *out, size_t outlen);

/* Writes up to limit statistics (0 = all), one line each (with ` (±X)` when st->sampled).
 * With key traceback each line is followed by its traceback as tracemalloc's
 * Traceback.format() prints it, oldest frame first: `  File "FILE", line N` and, when FILE is
 * readable, its line N stripped and indented by 4 (linecache.getline). Native frames print
 * `  File "SRC.c", line N, in FUNCTION` (+ source line) when symbolized to a source line,
 * else `  File "MODULE", address 0xADDR[, in FUNCTION]`. Returns 0 / -1 (write error). */
int hsa_report_text(FILE *f, const struct hsa_stats *st, size_t limit);

/* Writes the JSON document above with up to limit statistics (0 = all), then a newline. */
int hsa_report_json(FILE *f, const struct hsa_stats *st, size_t limit);

/* `heapshape info`: the snapshot's META and counts, one "name: value" per line; then (format v4)
 * "modules: N" and the first 10 modules, one "  PATH build-id HEX|none base 0xADDR" each, and
 * "  ... K more" when there are more. */
int hsa_report_info(FILE *f, const struct hsa_snapshot *s);

/* Writes s as a JSON string literal (quotes, escapes). */
void hsa_json_string(FILE *f, const char *s);

/* "3.11.2", "3.12.0rc1", or "none" for 0 (PY_VERSION_HEX). */
void hsa_python_version(unsigned hex, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_REPORT_H */
