/* heapshape analyzer: how commands report bad input. One line on stderr,
 * "heapshape: error: <what is wrong, in which file, what to do>", and exit status 2
 * (HSA_EXIT_USAGE). Used by every command (cli.c, run.c, check.c, advise.c, ...), so that no
 * command depends on the command-line front end. */
#ifndef HEAPSHAPE_ANALYZER_ERRORS_H
#define HEAPSHAPE_ANALYZER_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

#define HSA_EXIT_USAGE 2

/* Prints "heapshape: error: <message>\n" to stderr and returns HSA_EXIT_USAGE. */
int hsa_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_ERRORS_H */
