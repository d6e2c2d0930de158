/* heapshape fuzzing: the code shared by the libFuzzer targets in tests/fuzz/ (and by the
 * corpus replay test, which runs it without libFuzzer). docs/RELIABILITY.md says how to run
 * them (tools/fuzz.sh).
 *
 * Every target takes a whole .hsnap file as input. Before reading it, the harness recomputes
 * the CRC of a file that ends in an END section, so mutations reach the checks behind the
 * CRC instead of all failing at it (the CRC check itself has unit tests). The per-section
 * targets also steer libFuzzer's mutations into one section's payload (a custom mutator that
 * mutates only that payload, fixes its length and padding and the CRC). */
#ifndef HEAPSHAPE_TESTS_FUZZ_HARNESS_H
#define HEAPSHAPE_TESTS_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "analyzer/snapshot.h"

/* libFuzzer's mutator (weak: NULL when the harness runs without libFuzzer). */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

/* If data ends in an END section header, stores the CRC of everything before it. */
void hs_fuzz_fix_crc(uint8_t *data, size_t len);

/* Finds the section with tag in data (walking the section headers from byte 32); stores the
 * offset of its header and its payload length. 0 / -1 (not found, or the walk breaks). */
int hs_fuzz_find_section(const uint8_t *data, size_t len, uint32_t tag, size_t *hdr_off,
                         uint64_t *payload_len);

/* Custom mutator body: mutates the payload of section tag (or the whole file when the input
 * has no such section), keeps the file layout consistent and fixes the CRC. */
size_t hs_fuzz_mutate_section(uint8_t *data, size_t size, size_t max_size, unsigned seed,
                              uint32_t tag);

/* Runs the analyzer's computations and reports on a snapshot that was read successfully,
 * output to /dev/null. Always: stats by every key, with --peak and filters (text), anatomy,
 * sizes, timeline, info. full adds json reports, diffs, check (every format), baselines,
 * merge (median and sum) and re-encoding, and aborts if an encoded snapshot does not read
 * back. fuzz_file runs the full set. */
void hs_fuzz_consume(const struct hsa_snapshot *s, int full);

/* The consumers of one section only (a per-section target's cheap set): META, MODS: info and
 * stats by traceback; STRS, FRMS: stats by traceback; SITE, ESTM: stats by line; PEAK: stats
 * --peak; TIME: timeline; TYPE, ANAT, SHAP: anatomy, sizes, stats --key type. */
void hs_fuzz_consume_section(const struct hsa_snapshot *s, uint32_t tag);

/* Copies data, fixes the CRC, reads it with hsa_snapshot_read_buffer and, if it is valid,
 * consumes it: hs_fuzz_consume(s, full) for full 0 or 1, hs_fuzz_consume_section(s, -full)
 * for a negative full (minus a section tag). Aborts if a failed read leaves no error
 * message naming the file. */
void hs_fuzz_read_and_consume(const uint8_t *data, size_t size, int full);

#endif
