/* heapshape analyzer: reads a whole .hsnap file (docs/snapshot-format.md) into a
 * struct hsa_snapshot, validating everything on the way. Reads format versions
 * HS_FORMAT_MIN_READ..HS_FORMAT_MAX_READ (1 to 6); a version-1 file reads as a version-2 file
 * without anatomy (META's v2 fields zero, no types, rows or shapes), a version-2 file as a
 * version-3 file without peak copy, timeline or estimates (META sample rate 0), a version-3
 * file as a version-4 file without modules (MODS: string ids in range, build-ids empty or
 * even-length lowercase hex), a version-4 file as a version-5 file without ELEM, and a
 * version-5 file as a full version-6 snapshot (PART kind 0; a partial one gives every site its
 * process site id, strictly increasing). Negative
 * estimates (rounding residue of the shim's running sums) read as 0. Errors follow snapshot.h (0 / -1 and
 * a struct hsa_error); every message starts with the file name, e.g.
 *   "x.hsnap: not a heapshape snapshot (bad magic bytes) ..."
 *   "x.hsnap: snapshot format version 7; this heapshape reads versions 1 to 6 ..."
 *   "x.hsnap: truncated: section SITE ends at byte 812 but the file has 640 bytes ..."
 *   "x.hsnap: corrupt: CRC mismatch ..."
 */
#ifndef HEAPSHAPE_ANALYZER_READER_H
#define HEAPSHAPE_ANALYZER_READER_H

#include <stddef.h>

#include "analyzer/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads and validates path into *out (which the caller need not initialize). On success the
 * caller owns *out (hsa_snapshot_free); on failure *out is left empty. */
int hsa_snapshot_read_file(const char *path, struct hsa_snapshot *out, struct hsa_error *err);

/* Same, from len bytes at data; name is used in messages and stored as out->path. */
int hsa_snapshot_read_buffer(const void *data, size_t len, const char *name,
                             struct hsa_snapshot *out, struct hsa_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_READER_H */
