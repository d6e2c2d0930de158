/* heapshape analyzer: the per-user cache of native symbolization (issue 18), used by
 * symbolize.c. One file per module build-id, so a rebuilt or upgraded module (a new build-id)
 * never reads another's entries:
 *
 *   DIR/symbols/<build-id>.syms   "heapshape-symbols 1\n", then one line per address looked up:
 *                                 ADDR(hex, as the frame stores it) TAB LINE TAB FUNCTION TAB
 *                                 FILE NEWLINE (empty fields: nothing found)
 *
 * DIR is $HEAPSHAPE_CACHE_DIR, else $XDG_CACHE_HOME/heapshape, else $HOME/.cache/heapshape;
 * HEAPSHAPE_SYMBOL_CACHE=0 turns the cache off. New entries are appended when the symbolizer
 * is freed, with one write(2) of whole lines on an O_APPEND file, so concurrent commands at
 * worst add a line twice; a line without its newline (a write cut short) is ignored, and so
 * is a file that is not a regular file, larger than 64 MiB or without the header. Modules
 * without a build-id are not cached. `--no-symbols` never creates a symbolizer, so it never
 * reads or writes the cache. */
#ifndef HEAPSHAPE_ANALYZER_SYMBOL_CACHE_H
#define HEAPSHAPE_ANALYZER_SYMBOL_CACHE_H

#include <stdint.h>

#include "analyzer/symbolize.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hsa_symcache;

/* The cache of the module with this build-id (lowercase hex), its file read if present; NULL
 * when the cache is off or out of memory (the symbolizer then works without it). */
struct hsa_symcache *hsa_symcache_open(const char *build_id);

/* 1 and *out filled (fields may all be empty: looked up before, nothing found) if addr is
 * cached; 0 if not. Strings stay valid until hsa_symcache_close. */
int hsa_symcache_get(struct hsa_symcache *c, uint64_t addr, struct hsa_symbol *out);

/* Remembers what was found for addr (copied); written out by hsa_symcache_close. */
void hsa_symcache_put(struct hsa_symcache *c, uint64_t addr, const struct hsa_symbol *sym);

/* Appends the new entries to the file (creating DIR/symbols as needed) and frees c. */
void hsa_symcache_close(struct hsa_symcache *c);

/* The file that holds build_id's entries into out; 0, or -1 when the cache is off. */
int hsa_symcache_path(const char *build_id, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_SYMBOL_CACHE_H */
