import Fetch
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

    /// The subset the generated instructions join.
    public var subset: String { pool.generatedSubset(topicGuided: topicGuided) }
}

public struct GenerateError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The instruction-generation prompts of a run, from the store's seed pool and topics. Any prompt
/// can be made on its own (`prompt(k)`), so a large plan never has to be held in memory.
public struct InstructionPlan: Sendable {
    public let options: InstructionGenerationOptions
    let examples: [String]
    let topics: [String]?
    let count: Int

    public init(store: Store, options: InstructionGenerationOptions) throws {
        self.options = options
        examples = try store.exampleTexts(subset: options.pool.exampleSubset)
            .map { LaMiniPrompts.exampleText(instruction: $0.instruction, input: $0.input) }
        guard examples.count >= 3 else {
            throw GenerateError("the \(options.pool.rawValue) pool (subset \(options.pool.exampleSubset)) has \(examples.count) "
                                + "instructions; prompts need at least 3 (ingest seeds first)")
        }
        if options.topicGuided {
            guard options.pool == .selfInstruct else {
                throw GenerateError("topic-guided prompts use the Self-Instruct seeds only (--pool self_instruct), as LaMini-LM did")
            }
            let titles = try store.topicTitles()
            guard titles.count >= 3 else {
                throw GenerateError("topic-guided prompts need at least 3 topics, the store has \(titles.count): run `herd topics mine` first")
            }
            topics = titles
        } else {
            topics = nil
        }
        count = options.perPrompt ?? options.pool.instructionsPerPrompt
    }

    public func prompt(_ k: Int) -> PlannedPrompt {
        PromptPlanner.prompt(k, seed: options.seed, examples: examples, count: count, topics: topics)
    }
}

/// Queues teacher requests for planned work.
public enum TeacherRequestQueue {
    /// How many requests are built and queued per transaction.
    static let chunk = 4096

    /// Queues one request per prompt of the plan (keys already queued are left as they are);
    /// returns how many were new and the keys still unanswered (pending or failed), in prompt order.
    public static func enqueueInstructions(_ plan: InstructionPlan, settings: TeacherSettings,
                                           store: Store) throws -> (added: Int, open: [String]) {
        var added = 0
        var open: [String] = []
        var seen = Set<String>()
        var start = 0
        while start < plan.options.prompts {
            let end = min(plan.options.prompts, start + chunk)
            let requests = (start..<end).map { k -> NewTeacherRequest in
                let body = ChatRequest.body(settings: settings, system: nil, user: plan.prompt(k).text, prefill: settings.assistantPrefill)
                return NewTeacherRequest(key: ChatRequest.key(endpoint: settings.endpoint, body: body), stage: "instructions",
                                         subset: plan.options.subset, promptNumber: Int64(k), instructionID: nil,
                                         endpoint: settings.storedEndpoint, model: settings.model, body: body)
            }
            added += try store.enqueueTeacherRequests(requests)
            // Two prompts may draw the same examples: one request, listed once.
            for r in requests where try seen.insert(r.key).inserted && store.teacherRequestStatus(key: r.key) != "done" {
                open.append(r.key)
            }
            start = end
        }
        return (added, open)
    }

    /// Queues one response request per instruction that needs one (corpus subsets, first
    /// occurrences, kept by the novelty filter when it ran), with LaMini-LM's system message;
    /// returns how many were new and the keys still unanswered, in corpus order.
    public static func enqueueResponses(subset: String?, settings: TeacherSettings,
                                        store: Store) throws -> (added: Int, open: [String]) {
        var added = 0
        var open: [String] = []
        var after: Int64 = 0
        while true {
            let candidates = try store.responseCandidates(subset: subset, afterID: after, limit: chunk)
            guard let last = candidates.last else { break }
            after = last.id
            let requests = candidates.map { c -> NewTeacherRequest in
                let user = LaMiniPrompts.exampleText(instruction: c.instruction, input: c.input)
                let body = ChatRequest.body(settings: settings, system: LaMiniPrompts.responseSystemMessage, user: user)
                return NewTeacherRequest(key: ChatRequest.key(endpoint: settings.endpoint, body: body), stage: "responses",
                                         subset: c.subset, promptNumber: nil, instructionID: c.id,
                                         endpoint: settings.storedEndpoint, model: settings.model, body: body)
            }
            added += try store.enqueueTeacherRequests(requests)
            for r in requests where try store.teacherRequestStatus(key: r.key) != "done" { open.append(r.key) }
        }
        return (added, open)
    }
}
