import Checksums
import Foundation
import Sampling
import Store

/// What `herd project` on the store does.
public struct StoreProjectionOptions: Sendable {
    /// The embedding model's name as stored (all-MiniLM-L6-v2, all-mpnet-base-v2, …).
    public var model = "all-MiniLM-L6-v2"
    public var field = "instruction"
    /// Project a sample of this many of the stored vectors (per subset with `perSubset`); nil: all.
    public var sample: Int? = nil
    public var perSubset = true
    public var tsne = TSNEOptions()

    public init() {}

    /// The settings as stored: JSON with sorted keys, so equal settings compare equal.
    var settingsJSON: String {
        let t = tsne
        let fields: [(String, String)] = [
            ("early_exaggeration", "\(t.earlyExaggeration)"), ("early_iterations", "\(t.earlyIterations)"),
            ("early_momentum", "\(t.earlyMomentum)"), ("iterations", "\(t.iterations)"),
            ("learning_rate", t.learningRate.map { "\($0)" } ?? "\"auto\""), ("max_step_norm", "\(t.maxStepNorm)"),
            ("min_gain", "\(t.minGain)"), ("momentum", "\(t.momentum)"), ("neighbors", t.neighbors.map { "\($0)" } ?? "\"auto\""),
            ("per_subset", perSubset ? "true" : "false"), ("perplexity", "\(t.perplexity)"),
            ("sample", sample.map { "\($0)" } ?? "null"), ("seed", "\(t.seed)"), ("theta", "\(t.theta)"),
        ]
        return "{" + fields.sorted { $0.0 < $1.0 }.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}

public struct StoreProjectionReport: Sendable {
    public var projection: ProjectionInfo
    /// Found in the store (same settings, same input) rather than computed.
    public var reused: Bool
    public var seconds: Double
    /// Points per subset.
    public var subsets: [(subset: String, points: Int)]
}

/// Projects stored vectors: read (a sample of) one model's vectors → t-SNE → write the
/// coordinates in one transaction. A run killed before its write leaves nothing; the same
/// settings on the same input are not computed again.
public enum StoreProjector {
    public static func run(store: Store, options: StoreProjectionOptions,
                           progress: ((_ phase: String, _ done: Int, _ total: Int) -> Void)? = nil) throws -> StoreProjectionReport {
        let start = Date()
        guard let model = try store.embeddingModel(named: options.model) else {
            throw ProjectionError("no vectors of \(options.model) in the store: run `herd embed` first")
        }
        var ids: [Int64] = [], subsets: [String] = [], vectors: [Float] = []
        try store.forEachEmbedding(modelID: model.id, field: options.field) { id, subset, dtype, raw in
            guard let type = EmbeddingElementType(rawValue: dtype) else { throw ProjectionError("instruction \(id): unknown vector type \(dtype)") }
            let v = type.decode(raw)
            guard v.count == model.dimension else { throw ProjectionError("instruction \(id): \(v.count) values, expected \(model.dimension)") }
            ids.append(id); subsets.append(subset); vectors += v
        }
        let d = model.dimension
        let chosen = KeyedSample.select(ids: ids, groups: options.perSubset ? subsets : nil, n: options.sample, seed: options.tsne.seed)
        guard chosen.count >= 4 else {
            throw ProjectionError("\(chosen.count) \(options.field) vectors of \(options.model) in the store; t-SNE needs at least 4")
        }
        // Without a sample every vector is chosen, in order: project them where they are
        // (a second copy of 200K × 384 floats would be 300 MB).
        let points: [Float]
        if chosen.count == ids.count {
            points = vectors
        } else {
            var picked = [Float](repeating: 0, count: chosen.count * d)
            for (row, index) in chosen.enumerated() {
                for j in 0..<d { picked[row * d + j] = vectors[index * d + j] }
            }
            points = picked
        }
        vectors = []
        let hasher = SHA256Hasher()
        for index in chosen { withUnsafeBytes(of: ids[index].littleEndian) { hasher.update($0) } }
        points.withUnsafeBytes { hasher.update($0) }
        let inputSHA256 = hasher.finalizeHex()
        let settings = options.settingsJSON
        var counts: [String: Int] = [:]
        for index in chosen { counts[subsets[index], default: 0] += 1 }
        let perSubset = counts.sorted { $0.key < $1.key }.map { (subset: $0.key, points: $0.value) }
        if let existing = try store.projection(modelID: model.id, field: options.field, settings: settings, inputSHA256: inputSHA256) {
            return StoreProjectionReport(projection: existing, reused: true, seconds: Date().timeIntervalSince(start), subsets: perSubset)
        }
        let result = try points.withUnsafeBufferPointer { p in
            try TSNE.run(points: p, n: chosen.count, d: d, options: options.tsne, progress: progress)
        }
        let rows = chosen.enumerated().map { row, index in (instructionID: ids[index], x: result.embedding[2 * row], y: result.embedding[2 * row + 1]) }
        let id = try store.addProjection(modelID: model.id, field: options.field, settings: settings, inputSHA256: inputSHA256,
                                         klDivergence: result.klDivergence, points: rows)
        guard let info = try store.projections().first(where: { $0.id == id }) else { throw ProjectionError("projection \(id) was not recorded") }
        return StoreProjectionReport(projection: info, reused: false, seconds: Date().timeIntervalSince(start), subsets: perSubset)
    }
}
