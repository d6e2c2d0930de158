// hs_crc32_fast (include/heapshape/crc_clmul.h) against hs_crc32 (format.h): every length to
// 3,000 at several offsets and start values, and the snapshot writer's 64 KiB windows.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "heapshape/crc_clmul.h"

namespace {

std::vector<unsigned char> Bytes(size_t n) {
  std::vector<unsigned char> b(n);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (auto &c : b) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<unsigned char>(x);
  }
  return b;
}

TEST(CrcClmul, SameAsTables) {
  std::vector<unsigned char> b = Bytes(4096);
  uint32_t start = 0;
  for (size_t len = 0; len < 3000; len++)
    for (size_t off = 0; off < 17; off += 4) {
      start = start * 2654435761u + 12345u;
      ASSERT_EQ(hs_crc32(0, b.data() + off, len), hs_crc32_fast(0, b.data() + off, len)) << len << " " << off;
      ASSERT_EQ(hs_crc32(start, b.data() + off, len), hs_crc32_fast(start, b.data() + off, len)) << len;
    }
}

TEST(CrcClmul, Windows) {
  std::vector<unsigned char> b = Bytes(300000);
  uint32_t a = 0, c = 0;
  for (size_t at = 0; at < b.size(); at += 65536) {
    size_t k = b.size() - at < 65536 ? b.size() - at : 65536;
    a = hs_crc32(a, b.data() + at, k);
    c = hs_crc32_fast(c, b.data() + at, k);
  }
  EXPECT_EQ(a, c);
  EXPECT_EQ(hs_crc32_fast(0, "123456789", 9), 0xCBF43926u);
}

}  // namespace
