import Foundation

/// A sparse symmetric matrix in compressed rows: row i's entries are
/// `values[rowStart[i]..<rowStart[i+1]]` at columns `columns[…]`, columns ascending.
public struct SparseAffinities: Sendable {
    public var rowStart: [Int]
    public var columns: [Int32]
    public var values: [Double]
    public var n: Int { rowStart.count - 1 }
}

/// t-SNE's input affinities as openTSNE computes them (affinity.PerplexityBasedNN with
/// symmetrize=True and pair-wise normalisation).
public enum Affinities {
    /// Per point, the precision τ = 1/σ² of a Gaussian over its k neighbours, found by bisection
    /// so that the conditional distribution's entropy is ln(perplexity) within 1e-8 nats, and the
    /// conditional probabilities p_j|i. Statement for statement openTSNE's
    /// compute_gaussian_perplexity (same double operations in the same order, so the same τ even
    /// where the entropy is nearly flat): from τ = 1, m_j = √τ·exp(−d_j²·τ·0.5), S = Σ m_j + ε,
    /// H = τ·0.5·Σ (m_j/S)·d_j² + ln S − ln(τ)·0.5; H too high doubles τ (or goes halfway to the
    /// upper bound once there is one), too low halves it; at most 200 steps; p_j|i = m_j / Σ m_j.
    /// Returns ([N] τ, [N × k] p_j|i).
    public static func conditional(_ neighbors: NearestNeighbors, perplexity: Double) -> (precisions: [Double], p: [Double]) {
        let k = neighbors.k, n = neighbors.distances.count / k
        let target = log(perplexity)
        var precisions = [Double](repeating: 1, count: n)
        var p = [Double](repeating: 0, count: n * k)
        let chunk = 1024
        let chunks = (n + chunk - 1) / chunk
        precisions.withUnsafeMutableBufferPointer { tauOut in
            p.withUnsafeMutableBufferPointer { pOut in
                let taus = tauOut, q = pOut
                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                    var squared = [Double](repeating: 0, count: k)
                    var m = [Double](repeating: 0, count: k)
                    for i in (c * chunk)..<min(n, (c + 1) * chunk) {
                        for t in 0..<k { let d = neighbors.distances[i * k + t]; squared[t] = d * d }
                        var tau = 1.0, low = -Double.infinity, high = Double.infinity
                        var used = tau
                        for _ in 0..<200 {
                            let root = tau.squareRoot()
                            for t in 0..<k { m[t] = root * exp(-squared[t] * tau * 0.5) }
                            var sum = 0.0
                            for t in 0..<k { sum = sum + m[t] }
                            sum = sum + Double.ulpOfOne
                            var weighted = 0.0
                            for t in 0..<k { weighted = weighted + m[t] / sum * squared[t] }
                            let entropy = tau * 0.5 * weighted + log(sum) - log(tau) * 0.5
                            let difference = entropy - target
                            used = tau
                            if abs(difference) <= 1e-8 { break }
                            if difference > 0 {
                                low = tau
                                tau = high == .infinity ? tau * 2 : (tau + high) * 0.5
                            } else {
                                high = tau
                                tau = low == -.infinity ? tau / 2 : (tau + low) * 0.5
                            }
                        }
                        var total = 0.0
                        for t in 0..<k { total = total + m[t] }
                        for t in 0..<k { q[i * k + t] = m[t] / total }
                        taus[i] = used
                    }
                }
            }
        }
        return (precisions, p)
    }

    /// P = (C + Cᵀ) / 2 normalised to sum 1, where C holds the conditional rows at the neighbour
    /// columns; each row's columns ascending.
    public static func joint(_ neighbors: NearestNeighbors, conditional p: [Double]) -> SparseAffinities {
        let k = neighbors.k, n = p.count / k
        // Each (i, j, p) goes to row i and row j: count, then place, then merge equal columns.
        var counts = [Int](repeating: 0, count: n + 1)
        for i in 0..<n {
            counts[i + 1] += k
            for t in 0..<k { counts[Int(neighbors.indices[i * k + t]) + 1] += 1 }
        }
        for i in 0..<n { counts[i + 1] += counts[i] }
        var fill = counts
        var columns = [Int32](repeating: 0, count: counts[n])
        var values = [Double](repeating: 0, count: counts[n])
        for i in 0..<n {
            for t in 0..<k {
                let j = Int(neighbors.indices[i * k + t]), v = p[i * k + t] / 2
                columns[fill[i]] = Int32(j); values[fill[i]] = v; fill[i] += 1
                columns[fill[j]] = Int32(i); values[fill[j]] = v; fill[j] += 1
            }
        }
        var rowStart = [Int](repeating: 0, count: n + 1)
        var outColumns: [Int32] = [], outValues: [Double] = []
        outColumns.reserveCapacity(columns.count)
        outValues.reserveCapacity(columns.count)
        var total = 0.0
        for i in 0..<n {
            let range = counts[i]..<counts[i + 1]
            let order = range.sorted { columns[$0] != columns[$1] ? columns[$0] < columns[$1] : $0 < $1 }
            var last: Int32 = -1
            for at in order {
                if columns[at] == last {
                    outValues[outValues.count - 1] += values[at]
                } else {
                    outColumns.append(columns[at]); outValues.append(values[at]); last = columns[at]
                }
            }
            rowStart[i + 1] = outColumns.count
        }
        for v in outValues { total += v }
        for t in outValues.indices { outValues[t] /= total }
        return SparseAffinities(rowStart: rowStart, columns: outColumns, values: outValues)
    }
}
