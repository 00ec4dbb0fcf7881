import Foundation

/// The settings of the store's audit sample.
public struct AuditSampleInfo: Equatable, Sendable {
    public var seed: UInt64
    public var perSubset: Int
    public var pairs: Int

    public init(seed: UInt64, perSubset: Int, pairs: Int) { self.seed = seed; self.perSubset = perSubset; self.pairs = pairs }
}

/// A pair to rate, as exported: the instruction, its input and its response.
public struct AuditPair: Equatable, Sendable {
    public var position: Int
    public var instructionID: Int64
    public var subset: String
    public var instruction: String
    public var input: String
    public var response: String
    /// "seed" for the source's own response, else the teacher model's name.
    public var responseSource: String
}

/// Who gave a rating: a person, or a judge model.
public enum RatingKind: String, Sendable, CaseIterable {
    case human, judge
}

/// One rater's grade of one pair (grade nil: a judge reply that named no grade).
public struct Rating: Equatable, Sendable {
    public var instructionID: Int64
    public var kind: RatingKind
    public var rater: String
    public var grade: String?
    public var note: String
    public var requestID: Int64?

    public init(instructionID: Int64, kind: RatingKind, rater: String, grade: String?, note: String = "", requestID: Int64? = nil) {
        self.instructionID = instructionID; self.kind = kind; self.rater = rater
        self.grade = grade; self.note = note; self.requestID = requestID
    }
}

/// A rating with the pair's place in the sample.
public struct PlacedRating: Equatable, Sendable {
    public var position: Int
    public var subset: String
    public var rating: Rating
}

/// An answered judge request whose reply has not been turned into a rating yet.
public struct JudgeReply: Equatable, Sendable {
    public var requestID: Int64
    public var instructionID: Int64
    public var content: String
    /// The request body (a final assistant message in it starts the answer).
    public var body: String
}

extension Store {
    public func auditSample() throws -> AuditSampleInfo? {
        let s = try db.prepare("SELECT seed, per_subset, (SELECT count(*) FROM audit_pairs) FROM audit_sample")
        guard try s.step() else { return nil }
        return AuditSampleInfo(seed: UInt64(bitPattern: s.int64(0)), perSubset: Int(s.int64(1)), pairs: Int(s.int64(2)))
    }

    /// Replaces the sample by `instructionIDs` (in position order) in one transaction. Ratings of
    /// pairs the new sample leaves out are an error, unless `dropRatings` deletes them; returns
    /// how many were deleted.
    @discardableResult
    public func replaceAuditSample(seed: UInt64, perSubset: Int, instructionIDs: [Int64], dropRatings: Bool) throws -> Int {
        try db.transaction {
            try db.execute("CREATE TEMP TABLE IF NOT EXISTS new_audit_ids (id INTEGER PRIMARY KEY)")
            try db.execute("DELETE FROM new_audit_ids")
            let add = try db.prepare("INSERT INTO new_audit_ids (id) VALUES (?)")
            for id in instructionIDs { try add.run([.int(id)]) }
            let orphaned = try db.scalarInt("SELECT count(*) FROM ratings WHERE instruction_id NOT IN (SELECT id FROM new_audit_ids)") ?? 0
            if orphaned > 0 {
                if !dropRatings {
                    throw StoreError.invalid("\(orphaned) ratings are of pairs the new sample leaves out: export them first "
                                             + "(herd audit export) and draw again with --drop-ratings to delete them")
                }
                try db.execute("DELETE FROM ratings WHERE instruction_id NOT IN (SELECT id FROM new_audit_ids)")
            }
            try db.execute("DELETE FROM audit_pairs")
            let pair = try db.prepare("INSERT INTO audit_pairs (position, instruction_id) VALUES (?, ?)")
            for (position, id) in instructionIDs.enumerated() { try pair.run([.int(Int64(position)), .int(id)]) }
            try db.prepare("INSERT OR REPLACE INTO audit_sample (id, seed, per_subset) VALUES (1, ?, ?)")
                .run([.int(Int64(bitPattern: seed)), .int(Int64(perSubset))])
            try db.execute("DROP TABLE new_audit_ids")
            return Int(orphaned)
        }
    }

    public func auditPairCount() throws -> Int {
        Int(try db.scalarInt("SELECT count(*) FROM audit_pairs") ?? 0)
    }

    /// Pairs in position order, from `position` on, at most `limit`.
    public func auditPairs(from position: Int = 0, limit: Int = Int.max) throws -> [AuditPair] {
        let s = try db.prepare("SELECT position, instruction_id FROM audit_pairs WHERE position >= ? ORDER BY position LIMIT ?")
        try s.bind([.int(Int64(position)), .int(Int64(min(limit, Int(Int64.max))))])
        var places: [(Int, Int64)] = []
        while try s.step() { places.append((Int(s.int64(0)), s.int64(1))) }
        // One row at a time: sampled ids lie far apart, and a batch reads every response between them.
        return try db.readTransaction {
            try places.compactMap { position, id in
                try exportRows(ids: [id]).first.map {
                    AuditPair(position: position, instructionID: id, subset: $0.subset, instruction: $0.instruction,
                              input: $0.input, response: $0.output ?? "", responseSource: $0.responseSource)
                }
            }
        }
    }

    public func auditPair(position: Int) throws -> AuditPair? {
        try auditPairs(from: position, limit: 1).first { $0.position == position }
    }

    /// The sampled instruction ids with their positions and subsets.
    public func auditPlaces() throws -> [(position: Int, instructionID: Int64, subset: String)] {
        let s = try db.prepare("""
            SELECT a.position, a.instruction_id, i.subset FROM audit_pairs a JOIN instructions i ON i.id = a.instruction_id
            ORDER BY a.position
            """)
        var out: [(Int, Int64, String)] = []
        while try s.step() { out.append((Int(s.int64(0)), s.int64(1), s.text(2) ?? "")) }
        return out
    }

    /// Records (or replaces) one rater's rating of a sampled pair.
    public func setRating(_ r: Rating) throws {
        guard try db.scalarInt("SELECT 1 FROM audit_pairs WHERE instruction_id = ?", [.int(r.instructionID)]) != nil else {
            throw StoreError.invalid("instruction \(r.instructionID) is not in the audit sample")
        }
        if let g = r.grade, !["A", "B", "C", "D"].contains(g) { throw StoreError.invalid("grade \(g): expected A, B, C or D") }
        try db.prepare("""
            INSERT OR REPLACE INTO ratings (instruction_id, kind, rater, grade, note, request_id) VALUES (?, ?, ?, ?, ?, ?)
            """).run([.int(r.instructionID), .text(r.kind.rawValue), .text(r.rater), r.grade.map { .text($0) } ?? .null,
                      .text(r.note), r.requestID.map { .int($0) } ?? .null])
    }

    /// Deletes one rater's rating of a pair; returns whether there was one.
    @discardableResult
    public func deleteRating(instructionID: Int64, kind: RatingKind, rater: String) throws -> Bool {
        try db.prepare("DELETE FROM ratings WHERE instruction_id = ? AND kind = ? AND rater = ?")
            .run([.int(instructionID), .text(kind.rawValue), .text(rater)])
        return db.changes > 0
    }

    /// Ratings of sampled pairs in position order (then kind, rater), optionally of one kind or rater.
    public func ratings(kind: RatingKind? = nil, rater: String? = nil) throws -> [PlacedRating] {
        let s = try db.prepare("""
            SELECT a.position, i.subset, r.instruction_id, r.kind, r.rater, r.grade, r.note, r.request_id
            FROM ratings r JOIN audit_pairs a ON a.instruction_id = r.instruction_id JOIN instructions i ON i.id = r.instruction_id
            WHERE (?1 IS NULL OR r.kind = ?1) AND (?2 IS NULL OR r.rater = ?2)
            ORDER BY a.position, r.kind, r.rater
            """)
        try s.bind([kind.map { .text($0.rawValue) } ?? .null, rater.map { .text($0) } ?? .null])
        var out: [PlacedRating] = []
        while try s.step() {
            let rating = Rating(instructionID: s.int64(2), kind: RatingKind(rawValue: s.text(3) ?? "") ?? .human, rater: s.text(4) ?? "",
                                grade: s.text(5), note: s.text(6) ?? "", requestID: s.isNull(7) ? nil : s.int64(7))
            out.append(PlacedRating(position: Int(s.int64(0)), subset: s.text(1) ?? "", rating: rating))
        }
        return out
    }

    /// The newest answered judge request of `model` per sampled pair that has no rating from it yet.
    public func judgeRepliesToRate(model: String) throws -> [JudgeReply] {
        let s = try db.prepare("""
            SELECT t.id, t.instruction_id, t.content, t.body FROM teacher_requests t JOIN audit_pairs a ON a.instruction_id = t.instruction_id
            WHERE t.stage = 'judge' AND t.model = ?1 AND t.status = 'done'
              AND t.id = (SELECT max(u.id) FROM teacher_requests u
                          WHERE u.stage = 'judge' AND u.model = ?1 AND u.status = 'done' AND u.instruction_id = t.instruction_id)
              AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.instruction_id = t.instruction_id AND r.kind = 'judge'
                              AND r.rater = ?1 AND r.request_id = t.id)
            ORDER BY a.position
            """)
        try s.bind([.text(model)])
        var out: [JudgeReply] = []
        while try s.step() {
            out.append(JudgeReply(requestID: s.int64(0), instructionID: s.int64(1), content: s.text(2) ?? "", body: s.text(3) ?? ""))
        }
        return out
    }
}
