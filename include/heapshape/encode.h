/* heapshape snapshot format: record encoding shared by the two writers, the shim's streamed
 * writer (preload/snapshot_write.c: a 64 KiB window into the file, no allocation) and the
 * analyzer's in-memory encoder (analyzer/snapshot_encode.c: tests, fixtures, `merge`). Each
 * writer gives a sink (where bytes go); the layouts come from format.h, the specification is
 * docs/snapshot-format.md. Header-only, no allocation, no stdio: safe inside the shim.
 *
 * Padding: a section's payload length excludes the zero bytes that pad it to a multiple of 8,
 * so the writer pads after the payload (hs_enc_pad8 with the bytes written so far); records
 * that are padded inside a payload (SITE, SHAP, ELEM entries) are padded here. */
#ifndef HEAPSHAPE_ENCODE_H
#define HEAPSHAPE_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "heapshape/format.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hs_sink {
  void (*put)(void *ctx, const void *p, size_t n);
  void *ctx;
};

static inline void hs_enc_put(const struct hs_sink *k, const void *p, size_t n) {
  if (n) k->put(k->ctx, p, n);
}

/* Zero bytes that take a stream of `written` bytes to a multiple of 8. */
static inline void hs_enc_pad8(const struct hs_sink *k, uint64_t written) {
  static const char zeros[8] = {0};
  hs_enc_put(k, zeros, (size_t)(hs_pad8(written) - written));
}

/* The 32-byte file header of a snapshot in format `version`. */
static inline void hs_enc_file_header(const struct hs_sink *k, uint32_t version) {
  struct hs_file_header fh;
  memset(&fh, 0, sizeof fh);
  memcpy(fh.magic, HS_MAGIC, HS_MAGIC_LEN);
  fh.version = version;
  fh.bom = HS_BOM;
  fh.header_size = sizeof fh;
  hs_enc_put(k, &fh, sizeof fh);
}

static inline void hs_enc_section(const struct hs_sink *k, uint32_t tag, uint64_t len) {
  struct hs_section_header h = {tag, 0, len};
  hs_enc_put(k, &h, sizeof h);
}

/* The `u32 count` and 4 zero bytes that start a counted section (FRMS, SITE, TYPE, ...). */
static inline void hs_enc_count(const struct hs_sink *k, uint32_t n) {
  uint32_t v[2] = {n, 0};
  hs_enc_put(k, v, sizeof v);
}

/* One SITE entry: r's domain, frame count and counters (its reserved fields are written as
 * 0), then r->nframes frame ids, then the padding to a multiple of 8 (hs_site_rec_size). */
static inline void hs_enc_site(const struct hs_sink *k, const struct hs_site_rec *r,
                               const uint32_t *frames) {
  struct hs_site_rec c = *r;
  c.reserved0 = 0;
  c.reserved1 = 0;
  hs_enc_put(k, &c, sizeof c);
  hs_enc_put(k, frames, 4u * (size_t)c.nframes);
  hs_enc_pad8(k, sizeof c + 4u * (uint64_t)c.nframes);
}

/* Payload length of a PART section with `count` site ids (padding excluded). */
static inline uint64_t hs_part_len(uint32_t count) {
  return sizeof(struct hs_part_hdr) + 4u * (uint64_t)count;
}

/* A whole PART section (v6): its section header, h (reserved written as 0; h->count ids
 * follow) and the site ids, without the padding that follows the payload. */
static inline void hs_enc_part(const struct hs_sink *k, const struct hs_part_hdr *h,
                               const uint32_t *ids) {
  struct hs_part_hdr c = *h;
  c.reserved = 0;
  hs_enc_section(k, HS_TAG_PART, hs_part_len(c.count));
  hs_enc_put(k, &c, sizeof c);
  hs_enc_put(k, ids, 4u * (size_t)c.count);
}

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_ENCODE_H */
