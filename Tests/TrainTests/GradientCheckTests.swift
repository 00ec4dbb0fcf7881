import Sampling
@testable import Train
import XCTest

/// Every layer's backward pass against central finite differences of its forward pass:
/// loss = Σ output · R for a fixed random R, perturbing inputs and parameters one at a time.
final class GradientCheckTests: XCTestCase {
    var rng = SplitMix64(seed: 7)

    func random(_ n: Int, scale: Double = 1) -> [Float] { (0..<n).map { _ in Float(rng.nextGaussian() * scale) } }

    /// Compares `analytic` with (f(x + h) − f(x − h)) / 2h at up to 48 indices of x.
    func check(_ name: String, _ x: [Float], analytic: [Float], step h: Float = 1e-2, tolerance: Double = 2e-3,
               file: StaticString = #filePath, line: UInt = #line, _ f: ([Float]) -> Double) {
        XCTAssertEqual(x.count, analytic.count, name, file: file, line: line)
        let scale = max(1e-3, analytic.map { Double(abs($0)) }.max() ?? 0)
        let indices = x.count <= 48 ? Array(x.indices) : (0..<48).map { ($0 * 7919) % x.count }
        var worst = 0.0
        for i in indices {
            var plus = x, minus = x
            plus[i] += h; minus[i] -= h
            let numeric = (f(plus) - f(minus)) / Double(2 * h)
            worst = max(worst, abs(numeric - Double(analytic[i])) / scale)
        }
        XCTAssertLessThan(worst, tolerance, "\(name): worst difference \(worst) of the largest gradient \(scale)", file: file, line: line)
    }

    func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

    func testLinear() {
        let n = 5, inWidth = 7, out = 6
        let x = random(n * inWidth), w = random(out * inWidth), r = random(n * out)
        func f(_ x: [Float], _ w: [Float]) -> Double {
            var y = [Float](repeating: 0, count: n * out)
            Linear.forward(x, rows: n, weight: w, out: out, in: inWidth, into: &y)
            return dot(y, r)
        }
        var dw = [Float](repeating: 0, count: out * inWidth), dx = [Float](repeating: 0, count: n * inWidth)
        Linear.backward(r, input: x, rows: n, weight: w, out: out, in: inWidth, weightGradient: &dw, inputGradient: &dx)
        check("linear dx", x, analytic: dx) { f($0, w) }
        check("linear dW", w, analytic: dw) { f(x, $0) }
    }

    func testRMSNorm() {
        let n = 4, d = 9
        let x = random(n * d), g = random(d, scale: 0.5).map { $0 + 1 }, r = random(n * d)
        func f(_ x: [Float], _ g: [Float]) -> Double {
            var y = [Float](repeating: 0, count: n * d), inv = [Float](repeating: 0, count: n)
            RMSNorm.forward(x, gain: g, rows: n, width: d, epsilon: 1e-5, into: &y, inverse: &inv)
            return dot(y, r)
        }
        var y = [Float](repeating: 0, count: n * d), inv = [Float](repeating: 0, count: n)
        RMSNorm.forward(x, gain: g, rows: n, width: d, epsilon: 1e-5, into: &y, inverse: &inv)
        var dg = [Float](repeating: 0, count: d), dx = [Float](repeating: 0, count: n * d)
        RMSNorm.backward(r, input: x, gain: g, inverse: inv, rows: n, width: d, gainGradient: &dg, inputGradient: &dx)
        check("rmsnorm dx", x, analytic: dx) { f($0, g) }
        check("rmsnorm dg", g, analytic: dg) { f(x, $0) }
    }

    func testRope() {
        let n = 6, heads = 3, hd = 8
        let table = RotaryTable(headDimension: hd, positions: 16, base: 10000)
        let positions: [Int32] = [0, 1, 2, 0, 1, 13]
        let x = random(n * heads * hd), r = random(n * heads * hd)
        func f(_ x: [Float]) -> Double {
            var y = x
            table.apply(&y, rows: n, heads: heads, positions: positions)
            return dot(y, r)
        }
        var dx = r
        table.apply(&dx, rows: n, heads: heads, positions: positions, inverse: true)
        check("rope dx", x, analytic: dx, f)
        // Position 0 is no rotation; a rotation keeps lengths.
        var y = x
        table.apply(&y, rows: n, heads: heads, positions: positions)
        XCTAssertEqual(Array(y[0..<(heads * hd)]), Array(x[0..<(heads * hd)]))
        XCTAssertEqual(dot(y, y), dot(x, x), accuracy: 1e-3)
    }

    func testAttentionWithDocumentsAndGroupedHeads() {
        // Rows 0–3 one document, 4–5 another, 6 a third; 4 query heads share 2 key-value heads.
        let starts: [Int32] = [0, 0, 0, 0, 4, 4, 6]
        let n = starts.count, heads = 4, kvHeads = 2, hd = 4
        let layout = AttentionLayout(documentStart: starts, heads: heads, kvHeads: kvHeads, headDimension: hd)
        XCTAssertEqual(layout.documents.map(\.count), [4, 2, 1])
        let q = random(n * heads * hd), k = random(n * kvHeads * hd), v = random(n * kvHeads * hd), r = random(n * heads * hd)
        func f(_ q: [Float], _ k: [Float], _ v: [Float]) -> Double {
            var o = [Float](repeating: 0, count: n * heads * hd), p = [Float](repeating: 0, count: layout.probabilityCount)
            Attention.forward(layout, q: q, k: k, v: v, output: &o, probabilities: &p)
            return dot(o, r)
        }
        var o = [Float](repeating: 0, count: n * heads * hd), p = [Float](repeating: 0, count: layout.probabilityCount)
        Attention.forward(layout, q: q, k: k, v: v, output: &o, probabilities: &p)
        // A document's first row sees only itself: its output is its value.
        XCTAssertEqual(Array(o[(6 * heads * hd)..<(6 * heads * hd + hd)]), Array(v[(6 * kvHeads * hd)..<(6 * kvHeads * hd + hd)]))
        var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count), dv = dk
        Attention.backward(layout, outputGradient: r, q: q, k: k, v: v, probabilities: p, dq: &dq, dk: &dk, dv: &dv)
        check("attention dq", q, analytic: dq) { f($0, k, v) }
        check("attention dk", k, analytic: dk) { f(q, $0, v) }
        check("attention dv", v, analytic: dv) { f(q, k, $0) }
    }

    func testSwiGLU() {
        let n = 40
        let gate = random(n, scale: 2), up = random(n), r = random(n)
        func f(_ gate: [Float], _ up: [Float]) -> Double {
            var a = [Float](repeating: 0, count: n)
            SwiGLU.forward(gate: gate, up: up, count: n, into: &a)
            return dot(a, r)
        }
        var dgate = [Float](repeating: 0, count: n), dup = dgate
        SwiGLU.backward(r, gate: gate, up: up, count: n, gateGradient: &dgate, upGradient: &dup)
        check("swiglu dgate", gate, analytic: dgate) { f($0, up) }
        check("swiglu dup", up, analytic: dup) { f(gate, $0) }
    }

    func testSoftmaxCrossEntropy() {
        let m = 5, d = 6, v = 13
        let h = random(m * d), w = random(v * d), targets: [Int32] = [0, 12, 3, 3, 7]
        func f(_ h: [Float], _ w: [Float]) -> Double {
            SoftmaxCrossEntropy.forwardBackward(h, rows: m, width: d, weight: w, vocabulary: v, targets: targets, scale: 1,
                                                weightGradient: nil, inputGradient: nil)
        }
        // Against a direct log-sum-exp in double.
        var expected = 0.0
        for r in 0..<m {
            let logits = (0..<v).map { j in (0..<d).reduce(0.0) { $0 + Double(h[r * d + $1]) * Double(w[j * d + $1]) } }
            let top = logits.max()!
            expected += log(logits.reduce(0) { $0 + exp($1 - top) }) + top - logits[Int(targets[r])]
        }
        XCTAssertEqual(f(h, w), expected, accuracy: 1e-5 * expected)
        var dw = [Float](repeating: 0, count: v * d), dh = [Float](repeating: 0, count: m * d)
        _ = SoftmaxCrossEntropy.forwardBackward(h, rows: m, width: d, weight: w, vocabulary: v, targets: targets, scale: 1,
                                                weightGradient: &dw, inputGradient: &dh)
        check("cross-entropy dh", h, analytic: dh) { f($0, w) }
        check("cross-entropy dW", w, analytic: dw) { f(h, $0) }
    }

    /// A whole tiny student, tied and untied: every tensor's gradient, the embeddings' through both uses.
    func testWholeModel() throws {
        for tied in [true, false] {
            let shape = StudentShape(vocabulary: 17, dimension: 8, layers: 2, heads: 2, kvHeads: 1, feedForward: 12,
                                     contextLength: 8, tiedEmbeddings: tied)
            let model = StudentModel(shape: shape)
            var values = random(model.layout.total, scale: 0.5)
            for e in model.layout.entries where !e.isMatrix { for i in e.offset..<(e.offset + e.count) { values[i] += 1 } }
            let batch = TrainBatch(tokens: [1, 5, 9, 2, 16, 3, 3, 0], positions: [0, 1, 2, 3, 0, 1, 2, 0],
                                   documentStart: [0, 0, 0, 0, 4, 4, 4, 7], targets: [-1, 9, 2, 7, 3, -1, 11, -1])
            var gradients = [Float](repeating: 0, count: model.layout.total)
            let loss = try gradients.withUnsafeMutableBufferPointer { try model.loss(parameters: values, batch: batch, gradients: $0.baseAddress!) }
            XCTAssertEqual(loss, try model.loss(parameters: values, batch: batch, gradients: nil))
            for e in model.layout.entries {
                let slice = Array(values[e.offset..<(e.offset + e.count)])
                check("\(tied ? "tied" : "untied") \(e.name)", slice, analytic: Array(gradients[e.offset..<(e.offset + e.count)]), tolerance: 4e-3) { t in
                    var p = values
                    p.replaceSubrange(e.offset..<(e.offset + e.count), with: t)
                    return (try? model.loss(parameters: p, batch: batch, gradients: nil)) ?? .nan
                }
            }
        }
    }
}
