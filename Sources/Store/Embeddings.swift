import Foundation

/// How stored vectors are written: little-endian float32 or float16 values.
public enum EmbeddingElementType: String, CaseIterable, Sendable {
    case float32, float16

    public var bytes: Int { self == .float32 ? 4 : 2 }

    /// Little-endian bytes of `values` (float16 rounds to nearest even, as NumPy's astype does).
    public func encode(_ values: ArraySlice<Float>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * bytes)
        out.withUnsafeMutableBytes { raw in
            switch self {
            case .float32:
                for (k, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * k, as: UInt32.self) }
            case .float16:
                for (k, v) in values.enumerated() { raw.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: 2 * k, as: UInt16.self) }
            }
        }
        return out
    }

    /// Floats from stored little-endian bytes.
    public func decode(_ raw: UnsafeRawBufferPointer) -> [Float] {
        switch self {
        case .float32:
            return (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        case .float16:
            return (0..<(raw.count / 2)).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
        }
    }
}

/// A sentence encoder as the store knows it.
public struct EmbeddingModelInfo: Equatable, Sendable {
    public var id: Int64
    public var name: String
    public var sha256: String
    public var dimension: Int
}

/// An instruction that may be embedded: its id and subset.
public struct EmbeddingCandidate: Equatable, Sendable {
    public var id: Int64
    public var subset: String
}

/// How many vectors the store holds per model, field, subset and element type.
public struct EmbeddingCount: Equatable, Sendable {
    public var model: String
    public var field: String
    public var subset: String
    public var dtype: String
    public var count: Int64
}

/// One stored vector, to be written.
public struct NewEmbedding: Sendable {
    public var instructionID: Int64
    /// Little-endian float32 or float16 values.
    public var vector: [UInt8]

    public init(instructionID: Int64, vector: [UInt8]) {
        self.instructionID = instructionID
        self.vector = vector
    }
}

extension Store {
    /// The audited corpus, in corpus order: instructions of corpus subsets that are first
    /// occurrences and not dropped by the novelty filter (what `herd export` writes); for the
    /// response field only those with a response (a teacher's or the source's own).
    public func embeddingCandidates(field: String) throws -> [EmbeddingCandidate] {
        let needsResponse = field == "response"
        let s = try db.prepare("""
            SELECT i.id, i.subset FROM instructions i
            JOIN subsets ss ON ss.name = i.subset AND ss.role = 'corpus'
            LEFT JOIN novelty n ON n.instruction_id = i.id
            WHERE i.duplicate_of IS NULL AND (n.kept IS NULL OR n.kept = 1)
            \(needsResponse ? "AND (i.output IS NOT NULL OR EXISTS (SELECT 1 FROM responses r WHERE r.instruction_id = i.id))" : "")
            ORDER BY i.id
            """)
        var out: [EmbeddingCandidate] = []
        // Subsets repeat in long runs: share one String per run.
        var lastSubset = ""
        try db.readTransaction {
            while try s.step() {
                let bytes = s.textBytes(1)
                if !bytes.elementsEqual(lastSubset.utf8) { lastSubset = String(decoding: bytes, as: UTF8.self) }
                out.append(EmbeddingCandidate(id: s.int64(0), subset: lastSubset))
            }
        }
        return out
    }

    /// The texts to embed, in the order of `ids` (ascending): the instruction as exported
    /// ("instruction" or "instruction:input", LaMini's form) or the response as exported (a
    /// teacher's, else the source's own).
    public func embeddingTexts(ids: [Int64], field: String) throws -> [String] {
        let rows = try exportRows(ids: ids)
        guard rows.count == ids.count else { throw StoreError.invalid("instructions to embed are gone from the store") }
        return rows.map { row in
            if field == "response" { return row.output ?? "" }
            return row.input.isEmpty ? row.instruction : row.instruction + ":" + row.input
        }
    }

    /// The model's row, added on first use.
    public func embeddingModel(name: String, sha256: String, dimension: Int) throws -> EmbeddingModelInfo {
        try db.transaction {
            try db.prepare("INSERT OR IGNORE INTO embedding_models (name, sha256, dimension) VALUES (?, ?, ?)")
                .run([.text(name), .text(sha256), .int(Int64(dimension))])
            let s = try db.prepare("SELECT id, dimension FROM embedding_models WHERE name = ? AND sha256 = ?")
            try s.bind([.text(name), .text(sha256)])
            guard try s.step() else { throw StoreError.invalid("embedding model \(name) was not recorded") }
            let stored = Int(s.int64(1))
            guard stored == dimension else {
                throw StoreError.invalid("embedding model \(name) (\(sha256.prefix(12))…) is recorded with dimension \(stored), not \(dimension)")
            }
            return EmbeddingModelInfo(id: s.int64(0), name: name, sha256: sha256, dimension: dimension)
        }
    }

    public func embeddingModels() throws -> [EmbeddingModelInfo] {
        let s = try db.prepare("SELECT id, name, sha256, dimension FROM embedding_models ORDER BY id")
        var out: [EmbeddingModelInfo] = []
        while try s.step() { out.append(EmbeddingModelInfo(id: s.int64(0), name: s.text(1) ?? "", sha256: s.text(2) ?? "", dimension: Int(s.int64(3)))) }
        return out
    }

    /// Ids already embedded with this model and field.
    public func embeddedIDs(modelID: Int64, field: String) throws -> Set<Int64> {
        let s = try db.prepare("SELECT instruction_id FROM embeddings WHERE model_id = ? AND field = ?")
        try s.bind([.int(modelID), .text(field)])
        var out = Set<Int64>()
        try db.readTransaction { while try s.step() { out.insert(s.int64(0)) } }
        return out
    }

    /// Writes vectors in one transaction (a chunk lands whole or not at all); vectors already
    /// there are kept.
    public func addEmbeddings(modelID: Int64, field: String, dtype: String, _ rows: [NewEmbedding]) throws {
        try db.transaction {
            let s = try db.prepare("""
                INSERT OR IGNORE INTO embeddings (model_id, field, instruction_id, dtype, vector) VALUES (?, ?, ?, ?, ?)
                """)
            for row in rows { try s.run([.int(modelID), .text(field), .int(row.instructionID), .text(dtype), .blob(row.vector)]) }
        }
    }

    /// Streams the stored vectors of a model and field in corpus order: id, subset, element type
    /// and the raw little-endian bytes (valid inside the callback only).
    public func forEachEmbedding(modelID: Int64, field: String,
                                 _ body: (_ id: Int64, _ subset: String, _ dtype: String, _ vector: UnsafeRawBufferPointer) throws -> Void) throws {
        let s = try db.prepare("""
            SELECT e.instruction_id, i.subset, e.dtype, e.vector FROM embeddings e JOIN instructions i ON i.id = e.instruction_id
            WHERE e.model_id = ? AND e.field = ? ORDER BY e.instruction_id
            """)
        try s.bind([.int(modelID), .text(field)])
        try db.readTransaction {
            while try s.step() { try body(s.int64(0), s.text(1) ?? "", s.text(2) ?? "", s.blobBytes(3)) }
        }
    }

    /// Vectors per model, field, subset and element type.
    public func embeddingCounts() throws -> [EmbeddingCount] {
        let s = try db.prepare("""
            SELECT m.name, e.field, i.subset, e.dtype, count(*) FROM embeddings e
            JOIN embedding_models m ON m.id = e.model_id JOIN instructions i ON i.id = e.instruction_id
            GROUP BY m.id, e.field, i.subset, e.dtype ORDER BY m.name, e.field, i.subset, e.dtype
            """)
        var out: [EmbeddingCount] = []
        while try s.step() {
            out.append(EmbeddingCount(model: s.text(0) ?? "", field: s.text(1) ?? "", subset: s.text(2) ?? "", dtype: s.text(3) ?? "", count: s.int64(4)))
        }
        return out
    }
}
