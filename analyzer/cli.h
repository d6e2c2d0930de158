/* heapshape analyzer: the `heapshape` command line (stats, diff, info, run, help, --version).
 * main.c only calls hsa_cli_main; `run` lives in run.c.
 *
 * Exit status: 0 on success; 2 for bad input (unknown command, bad option, missing or corrupt
 * file), after one line on stderr starting "heapshape: error: "; `run` returns the child's
 * status (128 + signal number if it was killed). */
#ifndef HEAPSHAPE_ANALYZER_CLI_H
#define HEAPSHAPE_ANALYZER_CLI_H

#include "analyzer/errors.h" /* HSA_EXIT_USAGE, hsa_cli_error */
#include "analyzer/run.h"    /* hsa_cli_run */

#ifdef __cplusplus
extern "C" {
#endif

int hsa_cli_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_CLI_H */
