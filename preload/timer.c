/* heapshape: time-driven periodic snapshots (HEAPSHAPE_INTERVAL, `run --interval`), and
 * snapshot-signal requests of an idle program.
 *
 * A thread of the shim's own, started with every signal blocked (it never receives the
 * program's signals), wakes every interval and asks for a snapshot. A thread holding the GIL
 * takes it at its next hook entry, with the object census, as for the snapshot signal; when
 * none does within a grace period (a tenth of the interval, at most 50 ms: the program sleeps,
 * waits in select, or runs C code without the GIL), the timer thread claims the request and
 * writes the snapshot itself, without the census (the same for a snapshot-signal request in
 * the program `heapshape run` started, whose handler wakes the thread): it never touches Python objects or the
 * interpreter, only the shim's tables under hs_lock, as a snapshot of a C program does. It
 * allocates nothing through the hooked allocator and its own allocations are not recorded
 * (hs_busy is set for the whole thread).
 *
 * fork: the thread is stopped in the prepare handler and started again lazily in the parent
 * (from the hooks, every 1024 events of a thread), so that CPython 3.12+'s os.fork(), which
 * counts the process's threads right after fork() returns, does not warn that the program is
 * multi-threaded. A forked child starts none: its periodic snapshots come from the hooks, as
 * before 2026-12-03 (a child that only execs should not get a thread, nor write anything).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload/core.h"

int hs_timer_running;              /* the timer thread exists (the hooks then ask no more) */
static int hs_timer_wanted;        /* start it (again) when possible */
static unsigned hs_svc_word;       /* futex: bit 31 = stop, the rest counts requests (kicks) */
#define HS_SVC_STOP 0x80000000u
static pthread_t hs_timer_thread;
static int hs_timer_pid;           /* process that owns the thread */

static uint64_t hs_timer_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void hs_svc_wake(void) {
  syscall(SYS_futex, &hs_svc_word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
}

/* Async-signal-safe: the snapshot signal's handler wakes the thread (when there is one). */
void hs_timer_kick(void) {
  __atomic_add_fetch(&hs_svc_word, 1, __ATOMIC_RELEASE);
  hs_svc_wake();
}

/* Sleeps up to ns (UINT64_MAX: until woken) or until kicked or asked to stop; returns 1 when
 * asked to stop. */
static int hs_timer_wait(uint64_t ns) {
  static unsigned seen;
  unsigned v = __atomic_load_n(&hs_svc_word, __ATOMIC_ACQUIRE);
  if (v & HS_SVC_STOP) return 1;
  if (v != seen) {
    seen = v;
    return 0;
  }
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  syscall(SYS_futex, &hs_svc_word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, v,
          ns == UINT64_MAX ? NULL : &ts, NULL, 0);
  v = __atomic_load_n(&hs_svc_word, __ATOMIC_ACQUIRE);
  seen = v & ~HS_SVC_STOP;
  return (v & HS_SVC_STOP) != 0;
}

static void *hs_timer_main(void *arg) {
  (void)arg;
  hs_busy = 1;
  prctl(PR_SET_NAME, "heapshape-timer", 0, 0, 0);
  uint64_t iv = hs_proc.interval_ns;
  uint64_t grace = iv && iv / 10 < 50000000u ? iv / 10 : 50000000u;
  uint64_t next = iv ? hs_timer_mono() + iv : UINT64_MAX;
  for (;;) {
    uint64_t now = hs_timer_mono();
    if (!hs_dump_requested && (!iv || now < next) &&
        hs_timer_wait(iv ? next - now : UINT64_MAX))
      break;
    if (!hs_active || hs_proc.final_written) break;
    now = hs_timer_mono();
    if (iv && now >= next) {
      hs_request_dump(HS_REASON_INTERVAL);
      next += iv;
      if (next <= now) next = now + iv; /* a snapshot took longer than the interval */
    }
    if (!hs_dump_requested) continue;
    /* a thread holding the GIL may take it, with the object census */
    for (uint64_t waited = 0; waited < grace && hs_dump_requested; waited += 1000000u) {
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, NULL);
    }
    uint32_t reason = hs_dump_reason;
    if (hs_active && __atomic_exchange_n(&hs_dump_requested, 0, __ATOMIC_SEQ_CST) &&
        (reason != HS_REASON_INTERVAL || hs_proc_writes()))
      hs_snapshot_write(NULL, reason);
  }
  return NULL;
}

static void hs_timer_start_now(void) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits the mask */
  __atomic_and_fetch(&hs_svc_word, ~HS_SVC_STOP, __ATOMIC_RELEASE);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 << 10);
  int ok = pthread_create(&hs_timer_thread, &attr, hs_timer_main, NULL) == 0;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (ok) {
    hs_timer_running = 1;
    hs_timer_pid = hs_proc.pid;
  }
  hs_timer_wanted = 0;
}

static void hs_timer_prepare(void) {
  if (!hs_timer_running || hs_timer_pid != hs_proc.pid) return;
  __atomic_or_fetch(&hs_svc_word, HS_SVC_STOP, __ATOMIC_RELEASE);
  hs_svc_wake();
  pthread_join(hs_timer_thread, NULL); /* waits for a snapshot it may be writing */
  hs_timer_running = 0;
  hs_timer_wanted = 1;
}

static void hs_timer_child(void) {
  hs_timer_running = 0; /* the thread does not exist here */
  hs_timer_wanted = 0;
}

void hs_timer_init(void) {
  /* periodic snapshots; and the snapshot signal of the program `heapshape run` started,
   * which must be served while it sleeps (children are served by their hooks only) */
  if (!hs_proc.interval_ns && !(hs_snap_signal && hs_proc.root_pid == hs_proc.pid)) return;
  /* registered after core.c's handlers: its prepare runs first, before hs_lock is taken */
  pthread_atfork(hs_timer_prepare, NULL, hs_timer_child);
  hs_timer_start_now();
}

void hs_timer_resume(void) {
  if (hs_timer_wanted && !hs_timer_running && hs_active && !hs_proc.final_written &&
      (int)syscall(SYS_getpid) == hs_proc.pid)
    hs_timer_start_now();
}
