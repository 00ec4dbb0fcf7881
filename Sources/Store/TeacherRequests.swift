import CSQLite
import Foundation

/// A request about to be queued.
public struct NewTeacherRequest: Sendable {
    public var key: String
    public var stage: String
    public var subset: String
    public var promptNumber: Int64?
    public var instructionID: Int64?
    public var endpoint: String
    public var model: String
    public var body: String

    public init(key: String, stage: String, subset: String, promptNumber: Int64?, instructionID: Int64?,
                endpoint: String, model: String, body: String) {
        self.key = key; self.stage = stage; self.subset = subset; self.promptNumber = promptNumber
        self.instructionID = instructionID; self.endpoint = endpoint; self.model = model; self.body = body
    }
}

/// A queued request as stored.
public struct TeacherRequestInfo: Equatable, Sendable {
    public var id: Int64
    public var key: String
    public var stage: String
    public var subset: String
    public var promptNumber: Int64?
    public var instructionID: Int64?
    public var model: String
    public var body: String
    public var status: String
    public var content: String?
    public var finishReason: String?
    public var error: String?
}

/// A teacher's answer to one request.
public struct TeacherReply: Sendable {
    public var raw: String
    public var content: String
    public var finishReason: String?
    public var promptTokens: Int64?
    public var completionTokens: Int64?

    public init(raw: String, content: String, finishReason: String?, promptTokens: Int64?, completionTokens: Int64?) {
        self.raw = raw; self.content = content; self.finishReason = finishReason
        self.promptTokens = promptTokens; self.completionTokens = completionTokens
    }
}

extension Store {
    private static let requestColumns =
        "id, key, stage, subset, prompt_number, instruction_id, model, body, status, content, finish_reason, error"

    private static func readRequest(_ s: Statement) -> TeacherRequestInfo {
        TeacherRequestInfo(id: s.int64(0), key: s.text(1) ?? "", stage: s.text(2) ?? "", subset: s.text(3) ?? "",
                           promptNumber: s.isNull(4) ? nil : s.int64(4), instructionID: s.isNull(5) ? nil : s.int64(5),
                           model: s.text(6) ?? "", body: s.text(7) ?? "", status: s.text(8) ?? "",
                           content: s.text(9), finishReason: s.text(10), error: s.text(11))
    }

    /// Queues requests whose keys are new, in one transaction; returns how many were new.
    @discardableResult
    public func enqueueTeacherRequests(_ requests: [NewTeacherRequest]) throws -> Int {
        try db.transaction {
            let s = try db.prepare("""
                INSERT OR IGNORE INTO teacher_requests (key, stage, subset, prompt_number, instruction_id, endpoint, model, body, status)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')
                """)
            var added = 0
            for r in requests {
                try s.run([.text(r.key), .text(r.stage), .text(r.subset), r.promptNumber.map { .int($0) } ?? .null,
                           r.instructionID.map { .int($0) } ?? .null, .text(r.endpoint), .text(r.model), .text(r.body)])
                added += Int(sqlite3_changes(db.handle))
            }
            return added
        }
    }

    /// Requests in one status (pending, in_flight, done, failed), in queue order.
    public func teacherRequests(status: String) throws -> [TeacherRequestInfo] {
        let s = try db.prepare("SELECT \(Self.requestColumns) FROM teacher_requests WHERE status = ? ORDER BY id")
        try s.bind([.text(status)])
        var out: [TeacherRequestInfo] = []
        while try s.step() { out.append(Self.readRequest(s)) }
        return out
    }

    public func teacherRequest(key: String) throws -> TeacherRequestInfo? {
        let s = try db.prepare("SELECT \(Self.requestColumns) FROM teacher_requests WHERE key = ?")
        try s.bind([.text(key)])
        return try s.step() ? Self.readRequest(s) : nil
    }

    /// Notes the batch file that pending requests were written to.
    public func markTeacherRequestsExported(keys: [String], batchFile: String) throws {
        try db.transaction {
            let s = try db.prepare("UPDATE teacher_requests SET batch_file = ? WHERE key = ?")
            for k in keys { try s.run([.text(batchFile), .text(k)]) }
        }
    }

    /// Records a reply (status done) inside the caller's transaction.
    public func completeTeacherRequest(id: Int64, reply: TeacherReply, attempts: Int, costUSD: Double?) throws {
        let s = try db.prepare("""
            UPDATE teacher_requests SET status = 'done', attempts = attempts + ?, reply = ?, content = ?, finish_reason = ?,
                   prompt_tokens = ?, completion_tokens = ?, cost_usd = ?, error = NULL WHERE id = ?
            """)
        try s.run([.int(Int64(attempts)), .text(reply.raw), .text(reply.content), reply.finishReason.map { .text($0) } ?? .null,
                   reply.promptTokens.map { .int($0) } ?? .null, reply.completionTokens.map { .int($0) } ?? .null,
                   costUSD.map { .double($0) } ?? .null, .int(id)])
    }

    /// Records a failure (status failed, the server's message kept) inside the caller's transaction.
    public func failTeacherRequest(id: Int64, error: String, raw: String?, attempts: Int) throws {
        let s = try db.prepare("UPDATE teacher_requests SET status = 'failed', attempts = attempts + ?, reply = ?, error = ? WHERE id = ?")
        try s.run([.int(Int64(attempts)), raw.map { .text($0) } ?? .null, .text(error), .int(id)])
    }

    /// Number of requests per status (pending, in_flight, done, failed): all of them, or a filter's.
    public func teacherRequestCounts(_ f: TeacherQueueFilter? = nil) throws -> [String: Int64] {
        let s: Statement
        if let f {
            s = try db.prepare("""
                SELECT status, count(*) FROM teacher_requests WHERE stage = ? AND endpoint = ? AND model = ?
                AND (?4 IS NULL OR subset = ?4) GROUP BY status
                """)
            try s.bind([.text(f.stage), .text(f.endpoint), .text(f.model), f.subset.map { .text($0) } ?? .null])
        } else {
            s = try db.prepare("SELECT status, count(*) FROM teacher_requests GROUP BY status")
        }
        var out: [String: Int64] = ["pending": 0, "in_flight": 0, "done": 0, "failed": 0]
        while try s.step() { out[s.text(0) ?? ""] = s.int64(1) }
        return out
    }

    /// A request's status alone (nil when the key is not queued).
    public func teacherRequestStatus(key: String) throws -> String? {
        try db.scalarText("SELECT status FROM teacher_requests WHERE key = ?", [.text(key)])
    }

    /// Puts requests that were in flight when a run died (and failed ones, when asked) back to
    /// pending; returns how many of each.
    public func reopenTeacherRequests(_ f: TeacherQueueFilter, failedToo: Bool) throws -> (inFlight: Int, failed: Int) {
        try db.transaction {
            var counts = (0, 0)
            for (status, n) in [("in_flight", 0), ("failed", 1)] where n == 0 || failedToo {
                let s = try db.prepare("""
                    UPDATE teacher_requests SET status = 'pending', error = NULL
                    WHERE status = ? AND stage = ? AND endpoint = ? AND model = ? AND (?5 IS NULL OR subset = ?5)
                    """)
                try s.run([.text(status), .text(f.stage), .text(f.endpoint), .text(f.model), f.subset.map { .text($0) } ?? .null])
                if n == 0 { counts.0 = db.changes } else { counts.1 = db.changes }
            }
            return counts
        }
    }

    /// The next `limit` pending requests after `afterID`, in queue order, marked in flight in the
    /// same transaction.
    public func takePendingTeacherRequests(_ f: TeacherQueueFilter, afterID: Int64, limit: Int) throws -> [PendingTeacherRequest] {
        try db.transaction {
            let s = try db.prepare("""
                SELECT id, body, instruction_id FROM teacher_requests INDEXED BY teacher_requests_by_status
                WHERE status = 'pending' AND id > ? AND stage = ? AND endpoint = ? AND model = ? AND (?5 IS NULL OR subset = ?5)
                ORDER BY id LIMIT ?
                """)
            try s.bind([.int(afterID), .text(f.stage), .text(f.endpoint), .text(f.model), f.subset.map { .text($0) } ?? .null,
                        .int(Int64(limit))])
            var out: [PendingTeacherRequest] = []
            while try s.step() {
                out.append(PendingTeacherRequest(id: s.int64(0), body: s.text(1) ?? "", instructionID: s.isNull(2) ? nil : s.int64(2)))
            }
            s.reset()
            let mark = try db.prepare("UPDATE teacher_requests SET status = 'in_flight' WHERE id = ?")
            for r in out { try mark.run([.int(r.id)]) }
            return out
        }
    }

    /// Pending and in-flight requests matching the filter.
    public func openTeacherRequestCount(_ f: TeacherQueueFilter) throws -> Int64 {
        try db.scalarInt("""
            SELECT count(*) FROM teacher_requests WHERE (status = 'pending' OR status = 'in_flight')
            AND stage = ? AND endpoint = ? AND model = ? AND (?4 IS NULL OR subset = ?4)
            """, [.text(f.stage), .text(f.endpoint), .text(f.model), f.subset.map { .text($0) } ?? .null]) ?? 0
    }

    /// Everything spent on teachers so far, in US dollars (requests without a price count 0).
    public func teacherSpendUSD() throws -> Double {
        let s = try db.prepare("SELECT total(cost_usd) FROM teacher_requests")
        return try s.step() ? s.double(0) : 0
    }

    /// Requests, tokens and spend per stage, model and status.
    public func teacherLedger() throws -> [TeacherLedgerRow] {
        let s = try db.prepare("""
            SELECT stage, model, status, count(*), total(prompt_tokens), total(completion_tokens), total(cost_usd),
                   count(cost_usd), sum(attempts)
            FROM teacher_requests GROUP BY stage, model, status ORDER BY stage, model, status
            """)
        var out: [TeacherLedgerRow] = []
        while try s.step() {
            out.append(TeacherLedgerRow(stage: s.text(0) ?? "", model: s.text(1) ?? "", status: s.text(2) ?? "",
                                        requests: s.int64(3), promptTokens: Int64(s.double(4)),
                                        completionTokens: Int64(s.double(5)), costUSD: s.double(6),
                                        priced: s.int64(7), attempts: s.int64(8)))
        }
        return out
    }

    /// Answered generation requests whose instructions are not in the store yet, in queue order,
    /// up to the first request of the filter that is still open (pending or in flight): replies
    /// are taken in request order, so the store is the same whatever order they arrived in.
    public func generationRepliesToTake(_ f: TeacherQueueFilter) throws -> [TeacherRequestInfo] {
        let s = try db.prepare("""
            SELECT \(Self.requestColumns) FROM teacher_requests INDEXED BY teacher_requests_to_take
            WHERE stage = ? AND results IS NULL AND (?2 IS NULL OR subset = ?2) AND endpoint = ? AND model = ?
              AND status != 'failed' ORDER BY id
            """)
        try s.bind([.text(f.stage), f.subset.map { .text($0) } ?? .null, .text(f.endpoint), .text(f.model)])
        var out: [TeacherRequestInfo] = []
        while try s.step() {
            let r = Self.readRequest(s)
            if r.status != "done" { break }
            out.append(r)
        }
        return out
    }

    /// Notes how many instructions a generation reply gave (inside the caller's transaction).
    public func markRepliesTaken(id: Int64, results: Int) throws {
        try db.prepare("UPDATE teacher_requests SET results = ? WHERE id = ?").run([.int(Int64(results)), .int(id)])
    }

    /// Stores a teacher's response to an instruction (inside the caller's transaction).
    public func addResponse(instructionID: Int64, model: String, requestID: Int64, response: String, finishReason: String?) throws {
        try db.prepare("""
            INSERT OR REPLACE INTO responses (instruction_id, model, request_id, response, finish_reason) VALUES (?, ?, ?, ?, ?)
            """).run([.int(instructionID), .text(model), .int(requestID), .text(response), finishReason.map { .text($0) } ?? .null])
    }

    /// Number of responses, optionally by one model.
    public func responseCount(model: String? = nil) throws -> Int64 {
        try db.scalarInt("SELECT count(*) FROM responses WHERE ?1 IS NULL OR model = ?1", [model.map { .text($0) } ?? .null]) ?? 0
    }

    /// Instructions that get responses: corpus subsets (not the seed pools), first occurrences
    /// only, and not dropped by the novelty filter; after `afterID`, in corpus order.
    public func responseCandidates(subset: String?, afterID: Int64, limit: Int) throws -> [(id: Int64, subset: String, instruction: String, input: String)] {
        let s = try db.prepare("""
            SELECT i.id, i.subset, i.instruction, i.input FROM instructions i
            JOIN subsets ss ON ss.name = i.subset AND ss.role = 'corpus'
            LEFT JOIN novelty n ON n.instruction_id = i.id
            WHERE i.id > ? AND i.duplicate_of IS NULL AND (n.kept IS NULL OR n.kept = 1) AND (?2 IS NULL OR i.subset = ?2)
            ORDER BY i.id LIMIT ?
            """)
        try s.bind([.int(afterID), subset.map { .text($0) } ?? .null, .int(Int64(limit))])
        var out: [(Int64, String, String, String)] = []
        while try s.step() { out.append((s.int64(0), s.text(1) ?? "", s.text(2) ?? "", s.text(3) ?? "")) }
        return out
    }

    /// The source that instructions generated by one teacher are recorded under (created on first use,
    /// inside the caller's transaction).
    public func teacherSource(uri: String, sha256: String) throws -> Int64 {
        if let existing = try source(sha256: sha256) { return existing.id }
        try db.prepare("INSERT INTO sources (uri, sha256, bytes, format) VALUES (?, ?, 0, 'teacher')")
            .run([.text(uri), .text(sha256)])
        return db.lastInsertRowID
    }
}

/// A pending request handed to a run.
public struct PendingTeacherRequest: Sendable {
    public var id: Int64
    public var body: String
    /// Response requests: the instruction answered.
    public var instructionID: Int64?
}

/// Which queued requests a run works on.
public struct TeacherQueueFilter: Sendable {
    public var stage: String
    /// nil: every subset.
    public var subset: String?
    public var endpoint: String
    public var model: String

    public init(stage: String, subset: String?, endpoint: String, model: String) {
        self.stage = stage; self.subset = subset; self.endpoint = endpoint; self.model = model
    }
}

/// One line of the teacher ledger.
public struct TeacherLedgerRow: Equatable, Sendable {
    public var stage: String
    public var model: String
    public var status: String
    public var requests: Int64
    public var promptTokens: Int64
    public var completionTokens: Int64
    public var costUSD: Double
    /// Requests with a known cost.
    public var priced: Int64
    /// HTTP attempts, retries included.
    public var attempts: Int64
}

/// The ledger per stage and model, every status together: what `herd stats`, `herd generate
/// status` and the report show.
public struct TeacherLedgerTotal: Equatable, Sendable {
    public var stage: String
    public var model: String
    public var requests: Int64 = 0
    /// Requests answered (status done) and failed.
    public var answered: Int64 = 0
    public var failed: Int64 = 0
    public var promptTokens: Int64 = 0
    public var completionTokens: Int64 = 0
    public var costUSD: Double = 0
    /// Requests with a known cost.
    public var priced: Int64 = 0

    /// Sums `rows` per stage and model, in the rows' order.
    public static func totals(_ rows: [TeacherLedgerRow]) -> [TeacherLedgerTotal] {
        var out: [TeacherLedgerTotal] = []
        var index: [String: Int] = [:]
        for r in rows {
            let key = r.stage + "\u{0}" + r.model
            let at = index[key] ?? { index[key] = out.count; out.append(TeacherLedgerTotal(stage: r.stage, model: r.model)); return out.count - 1 }()
            out[at].requests += r.requests
            if r.status == "done" { out[at].answered += r.requests }
            if r.status == "failed" { out[at].failed += r.requests }
            out[at].promptTokens += r.promptTokens
            out[at].completionTokens += r.completionTokens
            out[at].costUSD += r.costUSD
            out[at].priced += r.priced
        }
        return out
    }
}

/// Adds instructions generated by a teacher to its source (inside the caller's transaction),
/// numbering them after the source's earlier records and keeping its counts.
public final class TeacherInstructionWriter {
    private let store: Store
    public let sourceID: Int64
    private let inserter: InstructionInserter
    private var record: Int64
    private var added: Int64 = 0
    private var duplicates: Int64 = 0

    public init(store: Store, sourceID: Int64) throws {
        self.store = store
        self.sourceID = sourceID
        inserter = try InstructionInserter(store: store, sourceID: sourceID)
        record = try store.source(id: sourceID)?.records ?? 0
    }

    /// Adds one instruction (record numbers continue the source's); returns its id.
    public func add(subset: String, instruction: String, meta: String, normHash: Int64, duplicateOf: Int64?) throws -> Int64 {
        record += 1
        added += 1
        if duplicateOf != nil { duplicates += 1 }
        return try inserter.add(NewInstruction(subset: subset, member: nil, line: nil, record: record, byteOffset: 0, task: nil,
                                               instruction: instruction, input: "", output: nil, meta: meta, normHash: normHash),
                                duplicateOf: duplicateOf)
    }

    /// Writes the source's counts (call before the caller commits).
    public func finish(filtered: Int64) throws {
        try store.db.prepare("UPDATE sources SET records = records + ?, duplicates = duplicates + ?, filtered = filtered + ? WHERE id = ?")
            .run([.int(added), .int(duplicates), .int(filtered), .int(sourceID)])
        added = 0; duplicates = 0
    }
}

extension Store {
    /// Streams the request bodies of one stage in request order (for reading what was asked).
    public func forEachTeacherRequestBody(stage: String, _ body: (String) throws -> Void) throws {
        let s = try db.prepare("SELECT body FROM teacher_requests WHERE stage = ? ORDER BY id")
        try s.bind([.text(stage)])
        try db.readTransaction { while try s.step() { try body(s.text(0) ?? "") } }
    }
}
