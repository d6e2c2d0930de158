// hs_program_name (include/heapshape/naming.h): the <program> of heapshape-<program>-<pid>.hsnap,
// shared by the CLI and the shim: scripts, modules, -c code, other executables.
#include "heapshape/naming.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

static std::string Name(std::vector<const char *> argv) {
  char out[128];
  hs_program_name((int)argv.size(), argv.data(), out, sizeof out);
  return out;
}

TEST(Naming, ScriptsModulesAndExecutables) {
  EXPECT_EQ(Name({"/usr/bin/python3.11", "app.py", "--x"}), "app");
  EXPECT_EQ(Name({"python3", "-X", "dev", "-u", "/srv/tools/load_data.py"}), "load_data");
  EXPECT_EQ(Name({"python", "-m", "pytest", "-q"}), "pytest");
  EXPECT_EQ(Name({"python", "-mhttp.server"}), "http.server");
  EXPECT_EQ(Name({"/bin/sh", "-c", "true"}), "sh");
  EXPECT_EQ(Name({"./my prog"}), "my_prog");
  EXPECT_EQ(Name({}), "program");
}

TEST(Naming, DashCIsNamedAfterWhatItImports) {
  // multiprocessing's spawn, forkserver and resource tracker children
  EXPECT_EQ(Name({"/usr/bin/python3.11", "-c",
                  "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, "
                  "pipe_handle=7)",
                  "--multiprocessing-fork"}),
            "multiprocessing.spawn");
  EXPECT_EQ(Name({"python3", "-c", "from multiprocessing.resource_tracker import main;main(5)"}),
            "multiprocessing.resource_tracker");
  EXPECT_EQ(Name({"python3", "-c", "  import json, sys; json.dump({}, sys.stdout)"}), "json");
  // code that does not start with an import keeps the generic name
  EXPECT_EQ(Name({"python3", "-c", "x = [0] * 10**6"}), "python-c");
  EXPECT_EQ(Name({"python3", "-c"}), "python-c");
}
