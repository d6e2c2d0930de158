/* heapshape fuzzing: one libFuzzer target per snapshot section. Built once per section with
 * -DHS_FUZZ_TAG=HS_TAG_<SECTION> (tests/fuzz/BUILD); fuzz_file (no HS_FUZZ_TAG) mutates whole
 * files: header, section headers, lengths, order. Each input is read and, when valid, run
 * through the computations that use the section (fuzz_file: all of them; fuzz_harness.h). */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
#ifdef HS_FUZZ_TAG
  hs_fuzz_read_and_consume(data, size, -(int)HS_FUZZ_TAG);
#else
  hs_fuzz_read_and_consume(data, size, 1);
#endif
  return 0;
}

#ifdef HS_FUZZ_TAG
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed) {
  return hs_fuzz_mutate_section(data, size, max_size, seed, HS_FUZZ_TAG);
}
#endif
