/* heapshape analyzer: `run --repeat N` and `run --with-children` (see repeat.h). */
#define _GNU_SOURCE
#include "analyzer/repeat.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer/errors.h"
#include "analyzer/run.h"
#include "analyzer/merge.h"
#include "analyzer/reader.h"
#include "heapshape/naming.h"

struct names {
  char **v;
  size_t n, cap;
};

static int names_add(struct names *l, const char *s) {
  if (l->n + 1 >= l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    char **p = realloc(l->v, cap * sizeof *p);
    if (!p) return -1;
    l->v = p;
    l->cap = cap;
  }
  if (!(l->v[l->n] = strdup(s))) return -1;
  l->v[++l->n] = NULL;
  return 0;
}

static void names_free(struct names *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static int names_has(const struct names *l, const char *s) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i], s) == 0) return 1;
  return 0;
}

/* heapshape-*.hsnap in dir (full paths). */
static void list_snaps(const char *dir, struct names *out) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (strncmp(e->d_name, "heapshape-", 10) != 0 || len < 16 ||
        strcmp(e->d_name + len - 6, ".hsnap") != 0)
      continue;
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (names_add(out, path) != 0) break;
  }
  closedir(d);
}

static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* Runs `run -o out ARGS -- CMD` once; with children, sums them into out. Returns the run's
 * status or an exit status after a message. */
static int run_once(int nargs, char **args, const char *out, int with_children, const char *cwd) {
  struct names before = {0};
  if (with_children) list_snaps(cwd, &before);
  int rc = hsa_cli_run(nargs, args);
  if (rc != 0 || !with_children) {
    names_free(&before);
    return rc;
  }
  struct names after = {0}, picked = {0};
  list_snaps(cwd, &after);
  struct hsa_snapshot root;
  struct hsa_error err;
  if (hsa_snapshot_read_file(out, &root, &err) != 0) {
    names_free(&before);
    names_free(&after);
    return hsa_cli_error("%s", err.msg);
  }
  /* New exit snapshots whose parent chain leads to the root process. */
  uint32_t *pids = calloc(after.n + 1, sizeof *pids), *ppids = calloc(after.n + 1, sizeof *ppids);
  char *used = calloc(after.n + 1, 1);
  uint32_t *tree = calloc(after.n + 2, sizeof *tree);
  size_t ntree = 0;
  if (!pids || !ppids || !used || !tree) {
    rc = hsa_cli_error("out of memory");
    goto out;
  }
  for (size_t i = 0; i < after.n; i++) {
    if (names_has(&before, after.v[i]) || strcmp(after.v[i], out) == 0) {
      used[i] = 2;
      continue;
    }
    struct hsa_snapshot s;
    if (hsa_snapshot_read_file(after.v[i], &s, &err) != 0) {
      fprintf(stderr, "heapshape: warning: skipping %s\n", err.msg);
      used[i] = 2;
      continue;
    }
    if (s.meta.reason != HS_REASON_EXIT) used[i] = 2;
    pids[i] = s.meta.pid;
    ppids[i] = s.meta.ppid;
    hsa_snapshot_free(&s);
  }
  tree[ntree++] = root.meta.pid;
  for (int changed = 1; changed;) {
    changed = 0;
    for (size_t i = 0; i < after.n; i++) {
      if (used[i]) continue;
      for (size_t k = 0; k < ntree; k++) {
        if (ppids[i] == tree[k]) {
          used[i] = 1;
          tree[ntree++] = pids[i];
          if (names_add(&picked, after.v[i]) != 0) {
            rc = hsa_cli_error("out of memory");
            goto out;
          }
          changed = 1;
          break;
        }
      }
    }
  }
  {
    /* Keep the root's own snapshot under the name the shim gives the other processes. */
    char program[256], root_path[PATH_MAX * 2];
    const char *prog = hsa_snapshot_string(&root, root.meta.program_sid);
    snprintf(program, sizeof program, "%s", prog[0] && strcmp(prog, "?") ? prog : "program");
    snprintf(root_path, sizeof root_path, "%s/heapshape-%s-%u.hsnap", cwd, program,
             root.meta.pid);
    if (rename(out, root_path) != 0) {
      rc = hsa_cli_error("cannot rename %s to %s: %s", out, root_path, strerror(errno));
      goto out;
    }
    const char **inputs = calloc(picked.n + 1, sizeof *inputs);
    if (!inputs) {
      rc = hsa_cli_error("out of memory");
      goto out;
    }
    inputs[0] = root_path;
    for (size_t i = 0; i < picked.n; i++) inputs[i + 1] = picked.v[i];
    rc = hsa_merge_files(inputs, picked.n + 1, HSA_MERGE_SUM, out);
    free(inputs);
    if (rc == 0)
      fprintf(stderr,
              "heapshape: %s: sum of %zu process%s (root %s and %zu child snapshot%s)\n", out,
              picked.n + 1, picked.n ? "es" : "", root_path, picked.n, picked.n == 1 ? "" : "s");
  }
out:
  free(pids);
  free(ppids);
  free(used);
  free(tree);
  hsa_snapshot_free(&root);
  names_free(&before);
  names_free(&after);
  names_free(&picked);
  return rc;
}

int hsa_run_multi(int argc, char **argv) {
  long repeat = 1;
  int with_children = 0, report = 0;
  const char *out_opt = NULL;
  char **args = calloc((size_t)argc + 4, sizeof *args);
  if (!args) return hsa_cli_error("out of memory");
  int nargs = 0, i = 1;
  static char opt_o[] = "-o", opt_dashdash[] = "--";
  args[nargs++] = argv[0];
  args[nargs++] = opt_o;
  args[nargs++] = NULL; /* the per-run output, filled below */
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-') break;
    if (strcmp(a, "--repeat") == 0 || strncmp(a, "--repeat=", 9) == 0) {
      const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
      char *end;
      repeat = v ? strtol(v, &end, 10) : 0;
      if (!v || end == v || *end || repeat < 1 || repeat > 1000) {
        free(args);
        return hsa_cli_error("bad --repeat \"%s\"; use a number from 1 to 1000", v ? v : "");
      }
    } else if (strcmp(a, "--with-children") == 0) {
      with_children = 1;
    } else if (strcmp(a, "--report") == 0) {
      report = 1; /* of the merged snapshot, not of each run */
    } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
      if (i + 1 >= argc) {
        free(args);
        return hsa_cli_error("%s needs a path", a);
      }
      out_opt = argv[++i];
    } else if (strncmp(a, "--output=", 9) == 0) {
      out_opt = a + 9;
    } else if (strcmp(a, "--sample-rate") == 0 || strncmp(a, "--sample-rate=", 14) == 0) {
      free(args);
      return hsa_cli_error("--sample-rate cannot be combined with --repeat or --with-children: "
                           "merging snapshots does not combine their estimates");
    } else if ((strcmp(a, "--frames") == 0 || strcmp(a, "--interval") == 0) && i + 1 < argc) {
      args[nargs++] = argv[i++];
      args[nargs++] = argv[i];
    } else {
      args[nargs++] = argv[i]; /* hsa_cli_run checks it */
    }
  }
  if (i >= argc) {
    free(args);
    return hsa_cli_error("run needs a command: heapshape run [-o PATH] [--repeat N] "
                         "[--with-children] [--frames N] -- COMMAND ARGS...");
  }
  args[nargs++] = opt_dashdash;
  char **cmd = argv + i;
  int cmd_argc = argc - i;
  for (int k = 0; k < cmd_argc; k++) args[nargs++] = cmd[k];
  args[nargs] = NULL;

  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) {
    free(args);
    return hsa_cli_error("cannot get the current directory: %s", strerror(errno));
  }
  char out[PATH_MAX * 2];
  if (out_opt) {
    if (out_opt[0] == '/') snprintf(out, sizeof out, "%s", out_opt);
    else snprintf(out, sizeof out, "%s/%s", cwd, out_opt);
  } else {
    char program[128];
    hs_program_name(cmd_argc, (const char *const *)cmd, program, sizeof program);
    if (repeat > 1) snprintf(out, sizeof out, "%s/heapshape-%s.hsnap", cwd, program);
    else snprintf(out, sizeof out, "%s/heapshape-%s-all.hsnap", cwd, program);
  }
  int rc = 0;
  if (repeat == 1) {
    args[2] = out;
    rc = run_once(nargs, args, out, with_children, cwd);
    if (rc == 0 && report) hsa_run_write_report(out);
    free(args);
    return rc;
  }
  size_t stem = strlen(out);
  if (stem > 6 && strcmp(out + stem - 6, ".hsnap") == 0) stem -= 6;
  char **runs = calloc((size_t)repeat, sizeof *runs);
  if (!runs) {
    free(args);
    return hsa_cli_error("out of memory");
  }
  long done = 0;
  for (; done < repeat; done++) {
    size_t n = stem + 32;
    if (!(runs[done] = malloc(n))) {
      rc = hsa_cli_error("out of memory");
      break;
    }
    snprintf(runs[done], n, "%.*s.run%ld.hsnap", (int)stem, out, done + 1);
    if (exists(runs[done])) unlink(runs[done]);
    args[2] = runs[done];
    fprintf(stderr, "heapshape: run %ld of %ld\n", done + 1, repeat);
    rc = run_once(nargs, args, runs[done], with_children, cwd);
    if (rc != 0) {
      fprintf(stderr, "heapshape: run %ld of %ld exited with status %d; not merging\n", done + 1,
              repeat, rc);
      done++;
      break;
    }
  }
  if (rc == 0) {
    rc = hsa_merge_files((const char *const *)runs, (size_t)repeat, HSA_MERGE_MEDIAN, out);
    if (rc == 0) {
      fprintf(stderr, "heapshape: median of %ld runs written to %s\n", repeat, out);
      if (report) hsa_run_write_report(out);
    }
  }
  for (long k = 0; k < done; k++) free(runs[k]);
  free(runs);
  free(args);
  return rc;
}
