/* heapshape fuzzing: shared harness (see fuzz_harness.h). */
#include "tests/fuzz/fuzz_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/anatomy_report.h"
#include "analyzer/baseline.h"
#include "analyzer/check.h"
#include "analyzer/merge.h"
#include "analyzer/reader.h"
#include "analyzer/report.h"
#include "analyzer/snapshot_encode.h"
#include "analyzer/stats.h"
#include "analyzer/timeline.h"

#define HDR ((size_t)sizeof(struct hs_file_header))
#define SEC ((size_t)sizeof(struct hs_section_header))
#define END_LEN ((size_t)(sizeof(struct hs_section_header) + sizeof(struct hs_end_rec)))

void hs_fuzz_fix_crc(uint8_t *data, size_t len) {
  if (len < HDR + END_LEN) return;
  struct hs_section_header h;
  memcpy(&h, data + len - END_LEN, sizeof h);
  if (h.tag != HS_TAG_END || h.length != sizeof(struct hs_end_rec)) return;
  uint32_t crc = hs_crc32(0, data, len - END_LEN);
  memcpy(data + len - sizeof(struct hs_end_rec), &crc, 4);
}

int hs_fuzz_find_section(const uint8_t *data, size_t len, uint32_t tag, size_t *hdr_off,
                         uint64_t *payload_len) {
  size_t off = HDR;
  while (off + SEC <= len) {
    struct hs_section_header h;
    memcpy(&h, data + off, sizeof h);
    if (h.length > len) return -1;
    if (h.tag == tag) {
      if (off + SEC + h.length > len) return -1;
      *hdr_off = off;
      *payload_len = h.length;
      return 0;
    }
    if (h.tag == HS_TAG_END) return -1;
    off += SEC + hs_pad8(h.length);
  }
  return -1;
}

size_t hs_fuzz_mutate_section(uint8_t *data, size_t size, size_t max_size, unsigned seed,
                              uint32_t tag) {
  size_t at;
  uint64_t plen;
  /* one mutation in 16 on the whole file, so the layout around the section varies too */
  if (seed % 16 == 0 || hs_fuzz_find_section(data, size, tag, &at, &plen) != 0) {
    size_t n = LLVMFuzzerMutate(data, size, max_size);
    hs_fuzz_fix_crc(data, n);
    return n;
  }
  size_t start = at + SEC, old_padded = (size_t)hs_pad8(plen);
  size_t rest_at = start + old_padded; /* the sections after this one */
  size_t rest = size > rest_at ? size - rest_at : 0;
  if (max_size < start + rest + 8) return size;
  size_t cap = max_size - start - rest - 8; /* room for the payload (and its padding) */
  uint8_t *p = malloc(cap + 8 > plen ? cap + 8 : (size_t)plen);
  uint8_t *tail = malloc(rest ? rest : 1);
  if (!p || !tail) {
    free(p);
    free(tail);
    return size;
  }
  memcpy(p, data + start, (size_t)plen);
  memcpy(tail, data + rest_at, rest);
  size_t n = LLVMFuzzerMutate(p, (size_t)plen, cap > plen ? cap : (size_t)plen);
  if (n > cap) n = cap;
  uint64_t nlen = n;
  memcpy(data + at + 8, &nlen, 8);
  memcpy(data + start, p, n);
  size_t padded = (size_t)hs_pad8(n);
  memset(data + start + n, 0, padded - n);
  memcpy(data + start + padded, tail, rest);
  free(p);
  free(tail);
  size_t total = start + padded + rest;
  hs_fuzz_fix_crc(data, total);
  return total;
}

static FILE *devnull(void) {
  static FILE *f;
  if (!f) f = fopen("/dev/null", "w");
  if (!f) abort();
  return f;
}

static void stats_all(const struct hsa_snapshot *s, const struct hsa_options *opt, int full) {
  struct hsa_stats st;
  struct hsa_error err;
  if (hsa_stats_compute(s, opt, NULL, &st, &err) == 0) {
    hsa_report_text(devnull(), &st, 10);
    if (full) hsa_report_json(devnull(), &st, 0);
    hsa_stats_free(&st);
  }
  if (full && hsa_stats_diff(s, s, opt, NULL, &st, &err) == 0) {
    hsa_report_text(devnull(), &st, 0);
    hsa_report_json(devnull(), &st, 3);
    hsa_stats_free(&st);
  }
}

/* An encoded snapshot must read back. */
static void round_trip(const struct hsa_snapshot *s, const char *what) {
  unsigned char *data;
  size_t len;
  struct hsa_error err;
  if (hsa_snapshot_encode(s, &data, &len, &err) != 0) return; /* e.g. out of memory */
  struct hsa_snapshot back;
  if (hsa_snapshot_read_buffer(data, len, what, &back, &err) != 0) {
    fprintf(stderr, "fuzz: %s does not read back: %s\n", what, err.msg);
    abort();
  }
  hsa_snapshot_free(&back);
  free(data);
}

void hs_fuzz_consume(const struct hsa_snapshot *s, int full) {
  FILE *null = devnull();
  struct hsa_options opt;
  memset(&opt, 0, sizeof opt);
  const enum hsa_key keys[] = {HSA_KEY_LINENO, HSA_KEY_FILENAME, HSA_KEY_TRACEBACK, HSA_KEY_TYPE};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    opt.key = keys[k];
    opt.peak = 0;
    stats_all(s, &opt, full);
    opt.peak = 1;
    stats_all(s, &opt, full);
  }
  static const char *const inc[] = {"*.py", "<*"}, *const exc[] = {"*frozen*"};
  opt.key = HSA_KEY_LINENO;
  opt.peak = 0;
  opt.include = inc;
  opt.ninclude = 2;
  opt.exclude = exc;
  opt.nexclude = 1;
  opt.domain_mask = HSA_DOMAIN_BIT(HS_DOMAIN_OBJ) | HSA_DOMAIN_BIT(HS_DOMAIN_MALLOC);
  stats_all(s, &opt, full);

  struct hsa_error err;
  struct hsa_anatomy an;
  if (hsa_anatomy_compute(s, &opt, NULL, &an, &err) == 0) {
    hsa_anatomy_report_text(null, s, &an, 10);
    hsa_anatomy_free(&an);
  }
  memset(&opt, 0, sizeof opt);
  if (hsa_anatomy_compute(s, &opt, NULL, &an, &err) == 0) {
    hsa_anatomy_report_text(null, s, &an, 0);
    hsa_anatomy_report_json(null, s, &an, 0);
    hsa_anatomy_free(&an);
  }
  struct hsa_size sizes[HSA_NSIZES];
  if (hsa_size_model(s, sizes, &err) == 0) {
    hsa_sizes_report(null, s, sizes, 0);
    hsa_sizes_report(null, s, sizes, 1);
  }
  hsa_timeline_report_text(null, s, NULL, 40, &err);
  hsa_timeline_report_text(null, s, NULL, 1, &err);
  hsa_timeline_report_json(null, s, NULL, &err);
  hsa_report_info(null, s);
  if (!full) return;

  struct hsa_check_limits lim;
  memset(&lim, 0, sizeof lim);
  lim.has_pct = lim.has_bytes = lim.has_total = lim.has_peak = lim.peak_is_pct = 1;
  lim.has_site = 1;
  lim.pct = 10;
  lim.bytes = 1024;
  lim.total = 1e6;
  lim.peak = 5;
  lim.site_pct = 1;
  lim.site_floor = 0;
  strcpy(lim.pct_text, "10%");
  strcpy(lim.bytes_text, "1K");
  strcpy(lim.total_text, "1M");
  strcpy(lim.peak_text, "5%");
  strcpy(lim.site_text, "1%");
  struct hsa_check_result cr;
  if (hsa_check_evaluate(s, s, HSA_KEY_LINENO, &lim, NULL, &cr, &err) == 0) {
    hsa_check_report_text(null, &cr);
    hsa_check_report_markdown(null, &cr);
    hsa_check_report_junit(null, &cr);
    hsa_check_report_json(null, &cr);
    hsa_check_result_free(&cr);
  }
  hsa_baseline_write(null, s, HSA_KEY_LINENO, NULL, &err);
  hsa_baseline_write(null, s, HSA_KEY_FILENAME, NULL, &err);

  round_trip(s, "the re-encoded snapshot");
  const struct hsa_snapshot *two[] = {s, s, s};
  struct hsa_snapshot merged;
  if (hsa_merge(two, 3, HSA_MERGE_MEDIAN, NULL, &merged, &err) == 0) {
    round_trip(&merged, "the median of three copies");
    hsa_snapshot_free(&merged);
  }
  if (hsa_merge(two, 2, HSA_MERGE_SUM, NULL, &merged, &err) == 0) {
    round_trip(&merged, "the sum of two copies");
    hsa_snapshot_free(&merged);
  }
}

void hs_fuzz_consume_section(const struct hsa_snapshot *s, uint32_t tag) {
  FILE *null = devnull();
  struct hsa_options opt;
  struct hsa_error err;
  struct hsa_stats st;
  memset(&opt, 0, sizeof opt);
  switch (tag) {
    case HS_TAG_META:
    case HS_TAG_MODS:
      hsa_report_info(null, s);
      opt.key = HSA_KEY_TRACEBACK;
      break;
    case HS_TAG_STRS:
    case HS_TAG_FRMS:
      opt.key = HSA_KEY_TRACEBACK;
      break;
    case HS_TAG_SITE:
    case HS_TAG_ESTM:
      opt.key = HSA_KEY_LINENO;
      break;
    case HS_TAG_PEAK:
      opt.key = HSA_KEY_FILENAME;
      opt.peak = 1;
      break;
    case HS_TAG_TIME:
      hsa_timeline_report_text(null, s, NULL, 40, &err);
      hsa_timeline_report_json(null, s, NULL, &err);
      return;
    case HS_TAG_PART: /* which sites a partial snapshot holds: info, stats, and back to bytes */
      hsa_report_info(null, s);
      round_trip(s, "the re-encoded snapshot");
      opt.key = HSA_KEY_LINENO;
      break;
    default: { /* TYPE, ANAT, SHAP */
      struct hsa_anatomy an;
      if (hsa_anatomy_compute(s, &opt, NULL, &an, &err) == 0) {
        hsa_anatomy_report_text(null, s, &an, 0);
        hsa_anatomy_free(&an);
      }
      struct hsa_size sizes[HSA_NSIZES];
      if (hsa_size_model(s, sizes, &err) == 0) hsa_sizes_report(null, s, sizes, 0);
      opt.key = HSA_KEY_TYPE;
    }
  }
  if (hsa_stats_compute(s, &opt, NULL, &st, &err) == 0) {
    hsa_report_text(null, &st, 0);
    hsa_stats_free(&st);
  }
}

void hs_fuzz_read_and_consume(const uint8_t *data, size_t size, int full) {
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return;
  memcpy(copy, data, size);
  hs_fuzz_fix_crc(copy, size);
  struct hsa_snapshot s;
  struct hsa_error err;
  err.msg[0] = '\0';
  if (hsa_snapshot_read_buffer(copy, size, "fuzz.hsnap", &s, &err) == 0) {
    if (full >= 0) hs_fuzz_consume(&s, full);
    else hs_fuzz_consume_section(&s, (uint32_t)-full);
    hsa_snapshot_free(&s);
  } else if (strncmp(err.msg, "fuzz.hsnap: ", 12) != 0) {
    fprintf(stderr, "fuzz: a failed read must name the file: \"%s\"\n", err.msg);
    abort();
  }
  free(copy);
}
