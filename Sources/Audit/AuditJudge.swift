import Generate
import Store

/// What turning judge replies into ratings did.
public struct JudgeTakeReport: Equatable, Sendable {
    public var graded = 0
    /// Replies that named no grade as the rubric asks: recorded with no grade, never guessed.
    public var unparsable = 0
}

/// Judge ratings: one chat request per sampled pair, with the rubric as the system message,
/// through the teacher queue (stage "judge": the same keys, durability, retries and cost
/// accounting as generation), and a strict reading of each reply.
public enum AuditJudge {
    /// Queues a request for every sampled pair; returns how many were new and the keys not yet answered.
    public static func enqueue(store: Store, settings: TeacherSettings) throws -> (added: Int, open: [String]) {
        let pairs = try store.auditPairs()
        if pairs.isEmpty { throw AuditError("the store has no audit sample; draw one with herd audit sample --per-subset N") }
        let requests = pairs.map { p -> NewTeacherRequest in
            let body = ChatRequest.body(settings: settings, system: JudgeRubric.systemMessage,
                                        user: JudgeRubric.userMessage(instruction: p.instruction, input: p.input, response: p.response),
                                        prefill: settings.assistantPrefill)
            return NewTeacherRequest(key: ChatRequest.key(endpoint: settings.endpoint, body: body), stage: "judge", subset: p.subset,
                                     promptNumber: nil, instructionID: p.instructionID, endpoint: settings.storedEndpoint,
                                     model: settings.model, body: body)
        }
        let added = try store.enqueueTeacherRequests(requests)
        let open = try requests.filter { try store.teacherRequestStatus(key: $0.key) != "done" }.map(\.key)
        return (added, open)
    }

    /// Records the newest answered judge request of `model` for each sampled pair as that model's
    /// rating, in one transaction; replies already recorded are skipped, so this can run any time.
    public static func takeReplies(store: Store, model: String) throws -> JudgeTakeReport {
        var report = JudgeTakeReport()
        try store.db.transaction {
            for reply in try store.judgeRepliesToRate(model: model) {
                // A teacher that was given the start of its answer ("Grade:") answered the rest.
                let parsed = JudgeRubric.parse(ChatRequest.assistantPrefill(body: reply.body) + reply.content)
                try store.setRating(Rating(instructionID: reply.instructionID, kind: .judge, rater: model,
                                           grade: parsed.grade?.rawValue, note: parsed.grade == nil ? reply.content : parsed.reason,
                                           requestID: reply.requestID))
                if parsed.grade == nil { report.unparsable += 1 } else { report.graded += 1 }
            }
        }
        return report
    }
}
