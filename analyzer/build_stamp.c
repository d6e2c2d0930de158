/* heapshape CLI: the ./heapshape wrapper's "is the build current" check (see build_stamp.h). */
#define _GNU_SOURCE
#include "analyzer/build_stamp.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct stamp {
  char **lines; /* "f PATH" / "d PATH", sorted (the wrapper writes them with sort -u) */
  size_t n;
  struct timespec mtime;
  int root; /* open directory fd of the repository */
};

static int newer(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int listed(const struct stamp *s, char kind, const char *path) {
  char key[PATH_MAX + 3];
  snprintf(key, sizeof key, "%c %s", kind, path);
  const char *k = key;
  return bsearch(&k, s->lines, s->n, sizeof *s->lines, cmp_str) != NULL;
}

static int is_source_path(const char *p) {
  static const char *const roots[] = {"preload/", "analyzer/", "include/", "third_party/"};
  for (size_t i = 0; i < sizeof roots / sizeof *roots; i++)
    if (strncmp(p, roots[i], strlen(roots[i])) == 0) return 1;
  return 0;
}

static int is_build_name(const char *name) {
  size_t n = strlen(name);
  return strcmp(name, "BUILD") == 0 || strcmp(name, "BUILD.bazel") == 0 ||
         strcmp(name, "WORKSPACE") == 0 || (n > 4 && strcmp(name + n - 4, ".bzl") == 0);
}

/* 1 if dir (relative to the repo) holds a BUILD/.bzl file, looking depth levels down. */
static int has_build_file(int root, const char *dir, int depth) {
  int fd = openat(root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return 0;
  }
  int found = 0;
  struct dirent *e;
  while (!found && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (e->d_type == DT_DIR) {
      char sub[PATH_MAX];
      if (depth > 0 && snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) < (int)sizeof sub)
        found = has_build_file(root, sub, depth - 1);
    } else if (is_build_name(e->d_name)) {
      found = 1;
    }
  }
  closedir(d);
  return found;
}

/* 1 if something was added to or removed from the (changed) directory dir that needs a build. */
static int dir_needs_build(const struct stamp *s, const char *dir) {
  int fd = openat(s->root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 1; /* a listed directory is gone */
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return 1;
  }
  int stale = 0;
  struct dirent *e;
  while (!stale && (e = readdir(d))) {
    const char *name = e->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    char rel[PATH_MAX];
    if (strcmp(dir, ".") == 0) snprintf(rel, sizeof rel, "%s", name);
    else if (snprintf(rel, sizeof rel, "%s/%s", dir, name) >= (int)sizeof rel) continue;
    if (e->d_type == DT_DIR) {
      /* a new directory (not a hidden one, a venv or a cache): BUILD files 3 levels in */
      if (listed(s, 'd', rel) || name[0] == '.' || strcmp(name, "__pycache__") == 0 ||
          strncmp(name, "bazel-", 6) == 0)
        continue;
      stale = is_source_path(rel) || has_build_file(s->root, rel, 2);
    } else if (e->d_type != DT_LNK) {
      if ((is_source_path(rel) || is_build_name(name)) && !listed(s, 'f', rel)) stale = 1;
    }
  }
  closedir(d);
  return stale;
}

int hsa_build_stale(const char *stamp_path, const char *repo) {
  struct stamp s;
  memset(&s, 0, sizeof s);
  struct stat st;
  FILE *f = fopen(stamp_path, "re");
  if (!f) return 1;
  if (fstat(fileno(f), &st) != 0) {
    fclose(f);
    return 1;
  }
  s.mtime = st.st_mtim;
  size_t cap = 0;
  char *line = NULL;
  size_t lcap = 0;
  ssize_t len;
  int stale = 0;
  while ((len = getline(&line, &lcap, f)) > 0) {
    if (line[len - 1] == '\n') line[--len] = '\0';
    if (len < 3 || (line[0] != 'f' && line[0] != 'd') || line[1] != ' ') continue;
    if (s.n == cap) {
      cap = cap ? 2 * cap : 256;
      char **p = realloc(s.lines, cap * sizeof *p);
      if (!p) {
        stale = 1;
        break;
      }
      s.lines = p;
    }
    if (!(s.lines[s.n] = strdup(line))) {
      stale = 1;
      break;
    }
    s.n++;
  }
  free(line);
  fclose(f);
  s.root = open(repo, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s.root < 0 || s.n == 0) stale = 1;
  if (!stale) qsort(s.lines, s.n, sizeof *s.lines, cmp_str); /* sort(1)'s order may differ */
  /* every listed file: newer than the stamp, or gone */
  for (size_t i = 0; i < s.n && !stale; i++) {
    if (s.lines[i][0] != 'f') continue;
    if (fstatat(s.root, s.lines[i] + 2, &st, 0) != 0 || newer(&st.st_mtim, &s.mtime)) stale = 1;
  }
  /* every changed directory: something added or removed there */
  for (size_t i = 0; i < s.n && !stale; i++) {
    if (s.lines[i][0] != 'd') continue;
    if (fstatat(s.root, s.lines[i] + 2, &st, 0) != 0) stale = 1;
    else if (newer(&st.st_mtim, &s.mtime)) stale = dir_needs_build(&s, s.lines[i] + 2);
  }
  for (size_t i = 0; i < s.n; i++) free(s.lines[i]);
  free(s.lines);
  if (s.root >= 0) close(s.root);
  return stale;
}

void hsa_build_check(char **argv) {
  const char *stamp = getenv("HEAPSHAPE_BUILD_STAMP");
  const char *wrapper = getenv("HEAPSHAPE_WRAPPER");
  const char *built = getenv("HEAPSHAPE_JUST_BUILT");
  if (!stamp || !wrapper || !stamp[0] || !wrapper[0]) return;
  char st[PATH_MAX], wr[PATH_MAX];
  snprintf(st, sizeof st, "%s", stamp);
  snprintf(wr, sizeof wr, "%s", wrapper);
  int skip = built && built[0];
  /* the program run by `heapshape run` and anything it starts never sees these */
  unsetenv("HEAPSHAPE_BUILD_STAMP");
  unsetenv("HEAPSHAPE_WRAPPER");
  unsetenv("HEAPSHAPE_JUST_BUILT");
  if (skip) return; /* just built: never loop, even on a file dated in the future */
  char repo[PATH_MAX];
  snprintf(repo, sizeof repo, "%s", wr);
  char *slash = strrchr(repo, '/');
  if (!slash) return;
  *slash = '\0';
  if (!hsa_build_stale(st, repo)) return;
  setenv("HEAPSHAPE_FORCE_BUILD", "1", 1);
  execv(wr, argv);
  /* the wrapper cannot be run again: go on with the build we have */
  unsetenv("HEAPSHAPE_FORCE_BUILD");
}
