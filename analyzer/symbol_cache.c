/* heapshape analyzer: per-user cache of native symbolization (see symbol_cache.h). */
#include "analyzer/symbol_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uthash.h>

#define SYMCACHE_HEADER "heapshape-symbols 1\n"
#define SYMCACHE_MAX_BYTES (64u << 20)

struct entry {
  uint64_t addr; /* hash key */
  int line;
  char *function; /* NULL: none */
  char *file;
  int is_new; /* not in the file yet */
  UT_hash_handle hh;
};

struct hsa_symcache {
  char path[PATH_MAX];
  struct entry *entries;
  size_t nnew;
};

static int cache_dir(char *out, size_t outlen) {
  const char *off = getenv("HEAPSHAPE_SYMBOL_CACHE");
  if (off && strcmp(off, "0") == 0) return -1;
  const char *d = getenv("HEAPSHAPE_CACHE_DIR");
  int w;
  if (d && d[0]) {
    w = snprintf(out, outlen, "%s", d);
  } else if ((d = getenv("XDG_CACHE_HOME")) && d[0] == '/') {
    w = snprintf(out, outlen, "%s/heapshape", d);
  } else if ((d = getenv("HOME")) && d[0] == '/') {
    w = snprintf(out, outlen, "%s/.cache/heapshape", d);
  } else {
    return -1;
  }
  return w > 0 && (size_t)w < outlen ? 0 : -1;
}

static int valid_build_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 2 * HSA_BUILD_ID_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return 0;
  return 1;
}

int hsa_symcache_path(const char *build_id, char *out, size_t outlen) {
  char dir[PATH_MAX];
  if (!build_id || !valid_build_id(build_id) || cache_dir(dir, sizeof dir) != 0) return -1;
  int w = snprintf(out, outlen, "%s/symbols/%s.syms", dir, build_id);
  return w > 0 && (size_t)w < outlen ? 0 : -1;
}

static char *dup_field(const char *s, size_t n) {
  if (n == 0) return NULL;
  char *p = malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

static void free_entry(struct entry *e) {
  free(e->function);
  free(e->file);
  free(e);
}

/* Adds or replaces the entry for addr; takes function and file. */
static struct entry *add_entry(struct hsa_symcache *c, uint64_t addr, int line, char *function,
                               char *file) {
  struct entry *e = NULL;
  HASH_FIND(hh, c->entries, &addr, sizeof addr, e);
  if (e) {
    HASH_DEL(c->entries, e);
    free_entry(e);
  }
  e = calloc(1, sizeof *e);
  if (!e) {
    free(function);
    free(file);
    return NULL;
  }
  e->addr = addr;
  e->line = line;
  e->function = function;
  e->file = file;
  HASH_ADD(hh, c->entries, addr, sizeof e->addr, e);
  return e;
}

/* Parses the file's text (buf, n bytes). */
static void parse(struct hsa_symcache *c, const char *buf, size_t n) {
  size_t hl = strlen(SYMCACHE_HEADER);
  if (n < hl || memcmp(buf, SYMCACHE_HEADER, hl) != 0) return;
  const char *p = buf + hl, *end = buf + n;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return; /* a line cut short */
    const char *line_start = p;
    p = nl + 1; /* a malformed line (two commands' headers, say) is skipped */
    const char *f[4];
    size_t len[4];
    const char *q = line_start;
    int k;
    for (k = 0; k < 4; k++) {
      const char *t = k < 3 ? memchr(q, '\t', (size_t)(nl - q)) : nl;
      if (!t) break;
      f[k] = q;
      len[k] = (size_t)(t - q);
      q = t + 1;
    }
    char num[24];
    if (k < 4 || len[0] == 0 || len[0] >= sizeof num || len[1] >= sizeof num) continue;
    memcpy(num, f[0], len[0]);
    num[len[0]] = '\0';
    char *e;
    uint64_t addr = strtoull(num, &e, 16);
    if (*e) continue;
    memcpy(num, f[1], len[1]);
    num[len[1]] = '\0';
    long line = strtol(num, &e, 10);
    if (*e || line < 0 || line > INT_MAX) continue;
    char *fn = dup_field(f[2], len[2]), *file = dup_field(f[3], len[3]);
    if ((len[2] && !fn) || (len[3] && !file)) {
      free(fn);
      free(file);
      return;
    }
    add_entry(c, addr, (int)line, fn, file);
  }
}

struct hsa_symcache *hsa_symcache_open(const char *build_id) {
  struct hsa_symcache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (hsa_symcache_path(build_id, c->path, sizeof c->path) != 0) {
    free(c);
    return NULL;
  }
  int fd = open(c->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      (uint64_t)st.st_size <= SYMCACHE_MAX_BYTES) {
    size_t n = (size_t)st.st_size, got = 0;
    char *buf = malloc(n);
    while (buf && got < n) {
      ssize_t r = read(fd, buf + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += (size_t)r;
    }
    if (buf) parse(c, buf, got);
    free(buf);
  }
  if (fd >= 0) close(fd);
  return c;
}

int hsa_symcache_get(struct hsa_symcache *c, uint64_t addr, struct hsa_symbol *out) {
  struct entry *e = NULL;
  if (!c) return 0;
  HASH_FIND(hh, c->entries, &addr, sizeof addr, e);
  if (!e) return 0;
  out->function = e->function;
  out->file = e->file;
  out->line = e->file ? e->line : 0;
  return 1;
}

static int storable(const char *s) { return !s || !strpbrk(s, "\t\n"); }

void hsa_symcache_put(struct hsa_symcache *c, uint64_t addr, const struct hsa_symbol *sym) {
  if (!c || !storable(sym->function) || !storable(sym->file)) return;
  char *fn = sym->function && sym->function[0] ? strdup(sym->function) : NULL;
  char *file = sym->file && sym->file[0] ? strdup(sym->file) : NULL;
  struct entry *e = add_entry(c, addr, sym->line, fn, file);
  if (e) {
    e->is_new = 1;
    c->nnew++;
  }
}

/* mkdir -p of the directory part of path (mode 0700: symbol names are the user's business). */
static void make_parents(const char *path) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *s = tmp + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    mkdir(tmp, 0700);
    *s = '/';
  }
}

static void write_new(struct hsa_symcache *c) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  if (!buf) return;
  struct entry *e, *tmp;
  HASH_ITER(hh, c->entries, e, tmp) {
    if (!e->is_new) continue;
    size_t need = 64 + (e->function ? strlen(e->function) : 0) + (e->file ? strlen(e->file) : 0);
    if (len + need > cap) {
      size_t ncap = 2 * cap + need;
      char *p = realloc(buf, ncap);
      if (!p) break;
      buf = p;
      cap = ncap;
    }
    len += (size_t)snprintf(buf + len, cap - len, "%" PRIx64 "\t%d\t%s\t%s\n", e->addr,
                            e->file ? e->line : 0, e->function ? e->function : "",
                            e->file ? e->file : "");
  }
  make_parents(c->path);
  int fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      (uint64_t)st.st_size + len <= SYMCACHE_MAX_BYTES) {
    /* a new (or emptied) file gets its header first, in the same write */
    size_t hl = st.st_size == 0 ? strlen(SYMCACHE_HEADER) : 0;
    char *out = malloc(hl + len);
    if (out) {
      memcpy(out, SYMCACHE_HEADER, hl);
      memcpy(out + hl, buf, len);
      ssize_t w = write(fd, out, hl + len);
      (void)w; /* a cache: a failed write costs a later lookup, nothing else */
      free(out);
    }
  }
  if (fd >= 0) close(fd);
  free(buf);
}

void hsa_symcache_close(struct hsa_symcache *c) {
  if (!c) return;
  if (c->nnew) write_new(c);
  struct entry *e, *tmp;
  HASH_ITER(hh, c->entries, e, tmp) {
    HASH_DEL(c->entries, e);
    free_entry(e);
  }
  free(c);
}
