/* heapshape analyzer: the `heapshape` command line (stats, diff, info, run, help, --version).
 * main.c only calls hsa_cli_main; `run` lives in run.c.
 *
 * Exit status: 0 on success; 2 for bad input (unknown command, bad option, missing or corrupt
 * file), after one line on stderr starting "heapshape: error: "; `run` returns the child's
 * status (128 + signal number if it was killed). */
#ifndef HEAPSHAPE_ANALYZER_CLI_H
#define HEAPSHAPE_ANALYZER_CLI_H

#ifdef __cplusplus
extern "C" {
#endif

#define HSA_VERSION "0.1.0"
#define HSA_EXIT_USAGE 2

int hsa_cli_main(int argc, char **argv);

/* `heapshape run [-o PATH] [--frames N] -- COMMAND ARGS...`; argv[0] is "run". */
int hsa_cli_run(int argc, char **argv);

/* Prints "heapshape: error: <message>\n" to stderr and returns HSA_EXIT_USAGE. */
int hsa_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_CLI_H */
