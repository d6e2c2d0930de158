/* heapshape fuzzing: every analyzer command, in-process, on the input. The input (CRC fixed,
 * fuzz_harness.h) is written to a file in a private temporary directory and hsa_cli_main runs
 * info, stats (every key, --peak, filters, json), diff, anatomy, advise, sizes, timeline,
 * check (every format, snapshot and baseline as the baseline), baseline save, merge, export
 * (every format) and report (one snapshot, and a diff) on it,
 * as `heapshape COMMAND ...` would. Every command must return 0, 1 (check: a regression) or 2
 * (bad input), never crash; stdout goes to /dev/null. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/cli.h"
#include "tests/fuzz/fuzz_harness.h"

static char dir[64], in_path[96], base_path[96], merged_path[96], out_path[96];

/* F: the input, B: a baseline file, M: merge output, O: check report. NULL ends a command. */
static const char *const commands[][16] = {
    {"info", "F"},
    {"stats", "F", "--no-symbols"},
    {"stats", "F", "--no-symbols", "--key", "traceback", "--format", "json", "--limit", "0"},
    {"stats", "F", "--no-symbols", "--key", "type"},
    {"stats", "F", "--no-symbols", "--key", "filename", "--peak"},
    {"stats", "F", "--no-symbols", "--domain", "python", "--include", "*.py", "--exclude", "<*"},
    {"diff", "F", "F", "--no-symbols", "--key", "traceback"},
    {"anatomy", "F", "--no-symbols"},
    {"anatomy", "F", "--no-symbols", "--format", "json", "--limit", "0"},
    {"advise", "F"},
    {"advise", "F", "F", "--min-objects", "1", "--format", "json"},
    {"advise", "F", "--min-objects", "1", "--ram", "1G", "--format", "markdown"},
    {"sizes", "F"},
    {"sizes", "F", "--format", "json"},
    {"timeline", "F", "--no-symbols"},
    {"timeline", "F", "--no-symbols", "--format", "json"},
    {"timeline", "F", "--no-symbols", "--width", "1"},
    {"check", "F", "F", "--no-symbols", "--max-increase", "1", "--max-peak", "5%",
     "--site-max-increase", "10", "--site-floor", "0"},
    {"check", "F", "F", "--no-symbols", "--max-total", "1K", "--format", "junit", "-o", "O"},
    {"check", "F", "F", "--no-symbols", "--max-peak", "1M", "--format", "markdown"},
    {"baseline", "save", "F", "--to", "B", "--no-symbols"},
    {"check", "B", "F", "--no-symbols", "--format", "json"},
    {"merge", "--sum", "F", "F", "-o", "M"},
    {"merge", "--median", "F", "F", "F", "-o", "M"},
    {"info", "M"},
    {"export", "F", "--format", "pprof", "-o", "O", "--no-symbols"},
    {"export", "F", "--format", "speedscope", "-o", "O", "--no-symbols", "--peak"},
    {"export", "F", "--format", "collapsed", "-o", "O", "--no-symbols"},
    {"export", "F", "--format", "csv", "-o", "O", "--no-symbols"},
    {"report", "F", "-o", "O"},
    {"report", "F", "F", "-o", "O"},
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  snprintf(dir, sizeof dir, "%s/hsfuzz-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(dir)) {
    perror("fuzz_commands: mkdtemp");
    abort();
  }
  snprintf(in_path, sizeof in_path, "%s/in.hsnap", dir);
  snprintf(base_path, sizeof base_path, "%s/base.txt", dir);
  snprintf(merged_path, sizeof merged_path, "%s/merged.hsnap", dir);
  snprintf(out_path, sizeof out_path, "%s/report.out", dir);
  if (!freopen("/dev/null", "w", stdout)) abort();
  return 0;
}

static void cleanup(void) {
  unlink(in_path);
  unlink(base_path);
  unlink(merged_path);
  unlink(out_path);
  rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    LLVMFuzzerInitialize(NULL, NULL);
    atexit(cleanup);
  }
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  memcpy(copy, data, size);
  hs_fuzz_fix_crc(copy, size);
  FILE *f = fopen(in_path, "wb");
  if (!f || fwrite(copy, 1, size, f) != size || fclose(f) != 0) abort();
  free(copy);
  unlink(base_path);
  unlink(merged_path);
  for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
    char *argv[18];
    int argc = 0;
    argv[argc++] = (char *)"heapshape";
    for (size_t i = 0; i < 16 && commands[c][i]; i++) {
      const char *a = commands[c][i];
      if (strcmp(a, "F") == 0) a = in_path;
      else if (strcmp(a, "B") == 0) a = base_path;
      else if (strcmp(a, "M") == 0) a = merged_path;
      else if (strcmp(a, "O") == 0) a = out_path;
      argv[argc++] = (char *)a;
    }
    argv[argc] = NULL;
    int rc = hsa_cli_main(argc, argv);
    if (rc < 0 || rc > 2) {
      fprintf(stderr, "fuzz_commands: heapshape %s returned %d\n", argv[1], rc);
      abort();
    }
  }
  fflush(stdout);
  return 0;
}
