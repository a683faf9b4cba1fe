// Run-time CPU feature detection: cpuid for what the CPU implements, xgetbv for what the OS saves on a context switch
// (a CPU may have AVX-512 while the kernel does not enable its state; using it then faults).
#include "CKernels.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

uint32_t emo_cpu_features(void) {
    uint32_t a, b, c, d, out = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return 0;
    uint64_t xcr0 = xgetbv0();
    int ymmState = (xcr0 & 0x6) == 0x6;          // SSE + AVX state
    int zmmState = (xcr0 & 0xE6) == 0xE6;        // + opmask, ZMM0-15 upper halves, ZMM16-31
    if (!ymmState) return 0;
    if (fma) out |= EMO_CPU_FMA;
    if (f16c) out |= EMO_CPU_F16C;
    uint32_t maxLeaf = __get_cpuid_max(0, 0);
    if (maxLeaf < 7) return out;
    __cpuid_count(7, 0, a, b, c, d);
    if ((b >> 5) & 1) out |= EMO_CPU_AVX2;
    int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    int vnni = (c >> 11) & 1;
    if (zmmState && f && dq && bw && vl) {
        out |= EMO_CPU_AVX512;
        if (vnni) out |= EMO_CPU_AVX512_VNNI;
        uint32_t a1, b1, c1, d1;
        __cpuid_count(7, 1, a1, b1, c1, d1);
        if ((a1 >> 5) & 1) out |= EMO_CPU_AVX512_BF16;
    }
    return out;
}

void emo_cpu_brand(char *out) {
    uint32_t regs[12];
    out[0] = 0;
    if (__get_cpuid_max(0x80000000, 0) < 0x80000004) return;
    for (uint32_t i = 0; i < 3; i++) __cpuid(0x80000002 + i, regs[4 * i], regs[4 * i + 1], regs[4 * i + 2], regs[4 * i + 3]);
    memcpy(out, regs, 48);
    out[48] = 0;
    // trim leading and trailing blanks
    size_t start = 0, len = strlen(out);
    while (start < len && out[start] == ' ') start++;
    while (len > start && out[len - 1] == ' ') len--;
    memmove(out, out + start, len - start);
    out[len - start] = 0;
}
#else
uint32_t emo_cpu_features(void) { return 0; }
void emo_cpu_brand(char *out) { out[0] = 0; }
#endif
