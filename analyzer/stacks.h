/* heapshape analyzer: a snapshot's sites as stacks of printable frames, shared by the exports
 * (export.c: pprof, speedscope, collapsed) and the HTML report (html_report.c).
 *
 * Every frame id is resolved once (native frames symbolized when a symbolizer is given, as
 * `stats` resolves them) into a struct hsa_stack_frame; frames that print the same are given
 * the same label id, so a flame graph merges them. A label reads
 *   Python  "function (file:line)"
 *   native  "function (src.c:line)", "function (module)" or "module+0xADDR"
 *   unknown "<unknown>"
 * Values of a site: live bytes and blocks at the snapshot (a sampled snapshot's rounded
 * estimates), or at the peak copy (hsa_stacks_site_value with peak 1).
 * Errors follow snapshot.h. */
#ifndef HEAPSHAPE_ANALYZER_STACKS_H
#define HEAPSHAPE_ANALYZER_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include "analyzer/snapshot.h"
#include "analyzer/symbolize.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hsa_stack_frame {
  int native;           /* 1 for native frames */
  int unknown;          /* 1 for unknown frames */
  const char *file;     /* Python: co_filename; native: source file, or the module path */
  int line;             /* 0 when unknown */
  const char *function; /* Python: co_name; native: symbol or ""; unknown: "" */
  const char *module;   /* native: module path; else "" */
  uint64_t addr;        /* native: address relative to the module's mapping at offset 0 */
  int symbolized;       /* native: a function name or source line was found */
  uint32_t label;       /* index into hsa_stacks.labels */
};

struct hsa_stacks {
  const struct hsa_snapshot *s;
  struct hsa_stack_frame *frames; /* one per frame id of s */
  char **labels;
  uint32_t nlabels;
  void *priv;
};

/* Resolves every frame of s (sym may be NULL: no symbolization). Keep s and sym alive until
 * hsa_stacks_free. */
int hsa_stacks_init(struct hsa_stacks *st, const struct hsa_snapshot *s,
                    struct hsa_symbolizer *sym, struct hsa_error *err);
void hsa_stacks_free(struct hsa_stacks *st);

/* Live bytes and blocks of site i (peak: at the peak copy, 0 when the copy has none). */
void hsa_stacks_site_value(const struct hsa_snapshot *s, uint32_t i, int peak, uint64_t *bytes,
                           uint64_t *blocks);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_STACKS_H */
