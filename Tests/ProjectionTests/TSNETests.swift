import Foundation
@testable import Projection
import Sampling
import XCTest

/// The t-SNE pieces on their own: exact neighbours, calibrated affinities, the Barnes–Hut tree,
/// the gradient against finite differences, and determinism.
final class TSNETests: XCTestCase {
    /// n points in d dimensions: a seeded mixture of 6 Gaussian clusters.
    func mixture(n: Int, d: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        let centers = (0..<(6 * d)).map { _ in Float(rng.nextGaussian()) }
        return (0..<n).flatMap { i in (0..<d).map { e in centers[(i % 6) * d + e] + 0.7 * Float(rng.nextGaussian()) } }
    }

    func testExactNeighborsMatchBruteForce() {
        let n = 700, d = 24, k = 15
        let x = mixture(n: n, d: d, seed: 3)
        let found = x.withUnsafeBufferPointer { NearestNeighbors.exact(points: $0, n: n, d: d, k: k, threads: 2) }
        for i in 0..<n {
            var brute: [(distance: Double, index: Int)] = []
            for j in 0..<n where j != i {
                var s = 0.0
                for e in 0..<d { let t = Double(x[i * d + e]) - Double(x[j * d + e]); s += t * t }
                brute.append((s.squareRoot(), j))
            }
            brute.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.index < $1.index }
            let expected: [Int] = brute.prefix(k).map { $0.index }
            let got: [Int] = found.indices[(i * k)..<((i + 1) * k)].map { Int($0) }
            XCTAssertEqual(got, expected, "point \(i)")
            for t in 0..<k { XCTAssertEqual(found.distances[i * k + t], brute[t].distance, accuracy: 1e-12) }
        }
    }

    func testAffinitiesHitThePerplexityAndAreSymmetric() {
        let n = 400, d = 10, k = 90
        let x = mixture(n: n, d: d, seed: 4)
        let neighbors = x.withUnsafeBufferPointer { NearestNeighbors.exact(points: $0, n: n, d: d, k: k) }
        let conditional = Affinities.conditional(neighbors, perplexity: 30)
        for i in 0..<n {
            var entropy = 0.0, sum = 0.0
            for t in 0..<k { let p = conditional.p[i * k + t]; sum += p; if p > 0 { entropy -= p * log(p) } }
            XCTAssertEqual(sum, 1, accuracy: 1e-12)
            XCTAssertEqual(exp(entropy), 30, accuracy: 30 * 1e-7, "point \(i)")
        }
        let p = Affinities.joint(neighbors, conditional: conditional.p)
        var total = 0.0
        var entries: [Int: Double] = [:]
        for i in 0..<n {
            let columns = p.columns[p.rowStart[i]..<p.rowStart[i + 1]]
            XCTAssertEqual(Array(columns), columns.sorted())
            XCTAssertEqual(Set(columns).count, columns.count)
            for at in p.rowStart[i]..<p.rowStart[i + 1] { total += p.values[at]; entries[i * n + Int(p.columns[at])] = p.values[at] }
        }
        XCTAssertEqual(total, 1, accuracy: 1e-12)
        for (key, v) in entries { XCTAssertEqual(entries[(key % n) * n + key / n] ?? -1, v, accuracy: 1e-18) }
    }

    /// With θ = 0 nothing is summarised: the tree's sums equal the direct ones.
    func testBarnesHutWithThetaZeroIsExact() {
        var rng = SplitMix64(seed: 5)
        let n = 500
        var y = (0..<(2 * n)).map { _ in 5 * rng.nextGaussian() }
        y[2 * 7] = y[2 * 3]; y[2 * 7 + 1] = y[2 * 3 + 1]   // two copies of one point
        y.withUnsafeBufferPointer { yp in
            let tree = QuadTree(yp, n: n)
            var stack: [Int32] = []
            for i in [0, 3, 7, 250, 499] {
                var fx = 0.0, fy = 0.0, z = 0.0
                for j in 0..<n where j != i {
                    let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                    let q = 1 / (1 + dx * dx + dy * dy)
                    z += q; fx += q * q * dx; fy += q * q * dy
                }
                let exact = tree.repulsion(of: i, y: yp, theta: 0, stack: &stack)
                XCTAssertEqual(exact.sumQ, z, accuracy: 1e-10 * z)
                XCTAssertEqual(exact.fx, fx, accuracy: 1e-12)
                XCTAssertEqual(exact.fy, fy, accuracy: 1e-12)
                let approximate = tree.repulsion(of: i, y: yp, theta: 0.5, stack: &stack)
                XCTAssertEqual(approximate.sumQ, z, accuracy: 0.02 * z)
            }
            XCTAssertEqual(Set(tree.order).count, n)
        }
    }

    /// The interpolated forces against the direct sums. At openTSNE's resolution (3 nodes per box
    /// of width ≤ 1) Z is within 1%; finer grids converge to the exact values, which shows the
    /// spreading, convolution and interpolation are right and only the resolution limits them.
    func testInterpolatedRepulsionConvergesToDirectSums() {
        var rng = SplitMix64(seed: 9)
        let n = 1500
        let y = (0..<(2 * n)).map { t in 8 * rng.nextGaussian() + (t % 4 == 0 ? 12 : 0) }
        var exactZ = 0.0, exactForces = [Double](repeating: 0, count: 2 * n)
        for i in 0..<n {
            for j in 0..<n where j != i {
                let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                let q = 1 / (1 + dx * dx + dy * dy)
                exactZ += q; exactForces[2 * i] += q * q * dx; exactForces[2 * i + 1] += q * q * dy
            }
        }
        let largest = exactForces.map(abs).max()!
        let coarse = InterpolatedRepulsion().compute(y, threads: 2)
        XCTAssertEqual(coarse.sumQ, exactZ, accuracy: 0.01 * exactZ)
        let fine = InterpolatedRepulsion(points: 5, minIntervals: 50, intervalsPerUnit: 4).compute(y, threads: 2)
        XCTAssertEqual(fine.sumQ, exactZ, accuracy: 1e-5 * exactZ)
        var worst = 0.0
        for t in 0..<(2 * n) { worst = max(worst, abs(fine.forces[t] - exactForces[t]) / largest) }
        XCTAssertLessThan(worst, 1e-3)
        XCTAssertEqual(InterpolatedRepulsion.smooth(121), 125)
        XCTAssertEqual(InterpolatedRepulsion.smooth(50), 50)
        XCTAssertEqual(InterpolatedRepulsion.smooth(11), 12)
    }

    /// ∂KL/∂y = 4 × the gradient (openTSNE's, without the 4), checked by central differences with θ = 0.
    func testGradientMatchesFiniteDifferences() {
        let n = 120, d = 8
        let x = mixture(n: n, d: d, seed: 6)
        let neighbors = x.withUnsafeBufferPointer { NearestNeighbors.exact(points: $0, n: n, d: d, k: 30) }
        let p = Affinities.joint(neighbors, conditional: Affinities.conditional(neighbors, perplexity: 10).p)
        var rng = SplitMix64(seed: 7)
        let y = (0..<(2 * n)).map { _ in 2 * rng.nextGaussian() }
        var gradient = [Double](repeating: 0, count: 2 * n)
        var exact = TSNEOptions()
        exact.method = .bh
        exact.theta = 0
        Gradient.compute(y, p: p, exaggeration: 1, options: exact, into: &gradient)
        let h = 1e-6
        for t in [0, 1, 17, 100, 2 * n - 1] {
            var plus = y, minus = y
            plus[t] += h; minus[t] -= h
            let numeric = (Gradient.klDivergence(plus, p: p, options: exact) - Gradient.klDivergence(minus, p: p, options: exact)) / (2 * h)
            XCTAssertEqual(4 * gradient[t], numeric, accuracy: 1e-6 + 1e-5 * abs(numeric), "coordinate \(t)")
        }
    }

    func testRunIsDeterministicAndSeparatesClusters() throws {
        let n = 360, d = 16
        let x = mixture(n: n, d: d, seed: 8)
        var options = TSNEOptions()
        options.earlyIterations = 60
        options.iterations = 90
        let a = try x.withUnsafeBufferPointer { try TSNE.run(points: $0, n: n, d: d, options: options) }
        let b = try x.withUnsafeBufferPointer { try TSNE.run(points: $0, n: n, d: d, options: options) }
        XCTAssertEqual(a.embedding, b.embedding)
        XCTAssertEqual(a.klDivergence, b.klDivergence)
        options.seed = 2
        let c = try x.withUnsafeBufferPointer { try TSNE.run(points: $0, n: n, d: d, options: options) }
        XCTAssertNotEqual(a.embedding, c.embedding)
        XCTAssertLessThan(a.klDivergence, a.klAfterEarlyExaggeration)
        let trust = x.withUnsafeBufferPointer { high in a.embedding.withUnsafeBufferPointer { ProjectionQuality.trustworthiness(high: high, d: d, low: $0, n: n) } }
        XCTAssertGreaterThan(trust, 0.9)
    }

    func testTooFewPointsIsAnError() {
        let x: [Float] = [0, 1, 2]
        XCTAssertThrowsError(try x.withUnsafeBufferPointer { try TSNE.run(points: $0, n: 3, d: 1, options: TSNEOptions()) }) {
            XCTAssertEqual("\($0)", "t-SNE needs at least 4 points (got 3)")
        }
    }
}
