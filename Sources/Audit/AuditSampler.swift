import Sampling
import Store

/// What drawing the audit sample did.
public struct AuditSampleReport: Equatable, Sendable {
    /// Pairs drawn per subset (fewer than asked where a subset has fewer pairs with a response).
    public var perSubset: [(subset: String, pairs: Int, available: Int)]
    public var pairs: Int
    /// Ratings of pairs the new sample left out, deleted under `dropRatings`.
    public var droppedRatings: Int

    public static func == (a: Self, b: Self) -> Bool {
        a.pairs == b.pairs && a.droppedRatings == b.droppedRatings
            && a.perSubset.map { "\($0.subset) \($0.pairs) \($0.available)" } == b.perSubset.map { "\($0.subset) \($0.pairs) \($0.available)" }
    }
}

/// Draws the pairs people and judges rate: `perSubset` pairs of each corpus subset (the corpus
/// as exported, pairs with a response), the smallest keyed hashes of the seed, so the same seed
/// draws the same pairs and a larger sample contains a smaller one. Reviewers see them in key
/// order, subsets interleaved, so no subset is rated all at once at the end of a tiring session.
public enum AuditSampler {
    public static func draw(store: Store, perSubset: Int, seed: UInt64, dropRatings: Bool = false) throws -> AuditSampleReport {
        let candidates = try store.embeddingCandidates(field: "response")
        let ids = candidates.map(\.id)
        let subsets = candidates.map(\.subset)
        let chosen = KeyedSample.select(ids: ids, groups: subsets, n: perSubset, seed: seed)
        let ordered = chosen.map { (KeyedSample.key(id: ids[$0], seed: seed), ids[$0]) }.sorted { $0 < $1 }.map(\.1)
        let dropped = try store.replaceAuditSample(seed: seed, perSubset: perSubset, instructionIDs: ordered, dropRatings: dropRatings)
        var available: [String: Int] = [:]
        for s in subsets { available[s, default: 0] += 1 }
        var taken: [String: Int] = [:]
        for i in chosen { taken[subsets[i], default: 0] += 1 }
        return AuditSampleReport(perSubset: available.keys.sorted().map { ($0, taken[$0] ?? 0, available[$0] ?? 0) },
                                 pairs: ordered.count, droppedRatings: dropped)
    }
}
