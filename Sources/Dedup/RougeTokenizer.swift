/// The tokenizer of Google's `rouge_score` (`rouge_score.tokenize.tokenize`, used by
/// `RougeScorer(..., use_stemmer=...)`), reproduced exactly:
///
///     text = text.lower()                       # Python's full Unicode lower-casing
///     text = re.sub(r"[^a-z0-9]+", " ", text)
///     tokens = re.split(r"\s+", text)
///     if stemmer: tokens = [stemmer.stem(x) if len(x) > 3 else x for x in tokens]
///     tokens = [x for x in tokens if re.match(r"^[a-z0-9]+$", x)]
///
/// So the tokens are the maximal runs of `[a-z0-9]` in the lower-cased text, each longer than
/// three characters stemmed by NLTK's Porter stemmer (`PorterStemmer`) when `stem` is set.
///
/// Lower-casing can only create ASCII letters or digits from three kinds of characters (checked
/// over all of Unicode with Python 3.11, Unicode 14): ASCII `A`–`Z`; U+212A KELVIN SIGN, which
/// becomes `k` (so "5\u{212A}" is the token "5k"); and U+0130 LATIN CAPITAL LETTER I WITH DOT
/// ABOVE, which becomes `i` + U+0307, so it ends its token after an `i` ("\u{130}stanbul" gives
/// "i", "stanbul"). Every other non-ASCII character separates tokens, so this works on UTF-8
/// bytes and never calls a Unicode case mapping.
public struct RougeTokenizer: Sendable {
    /// Whether tokens longer than three characters are Porter-stemmed (`use_stemmer=True`).
    public let stems: Bool
    private let stemmer = PorterStemmer()

    public init(stem: Bool = false) {
        self.stems = stem
    }

    /// The tokens of `text`, as `rouge_score` makes them.
    public func tokens(_ text: String) -> [String] {
        var result: [String] = []
        forEachToken(in: text) { result.append(String(decoding: $0, as: UTF8.self)) }
        return result
    }

    /// Calls `body` with each token's bytes (ASCII `[a-z0-9]`, stemmed when `stems`), in order;
    /// the buffer is only valid during the call.
    public func forEachToken(in text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var text = text
        text.withUTF8 { forEachToken(inUTF8: $0, body) }
    }

    /// As `forEachToken(in:_:)`, on valid UTF-8 bytes.
    public func forEachToken(inUTF8 bytes: UnsafeBufferPointer<UInt8>,
                             _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var token: [UInt8] = []
        token.reserveCapacity(32)

        func flush() {
            guard !token.isEmpty else { return }
            if stems && token.count > 3 {
                let stemmed = stemmer.stem(token)
                // rouge_score's final `^[a-z0-9]+$` filter; a stem is never empty, but keep the check.
                if !stemmed.isEmpty { stemmed.withUnsafeBufferPointer(body) }
            } else {
                token.withUnsafeBufferPointer(body)
            }
            token.removeAll(keepingCapacity: true)
        }

        let n = bytes.count
        var k = 0
        while k < n {
            let b = bytes[k]
            if b < 0x80 {
                switch b {
                case 0x61...0x7A, 0x30...0x39: token.append(b)          // a-z, 0-9
                case 0x41...0x5A: token.append(b | 0x20)                 // A-Z lower-cased
                default: flush()
                }
                k += 1
            } else if b == 0xC4 && k + 1 < n && bytes[k + 1] == 0xB0 {
                // U+0130 'İ' lower-cases to "i\u{307}": an 'i', then a separator.
                token.append(UInt8(ascii: "i"))
                flush()
                k += 2
            } else if b == 0xE2 && k + 2 < n && bytes[k + 1] == 0x84 && bytes[k + 2] == 0xAA {
                // U+212A KELVIN SIGN lower-cases to ASCII 'k'.
                token.append(UInt8(ascii: "k"))
                k += 3
            } else {
                // Any other character: a separator. Skip its continuation bytes.
                flush()
                k += b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            }
        }
        flush()
    }
}
