/* Prints, for the CPython whose headers it is compiled against, the offsets heapshape's shim
 * reads (preload/pyframe_layout.c's table, preload/object_census.c's layouts), measured with
 * offsetof. Built and compared with those tables by tests/e2e/test_py_layout.py:
 *
 *   gcc -std=gnu11 -I ROOT/usr/include/python3.14 -I ROOT/usr/include tools/pyoffsets.c
 *
 * (ROOT from tools/fetch_pythons.sh; a pyenv build: -I $(pyenv root)/versions/V/include/python3.X)
 * Output: one "name value" per line; "frame_table" is the hs_fl_table row. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#if PY_MINOR_VERSION >= 14
#include "internal/pycore_interpframe.h"
#else
#include "internal/pycore_frame.h"
#endif
#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_gc.h"
#include "internal/pycore_object.h"
#include "internal/pycore_runtime.h"
#include "internal/pycore_tstate.h"

#define P(name, x) printf("%s %zu\n", name, (size_t)(x))

int main(void) {
  printf("version %s\n", PY_VERSION);
  printf("frame_table {%d, %zu, %zu, %zu, %zu, %zu, %zu, %zu, %zu, %zu, %zu, %zu, 1}\n",
         PY_MINOR_VERSION, offsetof(PyThreadState, current_frame),
         offsetof(_PyInterpreterFrame, previous), offsetof(_PyInterpreterFrame, f_executable),
         offsetof(_PyInterpreterFrame, instr_ptr), offsetof(_PyInterpreterFrame, owner),
         offsetof(PyCodeObject, _co_firsttraceable), offsetof(PyCodeObject, co_code_adaptive),
         offsetof(PyCodeObject, co_filename), offsetof(PyCodeObject, co_name),
         sizeof(PyASCIIObject), sizeof(PyCompactUnicodeObject));
  P("gc_head", sizeof(PyGC_Head));
  P("tuple_ob_item", offsetof(PyTupleObject, ob_item));
  P("list_ob_item", offsetof(PyListObject, ob_item));
  P("dict_ma_keys", offsetof(PyDictObject, ma_keys));
  P("dict_ma_values", offsetof(PyDictObject, ma_values));
  P("dictkeys_log2_index_bytes", offsetof(PyDictKeysObject, dk_log2_index_bytes));
  P("dictkeys_kind", offsetof(PyDictKeysObject, dk_kind));
  P("dictkeys_nentries", offsetof(PyDictKeysObject, dk_nentries));
  P("dictkeys_indices", offsetof(PyDictKeysObject, dk_indices));
  P("dictvalues_values", offsetof(PyDictValues, values));
  P("set_table", offsetof(PySetObject, table));
  P("set_smalltable", offsetof(PySetObject, smalltable));
  P("bytearray_ob_bytes", offsetof(PyByteArrayObject, ob_bytes));
  P("type_tp_members", offsetof(PyTypeObject, tp_members));
  P("type_tp_flags", offsetof(PyTypeObject, tp_flags));
  P("type_tp_dictoffset", offsetof(PyTypeObject, tp_dictoffset));
  P("heaptype_ht_cached_keys", offsetof(PyHeapTypeObject, ht_cached_keys));
  P("managed_dict_offset", -MANAGED_DICT_OFFSET);
  P("memberdef_size", sizeof(PyMemberDef));
  return 0;
}
