import Foundation

/// One micro-batch: rows of packed sequences, flattened. Row i is token `tokens[i]` at
/// `positions[i]` of its document, which starts at row `documentStart[i]` (attention stays
/// inside a document, causally); `targets[i]` is the next token to learn there, or −1.
public struct TrainBatch: Equatable, Sendable {
    public var tokens: [Int32]
    public var positions: [Int32]
    public var documentStart: [Int32]
    public var targets: [Int32]

    public init(tokens: [Int32], positions: [Int32], documentStart: [Int32], targets: [Int32]) {
        self.tokens = tokens; self.positions = positions; self.documentStart = documentStart; self.targets = targets
    }

    public var rows: Int { tokens.count }
    public var targetCount: Int { targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }

    func validate(shape: StudentShape) throws {
        let n = tokens.count
        guard positions.count == n, documentStart.count == n, targets.count == n else { throw TrainError("a batch's columns differ in length") }
        for i in 0..<n {
            guard tokens[i] >= 0, Int(tokens[i]) < shape.vocabulary, targets[i] < Int32(shape.vocabulary) else {
                throw TrainError("row \(i): token \(tokens[i]) or target \(targets[i]) is outside the vocabulary (\(shape.vocabulary))")
            }
            let start = Int(documentStart[i])
            guard start <= i, start == i || documentStart[i - 1] == documentStart[i],
                  Int(positions[i]) == i - start, Int(positions[i]) < shape.contextLength else {
                throw TrainError("row \(i): documents must be runs of rows whose positions count from 0 below the context length \(shape.contextLength)")
            }
        }
    }
}

/// The student's forward and backward passes (see Layers.swift for each layer).
public struct StudentModel: Sendable {
    public let shape: StudentShape
    public let layout: ParameterLayout
    let rope: RotaryTable

    public init(shape: StudentShape) {
        self.shape = shape
        layout = ParameterLayout(shape: shape)
        rope = RotaryTable(headDimension: shape.headDimension, positions: shape.contextLength, base: shape.ropeBase)
    }

    /// Σ over target rows of −log p(target); when `gradients` is given, adds the gradient of
    /// `scale` · that sum into it (layout order, the tied head's share into token_embd).
    public func loss(parameters: [Float], batch: TrainBatch, scale: Float = 1, gradients: UnsafeMutablePointer<Float>?) throws -> Double {
        try batch.validate(shape: shape)
        return parameters.withUnsafeBufferPointer { run(parameters: $0.baseAddress!, batch: batch, scale: scale, gradients: gradients) }
    }

    private struct LayerActivations {
        var input: [Float]       // [n × d] residual stream entering the block
        var inverse1: [Float]    // [n]
        var normed1: [Float]     // [n × d]
        var q: [Float]           // [n × d], rotated
        var k: [Float]           // [n × kv], rotated
        var v: [Float]           // [n × kv]
        var probabilities: [Float]
        var attended: [Float]    // [n × d]
        var middle: [Float]      // [n × d] after the attention residual
        var inverse2: [Float]
        var normed2: [Float]
        var gate: [Float]        // [n × ff]
        var up: [Float]
        var activated: [Float]
    }

    private func run(parameters w: UnsafePointer<Float>, batch: TrainBatch, scale: Float, gradients g: UnsafeMutablePointer<Float>?) -> Double {
        let s = shape, n = batch.rows, d = s.dimension, kv = s.kvDimension, ff = s.feedForward, v = s.vocabulary
        let attention = AttentionLayout(documentStart: batch.documentStart, heads: s.heads, kvHeads: s.kvHeads, headDimension: s.headDimension)
        func at(_ name: String) -> UnsafePointer<Float> { w + layout.offset(name) }

        // Forward, keeping what the backward pass needs.
        var x = [Float](repeating: 0, count: n * d)
        let embeddings = at("token_embd.weight")
        for i in 0..<n { for j in 0..<d { x[i * d + j] = embeddings[Int(batch.tokens[i]) * d + j] } }
        var saved: [LayerActivations] = []
        for l in 0..<s.layers {
            let p = "blk.\(l)."
            var a = LayerActivations(
                input: x, inverse1: .init(repeating: 0, count: n), normed1: .init(repeating: 0, count: n * d),
                q: .init(repeating: 0, count: n * d), k: .init(repeating: 0, count: n * kv), v: .init(repeating: 0, count: n * kv),
                probabilities: .init(repeating: 0, count: attention.probabilityCount), attended: .init(repeating: 0, count: n * d),
                middle: [], inverse2: .init(repeating: 0, count: n), normed2: .init(repeating: 0, count: n * d),
                gate: .init(repeating: 0, count: n * ff), up: .init(repeating: 0, count: n * ff), activated: .init(repeating: 0, count: n * ff))
            RMSNorm.forward(x, gain: at(p + "attn_norm.weight"), rows: n, width: d, epsilon: s.normEpsilon, into: &a.normed1, inverse: &a.inverse1)
            Linear.forward(a.normed1, rows: n, weight: at(p + "attn_q.weight"), out: d, in: d, into: &a.q)
            Linear.forward(a.normed1, rows: n, weight: at(p + "attn_k.weight"), out: kv, in: d, into: &a.k)
            Linear.forward(a.normed1, rows: n, weight: at(p + "attn_v.weight"), out: kv, in: d, into: &a.v)
            rope.apply(&a.q, rows: n, heads: s.heads, positions: batch.positions)
            rope.apply(&a.k, rows: n, heads: s.kvHeads, positions: batch.positions)
            Attention.forward(attention, q: a.q, k: a.k, v: a.v, output: &a.attended, probabilities: &a.probabilities)
            var projected = [Float](repeating: 0, count: n * d)
            Linear.forward(a.attended, rows: n, weight: at(p + "attn_output.weight"), out: d, in: d, into: &projected)
            for i in 0..<(n * d) { x[i] += projected[i] }
            a.middle = x
            RMSNorm.forward(x, gain: at(p + "ffn_norm.weight"), rows: n, width: d, epsilon: s.normEpsilon, into: &a.normed2, inverse: &a.inverse2)
            Linear.forward(a.normed2, rows: n, weight: at(p + "ffn_gate.weight"), out: ff, in: d, into: &a.gate)
            Linear.forward(a.normed2, rows: n, weight: at(p + "ffn_up.weight"), out: ff, in: d, into: &a.up)
            SwiGLU.forward(gate: a.gate, up: a.up, count: n * ff, into: &a.activated)
            Linear.forward(a.activated, rows: n, weight: at(p + "ffn_down.weight"), out: d, in: ff, into: &projected)
            for i in 0..<(n * d) { x[i] += projected[i] }
            saved.append(a)
        }

        // The head on the rows with a target: [m × d].
        let targetRows = (0..<n).filter { batch.targets[$0] >= 0 }
        let m = targetRows.count
        if m == 0 { return 0 }
        var selected = [Float](repeating: 0, count: m * d)
        for (r, i) in targetRows.enumerated() { for j in 0..<d { selected[r * d + j] = x[i * d + j] } }
        var inverseOut = [Float](repeating: 0, count: m), normedOut = [Float](repeating: 0, count: m * d)
        RMSNorm.forward(selected, gain: at("output_norm.weight"), rows: m, width: d, epsilon: s.normEpsilon, into: &normedOut, inverse: &inverseOut)
        let headName = s.tiedEmbeddings ? "token_embd.weight" : "output.weight"
        let targets = targetRows.map { batch.targets[$0] }
        guard let g else {
            return SoftmaxCrossEntropy.forwardBackward(normedOut, rows: m, width: d, weight: at(headName), vocabulary: v,
                                                       targets: targets, scale: scale, weightGradient: nil, inputGradient: nil)
        }
        func grad(_ name: String) -> UnsafeMutablePointer<Float> { g + layout.offset(name) }

        // Backward.
        var dNormedOut = [Float](repeating: 0, count: m * d)
        let total = SoftmaxCrossEntropy.forwardBackward(normedOut, rows: m, width: d, weight: at(headName), vocabulary: v,
                                                        targets: targets, scale: scale, weightGradient: grad(headName), inputGradient: &dNormedOut)
        var dSelected = [Float](repeating: 0, count: m * d)
        RMSNorm.backward(dNormedOut, input: selected, gain: at("output_norm.weight"), inverse: inverseOut, rows: m, width: d,
                         gainGradient: grad("output_norm.weight"), inputGradient: &dSelected)
        var dx = [Float](repeating: 0, count: n * d)
        for (r, i) in targetRows.enumerated() { for j in 0..<d { dx[i * d + j] = dSelected[r * d + j] } }

        var dNormed = [Float](repeating: 0, count: n * d), dResidual = [Float](repeating: 0, count: n * d)
        var dActivated = [Float](repeating: 0, count: n * ff), dGate = [Float](repeating: 0, count: n * ff), dUp = dGate
        var dAttended = [Float](repeating: 0, count: n * d), dq = dAttended
        var dk = [Float](repeating: 0, count: n * kv), dv = dk
        for l in stride(from: s.layers - 1, through: 0, by: -1) {
            let p = "blk.\(l).", a = saved[l]
            // x_out = middle + down(swiglu(gate(h2), up(h2))), h2 = norm(middle).
            Linear.backward(dx, input: a.activated, rows: n, weight: at(p + "ffn_down.weight"), out: d, in: ff,
                            weightGradient: grad(p + "ffn_down.weight"), inputGradient: &dActivated)
            SwiGLU.backward(dActivated, gate: a.gate, up: a.up, count: n * ff, gateGradient: &dGate, upGradient: &dUp)
            Linear.backward(dGate, input: a.normed2, rows: n, weight: at(p + "ffn_gate.weight"), out: ff, in: d,
                            weightGradient: grad(p + "ffn_gate.weight"), inputGradient: &dNormed)
            Linear.backward(dUp, input: a.normed2, rows: n, weight: at(p + "ffn_up.weight"), out: ff, in: d,
                            weightGradient: grad(p + "ffn_up.weight"), inputGradient: &dNormed, accumulate: true)
            RMSNorm.backward(dNormed, input: a.middle, gain: at(p + "ffn_norm.weight"), inverse: a.inverse2, rows: n, width: d,
                             gainGradient: grad(p + "ffn_norm.weight"), inputGradient: &dResidual)
            for i in 0..<(n * d) { dx[i] += dResidual[i] }
            // middle = input + output(attention(rope(q(h1)), rope(k(h1)), v(h1))), h1 = norm(input).
            Linear.backward(dx, input: a.attended, rows: n, weight: at(p + "attn_output.weight"), out: d, in: d,
                            weightGradient: grad(p + "attn_output.weight"), inputGradient: &dAttended)
            Attention.backward(attention, outputGradient: dAttended, q: a.q, k: a.k, v: a.v, probabilities: a.probabilities,
                               dq: &dq, dk: &dk, dv: &dv)
            rope.apply(&dq, rows: n, heads: s.heads, positions: batch.positions, inverse: true)
            rope.apply(&dk, rows: n, heads: s.kvHeads, positions: batch.positions, inverse: true)
            Linear.backward(dq, input: a.normed1, rows: n, weight: at(p + "attn_q.weight"), out: d, in: d,
                            weightGradient: grad(p + "attn_q.weight"), inputGradient: &dNormed)
            Linear.backward(dk, input: a.normed1, rows: n, weight: at(p + "attn_k.weight"), out: kv, in: d,
                            weightGradient: grad(p + "attn_k.weight"), inputGradient: &dNormed, accumulate: true)
            Linear.backward(dv, input: a.normed1, rows: n, weight: at(p + "attn_v.weight"), out: kv, in: d,
                            weightGradient: grad(p + "attn_v.weight"), inputGradient: &dNormed, accumulate: true)
            RMSNorm.backward(dNormed, input: a.input, gain: at(p + "attn_norm.weight"), inverse: a.inverse1, rows: n, width: d,
                             gainGradient: grad(p + "attn_norm.weight"), inputGradient: &dResidual)
            for i in 0..<(n * d) { dx[i] += dResidual[i] }
        }
        let dEmbeddings = grad("token_embd.weight")
        for i in 0..<n { for j in 0..<d { dEmbeddings[Int(batch.tokens[i]) * d + j] += dx[i * d + j] } }
        return total
    }
}
