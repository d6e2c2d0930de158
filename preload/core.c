/* heapshape shim core: the live pointer map, interned strings/frames/sites with their
 * statistics, start-up from the environment, fork and exit handling, the SIGUSR2 request.
 *
 * Memory for bookkeeping comes from mmap (pointer map, id arrays) or __libc_malloc (uthash
 * items), never from the interposed malloc. See core.h for the locking rule.
 */
#define _GNU_SOURCE
#include "preload/core.h"
#include "preload/pychain.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "heapshape/heapshape.h"
#include "heapshape/naming.h"

/* uthash: items from glibc directly; running out of memory disables tracking, never exits. */
static int hs_oom; /* set by uthash under hs_lock */
#define uthash_malloc(sz) __libc_malloc(sz)
#define uthash_free(ptr, sz) __libc_free(ptr)
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (hs_oom = 1)
/* uthash's default (Jenkins) spread our keys, which differ in a few bytes, poorly enough that
 * frame lookups took half of --native's time; a multiply-xorshift over 8-byte words. */
#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = hs_hash_bytes((keyptr), (keylen)))
static inline unsigned hs_hash_bytes(const void *key, size_t len) {
  const unsigned char *p = key;
  uint64_t h = 0x9E3779B97F4A7C15ull ^ len;
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    p += 8;
    len -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, p, len);
  h = (h ^ w) * 0x94D049BB133111EBull;
  h ^= h >> 32;
  return (unsigned)h;
}
#include <uthash.h>

HS_TLS struct hs_hot hs_hot;
uint64_t hs_sample_rate;
HS_TLS int64_t hs_sample_left;
static HS_TLS uint64_t hs_rng;
volatile union hs_gate hs_gate;
volatile int hs_dump_requested;
volatile uint32_t hs_dump_reason = HS_REASON_SIGNAL;
struct hs_process hs_proc;
struct hs_totals hs_tot;

/* hs_lock: a futex mutex (0 free, 1 locked, 2 locked with waiters; Drepper, "Futexes Are
 * Tricky", mutex 2) with a short spin. Uncontended it costs one compare-and-swap and one
 * atomic decrement; under the GIL it is almost never contended. */
static int hs_lock_word;

static void hs_futex(int op, int val) {
  syscall(SYS_futex, &hs_lock_word, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

static void hs_lock_slow(void) {
  for (int spin = 0; spin < 100; spin++) {
    __builtin_ia32_pause();
    int z = 0;
    if (__atomic_load_n(&hs_lock_word, __ATOMIC_RELAXED) == 0 &&
        __atomic_compare_exchange_n(&hs_lock_word, &z, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return;
  }
  while (__atomic_exchange_n(&hs_lock_word, 2, __ATOMIC_ACQUIRE) != 0) hs_futex(FUTEX_WAIT, 2);
}

void hs_lock_acquire(void) {
  int z = 0;
  if (HS_LIKELY(__atomic_compare_exchange_n(&hs_lock_word, &z, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)))
    return;
  hs_lock_slow();
}

void hs_lock_release(void) {
  if (HS_UNLIKELY(__atomic_fetch_sub(&hs_lock_word, 1, __ATOMIC_RELEASE) != 1)) {
    __atomic_store_n(&hs_lock_word, 0, __ATOMIC_RELEASE);
    hs_futex(FUTEX_WAKE, 1);
  }
}

uint64_t hs_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

size_t hs_fmt_u64(char *out, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

static uint64_t hs_parse_hex(const char **s) {
  uint64_t v = 0;
  for (;;) {
    char c = **s;
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return v;
    v = v * 16 + (uint64_t)d;
    (*s)++;
  }
}

int hs_maps_next(const char **cursor, struct hs_map_line *out) {
  const char *l = *cursor;
  if (!l || !*l) return 0;
  const char *e = strchr(l, '\n');
  if (!e) e = l + strlen(l);
  const char *s = l;
  out->lo = hs_parse_hex(&s);
  if (*s == '-') s++;
  out->hi = hs_parse_hex(&s);
  if (*s == ' ') s++;
  for (int i = 0; i < 4; i++) out->perms[i] = s < e ? *s++ : '-';
  if (*s == ' ') s++;
  out->off = hs_parse_hex(&s);
  const char *p = memchr(s, '/', (size_t)(e - s));
  out->path = p;
  out->pathlen = p ? (size_t)(e - p) : 0;
  *cursor = *e ? e + 1 : e;
  return 1;
}

static void hs_write_all(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

void hs_warn3(const char *a, const char *b, const char *c) {
  char buf[HS_PATH_MAX + 256];
  size_t n = 0;
  const char *parts[4] = {"heapshape: warning: ", a, b, c};
  for (int i = 0; i < 4; i++) {
    for (const char *s = parts[i]; s && *s && n < sizeof buf - 1; s++) buf[n++] = *s;
  }
  buf[n++] = '\n';
  int saved = errno;
  hs_write_all(2, buf, n);
  errno = saved;
}

void hs_disable(const char *why, int err) {
  if (!__atomic_exchange_n(&hs_active, 0, __ATOMIC_SEQ_CST)) return;
  char msg[HS_PATH_MAX + 128];
  size_t n = 0;
  const char *parts[4] = {why, err ? ": " : "", err ? strerror(err) : "", "; tracking disabled"};
  for (int i = 0; i < 4; i++)
    for (const char *s = parts[i]; *s && n < sizeof msg - 1; s++) msg[n++] = *s;
  msg[n] = 0;
  hs_warn3(msg, "", "");
}

/* ---------------------------------------------------------------- growable id arrays */

/* An array of pointers indexed by id, grown by mremap. Protected by hs_lock. */
struct hs_vec {
  void **items;
  uint32_t count, cap;
};

static int hs_vec_push(struct hs_vec *v, void *item) {
  if (v->count == v->cap) {
    uint32_t ncap = v->cap ? v->cap * 2 : 4096;
    void *m = v->items
                  ? mremap(v->items, v->cap * sizeof(void *), ncap * sizeof(void *), MREMAP_MAYMOVE)
                  : mmap(NULL, ncap * sizeof(void *), PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return -1;
    v->items = m;
    v->cap = ncap;
  }
  v->items[v->count++] = item;
  return 0;
}

/* ---------------------------------------------------------------- strings */

struct hs_str_item {
  UT_hash_handle hh;
  uint32_t id;
  uint32_t len;
  char s[];
};
static struct hs_str_item *hs_str_hash; /* hs_lock */
static struct hs_vec hs_str_vec;        /* hs_lock */

uint32_t hs_intern_string_unlocked(const char *s, size_t len) {
  struct hs_str_item *it;
  if (len > 65535) len = 65535;
  HASH_FIND(hh, hs_str_hash, s, len, it);
  if (it) return it->id;
  it = __libc_malloc(sizeof *it + len + 1);
  if (!it) return UINT32_MAX;
  memcpy(it->s, s, len);
  it->s[len] = 0;
  it->len = (uint32_t)len;
  it->id = hs_str_vec.count;
  if (hs_vec_push(&hs_str_vec, it) < 0) {
    __libc_free(it);
    return UINT32_MAX;
  }
  HASH_ADD_KEYPTR(hh, hs_str_hash, it->s, it->len, it);
  if (hs_oom) {
    hs_str_vec.count--;
    __libc_free(it);
    return UINT32_MAX;
  }
  return it->id;
}

uint32_t hs_intern_string(const char *s, size_t len) {
  hs_lock_acquire();
  uint32_t id = hs_intern_string_unlocked(s, len);
  hs_lock_release();
  if (id == UINT32_MAX) hs_disable("out of memory for strings", ENOMEM);
  return id == UINT32_MAX ? 0 : id;
}

uint32_t hs_string_count(void) { return hs_str_vec.count; }
struct hs_string_view hs_string_get(uint32_t id) {
  struct hs_str_item *it = hs_str_vec.items[id];
  struct hs_string_view v = {it->s, it->len};
  return v;
}

/* ---------------------------------------------------------------- frames */

struct hs_frame_key {
  uint8_t kind;
  uint8_t pad[3];
  int32_t lineno;
  uint32_t file_sid, name_sid;
  uint64_t addr;
};
struct hs_frame_item {
  UT_hash_handle hh;
  struct hs_frame_key key;
  uint32_t id;
  struct hs_frame_view view;
};
static struct hs_frame_item *hs_frame_hash; /* hs_lock */
static struct hs_vec hs_frame_vec;          /* hs_lock */

static uint32_t hs_intern_frame_unlocked(const struct hs_frame_key *k) {
  struct hs_frame_item *it;
  HASH_FIND(hh, hs_frame_hash, k, sizeof *k, it);
  if (it) return it->id;
  it = __libc_malloc(sizeof *it);
  if (!it) return UINT32_MAX;
  it->key = *k;
  it->id = hs_frame_vec.count;
  it->view.kind = k->kind;
  it->view.lineno = k->lineno;
  it->view.file_sid = k->file_sid;
  it->view.name_sid = k->name_sid;
  it->view.addr = k->addr;
  if (hs_vec_push(&hs_frame_vec, it) < 0) {
    __libc_free(it);
    return UINT32_MAX;
  }
  HASH_ADD(hh, hs_frame_hash, key, sizeof it->key, it);
  if (hs_oom) {
    hs_frame_vec.count--;
    __libc_free(it);
    return UINT32_MAX;
  }
  return it->id;
}

static uint32_t hs_intern_site_unlocked(uint8_t domain, const uint32_t *frames, uint32_t n);

/* Native frames by address: a direct-mapped cache in front of the hash (hs_lock). */
#define HS_FCACHE 8192
static struct {
  uint64_t addr;
  uint32_t id; /* frame id + 1 */
} hs_fcache[HS_FCACHE];

static uint32_t hs_native_frame_unlocked(uint64_t addr) {
  size_t h = (size_t)((addr * 0x9E3779B97F4A7C15ull) >> 51) & (HS_FCACHE - 1);
  if (hs_fcache[h].addr == addr && hs_fcache[h].id) return hs_fcache[h].id - 1;
  struct hs_frame_key k;
  memset(&k, 0, sizeof k);
  k.kind = HS_FRAME_NATIVE;
  k.addr = addr;
  uint32_t id = hs_intern_frame_unlocked(&k);
  if (id != UINT32_MAX) {
    hs_fcache[h].addr = addr;
    hs_fcache[h].id = id + 1;
  }
  return id;
}

uint32_t hs_intern_mixed_site(uint8_t domain, struct hs_stack *st, const uint8_t *native) {
  uint32_t site = UINT32_MAX;
  hs_lock_acquire();
  uint32_t i;
  for (i = 0; i < st->n; i++) {
    if (!native[i]) continue;
    uint32_t f = hs_native_frame_unlocked(st->frames_raw[i]);
    if (f == UINT32_MAX) break;
    st->frames[i] = f;
  }
  if (i == st->n) site = hs_intern_site_unlocked(domain, st->frames, st->n);
  hs_lock_release();
  if (site == UINT32_MAX) hs_disable("cannot record more allocation sites", ENOMEM);
  return site == UINT32_MAX ? 0 : site;
}

uint32_t hs_intern_frame(uint8_t kind, int32_t lineno, uint32_t file_sid, uint32_t name_sid,
                         uint64_t addr) {
  struct hs_frame_key k;
  memset(&k, 0, sizeof k);
  k.kind = kind;
  k.lineno = lineno;
  k.file_sid = file_sid;
  k.name_sid = name_sid;
  k.addr = addr;
  hs_lock_acquire();
  uint32_t id = hs_intern_frame_unlocked(&k);
  hs_lock_release();
  if (id == UINT32_MAX) hs_disable("out of memory for frames", ENOMEM);
  return id == UINT32_MAX ? 0 : id;
}

uint32_t hs_frame_count(void) { return hs_frame_vec.count; }
struct hs_frame_view *hs_frame_get(uint32_t id) {
  return &((struct hs_frame_item *)hs_frame_vec.items[id])->view;
}

/* ---------------------------------------------------------------- sites */

#define HS_SITE_ID_MAX ((1u << HS_SITE_ID_BITS) - 1)

struct hs_site_item {
  UT_hash_handle hh;
  uint32_t id;
  uint32_t keylen;   /* bytes of key[] */
  uint32_t key[];    /* key[0] = domain | nframes << 8; key[1..n] = frame ids */
};
static struct hs_site_item *hs_site_hash; /* hs_lock */
static struct hs_vec hs_site_vec;         /* hs_lock */
/* Statistics per site id, flat so that the hot path touches one cache line per event.
 * hs_lock; grown by mremap in step with hs_site_vec. */
static struct hs_site_stats *hs_stats;
static uint32_t hs_stats_cap;

static struct hs_site_est *hs_est; /* sampled mode only; same capacity as hs_stats */
static uint8_t *hs_site_dom;       /* domain per site id; same capacity as hs_stats */

static void *hs_grow(void *old, size_t oldbytes, size_t newbytes) {
  void *m = old ? mremap(old, oldbytes, newbytes, MREMAP_MAYMOVE)
                : mmap(NULL, newbytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return m == MAP_FAILED ? NULL : m;
}

static int hs_stats_reserve(uint32_t n) {
  if (n <= hs_stats_cap) return 0;
  uint32_t ncap = hs_stats_cap ? hs_stats_cap * 2 : 4096;
  while (ncap < n) ncap *= 2;
  void *m = hs_grow(hs_stats, hs_stats_cap * sizeof *hs_stats, ncap * sizeof *hs_stats);
  if (!m) return -1;
  hs_stats = m;
  m = hs_grow(hs_site_dom, hs_stats_cap, ncap);
  if (!m) return -1;
  hs_site_dom = m;
  if (hs_sample_rate) {
    m = hs_grow(hs_est, hs_stats_cap * sizeof *hs_est, ncap * sizeof *hs_est);
    if (!m) return -1;
    hs_est = m;
  }
  hs_stats_cap = ncap;
  return 0;
}

/* ---------------------------------------------------------------- per-thread statistics */

/* Every thread counts into its own per-site array (deltas: a thread that frees what another
 * allocated goes negative), so the hot path shares nothing between threads and takes no lock.
 * hs_stats_merge_unlocked() sums them into hs_stats / hs_est / hs_tot for snapshots, the
 * timeline and the peak copy. A thread's struct is created (or reused) on its first event,
 * linked for good into hs_threads, grown under hs_lock by its owner when sites appear, and at
 * thread exit its deltas are folded into hs_retired and the struct is freed for reuse. */
/* A thread's counters for one site: 32 bytes, so one event touches one cache line (48-byte
 * entries straddled two for every other site); live counts and totals follow at the merge. */
struct hs_thread_stats {
  uint64_t allocs, frees, alloc_bytes, live_bytes;
};
struct hs_thread {
  struct hs_thread_stats *st;
  struct hs_site_est *est;
  uint32_t cap;
  int in_use;
  struct hs_totals tot; /* deltas; only live_bytes is kept (the merge derives the rest) */
  uint64_t events;
  uint64_t pending; /* bytes allocated since this thread last checked the peak */
  struct hs_thread *next;
};
static struct hs_thread *hs_threads;  /* list head: hs_lock to link, read without */

/* The process's high-water mark of live bytes (raised lock-free by hs_peak_check and by
 * merges; hs_tot.peak_live_bytes is its value at the last merge), and how many bytes a thread
 * allocates between two checks of it: exact at every block of HS_PEAK_EXACT bytes or more
 * (a check follows it at once), otherwise a thread's small blocks are checked at least every
 * hs_peak_step bytes, 1/256 of the peak (4 KiB to 64 KiB): with up to 4 threads allocating
 * at once the recorded peak is within 1/64 of the true one. */
#define HS_PEAK_EXACT ((uint64_t)64 << 10)
static uint64_t hs_peak_max;
static uint64_t hs_peak_step = 4096;
static void hs_peak_raise(uint64_t live) {
  if ((int64_t)live <= 0) return;
  uint64_t cur = __atomic_load_n(&hs_peak_max, __ATOMIC_RELAXED);
  while (live > cur) {
    if (__atomic_compare_exchange_n(&hs_peak_max, &cur, live, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
      uint64_t step = live >> 8;
      hs_peak_step = step < 4096 ? 4096 : step > HS_PEAK_EXACT ? HS_PEAK_EXACT : step;
      break;
    }
  }
}
static struct hs_thread hs_retired;   /* folded deltas of exited threads (hs_lock) */
static HS_TLS struct hs_thread *hs_me;
static pthread_key_t hs_thread_key;
static int hs_thread_key_ok;

static int hs_thread_reserve_unlocked(struct hs_thread *t, uint32_t n) {
  if (n <= t->cap) return 0;
  uint32_t ncap = hs_stats_cap > n ? hs_stats_cap : n;
  void *m = hs_grow(t->st, t->cap * sizeof *t->st, ncap * sizeof *t->st);
  if (!m) return -1;
  t->st = m;
  if (hs_sample_rate) {
    m = hs_grow(t->est, t->cap * sizeof *t->est, ncap * sizeof *t->est);
    if (!m) return -1;
    t->est = m;
  }
  t->cap = ncap;
  return 0;
}

/* A thread's deltas added into another struct's (hs_retired) and cleared. Without estimates
 * only the entries the thread touched are folded, found four at a time (an entry whose four
 * counters are all zero adds nothing and is already clear), and only up to the sites interned
 * so far. A short-lived thread touches a few dozen of the array's entries (hs_stats_cap: 8,192
 * at 16 frames on 3.14); until round eight every thread exit folded all of them and cleared
 * the array with memset, under hs_lock (callgrind, 3.14 threads 300, 16 frames: 393,000
 * instructions an exit, a quarter of the process's), and the memset made every page of each
 * thread's array resident. Pages a thread never wrote are read as the kernel's zero page. */
static void hs_thread_fold_unlocked(struct hs_thread *from, struct hs_thread *into) {
  if (hs_thread_reserve_unlocked(into, from->cap) < 0) return;
  const int est = from->est != NULL;
  /* entries past the sites interned so far were never written (hs_lock held: no new site) */
  const uint32_t cap = from->cap < hs_site_vec.count ? from->cap : hs_site_vec.count;
  for (uint32_t i = 0; i < cap; i += 4) {
    /* four entries (two 64-byte lines) a test; with estimates every entry is folded */
    if (!est && i + 4 <= cap) {
      const uint64_t *w = (const uint64_t *)&from->st[i];
      if (!((w[0] | w[1] | w[2] | w[3]) | (w[4] | w[5] | w[6] | w[7]) | (w[8] | w[9] | w[10] | w[11]) |
            (w[12] | w[13] | w[14] | w[15])))
        continue;
    }
    for (uint32_t k = i; k < i + 4 && k < cap; k++) {
      struct hs_thread_stats *a = &into->st[k], *e = &from->st[k];
      a->allocs += e->allocs;
      a->frees += e->frees;
      a->alloc_bytes += e->alloc_bytes;
      a->live_bytes += e->live_bytes;
      memset(e, 0, sizeof *e);
      if (est) {
        into->est[k].live_bytes += from->est[k].live_bytes;
        into->est[k].live_count += from->est[k].live_count;
        into->est[k].live_bytes_var += from->est[k].live_bytes_var;
        into->est[k].alloc_bytes += from->est[k].alloc_bytes;
        memset(&from->est[k], 0, sizeof from->est[k]);
      }
    }
  }
  into->tot.allocs += from->tot.allocs;
  into->tot.frees += from->tot.frees;
  into->tot.alloc_bytes += from->tot.alloc_bytes;
  into->tot.live_count += from->tot.live_count;
  into->tot.live_bytes += from->tot.live_bytes;
  memset(&from->tot, 0, sizeof from->tot);
}

static void hs_thread_exit(void *arg) {
  struct hs_thread *t = arg;
  int saved = hs_busy;
  hs_busy = 1;
  hs_lock_acquire();
  hs_thread_fold_unlocked(t, &hs_retired);
  t->in_use = 0;
  hs_lock_release();
  hs_me = NULL;
  hs_busy = saved;
}

/* This thread's struct with room for site; NULL when memory ran out. */
static struct hs_thread *hs_me_slow(uint32_t site) {
  struct hs_thread *t = hs_me;
  int fresh = 0;
  hs_lock_acquire();
  if (!t) {
    for (t = hs_threads; t && t->in_use; t = t->next) {
    }
    if (!t) {
      t = hs_grow(NULL, 0, sizeof *t);
      if (t) {
        memset(t, 0, sizeof *t);
        t->next = hs_threads;
        __atomic_store_n(&hs_threads, t, __ATOMIC_RELEASE);
      }
    }
    if (t) {
      t->in_use = 1;
      fresh = 1;
    }
  }
  if (t && hs_thread_reserve_unlocked(t, site + 1) < 0) t = NULL;
  hs_lock_release();
  if (fresh && t) {
    hs_me = t;
    if (hs_thread_key_ok) pthread_setspecific(hs_thread_key, t); /* folded at thread exit */
  }
  return t;
}

static inline struct hs_thread *hs_me_get(uint32_t site) {
  struct hs_thread *t = hs_me;
  if (HS_LIKELY(t && site < t->cap)) return t;
  return hs_me_slow(site);
}

/* Sums every thread's deltas into hs_stats, hs_est and hs_tot. The per-site peak becomes the
 * largest merged live bytes seen at a merge (timeline ticks, peak copies, snapshots). */
static void hs_stats_merge_general(void) {
  uint32_t n = hs_site_vec.count;
  struct hs_totals t0 = {0, 0, hs_tot.peak_live_bytes, 0, 0, 0};
  for (uint32_t i = 0; i < n; i++) {
    uint64_t peak = hs_stats[i].peak_live_bytes;
    memset(&hs_stats[i], 0, sizeof hs_stats[i]);
    hs_stats[i].peak_live_bytes = peak;
    if (hs_est) memset(&hs_est[i], 0, sizeof hs_est[i]);
  }
  for (struct hs_thread *t = &hs_retired;; t = t == &hs_retired ? hs_threads : t->next) {
    if (!t) break;
    /* an exited thread's deltas were folded into hs_retired and zeroed: skipping its struct
     * keeps a merge from costing sites x every thread the process ever had */
    if (t != &hs_retired && !t->in_use) continue;
    uint32_t m = t->cap < n ? t->cap : n;
    for (uint32_t i = 0; i < m; i++) {
      const struct hs_thread_stats *b = &t->st[i];
      hs_stats[i].allocs += b->allocs;
      hs_stats[i].frees += b->frees;
      hs_stats[i].alloc_bytes += b->alloc_bytes;
      hs_stats[i].live_bytes += b->live_bytes;
      if (hs_est && t->est) {
        hs_est[i].live_bytes += t->est[i].live_bytes;
        hs_est[i].live_count += t->est[i].live_count;
        hs_est[i].live_bytes_var += t->est[i].live_bytes_var;
        hs_est[i].alloc_bytes += t->est[i].alloc_bytes;
      }
    }
    t0.live_bytes += t->tot.live_bytes; /* per thread, only live bytes are kept (hs_periodic) */
  }
  /* the other totals and every site's live count follow from the per-site counters */
  for (uint32_t i = 0; i < n; i++) {
    hs_stats[i].live_count = hs_stats[i].allocs - hs_stats[i].frees;
    t0.allocs += hs_stats[i].allocs;
    t0.frees += hs_stats[i].frees;
    t0.alloc_bytes += hs_stats[i].alloc_bytes;
    t0.live_count += hs_stats[i].live_count;
    if (hs_stats[i].live_bytes > hs_stats[i].peak_live_bytes)
      hs_stats[i].peak_live_bytes = hs_stats[i].live_bytes;
  }
  hs_peak_raise(t0.live_bytes);
  t0.peak_live_bytes = __atomic_load_n(&hs_peak_max, __ATOMIC_RELAXED);
  hs_tot = t0;
}

/* The merge in one pass over the sites (no sampled estimates, at most HS_MERGE_FAST live
 * threads): each site's counters summed over the threads and written once, instead of a
 * clearing pass, a pass per thread and a pass for the totals. With 31,000 sites (a long
 * pytest session) a merge read and wrote the site table three times; peak copies and the
 * timeline merge a few hundred times in such a session (docs/PERFORMANCE.md). */
#define HS_MERGE_FAST 16
static void hs_stats_merge_unlocked(void) {
  const struct hs_thread_stats *st[HS_MERGE_FAST];
  uint32_t cap[HS_MERGE_FAST], nt = 0, n = hs_site_vec.count;
  struct hs_totals t0 = {0, 0, hs_tot.peak_live_bytes, 0, 0, 0};
  if (hs_est) {
    hs_stats_merge_general();
    return;
  }
  for (struct hs_thread *t = &hs_retired;; t = t == &hs_retired ? hs_threads : t->next) {
    if (!t) break;
    if (t != &hs_retired && !t->in_use) continue;
    if (nt == HS_MERGE_FAST) {
      hs_stats_merge_general();
      return;
    }
    st[nt] = t->st;
    cap[nt++] = t->cap < n ? t->cap : n;
    t0.live_bytes += t->tot.live_bytes; /* per thread, only live bytes are kept (hs_periodic) */
  }
  for (uint32_t i = 0; i < n; i++) {
    uint64_t allocs = 0, frees = 0, alloc_bytes = 0, live_bytes = 0;
    for (uint32_t k = 0; k < nt; k++) {
      if (i >= cap[k]) continue;
      const struct hs_thread_stats *b = &st[k][i];
      allocs += b->allocs;
      frees += b->frees;
      alloc_bytes += b->alloc_bytes;
      live_bytes += b->live_bytes;
    }
    struct hs_site_stats *s = &hs_stats[i];
    s->allocs = allocs;
    s->frees = frees;
    s->alloc_bytes = alloc_bytes;
    s->live_bytes = live_bytes;
    s->live_count = allocs - frees;
    if (live_bytes > s->peak_live_bytes) s->peak_live_bytes = live_bytes;
    t0.allocs += allocs;
    t0.frees += frees;
    t0.alloc_bytes += alloc_bytes;
    t0.live_count += allocs - frees;
  }
  hs_peak_raise(t0.live_bytes);
  t0.peak_live_bytes = __atomic_load_n(&hs_peak_max, __ATOMIC_RELAXED);
  hs_tot = t0;
}

void hs_stats_merge(void) { hs_stats_merge_unlocked(); }

static uint32_t hs_intern_site_unlocked(uint8_t domain, const uint32_t *frames, uint32_t n) {
  uint32_t key[HS_MAX_FRAMES + 1];
  key[0] = (uint32_t)domain | (n << 8);
  memcpy(key + 1, frames, n * sizeof(uint32_t));
  uint32_t keylen = (n + 1) * (uint32_t)sizeof(uint32_t);
  struct hs_site_item *it;
  HASH_FIND(hh, hs_site_hash, key, keylen, it);
  if (it) return it->id;
  if (hs_site_vec.count > HS_SITE_ID_MAX) return UINT32_MAX;
  if (hs_stats_reserve(hs_site_vec.count + 1) < 0) return UINT32_MAX;
  it = __libc_malloc(sizeof *it + keylen);
  if (!it) return UINT32_MAX;
  memset(&hs_stats[hs_site_vec.count], 0, sizeof *hs_stats);
  hs_site_dom[hs_site_vec.count] = domain;
  if (hs_est) memset(&hs_est[hs_site_vec.count], 0, sizeof *hs_est);
  memcpy(it->key, key, keylen);
  it->keylen = keylen;
  it->id = hs_site_vec.count;
  if (hs_vec_push(&hs_site_vec, it) < 0) {
    __libc_free(it);
    return UINT32_MAX;
  }
  HASH_ADD_KEYPTR(hh, hs_site_hash, it->key, it->keylen, it);
  if (hs_oom) {
    hs_site_vec.count--;
    __libc_free(it);
    return UINT32_MAX;
  }
  return it->id;
}

uint32_t hs_intern_site(uint8_t domain, const struct hs_stack *st) {
  hs_lock_acquire();
  uint32_t id = hs_intern_site_unlocked(domain, st->frames, st->n);
  hs_lock_release();
  if (id == UINT32_MAX) hs_disable("cannot record more allocation sites", ENOMEM);
  return id == UINT32_MAX ? 0 : id;
}

uint32_t hs_site_count(void) { return hs_site_vec.count; }
const struct hs_site_stats *hs_site_stats_table(void) { return hs_stats; }
const struct hs_site_stats *hs_site_stats_get(uint32_t id, uint8_t *domain,
                                              const uint32_t **frames, uint32_t *nframes) {
  struct hs_site_item *it = hs_site_vec.items[id];
  *domain = (uint8_t)(it->key[0] & 0xff);
  *nframes = it->key[0] >> 8;
  *frames = it->key + 1;
  return &hs_stats[id];
}

/* Native call sites: a direct-mapped cache from return address to site, per domain. */
#define HS_NCACHE 4096
static struct {
  uintptr_t ret;
  uint32_t site[HS_DOMAIN_COUNT]; /* site id + 1; 0 = not cached */
} hs_ncache[HS_NCACHE];           /* hs_lock */

uint32_t hs_native_site(uint8_t domain, uintptr_t ret) {
  size_t h = (size_t)((ret * 0x9E3779B97F4A7C15ull) >> 52) & (HS_NCACHE - 1);
  hs_lock_acquire();
  if (hs_ncache[h].ret == ret && hs_ncache[h].site[domain]) {
    uint32_t s = hs_ncache[h].site[domain] - 1;
    hs_lock_release();
    return s;
  }
  struct hs_frame_key k;
  memset(&k, 0, sizeof k);
  k.kind = HS_FRAME_NATIVE;
  k.addr = ret;
  uint32_t site = UINT32_MAX;
  uint32_t f = hs_intern_frame_unlocked(&k);
  if (f != UINT32_MAX) site = hs_intern_site_unlocked(domain, &f, 1);
  if (site != UINT32_MAX) {
    if (hs_ncache[h].ret != ret) {
      memset(&hs_ncache[h], 0, sizeof hs_ncache[h]);
      hs_ncache[h].ret = ret;
    }
    hs_ncache[h].site[domain] = site + 1;
  }
  hs_lock_release();
  if (site == UINT32_MAX) {
    hs_disable("cannot record more allocation sites", ENOMEM);
    return 0;
  }
  return site;
}

/* The pages wholly inside [lo, lo + n) back to the kernel (zero pages when touched again). */
void hs_drop_pages(void *lo, size_t n) {
  uintptr_t a = ((uintptr_t)lo + 4095) & ~(uintptr_t)4095, b = ((uintptr_t)lo + n) & ~(uintptr_t)4095;
  if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

/* Before the exit snapshot (pyhooks.c's hs_py_exit_release says why): the native-site cache,
 * under hs_lock like every use of it. An entry the page boundaries cut is a miss either way:
 * ret 0 matches no return address, a site of 0 is "not cached". */
void hs_native_exit_release(void) {
  hs_lock_acquire();
  hs_drop_pages(hs_ncache, sizeof hs_ncache);
  hs_lock_release();
}

/* ---------------------------------------------------------------- sampling */

/* Draws the bytes until this thread's next sample: exponential with mean hs_sample_rate. */
void hs_sample_next(void) {
  if (!hs_rng) hs_rng = hs_now_ns() ^ ((uint64_t)syscall(SYS_gettid) << 32) ^ 0x9E3779B97F4A7C15ull;
  hs_rng ^= hs_rng << 13;
  hs_rng ^= hs_rng >> 7;
  hs_rng ^= hs_rng << 17;
  double u = ((double)(hs_rng >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
  double gap = -__builtin_log(u) * (double)hs_sample_rate;
  hs_sample_left = gap < 1.0 ? 1 : gap > 9e18 ? (int64_t)9e18 : (int64_t)gap;
}

/* Probability that a block of size bytes is sampled: 1 - exp(-size / rate). */
static double hs_sample_p(uint64_t size) {
  double p = -__builtin_expm1(-(double)size / (double)hs_sample_rate);
  return p > 1e-300 ? p : 1e-300;
}

/* exact: recorded while sampled mode recorded everything (HS_MAP_EXACT), probability 1 */
static void hs_est_account(struct hs_site_est *est, uint32_t site, uint64_t size, int sign,
                           int exact) {
  double p = exact ? 1.0 : hs_sample_p(size), w = 1.0 / p, b = (double)size * w;
  struct hs_site_est *e = &est[site];
  e->live_bytes += sign * b;
  e->live_count += sign * w;
  e->live_bytes_var += sign * (double)size * (double)size * (1.0 - p) / (p * p);
  if (sign > 0) e->alloc_bytes += b;
}

/* ---------------------------------------------------------------- peak and timeline */

/* The per-site live memory is copied whenever the process's live bytes pass the last copy by
 * a margin (1/128 of it, at least 64 KiB), and whenever a block of HS_PEAK_EXACT bytes or
 * more takes them past the last copy at all: the copy is exact at every big block and at most
 * 1/128 (plus the check's step) below the true high-water mark otherwise; a program growing
 * to N bytes in small blocks pays about 128 * ln(N / 1 MiB) copies. */
static struct hs_peak_rec *hs_peak;   /* hs_lock */
static uint32_t hs_peak_cap, hs_peak_sites;
static uint64_t hs_peak_bytes, hs_peak_time_ns, hs_peak_next = 64 << 10;

static void hs_peak_copy(void) { /* caller holds hs_lock */
  hs_stats_merge_unlocked();
  uint32_t n = hs_site_vec.count;
  if (n > hs_peak_cap) {
    uint32_t ncap = hs_peak_cap ? hs_peak_cap : 4096;
    while (ncap < n) ncap *= 2;
    void *m = hs_grow(hs_peak, hs_peak_cap * sizeof *hs_peak, ncap * sizeof *hs_peak);
    if (!m) return;
    hs_peak = m;
    hs_peak_cap = ncap;
  }
  for (uint32_t i = 0; i < n; i++) { /* sampled mode: the estimates */
    hs_peak[i].live_count = hs_est ? (uint64_t)(hs_est[i].live_count + 0.5) : hs_stats[i].live_count;
    hs_peak[i].live_bytes = hs_est ? (uint64_t)(hs_est[i].live_bytes + 0.5) : hs_stats[i].live_bytes;
  }
  hs_peak_sites = n;
  hs_peak_bytes = hs_tot.live_bytes;
  hs_peak_time_ns = hs_now_ns() - hs_proc.start_ns;
  uint64_t margin = hs_peak_bytes / 128;
  hs_peak_next = hs_peak_bytes + (margin > (64u << 10) ? margin : (64u << 10));
}

/* Timeline: checked every 1024 events; a sample when the interval has passed. When the
 * buffer fills, every other sample is dropped and the interval doubles. */
#define HS_TIME_MAX 4096
static struct hs_time_sample *hs_time; /* hs_lock */
static uint32_t hs_time_count;
static uint64_t hs_time_interval = 10000000; /* 10 ms */
static uint64_t hs_time_next, hs_next_dump_ns;

static uint64_t hs_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static uint64_t hs_mono_start;

static void hs_time_tick(void) {
  uint64_t now = hs_mono_ns();
  /* the timer thread's job when it runs (timer.c); the hooks' in a forked child */
  if (hs_proc.interval_ns && !hs_timer_running && now >= hs_next_dump_ns) {
    hs_next_dump_ns = now + hs_proc.interval_ns;
    hs_request_dump(HS_REASON_INTERVAL);
  }
  if (now < hs_time_next || !hs_time) return;
  hs_stats_merge_unlocked();
  /* a merge costs time in proportion to the sites (25,000 in a long pytest session): the
   * samples are spaced at least 100 merges apart, so the timeline costs at most 1% */
  uint64_t cost = hs_mono_ns() - now;
  if (hs_time_count == HS_TIME_MAX) {
    for (uint32_t i = 0; i < HS_TIME_MAX / 2; i++) hs_time[i] = hs_time[2 * i];
    hs_time_count = HS_TIME_MAX / 2;
    hs_time_interval *= 2;
  }
  struct hs_time_sample *t = &hs_time[hs_time_count++];
  memset(t, 0, sizeof *t);
  t->t_ns = now - hs_mono_start;
  t->live_bytes = hs_tot.live_bytes;
  t->live_count = hs_tot.live_count;
  for (uint32_t i = 0; i < hs_site_vec.count; i++) { /* the top sites by live bytes */
    uint64_t b = hs_stats[i].live_bytes;
    if (b <= t->top[HS_TIME_TOP - 1].bytes) continue;
    int k = HS_TIME_TOP - 1;
    while (k > 0 && t->top[k - 1].bytes < b) {
      t->top[k] = t->top[k - 1];
      k--;
    }
    t->top[k].site = i;
    t->top[k].bytes = b;
  }
  hs_time_next = now + (hs_time_interval > 100 * cost ? hs_time_interval : 100 * cost);
}

void hs_history_get(struct hs_history *h) {
  h->est = hs_est;
  h->peak = hs_peak;
  h->peak_sites = hs_peak_sites;
  h->peak_bytes = hs_peak_bytes;
  h->peak_time_ns = hs_peak_time_ns;
  h->time = hs_time;
  h->time_count = hs_time_count;
  h->time_interval_ns = hs_time_interval;
}

/* ---------------------------------------------------------------- the live pointer map */

/* Where each live block is recorded, in two structures (all under hs_lock):
 *
 * 1. A shadow table, for blocks of at most HS_SHADOW_MAX_SIZE bytes at 16-byte-aligned
 *    addresses below 2^47 (what pymalloc and glibc hand out for small requests on x86-64):
 *    a first level of 2^26 pointers, one per 2 MiB region of the address space (512 MiB
 *    reserved, MAP_NORESERVE, touched one page per GiB in use), each to a leaf of 65,536
 *    4-byte slots, one per 32-byte granule of the region (256 KiB reserved; only the pages
 *    covering live blocks are touched). A slot holds (size + 1) << 22 | half << 21 | site,
 *    0 when empty; half (bit 4 of the address) says which 16 bytes of the granule the block
 *    starts at. Blocks of more than 16 bytes are at least 32 bytes apart (pymalloc's size
 *    classes, glibc's minimum chunk), so at most one of them starts in a granule; when two
 *    live blocks of at most 16 bytes share one, the second goes to the granule's side slot:
 *    each leaf's mapping is 512 KiB, the main slots and behind them one side slot per
 *    granule (ss + HS_LEAF_SLOTS), touched only where two 16-byte blocks were live side by
 *    side (pymalloc's 16-byte size class), so it costs RSS only there. A side slot is written
 *    like a main one, lock-free, by the allocation and the free of its block. No hashing,
 *    no probing, no rehashing; neighbouring blocks have neighbouring slots. The table costs
 *    4 bytes per 32 bytes of heap in use (it was 4 per 16 before 2026-12-01: 25% of the
 *    small-object heap was the largest part of the shim's RSS). Until 2026-12-04 the second
 *    block of a granule went to the hash map under hs_lock (8.7% of 3.14 strings' blocks).
 * 2. A hash map (open addressing, linear probing, backward-shift deletion; a slot is the
 *    address and size << 24 | site) for larger blocks (few, and large), sites past 2^21,
 *    anything else, and everything when the shadow table cannot be reserved (RLIMIT_AS,
 *    strict overcommit).
 *
 * Each live block also has an index in [0, hs_live_capacity()): leaves first (leaf number *
 * 65,536 + slot), then the hash map's slots, then the side slots (side number * 65,536 + slot);
 * the anatomy pass keys its scratch arrays by it and visits blocks in its order. A region's
 * side slots get a side number (hs_side_no_of) the first time one is used, so the index space,
 * and what iterates over the slots (the anatomy pass, the test-peak window's marks), grows only
 * by the regions that have any. They come last, after the map, where the blocks they hold were
 * before: the anatomy pass's order-dependent choices (which type it discovers first, which
 * owner claims a shared object, its shape samples) see the other blocks in the same order. */
#define HS_L1_ENTRIES ((size_t)1 << (47 - HS_REGION_SHIFT))
#define HS_SIZE_MAX ((1ull << 37) - 1) /* bits 61, 62 of a map value: HS_MAP_EXACT, HS_MAP_WIN */

uint32_t **hs_l1;          /* hs_lock; NULL: shadow table unavailable */
uint32_t **hs_leaves;      /* leaf number -> leaf */
uintptr_t *hs_leaf_base;   /* leaf number -> region address */
uint32_t *hs_leaf_no_of;   /* first-level index -> leaf number (NORESERVE, like hs_l1) */
uint32_t *hs_side_no_of;   /* first-level index -> its side slots' number + 1, 0: none yet (NORESERVE) */
uint32_t hs_nleaves;
static uint32_t hs_leaves_cap;
uint32_t **hs_sides;       /* side number -> the region's side slots */
uintptr_t *hs_side_base;   /* side number -> region address */
uint32_t hs_nsides;
static uint32_t hs_sides_cap;

struct hs_slot *hs_map;    /* hs_lock */
uint8_t hs_map_filter[HS_MAP_FILTER]; /* see core.h */
uint64_t hs_map_bits[HS_MAP_FILTER / 64];

/* hs_lock held: the counter at i went from 0 to 1 (set) or from 1 to 0 (clear). */
static inline void hs_filter_mark(size_t i, int set) {
  uint64_t w = hs_map_bits[i >> 6], b = 1ull << (i & 63);
  __atomic_store_n(&hs_map_bits[i >> 6], set ? w | b : w & ~b, __ATOMIC_RELAXED);
}
size_t hs_map_mask;        /* capacity - 1 */
static size_t hs_map_count;
unsigned hs_map_shift;     /* 64 - log2(capacity) */

static void hs_shadow_init(void) {
  void *m = mmap(NULL, HS_L1_ENTRIES * sizeof(uint32_t *), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  void *n = mmap(NULL, 2 * HS_L1_ENTRIES * sizeof(uint32_t), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED || n == MAP_FAILED) {
    if (m != MAP_FAILED) munmap(m, HS_L1_ENTRIES * sizeof(uint32_t *));
    if (n != MAP_FAILED) munmap(n, 2 * HS_L1_ENTRIES * sizeof(uint32_t));
    return; /* everything goes to the hash map */
  }
  hs_l1 = m;
  hs_leaf_no_of = n;
  hs_side_no_of = hs_leaf_no_of + HS_L1_ENTRIES;
}

/* Room for entry n of a pair of arrays (leaves, their region addresses) of capacity *cap;
 * hs_lock held. */
static int hs_leaves_reserve(uint32_t ***leaves, uintptr_t **base, uint32_t n, uint32_t *cap) {
  if (n < *cap) return 0;
  uint32_t ncap = *cap ? *cap * 2 : 256;
  void *l = hs_grow(*leaves, *cap * sizeof **leaves, ncap * sizeof **leaves);
  if (!l) return -1;
  *leaves = l;
  void *b = hs_grow(*base, *cap * sizeof **base, ncap * sizeof **base);
  if (!b) return -1;
  *base = b;
  *cap = ncap;
  return 0;
}

/* The slot of address a, creating its leaf when create is set; NULL when a is not for the
 * shadow table (or, without create, when its region has no leaf). */
static inline uint32_t *hs_shadow_slot(uintptr_t a, int create) {
  if (HS_UNLIKELY(!hs_l1 || hs_shadow_outside(a))) return NULL;
  uint32_t *leaf = __atomic_load_n(&hs_l1[a >> HS_REGION_SHIFT], __ATOMIC_ACQUIRE);
  if (HS_UNLIKELY(!leaf)) {
    if (!create) return NULL;
    if (hs_leaves_reserve(&hs_leaves, &hs_leaf_base, hs_nleaves, &hs_leaves_cap) < 0) return NULL;
    /* the main slots, then the side slots (HS_LEAF_SLOTS further) */
    leaf = mmap(NULL, 2 * HS_LEAF_SLOTS * 4, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (leaf == MAP_FAILED) return NULL;
    hs_leaves[hs_nleaves] = leaf;
    hs_leaf_base[hs_nleaves] = a & ~(((uintptr_t)1 << HS_REGION_SHIFT) - 1);
    hs_leaf_no_of[a >> HS_REGION_SHIFT] = hs_nleaves++;
    __atomic_store_n(&hs_l1[a >> HS_REGION_SHIFT], leaf, __ATOMIC_RELEASE); /* read lock-free */
  }
  return &leaf[(a & (((uintptr_t)1 << HS_REGION_SHIFT) - 1)) >> HS_GRANULE_SHIFT];
}

/* The side slot of a, whose main slot is ss, with its region's side number (taken under
 * hs_lock the first time in a region); NULL when none can be had (the hash map then). */
static __attribute__((noinline)) uint32_t *hs_side_slot_create(uint32_t *ss, uintptr_t a) {
  size_t r = a >> HS_REGION_SHIFT;
  if (HS_LIKELY(__atomic_load_n(&hs_side_no_of[r], __ATOMIC_RELAXED))) return ss + HS_LEAF_SLOTS;
  hs_lock_acquire();
  int ok = hs_side_no_of[r] || hs_leaves_reserve(&hs_sides, &hs_side_base, hs_nsides, &hs_sides_cap) == 0;
  if (ok && !hs_side_no_of[r]) {
    hs_sides[hs_nsides] = hs_l1[r] + HS_LEAF_SLOTS;
    hs_side_base[hs_nsides] = a & ~(((uintptr_t)1 << HS_REGION_SHIFT) - 1);
    __atomic_store_n(&hs_side_no_of[r], ++hs_nsides, __ATOMIC_RELAXED);
  }
  hs_lock_release();
  return ok ? ss + HS_LEAF_SLOTS : NULL;
}

long hs_live_find_side(uintptr_t a, uint64_t *val) {
  size_t r = a >> HS_REGION_SHIFT, slot = (a & (((uintptr_t)1 << HS_REGION_SHIFT) - 1)) >> HS_GRANULE_SHIFT;
  uint32_t s = hs_l1[r][HS_LEAF_SLOTS + slot];
  if (!s || !hs_shadow_is(s, a)) return -1;
  *val = hs_shadow_decode(s);
  return (long)(hs_live_side_start() + (size_t)(hs_side_no_of[r] - 1) * HS_LEAF_SLOTS + slot);
}

static int hs_map_alloc(unsigned bits) {
  size_t cap = (size_t)1 << bits;
  void *m = mmap(NULL, cap * sizeof(struct hs_slot), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return -1;
  struct hs_slot *old = hs_map;
  size_t oldcap = old ? hs_map_mask + 1 : 0;
  hs_map = m;
  hs_map_mask = cap - 1;
  hs_map_shift = 64 - bits;
  for (size_t i = 0; i < oldcap; i++) {
    if (!old[i].key) continue;
    size_t j = hs_map_hash(old[i].key);
    while (hs_map[j].key) j = (j + 1) & hs_map_mask;
    hs_map[j] = old[i];
  }
  if (old) munmap(old, oldcap * sizeof(struct hs_slot));
  return 0;
}

/* Hash map slot for key, inserting it when create is set; NULL when absent or full. */
static uint64_t *hs_map_slot(uintptr_t key, int create) {
  if (create && HS_UNLIKELY((hs_map_count + 1) * 5 > (hs_map_mask + 1) * 3) &&
      hs_map_alloc(64 - hs_map_shift + 1) < 0)
    return NULL;
  size_t i = hs_map_hash(key);
  while (hs_map[i].key && hs_map[i].key != key) i = (i + 1) & hs_map_mask;
  if (!hs_map[i].key) {
    if (!create) return NULL;
    hs_map[i].key = key;
    hs_map[i].val = 0;
    hs_map_count++;
    size_t fi = hs_filter_index(key);
    uint8_t *c = &hs_map_filter[fi];
    if (*c == 0) hs_filter_mark(fi, 1);
    if (*c < UINT8_MAX) __atomic_store_n(c, (uint8_t)(*c + 1), __ATOMIC_RELAXED);
  }
  return &hs_map[i].val;
}

static void hs_map_delete(uint64_t *valp) {
  size_t i = (size_t)((struct hs_slot *)((char *)valp - offsetof(struct hs_slot, val)) - hs_map);
  size_t fi = hs_filter_index(hs_map[i].key);
  uint8_t *c = &hs_map_filter[fi];
  if (*c && *c < UINT8_MAX) { /* saturated stays */
    __atomic_store_n(c, (uint8_t)(*c - 1), __ATOMIC_RELAXED);
    if (*c == 0) hs_filter_mark(fi, 0);
  }
  size_t j = i;
  for (;;) { /* backward-shift deletion */
    j = (j + 1) & hs_map_mask;
    if (!hs_map[j].key) break;
    size_t home = hs_map_hash(hs_map[j].key);
    /* move j into the hole at i when its home is not cyclically in (i, j] */
    if (((j - home) & hs_map_mask) >= ((j - i) & hs_map_mask)) {
      hs_map[i] = hs_map[j];
      i = j;
    }
  }
  hs_map[i].key = 0;
  hs_map[i].val = 0;
  hs_map_count--;
}

/* exact: the block's HS_MAP_EXACT (its weight in sampled mode's estimates) */
static inline __attribute__((always_inline)) void hs_site_account_free(struct hs_thread *t, uint64_t val,
                                                                       int exact) {
  uint32_t site = (uint32_t)(val & HS_SITE_ID_MAX);
  uint64_t size = val >> HS_SITE_ID_BITS;
  struct hs_thread_stats *st = &t->st[site];
  st->frees++;
  st->live_bytes -= size;
  if (HS_UNLIKELY(t->est != NULL)) hs_est_account(t->est, site, size, -1, exact);
  t->tot.live_bytes -= size;
}

/* After this thread allocated hs_peak_step bytes, or one block of HS_PEAK_EXACT bytes or
 * more: the process's live bytes (other threads' totals read without the lock, each exact
 * for its thread) raise the peak, and the per-site copy is taken when they passed the last
 * copy (by any amount after a big block, by the margin otherwise). */
uint64_t hs_live_now(void) {
  uint64_t live = hs_retired.tot.live_bytes;
  for (struct hs_thread *t = __atomic_load_n(&hs_threads, __ATOMIC_ACQUIRE); t; t = t->next)
    if (t->in_use) live += __atomic_load_n(&t->tot.live_bytes, __ATOMIC_RELAXED);
  return live;
}

static __attribute__((noinline)) void hs_peak_check(struct hs_thread *me, uint64_t size) {
  me->pending = 0;
  uint64_t live = hs_live_now();
  hs_peak_raise(live);
  if (hs_proc.has_base && (int64_t)live > (int64_t)hs_proc.base_high)
    hs_proc.base_high = live; /* writers.c */
  if ((int64_t)live <= 0) return;
  /* a big block copies when it takes the live bytes past the last copy by its own size or
   * by the margin: a short-lived big block at the high-water mark is in the copy, while a
   * session whose live bytes creep up (pytest keeping its reports) does not copy at every
   * big block it allocates and frees */
  uint64_t step = size >= HS_PEAK_EXACT ? (size < hs_peak_next - hs_peak_bytes ? size : hs_peak_next - hs_peak_bytes)
                                         : hs_peak_next - hs_peak_bytes;
  if (live < hs_peak_bytes + step) return;
  hs_lock_acquire();
  if (live >= hs_peak_bytes + step) hs_peak_copy();
  hs_lock_release();
}

/* Every 1024 events of a thread: PEP 445 users and the interval timer, the timeline's clock. */
static __attribute__((noinline)) void hs_periodic(void) {
  if (hs_py_hooked) hs_chain_poll(); /* a PEP 445 user came or went */
  if (HS_UNLIKELY(!hs_timer_running)) hs_timer_resume(); /* after a fork (timer.c) */
  hs_reattrib_poll();
  hs_lock_acquire();
  hs_time_tick();
  hs_lock_release();
}

static inline void hs_account_alloc(struct hs_thread *t, uint32_t site, uint64_t sz, int exact) {
  struct hs_thread_stats *st = &t->st[site];
  st->allocs++;
  st->alloc_bytes += sz;
  st->live_bytes += sz;
  if (HS_UNLIKELY(t->est != NULL)) hs_est_account(t->est, site, sz, 1, exact);
  t->tot.live_bytes += sz;
}

/* The shadow slot of a (creating its leaf under hs_lock), or NULL for the hash map. */
static inline uint32_t *hs_shadow_slot_create(uintptr_t a) {
  uint32_t *ss = hs_shadow_slot(a, 0);
  if (HS_LIKELY(ss) || !hs_l1 || hs_shadow_outside(a)) return ss;
  hs_lock_acquire();
  ss = hs_shadow_slot(a, 1);
  hs_lock_release();
  return ss;
}

static __attribute__((noinline)) void hs_core_alloc_full(void *p, size_t size, uint32_t site) {
  uintptr_t key = (uintptr_t)p;
  uint64_t sz = size > HS_SIZE_MAX ? HS_SIZE_MAX : size;
  if (HS_UNLIKELY(!hs_active)) return;
  struct hs_thread *t = hs_me_get(site);
  if (HS_UNLIKELY(!t)) {
    hs_disable("out of memory for statistics", ENOMEM);
    return;
  }
  uint32_t *ss = sz <= HS_SHADOW_MAX_SIZE && site <= HS_SHADOW_SITE_MASK ? hs_shadow_slot_create(key) : NULL;
  if (HS_LIKELY(ss) && HS_UNLIKELY(*ss) && !hs_shadow_is(*ss, key)) {
    /* The granule's other half is recorded. Unless the lower of the two blocks has at most
     * 16 bytes it overlaps the upper one, so the recorded one is gone (a free never seen)
     * and its slot is taken below; two blocks of 16 bytes can both be live, and then this
     * one goes to the granule's side slot (whatever that holds is gone: the main slot has the
     * other half's block). */
    uint64_t lower = key & 16 ? hs_shadow_size(*ss) : sz;
    if (lower <= 16) ss = hs_side_slot_create(ss, key);
  }
  int win = hs_win_open;
  /* sampled mode recording everything: this block stands for itself (never in the shadow
   * table, which sampled mode does not have) */
  uint64_t exact = HS_UNLIKELY(hs_sample_rate) && hs_exact_on ? HS_MAP_EXACT : 0;
  if (HS_LIKELY(ss)) {
    uint32_t old = *ss;
    *ss = hs_shadow_encode(key, sz, site) | (win ? HS_SHADOW_WIN : 0);
    /* A block recorded at this address, or one overlapping it, is gone: a free never seen. */
    if (HS_UNLIKELY(old)) {
      if (old & HS_SHADOW_WIN) hs_win_sub(hs_shadow_size(old));
      hs_site_account_free(t, hs_shadow_decode(old), 0);
    }
  } else {
    hs_lock_acquire();
    uint64_t *slot = hs_map_slot(key, 1);
    if (HS_UNLIKELY(!slot)) {
      hs_lock_release();
      hs_disable("cannot grow the pointer map", ENOMEM);
      return;
    }
    uint64_t old = *slot;
    *slot = HS_PRESENT | (win ? HS_MAP_WIN : 0) | exact | (sz << HS_SITE_ID_BITS) | site;
    hs_lock_release();
    if (HS_UNLIKELY(old)) {
      if (old & HS_MAP_WIN) hs_win_sub((old & HS_VAL_MASK) >> HS_SITE_ID_BITS);
      hs_site_account_free(t, old & HS_VAL_MASK, (old & HS_MAP_EXACT) != 0);
    }
  }
  hs_account_alloc(t, site, sz, exact != 0);
  if (HS_UNLIKELY(win)) hs_win_add(sz);
  if (HS_UNLIKELY((t->pending += sz) >= hs_peak_step)) hs_peak_check(t, sz);
  if (HS_UNLIKELY((++t->events & 1023) == 0)) hs_periodic();
}

/* The common case of hs_core_alloc_full, kept apart so that it needs no stack frame: an
 * exact record (not sampled mode) of a small block into an empty shadow slot of an existing
 * leaf, no test-peak window open, no estimates. With the rare cases inlined, GCC saved six
 * registers and set up a frame on every allocation (about 100 instructions an allocation in
 * callgrind on particles). The effect is hs_core_alloc_full's for these blocks. */
void hs_core_alloc(void *p, size_t size, uint32_t site) {
  struct hs_thread *t = hs_me;
  if (HS_LIKELY(hs_active && t && site < t->cap && size <= HS_SHADOW_MAX_SIZE && site <= HS_SHADOW_SITE_MASK &&
                !hs_sample_rate && !hs_win_open && !t->est)) {
    uintptr_t key = (uintptr_t)p;
    uint32_t *ss = hs_shadow_slot(key, 0);
    /* the granule's other half holds a live block of at most 16 bytes, and this one has at
     * most 16 too: the side slot, when its region has them and it is empty (else the full path) */
    if (HS_UNLIKELY(ss && *ss) && size <= 16 && !hs_shadow_is(*ss, key) && hs_shadow_size(*ss) <= 16 &&
        hs_side_no_of[key >> HS_REGION_SHIFT] && !ss[HS_LEAF_SLOTS])
      ss += HS_LEAF_SLOTS;
    if (HS_LIKELY(ss && !*ss)) {
      *ss = hs_shadow_encode(key, size, site);
      struct hs_thread_stats *st = &t->st[site];
      st->allocs++;
      st->alloc_bytes += size;
      st->live_bytes += size;
      t->tot.live_bytes += size;
      if (HS_UNLIKELY((t->pending += size) >= hs_peak_step)) hs_peak_check(t, size);
      if (HS_UNLIKELY((++t->events & 1023) == 0)) hs_periodic();
      return;
    }
  }
  hs_core_alloc_full(p, size, site);
}

static __attribute__((noinline)) int hs_core_free_full(void *p, uint32_t *site, size_t *size) {
  uintptr_t key = (uintptr_t)p;
  uint64_t val;
  uint32_t *ss = hs_shadow_slot(key, 0);
  int win, exact = 0;
  /* not in the main slot: maybe in the side slot (the second of two 16-byte blocks) */
  if (ss && !(*ss && hs_shadow_is(*ss, key))) ss += HS_LEAF_SLOTS;
  if (HS_LIKELY(ss && *ss && hs_shadow_is(*ss, key))) {
    /* Lock-free: the block is this caller's to free, so nobody else writes its slot now,
     * except testpeak.c's clearing of the window bit (a compare-and-swap, on marked slots
     * only): a marked slot is emptied by an exchange, which sees the bit as it is then; an
     * unmarked one by a plain store. An exchange on every free (a locked instruction, a full
     * barrier on x86) was a quarter of the free path's samples in perf (strings, json_dumps). */
    uint32_t s = *ss;
    if (HS_UNLIKELY(s & HS_SHADOW_WIN)) s = __atomic_exchange_n(ss, 0, __ATOMIC_RELAXED);
    else __atomic_store_n(ss, 0, __ATOMIC_RELAXED);
    win = (s & HS_SHADOW_WIN) != 0;
    val = hs_shadow_decode(s);
  } else {
    /* A counting filter over the hash map's keys answers for blocks never recorded (sampled
     * out, or older than the hooks) without the lock. */
    if (!hs_map_may_hold(p)) return 0;
    hs_lock_acquire();
    uint64_t *slot = hs_map_count ? hs_map_slot(key, 0) : NULL;
    if (!slot) {
      hs_lock_release();
      return 0;
    }
    win = (*slot & HS_MAP_WIN) != 0;
    exact = (*slot & HS_MAP_EXACT) != 0;
    val = *slot & HS_VAL_MASK;
    hs_map_delete(slot);
    hs_lock_release();
  }
  if (HS_UNLIKELY(win)) hs_win_sub(val >> HS_SITE_ID_BITS);
  uint32_t s = (uint32_t)(val & HS_SITE_ID_MAX);
  struct hs_thread *t = hs_me_get(s);
  if (HS_LIKELY(t)) {
    hs_site_account_free(t, val, exact);
    if (HS_UNLIKELY((++t->events & 1023) == 0)) hs_periodic();
  }
  if (site) *site = s;
  if (size) *size = (size_t)(val >> HS_SITE_ID_BITS);
  return 1;
}

/* The common case of hs_core_free_full, without a stack frame (see hs_core_alloc): a block
 * in the shadow table, unmarked by a test-peak window, freed by a thread that already counts
 * its site, without estimates. The block is this caller's to free, so its slot is emptied by
 * a plain store (hs_core_free_full says why). */
int hs_core_free(void *p, uint32_t *site, size_t *size) {
  uintptr_t key = (uintptr_t)p;
  uint32_t *ss = hs_shadow_slot(key, 0);
  struct hs_thread *t = hs_me;
  if (HS_LIKELY(ss && t && !t->est)) {
    uint32_t s = *ss;
    if (HS_UNLIKELY(!(s && hs_shadow_is(s, key)))) s = *(ss += HS_LEAF_SLOTS); /* the side slot */
    if (HS_LIKELY(s && hs_shadow_is(s, key) && !(s & HS_SHADOW_WIN))) {
      uint64_t val = hs_shadow_decode(s);
      uint32_t sid = (uint32_t)(val & HS_SITE_ID_MAX);
      if (HS_LIKELY(sid < t->cap)) {
        uint64_t bytes = val >> HS_SITE_ID_BITS;
        __atomic_store_n(ss, 0, __ATOMIC_RELAXED);
        struct hs_thread_stats *st = &t->st[sid]; /* hs_site_account_free without estimates */
        st->frees++;
        st->live_bytes -= bytes;
        t->tot.live_bytes -= bytes;
        if (site) *site = sid;
        if (size) *size = (size_t)bytes;
        if (HS_UNLIKELY((++t->events & 1023) == 0)) hs_periodic();
        return 1;
      }
    }
  }
  return hs_core_free_full(p, site, size);
}

/* Re-attribution (reattrib.c): the live block p now belongs to site_of(its site's domain);
 * counted as a free at the old site and an allocation at the new one. */
int hs_core_reattribute(void *p, uint32_t (*site_of)(uint8_t domain)) {
  uintptr_t key = (uintptr_t)p;
  uint32_t *ss = hs_shadow_slot(key, 0);
  uint64_t val;
  int exact = 0;
  if (ss && !(*ss && hs_shadow_is(*ss, key))) ss += HS_LEAF_SLOTS; /* the side slot */
  int shadow = ss && *ss && hs_shadow_is(*ss, key);
  if (HS_LIKELY(shadow)) {
    val = hs_shadow_decode(*ss); /* lock-free: the block's object is this thread's to create */
  } else {
    if (!hs_map_may_hold(p)) return 0;
    hs_lock_acquire();
    uint64_t *slot = hs_map_count ? hs_map_slot(key, 0) : NULL;
    val = slot ? *slot & HS_VAL_MASK : 0;
    exact = slot && (*slot & HS_MAP_EXACT);
    hs_lock_release();
    if (!slot) return 0;
  }
  uint32_t old = (uint32_t)(val & HS_SITE_ID_MAX);
  uint32_t site = site_of(hs_site_domain(old));
  if (site == old || !hs_active) return 0;
  uint64_t size = val >> HS_SITE_ID_BITS;
  struct hs_thread *t = hs_me_get(site > old ? site : old);
  if (HS_UNLIKELY(!t)) return 0;
  if (shadow) {
    if (site > HS_SHADOW_SITE_MASK) return 0; /* past 2^21 sites: left where it is */
    *ss = hs_shadow_encode(key, size, site) | (*ss & HS_SHADOW_WIN); /* the window's mark stays */
  } else {
    hs_lock_acquire();
    uint64_t *slot = hs_map_slot(key, 0);
    if (slot) *slot = (*slot & (HS_PRESENT | HS_MAP_WIN | HS_MAP_EXACT)) | (size << HS_SITE_ID_BITS) | site;
    hs_lock_release();
    if (!slot) return 0;
  }
  hs_site_account_free(t, val, exact);
  hs_account_alloc(t, site, size, exact);
  if (HS_UNLIKELY((++t->events & 1023) == 0)) hs_periodic();
  return 1;
}

static __attribute__((noinline)) int hs_core_reattribute_obj_full(uintptr_t key, uint32_t *ss, uint32_t s,
                                                                  uint32_t site) {
  uint64_t val = hs_shadow_decode(s);
  uint32_t old = (uint32_t)(val & HS_SITE_ID_MAX);
  if (HS_UNLIKELY(old >= hs_site_vec.count || hs_site_dom[old] != HS_DOMAIN_OBJ))
    return hs_core_reattribute((void *)key, hs_py_site_now);
  if (site == old || !hs_active) return 0;
  uint64_t size = val >> HS_SITE_ID_BITS;
  struct hs_thread *t = hs_me_get(site > old ? site : old);
  if (HS_UNLIKELY(!t)) return 0;
  if (site > HS_SHADOW_SITE_MASK) return 0; /* past 2^21 sites: left where it is */
  *ss = hs_shadow_encode(key, size, site) | (*ss & HS_SHADOW_WIN); /* the window's mark stays */
  hs_site_account_free(t, val, 0);
  hs_account_alloc(t, site, size, 0);
  if (HS_UNLIKELY((++t->events & 1023) == 0)) hs_periodic();
  return 1;
}

/* hs_core_reattribute_obj's other cases, which may allocate (a thread's first statistics,
 * hs_periodic): under hs_busy, which its caller does not hold. */
static __attribute__((noinline)) int hs_core_reattribute_obj_busy(uintptr_t key, uint32_t *ss, uint32_t s,
                                                                  uint32_t site) {
  hs_busy = 1;
  int r = hs_core_reattribute_obj_full(key, ss, s, site);
  hs_busy = 0;
  return r;
}

/* The common case of hs_core_reattribute_obj_full without a stack frame (as hs_core_alloc):
 * an OBJ block moving between two sites this thread already counts, no estimates. The
 * thread's live bytes lose and gain the same size, so they are left alone. It calls nothing
 * and allocates nothing, so it runs without hs_busy; the other cases take it. Returns 0, the
 * reference tracer's answer (its caller returns it as a tail call). hs_active is not tested
 * again: the caller (hs_ra_fast) has just seen it set. */
int hs_core_reattribute_obj(uintptr_t key, uint32_t *ss, uint32_t s, uint32_t site) {
  struct hs_thread *t = hs_me;
  uint32_t old = s & HS_SHADOW_SITE_MASK;
  /* (site | old) bounds both from above: below t->cap and within the slot's site field
   * means both are (when it is not, the other path gives the same answer) */
  uint32_t both = site | old;
  if (HS_LIKELY(t && !t->est && old < hs_site_vec.count && hs_site_dom[old] == HS_DOMAIN_OBJ &&
                site != old && both < t->cap && both <= HS_SHADOW_SITE_MASK &&
                ((t->events + 1) & 1023) != 0)) {
    uint64_t size = hs_shadow_size(s);
    /* only the site field changes: size and half are the block's (s's: every caller has
     * checked hs_shadow_is(s, key)), the window's mark is read again from the slot as before */
#ifdef HS_WM_CHECK /* the check build: the slot hs_shadow_encode would build */
    if (((*ss & ~HS_SHADOW_SITE_MASK) | site) != (hs_shadow_encode(key, size, site) | (*ss & HS_SHADOW_WIN)))
      __builtin_trap();
#else
    (void)key;
#endif
    *ss = (*ss & ~HS_SHADOW_SITE_MASK) | site;
    struct hs_thread_stats *from = &t->st[old], *to = &t->st[site];
    from->frees++;
    from->live_bytes -= size;
    to->allocs++;
    to->alloc_bytes += size;
    to->live_bytes += size;
    t->events++;
    return 0;
  }
  hs_core_reattribute_obj_busy(key, ss, s, site);
  return 0;
}

uint8_t hs_site_domain(uint32_t site) { return site < hs_site_vec.count ? hs_site_dom[site] : 0; }
const uint8_t *hs_site_domains(uint32_t *count) {
  *count = hs_site_vec.count;
  return hs_site_dom;
}

/* ---------------------------------------------------------------- lifecycle */

static void hs_atfork_prepare(void) { hs_lock_acquire(); }
static void hs_atfork_parent(void) { hs_lock_release(); }
static void hs_atfork_child(void) {
  __atomic_store_n(&hs_lock_word, 0, __ATOMIC_RELAXED); /* the parent's holders are gone */
  hs_proc.pid = (int)syscall(SYS_getpid);
  hs_proc.seq = 0;
  hs_proc.final_written = 0;
  hs_proc.forked = 1;
  hs_budget_release(); /* child_budget.c: a lock the parent holds stays the parent's */
  hs_proc_mark_base(1); /* writers.c */
}

void hs_attend(void) {
  if (hs_py_pending) hs_py_finish_init();
  /* In a Python process the dump waits for a hook running with the GIL held, so the
   * snapshot can include the anatomy of objects. */
  int python_running = hs_py_hooked && hs_proc.anatomy && !hs_py_pending && hs_py_version;
  if (hs_dump_requested && (!python_running || hs_py_holds_gil()) &&
      __atomic_exchange_n(&hs_dump_requested, 0, __ATOMIC_SEQ_CST) &&
      (hs_dump_reason != HS_REASON_INTERVAL || hs_proc_writes()))
    hs_snapshot_write(NULL, hs_dump_reason);
  if (hs_reattrib_wanted) hs_reattrib_attend();
  hs_attention = hs_py_pending || hs_dump_requested || hs_reattrib_wanted;
}

/* Reads /proc/self/cmdline into buf; fills argv (pointers into buf). */
static int hs_read_cmdline(char *buf, size_t cap, const char **argv, int maxargs) {
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t n = 0;
  while (n < cap - 1) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = 0;
  int argc = 0;
  for (size_t i = 0; i < n && argc < maxargs; i += strlen(buf + i) + 1) argv[argc++] = buf + i;
  return argc;
}

static void hs_copy_env(char *dst, size_t cap, const char *name) {
  const char *v = getenv(name);
  dst[0] = 0;
  if (v && strlen(v) < cap) memcpy(dst, v, strlen(v) + 1);
}

uint32_t hs_env_u32(const char *name, uint32_t dflt, uint32_t lo, uint32_t hi) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  uint64_t x = 0;
  for (; *v >= '0' && *v <= '9'; v++) x = x * 10 + (uint64_t)(*v - '0');
  if (x < lo) x = lo;
  if (x > hi) x = hi;
  return (uint32_t)x;
}

/* "2", "0.5", "1.25" seconds -> nanoseconds; 0 when unset or malformed. */
static uint64_t hs_env_seconds_ns(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) return 0;
  uint64_t whole = 0, frac = 0, scale = 1000000000u;
  for (; *v >= '0' && *v <= '9'; v++) whole = whole * 10 + (uint64_t)(*v - '0');
  if (*v == '.')
    for (v++; *v >= '0' && *v <= '9' && scale > 1; v++) {
      scale /= 10;
      frac += (uint64_t)(*v - '0') * scale;
    }
  return whole * 1000000000u + frac;
}

static char hs_cmdline_buf[16384];

__attribute__((constructor)) static void hs_init(void) {
  hs_busy = 1;
  hs_proc.pid = (int)syscall(SYS_getpid);
  hs_proc.start_ns = hs_now_ns();
  hs_proc.root_pid = (int)hs_env_u32("HEAPSHAPE_ROOT_PID", 0, 0, 0x7fffffff);
  hs_proc.max_frames = hs_env_u32("HEAPSHAPE_FRAMES", 1, 1, HS_MAX_FRAMES);
  hs_proc.anatomy = (int)hs_env_u32("HEAPSHAPE_ANATOMY", 1, 0, 1);
  hs_proc.fsync = (int)hs_env_u32("HEAPSHAPE_FSYNC", 0, 0, 1);
  {
    const char *c = getenv("HEAPSHAPE_CHILDREN");
    hs_proc.all_children = c && strcmp(c, "all") == 0;
    hs_proc.no_children = c && strcmp(c, "none") == 0;
    hs_proc.child_budget_mib = hs_env_u32("HEAPSHAPE_CHILD_BUDGET", 128, 0, 1u << 20);
  }
  hs_sample_rate = hs_env_u32("HEAPSHAPE_SAMPLE_RATE", 0, 0, 0x7fffffff);
  /* a census of sampled blocks says nothing about the heap's objects */
  if (hs_sample_rate && !getenv("HEAPSHAPE_ANATOMY")) hs_proc.anatomy = 0;
  hs_proc.interval_ns = hs_env_seconds_ns("HEAPSHAPE_INTERVAL");
  hs_mono_start = hs_mono_ns();
  hs_next_dump_ns = hs_mono_start + hs_proc.interval_ns;
  hs_time = hs_grow(NULL, 0, HS_TIME_MAX * sizeof *hs_time);
  hs_copy_env(hs_proc.output, sizeof hs_proc.output, "HEAPSHAPE_OUTPUT");
  hs_copy_env(hs_proc.dir, sizeof hs_proc.dir, "HEAPSHAPE_DIR");
  if (!hs_proc.root_pid) { /* LD_PRELOAD by hand (root_process.c) */
    const char *pre = getenv("LD_PRELOAD");
    hs_proc.root_by_hand = 1;
    if (hs_proc.output[0])
      hs_proc.root_pid = hs_tree_root_pid(hs_proc.pid, "HEAPSHAPE_OUTPUT", hs_proc.output);
    else if ((hs_proc.root_inferred = hs_proc.dir[0] != 0))
      hs_proc.root_pid = hs_tree_root_pid(hs_proc.pid, "HEAPSHAPE_DIR", hs_proc.dir);
    else if ((hs_proc.root_inferred = pre && *pre))
      hs_proc.root_pid = hs_tree_root_pid(hs_proc.pid, "LD_PRELOAD", pre);
  }
  if (!hs_proc.dir[0] && !getcwd(hs_proc.dir, sizeof hs_proc.dir)) strcpy(hs_proc.dir, ".");

  /* sampled mode keeps few blocks: the hash map alone, whose filter answers most frees with
   * one load, beats the shadow table's page walks */
  if (!hs_env_u32("HEAPSHAPE_SAMPLE_RATE", 0, 0, 0x7fffffff)) hs_shadow_init();
  if (hs_map_alloc(12) < 0) {
    hs_warn3("cannot map the pointer table; tracking disabled", "", "");
    hs_busy = 0;
    return;
  }
  const char *argv[256];
  int argc = hs_read_cmdline(hs_cmdline_buf, sizeof hs_cmdline_buf, argv, 256);
  hs_program_name(argc, argv, hs_proc.program, sizeof hs_proc.program);
  hs_intern_string_unlocked("", 0); /* string 0 is "" */
  hs_proc.program_sid = hs_intern_string_unlocked(hs_proc.program, strlen(hs_proc.program));
  for (int i = 0; i + 1 < argc; i++) hs_cmdline_buf[strlen(argv[i]) + (size_t)(argv[i] - hs_cmdline_buf)] = ' ';
  hs_proc.cmdline_sid = hs_intern_string_unlocked(hs_cmdline_buf, strlen(hs_cmdline_buf));
  if (hs_proc.program_sid == UINT32_MAX || hs_proc.cmdline_sid == UINT32_MAX) {
    hs_warn3("out of memory at start-up; tracking disabled", "", "");
    hs_busy = 0;
    return;
  }
  pthread_atfork(hs_atfork_prepare, hs_atfork_parent, hs_atfork_child);
  hs_thread_key_ok = pthread_key_create(&hs_thread_key, hs_thread_exit) == 0;
  hs_signal_init(); /* HEAPSHAPE_SIGNAL (sigsnap.c) */
  hs_native_mode = (int)hs_env_u32("HEAPSHAPE_NATIVE", 0, 0, 1);
  if (hs_native_mode) {
    if (!getenv("HEAPSHAPE_FRAMES")) hs_proc.max_frames = 16;
    hs_native_init();
  }
  hs_active = 1;
  hs_py_init();
  hs_timer_init(); /* after pthread_atfork above: its prepare handler must run first */
  hs_busy = 0;
}

/* The exit snapshot of a process that Python's atexit did not cover. */
static void hs_final_snapshot(void) {
  /* hs_busy: _exit from a signal handler that interrupted heapshape itself (which may hold
   * hs_lock): no snapshot rather than a deadlock. */
  if (!hs_active || hs_proc.final_written || hs_busy) return;
  if ((int)syscall(SYS_getpid) != hs_proc.pid) return; /* a vfork child: memory is shared */
  int saved = hs_busy;
  hs_busy = 1;
  hs_proc.final_written = 1;
  hs_exit_write(); /* writers.c */
  hs_active = 0; /* nothing more will be written: let the exit's frees run untracked */
  hs_busy = saved;
}

__attribute__((destructor)) static void hs_fini(void) {
  hs_final_snapshot();
  hs_budget_exit(); /* child_budget.c */
}

/* os._exit() and multiprocessing's children end here without running destructors. */
__attribute__((visibility("default"))) void _exit(int status) {
  hs_final_snapshot();
  hs_budget_exit(); /* child_budget.c */
  for (;;) syscall(SYS_exit_group, status);
}
__attribute__((visibility("default"))) void _Exit(int status) { _exit(status); }

/* Public API (include/heapshape/heapshape.h). */
__attribute__((visibility("default"))) int heapshape_snapshot(const char *path) {
  if (!hs_active) {
    errno = ENODEV;
    return -1;
  }
  int saved = hs_busy;
  int gil = hs_py_gil_acquire(); /* ctypes.CDLL calls run without the GIL */
  hs_busy = 1;
  int r = hs_snapshot_write(path && *path ? path : NULL, HS_REASON_API);
  hs_busy = saved;
  int e = errno;
  hs_py_gil_release(gil);
  errno = e;
  return r;
}
