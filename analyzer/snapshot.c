/* heapshape analyzer: struct hsa_snapshot life cycle and builder (see snapshot.h).
 * Reading lives in reader.c, encoding in snapshot_encode.c. */
#include "analyzer/snapshot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

int hsa_fail(struct hsa_error *err, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* Entry of the builder's string index: key is the interned string's bytes. */
struct hsa_string_entry {
  uint32_t sid;
  UT_hash_handle hh;
};

void hsa_snapshot_init(struct hsa_snapshot *s) {
  memset(s, 0, sizeof *s);
  s->version = HS_FORMAT_VERSION;
}

static void free_string_index(struct hsa_snapshot *s) {
  struct hsa_string_entry *head = s->string_index, *e, *tmp;
  HASH_ITER(hh, head, e, tmp) {
    HASH_DEL(head, e);
    free(e);
  }
  s->string_index = NULL;
}

void hsa_snapshot_free(struct hsa_snapshot *s) {
  if (!s) return;
  free_string_index(s);
  for (uint32_t i = 0; i < s->nstrings; i++) free(s->strings[i]);
  for (uint32_t i = 0; i < s->nsites; i++) free(s->sites[i].frames);
  for (uint32_t i = 0; i < s->nshapes; i++) {
    free(s->shapes[i].fields);
    free(s->shapes[i].maxlen);
  }
  free(s->peak);
  free(s->timeline);
  free(s->estimates);
  free(s->modules);
  free(s->part_site_ids);
  free(s->types);
  free(s->rows);
  free(s->shapes);
  free(s->strings);
  free(s->string_lens);
  free(s->frames);
  free(s->sites);
  free(s->path);
  hsa_snapshot_init(s);
}

const char *hsa_snapshot_string(const struct hsa_snapshot *s, uint32_t sid) {
  return sid < s->nstrings ? s->strings[sid] : "?";
}

/* Grows *arr (elements of size elem, capacity *cap) to hold at least need elements. */
static int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem) {
  if (need <= *cap) return 0;
  uint32_t n = *cap ? *cap : 16;
  while (n < need) n *= 2;
  void *p = realloc(*arr, (size_t)n * elem);
  if (!p) return -1;
  *arr = p;
  *cap = n;
  return 0;
}

static int index_string(struct hsa_snapshot *s, uint32_t sid) {
  struct hsa_string_entry *head = s->string_index;
  struct hsa_string_entry *e = malloc(sizeof *e);
  if (!e) return -1;
  e->sid = sid;
  HASH_ADD_KEYPTR(hh, head, s->strings[sid], s->string_lens[sid], e);
  s->string_index = head;
  return 0;
}

int hsa_snapshot_add_string(struct hsa_snapshot *s, const char *str, uint32_t *sid,
                            struct hsa_error *err) {
  if (!str) str = "";
  size_t len = strlen(str);
  if (len > UINT32_MAX) return hsa_fail(err, "string too long for a snapshot (%zu bytes)", len);
  /* A snapshot that was read has no index yet: build it on first use. */
  if (!s->string_index) {
    for (uint32_t i = 0; i < s->nstrings; i++) {
      if (index_string(s, i) != 0) return hsa_fail(err, "out of memory indexing strings");
    }
  }
  struct hsa_string_entry *head = s->string_index, *found = NULL;
  HASH_FIND(hh, head, str, len, found);
  if (found) {
    *sid = found->sid;
    return 0;
  }
  if (s->nstrings == UINT32_MAX) return hsa_fail(err, "too many strings for a snapshot");
  if (s->nstrings + 1 > s->cap_strings) {
    uint32_t cap = s->cap_strings, cap2 = s->cap_strings;
    if (grow((void **)&s->strings, &cap, s->nstrings + 1, sizeof *s->strings) != 0 ||
        grow((void **)&s->string_lens, &cap2, s->nstrings + 1, sizeof *s->string_lens) != 0)
      return hsa_fail(err, "out of memory adding a string");
    s->cap_strings = cap;
  }
  char *copy = malloc(len + 1);
  if (!copy) return hsa_fail(err, "out of memory adding a string");
  memcpy(copy, str, len + 1);
  s->strings[s->nstrings] = copy;
  s->string_lens[s->nstrings] = (uint32_t)len;
  if (index_string(s, s->nstrings) != 0) {
    free(copy);
    return hsa_fail(err, "out of memory adding a string");
  }
  *sid = s->nstrings++;
  return 0;
}

int hsa_snapshot_add_frame(struct hsa_snapshot *s, enum hs_frame_kind kind, int32_t lineno,
                           const char *filename, const char *name, uint64_t addr,
                           uint32_t *frame_id, struct hsa_error *err) {
  struct hs_frame_rec f;
  memset(&f, 0, sizeof f);
  f.kind = (uint8_t)kind;
  f.lineno = lineno;
  f.addr = addr;
  if (hsa_snapshot_add_string(s, filename, &f.filename_sid, err) != 0) return -1;
  if (hsa_snapshot_add_string(s, name ? name : "", &f.name_sid, err) != 0) return -1;
  if (s->nframes == UINT32_MAX) return hsa_fail(err, "too many frames for a snapshot");
  if (grow((void **)&s->frames, &s->cap_frames, s->nframes + 1, sizeof *s->frames) != 0)
    return hsa_fail(err, "out of memory adding a frame");
  s->frames[s->nframes] = f;
  *frame_id = s->nframes++;
  return 0;
}

int hsa_snapshot_add_site(struct hsa_snapshot *s, const struct hsa_site *site,
                          struct hsa_error *err) {
  if (site->nframes == 0) return hsa_fail(err, "a site needs at least one frame");
  for (uint32_t i = 0; i < site->nframes; i++) {
    if (site->frames[i] >= s->nframes)
      return hsa_fail(err, "site frame id %u out of range (the snapshot has %u frames)",
                      site->frames[i], s->nframes);
  }
  if (s->nsites == UINT32_MAX) return hsa_fail(err, "too many sites for a snapshot");
  if (grow((void **)&s->sites, &s->cap_sites, s->nsites + 1, sizeof *s->sites) != 0)
    return hsa_fail(err, "out of memory adding a site");
  uint32_t *ids = malloc(sizeof *ids * site->nframes);
  if (!ids) return hsa_fail(err, "out of memory adding a site");
  memcpy(ids, site->frames, sizeof *ids * site->nframes);
  s->sites[s->nsites] = *site;
  s->sites[s->nsites].frames = ids;
  s->nsites++;
  return 0;
}

int hsa_snapshot_set_program(struct hsa_snapshot *s, const char *program, const char *cmdline,
                             struct hsa_error *err) {
  if (hsa_snapshot_add_string(s, program, &s->meta.program_sid, err) != 0) return -1;
  return hsa_snapshot_add_string(s, cmdline, &s->meta.cmdline_sid, err);
}

int hsa_snapshot_add_type(struct hsa_snapshot *s, const char *name, uint32_t flags,
                          uint64_t tp_flags, int64_t basicsize, int64_t itemsize,
                          uint32_t *type_id, struct hsa_error *err) {
  struct hs_type_rec t;
  memset(&t, 0, sizeof t);
  if (basicsize < 0 || itemsize < 0)
    return hsa_fail(err, "type sizes must not be negative (basicsize %lld, itemsize %lld)",
                    (long long)basicsize, (long long)itemsize);
  if (hsa_snapshot_add_string(s, name, &t.name_sid, err) != 0) return -1;
  t.flags = flags;
  t.tp_flags = tp_flags;
  t.basicsize = basicsize;
  t.itemsize = itemsize;
  if (s->ntypes >= HS_NO_TYPE - 1) return hsa_fail(err, "too many types for a snapshot");
  if (grow((void **)&s->types, &s->cap_types, s->ntypes + 1, sizeof *s->types) != 0)
    return hsa_fail(err, "out of memory adding a type");
  s->types[s->ntypes] = t;
  *type_id = s->ntypes++;
  return 0;
}

int hsa_snapshot_add_row(struct hsa_snapshot *s, const struct hs_anat_rec *row,
                         struct hsa_error *err) {
  if (row->site >= s->nsites)
    return hsa_fail(err, "anatomy row site id %u out of range (the snapshot has %u sites)",
                    row->site, s->nsites);
  if (row->type != HS_NO_TYPE && row->type >= s->ntypes)
    return hsa_fail(err, "anatomy row type id %u out of range (the snapshot has %u types)",
                    row->type, s->ntypes);
  if (s->nrows == UINT32_MAX) return hsa_fail(err, "too many anatomy rows for a snapshot");
  if (grow((void **)&s->rows, &s->cap_rows, s->nrows + 1, sizeof *s->rows) != 0)
    return hsa_fail(err, "out of memory adding an anatomy row");
  s->rows[s->nrows] = *row;
  s->rows[s->nrows].reserved = 0;
  s->nrows++;
  return 0;
}

int hsa_snapshot_add_shape(struct hsa_snapshot *s, const struct hsa_shape *shape,
                           struct hsa_error *err) {
  if (shape->row >= s->nrows)
    return hsa_fail(err, "shape row %u out of range (the snapshot has %u anatomy rows)",
                    shape->row, s->nrows);
  if (shape->nfields > HS_SHAPE_MAX_FIELDS)
    return hsa_fail(err, "a shape stores at most %d fields, not %u", HS_SHAPE_MAX_FIELDS,
                    shape->nfields);
  if (shape->length < shape->nfields || shape->count > shape->samples)
    return hsa_fail(err, "inconsistent shape (length %llu < %u fields, or %u of %u samples)",
                    (unsigned long long)shape->length, shape->nfields, shape->count,
                    shape->samples);
  for (uint16_t k = 0; k < shape->nfields; k++) {
    const struct hsa_shape_field *f = &shape->fields[k];
    if (f->name_sid >= s->nstrings || (f->type != HS_NO_TYPE && f->type >= s->ntypes))
      return hsa_fail(err, "shape field %u has an id out of range", k);
  }
  if (s->nshapes == UINT32_MAX) return hsa_fail(err, "too many shapes for a snapshot");
  if (grow((void **)&s->shapes, &s->cap_shapes, s->nshapes + 1, sizeof *s->shapes) != 0)
    return hsa_fail(err, "out of memory adding a shape");
  struct hsa_shape_field *fields = malloc(sizeof *fields * (shape->nfields ? shape->nfields : 1));
  if (!fields) return hsa_fail(err, "out of memory adding a shape");
  if (shape->nfields) memcpy(fields, shape->fields, sizeof *fields * shape->nfields);
  uint32_t *maxlen = NULL;
  if (shape->has_elem && shape->maxlen) {
    maxlen = malloc(sizeof *maxlen * (shape->nfields ? shape->nfields : 1));
    if (!maxlen) {
      free(fields);
      return hsa_fail(err, "out of memory adding a shape");
    }
    if (shape->nfields) memcpy(maxlen, shape->maxlen, sizeof *maxlen * shape->nfields);
  }
  s->shapes[s->nshapes] = *shape;
  s->shapes[s->nshapes].fields = fields;
  s->shapes[s->nshapes].maxlen = maxlen;
  s->shapes[s->nshapes].has_elem = maxlen != NULL;
  s->nshapes++;
  return 0;
}

int hsa_snapshot_has_anatomy(const struct hsa_snapshot *s) {
  return s->version >= 2 && (s->meta.flags2 & HS_META2_ANATOMY) != 0;
}

const char *hsa_snapshot_no_anatomy_reason(const struct hsa_snapshot *s) {
  if (s->version < 2)
    return "it is a format-version-1 snapshot, written by a heapshape that did not record "
           "object anatomy; profile the program again with this heapshape "
           "(heapshape run -- COMMAND)";
  if (hsa_snapshot_is_partial(s))
    return "it is a partial per-test snapshot (the sites a test touched), which carries no "
           "anatomy; take a full snapshot (heapshape_snapshot(), or the exit snapshot) for "
           "anatomy and advice";
  if (!s->meta.python_version)
    return "no Python interpreter was running in the process, so there were no objects to "
           "inspect; object anatomy is available for Python programs only";
  return "the anatomy pass did not run for this snapshot (HEAPSHAPE_ANATOMY=0 was set, or "
         "the snapshot was taken by a thread that did not hold the GIL); profile again "
         "without HEAPSHAPE_ANATOMY=0, and take snapshots at exit or from Python code";
}

/* Replaces *dst with a copy of n elements of size elem at src (NULL when n is 0). */
static int copy_array(void **dst, const void *src, uint32_t n, size_t elem) {
  void *p = NULL;
  if (n) {
    p = malloc((size_t)n * elem);
    if (!p) return -1;
    memcpy(p, src, (size_t)n * elem);
  }
  free(*dst);
  *dst = p;
  return 0;
}

int hsa_snapshot_set_peak(struct hsa_snapshot *s, const struct hs_peak_rec_disk *recs, uint32_t n,
                          uint64_t live_bytes, uint64_t time_ns, struct hsa_error *err) {
  if (n > s->nsites)
    return hsa_fail(err, "peak copy of %u sites but the snapshot has %u sites", n, s->nsites);
  if (copy_array((void **)&s->peak, recs, n, sizeof *recs) != 0)
    return hsa_fail(err, "out of memory setting the peak copy");
  s->npeak = n;
  s->peak_live_bytes = live_bytes;
  s->peak_time_ns = time_ns;
  return 0;
}

int hsa_snapshot_set_timeline(struct hsa_snapshot *s, const struct hs_time_rec *recs, uint32_t n,
                              uint64_t interval_ns, struct hsa_error *err) {
  for (uint32_t i = 0; i < n; i++)
    for (int k = 0; k < HS_TIME_TOP_SITES; k++)
      if (recs[i].top[k].bytes && recs[i].top[k].site >= s->nsites)
        return hsa_fail(err, "timeline sample %u refers to site %u (the snapshot has %u sites)",
                        i, recs[i].top[k].site, s->nsites);
  if (copy_array((void **)&s->timeline, recs, n, sizeof *recs) != 0)
    return hsa_fail(err, "out of memory setting the timeline");
  s->ntime = n;
  s->time_interval_ns = interval_ns;
  return 0;
}

int hsa_snapshot_set_estimates(struct hsa_snapshot *s, const struct hs_estm_rec *recs,
                               uint32_t n, struct hsa_error *err) {
  if (n != 0 && n != s->nsites)
    return hsa_fail(err, "%u estimates but the snapshot has %u sites (one per site, or none)",
                    n, s->nsites);
  if (copy_array((void **)&s->estimates, recs, n, sizeof *recs) != 0)
    return hsa_fail(err, "out of memory setting the estimates");
  s->nestimates = n;
  return 0;
}

int hsa_build_id_valid(const char *str, size_t len) {
  if (len % 2) return 0;
  for (size_t i = 0; i < len; i++)
    if (!((str[i] >= '0' && str[i] <= '9') || (str[i] >= 'a' && str[i] <= 'f'))) return 0;
  return 1;
}

int hsa_snapshot_add_module(struct hsa_snapshot *s, const char *path, const char *build_id,
                            uint64_t base, struct hsa_error *err) {
  if (!build_id) build_id = "";
  if (!hsa_build_id_valid(build_id, strlen(build_id)))
    return hsa_fail(err, "module %s: build-id \"%s\" is not an even-length lowercase hex string",
                    path ? path : "", build_id);
  struct hs_module_rec r;
  memset(&r, 0, sizeof r);
  r.base = base;
  if (hsa_snapshot_add_string(s, path, &r.path_sid, err) != 0) return -1;
  if (hsa_snapshot_add_string(s, build_id, &r.build_id_sid, err) != 0) return -1;
  if (s->nmodules == UINT32_MAX) return hsa_fail(err, "too many modules for a snapshot");
  if (grow((void **)&s->modules, &s->cap_modules, s->nmodules + 1, sizeof *s->modules) != 0)
    return hsa_fail(err, "out of memory adding a module");
  s->modules[s->nmodules++] = r;
  return 0;
}

const char *hsa_snapshot_module_build_id(const struct hsa_snapshot *s, uint32_t path_sid) {
  if (!s->nmodules || path_sid >= s->nstrings) return NULL;
  const char *path = s->strings[path_sid];
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t i = 0; i < s->nmodules; i++) {
      const struct hs_module_rec *m = &s->modules[i];
      /* the shim stores the frames' own string id; compare the text only as a fallback */
      if (pass == 0 ? m->path_sid != path_sid
                    : m->path_sid >= s->nstrings || strcmp(s->strings[m->path_sid], path) != 0)
        continue;
      const char *id = hsa_snapshot_string(s, m->build_id_sid);
      if (id[0]) return id;
    }
  }
  return NULL;
}

int hsa_snapshot_is_sampled(const struct hsa_snapshot *s) {
  return s->version >= 3 && s->meta.sample_rate > 0 && s->nestimates == s->nsites &&
         (s->nsites == 0 || s->estimates != NULL);
}

int hsa_snapshot_is_partial(const struct hsa_snapshot *s) {
  return s->version >= 6 && s->part.kind != HS_PART_FULL;
}

int hsa_snapshot_set_part(struct hsa_snapshot *s, uint32_t kind, const uint32_t *ids, uint32_t n,
                          uint32_t process_sites, uint32_t mark, uint64_t mark_time_ns,
                          struct hsa_error *err) {
  if (kind == HS_PART_FULL) {
    free(s->part_site_ids);
    s->part_site_ids = NULL;
    memset(&s->part, 0, sizeof s->part);
    return 0;
  }
  if (kind != HS_PART_SINCE && kind != HS_PART_AT_MARK)
    return hsa_fail(err, "unknown PART kind %u (0, 1 or 2)", kind);
  if (n != s->nsites)
    return hsa_fail(err, "a partial snapshot needs one process site id per site (%u ids, %u sites)",
                    n, s->nsites);
  for (uint32_t i = 0; i < n; i++)
    if (ids[i] >= process_sites || (i && ids[i] <= ids[i - 1]))
      return hsa_fail(err, "process site id %u (%u) is not increasing or not below %u", i,
                      ids[i], process_sites);
  uint32_t *copy = malloc(sizeof *copy * (n ? n : 1));
  if (!copy) return hsa_fail(err, "out of memory for %u site ids", n);
  memcpy(copy, ids, sizeof *copy * n);
  free(s->part_site_ids);
  s->part_site_ids = copy;
  memset(&s->part, 0, sizeof s->part);
  s->part.kind = kind;
  s->part.count = n;
  s->part.process_sites = process_sites;
  s->part.mark = mark;
  s->part.mark_time_ns = mark_time_ns;
  return 0;
}

int hsa_snapshot_has_peak(const struct hsa_snapshot *s) {
  return s->version >= 3 && s->npeak > 0;
}

const char *hsa_snapshot_no_peak_reason(const struct hsa_snapshot *s) {
  if (s->version < 3)
    return s->version == 1
               ? "it is a format-version-1 snapshot, written by a heapshape that did not keep "
                 "a copy of the live memory at the peak; profile the program again with this "
                 "heapshape (heapshape run -- COMMAND)"
               : "it is a format-version-2 snapshot, written by a heapshape that did not keep "
                 "a copy of the live memory at the peak; profile the program again with this "
                 "heapshape (heapshape run -- COMMAND)";
  return "the process never held 1 MiB of live memory, so no peak copy was taken (the "
         "snapshot's live memory is all there is: use heapshape stats without --peak)";
}

const char *hsa_snapshot_no_timeline_reason(const struct hsa_snapshot *s) {
  if (s->version < 3)
    return s->version == 1
               ? "it is a format-version-1 snapshot, written by a heapshape that did not record "
                 "a timeline; profile the program again with this heapshape "
                 "(heapshape run -- COMMAND)"
               : "it is a format-version-2 snapshot, written by a heapshape that did not record "
                 "a timeline; profile the program again with this heapshape "
                 "(heapshape run -- COMMAND)";
  return "no timeline samples were taken (the shim samples at its first check and then looks "
         "every 1,024 allocations and frees; this process made fewer than that)";
}

const char *hsa_snapshot_type_name(const struct hsa_snapshot *s, uint32_t t) {
  if (t == HS_NO_TYPE) return "<no type>";
  return t < s->ntypes ? hsa_snapshot_string(s, s->types[t].name_sid) : "?";
}

uint32_t hsa_snapshot_find_type(const struct hsa_snapshot *s, const char *name) {
  uint32_t heap = HS_NO_TYPE;
  for (uint32_t i = 0; i < s->ntypes; i++) {
    if (strcmp(hsa_snapshot_string(s, s->types[i].name_sid), name) != 0) continue;
    if (!(s->types[i].flags & HS_TYPE_HEAP)) return i;
    if (heap == HS_NO_TYPE) heap = i;
  }
  return heap;
}

const char *hsa_domain_name(unsigned domain) {
  switch (domain) {
    case HS_DOMAIN_MALLOC: return "malloc";
    case HS_DOMAIN_RAW: return "raw";
    case HS_DOMAIN_MEM: return "mem";
    case HS_DOMAIN_OBJ: return "obj";
    default: return "?";
  }
}

const char *hsa_reason_name(unsigned reason) {
  switch (reason) {
    case HS_REASON_EXIT: return "exit";
    case HS_REASON_SIGNAL: return "signal";
    case HS_REASON_API: return "api";
    case HS_REASON_INTERVAL: return "interval";
    default: return "?";
  }
}

const char *hsa_writer_name(unsigned writer) {
  switch (writer) {
    case HS_WRITER_ROOT: return "the program heapshape run started (the root process)";
    case HS_WRITER_ALL: return "every process was asked for (--all-children)";
    case HS_WRITER_PY_GREW:
      return "a child process that ran Python, whose heap rose 1 MiB above its level after "
             "start-up";
    case HS_WRITER_FORK_GREW:
      return "a forked child (no exec), whose heap rose 1 MiB above its level at the fork";
    case HS_WRITER_HELD: return "a process that did not run Python and held 1 MiB";
    case HS_WRITER_ASKED: return "asked for (signal or API): no rule of a child process applied";
    default: return "? (unknown value)";
  }
}
