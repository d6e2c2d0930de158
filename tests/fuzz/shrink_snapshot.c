/* heapshape fuzzing: shrink a real snapshot into a small seed for the fuzz corpus.
 *
 *   shrink_snapshot IN OUT [SITES [VERSION]]
 *
 * Keeps the SITES sites (default 12) holding the most live bytes, with their frames, strings,
 * anatomy rows, shapes, types, peak copy, estimates and modules, and up to 16 timeline
 * samples (top-site entries of dropped sites cleared); META is copied as is. Writes format
 * VERSION (default the current one; 1-3 drop the newer sections as an older shim would have).
 * Exit 0, or 2 after one line on stderr. The seeds in tests/fuzz/corpus/ were made with it
 * (tools/fuzz.sh --make-seeds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/reader.h"
#include "analyzer/snapshot.h"
#include "analyzer/snapshot_encode.h"

#define NO_ID 0xFFFFFFFFu

static struct hsa_error err;

static int die(const char *what) {
  fprintf(stderr, "shrink_snapshot: %s%s%s\n", what, err.msg[0] ? ": " : "", err.msg);
  return 2;
}

static const struct hsa_snapshot *in_s;

static int by_live_desc(const void *a, const void *b) {
  const struct hsa_site *x = &in_s->sites[*(const uint32_t *)a];
  const struct hsa_site *y = &in_s->sites[*(const uint32_t *)b];
  if (x->live_bytes != y->live_bytes) return x->live_bytes < y->live_bytes ? 1 : -1;
  return (*(const uint32_t *)a > *(const uint32_t *)b) - (*(const uint32_t *)a < *(const uint32_t *)b);
}

/* The new id of type t (added on first use). */
static int map_type(const struct hsa_snapshot *in, struct hsa_snapshot *out, uint32_t *tmap,
                    uint32_t t, uint32_t *id) {
  if (t == HS_NO_TYPE || t >= in->ntypes) {
    *id = HS_NO_TYPE;
    return 0;
  }
  if (tmap[t] == NO_ID) {
    const struct hs_type_rec *r = &in->types[t];
    if (hsa_snapshot_add_type(out, hsa_snapshot_string(in, r->name_sid), r->flags, r->tp_flags,
                              r->basicsize, r->itemsize, &tmap[t], &err) != 0)
      return -1;
  }
  *id = tmap[t];
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    fprintf(stderr, "usage: shrink_snapshot IN OUT [SITES [VERSION]]\n");
    return 2;
  }
  uint32_t keep = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 12;
  uint32_t version = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : HS_FORMAT_VERSION;
  struct hsa_snapshot in, out;
  if (hsa_snapshot_read_file(argv[1], &in, &err) != 0) return die("cannot read the input");
  in_s = &in;
  hsa_snapshot_init(&out);
  uint32_t *order = calloc(in.nsites + 1, sizeof *order);
  uint32_t *smap = calloc(in.nsites + 1, sizeof *smap);
  uint32_t *tmap = calloc(in.ntypes + 1, sizeof *tmap);
  uint32_t *rmap = calloc(in.nrows + 1, sizeof *rmap);
  if (!order || !smap || !tmap || !rmap) return die("out of memory");
  for (uint32_t i = 0; i < in.nsites; i++) order[i] = i, smap[i] = NO_ID;
  for (uint32_t i = 0; i < in.ntypes; i++) tmap[i] = NO_ID;
  for (uint32_t i = 0; i < in.nrows; i++) rmap[i] = NO_ID;
  qsort(order, in.nsites, sizeof *order, by_live_desc);
  if (keep > in.nsites) keep = in.nsites;
  /* keep the chosen sites in their original order */
  for (uint32_t i = 0; i < keep; i++) smap[order[i]] = 0;
  out.meta = in.meta;
  if (hsa_snapshot_set_program(&out, hsa_snapshot_string(&in, in.meta.program_sid),
                               hsa_snapshot_string(&in, in.meta.cmdline_sid), &err) != 0)
    return die("set_program");
  uint32_t fids[65536];
  for (uint32_t i = 0; i < in.nsites; i++) {
    if (smap[i] == NO_ID) continue;
    struct hsa_site site = in.sites[i];
    for (uint16_t k = 0; k < site.nframes; k++) {
      const struct hs_frame_rec *f = &in.frames[site.frames[k]];
      if (hsa_snapshot_add_frame(&out, (enum hs_frame_kind)f->kind, f->lineno,
                                 hsa_snapshot_string(&in, f->filename_sid),
                                 hsa_snapshot_string(&in, f->name_sid), f->addr, &fids[k],
                                 &err) != 0)
        return die("add_frame");
    }
    site.frames = fids;
    if (hsa_snapshot_add_site(&out, &site, &err) != 0) return die("add_site");
    smap[i] = out.nsites - 1;
  }
  for (uint32_t i = 0; i < in.nrows; i++) {
    struct hs_anat_rec r = in.rows[i];
    if (smap[r.site] == NO_ID) continue;
    r.site = smap[r.site];
    if (map_type(&in, &out, tmap, r.type, &r.type) != 0) return die("add_type");
    if (hsa_snapshot_add_row(&out, &r, &err) != 0) return die("add_row");
    rmap[i] = out.nrows - 1;
  }
  for (uint32_t i = 0; i < in.nshapes; i++) {
    struct hsa_shape sh = in.shapes[i];
    if (rmap[sh.row] == NO_ID) continue;
    struct hsa_shape_field fields[HS_SHAPE_MAX_FIELDS];
    for (uint16_t k = 0; k < sh.nfields; k++) {
      if (hsa_snapshot_add_string(&out, hsa_snapshot_string(&in, sh.fields[k].name_sid),
                                  &fields[k].name_sid, &err) != 0 ||
          map_type(&in, &out, tmap, sh.fields[k].type, &fields[k].type) != 0)
        return die("shape field");
    }
    sh.row = rmap[sh.row];
    sh.fields = fields;
    if (hsa_snapshot_add_shape(&out, &sh, &err) != 0) return die("add_shape");
  }
  if (in.npeak) {
    struct hs_peak_rec_disk *pk = calloc(out.nsites + 1, sizeof *pk);
    if (!pk) return die("out of memory");
    for (uint32_t i = 0; i < in.nsites; i++)
      if (smap[i] != NO_ID && i < in.npeak) pk[smap[i]] = in.peak[i];
    if (hsa_snapshot_set_peak(&out, pk, out.nsites, in.peak_live_bytes, in.peak_time_ns, &err))
      return die("set_peak");
    free(pk);
  }
  if (in.ntime) {
    uint32_t n = in.ntime < 16 ? in.ntime : 16;
    struct hs_time_rec *tl = calloc(n, sizeof *tl);
    if (!tl) return die("out of memory");
    for (uint32_t j = 0; j < n; j++) {
      tl[j] = in.timeline[(uint64_t)j * in.ntime / n];
      for (int k = 0; k < HS_TIME_TOP_SITES; k++) {
        uint32_t site = tl[j].top[k].site;
        if (!tl[j].top[k].bytes || site >= in.nsites || smap[site] == NO_ID) {
          tl[j].top[k].site = 0;
          tl[j].top[k].bytes = 0;
        } else {
          tl[j].top[k].site = smap[site];
        }
      }
    }
    if (hsa_snapshot_set_timeline(&out, tl, n, in.time_interval_ns, &err))
      return die("set_timeline");
    free(tl);
  }
  if (in.nestimates == in.nsites && in.nestimates) {
    struct hs_estm_rec *es = calloc(out.nsites + 1, sizeof *es);
    if (!es) return die("out of memory");
    for (uint32_t i = 0; i < in.nsites; i++)
      if (smap[i] != NO_ID) es[smap[i]] = in.estimates[i];
    if (hsa_snapshot_set_estimates(&out, es, out.nsites, &err)) return die("set_estimates");
    free(es);
  }
  for (uint32_t i = 0; i < in.nmodules; i++) {
    const char *path = hsa_snapshot_string(&in, in.modules[i].path_sid);
    int used = 0;
    for (uint32_t f = 0; f < out.nframes && !used; f++)
      used = out.frames[f].kind == HS_FRAME_NATIVE &&
             strcmp(hsa_snapshot_string(&out, out.frames[f].filename_sid), path) == 0;
    if (used && hsa_snapshot_add_module(&out, path,
                                        hsa_snapshot_string(&in, in.modules[i].build_id_sid),
                                        in.modules[i].base, &err) != 0)
      return die("add_module");
  }
  unsigned char *data;
  size_t len;
  if (hsa_snapshot_encode_version(&out, version, &data, &len, &err) != 0) return die("encode");
  FILE *f = fopen(argv[2], "wb");
  if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) return die("cannot write OUT");
  free(data);
  hsa_snapshot_free(&in);
  hsa_snapshot_free(&out);
  free(order);
  free(smap);
  free(tmap);
  free(rmap);
  return 0;
}
