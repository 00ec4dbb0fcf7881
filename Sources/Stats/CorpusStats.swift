import Foundation

/// LaMini-LM's Table 1 columns for one subset (or for the corpus subsets together).
public struct SubsetStats: Equatable, Sendable {
    /// Rows, duplicates included.
    public var count: Int64
    /// Distinct canonical ids among the rows (a duplicate counts as its first occurrence).
    public var uniqueInstructions: Int64
    /// Rows that have a response.
    public var withResponse: Int64
    /// Words of instruction plus words of input (runs of non-`White_Space` characters).
    public var instructionWords: Int64
    /// Words of the responses.
    public var responseWords: Int64
    /// `instructionWords / count` (0 when there are no rows).
    public var avgInstructionWords: Double
    /// `responseWords / withResponse` (0 when no row has a response).
    public var avgResponseWords: Double
    /// MATTR × 100 (window 50) over the instructions — each the instruction, then the input when
    /// not empty — joined with "\n" in corpus order.
    public var mattrInstruction: Double
    /// MATTR × 100 (window 50) over the responses joined with "\n" in corpus order.
    public var mattrResponse: Double

    public init(count: Int64 = 0, uniqueInstructions: Int64 = 0, withResponse: Int64 = 0,
                instructionWords: Int64 = 0, responseWords: Int64 = 0,
                avgInstructionWords: Double = 0, avgResponseWords: Double = 0,
                mattrInstruction: Double = 0, mattrResponse: Double = 0) {
        self.count = count
        self.uniqueInstructions = uniqueInstructions
        self.withResponse = withResponse
        self.instructionWords = instructionWords
        self.responseWords = responseWords
        self.avgInstructionWords = avgInstructionWords
        self.avgResponseWords = avgResponseWords
        self.mattrInstruction = mattrInstruction
        self.mattrResponse = mattrResponse
    }
}

/// Statistics of a store: every subset, and the total over the corpus (non-seed) subsets.
public struct CorpusStats: Equatable, Sendable {
    /// Every subset of the store, sorted by name; seed subsets included.
    public var subsets: [(name: String, role: String, stats: SubsetStats)]
    /// Over the corpus subsets (role "corpus"): sums of the counts; unique instructions are the
    /// distinct canonical ids across them; MATTR is over their texts in id order.
    public var total: SubsetStats

    public init(subsets: [(name: String, role: String, stats: SubsetStats)], total: SubsetStats) {
        self.subsets = subsets
        self.total = total
    }

    public static func == (a: CorpusStats, b: CorpusStats) -> Bool {
        guard a.total == b.total, a.subsets.count == b.subsets.count else { return false }
        for (x, y) in zip(a.subsets, b.subsets) where x.name != y.name || x.role != y.role || x.stats != y.stats {
            return false
        }
        return true
    }

    // MARK: JSON

    /// The statistics as JSON (schema: `schemas/stats.schema.json`), pretty-printed with a
    /// 2-space indent and a trailing newline. Integers are written plainly; doubles are rounded
    /// to 4 decimals (half away from zero) and written without exponent, trailing zeros dropped
    /// but at least one decimal kept (`12.5`, `0.0`, `33.3333`).
    public func json() -> String {
        var out = "{\n  \"subsets\": {"
        for (i, s) in subsets.enumerated() {
            out += i == 0 ? "\n" : ",\n"
            out += "    \(Self.jsonString(s.name)): {\n"
            out += "      \"role\": \(Self.jsonString(s.role)),\n"
            Self.appendFields(s.stats, indent: "      ", to: &out)
            out += "    }"
        }
        out += subsets.isEmpty ? "},\n" : "\n  },\n"
        out += "  \"total\": {\n"
        Self.appendFields(total, indent: "    ", to: &out)
        out += "  }\n}\n"
        return out
    }

    private static func appendFields(_ s: SubsetStats, indent: String, to out: inout String) {
        let fields: [(String, String)] = [
            ("count", String(s.count)),
            ("unique_instructions", String(s.uniqueInstructions)),
            ("with_response", String(s.withResponse)),
            ("instruction_words", String(s.instructionWords)),
            ("response_words", String(s.responseWords)),
            ("avg_instruction_words", jsonDouble(s.avgInstructionWords)),
            ("avg_response_words", jsonDouble(s.avgResponseWords)),
            ("mattr_instruction", jsonDouble(s.mattrInstruction)),
            ("mattr_response", jsonDouble(s.mattrResponse)),
        ]
        for (i, f) in fields.enumerated() {
            out += "\(indent)\"\(f.0)\": \(f.1)\(i == fields.count - 1 ? "" : ",")\n"
        }
    }

    /// `x` rounded to 4 decimals, without exponent: "12.5", "0.0", "33.3333".
    static func jsonDouble(_ x: Double) -> String {
        let s = fixed(x, decimals: 4)
        var trimmed = Substring(s)
        while trimmed.hasSuffix("0") { trimmed = trimmed.dropLast() }
        if trimmed.hasSuffix(".") { trimmed += "0" }
        return String(trimmed)
    }

    /// `x` rounded (half away from zero) to `decimals` places, with exactly that many decimals.
    static func fixed(_ x: Double, decimals: Int) -> String {
        guard x.isFinite else { return decimals > 0 ? "0." + String(repeating: "0", count: decimals) : "0" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(x) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9.0e18 else { return String(x) }
        let n = UInt64(scaled)
        let unit = UInt64(scale)
        var out = (x < 0 && n != 0) ? "-" : ""
        out += String(n / unit)
        if decimals > 0 {
            let frac = String(n % unit)
            out += "." + String(repeating: "0", count: decimals - frac.count) + frac
        }
        return out
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    // MARK: Tables

    static let headers = ["Subset", "Count", "Unique", "Instr words", "Avg instr", "Resp words", "Avg resp",
                          "MATTR instr", "MATTR resp"]

    /// Rows of cells: one per subset (seed subsets marked "(seed)"), then the total.
    private func cells(totalLabel: String, escape: (String) -> String) -> [[String]] {
        func row(_ label: String, _ s: SubsetStats) -> [String] {
            [label, Self.grouped(s.count), Self.grouped(s.uniqueInstructions), Self.grouped(s.instructionWords),
             Self.fixed(s.avgInstructionWords, decimals: 2), Self.grouped(s.responseWords),
             Self.fixed(s.avgResponseWords, decimals: 2), Self.fixed(s.mattrInstruction, decimals: 2),
             Self.fixed(s.mattrResponse, decimals: 2)]
        }
        var rows = subsets.map { row(escape($0.name) + ($0.role == "seed" ? " (seed)" : ""), $0.stats) }
        rows.append(row(totalLabel, total))
        return rows
    }

    private static func widths(_ rows: [[String]]) -> [Int] {
        var w = headers.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { w[i] = max(w[i], c.count) } }
        return w
    }

    private static func pad(_ s: String, _ width: Int, left: Bool) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return left ? s + fill : fill + s
    }

    /// An aligned plain-text table: the subset column left-aligned, numbers right-aligned,
    /// a rule under the header and above the total row. Counts have thousands separators;
    /// averages and MATTR (×100) two decimals. Seed subsets are listed, marked "(seed)", and
    /// are not in the total.
    public func table() -> String {
        let rows = cells(totalLabel: "Total", escape: { $0 })
        let w = Self.widths(rows)
        func line(_ r: [String]) -> String {
            var parts: [String] = []
            for (i, c) in r.enumerated() { parts.append(Self.pad(c, w[i], left: i == 0)) }
            var l = parts.joined(separator: "  ")
            while l.hasSuffix(" ") { l.removeLast() }
            return l + "\n"
        }
        let rule = w.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        var out = line(Self.headers) + rule
        for r in rows.dropLast() { out += line(r) }
        out += rule + line(rows[rows.count - 1])
        return out
    }

    /// The same table in GitHub markdown (for the dataset card); the total row's label is bold
    /// and `|` in subset names is escaped.
    public func markdownTable() -> String {
        let rows = cells(totalLabel: "**Total**", escape: { $0.replacingOccurrences(of: "|", with: "\\|") })
        let w = Self.widths(rows).map { max($0, 3) }
        func line(_ r: [String]) -> String {
            var parts: [String] = []
            for (i, c) in r.enumerated() { parts.append(Self.pad(c, w[i], left: i == 0)) }
            return "| " + parts.joined(separator: " | ") + " |\n"
        }
        var out = line(Self.headers)
        var align: [String] = []
        for (i, n) in w.enumerated() {
            align.append(i == 0 ? ":" + String(repeating: "-", count: n - 1) : String(repeating: "-", count: n - 1) + ":")
        }
        out += "| " + align.joined(separator: " | ") + " |\n"
        for r in rows { out += line(r) }
        return out
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ v: Int64) -> String {
        let digits = String(v.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(ch)
        }
        return v < 0 ? "-" + out : out
    }
}
