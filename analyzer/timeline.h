/* heapshape analyzer: `heapshape timeline FILE [--format text|json] [--width N]`, the live
 * memory over time recorded in a snapshot's TIME section (format v3).
 *
 * JSON: {"interval_ns":..,"sample_rate":..,"samples":[{"t":SECONDS,"live_bytes":..,
 *        "live_count":..,"top":[{"filename":..,"lineno":..,"function":..,"bytes":..},...]}]}
 * with t in seconds since tracking started (a float), "top" the sites holding the most memory
 * at that moment, largest first (innermost frame, resolved as `stats` resolves it). In sampled
 * mode (sample_rate > 0) the timeline holds the bytes of the sampled blocks, not estimates.
 *
 * Text: a header line, then a chart of at most HSA_TIMELINE_MAX_LINES lines: consecutive
 * samples are merged into buckets, each showing the sample with the most live bytes in it:
 *   `   1.250s   476.9 MiB |##########################              | peak.py:4`
 * (time of that sample, its live bytes, a bar scaled to the largest sample, its top site).
 * Errors follow snapshot.h (0 / -1 and a struct hsa_error). */
#ifndef HEAPSHAPE_ANALYZER_TIMELINE_H
#define HEAPSHAPE_ANALYZER_TIMELINE_H

#include <stdio.h>

#include "analyzer/snapshot.h"
#include "analyzer/symbolize.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HSA_TIMELINE_MAX_LINES 40
#define HSA_TIMELINE_WIDTH 40 /* default bar width */

/* Fails (with the reason) when s has no timeline samples. sym may be NULL. */
int hsa_timeline_report_json(FILE *f, const struct hsa_snapshot *s, struct hsa_symbolizer *sym,
                             struct hsa_error *err);
int hsa_timeline_report_text(FILE *f, const struct hsa_snapshot *s, struct hsa_symbolizer *sym,
                             int width, struct hsa_error *err);

/* `heapshape timeline ...`; argv[0] is "timeline". Returns the exit status. */
int hsa_cli_timeline(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_TIMELINE_H */
