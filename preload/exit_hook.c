/* heapshape exit hook: the exit snapshot is taken when the interpreter starts finalizing,
 * while module globals are still alive, without changing anything the program can see (no
 * module added to sys.modules; on 3.8/3.9 not even an entry in atexit's private
 * atexit._ncallbacks(), which counts one more from 3.10).
 *
 * How, per version (every symbol looked up with dlsym; no libpython is linked):
 *   3.8, 3.9   Py_FinalizeEx calls one interpreter-wide "Python exit function"
 *              (interp->pyexitfunc), which the atexit module installs with _Py_PyAtExit
 *              when it is imported. The shim exports its own _Py_PyAtExit: it remembers the
 *              atexit module's function and installs a chain that runs it first (the
 *              program's atexit callbacks) and then takes the snapshot. Before the program
 *              imports atexit (if ever) the chain is installed alone. This needs the call
 *              from the atexit module to go through the PLT (a shared libpython, as pyenv
 *              builds it); a static 3.8/3.9 binary falls back to the 3.10+ way below, and a
 *              later `import atexit` there (which re-creates the module and its exit
 *              function) leaves the snapshot to the library destructor.
 *   3.10+      the atexit callbacks live in the interpreter state, not in the module
 *              object: the shim imports atexit, registers a C function and, when atexit was
 *              not already in sys.modules, removes it again (a later `import atexit` by the
 *              program makes a new module object over the same interpreter state, so the
 *              callback stays registered). The module object is kept referenced.
 *   The C-level hooks (Py_AtExit, 3.12's _Py_AtExit, 3.13's PyUnstable_AtExit) run after
 *   the modules are cleared, too late for a snapshot of the program's data (measured on
 *   3.12.1 and 3.13.0: a global list of 200,000 floats was gone from a snapshot taken there).
 *
 * Runs from a pending call (main thread, GIL held); nothing here holds hs_lock. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

#include "preload/core.h"
#include "preload/pychain.h"

struct hs_pymethoddef {
  const char *ml_name;
  void *(*ml_meth)(void *, void *);
  int ml_flags;
  const char *ml_doc;
};

#define HS_DLSYM(var, name) (*(void **)&(var) = dlsym(RTLD_DEFAULT, name))

typedef void (*hs_pyexitfunc)(void *module);

void _Py_PyAtExit(hs_pyexitfunc func, void *module);
static void (*real_Py_PyAtExit)(hs_pyexitfunc, void *);
static hs_pyexitfunc hs_prev_exitfunc; /* the atexit module's, 3.8/3.9 */
static int hs_chain_installed;

/* Takes the exit snapshot once; the tracking of finalization's frees stops after it. */
static void hs_exit_snapshot(void) {
  if (hs_active && !hs_proc.final_written) {
    int saved = hs_busy;
    hs_busy = 1;
    hs_proc.final_written = 1;
    int gil = hs_py_hooked && hs_py_holds_gil();
    if (gil) hs_py_exit_release(); /* pyhooks.c: caches nothing uses after this snapshot */
    hs_native_exit_release();      /* core.c: the same */
    hs_exit_write(); /* writers.c */
    /* Nothing more will be written: interpreter finalization frees every object, and
     * tracking those frees would only cost time (a third of the run on 1M live dicts). */
    hs_active = 0;
    /* and finalization's frees and deallocations need not pass through the shim at all
     * (GIL held: every caller here is the interpreter's exit path) */
    if (gil) {
      hs_chain_exit();    /* pychain.c */
      hs_reattrib_exit(); /* reattrib.c */
    }
    hs_busy = saved;
  }
}

/* ---- 3.8, 3.9 ---- */

static void hs_exit_chain(void *module) {
  if (hs_prev_exitfunc) hs_prev_exitfunc(module); /* the program's atexit callbacks first */
  hs_exit_snapshot();
}

/* 1 unless the calling thread runs a subinterpreter (whose end must not take the snapshot). */
static int hs_main_interpreter(void) {
  void *(*get)(void), *(*main_interp)(void);
  if (!HS_DLSYM(get, "PyInterpreterState_Get") && !HS_DLSYM(get, "_PyInterpreterState_Get"))
    return 1;
  if (!HS_DLSYM(main_interp, "PyInterpreterState_Main")) return 1;
  return get() == main_interp();
}

/* Interposes libpython's _Py_PyAtExit (3.8, 3.9; absent from 3.10 on, where nothing calls
 * this). */
__attribute__((visibility("default"))) void _Py_PyAtExit(hs_pyexitfunc func, void *module) {
  if (!real_Py_PyAtExit) *(void **)&real_Py_PyAtExit = dlsym(RTLD_NEXT, "_Py_PyAtExit");
  if (!real_Py_PyAtExit) return;
  if (func == hs_exit_chain || !hs_py_hooked || !hs_main_interpreter()) {
    real_Py_PyAtExit(func, module);
    return;
  }
  hs_prev_exitfunc = func;
  hs_chain_installed = 1;
  real_Py_PyAtExit(hs_exit_chain, module);
}

/* ---- 3.10+ (and static 3.8/3.9) ---- */

static void *hs_py_exit_cb(void *self, void *unused) {
  (void)self;
  (void)unused;
  hs_exit_snapshot();
  void *(*build)(const char *, ...);
  *(void **)&build = dlsym(RTLD_DEFAULT, "Py_BuildValue");
  return build ? build("") : NULL;
}

static struct hs_pymethoddef hs_exit_def = {"_heapshape_exit_snapshot", hs_py_exit_cb,
                                            0x0004 /* METH_NOARGS */, NULL};

static int hs_register_hidden(void) {
  void *(*import)(const char *), *(*cfunc)(void *, void *, void *);
  void *(*callm)(void *, const char *, const char *, ...);
  void *(*moddict)(void), *(*getitem)(void *, const char *);
  int (*delitem)(void *, const char *);
  void (*decref)(void *), (*errclear)(void);
  if (!HS_DLSYM(import, "PyImport_ImportModule") || !HS_DLSYM(cfunc, "PyCFunction_NewEx") ||
      !HS_DLSYM(callm, "PyObject_CallMethod") || !HS_DLSYM(moddict, "PyImport_GetModuleDict") ||
      !HS_DLSYM(getitem, "PyDict_GetItemString") || !HS_DLSYM(delitem, "PyDict_DelItemString") ||
      !HS_DLSYM(decref, "Py_DecRef") || !HS_DLSYM(errclear, "PyErr_Clear"))
    return -1;
  void *modules = moddict();
  int had = modules && getitem(modules, "atexit") != NULL; /* borrowed */
  void *mod = import("atexit");
  void *fn = mod ? cfunc(&hs_exit_def, NULL, NULL) : NULL;
  void *r = fn ? callm(mod, "register", "O", fn) : NULL;
  if (mod && !had && modules && delitem(modules, "atexit") != 0) errclear();
  /* mod stays referenced: 3.8/3.9 keep the callbacks in the module's state */
  if (!r) errclear();
  decref(r);
  decref(fn);
  return r ? 0 : -1;
}

int hs_exit_hook_register(void *arg) {
  (void)arg;
  int ok = 0; /* what this allocates is recorded at <unknown>:0 (hs_py_own, set by the caller) */
  if (hs_pyi.minor == 8 || hs_pyi.minor == 9) {
    void *def = dlsym(RTLD_DEFAULT, "_Py_PyAtExit");
    if (!real_Py_PyAtExit) *(void **)&real_Py_PyAtExit = dlsym(RTLD_NEXT, "_Py_PyAtExit");
    /* our definition is the one the interpreter's calls bind to (a shared libpython) */
    if (def == (void *)_Py_PyAtExit && real_Py_PyAtExit) {
      if (!hs_chain_installed) {
        hs_chain_installed = 1;
        real_Py_PyAtExit(hs_exit_chain, NULL);
      }
      ok = 1;
    }
  }
  if (!ok && hs_register_hidden() == 0) ok = 1;
  if (!ok)
    hs_warn3("could not register the exit snapshot with the interpreter; ",
             "the snapshot will be taken at process exit", "");
  return 0;
}
