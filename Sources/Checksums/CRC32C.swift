import CHerdShims
import Foundation

/// CRC-32C (Castagnoli) and TFRecord's masked form.
public enum CRC32C {
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return herd_crc32c_update(0, nil, 0) }
        return herd_crc32c_update(0, base, bytes.count)
    }

    public static func checksum<C: ContiguousBytes>(_ bytes: C) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// TensorFlow's masking: rotate right by 15 bits and add a constant, so that a CRC
    /// stored inside the data it covers does not checksum to something trivial.
    public static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
    }
}
