import Foundation

/// A stored projection.
public struct ProjectionInfo: Equatable, Sendable {
    public var id: Int64
    public var modelID: Int64
    public var model: String
    public var field: String
    public var settings: String
    public var inputSHA256: String
    public var points: Int
    public var klDivergence: Double
}

/// One projected point, with its subset.
public struct ProjectedPoint: Equatable, Sendable {
    public var instructionID: Int64
    public var subset: String
    public var x: Double
    public var y: Double

    public init(instructionID: Int64, subset: String, x: Double, y: Double) {
        self.instructionID = instructionID; self.subset = subset; self.x = x; self.y = y
    }
}

extension Store {
    /// The most recently recorded model of that name (its vectors are the ones a new run adds to).
    public func embeddingModel(named name: String) throws -> EmbeddingModelInfo? {
        try embeddingModels().last { $0.name == name }
    }

    public func projection(modelID: Int64, field: String, settings: String, inputSHA256: String) throws -> ProjectionInfo? {
        try projections().first { $0.modelID == modelID && $0.field == field && $0.settings == settings && $0.inputSHA256 == inputSHA256 }
    }

    public func projections() throws -> [ProjectionInfo] {
        let s = try db.prepare("""
            SELECT p.id, p.model_id, m.name, p.field, p.settings, p.input_sha256, p.points, p.kl_divergence
            FROM projections p JOIN embedding_models m ON m.id = p.model_id ORDER BY p.id
            """)
        var out: [ProjectionInfo] = []
        while try s.step() {
            out.append(ProjectionInfo(id: s.int64(0), modelID: s.int64(1), model: s.text(2) ?? "", field: s.text(3) ?? "",
                                      settings: s.text(4) ?? "", inputSHA256: s.text(5) ?? "", points: Int(s.int64(6)),
                                      klDivergence: s.double(7)))
        }
        return out
    }

    /// Records a projection and all its points in one transaction.
    @discardableResult
    public func addProjection(modelID: Int64, field: String, settings: String, inputSHA256: String, klDivergence: Double,
                              points: [(instructionID: Int64, x: Double, y: Double)]) throws -> Int64 {
        try db.transaction {
            try db.prepare("""
                INSERT INTO projections (model_id, field, settings, input_sha256, points, kl_divergence) VALUES (?, ?, ?, ?, ?, ?)
                """).run([.int(modelID), .text(field), .text(settings), .text(inputSHA256), .int(Int64(points.count)), .double(klDivergence)])
            let id = db.lastInsertRowID
            let s = try db.prepare("INSERT INTO projection_points (projection_id, instruction_id, x, y) VALUES (?, ?, ?, ?)")
            for p in points { try s.run([.int(id), .int(p.instructionID), .double(p.x), .double(p.y)]) }
            return id
        }
    }

    /// A projection's points in corpus order.
    public func projectionPoints(projectionID: Int64) throws -> [ProjectedPoint] {
        let s = try db.prepare("""
            SELECT p.instruction_id, i.subset, p.x, p.y FROM projection_points p JOIN instructions i ON i.id = p.instruction_id
            WHERE p.projection_id = ? ORDER BY p.instruction_id
            """)
        try s.bind([.int(projectionID)])
        var out: [ProjectedPoint] = []
        try db.readTransaction {
            while try s.step() { out.append(ProjectedPoint(instructionID: s.int64(0), subset: s.text(1) ?? "", x: s.double(2), y: s.double(3))) }
        }
        return out
    }
}
