/* heapshape: the command-line tool. Everything is in the analyzer library (cli.c). */
#include "analyzer/build_stamp.h"
#include "analyzer/cli.h"

int main(int argc, char **argv) {
  hsa_build_check(argv); /* only when run by a checkout's ./heapshape wrapper */
  return hsa_cli_main(argc, argv);
}
