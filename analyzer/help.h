/* heapshape analyzer: help texts of the CLI (help.c). Every command answers -h and --help
 * (before a "--"; for run, before COMMAND) and `heapshape help COMMAND` with its usage, every
 * option it accepts and one example, on stdout, exit status 0. */
#ifndef HEAPSHAPE_ANALYZER_HELP_H
#define HEAPSHAPE_ANALYZER_HELP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The general help: every command with every option. */
const char *hsa_help_general(void);

/* The help of one command, or NULL if there is no such command. */
const char *hsa_help_text(const char *command);

/* The i-th command that has a help text, or NULL past the last. */
const char *hsa_help_command_name(size_t i);

/* Nonzero if argv[1..argc) (the arguments of command) ask for help. */
int hsa_help_wanted(const char *command, int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ANALYZER_HELP_H */
