/* A known call tree for --native: main -> left -> leaf and main -> right -> leaf, each path
 * keeping a different number of 1000-byte blocks alive:
 *   main -> left  -> leaf : 3 blocks (3000 bytes)
 *   main -> right -> leaf : 5 blocks (5000 bytes)
 * Lines marked CALL-<name> are where each function calls the next one. */
#include <stdio.h>
#include <stdlib.h>

static void *keep[16];
static int nkeep;

__attribute__((noinline)) static void leaf(void) {
  keep[nkeep++] = malloc(1000); /* CALL-malloc */
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void left(void) {
  for (int i = 0; i < 3; i++) leaf(); /* CALL-left */
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void right(void) {
  for (int i = 0; i < 5; i++) leaf(); /* CALL-right */
  __asm__ volatile("" ::: "memory");
}

int main(void) {
  left(); /* CALL-main-left */
  right(); /* CALL-main-right */
  printf("kept %d\n", nkeep);
  return 0;
}
