import CSQLite
import Foundation

/// One instruction as the statistics and export steps read it. The byte views are valid only
/// inside the callback that receives them.
public struct InstructionView {
    public var id: Int64
    /// The first occurrence's id (this row's own id when it is not a duplicate).
    public var canonicalID: Int64
    public var isDuplicate: Bool
    public var instruction: UnsafeBufferPointer<UInt8>
    public var input: UnsafeBufferPointer<UInt8>
    /// Empty with `hasOutput == false` when the source had no response.
    public var output: UnsafeBufferPointer<UInt8>
    public var hasOutput: Bool
}

/// An instruction as exported.
public struct ExportRow: Sendable {
    public var id: Int64
    public var subset: String
    public var instruction: String
    public var input: String
    public var output: String?
}

extension Store {
    /// Streams one subset's instructions in corpus order through `body`, on `connection`
    /// (the store's own, or a reader connection for another thread).
    public func forEachInstruction(subset: String, connection: Database? = nil,
                                   _ body: (InstructionView) throws -> Void) throws {
        let c = connection ?? db
        let s = try c.prepare("""
            SELECT id, duplicate_of, instruction, input, output FROM instructions
            WHERE subset = ? ORDER BY id
            """)
        try s.bind([.text(subset)])
        while try s.step() {
            let dup = s.isNull(1) ? nil : s.int64(1)
            try body(InstructionView(id: s.int64(0), canonicalID: dup ?? s.int64(0), isDuplicate: dup != nil, instruction: s.textBytes(2),
                                     input: s.textBytes(3), output: s.textBytes(4), hasOutput: !s.isNull(4)))
        }
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

    /// Reads rows by id (ids ascending, for a near-sequential walk of the table).
    public func exportRows(ids: [Int64], connection: Database? = nil) throws -> [ExportRow] {
        let c = connection ?? db
        let s = try c.prepare("SELECT subset, instruction, input, output FROM instructions WHERE id = ?")
        var out: [ExportRow] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            try s.bind(1, id)
            guard try s.step() else { s.reset(); continue }
            out.append(ExportRow(id: id, subset: s.text(0) ?? "", instruction: s.text(1) ?? "", input: s.text(2) ?? "",
                                 output: s.text(3)))
            s.reset()
        }
        return out
    }
}
