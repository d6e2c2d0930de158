/* heapshape analyzer: encodes a struct hsa_snapshot in the .hsnap format
 * (docs/snapshot-format.md), for tests, fixtures and `merge`.
 * The shim has its own, allocation-free writer in preload/snapshot_write.c; the two encode
 * headers and records through heapshape/encode.h.
 * Errors follow snapshot.h (0 / -1 and a struct hsa_error). */
#ifndef HEAPSHAPE_ANALYZER_SNAPSHOT_ENCODE_H
#define HEAPSHAPE_ANALYZER_SNAPSHOT_ENCODE_H

#include <stddef.h>

#include "analyzer/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Encodes s into a new malloc'ed buffer (*data, *len bytes; caller frees), CRC included.
 * Writes the current format version (HS_FORMAT_VERSION), every section (PART from s->part). */
int hsa_snapshot_encode(const struct hsa_snapshot *s, unsigned char **data, size_t *len,
                        struct hsa_error *err);

/* Same, in format version (1 .. HS_FORMAT_VERSION). Version 1 drops the anatomy (TYPE, ANAT,
 * SHAP) and META's v2 fields, as a version-1 writer would have written the file; version 2
 * drops PEAK, TIME, ESTM and META's sample rate; version 3 drops MODS; version 4 drops ELEM;
 * version 5 drops PART (refused for a partial snapshot). Version 3+ writes ESTM's records only
 * when meta.sample_rate is set (count 0 otherwise). */
int hsa_snapshot_encode_version(const struct hsa_snapshot *s, uint32_t version,
                                unsigned char **data, size_t *len, struct hsa_error *err);

/* Encodes s and writes it to path atomically (a temporary file in the same directory, then
 * rename), as the shim does. */
int hsa_snapshot_write_file(const struct hsa_snapshot *s, const char *path,
                            struct hsa_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_SNAPSHOT_ENCODE_H */
