import COpenBLAS
import Foundation

/// The shape of a Llama-architecture model, from GGUF metadata (`llama.*`).
public struct LlamaConfig: Equatable, Sendable {
    public var dimension: Int            // d_model
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var feedForward: Int
    public var vocabulary: Int
    public var contextLength: Int
    public var ropeBase: Float
    public var normEpsilon: Float
    public var headDimension: Int { dimension / heads }
    public var kvDimension: Int { kvHeads * headDimension }

    public init(gguf: GGUFFile) throws {
        guard let arch = gguf.metadata["general.architecture"]?.string else { throw GGUFError("\(gguf.path): no general.architecture") }
        guard arch == "llama" else { throw GGUFError("\(gguf.path): architecture \(arch); only llama models run here") }
        func int(_ key: String) throws -> Int {
            guard let v = try gguf.required("llama." + key).int, v > 0 else { throw GGUFError("\(gguf.path): llama.\(key) must be a positive integer") }
            return v
        }
        dimension = try int("embedding_length")
        layers = try int("block_count")
        heads = try int("attention.head_count")
        kvHeads = gguf.metadata["llama.attention.head_count_kv"]?.int ?? heads
        feedForward = try int("feed_forward_length")
        contextLength = try int("context_length")
        vocabulary = gguf.metadata["llama.vocab_size"]?.int ?? gguf.metadata["tokenizer.ggml.tokens"]?.array?.count ?? 0
        ropeBase = Float(gguf.metadata["llama.rope.freq_base"]?.double ?? 10000)
        normEpsilon = Float(gguf.metadata["llama.attention.layer_norm_rms_epsilon"]?.double ?? 1e-5)
        guard dimension % heads == 0, heads % kvHeads == 0, vocabulary > 0 else {
            throw GGUFError("\(gguf.path): inconsistent shape: \(dimension) wide, \(heads) heads, \(kvHeads) key-value heads, vocabulary \(vocabulary)")
        }
        if let rope = gguf.metadata["llama.rope.dimension_count"]?.int, rope != headDimension {
            throw GGUFError("\(gguf.path): partial rotary embeddings (\(rope) of \(headDimension)) are not supported")
        }
    }
}

/// A weight matrix `[rows × columns]` (out × in), row-major, as float32.
struct Matrix: Sendable {
    var rows: Int
    var columns: Int
    var values: [Float]

    /// Y[n × rows] = X[n × columns] · Wᵀ.
    func apply(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) {
        values.withUnsafeBufferPointer { w in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(columns), 1,
                        x, Int32(columns), w.baseAddress, Int32(columns), 0, y, Int32(rows))
        }
    }
}

/// One transformer block's weights.
struct LlamaBlock: Sendable {
    var attentionNorm: [Float]     // [d]
    var query: Matrix              // [d × d]
    var key: Matrix                // [kv × d]
    var value: Matrix              // [kv × d]
    var output: Matrix             // [d × d]
    var feedForwardNorm: [Float]   // [d]
    var gate: Matrix               // [ff × d]
    var up: Matrix                 // [ff × d]
    var down: Matrix               // [d × ff]
}

/// A Llama model (Llama 2/3, SmolLM2, TinyLlama…) loaded from GGUF: token embeddings, RMSNorm,
/// rotary positions (GGML's "normal" mode: adjacent pairs, as the GGUF converter permuted Q and K
/// for), grouped-query attention over a KV cache, a SwiGLU MLP, and an output head (tied to the
/// embeddings when the file has no `output.weight`). Weights are dequantised exactly to float32 at
/// load and multiplied with BLAS.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    let embeddings: Matrix          // [vocab × d]
    let blocks: [LlamaBlock]
    let outputNorm: [Float]
    let outputHead: Matrix          // [vocab × d], the embeddings when tied
    /// cos and sin of position · θ_i for every position up to the context length, [pos × headDim/2].
    let ropeCos: [Float]
    let ropeSin: [Float]

    public init(gguf: GGUFFile) throws {
        let c = try LlamaConfig(gguf: gguf)
        config = c
        func matrix(_ name: String, rows: Int, columns: Int) throws -> Matrix {
            guard let t = gguf.tensor(name) else { throw GGUFError("\(gguf.path): no tensor \(name)") }
            guard t.shape == [columns, rows] else {
                throw GGUFError("\(gguf.path): tensor \(name) has shape \(t.shape); expected [\(columns), \(rows)]")
            }
            return Matrix(rows: rows, columns: columns, values: try gguf.floats(name))
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] {
            guard let t = gguf.tensor(name) else { throw GGUFError("\(gguf.path): no tensor \(name)") }
            guard t.shape == [n] else { throw GGUFError("\(gguf.path): tensor \(name) has shape \(t.shape); expected [\(n)]") }
            return try gguf.floats(name)
        }
        let d = c.dimension, kv = c.kvDimension, ff = c.feedForward
        embeddings = try matrix("token_embd.weight", rows: c.vocabulary, columns: d)
        var blocks: [LlamaBlock] = []
        for l in 0..<c.layers {
            let p = "blk.\(l)."
            blocks.append(LlamaBlock(
                attentionNorm: try vector(p + "attn_norm.weight", d),
                query: try matrix(p + "attn_q.weight", rows: d, columns: d),
                key: try matrix(p + "attn_k.weight", rows: kv, columns: d),
                value: try matrix(p + "attn_v.weight", rows: kv, columns: d),
                output: try matrix(p + "attn_output.weight", rows: d, columns: d),
                feedForwardNorm: try vector(p + "ffn_norm.weight", d),
                gate: try matrix(p + "ffn_gate.weight", rows: ff, columns: d),
                up: try matrix(p + "ffn_up.weight", rows: ff, columns: d),
                down: try matrix(p + "ffn_down.weight", rows: d, columns: ff)))
        }
        self.blocks = blocks
        outputNorm = try vector("output_norm.weight", d)
        outputHead = gguf.tensor("output.weight") != nil ? try matrix("output.weight", rows: c.vocabulary, columns: d) : embeddings
        // θ_i = base^(−2i/headDim); angles in double, then rounded, as GGML computes them in float.
        let half = c.headDimension / 2
        var cosTable = [Float](repeating: 0, count: c.contextLength * half)
        var sinTable = cosTable
        for pos in 0..<c.contextLength {
            var theta = Float(pos)
            let scale = powf(c.ropeBase, -2 / Float(c.headDimension))
            for i in 0..<half {
                cosTable[pos * half + i] = cosf(theta)
                sinTable[pos * half + i] = sinf(theta)
                theta *= scale
            }
        }
        ropeCos = cosTable
        ropeSin = sinTable
    }
}

/// One sequence's keys and values for every layer, [layer][position × kvDimension].
public final class KVCache: @unchecked Sendable {
    public let capacity: Int
    public private(set) var length = 0
    var keys: [[Float]]
    var values: [[Float]]

    public init(config: LlamaConfig, capacity: Int) {
        self.capacity = min(capacity, config.contextLength)
        keys = Array(repeating: [Float](repeating: 0, count: self.capacity * config.kvDimension), count: config.layers)
        values = keys
    }

    func advance(by n: Int) { length += n }

    /// Forgets everything (the buffers are kept).
    public func reset() { length = 0 }
}

public struct LlamaError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension LlamaModel {
    /// Runs `rows` tokens through the model: row r is token `tokens[r]` of sequence
    /// `caches[sequence[r]]`, at the position after that sequence's earlier tokens (rows of one
    /// sequence in order). Keys and values are appended to the caches. Returns the logits
    /// `[rows × vocabulary]` of the rows in `logitRows` (in that order).
    public func forward(tokens: [Int32], sequence: [Int], caches: [KVCache], logitRows: [Int]) throws -> [Float] {
        let c = config
        let n = tokens.count
        let d = c.dimension, kv = c.kvDimension, hd = c.headDimension, ff = c.feedForward
        precondition(sequence.count == n)
        // Each row's position in its sequence.
        var positions = [Int](repeating: 0, count: n)
        var next = caches.map(\.length)
        for r in 0..<n {
            let s = sequence[r]
            positions[r] = next[s]
            next[s] += 1
            guard next[s] <= caches[s].capacity else {
                throw LlamaError("sequence \(s) would hold \(next[s]) tokens; its cache holds \(caches[s].capacity)")
            }
            guard tokens[r] >= 0, Int(tokens[r]) < c.vocabulary else { throw LlamaError("token id \(tokens[r]) is outside the vocabulary (\(c.vocabulary))") }
        }

        var x = [Float](repeating: 0, count: n * d)          // [n × d] the residual stream
        embeddings.values.withUnsafeBufferPointer { e in
            for r in 0..<n { for j in 0..<d { x[r * d + j] = e[Int(tokens[r]) * d + j] } }
        }
        var h = [Float](repeating: 0, count: n * d)          // [n × d] normed input of a sublayer
        var q = [Float](repeating: 0, count: n * d)          // [n × d]
        var k = [Float](repeating: 0, count: n * kv)         // [n × kv]
        var v = [Float](repeating: 0, count: n * kv)
        var attended = [Float](repeating: 0, count: n * d)   // [n × d]
        var projected = [Float](repeating: 0, count: n * d)
        var gate = [Float](repeating: 0, count: n * ff)      // [n × ff]
        var up = [Float](repeating: 0, count: n * ff)
        let group = c.heads / c.kvHeads
        let scale = 1 / Float(hd).squareRoot()

        for (l, block) in blocks.enumerated() {
            rmsNorm(x, weight: block.attentionNorm, rows: n, into: &h)
            h.withUnsafeBufferPointer { hp in
                q.withUnsafeMutableBufferPointer { block.query.apply(hp.baseAddress!, n: n, into: $0.baseAddress!) }
                k.withUnsafeMutableBufferPointer { block.key.apply(hp.baseAddress!, n: n, into: $0.baseAddress!) }
                v.withUnsafeMutableBufferPointer { block.value.apply(hp.baseAddress!, n: n, into: $0.baseAddress!) }
            }
            for r in 0..<n {
                rope(&q, offset: r * d, heads: c.heads, position: positions[r])
                rope(&k, offset: r * kv, heads: c.kvHeads, position: positions[r])
                let cache = caches[sequence[r]]
                let at = positions[r] * kv
                for j in 0..<kv {
                    cache.keys[l][at + j] = k[r * kv + j]
                    cache.values[l][at + j] = v[r * kv + j]
                }
            }
            // Attention: every row and head attends to its sequence's positions 0...position.
            q.withUnsafeBufferPointer { qp in
                attended.withUnsafeMutableBufferPointer { out in
                    let qBase = qp.baseAddress!, oBase = out.baseAddress!
                    DispatchQueue.concurrentPerform(iterations: n * c.heads) { job in
                        let r = job / c.heads, head = job % c.heads
                        let cache = caches[sequence[r]]
                        let span = positions[r] + 1
                        let kvHead = head / group
                        var scores = [Float](repeating: 0, count: span)
                        cache.keys[l].withUnsafeBufferPointer { keys in
                            // scores[t] = K[t, head] · q / √hd, K rows kv apart.
                            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(span), Int32(hd), scale,
                                        keys.baseAddress! + kvHead * hd, Int32(kv), qBase + r * d + head * hd, 1, 0, &scores, 1)
                        }
                        var maximum = -Float.infinity
                        for t in 0..<span { maximum = max(maximum, scores[t]) }
                        var total: Float = 0
                        for t in 0..<span { scores[t] = expf(scores[t] - maximum); total += scores[t] }
                        let inverse = 1 / total
                        for t in 0..<span { scores[t] *= inverse }
                        cache.values[l].withUnsafeBufferPointer { values in
                            // out = Σ_t p[t] · V[t, head].
                            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(span), Int32(hd), 1,
                                        values.baseAddress! + kvHead * hd, Int32(kv), scores, 1, 0, oBase + r * d + head * hd, 1)
                        }
                    }
                }
            }
            attended.withUnsafeBufferPointer { a in projected.withUnsafeMutableBufferPointer { block.output.apply(a.baseAddress!, n: n, into: $0.baseAddress!) } }
            for i in 0..<(n * d) { x[i] += projected[i] }

            rmsNorm(x, weight: block.feedForwardNorm, rows: n, into: &h)
            h.withUnsafeBufferPointer { hp in
                gate.withUnsafeMutableBufferPointer { block.gate.apply(hp.baseAddress!, n: n, into: $0.baseAddress!) }
                up.withUnsafeMutableBufferPointer { block.up.apply(hp.baseAddress!, n: n, into: $0.baseAddress!) }
            }
            // SwiGLU: silu(gate) · up.
            for i in 0..<(n * ff) {
                let g = gate[i]
                gate[i] = g / (1 + expf(-g)) * up[i]
            }
            gate.withUnsafeBufferPointer { g in projected.withUnsafeMutableBufferPointer { block.down.apply(g.baseAddress!, n: n, into: $0.baseAddress!) } }
            for i in 0..<(n * d) { x[i] += projected[i] }
        }
        for (s, cache) in caches.enumerated() { cache.advance(by: next[s] - cache.length) }

        // The head, on the rows asked for only.
        let m = logitRows.count
        if m == 0 { return [] }
        var selected = [Float](repeating: 0, count: m * d)
        for (i, r) in logitRows.enumerated() { for j in 0..<d { selected[i * d + j] = x[r * d + j] } }
        var normed = [Float](repeating: 0, count: m * d)
        rmsNorm(selected, weight: outputNorm, rows: m, into: &normed)
        var logits = [Float](repeating: 0, count: m * c.vocabulary)
        normed.withUnsafeBufferPointer { hp in logits.withUnsafeMutableBufferPointer { outputHead.apply(hp.baseAddress!, n: m, into: $0.baseAddress!) } }
        return logits
    }

    /// y = x / √(mean(x²) + ε) · w, row by row.
    func rmsNorm(_ x: [Float], weight: [Float], rows: Int, into y: inout [Float]) {
        let d = config.dimension
        for r in 0..<rows {
            var sum: Float = 0
            for j in 0..<d { sum += x[r * d + j] * x[r * d + j] }
            let inverse = 1 / (sum / Float(d) + config.normEpsilon).squareRoot()
            for j in 0..<d { y[r * d + j] = x[r * d + j] * inverse * weight[j] }
        }
    }

    /// Rotates each head's adjacent pairs (x[2i], x[2i+1]) by position · θ_i.
    func rope(_ x: inout [Float], offset: Int, heads: Int, position: Int) {
        let hd = config.headDimension, half = hd / 2
        for head in 0..<heads {
            let base = offset + head * hd
            for i in 0..<half {
                let cosine = ropeCos[position * half + i], sine = ropeSin[position * half + i]
                let a = x[base + 2 * i], b = x[base + 2 * i + 1]
                x[base + 2 * i] = a * cosine - b * sine
                x[base + 2 * i + 1] = a * sine + b * cosine
            }
        }
    }
}
