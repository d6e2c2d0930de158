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

/* Per-test high-water mark (pytest-memray's limit_memory measure). heapshape_peak_reset()
 * opens a window: from then on, the bytes held by blocks allocated since the reset are
 * counted, and their highest value is kept (exact at every allocation, in every thread;
 * freeing a block older than the reset changes nothing). heapshape_peak_get() reads that
 * high-water mark and the bytes those blocks hold now (either pointer may be NULL);
 * heapshape_peak_stop() closes the window (counting costs an atomic addition per allocation
 * while it is open). All return 0, or -1 with errno ENODEV when tracking is off. */
int heapshape_peak_reset(void);
int heapshape_peak_get(unsigned long long *peak, unsigned long long *current);
int heapshape_peak_stop(void);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_HEAPSHAPE_H */
