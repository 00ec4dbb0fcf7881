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

/// C [m × n] = α·op(A)·op(B) + β·C, row-major, with C's rows split between the cores, each part
/// a single-threaded OpenBLAS call. OpenBLAS's own threads spin (sched_yield) after each call
/// while the attention and softmax loops want the same two cores; one pool, ours, avoids that.
enum GEMM {
    static let threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Makes OpenBLAS single-threaded in this process (the trainer's matrix products split themselves).
    static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

    static func multiply(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                         _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                         beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        let parts = m >= 64 ? min(threads, m / 32) : 1
        let chunk = (m + parts - 1) / parts
        let a = SendablePointer(UnsafeMutablePointer(mutating: a)), b = SendablePointer(UnsafeMutablePointer(mutating: b)), c = SendablePointer(c)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let start = part * chunk, rows = min(chunk, m - start)
            guard rows > 0 else { return }
            // Row `start` of op(A): a row of A, or a column of A when transposed.
            let aStart = transposeA ? a.value + start : a.value + start * lda
            onThisThread(transposeA, transposeB, rows, n, k, alpha, aStart, lda, b.value, ldb, beta, c.value + start * ldc, ldc)
        }
    }

    /// The same product on the calling thread (OpenBLAS is single-threaded here).
    @inline(__always)
    static func onThisThread(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                             _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        _ = singleThreadedBLAS
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// y = x·Wᵀ for a weight W [out × in] (PyTorch's and GGUF's layout).
enum Linear {
    /// y [n × out] = x [n × in] · Wᵀ.
    static func forward(_ x: UnsafePointer<Float>, rows n: Int, weight w: UnsafePointer<Float>, out: Int, in inWidth: Int,
                        into y: UnsafeMutablePointer<Float>) {
        GEMM.multiply(transposeA: false, transposeB: true, m: n, n: out, k: inWidth, x, lda: inWidth, w, ldb: inWidth, beta: 0, y, ldc: out)
    }

    /// dW [out × in] += dyᵀ · x; dx [n × in] = dy · W (+= when `accumulate`), skipped when nil.
    static func backward(_ dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, rows n: Int,
                         weight w: UnsafePointer<Float>, out: Int, in inWidth: Int,
                         weightGradient dw: UnsafeMutablePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?, accumulate: Bool = false) {
        GEMM.multiply(transposeA: true, transposeB: false, m: out, n: inWidth, k: n, dy, lda: out, x, ldb: inWidth, beta: 1, dw, ldc: inWidth)
        if let dx {
            GEMM.multiply(transposeA: false, transposeB: false, m: n, n: inWidth, k: out, dy, lda: out, w, ldb: inWidth,
                          beta: accumulate ? 1 : 0, dx, ldc: inWidth)
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
    /// q [n × H·hd], k and v [n × KVH·hd] → o [n × H·hd]; probabilities [H × n × window]. Per
    /// document and head: S = Q·Kᵀ/√hd [span × span] by BLAS, the causal mask, a row softmax, O = P·V.
    static func forward(_ l: AttentionLayout, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                        output o: UnsafeMutablePointer<Float>, probabilities p: UnsafeMutablePointer<Float>) {
        let hd = l.headDimension, d = l.heads * hd, kv = l.kvHeads * hd, group = l.heads / l.kvHeads
        let scale = 1 / Float(hd).squareRoot()
        let q = SendablePointer(UnsafeMutablePointer(mutating: q)), k = SendablePointer(UnsafeMutablePointer(mutating: k))
        let v = SendablePointer(UnsafeMutablePointer(mutating: v)), o = SendablePointer(o), p = SendablePointer(p)
        DispatchQueue.concurrentPerform(iterations: l.documents.count * l.heads) { job in
            let doc = l.documents[job / l.heads], h = job % l.heads, kvh = h / group
            let span = doc.count, w = l.window
            let ph = p.value + (h * l.rows + doc.start) * w                     // [span × w], row i of the document
            GEMM.onThisThread(false, true, span, span, hd, scale, q.value + doc.start * d + h * hd, d, k.value + doc.start * kv + kvh * hd, kv, 0, ph, w)
            for i in 0..<span {
                let row = ph + i * w
                var maxScore = -Float.infinity
                for t in 0...i { maxScore = max(maxScore, row[t]) }
                var total: Float = 0
                for t in 0...i { row[t] = expf(row[t] - maxScore); total += row[t] }
                let inv = 1 / total
                for t in 0...i { row[t] *= inv }
                for t in (i + 1)..<w { row[t] = 0 }                              // masked: later rows
            }
            GEMM.onThisThread(false, false, span, hd, span, 1, ph, w, v.value + doc.start * kv + kvh * hd, kv, 0, o.value + doc.start * d + h * hd, d)
        }
    }

    /// From do [n × H·hd]: dq [n × H·hd], dk and dv [n × KVH·hd] (all written, not added). Per
    /// document and key-value head (so one worker writes each dk, dv block): dP = dO·Vᵀ,
    /// dS = P ∘ (dP − rowsum(P ∘ dP)), dQ = dS·K/√hd, dK += dSᵀ·Q/√hd, dV += Pᵀ·dO.
    static func backward(_ l: AttentionLayout, outputGradient dout: UnsafePointer<Float>,
                         q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                         probabilities p: UnsafePointer<Float>,
                         dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) {
        let hd = l.headDimension, d = l.heads * hd, kv = l.kvHeads * hd, group = l.heads / l.kvHeads
        let scale = 1 / Float(hd).squareRoot()
        let dout = SendablePointer(UnsafeMutablePointer(mutating: dout)), q = SendablePointer(UnsafeMutablePointer(mutating: q))
        let k = SendablePointer(UnsafeMutablePointer(mutating: k)), v = SendablePointer(UnsafeMutablePointer(mutating: v))
        let p = SendablePointer(UnsafeMutablePointer(mutating: p))
        let dq = SendablePointer(dq), dk = SendablePointer(dk), dv = SendablePointer(dv)
        DispatchQueue.concurrentPerform(iterations: l.documents.count * l.kvHeads) { job in
            let doc = l.documents[job / l.kvHeads], kvh = job % l.kvHeads
            let span = doc.count, w = l.window
            var ds = [Float](repeating: 0, count: span * span)
            let kBlock = k.value + doc.start * kv + kvh * hd, vBlock = v.value + doc.start * kv + kvh * hd
            let dkBlock = dk.value + doc.start * kv + kvh * hd, dvBlock = dv.value + doc.start * kv + kvh * hd
            for (n, h) in ((kvh * group)..<((kvh + 1) * group)).enumerated() {
                let ph = p.value + (h * l.rows + doc.start) * w
                let doBlock = dout.value + doc.start * d + h * hd, qBlock = q.value + doc.start * d + h * hd
                let first: Float = n == 0 ? 0 : 1                                 // the group's first head writes, the rest add
                // dV [span × hd] (+)= Pᵀ·dO
                GEMM.onThisThread(true, false, span, hd, span, 1, ph, w, doBlock, d, first, dvBlock, kv)
                ds.withUnsafeMutableBufferPointer { dsp in
                    let s = dsp.baseAddress!
                    GEMM.onThisThread(false, true, span, span, hd, 1, doBlock, d, vBlock, kv, 0, s, span)       // dP
                    for i in 0..<span {
                        let pi = ph + i * w, si = s + i * span
                        var weighted: Float = 0
                        for t in 0...i { weighted += pi[t] * si[t] }
                        for t in 0...i { si[t] = pi[t] * (si[t] - weighted) }
                        for t in (i + 1)..<span { si[t] = 0 }
                    }
                    GEMM.onThisThread(false, false, span, hd, span, scale, s, span, kBlock, kv, 0, dq.value + doc.start * d + h * hd, d)
                    GEMM.onThisThread(true, false, span, hd, span, scale, s, span, qBlock, d, first, dkBlock, kv)
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
                    GEMM.multiply(transposeA: true, transposeB: false, m: v, n: d, k: rows, z, lda: v, h + start * d, ldb: d, beta: 1, dw, ldc: d)
                }
                if let dh {
                    GEMM.multiply(transposeA: false, transposeB: false, m: rows, n: d, k: v, z, lda: v, w, ldb: d, beta: 0, dh + start * d, ldc: d)
                }
            }
            start += rows
        }
        return total
    }
}
