/* 8 threads allocating and freeing at once; prints a checksum that does not depend on timing.
 * Each thread keeps 1000 blocks of 48 bytes alive at the end (8,000 in all, 384,000 bytes). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define ROUNDS 200000
#define KEEP 1000

static void *work(void *arg) {
  uintptr_t id = (uintptr_t)arg;
  unsigned seed = (unsigned)id * 2654435761u;
  void *slots[64] = {0};
  uint64_t sum = 0;
  for (int i = 0; i < ROUNDS; i++) {
    seed = seed * 1103515245u + 12345u;
    int s = (int)((seed >> 16) % 64);
    size_t n = 1 + (seed >> 8) % 512;
    free(slots[s]);
    slots[s] = malloc(n);
    memset(slots[s], (int)(n & 0xff), n);
    sum += ((unsigned char *)slots[s])[n - 1];
  }
  for (int s = 0; s < 64; s++) free(slots[s]);
  void **kept = malloc(KEEP * sizeof(void *));
  for (int i = 0; i < KEEP; i++) kept[i] = malloc(48);
  return (void *)(uintptr_t)sum;
}

int main(void) {
  pthread_t t[THREADS];
  for (uintptr_t i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, work, (void *)i);
  uint64_t total = 0;
  for (int i = 0; i < THREADS; i++) {
    void *r;
    pthread_join(t[i], &r);
    total += (uintptr_t)r;
  }
  printf("checksum %llu\n", (unsigned long long)total);
  return 0;
}
