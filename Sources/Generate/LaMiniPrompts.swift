import Sampling

/// Which seed pool example-guided prompts draw from, and the subset its generations go to.
public enum SeedPool: String, CaseIterable, Sendable {
    case selfInstruct = "self_instruct"
    case p3
    case flan

    /// The subset whose instructions are the examples.
    public var exampleSubset: String {
        switch self {
        case .selfInstruct: return "self_instruct_seed"
        case .p3: return "original_p3"
        case .flan: return "original_flan"
        }
    }

    /// LaMini-LM: 20 instructions per prompt from Self-Instruct seeds, 10 from P3 and FLAN.
    public var instructionsPerPrompt: Int { self == .selfInstruct ? 20 : 10 }

    /// The subset the generated instructions join.
    public func generatedSubset(topicGuided: Bool) -> String {
        switch self {
        case .selfInstruct: return topicGuided ? "self_instruct_with_topic" : "self_instruct_without_topic"
        case .p3: return "generated_p3"
        case .flan: return "generated_flan"
        }
    }
}

/// LaMini-LM's prompts, word for word (Wu et al. 2023, §3): three examples in
/// `<example>…</example>` tags, one per line, a blank line, then the request.
public enum LaMiniPrompts {
    /// The system message of every response request.
    public static let responseSystemMessage =
        "You are a helpful assistant, but you must respond the provided instructions as concise as possible."

    /// An example as the prompts show it: the instruction, then `:` and its input when it has one.
    public static func exampleText(instruction: String, input: String) -> String {
        input.isEmpty ? instruction : "\(instruction):\(input)"
    }

    /// The instruction-generation prompt for `examples` (already written with `exampleText`),
    /// asking for `count` instructions, on `topics` when given (topic-guided generation).
    public static func instructionPrompt(examples: [String], count: Int, topics: [String]? = nil) -> String {
        var s = ""
        for e in examples { s += "<example>\(e)</example>\n" }
        s += "\n"
        s += "Generate \(count) diverse examples that are similar to the provided examples"
        if let topics { s += " with the topics \"\(topics.joined(separator: ", "))\"" }
        s += ".\n"
        s += "You do not need to provide a response to the generated examples.\n"
        s += "Each example must include an instruction.\n"
        s += "Each generated instruction can be either an imperative sentence or a question.\n"
        s += "Each example must start with the label \"<example>\" and end with the label \"</example>\"."
        return s
    }
}

/// One instruction-generation prompt, reproducible from (seed, number).
public struct PlannedPrompt: Equatable, Sendable {
    /// 0-based number of the prompt in its run.
    public var number: Int
    /// Indices into the example pool, in the order shown.
    public var exampleIndices: [Int]
    /// Indices into the topic list (topic-guided prompts).
    public var topicIndices: [Int]?
    public var text: String
}

/// Draws the examples (and topics) of prompt k from its own generator, SplitMix64 seeded with the
/// k-th output of SplitMix64(seed): prompt k is the same whether a run makes 10 prompts or
/// 10,000, and a resumed run re-creates exactly the prompts it had planned.
public enum PromptPlanner {
    public static func seed(forPrompt k: Int, seed: UInt64) -> UInt64 {
        // The (k+1)-th output of SplitMix64(seed), in O(1): its state after k+1 steps.
        var g = SplitMix64(seed: seed &+ UInt64(k) &* 0x9E37_79B9_7F4A_7C15)
        return g.next()
    }

    /// Prompt `k` over `examples` (texts written with `LaMiniPrompts.exampleText`) and, for
    /// topic-guided prompts, `topics`. Three distinct examples and three distinct topics.
    public static func prompt(_ k: Int, seed: UInt64, examples: [String], count: Int, topics: [String]?) -> PlannedPrompt {
        var rng = SplitMix64(seed: self.seed(forPrompt: k, seed: seed))
        let chosen = DistinctDraw.indices(min(3, examples.count), below: examples.count, rng: &rng)
        let topicChoice = topics.map { DistinctDraw.indices(min(3, $0.count), below: $0.count, rng: &rng) }
        let text = LaMiniPrompts.instructionPrompt(examples: chosen.map { examples[$0] }, count: count,
                                                   topics: topicChoice.map { $0.map { topics![$0] } })
        return PlannedPrompt(number: k, exampleIndices: chosen, topicIndices: topicChoice, text: text)
    }
}
