// The GEMM code that every element type shares, written once as macros that define functions: the AVX-512 12x32
// micro-kernel (EMO_MICRO_12x32), the driver around any micro-kernel (EMO_GEMM_DRIVER), and a public GEMM of
// CKernels.h with its two drivers (EMO_GEMM).
#ifndef EMOPIPE_GEMM_TEMPLATES_H
#define EMOPIPE_GEMM_TEMPLATES_H
#include "targets.h"

// The twelve rows of an AVX-512 micro-kernel, in three groups of four addressed from a0, a4 and a8 (row r of a group
// at a multiple of lda from its base, so the loop needs three pointers, not twelve): OP(r, base, offset, ...), the
// arguments after OP passed on.
#define EMO_TWELVE_ROWS(OP, ...) \
    OP(0, a0, 0, __VA_ARGS__) OP(1, a0, lda, __VA_ARGS__) OP(2, a0, 2 * lda, __VA_ARGS__) OP(3, a0, 3 * lda, __VA_ARGS__) \
    OP(4, a4, 0, __VA_ARGS__) OP(5, a4, lda, __VA_ARGS__) OP(6, a4, 2 * lda, __VA_ARGS__) OP(7, a4, 3 * lda, __VA_ARGS__) \
    OP(8, a8, 0, __VA_ARGS__) OP(9, a8, lda, __VA_ARGS__) OP(10, a8, 2 * lda, __VA_ARGS__) OP(11, a8, 3 * lda, __VA_ARGS__)
// OP(r, ...) for the twelve rows.
#define EMO_TWELVE(OP, ...) OP(0, __VA_ARGS__) OP(1, __VA_ARGS__) OP(2, __VA_ARGS__) OP(3, __VA_ARGS__) OP(4, __VA_ARGS__) \
    OP(5, __VA_ARGS__) OP(6, __VA_ARGS__) OP(7, __VA_ARGS__) OP(8, __VA_ARGS__) OP(9, __VA_ARGS__) OP(10, __VA_ARGS__) \
    OP(11, __VA_ARGS__)

// EMO_MICRO_12x32(NAME, TARGET, TA, TB, TC, KGROUP, VACC, VB, ZERO, LOADB, BCAST, MADD, LOADC, ADDC, STOREC) defines
//   NAME(groups, a, lda, b, c, ldc, accumulate, halfOnly): a 12 x 32 tile of C in 24 zmm accumulators (VACC, starting
//   at ZERO) over `groups` packed rows of B (KGROUP k steps of 32 columns each, two VB loads by LOADB). Each step
//   broadcasts the KGROUP elements of A of one row (BCAST(pointer)) and adds their products with B into the row's two
//   accumulators (acc = MADD(acc, a, b)). At the end the accumulators are stored into C (LOADC, ADDC, STOREC), added
//   to it when accumulating. halfOnly: only the first 16 columns are real (one load and one chain per row).
#define EMO_MICRO_12x32(NAME, TARGET, TA, TB, TC, KGROUP, VACC, VB, ZERO, LOADB, BCAST, MADD, LOADC, ADDC, STOREC) \
TARGET static inline void NAME(ptrdiff_t groups, const TA *a, ptrdiff_t lda, const TB *b, TC *c, ptrdiff_t ldc,    \
                               int accumulate, int halfOnly) {                                                     \
    VACC c0a = ZERO, c0b = ZERO, c1a = ZERO, c1b = ZERO, c2a = ZERO, c2b = ZERO, c3a = ZERO, c3b = ZERO;           \
    VACC c4a = ZERO, c4b = ZERO, c5a = ZERO, c5b = ZERO, c6a = ZERO, c6b = ZERO, c7a = ZERO, c7b = ZERO;           \
    VACC c8a = ZERO, c8b = ZERO, c9a = ZERO, c9b = ZERO, c10a = ZERO, c10b = ZERO, c11a = ZERO, c11b = ZERO;       \
    const TA *a0 = a, *a4 = a + 4 * lda, *a8 = a + 8 * lda;                                                        \
    if (halfOnly) {                                                                                                \
        for (ptrdiff_t g = 0; g < groups; g++) {                                                                   \
            VB b0 = LOADB(b);                                                                                      \
            ptrdiff_t q = (KGROUP) * g;                                                                            \
            EMO_TWELVE_ROWS(EMO_MICRO_HALF_ROW, BCAST, MADD)                                                       \
            b += 32 * (KGROUP);                                                                                    \
        }                                                                                                          \
    } else {                                                                                                       \
        for (ptrdiff_t g = 0; g < groups; g++) {                                                                   \
            VB b0 = LOADB(b), b1 = LOADB(b + 16 * (KGROUP));                                                       \
            ptrdiff_t q = (KGROUP) * g;                                                                            \
            VB x;                                                                                                  \
            EMO_TWELVE_ROWS(EMO_MICRO_ROW, BCAST, MADD)                                                            \
            b += 32 * (KGROUP);                                                                                    \
        }                                                                                                          \
    }                                                                                                              \
    EMO_TWELVE(EMO_MICRO_OUT, TC, LOADC, ADDC, STOREC)                                                             \
}

// Row r's steps (A from base p at offset off), and its store.
#define EMO_MICRO_HALF_ROW(r, p, off, BCAST, MADD) c##r##a = MADD(c##r##a, BCAST(p + q + off), b0);
#define EMO_MICRO_ROW(r, p, off, BCAST, MADD) \
    x = BCAST(p + q + off); c##r##a = MADD(c##r##a, x, b0); c##r##b = MADD(c##r##b, x, b1);
#define EMO_MICRO_OUT(r, TC, LOADC, ADDC, STOREC) { TC *p = c + r * ldc; \
        if (accumulate) c##r##a = ADDC(c##r##a, LOADC(p)); \
        STOREC(p, c##r##a); \
        if (!halfOnly) { if (accumulate) c##r##b = ADDC(c##r##b, LOADC(p + 16)); STOREC(p + 16, c##r##b); } }

// Row r of an fp32 AVX2 tile (accumulators c<r>a, c<r>b: 16 columns) into C, added to it when accumulating.
#define EMO_AVX2_OUT(r) { float *p = c + r * ldc; \
        if (accumulate) { c##r##a = _mm256_add_ps(c##r##a, _mm256_loadu_ps(p)); c##r##b = _mm256_add_ps(c##r##b, _mm256_loadu_ps(p + 8)); } \
        _mm256_storeu_ps(p, c##r##a); _mm256_storeu_ps(p + 8, c##r##b); }

// EMO_GEMM_DRIVER(...) defines
//   NAME        the function                    TARGET  its instruction-set attribute (targets.h)
//   TA, TB, TC  the element types of A, packed B and C
//   KC          the K block, in elements of A   KGROUP  the k steps packed together in one row of a B panel
//                                                       (1 for fp32, 2 for bf16 pairs, 4 for int8 groups)
//   MR, NR      the micro-kernel's tile: MR rows by NR = 32 or 16 columns
//   TILE        the micro-kernel: TILE(groups, a, lda, b, c, ldc, accumulate, halfOnly) computes an MR x NR tile of C
//               over `groups` packed rows of B (halfOnly: only the first 16 of 32 columns are real; NR = 16 kernels
//               ignore it).
// B is packed in 32-column panels (CKernels.h). An NR = 32 kernel takes a whole panel, an NR = 16 kernel one half of
// it: the second half starts 16 * KGROUP elements into each packed row. The last, partial block of rows of A is read
// from a zero-padded copy in `scratch`, so the kernel always reads whole tiles; a tile at C's edge is computed into
// `temp` and only its real part stored. Each element of C is one chain of the kernel's products over a K block, added
// once to C: the same operations whatever the tile, which is why the instruction sets agree to the bit.
#define EMO_GEMM_DRIVER(NAME, TARGET, TA, TB, TC, KC, KGROUP, MR, NR, TILE)                                       \
TARGET static void NAME(ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const TA *a, ptrdiff_t lda, const TB *packedB,  \
                        ptrdiff_t kOffset, ptrdiff_t kTotal, TC *c, ptrdiff_t ldc, int accumulate, TA *scratch) { \
    ptrdiff_t panels = (n + 31) / 32, full = rows / (MR), rest = rows - full * (MR);                              \
    emo_copy_rows_padded(scratch, a + full * (MR) * lda, lda, k, rest, MR, sizeof(TA));                           \
    TC temp[(MR) * (NR)] __attribute__((aligned(64)));                                                            \
    for (ptrdiff_t k0 = 0; k0 < k; k0 += (KC)) {                                                                  \
        ptrdiff_t depth = EMO_MIN((KC), k - k0);                                                                  \
        int acc = accumulate || k0 > 0;                                                                           \
        for (ptrdiff_t j = 0; j < panels; j++) {                                                                  \
            ptrdiff_t cols = EMO_MIN(32, n - j * 32);                                                             \
            for (ptrdiff_t h = 0; h * (NR) < cols; h++) {                                                         \
                const TB *b = packedB + (j * kTotal + kOffset + k0) * 32 + h * 16 * (KGROUP);                     \
                ptrdiff_t colsHere = EMO_MIN((NR), cols - h * (NR));                                              \
                int half = colsHere <= 16;                                                                        \
                for (ptrdiff_t t = 0; t < full + (rest > 0); t++) {                                               \
                    int isFull = t < full;                                                                        \
                    const TA *aTile = isFull ? a + t * (MR) * lda + k0 : scratch + k0;                            \
                    ptrdiff_t ldaTile = isFull ? lda : k, rowsHere = isFull ? (MR) : rest;                        \
                    TC *cTile = c + t * (MR) * ldc + j * 32 + h * (NR);                                           \
                    if (rowsHere == (MR) && (colsHere == (NR) || colsHere == 16)) {                               \
                        TILE(depth / (KGROUP), aTile, ldaTile, b, cTile, ldc, acc, half);                         \
                    } else {                                                                                      \
                        TILE(depth / (KGROUP), aTile, ldaTile, b, temp, NR, 0, half);                             \
                        for (ptrdiff_t r = 0; r < rowsHere; r++) {                                                \
                            TC *dst = cTile + r * ldc; const TC *src = temp + r * (NR);                           \
                            if (acc) for (ptrdiff_t q = 0; q < colsHere; q++) dst[q] += src[q];                   \
                            else for (ptrdiff_t q = 0; q < colsHere; q++) dst[q] = src[q];                        \
                        }                                                                                         \
                    }                                                                                             \
                }                                                                                                 \
            }                                                                                                     \
        }                                                                                                         \
    }                                                                                                             \
}

// EMO_GEMM(PUBLIC, TA, TB, TC, KC, KGROUP, TARGET512, TILE512, MR2, TILE2) defines the public function PUBLIC
// (declared in CKernels.h) and its two drivers: AVX-512 (PUBLIC_avx512: the 12x32 kernel TILE512, compiled for
// TARGET512) and AVX2 (PUBLIC_avx2: the MR2 x 16 kernel TILE2); `isa` picks one.
#define EMO_GEMM(PUBLIC, TA, TB, TC, KC, KGROUP, TARGET512, TILE512, MR2, TILE2)                                           \
EMO_GEMM_DRIVER(PUBLIC##_avx512, TARGET512, TA, TB, TC, KC, KGROUP, 12, 32, TILE512)                                       \
EMO_GEMM_DRIVER(PUBLIC##_avx2, EMO_TARGET_AVX2, TA, TB, TC, KC, KGROUP, MR2, 16, TILE2)                                    \
void PUBLIC(int isa, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t k, const TA *a, ptrdiff_t lda, const TB *packedB,              \
            ptrdiff_t kOffset, ptrdiff_t kTotal, TC *c, ptrdiff_t ldc, int accumulate, TA *scratch) {                      \
    if (rows <= 0 || n <= 0 || k <= 0) return;                                                                             \
    if (isa == EMO_ISA_AVX512) PUBLIC##_avx512(rows, n, k, a, lda, packedB, kOffset, kTotal, c, ldc, accumulate, scratch); \
    else PUBLIC##_avx2(rows, n, k, a, lda, packedB, kOffset, kTotal, c, ldc, accumulate, scratch);                         \
}

#endif
