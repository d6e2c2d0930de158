/* heapshape analyzer: native frame symbolization with libdwfl (see symbolize.h).
 * One Dwfl session per module, so modules reported offline at their link-time addresses never
 * overlap each other. */
#include "analyzer/symbolize.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <uthash.h>

#include "analyzer/symbol_cache.h"

/* A build-id a snapshot recorded for a module, and the verdict on it (cached). */
struct hsa_expected_id {
  struct hsa_expected_id *next;
  int match; /* the file's build-id equals it */
  int warned;
  char id[]; /* lowercase hex */
};

struct hsa_module {
  char *path; /* hash key */
  int usable; /* a regular ELF file: its build-id was read (probe_module) */
  int dwfl_tried; /* open_module ran (on the first address not in the cache) */
  struct hsa_symcache *cache; /* per-user cache for this build-id (symbol_cache.h), or NULL */
  Dwfl *dwfl; /* NULL if the module could not be opened */
  Dwfl_Module *mod;
  uint64_t link_base; /* lowest PT_LOAD p_vaddr rounded down to the page size */
  Dwarf_Addr bias; /* dwfl address = link-time address + bias */
  char build_id[2 * HSA_BUILD_ID_MAX + 1]; /* the file's, lowercase hex; "" if it has none */
  struct hsa_expected_id *expected;
  UT_hash_handle hh;
};

struct hsa_symbolizer {
  struct hsa_module *modules;
  FILE *warn;
  unsigned mismatches;
};

static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = NULL,
};

struct hsa_symbolizer *hsa_symbolizer_new(void) { return calloc(1, sizeof(struct hsa_symbolizer)); }

void hsa_symbolizer_free(struct hsa_symbolizer *sym) {
  if (!sym) return;
  struct hsa_module *m, *tmp;
  HASH_ITER(hh, sym->modules, m, tmp) {
    HASH_DEL(sym->modules, m);
    hsa_symcache_close(m->cache);
    if (m->dwfl) dwfl_end(m->dwfl);
    while (m->expected) {
      struct hsa_expected_id *e = m->expected;
      m->expected = e->next;
      free(e);
    }
    free(m->path);
    free(m);
  }
  free(sym);
}

void hsa_symbolizer_set_warnings(struct hsa_symbolizer *sym, FILE *f) {
  if (sym) sym->warn = f;
}

unsigned hsa_symbolizer_mismatches(const struct hsa_symbolizer *sym) {
  return sym ? sym->mismatches : 0;
}

/* The main file's GNU build-id of mod as lowercase hex into out (2 * HSA_BUILD_ID_MAX + 1
 * bytes); "" when it has none. */
static void module_build_id(Dwfl_Module *mod, char *out) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *bits = NULL;
  GElf_Addr vaddr = 0;
  int n = dwfl_module_build_id(mod, &bits, &vaddr);
  out[0] = '\0';
  if (n <= 0 || n > HSA_BUILD_ID_MAX || !bits) return;
  for (int k = 0; k < n; k++) {
    out[2 * k] = hex[bits[k] >> 4];
    out[2 * k + 1] = hex[bits[k] & 15];
  }
  out[2 * n] = '\0';
}

/* The GNU build-id in the PT_NOTE segments of elf as lowercase hex into out ("" if none). */
static void elf_build_id(Elf *elf, char *out) {
  static const char hex[] = "0123456789abcdef";
  size_t nph = 0;
  out[0] = '\0';
  if (elf_getphdrnum(elf, &nph) != 0) return;
  for (size_t i = 0; i < nph; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE) continue;
    Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
    if (!d) continue;
    size_t off = 0, name_off, desc_off;
    GElf_Nhdr nh;
    while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
      if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
          memcmp((const char *)d->d_buf + name_off, "GNU", 4) != 0)
        continue;
      if (nh.n_descsz == 0 || nh.n_descsz > HSA_BUILD_ID_MAX) return;
      const unsigned char *bits = (const unsigned char *)d->d_buf + desc_off;
      for (size_t k = 0; k < nh.n_descsz; k++) {
        out[2 * k] = hex[bits[k] >> 4];
        out[2 * k + 1] = hex[bits[k] & 15];
      }
      out[2 * nh.n_descsz] = '\0';
      return;
    }
  }
}

/* Cheap first look at m->path (no libdwfl): a regular ELF file? Its build-id into m->build_id
 * and m->usable = 1. The path comes from the snapshot: open only a regular file, without
 * blocking (a FIFO or a terminal named by a damaged or hostile snapshot would hang). */
/* A read-only descriptor of path if it is a regular file (opened without blocking), else -1. */
static int open_regular(const char *path) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0) return -1;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -1;
  }
  return fd;
}

static void probe_module(struct hsa_module *m) {
  int fd = open_regular(m->path);
  if (fd < 0) return;
  elf_version(EV_CURRENT);
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  if (elf && elf_kind(elf) == ELF_K_ELF) {
    elf_build_id(elf, m->build_id);
    m->usable = 1;
  }
  if (elf) elf_end(elf);
  close(fd);
}

/* Opens path with libdwfl and fills m->dwfl/mod/link_base/bias; leaves m->dwfl NULL on any
 * failure. */
static void open_module(struct hsa_module *m) {
  int fd = open_regular(m->path); /* see probe_module */
  if (fd < 0) return;
  Dwfl *dwfl = dwfl_begin(&offline_callbacks);
  if (!dwfl) {
    close(fd);
    return;
  }
  dwfl_report_begin(dwfl);
  /* on success dwfl owns fd (libdwfl.h: "FD is consumed by the library") */
  Dwfl_Module *mod = dwfl_report_offline(dwfl, m->path, m->path, fd);
  if (!mod) close(fd);
  dwfl_report_end(dwfl, NULL, NULL);
  Dwarf_Addr bias = 0;
  Elf *elf = mod ? dwfl_module_getelf(mod, &bias) : NULL;
  size_t nph = 0;
  if (!elf || elf_getphdrnum(elf, &nph) != 0) {
    dwfl_end(dwfl);
    return;
  }
  uint64_t lowest = UINT64_MAX;
  for (size_t i = 0; i < nph; i++) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < lowest)
      lowest = ph.p_vaddr;
  }
  if (lowest == UINT64_MAX) {
    dwfl_end(dwfl);
    return;
  }
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) page = 4096;
  m->link_base = lowest & ~((uint64_t)page - 1);
  m->dwfl = dwfl;
  m->mod = mod;
  m->bias = bias;
  char id[sizeof m->build_id];
  module_build_id(mod, id);
  if (strcmp(id, m->build_id) != 0) { /* changed between the two looks: trust neither */
    m->dwfl = NULL;
    dwfl_end(dwfl);
  }
}

static struct hsa_module *get_module(struct hsa_symbolizer *sym, const char *path) {
  struct hsa_module *m = NULL;
  HASH_FIND_STR(sym->modules, path, m);
  if (m) return m;
  m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->path = strdup(path);
  if (!m->path) {
    free(m);
    return NULL;
  }
  probe_module(m);
  if (m->usable && m->build_id[0]) m->cache = hsa_symcache_open(m->build_id);
  HASH_ADD_KEYPTR(hh, sym->modules, m->path, strlen(m->path), m);
  return m;
}

/* 1 if the open module m may be symbolized for a snapshot that recorded build_id (NULL or ""
 * for none); warns once per (module, recorded build-id) on a mismatch. */
static int build_id_ok(struct hsa_symbolizer *sym, struct hsa_module *m, const char *build_id,
                       const char *snapshot) {
  if (!build_id || !build_id[0]) return 1;
  struct hsa_expected_id *e;
  for (e = m->expected; e; e = e->next)
    if (strcmp(e->id, build_id) == 0) break;
  if (!e) {
    size_t n = strlen(build_id);
    e = calloc(1, sizeof *e + n + 1);
    if (!e) return 0; /* out of memory: do not risk a wrong answer */
    memcpy(e->id, build_id, n + 1);
    e->match = strcmp(m->build_id, build_id) == 0;
    e->next = m->expected;
    m->expected = e;
    if (!e->match) sym->mismatches++;
  }
  if (!e->match && !e->warned) {
    e->warned = 1;
    if (sym->warn)
      fprintf(sym->warn,
              "heapshape: warning: %s: %s has changed since the run (build-id %s, now %s); its "
              "frames are not symbolized\n",
              snapshot && snapshot[0] ? snapshot : "-", m->path, build_id,
              m->build_id[0] ? m->build_id : "none");
  }
  return e->match;
}

int hsa_symbolize(struct hsa_symbolizer *sym, const char *path, uint64_t addr,
                  struct hsa_symbol *out) {
  return hsa_symbolize_checked(sym, path, NULL, NULL, addr, out);
}

int hsa_file_build_id(const char *path, char *out, size_t outlen) {
  if (outlen) out[0] = '\0';
  struct hsa_module m;
  memset(&m, 0, sizeof m);
  m.path = (char *)path;
  probe_module(&m);
  if (!m.usable) return -1;
  size_t n = strlen(m.build_id);
  if (n < outlen) memcpy(out, m.build_id, n + 1);
  return n < outlen ? (int)n : -1;
}

int hsa_symbolize_checked(struct hsa_symbolizer *sym, const char *path, const char *build_id,
                          const char *snapshot, uint64_t addr, struct hsa_symbol *out) {
  memset(out, 0, sizeof *out);
  if (!sym || !path || !path[0]) return 0;
  struct hsa_module *m = get_module(sym, path);
  if (!m || !m->usable) return 0;
  if (!build_id_ok(sym, m, build_id, snapshot)) return 0;
  if (hsa_symcache_get(m->cache, addr, out)) return out->function || out->file;
  if (!m->dwfl_tried) {
    m->dwfl_tried = 1;
    open_module(m);
  }
  if (!m->dwfl) {
    hsa_symcache_put(m->cache, addr, out); /* nothing to find in this build of the module */
    return 0;
  }
  /* Native frames hold return addresses: look up the byte before, which lies inside the call
   * instruction (right even when the call is the last instruction of a noreturn path). */
  Dwarf_Addr a = addr + m->link_base + m->bias - (addr > 0 ? 1 : 0);
  const char *fn = dwfl_module_addrname(m->mod, a);
  if (fn && fn[0]) out->function = fn;
  Dwfl_Line *line = dwfl_module_getsrc(m->mod, a);
  if (line) {
    int lineno = 0;
    const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
    if (file && file[0]) {
      out->file = file;
      out->line = lineno;
    }
  }
  hsa_symcache_put(m->cache, addr, out);
  return out->function || out->file;
}
