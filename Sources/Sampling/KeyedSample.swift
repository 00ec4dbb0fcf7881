/// A reproducible sample of records keyed by stable ids: each id gets the key SplitMix64(seed ^
/// id·0xD6E8FEB86659FD93).next(), and the n smallest keys are taken (per group when asked),
/// returned in id order. The same seed draws the same sample whatever else is in the pool, and
/// a sample of n is part of every larger one with that seed, so stages that sample the same
/// records (embed, then project) agree.
public enum KeyedSample {
    public static func key(id: Int64, seed: UInt64) -> UInt64 {
        var rng = SplitMix64(seed: seed ^ (UInt64(bitPattern: id) &* 0xD6E8_FEB8_6659_FD93))
        return rng.next()
    }

    /// Indices into `ids` (ascending ids expected, not required) of the sample: `n` in all, or
    /// `n` per distinct `groups[i]` when `groups` is given. nil `n` takes everything.
    public static func select(ids: [Int64], groups: [String]? = nil, n: Int?, seed: UInt64) -> [Int] {
        guard let n else { return Array(ids.indices) }
        let keyed = ids.indices.map { (key(id: ids[$0], seed: seed), $0) }
        func smallest(_ members: [(UInt64, Int)]) -> [Int] {
            members.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : ids[$0.1] < ids[$1.1] }.prefix(n).map(\.1)
        }
        var chosen: [Int]
        if let groups {
            var byGroup: [String: [(UInt64, Int)]] = [:]
            for k in keyed { byGroup[groups[k.1], default: []].append(k) }
            chosen = byGroup.values.flatMap(smallest)
        } else {
            chosen = smallest(keyed)
        }
        return chosen.sorted { ids[$0] != ids[$1] ? ids[$0] < ids[$1] : $0 < $1 }
    }
}
