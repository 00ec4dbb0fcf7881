/// One line of a text input, without its line terminator ("\n" or "\r\n").
/// `bytes` points into the reader's buffer and is valid until the next call to `next()`.
public struct Line {
    public var bytes: UnsafeBufferPointer<UInt8>
    /// 1-based line number.
    public var number: Int
    /// Byte offset of the line's first byte in the stream.
    public var offset: Int64
}

/// Splits a byte stream into lines without copying them, in large chunks.
public final class LineReader {
    private let source: ByteSource
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0      // first unconsumed byte
    private var end = 0        // end of valid bytes
    private var eof = false
    private var lineNumber = 0
    private var streamOffset: Int64 = 0  // stream offset of buffer[start]

    public init(source: ByteSource, chunkSize: Int = 1 << 20) {
        self.source = source
        buffer = .allocate(byteCount: max(chunkSize, 16), alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// Total bytes consumed so far.
    public var bytesRead: Int64 { streamOffset }

    public func next() throws -> Line? {
        while true {
            let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if start < end, let nl = memchr(base + start, 0x0A, end - start) {
                let nlIndex = UnsafeMutableRawPointer(nl) - buffer.baseAddress!
                var lineEnd = nlIndex
                if lineEnd > start, base[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                lineNumber += 1
                let line = Line(bytes: UnsafeBufferPointer(start: base + start, count: lineEnd - start),
                                number: lineNumber, offset: streamOffset)
                streamOffset += Int64(nlIndex + 1 - start)
                start = nlIndex + 1
                return line
            }
            if eof {
                guard start < end else { return nil }
                var lineEnd = end
                if base[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                lineNumber += 1
                let line = Line(bytes: UnsafeBufferPointer(start: base + start, count: lineEnd - start),
                                number: lineNumber, offset: streamOffset)
                streamOffset += Int64(end - start)
                start = end
                return line
            }
            try refill()
        }
    }

    private func refill() throws {
        // Move the partial line to the front; grow when one line fills the whole buffer.
        if start > 0 {
            if end > start { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start) }
            end -= start
            start = 0
        }
        if end == buffer.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 64)
            bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = bigger
        }
        let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        if n == 0 { eof = true } else { end += n }
    }
}

import Foundation
