#ifndef HERD_LLAMA_KERNELS_H
#define HERD_LLAMA_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* Test switch: nonzero forces the scalar code (also HERD_LLAMA_KERNELS_FORCE_SCALAR=1). */
extern int herd_llama_kernels_force_scalar;
int herd_llama_kernels_simd_available(void);

/* The arithmetic of ggml's CPU backend (llama.cpp), reproduced so that Herd's Llama forward
 * pass gives llama.cpp's logits: weights stay in their GGUF blocks, activations are rounded to
 * 8-bit blocks the way ggml rounds them, and sums are taken in ggml's order (AVX2+FMA when the
 * CPU has it, the same operations in scalar code otherwise).
 *
 * Block layouts (GGML): Q4_1 = {fp16 d, fp16 m, uint8 qs[16]} (20 bytes per 32 values),
 * Q8_0 = {fp16 d, int8 qs[32]} (34 bytes), Q8_1 = {fp16 d, fp16 s, int8 qs[32]} (36 bytes). */

#define HERD_Q4_1_BYTES 20
#define HERD_Q8_0_BYTES 34
#define HERD_Q8_1_BYTES 36

/* n floats (n a multiple of 32) into n/32 Q8_1 blocks, as ggml's quantize_row_q8_1. */
void herd_quantize_q8_1(const float *x, void *y, int64_t n);
/* n floats into n/32 Q8_0 blocks, as ggml's quantize_row_q8_0. */
void herd_quantize_q8_0(const float *x, void *y, int64_t n);

/* One dot product of n values, as ggml_vec_dot_q4_1_q8_1 / ggml_vec_dot_q8_0_q8_0. */
float herd_vec_dot_q4_1_q8_1(int64_t n, const void *w, const void *x);
float herd_vec_dot_q8_0_q8_0(int64_t n, const void *w, const void *x);

/* Y[r*ldy + o] = dot(W row o, X row r) for o in [row_begin, row_end), r in [0, m):
 * W holds rows of n values in `type` blocks (type 3: Q4_1 with X in Q8_1; type 8: Q8_0 with X
 * in Q8_0), X holds m rows of n values in the matching 8-bit blocks. Each weight block is read
 * once for all m rows; every Y value equals the single dot product above, whatever m is. */
void herd_matmul_quantized(int type, const void *w, int64_t row_begin, int64_t row_end, int64_t n,
                           const void *x, int64_t m, float *y, int64_t ldy);

/* fp32 to fp16 (round to nearest even) and back, as F16C does. */
void herd_fp32_to_fp16(const float *x, uint16_t *y, int64_t n);
void herd_fp16_to_fp32(const uint16_t *x, float *y, int64_t n);

/* Dot product of two fp16 vectors, as ggml_vec_dot_f16 (four 8-wide fp32 accumulators over
 * steps of 32, reduced in ggml's order, the tail in double). */
float herd_vec_dot_f16(int64_t n, const uint16_t *x, const uint16_t *y);

/* The same dot product as llamafile's tinyBLAS computes it, which ggml uses for F16 matmuls
 * with two or more rows on the right (attention over a prompt of several tokens): one 8-wide
 * fp32 FMA accumulator, summed horizontally at the end. n a multiple of 8. */
float herd_vec_dot_f16_tinyblas(int64_t n, const uint16_t *x, const uint16_t *y);

/* ggml's vectorised expf (ggml_v_expf) on one value, and the softmax of one row as
 * ggml_soft_max_f32 computes it: w = x*scale, p = exp(w - max) · (float)(1/Σ), the sum in
 * double, the last n % 8 values through libm's expf as ggml does. Pass the whole padded row
 * with -inf where ggml's mask is -inf. Writes p into y; n values. */
float herd_ggml_expf(float x);
void herd_softmax_scaled(const float *x, float *y, int64_t n, float scale);

/* y[i] = silu(g[i]) * u[i] with ggml's silu (x / (1 + ggml_v_expf(-x))), as ggml_vec_swiglu_f32
 * (the last n % 8 values through libm's expf). */
void herd_swiglu(const float *g, const float *u, float *y, int64_t n);

/* RMSNorm as ggml_rms_norm then ggml_mul: sum of squares in double, scale = 1/sqrtf(mean + eps)
 * as float, y = (x * scale) * w. */
void herd_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps);

#endif
