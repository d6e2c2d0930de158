/* heapshape: the snapshot signal (HEAPSHAPE_SIGNAL, SIGUSR2 unless set) and what the program
 * sees of it.
 *
 * The shim's handler only sets a flag (the snapshot is taken at a safe point: core.c,
 * hs_attend). The program must see the disposition it would see without the shim, so
 * sigaction() and signal() are interposed for that one signal: a query returns the
 * disposition the program last set (at start the inherited one, SIG_DFL or SIG_IGN), never the
 * shim's handler (Python's signal.getsignal() then says SIG_DFL, not None, and the idiom
 * `old = signal.signal(SIGUSR2, h); ...; signal.signal(SIGUSR2, old)` works). When the program
 * installs a handler of its own, that handler is installed for real and the signal is the
 * program's; when it sets SIG_DFL or SIG_IGN again, the shim's handler goes back (the signal
 * then takes a snapshot instead of ending or being ignored by the program, which is why the
 * shim is there). glibc's own internal calls (siginterrupt, sysv_signal, bsd_signal) are not
 * seen. Before 2026-12-03 the shim's handler was visible: getsignal() returned None and the
 * idiom above raised TypeError.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "preload/core.h"

extern int __sigaction(int, const struct sigaction *, struct sigaction *);

int hs_snap_signal; /* 0 = none */
static struct sigaction hs_prog_sa; /* the program's view of hs_snap_signal */
static int hs_prog_owns;            /* the program's handler is installed */
static int hs_sig_lock_word;
static sighandler_t (*hs_real_signal)(int, sighandler_t);

static void hs_sig_lock(void) {
  while (__atomic_exchange_n(&hs_sig_lock_word, 1, __ATOMIC_ACQUIRE)) __builtin_ia32_pause();
}
static void hs_sig_unlock(void) { __atomic_store_n(&hs_sig_lock_word, 0, __ATOMIC_RELEASE); }

static void hs_on_signal(int sig) {
  (void)sig;
  hs_request_dump(HS_REASON_SIGNAL);
  if (hs_timer_running) hs_timer_kick(); /* served even while the program sleeps (timer.c) */
}

static int hs_install_ours(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = hs_on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return __sigaction(hs_snap_signal, &sa, NULL);
}

/* HEAPSHAPE_SIGNAL: unset or "1" = SIGUSR2; "0", "off", "none" or "" = no signal; a name
 * ("USR1", "SIGUSR1", "USR2", "RTMIN+3", "SIGRTMIN+3") or a number from 2 to 64.
 * -1 when not understood. */
static int hs_signal_parse(const char *v) {
  if (!v) return SIGUSR2;
  if (!*v || strcmp(v, "0") == 0 || strcmp(v, "off") == 0 || strcmp(v, "none") == 0) return 0;
  if (strcmp(v, "1") == 0) return SIGUSR2;
  if (strncmp(v, "SIG", 3) == 0) v += 3;
  if (strcmp(v, "USR1") == 0) return SIGUSR1;
  if (strcmp(v, "USR2") == 0) return SIGUSR2;
  int base = 0;
  if (strncmp(v, "RTMIN", 5) == 0) {
    base = SIGRTMIN;
    v += 5;
    if (!*v) return base;
    if (*v++ != '+') return -1;
  }
  int n = 0;
  if (!*v) return -1;
  for (; *v; v++) {
    if (*v < '0' || *v > '9' || n > 1000) return -1;
    n = n * 10 + (*v - '0');
  }
  n += base;
  /* never the signals that stop or kill, nor the synchronous faults */
  if (n < 1 || n > SIGRTMAX || n == SIGKILL || n == SIGSTOP || n == SIGSEGV || n == SIGBUS ||
      n == SIGFPE || n == SIGILL || n == SIGABRT || n == SIGTRAP || n == SIGCHLD)
    return -1;
  return n;
}

void hs_signal_init(void) {
  const char *v = getenv("HEAPSHAPE_SIGNAL");
  int s = hs_signal_parse(v);
  if (s < 0) {
    hs_warn3("HEAPSHAPE_SIGNAL=", v, " is not a signal (USR1, USR2, RTMIN+N or a number); using SIGUSR2");
    s = SIGUSR2;
  }
  *(void **)&hs_real_signal = dlsym(RTLD_NEXT, "signal");
  if (!s) return;
  if (__sigaction(s, NULL, &hs_prog_sa) != 0) return; /* the inherited SIG_DFL or SIG_IGN */
  hs_snap_signal = s;
  if (hs_install_ours() != 0) hs_snap_signal = 0;
}

static int hs_is_default_or_ignore(const struct sigaction *a) {
  return !(a->sa_flags & SA_SIGINFO) && (a->sa_handler == SIG_DFL || a->sa_handler == SIG_IGN);
}

__attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction *act,
                                                     struct sigaction *old) {
  if (!hs_snap_signal || sig != hs_snap_signal) return __sigaction(sig, act, old);
  hs_sig_lock();
  struct sigaction prev = hs_prog_sa;
  int r = 0;
  if (act) {
    if (hs_is_default_or_ignore(act)) {
      r = hs_prog_owns ? hs_install_ours() : 0;
      if (r == 0) hs_prog_owns = 0;
    } else {
      r = __sigaction(sig, act, NULL);
      if (r == 0) hs_prog_owns = 1;
    }
    if (r == 0) hs_prog_sa = *act;
  }
  hs_sig_unlock();
  if (r == 0 && old) *old = prev;
  return r;
}

/* glibc's signal(): BSD semantics (SA_RESTART, the signal blocked in its handler). */
__attribute__((visibility("default"))) sighandler_t signal(int sig, sighandler_t handler) {
  int ours = hs_snap_signal && sig == hs_snap_signal;
  if (!ours && hs_real_signal) return hs_real_signal(sig, handler);
  struct sigaction a, o;
  memset(&a, 0, sizeof a);
  a.sa_handler = handler;
  sigemptyset(&a.sa_mask);
  sigaddset(&a.sa_mask, sig);
  a.sa_flags = SA_RESTART;
  int r = ours ? sigaction(sig, &a, &o) : __sigaction(sig, &a, &o);
  return r == 0 ? o.sa_handler : SIG_ERR;
}
