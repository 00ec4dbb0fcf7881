import Foundation

/// t-SNE settings; the defaults are openTSNE 1.0.4's except the early momentum (0.5, as in van
/// der Maaten's and scikit-learn's schedule; openTSNE uses 0.8 throughout).
public struct TSNEOptions: Sendable {
    public var perplexity = 30.0
    /// Neighbours per point: min(N − 1, ⌊3 · perplexity⌋) unless set.
    public var neighbors: Int? = nil
    public var earlyExaggeration = 12.0
    public var earlyIterations = 250
    public var iterations = 500
    /// nil: "auto", N / exaggeration in each phase (openTSNE; scikit-learn's "auto" is the same
    /// step for its gradient, which it defines 4× larger).
    public var learningRate: Double? = nil
    public var earlyMomentum = 0.5
    public var momentum = 0.8
    /// How the repulsive forces are estimated: `.auto` takes Barnes–Hut below 10,000 points and
    /// interpolation from there (openTSNE's rule).
    public var method = RepulsionMethod.auto
    /// Barnes–Hut: cells whose side over distance is below θ are summarised.
    public var theta = 0.5
    /// Interpolation: nodes per box side, least boxes per side, boxes per unit of length (openTSNE's defaults).
    public var interpolationPoints = 3
    public var minIntervals = 50
    public var intervalsPerUnit = 1.0
    public var minGain = 0.01
    /// Steps longer than this are shortened to it (openTSNE's max_step_norm).
    public var maxStepNorm = 5.0
    public var seed: UInt64 = 1
    public var threads = 2

    public init() {}
}

public enum RepulsionMethod: String, CaseIterable, Sendable {
    case auto, bh, fft

    func resolved(points n: Int) -> RepulsionMethod { self != .auto ? self : (n < 10_000 ? .bh : .fft) }
}

/// What a run produced.
public struct TSNEResult: Sendable {
    /// [N × 2] coordinates, row-major.
    public var embedding: [Double]
    /// KL(P ‖ Q) of the final embedding.
    public var klDivergence: Double
    /// KL after the early-exaggeration phase (evaluated without exaggeration).
    public var klAfterEarlyExaggeration: Double
    public var seconds: (neighbors: Double, affinities: Double, optimization: Double)
}

/// t-SNE (van der Maaten & Hinton 2008) as openTSNE runs it: exact nearest neighbours,
/// perplexity-calibrated Gaussian affinities symmetrised over the kNN graph, PCA initialisation,
/// gradient descent with momentum and gains (first with early exaggeration), and the repulsive
/// forces by Barnes–Hut or by FFT-accelerated interpolation. Deterministic from the seed: every
/// sum is taken in a fixed order.
public enum TSNE {
    public static func run(points: UnsafeBufferPointer<Float>, n: Int, d: Int, options: TSNEOptions,
                           progress: ((_ phase: String, _ done: Int, _ total: Int) -> Void)? = nil) throws -> TSNEResult {
        guard n >= 4 else { throw ProjectionError("t-SNE needs at least 4 points (got \(n))") }
        let k = options.neighbors ?? min(n - 1, Int(3 * options.perplexity))
        guard k >= 1, k < n else { throw ProjectionError("neighbours must be in 1..<\(n) (got \(k))") }
        guard options.perplexity > 0, options.perplexity < Double(n) else {
            throw ProjectionError("perplexity must be above 0 and below the number of points (\(n))")
        }
        var clock = Date()
        progress?("neighbours", 0, n)
        let neighbors = NearestNeighbors.exact(points: points, n: n, d: d, k: k, threads: options.threads)
        let neighborSeconds = Date().timeIntervalSince(clock)
        clock = Date()
        let conditional = Affinities.conditional(neighbors, perplexity: options.perplexity)
        let p = Affinities.joint(neighbors, conditional: conditional.p)
        let affinitySeconds = Date().timeIntervalSince(clock)
        clock = Date()
        var y = try PCAInitialization.compute(points: points, n: n, d: d, seed: options.seed)
        var optimizer = GradientDescent(n: n)
        let total = options.earlyIterations + options.iterations
        optimizer.optimize(&y, p: p, iterations: options.earlyIterations, exaggeration: options.earlyExaggeration,
                           learningRate: options.learningRate ?? Double(n) / options.earlyExaggeration,
                           momentum: options.earlyMomentum, options: options) { progress?("optimise", $0, total) }
        let klEarly = Gradient.klDivergence(y, p: p, options: options)
        optimizer.optimize(&y, p: p, iterations: options.iterations, exaggeration: 1,
                           learningRate: options.learningRate ?? Double(n), momentum: options.momentum,
                           options: options) { progress?("optimise", options.earlyIterations + $0, total) }
        let kl = Gradient.klDivergence(y, p: p, options: options)
        return TSNEResult(embedding: y, klDivergence: kl, klAfterEarlyExaggeration: klEarly,
                          seconds: (neighborSeconds, affinitySeconds, Date().timeIntervalSince(clock)))
    }
}

/// openTSNE's gradient_descent: gains grow by 0.2 where the gradient's sign differs from the last
/// update's and shrink to 0.8·gain + min_gain where it agrees; update = momentum·update −
/// rate·gains·gradient, shortened to maxStepNorm; the embedding is re-centred after every step.
/// Gains and updates carry over from one phase to the next.
struct GradientDescent {
    var gains: [Double]
    var update: [Double]

    init(n: Int) {
        gains = [Double](repeating: 1, count: 2 * n)
        update = [Double](repeating: 0, count: 2 * n)
    }

    mutating func optimize(_ y: inout [Double], p: SparseAffinities, iterations: Int, exaggeration: Double, learningRate: Double,
                           momentum: Double, options: TSNEOptions, progress: (Int) -> Void) {
        let n = y.count / 2
        var gradient = [Double](repeating: 0, count: 2 * n)
        for iteration in 0..<iterations {
            Gradient.compute(y, p: p, exaggeration: exaggeration, options: options, into: &gradient)
            for t in 0..<(2 * n) {
                let g = gradient[t], u = update[t]
                let flipped = sign(u) != sign(g)
                gains[t] = flipped ? gains[t] + 0.2 : gains[t] * 0.8 + options.minGain
                update[t] = momentum * u - learningRate * gains[t] * g
            }
            var meanX = 0.0, meanY = 0.0
            for i in 0..<n {
                let norm = (update[2 * i] * update[2 * i] + update[2 * i + 1] * update[2 * i + 1]).squareRoot()
                if norm > options.maxStepNorm {
                    update[2 * i] = update[2 * i] / norm * options.maxStepNorm
                    update[2 * i + 1] = update[2 * i + 1] / norm * options.maxStepNorm
                }
                y[2 * i] += update[2 * i]; y[2 * i + 1] += update[2 * i + 1]
                meanX += y[2 * i]; meanY += y[2 * i + 1]
            }
            meanX /= Double(n); meanY /= Double(n)
            for i in 0..<n { y[2 * i] -= meanX; y[2 * i + 1] -= meanY }
            if (iteration + 1) % 50 == 0 { progress(iteration + 1) }
        }
    }

    private func sign(_ v: Double) -> Int { v > 0 ? 1 : (v < 0 ? -1 : 0) }
}

/// The KL gradient, as openTSNE states it (without the factor 4, which its learning rate absorbs):
/// ∂/∂y_i = Σ_j α p_ij q_ij (y_i − y_j) − Σ_j q_ij² (y_i − y_j) / Z, with q_ij = 1/(1 + ‖y_i − y_j‖²)
/// and Z = Σ_{k≠l} q_kl; the first sum over P's nonzeros, the second by Barnes–Hut.
enum Gradient {
    static let chunk = 2048

    static func compute(_ y: [Double], p: SparseAffinities, exaggeration: Double, options: TSNEOptions, into gradient: inout [Double]) {
        let (repulsive, z) = repulsion(y, options: options)
        let n = y.count / 2
        let chunks = (n + chunk - 1) / chunk
        // Pointers are taken once, outside the workers, which write disjoint slots.
        y.withUnsafeBufferPointer { yp in
            gradient.withUnsafeMutableBufferPointer { g in
                parallelChunks(chunks, threads: options.threads) { c in
                    for i in (c * chunk)..<min(n, (c + 1) * chunk) {
                        var ax = 0.0, ay = 0.0
                        let xi = yp[2 * i], yi = yp[2 * i + 1]
                        for at in p.rowStart[i]..<p.rowStart[i + 1] {
                            let j = Int(p.columns[at])
                            let dx = xi - yp[2 * j], dy = yi - yp[2 * j + 1]
                            let q = 1 / (1 + dx * dx + dy * dy)
                            let w = exaggeration * p.values[at] * q
                            ax += w * dx; ay += w * dy
                        }
                        g[2 * i] = ax - repulsive[2 * i] / z
                        g[2 * i + 1] = ay - repulsive[2 * i + 1] / z
                    }
                }
            }
        }
    }

    /// KL(P ‖ Q) = Σ p_ij log(p_ij / q_ij) + log Z over P's nonzeros (q unnormalised), Z by the
    /// same method as the gradient's.
    static func klDivergence(_ y: [Double], p: SparseAffinities, options: TSNEOptions) -> Double {
        let n = y.count / 2
        let z = repulsion(y, options: options).sumQ
        let chunks = (n + chunk - 1) / chunk
        var partialKL = [Double](repeating: 0, count: chunks)
        y.withUnsafeBufferPointer { yp in
            partialKL.withUnsafeMutableBufferPointer { partial in
                parallelChunks(chunks, threads: options.threads) { c in
                    var kl = 0.0
                    for i in (c * chunk)..<min(n, (c + 1) * chunk) {
                        for at in p.rowStart[i]..<p.rowStart[i + 1] {
                            let j = Int(p.columns[at])
                            let dx = yp[2 * i] - yp[2 * j], dy = yp[2 * i + 1] - yp[2 * j + 1]
                            let q = 1 / (1 + dx * dx + dy * dy)
                            let v = p.values[at]
                            kl += v * log(max(v, Double.ulpOfOne) / max(q, Double.ulpOfOne))
                        }
                    }
                    partial[c] = kl
                }
            }
        }
        var kl = 0.0, sumP = 0.0
        for c in 0..<chunks { kl += partialKL[c] }
        for v in p.values { sumP += v }
        return kl + sumP * log(z + Double.ulpOfOne)
    }

    /// Unnormalised repulsive forces Σ_j q_ij² (y_i − y_j) [2n] and Z = Σ_{i≠j} q_ij, by the
    /// chosen method.
    static func repulsion(_ y: [Double], options: TSNEOptions) -> (forces: [Double], sumQ: Double) {
        let n = y.count / 2
        if options.method.resolved(points: n) == .fft {
            let interpolation = InterpolatedRepulsion(points: options.interpolationPoints, minIntervals: options.minIntervals,
                                                      intervalsPerUnit: options.intervalsPerUnit)
            return interpolation.compute(y, threads: options.threads)
        }
        let tree = y.withUnsafeBufferPointer { QuadTree($0, n: n) }
        let chunks = (n + chunk - 1) / chunk
        var partialZ = [Double](repeating: 0, count: chunks)
        var forces = [Double](repeating: 0, count: 2 * n)
        y.withUnsafeBufferPointer { yp in
            forces.withUnsafeMutableBufferPointer { r in
                partialZ.withUnsafeMutableBufferPointer { partial in
                    parallelChunks(chunks, threads: options.threads) { c in
                        var stack: [Int32] = []
                        stack.reserveCapacity(256)
                        var z = 0.0
                        // In the tree's spatial order, for locality; results go to each point's own slot.
                        for t in (c * chunk)..<min(n, (c + 1) * chunk) {
                            let i = Int(tree.order[t])
                            let f = tree.repulsion(of: i, y: yp, theta: options.theta, stack: &stack)
                            r[2 * i] = f.fx; r[2 * i + 1] = f.fy
                            z += f.sumQ
                        }
                        partial[c] = z
                    }
                }
            }
        }
        var z = 0.0
        for v in partialZ { z += v }
        return (forces, z)
    }

    /// Runs `body` for chunk indices 0..<chunks on `threads` workers; which worker runs a chunk
    /// does not matter (each chunk writes its own slots).
    static func parallelChunks(_ chunks: Int, threads: Int, _ body: (Int) -> Void) {
        let lock = NSLock()
        var next = 0
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, chunks))) { _ in
            while true {
                lock.lock(); let c = next; next += 1; lock.unlock()
                guard c < chunks else { return }
                body(c)
            }
        }
    }
}
