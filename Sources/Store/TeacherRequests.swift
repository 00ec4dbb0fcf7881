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
    private static let requestColumns = "id, key, stage, subset, prompt_number, body, status, content, finish_reason, error"

    private static func readRequest(_ s: Statement) -> TeacherRequestInfo {
        TeacherRequestInfo(id: s.int64(0), key: s.text(1) ?? "", stage: s.text(2) ?? "", subset: s.text(3) ?? "",
                           promptNumber: s.isNull(4) ? nil : s.int64(4), body: s.text(5) ?? "", status: s.text(6) ?? "",
                           content: s.text(7), finishReason: s.text(8), error: s.text(9))
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
    public func completeTeacherRequest(key: String, reply: TeacherReply) throws {
        let s = try db.prepare("""
            UPDATE teacher_requests SET status = 'done', attempts = attempts + 1, reply = ?, content = ?, finish_reason = ?,
                   prompt_tokens = ?, completion_tokens = ?, error = NULL WHERE key = ?
            """)
        try s.run([.text(reply.raw), .text(reply.content), reply.finishReason.map { .text($0) } ?? .null,
                   reply.promptTokens.map { .int($0) } ?? .null, reply.completionTokens.map { .int($0) } ?? .null, .text(key)])
    }

    /// Records a failure (status failed, the server's message kept) inside the caller's transaction.
    public func failTeacherRequest(key: String, error: String, raw: String?) throws {
        let s = try db.prepare("UPDATE teacher_requests SET status = 'failed', attempts = attempts + 1, reply = ?, error = ? WHERE key = ?")
        try s.run([raw.map { .text($0) } ?? .null, .text(error), .text(key)])
    }

    /// Number of requests per status.
    public func teacherRequestCounts() throws -> [String: Int64] {
        let s = try db.prepare("SELECT status, count(*) FROM teacher_requests GROUP BY status")
        var out: [String: Int64] = ["pending": 0, "in_flight": 0, "done": 0, "failed": 0]
        while try s.step() { out[s.text(0) ?? ""] = s.int64(1) }
        return out
    }
}
