/* heapshape analyzer: the shim where every user can load it.
 *
 * A program under `heapshape run` may start children as another user (test_subprocess does;
 * so do servers that drop privileges). The loader then opens LD_PRELOAD's path with that
 * user's rights, and when it cannot (the shim built under root's Bazel output base, in a home
 * directory of mode 0700) it prints "object ... cannot be preloaded" into the child's stderr.
 * So when the shim found is not readable by everyone, `run` preloads a copy of it placed in
 * /tmp/heapshape-UID/ (created 0755 by this user; used only when it is a real directory owned
 * by this user that nobody else can write into, so no other user can swap the library that
 * the program loads), named by the original's size and modification time, written to a
 * temporary and renamed into place. Anything unexpected: the original path, as before. */
#define _GNU_SOURCE
#include "analyzer/shim_access.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 when path and every directory above it can be read (searched) by any user. */
static int readable_by_all(const char *path) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s", path);
  struct stat st;
  if (stat(p, &st) != 0 || !(st.st_mode & S_IROTH)) return 0;
  for (char *slash = strrchr(p, '/'); slash && slash != p; slash = strrchr(p, '/')) {
    *slash = '\0';
    if (stat(p, &st) != 0 || !(st.st_mode & S_IXOTH)) return 0;
  }
  return 1;
}

/* dir is ours and safe: a real directory, owned by us, writable by nobody else. */
static int safe_dir(const char *dir) {
  struct stat st;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) return 0;
  if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) || !(st.st_mode & S_IXOTH))
    return 0;
  return 1;
}

static int copy_file(const char *from, const char *tmp, const char *to) {
  int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0) return -1;
  int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (out < 0) {
    close(in);
    return -1;
  }
  char buf[1 << 16];
  ssize_t n;
  int ok = 1;
  while (ok && (n = read(in, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = 0;
      break;
    }
    for (ssize_t done = 0; ok && done < n;) {
      ssize_t w = write(out, buf + done, (size_t)(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) ok = 0;
      else done += w;
    }
  }
  close(in);
  if (fchmod(out, 0644) != 0) ok = 0;
  if (close(out) != 0) ok = 0;
  if (!ok || rename(tmp, to) != 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

int hsa_shim_for_all_users(const char *shim, char *out, size_t outlen) {
  snprintf(out, outlen, "%s", shim);
  if (readable_by_all(shim)) return 0;
  struct stat st;
  if (stat(shim, &st) != 0) return 0;
  char dir[64], path[PATH_MAX], tmp[PATH_MAX + 32];
  snprintf(dir, sizeof dir, "/tmp/heapshape-%lu", (unsigned long)geteuid());
  if (!safe_dir(dir)) return 0;
  snprintf(path, sizeof path, "%s/libheapshape-%lld-%lld.%09ld.so", dir, (long long)st.st_size,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  struct stat cp;
  if (lstat(path, &cp) == 0) {
    if (S_ISREG(cp.st_mode) && cp.st_uid == geteuid() && cp.st_size == st.st_size &&
        !(cp.st_mode & (S_IWGRP | S_IWOTH)) && (cp.st_mode & S_IROTH)) {
      snprintf(out, outlen, "%s", path);
    }
    return 0;
  }
  snprintf(tmp, sizeof tmp, "%s/.copy.%ld", dir, (long)getpid());
  unlink(tmp);
  if (copy_file(shim, tmp, path) == 0) snprintf(out, outlen, "%s", path);
  return 0;
}
