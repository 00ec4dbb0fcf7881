// Unicode support for the byte-level BPE tokenizer: the GPT-2 byte <-> character
// alphabet, and the character classes the pre-tokenizer needs.
//
// Character classes follow llama.cpp's unicode tables (src/unicode-data.cpp):
//   letter      \p{L}  general category Lu, Ll, Lt, Lm, Lo
//   number      \p{N}  general category Nd, Nl, No
//   whitespace  \s     the Unicode White_Space property (U+0009-000D, U+0020, U+0085,
//                      U+00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000)
//   other       everything else, including unassigned code points
// Letters and numbers come from Swift's Unicode.Scalar.Properties.generalCategory; code
// points assigned after Unicode 15.1 (the version of llama.cpp's tables) count as unassigned,
// i.e. "other", as they do in llama.cpp.

/// Character class of one code point, as the GPT-2 style pre-tokenizer sees it.
enum BPECharClass {
    static let other: UInt8 = 0
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 3
    /// Past the end of the piece being split (llama.cpp's OUT_OF_RANGE: no flags at all).
    static let none: UInt8 = 4

    /// Code points below this have their class in `table`.
    static let tableLimit: UInt32 = 0x30000

    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        if value < tableLimit {
            return table[Int(value)]
        }
        return classify(value)
    }

    static func isWhitespace(_ v: UInt32) -> Bool {
        switch v {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    static func classify(_ v: UInt32) -> UInt8 {
        if isWhitespace(v) { return whitespace }
        guard let scalar = Unicode.Scalar(v) else { return other }
        // llama.cpp's tables are Unicode 15.1: later additions are unassigned there.
        guard let age = scalar.properties.age, age.major < 15 || (age.major == 15 && age.minor <= 1) else {
            return other
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return other
        }
    }

    /// Classes of the first three planes, computed once.
    static let table: [UInt8] = {
        var table = [UInt8](repeating: other, count: Int(tableLimit))
        for v in 0..<tableLimit {
            table[Int(v)] = classify(v)
        }
        return table
    }()
}

/// GPT-2's reversible mapping between bytes and printable characters.
enum BPEByteLevel {
    /// Code point that stands for each byte.
    static let byteToScalar: [UInt32] = {
        var map = [UInt32](repeating: 0, count: 256)
        var assigned = [Bool](repeating: false, count: 256)
        for b in 0x21...0x7E { map[b] = UInt32(b); assigned[b] = true }
        for b in 0xA1...0xAC { map[b] = UInt32(b); assigned[b] = true }
        for b in 0xAE...0xFF { map[b] = UInt32(b); assigned[b] = true }
        var n: UInt32 = 0
        for b in 0..<256 where !assigned[b] {
            map[b] = 256 + n
            n += 1
        }
        return map
    }()

    /// Byte that each code point below 0x144 stands for, or -1.
    static let scalarToByte: [Int16] = {
        var map = [Int16](repeating: -1, count: 0x144)
        for (b, s) in byteToScalar.enumerated() {
            map[Int(s)] = Int16(b)
        }
        return map
    }()

    /// The byte-level string for one byte, as vocabularies store it.
    static func character(for byte: UInt8) -> String {
        String(Character(Unicode.Scalar(byteToScalar[Int(byte)])!))
    }

    /// Decodes a byte-level token text to the bytes it stands for, or nil when a
    /// character is outside the byte alphabet.
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let v = scalar.value
            guard v < 0x144, case let b = scalarToByte[Int(v)], b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }
}
