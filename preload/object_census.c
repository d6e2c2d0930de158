/* heapshape object anatomy: at a snapshot, every live OBJ block gets its Python type, the
 * memory objects own elsewhere is attributed to them, and the shapes of the biggest sites are
 * sampled. The result is the TYPE, ANAT and SHAP sections (docs/snapshot-format.md, v2).
 *
 * Memory safety rule: heap memory is read only inside blocks that are live in the pointer map
 * (hs_lock is held for the whole pass, so none of them can be freed meanwhile: the free hooks
 * take hs_lock before the real free), and always within the block's requested size. Static
 * memory (type objects and singletons in a module's data) is read only inside file-backed
 * readable mappings listed in /proc/self/maps. Nothing calls into Python; the caller holds the
 * GIL so objects do not change while they are read.
 *
 * Layouts per version (offsets measured with offsetof against each version's headers):
 *   PyObject: ob_refcnt 0, ob_type 8; PyVarObject: ob_size 16
 *   PyTypeObject: tp_name 24, tp_basicsize 32, tp_itemsize 40, tp_flags 168, tp_members 240,
 *                 tp_dictoffset 288
 *   PyListObject: ob_item 24; PyTupleObject: ob_item 24 (3.14+: 32, after ob_hash);
 *   PyDictObject: ma_keys 32, ma_values 40
 *   PyHeapTypeObject.ht_cached_keys: 3.8-3.11 872, 3.12-3.14 880, 3.15 888
 *   PyDictKeysObject 3.8-3.10: dk_size 8, dk_nentries 32, dk_indices 40, entries {hash,key,value}
 *                    3.11-3.13: dk_log2_index_bytes 9, dk_kind 10, dk_nentries 24,
 *                    dk_indices 32, entries {hash,key,value} (general) or {key,value} (unicode)
 *   split values: 3.8-3.10 a PyObject* array; 3.11/3.12 the same array preceded by a prefix
 *                 of 8..64 bytes in the same block; 3.13 {capacity,size,embedded,valid} + array
 *                 at 8, embedded after the object when Py_TPFLAGS_INLINE_VALUES
 *   managed dict (3.11+): the pointer at object - 24 (3.12: values - 1 when bit 0 is set);
 *                 3.11 values pointer at object - 32
 *   3.14 and 3.15 (Debian's 3.14.10 and 3.15.2 headers, tools/pyoffsets.c) equal 3.13 except
 *   where noted; PyGC_Head stays 16 bytes, the pre-header 16 (dict at -24, weakref at -32).
 */
/* PyTupleObject.ob_item */
#define HS_TUPLE_ITEMS ((uint64_t)(hs_pyi.minor >= 14 ? 32 : 24))
#define _GNU_SOURCE
/* preload/BUILD compiles this file a second time, with HS_ANATOMY_POPCNT, for CPUs with POPCNT
 * (every x86-64 CPU since 2008; Debian's baseline does not assume it): the passes rank live
 * blocks with a popcount several times per block. hs_anatomy_collect picks the copy at run
 * time; the other public functions exist once. */
#ifdef HS_ANATOMY_POPCNT
#pragma GCC target("popcnt")
#define hs_anatomy_collect hs_anatomy_collect_popcnt
#endif
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "preload/core.h"

struct hs_anatomy *hs_anatomy_collect_popcnt(const char *maps_text) HS_HIDDEN;

/* In the POPCNT copy the per-block work of each pass stays out of line: cheaper ranks let GCC
 * inline it all into one function, which measured slower (with both changes the pass took
 * 10% less time on particles, 4% on instances; either alone gained nothing). */
#ifdef HS_ANATOMY_POPCNT
#define HS_NOINLINE __attribute__((noinline))
#else
#define HS_NOINLINE
#endif

#define TPF_HEAPTYPE (1ull << 9)
#define TPF_HAVE_GC (1ull << 14)
#define TPF_LONG_SUBCLASS (1ull << 24)
#define TPF_LIST_SUBCLASS (1ull << 25)
#define TPF_TUPLE_SUBCLASS (1ull << 26)
#define TPF_BYTES_SUBCLASS (1ull << 27)
#define TPF_UNICODE_SUBCLASS (1ull << 28)
#define TPF_DICT_SUBCLASS (1ull << 29)
#define TPF_TYPE_SUBCLASS (1ull << 31)
#define TPF_MANAGED_WEAKREF (1ull << 3)
#define TPF_MANAGED_DICT (1ull << 4)
#define TPF_INLINE_VALUES (1ull << 2)
#define TPF_BUILTIN_CONTAINER \
  (TPF_LONG_SUBCLASS | TPF_LIST_SUBCLASS | TPF_TUPLE_SUBCLASS | TPF_BYTES_SUBCLASS | \
   TPF_UNICODE_SUBCLASS | TPF_DICT_SUBCLASS | TPF_TYPE_SUBCLASS)

#define TYPE_HEADER_READ 296 /* bytes of a type object we read: up to tp_dictoffset */
#define MAX_TYPES 16383 /* a type index + 1 takes 14 bits of a block's class */
#define MAX_ROWS (1u << 20)
#define SHAPE_ROWS 256
#define SHAPE_SAMPLES 64
#define SHAPES_PER_ROW 4
/* v5: a row may hold SHAPES_PER_ROW more shapes of containers of HS_ELEM_BIG+ elements */
#define SHAPES_CAP (SHAPE_ROWS * SHAPES_PER_ROW * 2)
#define HS_BIGL_MAX 4096 /* big lists whose element kinds the containers pass keeps */
#define HS_INST_MAX 65536 /* instances the types pass lists for the instances pass */

/* ------------------------------------------------------------------ scratch memory */

static void *hs_scratch(size_t bytes) {
  if (!bytes) bytes = 1;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}
static void hs_unscratch(void *p, size_t bytes) {
  if (p) munmap(p, bytes ? bytes : 1);
}

static inline uint64_t rd64(uintptr_t a) { return *(const uint64_t *)a; }

/* ------------------------------------------------------------------ readable static memory */

struct hs_range {
  uintptr_t lo, hi;
};

/* File-backed readable mappings (not /dev), in address order as /proc/self/maps lists them. */
static size_t hs_ranges_parse(const char *maps, struct hs_range *out, size_t cap) {
  struct hs_map_line ml;
  size_t n = 0;
  for (const char *cur = maps; n < cap && hs_maps_next(&cur, &ml);) {
    if (ml.perms[0] == 'r' && ml.pathlen && strncmp(ml.path, "/dev/", 5) != 0) {
      out[n].lo = ml.lo;
      out[n].hi = ml.hi;
      n++;
    }
  }
  return n;
}

/* ------------------------------------------------------------------ the pass's state */

struct hs_type {
  uintptr_t addr;
  uint32_t name_sid;
  uint32_t flags;
  uint64_t tp_flags;
  int64_t basicsize, itemsize;
  uintptr_t block_end; /* a heap type: the end of its live block (its __slots__ members are
                        * read up to there), else 0; found once, not per instance */
  uint8_t role; /* HS_ROLE_*: what the passes do with its objects, decided once per type */
  /* for hs_classify, decided once per type: the offset of its objects in their blocks (GC
   * head and pre-header), the least block size beyond it, and whether an object fills its
   * block exactly */
  uint8_t exact_fill;
  uint8_t ek; /* the ELEM kind of its objects (hs_kind); HS_EK_KINDS: int, by hs_int_fits */
  uint32_t want;
  uint64_t minsize;
};
/* hs_type.role: an instance type (hs_is_instance_type), a container the containers pass reads
 * (list, tuple, dict, bytearray, set, frozenset, not an instance type), shapeable
 * (hs_shapeable) */
#define HS_ROLE_INSTANCE 1u
#define HS_ROLE_CONTAINER 2u
#define HS_ROLE_SHAPEABLE 4u
#define HS_ROLE_SCALAR 8u /* hs_is_scalar */

struct hs_row {
  struct hs_anat_rec r;
};

struct hs_shape {
  uint32_t row, count;
  uint8_t kind;
  uint16_t nfields;
  uint64_t length;
  uint32_t names[HS_SHAPE_MAX_FIELDS];
  uint32_t types[HS_SHAPE_MAX_FIELDS];
  uint32_t maxlen[HS_SHAPE_MAX_FIELDS]; /* longest str per field (ELEM) */
  struct hs_elem_rec e;                 /* what the containers of this shape hold (ELEM) */
};

#define HS_STRC 512 /* hs_str_sid's cache, entries */

struct hs_anatomy {
  size_t cap; /* hs_live_capacity() */
  /* which slots hold a block: a bitmap over the slots and, per 64 slots, the number of live
   * blocks before them; the per-block scratch below is indexed by that rank, so it costs 8
   * bytes per live block rather than per slot (a slot is a 16-byte granule of the heap) */
  uint64_t *lbits;
  uint32_t *lpre;
  size_t nwords, nlive;
  /* per block scratch, by rank */
  uint16_t *cls;   /* bits 0-13: type index + 1 (0 = not an object); bits 14-15: offset / 16 */
  uint64_t *owned; /* bit per block: claimed by an owner (and counted in the owner's row) */
  /* element kinds of big unowned lists, counted by the containers pass as it claims their
   * elements (ascending ranks; the shapes pass adds them instead of scanning the list again) */
  uint32_t nbigl;
  uint32_t *bigl_rank;
  uint64_t *bigl_n;                 /* the list's length */
  uint64_t (*bigl_kinds)[HS_EK_KINDS];
  /* slots of the instances (HS_ROLE_INSTANCE), in address order, found by the types pass for
   * the instances pass (which then need not visit every block); ninst > HS_INST_MAX: more than
   * fit (or the slots do not fit in 32 bits), the instances pass visits every block */
  uint32_t *inst;
  size_t ninst;
  /* bit per block: set by the types pass for an object of an HS_ROLE_CONTAINER type (what the
   * containers pass visits); then, for every block no one owns, set by the rows pass for an
   * object of an HS_ROLE_SHAPEABLE type and cleared for others (what the shapes pass visits,
   * among the blocks no one owns): one bitmap for both, not two */
  uint64_t *cont;
  uint64_t *big;   /* bit per block: a list, tuple or dict of HS_ELEM_BIG+ elements no one owns
                    * (set by the containers pass, which reads the object anyway, for the shapes
                    * pass, which then need not read every container of a sampled row again) */
  /* static ranges */
  struct hs_range *ranges;
  size_t nranges, ranges_bytes;
  /* types: array plus open-addressing index (addr -> idx + 1), and a negative set */
  struct hs_type *types;
  uint32_t ntypes;
  uint32_t *tidx;
  uintptr_t *tneg;
  size_t tbits; /* tidx: grows with the types found */
  size_t nbits; /* tneg: fixed */
  /* rows: (site, type) -> row, open addressing */
  struct hs_row *rows;
  uint32_t nrows;
  uint64_t *rkeys; /* key + 1 */
  uint32_t *rval;
  size_t rbits;
  /* shapes */
  struct hs_shape *shapes;
  uint32_t nshapes;
  uint32_t *row_samples; /* per row: objects sampled */
  uint32_t row_samples_n;
  uint32_t micros;
  int ok;
  uint64_t elem_left; /* ELEM: elements the pass may still scan */
  /* one-entry caches: consecutive blocks mostly share a type, and a site and type */
  uintptr_t last_type_addr;
  long last_type;
  uint64_t last_row_key;
  uint32_t last_row;
  /* the owner whose row hs_count_owned used last (an owner claims several blocks in a row) */
  size_t own_owner;
  uint32_t own_row; /* UINT32_MAX: none */
  uint32_t own_class; /* the owner's class (CLS) */
  /* the split of the block hs_count_owned counted last, when it was not a str (an owner's
   * scalars mostly share class and size): class word (0: none), size, domain, parts */
  uint32_t split_cls;
  uint8_t split_dom;
  uint64_t split_size, split_hdr, split_rounding, split_data;
  uintptr_t last_neg; /* the last address found not to be a type (one-entry cache) */
  const uint8_t *dom; /* hs_site_domains() */
  uint32_t ndom;
  /* hs_str_sid's answers in this pass (its objects do not change while it runs): the sid of
   * "?" + 1 (0: not interned yet), and a direct-mapped cache of str objects' sids (a sampled
   * row's shapes name the same keys again and again) */
  uint32_t unknown_sid1;
  struct {
    uintptr_t p;
    uint32_t sid;
  } strc[HS_STRC];
};
static inline uint8_t hs_dom(const struct hs_anatomy *a, uint32_t site) {
  return site < a->ndom ? a->dom[site] : 0;
}

static uint32_t hs_row_of(struct hs_anatomy *a, uint32_t site, uint32_t type);
static uint32_t hs_row_lookup(struct hs_anatomy *a, uint64_t key);

static inline unsigned hs_popc64(uint64_t x) {
#ifdef HS_ANATOMY_POPCNT
  return (unsigned)__builtin_popcountll(x);
#endif
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return (unsigned)((x * 0x0101010101010101ull) >> 56);
}
/* Rank of live slot i: live blocks in slots before it. */
static inline size_t RK(const struct hs_anatomy *a, size_t i) {
  return a->lpre[i >> 6] + hs_popc64(a->lbits[i >> 6] & ((1ull << (i & 63)) - 1));
}
#define CLS_MASK 0x3fffu
#define CLS(a, i) ((uint32_t)(a)->cls[RK(a, i)] & CLS_MASK)
#define OFF(a, i) (((uint32_t)(a)->cls[RK(a, i)] >> 14) * 16u)
static inline int hs_owned_r(const struct hs_anatomy *a, size_t r) {
  return (int)(a->owned[r >> 6] >> (r & 63)) & 1;
}
/* Visits every live slot i in address order, with r its rank. */
#define HS_FOR_LIVE(a, i, r)                                                        \
  for (size_t hs_w_ = 0, r = 0; hs_w_ < (a)->nwords; hs_w_++)                        \
    for (uint64_t hs_b_ = (a)->lbits[hs_w_]; hs_b_; hs_b_ &= hs_b_ - 1, r++)          \
      for (size_t i = hs_w_ * 64 + (size_t)__builtin_ctzll(hs_b_), hs_once_ = 1; hs_once_; hs_once_ = 0)

/* hs_live_val of slot idx, and into *addr its block's address (hs_live_addr): one read of the
 * shadow slot for both. */
static inline uint64_t hs_live_val_addr(size_t idx, uintptr_t *addr) {
  size_t nl = (size_t)hs_nleaves * HS_LEAF_SLOTS;
  if (idx < nl) {
    size_t leaf = idx / HS_LEAF_SLOTS, slot = idx % HS_LEAF_SLOTS;
    uint32_t s = hs_leaves[leaf][slot];
    *addr = s ? hs_leaf_base[leaf] + (slot << HS_GRANULE_SHIFT) + (s & HS_SHADOW_HALF ? 16 : 0) : 0;
    return s ? hs_shadow_decode(s) : 0;
  }
  if (HS_UNLIKELY(idx >= hs_live_side_start())) {
    *addr = hs_live_addr(idx);
    return hs_live_val(idx);
  }
  *addr = hs_map[idx - nl].key;
  return hs_map[idx - nl].val & HS_VAL_MASK;
}

/* Bits r0 .. r0 + n - 1 (n <= 64) of the rank bitmap bm, as bits 0 .. n - 1. */
static inline uint64_t hs_rbits(const uint64_t *bm, size_t r0, unsigned n) {
  if (!n) return 0;
  unsigned s = (unsigned)(r0 & 63);
  uint64_t x = bm[r0 >> 6] >> s;
  if (s && s + n > 64) x |= bm[(r0 >> 6) + 1] << (64 - s);
  return n == 64 ? x : x & ((1ull << n) - 1);
}
/* The complement of hs_rbits, as bits 0 .. n - 1. */
static inline uint64_t hs_rbits_not(const uint64_t *bm, size_t r0, unsigned n) {
  return ~hs_rbits(bm, r0, n) & (n == 64 ? ~0ull : (1ull << n) - 1);
}
/* HS_FOR_LIVE over the blocks whose bit in WANT is set: WANT(r0, n) gives, for the n live
 * blocks of ranks r0 .. r0 + n - 1 (one word of the live bitmap), a bit each. A word whose
 * blocks are all unwanted costs a few instructions, not a visit of each block. */
#define HS_FOR_LIVE_IF(a, i, r, WANT)                                                     \
  for (size_t hs_w_ = 0; hs_w_ < (a)->nwords; hs_w_++)                                    \
    for (uint64_t hs_b_ = (a)->lbits[hs_w_], hs_m_ = hs_b_ ? WANT((size_t)(a)->lpre[hs_w_], hs_popc64(hs_b_)) : 0, \
                  r = (a)->lpre[hs_w_];                                                     \
         hs_m_; hs_b_ &= hs_b_ - 1, r++, hs_m_ >>= 1)                                      \
      for (size_t i = hs_w_ * 64 + (size_t)__builtin_ctzll(hs_b_), hs_once_ = hs_m_ & 1; hs_once_; hs_once_ = 0)

static inline uint32_t slot_site(const struct hs_anatomy *a, size_t i) {
  (void)a;
  return (uint32_t)(hs_live_val(i) & HS_SITE_ID_MASK);
}
static inline uint64_t slot_size(const struct hs_anatomy *a, size_t i) {
  (void)a;
  return hs_live_val(i) >> HS_SITE_ID_BITS;
}
static inline uintptr_t slot_key(const struct hs_anatomy *a, size_t i) {
  (void)a;
  return hs_live_addr(i);
}

static int hs_static_readable(const struct hs_anatomy *a, uintptr_t p, size_t n) {
  size_t lo = 0, hi = a->nranges;
  while (lo < hi) { /* ranges are sorted by address */
    size_t mid = (lo + hi) / 2;
    if (a->ranges[mid].hi <= p) lo = mid + 1;
    else hi = mid;
  }
  return lo < a->nranges && a->ranges[lo].lo <= p && p + n <= a->ranges[lo].hi;
}

/* Slot of the live block that holds [p, p + n) when p is at offset off of it. */
static long hs_block_at(const struct hs_anatomy *a, uintptr_t p, size_t off, size_t n) {
  if (p < off) return -1;
  long i = hs_live_find(p - off);
  if (i < 0 || slot_size(a, (size_t)i) < off + n) return -1;
  return i;
}

/* ------------------------------------------------------------------ types */

static inline size_t hs_hash_ptr(uintptr_t p, size_t bits) {
  return (size_t)(((uint64_t)p * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

static inline long hs_type_find(const struct hs_anatomy *a, uintptr_t t) {
  if (t && t == a->last_type_addr) return a->last_type;
  if (!t || (t & 7)) return -1; /* hs_type_of_addr adds no such address */
  size_t m = ((size_t)1 << a->tbits) - 1, i = hs_hash_ptr(t, a->tbits);
  while (a->tidx[i]) {
    if (a->types[a->tidx[i] - 1].addr == t) {
      ((struct hs_anatomy *)a)->last_type_addr = t; /* a one-entry cache, not the answer */
      ((struct hs_anatomy *)a)->last_type = (long)a->tidx[i] - 1;
      return (long)a->tidx[i] - 1;
    }
    i = (i + 1) & m;
  }
  return -1;
}

static int hs_neg_has(const struct hs_anatomy *a, uintptr_t t) {
  size_t m = ((size_t)1 << a->nbits) - 1, i = hs_hash_ptr(t, a->nbits);
  for (int probe = 0; probe < 8 && a->tneg[i]; probe++, i = (i + 1) & m)
    if (a->tneg[i] == t) return 1;
  return 0;
}

static void hs_neg_add(struct hs_anatomy *a, uintptr_t t) {
  size_t m = ((size_t)1 << a->nbits) - 1, i = hs_hash_ptr(t, a->nbits);
  for (int probe = 0; probe < 8; probe++, i = (i + 1) & m) {
    if (!a->tneg[i]) {
      a->tneg[i] = t;
      return;
    }
  }
  a->tneg[hs_hash_ptr(t, a->nbits)] = t; /* bounded: overwrite */
}

/* Copies a NUL-terminated name at p that lies in static memory or in a live str's data. */
static uint32_t hs_read_cname(struct hs_anatomy *a, uintptr_t p) {
  char buf[256];
  size_t n = 0, limit = 0;
  for (size_t i = 0; i < a->nranges; i++) {
    if (a->ranges[i].lo <= p && p < a->ranges[i].hi) {
      limit = a->ranges[i].hi - p;
      break;
    }
  }
  if (!limit) {
    /* heap type names live in a str object: try the compact and ASCII header sizes */
    long i = hs_block_at(a, p, hs_pyi.ascii_size, 1);
    size_t hdr = hs_pyi.ascii_size;
    if (i < 0) {
      i = hs_block_at(a, p, hs_pyi.compact_size, 1);
      hdr = hs_pyi.compact_size;
    }
    if (i < 0) return hs_intern_string_unlocked("?", 1);
    limit = slot_size(a, (size_t)i) - hdr;
  }
  const char *s = (const char *)p;
  while (n < limit && n < sizeof buf && s[n]) n++;
  memcpy(buf, s, n);
  uint32_t sid = hs_intern_string_unlocked(buf, n);
  return sid == UINT32_MAX ? 0 : sid;
}

/* Doubles the type index when it is half full. */
static int hs_tidx_grow(struct hs_anatomy *a) {
  if ((size_t)(a->ntypes + 1) * 2 <= ((size_t)1 << a->tbits)) return 0;
  size_t nb = a->tbits + 1, m = ((size_t)1 << nb) - 1;
  uint32_t *n = hs_scratch(sizeof(uint32_t) << nb);
  if (!n) return -1;
  for (uint32_t k = 0; k < a->ntypes; k++) {
    size_t i = hs_hash_ptr(a->types[k].addr, nb);
    while (n[i]) i = (i + 1) & m;
    n[i] = k + 1;
  }
  hs_unscratch(a->tidx, sizeof(uint32_t) << a->tbits);
  a->tidx = n;
  a->tbits = nb;
  return 0;
}

static inline int hs_preheader(uint64_t tp_flags) {
  if (hs_pyi.minor >= 12) return (tp_flags & (TPF_MANAGED_DICT | TPF_MANAGED_WEAKREF)) != 0;
  if (hs_pyi.minor == 11) return (tp_flags & TPF_MANAGED_DICT) != 0;
  return 0;
}

static int hs_is_instance_type(const struct hs_type *t);
static int hs_shapeable(const struct hs_type *t);
static uint8_t hs_type_role(const struct hs_type *t) {
  uint8_t role = 0;
  if (hs_is_instance_type(t)) role |= HS_ROLE_INSTANCE;
  else if ((t->tp_flags & (TPF_LIST_SUBCLASS | TPF_TUPLE_SUBCLASS | TPF_DICT_SUBCLASS)) ||
           t->addr == hs_pyi.bytearray_type || t->addr == hs_pyi.set_type ||
           t->addr == hs_pyi.frozenset_type)
    role |= HS_ROLE_CONTAINER;
  if (hs_shapeable(t)) role |= HS_ROLE_SHAPEABLE;
  if (t->addr == hs_pyi.float_type || t->addr == hs_pyi.long_type ||
      t->addr == hs_pyi.unicode_type || t->addr == hs_pyi.bytes_type)
    role |= HS_ROLE_SCALAR;
  return role;
}

static long hs_type_add(struct hs_anatomy *a, uintptr_t t, uint32_t flags) {
  if (a->ntypes >= MAX_TYPES || hs_tidx_grow(a) < 0) return -1;
  struct hs_type *ty = &a->types[a->ntypes];
  ty->addr = t;
  ty->flags = flags;
  ty->tp_flags = rd64(t + 168);
  ty->basicsize = (int64_t)rd64(t + 32);
  ty->itemsize = (int64_t)rd64(t + 40);
  ty->block_end = 0;
  if (flags & HS_TYPE_HEAP) {
    long tb = hs_block_at(a, t, 16, TYPE_HEADER_READ);
    if (tb >= 0) ty->block_end = slot_key(a, (size_t)tb) + slot_size(a, (size_t)tb);
  }
  if (ty->basicsize < 16 || ty->basicsize > (1 << 20) || ty->itemsize < 0 || ty->itemsize > 4096)
    return -1;
  if (ty->tp_flags & TPF_TYPE_SUBCLASS) ty->flags |= HS_TYPE_META;
  ty->name_sid = hs_read_cname(a, rd64(t + 24));
  ty->role = hs_type_role(ty);
  ty->ek = t == hs_pyi.float_type ? HS_EK_FLOAT
           : t == hs_pyi.bool_type ? HS_EK_BOOL
           : t == hs_pyi.long_type ? HS_EK_KINDS
           : t == hs_pyi.unicode_type ? HS_EK_STR
           : (ty->tp_flags & TPF_HEAPTYPE) ? HS_EK_OTHER
           : (ty->tp_flags & TPF_LIST_SUBCLASS) ? HS_EK_LIST
           : (ty->tp_flags & TPF_TUPLE_SUBCLASS) ? HS_EK_TUPLE : HS_EK_OTHER;
  ty->want = (ty->tp_flags & TPF_HAVE_GC) ? (hs_preheader(ty->tp_flags) ? 32u : 16u) : 0u;
  /* compact str objects are smaller than PyUnicode_Type's basicsize (PyUnicodeObject) */
  ty->minsize = t == hs_pyi.unicode_type ? hs_pyi.ascii_size + 1u : (uint64_t)ty->basicsize;
  ty->exact_fill = (ty->tp_flags & TPF_HEAPTYPE) && ty->itemsize == 0 &&
                   !(ty->tp_flags & TPF_INLINE_VALUES);
  size_t m = ((size_t)1 << a->tbits) - 1, i = hs_hash_ptr(t, a->tbits);
  while (a->tidx[i]) i = (i + 1) & m;
  a->tidx[i] = ++a->ntypes;
  return (long)a->ntypes - 1;
}

/* Index of the type object at t, discovering it on first sight; -1 if t is no type. */
static long hs_type_of_addr(struct hs_anatomy *a, uintptr_t t, int depth) {
  if (!t || (t & 7) || t == a->last_neg) return -1;
  long ti = hs_type_find(a, t);
  if (ti >= 0) return ti;
  if (hs_neg_has(a, t)) {
    a->last_neg = t;
    return -1;
  }
  uint32_t flags = 0;
  int readable = 0;
  if (hs_static_readable(a, t, TYPE_HEADER_READ)) {
    readable = 1;
    flags = HS_TYPE_STATIC;
  } else if (hs_block_at(a, t, 16, TYPE_HEADER_READ) >= 0) { /* heap types are GC objects */
    readable = 1;
    flags = HS_TYPE_HEAP;
  }
  if (readable) {
    uintptr_t meta = rd64(t + 8);
    int is_type = meta == hs_pyi.type_type;
    if (!is_type && depth < 4 && meta != t) {
      long mi = hs_type_of_addr(a, meta, depth + 1);
      is_type = mi >= 0 && (a->types[mi].tp_flags & TPF_TYPE_SUBCLASS);
    }
    if (is_type) ti = hs_type_add(a, t, flags);
  }
  if (ti < 0) {
    hs_neg_add(a, t);
    a->last_neg = t;
  }
  return ti;
}

/* Classifies the OBJ block of rank r at b, of size bytes: the smallest offset where a known
 * type's header fits. */
static HS_NOINLINE void hs_classify(struct hs_anatomy *a, size_t r, uintptr_t b, uint64_t size) {
  /* Two rounds: types already known first (almost every object after the first few; a GC
   * object's first words are GC links, never a type's address), discovery only if none fits. */
  for (int discover = 0; discover <= 1; discover++)
  for (unsigned off = 0; off <= 32 && off + 16 <= size; off += 16) {
    uintptr_t cand = rd64(b + off + 8);
    long ti = discover ? hs_type_of_addr(a, cand, 0) : hs_type_find(a, cand);
    if (ti < 0) continue;
    const struct hs_type *t = &a->types[ti];
    if (t->want != off || t->minsize + off > size) continue; /* hs_type_add decided both */
    uint64_t rc = rd64(b + off);
    /* 3.14+: ob_flags in the top 16 bits (_Py_IMMORTAL_FLAGS 1, _Py_STATICALLY_ALLOCATED_FLAG
     * 4): an immortal heap object (interned str) has 1 there */
    if (hs_pyi.minor >= 14 && (rc >> 48) <= 7) rc &= ((uint64_t)1 << 48) - 1;
    int64_t refcnt = (int64_t)rc;
    if (refcnt <= 0 || refcnt > ((int64_t)1 << 48)) continue;
    /* An instance of a class without items or inline values fills its block exactly
     * (PyType_GenericAlloc). Stale bytes left in a reused block by a freed object can look like
     * an instance header: 3.14/3.15 left one builtin method bound to a __slots__ class in a
     * 72-byte buffer, read as that class's instance at offset 32 (tests/e2e/test_anatomy). */
    if (t->exact_fill && (uint64_t)t->basicsize + off != size) continue;
    a->cls[r] = (uint16_t)(((uint32_t)ti + 1) | ((off / 16u) << 14));
    return;
  }
}

/* Whether hs_classify's first candidate (known types, offset 0) fits the block at b of size
 * bytes when the address at b + 8 is a->last_type_addr (hs_type_find's one-entry cache, so the
 * type is a->last_type): the same tests, in the same order of outcome. */
static inline int hs_classify_last0(const struct hs_anatomy *a, uintptr_t b, uint64_t size) {
  const struct hs_type *t = &a->types[a->last_type];
  if (t->want != 0 || t->minsize > size) return 0;
  uint64_t rc = rd64(b);
  if (hs_pyi.minor >= 14 && (rc >> 48) <= 7) rc &= ((uint64_t)1 << 48) - 1;
  int64_t refcnt = (int64_t)rc;
  if (refcnt <= 0 || refcnt > ((int64_t)1 << 48)) return 0;
  return !t->exact_fill || (uint64_t)t->basicsize == size;
}

/* Type index of the object at p (heap or static), or -1; *size gets the size of its block
 * when the object starts a live block, else 0. */
static long hs_type_of_obj_from(struct hs_anatomy *a, uintptr_t p, uint64_t *size, unsigned off0) {
  *size = 0;
  if (!p || (p & 7)) return -1;
  for (unsigned off = off0; off <= 32; off += 16) {
    long i = hs_live_find(p - off);
    if (i >= 0) {
      if (!CLS(a, i) || OFF(a, i) != off) return -1;
      if (!off) *size = slot_size(a, (size_t)i);
      return (long)CLS(a, i) - 1;
    }
  }
  if (hs_static_readable(a, p, 16)) return hs_type_of_addr(a, rd64(p + 8), 0);
  return -1;
}
static long hs_type_of_obj_sz(struct hs_anatomy *a, uintptr_t p, uint64_t *size) {
  return hs_type_of_obj_from(a, p, size, 0);
}
static long hs_type_of_obj(struct hs_anatomy *a, uintptr_t p) {
  uint64_t size;
  return hs_type_of_obj_sz(a, p, &size);
}

/* ------------------------------------------------------------------ ownership */

static inline int hs_is_scalar(const struct hs_type *t) { return (t->role & HS_ROLE_SCALAR) != 0; }

static void hs_count_owned(struct hs_anatomy *a, size_t j, size_t rj, size_t owner, uintptr_t addr,
                           uint64_t val, uint64_t n);

/* Block j becomes owner's, unless it is already someone's. Owners are never owned themselves
 * (instances claim their dicts first; a claimed dict claims nothing), so j is counted in the
 * owner's row at once and only a bit is kept. */
static void hs_own_block_r(struct hs_anatomy *a, size_t j, size_t r, size_t owner, uintptr_t addr,
                           uint64_t val) {
  if (j == owner || hs_owned_r(a, r)) return;
  a->owned[r >> 6] |= 1ull << (r & 63);
  hs_count_owned(a, j, r, owner, addr, val, 1);
}
static void hs_own_block(struct hs_anatomy *a, long j, size_t owner) {
  if (j < 0) return;
  uintptr_t addr;
  uint64_t val = hs_live_val_addr((size_t)j, &addr);
  hs_own_block_r(a, (size_t)j, RK(a, (size_t)j), owner, addr, val);
}

/* A run of blocks an owner claims that hs_count_owned may count at once: same class word
 * and same slot value (site and size), not str. */
struct hs_run {
  uint64_t n, val;
  uint32_t cls;
  size_t j, r;
  uintptr_t addr;
};
static void hs_run_flush(struct hs_anatomy *a, struct hs_run *run, size_t owner) {
  if (run->n) hs_count_owned(a, run->j, run->r, owner, run->addr, run->val, run->n);
  run->n = 0;
}
/* hs_own_block_r for the scalar block j (rank r, class word c, type t, value val: its
 * hs_live_val) at p, counted in run. */
static inline void hs_claim_run(struct hs_anatomy *a, size_t j, size_t r, uint32_t c,
                                const struct hs_type *t, uintptr_t p, uint64_t val, size_t owner,
                                struct hs_run *run) {
  if (j == owner || hs_owned_r(a, r)) return;
  a->owned[r >> 6] |= 1ull << (r & 63);
  if (t->addr == hs_pyi.unicode_type) {
    hs_count_owned(a, j, r, owner, p, val, 1); /* a str's split reads the object */
  } else if (run->n && c == run->cls && val == run->val) {
    run->n++;
  } else {
    hs_run_flush(a, run, owner);
    *run = (struct hs_run){1, val, c, j, r, p};
  }
}

/* A boxed scalar referenced only by the owner, counted in run (always inlined: the ownership
 * pass calls it for every entry of every dict) */
static inline __attribute__((always_inline)) void hs_own_scalar_run(struct hs_anatomy *a, uintptr_t p, size_t owner,
                                                                 struct hs_run *run) {
  uint64_t val;
  long j = hs_live_find_val(p, &val);
  if (j < 0) return;
  size_t r = RK(a, (size_t)j);
  uint32_t c = a->cls[r];
  if (!(c & CLS_MASK) || (c >> 14) != 0) return; /* an object at the block's start */
  const struct hs_type *t = &a->types[(c & CLS_MASK) - 1];
  if (!hs_is_scalar(t)) return;
  if (rd64(p) != 1) return;
  hs_claim_run(a, (size_t)j, r, c, t, p, val, owner, run);
}

/* Calls fn for each (key, value) of the dict at d (d inside a live block of dsize bytes from
 * d). Returns the number of entries, or -1 if the tables are not readable. */
typedef void (*hs_entry_fn)(struct hs_anatomy *a, uintptr_t key, uintptr_t value, void *arg);

static uintptr_t hs_values_array(struct hs_anatomy *a, uintptr_t values, long *blk, uint64_t *bytes) {
  /* returns the address of the PyObject* array and its block (or -1 if inside the owner) */
  *blk = -1;
  *bytes = 0;
  if (!values) return 0;
  if (hs_pyi.minor <= 10) {
    long j = hs_live_find(values);
    if (j < 0) return 0;
    *blk = j;
    *bytes = slot_size(a, (size_t)j);
    return values;
  }
  if (hs_pyi.minor <= 12) {
    for (unsigned pre = 8; pre <= 64; pre += 8) {
      long j = hs_live_find(values - pre);
      if (j >= 0) {
        uint64_t sz = slot_size(a, (size_t)j);
        if (sz <= pre) return 0;
        *blk = j;
        *bytes = sz - pre;
        return values;
      }
    }
    return 0;
  }
  long j = hs_live_find(values); /* 3.13: a separate PyDictValues block */
  if (j < 0) return 0;
  uint64_t sz = slot_size(a, (size_t)j);
  if (sz < 8) return 0;
  *blk = j;
  *bytes = sz - 8;
  return values + 8;
}

/* always inlined: each caller's fn is then a direct call (the ownership pass calls it for
 * every entry of every dict) */
static inline __attribute__((always_inline)) long hs_dict_entries(struct hs_anatomy *a, uintptr_t d, hs_entry_fn fn, void *arg,
                            long *keys_blk, long *values_blk) {
  uintptr_t keys = rd64(d + 32), values = rd64(d + 40);
  uint64_t kval;
  long kj = hs_live_find_val(keys, &kval);
  *keys_blk = kj;
  *values_blk = -1;
  if (kj < 0) return -1;
  uint64_t ks = kval >> HS_SITE_ID_BITS;
  uint64_t n, ent, esz, koff;
  if (hs_pyi.minor <= 10) {
    if (ks < 40) return -1;
    uint64_t dksize = rd64(keys + 8);
    n = rd64(keys + 32);
    uint64_t ib = dksize <= 0xff ? 1 : dksize <= 0xffff ? 2 : dksize <= 0xffffffffull ? 4 : 8;
    if (dksize > ks) return -1;
    ent = 40 + dksize * ib;
    esz = 24;
    koff = 8;
  } else {
    if (ks < 32) return -1;
    unsigned lib = *(const uint8_t *)(keys + 9), kind = *(const uint8_t *)(keys + 10);
    if (lib > 40) return -1;
    n = rd64(keys + 24);
    ent = 32 + ((uint64_t)1 << lib);
    esz = kind == 0 ? 24 : 16;
    koff = kind == 0 ? 8 : 0;
  }
  if (n > ks || ent + n * esz > ks) return -1;
  uintptr_t varr = 0;
  uint64_t vbytes = 0;
  int split = values != 0;
  if (split) {
    varr = hs_values_array(a, values, values_blk, &vbytes);
    if (!varr) return -1;
  }
  long count = 0;
  for (uint64_t k = 0; k < n; k++) {
    uintptr_t e = keys + ent + k * esz;
    uintptr_t key = rd64(e + koff);
    uintptr_t value;
    if (split) {
      if ((k + 1) * 8 > vbytes) break;
      value = rd64(varr + k * 8);
    } else {
      value = rd64(e + koff + 8);
    }
    if (!key || !value) continue;
    count++;
    if (fn) fn(a, key, value, arg);
  }
  return count;
}

struct hs_own_ctx {
  size_t owner;
  struct hs_run run;
};
static void hs_own_entry(struct hs_anatomy *a, uintptr_t key, uintptr_t value, void *arg) {
  (void)key;
  struct hs_own_ctx *c = arg;
  hs_own_scalar_run(a, value, c->owner, &c->run);
}

static void hs_own_dict_tables(struct hs_anatomy *a, uintptr_t d, size_t owner) {
  long kb, vb;
  struct hs_own_ctx ctx = {owner, {0, 0, 0, 0, 0, 0}};
  hs_dict_entries(a, d, hs_own_entry, &ctx, &kb, &vb);
  hs_run_flush(a, &ctx.run, owner);
  uintptr_t keys = rd64(d + 32); /* kb >= 0: the block at keys */
  if (kb >= 0 && rd64(keys) == 1)
    hs_own_block_r(a, (size_t)kb, RK(a, (size_t)kb), owner, keys, hs_live_val((size_t)kb)); /* unshared keys */
  if (vb >= 0) hs_own_block(a, vb, owner);
}

/* The instance's __dict__ (object address), or 0; *values gets a split values pointer. */
static uintptr_t hs_instance_dict(struct hs_anatomy *a, size_t i, const struct hs_type *t,
                                  uintptr_t *values) {
  uintptr_t o = slot_key(a, i) + OFF(a, i);
  uint64_t avail = slot_size(a, i) - OFF(a, i);
  *values = 0;
  if (hs_pyi.minor <= 10) {
    int64_t dictoffset = (int64_t)rd64(t->addr + 288);
    if (dictoffset <= 0 || (uint64_t)dictoffset + 8 > avail) return 0;
    return rd64(o + (uint64_t)dictoffset);
  }
  if (!(t->tp_flags & TPF_MANAGED_DICT) || OFF(a, i) < 32) return 0;
  uintptr_t dv = rd64(o - 24);
  if (hs_pyi.minor == 11) {
    *values = rd64(o - 32);
    return dv;
  }
  if (hs_pyi.minor == 12 && (dv & 1)) { /* 3.12 stores values - 1 (_PyDictOrValues_SetValues) */
    *values = dv + 1;
    return 0;
  }
  return dv;
}

static HS_NOINLINE void hs_own_instance(struct hs_anatomy *a, size_t i, const struct hs_type *t) {
  uintptr_t o = slot_key(a, i) + OFF(a, i);
  uint64_t avail = slot_size(a, i) - OFF(a, i);
  uintptr_t values;
  struct hs_run run = {0, 0, 0, 0, 0, 0};
  uintptr_t d = hs_instance_dict(a, i, t, &values);
  if (d) {
    long j = hs_block_at(a, d, 16, 48);
    if (j >= 0 && CLS(a, j) && (a->types[CLS(a, j) - 1].tp_flags & TPF_DICT_SUBCLASS) &&
        rd64(d) == 1) {
      hs_own_block(a, j, i);
      hs_own_dict_tables(a, d, i);
    }
  }
  if (values) {
    long vb;
    uint64_t vbytes;
    uintptr_t varr = hs_values_array(a, values, &vb, &vbytes);
    if (varr) {
      hs_own_block(a, vb, i);
      for (uint64_t k = 0; (k + 1) * 8 <= vbytes; k++) {
        uintptr_t v = rd64(varr + k * 8);
        if (v) hs_own_scalar_run(a, v, i, &run);
      }
    }
  }
  if (hs_pyi.minor >= 13 && (t->tp_flags & TPF_INLINE_VALUES) &&
      (uint64_t)t->basicsize + 8 <= avail) {
    uintptr_t iv = o + (uint64_t)t->basicsize;
    unsigned capacity = *(const uint8_t *)iv, valid = *(const uint8_t *)(iv + 3);
    if (valid) {
      for (unsigned k = 0; k < capacity && (uint64_t)t->basicsize + 16 + 8 * k <= avail; k++) {
        uintptr_t v = rd64(iv + 8 + 8 * k);
        if (v) hs_own_scalar_run(a, v, i, &run);
      }
    }
  }
  /* __slots__: member descriptors of a heap type follow its PyHeapTypeObject */
  uintptr_t members = rd64(t->addr + 240);
  if (members && t->block_end) {
    uintptr_t tend = t->block_end;
    for (uintptr_t m = members; m >= t->addr && m + 40 <= tend && rd64(m); m += 40) {
      int type = *(const int32_t *)(m + 8);
      int64_t moff = (int64_t)rd64(m + 16);
      if ((type == 16 || type == 6) && moff > 0 && (uint64_t)moff + 8 <= avail) {
        uintptr_t v = rd64(o + (uint64_t)moff);
        if (v) hs_own_scalar_run(a, v, i, &run);
      }
    }
  }
  hs_run_flush(a, &run, i);
}

/* Instances of classes (heap types that are not built-in containers) own their __dict__,
 * values and slots; they claim before the containers do. */
static int hs_is_instance_type(const struct hs_type *t) {
  return (t->tp_flags & TPF_HEAPTYPE) && !(t->tp_flags & TPF_BUILTIN_CONTAINER) &&
         t->addr != hs_pyi.bytearray_type && t->addr != hs_pyi.set_type &&
         t->addr != hs_pyi.frozenset_type;
}

/* Containers (list, tuple, dict, bytearray, set) claim their tables and boxed scalars. */
static unsigned hs_kind(struct hs_anatomy *a, uintptr_t p);
static unsigned hs_kind_from(struct hs_anatomy *a, uintptr_t p, unsigned off0);
static int hs_int_fits(uintptr_t p, uint64_t size);
/* The ELEM kind of the object at p of type t (size: its block's size when known, else 0). */
static inline unsigned hs_type_ek(const struct hs_type *t, uintptr_t p, uint64_t size) {
  if (t->ek != HS_EK_KINDS) return t->ek;
  return hs_int_fits(p, size) ? HS_EK_INT : HS_EK_OTHER;
}

/* hs_own_scalar_run for an element of a big list, which also returns the element's ELEM kind
 * (hs_kind) from the block and type it has just found; the blocks it claims are counted in
 * runs (run). */
static inline unsigned hs_own_scalar_kind(struct hs_anatomy *a, uintptr_t p, size_t owner,
                                          struct hs_run *run) {
  if (p == hs_pyi.none_obj) return HS_EK_NONE;
  uint64_t val;
  long j = hs_live_find_val(p, &val);
  if (j < 0) return hs_kind_from(a, p, 16); /* GC objects (header at p - 16 or - 32), static
                                             * ones; no block starts at p */
  size_t r = RK(a, (size_t)j);
  uint32_t c = a->cls[r];
  if (!(c & CLS_MASK) || (c >> 14) != 0) return HS_EK_OTHER;
  const struct hs_type *t = &a->types[(c & CLS_MASK) - 1];
  if (hs_is_scalar(t) && rd64(p) == 1) hs_claim_run(a, (size_t)j, r, c, t, p, val, owner, run);
  return hs_type_ek(t, p, val >> HS_SITE_ID_BITS);
}

static HS_NOINLINE void hs_own_pass(struct hs_anatomy *a, size_t i, size_t ri, uint32_t cw) {
  const struct hs_type *t = &a->types[(cw & CLS_MASK) - 1];
  unsigned off = (cw >> 14) * 16u;
  uintptr_t o = slot_key(a, i) + off;
  uint64_t avail = slot_size(a, i) - off;
  if (t->tp_flags & TPF_LIST_SUBCLASS) {
    if (avail < 40) return;
    uintptr_t items = rd64(o + 24);
    int64_t n = (int64_t)rd64(o + 16);
    long j = hs_live_find(items);
    if (j < 0 || CLS(a, j)) return;
    hs_own_block(a, j, i);
    uint64_t isz = slot_size(a, (size_t)j);
    if (n >= (int64_t)HS_ELEM_BIG && (uint64_t)n * 8 <= isz && a->nbigl < HS_BIGL_MAX) {
      /* a big list: its element kinds counted here, for the shapes pass (no nested list or
       * tuple: those the shapes pass scans itself) */
      uint64_t *kinds = a->bigl_kinds[a->nbigl];
      memset(kinds, 0, sizeof(uint64_t) * HS_EK_KINDS);
      struct hs_run run = {0, 0, 0, 0, 0, 0};
      for (int64_t k = 0; k < n; k++) {
        uintptr_t v = rd64(items + 8 * (uint64_t)k);
        if (v) kinds[hs_own_scalar_kind(a, v, i, &run)]++;
      }
      hs_run_flush(a, &run, i);
      if (!kinds[HS_EK_LIST] && !kinds[HS_EK_TUPLE]) {
        a->bigl_rank[a->nbigl] = (uint32_t)ri;
        a->bigl_n[a->nbigl++] = (uint64_t)n;
      }
      return;
    }
    struct hs_run run = {0, 0, 0, 0, 0, 0};
    for (int64_t k = 0; k < n && (uint64_t)(k + 1) * 8 <= isz; k++) {
      uintptr_t v = rd64(items + 8 * (uint64_t)k);
      if (v) hs_own_scalar_run(a, v, i, &run);
    }
    hs_run_flush(a, &run, i);
  } else if (t->tp_flags & TPF_TUPLE_SUBCLASS) {
    int64_t n = (int64_t)rd64(o + 16);
    uint64_t io = HS_TUPLE_ITEMS;
    struct hs_run run = {0, 0, 0, 0, 0, 0};
    for (int64_t k = 0; k < n && io + (uint64_t)(k + 1) * 8 <= avail; k++) {
      uintptr_t v = rd64(o + io + 8 * (uint64_t)k);
      if (v) hs_own_scalar_run(a, v, i, &run);
    }
    hs_run_flush(a, &run, i);
  } else if (t->tp_flags & TPF_DICT_SUBCLASS) {
    if (avail >= 48) hs_own_dict_tables(a, o, i);
  } else if (t->addr == hs_pyi.bytearray_type) {
    if (hs_pyi.minor >= 15) { /* the buffer is a bytes object's (ob_bytes_object) */
      if (avail >= 64) hs_own_block(a, hs_live_find(rd64(o + 56)), i);
    } else if (avail >= 40) {
      hs_own_block(a, hs_live_find(rd64(o + 32)), i); /* ob_bytes */
    }
  } else if (t->addr == hs_pyi.set_type || t->addr == hs_pyi.frozenset_type) {
    if (avail >= 48 && rd64(o + 40) != o + 64) /* table, unless the inline smalltable */
      hs_own_block(a, hs_live_find(rd64(o + 40)), i);
  }
}

/* ------------------------------------------------------------------ rows */

static uint32_t hs_row_of(struct hs_anatomy *a, uint32_t site, uint32_t type) {
  uint64_t key = ((uint64_t)site << 32 | type) + 1;
  /* blocks are visited in address order, and neighbours mostly share site and type */
  if (key == a->last_row_key) return a->last_row;
  uint32_t r = hs_row_lookup(a, key);
  if (r != UINT32_MAX) {
    a->last_row_key = key;
    a->last_row = r;
  }
  return r;
}

/* Doubles the row index when it is half full. */
static int hs_rows_grow(struct hs_anatomy *a) {
  if ((size_t)(a->nrows + 1) * 2 <= ((size_t)1 << a->rbits)) return 0;
  size_t nb = a->rbits + 1, m = ((size_t)1 << nb) - 1;
  uint64_t *k = hs_scratch(sizeof(uint64_t) << nb);
  uint32_t *v = hs_scratch(sizeof(uint32_t) << nb);
  if (!k || !v) {
    hs_unscratch(k, sizeof(uint64_t) << nb);
    hs_unscratch(v, sizeof(uint32_t) << nb);
    return -1;
  }
  for (size_t h = 0; h < ((size_t)1 << a->rbits); h++) {
    if (!a->rkeys[h]) continue;
    size_t j = hs_hash_ptr((uintptr_t)a->rkeys[h], nb);
    while (k[j]) j = (j + 1) & m;
    k[j] = a->rkeys[h];
    v[j] = a->rval[h];
  }
  hs_unscratch(a->rkeys, sizeof(uint64_t) << a->rbits);
  hs_unscratch(a->rval, sizeof(uint32_t) << a->rbits);
  a->rkeys = k;
  a->rval = v;
  a->rbits = nb;
  return 0;
}

static uint32_t hs_row_lookup(struct hs_anatomy *a, uint64_t key) {
  uint32_t site = (uint32_t)((key - 1) >> 32), type = (uint32_t)(key - 1);
  if (hs_rows_grow(a) < 0) return UINT32_MAX;
  size_t m = ((size_t)1 << a->rbits) - 1, h = hs_hash_ptr((uintptr_t)key, a->rbits);
  while (a->rkeys[h]) {
    if (a->rkeys[h] == key) return a->rval[h];
    h = (h + 1) & m;
  }
  if (a->nrows >= MAX_ROWS) return UINT32_MAX;
  a->rkeys[h] = key;
  a->rval[h] = a->nrows;
  struct hs_anat_rec *r = &a->rows[a->nrows].r;
  memset(r, 0, sizeof *r);
  r->site = site;
  r->type = type;
  return a->nrows++;
}

/* Bytes the allocator hands out beyond the request. Computed from the allocators' size
 * classes rather than asked (malloc_usable_size would read a chunk header that a thread
 * running without the GIL may be freeing at this moment): pymalloc rounds requests up to 512
 * bytes to 16; glibc gives a chunk of max(32, n + 8 rounded up to 16) bytes with 8 bytes of
 * header, and mmaps requests from 128 KiB (its default threshold) with a 16-byte header. */
static uint64_t hs_rounding(uintptr_t b, uint64_t size, uint8_t domain) {
  (void)b;
  if ((domain == HS_DOMAIN_OBJ || domain == HS_DOMAIN_MEM) && size <= 512) {
    uint64_t s = size ? size : 1;
    return ((s + 15) & ~(uint64_t)15) - size;
  }
  if (size + 8 >= 128 * 1024) return ((size + 16 + 4095) & ~(uint64_t)4095) - 16 - size;
  uint64_t chunk = (size + 8 + 15) & ~(uint64_t)15;
  if (chunk < 32) chunk = 32;
  return chunk - 8 - size;
}

struct hs_split {
  uint64_t gc, pre, hdr, data;
};

/* c: the class word (a->cls[rank]) of the block at addr; size: its size. */
static struct hs_split hs_split_object(const struct hs_anatomy *a, uintptr_t addr, uint32_t c,
                                       uint64_t size) {
  struct hs_split s = {0, 0, 0, 0};
  if (!(c & CLS_MASK)) return s;
  const struct hs_type *t = &a->types[(c & CLS_MASK) - 1];
  unsigned off = (c >> 14) * 16u;
  uintptr_t o = addr + off;
  s.gc = off >= 16 ? 16 : 0;
  s.pre = off - s.gc;
  s.hdr = t->itemsize ? 24 : 16;
  if (t->addr == hs_pyi.float_type) {
    s.data = 8;
  } else if (t->addr == hs_pyi.long_type) {
    s.data = size > 24 ? size - 24 : 0;
  } else if (t->addr == hs_pyi.unicode_type) {
    uint32_t state = *(const uint32_t *)(o + 32);
    int compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
    s.hdr = compact && ascii ? hs_pyi.ascii_size : hs_pyi.compact_size;
    s.data = size > s.hdr ? size - s.hdr : 0;
  } else if (t->addr == hs_pyi.bytes_type) {
    s.hdr = 33; /* PyVarObject head, ob_shash, trailing NUL */
    s.data = size > 33 ? size - 33 : 0;
  }
  if (s.gc + s.pre + s.hdr > size) s.hdr = size - s.gc - s.pre;
  return s;
}

/* Counts block j, just claimed, in the row of its owner, n times (n > 1: n blocks of j's class
 * word, site and size, none a str; hs_own_big_list). */
static void hs_count_owned(struct hs_anatomy *a, size_t j, size_t rj, size_t owner, uintptr_t addr,
                           uint64_t val, uint64_t n) {
  uint32_t oc, row;
  if (owner == a->own_owner && a->own_row != UINT32_MAX) {
    row = a->own_row;
    oc = a->own_class;
  } else {
    oc = CLS(a, owner);
    row = hs_row_of(a, slot_site(a, owner), oc ? oc - 1 : HS_NO_TYPE);
    if (row == UINT32_MAX) return;
    a->own_owner = owner;
    a->own_row = row;
    a->own_class = oc;
  }
  struct hs_anat_rec *r = &a->rows[row].r;
  (void)j; /* val: hs_live_val(j) */
  uint64_t size = val >> HS_SITE_ID_BITS;
  uint32_t cj = a->cls[rj];
  uint8_t dom = hs_dom(a, (uint32_t)(val & HS_SITE_ID_MASK));
  r->owned_blocks += n;
  r->owned_bytes += n * size;
  if (!(cj & CLS_MASK)) { /* no object (a dict's keys, a list's items): what hs_split_object
                           * gives such a block is all zero */
    r->owned_rounding_bytes += n * hs_rounding(addr, size, dom);
    /* a bytearray's buffer is all data */
    if (oc && a->types[oc - 1].addr == hs_pyi.bytearray_type) r->owned_data_bytes += n * size;
    return;
  }
  if (cj == a->split_cls && size == a->split_size && dom == a->split_dom) {
    r->owned_header_bytes += n * a->split_hdr;
    r->owned_rounding_bytes += n * a->split_rounding;
    r->owned_data_bytes += n * a->split_data;
    return;
  }
  struct hs_split sp = hs_split_object(a, addr, cj, size);
  uint64_t rounding = hs_rounding(addr, size, dom);
  r->owned_header_bytes += n * (sp.gc + sp.pre + sp.hdr);
  r->owned_rounding_bytes += n * rounding;
  r->owned_data_bytes += n * sp.data;
  if (a->types[(cj & CLS_MASK) - 1].addr != hs_pyi.unicode_type) {
    /* the split of an object other than a str depends on its class word and size alone */
    a->split_cls = cj;
    a->split_size = size;
    a->split_dom = dom;
    a->split_hdr = sp.gc + sp.pre + sp.hdr;
    a->split_rounding = rounding;
    a->split_data = sp.data;
  }
}

/* ------------------------------------------------------------------ shapes */

struct hs_sig {
  uint8_t kind;
  uint16_t nfields;
  uint64_t length;
  uint32_t names[HS_SHAPE_MAX_FIELDS];
  uint32_t types[HS_SHAPE_MAX_FIELDS];
  uint32_t slen[HS_SHAPE_MAX_FIELDS]; /* str values: length in characters */
};

static uint32_t hs_type_id(long ti) { return ti < 0 ? HS_NO_TYPE : (uint32_t)ti; }

/* Type id of the object at p, and into *slen its length when it is a str (else 0). */
static uint32_t hs_value_type(struct hs_anatomy *a, uintptr_t p, uint32_t *slen) {
  long ti = hs_type_of_obj(a, p);
  *slen = 0;
  if (ti >= 0 && a->types[ti].addr == hs_pyi.unicode_type) {
    uint64_t n = rd64(p + 16); /* PyASCIIObject.length, inside the header */
    *slen = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
  }
  return hs_type_id(ti);
}

/* The sid of "?", interned the first time it is asked for (as every call interned it
 * before: the strings table gets the same entries in the same order). */
static uint32_t hs_unknown_sid(struct hs_anatomy *a) {
  if (a->unknown_sid1) return a->unknown_sid1 - 1;
  uint32_t sid = hs_intern_string_unlocked("?", 1);
  if (sid != UINT32_MAX) a->unknown_sid1 = sid + 1;
  return sid;
}

static uint32_t hs_str_sid_of(struct hs_anatomy *a, uintptr_t p, uint32_t unknown);

/* Interns the text of the ASCII str object at p (heap or static); "?" otherwise. The same p
 * gives the same answer throughout the pass (the GIL is held: the object does not change), so
 * it is worked out once per p and cached. */
static uint32_t hs_str_sid(struct hs_anatomy *a, uintptr_t p) {
  uint32_t unknown = hs_unknown_sid(a);
  size_t h = (p >> 4) & (HS_STRC - 1);
  if (a->strc[h].p == p && p) return a->strc[h].sid;
  uint32_t sid = hs_str_sid_of(a, p, unknown);
  if (sid != UINT32_MAX) {
    a->strc[h].p = p;
    a->strc[h].sid = sid;
  }
  return sid;
}

static uint32_t hs_str_sid_of(struct hs_anatomy *a, uintptr_t p, uint32_t unknown) {
  long j = hs_live_find(p);
  int heap = j >= 0;
  if (heap ? slot_size(a, (size_t)j) < hs_pyi.ascii_size : !hs_static_readable(a, p, hs_pyi.ascii_size))
    return unknown;
  if (rd64(p + 8) != hs_pyi.unicode_type) return unknown;
  int64_t len = (int64_t)rd64(p + 16);
  uint32_t state = *(const uint32_t *)(p + 32);
  int compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
  if (!compact || !ascii || len < 0 || len > 200) return unknown;
  uint64_t need = hs_pyi.ascii_size + (uint64_t)len;
  if (heap ? need > slot_size(a, (size_t)j) : !hs_static_readable(a, p, need)) return unknown;
  uint32_t sid = hs_intern_string_unlocked((const char *)(p + hs_pyi.ascii_size), (size_t)len);
  return sid == UINT32_MAX ? unknown : sid;
}

static void hs_sig_entry(struct hs_anatomy *a, uintptr_t key, uintptr_t value, void *arg) {
  struct hs_sig *s = arg;
  s->length++;
  if (s->nfields >= HS_SHAPE_MAX_FIELDS) return;
  long kt = hs_type_of_obj(a, key);
  s->names[s->nfields] = kt >= 0 && a->types[kt].addr == hs_pyi.unicode_type
                             ? hs_str_sid(a, key) : hs_unknown_sid(a);
  s->types[s->nfields] = hs_value_type(a, value, &s->slen[s->nfields]);
  s->nfields++;
}

static int hs_signature(struct hs_anatomy *a, size_t i, struct hs_sig *s) {
  memset(s, 0, sizeof *s);
  const struct hs_type *t = &a->types[CLS(a, i) - 1];
  uintptr_t o = slot_key(a, i) + OFF(a, i);
  uint64_t avail = slot_size(a, i) - OFF(a, i);
  long kb, vb;
  if (t->tp_flags & TPF_DICT_SUBCLASS) {
    s->kind = HS_SHAPE_DICT;
    return avail >= 48 && hs_dict_entries(a, o, hs_sig_entry, s, &kb, &vb) >= 0;
  }
  if (t->tp_flags & (TPF_TUPLE_SUBCLASS | TPF_LIST_SUBCLASS)) {
    int list = (t->tp_flags & TPF_LIST_SUBCLASS) != 0;
    s->kind = list ? HS_SHAPE_LIST : HS_SHAPE_TUPLE;
    int64_t n = (int64_t)rd64(o + 16);
    uint64_t io = list ? 24 : HS_TUPLE_ITEMS;
    if (avail < io) return 0;
    uintptr_t items = o + io;
    uint64_t lim = avail - io;
    if (list) {
      long j = hs_live_find(rd64(o + 24));
      if (j < 0) return n == 0;
      items = slot_key(a, j);
      lim = slot_size(a, (size_t)j);
    }
    s->length = n < 0 ? 0 : (uint64_t)n;
    for (int64_t k = 0; k < n && k < HS_SHAPE_MAX_FIELDS && (uint64_t)(k + 1) * 8 <= lim; k++) {
      s->names[s->nfields] = 0;
      s->types[s->nfields] = hs_value_type(a, rd64(items + 8 * (uint64_t)k), &s->slen[s->nfields]);
      s->nfields++;
    }
    return 1;
  }
  if (!(t->tp_flags & TPF_HEAPTYPE) || (t->tp_flags & TPF_BUILTIN_CONTAINER)) return 0;
  uintptr_t values;
  uintptr_t d = hs_instance_dict(a, i, t, &values);
  if (d && hs_block_at(a, d, 16, 48) >= 0) {
    s->kind = HS_SHAPE_INSTANCE_DICT;
    return hs_dict_entries(a, d, hs_sig_entry, s, &kb, &vb) >= 0;
  }
  /* values array or inline values: names from the type's cached keys */
  uintptr_t varr = 0;
  uint64_t vbytes = 0;
  if (values) {
    varr = hs_values_array(a, values, &vb, &vbytes);
  } else if (hs_pyi.minor >= 13 && (t->tp_flags & TPF_INLINE_VALUES) &&
             (uint64_t)t->basicsize + 8 <= avail) {
    uintptr_t iv = o + (uint64_t)t->basicsize;
    if (*(const uint8_t *)(iv + 3)) {
      varr = iv + 8;
      vbytes = avail - (uint64_t)t->basicsize - 8;
    }
  }
  if (varr && (t->flags & HS_TYPE_HEAP)) {
    size_t ck_off = hs_pyi.minor >= 15 ? 888 : hs_pyi.minor >= 12 ? 880 : 872;
    long tb = hs_block_at(a, t->addr, 16, ck_off + 8);
    uintptr_t keys = tb >= 0 ? rd64(t->addr + ck_off) : 0;
    long kj = keys ? hs_live_find(keys) : -1;
    if (kj >= 0 && slot_size(a, (size_t)kj) >= 32) {
      uint64_t ks = slot_size(a, (size_t)kj);
      unsigned lib = *(const uint8_t *)(keys + 9);
      uint64_t n = rd64(keys + 24), ent = 32 + ((uint64_t)1 << (lib > 40 ? 0 : lib));
      s->kind = HS_SHAPE_INSTANCE_DICT;
      for (uint64_t k = 0; k < n && ent + (k + 1) * 16 <= ks && (k + 1) * 8 <= vbytes; k++) {
        uintptr_t key = rd64(keys + ent + k * 16), v = rd64(varr + 8 * k);
        if (key && v) hs_sig_entry(a, key, v, s);
      }
      return 1;
    }
  }
  /* __slots__ */
  uintptr_t members = rd64(t->addr + 240), tend = t->block_end;
  if (!members || !tend) return 0;
  s->kind = HS_SHAPE_INSTANCE_SLOTS;
  for (uintptr_t m = members; m >= t->addr && m + 40 <= tend && rd64(m); m += 40) {
    int type = *(const int32_t *)(m + 8);
    int64_t moff = (int64_t)rd64(m + 16);
    if (type != 16 && type != 6) continue;
    if (moff <= 0 || (uint64_t)moff + 8 > avail) continue;
    s->length++;
    if (s->nfields >= HS_SHAPE_MAX_FIELDS) continue;
    uintptr_t name = rd64(m);
    uint32_t sid;
    if (hs_block_at(a, name, hs_pyi.ascii_size, 1) >= 0)
      sid = hs_str_sid(a, name - hs_pyi.ascii_size);
    else
      sid = hs_read_cname(a, name);
    s->names[s->nfields] = sid;
    s->types[s->nfields] = hs_value_type(a, rd64(o + (uint64_t)moff), &s->slen[s->nfields]);
    s->nfields++;
  }
  return s->length > 0;
}

static int hs_sig_eq(const struct hs_sig *x, const struct hs_shape *y) {
  if (x->kind != y->kind || x->nfields != y->nfields || x->length != y->length) return 0;
  return memcmp(x->names, y->names, 4u * x->nfields) == 0 &&
         memcmp(x->types, y->types, 4u * x->nfields) == 0;
}

static int hs_shapeable(const struct hs_type *t) {
  if (t->tp_flags & (TPF_DICT_SUBCLASS | TPF_TUPLE_SUBCLASS | TPF_LIST_SUBCLASS)) return 1;
  return (t->tp_flags & TPF_HEAPTYPE) && !(t->tp_flags & TPF_BUILTIN_CONTAINER);
}

/* Sets sel[r] for the SHAPE_ROWS shapeable rows holding most memory (ties: the lower row
 * index), with a min-heap of SHAPE_ROWS entries: one pass over the rows. */
struct hs_top {
  uint64_t tot;
  uint32_t row;
};
static int hs_top_less(const struct hs_top *x, const struct hs_top *y) {
  return x->tot != y->tot ? x->tot < y->tot : x->row > y->row;
}
static void hs_top_sift(struct hs_top *h, uint32_t n, uint32_t k) {
  for (;;) {
    uint32_t m = k, l = 2 * k + 1, r = l + 1;
    if (l < n && hs_top_less(&h[l], &h[m])) m = l;
    if (r < n && hs_top_less(&h[r], &h[m])) m = r;
    if (m == k) return;
    struct hs_top t = h[k];
    h[k] = h[m];
    h[m] = t;
    k = m;
  }
}
static void hs_top_rows(const struct hs_anatomy *a, uint8_t *sel) {
  struct hs_top h[SHAPE_ROWS];
  uint32_t n = 0;
  for (uint32_t r = 0; r < a->nrows; r++) {
    const struct hs_anat_rec *x = &a->rows[r].r;
    if (x->type == HS_NO_TYPE || !x->objects || !hs_shapeable(&a->types[x->type])) continue;
    struct hs_top e = {x->bytes + x->owned_bytes, r};
    if (n < SHAPE_ROWS) {
      h[n++] = e;
      if (n == SHAPE_ROWS)
        for (uint32_t k = SHAPE_ROWS / 2; k-- > 0;) hs_top_sift(h, n, k);
    } else if (hs_top_less(&h[0], &e)) {
      h[0] = e;
      hs_top_sift(h, n, 0);
    }
  }
  for (uint32_t k = 0; k < n; k++) sel[h[k].row] = 1;
}

/* ---- ELEM: what sampled containers hold, over all their elements ---- */

/* 1 when the int object at p has at most two 30-bit digits (fits in 64 bits). size: its
 * block's size when known, else 0. An int is allocated with room for its digits (24 bytes of
 * header and 4 per digit, in 3.8-3.15), perhaps more than it uses (a result normalized
 * after the allocation): a block of at most 32 bytes holds at most 2 digits, which saves the
 * census a read of the object (one per element of a big list of ints). */
static int hs_int_fits(uintptr_t p, uint64_t size) {
  if (size && size <= 24 + 2 * 4) return 1;
  uint64_t v = rd64(p + 16);
  uint64_t ndigits = hs_pyi.minor >= 12 ? v >> 3 : (uint64_t)((int64_t)v < 0 ? -(int64_t)v : (int64_t)v);
  return ndigits <= 2;
}

/* hs_kind, looking for the object's block at p - off0 and beyond (off0 16: the caller found no
 * block at p) */
static unsigned hs_kind_from(struct hs_anatomy *a, uintptr_t p, unsigned off0) {
  if (p && p == hs_pyi.none_obj) return HS_EK_NONE;
  uint64_t size;
  long ti = hs_type_of_obj_from(a, p, &size, off0);
  if (ti < 0) return HS_EK_OTHER;
  return hs_type_ek(&a->types[ti], p, size);
}
static unsigned hs_kind(struct hs_anatomy *a, uintptr_t p) { return hs_kind_from(a, p, 0); }

/* The item array and length of the list or tuple object at p, readable within live blocks;
 * 0 when they are not. */
static int hs_items(struct hs_anatomy *a, uintptr_t p, unsigned kind, uintptr_t *items,
                    uint64_t *n) {
  long j = hs_live_find(p - 16); /* list and tuple are GC objects */
  if (j < 0 || slot_size(a, (size_t)j) < 16 + 24) return 0;
  int64_t len = (int64_t)rd64(p + 16);
  if (len < 0) return 0;
  *n = (uint64_t)len;
  if (kind == HS_EK_TUPLE) { /* 3.14 added the cached hash before the items */
    *items = p + HS_TUPLE_ITEMS;
    return slot_size(a, (size_t)j) >= 16 + HS_TUPLE_ITEMS + 8 * *n;
  }
  if (!len) return 1;
  *items = rd64(p + 24);
  long k = hs_live_find(*items);
  return k >= 0 && slot_size(a, (size_t)k) >= 8 * *n;
}

/* The entry of the big list at slot i (its item count n) whose element kinds the containers
 * pass counted, or -1. */
static long hs_bigl_find(const struct hs_anatomy *a, long i, uint64_t n) {
  if (i < 0 || !a->nbigl) return -1;
  uint32_t rank = (uint32_t)RK(a, (size_t)i), lo = 0, hi = a->nbigl;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (a->bigl_rank[mid] < rank) lo = mid + 1;
    else hi = mid;
  }
  return lo < a->nbigl && a->bigl_rank[lo] == rank && a->bigl_n[lo] == n ? (long)lo : -1;
}

static int hs_elem_take(struct hs_anatomy *a, struct hs_shape *sh) {
  if (a->elem_left) {
    a->elem_left--;
    return 1;
  }
  sh->e.flags &= (uint16_t)~HS_ELEM_COMPLETE;
  return 0;
}

static void hs_elem_value(struct hs_anatomy *a, struct hs_shape *sh, uintptr_t v) {
  unsigned k = hs_kind(a, v);
  sh->e.values[k]++;
  if (k != HS_EK_LIST && k != HS_EK_TUPLE) return;
  uintptr_t items;
  uint64_t n;
  if (!hs_items(a, v, k, &items, &n)) {
    sh->e.flags &= (uint16_t)~HS_ELEM_COMPLETE;
    return;
  }
  if (n < sh->e.inner_min) sh->e.inner_min = n;
  if (n > sh->e.inner_max) sh->e.inner_max = n;
  if (k == HS_EK_LIST && n >= HS_ELEM_BIG && a->elem_left >= n) {
    /* a big list inside a sampled container (a list of big lists): its element kinds were
     * counted by the containers pass, the same counts as the loop below gives */
    long b = hs_bigl_find(a, hs_live_find(v - 16), n);
    if (b >= 0) {
      a->elem_left -= n;
      for (unsigned e = 0; e < HS_EK_KINDS; e++) sh->e.inner[e] += a->bigl_kinds[b][e];
      return;
    }
  }
  for (uint64_t j = 0; j < n && hs_elem_take(a, sh); j++) {
    uintptr_t x = rd64(items + 8 * j);
    if (x) sh->e.inner[hs_kind(a, x)]++;
  }
}

static void hs_elem_entry(struct hs_anatomy *a, uintptr_t key, uintptr_t value, void *arg) {
  struct hs_shape *sh = arg;
  if (!hs_elem_take(a, sh)) return;
  sh->e.keys[hs_kind(a, key)]++;
  hs_elem_value(a, sh, value);
}

/* Scans the elements of the sampled container at slot i into its shape's ELEM record. */
static HS_NOINLINE void hs_elem_scan(struct hs_anatomy *a, size_t i, struct hs_shape *sh) {
  const struct hs_type *t = &a->types[CLS(a, i) - 1];
  uintptr_t o = slot_key(a, i) + OFF(a, i);
  sh->e.containers++;
  if (sh->e.items_site == HS_NO_TYPE && (t->tp_flags & (TPF_DICT_SUBCLASS | TPF_LIST_SUBCLASS)) &&
      slot_size(a, i) - OFF(a, i) >= 40) {
    long j = hs_live_find(rd64(o + ((t->tp_flags & TPF_DICT_SUBCLASS) ? 32 : 24)));
    if (j >= 0) sh->e.items_site = slot_site(a, (size_t)j);
  }
  if (t->tp_flags & TPF_DICT_SUBCLASS) {
    long kb, vb;
    if (slot_size(a, i) - OFF(a, i) < 48 || hs_dict_entries(a, o, hs_elem_entry, sh, &kb, &vb) < 0)
      sh->e.flags &= (uint16_t)~HS_ELEM_COMPLETE;
    return;
  }
  unsigned k = (t->tp_flags & TPF_LIST_SUBCLASS) ? HS_EK_LIST
               : (t->tp_flags & TPF_TUPLE_SUBCLASS) ? HS_EK_TUPLE : HS_EK_OTHER;
  if (k == HS_EK_OTHER) return; /* instances: only the longest str per field */
  uintptr_t items;
  uint64_t n;
  if (!hs_items(a, o, k, &items, &n)) {
    sh->e.flags &= (uint16_t)~HS_ELEM_COMPLETE;
    return;
  }
  if (k == HS_EK_LIST && n >= HS_ELEM_BIG && a->elem_left >= n) {
    /* counted by the containers pass: the same counts as the loop below gives */
    long b = hs_bigl_find(a, i, n);
    if (b >= 0) {
      a->elem_left -= n;
      for (unsigned e = 0; e < HS_EK_KINDS; e++) sh->e.values[e] += a->bigl_kinds[b][e];
      return;
    }
  }
  for (uint64_t j = 0; j < n && hs_elem_take(a, sh); j++) {
    uintptr_t v = rd64(items + 8 * j);
    if (v) hs_elem_value(a, sh, v);
  }
}

/* Elements of a list, tuple or dict (0 for other objects), for the big-container rule. */
static uint64_t hs_container_len(const struct hs_anatomy *a, size_t i, const struct hs_type *t) {
  if (!(t->tp_flags & (TPF_LIST_SUBCLASS | TPF_TUPLE_SUBCLASS | TPF_DICT_SUBCLASS))) return 0;
  if (slot_size(a, i) - OFF(a, i) < 24) return 0;
  int64_t n = (int64_t)rd64(slot_key(a, i) + OFF(a, i) + 16); /* ob_size, or a dict's ma_used */
  return n < 0 ? 0 : (uint64_t)n;
}

/* The object taken from stratum k (objects k*stride .. k*stride+stride-1 of a row, in map
 * order) of row r: a pseudo-random offset (splitmix64 of row and stratum), not the first of
 * each stratum. A fixed offset aliases with any period that divides the stride: 240,000 dicts
 * made in turn with two shapes lie in address order as A B A B ..., and a stride of 15,000
 * took one shape 16 times out of 16. Deterministic, so a snapshot's samples are reproducible
 * for the same heap. */
static uint64_t hs_stratum_pick(uint32_t r, uint64_t k, uint64_t stride) {
  if (stride <= 1) return 0;
  uint64_t z = ((uint64_t)r << 32 ^ k) + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (z ^ (z >> 31)) % stride;
}

static void hs_sample_shapes(struct hs_anatomy *a) {
  /* the SHAPE_ROWS shapeable rows holding most memory */
  uint8_t *sel = hs_scratch(a->nrows);
  uint32_t *seen = hs_scratch(sizeof(uint32_t) * a->nrows);
  /* a row's shapes in the order they were made: its first (index + 1, 0: none) and each
   * shape's next (the same), so a sample looks at its own row's shapes, not at all of them */
  uint32_t *first = hs_scratch(sizeof(uint32_t) * a->nrows);
  uint32_t *next = hs_scratch(sizeof(uint32_t) * SHAPES_CAP);
  a->row_samples = hs_scratch(sizeof(uint32_t) * a->nrows);
  a->shapes = hs_scratch(sizeof(struct hs_shape) * SHAPES_CAP);
  if (!sel || !seen || !first || !next || !a->row_samples || !a->shapes) goto out;
  hs_top_rows(a, sel);
  /* SHAPE_SAMPLES objects per chosen row, one from each of SHAPE_SAMPLES strata of the row's
   * objects in map order (which follows addresses, not creation order), at a pseudo-random
   * offset inside the stratum */
  a->elem_left = (uint64_t)64 << 20;
  /* the objects of shapeable types no one owns (the ownership passes are over) */
#define HS_WANT_SHAPES(r0, n) (hs_rbits(a->cont, r0, n) & ~hs_rbits(a->owned, r0, n))
  HS_FOR_LIVE_IF(a, i, ri, HS_WANT_SHAPES) {
    uint32_t c = a->cls[ri] & CLS_MASK;
    uint32_t r = hs_row_of(a, slot_site(a, i), c - 1);
    if (r == UINT32_MAX || !sel[r]) continue;
    uint32_t nth = seen[r]++;
    uint64_t objs = a->rows[r].r.objects;
    uint64_t stride = objs > SHAPE_SAMPLES ? objs / SHAPE_SAMPLES : 1;
    /* containers of HS_ELEM_BIG elements or more are always sampled (format v5) */
    int big = (int)(a->big[ri >> 6] >> (ri & 63)) & 1; /* hs_container_len, from pass 2 */
    if ((nth / stride >= SHAPE_SAMPLES || nth % stride != hs_stratum_pick(r, nth / stride, stride)) &&
        !big)
      continue;
    a->row_samples[r]++;
    struct hs_sig sig;
    if (!hs_signature(a, i, &sig)) continue;
    struct hs_shape *match = NULL;
    uint32_t nrow_shapes = 0, *link = &first[r];
    for (; *link; link = &next[*link - 1]) {
      nrow_shapes++;
      if (!match && hs_sig_eq(&sig, &a->shapes[*link - 1])) match = &a->shapes[*link - 1];
    }
    if (match) {
      match->count++;
    } else if ((nrow_shapes < SHAPES_PER_ROW || (big && nrow_shapes < 2 * SHAPES_PER_ROW)) &&
               a->nshapes < SHAPES_CAP) {
      *link = a->nshapes + 1; /* the row's last */
      struct hs_shape *n = &a->shapes[a->nshapes++];
      memset(n, 0, sizeof *n);
      n->row = r;
      n->count = 1;
      n->kind = sig.kind;
      n->nfields = sig.nfields;
      n->length = sig.length;
      memcpy(n->names, sig.names, sizeof n->names);
      memcpy(n->types, sig.types, sizeof n->types);
      n->e.flags = HS_ELEM_COMPLETE;
      n->e.inner_min = UINT64_MAX;
      n->e.items_site = HS_NO_TYPE; /* 0xFFFFFFFF: none */
      match = n;
    }
    if (match) {
      for (uint16_t k = 0; k < sig.nfields; k++)
        if (sig.slen[k] > match->maxlen[k]) match->maxlen[k] = sig.slen[k];
      hs_elem_scan(a, i, match);
    }
  }
out:
  hs_unscratch(sel, a->nrows);
  hs_unscratch(seen, sizeof(uint32_t) * a->nrows);
  hs_unscratch(first, sizeof(uint32_t) * a->nrows);
  hs_unscratch(next, sizeof(uint32_t) * SHAPES_CAP);
}

/* ------------------------------------------------------------------ the pass */

static uint64_t hs_mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Returns the scratch that only the passes use (per-block arrays, indexes, static ranges),
 * keeping what the snapshot serializes (types, rows, shapes): the snapshot buffer is mapped
 * after the pass, and the two need not be resident together. */
static void hs_anatomy_trim(struct hs_anatomy *a) {
  hs_unscratch(a->lbits, a->nwords * 8);
  hs_unscratch(a->lpre, a->nwords * 4);
  hs_unscratch(a->cls, a->nlive * 2);
  hs_unscratch(a->owned, (a->nlive + 63) / 64 * 8);
  hs_unscratch(a->big, (a->nlive + 63) / 64 * 8);
  hs_unscratch(a->inst, sizeof(uint32_t) * HS_INST_MAX);
  a->inst = NULL;
  hs_unscratch(a->cont, (a->nlive + 63) / 64 * 8);
  a->cont = NULL;
  hs_unscratch(a->bigl_rank, sizeof(uint32_t) * HS_BIGL_MAX);
  hs_unscratch(a->bigl_n, sizeof(uint64_t) * HS_BIGL_MAX);
  hs_unscratch(a->bigl_kinds, sizeof(uint64_t) * HS_EK_KINDS * HS_BIGL_MAX);
  a->bigl_rank = NULL;
  a->bigl_n = NULL;
  a->bigl_kinds = NULL;
  hs_unscratch(a->ranges, a->ranges_bytes);
  hs_unscratch(a->tidx, sizeof(uint32_t) << a->tbits);
  hs_unscratch(a->tneg, sizeof(uintptr_t) << a->nbits);
  hs_unscratch(a->rkeys, sizeof(uint64_t) << a->rbits);
  hs_unscratch(a->rval, sizeof(uint32_t) << a->rbits);
  a->lbits = NULL;
  a->lpre = NULL;
  a->cls = NULL;
  a->owned = NULL;
  a->big = NULL;
  a->ranges = NULL;
  a->tidx = NULL;
  a->tneg = NULL;
  a->rkeys = NULL;
  a->rval = NULL;
}

#ifndef HS_ANATOMY_POPCNT /* one copy of the functions that do not rank blocks */
void hs_anatomy_free(struct hs_anatomy *a) {
  if (!a) return;
  hs_anatomy_trim(a);
  hs_unscratch(a->types, sizeof(struct hs_type) * MAX_TYPES);
  hs_unscratch(a->rows, sizeof(struct hs_row) * MAX_ROWS);
  hs_unscratch(a->shapes, sizeof(struct hs_shape) * SHAPES_CAP);
  hs_unscratch(a->row_samples, sizeof(uint32_t) * a->row_samples_n);
  hs_unscratch(a, sizeof *a);
}
#endif

/* Pages of a leaf's mapping (main or side slots). */
#define HS_LEAF_PAGES (HS_LEAF_SLOTS * 4 / 4096)
_Static_assert(HS_LEAF_SLOTS * 4 % 4096 == 0 && HS_LEAF_SLOTS % 1024 == 0, "whole pages of 1,024 slots");

/* Builds the live-slot bitmap and its per-word ranks; 0 when out of memory. A leaf's page
 * that was never touched since its mapping (not present and not swapped out, as
 * /proc/self/pagemap says) reads as zeros: it holds no live slot, and the scan skips it
 * rather than read it (a read maps the zero page, one page fault each: 232 of the 2,300 of
 * 3.14's `python -c pass`, whose leaves are mostly untouched). Without the file (or with
 * pages of another size) every page is read, as before. */
static int hs_live_index(struct hs_anatomy *a) {
  a->nwords = (a->cap + 63) / 64;
  a->lbits = hs_scratch(a->nwords * 8);
  a->lpre = hs_scratch(a->nwords * 4);
  if (!a->lbits || !a->lpre) return 0;
  size_t nl = (size_t)hs_nleaves * HS_LEAF_SLOTS; /* a multiple of 64 */
  size_t side0 = hs_live_side_start();            /* so is this: the map has 2^12 slots or more */
  int pmfd = getpagesize() == 4096 ? open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC) : -1;
  uint64_t pm[HS_LEAF_PAGES];
  for (uint32_t l = 0; l < hs_nleaves + hs_nsides; l++) { /* the leaves, then the side slots */
    const uint32_t *leaf = l < hs_nleaves ? hs_leaves[l] : hs_sides[l - hs_nleaves];
    uint64_t *w = a->lbits + (l < hs_nleaves ? (size_t)l * HS_LEAF_SLOTS : side0 + (size_t)(l - hs_nleaves) * HS_LEAF_SLOTS) / 64;
    int known = pmfd >= 0 && pread(pmfd, pm, sizeof pm, (off_t)((uintptr_t)leaf / 4096 * 8)) == (ssize_t)sizeof pm;
    for (size_t k = 0; k < HS_LEAF_SLOTS; k += 64) { /* branch-free: the pattern is random */
      if (known && !(pm[k / 1024] >> 62)) { /* bits 63 (present) and 62 (swapped) clear */
        k += 1024 - 64;                      /* the page's other slots too (w stays 0) */
        continue;
      }
#ifdef __SSE2__
      /* four slots a compare: the mask of the zero slots, inverted */
      uint64_t zero = 0;
      const __m128i z = _mm_setzero_si128();
      for (unsigned b = 0; b < 64; b += 4) {
        __m128i v = _mm_loadu_si128((const __m128i *)(leaf + k + b));
        zero |= (uint64_t)(unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, z))) << b;
      }
      w[k >> 6] = ~zero;
#else
      uint64_t bits = 0;
      for (unsigned b = 0; b < 64; b++) bits |= (uint64_t)(leaf[k + b] != 0) << b;
      w[k >> 6] = bits;
#endif
    }
  }
  if (pmfd >= 0) close(pmfd);
  for (size_t k = nl; k < side0; k++)
    if (hs_map[k - nl].key) a->lbits[k >> 6] |= 1ull << (k & 63);
  size_t n = 0;
  for (size_t w = 0; w < a->nwords; w++) {
    a->lpre[w] = (uint32_t)n;
    n += hs_popc64(a->lbits[w]);
  }
  a->nlive = n;
  return n < UINT32_MAX;
}


struct hs_anatomy *hs_anatomy_collect(const char *maps_text) {
#ifndef HS_ANATOMY_POPCNT
  /* HEAPSHAPE_ANATOMY_PORTABLE=1 forces the portable copy (tests/e2e/test_anatomy.py runs
   * both on the same heap and wants the same rows) */
  __builtin_cpu_init();
  if (__builtin_cpu_supports("popcnt") && !getenv("HEAPSHAPE_ANATOMY_PORTABLE"))
    return hs_anatomy_collect_popcnt(maps_text);
#endif
  uint64_t t0 = hs_mono_us();
  struct hs_anatomy *a = hs_scratch(sizeof *a);
  if (!a) return NULL;
  memset(a, 0, sizeof *a);
  a->cap = hs_live_capacity();
  a->tbits = 10; /* grows */
  a->nbits = 12; /* a bounded negative cache */
  a->rbits = 10; /* grows */
  a->own_row = UINT32_MAX;
  a->dom = hs_site_domains(&a->ndom);
  a->ranges_bytes = sizeof(struct hs_range) * 65536;
  if (!hs_live_index(a)) {
    hs_anatomy_free(a);
    return NULL;
  }
  a->cls = hs_scratch(a->nlive * 2);
  a->owned = hs_scratch((a->nlive + 63) / 64 * 8);
  a->big = hs_scratch((a->nlive + 63) / 64 * 8);
  a->inst = hs_scratch(sizeof(uint32_t) * HS_INST_MAX);
  if (a->cap > UINT32_MAX) a->ninst = HS_INST_MAX + 1;
  a->cont = hs_scratch((a->nlive + 63) / 64 * 8);
  a->bigl_rank = hs_scratch(sizeof(uint32_t) * HS_BIGL_MAX);
  a->bigl_n = hs_scratch(sizeof(uint64_t) * HS_BIGL_MAX);
  a->bigl_kinds = hs_scratch(sizeof(uint64_t) * HS_EK_KINDS * HS_BIGL_MAX);
  a->ranges = hs_scratch(a->ranges_bytes);
  a->types = hs_scratch(sizeof(struct hs_type) * MAX_TYPES);
  a->tidx = hs_scratch(sizeof(uint32_t) << a->tbits);
  a->tneg = hs_scratch(sizeof(uintptr_t) << a->nbits);
  a->rows = hs_scratch(sizeof(struct hs_row) * MAX_ROWS);
  a->rkeys = hs_scratch(sizeof(uint64_t) << a->rbits);
  a->rval = hs_scratch(sizeof(uint32_t) << a->rbits);
  if (!a->cls || !a->owned || !a->big || !a->inst || !a->cont || !a->bigl_rank || !a->bigl_n || !a->bigl_kinds || !a->ranges || !a->types || !a->tidx ||
      !a->tneg || !a->rows || !a->rkeys || !a->rval || !maps_text || !hs_pyi.type_type) {
    hs_anatomy_free(a);
    return NULL;
  }
  a->nranges = hs_ranges_parse(maps_text, a->ranges, 65536);

  /* 1. types of OBJ blocks */
  HS_FOR_LIVE(a, i, r) {
    uintptr_t addr;
    uint64_t val = hs_live_val_addr(i, &addr);
    if (hs_dom(a, (uint32_t)(val & HS_SITE_ID_MASK)) != HS_DOMAIN_OBJ) continue;
    uint64_t size = val >> HS_SITE_ID_BITS;
    uint32_t c;
    if (size >= 16 && a->last_type_addr && rd64(addr + 8) == a->last_type_addr &&
        hs_classify_last0(a, addr, size)) {
      /* hs_classify's first try (known types, offset 0) with its one-entry type cache: the
       * same answer it gives, without the call (runs of floats, ints, strs of one pool) */
      c = (uint32_t)a->last_type + 1;
      a->cls[r] = (uint16_t)c;
    } else {
      hs_classify(a, r, addr, size);
      c = a->cls[r] & CLS_MASK;
    }
    if (!c) continue;
    uint8_t role = a->types[c - 1].role;
    if (role & HS_ROLE_INSTANCE) {
      if (a->ninst < HS_INST_MAX) a->inst[a->ninst++] = (uint32_t)i;
      else a->ninst = HS_INST_MAX + 1;
    }
    if (role & HS_ROLE_CONTAINER) a->cont[r >> 6] |= 1ull << (r & 63);
  }
  /* 2. ownership, counted in the owner's row: instances first, then containers that are
   * not themselves owned (an instance's dict) */
  if (a->ninst <= HS_INST_MAX) {
    for (size_t k = 0; k < a->ninst; k++) {
      size_t i = a->inst[k];
      uint32_t c = CLS(a, i);
      hs_own_instance(a, i, &a->types[c - 1]);
    }
  } else {
    HS_FOR_LIVE(a, i, r) {
      uint32_t c = a->cls[r] & CLS_MASK;
      if (c && (a->types[c - 1].role & HS_ROLE_INSTANCE)) hs_own_instance(a, i, &a->types[c - 1]);
    }
  }
  /* only objects of HS_ROLE_CONTAINER types: hs_own_pass does nothing for others, and
   * hs_container_len gives 0 */
#define HS_WANT_CONT(r0, n) hs_rbits(a->cont, r0, n)
  HS_FOR_LIVE_IF(a, i, r, HS_WANT_CONT) {
    uint32_t c = a->cls[r] & CLS_MASK;
    if (!hs_owned_r(a, r)) {
      hs_own_pass(a, i, r, a->cls[r]);
      if (hs_container_len(a, i, &a->types[c - 1]) >= HS_ELEM_BIG) a->big[r >> 6] |= 1ull << (r & 63);
    }
  }
  /* 3. rows: every block no one owns in its own (site, type) row */
#define HS_WANT_UNOWNED(r0, n) hs_rbits_not(a->owned, r0, n)
  HS_FOR_LIVE_IF(a, i, rk, HS_WANT_UNOWNED) {
    uint32_t cw = a->cls[rk], c = cw & CLS_MASK;
    uint64_t bit = 1ull << (rk & 63); /* a->cont now: what the shapes pass visits */
    if (c && (a->types[c - 1].role & HS_ROLE_SHAPEABLE)) a->cont[rk >> 6] |= bit;
    else a->cont[rk >> 6] &= ~bit;
    uintptr_t addr;
    uint64_t val = hs_live_val_addr(i, &addr);
    uint32_t site = (uint32_t)(val & HS_SITE_ID_MASK);
    uint32_t row = hs_row_of(a, site, c ? c - 1 : HS_NO_TYPE);
    if (row == UINT32_MAX) continue;
    struct hs_anat_rec *r = &a->rows[row].r;
    uint64_t size = val >> HS_SITE_ID_BITS;
    struct hs_split sp = hs_split_object(a, addr, cw, size);
    r->objects++;
    r->bytes += size;
    r->gc_bytes += sp.gc;
    r->preheader_bytes += sp.pre;
    r->header_bytes += sp.hdr;
    r->rounding_bytes += hs_rounding(addr, size, hs_dom(a, site));
    r->data_bytes += sp.data;
  }
  /* 4. shapes of the biggest rows */
  a->row_samples_n = a->nrows;
  hs_sample_shapes(a);
  hs_anatomy_trim(a);
  a->micros = (uint32_t)(hs_mono_us() - t0);
  a->ok = 1;
  return a;
}

#ifndef HS_ANATOMY_POPCNT
uint32_t hs_anatomy_micros(const struct hs_anatomy *a) { return a ? a->micros : 0; }

static void hs_put_section_hdr(struct hs_out *o, uint32_t tag, uint64_t len, uint32_t count) {
  struct hs_section_header h = {tag, 0, len};
  uint32_t c[2] = {count, 0};
  hs_out_put(o, &h, sizeof h);
  hs_out_put(o, c, sizeof c);
}

void hs_anatomy_serialize(const struct hs_anatomy *a, struct hs_out *o) {
  uint32_t nt = a ? a->ntypes : 0, nr = a ? a->nrows : 0, ns = a ? a->nshapes : 0;
  hs_put_section_hdr(o, HS_TAG_TYPE, 8 + (uint64_t)nt * sizeof(struct hs_type_rec), nt);
  for (uint32_t i = 0; i < nt; i++) {
    struct hs_type_rec r;
    memset(&r, 0, sizeof r);
    r.name_sid = a->types[i].name_sid;
    r.flags = a->types[i].flags;
    r.tp_flags = a->types[i].tp_flags;
    r.basicsize = a->types[i].basicsize;
    r.itemsize = a->types[i].itemsize;
    hs_out_put(o, &r, sizeof r);
  }
  hs_put_section_hdr(o, HS_TAG_ANAT, 8 + (uint64_t)nr * sizeof(struct hs_anat_rec), nr);
  for (uint32_t i = 0; i < nr; i++) hs_out_put(o, &a->rows[i].r, sizeof(struct hs_anat_rec));
  uint64_t slen = 8;
  for (uint32_t s = 0; s < ns; s++) slen += hs_pad8(sizeof(struct hs_shape_rec) + 8u * a->shapes[s].nfields);
  hs_put_section_hdr(o, HS_TAG_SHAP, slen, ns);
  for (uint32_t s = 0; s < ns; s++) {
    const struct hs_shape *sh = &a->shapes[s];
    struct hs_shape_rec r;
    memset(&r, 0, sizeof r);
    r.row = sh->row;
    r.count = sh->count;
    r.samples = a->row_samples ? a->row_samples[sh->row] : sh->count;
    r.kind = sh->kind;
    r.nfields = sh->nfields;
    r.length = sh->length;
    hs_out_put(o, &r, sizeof r);
    for (uint16_t f = 0; f < sh->nfields; f++) {
      uint32_t nt2[2] = {sh->names[f], sh->types[f]};
      hs_out_put(o, nt2, sizeof nt2);
    }
    hs_out_pad8(o);
  }
}

void hs_anatomy_serialize_elem(const struct hs_anatomy *a, struct hs_out *o) {
  uint32_t ns = a ? a->nshapes : 0; /* one entry per SHAP entry */
  uint64_t len = 8;
  for (uint32_t s = 0; s < ns; s++) len += hs_pad8(sizeof(struct hs_elem_rec) + 4u * a->shapes[s].nfields);
  hs_put_section_hdr(o, HS_TAG_ELEM, len, ns);
  for (uint32_t s = 0; s < ns; s++) {
    const struct hs_shape *sh = &a->shapes[s];
    struct hs_elem_rec r = sh->e;
    r.shape = s;
    r.nfields = sh->nfields;
    hs_out_put(o, &r, sizeof r);
    hs_out_put(o, sh->maxlen, 4u * sh->nfields);
    hs_out_pad8(o);
  }
}
#endif
