import CSQLite
import Foundation

/// A row of `sources`.
public struct SourceInfo: Equatable, Sendable {
    public var id: Int64
    public var uri: String
    public var sha256: String
    public var bytes: Int64
    public var format: String
    public var records: Int64
    public var duplicates: Int64
    public var skipped: Int64
    public var filtered: Int64
}

/// A row of `subsets`.
public struct SubsetInfo: Equatable, Sendable {
    public var name: String
    public var role: String
    /// Seed subsets (name ending in `_seed`) feed generation and are not exported by default.
    public static func role(forName name: String) -> String { name.hasSuffix("_seed") ? "seed" : "corpus" }
}

/// An instruction about to be written, with its provenance.
public struct NewInstruction: Sendable {
    public var subset: String
    public var member: String?
    public var line: Int64?
    public var record: Int64
    public var byteOffset: Int64
    public var task: String?
    public var instruction: String
    public var input: String
    public var output: String?
    public var meta: String?
    public var normHash: Int64

    public init(subset: String, member: String?, line: Int64?, record: Int64, byteOffset: Int64, task: String?,
                instruction: String, input: String, output: String?, meta: String?, normHash: Int64) {
        self.subset = subset; self.member = member; self.line = line; self.record = record
        self.byteOffset = byteOffset; self.task = task; self.instruction = instruction; self.input = input
        self.output = output; self.meta = meta; self.normHash = normHash
    }
}

extension Store {
    private static let sourceColumns = "id, uri, sha256, bytes, format, records, duplicates, skipped, filtered"

    private static func readSource(_ s: Statement) -> SourceInfo {
        SourceInfo(id: s.int64(0), uri: s.text(1) ?? "", sha256: s.text(2) ?? "", bytes: s.int64(3),
                   format: s.text(4) ?? "", records: s.int64(5), duplicates: s.int64(6), skipped: s.int64(7),
                   filtered: s.int64(8))
    }

    public func source(id: Int64) throws -> SourceInfo? {
        let s = try db.prepare("SELECT \(Self.sourceColumns) FROM sources WHERE id = ?")
        try s.bind([.int(id)])
        return try s.step() ? Self.readSource(s) : nil
    }

    public func source(sha256: String) throws -> SourceInfo? {
        let s = try db.prepare("SELECT \(Self.sourceColumns) FROM sources WHERE sha256 = ?")
        try s.bind([.text(sha256)])
        return try s.step() ? Self.readSource(s) : nil
    }

    public func sources() throws -> [SourceInfo] {
        let s = try db.prepare("SELECT \(Self.sourceColumns) FROM sources ORDER BY id")
        var out: [SourceInfo] = []
        while try s.step() { out.append(Self.readSource(s)) }
        return out
    }

    public func subsets() throws -> [SubsetInfo] {
        let s = try db.prepare("SELECT name, role FROM subsets ORDER BY name")
        var out: [SubsetInfo] = []
        while try s.step() { out.append(SubsetInfo(name: s.text(0) ?? "", role: s.text(1) ?? "")) }
        return out
    }

    /// Skipped records of a source, first `limit` in order.
    public func badRecords(sourceID: Int64, limit: Int) throws -> [(member: String?, line: Int64?, byteOffset: Int64?, message: String)] {
        let s = try db.prepare("SELECT member, line, byte_offset, message FROM bad_records WHERE source_id = ? ORDER BY id LIMIT ?")
        try s.bind([.int(sourceID), .int(Int64(limit))])
        var out: [(String?, Int64?, Int64?, String)] = []
        while try s.step() {
            out.append((s.text(0), s.isNull(1) ? nil : s.int64(1), s.isNull(2) ? nil : s.int64(2), s.text(3) ?? ""))
        }
        return out
    }

    /// norm_hash → id of every first occurrence (the rows that are not duplicates), from the partial index.
    public func firstOccurrencesByHash() throws -> [Int64: Int64] {
        let count = Int(try db.scalarInt("SELECT count(*) FROM instructions WHERE duplicate_of IS NULL") ?? 0)
        var map = [Int64: Int64](minimumCapacity: count)
        let s = try db.prepare("SELECT norm_hash, id FROM instructions INDEXED BY instructions_first_by_hash WHERE duplicate_of IS NULL")
        while try s.step() {
            let h = s.int64(0)
            if map[h] == nil { map[h] = s.int64(1) } // keep the earliest on a (rare) hash collision
        }
        return map
    }

    /// Instruction and input of one row (for confirming a hash match).
    public func instructionText(id: Int64) throws -> (instruction: String, input: String)? {
        let s = try db.prepare("SELECT instruction, input FROM instructions WHERE id = ?")
        try s.bind([.int(id)])
        guard try s.step() else { return nil }
        return (s.text(0) ?? "", s.text(1) ?? "")
    }

    /// Number of instructions, optionally in one subset.
    public func instructionCount(subset: String? = nil) throws -> Int64 {
        if let subset { return try db.scalarInt("SELECT count(*) FROM instructions WHERE subset = ?", [.text(subset)]) ?? 0 }
        return try db.scalarInt("SELECT count(*) FROM instructions") ?? 0
    }
}

/// Inserts instructions of one source (inside the caller's transaction), creating subsets as needed.
final class InstructionInserter {
    private let store: Store
    private let sourceID: Int64
    private let insert: Statement
    private var knownSubsets = Set<String>()

    init(store: Store, sourceID: Int64) throws {
        self.store = store
        self.sourceID = sourceID
        insert = try store.db.prepare("""
            INSERT INTO instructions (subset, source_id, member, line, record, byte_offset, task,
                                      instruction, input, output, meta, norm_hash, duplicate_of)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
    }

    func add(_ r: NewInstruction, duplicateOf: Int64?) throws -> Int64 {
        if !knownSubsets.contains(r.subset) {
            let s = try store.db.prepare("INSERT OR IGNORE INTO subsets (name, role) VALUES (?, ?)")
            try s.run([.text(r.subset), .text(SubsetInfo.role(forName: r.subset))])
            knownSubsets.insert(r.subset)
        }
        let s = insert
        defer { s.reset() }
        try s.bind(1, r.subset)
        try s.bind(2, sourceID)
        try s.bind(3, r.member)
        try s.bind(4, r.line)
        try s.bind(5, r.record)
        try s.bind(6, r.byteOffset)
        try s.bind(7, r.task)
        try s.bind(8, r.instruction)
        try s.bind(9, r.input)
        try s.bind(10, r.output)
        try s.bind(11, r.meta)
        try s.bind(12, r.normHash)
        try s.bind(13, duplicateOf)
        try s.step()
        return store.db.lastInsertRowID
    }
}

/// Writes one source and its instructions inside one transaction: either all of it lands or none.
public final class SourceWriter {
    private let store: Store
    public let sourceID: Int64
    private let inserter: InstructionInserter
    private let insertBad: Statement
    private var finished = false
    public private(set) var added: Int64 = 0
    public private(set) var duplicates: Int64 = 0
    public private(set) var skipped: Int64 = 0

    public init(store: Store, uri: String, sha256: String, bytes: Int64, format: String) throws {
        self.store = store
        try store.db.execute("BEGIN IMMEDIATE")
        do {
            let s = try store.db.prepare("INSERT INTO sources (uri, sha256, bytes, format) VALUES (?, ?, ?, ?)")
            try s.run([.text(uri), .text(sha256), .int(bytes), .text(format)])
            sourceID = store.db.lastInsertRowID
            inserter = try InstructionInserter(store: store, sourceID: sourceID)
            insertBad = try store.db.prepare("INSERT INTO bad_records (source_id, member, line, byte_offset, message) VALUES (?, ?, ?, ?, ?)")
        } catch {
            try? store.db.execute("ROLLBACK")
            throw error
        }
    }

    deinit { if !finished { rollback() } }

    /// Adds an instruction; returns its id.
    @discardableResult
    public func add(_ r: NewInstruction, duplicateOf: Int64?) throws -> Int64 {
        let id = try inserter.add(r, duplicateOf: duplicateOf)
        added += 1
        if duplicateOf != nil { duplicates += 1 }
        return id
    }

    /// Records a malformed record that was skipped (under --skip-bad).
    public func addBadRecord(member: String?, line: Int64?, byteOffset: Int64?, message: String) throws {
        try insertBad.run([.int(sourceID), member.map { .text($0) } ?? .null, line.map { .int($0) } ?? .null,
                           byteOffset.map { .int($0) } ?? .null, .text(message)])
        skipped += 1
    }

    /// Writes the counts and commits.
    /// `format` replaces the one given at the start (an archive's members may turn out to hold several).
    public func commit(filtered: Int64, format: String) throws -> SourceInfo {
        let s = try store.db.prepare("UPDATE sources SET records = ?, duplicates = ?, skipped = ?, filtered = ?, format = ? WHERE id = ?")
        try s.run([.int(added), .int(duplicates), .int(skipped), .int(filtered), .text(format), .int(sourceID)])
        guard let result = try store.source(id: sourceID) else {
            throw SQLiteError(code: 0, message: "source \(sourceID) vanished inside its own transaction", context: "commit")
        }
        try store.db.execute("COMMIT")
        finished = true
        return result
    }

    /// Abandons everything written through this writer.
    public func rollback() {
        guard !finished else { return }
        finished = true
        try? store.db.execute("ROLLBACK")
    }
}
