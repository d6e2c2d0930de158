/* heapshape analyzer: baseline files for CI (`heapshape baseline save`, `heapshape check`).
 *
 * A baseline is a small text file meant to be committed next to the code it measures: sorted,
 * stable, diff-friendly, with no addresses, pids or times. Version 1:
 *
 *   # heapshape baseline 1
 *   # (comment lines start with '#'; blank lines are ignored)
 *   key<TAB>lineno                      grouping used for the site lines (lineno | filename)
 *   program<TAB>app                     program name (informational)
 *   python<TAB>3.11.2                   interpreter version (informational)
 *   total<TAB>live_bytes<TAB>N<TAB>live_count<TAB>N<TAB>peak_live_bytes<TAB>N
 *        <TAB>alloc_bytes<TAB>N<TAB>allocs<TAB>N   (one line)
 *   site<TAB>FILENAME<TAB>LINENO<TAB>SIZE<TAB>COUNT<TAB>PEAK     one per group, sorted by
 *                                                                 filename then line
 *
 * SIZE/COUNT are the group's live bytes and blocks (what `heapshape stats --key K` prints);
 * PEAK is the sum of the peak live bytes of the stacks in the group (an upper bound of the
 * group's own peak). Only groups with live blocks (and at least --min-size bytes) are written;
 * a site missing from a baseline counts as 0 bytes there. FILENAME is escaped: backslash,
 * tab and newline become \\, \t, \n. Python file names under the root directory (default: the
 * current directory) are written relative to it, so a baseline saved in one checkout matches
 * snapshots taken in another.
 *
 * Reading a baseline gives a struct hsa_snapshot with one site per line (a Python frame
 * FILENAME:LINENO, live counters from the line) and META totals from the "total" line, so the
 * stats/diff code treats it like any snapshot. Errors follow snapshot.h. */
#ifndef HEAPSHAPE_ANALYZER_BASELINE_H
#define HEAPSHAPE_ANALYZER_BASELINE_H

#include <stdio.h>

#include "analyzer/snapshot.h"
#include "analyzer/stats.h"
#include "analyzer/symbolize.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HSA_BASELINE_MAGIC "# heapshape baseline "
#define HSA_BASELINE_VERSION 1

/* Writes the baseline of s grouped by key (HSA_KEY_LINENO or HSA_KEY_FILENAME) to f.
 * Relativize s first (hsa_snapshot_relativize) for portable file names. */
int hsa_baseline_write(FILE *f, const struct hsa_snapshot *s, enum hsa_key key,
                       struct hsa_symbolizer *sym, struct hsa_error *err);

/* Site lines smaller than this many live bytes are left out of baselines (the totals still
 * count them); 0 keeps every site. Set by `baseline save --min-size`. */
extern double hsa_baseline_min_size;

/* Nonzero: also write groups with no live blocks but a peak (size 0, count 0), for tools that
 * want per-site peaks of transient memory (`baseline save --all-sites`). */
extern int hsa_baseline_all_sites;

/* The interpreter's own start-up lines: <frozen ...> modules and <unknown> (no Python frame).
 * A baseline sums those below --min-size into one line, HSA_STARTUP_SMALL 0; `check` compares
 * the start-up lines' total, not each line (what they hold moves between them run to run). */
#define HSA_STARTUP_SMALL "<frozen ...>"
int hsa_is_startup_file(const char *filename);

/* Parses a baseline file into *out (caller frees with hsa_snapshot_free) and its key. */
int hsa_baseline_read_file(const char *path, struct hsa_snapshot *out, enum hsa_key *key,
                           struct hsa_error *err);

/* Reads path as a .hsnap snapshot or a baseline, whichever it is (by its first bytes).
 * *is_baseline (may be NULL) tells which; *key (may be NULL) gets a baseline's key. A file that
 * is neither gets one line naming both accepted kinds. */
int hsa_input_read_file(const char *path, struct hsa_snapshot *out, int *is_baseline,
                        enum hsa_key *key, struct hsa_error *err);

/* Rewrites the file names of Python frames that start with root + "/" to be relative to root.
 * root NULL or "" does nothing; a trailing slash on root is ignored. */
int hsa_snapshot_relativize(struct hsa_snapshot *s, const char *root, struct hsa_error *err);

/* Parses a size: a number with an optional unit B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB
 * (case-insensitive, optional space; all units are powers of 1024, as in tracemalloc and
 * pytest-memray). 0 / -1. */
int hsa_parse_size(const char *text, double *bytes);

/* Parses a percentage "10", "10%" or "2.5%"; 0 / -1. */
int hsa_parse_percent(const char *text, double *pct);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_BASELINE_H */
