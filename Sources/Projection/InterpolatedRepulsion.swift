import CFFTW
import Foundation

/// t-SNE's repulsive forces by FFT-accelerated interpolation (FIt-SNE, Linderman et al. 2019, as
/// openTSNE runs it in 2-D): the square around all points is cut into boxes at most
/// `1 / intervalsPerUnit` wide (at least `minIntervals` per side), each with `points`² equispaced
/// interpolation nodes. Per point, four charges (1, x, y, x² + y²) are spread onto the nodes with
/// Lagrange weights; the kernel (1 + ‖Δ‖²)⁻² between nodes is Toeplitz, so the node potentials are
/// one circulant convolution per charge (real 2-D FFTs through FFTW); the potentials are
/// interpolated back with the same weights. Then, with φ the four potentials at y_i,
/// Σ_j q_ij² (y_i − y_j) = (x φ₀ − φ₁, y φ₀ − φ₂) and Σ_j q_ij = Σ_i [(1 + ‖y_i‖²) φ₀ − 2(x φ₁ + y φ₂) + φ₃] − N
/// (q² (1 + d²) = q; the N self-terms are 1 each).
struct InterpolatedRepulsion {
    var points = 3
    var minIntervals = 50
    var intervalsPerUnit = 1.0

    /// Forces [2n] (unnormalised Σ_j q_ij² (y_i − y_j)) and Z = Σ_{i≠j} q_ij.
    func compute(_ y: [Double], threads: Int) -> (forces: [Double], sumQ: Double) {
        let n = y.count / 2
        var low = Double.infinity, high = -Double.infinity
        for v in y { low = min(low, v); high = max(high, v) }
        let span = max(high - low, 1e-12)
        let boxes = Self.smooth(max(minIntervals, Int(span * intervalsPerUnit)))
        let boxWidth = span / Double(boxes)
        let p = points
        let m = boxes * p            // nodes per side
        let spacing = boxWidth / Double(p)

        // Per point: its box and the p Lagrange weights in each direction.
        let nodes = (0..<p).map { (Double($0) + 0.5) / Double(p) }
        var denominators = [Double](repeating: 1, count: p)
        for a in 0..<p { for b in 0..<p where b != a { denominators[a] *= nodes[a] - nodes[b] } }
        var boxX = [Int32](repeating: 0, count: n), boxY = [Int32](repeating: 0, count: n)
        var weightX = [Double](repeating: 0, count: n * p), weightY = [Double](repeating: 0, count: n * p)
        for i in 0..<n {
            for (coordinate, boxOut, weights) in [(y[2 * i], 0, 0), (y[2 * i + 1], 1, 1)] {
                let scaled = (coordinate - low) / boxWidth
                let b = min(Int(scaled), boxes - 1)
                let u = scaled - Double(b)
                for a in 0..<p {
                    var w = 1.0
                    for c in 0..<p where c != a { w *= u - nodes[c] }
                    if weights == 0 { weightX[i * p + a] = w / denominators[a] } else { weightY[i * p + a] = w / denominators[a] }
                }
                if boxOut == 0 { boxX[i] = Int32(b) } else { boxY[i] = Int32(b) }
            }
        }

        // Charges spread onto the m × m nodes (row = x node, column = y node).
        var grids = [[Double]](repeating: [Double](repeating: 0, count: m * m), count: 4)
        for i in 0..<n {
            let xi = y[2 * i], yi = y[2 * i + 1]
            let charges = [1, xi, yi, xi * xi + yi * yi]
            let gx0 = Int(boxX[i]) * p, gy0 = Int(boxY[i]) * p
            for a in 0..<p {
                for b in 0..<p {
                    let w = weightX[i * p + a] * weightY[i * p + b]
                    let at = (gx0 + a) * m + gy0 + b
                    for c in 0..<4 { grids[c][at] += w * charges[c] }
                }
            }
        }

        let potentials = Self.convolve(grids, m: m, spacing: spacing, threads: threads)

        // Back to the points, and the sums.
        var forces = [Double](repeating: 0, count: 2 * n)
        var sumQ = 0.0
        for i in 0..<n {
            var phi = (0.0, 0.0, 0.0, 0.0)
            let gx0 = Int(boxX[i]) * p, gy0 = Int(boxY[i]) * p
            for a in 0..<p {
                for b in 0..<p {
                    let w = weightX[i * p + a] * weightY[i * p + b]
                    let at = (gx0 + a) * m + gy0 + b
                    phi.0 += w * potentials[0][at]; phi.1 += w * potentials[1][at]
                    phi.2 += w * potentials[2][at]; phi.3 += w * potentials[3][at]
                }
            }
            let xi = y[2 * i], yi = y[2 * i + 1]
            sumQ += (1 + xi * xi + yi * yi) * phi.0 - 2 * (xi * phi.1 + yi * phi.2) + phi.3
            forces[2 * i] = xi * phi.0 - phi.1
            forces[2 * i + 1] = yi * phi.0 - phi.2
        }
        return (forces, sumQ - Double(n))
    }

    /// The smallest number ≥ n whose prime factors are 2, 3, 5 and 7: FFT sizes FFTW does fast.
    static func smooth(_ n: Int) -> Int {
        var candidate = max(1, n)
        while true {
            var r = candidate
            for f in [2, 3, 5, 7] { while r % f == 0 { r /= f } }
            if r == 1 { return candidate }
            candidate += 1
        }
    }

    /// potential_c[g] = Σ_g' K(g − g') grid_c[g'] for the four charge grids, by zero-padding to
    /// 2m × 2m and multiplying spectra (the kernel's once, shared).
    static func convolve(_ grids: [[Double]], m: Int, spacing: Double, threads: Int) -> [[Double]] {
        let size = 2 * m
        let half = size / 2 + 1            // r2c output columns
        let real = size * size, spectrum = size * half
        // Plans are made here, on one thread (FFTW's planner is not thread-safe); executing a
        // plan on other arrays of the same shape and alignment is.
        let kernelIn = fftw_alloc_real(real)!, kernelOut = fftw_alloc_complex(spectrum)!
        defer { fftw_free(kernelIn); fftw_free(kernelOut) }
        let forward = fftw_plan_dft_r2c_2d(Int32(size), Int32(size), kernelIn, kernelOut, FFTW_ESTIMATE)!
        let backward = fftw_plan_dft_c2r_2d(Int32(size), Int32(size), kernelOut, kernelIn, FFTW_ESTIMATE)!
        defer { fftw_destroy_plan(forward); fftw_destroy_plan(backward) }

        // The kernel at every offset, wrapped: index i stands for offset i (i < m) or i − 2m (i > m).
        for i in 0..<size {
            let di = i < m ? Double(i) : (i == m ? .infinity : Double(i - size))
            for j in 0..<size {
                let dj = j < m ? Double(j) : (j == m ? .infinity : Double(j - size))
                let d2 = (di * di + dj * dj) * spacing * spacing
                let q = d2.isFinite ? 1 / (1 + d2) : 0
                kernelIn[i * size + j] = q * q
            }
        }
        fftw_execute(forward)

        var out = [[Double]](repeating: [], count: 4)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, 4))) { worker in
            let input = fftw_alloc_real(real)!, transformed = fftw_alloc_complex(spectrum)!
            defer { fftw_free(input); fftw_free(transformed) }
            var c = worker
            while c < 4 {
                input.update(repeating: 0, count: real)
                grids[c].withUnsafeBufferPointer { g in
                    for r in 0..<m { (input + r * size).update(from: g.baseAddress! + r * m, count: m) }
                }
                fftw_execute_dft_r2c(forward, input, transformed)
                for t in 0..<spectrum {
                    let a = transformed[t], b = kernelOut[t]
                    transformed[t] = (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
                }
                fftw_execute_dft_c2r(backward, transformed, input)
                var potential = [Double](repeating: 0, count: m * m)
                let scale = 1 / Double(real)
                for r in 0..<m { for s in 0..<m { potential[r * m + s] = input[r * size + s] * scale } }
                lock.lock(); out[c] = potential; lock.unlock()
                c += max(1, min(threads, 4))
            }
        }
        return out
    }
}
