/* heapshape analyzer: the in-memory model of one snapshot (.hsnap) and the error convention
 * shared by every analyzer module.
 *
 * reader.h fills a struct hsa_snapshot from a file; snapshot_encode.h encodes one back into the
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

/* The largest counter (bytes, blocks, nanoseconds) a snapshot may hold, and the largest sum
 * of one counter over all the records of a section: 2^60, far beyond any process (an
 * exbibyte; 36 years in ns). The reader refuses files above it, so the analyzer can add,
 * subtract and multiply by small factors in int64_t without overflow. */
#define HSA_COUNTER_MAX (1ull << 60)
/* The largest tp_basicsize / tp_itemsize the reader accepts (2^40). */
#define HSA_TYPE_SIZE_MAX (1ll << 40)

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

/* One sampled shape (format.h, struct hs_shape_rec) with its fields. */
struct hsa_shape_field {
  uint32_t name_sid; /* the empty string for positions (tuple, list) */
  uint32_t type;     /* type id, or HS_NO_TYPE */
};

struct hsa_shape {
  uint32_t row;     /* index into hsa_snapshot.rows */
  uint32_t count;   /* sampled objects with this shape */
  uint32_t samples; /* objects sampled in the row */
  uint8_t kind;     /* enum hs_shape_kind; unknown values are kept as read */
  uint16_t nfields; /* <= HS_SHAPE_MAX_FIELDS */
  uint64_t length;  /* entries, attributes or items; >= nfields */
  struct hsa_shape_field *fields; /* owned by the snapshot */
  /* format v5 (ELEM): what the sampled objects of this shape hold; has_elem 0 before v5 */
  int has_elem;
  struct hs_elem_rec elem;
  uint32_t *maxlen; /* nfields: longest str per field; NULL without ELEM; owned */
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
  /* object anatomy (format v2; all empty for a v1 file). Whether it holds data is
   * hsa_snapshot_has_anatomy(): the sections can be present but empty. */
  uint32_t ntypes;
  struct hs_type_rec *types;
  uint32_t nrows;
  struct hs_anat_rec *rows;
  uint32_t nshapes;
  struct hsa_shape *shapes; /* grouped by row, in file order */
  /* format v3 (all empty for v1/v2 files). Peak copy: npeak == 0 means no copy was taken;
   * otherwise peak[i] is site i's live memory at the copy (i < npeak <= nsites; sites
   * >= npeak had nothing live then). */
  uint32_t npeak;
  struct hs_peak_rec_disk *peak;
  uint64_t peak_live_bytes; /* process live bytes at the copy */
  uint64_t peak_time_ns;    /* since tracking started */
  /* Timeline: ntime samples, oldest first; time_interval_ns is the final sampling interval. */
  uint32_t ntime;
  struct hs_time_rec *timeline;
  uint64_t time_interval_ns;
  /* Estimates of a sampled snapshot (meta.sample_rate > 0): nestimates == nsites, one per
   * site; 0 otherwise. */
  uint32_t nestimates;
  struct hs_estm_rec *estimates;
  /* format v4 (empty for v1-v3 files): the modules native frames point into, in file order.
   * path_sid is the frames' file name; build_id_sid a lowercase hex string, or the empty
   * string when none was recorded. */
  uint32_t nmodules;
  struct hs_module_rec *modules;
  /* format v6 (PART; a v1-v5 file reads as a full snapshot): part.kind HS_PART_FULL, or a
   * partial per-test snapshot (HS_PART_SINCE: the sites touched since a mark; HS_PART_AT_MARK:
   * the same sites at the mark), whose sites are a subset of the process's: part_site_ids[i]
   * (part.count == nsites entries, strictly increasing) is site i's id in the process. A
   * partial snapshot's META totals are the whole process's. */
  struct hs_part_hdr part;
  uint32_t *part_site_ids; /* NULL for a full snapshot */
  /* builder bookkeeping (capacities, string index); zero in a freshly read snapshot is fine */
  uint32_t cap_strings, cap_frames, cap_sites, cap_types, cap_rows, cap_shapes, cap_modules;
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

/* Anatomy builder (format v2). add_type interns name; add_row checks row->site < nsites and
 * row->type < ntypes (or HS_NO_TYPE); add_shape checks the row, kind-independent limits
 * (nfields <= HS_SHAPE_MAX_FIELDS, length >= nfields, count <= samples) and field ids, and
 * copies shape->fields. None of them sets meta.flags2: set HS_META2_ANATOMY when done. */
int hsa_snapshot_add_type(struct hsa_snapshot *s, const char *name, uint32_t flags,
                          uint64_t tp_flags, int64_t basicsize, int64_t itemsize,
                          uint32_t *type_id, struct hsa_error *err);
int hsa_snapshot_add_row(struct hsa_snapshot *s, const struct hs_anat_rec *row,
                         struct hsa_error *err);
int hsa_snapshot_add_shape(struct hsa_snapshot *s, const struct hsa_shape *shape,
                           struct hsa_error *err);

/* 1 if the snapshot carries object anatomy: format version >= 2 and META flags2 bit 0 set
 * (a v2 snapshot taken without an interpreter, without the GIL or with HEAPSHAPE_ANATOMY=0
 * has empty anatomy sections and the bit clear). */
int hsa_snapshot_has_anatomy(const struct hsa_snapshot *s);

/* Why a snapshot has no anatomy and how to get one, for error messages (never NULL), e.g.
 * "it is a format-version-1 snapshot, written before heapshape recorded object anatomy;
 * profile the program again with this heapshape (heapshape run -- ...)". */
const char *hsa_snapshot_no_anatomy_reason(const struct hsa_snapshot *s);

/* Name of type id t ("<no type>" for HS_NO_TYPE, "?" when out of range). */
const char *hsa_snapshot_type_name(const struct hsa_snapshot *s, uint32_t t);

/* Type id of the type named name, or HS_NO_TYPE; a built-in (non-heap) type wins over a class
 * of the same name defined in Python. */
uint32_t hsa_snapshot_find_type(const struct hsa_snapshot *s, const char *name);

/* v3 builder: replace the peak copy / timeline / estimates with copies of the arrays given
 * (n 0 clears). set_peak checks n <= nsites; set_timeline checks top site ids (entries with
 * bytes > 0) < nsites; set_estimates checks n == nsites (or 0). They do not set
 * meta.sample_rate. */
int hsa_snapshot_set_peak(struct hsa_snapshot *s, const struct hs_peak_rec_disk *recs, uint32_t n,
                          uint64_t live_bytes, uint64_t time_ns, struct hsa_error *err);
int hsa_snapshot_set_timeline(struct hsa_snapshot *s, const struct hs_time_rec *recs, uint32_t n,
                              uint64_t interval_ns, struct hsa_error *err);
int hsa_snapshot_set_estimates(struct hsa_snapshot *s, const struct hs_estm_rec *recs,
                               uint32_t n, struct hsa_error *err);

/* v4 builder: adds a module record (path and build_id are interned; build_id NULL or "" when
 * none is known, else an even-length lowercase hex string, checked). */
int hsa_snapshot_add_module(struct hsa_snapshot *s, const char *path, const char *build_id,
                            uint64_t base, struct hsa_error *err);

/* 1 if str (len bytes) is a valid recorded build-id: empty, or an even number of lowercase
 * hex digits. */
int hsa_build_id_valid(const char *str, size_t len);

/* The build-id recorded for the module whose path is string path_sid (the frames' file name):
 * the first non-empty one among the MODS records of that path, or NULL when none was
 * recorded (no MODS entry, an empty build-id, or a v1-v3 snapshot). */
const char *hsa_snapshot_module_build_id(const struct hsa_snapshot *s, uint32_t path_sid);

/* 1 if the snapshot was taken in sampled mode and carries per-site estimates (format v3,
 * meta.sample_rate > 0 and one ESTM record per site). */
int hsa_snapshot_is_sampled(const struct hsa_snapshot *s);

/* 1 if the snapshot is a partial per-test snapshot (format v6, PART kind 1 or 2). */
int hsa_snapshot_is_partial(const struct hsa_snapshot *s);

/* v6 builder: makes s partial (kind HS_PART_SINCE or HS_PART_AT_MARK) with one process site
 * id per site (n == nsites, strictly increasing, each below process_sites), or full again
 * (kind HS_PART_FULL, ids NULL, n 0). */
int hsa_snapshot_set_part(struct hsa_snapshot *s, uint32_t kind, const uint32_t *ids, uint32_t n,
                          uint32_t process_sites, uint32_t mark, uint64_t mark_time_ns,
                          struct hsa_error *err);

/* 1 if the snapshot has a peak copy (format v3, PEAK count > 0). */
int hsa_snapshot_has_peak(const struct hsa_snapshot *s);

/* Why a snapshot has no peak copy / no timeline, for error messages (never NULL). */
const char *hsa_snapshot_no_peak_reason(const struct hsa_snapshot *s);
const char *hsa_snapshot_no_timeline_reason(const struct hsa_snapshot *s);

/* Names of the on-disk enums, for messages and `heapshape info`: "malloc", "raw", "mem", "obj"
 * ("domain-N" is not returned: unknown values give "?"); reasons "exit", "signal", "api". */
const char *hsa_domain_name(unsigned domain);
const char *hsa_reason_name(unsigned reason);
/* META.writer: why the process wrote (enum hs_writer, 0: not recorded) */
const char *hsa_writer_name(unsigned writer);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_SNAPSHOT_H */
