/* heapshape analyzer test fixtures: two snapshots built with the snapshot builder, matching
 * the OLD and NEW site lists of tracemalloc_expected.py (which computes, with Python's own
 * tracemalloc, the output the tests expect). Test-only. */
#ifndef HEAPSHAPE_ANALYZER_TESTDATA_FIXTURE_H
#define HEAPSHAPE_ANALYZER_TESTDATA_FIXTURE_H

#include "analyzer/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Builds the OLD (which 0) or NEW (which 1) fixture into *s (initialized here); 0 / -1. */
int hsa_fixture_build(int which, struct hsa_snapshot *s, struct hsa_error *err);

/* Adds object anatomy to the NEW fixture (which 1): types int, float, str, tuple, list, dict
 * and a class P (3.11.2 sizes), five rows and four shapes, and sets META's v2 fields
 * (flags2 = HS_META2_ANATOMY). Totals per type: tuple 2048 B / 2 objects, P 1040 / 10,
 * dict 792 / 3, <no type> 64 / 1, float 48 / 2. 0 / -1. */
int hsa_fixture_add_anatomy(struct hsa_snapshot *s, struct hsa_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_TESTDATA_FIXTURE_H */
