/* heapshape: the disk budget of the child processes' snapshots in one run.
 *
 * writers.c lets a child write when it did work of its own (its heap rose 1 MiB), but a test
 * suite or a process pool starts hundreds of such children, each writing 1-3 MB (CPython's
 * test_multiprocessing_spawn alone wrote 450 snapshots, 1.1 GB, on 3.14 with that rule). So
 * the children of one root share a budget, HEAPSHAPE_CHILD_BUDGET MiB (default 128; 0: no
 * limit): each child that writes appends its snapshot's size to a ledger,
 * DIR/.heapshape-children-ROOTPID (8-byte records written with O_APPEND, one write each), and
 * a child that finds the ledger's sum at the budget writes nothing and appends a record
 * marking that (bit 63 set, its pid below). The check, the snapshot and its record are made
 * under an exclusive flock of the ledger, so children that end at the same moment (a pool's
 * workers) take turns instead of all passing the check (3.15's test_multiprocessing_fork
 * wrote 160 MiB against 128 without it). The lock is waited for at most 2 s: a holder that
 * died releases it with its descriptor, and one that stalls (a failed write keeps nothing
 * held: hs_budget_release) only slows the others down. `heapshape run` reads the ledger at
 * the end, says how many children the budget stopped, and deletes it; a root started by hand
 * (LD_PRELOAD set by the user) deletes it at its own exit, and so does each child that
 * outlives that root (after the root, a child's ledger only counts the children that outlived
 * it). Children writing at the same moment pass the budget by one snapshot at most (the last
 * one that found room). Not limited: the root, snapshots asked for (signal, API) and
 * --all-children (HEAPSHAPE_CHILDREN=all), which asks for every process.
 * Runs at exit or from the hooks: syscalls only, no stdio, no allocation. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload/core.h"

#define HS_BUDGET_SKIPPED (1ull << 63)

static int hs_ledger_fd = -1; /* held (locked) from the check to the snapshot's record */

static int hs_ledger_path(char *out, size_t cap) {
  static const char name[] = "/.heapshape-children-";
  size_t dl = strlen(hs_proc.dir), nl = sizeof name - 1;
  char num[16];
  int n = 0;
  for (unsigned v = (unsigned)hs_proc.root_pid; n == 0 || v; v /= 10) num[n++] = (char)('0' + v % 10);
  if (dl + nl + (size_t)n + 1 > cap) return -1;
  memcpy(out, hs_proc.dir, dl);
  memcpy(out + dl, name, nl);
  size_t at = dl + nl;
  while (n) out[at++] = num[--n];
  out[at] = '\0';
  return 0;
}

static void hs_ledger_append(uint64_t rec) {
  char path[HS_PATH_MAX + 48];
  if (hs_ledger_path(path, sizeof path) < 0) return;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t w = write(fd, &rec, sizeof rec);
  (void)w;
  close(fd);
}

static void hs_ledger_lock(int fd) {
  struct timespec nap = {0, 2 * 1000 * 1000};
  for (int i = 0; i < 1000; i++) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return;
    if (errno != EWOULDBLOCK && errno != EINTR) return; /* no flock here: go on unlocked */
    nanosleep(&nap, NULL);
  }
}

int hs_budget_allows(void) {
  hs_budget_release();
  if (!hs_proc.root_pid || hs_proc.pid == hs_proc.root_pid || hs_proc.child_budget_mib == 0)
    return 1;
  char path[HS_PATH_MAX + 48];
  if (hs_ledger_path(path, sizeof path) < 0) return 1;
  uint64_t used = 0, limit = (uint64_t)hs_proc.child_budget_mib << 20;
  int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return 1;
  hs_ledger_lock(fd);
  uint64_t recs[512];
  ssize_t n;
  off_t at = 0;
  while ((n = pread(fd, recs, sizeof recs, at)) > 0) {
    at += n;
    for (ssize_t i = 0; i < n / (ssize_t)sizeof recs[0]; i++)
      if (!(recs[i] & HS_BUDGET_SKIPPED)) used += recs[i];
  }
  if (used >= limit) {
    uint64_t rec = HS_BUDGET_SKIPPED | (uint64_t)(unsigned)hs_proc.pid;
    ssize_t w = write(fd, &rec, sizeof rec);
    (void)w;
    close(fd);
    return 0;
  }
  hs_ledger_fd = fd;
  hs_proc.budget_pending = 1;
  return 1;
}

void hs_budget_note(uint64_t bytes) {
  if (!hs_proc.budget_pending) return;
  uint64_t rec = bytes & ~HS_BUDGET_SKIPPED;
  if (hs_ledger_fd >= 0) {
    ssize_t w = write(hs_ledger_fd, &rec, sizeof rec);
    (void)w;
  } else {
    hs_ledger_append(rec);
  }
  hs_budget_release();
}

/* Drops the lock without a record: the snapshot was not written, or this is a forked child
 * (its copy of the descriptor does not hold the parent's lock: closing it leaves the parent's). */
void hs_budget_release(void) {
  hs_proc.budget_pending = 0;
  if (hs_ledger_fd >= 0) close(hs_ledger_fd);
  hs_ledger_fd = -1;
}

/* Removes the temporaries (".NAME.PID.hstmp", snapshot_write.c) that processes now gone left
 * in DIR when they were killed while they wrote a snapshot: a pool's workers write their exit
 * snapshots while Pool.terminate() sends them SIGTERM. `heapshape run` does the same at the
 * end of a run (analyzer/run.c remove_stale_temporaries); a root started by hand does it at
 * its exit, when the children it waited for are gone. */
static void hs_remove_stale_temporaries(void) {
  struct hs_dirent64 { /* the kernel's struct linux_dirent64 */
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
  };
  int dfd = open(hs_proc.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  char buf[4096] __attribute__((aligned(8)));
  long n;
  while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
    for (long at = 0; at < n;) {
      const struct hs_dirent64 *e = (const struct hs_dirent64 *)(buf + at);
      at += e->reclen;
      const char *name = e->name;
      size_t len = strlen(name), p;
      if (name[0] != '.' || len < 8 || memcmp(name + len - 6, ".hstmp", 6) != 0) continue;
      for (p = len - 6; p > 1 && name[p - 1] >= '0' && name[p - 1] <= '9'; p--) {
      }
      if (p == len - 6 || len - 6 - p > 9 || name[p - 1] != '.') continue;
      int pid = 0;
      for (size_t k = p; k < len - 6; k++) pid = pid * 10 + (name[k] - '0');
      /* kill: a process of another pid namespace that /proc does not show is not gone */
      if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;
      unlinkat(dfd, name, 0);
    }
  }
  close(dfd);
}

/* At the exit of a process of a tree started by hand: the root deletes the ledger (and the
 * stale temporaries), and so does a child that outlives the root (multiprocessing's resource
 * tracker and forkserver end after it, when its pipes close: the ledger they start again
 * would be left behind). */
void hs_budget_close(void) {
  if (!hs_proc.root_by_hand || !hs_proc.root_pid) return;
  int root = hs_proc.pid == hs_proc.root_pid;
  if (!root && hs_pid_running(hs_proc.root_pid)) return;
  char path[HS_PATH_MAX + 48];
  if (hs_ledger_path(path, sizeof path) == 0) unlink(path);
  if (root) hs_remove_stale_temporaries();
}

/* The very end of a root started by hand (destructor or _exit, after the interpreter's
 * finalization): the ledger again, for the children that ended between its exit snapshot and
 * now; a child ending later sees the root gone (hs_budget_close). */
void hs_budget_exit(void) {
  if (!hs_proc.root_by_hand || hs_proc.pid != hs_proc.root_pid || !hs_proc.root_pid) return;
  if ((int)syscall(SYS_getpid) != hs_proc.pid) return; /* a vfork child shares our memory */
  char path[HS_PATH_MAX + 48];
  if (hs_ledger_path(path, sizeof path) == 0) unlink(path);
}
