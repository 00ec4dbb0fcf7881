import Sampling

/// Reproducible draws of topics for topic-guided prompts.
public enum TopicSample {
    /// `count` distinct titles drawn with `DistinctDraw` from `SplitMix64(seed)`, in draw order.
    public static func draw(_ count: Int, from titles: [String], seed: UInt64, store: String) throws -> [String] {
        var rng = SplitMix64(seed: seed)
        return try draw(count, from: titles, rng: &rng, store: store)
    }

    /// Draws from a generator the caller keeps (one per generation run: every prompt draws the next three).
    public static func draw(_ count: Int, from titles: [String], rng: inout SplitMix64, store: String) throws -> [String] {
        if titles.isEmpty {
            throw TopicsError(path: store, message: "no topics yet: run `herd topics mine CATEGORY_DUMP` first")
        }
        if count > titles.count {
            throw TopicsError(path: store, message: "cannot draw \(count) distinct topics from \(titles.count)")
        }
        return DistinctDraw.indices(count, below: titles.count, rng: &rng).map { titles[$0] }
    }
}
