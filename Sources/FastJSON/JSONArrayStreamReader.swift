/// Incrementally splits a top-level JSON array into its elements without loading the whole input.
///
/// Element boundaries are found by a bracket- and string-aware scan; the elements themselves are not
/// validated (parse them with `JSONParser.parse`). Positions are absolute in the stream: `offset` is the
/// 0-based byte offset where the element starts and `line` its 1-based line (counting '\n' bytes).
public final class JSONArrayStreamReader {
    private enum State {
        case start, afterElement, done
        case failed(any Error)
    }

    private let read: (UnsafeMutableRawBufferPointer) throws -> Int
    private var storage: UnsafeMutableRawBufferPointer
    private var end = 0          // bytes of valid data in storage
    private var pos = 0          // scan position in storage
    private var keep = 0         // storage index from which bytes must be retained on refill
    private var base = 0         // absolute offset of storage[0]
    private var line = 1         // line of storage[pos]
    private var lineStart = 0    // absolute offset of the first byte of that line
    private var atEOF = false
    private var state = State.start

    /// `read` fills the buffer with up to buffer.count bytes and returns how many (0 = end of input).
    public init(chunkSize: Int = 1 << 20, read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        precondition(chunkSize > 0, "chunkSize must be positive")
        self.read = read
        self.storage = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 8)
    }

    deinit {
        storage.deallocate()
    }

    /// Next element, or nil after the closing ']' (and any trailing whitespace up to the end of input).
    /// Throws `JSONError` (absolute offset, line and column) for input that does not start with '[', a missing
    /// ',' between elements, a trailing comma, trailing content after ']' and truncated input; errors thrown by
    /// `read` are passed through. After any error every later call throws the same error.
    public func next() throws -> (bytes: [UInt8], line: Int, offset: Int)? {
        do {
            switch state {
            case .done:
                return nil
            case .failed(let error):
                throw error
            case .start:
                try skipBOM()
                guard let c = try skipWhitespace() else {
                    throw error("unexpected end of input, expected '[' to start a JSON array")
                }
                guard c == UInt8(ascii: "[") else { throw error("expected '[' to start a JSON array") }
                pos += 1
                guard let d = try skipWhitespace() else { throw error("unexpected end of input inside the array") }
                if d == UInt8(ascii: "]") {
                    pos += 1
                    try finish()
                    return nil
                }
                return try scanElement()
            case .afterElement:
                guard let c = try skipWhitespace() else { throw error("unexpected end of input inside the array") }
                if c == UInt8(ascii: "]") {
                    pos += 1
                    try finish()
                    return nil
                }
                guard c == UInt8(ascii: ",") else { throw error("expected ',' or ']' after array element") }
                pos += 1
                guard let d = try skipWhitespace() else { throw error("unexpected end of input inside the array") }
                if d == UInt8(ascii: "]") {
                    throw error("expected a JSON value after ',' in array (trailing commas are not allowed)")
                }
                return try scanElement()
            }
        } catch {
            state = .failed(error)
            throw error
        }
    }

    // MARK: Internals

    private func error(_ message: String) -> JSONError {
        let offset = base + pos
        return JSONError(message: message, offset: offset, line: line, column: offset - lineStart + 1)
    }

    /// Reads more input after compacting away bytes before `keep`; returns false at end of input.
    private func fill() throws -> Bool {
        if atEOF { return false }
        if keep > 0 {
            let remaining = end - keep
            if remaining > 0 {
                storage.baseAddress!.copyMemory(from: storage.baseAddress! + keep, byteCount: remaining)
            }
            end = remaining
            pos -= keep
            base += keep
            keep = 0
        }
        if end == storage.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 8)
            bigger.baseAddress!.copyMemory(from: storage.baseAddress!, byteCount: end)
            storage.deallocate()
            storage = bigger
        }
        let space = UnsafeMutableRawBufferPointer(rebasing: storage[end...])
        let n = try read(space)
        precondition(n >= 0 && n <= space.count, "read returned \(n) for a buffer of \(space.count) bytes")
        if n == 0 {
            atEOF = true
            return false
        }
        end += n
        return true
    }

    /// Skips a UTF-8 byte order mark at absolute offset 0.
    private func skipBOM() throws {
        while end - pos < 3, try fill() {}
        let b = storage
        if end - pos >= 3 && b[pos] == 0xEF && b[pos + 1] == 0xBB && b[pos + 2] == 0xBF {
            pos += 3
            lineStart = 3
        }
    }

    /// Skips whitespace (counting lines) and returns the next byte without consuming it; nil at end of input.
    private func skipWhitespace() throws -> UInt8? {
        keep = pos
        while true {
            while pos < end {
                let c = storage[pos]
                if c == 0x0A {
                    line += 1
                    lineStart = base + pos + 1
                } else if c != 0x20 && c != 0x09 && c != 0x0D {
                    return c
                }
                pos += 1
                keep = pos
            }
            guard try fill() else { return nil }
        }
    }

    /// After the closing ']': only whitespace may follow.
    private func finish() throws {
        if try skipWhitespace() != nil {
            throw error("unexpected content after the closing ']' of the array")
        }
        state = .done
    }

    /// Scans the element starting at `pos` (a non-whitespace byte) and returns it.
    private func scanElement() throws -> (bytes: [UInt8], line: Int, offset: Int) {
        keep = pos
        let elementLine = line
        let first = storage[pos]
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["), asciiQuote:
            try scanNested()
        case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: ":"):
            throw error("expected a JSON value in array")
        default:
            try scanScalar()
        }
        let bytes = [UInt8](UnsafeRawBufferPointer(rebasing: storage[keep..<pos]))
        let offset = base + keep
        keep = pos
        state = .afterElement
        return (bytes, elementLine, offset)
    }

    /// Scans a number or literal (or garbage) up to the next delimiter.
    private func scanScalar() throws {
        while true {
            while pos < end {
                switch storage[pos] {
                case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"),
                     UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ":"), asciiQuote:
                    return
                default:
                    pos += 1
                }
            }
            guard try fill() else { throw error("unexpected end of input inside the array") }
        }
    }

    /// Scans a string, object or array (starting at `pos`) to just past its end.
    private func scanNested() throws {
        var depth = 0
        var inString = false
        while true {
            var p = storage.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var i = pos
            var n = end
            while i < n {
                if inString {
                    // Skip ordinary string bytes 8 at a time: stop at '"', '\\' or '\n'.
                    while i &+ 8 <= n {
                        let w = loadWord(p + i)
                        let q = w ^ (swarOnes &* 0x22)
                        let b = w ^ (swarOnes &* 0x5C)
                        let l = w ^ (swarOnes &* 0x0A)
                        let m = ((q &- swarOnes) & ~q | (b &- swarOnes) & ~b | (l &- swarOnes) & ~l) & swarHighs
                        if m != 0 {
                            i &+= (m.trailingZeroBitCount &- 7) &>> 3
                            break
                        }
                        i &+= 8
                    }
                    guard i < n else { break }
                    let c = p[i]
                    if c == asciiQuote {
                        inString = false
                        i &+= 1
                        if depth == 0 { pos = i; return }
                    } else if c == asciiBackslash {
                        if i &+ 1 < n {
                            if p[i &+ 1] == 0x0A { newline(at: i &+ 1) }
                            i &+= 2
                        } else {
                            // The escaped byte is in the next chunk: refill keeping the backslash.
                            pos = i
                            guard try fill() else {
                                pos = end
                                throw error("unexpected end of input inside the array")
                            }
                            p = storage.baseAddress!.assumingMemoryBound(to: UInt8.self)
                            i = pos
                            n = end
                            if p[i &+ 1] == 0x0A { newline(at: i &+ 1) }
                            i &+= 2
                            continue
                        }
                    } else {
                        if c == 0x0A { newline(at: i) }
                        i &+= 1
                    }
                } else {
                    let c = p[i]
                    switch c {
                    case asciiQuote:
                        inString = true
                    case UInt8(ascii: "["), UInt8(ascii: "{"):
                        depth &+= 1
                    case UInt8(ascii: "]"), UInt8(ascii: "}"):
                        depth &-= 1
                        if depth == 0 { pos = i &+ 1; return }
                    case 0x0A:
                        newline(at: i)
                    default:
                        break
                    }
                    i &+= 1
                }
            }
            pos = i
            guard try fill() else { throw error("unexpected end of input inside the array") }
        }
    }

    @inline(__always)
    private func newline(at i: Int) {
        line += 1
        lineStart = base + i + 1
    }
}
