/* heapshape analyzer: command-line front end for stats, diff, info, anatomy, sizes, help and
 * --version (see cli.h), and the dispatch to the other commands' modules. Help texts are in
 * help.c, error reporting in errors.c. All the work is done by the library modules; this
 * file only parses options and maps errors to exit status 2. */
#include "analyzer/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/advise.h"
#include "analyzer/anatomy_report.h"
#include "analyzer/check.h"
#include "analyzer/export.h"
#include "analyzer/html_report.h"
#include "analyzer/help.h"
#include "analyzer/merge.h"
#include "analyzer/reader.h"
#include "analyzer/report.h"
#include "analyzer/stats.h"
#include "analyzer/symbolize.h"
#include "analyzer/timeline.h"
#include "analyzer/version.h" /* HSA_VERSION, from python/heapshape/VERSION */

/* Options shared by stats and diff. */
struct query {
  struct hsa_options opt;
  const char **include, **exclude; /* arrays of argc entries */
  const char *files[2];
  size_t nfiles;
  long limit; /* -1 = default */
  int json;
  int symbols;
  int key_given;
};

/* Value of an option given as "--name VALUE" or "--name=VALUE"; advances *i. NULL (after an
 * error message) if missing. */
static const char *option_value(int argc, char **argv, int *i, const char *name) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (a[n] == '=') return a + n + 1;
  if (*i + 1 >= argc) {
    hsa_cli_error("option %s needs a value; see heapshape --help", name);
    return NULL;
  }
  return argv[++*i];
}

static int is_option(const char *arg, const char *name) {
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* Parses stats/diff arguments (argv[0] is the command); returns 0 or an exit status. */
static int parse_query(int argc, char **argv, size_t want_files, struct query *q) {
  memset(q, 0, sizeof *q);
  q->limit = -1;
  q->symbols = 1;
  q->opt.key = HSA_KEY_LINENO;
  q->include = calloc((size_t)argc, sizeof *q->include);
  q->exclude = calloc((size_t)argc, sizeof *q->exclude);
  if (!q->include || !q->exclude) return hsa_cli_error("out of memory");
  q->opt.include = q->include;
  q->opt.exclude = q->exclude;
  int only_files = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v;
    if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
      if (q->nfiles == want_files)
        return hsa_cli_error("%s takes %zu file%s; unexpected argument \"%s\"", argv[0],
                             want_files, want_files == 1 ? "" : "s", a);
      q->files[q->nfiles++] = a;
    } else if (strcmp(a, "--") == 0) {
      only_files = 1;
    } else if (is_option(a, "--key")) {
      if (!(v = option_value(argc, argv, &i, "--key"))) return HSA_EXIT_USAGE;
      if (hsa_key_parse(v, &q->opt.key) != 0)
        return hsa_cli_error("bad --key \"%s\"; use lineno, filename, traceback or type", v);
      q->key_given = 1;
    } else if (is_option(a, "--limit")) {
      if (!(v = option_value(argc, argv, &i, "--limit"))) return HSA_EXIT_USAGE;
      char *end;
      errno = 0;
      long n = strtol(v, &end, 10);
      if (errno || end == v || *end || n < 0)
        return hsa_cli_error("bad --limit \"%s\"; use a number >= 0 (0 = all)", v);
      q->limit = n;
    } else if (is_option(a, "--format")) {
      if (!(v = option_value(argc, argv, &i, "--format"))) return HSA_EXIT_USAGE;
      if (strcmp(v, "json") == 0) q->json = 1;
      else if (strcmp(v, "text") == 0) q->json = 0;
      else return hsa_cli_error("bad --format \"%s\"; use text or json", v);
    } else if (is_option(a, "--include")) {
      if (!(v = option_value(argc, argv, &i, "--include"))) return HSA_EXIT_USAGE;
      q->include[q->opt.ninclude++] = v;
    } else if (is_option(a, "--exclude")) {
      if (!(v = option_value(argc, argv, &i, "--exclude"))) return HSA_EXIT_USAGE;
      q->exclude[q->opt.nexclude++] = v;
    } else if (is_option(a, "--domain")) {
      if (!(v = option_value(argc, argv, &i, "--domain"))) return HSA_EXIT_USAGE;
      unsigned mask;
      if (hsa_domain_parse(v, &mask) != 0)
        return hsa_cli_error("bad --domain \"%s\"; use malloc, raw, mem, obj or python", v);
      q->opt.domain_mask |= mask;
    } else if (strcmp(a, "--no-symbols") == 0) {
      q->symbols = 0;
    } else if (strcmp(a, "--peak") == 0) {
      q->opt.peak = 1;
    } else {
      return hsa_cli_error("unknown option \"%s\" for %s; see heapshape %s --help", a, argv[0],
                           argv[0]);
    }
  }
  if (q->nfiles != want_files)
    return hsa_cli_error(want_files == 1 ? "%s needs a snapshot file: heapshape %s FILE"
                                         : "%s needs two snapshot files: heapshape %s OLD NEW",
                         argv[0], argv[0]);
  return 0;
}

static void query_free(struct query *q) {
  free(q->include);
  free(q->exclude);
}

static int load(const char *path, struct hsa_snapshot *s) {
  struct hsa_error err;
  if (hsa_snapshot_read_file(path, s, &err) != 0) return hsa_cli_error("%s", err.msg);
  return 0;
}

static int output(const struct hsa_stats *st, const struct query *q) {
  size_t limit = q->limit >= 0 ? (size_t)q->limit : (q->json ? 0 : 10);
  int rc = q->json ? hsa_report_json(stdout, st, limit) : hsa_report_text(stdout, st, limit);
  if (rc != 0 || fflush(stdout) != 0) {
    fprintf(stderr, "heapshape: error: writing the report failed: %s\n", strerror(errno));
    return 1;
  }
  return 0;
}

static int cmd_stats_or_diff(int argc, char **argv, int is_diff) {
  struct query q;
  struct hsa_snapshot snaps[2];
  struct hsa_stats st;
  struct hsa_error err;
  int rc = parse_query(argc, argv, is_diff ? 2 : 1, &q);
  size_t loaded = 0;
  struct hsa_symbolizer *sym = NULL;
  if (rc) goto out;
  for (; loaded < q.nfiles; loaded++) {
    if ((rc = load(q.files[loaded], &snaps[loaded])) != 0) goto out;
  }
  if (q.symbols && !(sym = hsa_symbolizer_new())) {
    rc = hsa_cli_error("out of memory");
    goto out;
  }
  hsa_symbolizer_set_warnings(sym, stderr);
  if (is_diff && (hsa_snapshot_is_partial(&snaps[0]) || hsa_snapshot_is_partial(&snaps[1])) &&
      !(hsa_snapshot_is_partial(&snaps[0]) && hsa_snapshot_is_partial(&snaps[1]) &&
        snaps[0].meta.pid == snaps[1].meta.pid && snaps[0].part.mark == snaps[1].part.mark))
    fprintf(stderr,
            "heapshape: note: %s and %s are not the two partial snapshots of one mark (one "
            "test): a line that only one of them holds counts as 0 in the other\n",
            q.files[0], q.files[1]);
  int r = is_diff ? hsa_stats_diff(&snaps[0], &snaps[1], &q.opt, sym, &st, &err)
                  : hsa_stats_compute(&snaps[0], &q.opt, sym, &st, &err);
  if (r != 0) {
    rc = hsa_cli_error("%s", err.msg);
    goto out;
  }
  rc = output(&st, &q);
  hsa_stats_free(&st);
out:
  hsa_symbolizer_free(sym);
  while (loaded > 0) hsa_snapshot_free(&snaps[--loaded]);
  query_free(&q);
  return rc;
}

static int flush_stdout(void) {
  if (ferror(stdout) || fflush(stdout) != 0) {
    fprintf(stderr, "heapshape: error: writing the report failed: %s\n", strerror(errno));
    return 1;
  }
  return 0;
}

static int cmd_anatomy(int argc, char **argv) {
  struct query q;
  struct hsa_snapshot snap;
  struct hsa_anatomy an;
  struct hsa_error err;
  int loaded = 0;
  struct hsa_symbolizer *sym = NULL;
  int rc = parse_query(argc, argv, 1, &q);
  if (rc) goto out;
  if (q.key_given) {
    rc = hsa_cli_error("unknown option \"--key\" for anatomy (rows are per line and type)");
    goto out;
  }
  if (q.opt.peak) {
    rc = hsa_cli_error("unknown option \"--peak\" for anatomy (object anatomy is taken "
                       "with the snapshot)");
    goto out;
  }
  if ((rc = load(q.files[0], &snap)) != 0) goto out;
  loaded = 1;
  if (q.symbols && !(sym = hsa_symbolizer_new())) {
    rc = hsa_cli_error("out of memory");
    goto out;
  }
  hsa_symbolizer_set_warnings(sym, stderr);
  if (hsa_anatomy_compute(&snap, &q.opt, sym, &an, &err) != 0) {
    rc = hsa_cli_error("%s", err.msg);
    goto out;
  }
  size_t limit = q.limit >= 0 ? (size_t)q.limit : (q.json ? 0 : 10);
  if (q.json) hsa_anatomy_report_json(stdout, &snap, &an, limit);
  else hsa_anatomy_report_text(stdout, &snap, &an, limit);
  rc = flush_stdout();
  hsa_anatomy_free(&an);
out:
  hsa_symbolizer_free(sym);
  if (loaded) hsa_snapshot_free(&snap);
  query_free(&q);
  return rc;
}

static int cmd_sizes(int argc, char **argv) {
  const char *file = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (is_option(a, "--format")) {
      const char *v = option_value(argc, argv, &i, "--format");
      if (!v) return HSA_EXIT_USAGE;
      if (strcmp(v, "json") == 0) json = 1;
      else if (strcmp(v, "text") == 0) json = 0;
      else return hsa_cli_error("bad --format \"%s\"; use text or json", v);
    } else if (a[0] == '-' && strcmp(a, "-") != 0) {
      return hsa_cli_error("unknown option \"%s\" for sizes; see heapshape sizes --help", a);
    } else if (file) {
      return hsa_cli_error("sizes takes 1 file; unexpected argument \"%s\"", a);
    } else {
      file = a;
    }
  }
  if (!file) return hsa_cli_error("sizes needs a snapshot file: heapshape sizes FILE");
  struct hsa_snapshot s;
  struct hsa_size sizes[HSA_NSIZES];
  struct hsa_error err;
  int rc = load(file, &s);
  if (rc) return rc;
  if (hsa_size_model(&s, sizes, &err) != 0) {
    rc = hsa_cli_error("%s", err.msg);
  } else {
    hsa_sizes_report(stdout, &s, sizes, json);
    rc = flush_stdout();
  }
  hsa_snapshot_free(&s);
  return rc;
}

static int cmd_info(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (argv[i][0] == '-' && argv[i][1])
      return hsa_cli_error("unknown option \"%s\" for info; see heapshape info --help", argv[i]);
  if (argc != 2) return hsa_cli_error("info needs exactly one snapshot file: heapshape info FILE");
  struct hsa_snapshot s;
  int rc = load(argv[1], &s);
  if (rc) return rc;
  rc = hsa_report_info(stdout, &s) != 0 || fflush(stdout) != 0;
  hsa_snapshot_free(&s);
  return rc;
}

int hsa_cli_main(int argc, char **argv) {
  if (argc < 2) {
    fputs(hsa_help_general(), stderr);
    return HSA_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "help") == 0 && argc >= 3) {
    const char *sub = strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0 ? "help" : argv[2];
    const char *text = hsa_help_text(sub);
    if (!text && sub[0] == '-')
      return hsa_cli_error("unknown option \"%s\" for help; see heapshape help --help", sub);
    if (!text)
      return hsa_cli_error("no command \"%s\"; heapshape --help lists the commands", sub);
    fputs(text, stdout);
    return flush_stdout();
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    fputs(hsa_help_general(), stdout);
    return flush_stdout();
  }
  const char *help = hsa_help_text(cmd);
  if (help && hsa_help_wanted(cmd, argc - 1, argv + 1)) {
    fputs(help, stdout);
    return flush_stdout();
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("heapshape %s (reads snapshot format versions %u to %u)\n", HSA_VERSION,
           HS_FORMAT_MIN_READ, HS_FORMAT_MAX_READ);
    return 0;
  }
  if (strcmp(cmd, "stats") == 0) return cmd_stats_or_diff(argc - 1, argv + 1, 0);
  if (strcmp(cmd, "diff") == 0) return cmd_stats_or_diff(argc - 1, argv + 1, 1);
  if (strcmp(cmd, "info") == 0) return cmd_info(argc - 1, argv + 1);
  if (strcmp(cmd, "anatomy") == 0) return cmd_anatomy(argc - 1, argv + 1);
  if (strcmp(cmd, "advise") == 0) return hsa_cli_advise(argc - 1, argv + 1);
  if (strcmp(cmd, "sizes") == 0) return cmd_sizes(argc - 1, argv + 1);
  if (strcmp(cmd, "run") == 0) return hsa_cli_run(argc - 1, argv + 1);
  if (strcmp(cmd, "timeline") == 0) return hsa_cli_timeline(argc - 1, argv + 1);
  if (strcmp(cmd, "check") == 0) return hsa_cli_check(argc - 1, argv + 1);
  if (strcmp(cmd, "baseline") == 0) return hsa_cli_baseline(argc - 1, argv + 1);
  if (strcmp(cmd, "merge") == 0) return hsa_cli_merge(argc - 1, argv + 1);
  if (strcmp(cmd, "export") == 0) return hsa_cli_export(argc - 1, argv + 1);
  if (strcmp(cmd, "report") == 0) return hsa_cli_report(argc - 1, argv + 1);
  return hsa_cli_error("unknown command \"%s\"; commands are run, stats, diff, info, timeline, "
                       "anatomy, advise, sizes, check, baseline, merge, export, report, help (usage: heapshape "
                       "--help)",
                       cmd);
}
