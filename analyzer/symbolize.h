/* heapshape analyzer: offline symbolization of native frames with elfutils libdwfl.
 *
 * A native frame stores the module path and an address relative to the start of the module's
 * mapping at file offset 0; the link-time address is that plus the module's lowest PT_LOAD
 * p_vaddr rounded down to the page size (docs/snapshot-format.md, FRMS). Modules are opened
 * once (dwfl_report_offline) and cached for the symbolizer's lifetime, including failures, so a
 * missing or foreign file is looked at only once. Symbolization is optional: callers that pass
 * no symbolizer print `module+0xADDR`. */
#ifndef HEAPSHAPE_ANALYZER_SYMBOLIZE_H
#define HEAPSHAPE_ANALYZER_SYMBOLIZE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hsa_symbolizer;

/* What is known about one address. Any field may be missing (NULL / 0). The strings belong to
 * the symbolizer and stay valid until hsa_symbolizer_free. */
struct hsa_symbol {
  const char *file; /* source file, NULL without line information */
  int line; /* source line, 0 if unknown */
  const char *function; /* symbol name (as in the ELF symbol table), NULL if unknown */
};

/* A new, empty symbolizer, or NULL if out of memory. */
struct hsa_symbolizer *hsa_symbolizer_new(void);

/* Frees the symbolizer and every module it opened. NULL is a no-op. */
void hsa_symbolizer_free(struct hsa_symbolizer *sym);

/* Looks up addr (relative to the module's mapping at file offset 0) in the module at path.
 * Returns 1 and fills *out if anything was found (a function name or a source line), 0 if not
 * (module missing, not ELF, no symbols); never fails otherwise. */
int hsa_symbolize(struct hsa_symbolizer *sym, const char *path, uint64_t addr,
                  struct hsa_symbol *out);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_SYMBOLIZE_H */
