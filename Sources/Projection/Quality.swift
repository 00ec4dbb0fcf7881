import Foundation

/// How well a 2-D projection keeps neighbourhoods.
public enum ProjectionQuality {
    /// Trustworthiness at k (Venna & Kaski; scikit-learn's `trustworthiness`): 1 − 2/(n·k·(2n − 3k − 1))
    /// · Σ_i Σ_{j among i's k nearest in the projection but not in the input} (rank of j among
    /// i's input-space neighbours − k). Exact: full ranks by Euclidean distance in double, ties
    /// broken by index. O(n² log n); meant for samples of a few thousand points.
    public static func trustworthiness(high: UnsafeBufferPointer<Float>, d: Int, low: UnsafeBufferPointer<Double>, n: Int, k: Int = 10) -> Double {
        precondition(k < n / 2, "k must be below n / 2")
        var penalty = 0.0
        var rank = [Int](repeating: 0, count: n)
        var distances = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0
                for e in 0..<d { let t = Double(high[i * d + e]) - Double(high[j * d + e]); s += t * t }
                distances[j] = s
            }
            // Ranks in input space: the point itself is rank 0, the nearest other point rank 1.
            let order = (0..<n).sorted { distances[$0] != distances[$1] ? distances[$0] < distances[$1] : $0 < $1 }
            var r = 0
            for j in order where j != i { r += 1; rank[j] = r }
            rank[i] = 0
            for j in 0..<n {
                let dx = low[2 * i] - low[2 * j], dy = low[2 * i + 1] - low[2 * j + 1]
                distances[j] = dx * dx + dy * dy
            }
            let lowOrder = (0..<n).filter { $0 != i }.sorted { distances[$0] != distances[$1] ? distances[$0] < distances[$1] : $0 < $1 }
            for j in lowOrder.prefix(k) where rank[j] > k { penalty += Double(rank[j] - k) }
        }
        let nd = Double(n), kd = Double(k)
        return 1 - 2 / (nd * kd * (2 * nd - 3 * kd - 1)) * penalty
    }
}
