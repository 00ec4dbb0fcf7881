import Checksums

/// Builds TFRecord framing (for tests and fixtures).
public enum TFRecordWriter {
    /// One framed record: uint64 LE length, uint32 LE masked CRC-32C of the 8 length bytes,
    /// the data, uint32 LE masked CRC-32C of the data.
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 16)
        let length = UInt64(data.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))) }
        let lengthCRC = out.withUnsafeBytes { CRC32C.masked(CRC32C.checksum($0)) }
        appendLE32(lengthCRC, to: &out)
        out.append(contentsOf: data)
        let dataCRC = data.withUnsafeBytes { CRC32C.masked(CRC32C.checksum($0)) }
        appendLE32(dataCRC, to: &out)
        return out
    }

    private static func appendLE32(_ value: UInt32, to out: inout [UInt8]) {
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }
}
