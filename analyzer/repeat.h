/* heapshape analyzer: `heapshape run --repeat N` and `heapshape run --with-children`.
 *
 *   --with-children  after the run, the snapshots of the processes the program started (fork,
 *                    exec, multiprocessing; found by following META parent pids from the root
 *                    process among the exit snapshots that appeared during the run) are added to
 *                    the root's (merge --sum) and the sum is written to the -o path. Every
 *                    per-process snapshot stays: the root's is renamed to
 *                    heapshape-<program>-<pid>.hsnap next to its children's, and the merged
 *                    file's command line lists them all.
 *   --repeat N       runs the command N times (-o P gives P.run1.hsnap ... P.runN.hsnap, with
 *                    --with-children each one the sum of that run's processes) and writes their
 *                    median (merge --median) to P, default heapshape-<program>.hsnap. Stops at
 *                    the first run that exits non-zero and returns its status.
 */
#ifndef HEAPSHAPE_ANALYZER_REPEAT_H
#define HEAPSHAPE_ANALYZER_REPEAT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Called by hsa_cli_run when it sees --repeat or --with-children; argv[0] is "run". */
int hsa_run_multi(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_REPEAT_H */
