/* heapshape analyzer: `heapshape export SNAPSHOT --format pprof|speedscope|collapsed|csv
 * [-o FILE] [--peak] [--no-symbols]`, the live memory of a snapshot in formats other tools read.
 *
 *   pprof       pprof's profile.proto, gzipped (go tool pprof, Grafana Pyroscope, Parca).
 *               Sample types live_blocks/count and live_bytes/bytes (the default), then
 *               alloc_blocks/count and alloc_bytes/bytes (everything the site allocated) when
 *               the snapshot recorded every allocation and the view is not --peak. One sample
 *               per site, leaf first, labelled domain=malloc|raw|mem|obj. Python frames are
 *               locations with a line (function co_name, file co_filename, line); native frames
 *               are locations with a mapping (the module, its build-id and load address from
 *               MODS) and the run-time address, plus a line when symbolized. Encoded with
 *               protobuf-c (analyzer/profile.proto), compressed with zlib; export_pprof.c.
 *   speedscope  speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 *               two "sampled" profiles, live bytes (unit bytes) and live blocks (unit none),
 *               one sample per site, stacks root first.
 *   collapsed   Brendan Gregg's folded stacks: `root;...;leaf BYTES` per distinct stack, for
 *               flamegraph.pl and inferno-flamegraph. Frames are stacks.h labels with ';'
 *               replaced by ','.
 *   csv         the rows of `stats --key lineno` (all of them): filename,lineno,function,size,
 *               count,average, plus size_stderr for a sampled snapshot; RFC 4180 quoting.
 * Values are live bytes and blocks at the snapshot (a sampled snapshot's estimates), or at
 * the peak copy with --peak. Errors follow snapshot.h. */
#ifndef HEAPSHAPE_ANALYZER_EXPORT_H
#define HEAPSHAPE_ANALYZER_EXPORT_H

#include <stdio.h>

#include "analyzer/snapshot.h"
#include "analyzer/stacks.h"
#include "analyzer/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

int hsa_export_pprof(FILE *f, const struct hsa_stacks *st, int peak, struct hsa_error *err);
int hsa_export_speedscope(FILE *f, const struct hsa_stacks *st, int peak, struct hsa_error *err);
int hsa_export_collapsed(FILE *f, const struct hsa_stacks *st, int peak, struct hsa_error *err);
int hsa_export_csv(FILE *f, const struct hsa_stats *stats, struct hsa_error *err);

/* `heapshape export ...`; argv[0] is "export". Returns the exit status. */
int hsa_cli_export(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_EXPORT_H */
