/* The program name used in default snapshot file names: heapshape-<program>-<pid>.hsnap.
 * Shared, header-only, by the CLI (`heapshape run` computes the root process's file name) and
 * the shim (names the files of children and of on-demand snapshots), so both agree.
 * No allocation, no stdio: safe in the shim. */
#ifndef HEAPSHAPE_NAMING_H
#define HEAPSHAPE_NAMING_H

#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline const char *hs_basename(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* For `python -c CODE`: the module CODE starts by importing ("from multiprocessing.spawn
 * import spawn_main; ..." -> multiprocessing.spawn, "import json; ..." -> json), so children
 * started with -c are named after what they run. Otherwise leaves name and cut alone. */
static inline void hs_code_module(const char *code, const char **name, size_t *cut) {
  while (*code == ' ' || *code == '\t' || *code == '\n' || *code == ';') code++;
  size_t skip = strncmp(code, "from ", 5) == 0 ? 5 : strncmp(code, "import ", 7) == 0 ? 7 : 0;
  if (!skip) return;
  code += skip;
  while (*code == ' ') code++;
  size_t n = 0;
  while ((code[n] >= 'a' && code[n] <= 'z') || (code[n] >= 'A' && code[n] <= 'Z') ||
         (code[n] >= '0' && code[n] <= '9') || code[n] == '_' || code[n] == '.')
    n++;
  if (n) {
    *name = code;
    *cut = n;
  }
}

/* Copies into out (size outlen >= 2) a file-name-safe program name for the command argv[0..argc).
 * For a Python interpreter (basename starting with "python"): the script's base name without
 * ".py", the module of "-m module", for "-c CODE" the module CODE imports first (else
 * "python-c"); otherwise the executable's base name. Characters outside [A-Za-z0-9._-] become '_'. */
static inline void hs_program_name(int argc, const char *const *argv, char *out, size_t outlen) {
  const char *name = argc > 0 && argv[0] ? hs_basename(argv[0]) : "program";
  size_t cut = strlen(name);
  if (strncmp(name, "python", 6) == 0) {
    for (int i = 1; i < argc; i++) {
      const char *a = argv[i];
      if (strcmp(a, "-c") == 0) {
        name = "python-c";
        cut = strlen(name);
        if (i + 1 < argc) hs_code_module(argv[i + 1], &name, &cut);
        break;
      }
      if (strcmp(a, "-m") == 0) {
        if (i + 1 < argc) { name = argv[i + 1]; cut = strlen(name); }
        break;
      }
      if (strncmp(a, "-m", 2) == 0 && a[2]) { name = a + 2; cut = strlen(name); break; }
      if (strcmp(a, "-X") == 0 || strcmp(a, "-W") == 0 || strcmp(a, "--check-hash-based-pycs") == 0) {
        i++;
        continue;
      }
      if (a[0] == '-') continue;
      name = hs_basename(a);
      cut = strlen(name);
      if (cut > 3 && strcmp(name + cut - 3, ".py") == 0) cut -= 3;
      break;
    }
  }
  if (cut == 0) { name = "program"; cut = 7; }
  size_t n = 0;
  for (size_t i = 0; i < cut && n + 1 < outlen; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    out[n++] = ok ? c : '_';
  }
  out[n] = '\0';
}

#ifdef __cplusplus
}
#endif
#endif /* HEAPSHAPE_NAMING_H */
