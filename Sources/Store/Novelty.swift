import CSQLite
import Foundation

/// The settings a set of novelty verdicts was made with.
public struct NoveltySettings: Equatable, Sendable {
    public var threshold: Double
    public var strictBelow: Bool
    public var stem: Bool
    /// `all`: one pool for the whole store; `subset`: each subset filtered against itself.
    public var scope: String
    public var reportFloor: Double

    public init(threshold: Double, strictBelow: Bool, stem: Bool, scope: String, reportFloor: Double) {
        self.threshold = threshold; self.strictBelow = strictBelow; self.stem = stem; self.scope = scope
        self.reportFloor = reportFloor
    }
}

/// One verdict about to be written.
public struct NoveltyVerdictRow: Equatable, Sendable {
    public var instructionID: Int64
    public var visit: Int64
    public var kept: Bool
    public var bestID: Int64?
    public var score: Double

    public init(instructionID: Int64, visit: Int64, kept: Bool, bestID: Int64?, score: Double) {
        self.instructionID = instructionID; self.visit = visit; self.kept = kept; self.bestID = bestID; self.score = score
    }
}

/// Kept and dropped counts of one subset.
public struct NoveltySubsetCount: Equatable, Sendable {
    public var subset: String
    public var kept: Int64
    public var dropped: Int64
}

extension Store {
    public func noveltySettings() throws -> NoveltySettings? {
        let s = try db.prepare("SELECT threshold, strict_below, stem, scope, report_floor FROM novelty_settings WHERE id = 1")
        guard try s.step() else { return nil }
        return NoveltySettings(threshold: s.double(0), strictBelow: s.int64(1) != 0, stem: s.int64(2) != 0,
                               scope: s.text(3) ?? "all", reportFloor: s.double(4))
    }

    /// Forgets every verdict and records new settings, in one transaction.
    public func resetNovelty(settings: NoveltySettings) throws {
        try db.transaction {
            try db.execute("DELETE FROM novelty")
            try db.execute("DELETE FROM novelty_settings")
            let s = try db.prepare("""
                INSERT INTO novelty_settings (id, threshold, strict_below, stem, scope, report_floor) VALUES (1, ?, ?, ?, ?, ?)
                """)
            try s.run([.double(settings.threshold), .int(settings.strictBelow ? 1 : 0), .int(settings.stem ? 1 : 0),
                       .text(settings.scope), .double(settings.reportFloor)])
        }
    }

    /// Stored verdicts in visiting order: (instruction id, kept).
    public func noveltyVisits() throws -> [(id: Int64, kept: Bool)] {
        let s = try db.prepare("SELECT instruction_id, kept, visit FROM novelty ORDER BY visit")
        var out: [(Int64, Bool)] = []
        var expected: Int64 = 1
        while try s.step() {
            // Visits are 1, 2, 3 …: a gap would mean a half-written store, which transactions rule out.
            guard s.int64(2) == expected else {
                throw SQLiteError(code: 0, message: "novelty visit \(s.int64(2)) follows \(expected - 1)", context: "reading verdicts")
            }
            expected += 1
            out.append((s.int64(0), s.int64(1) != 0))
        }
        return out
    }

    /// Writes a batch of verdicts in one transaction.
    public func addNoveltyVerdicts(_ rows: [NoveltyVerdictRow]) throws {
        try db.transaction {
            let s = try db.prepare("INSERT INTO novelty (instruction_id, visit, kept, best_id, score) VALUES (?, ?, ?, ?, ?)")
            for r in rows {
                try s.run([.int(r.instructionID), .int(r.visit), .int(r.kept ? 1 : 0),
                           r.bestID.map { .int($0) } ?? .null, .double(r.score)])
            }
        }
    }

    /// Subset names whose rows the filter visits first (the seed pools).
    public func seedSubsets() throws -> [String] {
        try subsets().filter { $0.role == "seed" }.map(\.name)
    }

    /// Streams (id, subset, instruction) in the filter's visiting order: the seed subsets first
    /// (Self-Instruct's and Alpaca's scripts start the kept pool with the seed tasks), then every
    /// other instruction in corpus order. The byte views are valid only inside the callback.
    public func forEachInstructionInNoveltyOrder(
        _ body: (Int64, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let seeds = try seedSubsets()
        try db.readTransaction {
            if !seeds.isEmpty {
                let placeholders = seeds.map { _ in "?" }.joined(separator: ",")
                let s = try db.prepare("SELECT id, subset, instruction FROM instructions WHERE subset IN (\(placeholders)) ORDER BY id")
                try s.bind(seeds.map { .text($0) })
                while try s.step() { try body(s.int64(0), s.textBytes(1), s.textBytes(2)) }
            }
            let seedSet = Set(seeds.map { Array($0.utf8) })
            let rest = try db.prepare("SELECT id, subset, instruction FROM instructions ORDER BY id")
            var lastSubset: [UInt8] = []
            var lastIsSeed = false
            while try rest.step() {
                let subset = rest.textBytes(1)
                if !subset.elementsEqual(lastSubset) {
                    lastSubset = Array(subset)
                    lastIsSeed = seedSet.contains(lastSubset)
                }
                if lastIsSeed { continue }
                try body(rest.int64(0), subset, rest.textBytes(2))
            }
        }
    }

    /// Kept and dropped instructions per subset, by subset name.
    public func noveltyCounts() throws -> [NoveltySubsetCount] {
        let s = try db.prepare("""
            SELECT i.subset, sum(n.kept), sum(1 - n.kept) FROM novelty n JOIN instructions i ON i.id = n.instruction_id
            GROUP BY i.subset ORDER BY i.subset
            """)
        var out: [NoveltySubsetCount] = []
        while try s.step() { out.append(NoveltySubsetCount(subset: s.text(0) ?? "", kept: s.int64(1), dropped: s.int64(2))) }
        return out
    }

    /// How many verdicts have a best-match score in each of `bins` equal bins of [0, 1]
    /// (a score of exactly 1 goes to the last bin); verdicts without a match are not counted.
    public func noveltyScoreHistogram(bins: Int) throws -> [Int64] {
        var out = [Int64](repeating: 0, count: bins)
        let s = try db.prepare("""
            SELECT min(CAST(score * ? AS INTEGER), ? - 1), count(*) FROM novelty WHERE best_id IS NOT NULL GROUP BY 1
            """)
        try s.bind([.int(Int64(bins)), .int(Int64(bins))])
        while try s.step() {
            let bin = Int(s.int64(0))
            if bin >= 0 && bin < bins { out[bin] += s.int64(1) }
        }
        return out
    }

    /// The verdict of one instruction: kept, best match and score.
    public func noveltyVerdict(instructionID: Int64) throws -> (kept: Bool, bestID: Int64?, score: Double)? {
        let s = try db.prepare("SELECT kept, best_id, score FROM novelty WHERE instruction_id = ?")
        try s.bind([.int(instructionID)])
        guard try s.step() else { return nil }
        return (s.int64(0) != 0, s.isNull(1) ? nil : s.int64(1), s.double(2))
    }
}
