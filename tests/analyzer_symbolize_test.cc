// Tests for analyzer/symbolize.c: libdwfl lookups of native frames, the per-module cache, and
// the module+0xADDR fallback of hsa_frame_resolve.
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "analyzer/snapshot.h"
#include "analyzer/stats.h"
#include "analyzer/symbolize.h"

namespace {

TEST(SymbolizeTest, FindsFunctionInLibc) {
  Dl_info info;
  ASSERT_NE(dladdr(reinterpret_cast<void *>(&qsort), &info), 0);
  ASSERT_NE(info.dli_fname, nullptr);
  hsa_symbolizer *sym = hsa_symbolizer_new();
  ASSERT_NE(sym, nullptr);
  // Frame addresses are relative to the mapping at file offset 0 (dli_fbase) and are return
  // addresses: the symbolizer looks up addr - 1, so pass the function's first byte + 1.
  uint64_t addr = reinterpret_cast<uintptr_t>(&qsort) - reinterpret_cast<uintptr_t>(info.dli_fbase);
  hsa_symbol out;
  ASSERT_EQ(hsa_symbolize(sym, info.dli_fname, addr + 1, &out), 1) << info.dli_fname;
  ASSERT_NE(out.function, nullptr);
  EXPECT_NE(std::string(out.function).find("qsort"), std::string::npos) << out.function;
  // Second lookup comes from the cached module and gives the same answer.
  hsa_symbol again;
  ASSERT_EQ(hsa_symbolize(sym, info.dli_fname, addr + 1, &again), 1);
  EXPECT_STREQ(again.function, out.function);
  hsa_symbolizer_free(sym);
}

TEST(SymbolizeTest, MissingModuleIsNotAnError) {
  hsa_symbolizer *sym = hsa_symbolizer_new();
  hsa_symbol out;
  EXPECT_EQ(hsa_symbolize(sym, "/nonexistent/libnothing.so", 0x10, &out), 0);
  EXPECT_EQ(hsa_symbolize(sym, "/nonexistent/libnothing.so", 0x20, &out), 0);  // cached failure
  EXPECT_EQ(out.function, nullptr);
  EXPECT_EQ(hsa_symbolize(sym, "/etc/hostname", 0x10, &out), 0);  // not ELF
  hsa_symbolizer_free(sym);
  hsa_symbolizer_free(nullptr);
}

TEST(SymbolizeTest, FrameResolveFallsBackToModulePlusOffset) {
  hsa_snapshot s;
  hsa_error err;
  hsa_snapshot_init(&s);
  uint32_t native, unknown, py;
  ASSERT_EQ(hsa_snapshot_add_frame(&s, HS_FRAME_NATIVE, 0, "/nonexistent/lib.so", "", 0xbeef,
                                   &native, &err), 0);
  ASSERT_EQ(hsa_snapshot_add_frame(&s, HS_FRAME_UNKNOWN, 0, "", "", 0, &unknown, &err), 0);
  ASSERT_EQ(hsa_snapshot_add_frame(&s, HS_FRAME_PYTHON, 12, "/x.py", "f", 0, &py, &err), 0);
  hsa_symbolizer *sym = hsa_symbolizer_new();
  char buf[256];
  hsa_frame_text t;
  hsa_frame_resolve(&s, native, sym, HSA_KEY_LINENO, &t, buf, sizeof buf);
  EXPECT_STREQ(t.filename, "/nonexistent/lib.so+0xbeef");
  EXPECT_EQ(t.lineno, 0);
  EXPECT_EQ(t.native, 1);
  hsa_frame_resolve(&s, native, sym, HSA_KEY_FILENAME, &t, buf, sizeof buf);
  EXPECT_STREQ(t.filename, "/nonexistent/lib.so");
  hsa_frame_resolve(&s, unknown, sym, HSA_KEY_LINENO, &t, buf, sizeof buf);
  EXPECT_STREQ(t.filename, "<unknown>");
  EXPECT_EQ(t.lineno, 0);
  hsa_frame_resolve(&s, py, nullptr, HSA_KEY_LINENO, &t, buf, sizeof buf);
  EXPECT_STREQ(t.filename, "/x.py");
  EXPECT_EQ(t.lineno, 12);
  EXPECT_STREQ(t.name, "f");
  hsa_frame_resolve(&s, py, nullptr, HSA_KEY_FILENAME, &t, buf, sizeof buf);
  EXPECT_EQ(t.lineno, 0);
  hsa_symbolizer_free(sym);
  hsa_snapshot_free(&s);
}

}  // namespace
