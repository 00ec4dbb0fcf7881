/// SplitMix64 (Steele, Lea & Flood 2014; the generator Java's `SplittableRandom` and many seeders use).
///
///     state = seed
///     next(): state += 0x9E3779B97F4A7C15            (mod 2^64)
///             z = state
///             z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 (mod 2^64)
///             z = (z ^ (z >> 27)) * 0x94D049BB133111EB (mod 2^64)
///             return z ^ (z >> 31)
///
/// The first output for seed 0 is 0xE220A8397B1DCDAF.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The export's shuffle: Fisher–Yates (Durstenfeld) driven by `SplitMix64(seed)`.
///
///     rng = SplitMix64(seed)
///     for i from n-1 down to 1:
///         j = rng.next() % (i + 1)      (plain modulo of the 64-bit output)
///         swap a[i], a[j]
///
/// The modulo is biased by less than (i+1)/2^64 (under 2^-32 for any n below 2^32), which is
/// negligible and keeps the algorithm a three-line port. A Python equivalent:
///
///     M = (1 << 64) - 1
///     def shuffle(a, seed):
///         s = seed
///         for i in range(len(a) - 1, 0, -1):
///             s = (s + 0x9E3779B97F4A7C15) & M
///             z = s
///             z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
///             z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
///             z ^= z >> 31
///             j = z % (i + 1)
///             a[i], a[j] = a[j], a[i]
public enum DeterministicShuffle {
    /// One-line description, for the dataset card.
    public static let algorithmSummary =
        "Fisher–Yates shuffle (for i from n-1 down to 1: j = next() % (i+1), swap) driven by SplitMix64 seeded with the seed"

    public static func shuffle<T>(_ a: inout [T], seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var i = a.count - 1
        while i >= 1 {
            let j = Int(rng.next() % UInt64(i + 1))
            a.swapAt(i, j)
            i -= 1
        }
    }

    /// The shuffled order of 0..<count.
    public static func permutation(count: Int, seed: UInt64) -> [Int] {
        var a = Array(0..<count)
        shuffle(&a, seed: seed)
        return a
    }
}

/// Draws of distinct indices, reproducible from the generator's state.
///
///     draw k distinct indices below n (k <= n):
///         chosen = []
///         while len(chosen) < k:
///             j = rng.next() % n
///             if j not in chosen: chosen.append(j)
///
/// Rejection keeps each draw O(k) whatever n is (a topic list of thousands, a seed pool of
/// millions) and keeps the order of the draws, which the prompts use.
public enum DistinctDraw {
    public static func indices(_ k: Int, below n: Int, rng: inout SplitMix64) -> [Int] {
        precondition(k >= 0 && k <= n, "cannot draw \(k) distinct indices below \(n)")
        var chosen: [Int] = []
        chosen.reserveCapacity(k)
        while chosen.count < k {
            let j = Int(rng.next() % UInt64(n))
            if !chosen.contains(j) { chosen.append(j) }
        }
        return chosen
    }
}
