import COpenBLAS
import Foundation

// The student's layers, each a forward and a backward over plain float32 buffers (row-major,
// shapes in the comments). Backward functions ADD into parameter gradients (so micro-batches
// accumulate) and WRITE input gradients. Matrix products go to BLAS; the rest are plain loops.

/// A raw pointer handed to concurrent workers that write disjoint parts of it.
struct SendablePointer<T>: @unchecked Sendable {
    let value: UnsafeMutablePointer<T>
    init(_ value: UnsafeMutablePointer<T>) { self.value = value }
}

/// y = x·Wᵀ for a weight W [out × in] (PyTorch's and GGUF's layout).
enum Linear {
    /// y [n × out] = x [n × in] · Wᵀ.
    static func forward(_ x: UnsafePointer<Float>, rows n: Int, weight w: UnsafePointer<Float>, out: Int, in inWidth: Int,
                        into y: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(out), Int32(inWidth), 1,
                    x, Int32(inWidth), w, Int32(inWidth), 0, y, Int32(out))
    }

    /// dW [out × in] += dyᵀ · x; dx [n × in] = dy · W (+= when `accumulate`), skipped when nil.
    static func backward(_ dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, rows n: Int,
                         weight w: UnsafePointer<Float>, out: Int, in inWidth: Int,
                         weightGradient dw: UnsafeMutablePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?, accumulate: Bool = false) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(out), Int32(inWidth), Int32(n), 1,
                    dy, Int32(out), x, Int32(inWidth), 1, dw, Int32(inWidth))
        if let dx {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(inWidth), Int32(out), 1,
                        dy, Int32(out), w, Int32(inWidth), accumulate ? 1 : 0, dx, Int32(inWidth))
        }
    }
}

/// y = x / √(mean(x²) + ε) · g, row by row.
enum RMSNorm {
    /// y [n × d]; inverse [n] keeps 1/√(mean(x²) + ε) for the backward pass.
    static func forward(_ x: UnsafePointer<Float>, gain g: UnsafePointer<Float>, rows n: Int, width d: Int, epsilon: Float,
                        into y: UnsafeMutablePointer<Float>, inverse: UnsafeMutablePointer<Float>) {
        for r in 0..<n {
            let row = x + r * d
            var sum: Float = 0
            for j in 0..<d { sum += row[j] * row[j] }
            let inv = 1 / (sum / Float(d) + epsilon).squareRoot()
            inverse[r] = inv
            for j in 0..<d { y[r * d + j] = row[j] * inv * g[j] }
        }
    }

    /// dg [d] += Σ_rows dy·x·inv; dx [n × d] = inv·(dy·g) − x·inv³/d · Σ_j dy_j g_j x_j.
    static func backward(_ dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, gain g: UnsafePointer<Float>,
                         inverse: UnsafePointer<Float>, rows n: Int, width d: Int,
                         gainGradient dg: UnsafeMutablePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>) {
        for r in 0..<n {
            let inv = inverse[r]
            let xr = x + r * d, dyr = dy + r * d
            var dot: Float = 0
            for j in 0..<d {
                dot += dyr[j] * g[j] * xr[j]
                dg[j] += dyr[j] * xr[j] * inv
            }
            let c = dot * inv * inv * inv / Float(d)
            for j in 0..<d { dx[r * d + j] = inv * dyr[j] * g[j] - c * xr[j] }
        }
    }
}

/// Rotary positions on adjacent pairs (ggml's "normal" mode, the layout GGUF files hold Q and K
/// in): each head's (x[2i], x[2i+1]) turns by position · base^(−2i/headDim).
struct RotaryTable: Sendable {
    let half: Int
    let cosines: [Float]   // [position × half]
    let sines: [Float]

    init(headDimension: Int, positions: Int, base: Float) {
        half = headDimension / 2
        var c = [Float](repeating: 0, count: positions * half), s = c
        for p in 0..<positions {
            for i in 0..<half {
                // The angle in double, so the table does not depend on how float rounds a power.
                let theta = Double(p) * pow(Double(base), -2 * Double(i) / Double(headDimension))
                c[p * half + i] = Float(cos(theta))
                s[p * half + i] = Float(sin(theta))
            }
        }
        cosines = c; sines = s
    }

    /// Rotates rows x [n × heads·headDim] in place; `inverse` turns the other way (the backward pass).
    func apply(_ x: UnsafeMutablePointer<Float>, rows n: Int, heads: Int, positions: [Int32], inverse: Bool = false) {
        let hd = half * 2, width = heads * hd
        cosines.withUnsafeBufferPointer { cp in
            sines.withUnsafeBufferPointer { sp in
                for r in 0..<n {
                    let base = Int(positions[r]) * half
                    for h in 0..<heads {
                        let v = x + r * width + h * hd
                        for i in 0..<half {
                            let c = cp[base + i], s = inverse ? -sp[base + i] : sp[base + i]
                            let a = v[2 * i], b = v[2 * i + 1]
                            v[2 * i] = a * c - b * s
                            v[2 * i + 1] = a * s + b * c
                        }
                    }
                }
            }
        }
    }
}

/// Grouped-query attention where row i sees rows documentStart[i]...i (its own packed
/// document, causally). Work is split by (document, key-value head), so the backward pass's
/// key and value gradients are written by one worker each.
struct AttentionLayout {
    let rows: Int
    let heads: Int
    let kvHeads: Int
    let headDimension: Int
    /// The longest document: probabilities are kept in [heads × rows × window].
    let window: Int
    /// (first row, row count) of every document.
    let documents: [(start: Int, count: Int)]
    let documentStart: [Int32]

    init(documentStart: [Int32], heads: Int, kvHeads: Int, headDimension: Int) {
        rows = documentStart.count
        self.heads = heads; self.kvHeads = kvHeads; self.headDimension = headDimension
        self.documentStart = documentStart
        var docs: [(start: Int, count: Int)] = []
        for (i, s) in documentStart.enumerated() {
            if Int(s) == i { docs.append((i, 1)) } else { docs[docs.count - 1].count += 1 }
        }
        documents = docs
        window = docs.map(\.count).max() ?? 1
    }

    var probabilityCount: Int { heads * rows * window }
}

enum Attention {
    /// q [n × H·hd], k and v [n × KVH·hd] → o [n × H·hd]; probabilities [H × n × window].
    static func forward(_ l: AttentionLayout, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                        output o: UnsafeMutablePointer<Float>, probabilities p: UnsafeMutablePointer<Float>) {
        let hd = l.headDimension, d = l.heads * hd, kv = l.kvHeads * hd, group = l.heads / l.kvHeads
        let scale = 1 / Float(hd).squareRoot()
        let q = SendablePointer(UnsafeMutablePointer(mutating: q)), k = SendablePointer(UnsafeMutablePointer(mutating: k))
        let v = SendablePointer(UnsafeMutablePointer(mutating: v)), o = SendablePointer(o), p = SendablePointer(p)
        DispatchQueue.concurrentPerform(iterations: l.documents.count * l.kvHeads) { job in
            let doc = l.documents[job / l.kvHeads], kvh = job % l.kvHeads
            for h in (kvh * group)..<((kvh + 1) * group) {
                for i in doc.start..<(doc.start + doc.count) {
                    let qi = q.value + i * d + h * hd
                    let pi = p.value + (h * l.rows + i) * l.window
                    let span = i - doc.start + 1
                    var maxScore = -Float.infinity
                    for t in 0..<span {
                        let kt = k.value + (doc.start + t) * kv + kvh * hd
                        var s: Float = 0
                        for j in 0..<hd { s += qi[j] * kt[j] }
                        s *= scale
                        pi[t] = s
                        maxScore = max(maxScore, s)
                    }
                    var total: Float = 0
                    for t in 0..<span { pi[t] = expf(pi[t] - maxScore); total += pi[t] }
                    let inv = 1 / total
                    let oi = o.value + i * d + h * hd
                    for j in 0..<hd { oi[j] = 0 }
                    for t in 0..<span {
                        pi[t] *= inv
                        let w = pi[t], vt = v.value + (doc.start + t) * kv + kvh * hd
                        for j in 0..<hd { oi[j] += w * vt[j] }
                    }
                }
            }
        }
    }

    /// From do [n × H·hd]: dq [n × H·hd], dk and dv [n × KVH·hd] (all written, not added).
    static func backward(_ l: AttentionLayout, outputGradient dout: UnsafePointer<Float>,
                         q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                         probabilities p: UnsafePointer<Float>,
                         dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) {
        let hd = l.headDimension, d = l.heads * hd, kv = l.kvHeads * hd, group = l.heads / l.kvHeads
        let scale = 1 / Float(hd).squareRoot()
        dk.update(repeating: 0, count: l.rows * kv)
        dv.update(repeating: 0, count: l.rows * kv)
        let dout = SendablePointer(UnsafeMutablePointer(mutating: dout)), q = SendablePointer(UnsafeMutablePointer(mutating: q))
        let k = SendablePointer(UnsafeMutablePointer(mutating: k)), v = SendablePointer(UnsafeMutablePointer(mutating: v))
        let p = SendablePointer(UnsafeMutablePointer(mutating: p))
        let dq = SendablePointer(dq), dk = SendablePointer(dk), dv = SendablePointer(dv)
        DispatchQueue.concurrentPerform(iterations: l.documents.count * l.kvHeads) { job in
            let doc = l.documents[job / l.kvHeads], kvh = job % l.kvHeads
            var ds = [Float](repeating: 0, count: l.window)
            for h in (kvh * group)..<((kvh + 1) * group) {
                for i in doc.start..<(doc.start + doc.count) {
                    let span = i - doc.start + 1
                    let pi = p.value + (h * l.rows + i) * l.window
                    let doi = dout.value + i * d + h * hd, qi = q.value + i * d + h * hd
                    // dP_t = do_i·v_t; dS_t = P_t (dP_t − Σ P dP).
                    var weighted: Float = 0
                    for t in 0..<span {
                        let vt = v.value + (doc.start + t) * kv + kvh * hd
                        var s: Float = 0
                        for j in 0..<hd { s += doi[j] * vt[j] }
                        ds[t] = s
                        weighted += s * pi[t]
                    }
                    let dqi = dq.value + i * d + h * hd
                    for j in 0..<hd { dqi[j] = 0 }
                    for t in 0..<span {
                        let row = doc.start + t
                        let g = pi[t] * (ds[t] - weighted) * scale
                        let kt = k.value + row * kv + kvh * hd
                        let dkt = dk.value + row * kv + kvh * hd, dvt = dv.value + row * kv + kvh * hd
                        let w = pi[t]
                        for j in 0..<hd {
                            dqi[j] += g * kt[j]
                            dkt[j] += g * qi[j]
                            dvt[j] += w * doi[j]
                        }
                    }
                }
            }
        }
    }
}

/// a = silu(gate) · up, silu(z) = z·σ(z).
enum SwiGLU {
    static func forward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, into a: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let z = gate[i]
            a[i] = z / (1 + expf(-z)) * up[i]
        }
    }

    /// dgate = da·up·σ(z)(1 + z(1 − σ(z))), dup = da·silu(z).
    static func backward(_ da: UnsafePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int,
                         gateGradient dgate: UnsafeMutablePointer<Float>, upGradient dup: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let z = gate[i]
            let sigma = 1 / (1 + expf(-z))
            dgate[i] = da[i] * up[i] * sigma * (1 + z * (1 - sigma))
            dup[i] = da[i] * z * sigma
        }
    }
}

/// The output head and cross-entropy, fused: logits = h·Wᵀ for the rows with a target,
/// loss = Σ −log softmax(logits)[target], and the gradients of `scale` · loss.
enum SoftmaxCrossEntropy {
    /// Rows per BLAS call, so the logits of a long batch of a 49K vocabulary stay ~50 MB.
    static let chunkRows = 256

    /// h [m × d] → loss sum (double); dh [m × d] written and dW [V × d] added when `weightGradient` is given.
    static func forwardBackward(_ h: UnsafePointer<Float>, rows m: Int, width d: Int, weight w: UnsafePointer<Float>, vocabulary v: Int,
                                targets: [Int32], scale: Float,
                                weightGradient dw: UnsafeMutablePointer<Float>?, inputGradient dh: UnsafeMutablePointer<Float>?) -> Double {
        var total = 0.0
        var logits = [Float](repeating: 0, count: min(m, chunkRows) * v)
        var start = 0
        while start < m {
            let rows = min(chunkRows, m - start)
            logits.withUnsafeMutableBufferPointer { lp in
                let z = lp.baseAddress!
                Linear.forward(h + start * d, rows: rows, weight: w, out: v, in: d, into: z)
                var losses = [Double](repeating: 0, count: rows)
                let zp = SendablePointer(z)
                losses.withUnsafeMutableBufferPointer { lossp in
                    let lossPointer = SendablePointer(lossp.baseAddress!)
                    let parts = min(rows, 8)
                    DispatchQueue.concurrentPerform(iterations: parts) { part in
                        for r in stride(from: part, to: rows, by: parts) {
                            let row = zp.value + r * v
                            var maxLogit = -Float.infinity
                            for j in 0..<v { maxLogit = max(maxLogit, row[j]) }
                            let target = Int(targets[start + r])
                            let targetLogit = row[target]
                            var sum = 0.0
                            for j in 0..<v { let e = expf(row[j] - maxLogit); row[j] = e; sum += Double(e) }
                            lossPointer.value[r] = log(sum) - Double(targetLogit - maxLogit)
                            // dlogits = scale · (softmax − onehot)
                            let inv = Float(1 / sum) * scale
                            for j in 0..<v { row[j] *= inv }
                            row[target] -= scale
                        }
                    }
                }
                total += losses.reduce(0, +)
                if let dw {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(v), Int32(d), Int32(rows), 1,
                                z, Int32(v), h + start * d, Int32(d), 1, dw, Int32(d))
                }
                if let dh {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(d), Int32(v), 1,
                                z, Int32(v), w, Int32(d), 0, dh + start * d, Int32(d))
                }
            }
            start += rows
        }
        return total
    }
}
