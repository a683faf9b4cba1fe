#ifndef EMOPIPE_CFFTW_SHIM_H
#define EMOPIPE_CFFTW_SHIM_H
/* FFTW 3, single precision (fftwf_*). Plans are made once behind a lock; execute is thread-safe. */
#include <fftw3.h>
#endif
