import Foundation

/// What `herd build` asks of the store: its stage markers, the counts its fingerprints and plans
/// are made of, and the sampling of original subsets down to their targets.
extension Store {
    /// The fingerprint `stage` was finished with, nil when it never finished.
    public func buildStageFingerprint(_ stage: String) throws -> String? {
        try db.scalarText("SELECT fingerprint FROM build_stages WHERE stage = ?", [.text(stage)])
    }

    public func recordBuildStage(_ stage: String, fingerprint: String) throws {
        try db.prepare("INSERT OR REPLACE INTO build_stages (stage, fingerprint) VALUES (?, ?)")
            .run([.text(stage), .text(fingerprint)])
    }

    /// Named counts a build stage's fingerprint is made of: each names what one stage (or the
    /// people between two builds) writes, so a change shows in the stages that read it.
    public func buildStateCounts() throws -> [String: Int64] {
        let queries: [(String, String)] = [
            ("sources", "SELECT count(*) FROM sources WHERE format <> 'teacher'"),
            ("ingested_instructions", "SELECT count(*) FROM instructions WHERE source_id IN (SELECT id FROM sources WHERE format <> 'teacher')"),
            ("ingested_max_id", "SELECT coalesce(max(id), 0) FROM instructions WHERE source_id IN (SELECT id FROM sources WHERE format <> 'teacher')"),
            ("topic_minings", "SELECT coalesce(max(id), 0) FROM topic_minings"),
            ("instruction_requests", "SELECT count(*) FROM teacher_requests WHERE stage = 'instructions' AND status = 'done'"),
            ("instructions", "SELECT count(*) FROM instructions"),
            ("max_instruction_id", "SELECT coalesce(max(id), 0) FROM instructions"),
            ("novelty", "SELECT count(*) FROM novelty"),
            ("novelty_kept", "SELECT count(*) FROM novelty WHERE kept = 1"),
            ("response_requests", "SELECT count(*) FROM teacher_requests WHERE stage = 'responses' AND status = 'done'"),
            ("responses", "SELECT count(*) FROM responses"),
            ("embeddings", "SELECT count(*) FROM embeddings"),
            ("projections", "SELECT coalesce(max(id), 0) FROM projections"),
            ("audit_pairs", "SELECT count(*) FROM audit_pairs"),
            ("ratings", "SELECT count(*) FROM ratings"),
            ("training_points", "SELECT count(*) FROM training_points"),
        ]
        var out: [String: Int64] = [:]
        try db.readTransaction {
            for (name, sql) in queries { out[name] = try db.scalarInt(sql) ?? 0 }
        }
        return out
    }

    /// Deletes, in one transaction, every row of `subset` whose first occurrence is not in `keep`
    /// (a sample drawn down to a target). Refuses when a later stage already used one of them
    /// (a verdict, a request, a vector, an audit pair): lowering a target then needs a new store.
    /// Returns how many rows went.
    @discardableResult
    public func keepOnly(subset: String, firstOccurrences keep: Set<Int64>) throws -> Int {
        try db.transaction {
            let s = try db.prepare("SELECT id, coalesce(duplicate_of, id) FROM instructions WHERE subset = ? ORDER BY id")
            try s.bind([.text(subset)])
            var doomed: [Int64] = []
            while try s.step() { if !keep.contains(s.int64(1)) { doomed.append(s.int64(0)) } }
            guard !doomed.isEmpty else { return 0 }
            try db.execute("CREATE TEMP TABLE IF NOT EXISTS doomed_instructions (id INTEGER PRIMARY KEY)")
            try db.execute("DELETE FROM doomed_instructions")
            let insert = try db.prepare("INSERT INTO doomed_instructions (id) VALUES (?)")
            for id in doomed { try insert.run([.int(id)]) }
            let used = try db.scalarInt("""
                SELECT (SELECT count(*) FROM novelty WHERE instruction_id IN doomed_instructions)
                     + (SELECT count(*) FROM teacher_requests WHERE instruction_id IN doomed_instructions)
                     + (SELECT count(*) FROM embeddings WHERE instruction_id IN doomed_instructions)
                     + (SELECT count(*) FROM audit_pairs WHERE instruction_id IN doomed_instructions)
                     + (SELECT count(*) FROM instructions WHERE duplicate_of IN doomed_instructions
                                                          AND id NOT IN doomed_instructions)
                """) ?? 0
            if used > 0 {
                throw StoreError.invalid("\(subset): \(doomed.count) rows lie beyond its sample of \(keep.count), and later stages "
                                 + "already used some of them; a smaller target needs a new store")
            }
            try db.execute("DELETE FROM instructions WHERE id IN doomed_instructions")
            try db.execute("DELETE FROM doomed_instructions")
            return doomed.count
        }
    }

    /// Per subset: first occurrences that the novelty filter kept (or has not judged yet).
    public func keptFirstOccurrenceCounts() throws -> [String: Int64] {
        let s = try db.prepare("""
            SELECT i.subset, count(*) FROM instructions i LEFT JOIN novelty n ON n.instruction_id = i.id
            WHERE i.duplicate_of IS NULL AND (n.kept IS NULL OR n.kept = 1) GROUP BY i.subset
            """)
        var out: [String: Int64] = [:]
        try db.readTransaction { while try s.step() { out[s.text(0) ?? ""] = s.int64(1) } }
        return out
    }

    /// First occurrences of `subset` that the novelty filter judged and kept.
    public func judgedKeptCount(subset: String) throws -> Int64 {
        try db.scalarInt("""
            SELECT count(*) FROM instructions i JOIN novelty n ON n.instruction_id = i.id
            WHERE i.subset = ? AND i.duplicate_of IS NULL AND n.kept = 1
            """, [.text(subset)]) ?? 0
    }

    /// Per subset: instructions with a response by `model`.
    public func responseCounts(model: String) throws -> [String: Int64] {
        let s = try db.prepare("""
            SELECT i.subset, count(*) FROM responses r JOIN instructions i ON i.id = r.instruction_id
            WHERE r.model = ? GROUP BY i.subset
            """)
        try s.bind([.text(model)])
        var out: [String: Int64] = [:]
        try db.readTransaction { while try s.step() { out[s.text(0) ?? ""] = s.int64(1) } }
        return out
    }

    /// Mean bytes of instruction plus input (with its colon) of a subset's first occurrences; nil when it has none.
    public func meanInstructionBytes(subset: String) throws -> Double? {
        let s = try db.prepare("""
            SELECT avg(length(CAST(instruction AS BLOB)) + CASE WHEN input = '' THEN 0 ELSE 1 + length(CAST(input AS BLOB)) END)
            FROM instructions WHERE subset = ? AND duplicate_of IS NULL
            """)
        try s.bind([.text(subset)])
        guard try s.step(), !s.isNull(0) else { return nil }
        return s.double(0)
    }

    /// How many generation prompts of one plan are queued: the highest prompt number plus one.
    public func queuedPromptCount(_ f: TeacherQueueFilter) throws -> Int {
        Int(try db.scalarInt("""
            SELECT coalesce(max(prompt_number) + 1, 0) FROM teacher_requests
            WHERE stage = ? AND endpoint = ? AND model = ? AND subset = ?
            """, [.text(f.stage), .text(f.endpoint), .text(f.model), .text(f.subset ?? "")]) ?? 0)
    }

    /// Mean prompt and completion tokens of the answered requests of one stage and model (nil: none answered).
    public func meanTeacherTokens(stage: String, model: String, subset: String? = nil) throws -> (prompt: Double, completion: Double)? {
        let s = try db.prepare("""
            SELECT count(*), avg(prompt_tokens), avg(completion_tokens) FROM teacher_requests
            WHERE status = 'done' AND stage = ? AND model = ? AND (?3 IS NULL OR subset = ?3)
              AND prompt_tokens IS NOT NULL AND completion_tokens IS NOT NULL
            """)
        try s.bind([.text(stage), .text(model), subset.map { .text($0) } ?? .null])
        guard try s.step(), s.int64(0) > 0 else { return nil }
        return (s.double(1), s.double(2))
    }
}
