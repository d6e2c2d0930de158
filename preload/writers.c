/* heapshape: which processes write snapshots.
 *
 * A profiler that follows a whole process tree must not drown the user in copies of the
 * interpreter's start-up: a Python process holds 1.2-2 MB right after start-up and writes a
 * 0.4-2 MB snapshot of it, and a test suite or a process pool starts hundreds of them (CPython's
 * regression run of issue 19 wrote 3.0-3.4 GB per interpreter before 2026-12-04). So:
 *
 * - The root, the program `heapshape run` started (HEAPSHAPE_ROOT_PID) or the process that
 *   HEAPSHAPE_OUTPUT names (by hand: the first process of the tree with the variable and the
 *   shim, root_process.c), always writes its exit snapshot. Without either, the first process
 *   of the tree (root_process.c: found from HEAPSHAPE_DIR or LD_PRELOAD) writes when it ran
 *   Python or held 1 MiB: with the shim preloaded in a shell, `true` writes nothing.
 * - HEAPSHAPE_CHILDREN=all (`run --all-children`) asks for every process, and
 *   HEAPSHAPE_CHILDREN=none for the root alone (periodic and exit snapshots).
 * - A forked child that tried to exec (execve and its relatives are interposed to note it)
 *   writes nothing, whatever the settings: on success its image is replaced (the new program
 *   has its own shim), and on failure it only reports the error and _exits (CPython 3.8's
 *   subprocess does that in the forked child: every failed Popen wrote a full copy of the
 *   parent's tables, 2,077 snapshots and 4.7 GB for test_subprocess).
 * - Any other child writes only when it did work of its own: its live heap rose HS_GROWTH
 *   (1 MiB) above its level at its start, at some point (measured at every peak check, so
 *   within 64 KiB per thread). Its start is the fork for a forked child that did not exec (a
 *   multiprocessing fork worker, a child leaving with os._exit: it starts with a copy of its
 *   parent's tables), and the end of the interpreter's start-up for a process that runs Python
 *   (`python -c ...` helpers, spawn and forkserver workers, regrtest's workers): what the
 *   interpreter holds after start-up is the same in every such process. A fork worker running
 *   a trivial target adds about 100 KB and writes nothing; `python -c pass` nothing; what a
 *   child imports counts (a spawn worker or multiprocessing's resource tracker imports 2-3 MB
 *   of modules and writes), as does a regrtest worker running a test file.
 * - A process that never ran Python (sh, true, timeout, a C tool) writes when it held 1 MiB.
 * - The children that write by these rules share a disk budget per run (child_budget.c,
 *   HEAPSHAPE_CHILD_BUDGET, 128 MiB by default).
 * Periodic snapshots (--interval) follow the same rule at the time they are due; snapshots
 * asked for by the signal or the API are always written. Each snapshot records which rule made
 * its process write (META.writer; `heapshape info` prints it as "written because").
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/core.h"

#define HS_GROWTH (1 << 20)

/* Caller holds hs_lock, with the thread totals merged into hs_tot. */
uint32_t hs_proc_rule_locked(void) {
  if (hs_proc.forked && hs_proc.exec_tried) return 0;
  /* a root found from HEAPSHAPE_DIR or LD_PRELOAD alone (a shell with the shim preloaded runs
   * every command as a root) writes only when it ran Python or held 1 MiB */
  if (hs_proc.root_pid && hs_proc.pid == hs_proc.root_pid &&
      (!hs_proc.root_inferred || (hs_py_hooked && !hs_py_pending) ||
       hs_tot.peak_live_bytes >= HS_GROWTH))
    return HS_WRITER_ROOT;
  if (hs_proc.all_children) return HS_WRITER_ALL;
  if (hs_proc.no_children) return 0;
  if (hs_proc.has_base) {
    int64_t live = (int64_t)hs_tot.live_bytes, high = (int64_t)hs_proc.base_high;
    if ((live > high ? live : high) - (int64_t)hs_proc.base_live >= HS_GROWTH)
      return hs_proc.forked ? HS_WRITER_FORK_GREW : HS_WRITER_PY_GREW;
    return 0;
  }
  if (hs_py_hooked && !hs_py_pending) return 0; /* Python, start-up level not seen yet */
  return hs_tot.peak_live_bytes >= HS_GROWTH ? HS_WRITER_HELD : 0;
}

uint32_t hs_proc_writes(void) {
  hs_lock_acquire();
  hs_stats_merge();
  uint32_t rule = hs_proc_rule_locked();
  hs_lock_release();
  /* the children that did work share a disk budget (child_budget.c) */
  if ((rule == HS_WRITER_PY_GREW || rule == HS_WRITER_FORK_GREW || rule == HS_WRITER_HELD) &&
      !hs_budget_allows())
    return 0;
  return rule;
}

/* The exit snapshot of this process, when the rules above let it write. A root started by
 * hand (no `heapshape run` to read and delete the children's ledger) deletes the ledger after
 * it: children that outlive it start a new one. */
void hs_exit_write(void) {
  if (hs_proc_writes()) hs_snapshot_write(NULL, HS_REASON_EXIT);
  hs_budget_close(); /* child_budget.c */
}

/* The start of a child's own work: the fork (atfork child handler), or the end of the
 * interpreter's start-up (pyhooks.c) in a process that did not fork from a tracked one. */
void hs_proc_mark_base(int at_fork) {
  if (!at_fork && hs_proc.has_base) return;
  hs_proc.base_live = hs_proc.base_high = hs_live_now();
  hs_proc.has_base = 1;
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
