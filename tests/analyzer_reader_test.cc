// Tests for analyzer/reader.c and analyzer/snapshot_encode.c: writer -> reader round trips and
// every rejection the reader makes, with the message it makes it with.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "analyzer/merge.h"
#include "analyzer/reader.h"
#include "analyzer/snapshot.h"
#include "analyzer/snapshot_encode.h"
#include "analyzer/testdata/fixture.h"

namespace {

std::vector<unsigned char> Encode(const hsa_snapshot &s) {
  unsigned char *data = nullptr;
  size_t len = 0;
  hsa_error err;
  EXPECT_EQ(hsa_snapshot_encode(&s, &data, &len, &err), 0) << err.msg;
  std::vector<unsigned char> out(data, data + len);
  free(data);
  return out;
}

std::vector<unsigned char> FixtureBytes(int which = 0, bool anatomy = false) {
  hsa_snapshot s;
  hsa_error err;
  EXPECT_EQ(hsa_fixture_build(which, &s, &err), 0) << err.msg;
  if (anatomy) {
    EXPECT_EQ(hsa_fixture_add_anatomy(&s, &err), 0) << err.msg;
  }
  std::vector<unsigned char> out = Encode(s);
  hsa_snapshot_free(&s);
  return out;
}

// Reads bytes; returns the error message ("" on success).
std::string ReadError(const std::vector<unsigned char> &bytes) {
  hsa_snapshot s;
  hsa_error err;
  err.msg[0] = '\0';
  int rc = hsa_snapshot_read_buffer(bytes.data(), bytes.size(), "snap.hsnap", &s, &err);
  if (rc == 0) {
    hsa_snapshot_free(&s);
    return "";
  }
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(s.nsites, 0u);  // left empty on failure
  return err.msg;
}

// Rewrites the END CRC after a deliberate change, so the change itself is what gets reported.
void FixCrc(std::vector<unsigned char> &b) {
  uint32_t crc = hs_crc32(0, b.data(), b.size() - 24);
  memcpy(b.data() + b.size() - 8, &crc, 4);
}

void ExpectSameSnapshot(const hsa_snapshot &a, const hsa_snapshot &b) {
  EXPECT_EQ(memcmp(&a.meta, &b.meta, sizeof a.meta), 0);
  ASSERT_EQ(a.nstrings, b.nstrings);
  for (uint32_t i = 0; i < a.nstrings; i++) EXPECT_STREQ(a.strings[i], b.strings[i]);
  ASSERT_EQ(a.nframes, b.nframes);
  EXPECT_EQ(memcmp(a.frames, b.frames, sizeof *a.frames * a.nframes), 0);
  ASSERT_EQ(a.nsites, b.nsites);
  for (uint32_t i = 0; i < a.nsites; i++) {
    const hsa_site &x = a.sites[i], &y = b.sites[i];
    EXPECT_EQ(x.domain, y.domain);
    ASSERT_EQ(x.nframes, y.nframes);
    EXPECT_EQ(x.allocs, y.allocs);
    EXPECT_EQ(x.frees, y.frees);
    EXPECT_EQ(x.alloc_bytes, y.alloc_bytes);
    EXPECT_EQ(x.live_count, y.live_count);
    EXPECT_EQ(x.live_bytes, y.live_bytes);
    EXPECT_EQ(x.peak_live_bytes, y.peak_live_bytes);
    EXPECT_EQ(memcmp(x.frames, y.frames, 4u * x.nframes), 0);
  }
  ASSERT_EQ(a.ntypes, b.ntypes);
  if (a.ntypes) {
    EXPECT_EQ(memcmp(a.types, b.types, sizeof *a.types * a.ntypes), 0);
  }
  ASSERT_EQ(a.nrows, b.nrows);
  if (a.nrows) {
    EXPECT_EQ(memcmp(a.rows, b.rows, sizeof *a.rows * a.nrows), 0);
  }
  ASSERT_EQ(a.nmodules, b.nmodules);
  if (a.nmodules) {
    EXPECT_EQ(memcmp(a.modules, b.modules, sizeof *a.modules * a.nmodules), 0);
  }
  ASSERT_EQ(a.nshapes, b.nshapes);
  for (uint32_t i = 0; i < a.nshapes; i++) {
    const hsa_shape &x = a.shapes[i], &y = b.shapes[i];
    EXPECT_EQ(x.row, y.row);
    EXPECT_EQ(x.count, y.count);
    EXPECT_EQ(x.samples, y.samples);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.length, y.length);
    ASSERT_EQ(x.nfields, y.nfields);
    if (x.nfields) {
      EXPECT_EQ(memcmp(x.fields, y.fields, sizeof *x.fields * x.nfields), 0);
    }
  }
}

// Finds the offset of the section with tag t (4 chars) in an encoded snapshot; 0 if none.
size_t SectionAt(const std::vector<unsigned char> &b, const char *t) {
  size_t off = 32;
  while (off + 16 <= b.size()) {
    if (memcmp(b.data() + off, t, 4) == 0) return off;
    uint64_t len;
    memcpy(&len, b.data() + off + 8, 8);
    off += 16 + hs_pad8(len);
  }
  return 0;
}

// The format's checksum is CRC-32/IEEE: the standard check value, and chaining over any split
// (the shim computes it over its output window by window).
TEST(Crc32Test, CheckValueAndChaining) {
  const char *check = "123456789";
  EXPECT_EQ(hs_crc32(0, check, 9), 0xCBF43926u);
  EXPECT_EQ(hs_crc32(0, check, 0), 0u);
  std::vector<unsigned char> b(1000);
  uint32_t x = 12345;
  for (auto &c : b) c = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
  // bitwise reference
  auto ref = [&](size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
      c ^= b[i];
      for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
  };
  for (size_t n = 0; n <= b.size(); n += 37) {
    uint32_t whole = hs_crc32(0, b.data(), n);
    EXPECT_EQ(whole, ref(n)) << n;
    size_t cut = n / 3;
    EXPECT_EQ(hs_crc32(hs_crc32(0, b.data(), cut), b.data() + cut, n - cut), whole) << n;
  }
}

TEST(ReaderTest, RoundTripFixture) {
  for (int which = 0; which < 2; which++) {
    hsa_snapshot built, read;
    hsa_error err;
    ASSERT_EQ(hsa_fixture_build(which, &built, &err), 0) << err.msg;
    std::vector<unsigned char> bytes = Encode(built);
    ASSERT_EQ(bytes.size() % 8, 0u);
    ASSERT_EQ(hsa_snapshot_read_buffer(bytes.data(), bytes.size(), "x.hsnap", &read, &err), 0)
        << err.msg;
    EXPECT_EQ(read.version, 6u);
    EXPECT_FALSE(hsa_snapshot_has_anatomy(&read));  // sections present, but empty
    EXPECT_FALSE(hsa_snapshot_has_peak(&read));
    EXPECT_FALSE(hsa_snapshot_is_sampled(&read));
    EXPECT_STREQ(read.path, "x.hsnap");
    EXPECT_STREQ(hsa_snapshot_string(&read, read.meta.program_sid), "main");
    ExpectSameSnapshot(built, read);
    // Re-encoding what was read gives the same bytes.
    EXPECT_EQ(Encode(read), bytes);
    hsa_snapshot_free(&built);
    hsa_snapshot_free(&read);
  }
}

TEST(ReaderTest, RoundTripThroughFile) {
  hsa_snapshot built, read;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &built, &err), 0) << err.msg;
  std::string path = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") +
                     "/roundtrip.hsnap";
  ASSERT_EQ(hsa_snapshot_write_file(&built, path.c_str(), &err), 0) << err.msg;
  ASSERT_EQ(hsa_snapshot_read_file(path.c_str(), &read, &err), 0) << err.msg;
  ExpectSameSnapshot(built, read);
  hsa_snapshot_free(&built);
  hsa_snapshot_free(&read);
}

// The example of docs/snapshot-format.md: one live 100-byte block at /tmp/prog+0x1151.
TEST(ReaderTest, DocumentExampleLayout) {
  hsa_snapshot s;
  hsa_error err;
  hsa_snapshot_init(&s);
  uint32_t sid, fid;
  ASSERT_EQ(hsa_snapshot_add_string(&s, "", &sid, &err), 0);
  ASSERT_EQ(hsa_snapshot_set_program(&s, "prog", "/tmp/prog", &err), 0);
  ASSERT_EQ(hsa_snapshot_add_frame(&s, HS_FRAME_NATIVE, 0, "/tmp/prog", "", 0x1151, &fid, &err), 0);
  hsa_site site{};
  site.domain = HS_DOMAIN_MALLOC;
  site.nframes = 1;
  site.allocs = 1;
  site.alloc_bytes = site.live_bytes = site.peak_live_bytes = 100;
  site.live_count = 1;
  site.frames = &fid;
  ASSERT_EQ(hsa_snapshot_add_site(&s, &site, &err), 0);
  s.meta.live_bytes = 100;
  s.meta.live_count = 1;
  s.meta.reason = HS_REASON_EXIT;
  std::vector<unsigned char> b = Encode(s);
  // header 32 + META 16+128 + STRS 16+pad8(4+4+8+13=29 -> 32) + FRMS 16+8+24
  // + SITE 16+8+64 + TYPE, ANAT, SHAP 3 x (16+8) (v2, empty)
  // + PEAK 16+24, TIME 16+16, ESTM 16+8 (v3, empty) + MODS 16+8 (v4, empty)
  // + ELEM 16+8 (v5, empty) + PART 16+32 (v6, full) + END 16+8
  ASSERT_EQ(b.size(), 32u + 144 + 48 + 48 + 88 + 72 + 40 + 32 + 24 + 24 + 24 + 48 + 24);
  EXPECT_EQ(memcmp(b.data(), "HSNAP\0\r\n", 8), 0);
  EXPECT_EQ(memcmp(b.data() + 32, "META", 4), 0);
  EXPECT_EQ(memcmp(b.data() + 176, "STRS", 4), 0);
  EXPECT_EQ(memcmp(b.data() + b.size() - 24, "END ", 4), 0);
  // "" is deduplicated: strings are "", "prog", "/tmp/prog".
  EXPECT_EQ(s.nstrings, 3u);
  EXPECT_EQ(ReadError(b), "");
  hsa_snapshot_free(&s);
}

TEST(ReaderTest, EmptySnapshotRoundTrips) {
  hsa_snapshot s, r;
  hsa_error err;
  hsa_snapshot_init(&s);
  uint32_t sid;
  ASSERT_EQ(hsa_snapshot_add_string(&s, "", &sid, &err), 0);
  std::vector<unsigned char> b = Encode(s);
  ASSERT_EQ(hsa_snapshot_read_buffer(b.data(), b.size(), "e.hsnap", &r, &err), 0) << err.msg;
  EXPECT_EQ(r.nsites, 0u);
  EXPECT_EQ(r.nframes, 0u);
  hsa_snapshot_free(&s);
  hsa_snapshot_free(&r);
}

TEST(ReaderTest, RejectsForeignFile) {
  std::vector<unsigned char> b = {'\x7f', 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0};
  b.resize(200);
  std::string e = ReadError(b);
  EXPECT_EQ(e.rfind("snap.hsnap: not a heapshape snapshot", 0), 0u) << e;
  EXPECT_EQ(ReadError({}).rfind("snap.hsnap: not a heapshape snapshot (the file is empty)", 0), 0u);
}

TEST(ReaderTest, RejectsVersion7) {
  std::vector<unsigned char> b = FixtureBytes();
  b[8] = 7;
  FixCrc(b);
  std::string e = ReadError(b);
  EXPECT_EQ(e.rfind("snap.hsnap: snapshot format version 7; this heapshape reads versions 1 to 6",
                    0),
            0u)
      << e;
  b[8] = 0;  // version 0 is refused the same way
  EXPECT_NE(ReadError(b).find("snapshot format version 0;"), std::string::npos);
}

// The PART payload of an encoded snapshot: kind, count, process sites, mark, mark time, ids.
struct PartOnDisk {
  uint32_t kind, count, process_sites, mark;
  uint64_t mark_time_ns;
  std::vector<uint32_t> ids;
};
PartOnDisk ReadPart(const std::vector<unsigned char> &b) {
  PartOnDisk p{};
  size_t at = SectionAt(b, "PART");
  EXPECT_NE(at, 0u);
  if (!at) return p;
  uint64_t len;
  memcpy(&len, b.data() + at + 8, 8);
  const unsigned char *d = b.data() + at + 16;
  memcpy(&p.kind, d, 4);
  memcpy(&p.count, d + 4, 4);
  memcpy(&p.process_sites, d + 8, 4);
  memcpy(&p.mark, d + 12, 4);
  memcpy(&p.mark_time_ns, d + 16, 8);
  EXPECT_EQ(len, 32u + 4u * p.count);
  p.ids.resize(p.count);
  if (p.count) memcpy(p.ids.data(), d + 32, 4u * p.count);
  return p;
}

// Format v6: every snapshot ends with PART before END. A full one says kind 0 and its site
// count; a partial one lists each site's process id, and reads back with them.
TEST(ReaderTest, PartFullAndPartialRoundTrip) {
  hsa_snapshot built, read;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &built, &err), 0) << err.msg;
  ASSERT_EQ(built.nsites, 9u);
  std::vector<unsigned char> full = Encode(built);
  size_t part = SectionAt(full, "PART");
  ASSERT_NE(part, 0u);
  EXPECT_GT(part, SectionAt(full, "ELEM"));
  EXPECT_EQ(part + 16 + 32, full.size() - 24);  // then END
  PartOnDisk p = ReadPart(full);
  EXPECT_EQ(p.kind, 0u);
  EXPECT_EQ(p.count, 0u);
  EXPECT_EQ(p.process_sites, 9u);
  EXPECT_EQ(p.mark, 0u);
  ASSERT_EQ(hsa_snapshot_read_buffer(full.data(), full.size(), "f.hsnap", &read, &err), 0)
      << err.msg;
  EXPECT_FALSE(hsa_snapshot_is_partial(&read));
  EXPECT_EQ(read.part_site_ids, nullptr);
  hsa_snapshot_free(&read);

  const uint32_t ids[9] = {2, 3, 5, 8, 13, 21, 34, 55, 89};
  ASSERT_EQ(hsa_snapshot_set_part(&built, HS_PART_SINCE, ids, 9, 100, 7, 123456789, &err), 0)
      << err.msg;
  std::vector<unsigned char> bytes = Encode(built);
  p = ReadPart(bytes);
  EXPECT_EQ(p.kind, 1u);
  EXPECT_EQ(p.count, 9u);
  EXPECT_EQ(p.process_sites, 100u);
  EXPECT_EQ(p.mark, 7u);
  EXPECT_EQ(p.mark_time_ns, 123456789u);
  EXPECT_EQ(p.ids, std::vector<uint32_t>(ids, ids + 9));
  EXPECT_EQ(bytes.size() % 8, 0u);  // 9 ids: 4 bytes of padding
  ASSERT_EQ(hsa_snapshot_read_buffer(bytes.data(), bytes.size(), "p.hsnap", &read, &err), 0)
      << err.msg;
  EXPECT_TRUE(hsa_snapshot_is_partial(&read));
  EXPECT_EQ(read.part.kind, (uint32_t)HS_PART_SINCE);
  EXPECT_EQ(read.part.mark, 7u);
  ASSERT_NE(read.part_site_ids, nullptr);
  for (int i = 0; i < 9; i++) EXPECT_EQ(read.part_site_ids[i], ids[i]);
  ExpectSameSnapshot(built, read);
  EXPECT_EQ(Encode(read), bytes);
  EXPECT_NE(std::string(hsa_snapshot_no_anatomy_reason(&read)).find("partial per-test snapshot"),
            std::string::npos);
  // merge refuses it, naming it
  const hsa_snapshot *in[1] = {&read};
  hsa_snapshot merged;
  EXPECT_EQ(hsa_merge(in, 1, HSA_MERGE_SUM, nullptr, &merged, &err), -1);
  EXPECT_NE(std::string(err.msg).find("p.hsnap: is a partial per-test snapshot"),
            std::string::npos)
      << err.msg;
  hsa_snapshot_free(&read);
  // a partial snapshot cannot be written in a format without PART
  unsigned char *data = nullptr;
  size_t len = 0;
  EXPECT_EQ(hsa_snapshot_encode_version(&built, 5, &data, &len, &err), -1);
  EXPECT_NE(std::string(err.msg).find("PART is new in 6"), std::string::npos) << err.msg;
  // the builder checks the ids
  const uint32_t bad[9] = {2, 3, 3, 8, 13, 21, 34, 55, 89};
  EXPECT_EQ(hsa_snapshot_set_part(&built, HS_PART_SINCE, bad, 9, 100, 7, 0, &err), -1);
  EXPECT_EQ(hsa_snapshot_set_part(&built, HS_PART_SINCE, ids, 9, 89, 7, 0, &err), -1);
  EXPECT_EQ(hsa_snapshot_set_part(&built, HS_PART_SINCE, ids, 8, 100, 7, 0, &err), -1);
  hsa_snapshot_free(&built);
}

// A version-5 file (no PART) reads as a full snapshot of all its sites.
TEST(ReaderTest, ReadsVersion5AsFull) {
  hsa_snapshot built, read;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &built, &err), 0) << err.msg;
  unsigned char *data = nullptr;
  size_t len = 0;
  ASSERT_EQ(hsa_snapshot_encode_version(&built, 5, &data, &len, &err), 0) << err.msg;
  std::vector<unsigned char> v5(data, data + len);
  free(data);
  EXPECT_EQ(SectionAt(v5, "PART"), 0u);
  ASSERT_EQ(hsa_snapshot_read_buffer(v5.data(), v5.size(), "v5.hsnap", &read, &err), 0) << err.msg;
  EXPECT_EQ(read.version, 5u);
  EXPECT_FALSE(hsa_snapshot_is_partial(&read));
  EXPECT_EQ(read.part.process_sites, 9u);
  ExpectSameSnapshot(built, read);
  hsa_snapshot_free(&read);
  hsa_snapshot_free(&built);
}

// Every way a PART section can be wrong, with its message.
TEST(ReaderTest, RejectsBadPart) {
  hsa_snapshot built;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &built, &err), 0) << err.msg;
  const uint32_t ids[9] = {0, 1, 2, 4, 6, 7, 9, 10, 11};
  ASSERT_EQ(hsa_snapshot_set_part(&built, HS_PART_AT_MARK, ids, 9, 12, 3, 5, &err), 0) << err.msg;
  const std::vector<unsigned char> good = Encode(built);
  ASSERT_EQ(ReadError(good), "");
  const size_t at = SectionAt(good, "PART") + 16;
  auto patched = [&](size_t off, uint32_t v) {
    std::vector<unsigned char> b = good;
    memcpy(b.data() + at + off, &v, 4);
    FixCrc(b);
    return ReadError(b);
  };
  std::string e = patched(0, 3);  // kind
  EXPECT_NE(e.find("section PART has kind 3"), std::string::npos) << e;
  e = patched(4, 8);  // count != bytes
  EXPECT_NE(e.find("section PART claims 8 site ids (32 bytes) but holds 36 bytes"),
            std::string::npos)
      << e;
  e = patched(8, 8);  // fewer process sites than SITE holds
  EXPECT_NE(e.find("partial snapshot (kind 2, mark 3) of 9 sites out of the process's 8"),
            std::string::npos)
      << e;
  e = patched(12, 0);  // mark 0
  EXPECT_NE(e.find("(kind 2, mark 0)"), std::string::npos) << e;
  e = patched(32 + 4 * 3, 2);  // not increasing
  EXPECT_NE(e.find("PART gives site 3 the process site id 2, which is not above the previous"),
            std::string::npos)
      << e;
  e = patched(32 + 4 * 8, 12);  // beyond the process's sites
  EXPECT_NE(e.find("process site id 12, which is beyond the process's site count"),
            std::string::npos)
      << e;
  // a full PART whose site count disagrees with SITE
  ASSERT_EQ(hsa_snapshot_set_part(&built, HS_PART_FULL, nullptr, 0, 0, 0, 0, &err), 0);
  std::vector<unsigned char> full = Encode(built);
  size_t fat = SectionAt(full, "PART") + 16;
  uint32_t v = 10;
  memcpy(full.data() + fat + 8, &v, 4);
  FixCrc(full);
  e = ReadError(full);
  EXPECT_NE(e.find("section PART says a full snapshot of 10 sites"), std::string::npos) << e;
  // truncated inside PART, at every length
  for (size_t cut = SectionAt(good, "PART"); cut < good.size(); cut += 4) {
    std::vector<unsigned char> b(good.begin(), good.begin() + (long)cut);
    EXPECT_NE(ReadError(b), "") << cut;
  }
  hsa_snapshot_free(&built);
}

TEST(ReaderTest, RoundTripAnatomy) {
  hsa_snapshot built, read;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &built, &err), 0) << err.msg;
  ASSERT_EQ(hsa_fixture_add_anatomy(&built, &err), 0) << err.msg;
  std::vector<unsigned char> bytes = Encode(built);
  ASSERT_EQ(bytes.size() % 8, 0u);
  ASSERT_NE(SectionAt(bytes, "TYPE"), 0u);
  ASSERT_LT(SectionAt(bytes, "SITE"), SectionAt(bytes, "TYPE"));
  ASSERT_LT(SectionAt(bytes, "TYPE"), SectionAt(bytes, "ANAT"));
  ASSERT_LT(SectionAt(bytes, "ANAT"), SectionAt(bytes, "SHAP"));
  ASSERT_LT(SectionAt(bytes, "SHAP"), SectionAt(bytes, "END "));
  ASSERT_EQ(hsa_snapshot_read_buffer(bytes.data(), bytes.size(), "a.hsnap", &read, &err), 0)
      << err.msg;
  EXPECT_EQ(read.version, 6u);
  EXPECT_TRUE(hsa_snapshot_has_anatomy(&read));
  EXPECT_EQ(read.ntypes, 7u);
  EXPECT_EQ(read.nrows, 5u);
  EXPECT_EQ(read.nshapes, 4u);
  EXPECT_STREQ(hsa_snapshot_type_name(&read, read.rows[0].type), "dict");
  EXPECT_STREQ(hsa_snapshot_type_name(&read, read.rows[2].type), "<no type>");
  EXPECT_EQ(read.meta.gc_head_size, 16u);
  EXPECT_EQ(read.meta.str_ascii_size, 48u);
  ExpectSameSnapshot(built, read);
  EXPECT_EQ(Encode(read), bytes);
  hsa_snapshot_free(&built);
  hsa_snapshot_free(&read);
}

// Format v5: ELEM (container contents per shape) round-trips; a v4 file has none and reads
// with has_elem 0; an ELEM record naming a shape that is not there is refused.
TEST(ReaderTest, RoundTripElemAndReadsVersion4WithoutIt) {
  hsa_snapshot built, read;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &built, &err), 0) << err.msg;
  ASSERT_EQ(hsa_fixture_add_anatomy(&built, &err), 0) << err.msg;
  ASSERT_GE(built.nshapes, 1u);
  hsa_shape *sh = &built.shapes[0];
  sh->has_elem = 1;
  sh->maxlen = static_cast<uint32_t *>(calloc(sh->nfields ? sh->nfields : 1, 4));
  for (uint16_t k = 0; k < sh->nfields; k++) sh->maxlen[k] = 10 + k;
  sh->elem.flags = HS_ELEM_COMPLETE;
  sh->elem.items_site = 0;
  sh->elem.containers = 3;
  sh->elem.values[HS_EK_FLOAT] = 300000;
  sh->elem.keys[HS_EK_INT] = 7;
  sh->elem.inner_min = 6;
  sh->elem.inner_max = 6;
  sh->elem.inner[HS_EK_INT] = 12;
  std::vector<unsigned char> bytes = Encode(built);
  ASSERT_NE(SectionAt(bytes, "ELEM"), 0u);
  ASSERT_LT(SectionAt(bytes, "MODS"), SectionAt(bytes, "ELEM"));
  ASSERT_EQ(hsa_snapshot_read_buffer(bytes.data(), bytes.size(), "e.hsnap", &read, &err), 0)
      << err.msg;
  ASSERT_TRUE(read.shapes[0].has_elem);
  EXPECT_EQ(read.shapes[0].elem.values[HS_EK_FLOAT], 300000u);
  EXPECT_EQ(read.shapes[0].elem.keys[HS_EK_INT], 7u);
  EXPECT_EQ(read.shapes[0].elem.inner_max, 6u);
  EXPECT_EQ(read.shapes[0].elem.containers, 3u);
  for (uint16_t k = 0; k < sh->nfields; k++) EXPECT_EQ(read.shapes[0].maxlen[k], 10u + k);
  for (uint32_t i = 1; i < read.nshapes; i++) EXPECT_FALSE(read.shapes[i].has_elem);
  EXPECT_EQ(Encode(read), bytes);
  hsa_snapshot_free(&read);
  unsigned char *data = nullptr;
  size_t len = 0;
  ASSERT_EQ(hsa_snapshot_encode_version(&built, 4, &data, &len, &err), 0) << err.msg;
  std::vector<unsigned char> v4(data, data + len);
  free(data);
  EXPECT_EQ(SectionAt(v4, "ELEM"), 0u);
  ASSERT_EQ(hsa_snapshot_read_buffer(v4.data(), v4.size(), "v4.hsnap", &read, &err), 0) << err.msg;
  EXPECT_EQ(read.version, 4u);
  EXPECT_EQ(read.nshapes, built.nshapes);
  for (uint32_t i = 0; i < read.nshapes; i++) EXPECT_FALSE(read.shapes[i].has_elem);
  hsa_snapshot_free(&read);
  // an ELEM record for a shape that does not exist
  size_t at = SectionAt(bytes, "ELEM");
  bytes[at + 16 + 8] = 0xEE;  // the first record's shape index
  FixCrc(bytes);
  std::string e = ReadError(bytes);
  EXPECT_NE(e.find("ELEM record 0 refers to shape"), std::string::npos) << e;
  hsa_snapshot_free(&built);
}

// A version-1 file (no TYPE/ANAT/SHAP, META bytes 104.. reserved) reads as v2 without anatomy.
TEST(ReaderTest, ReadsVersion1WithoutAnatomy) {
  hsa_snapshot built, read;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &built, &err), 0) << err.msg;
  ASSERT_EQ(hsa_fixture_add_anatomy(&built, &err), 0) << err.msg;
  unsigned char *data = nullptr;
  size_t len = 0;
  ASSERT_EQ(hsa_snapshot_encode_version(&built, 1, &data, &len, &err), 0) << err.msg;
  std::vector<unsigned char> v1(data, data + len);
  free(data);
  EXPECT_EQ(v1[8], 1);
  EXPECT_EQ(SectionAt(v1, "TYPE"), 0u);
  ASSERT_EQ(hsa_snapshot_read_buffer(v1.data(), v1.size(), "v1.hsnap", &read, &err), 0) << err.msg;
  EXPECT_EQ(read.version, 1u);
  EXPECT_FALSE(hsa_snapshot_has_anatomy(&read));
  EXPECT_EQ(read.ntypes + read.nrows + read.nshapes, 0u);
  EXPECT_EQ(read.meta.flags2, 0u);
  EXPECT_EQ(read.meta.gc_head_size, 0u);
  EXPECT_EQ(read.nsites, built.nsites);
  EXPECT_NE(std::string(hsa_snapshot_no_anatomy_reason(&read)).find("format-version-1"),
            std::string::npos);
  hsa_snapshot_free(&read);
  // v1 with nonzero bytes in META's (then reserved) tail: ignored, still no anatomy
  size_t meta = SectionAt(v1, "META");
  v1[meta + 16 + 112] = 1;  // where v2 keeps flags2
  FixCrc(v1);
  ASSERT_EQ(hsa_snapshot_read_buffer(v1.data(), v1.size(), "v1.hsnap", &read, &err), 0) << err.msg;
  EXPECT_FALSE(hsa_snapshot_has_anatomy(&read));
  hsa_snapshot_free(&read);
  // Versions this writer cannot produce are refused.
  EXPECT_EQ(hsa_snapshot_encode_version(&built, 7, &data, &len, &err), -1);
  hsa_snapshot_free(&built);
}

// A v2 file must have the anatomy sections, in order.
TEST(ReaderTest, RejectsV2WithoutAnatomySections) {
  hsa_snapshot built;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &built, &err), 0) << err.msg;
  unsigned char *data = nullptr;
  size_t len = 0;
  ASSERT_EQ(hsa_snapshot_encode_version(&built, 1, &data, &len, &err), 0) << err.msg;
  std::vector<unsigned char> b(data, data + len);
  free(data);
  b[8] = 2;
  FixCrc(b);
  std::string e = ReadError(b);
  EXPECT_NE(e.find("corrupt: expected section TYPE at byte"), std::string::npos) << e;
  hsa_snapshot_free(&built);
}

TEST(ReaderTest, RejectsAnatomyIdsOutOfRange) {
  hsa_snapshot s;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &s, &err), 0);
  ASSERT_EQ(hsa_fixture_add_anatomy(&s, &err), 0) << err.msg;
  EXPECT_EQ(ReadError(Encode(s)), "");
  struct Case {
    std::function<void(hsa_snapshot &)> damage, repair;
    const char *want;
  };
  uint32_t nsites = s.nsites, ntypes = s.ntypes, nstrings = s.nstrings, nrows = s.nrows;
  std::vector<Case> cases = {
      {[&](hsa_snapshot &x) { x.rows[1].site = nsites; },
       [&](hsa_snapshot &x) { x.rows[1].site = 4; },
       "corrupt: anatomy row 1 refers to site"},
      {[&](hsa_snapshot &x) { x.rows[2].type = ntypes; },
       [&](hsa_snapshot &x) { x.rows[2].type = HS_NO_TYPE; },
       "corrupt: anatomy row 2 refers to type"},
      {[&](hsa_snapshot &x) { x.types[3].name_sid = nstrings + 1; },
       [&](hsa_snapshot &x) { x.types[3].name_sid = 0; },
       "corrupt: type 3 refers to string"},
      {[&](hsa_snapshot &x) { x.types[0].itemsize = -4; },
       [&](hsa_snapshot &x) { x.types[0].itemsize = 4; },
       "corrupt: type 0 has a negative size"},
      {[&](hsa_snapshot &x) { x.shapes[2].row = nrows; },
       [&](hsa_snapshot &x) { x.shapes[2].row = 1; },
       "corrupt: shape 2 refers to anatomy row"},
      {[&](hsa_snapshot &x) { x.shapes[1].fields[2].type = ntypes + 7; },
       [&](hsa_snapshot &x) { x.shapes[1].fields[2].type = 1; },
       "corrupt: shape 1 field 2 refers to type"},
      {[&](hsa_snapshot &x) { x.shapes[3].fields[0].name_sid = nstrings; },
       [&](hsa_snapshot &x) { x.shapes[3].fields[0].name_sid = 0; },
       "corrupt: shape 3 field 0 refers to string"},
      {[&](hsa_snapshot &x) { x.shapes[0].count = 4; },
       [&](hsa_snapshot &x) { x.shapes[0].count = 1; },
       "corrupt: shape 0 is inconsistent"},
      {[&](hsa_snapshot &x) { x.shapes[1].length = 2; },
       [&](hsa_snapshot &x) { x.shapes[1].length = 3; },
       "corrupt: shape 1 is inconsistent"},
  };
  for (const Case &c : cases) {
    c.damage(s);
    std::string e = ReadError(Encode(s));
    EXPECT_NE(e.find(c.want), std::string::npos) << c.want << " / " << e;
    EXPECT_EQ(e.rfind("snap.hsnap: ", 0), 0u) << e;
    c.repair(s);
    EXPECT_EQ(ReadError(Encode(s)), "") << "after repairing: " << c.want;
  }
  hsa_snapshot_free(&s);
}

// Counters above 2^60, alone or added up over a section, are refused (found by fuzzing:
// `diff` subtracted two such sizes in int64_t), and merge refuses to produce them.
TEST(ReaderTest, RejectsCountersAbove2To60) {
  hsa_snapshot s;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &s, &err), 0);
  ASSERT_EQ(hsa_fixture_add_anatomy(&s, &err), 0) << err.msg;
  ASSERT_GE(s.nsites, 2u);
  ASSERT_GE(s.nrows, 2u);
  const uint64_t max = HSA_COUNTER_MAX;
  struct Case {
    uint64_t *field, *other;  // other: a second record's field for the sum case
    uint64_t value, other_value;
    const char *want;
  };
  std::vector<Case> cases = {
      {&s.sites[1].live_bytes, nullptr, max + 1, 0, "corrupt: site 1 has live bytes"},
      {&s.sites[0].alloc_bytes, &s.sites[1].alloc_bytes, max / 2 + 1, max / 2 + 1,
       "corrupt: the bytes allocated of all sites add up to more than 2^60 (at site 1)"},
      {&s.rows[1].owned_bytes, nullptr, max + 5, 0, "corrupt: anatomy row 1 has owned bytes"},
      {&s.rows[0].objects, &s.rows[1].objects, max, 1,
       "corrupt: the objects of all anatomy rows add up to more than 2^60"},
      {&s.meta.live_bytes, nullptr, max + 1, 0, "corrupt: META 0 has live bytes"},
  };
  for (const Case &c : cases) {
    uint64_t saved = *c.field, saved_other = c.other ? *c.other : 0;
    *c.field = c.value;
    if (c.other) *c.other = c.other_value;
    std::string e = ReadError(Encode(s));
    EXPECT_NE(e.find(c.want), std::string::npos) << c.want << " / " << e;
    EXPECT_EQ(e.rfind("snap.hsnap: ", 0), 0u) << e;
    *c.field = saved;
    if (c.other) *c.other = saved_other;
    EXPECT_EQ(ReadError(Encode(s)), "") << "after repairing: " << c.want;
  }
  // exactly 2^60 is allowed
  uint64_t saved = s.meta.total_alloc_bytes;
  s.meta.total_alloc_bytes = max;
  EXPECT_EQ(ReadError(Encode(s)), "");
  s.meta.total_alloc_bytes = saved;
  s.types[0].basicsize = (int64_t)1 << 41;
  EXPECT_NE(ReadError(Encode(s)).find("corrupt: type 0 is larger than 2^40 bytes"),
            std::string::npos);
  s.types[0].basicsize = 24;
  // merge --sum of sixteen copies of a site of 2^57 bytes: 2^61, refused (not wrapped)
  s.sites[0].live_bytes = max / 8;
  std::vector<const hsa_snapshot *> in(16, &s);
  hsa_snapshot out;
  EXPECT_EQ(hsa_merge(in.data(), in.size(), HSA_MERGE_SUM, nullptr, &out, &err), -1);
  EXPECT_NE(std::string(err.msg).find("would exceed 2^60"), std::string::npos) << err.msg;
  // the median of the same copies is fine
  ASSERT_EQ(hsa_merge(in.data(), in.size(), HSA_MERGE_MEDIAN, nullptr, &out, &err), 0) << err.msg;
  hsa_snapshot_free(&out);
  hsa_snapshot_free(&s);
}

TEST(ReaderTest, RejectsBadAnatomyLengths) {
  std::vector<unsigned char> b = FixtureBytes(1, true);
  // TYPE claims one type more than it holds
  std::vector<unsigned char> c = b;
  size_t at = SectionAt(c, "TYPE");
  c[at + 16] += 1;
  FixCrc(c);
  std::string e = ReadError(c);
  EXPECT_NE(e.find("corrupt: section TYPE claims 8 types"), std::string::npos) << e;
  // ANAT count off by one
  c = b;
  at = SectionAt(c, "ANAT");
  c[at + 16] -= 1;
  FixCrc(c);
  e = ReadError(c);
  EXPECT_NE(e.find("corrupt: section ANAT claims 4 rows"), std::string::npos) << e;
  // SHAP: a shape with 33 fields (more than the format stores)
  c = b;
  at = SectionAt(c, "SHAP");
  c[at + 16 + 8 + 14] = 33;
  FixCrc(c);
  e = ReadError(c);
  EXPECT_NE(e.find("corrupt: shape 0 has 33 fields"), std::string::npos) << e;
  // SHAP: one shape fewer than the bytes hold
  c = b;
  c[at + 16] -= 1;
  FixCrc(c);
  e = ReadError(c);
  EXPECT_NE(e.find("unexpected bytes after the last shape in SHAP"), std::string::npos) << e;
  // SHAP: more shapes than bytes
  c = b;
  c[at + 16] += 1;
  FixCrc(c);
  e = ReadError(c);
  EXPECT_NE(e.find("corrupt: a shape at byte"), std::string::npos) << e;
}

TEST(ReaderTest, RejectsTruncatedAnatomyAtManyLengths) {
  std::vector<unsigned char> b = FixtureBytes(1, true);
  for (size_t len = b.size() - 1; len > 0; len--) {
    std::vector<unsigned char> t(b.begin(), b.begin() + len);
    std::string e = ReadError(t);
    ASSERT_NE(e, "") << "accepted a file truncated to " << len << " bytes";
    ASSERT_EQ(e.rfind("snap.hsnap: ", 0), 0u) << e;
  }
  size_t anat = SectionAt(b, "ANAT");
  std::vector<unsigned char> t(b.begin(), b.begin() + anat + 40);
  EXPECT_NE(ReadError(t).find("truncated: section ANAT ends at byte"), std::string::npos)
      << ReadError(t);
}

TEST(ReaderTest, RejectsBigEndian) {
  std::vector<unsigned char> b = FixtureBytes();
  const unsigned char swapped[4] = {1, 2, 3, 4};  // what a big-endian writer stores for the BOM
  memcpy(b.data() + 12, swapped, 4);
  std::string e = ReadError(b);
  EXPECT_EQ(e.rfind("snap.hsnap: the snapshot is big-endian", 0), 0u) << e;
}

TEST(ReaderTest, RejectsBadHeaderSize) {
  std::vector<unsigned char> b = FixtureBytes();
  b[16] = 40;
  std::string e = ReadError(b);
  EXPECT_EQ(e.rfind("snap.hsnap: corrupt: header size 40, expected 32", 0), 0u) << e;
}

TEST(ReaderTest, RejectsTruncatedAtManyLengths) {
  std::vector<unsigned char> b = FixtureBytes();
  // Every length from 1 byte short of complete down to 1 byte must be refused with a message
  // naming the file; spot-check the wording at a few section boundaries.
  for (size_t len = b.size() - 1; len > 0; len--) {
    std::vector<unsigned char> t(b.begin(), b.begin() + len);
    std::string e = ReadError(t);
    ASSERT_NE(e, "") << "accepted a file truncated to " << len << " bytes";
    ASSERT_EQ(e.rfind("snap.hsnap: ", 0), 0u) << e;
    if (len >= 32) {
      EXPECT_NE(e.find("truncated: "), std::string::npos) << len << ": " << e;
    }
  }
  // Cut inside the SITE payload: the message names the section and both sizes.
  size_t site_at = 0;
  for (size_t off = 32; off + 4 <= b.size(); off += 8)
    if (memcmp(b.data() + off, "SITE", 4) == 0) {
      site_at = off;
      break;
    }
  ASSERT_NE(site_at, 0u);
  uint64_t site_len;
  memcpy(&site_len, b.data() + site_at + 8, 8);
  size_t cut = site_at + 16 + 40;
  std::vector<unsigned char> t(b.begin(), b.begin() + cut);
  char want[200];
  snprintf(want, sizeof want,
           "snap.hsnap: truncated: section SITE ends at byte %llu but the file has %zu bytes",
           (unsigned long long)(site_at + 16 + hs_pad8(site_len)), cut);
  EXPECT_EQ(ReadError(t).rfind(want, 0), 0u) << ReadError(t);
  // Cut right at the END section header.
  std::vector<unsigned char> t2(b.begin(), b.end() - 24);
  EXPECT_NE(ReadError(t2).find("truncated: section END starts at byte"), std::string::npos)
      << ReadError(t2);
  // Cut inside the file header, with the magic intact.
  std::vector<unsigned char> t3(b.begin(), b.begin() + 20);
  EXPECT_NE(ReadError(t3).find("truncated: the file header"), std::string::npos);
}

TEST(ReaderTest, RejectsFlippedByteWithCrcMismatch) {
  std::vector<unsigned char> b = FixtureBytes();
  // Any byte after the file header and before END: the CRC check catches it first.
  for (size_t off : {size_t{40}, size_t{200}, b.size() / 2, b.size() - 30}) {
    std::vector<unsigned char> c = b;
    c[off] ^= 0x10;
    std::string e = ReadError(c);
    EXPECT_EQ(e.rfind("snap.hsnap: corrupt: CRC mismatch", 0), 0u) << off << ": " << e;
  }
  // A damaged stored CRC is a mismatch too.
  std::vector<unsigned char> c = b;
  c[c.size() - 8] ^= 1;
  EXPECT_EQ(ReadError(c).rfind("snap.hsnap: corrupt: CRC mismatch", 0), 0u);
}

TEST(ReaderTest, RejectsIdsOutOfRange) {
  hsa_snapshot s;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(0, &s, &err), 0);
  s.sites[0].frames[0] = s.nframes;  // one past the end
  std::vector<unsigned char> b = Encode(s);
  std::string e = ReadError(b);
  EXPECT_NE(e.find("corrupt: site 0 refers to frame"), std::string::npos) << e;
  s.sites[0].frames[0] = 0;
  s.frames[1].filename_sid = s.nstrings + 5;
  e = ReadError(Encode(s));
  EXPECT_NE(e.find("corrupt: frame 1 refers to string"), std::string::npos) << e;
  s.frames[1].filename_sid = 0;
  s.meta.program_sid = 1000;
  e = ReadError(Encode(s));
  EXPECT_NE(e.find("META program name"), std::string::npos) << e;
  hsa_snapshot_free(&s);
}

TEST(ReaderTest, RejectsSectionOrderAndTrailingBytes) {
  std::vector<unsigned char> b = FixtureBytes();
  std::vector<unsigned char> c = b;
  memcpy(c.data() + 32, "MEAT", 4);
  FixCrc(c);
  std::string e = ReadError(c);
  EXPECT_EQ(e.rfind("snap.hsnap: corrupt: expected section META at byte 32 but found \"MEAT\"", 0),
            0u)
      << e;
  // Trailing junk after END: the tail no longer looks like END, so the walk reports it.
  c = b;
  c.insert(c.end(), 8, 0);
  e = ReadError(c);
  EXPECT_NE(e.find("unexpected bytes after the END section"), std::string::npos) << e;
}

// Format v3: PEAK, TIME and ESTM round trip; a v2 encoding drops them and reads without.
TEST(ReaderTest, RoundTripHistoryAndEstimates) {
  for (int sampled = 0; sampled < 2; sampled++) {
    hsa_snapshot built, read;
    hsa_error err;
    ASSERT_EQ(hsa_fixture_build(1, &built, &err), 0) << err.msg;
    ASSERT_EQ(hsa_fixture_add_history(&built, sampled, &err), 0) << err.msg;
    std::vector<unsigned char> bytes = Encode(built);
    ASSERT_LT(SectionAt(bytes, "SHAP"), SectionAt(bytes, "PEAK"));
    ASSERT_LT(SectionAt(bytes, "PEAK"), SectionAt(bytes, "TIME"));
    ASSERT_LT(SectionAt(bytes, "TIME"), SectionAt(bytes, "ESTM"));
    ASSERT_LT(SectionAt(bytes, "ESTM"), SectionAt(bytes, "END "));
    ASSERT_EQ(hsa_snapshot_read_buffer(bytes.data(), bytes.size(), "h.hsnap", &read, &err), 0)
        << err.msg;
    ExpectSameSnapshot(built, read);
    EXPECT_TRUE(hsa_snapshot_has_peak(&read));
    ASSERT_EQ(read.npeak, 8u);
    EXPECT_EQ(memcmp(read.peak, built.peak, 8 * sizeof *read.peak), 0);
    EXPECT_EQ(read.peak_time_ns, 2500000000ull);
    EXPECT_EQ(read.peak_live_bytes, built.peak_live_bytes);
    ASSERT_EQ(read.ntime, 5u);
    EXPECT_EQ(read.time_interval_ns, 20000000ull);
    EXPECT_EQ(memcmp(read.timeline, built.timeline, 5 * sizeof *read.timeline), 0);
    EXPECT_EQ(hsa_snapshot_is_sampled(&read), sampled == 1);
    EXPECT_EQ(read.nestimates, sampled ? 9u : 0u);
    if (sampled) {
      EXPECT_EQ(read.meta.sample_rate, 16384u);
      EXPECT_EQ(memcmp(read.estimates, built.estimates, 9 * sizeof *read.estimates), 0);
    }
    EXPECT_EQ(Encode(read), bytes);
    hsa_snapshot_free(&read);
    // Version 2: no PEAK/TIME/ESTM, META's sample rate reserved (zero).
    unsigned char *data = nullptr;
    size_t len = 0;
    ASSERT_EQ(hsa_snapshot_encode_version(&built, 2, &data, &len, &err), 0) << err.msg;
    std::vector<unsigned char> v2(data, data + len);
    free(data);
    EXPECT_EQ(SectionAt(v2, "PEAK"), 0u);
    ASSERT_EQ(hsa_snapshot_read_buffer(v2.data(), v2.size(), "v2.hsnap", &read, &err), 0)
        << err.msg;
    EXPECT_EQ(read.version, 2u);
    EXPECT_FALSE(hsa_snapshot_has_peak(&read));
    EXPECT_FALSE(hsa_snapshot_is_sampled(&read));
    EXPECT_EQ(read.npeak + read.ntime + read.nestimates, 0u);
    EXPECT_EQ(read.meta.sample_rate, 0u);
    EXPECT_NE(std::string(hsa_snapshot_no_peak_reason(&read)).find("format-version-2"),
              std::string::npos);
    hsa_snapshot_free(&read);
    // a v2 file with garbage where v3 keeps the sample rate still reads as not sampled
    size_t meta = SectionAt(v2, "META");
    v2[meta + 16 + 120] = 7;
    FixCrc(v2);
    ASSERT_EQ(hsa_snapshot_read_buffer(v2.data(), v2.size(), "v2.hsnap", &read, &err), 0);
    EXPECT_EQ(read.meta.sample_rate, 0u);
    hsa_snapshot_free(&read);
    hsa_snapshot_free(&built);
  }
}

TEST(ReaderTest, RejectsBadHistorySections) {
  hsa_snapshot s;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &s, &err), 0);
  ASSERT_EQ(hsa_fixture_add_history(&s, 1, &err), 0) << err.msg;
  const std::vector<unsigned char> b = Encode(s);
  EXPECT_EQ(ReadError(b), "");
  struct Case {
    const char *tag;
    size_t at;  // offset in the payload
    std::function<void(unsigned char *)> damage;
    const char *want;
  };
  std::vector<Case> cases = {
      {"PEAK", 0, [](unsigned char *p) { p[0] += 1; }, "corrupt: section PEAK claims 9 sites"},
      {"TIME", 0, [](unsigned char *p) { p[0] -= 1; }, "corrupt: section TIME claims 4 samples"},
      {"TIME", 4, [](unsigned char *p) { p[0] = 3; }, "corrupt: section TIME keeps 3 top sites"},
      {"TIME", 16 + 24, [](unsigned char *p) { p[0] = 9; },
       "corrupt: timeline sample 0 refers to site 9 but the snapshot has 9 sites"},
      {"TIME", 16 + 88, [](unsigned char *p) { memset(p, 0, 8); },  // sample 1 at t = 0
       "corrupt: timeline sample 1 (at"},
      {"ESTM", 0, [](unsigned char *p) { p[0] -= 1; }, "corrupt: section ESTM claims 8 estimates"},
      {"ESTM", 8 + 32 * 2 + 16,
       [](unsigned char *p) {
         double nan = std::numeric_limits<double>::quiet_NaN();
         memcpy(p, &nan, 8);
       },
       "corrupt: estimate 2 of site 2 is not a finite number"},
  };
  for (const Case &c : cases) {
    std::vector<unsigned char> d = b;
    size_t at = SectionAt(d, c.tag);
    ASSERT_NE(at, 0u);
    c.damage(d.data() + at + 16 + c.at);
    FixCrc(d);
    std::string e = ReadError(d);
    EXPECT_NE(e.find(c.want), std::string::npos) << c.want << " / " << e;
    EXPECT_EQ(e.rfind("snap.hsnap: ", 0), 0u) << e;
  }
  // ESTM must match the sample rate: estimates without one, or a sample rate without them.
  std::vector<unsigned char> d = b;
  size_t meta = SectionAt(d, "META");
  memset(d.data() + meta + 16 + 120, 0, 8);
  FixCrc(d);
  EXPECT_NE(ReadError(d).find("but the snapshot is not sampled"), std::string::npos)
      << ReadError(d);
  hsa_snapshot_free(&s);
  ASSERT_EQ(hsa_fixture_build(1, &s, &err), 0);
  s.meta.sample_rate = 4096;
  unsigned char *data = nullptr;
  size_t len = 0;
  EXPECT_EQ(hsa_snapshot_encode(&s, &data, &len, &err), -1);  // the encoder refuses it
  EXPECT_NE(std::string(err.msg).find("0 estimates for 9 sites"), std::string::npos) << err.msg;
  s.meta.sample_rate = 0;
  d = Encode(s);
  meta = SectionAt(d, "META");
  d[meta + 16 + 120] = 1;
  FixCrc(d);
  EXPECT_NE(ReadError(d).find("section ESTM holds 0 estimates but the snapshot has 9 sites"),
            std::string::npos)
      << ReadError(d);
  // The builder checks ids too.
  EXPECT_EQ(hsa_snapshot_set_peak(&s, nullptr, 10, 0, 0, &err), -1);
  hs_estm_rec e1[1] = {};
  EXPECT_EQ(hsa_snapshot_set_estimates(&s, e1, 1, &err), -1);
  hsa_snapshot_free(&s);
}

TEST(ReaderTest, RejectsTruncatedHistoryAtManyLengths) {
  hsa_snapshot s;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &s, &err), 0);
  ASSERT_EQ(hsa_fixture_add_history(&s, 1, &err), 0) << err.msg;
  std::vector<unsigned char> b = Encode(s);
  for (size_t len = b.size() - 1; len > SectionAt(b, "SHAP"); len--) {
    std::vector<unsigned char> t(b.begin(), b.begin() + len);
    std::string e = ReadError(t);
    ASSERT_NE(e, "") << "accepted a file truncated to " << len << " bytes";
  }
  hsa_snapshot_free(&s);
}

// Format v4: MODS round trips after ESTM; a v3 encoding drops it and reads without modules.
void AddModules(hsa_snapshot *s) {
  hsa_error err;
  uint32_t fid;
  ASSERT_EQ(hsa_snapshot_add_frame(s, HS_FRAME_NATIVE, 0, "/usr/lib/libfoo.so", "", 0x1234, &fid,
                                   &err), 0) << err.msg;
  ASSERT_EQ(hsa_snapshot_add_module(s, "/usr/lib/libfoo.so", "00ff1a2b3c4d5e6f", 0x7f0000000000,
                                    &err), 0) << err.msg;
  ASSERT_EQ(hsa_snapshot_add_module(s, "/usr/bin/prog", "", 0x555555554000, &err), 0) << err.msg;
  ASSERT_EQ(hsa_snapshot_add_module(s, "/usr/lib/libbar.so",
                                    "0123456789abcdef0123456789abcdef01234567", 0x7f0000100000,
                                    &err), 0) << err.msg;
}

TEST(ReaderTest, RoundTripModules) {
  hsa_snapshot built, read;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &built, &err), 0) << err.msg;
  ASSERT_EQ(hsa_fixture_add_history(&built, 1, &err), 0) << err.msg;
  AddModules(&built);
  std::vector<unsigned char> bytes = Encode(built);
  ASSERT_EQ(bytes.size() % 8, 0u);
  ASSERT_LT(SectionAt(bytes, "ESTM"), SectionAt(bytes, "MODS"));
  ASSERT_LT(SectionAt(bytes, "MODS"), SectionAt(bytes, "END "));
  ASSERT_EQ(hsa_snapshot_read_buffer(bytes.data(), bytes.size(), "m.hsnap", &read, &err), 0)
      << err.msg;
  EXPECT_EQ(read.version, 6u);
  ExpectSameSnapshot(built, read);
  ASSERT_EQ(read.nmodules, 3u);
  EXPECT_STREQ(hsa_snapshot_string(&read, read.modules[0].path_sid), "/usr/lib/libfoo.so");
  EXPECT_STREQ(hsa_snapshot_string(&read, read.modules[0].build_id_sid), "00ff1a2b3c4d5e6f");
  EXPECT_EQ(read.modules[0].base, 0x7f0000000000ull);
  EXPECT_STREQ(hsa_snapshot_string(&read, read.modules[1].build_id_sid), "");
  // the frame's file name is the module's path: the recorded build-id is found from it
  uint32_t frame_sid = read.frames[read.nframes - 1].filename_sid;
  EXPECT_STREQ(hsa_snapshot_module_build_id(&read, frame_sid), "00ff1a2b3c4d5e6f");
  EXPECT_EQ(hsa_snapshot_module_build_id(&read, read.modules[1].path_sid), nullptr);  // empty
  EXPECT_EQ(hsa_snapshot_module_build_id(&read, read.meta.program_sid), nullptr);
  EXPECT_EQ(Encode(read), bytes);
  hsa_snapshot_free(&read);
  // Version 3: no MODS; reads as a snapshot without modules.
  unsigned char *data = nullptr;
  size_t len = 0;
  ASSERT_EQ(hsa_snapshot_encode_version(&built, 3, &data, &len, &err), 0) << err.msg;
  std::vector<unsigned char> v3(data, data + len);
  free(data);
  EXPECT_EQ(v3[8], 3);
  EXPECT_EQ(SectionAt(v3, "MODS"), 0u);
  ASSERT_EQ(hsa_snapshot_read_buffer(v3.data(), v3.size(), "v3.hsnap", &read, &err), 0)
      << err.msg;
  EXPECT_EQ(read.version, 3u);
  EXPECT_EQ(read.nmodules, 0u);
  EXPECT_EQ(read.nsites, built.nsites);
  EXPECT_TRUE(hsa_snapshot_is_sampled(&read));
  EXPECT_EQ(hsa_snapshot_module_build_id(&read, frame_sid), nullptr);
  hsa_snapshot_free(&read);
  // A v3 file claiming version 4 lacks MODS: refused.
  v3[8] = 4;
  FixCrc(v3);
  EXPECT_NE(ReadError(v3).find("corrupt: expected section MODS at byte"), std::string::npos)
      << ReadError(v3);
  // The builder refuses bad build-ids.
  for (const char *bad : {"abc", "ABCD", "00 1", "0g", "-1"}) {
    EXPECT_EQ(hsa_snapshot_add_module(&built, "/x.so", bad, 0, &err), -1) << bad;
    EXPECT_NE(std::string(err.msg).find("not an even-length lowercase hex string"),
              std::string::npos) << err.msg;
  }
  EXPECT_TRUE(hsa_build_id_valid("", 0));
  EXPECT_TRUE(hsa_build_id_valid("09af", 4));
  EXPECT_FALSE(hsa_build_id_valid("09aF", 4));
  hsa_snapshot_free(&built);
}

// Merging (run --repeat, heapshape merge) keeps every distinct module record of the inputs.
TEST(ReaderTest, MergeKeepsModules) {
  hsa_snapshot a, b, m;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &a, &err), 0);
  ASSERT_EQ(hsa_fixture_build(1, &b, &err), 0);
  AddModules(&a);
  AddModules(&b);
  ASSERT_EQ(hsa_snapshot_add_module(&b, "/usr/lib/libfoo.so", "abcd", 0x7f0000200000, &err), 0);
  const hsa_snapshot *in[2] = {&a, &b};
  ASSERT_EQ(hsa_merge(in, 2, HSA_MERGE_MEDIAN, nullptr, &m, &err), 0) << err.msg;
  ASSERT_EQ(m.nmodules, 4u);
  EXPECT_STREQ(hsa_snapshot_string(&m, m.modules[3].build_id_sid), "abcd");
  uint32_t sid;
  ASSERT_EQ(hsa_snapshot_add_string(&m, "/usr/lib/libfoo.so", &sid, &err), 0);
  EXPECT_STREQ(hsa_snapshot_module_build_id(&m, sid), "00ff1a2b3c4d5e6f");
  hsa_snapshot_free(&a);
  hsa_snapshot_free(&b);
  hsa_snapshot_free(&m);
}

TEST(ReaderTest, RejectsBadModules) {
  hsa_snapshot s;
  hsa_error err;
  ASSERT_EQ(hsa_fixture_build(1, &s, &err), 0);
  AddModules(&s);
  const std::vector<unsigned char> b = Encode(s);
  EXPECT_EQ(ReadError(b), "");
  // string ids of the build-ids, to point a module at a string that is not hex
  uint32_t upper, odd, nonhex;
  ASSERT_EQ(hsa_snapshot_add_string(&s, "ABCDEF", &upper, &err), 0);
  ASSERT_EQ(hsa_snapshot_add_string(&s, "abc", &odd, &err), 0);
  ASSERT_EQ(hsa_snapshot_add_string(&s, "/usr/lib/libfoo.so", &nonhex, &err), 0);
  const std::vector<unsigned char> b2 = Encode(s);
  uint32_t nstr = s.nstrings;
  struct Case {
    const std::vector<unsigned char> *bytes;
    size_t at;  // offset in the MODS payload
    std::function<void(unsigned char *)> damage;
    std::string want;
  };
  std::vector<Case> cases = {
      {&b, 0, [](unsigned char *p) { p[0] += 1; }, "corrupt: section MODS claims 4 modules"},
      {&b, 0, [](unsigned char *p) { p[0] -= 1; }, "corrupt: section MODS claims 2 modules"},
      {&b, 0, [](unsigned char *p) { memset(p, 0xff, 4); },
       "corrupt: section MODS claims 4294967295 modules"},
      {&b2, 8 + 24 * 1, [nstr](unsigned char *p) { memcpy(p, &nstr, 4); },
       "corrupt: module 1 refers to string " + std::to_string(nstr)},
      {&b2, 8 + 24 * 2 + 4, [nstr](unsigned char *p) { memcpy(p, &nstr, 4); },
       "corrupt: module 2 refers to string " + std::to_string(nstr)},
      {&b2, 8 + 4, [upper](unsigned char *p) { memcpy(p, &upper, 4); },
       "corrupt: module 0 (/usr/lib/libfoo.so) has build-id \"ABCDEF\", which is not an "
       "even-length lowercase hex string"},
      {&b2, 8 + 24 + 4, [odd](unsigned char *p) { memcpy(p, &odd, 4); },
       "corrupt: module 1 (/usr/bin/prog) has build-id \"abc\""},
      {&b2, 8 + 48 + 4, [nonhex](unsigned char *p) { memcpy(p, &nonhex, 4); },
       "has build-id \"/usr/lib/libfoo.so\""},
  };
  for (const Case &c : cases) {
    std::vector<unsigned char> d = *c.bytes;
    size_t at = SectionAt(d, "MODS");
    ASSERT_NE(at, 0u);
    c.damage(d.data() + at + 16 + c.at);
    FixCrc(d);
    std::string e = ReadError(d);
    EXPECT_NE(e.find(c.want), std::string::npos) << c.want << " / " << e;
    EXPECT_EQ(e.rfind("snap.hsnap: ", 0), 0u) << e;
  }
  // Truncation anywhere in MODS is refused.
  for (size_t len = b.size() - 1; len > SectionAt(b, "MODS"); len--) {
    std::vector<unsigned char> t(b.begin(), b.begin() + len);
    ASSERT_NE(ReadError(t), "") << "accepted a file truncated to " << len << " bytes";
  }
  hsa_snapshot_free(&s);
}

TEST(ReaderTest, MissingFileNamesIt) {
  hsa_snapshot s;
  hsa_error err;
  EXPECT_EQ(hsa_snapshot_read_file("/nonexistent/dir/x.hsnap", &s, &err), -1);
  EXPECT_STREQ(err.msg, "/nonexistent/dir/x.hsnap: cannot open: No such file or directory");
}

TEST(SnapshotTest, BuilderInternsStrings) {
  hsa_snapshot s;
  hsa_error err;
  hsa_snapshot_init(&s);
  uint32_t a, b, c;
  ASSERT_EQ(hsa_snapshot_add_string(&s, "x", &a, &err), 0);
  ASSERT_EQ(hsa_snapshot_add_string(&s, "y", &b, &err), 0);
  ASSERT_EQ(hsa_snapshot_add_string(&s, "x", &c, &err), 0);
  EXPECT_EQ(a, c);
  EXPECT_NE(a, b);
  EXPECT_STREQ(hsa_snapshot_string(&s, 99), "?");
  hsa_site site{};
  uint32_t bad = 0;
  site.nframes = 1;
  site.frames = &bad;
  EXPECT_EQ(hsa_snapshot_add_site(&s, &site, &err), -1);  // no frames yet
  hsa_snapshot_free(&s);
}

}  // namespace
