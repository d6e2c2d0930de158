/* heapshape snapshot format (.hsnap): constants and on-disk record layouts.
 *
 * docs/snapshot-format.md is the specification; this header transcribes it for the two writers
 * (the shim's preload/snapshot_write.c, the analyzer's analyzer/snapshot_encode.c) and the
 * reader (analyzer/reader.c). The writers encode records through heapshape/encode.h.
 * All multi-byte fields are little-endian; the structs below are only used on little-endian
 * hosts (checked at compile time) and are laid out without implicit padding.
 */
#ifndef HEAPSHAPE_FORMAT_H
#define HEAPSHAPE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
#define HS_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define HS_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "heapshape writes and reads little-endian snapshots on little-endian hosts only"
#endif

#define HS_MAGIC "HSNAP\0\r\n"
#define HS_MAGIC_LEN 8
/* Bump by one on any layout or meaning change (docs/snapshot-format.md, "Versioning"). */
#define HS_FORMAT_VERSION 6u
#define HS_FORMAT_MIN_READ 1u
#define HS_FORMAT_MAX_READ 6u
#define HS_BOM 0x01020304u

/* On-disk enums: values are fixed forever; retire, never reuse. */
enum hs_domain {
  HS_DOMAIN_NONE = 0, /* never written */
  HS_DOMAIN_MALLOC = 1,
  HS_DOMAIN_RAW = 2,
  HS_DOMAIN_MEM = 3,
  HS_DOMAIN_OBJ = 4,
};
#define HS_DOMAIN_COUNT 5

enum hs_frame_kind {
  HS_FRAME_PYTHON = 1,
  HS_FRAME_NATIVE = 2,
  HS_FRAME_UNKNOWN = 3,
};

enum hs_reason {
  HS_REASON_EXIT = 1,
  HS_REASON_SIGNAL = 2,
  HS_REASON_API = 3,
  HS_REASON_INTERVAL = 4, /* --interval's periodic snapshots (since 2026-12-03; were 2 before) */
};

/* META.writer: why the process wrote (docs/snapshot-format.md; 0 = not recorded) */
enum hs_writer {
  HS_WRITER_ROOT = 1,      /* the program `heapshape run` started */
  HS_WRITER_ALL = 2,       /* --all-children / HEAPSHAPE_CHILDREN=all */
  HS_WRITER_PY_GREW = 3,   /* a child that ran Python and grew 1 MiB after its start-up */
  HS_WRITER_FORK_GREW = 4, /* a forked child (no exec) that grew 1 MiB after the fork */
  HS_WRITER_HELD = 5,      /* a process that never ran Python and held 1 MiB */
  HS_WRITER_ASKED = 6,     /* none of these: written because asked (signal, API) */
};

#define HS_META_FLAG_DISABLED 1u
#define HS_META_FLAG_PYHOOKS 2u

#define HS_TAG(a, b, c, d) \
  ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define HS_TAG_META HS_TAG('M', 'E', 'T', 'A')
#define HS_TAG_STRS HS_TAG('S', 'T', 'R', 'S')
#define HS_TAG_FRMS HS_TAG('F', 'R', 'M', 'S')
#define HS_TAG_SITE HS_TAG('S', 'I', 'T', 'E')
#define HS_TAG_TYPE HS_TAG('T', 'Y', 'P', 'E')
#define HS_TAG_ANAT HS_TAG('A', 'N', 'A', 'T')
#define HS_TAG_SHAP HS_TAG('S', 'H', 'A', 'P')
#define HS_TAG_PEAK HS_TAG('P', 'E', 'A', 'K')
#define HS_TAG_TIME HS_TAG('T', 'I', 'M', 'E')
#define HS_TAG_ESTM HS_TAG('E', 'S', 'T', 'M')
#define HS_TAG_MODS HS_TAG('M', 'O', 'D', 'S')
#define HS_TAG_ELEM HS_TAG('E', 'L', 'E', 'M')
#define HS_TAG_PART HS_TAG('P', 'A', 'R', 'T')
#define HS_TAG_END HS_TAG('E', 'N', 'D', ' ')

#define HS_NO_TYPE 0xFFFFFFFFu
#define HS_META2_ANATOMY 1u
#define HS_TYPE_HEAP 1u
#define HS_TYPE_STATIC 2u
#define HS_TYPE_META 4u
#define HS_SHAPE_MAX_FIELDS 32

enum hs_shape_kind {
  HS_SHAPE_DICT = 1,
  HS_SHAPE_INSTANCE_DICT = 2,
  HS_SHAPE_INSTANCE_SLOTS = 3,
  HS_SHAPE_TUPLE = 4,
  HS_SHAPE_LIST = 5,
};

struct hs_file_header {
  char magic[8];
  uint32_t version;
  uint32_t bom;
  uint32_t header_size;
  uint32_t flags;
  uint64_t reserved;
};

struct hs_section_header {
  uint32_t tag;
  uint32_t reserved;
  uint64_t length; /* payload bytes, padding excluded */
};

struct hs_meta {
  uint32_t pid;
  uint32_t ppid;
  uint64_t time_ns;
  uint32_t reason;
  uint32_t seq;
  uint32_t python_version;
  uint32_t max_frames;
  uint64_t live_bytes;
  uint64_t live_count;
  uint64_t peak_live_bytes;
  uint64_t total_allocs;
  uint64_t total_frees;
  uint64_t total_alloc_bytes;
  uint32_t program_sid;
  uint32_t cmdline_sid;
  uint32_t flags;
  uint32_t writer; /* enum hs_writer; 0 (reserved) before 2026-12-04 */
  uint64_t start_time_ns;
  /* v2 (zero in v1 files) */
  uint16_t str_ascii_size;
  uint16_t str_compact_size;
  uint16_t gc_head_size;
  uint16_t small_request_threshold;
  uint32_t flags2;
  uint32_t anatomy_us;
  uint64_t sample_rate; /* v3: mean bytes between samples; 0 = every allocation (reserved, 0, in v1-v2) */
};

struct hs_frame_rec {
  uint8_t kind;
  uint8_t reserved[3];
  int32_t lineno;
  uint32_t filename_sid;
  uint32_t name_sid;
  uint64_t addr;
};

struct hs_site_rec {
  uint8_t domain;
  uint8_t reserved0;
  uint16_t nframes;
  uint32_t reserved1;
  uint64_t allocs;
  uint64_t frees;
  uint64_t alloc_bytes;
  uint64_t live_count;
  uint64_t live_bytes;
  uint64_t peak_live_bytes;
  /* followed by uint32_t frame ids[nframes], then zero padding to a multiple of 8 */
};

struct hs_type_rec {
  uint32_t name_sid;
  uint32_t flags;
  uint64_t tp_flags;
  int64_t basicsize;
  int64_t itemsize;
  uint64_t reserved;
};

struct hs_anat_rec {
  uint32_t site;
  uint32_t type; /* HS_NO_TYPE: not an object */
  uint64_t objects;
  uint64_t bytes;
  uint64_t gc_bytes;
  uint64_t preheader_bytes;
  uint64_t header_bytes;
  uint64_t rounding_bytes;
  uint64_t data_bytes;
  uint64_t owned_blocks;
  uint64_t owned_bytes;
  uint64_t owned_header_bytes;
  uint64_t owned_rounding_bytes;
  uint64_t owned_data_bytes;
  uint64_t reserved;
};

struct hs_shape_rec {
  uint32_t row;
  uint32_t count;
  uint32_t samples;
  uint8_t kind;
  uint8_t reserved;
  uint16_t nfields;
  uint64_t length;
  /* followed by nfields x { uint32_t name_sid; uint32_t type; } */
};

/* v3 */
struct hs_peak_hdr {
  uint32_t count; /* sites in the copy */
  uint32_t reserved;
  uint64_t live_bytes; /* process live bytes when the copy was taken */
  uint64_t time_ns;    /* since tracking started */
};
struct hs_peak_rec_disk {
  uint64_t live_count;
  uint64_t live_bytes;
};
#define HS_TIME_TOP_SITES 4
struct hs_time_hdr {
  uint32_t count;
  uint32_t ntop; /* HS_TIME_TOP_SITES */
  uint64_t interval_ns;
};
struct hs_time_rec {
  uint64_t t_ns;
  uint64_t live_bytes;
  uint64_t live_count;
  struct {
    uint32_t site;
    uint32_t reserved;
    uint64_t bytes;
  } top[HS_TIME_TOP_SITES]; /* bytes 0: no entry */
};
struct hs_estm_rec {
  double live_bytes;
  double live_count;
  double live_bytes_var;
  double alloc_bytes;
};

/* v4 */
struct hs_module_rec {
  uint32_t path_sid;
  uint32_t build_id_sid; /* lowercase hex; the empty string when the module has none */
  uint64_t base;         /* start of the module's mapping at file offset 0 */
  uint64_t reserved;
};

/* v5: ELEM, what the sampled containers hold (docs/snapshot-format.md) */
enum hs_elem_kind {
  HS_EK_FLOAT = 0,
  HS_EK_INT = 1, /* fits in 64 bits */
  HS_EK_BOOL = 2,
  HS_EK_STR = 3,
  HS_EK_LIST = 4,
  HS_EK_TUPLE = 5,
  HS_EK_NONE = 6,
  HS_EK_OTHER = 7,
  HS_EK_KINDS = 8
};
#define HS_ELEM_COMPLETE 1u /* flags: every element of the sampled containers was scanned */
#define HS_ELEM_BIG 10000u  /* containers this long in a sampled row are always sampled */
struct hs_elem_rec {
  uint32_t shape;
  uint16_t nfields; /* followed by nfields x uint32_t longest str, padded to 8 */
  uint16_t flags;
  uint32_t items_site; /* site of the first sampled container's item array or table */
  uint32_t reserved;
  uint64_t containers;
  uint64_t values[HS_EK_KINDS];
  uint64_t keys[HS_EK_KINDS];
  uint64_t inner_min, inner_max;
  uint64_t inner[HS_EK_KINDS];
};

/* v6: PART, full or partial (per-test) snapshot (docs/snapshot-format.md) */
enum hs_part_kind {
  HS_PART_FULL = 0,    /* every site of the process */
  HS_PART_SINCE = 1,   /* the sites touched since the mark, as they are now */
  HS_PART_AT_MARK = 2, /* the same sites (those that existed then) as they were at the mark */
};
struct hs_part_hdr {
  uint32_t kind;          /* enum hs_part_kind */
  uint32_t count;         /* site ids that follow: the SITE count (0 for HS_PART_FULL) */
  uint32_t process_sites; /* sites the process had at the snapshot (kind 2: at the mark) */
  uint32_t mark;          /* 1, 2, ... per heapshape_mark(); 0 for HS_PART_FULL */
  uint64_t mark_time_ns;  /* since tracking started */
  uint64_t reserved;
  /* followed by count x uint32_t process site ids, strictly increasing */
};

struct hs_end_rec {
  uint32_t crc32;
  uint32_t reserved;
};

HS_STATIC_ASSERT(sizeof(struct hs_file_header) == 32, "header layout");
HS_STATIC_ASSERT(sizeof(struct hs_section_header) == 16, "section header layout");
HS_STATIC_ASSERT(sizeof(struct hs_meta) == 128, "META layout");
HS_STATIC_ASSERT(sizeof(struct hs_frame_rec) == 24, "FRMS layout");
HS_STATIC_ASSERT(sizeof(struct hs_site_rec) == 56, "SITE layout");
HS_STATIC_ASSERT(sizeof(struct hs_end_rec) == 8, "END layout");
HS_STATIC_ASSERT(sizeof(struct hs_type_rec) == 40, "TYPE layout");
HS_STATIC_ASSERT(sizeof(struct hs_anat_rec) == 112, "ANAT layout");
HS_STATIC_ASSERT(sizeof(struct hs_shape_rec) == 24, "SHAP layout");
HS_STATIC_ASSERT(sizeof(struct hs_peak_hdr) == 24, "PEAK header layout");
HS_STATIC_ASSERT(sizeof(struct hs_peak_rec_disk) == 16, "PEAK layout");
HS_STATIC_ASSERT(sizeof(struct hs_time_hdr) == 16, "TIME header layout");
HS_STATIC_ASSERT(sizeof(struct hs_time_rec) == 88, "TIME layout");
HS_STATIC_ASSERT(sizeof(struct hs_estm_rec) == 32, "ESTM layout");
HS_STATIC_ASSERT(sizeof(struct hs_module_rec) == 24, "MODS layout");
HS_STATIC_ASSERT(sizeof(struct hs_elem_rec) == 232, "ELEM layout");
HS_STATIC_ASSERT(sizeof(struct hs_part_hdr) == 32, "PART header layout");

/* Padded size of a payload of n bytes. */
static inline uint64_t hs_pad8(uint64_t n) { return (n + 7u) & ~(uint64_t)7u; }

/* Bytes taken by one SITE entry with n frames, padding included. */
static inline uint64_t hs_site_rec_size(uint32_t n) {
  return hs_pad8(sizeof(struct hs_site_rec) + 4u * (uint64_t)n);
}

/* CRC-32 (IEEE, reflected, polynomial 0xEDB88320), incremental: start with crc = 0.
 * Slicing-by-8 over tables built on first use (8 KiB per translation unit; building them is
 * idempotent, so a race between two first callers writes the same values). About 0.5 ms for
 * a 500 KB snapshot on the development machine, against 2.4 ms for the nibble-table loop
 * used before. No allocation, no global state beyond the tables: safe inside the shim. */
static uint32_t hs_crc32_tab[8][256];
static int hs_crc32_ready;
static inline void hs_crc32_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    hs_crc32_tab[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      hs_crc32_tab[t][i] = (hs_crc32_tab[t - 1][i] >> 8) ^ hs_crc32_tab[0][hs_crc32_tab[t - 1][i] & 255u];
  __atomic_store_n(&hs_crc32_ready, 1, __ATOMIC_RELEASE);
}
static inline uint32_t hs_crc32(uint32_t crc, const void *data, size_t len) {
  if (!__atomic_load_n(&hs_crc32_ready, __ATOMIC_ACQUIRE)) hs_crc32_init();
  const uint32_t(*t)[256] = (const uint32_t(*)[256])hs_crc32_tab;
  const unsigned char *p = (const unsigned char *)data;
  crc = ~crc;
  while (len >= 8) {
    uint32_t a = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    uint32_t b = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
    crc = t[7][a & 255u] ^ t[6][(a >> 8) & 255u] ^ t[5][(a >> 16) & 255u] ^ t[4][a >> 24] ^
          t[3][b & 255u] ^ t[2][(b >> 8) & 255u] ^ t[1][(b >> 16) & 255u] ^ t[0][b >> 24];
    p += 8;
    len -= 8;
  }
  while (len--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 255u];
  return ~crc;
}

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_FORMAT_H */
