/* heapshape analyzer: the help texts of the CLI (see help.h). One text per command: usage,
 * what it does, every option its parser accepts, one example. tests/e2e/test_cli_help.py checks
 * each text against its parser (every option listed is accepted, every option accepted is
 * listed), and the general help against the commands. */
#include "analyzer/help.h"

#include <string.h>

#define HELP_LINE "  -h, --help            this help\n"
/* stats, diff and anatomy */
#define FILTER_OPTIONS                                                                         \
  "  --include PATTERN     keep only sites whose innermost frame's file matches (fnmatch;\n"  \
  "                        repeatable)\n"                                                     \
  "  --exclude PATTERN     drop sites whose innermost frame's file matches (repeatable)\n"    \
  "  --domain malloc|raw|mem|obj|python\n"                                                    \
  "                        keep only these allocator domains (repeatable; default all)\n"

static const struct {
  const char *name;
  const char *text;
} commands[] = {
    {"run",
     "usage: heapshape run [OPTIONS] -- COMMAND ARGS...\n"
     "\n"
     "Runs COMMAND with the heapshape shim preloaded, then summarizes its exit snapshot on\n"
     "stderr (top lines, the biggest site dissected, the best layout advice) and exits with\n"
     "COMMAND's status. The snapshot is heapshape-<program>-<pid>.hsnap in the current\n"
     "directory (<program>: the script or module a Python process ran, else the executable).\n"
     "Child processes that run Python or allocate 1 MiB write their own\n"
     "heapshape-<program>-<pid>.hsnap; the summary lists every one of them.\n"
     "\n"
     "Options:\n"
     "  -o, --output PATH     write the snapshot to PATH\n"
     "  --frames N            Python frames kept per allocation (default 1; 16 with --native)\n"
     "  --native              native (C) stacks too\n"
     "  --report              also write the HTML report next to the snapshot (PATH.html)\n"
     "  --sample-rate BYTES   record about one allocation per BYTES (65536, 64K, 1M) and\n"
     "                        estimate the rest, with standard errors\n"
     "  --interval SECONDS    also write PATH.<n>.hsnap every SECONDS while COMMAND runs\n"
     "  --all-children        every child process writes a snapshot (default: only those\n"
     "                        whose heap grew 1 MiB after their start, 128 MiB in all)\n"
     "  --repeat N            run COMMAND N times; PATH is the median of the runs\n"
     "  --with-children       PATH is the sum of the program's processes\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape run -- python3 app.py --input data.csv\n"},
    {"stats",
     "usage: heapshape stats FILE [OPTIONS]\n"
     "\n"
     "Live memory of a snapshot grouped like tracemalloc's Snapshot.statistics: one line per\n"
     "group, biggest first.\n"
     "\n"
     "Options:\n"
     "  --key lineno|filename|traceback|type\n"
     "                        group by (default lineno); type groups by Python type (needs\n"
     "                        object anatomy, see heapshape anatomy)\n"
     "  --limit N             print at most N entries (default 10 for text, all for json;\n"
     "                        0 = all)\n"
     "  --format text|json    output format (default text)\n"
     FILTER_OPTIONS
     "  --no-symbols          do not symbolize native frames (print module+0xADDR)\n"
     "  --peak                the live memory at the peak (the snapshot's peak copy)\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape stats heapshape-app-1234.hsnap --key filename --limit 20\n"},
    {"diff",
     "usage: heapshape diff OLD NEW [OPTIONS]\n"
     "\n"
     "Differences between two snapshots like tracemalloc's Snapshot.compare_to: one\n"
     "StatisticDiff line per group, biggest change first.\n"
     "\n"
     "Options:\n"
     "  --key lineno|filename|traceback|type\n"
     "                        group by (default lineno)\n"
     "  --limit N             print at most N entries (default 10 for text, all for json;\n"
     "                        0 = all)\n"
     "  --format text|json    output format (default text)\n"
     FILTER_OPTIONS
     "  --no-symbols          do not symbolize native frames (print module+0xADDR)\n"
     "  --peak                compare the live memory at the peaks\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape diff before.hsnap after.hsnap --limit 5\n"},
    {"info",
     "usage: heapshape info FILE\n"
     "\n"
     "What a snapshot is about: process, command line, interpreter, reason, totals.\n"
     "\n"
     "Options:\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape info heapshape-app-1234.hsnap\n"},
    {"timeline",
     "usage: heapshape timeline FILE [OPTIONS]\n"
     "\n"
     "Live memory over time, from the samples the shim keeps while the program runs.\n"
     "\n"
     "Options:\n"
     "  --format text|json    a chart (default) or the samples as json\n"
     "  --width N             chart width in columns (1 to 1000)\n"
     "  --no-symbols          do not symbolize native frames\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape timeline heapshape-app-1234.hsnap --width 60\n"},
    {"anatomy",
     "usage: heapshape anatomy FILE [OPTIONS]\n"
     "\n"
     "What the live objects are made of, per (line, type): objects, bytes, headers vs data,\n"
     "rounding, owned memory, sampled shapes. Needs a snapshot of a Python program with\n"
     "object anatomy (the default of heapshape run).\n"
     "\n"
     "Options:\n"
     "  --limit N             print at most N rows (default 10 for text, all for json; 0 = all)\n"
     "  --format text|json    output format (default text)\n"
     FILTER_OPTIONS
     "  --no-symbols          do not symbolize native frames\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape anatomy heapshape-app-1234.hsnap --limit 5\n"},
    {"advise",
     "usage: heapshape advise FILE... [OPTIONS]\n"
     "\n"
     "Layout advice for sites with many records (numpy columns, structured arrays, __slots__,\n"
     "shared memory), with estimated sizes. Several files: the advice for each, then the sum.\n"
     "\n"
     "Options:\n"
     "  --min-objects N       only sites with at least N records\n"
     "  --ram SIZE            the machine's memory (e.g. 16G, 512MiB): records bigger than\n"
     "                        it are advised to go to a memory map first\n"
     "  --format text|markdown|json\n"
     "                        output format (default text)\n"
     "  --limit N             at most N pieces of advice (0 = all)\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape advise heapshape-app-1234.hsnap --format markdown\n"},
    {"sizes",
     "usage: heapshape sizes FILE [OPTIONS]\n"
     "\n"
     "sys.getsizeof of a few values in the recorded interpreter, derived from the snapshot's\n"
     "type table.\n"
     "\n"
     "Options:\n"
     "  --format text|json    output format (default text)\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape sizes heapshape-app-1234.hsnap\n"},
    {"check",
     "usage: heapshape check BASELINE NEW [OPTIONS]\n"
     "\n"
     "CI memory gate: exit 0 within the limits, 1 on a regression (with the lines that caused\n"
     "it), 2 on bad input. BASELINE is a snapshot or a baseline file (heapshape baseline save).\n"
     "With neither --max-increase nor --max-increase-bytes, --max-increase 10% applies.\n"
     "See docs/ci.md.\n"
     "\n"
     "Options:\n"
     "  --max-increase PCT    total live memory may grow by at most PCT of the baseline's\n"
     "  --max-increase-bytes SIZE\n"
     "                        total live memory may grow by at most SIZE (with\n"
     "                        --max-increase: the larger allowance counts)\n"
     "  --max-total SIZE      total live memory of NEW must not exceed SIZE\n"
     "  --max-peak SIZE|PCT   NEW's peak must not exceed SIZE, or the baseline's by PCT\n"
     "  --site-max-increase PCT\n"
     "                        every site may grow by at most PCT of its baseline size\n"
     "  --site-floor SIZE     growth up to SIZE never fails a site (default 64KiB)\n"
     "  --key lineno|filename what a site is (default lineno)\n"
     "  --limit N             diff lines shown in reports (default 10; 0 = all)\n"
     "  --format text|markdown|junit|json\n"
     "                        report format (default text)\n"
     "  -o, --output FILE     write the report to FILE (default stdout)\n"
     "  --root DIR            Python file names under DIR compare relative to it (default:\n"
     "                        the current directory)\n"
     "  --no-symbols          do not symbolize native frames\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape check .github/memory-baseline.txt memory.hsnap --max-increase 10%\n"},
    {"baseline",
     "usage: heapshape baseline save SNAPSHOT --to FILE [OPTIONS]\n"
     "\n"
     "A small, sorted text baseline to commit, for heapshape check.\n"
     "\n"
     "Options:\n"
     "  -o, --to FILE         where to write it (- for stdout)\n"
     "  --key lineno|filename one line per line (default) or per file\n"
     "  --min-size SIZE       leave out sites smaller than SIZE (the totals still count them)\n"
     "  --all-sites           also write sites with nothing live but a peak (size 0), for\n"
     "                        per-site peaks of transient memory\n"
     "  --root DIR            Python file names under DIR are written relative to it (default:\n"
     "                        the current directory)\n"
     "  --no-symbols          do not symbolize native frames\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape baseline save memory.hsnap --to .github/memory-baseline.txt --min-size 4KiB\n"},
    {"merge",
     "usage: heapshape merge [--median|--sum] SNAPSHOT... -o OUTPUT\n"
     "\n"
     "Combines snapshots: the median of repeated runs of one program (default), or the sum\n"
     "of the processes of one run.\n"
     "\n"
     "Options:\n"
     "  --median              the median of the runs (default)\n"
     "  --sum                 the sum of the processes\n"
     "  -o, --output OUTPUT   the merged snapshot\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape merge run1.hsnap run2.hsnap run3.hsnap -o median.hsnap\n"},
    {"export",
     "usage: heapshape export SNAPSHOT --format pprof|speedscope|collapsed|csv [OPTIONS]\n"
     "\n"
     "The live memory of SNAPSHOT in a format other tools read:\n"
     "  pprof        gzipped profile.proto: go tool pprof, Grafana Pyroscope, Parca\n"
     "  speedscope   speedscope's JSON file format (https://www.speedscope.app)\n"
     "  collapsed    folded stacks `root;...;leaf BYTES` for flamegraph.pl / inferno-flamegraph\n"
     "  csv          the rows of heapshape stats (filename,lineno,function,size,count,average)\n"
     "\n"
     "Options:\n"
     "  --format pprof|speedscope|collapsed|csv\n"
     "                        the output format (required)\n"
     "  -o, --output FILE     write to FILE (default: standard output)\n"
     "  --peak                the live memory at the peak (the snapshot's peak copy)\n"
     "  --no-symbols          do not symbolize native frames (module+0xADDR)\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape export heapshape-app-1234.hsnap --format pprof -o app.pb.gz\n"},
    {"report",
     "usage: heapshape report SNAPSHOT [OPTIONS]\n"
     "       heapshape report OLD NEW [OPTIONS]\n"
     "\n"
     "One self-contained HTML file: a flame graph of live bytes by stack, the timeline with the\n"
     "peak, the top lines, the anatomy of the biggest sites, the layout advice. With OLD and\n"
     "NEW, the difference. Default output: SNAPSHOT with .html instead of .hsnap (NEW's name\n"
     "plus -diff.html for two snapshots).\n"
     "\n"
     "Options:\n"
     "  -o, --output FILE.html\n"
     "                        where to write the page\n"
     "  --no-symbols          do not symbolize native frames (module+0xADDR)\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape report heapshape-app-1234.hsnap -o app.html\n"},
    {"help",
     "usage: heapshape help [COMMAND]\n"
     "\n"
     "The general help, or the help of COMMAND (the same as heapshape COMMAND --help).\n"
     "\n"
     "Options:\n" HELP_LINE
     "\n"
     "Example:\n"
     "  heapshape help check\n"},
};

static const char general_text[] =
    "usage: heapshape COMMAND [ARGS]\n"
    "       heapshape COMMAND --help     (or heapshape help COMMAND) for one command\n"
    "\n"
    "Commands:\n"
    "  run [-o|--output PATH] [--frames N] [--native] [--report] [--sample-rate BYTES]\n"
    "      [--interval SECONDS] [--all-children] [--repeat N] [--with-children] -- COMMAND ARGS...\n"
    "                        run COMMAND with the heapshape shim preloaded, then summarize\n"
    "                        its exit snapshot (default heapshape-<program>-<pid>.hsnap)\n"
    "  stats FILE [QUERY OPTIONS]\n"
    "                        live memory grouped like tracemalloc's Snapshot.statistics\n"
    "  diff OLD NEW [QUERY OPTIONS]\n"
    "                        differences like tracemalloc's Snapshot.compare_to\n"
    "  info FILE             what the snapshot is about: process, reason, totals\n"
    "  timeline FILE [--format text|json] [--width N] [--no-symbols]\n"
    "                        live memory over time (chart, or the samples as json)\n"
    "  anatomy FILE [--limit N] [--format text|json] [--include PATTERN] [--exclude PATTERN]\n"
    "        [--domain D] [--no-symbols]\n"
    "                        what the live objects are made of, per (line, type)\n"
    "  advise FILE... [--min-objects N] [--ram SIZE] [--format text|markdown|json] [--limit N]\n"
    "                        layout advice for sites with many records, with size estimates\n"
    "  sizes FILE [--format text|json]\n"
    "                        sys.getsizeof of a few values in the recorded interpreter\n"
    "  check BASELINE NEW [--max-increase PCT] [--max-increase-bytes SIZE] [--max-total SIZE]\n"
    "        [--max-peak SIZE|PCT] [--site-max-increase PCT] [--site-floor SIZE]\n"
    "        [--key lineno|filename] [--limit N] [--format text|markdown|junit|json]\n"
    "        [-o|--output FILE] [--root DIR] [--no-symbols]\n"
    "                        CI memory gate: exit 0 within the limits, 1 on a regression\n"
    "  baseline save SNAPSHOT --to|-o FILE [--key lineno|filename] [--min-size SIZE]\n"
    "        [--all-sites] [--root DIR] [--no-symbols]\n"
    "                        a small, sorted text baseline to commit\n"
    "  merge [--median|--sum] SNAPSHOT... -o|--output OUTPUT\n"
    "                        median of repeated runs, or sum of the processes of one run\n"
    "  export SNAPSHOT --format pprof|speedscope|collapsed|csv [-o|--output FILE] [--peak]\n"
    "        [--no-symbols]\n"
    "                        live memory in formats other tools read\n"
    "  report SNAPSHOT|OLD NEW [-o|--output FILE.html] [--no-symbols]\n"
    "                        one self-contained HTML page (a diff for two snapshots)\n"
    "  help [COMMAND], -h, --help\n"
    "                        this text, or one command's help\n"
    "  --version             the heapshape version and snapshot formats it reads\n"
    "\n"
    "QUERY OPTIONS (stats and diff):\n"
    "  --key lineno|filename|traceback|type   group by (default lineno)\n"
    "  --limit N             print at most N entries (default 10 for text; 0 = all)\n"
    "  --format text|json    output format (default text)\n"
    "  --include PATTERN     keep only sites whose file matches (fnmatch; repeatable)\n"
    "  --exclude PATTERN     drop sites whose file matches (repeatable)\n"
    "  --domain malloc|raw|mem|obj|python    keep only these allocator domains (repeatable)\n"
    "  --no-symbols          do not symbolize native frames\n"
    "  --peak                the live memory at the peak instead of at the snapshot\n"
    "\n"
    "Example:\n"
    "  heapshape run -- python3 app.py && heapshape stats heapshape-app-*.hsnap\n";

const char *hsa_help_general(void) { return general_text; }

const char *hsa_help_text(const char *command) {
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(commands[i].name, command) == 0) return commands[i].text;
  return NULL;
}

const char *hsa_help_command_name(size_t i) {
  return i < sizeof commands / sizeof commands[0] ? commands[i].name : NULL;
}

/* run's options that take a value (their value is not the start of COMMAND). */
static int run_option_takes_value(const char *a) {
  static const char *const with_value[] = {"-o", "--output", "--frames", "--sample-rate",
                                           "--interval", "--repeat"};
  for (size_t i = 0; i < sizeof with_value / sizeof with_value[0]; i++)
    if (strcmp(a, with_value[i]) == 0) return 1;
  return 0;
}

int hsa_help_wanted(const char *command, int argc, char **argv) {
  int is_run = strcmp(command, "run") == 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) return 0;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return 1;
    if (is_run) {
      if (a[0] != '-') return 0; /* COMMAND starts here: its --help is its own */
      if (run_option_takes_value(a)) i++;
    }
  }
  return 0;
}
