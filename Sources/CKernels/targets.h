// The instruction sets each kernel is compiled for (function attributes: the rest of the target stays x86-64-v3).
#ifndef EMOPIPE_TARGETS_H
#define EMOPIPE_TARGETS_H
#if defined(__x86_64__)
#include <immintrin.h>
#define EMO_X86 1
#define EMO_TARGET_AVX2 __attribute__((target("avx2,fma,f16c,bmi2")))
#define EMO_TARGET_AVX512 __attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512dq,avx512vl")))
#define EMO_TARGET_AVX512_VNNI __attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define EMO_TARGET_AVX512_BF16 __attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))
#endif
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#define EMO_MIN(a, b) ((a) < (b) ? (a) : (b))

// Shared by every GEMM driver (fp32, bf16, int8; AVX-512 and AVX2): plain loops, inlined into each caller's target.

// The last `rest` (< mr) rows of A copied into `scratch` (rows of `k` elements) and zero-padded to `mr` rows, so a
// micro-kernel always reads whole blocks of rows. Nothing to do when the rows divide into blocks.
static inline void emo_copy_rows_padded(void *scratch, const void *a, ptrdiff_t lda, ptrdiff_t k, ptrdiff_t rest,
                                        ptrdiff_t mr, size_t elementSize) {
    if (rest <= 0) return;
    for (ptrdiff_t r = 0; r < mr; r++) {
        char *dst = (char *)scratch + (size_t)(r * k) * elementSize;
        if (r < rest) memcpy(dst, (const char *)a + (size_t)(r * lda) * elementSize, (size_t)k * elementSize);
        else memset(dst, 0, (size_t)k * elementSize);
    }
}
#endif
