/* heapshape analyzer: offline symbolization of native frames with elfutils libdwfl.
 *
 * A native frame stores the module path and an address relative to the start of the module's
 * mapping at file offset 0; the link-time address is that plus the module's lowest PT_LOAD
 * p_vaddr rounded down to the page size (docs/snapshot-format.md, FRMS). Modules are opened
 * once (dwfl_report_offline) and cached for the symbolizer's lifetime, including failures, so a
 * missing or foreign file is looked at only once. Symbolization is optional: callers that pass
 * no symbolizer print `module+0xADDR`.
 *
 * Build-ids (format v4, MODS): when the snapshot recorded a GNU build-id for a module, the
 * module file is used only if its own build-id (dwfl_module_build_id) is the same, so a library
 * rebuilt or upgraded since the run is not misread; its frames then stay unresolved. The verdict
 * is cached per (module, recorded build-id), and each mismatch is reported once, as
 *   heapshape: warning: FILE: MODULE has changed since the run (build-id X, now Y); its frames
 *   are not symbolized
 * on the stream set with hsa_symbolizer_set_warnings (none by default; the CLI uses stderr). */
#ifndef HEAPSHAPE_ANALYZER_SYMBOLIZE_H
#define HEAPSHAPE_ANALYZER_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hsa_symbolizer;

/* Longest build-id handled, in bytes (the shim records at most 64). */
#define HSA_BUILD_ID_MAX 64

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

/* Same, for a frame of a snapshot (named snapshot, for the warning) that recorded build_id
 * (lowercase hex; NULL or "" when none was recorded) for the module: returns 0 without
 * looking anything up when the file's build-id differs. */
int hsa_symbolize_checked(struct hsa_symbolizer *sym, const char *path, const char *build_id,
                          const char *snapshot, uint64_t addr, struct hsa_symbol *out);

/* Where mismatch warnings go (NULL: nowhere, the default). */
void hsa_symbolizer_set_warnings(struct hsa_symbolizer *sym, FILE *f);

/* Number of (module, recorded build-id) pairs found not to match so far. */
unsigned hsa_symbolizer_mismatches(const struct hsa_symbolizer *sym);

/* The GNU build-id of the ELF file at path as lowercase hex into out (outlen bytes, at least
 * 2 * HSA_BUILD_ID_MAX + 1 to be safe), read the way the symbolizer reads it. Returns its
 * length in characters (0 and "" when the file has none), or -1 if the file cannot be opened
 * as ELF or out is too small. */
int hsa_file_build_id(const char *path, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_SYMBOLIZE_H */
