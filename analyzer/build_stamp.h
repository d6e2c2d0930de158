/* heapshape CLI: the ./heapshape wrapper's "is the build current" check, done by the built CLI
 * itself so that the wrapper starts no process before it (a bash loop of `-nt` tests over the
 * ~140 entries cost 4-5 ms; here it is a few hundred microseconds; docs/PERFORMANCE.md).
 *
 * The wrapper (a checkout's ./heapshape, not the installed wheel) builds when a binary or the
 * stamp is missing, else execs the CLI with HEAPSHAPE_BUILD_STAMP (the stamp file) and
 * HEAPSHAPE_WRAPPER (its own path). The stamp lists "f PATH" (the built targets' sources and
 * every BUILD/.bzl/WORKSPACE file: one newer than the stamp, or gone, means a build) and
 * "d PATH" (every directory of the tree: one newer than the stamp is read, and a new file
 * under preload/ analyzer/ include/ third_party/, a new BUILD/.bzl file or a new directory
 * holding one means a build). When a build is needed the CLI execs the wrapper again with
 * HEAPSHAPE_FORCE_BUILD=1; after a build the wrapper passes HEAPSHAPE_JUST_BUILT=1 and the
 * check is skipped (no loop, even for a file dated in the future). The variables are removed
 * from the environment before anything else runs. */
#ifndef HEAPSHAPE_ANALYZER_BUILD_STAMP_H
#define HEAPSHAPE_ANALYZER_BUILD_STAMP_H

/* 1 if the stamp at stamp_path says the checkout at repo needs a build (or cannot be read). */
int hsa_build_stale(const char *stamp_path, const char *repo);

/* The check above when the wrapper asked for it; returns only when no build is needed (or the
 * wrapper cannot be run again). */
void hsa_build_check(char **argv);

#endif /* HEAPSHAPE_ANALYZER_BUILD_STAMP_H */
