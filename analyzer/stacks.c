/* heapshape analyzer: sites as stacks of printable frames (see stacks.h). */
#include "analyzer/stacks.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "analyzer/stats.h"

struct label_entry {
  char *text;
  uint32_t id;
  UT_hash_handle hh;
};

struct stacks_priv {
  struct label_entry *index;
  char **strs; /* strings the frames point to that we own */
  size_t nstrs, capstrs;
  uint32_t caplabels;
};

static const char *keep(struct stacks_priv *p, const char *str) {
  if (p->nstrs == p->capstrs) {
    size_t cap = p->capstrs ? 2 * p->capstrs : 64;
    char **n = realloc(p->strs, cap * sizeof *n);
    if (!n) return NULL;
    p->strs = n;
    p->capstrs = cap;
  }
  char *c = strdup(str);
  if (!c) return NULL;
  p->strs[p->nstrs++] = c;
  return c;
}

static int intern_label(struct hsa_stacks *st, struct stacks_priv *p, const char *text,
                        uint32_t *id) {
  struct label_entry *e = NULL;
  HASH_FIND_STR(p->index, text, e);
  if (e) {
    *id = e->id;
    return 0;
  }
  if (st->nlabels == p->caplabels) {
    uint32_t cap = p->caplabels ? 2 * p->caplabels : 256;
    char **n = realloc(st->labels, cap * sizeof *n);
    if (!n) return -1;
    st->labels = n;
    p->caplabels = cap;
  }
  e = calloc(1, sizeof *e);
  if (!e || !(e->text = strdup(text))) {
    free(e);
    return -1;
  }
  e->id = st->nlabels;
  st->labels[st->nlabels++] = e->text;
  HASH_ADD_KEYPTR(hh, p->index, e->text, strlen(e->text), e);
  *id = e->id;
  return 0;
}

int hsa_stacks_init(struct hsa_stacks *st, const struct hsa_snapshot *s,
                    struct hsa_symbolizer *sym, struct hsa_error *err) {
  memset(st, 0, sizeof *st);
  st->s = s;
  struct stacks_priv *p = calloc(1, sizeof *p);
  st->priv = p;
  st->frames = calloc(s->nframes ? s->nframes : 1, sizeof *st->frames);
  if (!p || !st->frames) goto oom;
  for (uint32_t i = 0; i < s->nframes; i++) {
    const struct hs_frame_rec *f = &s->frames[i];
    struct hsa_stack_frame *o = &st->frames[i];
    struct hsa_frame_text t;
    char buf[4200], label[8600];
    hsa_frame_resolve(s, i, sym, HSA_KEY_LINENO, &t, buf, sizeof buf);
    o->native = f->kind == HS_FRAME_NATIVE;
    o->unknown = f->kind != HS_FRAME_NATIVE && f->kind != HS_FRAME_PYTHON;
    o->line = t.lineno;
    o->function = t.name;
    o->module = o->native ? hsa_snapshot_string(s, f->filename_sid) : "";
    o->addr = o->native ? f->addr : 0;
    if (o->native) {
      /* t.filename is the source file when symbolized to a line, else "module+0x..." in buf */
      int has_src = t.filename != buf;
      o->symbolized = has_src || t.name[0];
      o->file = has_src ? t.filename : o->module;
      if (has_src && !(o->file = keep(p, t.filename))) goto oom;
      if (t.name[0] && !(o->function = keep(p, t.name))) goto oom;
      if (has_src)
        snprintf(label, sizeof label, "%s (%s:%d)", t.name[0] ? t.name : "?", t.filename,
                 t.lineno);
      else if (t.name[0])
        snprintf(label, sizeof label, "%s (%s)", t.name, o->module);
      else
        snprintf(label, sizeof label, "%s", buf);
    } else if (o->unknown) {
      o->file = "<unknown>";
      snprintf(label, sizeof label, "<unknown>");
    } else {
      o->file = t.filename;
      snprintf(label, sizeof label, "%s (%s:%d)", t.name, t.filename, t.lineno);
    }
    if (intern_label(st, p, label, &o->label) != 0) goto oom;
  }
  return 0;
oom:
  hsa_stacks_free(st);
  return hsa_fail(err, "%s: out of memory resolving frames", s->path ? s->path : "snapshot");
}

void hsa_stacks_free(struct hsa_stacks *st) {
  struct stacks_priv *p = st->priv;
  if (p) {
    struct label_entry *e, *tmp;
    HASH_ITER(hh, p->index, e, tmp) {
      HASH_DEL(p->index, e);
      free(e->text);
      free(e);
    }
    for (size_t i = 0; i < p->nstrs; i++) free(p->strs[i]);
    free(p->strs);
    free(p);
  }
  free(st->labels);
  free(st->frames);
  memset(st, 0, sizeof *st);
}

void hsa_stacks_site_value(const struct hsa_snapshot *s, uint32_t i, int peak, uint64_t *bytes,
                           uint64_t *blocks) {
  if (peak) {
    *bytes = i < s->npeak ? s->peak[i].live_bytes : 0;
    *blocks = i < s->npeak ? s->peak[i].live_count : 0;
  } else if (hsa_snapshot_is_sampled(s)) {
    const struct hs_estm_rec *e = &s->estimates[i];
    *bytes = s->sites[i].live_count && e->live_bytes > 0 ? (uint64_t)llround(e->live_bytes) : 0;
    *blocks = s->sites[i].live_count && e->live_count > 0 ? (uint64_t)llround(e->live_count) : 0;
  } else {
    *bytes = s->sites[i].live_bytes;
    *blocks = s->sites[i].live_count;
  }
}
