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

/* Adds format-v3 history to the NEW fixture (which 1, 9 sites): a peak copy of 8 sites taken
 * 2.5 s in (site 0, /app/a.py:10 <- main.py:5: 30 blocks, 3,000,000 bytes; site 4,
 * json/decoder.py:353: 10 blocks, 12,345,678 bytes; sites 1-3 and 6 as live at the snapshot;
 * 5 and 7 nothing), and a 5-sample timeline (0.01 s 1 MB, 0.5 s 8 MB, 2.5 s 15.3 MB, 3.0 s
 * 12.4 MB, 3.2 s 12.3 MB; top site 4, then 0). With sampled 1 it also sets sample_rate 16384
 * and estimates: site i's live bytes + 100 * (i + 1), live count + 0.4, variance
 * 10000 * (i + 1)^2. 0 / -1. */
int hsa_fixture_add_history(struct hsa_snapshot *s, int sampled, struct hsa_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_TESTDATA_FIXTURE_H */
