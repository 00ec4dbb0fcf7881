/// A strict (RFC 8259) JSON parser working directly on UTF-8 bytes.
public enum JSONParser {
    /// Containers may nest at most this deep.
    static let maxDepth = 512

    /// Parses exactly one JSON value spanning the whole buffer (surrounding whitespace allowed).
    /// Throws `JSONError` with the byte offset, line and column of the first problem.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONError(message: "unexpected end of input, expected a JSON value", offset: 0, line: 1, column: 1)
        }
        var parser = Parser(p: base, count: bytes.count)
        defer { parser.releaseScratch() }
        return try parser.parseDocument()
    }

    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { try parse($0) }
    }

    public static func parse(_ string: String) throws -> JSONValue {
        var string = string
        return try string.withUTF8 { try parse($0) }
    }
}

// MARK: - Byte constants and SWAR helpers

@usableFromInline let asciiQuote: UInt8 = 0x22
@usableFromInline let asciiBackslash: UInt8 = 0x5C

let swarOnes: UInt64 = 0x0101_0101_0101_0101
let swarHighs: UInt64 = 0x8080_8080_8080_8080

/// Flags (0x80 in the byte) every byte of `w` that is '"', '\\' or < 0x20. False positives can only occur
/// in bytes above (more significant than) a true match, so the lowest flag is always exact.
@inline(__always)
func stringSpecialMask(_ w: UInt64) -> UInt64 {
    let q = w ^ (swarOnes &* 0x22)
    let b = w ^ (swarOnes &* 0x5C)
    let zq = (q &- swarOnes) & ~q
    let zb = (b &- swarOnes) & ~b
    let lt = (w &- swarOnes &* 0x20) & ~w
    return (zq | zb | lt) & swarHighs
}

@inline(__always)
func loadWord(_ p: UnsafePointer<UInt8>) -> UInt64 {
    UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt32? {
    switch c {
    case 0x30...0x39: return UInt32(c &- 0x30)
    case 0x41...0x46: return UInt32(c &- 0x41 &+ 10)
    case 0x61...0x66: return UInt32(c &- 0x61 &+ 10)
    default: return nil
    }
}

/// Validates the UTF-8 sequence whose lead byte (>= 0x80) is at `p[i]`, reading continuation bytes only
/// below `limit`. Returns the sequence length (> 0), or the negated offset of the first offending byte minus
/// one (i.e. `-(offset + 1)`).
@inline(__always)
func validateUTF8Sequence(_ p: UnsafePointer<UInt8>, at i: Int, limit: Int) -> Int {
    let c = p[i]
    var lower: UInt8 = 0x80
    var upper: UInt8 = 0xBF
    let length: Int
    switch c {
    case 0xC2...0xDF: length = 2
    case 0xE0: length = 3; lower = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED: length = 3; upper = 0x9F
    case 0xF0: length = 4; lower = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4: length = 4; upper = 0x8F
    default: return -(i + 1)
    }
    var k = 1
    while k < length {
        let j = i + k
        guard j < limit else { return -(j + 1) }
        let d = p[j]
        if k == 1 {
            guard d >= lower && d <= upper else { return -(j + 1) }
        } else {
            guard d & 0xC0 == 0x80 else { return -(j + 1) }
        }
        k += 1
    }
    return length
}

/// The offset of the first invalid UTF-8 byte in `p[from..<to]` (sequences may not cross `to`), or nil.
func firstInvalidUTF8(_ p: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
    var i = from
    while i < to {
        if i &+ 8 <= to && loadWord(p + i) & swarHighs == 0 {
            i &+= 8
            continue
        }
        if p[i] < 0x80 {
            i &+= 1
            continue
        }
        let r = validateUTF8Sequence(p, at: i, limit: to)
        if r < 0 { return -r - 1 }
        i &+= r
    }
    return nil
}

/// Appends the UTF-8 encoding of `scalar` at `dst[o...]` and returns the new output index.
@inline(__always)
func encodeUTF8(_ scalar: UInt32, _ dst: UnsafeMutablePointer<UInt8>, _ o: Int) -> Int {
    if scalar < 0x80 {
        dst[o] = UInt8(truncatingIfNeeded: scalar)
        return o + 1
    } else if scalar < 0x800 {
        dst[o] = UInt8(truncatingIfNeeded: 0xC0 | (scalar >> 6))
        dst[o + 1] = UInt8(truncatingIfNeeded: 0x80 | (scalar & 0x3F))
        return o + 2
    } else if scalar < 0x10000 {
        dst[o] = UInt8(truncatingIfNeeded: 0xE0 | (scalar >> 12))
        dst[o + 1] = UInt8(truncatingIfNeeded: 0x80 | ((scalar >> 6) & 0x3F))
        dst[o + 2] = UInt8(truncatingIfNeeded: 0x80 | (scalar & 0x3F))
        return o + 3
    } else {
        dst[o] = UInt8(truncatingIfNeeded: 0xF0 | (scalar >> 18))
        dst[o + 1] = UInt8(truncatingIfNeeded: 0x80 | ((scalar >> 12) & 0x3F))
        dst[o + 2] = UInt8(truncatingIfNeeded: 0x80 | ((scalar >> 6) & 0x3F))
        dst[o + 3] = UInt8(truncatingIfNeeded: 0x80 | (scalar & 0x3F))
        return o + 4
    }
}

func hex4Upper(_ v: UInt32) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
    var s = ""
    for shift in stride(from: 12, through: 0, by: -4) {
        s.append(digits[Int((v >> UInt32(shift)) & 0xF)])
    }
    return s
}

// MARK: - Parser

struct Parser {
    let p: UnsafePointer<UInt8>
    let count: Int
    var pos = 0
    /// Reused buffer for decoding strings with escapes; freed by `releaseScratch()`.
    var scratch: UnsafeMutablePointer<UInt8>?
    var scratchCapacity = 0

    init(p: UnsafePointer<UInt8>, count: Int) {
        self.p = p
        self.count = count
    }

    mutating func releaseScratch() {
        scratch?.deallocate()
        scratch = nil
        scratchCapacity = 0
    }

    mutating func scratchBuffer(_ capacity: Int) -> UnsafeMutablePointer<UInt8> {
        if let buffer = scratch, scratchCapacity >= capacity { return buffer }
        scratch?.deallocate()
        scratchCapacity = max(capacity, 256, scratchCapacity * 2)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: scratchCapacity)
        scratch = buffer
        return buffer
    }

    func error(_ message: String, at offset: Int) -> JSONError {
        JSONError.at(offset, in: UnsafeBufferPointer(start: p, count: count), message)
    }

    func eof(_ expected: String) -> JSONError {
        error("unexpected end of input, expected " + expected, at: count)
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < count {
            let c = p[pos]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            pos &+= 1
        }
    }

    mutating func parseDocument() throws -> JSONValue {
        let value = try parseValue(depth: 0)
        skipWhitespace()
        if pos < count {
            throw error("unexpected content after the JSON value", at: pos)
        }
        return value
    }

    /// `depth` is the number of containers enclosing the value.
    mutating func parseValue(depth: Int) throws -> JSONValue {
        skipWhitespace()
        guard pos < count else { throw eof("a JSON value") }
        switch p[pos] {
        case asciiQuote:
            return .string(try parseString())
        case UInt8(ascii: "{"):
            return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["):
            return try parseArray(depth: depth + 1)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        case UInt8(ascii: "t"):
            try parseLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try parseLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try parseLiteral("null")
            return .null
        case 0xEF where pos + 2 < count && p[pos + 1] == 0xBB && p[pos + 2] == 0xBF:
            throw error("unexpected UTF-8 byte order mark, expected a JSON value", at: pos)
        default:
            throw error("expected a JSON value (object, array, string, number, true, false or null)", at: pos)
        }
    }

    mutating func parseLiteral(_ literal: StaticString) throws {
        let text = literal.utf8Start
        let n = literal.utf8CodeUnitCount
        for k in 0..<n {
            guard pos + k < count else { throw eof("'\(literal)'") }
            guard p[pos + k] == text[k] else {
                throw error("invalid literal, expected '\(literal)'", at: pos + k)
            }
        }
        pos += n
    }

    mutating func parseArray(depth: Int) throws -> JSONValue {
        if depth > JSONParser.maxDepth {
            throw error("nesting deeper than \(JSONParser.maxDepth)", at: pos)
        }
        pos &+= 1
        skipWhitespace()
        guard pos < count else { throw eof("a JSON value or ']'") }
        if p[pos] == UInt8(ascii: "]") {
            pos &+= 1
            return .array([])
        }
        var elements: [JSONValue] = []
        while true {
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard pos < count else { throw eof("',' or ']' after array element") }
            let c = p[pos]
            if c == UInt8(ascii: ",") {
                pos &+= 1
                skipWhitespace()
                if pos < count && p[pos] == UInt8(ascii: "]") {
                    throw error("expected a JSON value after ',' in array (trailing commas are not allowed)", at: pos)
                }
                continue
            }
            if c == UInt8(ascii: "]") {
                pos &+= 1
                return .array(elements)
            }
            throw error("expected ',' or ']' after array element", at: pos)
        }
    }

    mutating func parseObject(depth: Int) throws -> JSONValue {
        if depth > JSONParser.maxDepth {
            throw error("nesting deeper than \(JSONParser.maxDepth)", at: pos)
        }
        pos &+= 1
        skipWhitespace()
        guard pos < count else { throw eof("string key or '}' in object") }
        if p[pos] == UInt8(ascii: "}") {
            pos &+= 1
            return .object([])
        }
        var members: [(key: String, value: JSONValue)] = []
        var afterComma = false
        while true {
            guard p[pos] == asciiQuote else {
                if !afterComma {
                    throw error("expected string key or '}' in object", at: pos)
                } else if p[pos] == UInt8(ascii: "}") {
                    throw error("expected string key after ',' in object (trailing commas are not allowed)", at: pos)
                } else {
                    throw error("expected string key after ',' in object", at: pos)
                }
            }
            let key = try parseString()
            skipWhitespace()
            guard pos < count else { throw eof("':' after object key") }
            guard p[pos] == UInt8(ascii: ":") else { throw error("expected ':' after object key", at: pos) }
            pos &+= 1
            let value = try parseValue(depth: depth)
            members.append((key: key, value: value))
            skipWhitespace()
            guard pos < count else { throw eof("',' or '}' after object member") }
            let c = p[pos]
            if c == UInt8(ascii: ",") {
                pos &+= 1
                skipWhitespace()
                guard pos < count else { throw eof("string key after ',' in object") }
                afterComma = true
                continue
            }
            if c == UInt8(ascii: "}") {
                pos &+= 1
                return .object(members)
            }
            throw error("expected ',' or '}' after object member", at: pos)
        }
    }

    mutating func parseNumber() throws -> JSONValue {
        let start = pos
        var i = pos
        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
        if p[i] == UInt8(ascii: "-") {
            i += 1
            guard i < count else { throw eof("digit after '-'") }
            guard isDigit(p[i]) else { throw error("expected digit after '-'", at: i) }
        }
        if p[i] == UInt8(ascii: "0") {
            i += 1
            if i < count && isDigit(p[i]) {
                throw error("leading zeros are not allowed in numbers, expected '.', 'e', 'E' or the end of the number after '0'", at: i)
            }
        } else {
            while i < count && isDigit(p[i]) { i += 1 }
        }
        if i < count && p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < count else { throw eof("digit after '.' in number") }
            guard isDigit(p[i]) else { throw error("expected digit after '.' in number", at: i) }
            while i < count && isDigit(p[i]) { i += 1 }
        }
        if i < count && (p[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < count && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < count else { throw eof("digit in number exponent") }
            guard isDigit(p[i]) else { throw error("expected digit in number exponent", at: i) }
            while i < count && isDigit(p[i]) { i += 1 }
        }
        pos = i
        return .number(String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self))
    }

    // MARK: Strings

    /// Parses the string whose opening quote is at `pos`; leaves `pos` after the closing quote.
    mutating func parseString() throws -> String {
        let start = pos &+ 1
        var i = start
        var acc: UInt64 = 0          // OR of all bytes seen: high bits set => non-ASCII content
        var hasEscape = false
        while true {
            while i &+ 8 <= count {
                let w = loadWord(p + i)
                let m = stringSpecialMask(w)
                if m != 0 {
                    let bit = m.trailingZeroBitCount &- 7           // bit index of the special byte
                    acc |= w & ((1 &<< UInt64(bit)) &- 1)
                    i &+= bit &>> 3
                    break
                }
                acc |= w
                i &+= 8
            }
            guard i < count else {
                throw stringError("unexpected end of input, expected closing '\"' of string", at: count, start: start, acc: acc)
            }
            let c = p[i]
            if c == asciiQuote { break }
            if c == asciiBackslash {
                hasEscape = true
                i = try scanEscape(at: i, start: start, acc: acc)
                continue
            }
            if c < 0x20 {
                throw stringError("unescaped control character in string", at: i, start: start, acc: acc)
            }
            acc |= UInt64(c)
            i &+= 1
        }
        pos = i &+ 1
        let nonASCII = acc & swarHighs != 0
        if !hasEscape {
            let span = UnsafeBufferPointer(start: p + start, count: i &- start)
            if !nonASCII {
                return String(decoding: span, as: UTF8.self)
            }
            if let s = makeValidatedString(span) { return s }
            throw error("invalid UTF-8 in string", at: firstInvalidUTF8InString(from: start, to: i))
        }
        let dst = scratchBuffer(i &- start)
        let span = UnsafeBufferPointer(start: dst, count: decodeEscapes(from: start, to: i, into: dst))
        if !nonASCII {
            return String(decoding: span, as: UTF8.self)
        }
        if let s = makeValidatedString(span) { return s }
        throw error("invalid UTF-8 in string", at: firstInvalidUTF8InString(from: start, to: i))
    }

    /// The String for UTF-8 `bytes`, or nil if they are not valid UTF-8 (validated once, by the standard library
    /// where it can do so).
    @inline(__always)
    func makeValidatedString(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        if #available(macOS 15, iOS 18, tvOS 18, watchOS 11, visionOS 2, *) {
            return String(validating: bytes, as: UTF8.self)
        }
        guard firstInvalidUTF8(bytes.baseAddress!, from: 0, to: bytes.count) == nil else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The offset of the first invalid UTF-8 byte in the raw string content `p[from..<to]` (escapes, which are
    /// already validated, are skipped). Only called once the content is known to be invalid.
    func firstInvalidUTF8InString(from: Int, to: Int) -> Int {
        var i = from
        while i < to {
            let c = p[i]
            if c == asciiBackslash {
                i &+= 2
            } else if c < 0x80 {
                i &+= 1
            } else {
                let r = validateUTF8Sequence(p, at: i, limit: to)
                if r < 0 { return -r - 1 }
                i &+= r
            }
        }
        return from
    }

    /// An error inside a string; if an invalid UTF-8 byte precedes `offset` in the string, that is reported
    /// instead (errors are always reported at the first problem).
    func stringError(_ message: String, at offset: Int, start: Int, acc: UInt64) -> JSONError {
        if acc & swarHighs != 0 {
            var i = start
            while i < offset {
                let c = p[i]
                if c == asciiBackslash {
                    i += 2
                } else if c < 0x80 {
                    i += 1
                } else {
                    let r = validateUTF8Sequence(p, at: i, limit: count)
                    if r < 0 {
                        let bad = -r - 1
                        if bad < offset { return error("invalid UTF-8 in string", at: bad) }
                        break
                    }
                    i += r
                }
            }
        }
        return error(message, at: offset)
    }

    /// Validates the escape sequence at `i` (a backslash) and returns the index after it.
    func scanEscape(at i: Int, start: Int, acc: UInt64) throws -> Int {
        guard i + 1 < count else {
            throw stringError("unexpected end of input, expected escape sequence after '\\'", at: count, start: start, acc: acc)
        }
        switch p[i + 1] {
        case asciiQuote, asciiBackslash, UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return i + 2
        case UInt8(ascii: "u"):
            let unit = try readHex4(at: i, start: start, acc: acc)
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw stringError("unpaired UTF-16 surrogate \\u\(hex4Upper(unit))", at: i, start: start, acc: acc)
            }
            if unit >= 0xD800 && unit <= 0xDBFF {
                let j = i + 6
                guard j < count else {
                    throw stringError("unexpected end of input, expected closing '\"' of string", at: count, start: start, acc: acc)
                }
                guard p[j] == asciiBackslash && j + 1 < count && p[j + 1] == UInt8(ascii: "u") else {
                    throw stringError("unpaired UTF-16 surrogate \\u\(hex4Upper(unit))", at: i, start: start, acc: acc)
                }
                let low = try readHex4(at: j, start: start, acc: acc)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw stringError("unpaired UTF-16 surrogate \\u\(hex4Upper(unit))", at: i, start: start, acc: acc)
                }
                return i + 12
            }
            return i + 6
        default:
            throw stringError("invalid escape sequence, expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
                              at: i, start: start, acc: acc)
        }
    }

    /// Reads the 4 hex digits of the `\u` escape whose backslash is at `i`.
    func readHex4(at i: Int, start: Int, acc: UInt64) throws -> UInt32 {
        var value: UInt32 = 0
        for k in 2..<6 {
            guard i + k < count else {
                throw stringError("unexpected end of input, expected 4 hex digits after '\\u'", at: count, start: start, acc: acc)
            }
            guard let h = hexValue(p[i + k]) else {
                throw stringError("invalid \\u escape, expected 4 hex digits after '\\u'", at: i, start: start, acc: acc)
            }
            value = value << 4 | h
        }
        return value
    }

    /// Writes the decoded content of `p[from..<to]` (escapes already validated) to `dst` (which has room for
    /// `to - from` bytes: escapes never expand); returns the length. Raw bytes are copied unvalidated.
    func decodeEscapes(from: Int, to: Int, into dst: UnsafeMutablePointer<UInt8>) -> Int {
        var o = 0
        var i = from
        var run = from
        @inline(__always) func flush(_ upTo: Int) {
            let n = upTo &- run
            guard n > 0 else { return }
            (dst + o).update(from: p + run, count: n)
            o &+= n
        }
        while i < to {
            // Find the next backslash, 8 bytes at a time.
            while i &+ 8 <= to {
                let x = loadWord(p + i) ^ (swarOnes &* 0x5C)
                let m = (x &- swarOnes) & ~x & swarHighs
                if m != 0 {
                    i &+= (m.trailingZeroBitCount &- 7) &>> 3
                    break
                }
                i &+= 8
            }
            while i < to && p[i] != asciiBackslash { i &+= 1 }
            guard i < to else { break }
            flush(i)
            let e = p[i &+ 1]
            switch e {
            case UInt8(ascii: "b"): dst[o] = 0x08; o &+= 1; i &+= 2
            case UInt8(ascii: "f"): dst[o] = 0x0C; o &+= 1; i &+= 2
            case UInt8(ascii: "n"): dst[o] = 0x0A; o &+= 1; i &+= 2
            case UInt8(ascii: "r"): dst[o] = 0x0D; o &+= 1; i &+= 2
            case UInt8(ascii: "t"): dst[o] = 0x09; o &+= 1; i &+= 2
            case UInt8(ascii: "u"):
                var unit: UInt32 = 0
                for k in 2..<6 { unit = unit << 4 | hexValue(p[i &+ k])! }
                if unit >= 0xD800 && unit <= 0xDBFF {
                    var low: UInt32 = 0
                    for k in 8..<12 { low = low << 4 | hexValue(p[i &+ k])! }
                    let scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    o = encodeUTF8(scalar, dst, o)
                    i &+= 12
                } else {
                    o = encodeUTF8(unit, dst, o)
                    i &+= 6
                }
            default:  // '"', '\\', '/'
                dst[o] = e; o &+= 1; i &+= 2
            }
            run = i
        }
        flush(to)
        return o
    }
}
