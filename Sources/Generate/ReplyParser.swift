import Foundation

/// Instructions taken out of a teacher's reply to an instruction-generation prompt.
public struct ParsedReply: Equatable, Sendable {
    public var instructions: [String]
    /// `<example>` blocks that were empty after trimming.
    public var empty: Int
    /// 1 when the reply was cut (`finish_reason: length`) inside its last example, which is dropped.
    public var truncated: Int

    public init(instructions: [String], empty: Int, truncated: Int) {
        self.instructions = instructions; self.empty = empty; self.truncated = truncated
    }
}

/// Parses `<example>…</example>` blocks.
///
/// Every block's text is trimmed of white space and of a leading list number or bullet
/// (`1.`, `2)`, `3:`, `-`, `*`, `•`); empty blocks are dropped. A block without its closing tag ends
/// at the next `<example>`; at the end of the reply it is kept when the teacher stopped on its own
/// (it only forgot the tag) and dropped when the reply was cut at the token limit.
public enum ReplyParser {
    public static func parse(_ reply: String, finishReason: String?) -> ParsedReply {
        let open = "<example>", close = "</example>"
        var out = ParsedReply(instructions: [], empty: 0, truncated: 0)
        var rest = reply[...]
        while let start = rest.range(of: open) {
            let body = rest[start.upperBound...]
            let nextOpen = body.range(of: open)
            let nextClose = body.range(of: close)
            var text: Substring
            if let c = nextClose, nextOpen == nil || c.lowerBound < nextOpen!.lowerBound {
                text = body[..<c.lowerBound]
                rest = body[c.upperBound...]
            } else if let o = nextOpen {
                text = body[..<o.lowerBound]   // closing tag forgotten: ends at the next example
                rest = body[o.lowerBound...]
            } else {
                // The last example has no closing tag.
                if finishReason == "length" { out.truncated = 1; break }
                text = body
                rest = body[body.endIndex...]
            }
            let cleaned = clean(text)
            if cleaned.isEmpty { out.empty += 1 } else { out.instructions.append(cleaned) }
        }
        return out
    }

    /// Trims white space and a leading list marker.
    static func clean(_ text: Substring) -> String {
        var s = text.trimmingCharacters(in: .whitespacesAndNewlines)[...]
        // "12." "12)" "12:" followed by a space, or a bullet.
        var digits = s.startIndex
        while digits < s.endIndex, s[digits].isASCII, s[digits].isNumber { digits = s.index(after: digits) }
        if digits > s.startIndex, digits < s.endIndex, ".):".contains(s[digits]) {
            let after = s.index(after: digits)
            if after == s.endIndex || s[after].isWhitespace { s = s[after...] }
        } else if let first = s.first, "-*•".contains(first), s.dropFirst().first?.isWhitespace == true {
            s = s.dropFirst()
        }
        return s.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Why the Alpaca filters dropped a generated instruction.
public enum AlpacaFilterReason: String, CaseIterable, Sendable {
    case length            // 3 words or fewer, or more than 150
    case blacklist         // a word language models cannot act on (image, file, draw, …)
    case writeAProgram = "write_a_program"
    case punctuation       // starts with punctuation
    case nonASCII = "non_ascii"
}

/// The filters of Alpaca's `generate_instruction.py` (which extends Self-Instruct's), in its order:
///
///     if len(inst.split()) <= 3 or len(inst.split()) > 150: drop
///     if any(re.search(r"\b{w}\b", inst, re.IGNORECASE) for w in blacklist): drop
///     if inst.startswith("Write a program"): drop
///     if inst[0] in string.punctuation: drop
///     if not inst[0].isascii(): drop
public enum AlpacaFilters {
    public static let blacklist = ["image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps",
                                   "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram"]

    public static func reason(_ instruction: String) -> AlpacaFilterReason? {
        let words = instruction.split(whereSeparator: { $0.isWhitespace }).count
        if words <= 3 || words > 150 { return .length }
        let lower = Array(instruction.lowercased().unicodeScalars)
        for w in blacklist where containsWord(lower, Array(w.unicodeScalars)) { return .blacklist }
        if instruction.hasPrefix("Write a program") { return .writeAProgram }
        guard let first = instruction.unicodeScalars.first else { return .length }
        if first.isASCII, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars.contains(first) { return .punctuation }
        if !first.isASCII { return .nonASCII }
        return nil
    }

    /// `\bword\b`: the match is not preceded or followed by a word character (Python's `\w`:
    /// Unicode letters, digits and underscore).
    static func containsWord(_ text: [Unicode.Scalar], _ word: [Unicode.Scalar]) -> Bool {
        guard word.count <= text.count else { return false }
        func isWord(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil }
        var i = 0
        while i + word.count <= text.count {
            if text[i] == word[0], Array(text[i..<(i + word.count)]) == word,
               i == 0 || !isWord(text[i - 1]), i + word.count == text.count || !isWord(text[i + word.count]) {
                return true
            }
            i += 1
        }
        return false
    }
}
