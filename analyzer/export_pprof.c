/* heapshape analyzer: `heapshape export --format pprof` (see export.h): the messages of
 * analyzer/profile.proto filled from a snapshot, packed by protobuf-c, gzipped by zlib. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>
#include <zlib.h>

#include "analyzer/errors.h"
#include "analyzer/version.h"
#include "analyzer/export.h"
#include "analyzer/profile.pb-c.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;

struct str_entry {
  const char *s;
  int64_t id;
  UT_hash_handle hh;
};

struct fn_entry {
  int64_t name, file; /* key: string ids */
  uint64_t id;
  UT_hash_handle hh;
};

struct pp {
  struct str_entry *strs;
  char **table;
  size_t nstr, capstr;
  struct fn_entry *fns;
  Function *functions;
  Function **function_ptrs;
  size_t nfn;
  int oom;
};

/* String index of s (interned; s must outlive the profile). */
static int64_t str_id(struct pp *p, const char *s) {
  struct str_entry *e = NULL;
  HASH_FIND_STR(p->strs, s, e);
  if (e) return e->id;
  if (p->nstr == p->capstr) {
    size_t cap = p->capstr ? 2 * p->capstr : 256;
    char **t = realloc(p->table, cap * sizeof *t);
    if (!t) {
      p->oom = 1;
      return 0;
    }
    p->table = t;
    p->capstr = cap;
  }
  if (!(e = calloc(1, sizeof *e))) {
    p->oom = 1;
    return 0;
  }
  e->s = s;
  e->id = (int64_t)p->nstr;
  p->table[p->nstr++] = (char *)s;
  HASH_ADD_KEYPTR(hh, p->strs, e->s, strlen(e->s), e);
  return e->id;
}

/* Function id for (name, file); functions[] has room for one per frame. */
static uint64_t fn_id(struct pp *p, const char *name, const char *file) {
  struct fn_entry key, *e = NULL;
  memset(&key, 0, sizeof key);
  key.name = str_id(p, name);
  key.file = str_id(p, file);
  HASH_FIND(hh, p->fns, &key.name, 2 * sizeof(int64_t), e);
  if (e) return e->id;
  if (!(e = calloc(1, sizeof *e))) {
    p->oom = 1;
    return 0;
  }
  e->name = key.name;
  e->file = key.file;
  e->id = p->nfn + 1;
  Function *fn = &p->functions[p->nfn];
  perftools__profiles__function__init(fn);
  fn->id = e->id;
  fn->name = e->name;
  fn->system_name = e->name;
  fn->filename = e->file;
  p->function_ptrs[p->nfn++] = fn;
  HASH_ADD(hh, p->fns, name, 2 * sizeof(int64_t), e);
  return e->id;
}

static int gzip_write(FILE *f, const uint8_t *data, size_t len, struct hsa_error *err) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return hsa_fail(err, "zlib: deflateInit2 failed");
  uint8_t out[65536];
  z.next_in = (Bytef *)data;
  z.avail_in = (uInt)len;
  int zr;
  do {
    z.next_out = out;
    z.avail_out = sizeof out;
    zr = deflate(&z, Z_FINISH);
    if (zr == Z_STREAM_ERROR) {
      deflateEnd(&z);
      return hsa_fail(err, "zlib: deflate failed");
    }
    size_t n = sizeof out - z.avail_out;
    if (n && fwrite(out, 1, n, f) != n) {
      deflateEnd(&z);
      return hsa_fail(err, "writing the profile failed: %s", strerror(errno));
    }
  } while (zr != Z_STREAM_END);
  deflateEnd(&z);
  return 0;
}

int hsa_export_pprof(FILE *f, const struct hsa_stacks *st, int peak, struct hsa_error *err) {
  const struct hsa_snapshot *s = st->s;
  struct pp p;
  memset(&p, 0, sizeof p);
  int rc = -1;
  int with_alloc = !peak && !hsa_snapshot_is_sampled(s);
  size_t ntypes = with_alloc ? 4 : 2;
  uint32_t nmods = 0;
  uint32_t *mod_of_path = NULL; /* string id -> mapping index + 1 */
  uint8_t *buf = NULL;
  char comment[512];

  str_id(&p, "");
  ValueType vt[4], period_type;
  static const char *const tnames[4][2] = {
      {"live_blocks", "count"}, {"live_bytes", "bytes"}, {"alloc_blocks", "count"},
      {"alloc_bytes", "bytes"}};
  ValueType *vtp[4];
  for (size_t i = 0; i < ntypes; i++) {
    perftools__profiles__value_type__init(&vt[i]);
    vt[i].type = str_id(&p, tnames[i][0]);
    vt[i].unit = str_id(&p, tnames[i][1]);
    vtp[i] = &vt[i];
  }
  perftools__profiles__value_type__init(&period_type);
  period_type.type = str_id(&p, "space");
  period_type.unit = str_id(&p, "bytes");

  Location *locs = calloc(s->nframes ? s->nframes : 1, sizeof *locs);
  Location **loc_ptrs = calloc(s->nframes ? s->nframes : 1, sizeof *loc_ptrs);
  Line *lines = calloc(s->nframes ? s->nframes : 1, sizeof *lines);
  Line **line_ptrs = calloc(s->nframes ? s->nframes : 1, sizeof *line_ptrs);
  p.functions = calloc(s->nframes ? s->nframes : 1, sizeof *p.functions);
  p.function_ptrs = calloc(s->nframes ? s->nframes : 1, sizeof *p.function_ptrs);
  Mapping *maps = calloc(s->nframes ? s->nframes : 1, sizeof *maps);
  Mapping **map_ptrs = calloc(s->nframes ? s->nframes : 1, sizeof *map_ptrs);
  mod_of_path = calloc(s->nstrings ? s->nstrings : 1, sizeof *mod_of_path);
  Sample *samples = calloc(s->nsites ? s->nsites : 1, sizeof *samples);
  Sample **sample_ptrs = calloc(s->nsites ? s->nsites : 1, sizeof *sample_ptrs);
  uint64_t *locids = NULL;
  int64_t *values = calloc((s->nsites ? s->nsites : 1) * ntypes, sizeof *values);
  Label *labels = calloc(s->nsites ? s->nsites : 1, sizeof *labels);
  Label **label_ptrs = calloc(s->nsites ? s->nsites : 1, sizeof *label_ptrs);
  size_t total_frames = 0;
  for (uint32_t i = 0; i < s->nsites; i++) total_frames += s->sites[i].nframes;
  locids = calloc(total_frames ? total_frames : 1, sizeof *locids);
  if (!locs || !loc_ptrs || !lines || !line_ptrs || !p.functions || !p.function_ptrs || !maps ||
      !map_ptrs || !mod_of_path || !samples || !sample_ptrs || !values || !labels ||
      !label_ptrs || !locids)
    goto oom;

  /* mappings: one per native module path */
  for (uint32_t i = 0; i < s->nframes; i++) {
    const struct hs_frame_rec *fr = &s->frames[i];
    const struct hsa_stack_frame *sf = &st->frames[i];
    if (!sf->native) continue;
    uint32_t sid = fr->filename_sid;
    Mapping *m;
    if (!mod_of_path[sid]) {
      m = &maps[nmods];
      perftools__profiles__mapping__init(m);
      m->id = nmods + 1;
      m->filename = str_id(&p, sf->module);
      const char *bid = hsa_snapshot_module_build_id(s, sid);
      if (bid) m->build_id = str_id(&p, bid);
      for (uint32_t k = 0; k < s->nmodules; k++)
        if (s->modules[k].path_sid == sid) {
          m->memory_start = s->modules[k].base;
          break;
        }
      m->memory_limit = m->memory_start + 1;
      m->file_offset = 0;
      map_ptrs[nmods] = m;
      mod_of_path[sid] = ++nmods;
    }
    m = &maps[mod_of_path[sid] - 1];
    if (m->memory_start + sf->addr + 1 > m->memory_limit)
      m->memory_limit = m->memory_start + sf->addr + 1;
    if (sf->function[0]) m->has_functions = 1;
    if (sf->line) m->has_filenames = m->has_line_numbers = 1;
  }

  /* locations: one per frame id (id = frame id + 1) */
  for (uint32_t i = 0; i < s->nframes; i++) {
    const struct hsa_stack_frame *sf = &st->frames[i];
    Location *l = &locs[i];
    perftools__profiles__location__init(l);
    l->id = (uint64_t)i + 1;
    loc_ptrs[i] = l;
    Line *ln = &lines[i];
    perftools__profiles__line__init(ln);
    line_ptrs[i] = ln;
    if (sf->native) {
      const Mapping *m = &maps[mod_of_path[s->frames[i].filename_sid] - 1];
      l->mapping_id = m->id;
      l->address = m->memory_start + sf->addr;
      if (sf->function[0] || sf->line) {
        ln->function_id = fn_id(&p, sf->function[0] ? sf->function : "?", sf->file);
        ln->line = sf->line;
        l->n_line = 1;
        l->line = &line_ptrs[i];
      }
    } else {
      ln->function_id = fn_id(&p, sf->unknown ? "<unknown>" : sf->function, sf->file);
      ln->line = sf->line;
      l->n_line = 1;
      l->line = &line_ptrs[i];
    }
  }

  /* samples: one per site with something to show */
  size_t nsamples = 0, used = 0;
  int64_t domain_key = str_id(&p, "domain");
  for (uint32_t i = 0; i < s->nsites; i++) {
    const struct hsa_site *site = &s->sites[i];
    uint64_t bytes, blocks;
    hsa_stacks_site_value(s, i, peak, &bytes, &blocks);
    if (!bytes && !blocks && !(with_alloc && site->allocs)) continue;
    Sample *sm = &samples[nsamples];
    perftools__profiles__sample__init(sm);
    sm->n_location_id = site->nframes;
    sm->location_id = &locids[used];
    for (uint16_t k = 0; k < site->nframes; k++) locids[used++] = (uint64_t)site->frames[k] + 1;
    int64_t *v = &values[nsamples * ntypes];
    v[0] = (int64_t)blocks;
    v[1] = (int64_t)bytes;
    if (with_alloc) {
      v[2] = (int64_t)site->allocs;
      v[3] = (int64_t)site->alloc_bytes;
    }
    sm->n_value = ntypes;
    sm->value = v;
    Label *lb = &labels[nsamples];
    perftools__profiles__label__init(lb);
    lb->key = domain_key;
    lb->str = str_id(&p, hsa_domain_name(site->domain));
    label_ptrs[nsamples] = lb;
    sm->n_label = 1;
    sm->label = &label_ptrs[nsamples];
    sample_ptrs[nsamples++] = sm;
  }

  Profile prof;
  perftools__profiles__profile__init(&prof);
  prof.n_sample_type = ntypes;
  prof.sample_type = vtp;
  prof.n_sample = nsamples;
  prof.sample = sample_ptrs;
  prof.n_mapping = nmods;
  prof.mapping = map_ptrs;
  prof.n_location = s->nframes;
  prof.location = loc_ptrs;
  prof.time_nanos = (int64_t)s->meta.time_ns;
  if (s->meta.start_time_ns && s->meta.time_ns > s->meta.start_time_ns)
    prof.duration_nanos = (int64_t)(s->meta.time_ns - s->meta.start_time_ns);
  prof.period_type = &period_type;
  prof.period = (int64_t)s->meta.sample_rate;
  prof.default_sample_type = vt[1].type;
  snprintf(comment, sizeof comment, "heapshape %s: %s pid %u%s%s", HSA_VERSION,
           hsa_snapshot_string(s, s->meta.program_sid), s->meta.pid,
           peak ? ", at the peak" : "",
           hsa_snapshot_is_sampled(s) && !peak ? ", sampled: estimates" : "");
  int64_t comment_id = str_id(&p, comment);
  prof.n_comment = 1;
  prof.comment = &comment_id;
  /* functions last: fn_id above interned every name */
  prof.n_function = p.nfn;
  prof.function = p.function_ptrs;
  if (p.oom) goto oom;
  prof.n_string_table = p.nstr;
  prof.string_table = p.table;

  size_t len = perftools__profiles__profile__get_packed_size(&prof);
  if (!(buf = malloc(len ? len : 1))) goto oom;
  perftools__profiles__profile__pack(&prof, buf);
  rc = gzip_write(f, buf, len, err);
  goto out;
oom:
  rc = hsa_fail(err, "%s: out of memory building the pprof profile", s->path ? s->path : "");
out:
  free(buf);
  free(locs);
  free(loc_ptrs);
  free(lines);
  free(line_ptrs);
  free(p.functions);
  free(p.function_ptrs);
  free(maps);
  free(map_ptrs);
  free(mod_of_path);
  free(samples);
  free(sample_ptrs);
  free(locids);
  free(values);
  free(labels);
  free(label_ptrs);
  {
    struct str_entry *e, *t;
    HASH_ITER(hh, p.strs, e, t) {
      HASH_DEL(p.strs, e);
      free(e);
    }
    struct fn_entry *fe, *ft;
    HASH_ITER(hh, p.fns, fe, ft) {
      HASH_DEL(p.fns, fe);
      free(fe);
    }
  }
  free(p.table);
  return rc;
}
