// Golden tests of the `heapshape` binary (//analyzer:heapshape): exit codes and messages for
// bad input, stats/diff/info output on fixture snapshots, and `run` with a stand-in child that
// copies a fixture to $HEAPSHAPE_OUTPUT (so the test does not depend on the shim).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "analyzer/snapshot.h"
#include "analyzer/snapshot_encode.h"
#include "analyzer/symbolize.h"
#include "analyzer/testdata/fixture.h"

namespace {

std::string Slurp(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char cwd[PATH_MAX];
    ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
    bin_ = std::string(cwd) + "/analyzer/heapshape";
    ASSERT_EQ(access(bin_.c_str(), X_OK), 0) << bin_;
    const char *tmp = getenv("TEST_TMPDIR");
    dir_ = std::string(tmp ? tmp : "/tmp") + "/cli";
    ASSERT_EQ(system(("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str()), 0);
    old_ = dir_ + "/old.hsnap";
    new_ = dir_ + "/new.hsnap";
    for (int which = 0; which < 2; which++) {
      hsa_snapshot s;
      hsa_error err;
      ASSERT_EQ(hsa_fixture_build(which, &s, &err), 0) << err.msg;
      ASSERT_EQ(hsa_snapshot_write_file(&s, (which ? new_ : old_).c_str(), &err), 0) << err.msg;
      hsa_snapshot_free(&s);
    }
  }

  // Runs `heapshape ARGS` (a shell fragment) in dir_; returns the exit status.
  int Run(const std::string &args, const std::string &env = "") {
    std::string cmd = "cd '" + dir_ + "' && " + env + " '" + bin_ + "' " + args + " >'" + dir_ +
                      "/stdout' 2>'" + dir_ + "/stderr'";
    int st = system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(st)) << cmd;
    out_ = Slurp(dir_ + "/stdout");
    err_ = Slurp(dir_ + "/stderr");
    return WEXITSTATUS(st);
  }

  // Exactly one line on stderr, starting "heapshape: error: ".
  void ExpectOneErrorLine() {
    EXPECT_EQ(err_.rfind("heapshape: error: ", 0), 0u) << err_;
    EXPECT_EQ(std::count(err_.begin(), err_.end(), '\n'), 1) << err_;
  }

  std::string bin_, dir_, old_, new_, out_, err_;
};

// A v4 snapshot whose one native site is in the real libc (qsort), recording build_id for it,
// plus 11 more modules so `info` shows "... 2 more".
void WriteLibcSnapshot(const std::string &path, const std::string &build_id,
                       std::string *module, uint64_t *addr) {
  Dl_info info;
  ASSERT_NE(dladdr(reinterpret_cast<void *>(&qsort), &info), 0);
  *module = info.dli_fname;
  *addr = reinterpret_cast<uintptr_t>(&qsort) - reinterpret_cast<uintptr_t>(info.dli_fbase) + 1;
  hsa_snapshot s;
  hsa_error err;
  hsa_snapshot_init(&s);
  uint32_t fid;
  ASSERT_EQ(hsa_snapshot_set_program(&s, "prog", "prog", &err), 0);
  ASSERT_EQ(hsa_snapshot_add_frame(&s, HS_FRAME_NATIVE, 0, module->c_str(), "", *addr, &fid, &err),
            0);
  hsa_site site{};
  site.domain = HS_DOMAIN_MALLOC;
  site.nframes = 1;
  site.allocs = site.live_count = 1;
  site.alloc_bytes = site.live_bytes = site.peak_live_bytes = 100;
  site.frames = &fid;
  ASSERT_EQ(hsa_snapshot_add_site(&s, &site, &err), 0);
  s.meta.live_bytes = 100;
  s.meta.live_count = 1;
  s.meta.reason = HS_REASON_EXIT;
  ASSERT_EQ(hsa_snapshot_add_module(&s, module->c_str(), build_id.c_str(), 0x7f0000000000, &err),
            0) << err.msg;
  for (int i = 0; i < 11; i++) {
    std::string p = "/usr/lib/libx" + std::to_string(i) + ".so";
    ASSERT_EQ(hsa_snapshot_add_module(&s, p.c_str(), i ? "abcd" : "", 0x1000 * (i + 1), &err), 0);
  }
  ASSERT_EQ(hsa_snapshot_write_file(&s, path.c_str(), &err), 0) << err.msg;
  hsa_snapshot_free(&s);
}

TEST_F(CliTest, ModulesBuildIdCheck) {
  std::string module;
  uint64_t addr;
  char id[2 * HSA_BUILD_ID_MAX + 1];
  WriteLibcSnapshot(dir_ + "/tmp.hsnap", "", &module, &addr);
  ASSERT_GT(hsa_file_build_id(module.c_str(), id, sizeof id), 0) << module;
  std::string wrong(id);
  wrong[wrong.size() - 1] = wrong.back() == 'f' ? 'e' : 'f';
  WriteLibcSnapshot(dir_ + "/good.hsnap", id, &module, &addr);
  WriteLibcSnapshot(dir_ + "/stale.hsnap", wrong, &module, &addr);
  // Same build-id: symbolized, no warning.
  EXPECT_EQ(Run("stats good.hsnap --key traceback"), 0);
  EXPECT_NE(out_.find("in qsort"), std::string::npos) << out_;
  EXPECT_EQ(err_, "");
  // Changed: module+0xADDR and one warning line, even with the frame printed twice (diff).
  EXPECT_EQ(Run("diff stale.hsnap stale.hsnap --key traceback"), 0);
  char addr_text[32];
  snprintf(addr_text, sizeof addr_text, "address 0x%llx", (unsigned long long)addr);
  EXPECT_NE(out_.find("File \"" + module + "\", " + addr_text + "\n"), std::string::npos)
      << out_;
  EXPECT_EQ(out_.find("qsort"), std::string::npos) << out_;
  EXPECT_EQ(err_, "heapshape: warning: stale.hsnap: " + module +
                      " has changed since the run (build-id " + wrong + ", now " + id +
                      "); its frames are not symbolized\n");
  // --no-symbols: nothing is looked at, nothing to warn about.
  EXPECT_EQ(Run("stats stale.hsnap --no-symbols"), 0);
  EXPECT_EQ(err_, "");
  // info lists the modules: a count, the first 10, then how many more.
  EXPECT_EQ(Run("info good.hsnap"), 0);
  EXPECT_NE(out_.find("format version: 6\n"), std::string::npos) << out_;
  EXPECT_NE(out_.find("modules: 12\n  " + module + " build-id " + id + " base 0x7f0000000000\n" +
                      "  /usr/lib/libx0.so build-id none base 0x1000\n" +
                      "  /usr/lib/libx1.so build-id abcd base 0x2000\n"),
            std::string::npos)
      << out_;
  EXPECT_NE(out_.find("  /usr/lib/libx8.so build-id abcd base 0x9000\n  ... 2 more\n"),
            std::string::npos)
      << out_;
  EXPECT_EQ(out_.find("libx9"), std::string::npos) << out_;
}

// The symbol cache as users meet it (issue 18): stats writes it, a second stats reads it,
// --no-symbols never touches it (not even the directory), with and without a cache present.
TEST_F(CliTest, SymbolCacheAcrossCommands) {
  std::string module;
  uint64_t addr;
  char id[2 * HSA_BUILD_ID_MAX + 1];
  WriteLibcSnapshot(dir_ + "/tmp.hsnap", "", &module, &addr);
  ASSERT_GT(hsa_file_build_id(module.c_str(), id, sizeof id), 0) << module;
  WriteLibcSnapshot(dir_ + "/good.hsnap", id, &module, &addr);
  std::string cache = dir_ + "/cache";
  std::string env = "HEAPSHAPE_CACHE_DIR='" + cache + "'";
  struct stat st;
  EXPECT_EQ(Run("stats good.hsnap --no-symbols", env), 0);
  EXPECT_NE(stat(cache.c_str(), &st), 0) << "--no-symbols created the cache directory";
  EXPECT_EQ(Run("stats good.hsnap --key traceback", env), 0);
  EXPECT_NE(out_.find("in qsort"), std::string::npos) << out_;
  std::string file = cache + "/symbols/" + id + ".syms";
  std::string text = Slurp(file);
  ASSERT_NE(text.find("qsort"), std::string::npos) << file;
  // a doctored entry shows that the next command reads the cache instead of the library
  size_t at = text.find("\tqsort\t");
  ASSERT_NE(at, std::string::npos) << text;
  std::string doctored = text.substr(0, at) + "\tcached_qsort\t" + text.substr(at + 7);
  FILE *f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs(doctored.c_str(), f);
  fclose(f);
  EXPECT_EQ(Run("stats good.hsnap --key traceback", env), 0);
  EXPECT_NE(out_.find("in cached_qsort"), std::string::npos) << out_;
  // --no-symbols with a cache present: a FIFO in its place would hang any reader of it
  ASSERT_EQ(unlink(file.c_str()), 0);
  ASSERT_EQ(mkfifo(file.c_str(), 0600), 0);
  EXPECT_EQ(Run("stats good.hsnap --no-symbols --key traceback", env), 0);
  EXPECT_EQ(out_.find("qsort"), std::string::npos) << out_;
  EXPECT_EQ(err_, "");
  // ... and a command with symbols is not blocked by it either (not a regular file: ignored)
  EXPECT_EQ(Run("stats good.hsnap --key traceback", env), 0);
  EXPECT_NE(out_.find("in qsort"), std::string::npos) << out_;
  unlink(file.c_str());
}

TEST_F(CliTest, UnknownCommandIsUsageError) {
  EXPECT_EQ(Run("frobnicate"), 2);
  ExpectOneErrorLine();
  EXPECT_NE(err_.find("unknown command \"frobnicate\""), std::string::npos);
  EXPECT_NE(err_.find("heapshape --help"), std::string::npos);
  EXPECT_EQ(Run(""), 2);  // no command: usage on stderr
  EXPECT_NE(err_.find("usage: heapshape"), std::string::npos);
}

TEST_F(CliTest, MissingFileNamesIt) {
  EXPECT_EQ(Run("stats no-such.hsnap"), 2);
  ExpectOneErrorLine();
  EXPECT_NE(err_.find("no-such.hsnap: cannot open: No such file or directory"),
            std::string::npos)
      << err_;
  EXPECT_EQ(Run("diff old.hsnap missing-new.hsnap"), 2);
  EXPECT_NE(err_.find("missing-new.hsnap"), std::string::npos);
  EXPECT_EQ(Run("info nope.hsnap"), 2);
  EXPECT_NE(err_.find("nope.hsnap"), std::string::npos);
}

TEST_F(CliTest, CorruptFileIsUsageError) {
  std::string bytes = Slurp(old_);
  bytes[100] ^= 0x55;
  std::ofstream(dir_ + "/bad.hsnap") << bytes;
  EXPECT_EQ(Run("stats bad.hsnap"), 2);
  ExpectOneErrorLine();
  EXPECT_NE(err_.find("bad.hsnap: corrupt: CRC mismatch"), std::string::npos) << err_;
  std::ofstream(dir_ + "/text.hsnap") << "hello, world\n";
  EXPECT_EQ(Run("info text.hsnap"), 2);
  EXPECT_NE(err_.find("text.hsnap: not a heapshape snapshot"), std::string::npos) << err_;
}

TEST_F(CliTest, BadOptionsAreUsageErrors) {
  EXPECT_EQ(Run("stats old.hsnap --key bogus"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("stats old.hsnap --limit -3"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("stats old.hsnap --format xml"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("stats old.hsnap --domain heap"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("stats old.hsnap --wat"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("stats"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("diff old.hsnap"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("stats old.hsnap new.hsnap"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("stats old.hsnap --limit"), 2);
  ExpectOneErrorLine();
}

// Golden outputs: the lines tracemalloc computes for the fixtures
// (analyzer/testdata/tracemalloc_expected.py; the full tables are in analyzer_stats_test.cc).
TEST_F(CliTest, StatsTextGolden) {
  EXPECT_EQ(Run("stats old.hsnap --limit 3"), 0) << err_;
  EXPECT_EQ(out_,
            "/usr/lib/python3.11/json/decoder.py:353: size=11.8 MiB, count=10, average=1206 KiB\n"
            "/app/b.py:20: size=97.7 KiB, count=1, average=97.7 KiB\n"
            "/nonexistent/libfoo.so+0x1234:0: size=4096 B, count=4, average=1024 B\n");
  EXPECT_EQ(err_, "");
  EXPECT_EQ(Run("stats old.hsnap --key filename --include '/app/*' --exclude '*/b.py' "
                "--limit=2"),
            0);
  EXPECT_EQ(out_,
            "/app/a.py:0: size=3500 B, count=5, average=700 B\n"
            "/app/c.pyc:0: size=300 B, count=2, average=150 B\n");
  EXPECT_EQ(Run("stats old.hsnap --domain malloc"), 0);
  EXPECT_EQ(out_, "/nonexistent/libfoo.so+0x1234:0: size=4096 B, count=4, average=1024 B\n");
}

TEST_F(CliTest, DiffTextGolden) {
  EXPECT_EQ(Run("diff old.hsnap new.hsnap --limit 4"), 0) << err_;
  EXPECT_EQ(out_,
            "/app/b.py:20: size=0 B (-97.7 KiB), count=0 (-1)\n"
            "/nonexistent/libfoo.so+0x1234:0: size=1024 B (-3072 B), count=2 (-2), "
            "average=512 B\n"
            "/app/new.py:3: size=2048 B (+2048 B), count=2 (+2), average=1024 B\n"
            "/app/a.py:10: size=5500 B (+2000 B), count=7 (+2), average=786 B\n");
  // Default limit for text is 10: the lineno diff has exactly 10 entries, traceback 11.
  // With --key traceback each entry is followed by its frames (Traceback.format(): lines
  // starting with two spaces), so count the entry lines only.
  EXPECT_EQ(Run("diff old.hsnap new.hsnap --key traceback"), 0);
  size_t entries = 0;
  std::istringstream lines(out_);
  for (std::string l; std::getline(lines, l);) entries += l.rfind("  ", 0) != 0;
  EXPECT_EQ(entries, 10u);
}

TEST_F(CliTest, JsonOutput) {
  EXPECT_EQ(Run("stats old.hsnap --format json --domain malloc"), 0) << err_;
  EXPECT_EQ(out_,
            "{\"statistics\":[{\"filename\":\"/nonexistent/libfoo.so+0x1234\",\"lineno\":0,"
            "\"size\":4096,\"count\":4}],\"total_size\":4096,\"total_count\":4}\n");
  // json prints all entries unless --limit is given.
  EXPECT_EQ(Run("diff old.hsnap new.hsnap --format json --key traceback"), 0);
  size_t n = 0;
  for (size_t p = 0; (p = out_.find("\"size_diff\"", p)) != std::string::npos; p++) n++;
  EXPECT_EQ(n, 11u);
  EXPECT_NE(out_.find("\"traceback\":[{"), std::string::npos);
}

TEST_F(CliTest, InfoHelpVersion) {
  EXPECT_EQ(Run("info new.hsnap"), 0) << err_;
  EXPECT_NE(out_.find("pid: 4243"), std::string::npos) << out_;
  EXPECT_NE(out_.find("command line: python3 /app/main.py --fast"), std::string::npos);
  EXPECT_NE(out_.find("sites: 9"), std::string::npos);
  EXPECT_EQ(Run("--help"), 0);
  EXPECT_NE(out_.find("usage: heapshape"), std::string::npos);
  EXPECT_EQ(Run("help"), 0);
  EXPECT_EQ(Run("--version"), 0);
  EXPECT_EQ(out_.rfind("heapshape ", 0), 0u);
}

TEST_F(CliTest, AnatomySizesAndKeyType) {
  std::string anat = dir_ + "/anat.hsnap";
  {
    hsa_snapshot s;
    hsa_error err;
    ASSERT_EQ(hsa_fixture_build(1, &s, &err), 0) << err.msg;
    ASSERT_EQ(hsa_fixture_add_anatomy(&s, &err), 0) << err.msg;
    ASSERT_EQ(hsa_snapshot_write_file(&s, anat.c_str(), &err), 0) << err.msg;
    hsa_snapshot_free(&s);
  }
  EXPECT_EQ(Run("anatomy anat.hsnap --limit 1"), 0) << err_;
  EXPECT_EQ(out_.rfind("/app/new.py:3 (<module>): tuple: objects=2, total=2048 B", 0), 0u) << out_;
  EXPECT_NE(out_.find("    shape: tuple(float, int, str) (2/2)\n"), std::string::npos) << out_;
  EXPECT_NE(out_.find("\ntotal: live="), std::string::npos) << out_;
  EXPECT_EQ(Run("anatomy anat.hsnap --format json --include '/app/a.py'"), 0) << err_;
  EXPECT_EQ(out_.rfind("{\"rows\":[{\"filename\":\"/app/a.py\"", 0), 0u) << out_;
  EXPECT_NE(out_.find("\"total_rows\":2}"), std::string::npos) << out_;
  EXPECT_EQ(Run("stats anat.hsnap --key type --limit 2"), 0) << err_;
  EXPECT_EQ(out_, "tuple: size=2048 B, count=2, average=1024 B\nP: size=1040 B, count=10, average=104 B\n");
  EXPECT_EQ(Run("sizes anat.hsnap"), 0) << err_;
  EXPECT_NE(out_.find("0: 28 bytes\n2**30: 32 bytes\n"), std::string::npos) << out_;
  EXPECT_NE(out_.find("{}: 64 bytes\n"), std::string::npos) << out_;
  EXPECT_EQ(Run("sizes anat.hsnap --format json"), 0) << err_;
  EXPECT_EQ(out_.rfind("{\"python_version\":\"3.11.2\",\"sizes\":[", 0), 0u) << out_;
  EXPECT_EQ(Run("info anat.hsnap"), 0);
  EXPECT_NE(out_.find("anatomy: 7 types, 5 rows, 4 shapes"), std::string::npos) << out_;
  // usage errors
  EXPECT_EQ(Run("anatomy anat.hsnap --key type"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("sizes"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("sizes anat.hsnap --bogus"), 2);
  ExpectOneErrorLine();
}

TEST_F(CliTest, NoAnatomyIsExit2WithReason) {
  // The fixtures are v2 snapshots without anatomy (flags2 clear, python 3.11.2).
  for (const char *cmd : {"anatomy new.hsnap", "sizes new.hsnap", "stats new.hsnap --key type",
                          "diff old.hsnap new.hsnap --key type"}) {
    EXPECT_EQ(Run(cmd), 2) << cmd;
    ExpectOneErrorLine();
    EXPECT_NE(err_.find("needs object anatomy, which this snapshot does not have"),
              std::string::npos)
        << err_;
    EXPECT_NE(err_.find("HEAPSHAPE_ANATOMY=0"), std::string::npos) << err_;
  }
  EXPECT_EQ(Run("info new.hsnap"), 0);
  EXPECT_NE(out_.find("anatomy: none (the anatomy pass did not run)"), std::string::npos) << out_;
  EXPECT_EQ(Run("--version"), 0);
  EXPECT_NE(out_.find("reads snapshot format versions 1 to 6"), std::string::npos) << out_;
  EXPECT_EQ(Run("--help"), 0);
  EXPECT_NE(out_.find("anatomy FILE"), std::string::npos);
  EXPECT_NE(out_.find("sizes FILE"), std::string::npos);
}

// A harmless library stands in for the shim: these tests check the CLI, not the shim.
const char kFakeShim[] = "HEAPSHAPE_PRELOAD=/lib/x86_64-linux-gnu/libm.so.6";

TEST_F(CliTest, RunPassesEnvironmentAndExitStatus) {
  // The child checks its environment, "writes" its snapshot and exits 3.
  std::string child =
      "sh -c 'test \"$HEAPSHAPE_ROOT_PID\" = \"$$\" || exit 90; "
      "test \"$HEAPSHAPE_DIR\" = \"$PWD\" || exit 91; "
      "test \"$HEAPSHAPE_FRAMES\" = 7 || exit 92; "
      "case \"$LD_PRELOAD\" in /*libm.so.6*) ;; *) exit 93;; esac; "
      "test \"$HEAPSHAPE_OUTPUT\" = \"$PWD/out.hsnap\" || exit 94; "
      "cp old.hsnap \"$HEAPSHAPE_OUTPUT\"; exit 3'";
  EXPECT_EQ(Run("run -o out.hsnap --frames 7 -- " + child, kFakeShim), 3) << err_;
  EXPECT_NE(err_.find("heapshape: snapshot written to " + dir_ + "/out.hsnap"),
            std::string::npos)
      << err_;
  EXPECT_NE(err_.find("live at exit: 11.9 MiB in 25 blocks"), std::string::npos) << err_;
  EXPECT_NE(err_.find("/usr/lib/python3.11/json/decoder.py:353: size=11.8 MiB, count=10"),
            std::string::npos);
  EXPECT_EQ(out_, "");
}

TEST_F(CliTest, RunDefaultNameAndChildSnapshots) {
  std::string child =
      "sh -c 'cp old.hsnap \"$HEAPSHAPE_OUTPUT\"; cp old.hsnap heapshape-sh-99999.hsnap'";
  EXPECT_EQ(Run("run -- " + child, kFakeShim), 0) << err_;
  // heapshape-<program>-<childpid>.hsnap with program "sh" (hs_program_name).
  size_t at = err_.find("snapshot written to " + dir_ + "/heapshape-sh-");
  ASSERT_NE(at, std::string::npos) << err_;
  EXPECT_NE(err_.find("1 more snapshot from child processes"), std::string::npos) << err_;
  EXPECT_NE(err_.find("heapshape-sh-99999.hsnap (pid 99999)"), std::string::npos) << err_;
}

// Children write into the current directory (HEAPSHAPE_DIR) even when -o puts the root's
// snapshot elsewhere; the summary lists each one on its own line.
TEST_F(CliTest, RunListsEveryChildSnapshot) {
  ASSERT_EQ(system(("mkdir -p '" + dir_ + "/sub'").c_str()), 0);
  std::string child =
      "sh -c 'cp old.hsnap \"$HEAPSHAPE_OUTPUT\"; cp old.hsnap heapshape-worker-11111.hsnap; "
      "cp old.hsnap heapshape-multiprocessing.spawn-22222.hsnap'";
  EXPECT_EQ(Run("run -o sub/out.hsnap -- " + child, kFakeShim), 0) << err_;
  EXPECT_NE(err_.find("snapshot written to " + dir_ + "/sub/out.hsnap"), std::string::npos) << err_;
  EXPECT_NE(err_.find("2 more snapshots from child processes in " + dir_ + ":\n"),
            std::string::npos) << err_;
  EXPECT_NE(err_.find("\nheapshape:   heapshape-worker-11111.hsnap (pid 11111)\n"),
            std::string::npos) << err_;
  EXPECT_NE(err_.find("\nheapshape:   heapshape-multiprocessing.spawn-22222.hsnap (pid 22222)\n"),
            std::string::npos) << err_;
}

TEST_F(CliTest, RunReportsMissingSnapshotAndSignal) {
  EXPECT_EQ(Run("run -o never.hsnap -- sh -c 'kill -TERM $$'", kFakeShim), 128 + 15) << err_;
  EXPECT_NE(err_.find("no snapshot was written to " + dir_ + "/never.hsnap"), std::string::npos)
      << err_;
  EXPECT_NE(err_.find("killed by signal 15"), std::string::npos) << err_;
}

TEST_F(CliTest, RunErrors) {
  EXPECT_EQ(Run("run -o /nonexistent-dir/x.hsnap -- true", kFakeShim), 2);
  ExpectOneErrorLine();
  EXPECT_NE(err_.find("cannot write snapshots to /nonexistent-dir: No such file or directory"),
            std::string::npos)
      << err_;
  EXPECT_EQ(Run("run -- ./no-such-program", kFakeShim), 2);
  ExpectOneErrorLine();
  EXPECT_NE(err_.find("cannot run \"./no-such-program\""), std::string::npos) << err_;
  EXPECT_EQ(Run("run", kFakeShim), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("run -- true", "HEAPSHAPE_PRELOAD=/nonexistent/libheapshape.so"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("run --frames 0 -- true", kFakeShim), 2);
  ExpectOneErrorLine();
}

TEST_F(CliTest, RunPassesNativeSamplingAndInterval) {
  std::string hist = dir_ + "/hist.hsnap";
  {
    hsa_snapshot s;
    hsa_error err;
    ASSERT_EQ(hsa_fixture_build(1, &s, &err), 0) << err.msg;
    ASSERT_EQ(hsa_fixture_add_history(&s, 1, &err), 0) << err.msg;
    ASSERT_EQ(hsa_snapshot_write_file(&s, hist.c_str(), &err), 0) << err.msg;
    hsa_snapshot_free(&s);
  }
  std::string child =
      "sh -c 'test \"$HEAPSHAPE_NATIVE\" = 1 || exit 90; "
      "test \"$HEAPSHAPE_SAMPLE_RATE\" = 65536 || exit 91; "
      "test \"$HEAPSHAPE_INTERVAL\" = 0.250000000 || exit 92; "
      "cp hist.hsnap \"$HEAPSHAPE_OUTPUT\"'";
  EXPECT_EQ(Run("run -o o.hsnap --native --sample-rate 64K --interval 0.25 -- " + child,
                kFakeShim),
            0)
      << err_;
  EXPECT_NE(err_.find("sampled every 16384 bytes on average"), std::string::npos) << err_;
  EXPECT_NE(err_.find("heapshape: peak: "), std::string::npos) << err_;
  EXPECT_NE(err_.find("--peak"), std::string::npos) << err_;
  // without the options the variables are not set
  EXPECT_EQ(Run("run -o o.hsnap -- sh -c 'test -z \"$HEAPSHAPE_NATIVE$HEAPSHAPE_SAMPLE_RATE"
                "$HEAPSHAPE_INTERVAL\"'",
                kFakeShim),
            0)
      << err_;
  for (const char *bad : {"--sample-rate 0", "--sample-rate 3X", "--sample-rate 4G",
                          "--interval 0", "--interval abc", "--sample-rate"}) {
    EXPECT_EQ(Run(std::string("run ") + bad + " -- true", kFakeShim), 2) << bad;
    ExpectOneErrorLine();
  }
  EXPECT_EQ(Run("run --sample-rate=1M -- sh -c 'test \"$HEAPSHAPE_SAMPLE_RATE\" = 1048576'",
                kFakeShim),
            0)
      << err_;
  EXPECT_EQ(Run("run --repeat 2 --sample-rate 64K -- true", kFakeShim), 2);
  ExpectOneErrorLine();
}

TEST_F(CliTest, PeakTimelineAndSampledOutput) {
  std::string hist = dir_ + "/hist.hsnap";
  {
    hsa_snapshot s;
    hsa_error err;
    ASSERT_EQ(hsa_fixture_build(1, &s, &err), 0) << err.msg;
    ASSERT_EQ(hsa_fixture_add_history(&s, 1, &err), 0) << err.msg;
    ASSERT_EQ(hsa_snapshot_write_file(&s, hist.c_str(), &err), 0) << err.msg;
    hsa_snapshot_free(&s);
  }
  EXPECT_EQ(Run("stats hist.hsnap --peak --limit 2"), 0) << err_;
  EXPECT_EQ(out_,
            "/usr/lib/python3.11/json/decoder.py:353: size=11.8 MiB, count=10, average=1206 KiB\n"
            "/app/a.py:10: size=2930 KiB, count=32, average=91.6 KiB\n");
  EXPECT_EQ(err_, "");
  EXPECT_EQ(Run("stats hist.hsnap --limit 1"), 0) << err_;
  EXPECT_EQ(out_,
            "/usr/lib/python3.11/json/decoder.py:353: size=11.8 MiB (±500 B), count=10, "
            "average=1206 KiB\n");
  EXPECT_EQ(Run("stats hist.hsnap --limit 1 --format json"), 0) << err_;
  EXPECT_NE(out_.find("\"size_stderr\":500}"), std::string::npos) << out_;
  EXPECT_EQ(Run("diff old.hsnap hist.hsnap --limit 1"), 0) << err_;
  EXPECT_NE(out_.find(") (±"), std::string::npos) << out_;
  EXPECT_EQ(Run("info hist.hsnap"), 0) << err_;
  EXPECT_NE(out_.find("sampled every 16384 bytes on average"), std::string::npos) << out_;
  EXPECT_NE(out_.find("peak copy: 15347366 bytes (14.6 MiB) in 46 blocks, taken 2.500 s"),
            std::string::npos)
      << out_;
  EXPECT_NE(out_.find("timeline: 5 samples over 3.200 s"), std::string::npos) << out_;
  EXPECT_EQ(Run("timeline hist.hsnap --format json"), 0) << err_;
  EXPECT_EQ(out_.rfind("{\"interval_ns\":20000000,\"sample_rate\":16384,\"samples\":[{\"t\":0.010000,"
                       "\"live_bytes\":1000000,\"live_count\":10,\"top\":[{\"filename\":"
                       "\"/usr/lib/python3.11/json/decoder.py\",\"lineno\":353,\"function\":"
                       "\"raw_decode\",\"bytes\":500000},{\"filename\":\"/app/a.py\"",
                       0),
            0u)
      << out_;
  EXPECT_EQ(Run("timeline hist.hsnap --width 10"), 0) << err_;
  EXPECT_NE(out_.find("    2.500s   14.6 MiB |##########| /usr/lib/python3.11/json/decoder.py:353"),
            std::string::npos)
      << out_;
  EXPECT_NE(out_.find("    0.010s    977 KiB |#         |"), std::string::npos) << out_;
  // errors: no peak copy, no timeline (v3 without them, and v2), bad options
  EXPECT_EQ(Run("stats new.hsnap --peak"), 2);
  ExpectOneErrorLine();
  EXPECT_NE(err_.find("--peak needs the snapshot's copy of the live memory at the peak"),
            std::string::npos)
      << err_;
  EXPECT_EQ(out_, "");
  EXPECT_EQ(Run("timeline new.hsnap"), 2);
  ExpectOneErrorLine();
  EXPECT_NE(err_.find("has no timeline"), std::string::npos) << err_;
  EXPECT_EQ(Run("timeline hist.hsnap --width 0"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("timeline"), 2);
  ExpectOneErrorLine();
  EXPECT_EQ(Run("anatomy hist.hsnap --peak"), 2);
  ExpectOneErrorLine();
}

}  // namespace
