// Elementwise kernels of the sentence encoder, in C so that clang vectorises them (8 floats per
// AVX2 instruction where the CPU has it, 4 with SSE2 otherwise). Scalar erff and expf cost more
// than every matrix product of a MiniLM layer on long sentences.
#include "herd_shims.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

// erf(x) as Eigen's rational approximation (odd degree-13 over even degree-8 polynomial, x
// clamped to ±4 where erf is 1 in float): worst absolute error 4.2e-7 against erf in double
// over [-6, 6] (see EmbedTests.testKernelsAgainstLibm), no exp and one division.
static inline float erf_rational(float a) {
    float x = a < -4.f ? -4.f : (a > 4.f ? 4.f : a);
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 - 2.10102402082508e-06f;
    p = p * x2 - 5.69250639462346e-05f;
    p = p * x2 - 7.34990630326855e-04f;
    p = p * x2 - 2.95459980854025e-03f;
    p = p * x2 - 1.60960333262415e-02f;
    p = p * x;
    float q = -1.45660718464996e-05f;
    q = q * x2 - 2.13374055278905e-04f;
    q = q * x2 - 1.68282697438203e-03f;
    q = q * x2 - 7.37332916720468e-03f;
    q = q * x2 - 1.42647390514189e-02f;
    return p / q;
}

// expf for x ≤ 0 (softmax after subtracting the row's peak) by Cody–Waite range reduction and
// Cephes' degree-5 polynomial: within 2 ulp of expf; below −87 (e^−87 ≈ 1.6e−38) gives 0.
static inline float exp_nonpositive(float x) {
    int tiny = x < -87.0f;
    x = x < -87.0f ? -87.0f : x;
    float fx = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - fx * 0.693359375f + fx * 2.12194440e-4f;
    float r2 = r * r;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r2 + r + 1.0f;
    int32_t bits = ((int32_t)fx + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return tiny ? 0.0f : y * scale;
}

#define GELU_BODY                                                              \
    for (size_t i = 0; i < n; i++) {                                           \
        float v = x[i];                                                        \
        x[i] = 0.5f * v * (1.0f + erf_rational(v * 0.70710678118654752f));     \
    }

#define SOFTMAX_BODY                                                           \
    for (size_t r = 0; r < rows; r++) {                                        \
        float *row = scores + r * stride;                                      \
        float peak = -INFINITY;                                                \
        for (size_t k = 0; k < length; k++) peak = row[k] > peak ? row[k] : peak; \
        float sum = 0;                                                         \
        for (size_t k = 0; k < length; k++) {                                  \
            float e = exp_nonpositive(row[k] - peak);                          \
            row[k] = e;                                                        \
            sum += e;                                                          \
        }                                                                      \
        float inv = 1.0f / sum;                                                \
        for (size_t k = 0; k < length; k++) row[k] *= inv;                     \
        for (size_t k = length; k < stride; k++) row[k] = 0;                   \
    }

__attribute__((target("avx2,fma"))) static void gelu_avx2(float *x, size_t n) { GELU_BODY }
static void gelu_generic(float *x, size_t n) { GELU_BODY }
__attribute__((target("avx2,fma"))) static void softmax_avx2(float *scores, size_t rows, size_t stride, size_t length) { SOFTMAX_BODY }
static void softmax_generic(float *scores, size_t rows, size_t stride, size_t length) { SOFTMAX_BODY }

void herd_gelu_erf(float *x, size_t n) {
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) gelu_avx2(x, n);
    else gelu_generic(x, n);
}

void herd_softmax_prefix(float *scores, size_t rows, size_t stride, size_t length) {
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) softmax_avx2(scores, rows, stride, length);
    else softmax_generic(scores, rows, stride, length);
}

float herd_erf_approx(float x) { return erf_rational(x); }
float herd_exp_nonpositive(float x) { return exp_nonpositive(x); }
