import FastJSON
import Ingest
import Store

/// What taking generation replies into the store did.
public struct GenerationCounts: Sendable, Equatable {
    public var instructions = 0
    public var duplicates = 0
    public var emptyExamples = 0
    public var truncatedExamples = 0
    public var filtered: [AlpacaFilterReason: Int] = [:]
    public var filteredTotal: Int { filtered.values.reduce(0, +) }

    public init() {}
}

/// Turns a generation reply into instructions: every `<example>`, Alpaca's filters when asked,
/// exact duplicates marked against the whole store.
struct GenerationIntake {
    let duplicates: ExactDuplicateIndex
    let alpacaFilters: Bool
    var counts = GenerationCounts()

    /// Adds the instructions of `content`; `insert(text, meta, hash, firstOccurrence)` writes one
    /// row and returns its id. Returns how many instructions the reply gave.
    mutating func take(content: String, finishReason: String?, requestKey: String,
                       insert: (String, String, Int64, Int64?) throws -> Int64) throws -> Int {
        let parsed = ReplyParser.parse(content, finishReason: finishReason)
        counts.emptyExamples += parsed.empty
        counts.truncatedExamples += parsed.truncated
        var taken = 0
        for (n, text) in parsed.instructions.enumerated() {
            if alpacaFilters, let reason = AlpacaFilters.reason(text) { counts.filtered[reason, default: 0] += 1; continue }
            let key = InstructionKey.key(instruction: text, input: "")
            let hash = InstructionKey.hash(ofKey: key)
            let first = try duplicates.firstOccurrence(hash: hash, key: key)
            let meta = JSONWriter.string(.object([("request", .string(requestKey)), ("example", .number(String(n + 1)))]))
            let id = try insert(text, meta, hash, first)
            if first == nil { duplicates.remember(hash: hash, id: id) } else { counts.duplicates += 1 }
            counts.instructions += 1
            taken += 1
        }
        return taken
    }
}

/// Prices per million tokens, by model.
public struct PriceTable: Sendable, Equatable {
    public struct Price: Sendable, Equatable {
        public var promptPerMillion: Double
        public var completionPerMillion: Double
        public init(promptPerMillion: Double, completionPerMillion: Double) {
            self.promptPerMillion = promptPerMillion; self.completionPerMillion = completionPerMillion
        }
    }

    public var prices: [String: Price]
    public init(_ prices: [String: Price] = [:]) { self.prices = prices }

    /// US dollars for the usage, nil when the model has no price.
    public func cost(model: String, promptTokens: Int64?, completionTokens: Int64?, factor: Double = 1) -> Double? {
        guard let p = prices[model] else { return nil }
        return factor * (Double(promptTokens ?? 0) * p.promptPerMillion + Double(completionTokens ?? 0) * p.completionPerMillion) / 1e6
    }
}
