/* heapshape analyzer: native frame symbolization with libdwfl (see symbolize.h).
 * One Dwfl session per module, so modules reported offline at their link-time addresses never
 * overlap each other. */
#include "analyzer/symbolize.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <uthash.h>

struct hsa_module {
  char *path; /* hash key */
  Dwfl *dwfl; /* NULL if the module could not be opened */
  Dwfl_Module *mod;
  uint64_t link_base; /* lowest PT_LOAD p_vaddr rounded down to the page size */
  Dwarf_Addr bias; /* dwfl address = link-time address + bias */
  UT_hash_handle hh;
};

struct hsa_symbolizer {
  struct hsa_module *modules;
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
    if (m->dwfl) dwfl_end(m->dwfl);
    free(m->path);
    free(m);
  }
  free(sym);
}

/* Opens path with libdwfl and fills m->dwfl/mod/link_base/bias; leaves m->dwfl NULL on any
 * failure. */
static void open_module(struct hsa_module *m) {
  Dwfl *dwfl = dwfl_begin(&offline_callbacks);
  if (!dwfl) return;
  dwfl_report_begin(dwfl);
  Dwfl_Module *mod = dwfl_report_offline(dwfl, m->path, m->path, -1);
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
}

int hsa_symbolize(struct hsa_symbolizer *sym, const char *path, uint64_t addr,
                  struct hsa_symbol *out) {
  memset(out, 0, sizeof *out);
  if (!sym || !path || !path[0]) return 0;
  struct hsa_module *m = NULL;
  HASH_FIND_STR(sym->modules, path, m);
  if (!m) {
    m = calloc(1, sizeof *m);
    if (!m) return 0;
    m->path = strdup(path);
    if (!m->path) {
      free(m);
      return 0;
    }
    open_module(m);
    HASH_ADD_KEYPTR(hh, sym->modules, m->path, strlen(m->path), m);
  }
  if (!m->dwfl) return 0;
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
  return out->function || out->file;
}
