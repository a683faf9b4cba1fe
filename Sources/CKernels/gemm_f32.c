// fp32 GEMM on packed B, two implementations with bit-identical results:
// - AVX-512: a 12x32 micro-kernel, 24 zmm accumulators (vfmadd231ps zmm with an embedded {1to16} broadcast of A);
// - AVX2:    a 6x16 micro-kernel, 12 ymm accumulators.
// Each element of C is one FMA chain over a K block (k ascending, starting from +0), then added once to C (or
// stored, for the first block of a non-accumulating call): the same operations in the same order whatever the tile
// shape, which is why the two agree to the bit — and agree with the Swift SIMD16 kernel they replace.
#include "CKernels.h"
#include "targets.h"

#if EMO_X86

// ---------------------------------------------------------------- AVX-512
#define MR512 12

EMO_TARGET_AVX512 static inline void f32_12x32(ptrdiff_t depth, const float *a, ptrdiff_t lda, const float *b,
                                               float *c, ptrdiff_t ldc, int accumulate) {
    __m512 c0a = _mm512_setzero_ps(), c0b = _mm512_setzero_ps(), c1a = _mm512_setzero_ps(), c1b = _mm512_setzero_ps();
    __m512 c2a = _mm512_setzero_ps(), c2b = _mm512_setzero_ps(), c3a = _mm512_setzero_ps(), c3b = _mm512_setzero_ps();
    __m512 c4a = _mm512_setzero_ps(), c4b = _mm512_setzero_ps(), c5a = _mm512_setzero_ps(), c5b = _mm512_setzero_ps();
    __m512 c6a = _mm512_setzero_ps(), c6b = _mm512_setzero_ps(), c7a = _mm512_setzero_ps(), c7b = _mm512_setzero_ps();
    __m512 c8a = _mm512_setzero_ps(), c8b = _mm512_setzero_ps(), c9a = _mm512_setzero_ps(), c9b = _mm512_setzero_ps();
    __m512 c10a = _mm512_setzero_ps(), c10b = _mm512_setzero_ps(), c11a = _mm512_setzero_ps(), c11b = _mm512_setzero_ps();
    const float *a0 = a, *a4 = a + 4 * lda, *a8 = a + 8 * lda;
    for (ptrdiff_t q = 0; q < depth; q++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        __m512 x;
#define ROW(r, p, off) x = _mm512_set1_ps(p[q + off]); c##r##a = _mm512_fmadd_ps(x, b0, c##r##a); c##r##b = _mm512_fmadd_ps(x, b1, c##r##b);
        ROW(0, a0, 0) ROW(1, a0, lda) ROW(2, a0, 2 * lda) ROW(3, a0, 3 * lda)
        ROW(4, a4, 0) ROW(5, a4, lda) ROW(6, a4, 2 * lda) ROW(7, a4, 3 * lda)
        ROW(8, a8, 0) ROW(9, a8, lda) ROW(10, a8, 2 * lda) ROW(11, a8, 3 * lda)
#undef ROW
        b += 32;
    }
#define OUT(r) { float *p = c + r * ldc; \
        if (accumulate) { c##r##a = _mm512_add_ps(c##r##a, _mm512_loadu_ps(p)); c##r##b = _mm512_add_ps(c##r##b, _mm512_loadu_ps(p + 16)); } \
        _mm512_storeu_ps(p, c##r##a); _mm512_storeu_ps(p + 16, c##r##b); }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7) OUT(8) OUT(9) OUT(10) OUT(11)
#undef OUT
}

// The same for a last panel with at most 16 real columns (reads the first half of each 32-float row of B).
EMO_TARGET_AVX512 static inline void f32_12x16(ptrdiff_t depth, const float *a, ptrdiff_t lda, const float *b,
                                               float *c, ptrdiff_t ldc, int accumulate) {
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
    __m512 c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps(), c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps();
    __m512 c8 = _mm512_setzero_ps(), c9 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    const float *a0 = a, *a4 = a + 4 * lda, *a8 = a + 8 * lda;
    for (ptrdiff_t q = 0; q < depth; q++) {
        __m512 b0 = _mm512_loadu_ps(b);
#define ROW(r, p, off) c##r = _mm512_fmadd_ps(_mm512_set1_ps(p[q + off]), b0, c##r);
        ROW(0, a0, 0) ROW(1, a0, lda) ROW(2, a0, 2 * lda) ROW(3, a0, 3 * lda)
        ROW(4, a4, 0) ROW(5, a4, lda) ROW(6, a4, 2 * lda) ROW(7, a4, 3 * lda)
        ROW(8, a8, 0) ROW(9, a8, lda) ROW(10, a8, 2 * lda) ROW(11, a8, 3 * lda)
#undef ROW
        b += 32;
    }
#define OUT(r) { float *p = c + r * ldc; if (accumulate) c##r = _mm512_add_ps(c##r, _mm512_loadu_ps(p)); _mm512_storeu_ps(p, c##r); }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7) OUT(8) OUT(9) OUT(10) OUT(11)
#undef OUT
}

EMO_TARGET_AVX512 static void sgemm_avx512(ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                                           const float *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, float *c,
                                           ptrdiff_t ldc, int accumulate, float *scratch) {
    ptrdiff_t panels = (n + 31) / 32, full = rows / MR512, rest = rows - full * MR512;
    if (rest > 0) {
        // The last, partial block of rows: a zero-padded copy, so the micro-kernel always reads 12 rows.
        for (ptrdiff_t r = 0; r < MR512; r++) {
            if (r < rest) memcpy(scratch + r * k, a + (full * MR512 + r) * lda, (size_t)k * sizeof(float));
            else memset(scratch + r * k, 0, (size_t)k * sizeof(float));
        }
    }
    float temp[MR512 * 32] __attribute__((aligned(64)));
    for (ptrdiff_t k0 = 0; k0 < k; k0 += EMO_F32_KC) {
        ptrdiff_t depth = EMO_MIN(EMO_F32_KC, k - k0);
        int acc = accumulate || k0 > 0;
        for (ptrdiff_t j = 0; j < panels; j++) {
            const float *b = packedB + (j * kTotal + kOffset + k0) * 32;
            ptrdiff_t cols = EMO_MIN(32, n - j * 32);
            for (ptrdiff_t t = 0; t < full + (rest > 0); t++) {
                int isFull = t < full;
                const float *aTile = isFull ? a + t * MR512 * lda + k0 : scratch + k0;
                ptrdiff_t ldaTile = isFull ? lda : k, rowsHere = isFull ? MR512 : rest;
                float *cTile = c + t * MR512 * ldc + j * 32;
                if (rowsHere == MR512 && cols == 32) f32_12x32(depth, aTile, ldaTile, b, cTile, ldc, acc);
                else if (rowsHere == MR512 && cols == 16) f32_12x16(depth, aTile, ldaTile, b, cTile, ldc, acc);
                else {
                    if (cols <= 16) f32_12x16(depth, aTile, ldaTile, b, temp, 32, 0);
                    else f32_12x32(depth, aTile, ldaTile, b, temp, 32, 0);
                    for (ptrdiff_t r = 0; r < rowsHere; r++) {
                        float *dst = cTile + r * ldc; const float *src = temp + r * 32;
                        if (acc) for (ptrdiff_t q = 0; q < cols; q++) dst[q] += src[q];
                        else for (ptrdiff_t q = 0; q < cols; q++) dst[q] = src[q];
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- AVX2
#define MR256 6

// 6 rows x 16 columns; B rows are 32 floats apart (one half of a packed 32-column panel).
EMO_TARGET_AVX2 static inline void f32_6x16(ptrdiff_t depth, const float *a, ptrdiff_t lda, const float *b,
                                            float *c, ptrdiff_t ldc, int accumulate) {
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
#define OUT(r) { float *p = c + r * ldc; \
        if (accumulate) { c##r##a = _mm256_add_ps(c##r##a, _mm256_loadu_ps(p)); c##r##b = _mm256_add_ps(c##r##b, _mm256_loadu_ps(p + 8)); } \
        _mm256_storeu_ps(p, c##r##a); _mm256_storeu_ps(p + 8, c##r##b); }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5)
#undef OUT
}

EMO_TARGET_AVX2 static void sgemm_avx2(ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                                       const float *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, float *c,
                                       ptrdiff_t ldc, int accumulate, float *scratch) {
    ptrdiff_t panels = (n + 31) / 32, full = rows / MR256, rest = rows - full * MR256;
    if (rest > 0) {
        for (ptrdiff_t r = 0; r < MR256; r++) {
            if (r < rest) memcpy(scratch + r * k, a + (full * MR256 + r) * lda, (size_t)k * sizeof(float));
            else memset(scratch + r * k, 0, (size_t)k * sizeof(float));
        }
    }
    float temp[MR256 * 16] __attribute__((aligned(32)));
    for (ptrdiff_t k0 = 0; k0 < k; k0 += EMO_F32_KC) {
        ptrdiff_t depth = EMO_MIN(EMO_F32_KC, k - k0);
        int acc = accumulate || k0 > 0;
        for (ptrdiff_t j = 0; j < panels; j++) {
            ptrdiff_t cols = EMO_MIN(32, n - j * 32);
            for (ptrdiff_t h = 0; h * 16 < cols; h++) {
                const float *b = packedB + (j * kTotal + kOffset + k0) * 32 + h * 16;
                ptrdiff_t colsHere = EMO_MIN(16, cols - h * 16);
                for (ptrdiff_t t = 0; t < full + (rest > 0); t++) {
                    int isFull = t < full;
                    const float *aTile = isFull ? a + t * MR256 * lda + k0 : scratch + k0;
                    ptrdiff_t ldaTile = isFull ? lda : k, rowsHere = isFull ? MR256 : rest;
                    float *cTile = c + t * MR256 * ldc + j * 32 + h * 16;
                    if (rowsHere == MR256 && colsHere == 16) f32_6x16(depth, aTile, ldaTile, b, cTile, ldc, acc);
                    else {
                        f32_6x16(depth, aTile, ldaTile, b, temp, 16, 0);
                        for (ptrdiff_t r = 0; r < rowsHere; r++) {
                            float *dst = cTile + r * ldc; const float *src = temp + r * 16;
                            if (acc) for (ptrdiff_t q = 0; q < colsHere; q++) dst[q] += src[q];
                            else for (ptrdiff_t q = 0; q < colsHere; q++) dst[q] = src[q];
                        }
                    }
                }
            }
        }
    }
}

void emo_sgemm_packed(int isa, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                      const float *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, float *c, ptrdiff_t ldc,
                      int accumulate, float *scratch) {
    if (rows <= 0 || n <= 0 || k <= 0) return;
    if (isa == EMO_ISA_AVX512) sgemm_avx512(rows, n, k, a, lda, packedB, kOffset, kTotal, c, ldc, accumulate, scratch);
    else sgemm_avx2(rows, n, k, a, lda, packedB, kOffset, kTotal, c, ldc, accumulate, scratch);
}

#else
#error "emopipe's kernels need an x86-64 CPU (AVX2 + FMA)"
#endif
