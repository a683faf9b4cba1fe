#ifndef EMOPIPE_COPENBLAS_SHIM_H
#define EMOPIPE_COPENBLAS_SHIM_H
/* OpenBLAS cblas interface (Debian's pthreads build). Not named cblas.h on purpose: the guard would collide. */
#include <cblas.h>
/* OpenBLAS extensions, declared in cblas.h of the OpenBLAS build. */
static inline void emo_openblas_set_threads(int n) { openblas_set_num_threads(n); }
static inline const char *emo_openblas_corename(void) { return openblas_get_corename(); }
#endif
