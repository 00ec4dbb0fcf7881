// Word counting and MATTR tokenisation over UTF-8 bytes, without building a String per token.
// The rules are documented on `MATTR` (tokens) and `StatsCalculator.wordCount` (words).
//
// How: a text that is all ASCII (checked 8 bytes at a time, while counting its words) goes
// through `scanASCII`: runs of letters are found 8 bytes at a time, lower-cased with one OR and
// packed straight into the token's 64-bit hash; other bytes go through a byte-class table.
// In a text with non-ASCII bytes, each "chunk" (a run between ASCII Python-whitespace bytes)
// holding one is decoded into Unicode scalars and handled by the full rules (final sigma needs
// the neighbours inside the chunk; Unicode whitespace splits inside it), its tokens' UTF-8
// bytes going through the same hash; the ASCII stretches between such chunks take the fast path.

/// Receives one 64-bit token hash at a time.
protocol TokenSink {
    mutating func add(_ hash: UInt64)
}

/// Byte classes of the ASCII scanner.
enum ByteClass {
    static let token: UInt8 = 0       // part of a token (lower-cased through `lower`)
    static let drop: UInt8 = 1        // ASCII digit or '-': deleted
    static let punct: UInt8 = 2       // other ASCII punctuation: separates tokens, not words
    static let space: UInt8 = 3       // 09-0D, 20: separates tokens and words
    static let pySpace: UInt8 = 4     // 1C-1F: separates tokens (Python whitespace), not words
    static let nonASCII: UInt8 = 5
}

/// The scanner's byte tables, built once and never freed.
struct ScanTables: @unchecked Sendable {
    let cls: UnsafePointer<UInt8>
    let lower: UnsafePointer<UInt8>

    static let shared = ScanTables()

    private init() {
        let c = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        let l = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        let punctuation = Array("!\"#$%&'()*+,./:;<=>?@[\\]^_`{|}~".utf8)
        for b in 0..<256 {
            let u = UInt8(b)
            l[b] = (u >= 0x41 && u <= 0x5A) ? u | 0x20 : u
            if u >= 0x80 { c[b] = ByteClass.nonASCII }
            else if (u >= 0x09 && u <= 0x0D) || u == 0x20 { c[b] = ByteClass.space }
            else if u >= 0x1C && u <= 0x1F { c[b] = ByteClass.pySpace }
            else if (u >= 0x30 && u <= 0x39) || u == 0x2D { c[b] = ByteClass.drop }
            else if punctuation.contains(u) { c[b] = ByteClass.punct }
            else { c[b] = ByteClass.token }
        }
        cls = UnsafePointer(c)
        lower = UnsafePointer(l)
    }
}

/// The 64-bit token hash, fed byte by byte: bytes are packed little-endian into 64-bit words,
/// each full word (and the last, partial one) is mixed in with a bijective multiply-rotate step,
/// and the length is mixed into the result. Tokens of up to 7 bytes (most words) of one length
/// hash without collisions among themselves.
enum TokenHash {
    static let seed: UInt64 = 0x243F_6A88_85A3_08D3

    @inline(__always)
    static func step(_ h: UInt64, _ w: UInt64) -> UInt64 {
        let x = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
        return (x << 31) | (x >> 33)
    }

    @inline(__always)
    static func finish(_ h: UInt64, _ w: UInt64, _ length: Int) -> UInt64 {
        // The last step's rotation brings the product's well-mixed high bits down, so the low
        // bits (table slots) are usable as they are; the length tells "ab" from "ab\0".
        step(h, w) ^ (UInt64(truncatingIfNeeded: length) &* 0xC4CE_B9FE_1A85_EC53)
    }

    /// The hash of a whole token's bytes (what the scanner computes incrementally).
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h = seed, w: UInt64 = 0, shift: UInt64 = 0
        for b in bytes {
            w |= UInt64(b) << shift
            shift += 8
            if shift == 64 { h = step(h, w); w = 0; shift = 0 }
        }
        return finish(h, w, bytes.count)
    }

    static func hash(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBufferPointer { hash($0) } }
}

/// Scans texts: counts words and feeds MATTR token hashes to a sink.
/// Holds a scratch buffer for the non-ASCII path; one scanner per thread.
struct TextScanner {
    private let cls: UnsafePointer<UInt8>
    private let lower: UnsafePointer<UInt8>
    private var token: [UInt8] = []
    private var scalars: [Unicode.Scalar] = []

    init() {
        cls = ScanTables.shared.cls
        lower = ScanTables.shared.lower
        token.reserveCapacity(256)
        scalars.reserveCapacity(256)
    }

    /// Scans one text; returns its number of words.
    @inline(__always)
    mutating func scan<S: TokenSink>(_ text: UnsafeBufferPointer<UInt8>, into sink: inout S) -> Int64 {
        guard let p = text.baseAddress, text.count > 0 else { return 0 }
        let n = text.count
        var afterSpace = true
        let (ascii, words) = asciiWordCount(p, n, afterSpace: &afterSpace)
        if ascii {
            scanASCII(p, n, into: &sink)
            return words
        }
        return scanMixed(p, n, into: &sink)
    }

    /// Whether every byte is below 0x80, and if so the number of words, 8 bytes at a time:
    /// a word starts at each non-space byte that follows a space byte (or, when `afterSpace`
    /// is true on entry, the start). `afterSpace` leaves telling whether the last byte is a space.
    @inline(__always)
    func asciiWordCount(_ p: UnsafePointer<UInt8>, _ n: Int, afterSpace: inout Bool) -> (ascii: Bool, words: Int64) {
        let high: UInt64 = 0x8080_8080_8080_8080
        var acc: UInt64 = 0
        var words = 0
        var previousSpace: UInt64 = afterSpace ? 0x80 : 0
        var i = 0
        while i + 8 <= n {
            let x = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
            acc |= x
            // Space bytes (0x20, 0x09…0x0D) marked by their high bit; exact for ASCII bytes.
            let y = x ^ 0x2020_2020_2020_2020
            let nonZero = (((y & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | y) & high
            let xh = x | high
            let geTab = (xh &- 0x0909_0909_0909_0909) & high
            let geSO = (xh &- 0x0E0E_0E0E_0E0E_0E0E) & high
            let space = (~nonZero & high) | (geTab & ~geSO)
            let starts = (~space & high) & ((space &<< 8) | previousSpace)
            // Count the high bits with one multiply (no POPCNT in the baseline x86-64 target).
            words &+= Int(truncatingIfNeeded: ((starts &>> 7) &* 0x0101_0101_0101_0101) &>> 56)
            previousSpace = space &>> 56
            i += 8
        }
        var after = previousSpace != 0
        while i < n {
            let b = p[i]
            acc |= UInt64(b)
            let space = cls[Int(b)] == ByteClass.space
            if !space && after { words += 1 }
            after = space
            i += 1
        }
        afterSpace = after
        return (acc & high == 0, Int64(words))
    }

    /// The fast path for an all-ASCII text: runs of letters are found 8 bytes at a time
    /// (SWAR), lower-cased with one OR and packed straight into the token hash; every other
    /// byte goes through the byte-class table. Without non-ASCII bytes there is no final sigma
    /// and no Unicode whitespace, so chunks need not be delimited first.
    mutating func scanASCII<S: TokenSink>(_ p: UnsafePointer<UInt8>, _ n: Int, into sink: inout S) {
        var st = AsciiState(cls: cls, lower: lower)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        while i + 8 <= n {
            let x = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
            // Letters: x | 0x20 is in 'a'...'z' exactly for A-Z and a-z (bytes < 0x80: no carries).
            let l = x | (0x20 &* ones)
            let letters = (l &+ (0x1F &* ones)) & ~(l &+ (0x05 &* ones)) & high
            let notLetter = ~letters & high
            if notLetter == 0 {
                st.appendLetters(l, count: 8)
                i += 8
                continue
            }
            let k = notLetter.trailingZeroBitCount >> 3
            if k > 0 { st.appendLetters(l & ((1 &<< UInt64(k &* 8)) &- 1), count: k) }
            st.byte(p[i + k], into: &sink)
            i += k + 1
        }
        while i < n {
            st.byte(p[i], into: &sink)
            i += 1
        }
        st.endToken(into: &sink)
    }

    /// A text with non-ASCII bytes: each chunk (run between ASCII Python-whitespace bytes)
    /// holding one goes through `scanUnicodeChunk`; the all-ASCII stretches of whole chunks
    /// between them go through the fast path.
    mutating func scanMixed<S: TokenSink>(_ p: UnsafePointer<UInt8>, _ n: Int, into sink: inout S) -> Int64 {
        var words: Int64 = 0
        var afterSpace = true
        var start = 0   // start of the ASCII stretch not yet scanned (a chunk boundary)
        while start < n {
            guard let j = Self.firstNonASCII(p, from: start, to: n) else { break }
            var chunkStart = j
            while chunkStart > start && !isPythonSpaceByte(p[chunkStart - 1]) { chunkStart -= 1 }
            var chunkEnd = j + 1
            while chunkEnd < n && !isPythonSpaceByte(p[chunkEnd]) { chunkEnd += 1 }
            if chunkStart > start {
                words += asciiWordCount(p + start, chunkStart - start, afterSpace: &afterSpace).words
                scanASCII(p + start, chunkStart - start, into: &sink)
            }
            scanUnicodeChunk(UnsafeBufferPointer(start: p + chunkStart, count: chunkEnd - chunkStart), into: &sink,
                             words: &words, afterSpace: &afterSpace)
            start = chunkEnd
        }
        if start < n {
            words += asciiWordCount(p + start, n - start, afterSpace: &afterSpace).words
            scanASCII(p + start, n - start, into: &sink)
        }
        return words
    }

    /// An ASCII byte that Python's `str.split()` splits on (a non-ASCII byte never is).
    @inline(__always)
    private func isPythonSpaceByte(_ b: UInt8) -> Bool {
        let c = cls[Int(b)]
        return c == ByteClass.space || c == ByteClass.pySpace
    }

    /// Index of the first byte ≥ 0x80 in [from, to), 8 bytes at a time.
    @inline(__always)
    static func firstNonASCII(_ p: UnsafePointer<UInt8>, from: Int, to n: Int) -> Int? {
        var i = from
        while i + 8 <= n {
            let x = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)) & 0x8080_8080_8080_8080
            if x != 0 { return i + x.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < n {
            if p[i] >= 0x80 { return i }
            i += 1
        }
        return nil
    }

    /// The slow path: a chunk (no ASCII Python whitespace inside) holding non-ASCII bytes.
    private mutating func scanUnicodeChunk<S: TokenSink>(_ bytes: UnsafeBufferPointer<UInt8>, into sink: inout S,
                                                          words: inout Int64, afterSpace: inout Bool) {
        scalars.removeAll(keepingCapacity: true)
        var it = bytes.makeIterator()
        var decoder = UTF8()
        decodeLoop: while true {
            switch decoder.decode(&it) {
            case let .scalarValue(u): scalars.append(u)
            case .emptyInput: break decodeLoop
            case .error: scalars.append("\u{FFFD}")
            }
        }
        token.removeAll(keepingCapacity: true)
        let count = scalars.count
        for k in 0..<count {
            let u = scalars[k]
            let v = u.value
            if Self.isWhiteSpace(v) { afterSpace = true } else {
                if afterSpace { words += 1 }
                afterSpace = false
            }
            if v < 0x80 {
                let c = cls[Int(v)]
                if c == ByteClass.token {
                    token.append(lower[Int(v)])
                } else if c != ByteClass.drop {
                    flushToken(into: &sink)  // punctuation (ASCII whitespace cannot occur here)
                }
                continue
            }
            if Self.isPythonSpace(v) { flushToken(into: &sink); continue }
            if v == 0x2013 || v == 0x2014 { continue }
            if v == 0x03A3 {
                appendUTF8(isFinalSigma(at: k) ? "\u{03C2}" : "\u{03C3}")
            } else if u.properties.changesWhenLowercased {
                for l in u.properties.lowercaseMapping.unicodeScalars { appendUTF8(l) }
            } else {
                appendUTF8(u)
            }
        }
        flushToken(into: &sink)
    }

    @inline(__always)
    private mutating func appendUTF8(_ u: Unicode.Scalar) {
        UTF8.encode(u) { token.append($0) }
    }

    private mutating func flushToken<S: TokenSink>(into sink: inout S) {
        guard !token.isEmpty else { return }
        sink.add(TokenHash.hash(token))
        token.removeAll(keepingCapacity: true)
    }

    /// Python's Final_Sigma test: `\p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased})`.
    /// The chunk is bounded by whitespace, which is neither cased nor case-ignorable, so looking
    /// inside it sees what Python sees in the whole text.
    private func isFinalSigma(at k: Int) -> Bool {
        var j = k - 1
        while j >= 0, scalars[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, scalars[j].properties.isCased else { return false }
        j = k + 1
        while j < scalars.count, scalars[j].properties.isCaseIgnorable { j += 1 }
        return j == scalars.count || !scalars[j].properties.isCased
    }

    /// Unicode White_Space, beyond ASCII.
    @inline(__always)
    static func isWhiteSpace(_ v: UInt32) -> Bool {
        if v < 0x80 { return (v >= 0x09 && v <= 0x0D) || v == 0x20 }
        return v == 0x85 || v == 0xA0 || v == 0x1680 || (v >= 0x2000 && v <= 0x200A) || v == 0x2028 || v == 0x2029
            || v == 0x202F || v == 0x205F || v == 0x3000
    }

    /// Python's `str.isspace()`: White_Space plus U+001C–U+001F.
    @inline(__always)
    static func isPythonSpace(_ v: UInt32) -> Bool {
        isWhiteSpace(v) || (v >= 0x1C && v <= 0x1F)
    }
}

/// The running state of `TextScanner.scanASCII`: the token being hashed.
struct AsciiState {
    let cls: UnsafePointer<UInt8>
    let lower: UnsafePointer<UInt8>
    var h = TokenHash.seed
    var w: UInt64 = 0
    var shift: UInt64 = 0   // bits of w in use (0, 8, …, 56)
    var len = 0

    init(cls: UnsafePointer<UInt8>, lower: UnsafePointer<UInt8>) {
        self.cls = cls
        self.lower = lower
    }

    /// Appends `count` (1…8) already lower-cased letters, packed little-endian in `l`
    /// (higher bytes zero when count < 8).
    @inline(__always)
    mutating func appendLetters(_ l: UInt64, count: Int) {
        len &+= count
        let used = shift
        w |= l &<< used
        let total = used &+ UInt64(count &* 8)
        if total >= 64 {
            h = TokenHash.step(h, w)
            // The bytes that did not fit (none when used == 0: l >> 64 would be l, so mask).
            w = used == 0 ? 0 : l &>> (64 &- used)
            shift = total &- 64
        } else {
            shift = total
        }
    }

    @inline(__always)
    mutating func appendByte(_ b: UInt8) {
        w |= UInt64(b) &<< shift
        shift &+= 8
        len &+= 1
        if shift == 64 { h = TokenHash.step(h, w); w = 0; shift = 0 }
    }

    @inline(__always)
    mutating func endToken<S: TokenSink>(into sink: inout S) {
        if len > 0 {
            sink.add(TokenHash.finish(h, w, len))
            h = TokenHash.seed; w = 0; shift = 0; len = 0
        }
    }

    /// One byte that is not a letter (or any byte of the last 7).
    @inline(__always)
    mutating func byte<S: TokenSink>(_ b: UInt8, into sink: inout S) {
        let c = cls[Int(b)]
        if c >= ByteClass.punct {
            endToken(into: &sink)   // punctuation or whitespace (no non-ASCII byte here)
        } else if c == ByteClass.token {
            appendByte(lower[Int(b)])
        }
    }
}
