// Activation conversions for the reduced-precision convolutions, AVX-512 and AVX2 versions of each. All are
// element-wise (or an exact maximum), so the two versions give identical bytes.
#include "CKernels.h"
#include "targets.h"
#include <math.h>

// ---------------------------------------------------------------- maximum
EMO_TARGET_AVX512 static float max_avx512(const float *x, ptrdiff_t count) {
    __m512 m = _mm512_setzero_ps();
    ptrdiff_t i = 0;
    for (; i + 16 <= count; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
    float best = _mm512_reduce_max_ps(m);
    for (; i < count; i++) best = x[i] > best ? x[i] : best;
    return best;
}
EMO_TARGET_AVX2 static float max_avx2(const float *x, ptrdiff_t count) {
    __m256 m = _mm256_setzero_ps();
    ptrdiff_t i = 0;
    for (; i + 8 <= count; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, m);
    float best = 0;
    for (int l = 0; l < 8; l++) best = lanes[l] > best ? lanes[l] : best;
    for (; i < count; i++) best = x[i] > best ? x[i] : best;
    return best;
}
float emo_max_f32(int isa, const float *x, ptrdiff_t count) {
    return isa == EMO_ISA_AVX512 ? max_avx512(x, count) : max_avx2(x, count);
}

// ---------------------------------------------------------------- fp32 -> u8
static inline uint8_t quantize1(float v, float inverseScale) {
    float q = nearbyintf(v * inverseScale);   // round to nearest even (the default rounding mode), as cvtps2dq
    return q <= 0 ? 0 : (q >= 255 ? 255 : (uint8_t)q);
}
EMO_TARGET_AVX512 static void quantize_avx512(const float *x, ptrdiff_t rows, ptrdiff_t cols, float inv, uint8_t *dst, ptrdiff_t stride) {
    __m512 s = _mm512_set1_ps(inv);
    __m512i zero = _mm512_setzero_si512();
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *src = x + r * cols;
        uint8_t *d = dst + r * stride;
        ptrdiff_t c = 0;
        for (; c + 16 <= cols; c += 16) {
            __m512i q = _mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(src + c), s)), zero);
            _mm_storeu_si128((__m128i *)(d + c), _mm512_cvtusepi32_epi8(q));
        }
        for (; c < cols; c++) d[c] = quantize1(src[c], inv);
        for (; c < stride; c++) d[c] = 0;
    }
}
EMO_TARGET_AVX2 static void quantize_avx2(const float *x, ptrdiff_t rows, ptrdiff_t cols, float inv, uint8_t *dst, ptrdiff_t stride) {
    __m256 s = _mm256_set1_ps(inv);
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *src = x + r * cols;
        uint8_t *d = dst + r * stride;
        ptrdiff_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(src + c), s));
            __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));  // saturate to [0, 65535]
            __m128i b = _mm_packus_epi16(w, w);                                                      // saturate to [0, 255]
            _mm_storel_epi64((__m128i *)(d + c), b);
        }
        for (; c < cols; c++) d[c] = quantize1(src[c], inv);
        for (; c < stride; c++) d[c] = 0;
    }
}
void emo_quantize_u8(int isa, const float *x, ptrdiff_t rows, ptrdiff_t cols, float inverseScale, uint8_t *dst, ptrdiff_t dstStride) {
    if (isa == EMO_ISA_AVX512) quantize_avx512(x, rows, cols, inverseScale, dst, dstStride);
    else quantize_avx2(x, rows, cols, inverseScale, dst, dstStride);
}

// ---------------------------------------------------------------- fp32 -> bf16
// Round to nearest even; denormal inputs become (signed) zero, as vcvtneps2bf16 does. (NaN never occurs here.)
static inline uint16_t bf16_1(float v) {
    uint32_t bits; memcpy(&bits, &v, 4);
    if ((bits & 0x7F800000u) == 0) return (uint16_t)((bits >> 16) & 0x8000u);
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}
EMO_TARGET_AVX512_BF16 static void bf16_avx512(const float *x, ptrdiff_t rows, ptrdiff_t cols, uint16_t *dst, ptrdiff_t stride) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *src = x + r * cols;
        uint16_t *d = dst + r * stride;
        ptrdiff_t c = 0;
        for (; c + 16 <= cols; c += 16) _mm256_storeu_si256((__m256i *)(d + c), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + c)));
        for (; c < cols; c++) d[c] = bf16_1(src[c]);
        for (; c < stride; c++) d[c] = 0;
    }
}
EMO_TARGET_AVX2 static void bf16_avx2(const float *x, ptrdiff_t rows, ptrdiff_t cols, uint16_t *dst, ptrdiff_t stride) {
    const __m256i expMask = _mm256_set1_epi32(0x7F800000), signMask = _mm256_set1_epi32((int)0x80000000u);
    const __m256i bias = _mm256_set1_epi32(0x7FFF), one = _mm256_set1_epi32(1), zero = _mm256_setzero_si256();
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *src = x + r * cols;
        uint16_t *d = dst + r * stride;
        ptrdiff_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(src + c));
            __m256i denormal = _mm256_cmpeq_epi32(_mm256_and_si256(v, expMask), zero);
            v = _mm256_blendv_epi8(v, _mm256_and_si256(v, signMask), denormal);
            __m256i rounded = _mm256_add_epi32(v, _mm256_add_epi32(bias, _mm256_and_si256(_mm256_srli_epi32(v, 16), one)));
            __m256i h = _mm256_srli_epi32(rounded, 16);
            __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            _mm_storeu_si128((__m128i *)(d + c), packed);
        }
        for (; c < cols; c++) d[c] = bf16_1(src[c]);
        for (; c < stride; c++) d[c] = 0;
    }
}
void emo_convert_bf16(int isa, const float *x, ptrdiff_t rows, ptrdiff_t cols, uint16_t *dst, ptrdiff_t dstStride) {
    if (isa == EMO_ISA_AVX512) bf16_avx512(x, rows, cols, dst, dstStride);
    else bf16_avx2(x, rows, cols, dst, dstStride);
}

// ---------------------------------------------------------------- int32 -> fp32 epilogue
static inline float deq1(int32_t acc, float rowScale, float colScale, float bias, const float *res, int relu) {
    float s = rowScale * colScale;
    float v = (float)acc * s;
    v = v + bias;
    if (res) v = v + *res;
    if (relu) v = v > 0 ? v : 0;
    return v;
}
// One ISA's epilogue from its float vectors V of LANES lanes and their operations (LOADI: a load of int32 converted to
// float). Vectors of whole columns, then deq1 for the rest of the row: per element the same operations in the same
// order, so every ISA gives the same bytes.
#define DEQ(NAME, TARGET, LANES, V, SET1, LOADF, LOADI, MUL, ADD, MAX, STORE)                                        \
TARGET static void NAME(void *accOut, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float rowScale,                 \
                        const float *colScale, const float *bias, const float *residual, int relu) {                \
    V rs = SET1(rowScale), zero = SET1(0);                                                                          \
    for (ptrdiff_t r = 0; r < rows; r++) {                                                                          \
        int32_t *acc = (int32_t *)accOut + r * ld;                                                                  \
        float *out = (float *)accOut + r * ld;                                                                      \
        const float *res = residual ? residual + r * ld : 0;                                                        \
        ptrdiff_t c = 0;                                                                                            \
        for (; c + LANES <= cols; c += LANES) {                                                                     \
            V v = MUL(LOADI(acc + c), MUL(rs, LOADF(colScale + c)));                                                \
            v = ADD(v, LOADF(bias + c));                                                                            \
            if (res) v = ADD(v, LOADF(res + c));                                                                    \
            if (relu) v = MAX(v, zero);                                                                             \
            STORE(out + c, v);                                                                                      \
        }                                                                                                           \
        for (; c < cols; c++) out[c] = deq1(acc[c], rowScale, colScale[c], bias[c], res ? res + c : 0, relu);       \
    }                                                                                                               \
}
#define LOADI_ZMM(p) _mm512_cvtepi32_ps(_mm512_loadu_si512(p))
#define LOADI_YMM(p) _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(p)))
DEQ(deq_avx512, EMO_TARGET_AVX512, 16, __m512, _mm512_set1_ps, _mm512_loadu_ps, LOADI_ZMM, _mm512_mul_ps, _mm512_add_ps,
    _mm512_max_ps, _mm512_storeu_ps)
DEQ(deq_avx2, EMO_TARGET_AVX2, 8, __m256, _mm256_set1_ps, _mm256_loadu_ps, LOADI_YMM, _mm256_mul_ps, _mm256_add_ps,
    _mm256_max_ps, _mm256_storeu_ps)

void emo_dequantize(int isa, void *accOut, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float rowScale,
                    const float *colScale, const float *bias, const float *residual, int relu) {
    if (isa == EMO_ISA_AVX512) deq_avx512(accOut, rows, cols, ld, rowScale, colScale, bias, residual, relu);
    else deq_avx2(accOut, rows, cols, ld, rowScale, colScale, bias, residual, relu);
}
