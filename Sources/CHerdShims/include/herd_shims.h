#ifndef HERD_SHIMS_H
#define HERD_SHIMS_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli), as TFRecord framing uses it. `crc` is the running value
/// (0 to start); returns the updated value. Uses SSE4.2 when the CPU has it.
uint32_t herd_crc32c_update(uint32_t crc, const void *data, size_t length);

/// GELU in place, x·Φ(x) with the exact-erf form (erf by a rational approximation, absolute
/// error under 2e-7): the activation of BERT and MPNet feed-forward layers.
void herd_gelu_erf(float *x, size_t n);

/// Row-wise softmax in place over the first `length` entries of each of `rows` rows (`stride`
/// floats apart); entries from `length` to `stride` are set to 0 (padded keys get no weight).
void herd_softmax_prefix(float *scores, size_t rows, size_t stride, size_t length);

/// The scalar approximations the two kernels use, for tests.
float herd_erf_approx(float x);
float herd_exp_nonpositive(float x);

#endif
