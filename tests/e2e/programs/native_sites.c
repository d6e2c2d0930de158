/* A C program (no Python) with known malloc-family calls; each call site is on a line marked
 * SITE-<name> so the test can find it. Expected live bytes at exit per site:
 *   malloc:   10 blocks x 100 bytes kept (10 more allocated and freed)
 *   calloc:    3 blocks x (7 x 1000) bytes
 *   realloc:   1 block of 4096 bytes (grown from 16 by successive reallocs here)
 *   memalign:  5 blocks x 200 bytes (posix_memalign, alignment 64)
 *   aligned:   2 blocks x 128 bytes (aligned_alloc)
 *   strdup:    1 block of 12 bytes ("hello world" + NUL), attributed to its caller inside libc
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *keep[64];
static int nkeep;

__attribute__((noinline)) static void do_malloc(void) {
  for (int i = 0; i < 20; i++) {
    void *p = malloc(100); /* SITE-malloc */
    if (i % 2) free(p); else keep[nkeep++] = p;
  }
}

__attribute__((noinline)) static void do_calloc(void) {
  for (int i = 0; i < 3; i++) keep[nkeep++] = calloc(7, 1000); /* SITE-calloc */
}

__attribute__((noinline)) static void do_realloc(void) {
  void *p = NULL;
  for (size_t n = 16; n <= 4096; n *= 2) p = realloc(p, n); /* SITE-realloc */
  keep[nkeep++] = p;
}

__attribute__((noinline)) static void do_memalign(void) {
  for (int i = 0; i < 5; i++) {
    void *p = NULL;
    if (posix_memalign(&p, 64, 200) == 0) keep[nkeep++] = p; /* SITE-memalign */
  }
  for (int i = 0; i < 2; i++) keep[nkeep++] = aligned_alloc(64, 128); /* SITE-aligned */
}

__attribute__((noinline)) static void do_strdup(void) {
  keep[nkeep++] = strdup("hello world"); /* SITE-strdup */
}

int main(void) {
  do_malloc();
  do_calloc();
  do_realloc();
  do_memalign();
  do_strdup();
  printf("kept %d blocks\n", nkeep);
  return 0;
}
