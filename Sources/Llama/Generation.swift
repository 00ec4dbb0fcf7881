import Foundation
import Sampling

/// How to continue prompts.
public struct GenerationOptions: Sendable {
    /// New tokens at most (finish reason "length" when reached).
    public var maxTokens = 512
    /// 0: greedy (the highest logit, ties to the lower id).
    public var temperature: Float = 0
    /// Nucleus sampling: the smallest set of most likely tokens whose probabilities reach this.
    public var topP: Float = 1
    /// Tokens that end a continuation (finish reason "stop"); they are included in `tokens`.
    public var stopTokens: Set<Int32> = []

    public init(maxTokens: Int = 512, temperature: Float = 0, topP: Float = 1, stopTokens: Set<Int32> = []) {
        self.maxTokens = maxTokens; self.temperature = temperature; self.topP = topP; self.stopTokens = stopTokens
    }
}

/// One prompt's continuation.
public struct GenerationResult: Equatable, Sendable {
    public var tokens: [Int32]
    /// "stop" (a stop token was generated) or "length" (maxTokens reached), as the OpenAI API says.
    public var finishReason: String
    public var promptTokens: Int
}

/// Continues many prompts at once: one forward pass per step for the whole batch, so the
/// weights are read once per step whatever the batch size. Each prompt draws from its own
/// generator (SplitMix64 of its seed), so a prompt's continuation does not depend on which
/// others share its batch.
public struct LlamaGenerator: Sendable {
    public let model: LlamaModel
    /// Prompt rows per forward pass while reading prompts (bounds the activations' memory), and
    /// the most of one prompt read at once: 512, llama.cpp's default batch, whose pieces decide
    /// which attention arithmetic a token gets.
    public var prefillRows = 512

    public init(model: LlamaModel) { self.model = model }

    /// `maxTokens`, when given, is each prompt's own limit in place of `options.maxTokens`.
    public func generate(prompts: [[Int32]], seeds: [UInt64], options: GenerationOptions,
                         maxTokens: [Int]? = nil) throws -> [GenerationResult] {
        precondition(prompts.count == seeds.count)
        let limits = maxTokens ?? Array(repeating: options.maxTokens, count: prompts.count)
        precondition(limits.count == prompts.count)
        let c = model.config
        for (i, p) in prompts.enumerated() {
            guard !p.isEmpty else { throw LlamaError("prompt \(i) is empty") }
            guard p.count < c.contextLength else { throw LlamaError("prompt \(i) has \(p.count) tokens; the model's context holds \(c.contextLength)") }
        }
        let caches = prompts.indices.map { KVCache(config: c, capacity: prompts[$0].count + limits[$0]) }
        var rngs = seeds.map { SplitMix64(seed: $0) }
        var results = prompts.map { GenerationResult(tokens: [], finishReason: "length", promptTokens: $0.count) }
        var lastLogits = [[Float]](repeating: [], count: prompts.count)

        // Prompts in chunks of whole prompts (a prompt longer than the chunk goes alone, in pieces).
        var pending = Array(prompts.indices)
        while !pending.isEmpty {
            var rows: [Int32] = [], sequence: [Int] = [], ends: [Int] = [], owners: [Int] = []
            while let i = pending.first, rows.isEmpty || rows.count + prompts[i].count - caches[i].length <= prefillRows {
                let start = caches[i].length
                let piece = prompts[i][start..<min(prompts[i].count, start + prefillRows)]
                rows += piece
                sequence += Array(repeating: i, count: piece.count)
                if start + piece.count == prompts[i].count {
                    ends.append(rows.count - 1); owners.append(i)
                    pending.removeFirst()
                } else {
                    break // the rest of this long prompt in the next pass
                }
            }
            // Forward only sees the caches it is given positions for; pass them all.
            let logits = try model.forward(tokens: rows, sequence: sequence, caches: caches, logitRows: ends)
            for (k, i) in owners.enumerated() { lastLogits[i] = Array(logits[(k * c.vocabulary)..<((k + 1) * c.vocabulary)]) }
        }

        var active = Array(prompts.indices)
        while !active.isEmpty {
            var next: [Int32] = [], still: [Int] = []
            for i in active {
                let token = Self.sample(lastLogits[i], temperature: options.temperature, topP: options.topP, rng: &rngs[i])
                results[i].tokens.append(token)
                if options.stopTokens.contains(token) {
                    results[i].finishReason = "stop"
                } else if results[i].tokens.count >= limits[i] || caches[i].length >= caches[i].capacity {
                    results[i].finishReason = "length"
                } else {
                    next.append(token); still.append(i)
                }
            }
            active = still
            if active.isEmpty { break }
            let logits = try model.forward(tokens: next, sequence: active, caches: caches, logitRows: Array(active.indices))
            for (k, i) in active.enumerated() { lastLogits[i] = Array(logits[(k * c.vocabulary)..<((k + 1) * c.vocabulary)]) }
        }
        return results
    }

    /// The next token: greedy at temperature 0, else a draw from the tempered softmax cut to the
    /// top-p nucleus (probabilities in double; ties in order by the lower id).
    static func sample(_ logits: [Float], temperature: Float, topP: Float, rng: inout SplitMix64) -> Int32 {
        if temperature <= 0 {
            var best = 0
            for i in 1..<logits.count where logits[i] > logits[best] { best = i }
            return Int32(best)
        }
        let maximum = Double(logits.max() ?? 0)
        var p = logits.map { exp((Double($0) - maximum) / Double(temperature)) }
        let total = p.reduce(0, +)
        for i in p.indices { p[i] /= total }
        var order = Array(p.indices)
        if topP < 1 {
            order.sort { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
            var cumulative = 0.0, keep = 0
            let target = Double(topP)
            while keep < order.count {
                cumulative += p[order[keep]]
                keep += 1
                if cumulative >= target { break }
            }
            order.removeSubrange(keep...)
        }
        let mass = order.reduce(0.0) { $0 + p[$1] }
        let unit = Double(rng.next() >> 11) * 0x1p-53
        var u = unit * mass
        for i in order {
            u -= p[i]
            if u < 0 { return Int32(i) }
        }
        return Int32(order.last!)
    }
}
