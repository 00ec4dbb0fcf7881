import COpenBLAS
import Foundation
import Sampling

/// openTSNE's default initialisation: the first two principal components, scaled so the first
/// has standard deviation 1e-4, plus Gaussian jitter of 1% of that.
public enum PCAInitialization {
    /// [n × 2] in double. Components are the top eigenvectors of the covariance (computed in
    /// double, blocks of rows at a time), each with its largest-magnitude entry made positive
    /// (scikit-learn's svd_flip on the components, which fixes the signs openTSNE gets).
    public static func compute(points: UnsafeBufferPointer<Float>, n: Int, d: Int, seed: UInt64, jitter: Bool = true) throws -> [Double] {
        // Column means, then covariance C [d × d] = Σ (x − μ)(x − μ)ᵀ, upper triangle by dsyrk.
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(points[i * d + j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        var covariance = [Double](repeating: 0, count: d * d)
        let block = 4096
        var centered = [Double](repeating: 0, count: block * d)
        var r0 = 0
        while r0 < n {
            let rows = min(block, n - r0)
            for r in 0..<rows { for j in 0..<d { centered[r * d + j] = Double(points[(r0 + r) * d + j]) - mean[j] } }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(rows), 1, centered, Int32(d), 1, &covariance, Int32(d))
            r0 += rows
        }
        // Eigenvectors: LAPACK is column-major, so the row-major upper triangle is its lower one.
        var eigenvalues = [Double](repeating: 0, count: d)
        var info: Int32 = 0, size = Int32(d), lwork: Int32 = -1
        var query = 0.0
        dsyev_("V", "L", &size, &covariance, &size, &eigenvalues, &query, &lwork, &info, 1, 1)
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: Int(lwork))
        dsyev_("V", "L", &size, &covariance, &size, &eigenvalues, &work, &lwork, &info, 1, 1)
        guard info == 0 else { throw ProjectionError("the covariance eigensolver (LAPACK dsyev) failed with info \(info)") }
        // Column-major output: eigenvector c is covariance[c*d ..< (c+1)*d], eigenvalues ascending.
        var components: [[Double]] = []
        for c in [d - 1, d - 2] where c >= 0 {
            var v = Array(covariance[(c * d)..<((c + 1) * d)])
            var peak = 0
            for j in 0..<d where abs(v[j]) > abs(v[peak]) { peak = j }
            if v[peak] < 0 { for j in 0..<d { v[j] = -v[j] } }
            components.append(v)
        }
        while components.count < 2 { components.append([Double](repeating: 0, count: d)) }
        var y = [Double](repeating: 0, count: n * 2)
        for i in 0..<n {
            var a = 0.0, b = 0.0
            for j in 0..<d {
                let x = Double(points[i * d + j]) - mean[j]
                a += x * components[0][j]; b += x * components[1][j]
            }
            y[2 * i] = a; y[2 * i + 1] = b
        }
        // Scale: the first coordinate's population standard deviation becomes 1e-4.
        let sd = standardDeviation(y, column: 0)
        let scale = sd > 0 ? 1e-4 / sd : 1
        for t in y.indices { y[t] *= scale }
        if jitter {
            let jitterSD = standardDeviation(y, column: 0) * 0.01
            var rng = SplitMix64(seed: seed)
            for t in y.indices { y[t] += jitterSD * rng.nextGaussian() }
        }
        return y
    }

    static func standardDeviation(_ y: [Double], column: Int) -> Double {
        let n = y.count / 2
        var mean = 0.0
        for i in 0..<n { mean += y[2 * i + column] }
        mean /= Double(n)
        var v = 0.0
        for i in 0..<n { let e = y[2 * i + column] - mean; v += e * e }
        return (v / Double(n)).squareRoot()
    }
}

public struct ProjectionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
