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

/* Partial per-test snapshots (docs/snapshot-format.md, PART). heapshape_mark() remembers
 * every allocation site's counters (the start of a test); heapshape_snapshot_since_mark(path,
 * mark_path) then writes to path a snapshot of only the sites that allocated or freed since
 * the mark (plus the other sites of their lines), as they are now, and, when mark_path is not
 * NULL, to mark_path the same sites as they were at the mark: `heapshape diff mark_path path`
 * gives for those lines what two full snapshots would. No anatomy. Both return 0, or -1 with
 * errno (ENODEV: tracking is off; EINVAL: no mark yet, or path NULL; ENOMEM; a file error).
 * Call them with the GIL held or from a thread that is not inside an allocation. */
int heapshape_mark(void);
int heapshape_snapshot_since_mark(const char *path, const char *mark_path);

/* Sampled mode (HEAPSHAPE_SAMPLE_RATE) records about one allocation per that many bytes;
 * heapshape_exact(1) makes it record every allocation, in every thread, until
 * heapshape_exact(0). Blocks recorded then count as themselves in the estimates (weight 1),
 * which stay unbiased. A per-test window (heapshape_peak_reset() to heapshape_peak_stop())
 * records every allocation too, so its peak is exact in sampled mode as well. Returns 1 in
 * sampled mode, 0 when every allocation is recorded anyway, -1 with errno ENODEV when tracking
 * is off. */
int heapshape_exact(int on);

/* With HEAPSHAPE_PYTHON_ALLOCATORS=untraced the shim puts no hooks on Python's MEM and OBJ
 * allocators (pymalloc's small objects are seen only as the arenas that hold them, in the RAW
 * domain, as pytest-memray's default sees them) and re-attributes nothing. This switches to
 * the usual tracing for the rest of the process, once and for good: the arenas recorded so
 * far are counted as freed (blocks allocated in them from now on are recorded by themselves)
 * and no new arena is recorded. Call it with the GIL held. Returns 1 when it switched, 0 when
 * the Python allocators were traced already, -1 with errno ENODEV (tracking is off) or EPERM
 * (the calling thread does not hold the GIL). */
int heapshape_trace_python_allocators(void);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_HEAPSHAPE_H */
