/* heapshape analyzer: `heapshape run` (run.c; --repeat and --with-children in repeat.c). */
#ifndef HEAPSHAPE_ANALYZER_RUN_H
#define HEAPSHAPE_ANALYZER_RUN_H

#ifdef __cplusplus
extern "C" {
#endif

/* `heapshape run [-o PATH] [--frames N] ... -- COMMAND ARGS...`; argv[0] is "run". Returns the
 * child's exit status (128 + signal number if it was killed), or HSA_EXIT_USAGE. */
int hsa_cli_run(int argc, char **argv);

/* run --report: writes the HTML report of the snapshot at path next to it (.hsnap replaced by
 * .html) and prints where on stderr, or an error line. */
void hsa_run_write_report(const char *path);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_RUN_H */
