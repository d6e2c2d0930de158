/* heapshape analyzer: combining snapshots (`heapshape merge`, `heapshape run --repeat`,
 * `heapshape run --with-children`).
 *
 * Sites are matched across inputs by content: domain and the frames (kind, file, line, function,
 * module-relative address), so snapshots of different processes and runs line up.
 *
 *   HSA_MERGE_MEDIAN  repeated runs of one program: every site counter is the median over the
 *                     inputs (an input without the site counts as 0; an even count takes the
 *                     mean of the middle two, rounded down), and so are the META totals (live
 *                     bytes and blocks, peak, allocations, frees, bytes allocated). Sites whose
 *                     median counters are all 0 are dropped. Normal run-to-run jitter thus
 *                     cancels out: one noisy run out of three changes nothing.
 *   HSA_MERGE_SUM     several processes of one run (a parent and its children): counters and
 *                     totals add up. The peak is the sum of the processes' peaks (an upper
 *                     bound: they need not peak at the same time). A forked child's snapshot
 *                     includes the memory it inherited from its parent, so that memory is
 *                     counted once per process, as summing RSS would.
 *
 * The result is a snapshot without anatomy data; its program is the first input's and its
 * command line records the inputs: "heapshape merge --median a.hsnap b.hsnap ...". */
#ifndef HEAPSHAPE_ANALYZER_MERGE_H
#define HEAPSHAPE_ANALYZER_MERGE_H

#include <stddef.h>

#include "analyzer/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

enum hsa_merge_mode { HSA_MERGE_MEDIAN, HSA_MERGE_SUM };

/* Merges n >= 1 snapshots into *out (initialized here; caller frees). names[i] (may be NULL)
 * label the inputs in the command line. */
int hsa_merge(const struct hsa_snapshot *const *in, size_t n, enum hsa_merge_mode mode,
              const char *const *names, struct hsa_snapshot *out, struct hsa_error *err);

/* Median of n values (sorts v in place); 0 for n == 0. */
uint64_t hsa_median_u64(uint64_t *v, size_t n);

/* `heapshape merge [--median|--sum] INPUT... -o OUTPUT`; argv[0] is "merge". */
int hsa_cli_merge(int argc, char **argv);

/* Reads the given files and merges them into out_path; 0 or an exit status after a message. */
int hsa_merge_files(const char *const *paths, size_t n, enum hsa_merge_mode mode,
                    const char *out_path);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_MERGE_H */
