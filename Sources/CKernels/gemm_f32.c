// fp32 GEMM on packed B, two implementations with bit-identical results:
// - AVX-512: a 12x32 micro-kernel, 24 zmm accumulators (per row of A a vbroadcastss and two vfmadd231ps zmm);
// - AVX2:    a 6x16 micro-kernel, 12 ymm accumulators.
// Each element of C is one FMA chain over a K block (k ascending, starting from +0), then added once to C (or
// stored, for the first block of a non-accumulating call): the same operations in the same order whatever the tile
// shape, which is why the two agree to the bit — and agree with the Swift SIMD16 kernel they replace.
#include "CKernels.h"
#include "gemm_templates.h"

#if EMO_X86

// ---------------------------------------------------------------- AVX2
// 6 rows x 16 columns; B rows are 32 floats apart (one half of a packed 32-column panel). halfOnly: always (a
// 16-column tile).
EMO_TARGET_AVX2 static inline void f32_6x16(ptrdiff_t depth, const float *a, ptrdiff_t lda, const float *b,
                                            float *c, ptrdiff_t ldc, int accumulate, int halfOnly) {
    __m256 c0a = _mm256_setzero_ps(), c0b = _mm256_setzero_ps(), c1a = _mm256_setzero_ps(), c1b = _mm256_setzero_ps();
    __m256 c2a = _mm256_setzero_ps(), c2b = _mm256_setzero_ps(), c3a = _mm256_setzero_ps(), c3b = _mm256_setzero_ps();
    __m256 c4a = _mm256_setzero_ps(), c4b = _mm256_setzero_ps(), c5a = _mm256_setzero_ps(), c5b = _mm256_setzero_ps();
    const float *a0 = a, *a3 = a + 3 * lda;
    for (ptrdiff_t q = 0; q < depth; q++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x;
#define ROW(r, p, off) x = _mm256_broadcast_ss(p + q + off); c##r##a = _mm256_fmadd_ps(x, b0, c##r##a); c##r##b = _mm256_fmadd_ps(x, b1, c##r##b);
        ROW(0, a0, 0) ROW(1, a0, lda) ROW(2, a0, 2 * lda) ROW(3, a3, 0) ROW(4, a3, lda) ROW(5, a3, 2 * lda)
#undef ROW
        b += 32;
    }
    EMO_AVX2_OUT(0) EMO_AVX2_OUT(1) EMO_AVX2_OUT(2) EMO_AVX2_OUT(3) EMO_AVX2_OUT(4) EMO_AVX2_OUT(5)
}

// ---------------------------------------------------------------- AVX-512
// 12 rows x 32 columns (or only the first 16, for a last panel with at most 16 real columns): A broadcast with
// vbroadcastss, one FMA per row and half-panel.
#define F32_BCAST(p) _mm512_set1_ps(*(p))
EMO_TARGET_AVX512 static inline __m512 f32_madd(__m512 acc, __m512 x, __m512 b) { return _mm512_fmadd_ps(x, b, acc); }
EMO_MICRO_12x32(f32_12x32, EMO_TARGET_AVX512, float, float, float, 1, __m512, __m512, _mm512_setzero_ps(),
                _mm512_loadu_ps, F32_BCAST, f32_madd, _mm512_loadu_ps, _mm512_add_ps, _mm512_storeu_ps)

EMO_GEMM(emo_sgemm_packed, float, float, float, EMO_F32_KC, 1, EMO_TARGET_AVX512, f32_12x32, 6, f32_6x16)

#else
#error "emopipe's kernels need an x86-64 CPU (AVX2 + FMA)"
#endif
