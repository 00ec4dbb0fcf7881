import Store

/// What `herd generate instructions` is asked to do.
public struct InstructionGenerationOptions: Sendable {
    public var pool: SeedPool
    public var topicGuided: Bool
    public var prompts: Int
    public var seed: UInt64
    /// Instructions asked for per prompt; nil: LaMini's (20 for Self-Instruct, 10 for P3 and FLAN).
    public var perPrompt: Int?

    public init(pool: SeedPool, topicGuided: Bool, prompts: Int, seed: UInt64) {
        self.pool = pool; self.topicGuided = topicGuided; self.prompts = prompts; self.seed = seed
    }
}

public struct GenerateError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Plans the instruction-generation prompts of a run from the store's seed pool and topics.
public enum InstructionPlan {
    public static func prompts(store: Store, options: InstructionGenerationOptions) throws -> [PlannedPrompt] {
        let examples = try store.exampleTexts(subset: options.pool.exampleSubset)
            .map { LaMiniPrompts.exampleText(instruction: $0.instruction, input: $0.input) }
        guard examples.count >= 3 else {
            throw GenerateError("the \(options.pool.rawValue) pool (subset \(options.pool.exampleSubset)) has \(examples.count) "
                                + "instructions; prompts need at least 3 (ingest seeds first)")
        }
        var topics: [String]? = nil
        if options.topicGuided {
            guard options.pool == .selfInstruct else {
                throw GenerateError("topic-guided prompts use the Self-Instruct seeds only (--pool self_instruct), as LaMini-LM did")
            }
            let titles = try store.topicTitles()
            guard titles.count >= 3 else {
                throw GenerateError("topic-guided prompts need at least 3 topics, the store has \(titles.count): run `herd topics mine` first")
            }
            topics = titles
        }
        let count = options.perPrompt ?? options.pool.instructionsPerPrompt
        return (0..<options.prompts).map {
            PromptPlanner.prompt($0, seed: options.seed, examples: examples, count: count, topics: topics)
        }
    }
}

/// Turns planned prompts into queued teacher requests.
public enum InstructionRequests {
    /// Queues one request per prompt (keys already queued are left as they are); returns the
    /// plan's requests that still need an answer (pending or failed), in prompt order.
    public static func enqueue(_ prompts: [PlannedPrompt], subset: String, settings: TeacherSettings,
                               store: Store) throws -> (added: Int, open: [TeacherRequestInfo]) {
        let requests = prompts.map { p -> NewTeacherRequest in
            let body = ChatRequest.body(settings: settings, system: nil, user: p.text)
            return NewTeacherRequest(key: ChatRequest.key(endpoint: settings.endpoint, body: body), stage: "instructions",
                                     subset: subset, promptNumber: Int64(p.number), instructionID: nil,
                                     endpoint: settings.endpoint, model: settings.model, body: body)
        }
        let added = try store.enqueueTeacherRequests(requests)
        var open: [TeacherRequestInfo] = []
        for r in requests {
            if let info = try store.teacherRequest(key: r.key), info.status != "done" { open.append(info) }
        }
        return (added, open)
    }
}
