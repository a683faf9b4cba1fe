// The instruction sets each kernel is compiled for (function attributes: the rest of the target stays x86-64-v3).
#ifndef EMOPIPE_TARGETS_H
#define EMOPIPE_TARGETS_H
#if defined(__x86_64__)
#include <immintrin.h>
#define EMO_X86 1
#define EMO_TARGET_AVX2 __attribute__((target("avx2,fma,f16c,bmi2")))
#define EMO_TARGET_AVX512 __attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512dq,avx512vl")))
#define EMO_TARGET_AVX512_VNNI __attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define EMO_TARGET_AVX512_BF16 __attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))
#endif
#include <string.h>
#define EMO_MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
