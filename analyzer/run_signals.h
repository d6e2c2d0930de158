/* heapshape analyzer: signal forwarding of `heapshape run` (run_signals.c). */
#ifndef HEAPSHAPE_ANALYZER_RUN_SIGNALS_H
#define HEAPSHAPE_ANALYZER_RUN_SIGNALS_H

#include <sys/types.h>

/* Before fork: the forwarding handlers go in (the old dispositions are kept). */
void hsa_run_signals_begin(void);
/* In the parent after fork: the program to forward to. */
void hsa_run_signals_child(pid_t pid);
/* In the child before exec, and in the parent once the program ended: the old dispositions. */
void hsa_run_signals_end(void);

#endif
