import Checksums

/// Reads TFRecord framing from a pull-based byte source.
///
/// Each record is a uint64 little-endian length, a uint32 LE masked CRC-32C of those 8 length
/// bytes, `length` data bytes, and a uint32 LE masked CRC-32C of the data. Both CRCs of every
/// record are checked. After an error (including one thrown by the `read` closure) every further
/// call to `next()` throws that same error again.
public final class TFRecordReader {
    private static let chunkSize = 64 * 1024
    /// Upper bound for the capacity reserved up front for one record, so that a corrupt (but
    /// CRC-valid) length cannot make us allocate gigabytes before any data has arrived.
    private static let maxReservation = 16 * 1024 * 1024

    private let readBytes: (UnsafeMutableRawBufferPointer) throws -> Int
    private var buffer: [UInt8]
    private var start = 0          // first unconsumed byte in `buffer`
    private var end = 0            // one past the last valid byte in `buffer`
    private var consumed: Int64 = 0  // stream offset of buffer[start]
    private var atEnd = false
    private var failure: Error?

    /// `read` fills the buffer with up to `buffer.count` bytes and returns the count (0 = end).
    public init(read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        self.readBytes = read
        self.buffer = [UInt8](repeating: 0, count: Self.chunkSize)
    }

    /// Reads from an in-memory byte array.
    public convenience init(bytes: [UInt8]) {
        var position = 0
        self.init(read: { destination in
            let n = min(destination.count, bytes.count - position)
            if n > 0 {
                bytes.withUnsafeBytes { source in
                    destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[position..<(position + n)]))
                }
                position += n
            }
            return n
        })
    }

    /// The next record's data and the byte offset where its header starts; nil at a clean end.
    /// A stream ending inside a record is an error (truncated), naming the offset of that record.
    public func next() throws -> (data: [UInt8], offset: Int64)? {
        if let failure { throw failure }
        do {
            return try readRecord()
        } catch {
            failure = error
            throw error
        }
    }

    // MARK: - Internals

    private func readRecord() throws -> (data: [UInt8], offset: Int64)? {
        let recordOffset = consumed
        let available = try fill(atLeast: 12)
        if available == 0 { return nil }
        if available < 8 {
            throw TFRecordError(message: "truncated length header: expected 8 bytes, found \(available)",
                                offset: recordOffset)
        }
        if available < 12 {
            throw TFRecordError(
                message: "truncated length header: expected 4-byte length CRC, found \(available - 8)",
                offset: recordOffset)
        }

        let (length, storedLengthCRC, computedLengthCRC) = buffer.withUnsafeBytes { raw -> (UInt64, UInt32, UInt32) in
            let header = UnsafeRawBufferPointer(rebasing: raw[start..<(start + 12)])
            var length: UInt64 = 0
            for i in 0..<8 { length |= UInt64(header[i]) << (8 * UInt64(i)) }
            let stored = Self.le32(header, at: 8)
            let computed = CRC32C.masked(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: header[0..<8])))
            return (length, stored, computed)
        }
        if storedLengthCRC != computedLengthCRC {
            throw TFRecordError(
                message: "record length CRC mismatch (stored \(hex32(storedLengthCRC)), computed \(hex32(computedLengthCRC)))",
                offset: recordOffset)
        }
        guard length <= UInt64(Int.max - 16) else {
            throw TFRecordError(message: "record length \(length) is too large", offset: recordOffset)
        }
        consume(12)

        let count = Int(length)
        var data: [UInt8] = []
        data.reserveCapacity(min(count, Self.maxReservation))
        while data.count < count {
            var have = end - start
            if have == 0 {
                have = try fill(atLeast: 1)
                if have == 0 {
                    throw TFRecordError(message: "truncated record: expected \(count) data bytes, found \(data.count)",
                                        offset: recordOffset)
                }
            }
            let take = min(have, count - data.count)
            data.append(contentsOf: buffer[start..<(start + take)])
            consume(take)
        }

        let crcAvailable = try fill(atLeast: 4)
        if crcAvailable < 4 {
            throw TFRecordError(
                message: "truncated record: expected 4-byte data CRC after \(count) data bytes, found \(crcAvailable)",
                offset: recordOffset)
        }
        let storedDataCRC = buffer.withUnsafeBytes { Self.le32($0, at: start) }
        let computedDataCRC = data.withUnsafeBytes { CRC32C.masked(CRC32C.checksum($0)) }
        if storedDataCRC != computedDataCRC {
            throw TFRecordError(
                message: "record data CRC mismatch (stored \(hex32(storedDataCRC)), computed \(hex32(computedDataCRC)))",
                offset: recordOffset)
        }
        consume(4)
        return (data, recordOffset)
    }

    private static func le32(_ raw: UnsafeRawBufferPointer, at index: Int) -> UInt32 {
        UInt32(raw[index]) | UInt32(raw[index + 1]) << 8 | UInt32(raw[index + 2]) << 16 | UInt32(raw[index + 3]) << 24
    }

    private func consume(_ n: Int) {
        start += n
        consumed += Int64(n)
    }

    /// Buffers at least `n` bytes (n <= chunkSize) unless the source ends first;
    /// returns how many bytes are buffered.
    private func fill(atLeast n: Int) throws -> Int {
        if end - start >= n || atEnd { return end - start }
        if start > 0 {
            let live = end - start
            if live > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    let base = raw.baseAddress!
                    base.copyMemory(from: base + start, byteCount: live)
                }
            }
            start = 0
            end = live
        }
        while end < n && !atEnd {
            let offset = end
            let capacity = buffer.count - offset
            let got = try buffer.withUnsafeMutableBytes { raw in
                try readBytes(UnsafeMutableRawBufferPointer(rebasing: raw[offset...]))
            }
            guard got >= 0, got <= capacity else {
                throw TFRecordError(message: "read callback returned \(got) for a buffer of \(capacity) bytes",
                                    offset: consumed + Int64(end - start))
            }
            if got == 0 { atEnd = true } else { end += got }
        }
        return end - start
    }
}
