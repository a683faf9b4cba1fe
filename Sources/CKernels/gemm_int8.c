// int8 GEMM: unsigned 8-bit activations (A) x signed 8-bit weights (packed B) -> exact int32 sums.
// - AVX-512 VNNI: a 12x32 micro-kernel, 24 zmm accumulators, vpdpbusd (4 u8*s8 products per int32 lane per
//   instruction); A's 4 bytes of one row are broadcast (vpbroadcastd), B is two zmm loads per group of 4 k.
// - AVX2: a 2x16 micro-kernel on vpmaddwd (B sign-extended to 16 bits on the fly, A zero-extended): a fallback,
//   about 8x fewer multiply-adds per instruction.
// Sums of int32 are exact, so both give identical C (no int32 overflow: |sum| <= 255*128*K < 2^31 for K < 65793).
#include "CKernels.h"
#include "gemm_templates.h"

#define KC8 2048   // K block in bytes (a 12 x 2048 slice of A and a 2048 x 32 slice of B: 24 + 64 KB)

static inline int32_t load4(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// ---------------------------------------------------------------- AVX2 (vpmaddwd)
// Two rows x 16 columns. For a group of 4 k, the 64 bytes of B (16 columns x 4) widen to four ymm of int16
// (4 columns x 4 k each); A's 4 bytes widen to 4 int16 broadcast to every 64-bit lane; vpmaddwd then gives, per
// column, two partial sums (k0*k0 + k1*k1, k2*k2 + k3*k3) that are added pairwise at the end. halfOnly: always (a
// 16-column tile).
EMO_TARGET_AVX2 static inline void u8_2x16(ptrdiff_t groups, const uint8_t *a, ptrdiff_t lda, const int8_t *b,
                                           int32_t *c, ptrdiff_t ldc, int accumulate, int halfOnly) {
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

// ---------------------------------------------------------------- AVX-512 VNNI
// 12 rows x 32 columns: A's 4 bytes of one row broadcast (vpbroadcastd), vpdpbusd per row and half-panel.
#define U8_BCAST(p) _mm512_set1_epi32(load4(p))
EMO_MICRO_12x32(u8_12x32, EMO_TARGET_AVX512_VNNI, uint8_t, int8_t, int32_t, 4, __m512i, __m512i, _mm512_setzero_si512(),
                _mm512_loadu_si512, U8_BCAST, _mm512_dpbusd_epi32, _mm512_loadu_si512, _mm512_add_epi32, _mm512_storeu_si512)

EMO_GEMM(emo_gemm_u8s8_packed, uint8_t, int8_t, int32_t, KC8, 4, EMO_TARGET_AVX512_VNNI, u8_12x32, 2, u8_2x16)
