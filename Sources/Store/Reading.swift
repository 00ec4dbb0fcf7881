import CSQLite
import Foundation

/// One instruction as the statistics and export steps read it. The byte views are valid only
/// inside the callback that receives them.
public struct InstructionView {
    public var id: Int64
    /// The subset's name as UTF-8.
    public var subset: UnsafeBufferPointer<UInt8>
    /// The first occurrence's id (this row's own id when it is not a duplicate).
    public var canonicalID: Int64
    public var isDuplicate: Bool
    public var instruction: UnsafeBufferPointer<UInt8>
    public var input: UnsafeBufferPointer<UInt8>
    /// The response (a teacher's when one answered, else the source's own); empty with
    /// `hasOutput == false` when there is none.
    public var output: UnsafeBufferPointer<UInt8>
    public var hasOutput: Bool
}

/// An instruction as exported.
public struct ExportRow: Sendable {
    public var id: Int64
    public var subset: String
    public var instruction: String
    public var input: String
    /// The response: a teacher's when one answered, else the source's own.
    public var output: String?
    /// "seed" for the source's own response, else the teacher model's name.
    public var responseSource: String
}

extension Store {
    /// Streams one subset's instructions in corpus order through `body`, on `connection`
    /// (the store's own, or a reader connection for another thread).
    public func forEachInstruction(subset: String, connection: Database? = nil,
                                   _ body: (InstructionView) throws -> Void) throws {
        let c = connection ?? db
        let s = try c.prepare("""
            SELECT id, subset, duplicate_of, instruction, input, \(try Self.responseColumn(c)) FROM instructions
            WHERE subset = ? ORDER BY id
            """)
        try s.bind([.text(subset)])
        try c.readTransaction { while try s.step() { try body(Self.view(s)) } }
    }

    /// Streams the instructions with ids in `ids`, of every subset, in corpus order (for work split
    /// into id ranges across threads, each with its own reader connection).
    public func forEachInstruction(ids: Range<Int64>, connection: Database? = nil,
                                   _ body: (InstructionView) throws -> Void) throws {
        let c = connection ?? db
        let s = try c.prepare("""
            SELECT id, subset, duplicate_of, instruction, input, \(try Self.responseColumn(c)) FROM instructions
            WHERE id >= ? AND id < ? ORDER BY id
            """)
        try s.bind([.int(ids.lowerBound), .int(ids.upperBound)])
        try c.readTransaction { while try s.step() { try body(Self.view(s)) } }
    }

    /// The SQL of an instruction's response: a teacher's (the first model by name, when several
    /// answered) or else the source's own. Without teacher responses, the plain column (a lookup
    /// per row costs a scan of millions a tenth of its time).
    static func responseColumn(_ c: Database) throws -> String {
        try hasResponses(c)
            ? "COALESCE((SELECT r.response FROM responses r WHERE r.instruction_id = instructions.id ORDER BY r.model LIMIT 1), output)"
            : "output"
    }

    static func hasResponses(_ c: Database) throws -> Bool {
        try c.scalarInt("SELECT EXISTS (SELECT 1 FROM responses)") == 1
    }

    private static func view(_ s: Statement) -> InstructionView {
        let dup = s.isNull(2) ? nil : s.int64(2)
        return InstructionView(id: s.int64(0), subset: s.textBytes(1), canonicalID: dup ?? s.int64(0), isDuplicate: dup != nil,
                               instruction: s.textBytes(3), input: s.textBytes(4), output: s.textBytes(5), hasOutput: !s.isNull(5))
    }

    /// Ids of the instructions to export, in corpus order: the given subsets, duplicates left out
    /// unless asked for.
    public func exportableIDs(subsets: [String], includeDuplicates: Bool) throws -> [Int64] {
        var ids: [Int64] = []
        let s = try db.prepare("""
            SELECT id FROM instructions WHERE subset = ? \(includeDuplicates ? "" : "AND duplicate_of IS NULL") ORDER BY id
            """)
        for subset in subsets {
            try s.bind([.text(subset)])
            while try s.step() { ids.append(s.int64(0)) }
            s.reset()
        }
        ids.sort()
        return ids
    }

    /// The smallest and largest instruction ids, nil when there are none (for cutting scans into parts).
    public func instructionIDRange(connection: Database? = nil) throws -> ClosedRange<Int64>? {
        let c = connection ?? db
        guard let first = try c.scalarInt("SELECT min(id) FROM instructions"),
              let last = try c.scalarInt("SELECT max(id) FROM instructions") else { return nil }
        return first...last
    }

    /// The ids to export within `ids`, ascending, in one sequential scan: rows of `subsets`,
    /// duplicates left out unless asked for, and rows without an output counted apart.
    /// `candidates` counts every row of those subsets that passed the duplicate rule.
    public func exportCandidates(ids: ClosedRange<Int64>, subsets: Set<String>, includeDuplicates: Bool,
                                 connection: Database? = nil) throws -> (ids: [Int64], candidates: Int, withoutOutput: Int64) {
        let c = connection ?? db
        let wanted = Set(subsets.map { Array($0.utf8) })
        return try c.readTransaction {
            let s = try c.prepare("""
                SELECT id, subset, duplicate_of IS NOT NULL,
                       output IS NULL\(try Self.hasResponses(c) ? " AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.instruction_id = instructions.id)" : "")
                FROM instructions WHERE id BETWEEN ? AND ? ORDER BY id
                """)
            try s.bind([.int(ids.lowerBound), .int(ids.upperBound)])
            var out: [Int64] = []
            var candidates = 0
            var withoutOutput: Int64 = 0
            // Rows of a subset come in long runs: remember the last subset's verdict.
            var lastSubset: [UInt8]? = nil
            var lastWanted = false
            while try s.step() {
                let subset = s.textBytes(1)
                if lastSubset == nil || !subset.elementsEqual(lastSubset!) {
                    let bytes = Array(subset)
                    lastWanted = wanted.contains(bytes)
                    lastSubset = bytes
                }
                guard lastWanted, includeDuplicates || s.int64(2) == 0 else { continue }
                candidates += 1
                if s.int64(3) != 0 { withoutOutput += 1 } else { out.append(s.int64(0)) }
            }
            return (out, candidates, withoutOutput)
        }
    }

    /// Reads rows by id (ids ascending, for a near-sequential walk of the table), in one read
    /// transaction: without it SQLite takes and drops its locks for every row.
    public func exportRows(ids: [Int64], connection: Database? = nil) throws -> [ExportRow] {
        let c = connection ?? db
        return try c.readTransaction { try exportRowsInTransaction(ids: ids, connection: c) }
    }

    private func exportRowsInTransaction(ids: [Int64], connection c: Database) throws -> [ExportRow] {
        let s = try c.prepare("SELECT subset, instruction, input, output FROM instructions WHERE id = ?")
        // Teacher responses of the batch in one range query (ids come ascending); the first model
        // by name wins over the source's own response.
        var teacher: [Int64: (model: String, response: String)] = [:]
        if let first = ids.first, let last = ids.last, try Self.hasResponses(c) {
            let r = try c.prepare("""
                SELECT instruction_id, model, response FROM responses WHERE instruction_id BETWEEN ? AND ?
                ORDER BY instruction_id, model
                """)
            try r.bind([.int(first), .int(last)])
            while try r.step() {
                let id = r.int64(0)
                if teacher[id] == nil { teacher[id] = (r.text(1) ?? "", r.text(2) ?? "") }
            }
        }
        var out: [ExportRow] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            try s.bind(1, id)
            guard try s.step() else { s.reset(); continue }
            var row = ExportRow(id: id, subset: s.text(0) ?? "", instruction: s.text(1) ?? "", input: s.text(2) ?? "",
                                output: s.text(3), responseSource: "seed")
            if let t = teacher[id] { row.output = t.response; row.responseSource = t.model }
            out.append(row)
            s.reset()
        }
        return out
    }
}

extension Store {
    /// Instruction and input of every first occurrence in `subset`, in corpus order: the example
    /// pool of instruction-generation prompts.
    public func exampleTexts(subset: String) throws -> [(instruction: String, input: String)] {
        let s = try db.prepare("""
            SELECT instruction, input FROM instructions WHERE subset = ? AND duplicate_of IS NULL ORDER BY id
            """)
        try s.bind([.text(subset)])
        var out: [(String, String)] = []
        try db.readTransaction { while try s.step() { out.append((s.text(0) ?? "", s.text(1) ?? "")) } }
        return out
    }
}
