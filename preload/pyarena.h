/* heapshape: the Python allocators untraced (HEAPSHAPE_PYTHON_ALLOCATORS=untraced), and the
 * one-way switch to traced (pyarena.c). */
#ifndef HEAPSHAPE_PRELOAD_PYARENA_H
#define HEAPSHAPE_PRELOAD_PYARENA_H

#include "preload/core.h"

/* 1 while the MEM and OBJ domains carry no heapshape hooks (set by hs_py_init from
 * HEAPSHAPE_PYTHON_ALLOCATORS=untraced, cleared for good by heapshape_trace_python_allocators). */
extern int hs_py_untraced HS_HIDDEN;
/* Constructor (hs_py_init, untraced only): puts the arena hook on pymalloc's arena allocator.
 * 0 on success; -1 when this Python has no arena allocator API (the caller then traces the
 * Python allocators as usual). */
int hs_arena_init(void) HS_HIDDEN;
/* pyhooks.c: installs the MEM and OBJ hooks and starts free-list re-attribution (GIL held). */
void hs_py_trace_python(void) HS_HIDDEN;

#endif /* HEAPSHAPE_PRELOAD_PYARENA_H */
