/* heapshape public C API, exported by libheapshape.so (the preloaded shim).
 *
 * From Python:  ctypes.CDLL(None).heapshape_snapshot(b"/tmp/x.hsnap")
 * The symbol exists only when the program runs under `heapshape run` (or with
 * LD_PRELOAD=libheapshape.so); look it up with dlsym and treat absence as "not profiled".
 */
#ifndef HEAPSHAPE_HEAPSHAPE_H
#define HEAPSHAPE_HEAPSHAPE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a snapshot of the memory live now. path NULL or "" picks the default name
 * (heapshape-<program>-<pid>.<seq>.hsnap in the start-up working directory, or next to the
 * HEAPSHAPE_OUTPUT path). Returns 0 on success, -1 on failure (errno set); never aborts.
 * Call it with the GIL held or from a thread that is not inside an allocation. */
int heapshape_snapshot(const char *path);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_HEAPSHAPE_H */
