/* heapshape root process without `heapshape run`: which process HEAPSHAPE_OUTPUT names, and
 * which one is the root of a tree profiled with HEAPSHAPE_DIR or a bare LD_PRELOAD.
 *
 * `heapshape run` (and the pytest plugin) set HEAPSHAPE_ROOT_PID to the process they start;
 * the environment carries it, so every process knows whether it is the root (which writes
 * to HEAPSHAPE_OUTPUT) or a child (which writes DIR/heapshape-PROGRAM-PID.hsnap). A user who
 * sets LD_PRELOAD and HEAPSHAPE_OUTPUT by hand has no root pid; the shim then takes as the root
 * the first profiled process of the tree: walking up from its parent, an ancestor belongs to
 * the tree when it was started with the same HEAPSHAPE_OUTPUT (read from /proc/PID/environ,
 * its environment at its exec) AND has this shim mapped (/proc/PID/maps: the same device and
 * inode as the mapping that holds this code). The root is the last ancestor of that chain, or
 * this process when its parent is not in the tree. A parent that has HEAPSHAPE_OUTPUT in its
 * environment but no shim (a shell, make, a driver script or a timing harness that runs
 * `LD_PRELOAD=libheapshape.so python app.py`) is not profiled, so the program it starts is the
 * root and writes HEAPSHAPE_OUTPUT; before 2026-12-05 that program took itself for a child,
 * wrote DIR/heapshape-PROGRAM-PID.hsnap instead and left the children's ledger
 * (child_budget.c) behind, since the root that deletes it was never profiled. A preloaded
 * parent that is not Python (a shell with the shim in its LD_PRELOAD) is part of the tree and
 * is its root, as under `heapshape run -- sh -c ...`.
 *
 * Every process of one tree finds the same root (not just its parent): the children's
 * snapshots share one disk budget and one ledger named after the root, which the root deletes
 * at its exit, so a grandchild (python running python running python) leaves no ledger named
 * after its parent. Fork children keep their parent's answer; the programs a process execs
 * find it again (their pid is in the tree). Without HEAPSHAPE_OUTPUT the same test runs on
 * HEAPSHAPE_DIR, else on LD_PRELOAD: the root always writes, the other processes by the rules
 * of writers.c. Nothing is added to the environment the program sees. When this code's own
 * mapping cannot be read, the environment alone decides (the rule before 2026-12-05).
 * Runs from the constructor: syscalls only, no stdio, no allocation. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/core.h"

#define HS_TREE_DEPTH 64 /* ancestors looked at, at most */

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

/* "/proc/PID/what" into path (64 bytes). */
static void hs_proc_path(char *path, int pid, const char *what) {
  char num[16];
  int nl = 0;
  for (unsigned v = (unsigned)pid; nl == 0 || v; v /= 10) num[nl++] = (char)('0' + v % 10);
  size_t at = 6;
  memcpy(path, "/proc/", 6);
  while (nl) path[at++] = num[--nl];
  memcpy(path + at, what, strlen(what) + 1);
}

/* A mapped file: device (major << 32 | minor) and inode. */
struct hs_file_id {
  uint64_t dev, ino;
};

/* Scans a maps file (lines "lo-hi perms offset major:minor inode [path]") line by line.
 * With addr != 0: stores in *id the file that the mapping holding addr maps, and returns 1.
 * With addr == 0: returns 1 when some line maps the file *id. Else 0. The paths are not
 * read, so lines of any length are fine. */
static int hs_maps_scan(int fd, uintptr_t addr, struct hs_file_id *id) {
  char buf[4096];
  uint64_t v = 0, lo = 0, hi = 0, major = 0, minor = 0;
  int field = 0; /* 0 lo, 1 hi, 2 perms, 3 offset, 4 major, 5 minor, 6 inode, 7 the rest */
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t k = 0; k < n; k++) {
      char c = buf[k];
      if (field == 6 && (c == ' ' || c == '\n')) { /* the line's fields are complete */
        field = 7;
        uint64_t dev = major << 32 | minor;
        if (addr && lo <= addr && addr < hi) {
          if (!v) return 0; /* anonymous memory */
          id->dev = dev;
          id->ino = v;
          return 1;
        }
        if (!addr && v && v == id->ino && dev == id->dev) return 1;
      }
      if (c == '\n') {
        field = 0;
        v = 0;
      } else if (field == 7) {
        continue;
      } else if ((field == 0 && c == '-') || (field == 4 && c == ':') ||
                 (c == ' ' && field != 0 && field != 4)) {
        if (field == 0) lo = v;
        else if (field == 1) hi = v;
        else if (field == 4) major = v;
        else if (field == 5) minor = v;
        field++;
        v = 0;
      } else if (field == 6) {
        if (c >= '0' && c <= '9') v = v * 10 + (uint64_t)(c - '0');
      } else if (field != 2) {
        if (c >= '0' && c <= '9') v = v << 4 | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v = v << 4 | (uint64_t)(c - 'a' + 10);
      }
    }
  }
  return 0;
}

/* 1 if /proc/PID/maps maps the file *id (with addr != 0: finds the file holding addr). */
static int hs_maps_of(int pid, uintptr_t addr, struct hs_file_id *id) {
  char path[64];
  if (pid) hs_proc_path(path, pid, "/maps");
  else memcpy(path, "/proc/self/maps", sizeof "/proc/self/maps");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int found = hs_maps_scan(fd, addr, id);
  close(fd);
  return found;
}

/* 1 if process pid was started with the environment entry want (of wlen bytes). */
static int hs_environ_of(int pid, const char *want, size_t wlen) {
  char path[64];
  hs_proc_path(path, pid, "/environ");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0; /* unreadable (another user): not in the tree */
  int has = hs_environ_has(fd, want, wlen);
  close(fd);
  return has;
}

/* Fields 3 and 4 of /proc/PID/stat, after the command name in parentheses (which may hold
 * any character): the state letter into *state and the parent's pid (0: unreadable). */
static int hs_stat_of(int pid, char *state) {
  char path[64], buf[512];
  *state = 0;
  hs_proc_path(path, pid, "/stat");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  ssize_t k = n - 1;
  while (k >= 0 && buf[k] != ')') k--; /* the fields after the name are numbers */
  if (k < 0 || k + 4 >= n) return 0;
  *state = buf[k + 2];
  k += 4; /* ") S " */
  int ppid = 0;
  for (; k < n && buf[k] >= '0' && buf[k] <= '9'; k++) ppid = ppid * 10 + (buf[k] - '0');
  return ppid;
}

int hs_pid_running(int pid) {
  char state;
  hs_stat_of(pid, &state);
  return state && state != 'Z' && state != 'X'; /* a zombie has exited */
}

int hs_tree_root_pid(int pid, const char *name, const char *value) {
  char want[HS_PATH_MAX + 32];
  size_t olen = strlen(value), w = strlen(name);
  if (olen + w + 2 > sizeof want) return pid;
  memcpy(want, name, w);
  want[w++] = '=';
  memcpy(want + w, value, olen);
  struct hs_file_id self;
  int self_known = -1; /* read on the first ancestor with the entry */
  int root = pid;
  int up = (int)syscall(SYS_getppid);
  for (int depth = 0; depth < HS_TREE_DEPTH && up > 0 && up != root; depth++) {
    if (!hs_environ_of(up, want, w + olen)) break;
    if (self_known < 0) self_known = hs_maps_of(0, (uintptr_t)&hs_tree_root_pid, &self);
    if (self_known && !hs_maps_of(up, 0, &self)) break; /* no shim: not profiled */
    root = up;
    char state;
    up = hs_stat_of(up, &state);
  }
  return root; /* ours, or an ancestor's: any pid but ours makes a child */
}
