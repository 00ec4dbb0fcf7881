/* ggml's CPU arithmetic (llama.cpp 4227c9b as built in llama-cpp-python 0.3.16: GCC 12, AVX2 + FMA +
 * F16C, no AVX-512), reproduced bit for bit. See llama_kernels.h for the contracts.
 *
 * Every kernel has two implementations that give identical bits:
 *   - an AVX2/FMA/F16C one (functions marked HERD_TARGET), chosen at run time when the CPU has them;
 *   - a portable scalar one that performs the same IEEE operations in the same order: the 8 lanes of
 *     a __m256 become float[8], _mm256_fmadd_ps becomes fmaf, integer SIMD steps are emulated with
 *     their exact wrap-around / saturation rules, and horizontal sums follow ggml's shuffle order.
 *
 * Facts about the reference build that matter (read from its disassembly and checked by the tests):
 *   - GGML_CPU_FP32_TO_FP16 in the quantizers is ggml's software conversion (not F16C); the fp16
 *     values of the 8-bit activation blocks therefore come from fp32_to_fp16_ggml below.
 *   - GCC contracted `summs += m*s` in ggml_vec_dot_q4_1_q8_1 into an FMA; we do the same.
 *   - the scalar tails of ggml_vec_soft_max_f32 / ggml_vec_swiglu_f32 (n % 8 elements) use libm
 *     expf, not ggml_v_expf; we do the same.
 *   - llamafile's tinyBLAS serves Q8_0 x Q8_0 when a matmul has >= 2 activation rows; per output
 *     element it computes exactly what ggml_vec_dot_q8_0_q8_0 computes, so no switch is needed.
 *     It also serves F16 x F16 (attention, >= 2 query rows), with a different summation order:
 *     herd_vec_dot_f16_tinyblas below (not in the header).
 *
 * Contraction of a*b+c into FMAs must be off for this file (Package.swift passes -ffp-contract=off;
 * the pragmas below make the file safe without it too). Every FMA here is explicit. */

#include "llama_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define HERD_X86 1
#include <immintrin.h>
#include <cpuid.h>
#define HERD_TARGET __attribute__((target("avx2,fma,f16c")))
#define HERD_INLINE_TARGET static inline __attribute__((always_inline, target("avx2,fma,f16c")))
#endif

/* Test hook: nonzero forces the scalar implementations (the environment variable
 * HERD_LLAMA_KERNELS_FORCE_SCALAR=1 does the same, read once). */
int herd_llama_kernels_force_scalar = 0;

/* Nonzero when the AVX2 code would be used (for tests and diagnostics). */
int herd_llama_kernels_simd_available(void);

static int herd_simd_state = -1;

static int herd_detect_simd(void) {
    int ok = 0;
#if defined(HERD_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        unsigned a, b, c, d;
        if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29))) ok = 1; /* F16C */
    }
#endif
    const char *e = getenv("HERD_LLAMA_KERNELS_FORCE_SCALAR");
    if (e && *e && *e != '0') ok = 0;
    return ok;
}

int herd_llama_kernels_simd_available(void) {
    int s = __atomic_load_n(&herd_simd_state, __ATOMIC_RELAXED);
    if (s < 0) {
        s = herd_detect_simd();
        __atomic_store_n(&herd_simd_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

static inline __attribute__((unused)) int use_simd(void) {
    if (herd_llama_kernels_force_scalar) return 0;
    return herd_llama_kernels_simd_available();
}

/* ------------------------------------------------------------------------------------------------ */
/* Scalar helpers                                                                                    */

static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* fp16 -> fp32, exact; NaNs quieted with their payload kept (as F16C and ggml's table). */
static inline float h2f(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (e == 0x1f) return u2f(sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0u));
    if (e == 0) {
        const float v = (float)mant * 0x1p-24f; /* exact */
        return sign ? -v : v;
    }
    return u2f(sign | ((e + 112u) << 23) | (mant << 13));
}

/* ggml_compute_fp32_to_fp16: round to nearest even, every NaN to 0x7E00 (sign kept). In the
 * reference GCC fused (|f|*2^112)*2^-110 + bias into an FMA; the product is exact (or infinite) so
 * the unfused form below gives the same bits. */
static inline uint16_t fp32_to_fp16_ggml(float f) {
    const float scale_to_inf = 0x1.0p+112f;
    const float scale_to_zero = 0x1.0p-110f;
    float base = (fabsf(f) * scale_to_inf) * scale_to_zero;
    const uint32_t w = f2u(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = u2f((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = f2u(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const uint32_t mantissa_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return (uint16_t)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

/* vcvtps2ph with rounding imm 0: identical to the above except NaNs keep their top payload bits. */
static inline uint16_t fp32_to_fp16_f16c(float f) {
    const uint32_t x = f2u(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)(((x >> 16) & 0x8000u) | 0x7e00u | ((x >> 13) & 0x3ffu));
    return fp32_to_fp16_ggml(f);
}

/* MAXPS/MAXSS semantics: a > b ? a : b (the second operand when unordered or equal). */
static inline float max_ps1(float a, float b) { return a > b ? a : b; }

/* _mm256_round_ps(x, 0): nearest, ties to even. Exact under the default rounding mode. */
static inline float round_ne(float x) {
    const float ax = fabsf(x);
    if (!(ax < 8388608.0f)) return x; /* NaN, infinities, already integral */
    const float r = (ax + 8388608.0f) - 8388608.0f;
    return copysignf(r, x);
}

/* cvtps2dq of an integral value: out of range or NaN gives INT32_MIN. */
static inline int32_t cvt_i32(float r) {
    if (!(r >= -2147483648.0f && r < 2147483648.0f)) return INT32_MIN;
    return (int32_t)r;
}

static inline int32_t sat16(int32_t v) { return v > 32767 ? 32767 : (v < -32768 ? -32768 : v); }
static inline int32_t sat8(int32_t v) { return v > 127 ? 127 : (v < -128 ? -128 : v); }

/* hsum_float_8 (x86 quants.c / tinyBLAS hsum): (hi+lo) pairwise, then (0+2),(1+3), then sum. */
static inline float hsum8_quants(const float a[8]) {
    const float s0 = a[4] + a[0], s1 = a[5] + a[1], s2 = a[6] + a[2], s3 = a[7] + a[3];
    const float t0 = s0 + s2, t1 = s1 + s3;
    return t0 + t1;
}

/* ggml_vec_soft_max_f32's per-chunk sum: same shuffle order as hsum_float_8. */
#define hsum8_softmax hsum8_quants

/* GGML_F32x8_REDUCE's final step on one vector: lo+hi, then two _mm_hadd_ps. */
static inline float hsum8_hadd(const float a[8]) {
    const float t0 = a[0] + a[4], t1 = a[1] + a[5], t2 = a[2] + a[6], t3 = a[3] + a[7];
    const float h0 = t0 + t1, h1 = t2 + t3;
    return h0 + h1;
}

/* ------------------------------------------------------------------------------------------------ */
/* ggml_v_expf, one lane                                                                             */

static inline float v_expf_1(float x) {
    /* A NaN flows through every vector step unchanged (quieted); only fmaf(-n, ...) below would
     * flip its sign, so it is answered here. */
    if (x != x) return u2f(f2u(x) | 0x400000u);
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r);
    const float n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    const uint32_t e = f2u(z) << 23;
    const float k = u2f(e + f2u(1.0f));
    const int c = fabsf(n) > 126.0f;
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                              fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                         u, 0x1.ffffecp-1f * b);
    if (!c) return fmaf(k, j, k);
    const uint32_t g = (n <= 0.0f) ? 0x82000000u : 0u;
    const float s1 = u2f(g + 0x7f000000u);
    const float s2 = u2f(e - g);
    if (fabsf(n) > 192.0f) return s1 * s1;
    return fmaf(s2, j, s2) * s1;
}

/* ggml_v_silu, one lane: x / (1 + v_expf(0 - x)). */
static inline float v_silu_1(float x) {
    const float neg = 0.0f - x;
    return x / (1.0f + v_expf_1(neg));
}

/* ggml_silu_f32 (the scalar tails): x / (1 + expf(-x)). */
static inline float silu_libm(float x) { return x / (1.0f + expf(-x)); }

#if defined(HERD_X86)
HERD_INLINE_TARGET __m256 v_expf_avx2(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
    const __m256i c = _mm256_castps_si256(
        _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.f), n), _mm256_set1_ps(126), _CMP_GT_OQ));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
    if (!_mm256_movemask_ps(_mm256_castsi256_ps(c))) return _mm256_fmadd_ps(j, k, k);
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                       _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256i d = _mm256_castps_si256(
        _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.f), n), _mm256_set1_ps(192), _CMP_GT_OQ));
    return _mm256_or_ps(
        _mm256_and_ps(_mm256_castsi256_ps(d), _mm256_mul_ps(s1, s1)),
        _mm256_andnot_ps(_mm256_castsi256_ps(d),
                         _mm256_or_ps(_mm256_and_ps(_mm256_castsi256_ps(c), _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1)),
                                      _mm256_andnot_ps(_mm256_castsi256_ps(c), _mm256_fmadd_ps(k, j, k)))));
}

HERD_INLINE_TARGET __m256 v_silu_avx2(__m256 x) {
    const __m256 neg = _mm256_sub_ps(_mm256_setzero_ps(), x);
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1), v_expf_avx2(neg)));
}

HERD_INLINE_TARGET float hsum_float_8_avx(__m256 x) {
    __m128 res = _mm256_extractf128_ps(x, 1);
    res = _mm_add_ps(res, _mm256_castps256_ps128(x));
    res = _mm_add_ps(res, _mm_movehl_ps(res, res));
    res = _mm_add_ss(res, _mm_movehdup_ps(res));
    return _mm_cvtss_f32(res);
}
#endif

#if defined(HERD_X86)
HERD_TARGET static float ggml_expf_avx2(float x) {
    return _mm256_cvtss_f32(v_expf_avx2(_mm256_set1_ps(x)));
}
#endif

float herd_ggml_expf(float x) {
#if defined(HERD_X86)
    if (use_simd()) return ggml_expf_avx2(x);
#endif
    return v_expf_1(x);
}

/* ------------------------------------------------------------------------------------------------ */
/* fp16 conversions                                                                                  */

#if defined(HERD_X86)
HERD_TARGET static void fp32_to_fp16_avx2(const float *x, uint16_t *y, int64_t n) {
    int64_t i = 0;
    for (; i + 7 < n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), 0));
    for (; i + 3 < n; i += 4)
        _mm_storel_epi64((__m128i *)(y + i), _mm_cvtps_ph(_mm_loadu_ps(x + i), 0));
    for (; i < n; i++) y[i] = fp32_to_fp16_ggml(x[i]);
}

HERD_TARGET static void fp16_to_fp32_avx2(const uint16_t *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 7 < n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = _cvtsh_ss(x[i]);
}
#endif

/* As ggml_cpu_fp32_to_fp16: vcvtps2ph on groups of 8, then one of 4, then ggml's software
 * conversion for the last n % 4 values (these differ only in how NaNs are encoded). */
void herd_fp32_to_fp16(const float *x, uint16_t *y, int64_t n) {
#if defined(HERD_X86)
    if (use_simd()) { fp32_to_fp16_avx2(x, y, n); return; }
#endif
    int64_t i = 0;
    for (; i + 7 < n; i += 8)
        for (int j = 0; j < 8; j++) y[i + j] = fp32_to_fp16_f16c(x[i + j]);
    for (; i + 3 < n; i += 4)
        for (int j = 0; j < 4; j++) y[i + j] = fp32_to_fp16_f16c(x[i + j]);
    for (; i < n; i++) y[i] = fp32_to_fp16_ggml(x[i]);
}

void herd_fp16_to_fp32(const uint16_t *x, float *y, int64_t n) {
#if defined(HERD_X86)
    if (use_simd()) { fp16_to_fp32_avx2(x, y, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = h2f(x[i]);
}

/* ------------------------------------------------------------------------------------------------ */
/* quantize_row_q8_0 / quantize_row_q8_1 (the AVX2 versions)                                         */

/* One block of 32: d (fp32, before fp16 rounding), the int8 quants, and the int32 sum of the
 * unsaturated rounded values (what hsum_i32_8 sees). */
static inline void quant_block_scalar(const float *x, float *d_out, int8_t *q, int32_t *sum_out) {
    float m[8];
    for (int j = 0; j < 8; j++) {
        float a = u2f(f2u(x[j]) & 0x7fffffffu);
        a = max_ps1(a, u2f(f2u(x[8 + j]) & 0x7fffffffu));
        a = max_ps1(a, u2f(f2u(x[16 + j]) & 0x7fffffffu));
        a = max_ps1(a, u2f(f2u(x[24 + j]) & 0x7fffffffu));
        m[j] = a;
    }
    float h[4];
    for (int j = 0; j < 4; j++) h[j] = max_ps1(m[4 + j], m[j]);
    const float h0 = max_ps1(h[0], h[2]), h1 = max_ps1(h[1], h[3]);
    const float amax = max_ps1(h0, h1);

    const float d = amax / 127.f;
    const float id = (amax != 0.0f) ? 127.f / amax : 0.0f;
    uint32_t sum = 0;
    for (int i = 0; i < 32; i++) {
        const int32_t v = cvt_i32(round_ne(x[i] * id));
        sum += (uint32_t)v;
        q[i] = (int8_t)sat8(sat16(v));
    }
    *d_out = d;
    *sum_out = (int32_t)sum;
}

static void quantize_q8_0_scalar(const float *x, uint8_t *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        float d;
        int32_t s;
        quant_block_scalar(x + 32 * i, &d, (int8_t *)(y + 34 * i + 2), &s);
        wr16(y + 34 * i, fp32_to_fp16_ggml(d));
    }
}

static void quantize_q8_1_scalar(const float *x, uint8_t *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        float d;
        int32_t s;
        quant_block_scalar(x + 32 * i, &d, (int8_t *)(y + 36 * i + 4), &s);
        wr16(y + 36 * i, fp32_to_fp16_ggml(d));
        wr16(y + 36 * i + 2, fp32_to_fp16_ggml(d * (float)s));
    }
}

#if defined(HERD_X86)
/* Returns d and leaves the 4 int32 vectors of rounded values in i[0..3]. */
HERD_INLINE_TARGET float quant_block_avx2(const float *x, __m256i i[4]) {
    __m256 v0 = _mm256_loadu_ps(x);
    __m256 v1 = _mm256_loadu_ps(x + 8);
    __m256 v2 = _mm256_loadu_ps(x + 16);
    __m256 v3 = _mm256_loadu_ps(x + 24);
    const __m256 signBit = _mm256_set1_ps(-0.0f);
    __m256 maxAbs = _mm256_andnot_ps(signBit, v0);
    maxAbs = _mm256_max_ps(maxAbs, _mm256_andnot_ps(signBit, v1));
    maxAbs = _mm256_max_ps(maxAbs, _mm256_andnot_ps(signBit, v2));
    maxAbs = _mm256_max_ps(maxAbs, _mm256_andnot_ps(signBit, v3));
    __m128 max4 = _mm_max_ps(_mm256_extractf128_ps(maxAbs, 1), _mm256_castps256_ps128(maxAbs));
    max4 = _mm_max_ps(max4, _mm_movehl_ps(max4, max4));
    max4 = _mm_max_ss(max4, _mm_movehdup_ps(max4));
    const float maxScalar = _mm_cvtss_f32(max4);
    const float d = maxScalar / 127.f;
    const float id = (maxScalar != 0.0f) ? 127.f / maxScalar : 0.0f;
    const __m256 mul = _mm256_set1_ps(id);
    i[0] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    i[1] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    i[2] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    i[3] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    return d;
}

HERD_INLINE_TARGET void pack_q_avx2(const __m256i i[4], uint8_t *dst) {
    __m256i a = _mm256_packs_epi32(i[0], i[1]);
    __m256i b = _mm256_packs_epi32(i[2], i[3]);
    a = _mm256_packs_epi16(a, b);
    a = _mm256_permutevar8x32_epi32(a, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)dst, a);
}

HERD_TARGET static void quantize_q8_0_avx2(const float *x, uint8_t *y, int64_t nb) {
    for (int64_t b = 0; b < nb; b++) {
        __m256i i[4];
        const float d = quant_block_avx2(x + 32 * b, i);
        wr16(y + 34 * b, fp32_to_fp16_ggml(d));
        pack_q_avx2(i, y + 34 * b + 2);
    }
}

HERD_TARGET static void quantize_q8_1_avx2(const float *x, uint8_t *y, int64_t nb) {
    for (int64_t b = 0; b < nb; b++) {
        __m256i i[4];
        const float d = quant_block_avx2(x + 32 * b, i);
        wr16(y + 36 * b, fp32_to_fp16_ggml(d));
        const __m256i s8 = _mm256_add_epi32(_mm256_add_epi32(i[0], i[1]), _mm256_add_epi32(i[2], i[3]));
        const __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extractf128_si256(s8, 1));
        const __m128i s2 = _mm_add_epi32(_mm_unpackhi_epi64(s4, s4), s4);
        const __m128i s1 = _mm_add_epi32(s2, _mm_shuffle_epi32(s2, _MM_SHUFFLE(2, 3, 0, 1)));
        const int sum = _mm_cvtsi128_si32(s1);
        wr16(y + 36 * b + 2, fp32_to_fp16_ggml(d * (float)sum));
        pack_q_avx2(i, y + 36 * b + 4);
    }
}
#endif

void herd_quantize_q8_0(const float *x, void *y, int64_t n) {
#if defined(HERD_X86)
    if (use_simd()) { quantize_q8_0_avx2(x, (uint8_t *)y, n / 32); return; }
#endif
    quantize_q8_0_scalar(x, (uint8_t *)y, n / 32);
}

void herd_quantize_q8_1(const float *x, void *y, int64_t n) {
#if defined(HERD_X86)
    if (use_simd()) { quantize_q8_1_avx2(x, (uint8_t *)y, n / 32); return; }
#endif
    quantize_q8_1_scalar(x, (uint8_t *)y, n / 32);
}

/* ------------------------------------------------------------------------------------------------ */
/* Quantized dot products, scalar emulation                                                          */

/* The 8 int32 lanes of madd(ones, maddubs(u, s)) for 32 unsigned bytes u and signed bytes s. */
static inline void maddubs_lanes(const uint8_t u[32], const int8_t s[32], int32_t out[8]) {
    for (int l = 0; l < 8; l++) {
        const int32_t p0 = sat16((int32_t)u[4 * l + 0] * s[4 * l + 0] + (int32_t)u[4 * l + 1] * s[4 * l + 1]);
        const int32_t p1 = sat16((int32_t)u[4 * l + 2] * s[4 * l + 2] + (int32_t)u[4 * l + 3] * s[4 * l + 3]);
        out[l] = p0 + p1;
    }
}

static float dot_q4_1_q8_1_scalar(int64_t nb, const uint8_t *w, const uint8_t *x) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    float summs = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *wb = w + 20 * b, *xb = x + 36 * b;
        const float d0 = h2f(rd16(wb)), d1 = h2f(rd16(xb));
        summs = fmaf(h2f(rd16(wb + 2)), h2f(rd16(xb + 2)), summs);
        const float d0d1 = d0 * d1;
        uint8_t u[32];
        for (int j = 0; j < 16; j++) {
            u[j] = wb[4 + j] & 0x0f;
            u[j + 16] = wb[4 + j] >> 4;
        }
        int32_t lanes[8];
        maddubs_lanes(u, (const int8_t *)(xb + 4), lanes);
        for (int l = 0; l < 8; l++) acc[l] = fmaf(d0d1, (float)lanes[l], acc[l]);
    }
    return hsum8_quants(acc) + summs;
}

static float dot_q8_0_q8_0_scalar(int64_t nb, const uint8_t *w, const uint8_t *x) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *wb = w + 34 * b, *xb = x + 34 * b;
        const float d = h2f(rd16(wb)) * h2f(rd16(xb));
        const int8_t *qx = (const int8_t *)(wb + 2), *qy = (const int8_t *)(xb + 2);
        uint8_t u[32];
        int8_t s[32];
        for (int j = 0; j < 32; j++) {
            /* _mm256_sign_epi8(x, x) and _mm256_sign_epi8(y, x), int8 wrap-around included */
            u[j] = (uint8_t)(qx[j] < 0 ? -(int)qx[j] : qx[j]);
            s[j] = qx[j] < 0 ? (int8_t)(uint8_t)(0u - (uint8_t)qy[j]) : (qx[j] == 0 ? 0 : qy[j]);
        }
        int32_t lanes[8];
        maddubs_lanes(u, s, lanes);
        for (int l = 0; l < 8; l++) acc[l] = fmaf(d, (float)lanes[l], acc[l]);
    }
    return hsum8_quants(acc);
}

/* ------------------------------------------------------------------------------------------------ */
/* Quantized dot products and matmul, AVX2                                                           */

#if defined(HERD_X86)
HERD_INLINE_TARGET __m256i unpack_q4(const uint8_t *qs) {
    const __m128i tmp = _mm_loadu_si128((const __m128i *)qs);
    const __m256i bytes = _mm256_insertf128_si256(_mm256_castsi128_si256(tmp), _mm_srli_epi16(tmp, 4), 1);
    return _mm256_and_si256(_mm256_set1_epi8(0x0f), bytes);
}

HERD_INLINE_TARGET __m256 us8_dot(__m256i u, __m256i s) {
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_set1_epi16(1), _mm256_maddubs_epi16(u, s)));
}

HERD_INLINE_TARGET float f16s(const uint8_t *p) { return _cvtsh_ss(rd16(p)); }

HERD_TARGET static float dot_q4_1_q8_1_avx2(int64_t nb, const uint8_t *w, const uint8_t *x) {
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *wb = w + 20 * b, *xb = x + 36 * b;
        const float d0 = f16s(wb), d1 = f16s(xb);
        summs = fmaf(f16s(wb + 2), f16s(xb + 2), summs);
        const __m256 d0d1 = _mm256_set1_ps(d0 * d1);
        const __m256 xy = us8_dot(unpack_q4(wb + 4), _mm256_loadu_si256((const __m256i *)(xb + 4)));
        acc = _mm256_fmadd_ps(d0d1, xy, acc);
    }
    return hsum_float_8_avx(acc) + summs;
}

HERD_TARGET static float dot_q8_0_q8_0_avx2(int64_t nb, const uint8_t *w, const uint8_t *x) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *wb = w + 34 * b, *xb = x + 34 * b;
        const __m256 d = _mm256_set1_ps(f16s(wb) * f16s(xb));
        const __m256i qx = _mm256_loadu_si256((const __m256i *)(wb + 2));
        const __m256i qy = _mm256_loadu_si256((const __m256i *)(xb + 2));
        const __m256 q = us8_dot(_mm256_sign_epi8(qx, qx), _mm256_sign_epi8(qy, qx));
        acc = _mm256_fmadd_ps(d, q, acc);
    }
    return hsum_float_8_avx(acc);
}

/* Matmul kernels. Four weight rows at a time: their fp16 scales are loaded together and converted
 * by one vcvtph2ps, the products d_w * d_x are taken for the four rows by one vmulps, and each row's
 * product is broadcast back with vpermps. Every (weight row, activation row) pair still has its own
 * 8-lane accumulator and its own chain of the same IEEE operations as the single dot product
 * (d_w * d_x rounded to float, then fma into the accumulator; for Q4_1 the separate fma chain
 * summs = fma(m_w, s_x, summs)), so each result is bit-identical to herd_vec_dot_*.
 * xds holds the activation scales as floats, per activation row: {d, s} pairs for Q8_1 blocks
 * ({d, d} for Q8_0). */

#ifndef HERD_PF_GROUPS
#define HERD_PF_GROUPS 2 /* software prefetch distance, in groups of 4 weight rows */
#endif

HERD_INLINE_TARGET uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* {d0, m0, d1, m1, d2, m2, d3, m3} of block b of four Q4_1 rows */
HERD_INLINE_TARGET __m256 q4_1_dm4(const uint8_t *w0, size_t wrow, int64_t b) {
    const uint8_t *p = w0 + 20 * b;
    const __m128i h = _mm_setr_epi32((int)rd32(p), (int)rd32(p + wrow), (int)rd32(p + 2 * wrow), (int)rd32(p + 3 * wrow));
    return _mm256_cvtph_ps(h);
}

/* {d0, d0, d1, d1, d2, d2, d3, d3} of block b of four Q8_0 rows */
HERD_INLINE_TARGET __m256 q8_0_dd4(const uint8_t *w0, size_t wrow, int64_t b) {
    const uint8_t *p = w0 + 34 * b;
    const uint32_t d0 = rd16(p), d1 = rd16(p + wrow), d2 = rd16(p + 2 * wrow), d3 = rd16(p + 3 * wrow);
    const __m128i h = _mm_setr_epi32((int)(d0 | d0 << 16), (int)(d1 | d1 << 16), (int)(d2 | d2 << 16), (int)(d3 | d3 << 16));
    return _mm256_cvtph_ps(h);
}

HERD_INLINE_TARGET __m256 bcast_pair(const float *p) {
    return _mm256_castpd_ps(_mm256_broadcast_sd((const double *)p));
}

HERD_INLINE_TARGET __m256 lane(__m256 v, int i) {
    return _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(i));
}

/* 4 Q4_1 rows x 1 activation row */
HERD_TARGET static void q4_1_4x1(const uint8_t *w, size_t wrow, int64_t nb, const uint8_t *x, const float *xds,
                                 float *y) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, sm = a0;
    const uint8_t *w1 = w + wrow, *w2 = w + 2 * wrow, *w3 = w + 3 * wrow;
    const char *pf = (const char *)w + HERD_PF_GROUPS * 4 * wrow;
    for (int64_t b = 0; b < nb; b++) {
        _mm_prefetch(pf + 80 * b, _MM_HINT_T0);
        _mm_prefetch(pf + 80 * b + 64, _MM_HINT_T0);
        const __m256 dm = q4_1_dm4(w, wrow, b);
        const __m256 xd = bcast_pair(xds + 2 * b);
        const __m256 p = _mm256_mul_ps(dm, xd); /* even lanes: d_w * d_x */
        sm = _mm256_fmadd_ps(dm, xd, sm);       /* odd lanes: fma(m_w, s_x, summs) */
        const __m256i qy = _mm256_loadu_si256((const __m256i *)(x + 36 * b + 4));
        a0 = _mm256_fmadd_ps(lane(p, 0), us8_dot(unpack_q4(w + 20 * b + 4), qy), a0);
        a1 = _mm256_fmadd_ps(lane(p, 2), us8_dot(unpack_q4(w1 + 20 * b + 4), qy), a1);
        a2 = _mm256_fmadd_ps(lane(p, 4), us8_dot(unpack_q4(w2 + 20 * b + 4), qy), a2);
        a3 = _mm256_fmadd_ps(lane(p, 6), us8_dot(unpack_q4(w3 + 20 * b + 4), qy), a3);
    }
    float s[8];
    _mm256_storeu_ps(s, sm);
    y[0] = hsum_float_8_avx(a0) + s[1];
    y[1] = hsum_float_8_avx(a1) + s[3];
    y[2] = hsum_float_8_avx(a2) + s[5];
    y[3] = hsum_float_8_avx(a3) + s[7];
}

/* 4 Q4_1 rows x 2 activation rows */
HERD_TARGET static void q4_1_4x2(const uint8_t *w, size_t wrow, int64_t nb, const uint8_t *x, size_t xrow,
                                 const float *xds, size_t xdsrow, float *y, int64_t ldy, int prefetch) {
    __m256 a00 = _mm256_setzero_ps(), a10 = a00, a20 = a00, a30 = a00, s0 = a00;
    __m256 a01 = a00, a11 = a00, a21 = a00, a31 = a00, s1 = a00;
    const uint8_t *w1 = w + wrow, *w2 = w + 2 * wrow, *w3 = w + 3 * wrow;
    const uint8_t *x1 = x + xrow;
    const float *xds1 = xds + xdsrow;
    const char *pf = (const char *)w + HERD_PF_GROUPS * 4 * wrow;
    for (int64_t b = 0; b < nb; b++) {
        if (prefetch) {
            _mm_prefetch(pf + 80 * b, _MM_HINT_T0);
            _mm_prefetch(pf + 80 * b + 64, _MM_HINT_T0);
        }
        const __m256 dm = q4_1_dm4(w, wrow, b);
        const __m256 xd0 = bcast_pair(xds + 2 * b), xd1 = bcast_pair(xds1 + 2 * b);
        const __m256 p0 = _mm256_mul_ps(dm, xd0), p1 = _mm256_mul_ps(dm, xd1);
        s0 = _mm256_fmadd_ps(dm, xd0, s0);
        s1 = _mm256_fmadd_ps(dm, xd1, s1);
        const __m256i qy0 = _mm256_loadu_si256((const __m256i *)(x + 36 * b + 4));
        const __m256i qy1 = _mm256_loadu_si256((const __m256i *)(x1 + 36 * b + 4));
        __m256i qx = unpack_q4(w + 20 * b + 4);
        a00 = _mm256_fmadd_ps(lane(p0, 0), us8_dot(qx, qy0), a00);
        a01 = _mm256_fmadd_ps(lane(p1, 0), us8_dot(qx, qy1), a01);
        qx = unpack_q4(w1 + 20 * b + 4);
        a10 = _mm256_fmadd_ps(lane(p0, 2), us8_dot(qx, qy0), a10);
        a11 = _mm256_fmadd_ps(lane(p1, 2), us8_dot(qx, qy1), a11);
        qx = unpack_q4(w2 + 20 * b + 4);
        a20 = _mm256_fmadd_ps(lane(p0, 4), us8_dot(qx, qy0), a20);
        a21 = _mm256_fmadd_ps(lane(p1, 4), us8_dot(qx, qy1), a21);
        qx = unpack_q4(w3 + 20 * b + 4);
        a30 = _mm256_fmadd_ps(lane(p0, 6), us8_dot(qx, qy0), a30);
        a31 = _mm256_fmadd_ps(lane(p1, 6), us8_dot(qx, qy1), a31);
    }
    float t0[8], t1[8];
    _mm256_storeu_ps(t0, s0);
    _mm256_storeu_ps(t1, s1);
    y[0] = hsum_float_8_avx(a00) + t0[1];
    y[1] = hsum_float_8_avx(a10) + t0[3];
    y[2] = hsum_float_8_avx(a20) + t0[5];
    y[3] = hsum_float_8_avx(a30) + t0[7];
    y[ldy + 0] = hsum_float_8_avx(a01) + t1[1];
    y[ldy + 1] = hsum_float_8_avx(a11) + t1[3];
    y[ldy + 2] = hsum_float_8_avx(a21) + t1[5];
    y[ldy + 3] = hsum_float_8_avx(a31) + t1[7];
}

HERD_INLINE_TARGET __m256 q8_dot(__m256i qx, __m256i ax, __m256i qy) {
    return us8_dot(ax, _mm256_sign_epi8(qy, qx));
}

/* 4 Q8_0 rows x 1 activation row */
HERD_TARGET static void q8_0_4x1(const uint8_t *w, size_t wrow, int64_t nb, const uint8_t *x, const float *xds,
                                 float *y) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const uint8_t *w1 = w + wrow, *w2 = w + 2 * wrow, *w3 = w + 3 * wrow;
    const char *pf = (const char *)w + HERD_PF_GROUPS * 4 * wrow; /* the row group HERD_PF_GROUPS ahead */
    for (int64_t b = 0; b < nb; b++) {
        _mm_prefetch(pf + 136 * b, _MM_HINT_T0);
        _mm_prefetch(pf + 136 * b + 64, _MM_HINT_T0);
        _mm_prefetch(pf + 136 * b + 128, _MM_HINT_T0);
        const __m256 p = _mm256_mul_ps(q8_0_dd4(w, wrow, b), bcast_pair(xds + 2 * b));
        const __m256i qy = _mm256_loadu_si256((const __m256i *)(x + 34 * b + 2));
        __m256i qx = _mm256_loadu_si256((const __m256i *)(w + 34 * b + 2));
        a0 = _mm256_fmadd_ps(lane(p, 0), q8_dot(qx, _mm256_sign_epi8(qx, qx), qy), a0);
        qx = _mm256_loadu_si256((const __m256i *)(w1 + 34 * b + 2));
        a1 = _mm256_fmadd_ps(lane(p, 2), q8_dot(qx, _mm256_sign_epi8(qx, qx), qy), a1);
        qx = _mm256_loadu_si256((const __m256i *)(w2 + 34 * b + 2));
        a2 = _mm256_fmadd_ps(lane(p, 4), q8_dot(qx, _mm256_sign_epi8(qx, qx), qy), a2);
        qx = _mm256_loadu_si256((const __m256i *)(w3 + 34 * b + 2));
        a3 = _mm256_fmadd_ps(lane(p, 6), q8_dot(qx, _mm256_sign_epi8(qx, qx), qy), a3);
    }
    y[0] = hsum_float_8_avx(a0);
    y[1] = hsum_float_8_avx(a1);
    y[2] = hsum_float_8_avx(a2);
    y[3] = hsum_float_8_avx(a3);
}

/* 4 Q8_0 rows x 2 activation rows */
HERD_TARGET static void q8_0_4x2(const uint8_t *w, size_t wrow, int64_t nb, const uint8_t *x, size_t xrow,
                                 const float *xds, size_t xdsrow, float *y, int64_t ldy, int prefetch) {
    __m256 a00 = _mm256_setzero_ps(), a10 = a00, a20 = a00, a30 = a00;
    __m256 a01 = a00, a11 = a00, a21 = a00, a31 = a00;
    const uint8_t *w1 = w + wrow, *w2 = w + 2 * wrow, *w3 = w + 3 * wrow;
    const uint8_t *x1 = x + xrow;
    const float *xds1 = xds + xdsrow;
    const char *pf = (const char *)w + HERD_PF_GROUPS * 4 * wrow;
    for (int64_t b = 0; b < nb; b++) {
        if (prefetch) {
            _mm_prefetch(pf + 136 * b, _MM_HINT_T0);
            _mm_prefetch(pf + 136 * b + 64, _MM_HINT_T0);
            _mm_prefetch(pf + 136 * b + 128, _MM_HINT_T0);
        }
        const __m256 dd = q8_0_dd4(w, wrow, b);
        const __m256 p0 = _mm256_mul_ps(dd, bcast_pair(xds + 2 * b));
        const __m256 p1 = _mm256_mul_ps(dd, bcast_pair(xds1 + 2 * b));
        const __m256i qy0 = _mm256_loadu_si256((const __m256i *)(x + 34 * b + 2));
        const __m256i qy1 = _mm256_loadu_si256((const __m256i *)(x1 + 34 * b + 2));
        __m256i qx = _mm256_loadu_si256((const __m256i *)(w + 34 * b + 2));
        __m256i ax = _mm256_sign_epi8(qx, qx);
        a00 = _mm256_fmadd_ps(lane(p0, 0), q8_dot(qx, ax, qy0), a00);
        a01 = _mm256_fmadd_ps(lane(p1, 0), q8_dot(qx, ax, qy1), a01);
        qx = _mm256_loadu_si256((const __m256i *)(w1 + 34 * b + 2));
        ax = _mm256_sign_epi8(qx, qx);
        a10 = _mm256_fmadd_ps(lane(p0, 2), q8_dot(qx, ax, qy0), a10);
        a11 = _mm256_fmadd_ps(lane(p1, 2), q8_dot(qx, ax, qy1), a11);
        qx = _mm256_loadu_si256((const __m256i *)(w2 + 34 * b + 2));
        ax = _mm256_sign_epi8(qx, qx);
        a20 = _mm256_fmadd_ps(lane(p0, 4), q8_dot(qx, ax, qy0), a20);
        a21 = _mm256_fmadd_ps(lane(p1, 4), q8_dot(qx, ax, qy1), a21);
        qx = _mm256_loadu_si256((const __m256i *)(w3 + 34 * b + 2));
        ax = _mm256_sign_epi8(qx, qx);
        a30 = _mm256_fmadd_ps(lane(p0, 6), q8_dot(qx, ax, qy0), a30);
        a31 = _mm256_fmadd_ps(lane(p1, 6), q8_dot(qx, ax, qy1), a31);
    }
    y[0] = hsum_float_8_avx(a00);
    y[1] = hsum_float_8_avx(a10);
    y[2] = hsum_float_8_avx(a20);
    y[3] = hsum_float_8_avx(a30);
    y[ldy + 0] = hsum_float_8_avx(a01);
    y[ldy + 1] = hsum_float_8_avx(a11);
    y[ldy + 2] = hsum_float_8_avx(a21);
    y[ldy + 3] = hsum_float_8_avx(a31);
}

/* Rows in groups of 4 (the last 0-3 rows one by one), activation rows in pairs (the last one
 * alone). For a weight-row group, all m activation rows are swept while its 4 rows stay in L1,
 * so the weights stream from memory once per call. */
HERD_TARGET static void matmul_avx2(int type, const uint8_t *w, int64_t row_begin, int64_t row_end, int64_t n,
                                    const uint8_t *x, int64_t m, float *y, int64_t ldy, float *xds) {
    const int64_t nb = n / 32;
    const size_t wrow = (size_t)nb * (type == 3 ? 20 : 34);
    const size_t xrow = (size_t)nb * (type == 3 ? 36 : 34);
    const size_t xdsrow = (size_t)(2 * nb);
    for (int64_t c = 0; c < m; c++)
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *xb = x + c * xrow + (size_t)b * (type == 3 ? 36 : 34);
            xds[c * xdsrow + 2 * b] = f16s(xb);
            xds[c * xdsrow + 2 * b + 1] = type == 3 ? f16s(xb + 2) : f16s(xb);
        }
    int64_t o = row_begin;
    for (; o + 4 <= row_end; o += 4) {
        const uint8_t *wo = w + o * wrow;
        int64_t c = 0;
        for (; c + 2 <= m; c += 2) {
            /* the next row groups are prefetched during the first pass over this one */
            if (type == 3) q4_1_4x2(wo, wrow, nb, x + c * xrow, xrow, xds + c * xdsrow, xdsrow, y + c * ldy + o, ldy, c == 0);
            else q8_0_4x2(wo, wrow, nb, x + c * xrow, xrow, xds + c * xdsrow, xdsrow, y + c * ldy + o, ldy, c == 0);
        }
        for (; c < m; c++) {
            if (type == 3) q4_1_4x1(wo, wrow, nb, x + c * xrow, xds + c * xdsrow, y + c * ldy + o);
            else q8_0_4x1(wo, wrow, nb, x + c * xrow, xds + c * xdsrow, y + c * ldy + o);
        }
    }
    for (; o < row_end; o++)
        for (int64_t c = 0; c < m; c++)
            y[c * ldy + o] = type == 3 ? dot_q4_1_q8_1_avx2(nb, w + o * wrow, x + c * xrow)
                                       : dot_q8_0_q8_0_avx2(nb, w + o * wrow, x + c * xrow);
}
#endif

float herd_vec_dot_q4_1_q8_1(int64_t n, const void *w, const void *x) {
#if defined(HERD_X86)
    if (use_simd()) return dot_q4_1_q8_1_avx2(n / 32, (const uint8_t *)w, (const uint8_t *)x);
#endif
    return dot_q4_1_q8_1_scalar(n / 32, (const uint8_t *)w, (const uint8_t *)x);
}

float herd_vec_dot_q8_0_q8_0(int64_t n, const void *w, const void *x) {
#if defined(HERD_X86)
    if (use_simd()) return dot_q8_0_q8_0_avx2(n / 32, (const uint8_t *)w, (const uint8_t *)x);
#endif
    return dot_q8_0_q8_0_scalar(n / 32, (const uint8_t *)w, (const uint8_t *)x);
}

void herd_matmul_quantized(int type, const void *w, int64_t row_begin, int64_t row_end, int64_t n,
                           const void *x, int64_t m, float *y, int64_t ldy) {
    if (type != 3 && type != 8) return;
    if (row_end <= row_begin || m <= 0) return;
    const int64_t nb = n / 32;
    const size_t wrow = (size_t)nb * (type == 3 ? HERD_Q4_1_BYTES : HERD_Q8_0_BYTES);
    const size_t xrow = (size_t)nb * (type == 3 ? HERD_Q8_1_BYTES : HERD_Q8_0_BYTES);
    const uint8_t *W = (const uint8_t *)w, *X = (const uint8_t *)x;
#if defined(HERD_X86)
    if (use_simd()) {
        float stack[4096];
        const int64_t need = 2 * nb * m;
        float *scratch = need <= (int64_t)(sizeof stack / sizeof stack[0]) ? stack
                                                                            : (float *)malloc((size_t)need * sizeof(float));
        if (scratch) {
            matmul_avx2(type, W, row_begin, row_end, n, X, m, y, ldy, scratch);
            if (scratch != stack) free(scratch);
            return;
        }
        /* out of memory: fall through to the one-dot-at-a-time path (same results) */
        for (int64_t c = 0; c < m; c++)
            for (int64_t o = row_begin; o < row_end; o++)
                y[c * ldy + o] = type == 3 ? dot_q4_1_q8_1_avx2(nb, W + o * wrow, X + c * xrow)
                                           : dot_q8_0_q8_0_avx2(nb, W + o * wrow, X + c * xrow);
        return;
    }
#endif
    for (int64_t o = row_begin; o < row_end; o++)
        for (int64_t c = 0; c < m; c++)
            y[c * ldy + o] = type == 3 ? dot_q4_1_q8_1_scalar(nb, W + o * wrow, X + c * xrow)
                                       : dot_q8_0_q8_0_scalar(nb, W + o * wrow, X + c * xrow);
}

/* ------------------------------------------------------------------------------------------------ */
/* ggml_vec_dot_f16                                                                                  */

static float vec_dot_f16_scalar(int64_t n, const uint16_t *x, const uint16_t *y) {
    const int64_t np = n & ~(int64_t)31;
    float sum[4][8];
    memset(sum, 0, sizeof sum);
    for (int64_t i = 0; i < np; i += 32)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 8; l++)
                sum[j][l] = fmaf(h2f(x[i + 8 * j + l]), h2f(y[i + 8 * j + l]), sum[j][l]);
    float r[8];
    for (int l = 0; l < 8; l++) r[l] = (sum[0][l] + sum[2][l]) + (sum[1][l] + sum[3][l]);
    double sumf = (double)hsum8_hadd(r);
    for (int64_t i = np; i < n; i++) sumf += (double)(h2f(x[i]) * h2f(y[i]));
    return (float)sumf;
}

#if defined(HERD_X86)
HERD_TARGET static float vec_dot_f16_avx2(int64_t n, const uint16_t *x, const uint16_t *y) {
    const int64_t np = n & ~(int64_t)31;
    __m256 sum[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < np; i += 32)
        for (int j = 0; j < 4; j++) {
            const __m256 ax = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 8 * j)));
            const __m256 ay = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i + 8 * j)));
            sum[j] = _mm256_fmadd_ps(ax, ay, sum[j]);
        }
    sum[0] = _mm256_add_ps(sum[0], sum[2]);
    sum[1] = _mm256_add_ps(sum[1], sum[3]);
    sum[0] = _mm256_add_ps(sum[0], sum[1]);
    const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(sum[0]), _mm256_extractf128_ps(sum[0], 1));
    const __m128 t1 = _mm_hadd_ps(t0, t0);
    double sumf = (double)_mm_cvtss_f32(_mm_hadd_ps(t1, t1));
    for (int64_t i = np; i < n; i++) sumf += (double)(_cvtsh_ss(x[i]) * _cvtsh_ss(y[i]));
    return (float)sumf;
}
#endif

float herd_vec_dot_f16(int64_t n, const uint16_t *x, const uint16_t *y) {
#if defined(HERD_X86)
    if (use_simd()) return vec_dot_f16_avx2(n, x, y);
#endif
    return vec_dot_f16_scalar(n, x, y);
}

/* Not in the header: what llamafile's tinyBLAS (tinyBLAS<8, __m256, __m256, fp16, fp16, float>)
 * computes for one element of an F16 x F16 matmul. llama.cpp uses it instead of ggml_vec_dot_f16
 * when src0 is F16, the matmul has n >= 2 activation rows (src1 columns), k % 8 == 0 and the
 * number of src0 rows m % 4 == 0: one 8-lane FMA accumulator over k in steps of 8, then
 * hsum_float_8. n must be a multiple of 8. */
float herd_vec_dot_f16_tinyblas(int64_t n, const uint16_t *x, const uint16_t *y);

static float vec_dot_f16_tinyblas_scalar(int64_t n, const uint16_t *x, const uint16_t *y) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t i = 0; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] = fmaf(h2f(x[i + l]), h2f(y[i + l]), acc[l]);
    return hsum8_quants(acc);
}

#if defined(HERD_X86)
HERD_TARGET static float vec_dot_f16_tinyblas_avx2(int64_t n, const uint16_t *x, const uint16_t *y) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i + 8 <= n; i += 8)
        acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))),
                              _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i))), acc);
    return hsum_float_8_avx(acc);
}
#endif

float herd_vec_dot_f16_tinyblas(int64_t n, const uint16_t *x, const uint16_t *y) {
#if defined(HERD_X86)
    if (use_simd()) return vec_dot_f16_tinyblas_avx2(n, x, y);
#endif
    return vec_dot_f16_tinyblas_scalar(n, x, y);
}

/* ------------------------------------------------------------------------------------------------ */
/* softmax (ggml_compute_forward_soft_max_f32 without a mask: scale, max, ggml_vec_soft_max_f32,     */
/* 1/sum in double, multiply by that reciprocal rounded to float)                                    */

static void softmax_scalar(const float *x, float *y, int64_t n, float scale) {
    /* y doubles as ggml's wp (x*scale) and then dp */
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale;
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) max = max > y[i] ? max : y[i];
    double sum = 0.0;
    int64_t i = 0;
    for (; i + 7 < n; i += 8) {
        float v[8];
        for (int l = 0; l < 8; l++) v[l] = v_expf_1(y[i + l] - max);
        for (int l = 0; l < 8; l++) y[i + l] = v[l];
        sum += (double)hsum8_softmax(v);
    }
    for (; i < n; i++) {
        const float v = expf(y[i] - max);
        sum += (double)v;
        y[i] = v;
    }
    sum = 1.0 / sum;
    const float s = (float)sum;
    for (int64_t k = 0; k < n; k++) y[k] *= s;
}

#if defined(HERD_X86)
HERD_TARGET static void softmax_avx2(const float *x, float *y, int64_t n, float scale) {
    int64_t i = 0;
    const __m256 vs = _mm256_set1_ps(scale);
    for (; i + 7 < n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    for (; i < n; i++) y[i] = x[i] * scale;
    float max = -INFINITY;
    for (int64_t k = 0; k < n; k++) max = max > y[k] ? max : y[k];
    double sum = 0.0;
    i = 0;
    const __m256 vmax = _mm256_set1_ps(max);
    for (; i + 7 < n; i += 8) {
        const __m256 val = v_expf_avx2(_mm256_sub_ps(_mm256_loadu_ps(y + i), vmax));
        _mm256_storeu_ps(y + i, val);
        sum += (double)hsum_float_8_avx(val);
    }
    for (; i < n; i++) {
        const float v = expf(y[i] - max);
        sum += (double)v;
        y[i] = v;
    }
    sum = 1.0 / sum;
    const __m256 s = _mm256_set1_ps((float)sum);
    const float s1 = (float)sum;
    i = 0;
    for (; i + 7 < n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), s));
    for (; i < n; i++) y[i] *= s1;
}
#endif

void herd_softmax_scaled(const float *x, float *y, int64_t n, float scale) {
    if (n <= 0) return;
#if defined(HERD_X86)
    if (use_simd()) { softmax_avx2(x, y, n, scale); return; }
#endif
    softmax_scalar(x, y, n, scale);
}

/* ------------------------------------------------------------------------------------------------ */
/* swiglu (ggml_vec_swiglu_f32)                                                                      */

#if defined(HERD_X86)
HERD_TARGET static void swiglu_avx2(const float *g, const float *u, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 7 < n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(v_silu_avx2(_mm256_loadu_ps(g + i)), _mm256_loadu_ps(u + i)));
    for (; i < n; i++) y[i] = silu_libm(g[i]) * u[i];
}
#endif

void herd_swiglu(const float *g, const float *u, float *y, int64_t n) {
#if defined(HERD_X86)
    if (use_simd()) { swiglu_avx2(g, u, y, n); return; }
#endif
    int64_t i = 0;
    for (; i + 7 < n; i += 8)
        for (int l = 0; l < 8; l++) y[i + l] = v_silu_1(g[i + l]) * u[i + l];
    for (; i < n; i++) y[i] = silu_libm(g[i]) * u[i];
}

/* ------------------------------------------------------------------------------------------------ */
/* rms_norm then mul                                                                                 */

void herd_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) {
        const float t = x[i] * scale;
        y[i] = t * w[i];
    }
}
