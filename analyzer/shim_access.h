/* heapshape analyzer: a shim path every user can load (shim_access.c). */
#ifndef HEAPSHAPE_ANALYZER_SHIM_ACCESS_H
#define HEAPSHAPE_ANALYZER_SHIM_ACCESS_H

#include <stddef.h>

/* Writes to out a path of the shim that every user can read: shim itself when it is, else a
 * copy in a directory of the caller's own under /tmp. Falls back to shim (0 either way). */
int hsa_shim_for_all_users(const char *shim, char *out, size_t outlen);

#endif
