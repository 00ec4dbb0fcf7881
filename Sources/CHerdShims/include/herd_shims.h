#ifndef HERD_SHIMS_H
#define HERD_SHIMS_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli), as TFRecord framing uses it. `crc` is the running value
/// (0 to start); returns the updated value. Uses SSE4.2 when the CPU has it.
uint32_t herd_crc32c_update(uint32_t crc, const void *data, size_t length);

#endif
