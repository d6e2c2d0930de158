/* heapshape analyzer: error reporting of the commands (see errors.h). */
#include "analyzer/errors.h"

#include <stdarg.h>
#include <stdio.h>

int hsa_cli_error(const char *fmt, ...) {
  va_list ap;
  fputs("heapshape: error: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return HSA_EXIT_USAGE;
}
