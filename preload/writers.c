/* heapshape: which processes write snapshots.
 *
 * - The program `heapshape run` started (HEAPSHAPE_ROOT_PID) always writes its exit snapshot.
 * - Any other process (a child under `heapshape run` or the pytest plugin, every process of
 *   plain LD_PRELOAD use with HEAPSHAPE_DIR) writes only when it ran Python (the interpreter
 *   initialized with the hooks in) or held 1 MiB of live heap at some point: the shells, `true`,
 *   `timeout` and build tools a program starts leave nothing. HEAPSHAPE_CHILDREN=all
 *   (`run --all-children`) asks for every process.
 * - A forked child that tried to exec (execve and its relatives are interposed to note it)
 *   writes nothing, whatever the settings: on success its image is replaced (the new program
 *   has its own shim), and on failure it only reports the error and _exits (CPython 3.8's
 *   subprocess does that in the forked child: every failed Popen wrote a full copy of the
 *   parent's tables, 2,077 snapshots and 4.7 GB for test_subprocess).
 * - A forked child that did not exec (a multiprocessing worker, a child leaving with
 *   os._exit) starts with a copy of its parent's tables, so a snapshot of it is mostly the
 *   parent's memory: it writes only when its live heap rose HS_FORK_GROWTH above what it was
 *   at the fork at some point (measured at every peak check, so within 64 KiB). A
 *   multiprocessing worker running a trivial target adds about 100 KB (measured on 3.11 and
 *   3.13); one that does real work holds more. Before 2026-12-03 every such child wrote (it
 *   had run Python): test_multiprocessing_fork left 439-539 snapshots, 1.3 GB.
 * Periodic snapshots (--interval) follow the same rule at the time they are due; snapshots
 * asked for by the signal or the API are always written.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/core.h"

#define HS_FORK_GROWTH (256 << 10)

int hs_proc_writes(void) {
  if (hs_proc.forked && hs_proc.exec_tried) return 0;
  if (hs_proc.all_children) return 1;
  if (hs_proc.root_pid && hs_proc.pid == hs_proc.root_pid) return 1;
  if (hs_proc.forked) {
    hs_lock_acquire();
    hs_stats_merge();
    int64_t live = (int64_t)hs_tot.live_bytes, high = (int64_t)hs_proc.fork_high;
    hs_lock_release();
    return (live > high ? live : high) - (int64_t)hs_proc.fork_live >= HS_FORK_GROWTH;
  }
  if (hs_py_hooked && !hs_py_pending) return 1;
  hs_lock_acquire();
  hs_stats_merge();
  uint64_t peak = hs_tot.peak_live_bytes;
  hs_lock_release();
  return peak >= (1u << 20);
}

/* The exec family: note the attempt and go on (the real function from the next object). */
/* Not in a vfork child, which shares the parent's memory (its pid differs from hs_proc.pid):
 * the note would be the parent's. */
#define HS_EXEC_NOTE()                                                    \
  do {                                                                    \
    if ((int)syscall(SYS_getpid) == hs_proc.pid) hs_proc.exec_tried = 1;  \
  } while (0)
#define HS_NEXT(type, name) ((type)dlsym(RTLD_NEXT, name))

__attribute__((visibility("default"))) int execve(const char *path, char *const argv[],
                                                  char *const envp[]) {
  HS_EXEC_NOTE();
  return HS_NEXT(int (*)(const char *, char *const[], char *const[]), "execve")(path, argv, envp);
}

__attribute__((visibility("default"))) int execv(const char *path, char *const argv[]) {
  HS_EXEC_NOTE();
  return HS_NEXT(int (*)(const char *, char *const[]), "execv")(path, argv);
}

__attribute__((visibility("default"))) int execvp(const char *file, char *const argv[]) {
  HS_EXEC_NOTE();
  return HS_NEXT(int (*)(const char *, char *const[]), "execvp")(file, argv);
}

__attribute__((visibility("default"))) int execvpe(const char *file, char *const argv[],
                                                   char *const envp[]) {
  HS_EXEC_NOTE();
  return HS_NEXT(int (*)(const char *, char *const[], char *const[]), "execvpe")(file, argv, envp);
}

__attribute__((visibility("default"))) int fexecve(int fd, char *const argv[], char *const envp[]) {
  HS_EXEC_NOTE();
  return HS_NEXT(int (*)(int, char *const[], char *const[]), "fexecve")(fd, argv, envp);
}
