/* heapshape: the command-line tool. Everything is in the analyzer library (cli.c). */
#include "analyzer/cli.h"

int main(int argc, char **argv) { return hsa_cli_main(argc, argv); }
