/* heapshape analyzer: `heapshape report SNAPSHOT [-o report.html]` and
 * `heapshape report OLD NEW [-o diff.html]`: one self-contained HTML file (no network fetches:
 * the scripts and styles of analyzer/report/, embedded at build time, and the data inline).
 *
 * The page shows: an icicle graph of live bytes by stack (Python frames, and native frames when
 * recorded) with zoom (click), search and hover (bytes, blocks, share); the timeline of live
 * memory with the peak marked; the top lines (`stats` figures); per site the anatomy split
 * (object headers, pointers, data, rounding) as a stacked bar, with the sampled shapes; the
 * advice with its rewrite; a toggle for the peak view when the snapshot has a peak copy. With
 * two snapshots the graph and the table show the difference (growth red, shrinkage blue).
 *
 * The data is one JSON document in <script type="application/json" id="hs-data">:
 *   {"format":1,"diff":bool,"meta":{..},"old_meta":{..}|null,"labels":[TEXT..],"kinds":"pnu..",
 *    "stride":6,"nodes":[parent,label,bytes,blocks,bytes2,blocks2, ...],
 *    "views":["now","peak"] (or ["new","old"] for a diff),
 *    "stats":{stats json}, "stats_peak":{..}|null, "timeline":{timeline json}|null,
 *    "anatomy":{anatomy json}|null, "advice":{advise json}|null}
 * nodes: the stack tree, node k (k >= 1) at nodes[(k-1)*stride..]; parent 0 is the root; the
 * values are the node's own (self) live bytes and blocks in both views; parents come before
 * their children. The table and anatomy rows are cut at HSA_HTML_TABLE_ROWS and
 * HSA_HTML_ANATOMY_ROWS; the tree is complete. */
#ifndef HEAPSHAPE_ANALYZER_HTML_REPORT_H
#define HEAPSHAPE_ANALYZER_HTML_REPORT_H

#include <stdio.h>

#include "analyzer/snapshot.h"
#include "analyzer/symbolize.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HSA_HTML_TABLE_ROWS 200
#define HSA_HTML_ANATOMY_ROWS 40

/* Writes the report of snap (old NULL) or of the difference old -> snap to f. */
int hsa_html_report_write(FILE *f, const struct hsa_snapshot *old, const struct hsa_snapshot *snap,
                          struct hsa_symbolizer *sym, struct hsa_error *err);

/* Reads the snapshot(s) and writes the report to out_path (through a temporary file renamed
 * into place). old_path may be NULL; symbols 0 leaves native frames unsymbolized. */
int hsa_html_report_file(const char *old_path, const char *path, const char *out_path,
                         int symbols, struct hsa_error *err);

/* `heapshape report ...`; argv[0] is "report". Returns the exit status. */
int hsa_cli_report(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_HTML_REPORT_H */
