/* A reference tracer of the tests' own, for tests/e2e/test_reftracer_chain.py (3.13+):
 * ht_install() installs one that counts CREATE and DESTROY events (and 3.15's
 * TRACKER_REMOVED) through PyRefTracer_SetTracer, ht_remove() sets none, ht_current() says what
 * PyRefTracer_GetTracer answers (1: this one with its data, 0: none, -1: another). Loaded with
 * ctypes.PyDLL (the GIL held); the Py* functions are looked up at run time, so it links against
 * nothing: under the shim with a shared libpython they are the shim's (the program's own call
 * that heapshape chains). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef int (*tracer_t)(void *op, int event, void *data);

static long creates, destroys, removed, bad_data;
static int marker; /* the data pointer the tracer is installed with */

static int counting(void *op, int event, void *data) {
  (void)op;
  if (data != &marker) bad_data++;
  if (event == 0)
    creates++;
  else if (event == 1)
    destroys++;
  else
    removed++;
  return 0;
}

static int set(tracer_t t, void *data) {
  int (*f)(tracer_t, void *) = (int (*)(tracer_t, void *))dlsym(RTLD_DEFAULT, "PyRefTracer_SetTracer");
  return f ? f(t, data) : -2;
}

int ht_install(void) { return set(counting, &marker); }
int ht_remove(void) { return set(NULL, NULL); }

int ht_current(void) {
  tracer_t (*g)(void **) = (tracer_t(*)(void **))dlsym(RTLD_DEFAULT, "PyRefTracer_GetTracer");
  if (!g) return -2;
  void *data = NULL;
  tracer_t t = g(&data);
  if (!t) return 0;
  return t == counting && data == &marker ? 1 : -1;
}

long ht_creates(void) { return creates; }
long ht_destroys(void) { return destroys; }
long ht_removed(void) { return removed; }
long ht_bad_data(void) { return bad_data; }
