/* heapshape root process without `heapshape run`: which process HEAPSHAPE_OUTPUT names, and
 * which one is the root of a tree profiled with HEAPSHAPE_DIR or a bare LD_PRELOAD.
 *
 * `heapshape run` (and the pytest plugin) set HEAPSHAPE_ROOT_PID to the process they start;
 * the environment carries it, so every process knows whether it is the root (which writes
 * to HEAPSHAPE_OUTPUT) or a child (which writes DIR/heapshape-PROGRAM-PID.hsnap). A user who
 * sets LD_PRELOAD and HEAPSHAPE_OUTPUT by hand has no root pid; the shim then takes as the root
 * the first process of the tree: the one whose parent was not started with the same
 * HEAPSHAPE_OUTPUT (read from /proc/PPID/environ, the parent's environment at its exec). Its
 * fork children have another pid; the programs it execs see HEAPSHAPE_OUTPUT in their parent
 * and write their own files, as under `heapshape run`. Without HEAPSHAPE_OUTPUT the same test
 * runs on HEAPSHAPE_DIR, else on LD_PRELOAD: the root always writes, the other processes by
 * the rules of writers.c. Nothing is added to the environment the program sees. Runs from the
 * constructor: no stdio, no allocation. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/core.h"

/* 1 if the NUL-separated environment in file fd has the entry want (of wlen bytes). */
static int hs_environ_has(int fd, const char *want, size_t wlen) {
  char buf[4096];
  size_t at = 0; /* bytes of the current entry matched so far; wlen + 1: not a match */
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t k = 0; k < n; k++) {
      char c = buf[k];
      if (c == '\0') {
        if (at == wlen) return 1;
        at = 0;
      } else if (at < wlen && c == want[at]) {
        at++;
      } else {
        at = wlen + 1;
      }
    }
  }
  return 0;
}

int hs_tree_root_pid(int pid, const char *name, const char *value) {
  char want[HS_PATH_MAX + 32], path[64];
  size_t olen = strlen(value), w = strlen(name);
  if (olen + w + 2 > sizeof want) return pid;
  memcpy(want, name, w);
  want[w++] = '=';
  memcpy(want + w, value, olen);
  int ppid = (int)syscall(SYS_getppid);
  /* "/proc/PPID/environ" */
  char num[16];
  int nl = 0;
  for (int v = ppid; nl == 0 || v; v /= 10) num[nl++] = (char)('0' + v % 10);
  size_t at = 0;
  memcpy(path, "/proc/", 6);
  at = 6;
  while (nl) path[at++] = num[--nl];
  memcpy(path + at, "/environ", sizeof "/environ");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pid; /* unreadable (another user): we are the root */
  int child = hs_environ_has(fd, want, w + olen);
  close(fd);
  return child ? ppid : pid; /* a child: any pid but ours */
}
