// bf16 GEMM: bf16 activations (A) x bf16 weights (packed B) -> fp32 sums.
// - AVX-512 BF16: a 12x32 micro-kernel, 24 zmm accumulators, vdpbf16ps (two bf16 products per fp32 lane per
//   instruction) with A's pair of one row as an embedded {1to16} broadcast;
// - AVX2: the same steps spelled out: each bf16 widens to fp32 exactly (a 16-bit shift), products of two bf16 are
//   exact in fp32, and the two products of a pair are added to the accumulator one after the other with FMAs
//   (acc + a1*b1, then + a0*b0; round to nearest even each time). On CPUs where vdpbf16ps follows that definition
//   (Intel's SDM pseudo-code) the two agree to the bit; `emopipe bench --kernels` reports whether they do here.
#include "CKernels.h"
#include "targets.h"

// ---------------------------------------------------------------- AVX-512 BF16
EMO_TARGET_AVX512_BF16 static inline void bf_12x32(ptrdiff_t pairs, const uint16_t *a, ptrdiff_t lda, const uint16_t *b,
                                                   float *c, ptrdiff_t ldc, int accumulate, int halfOnly) {
    __m512 c0a = _mm512_setzero_ps(), c0b = _mm512_setzero_ps(), c1a = _mm512_setzero_ps(), c1b = _mm512_setzero_ps();
    __m512 c2a = _mm512_setzero_ps(), c2b = _mm512_setzero_ps(), c3a = _mm512_setzero_ps(), c3b = _mm512_setzero_ps();
    __m512 c4a = _mm512_setzero_ps(), c4b = _mm512_setzero_ps(), c5a = _mm512_setzero_ps(), c5b = _mm512_setzero_ps();
    __m512 c6a = _mm512_setzero_ps(), c6b = _mm512_setzero_ps(), c7a = _mm512_setzero_ps(), c7b = _mm512_setzero_ps();
    __m512 c8a = _mm512_setzero_ps(), c8b = _mm512_setzero_ps(), c9a = _mm512_setzero_ps(), c9b = _mm512_setzero_ps();
    __m512 c10a = _mm512_setzero_ps(), c10b = _mm512_setzero_ps(), c11a = _mm512_setzero_ps(), c11b = _mm512_setzero_ps();
    const uint16_t *a0 = a, *a4 = a + 4 * lda, *a8 = a + 8 * lda;
#define PAIR(p, off) ((__m512bh)_mm512_set1_epi32((int)(*(const uint32_t *)(p + q + off))))
    if (halfOnly) {
        for (ptrdiff_t g = 0; g < pairs; g++) {
            __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
            ptrdiff_t q = 2 * g;
#define ROW(r, p, off) c##r##a = _mm512_dpbf16_ps(c##r##a, PAIR(p, off), b0);
            ROW(0, a0, 0) ROW(1, a0, lda) ROW(2, a0, 2 * lda) ROW(3, a0, 3 * lda)
            ROW(4, a4, 0) ROW(5, a4, lda) ROW(6, a4, 2 * lda) ROW(7, a4, 3 * lda)
            ROW(8, a8, 0) ROW(9, a8, lda) ROW(10, a8, 2 * lda) ROW(11, a8, 3 * lda)
#undef ROW
            b += 64;
        }
    } else {
        for (ptrdiff_t g = 0; g < pairs; g++) {
            __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 32);
            ptrdiff_t q = 2 * g;
            __m512bh x;
#define ROW(r, p, off) x = PAIR(p, off); c##r##a = _mm512_dpbf16_ps(c##r##a, x, b0); c##r##b = _mm512_dpbf16_ps(c##r##b, x, b1);
            ROW(0, a0, 0) ROW(1, a0, lda) ROW(2, a0, 2 * lda) ROW(3, a0, 3 * lda)
            ROW(4, a4, 0) ROW(5, a4, lda) ROW(6, a4, 2 * lda) ROW(7, a4, 3 * lda)
            ROW(8, a8, 0) ROW(9, a8, lda) ROW(10, a8, 2 * lda) ROW(11, a8, 3 * lda)
#undef ROW
            b += 64;
        }
    }
#undef PAIR
#define OUT(r) { float *p = c + r * ldc; \
        if (accumulate) c##r##a = _mm512_add_ps(c##r##a, _mm512_loadu_ps(p)); \
        _mm512_storeu_ps(p, c##r##a); \
        if (!halfOnly) { if (accumulate) c##r##b = _mm512_add_ps(c##r##b, _mm512_loadu_ps(p + 16)); _mm512_storeu_ps(p + 16, c##r##b); } }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7) OUT(8) OUT(9) OUT(10) OUT(11)
#undef OUT
}

EMO_TARGET_AVX512_BF16 static void gemm_bf_avx512(ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const uint16_t *a, ptrdiff_t lda,
                                                  const uint16_t *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, float *c,
                                                  ptrdiff_t ldc, int accumulate, uint16_t *scratch) {
    const ptrdiff_t mr = 12;
    ptrdiff_t panels = (n + 31) / 32, full = rows / mr, rest = rows - full * mr;
    if (rest > 0) {
        for (ptrdiff_t r = 0; r < mr; r++) {
            if (r < rest) memcpy(scratch + r * k, a + (full * mr + r) * lda, (size_t)k * 2);
            else memset(scratch + r * k, 0, (size_t)k * 2);
        }
    }
    float temp[12 * 32] __attribute__((aligned(64)));
    for (ptrdiff_t k0 = 0; k0 < k; k0 += EMO_BF16_KC) {
        ptrdiff_t depth = EMO_MIN(EMO_BF16_KC, k - k0);
        int acc = accumulate || k0 > 0;
        for (ptrdiff_t j = 0; j < panels; j++) {
            const uint16_t *b = packedB + (j * kTotal + kOffset + k0) * 32;
            ptrdiff_t cols = EMO_MIN(32, n - j * 32);
            int half = cols <= 16;
            for (ptrdiff_t t = 0; t < full + (rest > 0); t++) {
                int isFull = t < full;
                const uint16_t *aTile = isFull ? a + t * mr * lda + k0 : scratch + k0;
                ptrdiff_t ldaTile = isFull ? lda : k, rowsHere = isFull ? mr : rest;
                float *cTile = c + t * mr * ldc + j * 32;
                if (rowsHere == mr && (cols == 32 || cols == 16)) bf_12x32(depth / 2, aTile, ldaTile, b, cTile, ldc, acc, half);
                else {
                    bf_12x32(depth / 2, aTile, ldaTile, b, temp, 32, 0, half);
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

// ---------------------------------------------------------------- AVX2 emulation
// 4 rows x 16 columns. A packed pair (32 bits: a0 in the low half, a1 in the high half) gives fp32 a0 = bits << 16
// and a1 = bits & 0xFFFF0000.
EMO_TARGET_AVX2 static inline void bf_4x16(ptrdiff_t pairs, const uint16_t *a, ptrdiff_t lda, const uint16_t *b,
                                           float *c, ptrdiff_t ldc, int accumulate) {
    __m256 c0a = _mm256_setzero_ps(), c0b = _mm256_setzero_ps(), c1a = _mm256_setzero_ps(), c1b = _mm256_setzero_ps();
    __m256 c2a = _mm256_setzero_ps(), c2b = _mm256_setzero_ps(), c3a = _mm256_setzero_ps(), c3b = _mm256_setzero_ps();
    const __m256i high = _mm256_set1_epi32((int)0xFFFF0000u);
    for (ptrdiff_t g = 0; g < pairs; g++) {
        __m256i p0 = _mm256_loadu_si256((const __m256i *)b), p1 = _mm256_loadu_si256((const __m256i *)(b + 16));
        __m256 b0lo = _mm256_castsi256_ps(_mm256_slli_epi32(p0, 16)), b0hi = _mm256_castsi256_ps(_mm256_and_si256(p0, high));
        __m256 b1lo = _mm256_castsi256_ps(_mm256_slli_epi32(p1, 16)), b1hi = _mm256_castsi256_ps(_mm256_and_si256(p1, high));
        ptrdiff_t q = 2 * g;
#define ROW(r) { uint32_t bits; memcpy(&bits, a + r * lda + q, 4); \
            __m256 xlo = _mm256_castsi256_ps(_mm256_set1_epi32((int)(bits << 16))); \
            __m256 xhi = _mm256_castsi256_ps(_mm256_set1_epi32((int)(bits & 0xFFFF0000u))); \
            c##r##a = _mm256_fmadd_ps(xhi, b0hi, c##r##a); c##r##a = _mm256_fmadd_ps(xlo, b0lo, c##r##a); \
            c##r##b = _mm256_fmadd_ps(xhi, b1hi, c##r##b); c##r##b = _mm256_fmadd_ps(xlo, b1lo, c##r##b); }
        ROW(0) ROW(1) ROW(2) ROW(3)
#undef ROW
        b += 64;
    }
#define OUT(r) { float *p = c + r * ldc; \
        if (accumulate) { c##r##a = _mm256_add_ps(c##r##a, _mm256_loadu_ps(p)); c##r##b = _mm256_add_ps(c##r##b, _mm256_loadu_ps(p + 8)); } \
        _mm256_storeu_ps(p, c##r##a); _mm256_storeu_ps(p + 8, c##r##b); }
    OUT(0) OUT(1) OUT(2) OUT(3)
#undef OUT
}

EMO_TARGET_AVX2 static void gemm_bf_avx2(ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const uint16_t *a, ptrdiff_t lda,
                                         const uint16_t *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, float *c,
                                         ptrdiff_t ldc, int accumulate, uint16_t *scratch) {
    const ptrdiff_t mr = 4;
    ptrdiff_t panels = (n + 31) / 32, full = rows / mr, rest = rows - full * mr;
    if (rest > 0) {
        for (ptrdiff_t r = 0; r < mr; r++) {
            if (r < rest) memcpy(scratch + r * k, a + (full * mr + r) * lda, (size_t)k * 2);
            else memset(scratch + r * k, 0, (size_t)k * 2);
        }
    }
    float temp[4 * 16] __attribute__((aligned(32)));
    for (ptrdiff_t k0 = 0; k0 < k; k0 += EMO_BF16_KC) {
        ptrdiff_t depth = EMO_MIN(EMO_BF16_KC, k - k0);
        int acc = accumulate || k0 > 0;
        for (ptrdiff_t j = 0; j < panels; j++) {
            ptrdiff_t cols = EMO_MIN(32, n - j * 32);
            for (ptrdiff_t h = 0; h * 16 < cols; h++) {
                const uint16_t *b = packedB + (j * kTotal + kOffset + k0) * 32 + h * 32;
                ptrdiff_t colsHere = EMO_MIN(16, cols - h * 16);
                for (ptrdiff_t t = 0; t < full + (rest > 0); t++) {
                    int isFull = t < full;
                    const uint16_t *aTile = isFull ? a + t * mr * lda + k0 : scratch + k0;
                    ptrdiff_t ldaTile = isFull ? lda : k, rowsHere = isFull ? mr : rest;
                    float *cTile = c + t * mr * ldc + j * 32 + h * 16;
                    if (rowsHere == mr && colsHere == 16) bf_4x16(depth / 2, aTile, ldaTile, b, cTile, ldc, acc);
                    else {
                        bf_4x16(depth / 2, aTile, ldaTile, b, temp, 16, 0);
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

void emo_gemm_bf16_packed(int isa, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const uint16_t *a, ptrdiff_t lda,
                          const uint16_t *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, float *c, ptrdiff_t ldc,
                          int accumulate, uint16_t *scratch) {
    if (rows <= 0 || n <= 0 || k <= 0) return;
    if (isa == EMO_ISA_AVX512) gemm_bf_avx512(rows, n, k, a, lda, packedB, kOffset, kTotal, c, ldc, accumulate, scratch);
    else gemm_bf_avx2(rows, n, k, a, lda, packedB, kOffset, kTotal, c, ldc, accumulate, scratch);
}
