// emopipe's ISA-specific micro-kernels. Every fast kernel exists once per instruction set, each compiled for its own
// target with __attribute__((target(...))) so that the binary as a whole needs only x86-64-v3 (AVX2 + FMA); which
// one runs is chosen at run time from cpuid + xgetbv (`emo_cpu_features`). The plain references live in Swift next to
// their callers (Sources/Kernels) and in the tests.
#ifndef EMOPIPE_CKERNELS_H
#define EMOPIPE_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- CPU features (cpu.c) ----
enum {
    EMO_CPU_AVX2 = 1 << 0,        // AVX2 and the OS saves YMM state
    EMO_CPU_FMA = 1 << 1,
    EMO_CPU_AVX512 = 1 << 2,      // AVX-512 F, BW, DQ, VL and the OS saves ZMM / opmask state
    EMO_CPU_AVX512_VNNI = 1 << 3, // vpdpbusd
    EMO_CPU_AVX512_BF16 = 1 << 4, // vdpbf16ps, vcvtne2ps2bf16
    EMO_CPU_F16C = 1 << 5,
};
/// Feature bits of the CPU this process runs on (0 on a non-x86 machine).
uint32_t emo_cpu_features(void);
/// The CPU's brand string from cpuid (empty on a non-x86 machine); `out` holds at least 49 bytes.
void emo_cpu_brand(char *out);

// ---- Kernel sets ----
// fp32 kernels: EMO_ISA_AVX512 (12x32 zmm micro-kernel) or EMO_ISA_AVX2 (6x16 ymm micro-kernel). Both compute every
// element of C with the same operations in the same order (one FMA chain per K block, starting from +0, then one
// addition to C), so their results are bit-identical.
enum { EMO_ISA_AVX2 = 0, EMO_ISA_AVX512 = 1 };

// ---- fp32 GEMM on packed B (gemm_f32.c) ----
// C[rows x n] (+)= A[rows x k] * B[kOffset .. kOffset+k, 0..n]. B is packed in panels of 32 columns (kTotal rows of 32
// floats each, zero-padded). A: row stride lda (floats). C: row stride ldc. K is walked in blocks of EMO_F32_KC.
// scratch: 12 * k floats (a zero-padded copy of the last partial block of rows).
#define EMO_F32_KC 512
void emo_sgemm_packed(int isa, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                      const float *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, float *c, ptrdiff_t ldc,
                      int accumulate, float *scratch);

// ---- int8 GEMM: unsigned 8-bit A x signed 8-bit packed B -> int32 C (gemm_int8.c) ----
// K counted in bytes and a multiple of 4. B packed per 32-column panel as kTotal/4 groups of [32 columns][4 bytes].
// Integer arithmetic is exact, so every implementation (VNNI, AVX2) gives the same C.
// isa: EMO_ISA_AVX512 requires EMO_CPU_AVX512_VNNI. scratch: 12 * k bytes.
void emo_gemm_u8s8_packed(int isa, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const uint8_t *a, ptrdiff_t lda,
                          const int8_t *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, int32_t *c, ptrdiff_t ldc,
                          int accumulate, uint8_t *scratch);

// ---- bf16 GEMM: bf16 A x bf16 packed B -> fp32 C (gemm_bf16.c) ----
// K counted in bf16 elements and a multiple of 2. B packed per 32-column panel as kTotal/2 pairs of [32 columns][2].
// Each pair is added to the fp32 accumulator as (acc + a1*b1) + a0*b0, each step rounded to nearest even, products
// exact (vdpbf16ps's definition); the AVX2 version does the same steps with FMAs. K is walked in blocks of
// EMO_BF16_KC. isa: EMO_ISA_AVX512 requires EMO_CPU_AVX512_BF16. scratch: 12 * k uint16.
#define EMO_BF16_KC 1024
void emo_gemm_bf16_packed(int isa, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const uint16_t *a, ptrdiff_t lda,
                          const uint16_t *packedB, ptrdiff_t kOffset, ptrdiff_t kTotal, float *c, ptrdiff_t ldc,
                          int accumulate, uint16_t *scratch);

// ---- Activation conversion (convert.c) ----
// Largest value of x[0..count) (x >= 0 after ReLU; returns 0 for an empty or all-zero range).
float emo_max_f32(int isa, const float *x, ptrdiff_t count);
// dst[r * dstStride + c] = min(255, round_to_nearest_even(x[r * cols + c] * inverseScale)) for c < cols, 0 for
// cols <= c < dstStride. x must be >= 0.
void emo_quantize_u8(int isa, const float *x, ptrdiff_t rows, ptrdiff_t cols, float inverseScale, uint8_t *dst,
                     ptrdiff_t dstStride);
// dst[r * dstStride + c] = bf16(x[r * cols + c]) rounded to nearest even, 0 for cols <= c < dstStride.
void emo_convert_bf16(int isa, const float *x, ptrdiff_t rows, ptrdiff_t cols, uint16_t *dst, ptrdiff_t dstStride);
// The int8 epilogue: out[r, c] = act((float)acc[r, c] * (rowScale * colScale[c]) + bias[c] (+ residual[r, c])),
// in place (acc and out are the same memory, row stride ld), in that order of operations (no fused multiply-add).
void emo_dequantize(int isa, void *accOut, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float rowScale,
                    const float *colScale, const float *bias, const float *residual, int relu);

// ---- Peak throughput loops (peak.c) ----
// Runs 12 x `iterations` instructions of one kind in 12 independent chains;
// returns -1 without running when the CPU lacks it. Multiply-adds per instruction: FMA zmm 16, FMA ymm 8,
// vpdpbusd zmm 64, vpmaddwd ymm 16, vdpbf16ps zmm 32.
enum { EMO_PEAK_FMA_ZMM = 0, EMO_PEAK_FMA_YMM = 1, EMO_PEAK_VPDPBUSD_ZMM = 2, EMO_PEAK_VPMADDWD_YMM = 3, EMO_PEAK_VDPBF16PS_ZMM = 4 };
float emo_peak_loop(int kind, long iterations);

#ifdef __cplusplus
}
#endif
#endif
