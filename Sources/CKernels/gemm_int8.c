// int8 GEMM: unsigned 8-bit activations (A) x signed 8-bit weights (packed B) -> exact int32 sums.
// - AVX-512 VNNI: a 12x32 micro-kernel, 24 zmm accumulators, vpdpbusd (4 u8*s8 products per int32 lane per
//   instruction); A's 4 bytes of one row are broadcast (vpbroadcastd), B is two zmm loads per group of 4 k.
// - AVX2: a 2x16 micro-kernel on vpmaddwd (B sign-extended to 16 bits on the fly, A zero-extended): a fallback,
//   about 8x fewer multiply-adds per instruction.
// Sums of int32 are exact, so both give identical C (no int32 overflow: |sum| <= 255*128*K < 2^31 for K < 65793).
#include "CKernels.h"
#include "targets.h"

#define KC8 2048   // K block in bytes (a 12 x 2048 slice of A and a 2048 x 32 slice of B: 24 + 64 KB)

static inline int32_t load4(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// ---------------------------------------------------------------- AVX-512 VNNI
EMO_TARGET_AVX512_VNNI static inline void u8_12x32(ptrdiff_t groups, const uint8_t *a, ptrdiff_t lda, const int8_t *b,
                                                   int32_t *c, ptrdiff_t ldc, int accumulate, int halfOnly) {
    __m512i c0a = _mm512_setzero_si512(), c0b = _mm512_setzero_si512(), c1a = _mm512_setzero_si512(), c1b = _mm512_setzero_si512();
    __m512i c2a = _mm512_setzero_si512(), c2b = _mm512_setzero_si512(), c3a = _mm512_setzero_si512(), c3b = _mm512_setzero_si512();
    __m512i c4a = _mm512_setzero_si512(), c4b = _mm512_setzero_si512(), c5a = _mm512_setzero_si512(), c5b = _mm512_setzero_si512();
    __m512i c6a = _mm512_setzero_si512(), c6b = _mm512_setzero_si512(), c7a = _mm512_setzero_si512(), c7b = _mm512_setzero_si512();
    __m512i c8a = _mm512_setzero_si512(), c8b = _mm512_setzero_si512(), c9a = _mm512_setzero_si512(), c9b = _mm512_setzero_si512();
    __m512i c10a = _mm512_setzero_si512(), c10b = _mm512_setzero_si512(), c11a = _mm512_setzero_si512(), c11b = _mm512_setzero_si512();
    const uint8_t *a0 = a, *a4 = a + 4 * lda, *a8 = a + 8 * lda;
    if (halfOnly) {
        for (ptrdiff_t g = 0; g < groups; g++) {
            __m512i b0 = _mm512_loadu_si512(b);
            ptrdiff_t q = 4 * g;
#define ROW(r, p, off) c##r##a = _mm512_dpbusd_epi32(c##r##a, _mm512_set1_epi32(load4(p + q + off)), b0);
            ROW(0, a0, 0) ROW(1, a0, lda) ROW(2, a0, 2 * lda) ROW(3, a0, 3 * lda)
            ROW(4, a4, 0) ROW(5, a4, lda) ROW(6, a4, 2 * lda) ROW(7, a4, 3 * lda)
            ROW(8, a8, 0) ROW(9, a8, lda) ROW(10, a8, 2 * lda) ROW(11, a8, 3 * lda)
#undef ROW
            b += 128;
        }
    } else {
        for (ptrdiff_t g = 0; g < groups; g++) {
            __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 64);
            ptrdiff_t q = 4 * g;
            __m512i x;
#define ROW(r, p, off) x = _mm512_set1_epi32(load4(p + q + off)); c##r##a = _mm512_dpbusd_epi32(c##r##a, x, b0); c##r##b = _mm512_dpbusd_epi32(c##r##b, x, b1);
            ROW(0, a0, 0) ROW(1, a0, lda) ROW(2, a0, 2 * lda) ROW(3, a0, 3 * lda)
            ROW(4, a4, 0) ROW(5, a4, lda) ROW(6, a4, 2 * lda) ROW(7, a4, 3 * lda)
            ROW(8, a8, 0) ROW(9, a8, lda) ROW(10, a8, 2 * lda) ROW(11, a8, 3 * lda)
#undef ROW
            b += 128;
        }
    }
#define OUT(r) { int32_t *p = c + r * ldc; \
        if (accumulate) c##r##a = _mm512_add_epi32(c##r##a, _mm512_loadu_si512(p)); \
        _mm512_storeu_si512(p, c##r##a); \
        if (!halfOnly) { if (accumulate) c##r##b = _mm512_add_epi32(c##r##b, _mm512_loadu_si512(p + 16)); _mm512_storeu_si512(p + 16, c##r##b); } }
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7) OUT(8) OUT(9) OUT(10) OUT(11)
#undef OUT
}

EMO_TARGET_AVX512_VNNI static void gemm_u8_avx512(ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const uint8_t *a, ptrdiff_t lda,
                                                  const int8_t *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, int32_t *c,
                                                  ptrdiff_t ldc, int accumulate, uint8_t *scratch) {
    const ptrdiff_t mr = 12;
    ptrdiff_t panels = (n + 31) / 32, full = rows / mr, rest = rows - full * mr;
    if (rest > 0) {
        for (ptrdiff_t r = 0; r < mr; r++) {
            if (r < rest) memcpy(scratch + r * k, a + (full * mr + r) * lda, (size_t)k);
            else memset(scratch + r * k, 0, (size_t)k);
        }
    }
    int32_t temp[12 * 32] __attribute__((aligned(64)));
    for (ptrdiff_t k0 = 0; k0 < k; k0 += KC8) {
        ptrdiff_t depth = EMO_MIN(KC8, k - k0);
        int acc = accumulate || k0 > 0;
        for (ptrdiff_t j = 0; j < panels; j++) {
            const int8_t *b = packedB + (j * kTotal + kOffset + k0) * 32;
            ptrdiff_t cols = EMO_MIN(32, n - j * 32);
            int half = cols <= 16;
            for (ptrdiff_t t = 0; t < full + (rest > 0); t++) {
                int isFull = t < full;
                const uint8_t *aTile = isFull ? a + t * mr * lda + k0 : scratch + k0;
                ptrdiff_t ldaTile = isFull ? lda : k, rowsHere = isFull ? mr : rest;
                int32_t *cTile = c + t * mr * ldc + j * 32;
                if (rowsHere == mr && (cols == 32 || cols == 16)) u8_12x32(depth / 4, aTile, ldaTile, b, cTile, ldc, acc, half);
                else {
                    u8_12x32(depth / 4, aTile, ldaTile, b, temp, 32, 0, half);
                    for (ptrdiff_t r = 0; r < rowsHere; r++) {
                        int32_t *dst = cTile + r * ldc; const int32_t *src = temp + r * 32;
                        if (acc) for (ptrdiff_t q = 0; q < cols; q++) dst[q] += src[q];
                        else for (ptrdiff_t q = 0; q < cols; q++) dst[q] = src[q];
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- AVX2 (vpmaddwd)
// Two rows x 16 columns. For a group of 4 k, the 64 bytes of B (16 columns x 4) widen to four ymm of int16
// (4 columns x 4 k each); A's 4 bytes widen to 4 int16 broadcast to every 64-bit lane; vpmaddwd then gives, per
// column, two partial sums (k0*k0 + k1*k1, k2*k2 + k3*k3) that are added pairwise at the end.
EMO_TARGET_AVX2 static inline void u8_2x16(ptrdiff_t groups, const uint8_t *a, ptrdiff_t lda, const int8_t *b,
                                           int32_t *c, ptrdiff_t ldc, int accumulate) {
    __m256i s00 = _mm256_setzero_si256(), s01 = _mm256_setzero_si256(), s02 = _mm256_setzero_si256(), s03 = _mm256_setzero_si256();
    __m256i s10 = _mm256_setzero_si256(), s11 = _mm256_setzero_si256(), s12 = _mm256_setzero_si256(), s13 = _mm256_setzero_si256();
    for (ptrdiff_t g = 0; g < groups; g++) {
        __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b)));
        __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + 16)));
        __m256i w2 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + 32)));
        __m256i w3 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + 48)));
        __m256i x0 = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(load4(a + 4 * g))));
        __m256i x1 = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(load4(a + lda + 4 * g))));
        s00 = _mm256_add_epi32(s00, _mm256_madd_epi16(w0, x0)); s01 = _mm256_add_epi32(s01, _mm256_madd_epi16(w1, x0));
        s02 = _mm256_add_epi32(s02, _mm256_madd_epi16(w2, x0)); s03 = _mm256_add_epi32(s03, _mm256_madd_epi16(w3, x0));
        s10 = _mm256_add_epi32(s10, _mm256_madd_epi16(w0, x1)); s11 = _mm256_add_epi32(s11, _mm256_madd_epi16(w1, x1));
        s12 = _mm256_add_epi32(s12, _mm256_madd_epi16(w2, x1)); s13 = _mm256_add_epi32(s13, _mm256_madd_epi16(w3, x1));
        b += 128;
    }
    // hadd within 128-bit lanes gives columns (0,1,4,5,2,3,6,7); permute 64-bit pieces (0,2,1,3) back to order.
#define FIN(lo, hi) _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo, hi), 0xD8)
    __m256i r0a = FIN(s00, s01), r0b = FIN(s02, s03), r1a = FIN(s10, s11), r1b = FIN(s12, s13);
#undef FIN
    int32_t *p0 = c, *p1 = c + ldc;
    if (accumulate) {
        r0a = _mm256_add_epi32(r0a, _mm256_loadu_si256((const __m256i *)p0)); r0b = _mm256_add_epi32(r0b, _mm256_loadu_si256((const __m256i *)(p0 + 8)));
        r1a = _mm256_add_epi32(r1a, _mm256_loadu_si256((const __m256i *)p1)); r1b = _mm256_add_epi32(r1b, _mm256_loadu_si256((const __m256i *)(p1 + 8)));
    }
    _mm256_storeu_si256((__m256i *)p0, r0a); _mm256_storeu_si256((__m256i *)(p0 + 8), r0b);
    _mm256_storeu_si256((__m256i *)p1, r1a); _mm256_storeu_si256((__m256i *)(p1 + 8), r1b);
}

EMO_TARGET_AVX2 static void gemm_u8_avx2(ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const uint8_t *a, ptrdiff_t lda,
                                         const int8_t *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, int32_t *c,
                                         ptrdiff_t ldc, int accumulate, uint8_t *scratch) {
    const ptrdiff_t mr = 2;
    ptrdiff_t panels = (n + 31) / 32, full = rows / mr, rest = rows - full * mr;
    if (rest > 0) {
        for (ptrdiff_t r = 0; r < mr; r++) {
            if (r < rest) memcpy(scratch + r * k, a + (full * mr + r) * lda, (size_t)k);
            else memset(scratch + r * k, 0, (size_t)k);
        }
    }
    int32_t temp[2 * 16] __attribute__((aligned(32)));
    for (ptrdiff_t k0 = 0; k0 < k; k0 += KC8) {
        ptrdiff_t depth = EMO_MIN(KC8, k - k0);
        int acc = accumulate || k0 > 0;
        for (ptrdiff_t j = 0; j < panels; j++) {
            ptrdiff_t cols = EMO_MIN(32, n - j * 32);
            for (ptrdiff_t h = 0; h * 16 < cols; h++) {
                const int8_t *b = packedB + (j * kTotal + kOffset + k0) * 32 + h * 64;
                ptrdiff_t colsHere = EMO_MIN(16, cols - h * 16);
                for (ptrdiff_t t = 0; t < full + (rest > 0); t++) {
                    int isFull = t < full;
                    const uint8_t *aTile = isFull ? a + t * mr * lda + k0 : scratch + k0;
                    ptrdiff_t ldaTile = isFull ? lda : k, rowsHere = isFull ? mr : rest;
                    int32_t *cTile = c + t * mr * ldc + j * 32 + h * 16;
                    if (rowsHere == mr && colsHere == 16) u8_2x16(depth / 4, aTile, ldaTile, b, cTile, ldc, acc);
                    else {
                        u8_2x16(depth / 4, aTile, ldaTile, b, temp, 16, 0);
                        for (ptrdiff_t r = 0; r < rowsHere; r++) {
                            int32_t *dst = cTile + r * ldc; const int32_t *src = temp + r * 16;
                            if (acc) for (ptrdiff_t q = 0; q < colsHere; q++) dst[q] += src[q];
                            else for (ptrdiff_t q = 0; q < colsHere; q++) dst[q] = src[q];
                        }
                    }
                }
            }
        }
    }
}

void emo_gemm_u8s8_packed(int isa, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const uint8_t *a, ptrdiff_t lda,
                          const int8_t *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, int32_t *c, ptrdiff_t ldc,
                          int accumulate, uint8_t *scratch) {
    if (rows <= 0 || n <= 0 || k <= 0) return;
    if (isa == EMO_ISA_AVX512) gemm_u8_avx512(rows, n, k, a, lda, packedB, kOffset, kTotal, c, ldc, accumulate, scratch);
    else gemm_u8_avx2(rows, n, k, a, lda, packedB, kOffset, kTotal, c, ldc, accumulate, scratch);
}
