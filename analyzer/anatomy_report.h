/* heapshape analyzer: object anatomy (format v2 sections TYPE, ANAT, SHAP) for
 * `heapshape anatomy`: per (site, type) row, what the objects are made of.
 *
 * Numbers per row (see docs/snapshot-format.md, ANAT, and the top comment of preload/object_census.c):
 *   bytes        requested bytes of the row's own objects (or untyped blocks)
 *   owned_bytes  requested bytes of the blocks they own (item arrays, dict tables, instance
 *                dicts and values, boxed scalars referenced once), counted only here
 *   total        bytes + owned_bytes
 *   gc, preheader, header   of the own bytes: GC header, pre-header, object header
 *   rounding     allocator rounding of own and owned blocks, ON TOP of total (not included)
 *   data         own data + owned data (the values themselves); a row without a type
 *                (blocks without an object header: numpy data, C arrays) is all data
 *   overhead     "headers & pointers" = total - data (headers, pointers, hash tables, ...)
 *
 * Totals over the rows (and sites) that pass the filters:
 *   live_bytes        live bytes of the sites (SITE), every domain
 *   typed_obj_share   share of the live bytes of OBJ-domain sites that the anatomy pass
 *                     accounted to a Python type: 1 - (own bytes of untyped rows at OBJ sites)
 *                     / (live bytes of OBJ sites). An untyped OBJ block is either a typed
 *                     object's owned block (then it is in its owner's typed row) or lands in an
 *                     untyped row at its own site, so this is the share of OBJ bytes that are
 *                     typed objects or belong to one. 1.0 when there are no OBJ bytes.
 *   overhead_share    headers & pointers over total, over the typed rows
 * Errors follow snapshot.h (0 / -1 and a struct hsa_error). */
#ifndef HEAPSHAPE_ANALYZER_ANATOMY_H
#define HEAPSHAPE_ANALYZER_ANATOMY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analyzer/snapshot.h"
#include "analyzer/stats.h"
#include "analyzer/symbolize.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hsa_anat_row {
  uint32_t row; /* index into the snapshot's rows */
  struct hsa_frame_text frame; /* innermost frame of the row's site */
  const char *type; /* type name, "<no type>" for untyped blocks */
  uint8_t domain; /* of the row's site */
  uint64_t objects, bytes, owned_blocks, owned_bytes, total;
  uint64_t gc, preheader, header, owned_header, rounding, data, overhead;
  double overhead_share; /* overhead / total, 0 when total is 0 */
  const struct hsa_shape **shapes; /* the row's shapes, most common first */
  size_t nshapes;
};

struct hsa_anatomy {
  struct hsa_anat_row *rows; /* biggest total first */
  size_t n;
  uint64_t live_bytes, anatomy_bytes, typed_bytes, typed_data;
  uint64_t obj_bytes, untyped_obj_bytes;
  double typed_obj_share, overhead_share;
  unsigned python_version; /* PY_VERSION_HEX */
  double anatomy_ms;
  void *priv; /* owned strings */
};

/* Builds the anatomy table of s, filtered like stats (opt->key is ignored). Fails with the
 * reason (and how to get one) when s has no anatomy. The result points into s: keep s alive
 * until hsa_anatomy_free. sym may be NULL. */
int hsa_anatomy_compute(const struct hsa_snapshot *s, const struct hsa_options *opt,
                        struct hsa_symbolizer *sym, struct hsa_anatomy *out,
                        struct hsa_error *err);
void hsa_anatomy_free(struct hsa_anatomy *a);

/* A shape as text, prefixed by type_name (the row's type):
 *   kind 1 dict      dict{x: float, y: float, mass: float}
 *   kind 2 instance  P{x: float, y: float}
 *   kind 3 slots     P(slots){x: float, y: float}
 *   kind 4 tuple     tuple(float, int, str)
 *   kind 5 list      list[float, float, float, ...]
 * "..." stands for the fields beyond those stored (length > nfields); "?" for a value that is
 * not a known object. Output is cut with "..." if it does not fit outlen. */
void hsa_shape_format(const struct hsa_snapshot *s, const char *type_name,
                      const struct hsa_shape *sh, char *out, size_t outlen);

/* "dict", "instance", "slots", "tuple", "list", or "kind-N". */
const char *hsa_shape_kind_name(unsigned kind);

/* Text report (up to limit rows; 0 = all), then the totals line. */
int hsa_anatomy_report_text(FILE *f, const struct hsa_snapshot *s, const struct hsa_anatomy *a,
                            size_t limit);

/* {"rows":[{"filename","lineno","function","type","objects","bytes","owned_blocks",
 *   "owned_bytes","total_bytes","gc_header","preheader","object_header","owned_header",
 *   "rounding","data","overhead","overhead_share","shapes":[{"kind","kind_id","text","count",
 *   "samples","length","fields":[{"name","type"}]}]}],
 *  "python_version","anatomy_ms","live_bytes","anatomy_bytes","typed_bytes","obj_bytes",
 *  "untyped_obj_bytes","typed_obj_share","overhead_share","total_rows"} */
int hsa_anatomy_report_json(FILE *f, const struct hsa_snapshot *s, const struct hsa_anatomy *a,
                            size_t limit);

/* ---- size model (`heapshape sizes`) ----
 * What sys.getsizeof returns in the recorded interpreter for a few values, derived from the
 * snapshot's TYPE records (tp_basicsize, tp_itemsize of int, float, tuple, list, dict) and
 * META (sizeof(PyASCIIObject), sizeof(PyGC_Head)):
 *   int with n digits  int.basicsize + n * int.itemsize; digits of itemsize*8 - 2 bits (30 for
 *                      4-byte digits, 15 for 2-byte ones). Zero has 0 digits up to 3.10 and
 *                      counts 1 from 3.11: int.__sizeof__ became
 *                      offsetof(ob_digit) + max(|ob_size|, 1) * sizeof(digit) in 3.11 (the
 *                      object always has room for one digit). Measured: getsizeof(0) is 24 on
 *                      3.8-3.10, 28 on 3.11-3.13. This is the one per-version rule.
 *   bool               int.__sizeof__ of 1 (True) or 0 (False)
 *   float              float.basicsize
 *   ASCII str          sizeof(PyASCIIObject) + len + 1
 *   tuple of n         GC head + tuple.basicsize + n * tuple.itemsize
 *   []                 GC head + list.basicsize
 *   {}                 GC head + dict.basicsize */
struct hsa_size {
  const char *expr;
  int64_t bytes; /* -1 if the snapshot lacks a type it needs */
  char formula[96]; /* e.g. "int 24 + 1 x 4"; or why it is unknown */
};

#define HSA_NSIZES 11

/* Fills out[HSA_NSIZES]. Fails (with the reason) when s has no anatomy. */
int hsa_size_model(const struct hsa_snapshot *s, struct hsa_size out[HSA_NSIZES],
                   struct hsa_error *err);

/* `expr: N bytes` lines, or {"python_version":..,"sizes":[{"expr","bytes","formula"}]}. */
int hsa_sizes_report(FILE *f, const struct hsa_snapshot *s, const struct hsa_size *sizes,
                     int json);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_ANATOMY_H */
