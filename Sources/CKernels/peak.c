// Throughput loops for `emopipe bench --kernels`: 12 independent accumulator chains of one instruction, so the loop
// runs at the instruction's issue rate. The bench times them to state each GEMM's fraction of its instruction's peak
// on the machine it runs on (no clock frequency or port count assumed).
#include "CKernels.h"
#include "targets.h"

#define CHAINS(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)
#define KEEP(T) __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11))
#define DECL(T, init) T a0 = init, a1 = init, a2 = init, a3 = init, a4 = init, a5 = init, a6 = init, a7 = init, a8 = init, a9 = init, a10 = init, a11 = init

EMO_TARGET_AVX512 static float peak_fma512(long n) {
    __m512 b = _mm512_set1_ps(0.5f), c = _mm512_set1_ps(0.25f);
    DECL(__m512, _mm512_set1_ps(1));
    for (long i = 0; i < n; i++) {
#define OP(k) a##k = _mm512_fmadd_ps(a##k, b, c);
        CHAINS(OP) KEEP();
#undef OP
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)), _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_reduce_add_ps(s);
}
EMO_TARGET_AVX2 static float peak_fma256(long n) {
    __m256 b = _mm256_set1_ps(0.5f), c = _mm256_set1_ps(0.25f);
    DECL(__m256, _mm256_set1_ps(1));
    for (long i = 0; i < n; i++) {
#define OP(k) a##k = _mm256_fmadd_ps(a##k, b, c);
        CHAINS(OP) KEEP();
#undef OP
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)), _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float l[8]; _mm256_storeu_ps(l, s);
    return l[0] + l[7];
}
EMO_TARGET_AVX512_VNNI static float peak_vnni512(long n) {
    __m512i b = _mm512_set1_epi8(1), c = _mm512_set1_epi8(1);
    DECL(__m512i, _mm512_setzero_si512());
    for (long i = 0; i < n; i++) {
#define OP(k) a##k = _mm512_dpbusd_epi32(a##k, b, c);
        CHAINS(OP) KEEP();
#undef OP
    }
    __m512i s = _mm512_add_epi32(_mm512_add_epi32(a0, a11), _mm512_add_epi32(a5, a6));
    return (float)_mm512_reduce_add_epi32(s);
}
EMO_TARGET_AVX2 static float peak_madd256(long n) {
    __m256i b = _mm256_set1_epi16(1), c = _mm256_set1_epi16(1);
    DECL(__m256i, _mm256_setzero_si256());
    for (long i = 0; i < n; i++) {
#define OP(k) a##k = _mm256_add_epi32(a##k, _mm256_madd_epi16(b, c));
        CHAINS(OP) KEEP();
#undef OP
    }
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(a0, a11), _mm256_add_epi32(a5, a6));
    int l[8]; _mm256_storeu_si256((__m256i *)l, s);
    return (float)(l[0] + l[7]);
}
EMO_TARGET_AVX512_BF16 static float peak_bf16(long n) {
    __m512bh b = (__m512bh)_mm512_set1_epi32(0x3F003F00), c = b;
    DECL(__m512, _mm512_setzero_ps());
    for (long i = 0; i < n; i++) {
#define OP(k) a##k = _mm512_dpbf16_ps(a##k, b, c);
        CHAINS(OP) KEEP();
#undef OP
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a11));
}

float emo_peak_loop(int kind, long iterations) {
    uint32_t f = emo_cpu_features();
    switch (kind) {
    case EMO_PEAK_FMA_ZMM: return (f & EMO_CPU_AVX512) ? peak_fma512(iterations) : -1;
    case EMO_PEAK_FMA_YMM: return (f & EMO_CPU_AVX2) ? peak_fma256(iterations) : -1;
    case EMO_PEAK_VPDPBUSD_ZMM: return (f & EMO_CPU_AVX512_VNNI) ? peak_vnni512(iterations) : -1;
    case EMO_PEAK_VPMADDWD_YMM: return (f & EMO_CPU_AVX2) ? peak_madd256(iterations) : -1;
    case EMO_PEAK_VDPBF16PS_ZMM: return (f & EMO_CPU_AVX512_BF16) ? peak_bf16(iterations) : -1;
    default: return -1;
    }
}
