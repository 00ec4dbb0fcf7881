/// Compact JSON output, byte-compatible with Python's
/// `json.dumps(v, separators=(",", ":"), ensure_ascii=False)` for strings and containers.
public enum JSONWriter {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `s` as a JSON string literal (with quotes). Escapes `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`,
    /// and other control characters below 0x20 as `\u00XX` (lower-case hex); everything else, including
    /// non-ASCII and '/', is written as raw UTF-8.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(asciiQuote)
        var s = s
        s.withUTF8 { buf in
            guard let base = buf.baseAddress else { return }
            let n = buf.count
            var run = 0
            var i = 0
            while i < n {
                let c = base[i]
                if c >= 0x20 && c != asciiQuote && c != asciiBackslash {
                    i &+= 1
                    continue
                }
                if run < i { out.append(contentsOf: UnsafeBufferPointer(start: base + run, count: i - run)) }
                out.append(asciiBackslash)
                switch c {
                case asciiQuote, asciiBackslash: out.append(c)
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                default:
                    out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                            hexDigits[Int(c >> 4)], hexDigits[Int(c & 0xF)]])
                }
                i &+= 1
                run = i
            }
            if run < n { out.append(contentsOf: UnsafeBufferPointer(start: base + run, count: n - run)) }
        }
        out.append(asciiQuote)
    }

    /// Appends `v` compactly (separators "," and ":" without spaces). Numbers are written as their raw text.
    public static func append(_ v: JSONValue, to out: inout [UInt8]) {
        switch v {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let b):
            out.append(contentsOf: b ? "true".utf8 : "false".utf8)
        case .number(let text):
            out.append(contentsOf: text.utf8)
        case .string(let s):
            appendString(s, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                append(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                append(member.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// `v` as compact JSON text.
    public static func string(_ v: JSONValue) -> String {
        var out: [UInt8] = []
        append(v, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
