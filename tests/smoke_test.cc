// Smoke test: the third-party wrappers compile and link.
#include <gtest/gtest.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <elfutils/libdwfl.h>
#include <libelf.h>
#include <uthash.h>

#include <cstdlib>

namespace {

struct Item {
  int key;
  int value;
  UT_hash_handle hh;
};

TEST(Smoke, Uthash) {
  Item *table = nullptr;
  Item item{};
  item.key = 42;
  item.value = 7;
  HASH_ADD_INT(table, key, &item);
  Item *found = nullptr;
  int key = 42;
  HASH_FIND_INT(table, &key, found);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->value, 7);
  EXPECT_EQ(HASH_COUNT(table), 1u);
  HASH_CLEAR(hh, table);
}

TEST(Smoke, LibunwindBacktrace) {
  void *frames[32];
  int n = unw_backtrace(frames, 32);
  EXPECT_GT(n, 0);
}

TEST(Smoke, LibdwLibelf) {
  EXPECT_NE(elf_version(EV_CURRENT), EV_NONE);
  static const Dwfl_Callbacks callbacks = {
      dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo, nullptr, nullptr};
  Dwfl *dwfl = dwfl_begin(&callbacks);
  ASSERT_NE(dwfl, nullptr);
  dwfl_end(dwfl);
}

}  // namespace
