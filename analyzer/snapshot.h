/* heapshape analyzer: the in-memory model of one snapshot (.hsnap) and the error convention
 * shared by every analyzer module.
 *
 * reader.h fills a struct hsa_snapshot from a file; snapshot_write.h encodes one back into the
 * on-disk format (docs/snapshot-format.md). The builder functions below let tests and tools
 * (merge, fixtures) assemble a snapshot from scratch.
 *
 * Error convention (all analyzer modules): functions that can fail return 0 on success and -1
 * on failure, and on failure write one human-readable line (no trailing newline) into the
 * caller's struct hsa_error. Messages about a file start with the file's name. Out of memory
 * is reported the same way ("out of memory ..."), never by aborting.
 */
#ifndef HEAPSHAPE_ANALYZER_SNAPSHOT_H
#define HEAPSHAPE_ANALYZER_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "heapshape/format.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HSA_ERROR_MAX 1024

struct hsa_error {
  char msg[HSA_ERROR_MAX];
};

/* Formats msg into err (if err is non-NULL) and returns -1, so callers can write
 * `return hsa_fail(err, "...", ...);`. */
int hsa_fail(struct hsa_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One allocation site: a (domain, stack) pair with its counters (format.h, struct hs_site_rec). */
struct hsa_site {
  uint8_t domain; /* enum hs_domain; unknown values are kept as read */
  uint16_t nframes; /* >= 1 */
  uint64_t allocs;
  uint64_t frees;
  uint64_t alloc_bytes;
  uint64_t live_count;
  uint64_t live_bytes;
  uint64_t peak_live_bytes;
  uint32_t *frames; /* nframes frame ids, innermost first; owned by the snapshot */
};

/* A whole snapshot. Strings are NUL-terminated copies (string_lens gives the stored length, in
 * case a string contains a NUL byte). All arrays are owned; release with hsa_snapshot_free. */
struct hsa_snapshot {
  char *path; /* the file it was read from, or NULL for a built snapshot */
  uint32_t version; /* format version it was read from (HS_FORMAT_VERSION when built) */
  struct hs_meta meta; /* program_sid/cmdline_sid index strings[] */
  uint32_t nstrings;
  char **strings;
  uint32_t *string_lens;
  uint32_t nframes;
  struct hs_frame_rec *frames;
  uint32_t nsites;
  struct hsa_site *sites;
  /* builder bookkeeping (capacities, string index); zero in a freshly read snapshot is fine */
  uint32_t cap_strings, cap_frames, cap_sites;
  void *string_index;
};

/* An empty snapshot (no strings, frames or sites; meta all zero, version HS_FORMAT_VERSION). */
void hsa_snapshot_init(struct hsa_snapshot *s);

/* Releases everything s owns and leaves it empty (as after hsa_snapshot_init). NULL is a no-op. */
void hsa_snapshot_free(struct hsa_snapshot *s);

/* The string with id sid, or "?" if sid is out of range (never NULL). */
const char *hsa_snapshot_string(const struct hsa_snapshot *s, uint32_t sid);

/* Builder. Each returns 0 / -1 (out of memory, or a bad argument) and stores the new id.
 * hsa_snapshot_add_string returns the id of an equal string if there is one already. */
int hsa_snapshot_add_string(struct hsa_snapshot *s, const char *str, uint32_t *sid,
                            struct hsa_error *err);
/* Adds a frame; filename and name are interned. For native frames pass name "" (or NULL). */
int hsa_snapshot_add_frame(struct hsa_snapshot *s, enum hs_frame_kind kind, int32_t lineno,
                           const char *filename, const char *name, uint64_t addr,
                           uint32_t *frame_id, struct hsa_error *err);
/* Adds a site; site->frames (site->nframes ids, all < s->nframes) is copied. */
int hsa_snapshot_add_site(struct hsa_snapshot *s, const struct hsa_site *site,
                          struct hsa_error *err);
/* Sets meta.program_sid and meta.cmdline_sid from strings. */
int hsa_snapshot_set_program(struct hsa_snapshot *s, const char *program, const char *cmdline,
                             struct hsa_error *err);

/* Names of the on-disk enums, for messages and `heapshape info`: "malloc", "raw", "mem", "obj"
 * ("domain-N" is not returned: unknown values give "?"); reasons "exit", "signal", "api". */
const char *hsa_domain_name(unsigned domain);
const char *hsa_reason_name(unsigned reason);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_SNAPSHOT_H */
