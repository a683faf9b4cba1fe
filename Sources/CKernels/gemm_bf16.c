// bf16 GEMM: bf16 activations (A) x bf16 weights (packed B) -> fp32 sums.
// - AVX-512 BF16: a 12x32 micro-kernel, 24 zmm accumulators, vdpbf16ps (two bf16 products per fp32 lane per
//   instruction) with A's pair of one row broadcast (vbroadcastss) to every lane;
// - AVX2: the same steps spelled out: each bf16 widens to fp32 exactly (a 16-bit shift), products of two bf16 are
//   exact in fp32, and the two products of a pair are added to the accumulator one after the other with FMAs
//   (acc + a1*b1, then + a0*b0; round to nearest even each time). On CPUs where vdpbf16ps follows that definition
//   (Intel's SDM pseudo-code) the two agree to the bit; `emopipe bench --kernels` reports whether they do here.
#include "CKernels.h"
#include "gemm_templates.h"

// ---------------------------------------------------------------- AVX2 emulation
// 4 rows x 16 columns. A packed pair (32 bits: a0 in the low half, a1 in the high half) gives fp32 a0 = bits << 16
// and a1 = bits & 0xFFFF0000. halfOnly: always (a 16-column tile).
EMO_TARGET_AVX2 static inline void bf_4x16(ptrdiff_t pairs, const uint16_t *a, ptrdiff_t lda, const uint16_t *b,
                                           float *c, ptrdiff_t ldc, int accumulate, int halfOnly) {
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
    EMO_AVX2_OUT(0) EMO_AVX2_OUT(1) EMO_AVX2_OUT(2) EMO_AVX2_OUT(3)
}

// ---------------------------------------------------------------- AVX-512 BF16
// 12 rows x 32 columns: A's pair of one row broadcast as one 32-bit value, vdpbf16ps per row and half-panel.
#define BF_LOADB(p) ((__m512bh)_mm512_loadu_si512(p))
#define BF_BCAST(p) ((__m512bh)_mm512_set1_epi32((int)(*(const uint32_t *)(p))))
EMO_MICRO_12x32(bf_12x32, EMO_TARGET_AVX512_BF16, uint16_t, uint16_t, float, 2, __m512, __m512bh, _mm512_setzero_ps(),
                BF_LOADB, BF_BCAST, _mm512_dpbf16_ps, _mm512_loadu_ps, _mm512_add_ps, _mm512_storeu_ps)

EMO_GEMM(emo_gemm_bf16_packed, uint16_t, uint16_t, float, EMO_BF16_KC, 2, EMO_TARGET_AVX512_BF16, bf_12x32, 4, bf_4x16)
