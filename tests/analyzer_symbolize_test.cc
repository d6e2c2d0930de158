// Tests for analyzer/symbolize.c: libdwfl lookups of native frames, the per-module cache, the
// module+0xADDR fallback of hsa_frame_resolve, and the build-id check of format v4 (MODS).
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fstream>
#include <sstream>

#include "analyzer/snapshot.h"
#include "analyzer/stats.h"
#include "analyzer/symbol_cache.h"
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

// A snapshot may name any path as a module: a FIFO (open would block for a writer), a
// directory or a character device is not opened as an ELF file, and the lookup returns at once.
TEST(SymbolizeTest, NonRegularModuleIsNotOpened) {
  char dir[] = "/tmp/hs-symfifo-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string fifo = std::string(dir) + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  hsa_symbolizer *sym = hsa_symbolizer_new();
  ASSERT_NE(sym, nullptr);
  for (const std::string &p : {fifo, std::string(dir), std::string("/dev/zero")}) {
    hsa_symbol out;
    EXPECT_EQ(hsa_symbolize(sym, p.c_str(), 0x1000, &out), 0) << p;
    char id[128];
    EXPECT_EQ(hsa_file_build_id(p.c_str(), id, sizeof id), -1) << p;
  }
  hsa_symbolizer_free(sym);
  unlink(fifo.c_str());
  rmdir(dir);
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

// The module libc's qsort lives in, and qsort's address in it as a frame would hold it (a
// return address: first byte + 1).
struct LibcFrame {
  std::string path;
  uint64_t addr;
};
LibcFrame QsortFrame() {
  Dl_info info;
  EXPECT_NE(dladdr(reinterpret_cast<void *>(&qsort), &info), 0);
  return {info.dli_fname,
          reinterpret_cast<uintptr_t>(&qsort) - reinterpret_cast<uintptr_t>(info.dli_fbase) + 1};
}

// A fixture snapshot with one native frame in the real libc, recording build_id for it.
void BuildLibcSnapshot(hsa_snapshot *s, const LibcFrame &lf, const char *build_id,
                       uint32_t *fid) {
  hsa_error err;
  hsa_snapshot_init(s);
  ASSERT_EQ(hsa_snapshot_add_frame(s, HS_FRAME_NATIVE, 0, lf.path.c_str(), "", lf.addr, fid, &err),
            0) << err.msg;
  ASSERT_EQ(hsa_snapshot_add_module(s, lf.path.c_str(), build_id, 0x7f1234560000, &err), 0)
      << err.msg;
  s->path = strdup("run.hsnap");
}

TEST(SymbolizeTest, FileBuildId) {
  char id[2 * HSA_BUILD_ID_MAX + 1];
  LibcFrame lf = QsortFrame();
  int n = hsa_file_build_id(lf.path.c_str(), id, sizeof id);
  ASSERT_GT(n, 0) << lf.path << " has no GNU build-id";
  EXPECT_EQ(static_cast<size_t>(n), strlen(id));
  EXPECT_TRUE(hsa_build_id_valid(id, strlen(id))) << id;
  EXPECT_EQ(hsa_file_build_id("/nonexistent/lib.so", id, sizeof id), -1);
  EXPECT_STREQ(id, "");
  EXPECT_EQ(hsa_file_build_id("/etc/hostname", id, sizeof id), -1);  // not ELF
  // /proc/self/exe (this test) is symbolized the same way: its build-id, if any, is hex too.
  n = hsa_file_build_id("/proc/self/exe", id, sizeof id);
  EXPECT_GE(n, 0);
  EXPECT_TRUE(hsa_build_id_valid(id, strlen(id))) << id;
}

TEST(SymbolizeTest, MatchingBuildIdIsSymbolized) {
  LibcFrame lf = QsortFrame();
  char id[2 * HSA_BUILD_ID_MAX + 1];
  ASSERT_GT(hsa_file_build_id(lf.path.c_str(), id, sizeof id), 0);
  hsa_snapshot s;
  uint32_t fid;
  BuildLibcSnapshot(&s, lf, id, &fid);
  EXPECT_STREQ(hsa_snapshot_module_build_id(&s, s.frames[fid].filename_sid), id);
  hsa_symbolizer *sym = hsa_symbolizer_new();
  char *warn_text = nullptr;
  size_t warn_len = 0;
  FILE *warn = open_memstream(&warn_text, &warn_len);
  hsa_symbolizer_set_warnings(sym, warn);
  char buf[256];
  hsa_frame_text t;
  for (int i = 0; i < 2; i++) {  // the second time from the cache
    hsa_frame_resolve(&s, fid, sym, HSA_KEY_LINENO, &t, buf, sizeof buf);
    EXPECT_NE(std::string(t.name).find("qsort"), std::string::npos) << t.name;
  }
  EXPECT_EQ(hsa_symbolizer_mismatches(sym), 0u);
  fclose(warn);
  EXPECT_EQ(std::string(warn_text), "");
  free(warn_text);
  hsa_symbolizer_free(sym);
  hsa_snapshot_free(&s);
}

TEST(SymbolizeTest, ChangedBuildIdIsNotSymbolizedAndWarnsOnce) {
  LibcFrame lf = QsortFrame();
  char id[2 * HSA_BUILD_ID_MAX + 1];
  ASSERT_GT(hsa_file_build_id(lf.path.c_str(), id, sizeof id), 0);
  std::string wrong(id);
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  hsa_snapshot s, good;
  uint32_t fid, gfid;
  BuildLibcSnapshot(&s, lf, wrong.c_str(), &fid);
  BuildLibcSnapshot(&good, lf, id, &gfid);
  hsa_symbolizer *sym = hsa_symbolizer_new();
  char *warn_text = nullptr;
  size_t warn_len = 0;
  FILE *warn = open_memstream(&warn_text, &warn_len);
  hsa_symbolizer_set_warnings(sym, warn);
  char buf[256];
  hsa_frame_text t;
  char want[512];
  snprintf(want, sizeof want, "%s+0x%llx", lf.path.c_str(), (unsigned long long)lf.addr);
  for (int i = 0; i < 3; i++) {
    hsa_frame_resolve(&s, fid, sym, HSA_KEY_LINENO, &t, buf, sizeof buf);
    EXPECT_STREQ(t.filename, want);
    EXPECT_STREQ(t.name, "");
    EXPECT_EQ(t.lineno, 0);
    EXPECT_EQ(t.native, 1);
  }
  hsa_symbol out;
  EXPECT_EQ(hsa_symbolize_checked(sym, lf.path.c_str(), wrong.c_str(), "run.hsnap", lf.addr, &out),
            0);
  EXPECT_EQ(out.function, nullptr);
  // The same module with the right build-id (another snapshot) is still symbolized, and
  // without a recorded build-id (v3 snapshot) too.
  hsa_frame_resolve(&good, gfid, sym, HSA_KEY_LINENO, &t, buf, sizeof buf);
  EXPECT_NE(std::string(t.name).find("qsort"), std::string::npos) << t.name;
  EXPECT_EQ(hsa_symbolize(sym, lf.path.c_str(), lf.addr, &out), 1);
  EXPECT_EQ(hsa_symbolizer_mismatches(sym), 1u);
  fclose(warn);
  std::string expected = "heapshape: warning: run.hsnap: " + lf.path +
                         " has changed since the run (build-id " + wrong + ", now " + id +
                         "); its frames are not symbolized\n";
  EXPECT_EQ(std::string(warn_text), expected);
  free(warn_text);
  hsa_symbolizer_free(sym);
  hsa_snapshot_free(&s);
  hsa_snapshot_free(&good);
}

// The per-user symbol cache (symbol_cache.h): the file appears after a lookup, a later
// symbolizer answers from it without reading the module's symbols, and a module whose
// build-id changed (here: a copy of libc with one byte of its build-id note changed) does not
// read the other build's entries.
std::string ReadAll(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteAll(const std::string &path, const std::string &text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

TEST(SymbolCacheTest, CachedAcrossSymbolizersAndKeyedByBuildId) {
  char dir[] = "/tmp/hs-symcache-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  setenv("HEAPSHAPE_CACHE_DIR", dir, 1);
  unsetenv("HEAPSHAPE_SYMBOL_CACHE");
  LibcFrame lf = QsortFrame();
  char id[2 * HSA_BUILD_ID_MAX + 1];
  ASSERT_GT(hsa_file_build_id(lf.path.c_str(), id, sizeof id), 0);
  char cpath[4096];
  ASSERT_EQ(hsa_symcache_path(id, cpath, sizeof cpath), 0);
  EXPECT_EQ(std::string(cpath), std::string(dir) + "/symbols/" + id + ".syms");
  struct stat st;
  ASSERT_NE(stat(cpath, &st), 0) << "no cache file before the first lookup";

  hsa_symbolizer *sym = hsa_symbolizer_new();
  hsa_symbol out;
  ASSERT_EQ(hsa_symbolize_checked(sym, lf.path.c_str(), id, "run.hsnap", lf.addr, &out), 1);
  std::string fn = out.function ? out.function : "";
  EXPECT_NE(fn.find("qsort"), std::string::npos) << fn;
  hsa_symbolizer_free(sym);
  std::string text = ReadAll(cpath);
  ASSERT_EQ(text.rfind("heapshape-symbols 1\n", 0), 0u) << text;
  EXPECT_NE(text.find("\t" + fn + "\t"), std::string::npos) << text;

  // A later symbolizer answers from the file: replace the name there and it is what comes back.
  size_t at = text.find("\t" + fn + "\t");
  std::string doctored = text.substr(0, at) + "\tfrom_the_cache\t" + text.substr(at + fn.size() + 2);
  WriteAll(cpath, doctored);
  sym = hsa_symbolizer_new();
  ASSERT_EQ(hsa_symbolize_checked(sym, lf.path.c_str(), id, "run.hsnap", lf.addr, &out), 1);
  EXPECT_STREQ(out.function, "from_the_cache");
  hsa_symbolizer_free(sym);
  EXPECT_EQ(ReadAll(cpath), doctored) << "a hit appends nothing";

  // The same library with another build-id: its own entries, looked up in its own symbols.
  std::string lib = ReadAll(lf.path);
  std::string raw;
  for (size_t i = 0; id[i] && id[i + 1]; i += 2)
    raw.push_back(static_cast<char>(std::stoi(std::string(id + i, 2), nullptr, 16)));
  size_t pos = lib.find(raw);
  ASSERT_NE(pos, std::string::npos);
  lib[pos] = static_cast<char>(lib[pos] ^ 0x5a);
  std::string copy = std::string(dir) + "/libc-rebuilt.so";
  WriteAll(copy, lib);
  char id2[2 * HSA_BUILD_ID_MAX + 1];
  ASSERT_GT(hsa_file_build_id(copy.c_str(), id2, sizeof id2), 0);
  ASSERT_STRNE(id2, id);
  sym = hsa_symbolizer_new();
  ASSERT_EQ(hsa_symbolize_checked(sym, copy.c_str(), id2, "run2.hsnap", lf.addr, &out), 1);
  ASSERT_NE(out.function, nullptr);
  EXPECT_NE(std::string(out.function).find("qsort"), std::string::npos) << out.function;
  // and a snapshot that recorded the old build-id for the copy is refused, cache or not
  EXPECT_EQ(hsa_symbolize_checked(sym, copy.c_str(), id, "old.hsnap", lf.addr, &out), 0);
  hsa_symbolizer_free(sym);
  char cpath2[4096];
  ASSERT_EQ(hsa_symcache_path(id2, cpath2, sizeof cpath2), 0);
  EXPECT_NE(ReadAll(cpath2).find("qsort"), std::string::npos);
  EXPECT_EQ(ReadAll(cpath), doctored) << "the other build's file is untouched";

  // HEAPSHAPE_SYMBOL_CACHE=0: no cache read (the real name again) and none written.
  setenv("HEAPSHAPE_SYMBOL_CACHE", "0", 1);
  sym = hsa_symbolizer_new();
  ASSERT_EQ(hsa_symbolize_checked(sym, lf.path.c_str(), id, "run.hsnap", lf.addr, &out), 1);
  EXPECT_NE(std::string(out.function).find("qsort"), std::string::npos) << out.function;
  hsa_symbolizer_free(sym);
  unsetenv("HEAPSHAPE_SYMBOL_CACHE");

  // A damaged file (lines cut or garbled) is read as far as it makes sense, never trusted more.
  WriteAll(cpath, "heapshape-symbols 1\nnot a line\nzz\t1\tbad\t\n" + std::to_string(0) +
                      "\tx");
  sym = hsa_symbolizer_new();
  ASSERT_EQ(hsa_symbolize_checked(sym, lf.path.c_str(), id, "run.hsnap", lf.addr, &out), 1);
  EXPECT_NE(std::string(out.function).find("qsort"), std::string::npos) << out.function;
  hsa_symbolizer_free(sym);
  unsetenv("HEAPSHAPE_CACHE_DIR");
  std::string rm = std::string("rm -rf ") + dir;
  ASSERT_EQ(system(rm.c_str()), 0);
}

}  // namespace

