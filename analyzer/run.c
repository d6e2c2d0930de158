/* heapshape analyzer: `heapshape run [-o PATH] [--frames N] [--native] [--sample-rate BYTES]
 * [--interval SECONDS] -- COMMAND ARGS...`.
 *
 * Forks; the child sets the shim's environment (HEAPSHAPE_ROOT_PID, HEAPSHAPE_OUTPUT,
 * HEAPSHAPE_FRAMES, HEAPSHAPE_NATIVE, HEAPSHAPE_SAMPLE_RATE, HEAPSHAPE_INTERVAL, HEAPSHAPE_DIR,
 * HEAPSHAPE_CLI (this binary, for the pytest plugin), LD_PRELOAD) and execs COMMAND. The parent ignores SIGINT and
 * SIGQUIT while it waits, so Ctrl-C reaches the child only, then summarizes the exit snapshot
 * on stderr and exits with the child's status (128 + signal if the child was killed).
 * An exec failure is sent back over a close-on-exec pipe and reported as a usage error (2). */
#define _GNU_SOURCE /* pipe2, strsignal */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analyzer/advise.h"
#include "analyzer/anatomy_report.h"
#include "analyzer/errors.h"
#include "analyzer/html_report.h"
#include "analyzer/run.h"
#include "analyzer/reader.h"
#include "analyzer/report.h"
#include "analyzer/repeat.h"
#include "analyzer/run_signals.h"
#include "analyzer/shim_access.h"
#include "analyzer/stats.h"
#include "heapshape/naming.h"

#define HSA_SHIM_NAME "libheapshape.so"

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds the shim: $HEAPSHAPE_PRELOAD, else next to this binary, else ../preload/ from it.
 * Writes an absolute path to out; 0 / -1 (after an error message). */
static int find_shim(char *out, size_t outlen) {
  const char *env = getenv("HEAPSHAPE_PRELOAD");
  if (env && env[0]) {
    if (!file_exists(env)) {
      hsa_cli_error("HEAPSHAPE_PRELOAD=%s: no such file; point it at %s or unset it", env,
                    HSA_SHIM_NAME);
      return -1;
    }
    if (!realpath(env, out)) snprintf(out, outlen, "%s", env);
    return 0;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    const char *const rel[] = {"/" HSA_SHIM_NAME, "/../preload/" HSA_SHIM_NAME};
    for (size_t i = 0; i < 2; i++) {
      char cand[PATH_MAX + 64];
      snprintf(cand, sizeof cand, "%s%s", self, rel[i]);
      if (file_exists(cand)) {
        if (realpath(cand, out)) return 0;
        int w = snprintf(out, outlen, "%s", cand);
        if (w > 0 && (size_t)w < outlen) return 0;
      }
    }
  }
  hsa_cli_error("cannot find the heapshape shim %s: set HEAPSHAPE_PRELOAD to its path, or "
                "install it next to the heapshape binary",
                HSA_SHIM_NAME);
  return -1;
}

/* Whether shim is the wheel's copy, which loads its bundled libraries (heapshape.libs/, next to
 * the heapshape package) through $ORIGIN: a copy elsewhere would not find them. */
static int shim_has_bundled_libs(const char *shim) {
  char libs[PATH_MAX + 32];
  snprintf(libs, sizeof libs, "%s", shim);
  char *slash = strrchr(libs, '/');
  if (!slash) return 0;
  snprintf(slash, sizeof libs - (size_t)(slash - libs), "/../../heapshape.libs");
  struct stat st;
  return stat(libs, &st) == 0 && S_ISDIR(st.st_mode);
}

/* 0 if dir is a directory we can create files in, else -1 with errno set. access(W_OK) alone
 * is not enough: root passes it on read-only places such as /proc, so also create (and remove)
 * a probe file, as the shim will have to. */
static int check_writable_dir(const char *dir) {
  struct stat st;
  if (stat(dir, &st) != 0) return -1;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  if (access(dir, W_OK) != 0) return -1;
  char probe[PATH_MAX * 2 + 64];
  snprintf(probe, sizeof probe, "%s/.heapshape-probe-%ld", dir, (long)getpid());
  int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  close(fd);
  unlink(probe);
  return 0;
}

/* Names of heapshape-*.hsnap files in dir (a NULL-terminated malloc'ed array, or NULL). */
static char **list_snapshots(const char *dir, size_t *count) {
  *count = 0;
  DIR *d = opendir(dir);
  if (!d) return NULL;
  char **names = NULL;
  size_t cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (strncmp(e->d_name, "heapshape-", 10) != 0 || len < 16 ||
        strcmp(e->d_name + len - 6, ".hsnap") != 0)
      continue;
    if (*count + 2 > cap) {
      size_t ncap = cap ? cap * 2 : 16;
      char **p = realloc(names, ncap * sizeof *names);
      if (!p) break;
      names = p;
      cap = ncap;
    }
    if (!(names[*count] = strdup(e->d_name))) break;
    names[++*count] = NULL;
  }
  closedir(d);
  return names;
}

static void free_list(char **names, size_t n) {
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

static int in_list(char **names, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0) return 1;
  return 0;
}

/* The pid in "heapshape-<program>-<pid>.hsnap" or "heapshape-<program>-<pid>.<seq>.hsnap". */
static long pid_of_name(const char *name) {
  char tmp[NAME_MAX + 1];
  snprintf(tmp, sizeof tmp, "%s", name);
  char *dot = strstr(tmp, ".hsnap");
  if (dot) *dot = '\0';
  char *dash = strrchr(tmp, '-');
  if (!dash) return -1;
  char *end;
  long pid = strtol(dash + 1, &end, 10);
  return (end != dash + 1 && (*end == '\0' || *end == '.')) ? pid : -1;
}

/* Removes the temporaries (".NAME.PID.hstmp", preload/snapshot_write.c) that processes now
 * gone left in dir when they were killed while writing a snapshot. */
static void remove_stale_temporaries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (e->d_name[0] != '.' || len < 8 || strcmp(e->d_name + len - 6, ".hstmp") != 0) continue;
    const char *p = e->d_name + len - 6;
    while (p > e->d_name && p[-1] >= '0' && p[-1] <= '9') p--;
    long pid = strtol(p, NULL, 10);
    if (p == e->d_name + len - 6 || p[-1] != '.' || pid <= 0) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char path[PATH_MAX * 2 + NAME_MAX + 2];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
}

#define RUN_USAGE                                                                        \
  "heapshape run [-o PATH] [--frames N] [--native] [--sample-rate BYTES] "                  \
  "[--interval SECONDS] -- COMMAND ARGS..."

/* "65536", "64K", "64k", "64KiB", "1M", "1MB", "2G" (powers of 1024) -> bytes in
 * 1..0x7fffffff (the shim's range); 0 / -1. */
static int parse_sample_rate(const char *text, uint64_t *out) {
  char *end;
  errno = 0;
  if (!(text[0] >= '0' && text[0] <= '9')) return -1;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text) return -1;
  uint64_t mul = 1;
  switch (*end) {
    case 'k': case 'K': mul = 1024; end++; break;
    case 'm': case 'M': mul = 1024 * 1024; end++; break;
    case 'g': case 'G': mul = 1024ull * 1024 * 1024; end++; break;
    case 'b': case 'B': if (end[1] == '\0') end++; break;
    default: break;
  }
  if (mul > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0 || strcmp(end, "b") == 0))
    end += strlen(end);
  if (*end) return -1;
  if (v == 0 || v > 0x7fffffffull / mul) return -1;
  *out = v * mul;
  return 0;
}

/* "0.5", "2", "1e-1" seconds (at least 1 ms, at most a day) -> the shim's form "S.NNNNNNNNN". */
static int parse_interval(const char *text, char *out, size_t outlen) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || *end || !isfinite(v) || v < 0.001 || v > 86400) return -1;
  uint64_t ns = (uint64_t)llround(v * 1e9);
  snprintf(out, outlen, "%llu.%09llu", (unsigned long long)(ns / 1000000000u),
           (unsigned long long)(ns % 1000000000u));
  return 0;
}

/* Summary on stderr after the child ended. */
/* The summary's second half: the site holding most memory, dissected, and the best layout
 * advice (the first lines of `heapshape anatomy` and `heapshape advise`). */
static void run_summary_anatomy(const struct hsa_snapshot *s, const char *path,
                                struct hsa_symbolizer *sym) {
  struct hsa_options opt;
  struct hsa_anatomy an;
  struct hsa_error err;
  memset(&opt, 0, sizeof opt);
  if (hsa_anatomy_compute(s, &opt, sym, &an, &err) == 0) {
    fprintf(stderr, "heapshape: biggest site, dissected (more: heapshape anatomy %s):\n", path);
    hsa_anatomy_report_text(stderr, s, &an, 1);
    hsa_anatomy_free(&an);
  }
  /* the summary belongs on stderr with the rest; the snapshot and symbols are shared */
  fprintf(stderr, "heapshape: layout advice (more: heapshape advise %s):\n", path);
  hsa_advise_loaded(stderr, s, path, sym, 1);
}

/* run --report: write the HTML report next to the snapshot (html_report.h) */
static int run_report;

void hsa_run_write_report(const char *out_path) {
  size_t n = strlen(out_path);
  char *html = malloc(n + 8);
  struct hsa_error err;
  if (!html) return;
  if (n > 6 && strcmp(out_path + n - 6, ".hsnap") == 0) n -= 6;
  snprintf(html, n + 8, "%.*s.html", (int)n, out_path);
  if (hsa_html_report_file(NULL, out_path, html, 1, &err) == 0)
    fprintf(stderr, "heapshape: report written to %s (open it in a browser)\n", html);
  else
    fprintf(stderr, "heapshape: error: %s\n", err.msg);
  free(html);
}

/* Whether name (in dir, where children write) is a snapshot a child process wrote during the
 * run: new since the run started, not the root's own file nor one of its --interval files. */
static int is_child_snapshot(const char *name, const char *out_path, const char *dir,
                             char **before, size_t nbefore, long root_pid) {
  size_t dl = strlen(dir);
  if (strncmp(out_path, dir, dl) == 0 && out_path[dl] == '/' && strcmp(out_path + dl + 1, name) == 0)
    return 0;
  if (in_list(before, nbefore, name)) return 0;
  return pid_of_name(name) != root_pid;
}

/* The children's disk budget (preload/child_budget.c): the ledger DIR/.heapshape-children-ROOT
 * holds one u64 per child snapshot (its size) or per child the budget stopped (bit 63 set).
 * Says how many were stopped, and deletes the ledger. */
static void budget_summary(const char *dir, long root_pid) {
  char path[PATH_MAX * 2];
  snprintf(path, sizeof path, "%s/.heapshape-children-%ld", dir, root_pid);
  FILE *f = fopen(path, "rb");
  if (!f) return;
  uint64_t rec, used = 0, stopped = 0;
  while (fread(&rec, sizeof rec, 1, f) == 1) {
    if (rec >> 63) stopped++;
    else used += rec;
  }
  fclose(f);
  unlink(path);
  if (!stopped) return;
  char u[32];
  hsa_format_size((double)used, 0, u, sizeof u);
  const char *b = getenv("HEAPSHAPE_CHILD_BUDGET");
  fprintf(stderr,
          "heapshape: %llu more child process%s wrote nothing: the children's snapshots reached "
          "their budget (%s; HEAPSHAPE_CHILD_BUDGET=%s MiB, 0 = no limit; --all-children writes "
          "every process)\n",
          (unsigned long long)stopped, stopped == 1 ? "" : "es", u, b && *b ? b : "128");
}

/* dir: where child processes write (HEAPSHAPE_DIR); before: its snapshots before the run. */
static void summarize(const char *out_path, const char *dir, char **before, size_t nbefore,
                      const char *how, long root_pid) {
  size_t nafter = 0;
  char **after = list_snapshots(dir, &nafter);
  size_t nchild = 0;
  for (size_t i = 0; i < nafter; i++)
    if (is_child_snapshot(after[i], out_path, dir, before, nbefore, root_pid)) nchild++;
  if (!file_exists(out_path)) {
    fprintf(stderr,
            "heapshape: no snapshot was written to %s (the program %s); it may have been "
            "killed, ended by a signal, or left through _exit before the shim could write it\n",
            out_path, how);
  } else {
    struct hsa_snapshot s;
    struct hsa_error err;
    if (hsa_snapshot_read_file(out_path, &s, &err) != 0) {
      fprintf(stderr, "heapshape: error: %s\n", err.msg);
    } else {
      char live[32], peak[32];
      const struct hs_meta *m = &s.meta;
      hsa_format_size((double)m->live_bytes, 0, live, sizeof live);
      hsa_format_size((double)m->peak_live_bytes, 0, peak, sizeof peak);
      fprintf(stderr, "heapshape: snapshot written to %s\n", out_path);
      if (hsa_snapshot_is_sampled(&s)) {
        double eb = 0, ec = 0;
        for (uint32_t k = 0; k < s.nsites; k++) {
          eb += s.estimates[k].live_bytes;
          ec += s.estimates[k].live_count;
        }
        hsa_format_size(eb, 0, live, sizeof live);
        fprintf(stderr,
                "heapshape: sampled every %llu bytes on average: live at exit (estimate): %s "
                "in %.0f blocks; allocations sampled: %llu\n",
                (unsigned long long)m->sample_rate, live, ec,
                (unsigned long long)m->total_allocs);
      } else {
        fprintf(stderr,
                "heapshape: live at exit: %s in %llu blocks; peak live: %s; allocations "
                "recorded: %llu\n",
                live, (unsigned long long)m->live_count, peak,
                (unsigned long long)m->total_allocs);
      }
      if (hsa_snapshot_has_peak(&s)) {
        uint64_t pb = 0;
        for (uint32_t k = 0; k < s.npeak; k++) pb += s.peak[k].live_bytes;
        hsa_format_size((double)pb, 0, peak, sizeof peak);
        fprintf(stderr,
                "heapshape: peak: %s live %.3f s after start (by line: heapshape stats %s "
                "--peak)\n",
                peak, (double)s.peak_time_ns / 1e9, out_path);
      }
      struct hsa_options opt;
      memset(&opt, 0, sizeof opt);
      opt.key = HSA_KEY_LINENO;
      /* one symbolizer for the whole summary: each native frame is looked up once */
      struct hsa_symbolizer *sym = hsa_symbolizer_new();
      hsa_symbolizer_set_warnings(sym, stderr);
      struct hsa_stats st;
      if (hsa_stats_compute(&s, &opt, sym, &st, &err) == 0) {
        if (st.n) {
          fprintf(stderr, "heapshape: top %zu (more: heapshape stats %s):\n",
                  st.n < 5 ? st.n : (size_t)5, out_path);
          hsa_report_text(stderr, &st, 5);
        }
        hsa_stats_free(&st);
      } else {
        fprintf(stderr, "heapshape: error: %s\n", err.msg);
      }
      if (hsa_snapshot_has_anatomy(&s)) run_summary_anatomy(&s, out_path, sym);
      hsa_symbolizer_free(sym);
      hsa_snapshot_free(&s);
      if (run_report) hsa_run_write_report(out_path);
    }
  }
  if (nchild) {
    fprintf(stderr, "heapshape: %zu more snapshot%s from child processes in %s:\n", nchild,
            nchild == 1 ? "" : "s", dir);
    for (size_t i = 0; i < nafter; i++) {
      if (!is_child_snapshot(after[i], out_path, dir, before, nbefore, root_pid)) continue;
      fprintf(stderr, "heapshape:   %s (pid %ld)\n", after[i], pid_of_name(after[i]));
    }
  }
  budget_summary(dir, root_pid);
  free_list(after, nafter);
}

int hsa_cli_run(int argc, char **argv) {
  const char *out_opt = NULL;
  const char *frames = NULL;
  int native = 0, all_children = 0;
  char sample_rate[32] = "", interval[48] = "";
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-') break;
    if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
      if (i + 1 >= argc) return hsa_cli_error("%s needs a path", a);
      out_opt = argv[++i];
    } else if (strncmp(a, "--output=", 9) == 0) {
      out_opt = a + 9;
    } else if (strcmp(a, "--repeat") == 0 || strncmp(a, "--repeat=", 9) == 0 ||
               strcmp(a, "--with-children") == 0) {
      run_report = 0; /* repeat.c reports the merged snapshot, not each run */
      return hsa_run_multi(argc, argv); /* repeat.c */
    } else if (strcmp(a, "--frames") == 0 || strncmp(a, "--frames=", 9) == 0) {
      if (a[8] == '=') frames = a + 9;
      else if (i + 1 >= argc) return hsa_cli_error("--frames needs a number");
      else frames = argv[++i];
      char *end;
      long n = strtol(frames, &end, 10);
      if (end == frames || *end || n < 1 || n > 65535)
        return hsa_cli_error("bad --frames \"%s\"; use a number from 1 to 65535", frames);
    } else if (strcmp(a, "--native") == 0) {
      native = 1;
    } else if (strcmp(a, "--report") == 0) {
      run_report = 1;
    } else if (strcmp(a, "--all-children") == 0) {
      all_children = 1;
    } else if (strcmp(a, "--sample-rate") == 0 || strncmp(a, "--sample-rate=", 14) == 0) {
      const char *v = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : NULL);
      if (!v) return hsa_cli_error("--sample-rate needs a size in bytes (e.g. 65536, 64K, 1M)");
      uint64_t rate;
      if (parse_sample_rate(v, &rate) != 0)
        return hsa_cli_error("bad --sample-rate \"%s\"; use a size in bytes from 1 to "
                             "2147483647, optionally with K, M or G (e.g. 65536, 64K, 1M)",
                             v);
      snprintf(sample_rate, sizeof sample_rate, "%llu", (unsigned long long)rate);
    } else if (strcmp(a, "--interval") == 0 || strncmp(a, "--interval=", 11) == 0) {
      const char *v = a[10] == '=' ? a + 11 : (i + 1 < argc ? argv[++i] : NULL);
      if (!v) return hsa_cli_error("--interval needs a number of seconds (e.g. 0.5)");
      if (parse_interval(v, interval, sizeof interval) != 0)
        return hsa_cli_error("bad --interval \"%s\"; use seconds from 0.001 to 86400 (e.g. 0.5)",
                             v);
    } else {
      return hsa_cli_error("unknown option \"%s\" for run; see heapshape run --help", a);
    }
  }
  if (i >= argc) return hsa_cli_error("run needs a command: " RUN_USAGE);
  char **cmd = argv + i;
  int cmd_argc = argc - i;

  char found[PATH_MAX], shim[PATH_MAX];
  if (find_shim(found, sizeof found) != 0) return HSA_EXIT_USAGE;
  if (shim_has_bundled_libs(found)) snprintf(shim, sizeof shim, "%s", found);
  else hsa_shim_for_all_users(found, shim, sizeof shim); /* children may run as other users */
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd))
    return hsa_cli_error("cannot get the current directory: %s", strerror(errno));

  /* Output directory and (for -o) absolute output path. */
  char out_abs[PATH_MAX * 2] = "";
  char dir[PATH_MAX * 2];
  if (out_opt) {
    if (out_opt[0] == '/') snprintf(out_abs, sizeof out_abs, "%s", out_opt);
    else snprintf(out_abs, sizeof out_abs, "%s/%s", cwd, out_opt);
    snprintf(dir, sizeof dir, "%s", out_abs);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
  } else {
    snprintf(dir, sizeof dir, "%s", cwd);
  }
  if (check_writable_dir(dir) != 0)
    return hsa_cli_error("cannot write snapshots to %s: %s", dir, strerror(errno));
  char program[128];
  hs_program_name(cmd_argc, (const char *const *)cmd, program, sizeof program);

  remove_stale_temporaries(dir);
  if (strcmp(dir, cwd) != 0) remove_stale_temporaries(cwd);
  size_t nbefore = 0;
  char **before = list_snapshots(cwd, &nbefore); /* children write into cwd (HEAPSHAPE_DIR) */

  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    free_list(before, nbefore);
    return hsa_cli_error("cannot create a pipe: %s", strerror(errno));
  }
  /* Forwarding handlers before forking (run_signals.c), so there is no window in which
   * Ctrl-C or a kill(1) ends us but not the child; the child restores the old dispositions
   * before exec. */
  hsa_run_signals_begin();
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    hsa_run_signals_end();
    free_list(before, nbefore);
    close(pipefd[0]);
    close(pipefd[1]);
    return hsa_cli_error("cannot fork: %s", strerror(e));
  }
  if (pid == 0) {
    hsa_run_signals_end();
    close(pipefd[0]);
    char buf[PATH_MAX * 3];
    snprintf(buf, sizeof buf, "%ld", (long)getpid());
    setenv("HEAPSHAPE_ROOT_PID", buf, 1);
    if (out_opt) snprintf(buf, sizeof buf, "%s", out_abs);
    else snprintf(buf, sizeof buf, "%s/heapshape-%s-%ld.hsnap", cwd, program, (long)getpid());
    setenv("HEAPSHAPE_OUTPUT", buf, 1);
    if (frames) setenv("HEAPSHAPE_FRAMES", frames, 1);
    if (native) setenv("HEAPSHAPE_NATIVE", "1", 1);
    if (all_children) setenv("HEAPSHAPE_CHILDREN", "all", 1);
    if (sample_rate[0]) setenv("HEAPSHAPE_SAMPLE_RATE", sample_rate, 1);
    if (interval[0]) setenv("HEAPSHAPE_INTERVAL", interval, 1);
    setenv("HEAPSHAPE_DIR", cwd, 1);
    /* the pytest plugin (and any tool in the program) finds this CLI without a lookup */
    ssize_t self_len = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (self_len > 0) {
      buf[self_len] = '\0';
      setenv("HEAPSHAPE_CLI", buf, 1);
    }
    const char *old = getenv("LD_PRELOAD");
    /* The shim goes first, except after an AddressSanitizer runtime, which must be the first
     * library loaded (an ASan-built shim: docs/RELIABILITY.md) */
    if (old && old[0] && strstr(old, "libasan")) snprintf(buf, sizeof buf, "%s:%s", old, shim);
    else if (old && old[0]) snprintf(buf, sizeof buf, "%s:%s", shim, old);
    else snprintf(buf, sizeof buf, "%s", shim);
    setenv("LD_PRELOAD", buf, 1);
    execvp(cmd[0], cmd);
    int e = errno;
    ssize_t w = write(pipefd[1], &e, sizeof e);
    (void)w;
    _exit(127);
  }
  hsa_run_signals_child(pid);
  close(pipefd[1]);
  int exec_errno = 0;
  ssize_t got;
  do got = read(pipefd[0], &exec_errno, sizeof exec_errno);
  while (got < 0 && errno == EINTR);
  close(pipefd[0]);

  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  hsa_run_signals_end();
  if (got == (ssize_t)sizeof exec_errno) {
    free_list(before, nbefore);
    return hsa_cli_error("cannot run \"%s\": %s", cmd[0], strerror(exec_errno));
  }

  int code;
  char how[64];
  if (WIFSIGNALED(status)) {
    code = 128 + WTERMSIG(status);
    snprintf(how, sizeof how, "was killed by signal %d (%s)", WTERMSIG(status),
             strsignal(WTERMSIG(status)));
  } else {
    code = WEXITSTATUS(status);
    snprintf(how, sizeof how, "exited with status %d", code);
  }
  remove_stale_temporaries(dir);
  if (strcmp(dir, cwd) != 0) remove_stale_temporaries(cwd);
  if (!out_opt) snprintf(out_abs, sizeof out_abs, "%s/heapshape-%s-%ld.hsnap", cwd, program,
                         (long)pid);
  summarize(out_abs, cwd, before, nbefore, how, (long)pid);
  free_list(before, nbefore);
  return code;
}
