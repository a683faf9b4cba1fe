// Throughput loops for `emopipe bench --kernels`: 12 independent accumulator chains of one instruction, so the loop
// runs at the instruction's issue rate. The bench times them to state each GEMM's fraction of its instruction's peak
// on the machine it runs on (no clock frequency or port count assumed).
#include "CKernels.h"
#include "targets.h"

#define CHAINS(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)
// The empty asm takes every accumulator as input and output, so the compiler can neither drop nor merge the chains:
// the work is kept without a result, and each function returns 0 (−1 from emo_peak_loop means "not on this CPU").
#define KEEP() __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11))
// NAME(n): n iterations of STEP(k) on the 12 accumulators a0..a11 of type T (starting at INIT), with the operand b
// of type TB (OPERAND).
#define PEAK(NAME, TARGET, T, INIT, TB, OPERAND, STEP)                                                                \
    TARGET static float NAME(long n) {                                                                                \
        TB b = OPERAND;                                                                                               \
        T a0 = INIT, a1 = INIT, a2 = INIT, a3 = INIT, a4 = INIT, a5 = INIT, a6 = INIT, a7 = INIT, a8 = INIT, a9 = INIT, \
          a10 = INIT, a11 = INIT;                                                                                     \
        for (long i = 0; i < n; i++) { CHAINS(STEP) KEEP(); }                                                         \
        return 0;                                                                                                     \
    }

// One instruction per chain and step. vpmaddwd's chain feeds each result back as the next input (the kernel adds
// its results with vpaddd, but a loop of both would be bounded by whichever issues slower, not by vpmaddwd).
#define FMA(k) a##k = _mm512_fmadd_ps(a##k, b, b);
#define FMA_YMM(k) a##k = _mm256_fmadd_ps(a##k, b, b);
#define VNNI(k) a##k = _mm512_dpbusd_epi32(a##k, b, b);
#define MADDWD(k) a##k = _mm256_madd_epi16(a##k, b);
#define BF16(k) a##k = _mm512_dpbf16_ps(a##k, b, b);

// Operands that keep every chain finite: x * 0.5 + 0.5 stays at 1; vpmaddwd of (2, 0) with ones stays (2, 0); the
// other integer sums wrap harmlessly.
PEAK(peak_fma512, EMO_TARGET_AVX512, __m512, _mm512_set1_ps(1), __m512, _mm512_set1_ps(0.5f), FMA)
PEAK(peak_fma256, EMO_TARGET_AVX2, __m256, _mm256_set1_ps(1), __m256, _mm256_set1_ps(0.5f), FMA_YMM)
PEAK(peak_vnni512, EMO_TARGET_AVX512_VNNI, __m512i, _mm512_setzero_si512(), __m512i, _mm512_set1_epi8(1), VNNI)
PEAK(peak_madd256, EMO_TARGET_AVX2, __m256i, _mm256_set1_epi16(1), __m256i, _mm256_set1_epi16(1), MADDWD)
PEAK(peak_bf16, EMO_TARGET_AVX512_BF16, __m512, _mm512_setzero_ps(), __m512bh, (__m512bh)_mm512_set1_epi32(0x3F003F00), BF16)

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
