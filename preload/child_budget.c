/* heapshape: the disk budget of the child processes' snapshots in one run.
 *
 * writers.c lets a child write when it did work of its own (its heap rose 1 MiB), but a test
 * suite or a process pool starts hundreds of such children, each writing 1-3 MB (CPython's
 * test_multiprocessing_spawn alone wrote 450 snapshots, 1.1 GB, on 3.14 with that rule). So
 * the children of one root share a budget, HEAPSHAPE_CHILD_BUDGET MiB (default 128; 0: no
 * limit): each child that writes appends its snapshot's size to a ledger,
 * DIR/.heapshape-children-ROOTPID (8-byte records written with O_APPEND, one write each), and
 * a child that finds the ledger's sum at the budget writes nothing and appends a record
 * marking that (bit 63 set, its pid below). `heapshape run` reads the ledger at the end, says
 * how many children the budget stopped, and deletes it; a root started by hand (LD_PRELOAD set
 * by the user) deletes it at its own exit. Children writing at the same moment
 * may pass the budget by their own snapshots. Not limited: the root, snapshots asked for
 * (signal, API) and --all-children (HEAPSHAPE_CHILDREN=all), which asks for every process.
 * Runs at exit or from the hooks: syscalls only, no stdio, no allocation. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "preload/core.h"

#define HS_BUDGET_SKIPPED (1ull << 63)

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

int hs_budget_allows(void) {
  hs_proc.budget_pending = 0;
  if (!hs_proc.root_pid || hs_proc.pid == hs_proc.root_pid || hs_proc.child_budget_mib == 0)
    return 1;
  char path[HS_PATH_MAX + 48];
  if (hs_ledger_path(path, sizeof path) < 0) return 1;
  uint64_t used = 0, limit = (uint64_t)hs_proc.child_budget_mib << 20;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    uint64_t recs[512];
    ssize_t n;
    while ((n = read(fd, recs, sizeof recs)) > 0)
      for (ssize_t i = 0; i < n / (ssize_t)sizeof recs[0]; i++)
        if (!(recs[i] & HS_BUDGET_SKIPPED)) used += recs[i];
    close(fd);
  }
  if (used >= limit) {
    hs_ledger_append(HS_BUDGET_SKIPPED | (uint64_t)(unsigned)hs_proc.pid);
    return 0;
  }
  hs_proc.budget_pending = 1;
  return 1;
}

void hs_budget_note(uint64_t bytes) {
  if (!hs_proc.budget_pending) return;
  hs_proc.budget_pending = 0;
  hs_ledger_append(bytes & ~HS_BUDGET_SKIPPED);
}

void hs_budget_close(void) {
  if (!hs_proc.root_by_hand || !hs_proc.root_pid || hs_proc.pid != hs_proc.root_pid) return;
  char path[HS_PATH_MAX + 48];
  if (hs_ledger_path(path, sizeof path) == 0) unlink(path);
}
