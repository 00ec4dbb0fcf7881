import Config
import Foundation
import Generate
import Store

/// One line of a plan: what a stage still has to ask a teacher for one subset.
public struct PlanRow: Sendable {
    public var stage: BuildStage
    public var subset: String
    public var requests: Int64
    public var promptTokens: Double
    public var completionTokens: Double
    /// nil: the model has no price.
    public var costUSD: Double?
    /// At the configured rate limits; nil: no limit configured (or the built-in teacher).
    public var minutes: Double?
    /// Where the token figures come from: "observed" (answers in the store), "prompts" (the
    /// planned prompts' lengths) or "prior" (the defaults below).
    public var basis: String
    /// What is there and what is aimed at ("12/27 kept, 3 prompts queued").
    public var detail: String
}

/// What remains of a build, priced: no request is sent and the store is not changed.
public struct BuildPlan: Sendable {
    public var endpoint: String
    public var model: String
    public var isLocal: Bool
    public var price: PriceTable.Price?
    public var requestsPerMinute: Double?
    public var tokensPerMinute: Double?
    public var rows: [PlanRow] = []
    /// Texts the embed stage would encode and points t-SNE would place (local work).
    public var embedTexts: Int64 = 0
    public var spentUSD = 0.0
    public var notes: [String] = []

    public var totalRequests: Int64 { rows.reduce(0) { $0 + $1.requests } }
    public var totalPromptTokens: Double { rows.reduce(0) { $0 + $1.promptTokens } }
    public var totalCompletionTokens: Double { rows.reduce(0) { $0 + $1.completionTokens } }
    /// nil when a row with requests has no price.
    public var totalCostUSD: Double? { Self.total(rows, \.costUSD) }
    /// nil when a row with requests has no rate limit to time it by.
    public var totalMinutes: Double? { Self.total(rows, \.minutes) }

    public func stageTotals(_ stage: BuildStage) -> (requests: Int64, prompt: Double, completion: Double, cost: Double?, minutes: Double?) {
        let rs = rows.filter { $0.stage == stage }
        return (rs.reduce(0) { $0 + $1.requests }, rs.reduce(0) { $0 + $1.promptTokens }, rs.reduce(0) { $0 + $1.completionTokens },
                Self.total(rs, \.costUSD), Self.total(rs, \.minutes))
    }

    /// The sum of a figure over rows, nil when a row with requests lacks it.
    static func total(_ rows: [PlanRow], _ figure: KeyPath<PlanRow, Double?>) -> Double? {
        var total = 0.0
        for r in rows where r.requests > 0 {
            guard let x = r[keyPath: figure] else { return nil }
            total += x
        }
        return total
    }
}

/// Plans the rest of a build from the store and the config. Token counts are bytes / 4 (the
/// queue's own estimate), from the answers seen so far when there are any, else from the
/// prompts themselves, else from priors measured on the bundled samples.
public struct BuildPlanner {
    let builder: Builder

    public init(builder: Builder) { self.builder = builder }

    /// Priors, in bytes, from the samples in fixtures/: Self-Instruct's 175 seed instructions
    /// average 75 bytes; Alpaca's first 200 instructions (with inputs) 83 and their outputs 227;
    /// the bundled P3 prompts 135 and FLAN inputs 106. A generated example adds its two tags.
    static let priorInstructionBytes: [String: Double] = ["alpaca": 83, "original_p3": 135, "original_flan": 106]
    static let priorGeneratedBytes = 75.0
    static let priorResponseBytes = 227.0
    static let tagBytes = Double("<example></example>\n".utf8.count)
    /// Kept instructions per instruction asked for, before any answer says otherwise.
    static let priorYield = 0.5

    public func plan() throws -> BuildPlan {
        let c = builder.config
        let store = builder.store
        let t = builder.teacher
        let generation = t.settings(maxTokens: c.generationMaxTokens)
        let responses = t.settings(maxTokens: c.responseMaxTokens)
        let model = generation.model
        var plan = BuildPlan(endpoint: generation.storedEndpoint, model: model, isLocal: t.isLocal, price: t.prices(model: model).prices[model],
                             requestsPerMinute: t.requestsPerMinute, tokensPerMinute: t.tokensPerMinute)
        plan.spentUSD = try store.teacherSpendUSD()
        if plan.price == nil { plan.notes.append("no price for \(model) in [prices]: costs are unknown") }
        if !t.isLocal, plan.requestsPerMinute == nil, plan.tokensPerMinute == nil {
            plan.notes.append("no requests_per_minute or tokens_per_minute in [teacher]: times are unknown")
        }

        for spec in c.subsets where spec.kind == .generated {
            plan.rows.append(try instructionRow(spec, settings: generation, plan: plan))
        }
        let kept = try store.keptFirstOccurrenceCounts()
        let answered = try store.responseCounts(model: responses.model)
        for spec in c.subsets {
            let have = kept[spec.name] ?? 0
            // A generated subset ends with at least its target; an original one with its sample.
            let final = spec.kind == .generated ? max(Int64(spec.target), have)
                : (have > 0 ? min(Int64(spec.target), have) : Int64(spec.target))
            let done = answered[spec.name] ?? 0
            let requests = max(0, final - done)
            var basis = "observed"
            var promptBytes: Double, completionTokens: Double
            if let m = try store.meanTeacherTokens(stage: "responses", model: responses.model, subset: spec.name) {
                promptBytes = m.prompt * 4
                completionTokens = m.completion
            } else {
                let stored = try store.meanInstructionBytes(subset: spec.name)
                let instruction = stored
                    ?? (spec.kind == .generated ? Self.priorGeneratedBytes : Self.priorInstructionBytes[spec.name] ?? Self.priorGeneratedBytes)
                let empty = ChatRequest.body(settings: responses, system: LaMiniPrompts.responseSystemMessage, user: "")
                promptBytes = Double(empty.utf8.count) + instruction
                completionTokens = Self.priorResponseBytes / 4
                basis = stored != nil ? "prompts" : "prior"
            }
            plan.rows.append(row(.responses, spec.name, requests: requests, promptTokens: promptBytes / 4,
                                 completionTokens: completionTokens, plan: plan, basis: basis,
                                 detail: "\(done) answered of \(final)"))
            plan.embedTexts += min(Int64(c.diversity.samplePerSubset), final)
        }
        return plan
    }

    func instructionRow(_ spec: SubsetSpec, settings: TeacherSettings, plan: BuildPlan) throws -> PlanRow {
        let store = builder.store
        let pool = SeedPool(rawValue: spec.pool!)!
        let perPrompt = spec.perPrompt ?? pool.instructionsPerPrompt
        let filter = TeacherQueueFilter(stage: "instructions", subset: spec.name, endpoint: settings.storedEndpoint, model: settings.model)
        let kept = try store.judgedKeptCount(subset: spec.name)
        let statuses = try store.teacherRequestCounts(filter)
        let open = (statuses["pending"] ?? 0) + (statuses["in_flight"] ?? 0)
        let answered = (statuses["done"] ?? 0) + (statuses["failed"] ?? 0)
        let observedYield = answered > 0 && kept > 0 ? Double(kept) / Double(answered * Int64(perPrompt)) : nil
        let yield = observedYield ?? Self.priorYield
        let missing = max(0, Double(Int64(spec.target) - kept))
        let fromOpen = Double(open) * Double(perPrompt) * yield
        let more = missing > 0 ? Int64((max(0, missing - fromOpen) / (Double(perPrompt) * yield)).rounded(.up)) : 0
        let requests = (missing > 0 ? open : 0) + more

        var basis: String
        var promptBytes: Double, completionTokens: Double
        if let m = try store.meanTeacherTokens(stage: "instructions", model: settings.model, subset: spec.name) {
            basis = "observed"
            promptBytes = m.prompt * 4
            completionTokens = m.completion
        } else {
            completionTokens = Double(perPrompt) * (Self.priorGeneratedBytes + Self.tagBytes) / 4
            let queued = try store.queuedPromptCount(filter)
            var options = InstructionGenerationOptions(pool: pool, topicGuided: spec.topics, prompts: queued + 16,
                                                       seed: subsetSeed(builder.config.seed, spec.name))
            options.perPrompt = perPrompt
            if let planned = try? InstructionPlan(store: store, options: options) {
                basis = "prompts"
                let bytes = (queued..<(queued + 16)).map {
                    ChatRequest.body(settings: settings, system: nil, user: planned.prompt($0).text, prefill: settings.assistantPrefill).utf8.count
                }
                promptBytes = Double(bytes.reduce(0, +)) / Double(bytes.count)
            } else {
                basis = "prior"
                let example = String(repeating: "x", count: Int(Self.priorGeneratedBytes))
                let text = LaMiniPrompts.instructionPrompt(examples: [example, example, example], count: perPrompt,
                                                           topics: spec.topics ? ["Design bureaus", "Conidae", "Infantry"] : nil)
                promptBytes = Double(ChatRequest.body(settings: settings, system: nil, user: text, prefill: settings.assistantPrefill).utf8.count)
            }
        }
        let yieldText = observedYield.map { String(format: "yield %.2f", $0) } ?? String(format: "yield %.2f (prior)", Self.priorYield)
        return row(.instructions, spec.name, requests: requests, promptTokens: promptBytes / 4, completionTokens: completionTokens,
                   plan: plan, basis: basis, detail: "\(kept)/\(spec.target) kept, \(open) queued, \(yieldText)")
    }

    func row(_ stage: BuildStage, _ subset: String, requests: Int64, promptTokens: Double, completionTokens: Double,
             plan: BuildPlan, basis: String, detail: String) -> PlanRow {
        let prompt = Double(requests) * promptTokens, completion = Double(requests) * completionTokens
        let cost = plan.price.map { (prompt * $0.promptPerMillion + completion * $0.completionPerMillion) / 1e6 }
        var minutes: Double?
        if plan.isLocal { minutes = nil } else if plan.requestsPerMinute != nil || plan.tokensPerMinute != nil {
            minutes = max(plan.requestsPerMinute.map { Double(requests) / $0 } ?? 0, plan.tokensPerMinute.map { (prompt + completion) / $0 } ?? 0)
        }
        return PlanRow(stage: stage, subset: subset, requests: requests, promptTokens: prompt, completionTokens: completion,
                       costUSD: cost, minutes: minutes, basis: basis, detail: detail)
    }
}

extension Builder {
    /// The plan of what remains, checked as far as a plan needs (no file or endpoint is required).
    public func plan() throws -> BuildPlan {
        try validate(forPlan: true)
        return try BuildPlanner(builder: self).plan()
    }
}
