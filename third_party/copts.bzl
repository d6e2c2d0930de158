"""Compiler flags for heapshape targets.

Use HS_COPTS for every C target (cc_library/cc_binary with .c sources) and
HS_TEST_COPTS for C++ (GoogleTest) targets. They are deliberately not global
in .bazelrc, so that third-party wrappers and C++ tests don't get C-only flags.
"""

HS_COPTS = [
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wmissing-prototypes",
    "-Wstrict-prototypes",
    "-Wshadow",
    "-Wpointer-arith",
    "-Wcast-align",
    "-Wwrite-strings",
    "-Wformat=2",
    "-Wundef",
    "-Wno-unused-parameter",
]

HS_TEST_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
]
