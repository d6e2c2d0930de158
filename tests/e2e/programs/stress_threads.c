/* 8 threads x 2,000,000 malloc/free pairs; every 1000th block of each thread is kept, at one
 * line (test_stress). Prints the kept count. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 8
#define N 2000000
static void *kept[THREADS][N / 1000];

static void *work(void *arg) {
  long t = (long)arg;
  for (long i = 0; i < N; i++) {
    void *p = malloc(32 + (size_t)(i % 8) * 16); /* STRESS */
    if (i % 1000 == 0) kept[t][i / 1000] = p;
    else free(p);
  }
  return NULL;
}

int main(void) {
  pthread_t th[THREADS];
  for (long t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, work, (void *)t);
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  long n = 0;
  for (int t = 0; t < THREADS; t++)
    for (int k = 0; k < N / 1000; k++) n += kept[t][k] != NULL;
  printf("%ld\n", n);
  return 0;
}
