/* heapshape: time-driven periodic snapshots (HEAPSHAPE_INTERVAL, `run --interval`).
 *
 * A thread of the shim's own, started with every signal blocked (it never receives the
 * program's signals), wakes every interval and asks for a snapshot. A thread holding the GIL
 * takes it at its next hook entry, with the object census, as for the snapshot signal; when
 * none does within a grace period (a tenth of the interval, at most 50 ms: the program sleeps,
 * waits in select, or runs C code without the GIL), the timer thread claims the request and
 * writes the snapshot itself, without the census: it never touches Python objects or the
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
static int hs_timer_stop_word;     /* futex: 1 = stop */
static pthread_t hs_timer_thread;
static int hs_timer_pid;           /* process that owns the thread */

static uint64_t hs_timer_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps up to ns or until asked to stop; returns 1 when asked to stop. */
static int hs_timer_wait(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  if (__atomic_load_n(&hs_timer_stop_word, __ATOMIC_ACQUIRE)) return 1;
  syscall(SYS_futex, &hs_timer_stop_word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, &ts, NULL, 0);
  return __atomic_load_n(&hs_timer_stop_word, __ATOMIC_ACQUIRE) != 0;
}

static void *hs_timer_main(void *arg) {
  (void)arg;
  hs_busy = 1;
  prctl(PR_SET_NAME, "heapshape-timer", 0, 0, 0);
  uint64_t iv = hs_proc.interval_ns, grace = iv / 10 < 50000000u ? iv / 10 : 50000000u;
  uint64_t next = hs_timer_mono() + iv;
  for (;;) {
    uint64_t now = hs_timer_mono();
    if (now < next && hs_timer_wait(next - now)) break;
    if (hs_timer_mono() < next) continue; /* woken early */
    if (!hs_active || hs_proc.final_written) break;
    hs_request_dump(HS_REASON_INTERVAL);
    /* a thread holding the GIL may take it, with the object census */
    for (uint64_t waited = 0; waited < grace && hs_dump_requested; waited += 1000000u)
      if (hs_timer_wait(1000000u)) return NULL;
    if (hs_active && __atomic_exchange_n(&hs_dump_requested, 0, __ATOMIC_SEQ_CST) &&
        hs_proc_writes())
      hs_snapshot_write(NULL, HS_REASON_INTERVAL);
    next += iv;
    now = hs_timer_mono();
    if (next <= now) next = now + iv; /* the snapshot took longer than the interval */
  }
  return NULL;
}

static void hs_timer_start_now(void) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits the mask */
  __atomic_store_n(&hs_timer_stop_word, 0, __ATOMIC_RELEASE);
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
  __atomic_store_n(&hs_timer_stop_word, 1, __ATOMIC_RELEASE);
  syscall(SYS_futex, &hs_timer_stop_word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
  pthread_join(hs_timer_thread, NULL); /* waits for a snapshot it may be writing */
  hs_timer_running = 0;
  hs_timer_wanted = 1;
}

static void hs_timer_child(void) {
  hs_timer_running = 0; /* the thread does not exist here */
  hs_timer_wanted = 0;
}

void hs_timer_init(void) {
  if (!hs_proc.interval_ns) return;
  /* registered after core.c's handlers: its prepare runs first, before hs_lock is taken */
  pthread_atfork(hs_timer_prepare, NULL, hs_timer_child);
  hs_timer_start_now();
}

void hs_timer_resume(void) {
  if (hs_timer_wanted && !hs_timer_running && hs_active && !hs_proc.final_written &&
      (int)syscall(SYS_getpid) == hs_proc.pid)
    hs_timer_start_now();
}
