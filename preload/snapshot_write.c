/* heapshape snapshot writer, the shim's (docs/snapshot-format.md; records through heapshape/encode.h,
 * shared with the analyzer's analyzer/snapshot_encode.c).
 *
 * The tables are streamed under hs_lock through a 64 KiB window into a temporary file
 * (O_EXCL | O_NOFOLLOW) in the destination directory, which is synced and renamed into place
 * after the lock is released, so no reader ever sees a partial file under the final name. Native frames get
 * their module and module-relative address from /proc/self/maps, read before taking the
 * lock (no dladdr: it takes the loader lock, which another thread may hold while it waits
 * for hs_lock inside malloc).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename only */
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "heapshape/crc_clmul.h"
#include "heapshape/encode.h"
#include "preload/core.h"

/* ------------------------------------------------------------------ /proc/self/maps */

struct hs_maps {
  char *text; /* mmap'd copy of /proc/self/maps, NUL-terminated */
  size_t cap;
};

static void hs_maps_read(struct hs_maps *m) {
  m->text = NULL;
  m->cap = 0;
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  size_t cap = 1 << 20, n = 0;
  char *buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf == MAP_FAILED) {
    close(fd);
    return;
  }
  for (;;) {
    if (n + 4096 > cap) {
      void *nb = mremap(buf, cap, cap * 2, MREMAP_MAYMOVE);
      if (nb == MAP_FAILED) break;
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = 0;
  m->text = buf;
  m->cap = cap;
}

/* Finds the file-backed mapping containing addr. On success sets path/len and base, the start
 * of that file's mapping at offset 0. */
static int hs_maps_find(const struct hs_maps *m, uint64_t addr, const char **path, size_t *len,
                        uint64_t *base) {
  struct hs_map_line ml;
  const char *found = NULL;
  size_t flen = 0;
  for (const char *cur = m->text; hs_maps_next(&cur, &ml);) {
    if (addr >= ml.lo && addr < ml.hi) {
      found = ml.path;
      flen = ml.pathlen;
      break;
    }
  }
  if (!found) return 0;
  /* The lowest mapping of the same file with offset 0. */
  for (const char *cur = m->text; hs_maps_next(&cur, &ml);) {
    if (ml.off == 0 && ml.pathlen == flen && memcmp(ml.path, found, flen) == 0) {
      *path = found;
      *len = flen;
      *base = ml.lo;
      return 1;
    }
  }
  return 0;
}

/* 1 when [addr, addr + n) lies inside one readable mapping. */
static int hs_maps_readable(const struct hs_maps *m, uint64_t addr, uint64_t n) {
  struct hs_map_line ml;
  for (const char *cur = m->text; hs_maps_next(&cur, &ml);)
    if (addr >= ml.lo && addr < ml.hi) return ml.perms[0] == 'r' && addr + n <= ml.hi;
  return 0;
}

/* The GNU build-id of the ELF module mapped at base (its offset-0 mapping), as lowercase hex
 * into out (at least 41 bytes); returns its length, 0 if none. Reads only mapped, readable
 * memory: the ELF and program headers, then the PT_NOTE segments. */
static size_t hs_build_id(const struct hs_maps *m, uint64_t base, char *out, size_t cap) {
  const unsigned char *eh = (const unsigned char *)(uintptr_t)base;
  if (!hs_maps_readable(m, base, 64) || memcmp(eh, "\177ELF", 4) != 0 || eh[4] != 2) return 0;
  uint64_t phoff;
  uint16_t phentsize, phnum;
  memcpy(&phoff, eh + 32, 8);
  memcpy(&phentsize, eh + 54, 2);
  memcpy(&phnum, eh + 56, 2);
  if (phentsize < 56 || !hs_maps_readable(m, base + phoff, (uint64_t)phentsize * phnum)) return 0;
  uint64_t first_vaddr = UINT64_MAX;
  for (uint16_t i = 0; i < phnum; i++) {
    const unsigned char *ph = eh + phoff + (uint64_t)i * phentsize;
    uint32_t type;
    uint64_t vaddr;
    memcpy(&type, ph, 4);
    memcpy(&vaddr, ph + 16, 8);
    if (type == 1 /* PT_LOAD */ && vaddr < first_vaddr) first_vaddr = vaddr;
  }
  if (first_vaddr == UINT64_MAX) return 0;
  uint64_t bias = base - (first_vaddr & ~(uint64_t)4095);
  for (uint16_t i = 0; i < phnum; i++) {
    const unsigned char *ph = eh + phoff + (uint64_t)i * phentsize;
    uint32_t type;
    uint64_t vaddr, memsz;
    memcpy(&type, ph, 4);
    memcpy(&vaddr, ph + 16, 8);
    memcpy(&memsz, ph + 40, 8);
    if (type != 4 /* PT_NOTE */ || !hs_maps_readable(m, bias + vaddr, memsz)) continue;
    const unsigned char *n = (const unsigned char *)(uintptr_t)(bias + vaddr), *end = n + memsz;
    while (n + 12 <= end) {
      uint32_t namesz, descsz, ntype;
      memcpy(&namesz, n, 4);
      memcpy(&descsz, n + 4, 4);
      memcpy(&ntype, n + 8, 4);
      const unsigned char *name = n + 12, *desc = name + ((namesz + 3) & ~3u);
      const unsigned char *next = desc + ((descsz + 3) & ~3u);
      if (next > end || next < n) break;
      if (ntype == 3 /* NT_GNU_BUILD_ID */ && namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
          descsz * 2 < cap) {
        static const char hex[] = "0123456789abcdef";
        for (uint32_t k = 0; k < descsz; k++) {
          out[2 * k] = hex[desc[k] >> 4];
          out[2 * k + 1] = hex[desc[k] & 15];
        }
        return 2 * (size_t)descsz;
      }
      n = next;
    }
  }
  return 0;
}

/* Modules that native frames point into: path, build-id and load address (hs_lock). */
#define HS_MAX_MODULES 4096
static struct hs_module_rec hs_modules[HS_MAX_MODULES];
static uint32_t hs_nmodules;

static void hs_note_module_unlocked(const struct hs_maps *m, uint32_t path_sid, uint64_t base) {
  for (uint32_t i = 0; i < hs_nmodules; i++)
    if (hs_modules[i].path_sid == path_sid && hs_modules[i].base == base) return;
  if (hs_nmodules == HS_MAX_MODULES) return;
  char id[130];
  size_t n = hs_build_id(m, base, id, sizeof id);
  uint32_t id_sid = hs_intern_string_unlocked(id, n);
  struct hs_module_rec *r = &hs_modules[hs_nmodules++];
  memset(r, 0, sizeof *r);
  r->path_sid = path_sid;
  r->build_id_sid = id_sid == UINT32_MAX ? 0 : id_sid;
  r->base = base;
}

/* ------------------------------------------------------------------ serialization */

static void hs_out_flush(struct hs_out *o) {
  if (!o->len) return;
  o->crc = hs_crc32_fast(o->crc, o->buf, o->len);
  o->flushed += o->len;
  size_t done = 0;
  while (!o->err && done < o->len) {
    ssize_t w = write(o->fd, o->buf + done, o->len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) o->err = w < 0 ? errno : ENOSPC;
    else done += (size_t)w;
  }
  o->len = 0;
}

void hs_out_put(struct hs_out *o, const void *p, size_t n) {
  const char *src = p;
  while (n) {
    if (o->len == o->cap) hs_out_flush(o);
    size_t k = o->cap - o->len < n ? o->cap - o->len : n;
    memcpy(o->buf + o->len, src, k);
    o->len += k;
    src += k;
    n -= k;
  }
}

void hs_out_pad8(struct hs_out *o) {
  static const char zeros[8];
  hs_out_put(o, zeros, (8 - ((o->flushed + o->len) & 7)) & 7);
}

#define hs_put hs_out_put
#define hs_put_pad hs_out_pad8

static void hs_sink_put(void *ctx, const void *p, size_t n) { hs_out_put(ctx, p, n); }

const struct hs_module_rec *hs_modules_get(uint32_t *n) {
  *n = hs_nmodules;
  return hs_modules;
}

/* Native frames are stored with absolute addresses until the first snapshot that sees them;
 * this turns them into (module path, module-relative address). Caller holds hs_lock. */
static void hs_resolve_native_unlocked(const struct hs_maps *m) {
  uint32_t nf = hs_frame_count();
  for (uint32_t i = 0; i < nf; i++) {
    struct hs_frame_view *f = hs_frame_get(i);
    if (f->kind != HS_FRAME_NATIVE || f->file_sid != 0) continue;
    const char *path;
    size_t len;
    uint64_t base;
    if (!hs_maps_find(m, f->addr, &path, &len, &base)) continue;
    uint32_t sid = hs_intern_string_unlocked(path, len);
    if (sid == UINT32_MAX || sid == 0) continue;
    f->file_sid = sid;
    f->addr -= base;
    hs_note_module_unlocked(m, sid, base);
  }
}

/* A view's numbering: the process id of written entry i, the written id of process id x
 * (UINT32_MAX: not written). The arrays are NULL in a full view (identity). */
static inline uint32_t hs_v_id(const uint32_t *ids, uint32_t i) { return ids ? ids[i] : i; }
static inline uint32_t hs_v_new(const uint32_t *map, uint32_t x) { return map ? map[x] : x; }
static inline uint32_t hs_v_sid(const struct hs_view *v, uint32_t sid) {
  uint32_t n = hs_v_new(v->string_new, sid);
  return n == UINT32_MAX ? 0 : n;
}

static int hs_time_kept(const struct hs_view *v, const struct hs_time_sample *t) {
  return v->time_mode == 0 || (v->time_mode == 1 && t->t_ns > v->time_after);
}

/* Caller holds hs_lock. an: the anatomy (NULL: empty anatomy sections; always NULL for a
 * partial view). */
static void hs_serialize_unlocked(struct hs_out *o, uint32_t reason, uint32_t seq,
                                  const struct hs_anatomy *an, const struct hs_view *v) {
  const struct hs_sink k = {hs_sink_put, o};
  hs_enc_file_header(&k, HS_FORMAT_VERSION);

  struct hs_meta meta;
  memset(&meta, 0, sizeof meta);
  meta.pid = (uint32_t)hs_proc.pid;
  meta.ppid = (uint32_t)getppid();
  meta.time_ns = v->wall_ns;
  meta.reason = reason;
  meta.seq = seq;
  meta.python_version = hs_py_version;
  meta.max_frames = hs_proc.max_frames;
  meta.live_bytes = v->tot->live_bytes;
  meta.live_count = v->tot->live_count;
  meta.peak_live_bytes = v->tot->peak_live_bytes;
  meta.total_allocs = v->tot->allocs;
  meta.total_frees = v->tot->frees;
  meta.total_alloc_bytes = v->tot->alloc_bytes;
  meta.program_sid = hs_v_sid(v, hs_proc.program_sid);
  meta.cmdline_sid = hs_v_sid(v, hs_proc.cmdline_sid);
  meta.flags = (hs_active ? 0u : HS_META_FLAG_DISABLED) | (hs_py_hooked ? HS_META_FLAG_PYHOOKS : 0u);
  meta.start_time_ns = hs_proc.start_ns;
  {
    uint32_t rule = hs_proc_rule_locked(); /* writers.c */
    meta.writer = rule ? rule : HS_WRITER_ASKED;
  }
  if (hs_pyi.minor) {
    meta.str_ascii_size = hs_pyi.ascii_size;
    meta.str_compact_size = hs_pyi.compact_size;
    meta.gc_head_size = 16;
    meta.small_request_threshold = 512;
  }
  meta.flags2 = an ? HS_META2_ANATOMY : 0;
  meta.anatomy_us = hs_anatomy_micros(an);
  meta.sample_rate = hs_sample_rate;
  hs_enc_section(&k, HS_TAG_META, sizeof meta);
  hs_put(o, &meta, sizeof meta);

  uint64_t strs = 4;
  for (uint32_t i = 0; i < v->nstrings; i++) strs += 4 + hs_string_get(hs_v_id(v->string_ids, i)).len;
  hs_enc_section(&k, HS_TAG_STRS, strs);
  hs_put(o, &v->nstrings, 4);
  for (uint32_t i = 0; i < v->nstrings; i++) {
    struct hs_string_view sv = hs_string_get(hs_v_id(v->string_ids, i));
    hs_put(o, &sv.len, 4);
    hs_put(o, sv.s, sv.len);
  }
  hs_put_pad(o);

  hs_enc_section(&k, HS_TAG_FRMS, 8 + (uint64_t)v->nframes * sizeof(struct hs_frame_rec));
  hs_enc_count(&k, v->nframes);
  for (uint32_t i = 0; i < v->nframes; i++) {
    const struct hs_frame_view *f = hs_frame_get(hs_v_id(v->frame_ids, i));
    struct hs_frame_rec r;
    memset(&r, 0, sizeof r);
    r.kind = f->kind;
    r.lineno = f->lineno;
    r.filename_sid = hs_v_sid(v, f->file_sid);
    r.name_sid = hs_v_sid(v, f->name_sid);
    r.addr = f->addr;
    hs_put(o, &r, sizeof r);
  }

  uint64_t sites_len = 8;
  for (uint32_t i = 0; i < v->nsites; i++) {
    uint8_t d;
    const uint32_t *fr;
    uint32_t n;
    hs_site_stats_get(hs_v_id(v->site_ids, i), &d, &fr, &n);
    sites_len += hs_site_rec_size(n);
  }
  hs_enc_section(&k, HS_TAG_SITE, sites_len);
  hs_enc_count(&k, v->nsites);
  for (uint32_t i = 0; i < v->nsites; i++) {
    uint8_t d;
    const uint32_t *fr;
    uint32_t n, id = hs_v_id(v->site_ids, i), renum[HS_MAX_FRAMES];
    hs_site_stats_get(id, &d, &fr, &n);
    const struct hs_site_stats *st = &v->stats[id];
    struct hs_site_rec r;
    memset(&r, 0, sizeof r);
    r.domain = d;
    r.nframes = (uint16_t)n;
    r.allocs = st->allocs;
    r.frees = st->frees;
    r.alloc_bytes = st->alloc_bytes;
    r.live_count = st->live_count;
    r.live_bytes = st->live_bytes;
    r.peak_live_bytes = st->peak_live_bytes;
    if (v->frame_new) {
      for (uint32_t j = 0; j < n && j < HS_MAX_FRAMES; j++) renum[j] = v->frame_new[fr[j]];
      fr = renum;
    }
    hs_enc_site(&k, &r, fr);
  }
  hs_anatomy_serialize(an, o);

  /* PEAK: the copy's entries for the sites written (0 for sites created after it) */
  uint32_t np = v->peak_sites ? (v->site_ids ? v->nsites : v->peak_sites) : 0;
  struct hs_peak_hdr ph = {np, 0, v->peak_bytes, v->peak_time_ns};
  hs_enc_section(&k, HS_TAG_PEAK, sizeof ph + (uint64_t)np * sizeof(struct hs_peak_rec_disk));
  hs_put(o, &ph, sizeof ph);
  for (uint32_t i = 0; i < np; i++) {
    uint32_t id = hs_v_id(v->site_ids, i);
    struct hs_peak_rec_disk r = {0, 0};
    if (id < v->peak_sites) {
      r.live_count = v->peak[id].live_count;
      r.live_bytes = v->peak[id].live_bytes;
    }
    hs_put(o, &r, sizeof r);
  }

  struct hs_history h;
  hs_history_get(&h);
  uint32_t nt = 0;
  for (uint32_t i = 0; i < h.time_count; i++) nt += hs_time_kept(v, &h.time[i]);
  struct hs_time_hdr th = {nt, HS_TIME_TOP_SITES, h.time_interval_ns};
  hs_enc_section(&k, HS_TAG_TIME, sizeof th + (uint64_t)nt * sizeof(struct hs_time_rec));
  hs_put(o, &th, sizeof th);
  HS_STATIC_ASSERT(sizeof(struct hs_time_sample) == sizeof(struct hs_time_rec), "TIME record");
  if (!v->site_new && nt) {
    hs_put(o, h.time, (size_t)nt * sizeof(struct hs_time_rec));
  } else {
    for (uint32_t i = 0; i < h.time_count; i++) {
      if (!hs_time_kept(v, &h.time[i])) continue;
      struct hs_time_sample t = h.time[i];
      for (int j = 0; j < HS_TIME_TOP; j++) {
        uint32_t n = t.top[j].bytes ? v->site_new[t.top[j].site] : 0;
        t.top[j].site = n == UINT32_MAX ? 0 : n;
        if (n == UINT32_MAX) t.top[j].bytes = 0; /* not reached: the view holds them */
      }
      hs_put(o, &t, sizeof t);
    }
  }

  uint32_t ne = v->est ? v->nsites : 0;
  hs_enc_section(&k, HS_TAG_ESTM, 8 + (uint64_t)ne * sizeof(struct hs_estm_rec));
  hs_enc_count(&k, ne);
  HS_STATIC_ASSERT(sizeof(struct hs_site_est) == sizeof(struct hs_estm_rec), "ESTM record");
  for (uint32_t i = 0; i < ne; i++) hs_put(o, &v->est[hs_v_id(v->site_ids, i)], sizeof(struct hs_estm_rec));

  uint32_t nm = 0;
  for (uint32_t i = 0; i < hs_nmodules; i++) nm += hs_v_new(v->string_new, hs_modules[i].path_sid) != UINT32_MAX;
  hs_enc_section(&k, HS_TAG_MODS, 8 + (uint64_t)nm * sizeof(struct hs_module_rec));
  hs_enc_count(&k, nm);
  for (uint32_t i = 0; i < hs_nmodules; i++) {
    if (hs_v_new(v->string_new, hs_modules[i].path_sid) == UINT32_MAX) continue;
    struct hs_module_rec r = hs_modules[i];
    r.path_sid = hs_v_sid(v, r.path_sid);
    r.build_id_sid = hs_v_sid(v, r.build_id_sid);
    hs_put(o, &r, sizeof r);
  }
  hs_anatomy_serialize_elem(an, o);

  struct hs_part_hdr part;
  memset(&part, 0, sizeof part);
  part.kind = v->kind;
  part.count = v->site_ids ? v->nsites : 0;
  part.process_sites = v->process_sites;
  part.mark = v->mark;
  part.mark_time_ns = v->mark_time_ns;
  hs_enc_part(&k, &part, v->site_ids);
  hs_put_pad(o);
}

static void hs_finish(struct hs_out *o) {
  const struct hs_sink k = {hs_sink_put, o};
  hs_out_flush(o);
  struct hs_end_rec end = {o->crc, 0};
  hs_enc_section(&k, HS_TAG_END, sizeof end);
  hs_put(o, &end, sizeof end);
  hs_out_flush(o);
}

/* ------------------------------------------------------------------ file names */

static size_t hs_cat(char *dst, size_t at, size_t cap, const char *s) {
  while (*s && at + 1 < cap) dst[at++] = *s++;
  dst[at] = 0;
  return at;
}

/* Default name: root process with HEAPSHAPE_OUTPUT: that path (exit) or PATH-minus-.hsnap.SEQ.hsnap;
 * otherwise DIR/heapshape-PROGRAM-PID[.SEQ].hsnap. */
static void hs_default_path(char *out, size_t cap, uint32_t seq) {
  char num[24];
  size_t at = 0;
  out[0] = 0;
  if (hs_proc.output[0] && hs_proc.pid == hs_proc.root_pid) {
    size_t len = strlen(hs_proc.output);
    if (seq == 0) {
      hs_cat(out, 0, cap, hs_proc.output);
      return;
    }
    if (len > 6 && strcmp(hs_proc.output + len - 6, ".hsnap") == 0) len -= 6;
    if (len >= cap - 32) len = cap - 32;
    memcpy(out, hs_proc.output, len);
    at = len;
  } else {
    at = hs_cat(out, at, cap, hs_proc.dir);
    at = hs_cat(out, at, cap, "/heapshape-");
    at = hs_cat(out, at, cap, hs_proc.program);
    at = hs_cat(out, at, cap, "-");
    num[hs_fmt_u64(num, (uint64_t)hs_proc.pid)] = 0;
    at = hs_cat(out, at, cap, num);
  }
  if (seq) {
    at = hs_cat(out, at, cap, ".");
    num[hs_fmt_u64(num, seq)] = 0;
    at = hs_cat(out, at, cap, num);
  }
  hs_cat(out, at, cap, ".hsnap");
}

/* The temporary file next to path that a snapshot is written to: DIR/.NAME.PID.hstmp, where
 * NAME is path's file name without ".hsnap". A program killed while it writes one leaves it
 * behind: hidden, and named so that no glob of "*.hsnap*" picks it up (until 2026-12-03 it
 * was path.tmpPID, which "heapshape-*.hsnap*" found); `heapshape run` removes those of
 * processes that are gone, in the output directory, when it starts and when the program ends,
 * and a root started by hand does so in HEAPSHAPE_DIR at its exit (child_budget.c). */
static void hs_tmp_path(char *tmp, size_t cap, const char *path) {
  char num[24];
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  size_t dirlen = (size_t)(name - path), namelen = strlen(name);
  if (namelen > 6 && strcmp(name + namelen - 6, ".hsnap") == 0) namelen -= 6;
  if (dirlen + namelen + 40 > cap) namelen = cap > dirlen + 40 ? cap - dirlen - 40 : 0;
  memcpy(tmp, path, dirlen);
  size_t at = dirlen;
  tmp[at++] = '.';
  memcpy(tmp + at, name, namelen);
  at += namelen;
  tmp[at] = 0;
  at = hs_cat(tmp, at, cap, ".");
  num[hs_fmt_u64(num, (uint64_t)hs_proc.pid)] = 0;
  at = hs_cat(tmp, at, cap, num);
  hs_cat(tmp, at, cap, ".hstmp");
}

static int hs_open_tmp(const char *tmp) {
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST) {
    unlink(tmp); /* a stale temporary of ours (same pid) */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  }
  return fd;
}

/* Ends a snapshot written to fd (tmp): renamed to path once complete, so a crash of the
 * program (or a reader racing the writer) sees a complete file or the previous snapshot,
 * never a partial one. HEAPSHAPE_FSYNC=1 also syncs the data before the rename, which extends
 * that to a crash of the machine; it is off by default because it cost 1.5-2 ms per snapshot
 * (ext4, this project's machine), as much as a small program's whole exit snapshot. On
 * failure (err set by the writer, or here) the temporary is removed and errno says why. */
static int hs_commit_file(int fd, const char *tmp, const char *path, int err) {
  if (!err && hs_proc.fsync) fsync(fd);
  if (close(fd) < 0 && !err) err = errno;
  if (!err && rename(tmp, path) < 0) err = errno;
  if (err) {
    unlink(tmp);
    errno = err;
    return -1;
  }
  return 0;
}

/* Window of the streaming writer: small enough to cost nothing in RSS, large enough that
 * the write calls are few (a 500 KB snapshot takes 8). */
#define HS_OUT_WINDOW (64u << 10)

static int hs_snapshot_fail(uint32_t reason, const char *path, int err) {
  if (reason == HS_REASON_API) {
    errno = err;
    return -1;
  }
  char msg[HS_PATH_MAX + 64];
  size_t at = hs_cat(msg, 0, sizeof msg, "cannot write snapshot ");
  hs_cat(msg, at, sizeof msg, path);
  hs_disable(msg, err);
  errno = err;
  return -1;
}

/* Maps o's window and opens the temporary file next to path (its name into tmp); 0, or with
 * errno -1 (no memory for the window, said with a warning) or -2 (the file). */
static int hs_out_open(struct hs_out *o, const char *path, char *tmp, size_t tmpcap) {
  memset(o, 0, sizeof *o);
  o->cap = HS_OUT_WINDOW;
  o->buf = mmap(NULL, o->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (o->buf == MAP_FAILED) {
    hs_warn3("cannot map memory for a snapshot", "", "");
    errno = ENOMEM;
    return -1;
  }
  hs_tmp_path(tmp, tmpcap, path);
  o->fd = hs_open_tmp(tmp);
  if (o->fd < 0) {
    int err = errno;
    munmap(o->buf, o->cap);
    errno = err;
    return -2;
  }
  return 0;
}

int hs_snapshot_write(const char *path, uint32_t reason) {
  char def[HS_PATH_MAX], tmp[HS_PATH_MAX + 64];
  uint32_t seq = reason == HS_REASON_EXIT ? 0 : __atomic_add_fetch(&hs_proc.seq, 1, __ATOMIC_SEQ_CST);
  if (!path) {
    hs_default_path(def, sizeof def, seq);
    path = def;
  }
  struct hs_out o;
  int opened = hs_out_open(&o, path, tmp, sizeof tmp);
  if (opened < 0) {
    int err = errno;
    hs_budget_release(); /* child_budget.c */
    if (opened == -1) return -1;
    return hs_snapshot_fail(reason, path, err);
  }
  struct hs_maps maps;
  hs_maps_read(&maps);

  /* Objects can be inspected only while this thread holds the GIL. The file is written under
   * hs_lock (the tables cannot change while they are streamed out; no allocation happens);
   * the sync and the rename happen after it is released. */
  int anatomy = hs_proc.anatomy && maps.text && hs_py_holds_gil();
  hs_lock_acquire();
  hs_stats_merge();
  hs_resolve_native_unlocked(&maps);
  struct hs_anatomy *an = anatomy ? hs_anatomy_collect(maps.text) : NULL;
  struct hs_view v;
  hs_view_full(&v);
  hs_serialize_unlocked(&o, reason, seq, an, &v);
  hs_anatomy_free(an);
  hs_finish(&o);
  hs_lock_release();
  if (maps.text) munmap(maps.text, maps.cap);
  munmap(o.buf, o.cap);
  if (hs_commit_file(o.fd, tmp, path, o.err) < 0) {
    int err = errno;
    hs_budget_release(); /* child_budget.c */
    return hs_snapshot_fail(reason, path, err);
  }
  hs_budget_note(o.flushed); /* child_budget.c */
  return 0;
}

/* The pair of partial snapshots of a test (partial.c): path holds the sites touched since the
 * mark, mark_path (if not NULL) the same sites as they were at the mark. Both are written
 * under one hold of hs_lock, so they describe the same sites; no anatomy. A failure turns
 * nothing off (an API call): -1 with errno, and neither file is left. */
int hs_snapshot_write_partial(const char *path, const char *mark_path) {
  char mytmp[2][HS_PATH_MAX + 64];
  const char *paths[2] = {path, mark_path};
  int nout = mark_path ? 2 : 1;
  uint32_t seq = __atomic_add_fetch(&hs_proc.seq, 1, __ATOMIC_SEQ_CST);
  struct hs_out o[2];
  for (int i = 0; i < nout; i++) {
    if (hs_out_open(&o[i], paths[i], mytmp[i], sizeof mytmp[i]) < 0) {
      int err = errno;
      if (i == 1) {
        munmap(o[0].buf, o[0].cap);
        hs_commit_file(o[0].fd, mytmp[0], paths[0], err);
      }
      errno = err;
      return -1;
    }
  }
  struct hs_maps maps;
  hs_maps_read(&maps);
  hs_lock_acquire();
  hs_stats_merge();
  if (maps.text) hs_resolve_native_unlocked(&maps);
  struct hs_view v;
  int verr = hs_view_since_mark(&v) < 0 ? errno : 0;
  if (!verr) {
    hs_serialize_unlocked(&o[0], HS_REASON_API, seq, NULL, &v);
    hs_finish(&o[0]);
    if (nout == 2) {
      hs_view_at_mark(&v);
      hs_serialize_unlocked(&o[1], HS_REASON_API, seq, NULL, &v);
      hs_finish(&o[1]);
    }
    hs_view_free(&v);
  }
  hs_lock_release();
  if (maps.text) munmap(maps.text, maps.cap);
  int err = verr;
  for (int i = 0; i < nout; i++) {
    munmap(o[i].buf, o[i].cap);
    if (hs_commit_file(o[i].fd, mytmp[i], paths[i], verr ? verr : o[i].err) < 0 && !err) err = errno;
  }
  if (err) {
    for (int i = 0; i < nout && !verr; i++) unlink(paths[i]); /* both or neither */
    errno = err;
    return -1;
  }
  return 0;
}
