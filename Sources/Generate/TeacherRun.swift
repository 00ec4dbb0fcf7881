import Checksums
import FastJSON
import Fetch
import Foundation
import Ingest
import Progress
import Store
import Teacher

/// What a run over the teacher queue is asked to do.
public struct TeacherRunOptions: Sendable {
    /// The queued requests to send: one stage, one endpoint and model, one subset or all.
    public var filter: TeacherQueueFilter
    public var teacher: HTTPTeacherOptions
    public var prices = PriceTable()
    /// Stop sending before the store's whole teacher spend (earlier runs included) could pass this.
    public var budgetUSD: Double?
    /// Send failed requests again too.
    public var retryFailed = false
    public var alpacaFilters = false
    public var showProgress = false
    /// Another teacher than the HTTP client of `teacher` (the built-in model).
    public var makeTeacher: (@Sendable () throws -> ChatCompletionTeacher)?

    public init(filter: TeacherQueueFilter, teacher: HTTPTeacherOptions) {
        self.filter = filter; self.teacher = teacher
    }
}

/// What a run did.
public struct TeacherRunReport: Sendable {
    /// Requests found in flight (a run that died) and put back to pending.
    public var resumedInFlight = 0
    /// Failed requests sent again under --retry-failed.
    public var retriedFailed = 0
    public var answered = 0
    public var failed = 0
    /// HTTP attempts, and of those the retries.
    public var attempts = 0
    public var retries = 0
    /// Cost of this run's answers, and of every answer in the store.
    public var spentUSD = 0.0
    public var totalSpentUSD = 0.0
    /// Sending stopped because the next request could have passed the budget.
    public var stoppedByBudget = false
    /// Requests of the filter still pending afterwards.
    public var remaining: Int64 = 0
    /// Response replies stored as responses.
    public var responses = 0
    public var generation = GenerationCounts()
}

/// Sends the queued requests of one stage to an HTTP teacher and records every outcome in the
/// store: a reply and its status change commit together, so a run killed at any moment loses no
/// answer and the next run sends again only what was in flight.
public enum TeacherQueueRunner {
    public static func run(store: Store, options: TeacherRunOptions) throws -> TeacherRunReport {
        var report = TeacherRunReport()
        let f = options.filter
        let reopened = try store.reopenTeacherRequests(f, failedToo: options.retryFailed)
        report.resumedInFlight = reopened.inFlight
        report.retriedFailed = reopened.failed
        if options.budgetUSD != nil, options.prices.prices[f.model] == nil {
            throw GenerateError("--budget needs a price for model \(f.model): add [prices.\"\(f.model)\"] to herd.toml")
        }

        let source = QueueSource(store: store, options: options)
        source.spent = try store.teacherSpendUSD()
        let total = try store.openTeacherRequestCount(f)
        let progress = ProgressMeter(label: "teacher \(f.stage)", unit: "requests", total: Double(total),
                                     enabled: options.showProgress && isatty(STDERR_FILENO) == 1)
        var taker = f.stage == "instructions" ? try ReplyTaker(store: store, filter: f, alpacaFilters: options.alpacaFilters) : nil
        var lastTake = monotonicSeconds()
        let teacher: ChatCompletionTeacher = try options.makeTeacher?() ?? HTTPTeacher(options: options.teacher)

        store.useSmallCache()
        defer {
            // Whatever was handed out but not answered goes back to pending (a budget stop, an error).
            _ = try? store.reopenTeacherRequests(f, failedToo: false)
            store.restoreCacheSize()
            progress.finish()
        }
        try teacher.run(source: source) { outcomes in
            try store.db.transaction {
                for (job, outcome) in outcomes {
                    switch outcome {
                    case let .answered(reply, attempts):
                        let cost = options.prices.cost(model: f.model, promptTokens: reply.promptTokens,
                                                       completionTokens: reply.completionTokens)
                        try store.completeTeacherRequest(
                            id: job.id,
                            reply: TeacherReply(raw: reply.raw, content: reply.content, finishReason: reply.finishReason,
                                                promptTokens: reply.promptTokens, completionTokens: reply.completionTokens),
                            attempts: attempts, costUSD: cost)
                        if f.stage == "responses", let instruction = source.instructionIDs[job.id] {
                            try store.addResponse(instructionID: instruction, model: f.model, requestID: job.id,
                                                  response: reply.content, finishReason: reply.finishReason)
                            report.responses += 1
                        }
                        report.answered += 1
                        report.spentUSD += cost ?? 0
                        source.settle(job, cost: cost ?? 0)
                    case let .failed(message, raw, attempts):
                        try store.failTeacherRequest(id: job.id, error: message, raw: raw, attempts: attempts)
                        report.failed += 1
                        source.settle(job, cost: 0)
                    }
                }
            }
            let done = Double(report.answered + report.failed)
            progress.update(done, note: String(format: "$%.4f", source.spent))
            // Take generation replies now and then (in request order), and at the end.
            if taker != nil, monotonicSeconds() - lastTake > 1 {
                try taker!.takeReady()
                lastTake = monotonicSeconds()
            }
        }
        try taker?.takeReady()
        if let taker { report.generation = taker.intake.counts }
        report.attempts = teacher.runStats.attempts
        report.retries = teacher.runStats.retries
        report.remaining = try store.openTeacherRequestCount(f) // pending and in flight alike
        report.stoppedByBudget = source.stoppedByBudget && report.remaining > 0
        report.totalSpentUSD = try store.teacherSpendUSD()
        return report
    }
}

extension TeacherQueueRunner {
    /// Takes answered generation replies that are still untaken (a run killed between an answer
    /// and its intake) without starting a teacher; returns the counts.
    @discardableResult
    public static func takeReplies(store: Store, filter: TeacherQueueFilter, alpacaFilters: Bool = false) throws -> GenerationCounts {
        var taker = try ReplyTaker(store: store, filter: filter, alpacaFilters: alpacaFilters)
        try taker.takeReady()
        return taker.intake.counts
    }
}

/// Hands queued requests to the teacher in queue order, a chunk at a time (marked in flight),
/// holding back when the next one could pass the budget.
private final class QueueSource: TeacherJobSource {
    let store: Store
    let options: TeacherRunOptions
    var buffer: [PendingTeacherRequest] = []
    var next = 0
    var cursor: Int64 = 0
    var exhausted = false
    /// Spend in the store plus the worst case of what is in flight.
    var spent = 0.0
    var reserved: [Int64: Double] = [:]
    var reservedTotal = 0.0
    var stoppedByBudget = false
    /// Response requests: the instruction each answers.
    var instructionIDs: [Int64: Int64] = [:]

    init(store: Store, options: TeacherRunOptions) {
        self.store = store
        self.options = options
    }

    func nextJob() throws -> TeacherJob? {
        if next == buffer.count {
            if exhausted { return nil }
            buffer = try store.takePendingTeacherRequests(options.filter, afterID: cursor, limit: 256)
            next = 0
            guard let last = buffer.last else { exhausted = true; return nil }
            cursor = last.id
        }
        let id = buffer[next].id
        let body = Array(buffer[next].body.utf8)
        // Prompt tokens estimated at 4 bytes each; the completion may use all of max_tokens.
        let maxTokens = Int((try? JSONParser.parse(body))?["max_tokens"]?.int64Value ?? 0)
        let tokens = body.count / 4 + maxTokens
        if let budget = options.budgetUSD {
            let worst = options.prices.cost(model: options.filter.model, promptTokens: Int64(body.count / 4),
                                             completionTokens: Int64(maxTokens)) ?? 0
            if spent + reservedTotal + worst > budget {
                stoppedByBudget = true
                return nil
            }
            reserved[id] = worst
            reservedTotal += worst
        }
        if let instruction = buffer[next].instructionID { instructionIDs[id] = instruction }
        next += 1
        return TeacherJob(id: id, body: body, tokens: tokens)
    }

    /// A job ended: its reservation becomes its actual cost.
    func settle(_ job: TeacherJob, cost: Double) {
        spent += cost
        if let r = reserved.removeValue(forKey: job.id) { reservedTotal -= r }
        instructionIDs[job.id] = nil
    }
}

/// Takes answered generation requests into the store as instructions, in request order.
struct ReplyTaker {
    let store: Store
    let filter: TeacherQueueFilter
    var intake: GenerationIntake
    let sourceID: Int64

    init(store: Store, filter: TeacherQueueFilter, alpacaFilters: Bool) throws {
        self.store = store
        self.filter = filter
        intake = GenerationIntake(duplicates: try ExactDuplicateIndex(store: store), alpacaFilters: alpacaFilters)
        // One source per teacher: its instructions carry the request key in their meta.
        let uri = "teacher:\(filter.endpoint) \(filter.model)" // already redacted
        sourceID = try store.db.transaction {
            try store.teacherSource(uri: uri, sha256: SHA256.hex("teacher\n\(filter.endpoint)\n\(filter.model)"))
        }
    }

    mutating func takeReady() throws {
        let ready = try store.generationRepliesToTake(filter)
        if ready.isEmpty { return }
        let before = intake
        do {
            try store.db.transaction {
                let writer = try TeacherInstructionWriter(store: store, sourceID: sourceID)
                let filteredBefore = intake.counts.filteredTotal
                for r in ready {
                    let answer = ChatRequest.assistantPrefill(body: r.body) + (r.content ?? "")
                    let taken = try intake.take(content: answer, finishReason: r.finishReason, requestKey: r.key) {
                        text, meta, hash, first in
                        try writer.add(subset: r.subset, instruction: text, meta: meta, normHash: hash, duplicateOf: first)
                    }
                    try store.markRepliesTaken(id: r.id, results: taken)
                }
                try writer.finish(filtered: Int64(intake.counts.filteredTotal - filteredBefore))
            }
        } catch {
            intake = before
            try intake.duplicates.reload()
            throw error
        }
    }
}
