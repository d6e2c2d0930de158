/* heapshape analyzer: `heapshape advise` -- layout advice from the object anatomy of one or
 * more snapshots (format v2+: TYPE, ANAT, SHAP).
 *
 * A "record row" is an ANAT row whose objects are records: dicts, class instances (with a
 * __dict__, inline values or __slots__), tuples and namedtuples, or lists (the inner lists of a
 * list of lists). Each group of compatible sampled shapes (same kind, names and length) with
 * all fields stored is advised apart: a row of one shape group needs it in >= half the
 * samples; a row of several gets one recommendation per group, its objects and bytes shared
 * out by the sampled counts (the --min-objects threshold applies to the row's objects), and
 * the text says so. Field kinds come from the value types of the shape: float, int, bool, str,
 * or object (anything else, None included). A str field's U<k> is the longest value among
 * the sampled records (format v5, ELEM); older snapshots give the average length from the data
 * bytes, said so ("str_width": "longest", "average" or "assumed").
 *
 * Homogeneous numeric containers (format v5: ELEM counts every element of the sampled lists,
 * tuples and dicts of 10,000+ elements), for 100K+ numbers (--min-objects):
 *   list/tuple of float, int or bool       numpy-array (112 + n * itemsize), array.array
 *                                          (64 + n * itemsize) without numpy
 *   list of equal-length lists of numbers  numpy-2d, one C-ordered array (128 + n*m*itemsize);
 *                                          the inner lists get no record advice of their own
 *   dict of int keys to one numeric kind   two-arrays: sorted int64 keys and the values
 *                                          (2 * 112 + n * (8 + itemsize)), np.searchsorted
 *   up to 1 in 10,000 elements of a type the census could not tell are tolerated and named
 *   in the advice ("unknown_elements");
 *   located at the line of the item array or table (the container object itself may come
 *   from a free list); "now" is what is live at that line.
 *
 * The decision framework (per record row with >= min_objects objects; below: no advice):
 *   all fields one numeric kind   soa-numpy (one array per field: float64, int64, bool)
 *   numeric/str/bool, mixed       structured-array (str as fixed-width U<k>), arrow
 *   always (unless already so)    slots-dataclass, namedtuple (boxed values stay boxed)
 *   any object field              only slots-dataclass and namedtuple
 *   current bytes > RAM           memmap (numpy-able records), first
 *   same site in >= 2 snapshots   shared-memory (numpy-able records): one copy for all
 *
 * Size arithmetic (requested bytes, comparable with heapshape's live bytes), from the TYPE
 * table and META of the snapshot:
 *   current           record row total (own + owned) + the list holding the records
 *   numpy array       112 + n * itemsize (float64/int64 8, bool 1, U<k> 4k)
 *   structured array  112 + n * sum(field sizes)
 *   arrow             per column: 8n (float64/int64), ceil(n/8) (bool), 4(n+1) + n*len (str),
 *                     each buffer padded to 64 bytes
 *   slots dataclass   n * (GC head + object.basicsize + 8 * fields) + boxed values + list
 *   namedtuple        n * (GC head + tuple.basicsize + fields * tuple.itemsize) + boxed + list
 *   boxed values      the owned boxed scalars of the row now (owned object headers + owned
 *                     data, less the headers of owned __dict__ objects before 3.11): floats
 *                     and large ints and unique strs stay boxed; small ints, bools, interned
 *                     strs are shared and cost nothing here
 * Errors follow snapshot.h. */
#ifndef HEAPSHAPE_ANALYZER_ADVISE_H
#define HEAPSHAPE_ANALYZER_ADVISE_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `heapshape advise FILE... [--min-objects N] [--ram SIZE] [--format text|markdown|json]
 *  [--limit N]`; argv[0] is "advise". Returns the exit status (0, or 2 after one error line). */
int hsa_cli_advise(int argc, char **argv);

/* The same, writing the advice to out instead of stdout (the HTML report embeds the json). */
int hsa_advise_main(int argc, char **argv, FILE *out);

struct hsa_snapshot;
struct hsa_symbolizer;
/* `heapshape advise PATH --limit LIMIT` of a snapshot already read (s, from path), with the
 * caller's symbolizer, to out: run's summary reads and symbolizes once. */
int hsa_advise_loaded(FILE *out, const struct hsa_snapshot *s, const char *path,
                      struct hsa_symbolizer *sym, long limit);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_ADVISE_H */
