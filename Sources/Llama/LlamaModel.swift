import CLlamaKernels
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

/// A weight matrix `[rows × columns]` (out × in) as the GGUF file stores it. Q4_1 and Q8_0
/// matrices stay in their blocks (memory-mapped) and multiply as ggml does: each input row is
/// rounded to 8-bit blocks (Q8_1 or Q8_0) and dotted block by block. Other types are dequantised
/// to float32 and multiplied with BLAS (close to, not bit for bit, llama.cpp).
struct Matrix: @unchecked Sendable {
    var rows: Int
    var columns: Int
    var type: GGMLType
    /// The blocks, for Q4_1 and Q8_0 (inside the mapped file, which the model keeps open).
    var blocks: UnsafeRawPointer?
    /// Float32 values, for the other types.
    var values: [Float] = []

    init(file: GGUFFile, tensor t: GGUFTensor, rows: Int, columns: Int) throws {
        self.rows = rows; self.columns = columns; type = t.type
        if t.type == .q4_1 || t.type == .q8_0 {
            blocks = file.bytes(of: t).baseAddress
        } else {
            values = try GGMLQuantization.dequantize(file.bytes(of: t), type: t.type, count: t.elementCount)
        }
    }

    /// Bytes of one input row in the activation blocks this matrix multiplies with.
    var activationRowBytes: Int {
        switch type {
        case .q4_1: return columns / 32 * Int(HERD_Q8_1_BYTES)
        case .q8_0: return columns / 32 * Int(HERD_Q8_0_BYTES)
        default: return 0
        }
    }

    /// Rounds n input rows into this matrix's activation blocks (ggml's quantize_row_q8_1 / _q8_0).
    func quantize(_ x: UnsafePointer<Float>, n: Int) -> [UInt8] {
        let rowBytes = activationRowBytes
        var out = [UInt8](repeating: 0, count: n * rowBytes)
        out.withUnsafeMutableBytes { o in
            for r in 0..<n {
                if type == .q4_1 { herd_quantize_q8_1(x + r * columns, o.baseAddress! + r * rowBytes, Int64(columns)) }
                else { herd_quantize_q8_0(x + r * columns, o.baseAddress! + r * rowBytes, Int64(columns)) }
            }
        }
        return out
    }

    /// Y[n × rows] = X[n × columns] · Wᵀ, the rows of W split between the cores. `rounded` holds
    /// X already in 8-bit blocks when another matrix of the same type rounded it (ggml rounds the
    /// same input the same way each time); it is filled when empty.
    func apply(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>, rounded: inout RoundedInput?) {
        guard let blocks else {
            values.withUnsafeBufferPointer { w in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(columns), 1,
                            x, Int32(columns), w.baseAddress, Int32(columns), 0, y, Int32(rows))
            }
            return
        }
        if rounded?.type != type { rounded = RoundedInput(type: type, bytes: quantize(x, n: n)) }
        apply(quantized: rounded!.bytes, n: n, blocks: blocks, into: y)
    }

    func apply(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) {
        var rounded: RoundedInput?
        apply(x, n: n, into: y, rounded: &rounded)
    }

    private func apply(quantized q: [UInt8], n: Int, blocks: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        let parts = rows >= 64 ? Matrix.threads : 1
        let chunk = (rows + parts - 1) / parts
        let out = UnsafeSendable(y)
        q.withUnsafeBytes { qp in
            let input = UnsafeSendable(UnsafeMutableRawPointer(mutating: qp.baseAddress!))
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let begin = part * chunk, end = min(rows, begin + chunk)
                if begin < end {
                    herd_matmul_quantized(Int32(type.rawValue), blocks, Int64(begin), Int64(end), Int64(columns),
                                          input.value, Int64(n), out.value, Int64(rows))
                }
            }
        }
    }

    static let threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
}

/// Input rows rounded to the activation blocks of a weight type.
struct RoundedInput {
    var type: GGMLType
    var bytes: [UInt8]
}

/// A pointer handed to concurrent workers that write disjoint parts of it.
struct UnsafeSendable<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
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
/// embeddings when the file has no `output.weight`).
///
/// The arithmetic is ggml's (CLlamaKernels): quantised weights multiply 8-bit-rounded
/// activations block by block, keys and values are cached as fp16, attention scores and
/// weights are fp16 dot products, and exp is ggml's. So the logits are llama.cpp's, and greedy
/// decoding follows llama.cpp token for token; each row's values do not depend on which other
/// rows share its batch.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    /// The file the quantised weights are mapped from.
    let file: GGUFFile
    let embeddings: GGUFTensor      // [vocab × d], rows dequantised on lookup
    let blocks: [LlamaBlock]
    let outputNorm: [Float]
    let outputHead: Matrix          // [vocab × d], the embeddings when tied
    /// cos and sin of position · θ_i for every position up to the context length, [pos × headDim/2].
    let ropeCos: [Float]
    let ropeSin: [Float]

    public init(gguf: GGUFFile) throws {
        let c = try LlamaConfig(gguf: gguf)
        config = c
        file = gguf
        func tensor(_ name: String, _ shape: [Int]) throws -> GGUFTensor {
            guard let t = gguf.tensor(name) else { throw GGUFError("\(gguf.path): no tensor \(name)") }
            guard t.shape == shape else { throw GGUFError("\(gguf.path): tensor \(name) has shape \(t.shape); expected \(shape)") }
            guard t.type.isReadable else { throw GGUFError("\(gguf.path): tensor \(name) is \(t.type); F32, F16, Q8_0, Q4_0 and Q4_1 are supported") }
            return t
        }
        func matrix(_ name: String, rows: Int, columns: Int) throws -> Matrix {
            try Matrix(file: gguf, tensor: try tensor(name, [columns, rows]), rows: rows, columns: columns)
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] { try gguf.floats(try tensor(name, [n]).name) }
        let d = c.dimension, kv = c.kvDimension, ff = c.feedForward
        guard d % 32 == 0, ff % 32 == 0 else { throw GGUFError("\(gguf.path): widths \(d) and \(ff) must be multiples of 32") }
        embeddings = try tensor("token_embd.weight", [d, c.vocabulary])
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
        outputHead = gguf.tensor("output.weight") != nil
            ? try matrix("output.weight", rows: c.vocabulary, columns: d)
            : try matrix("token_embd.weight", rows: c.vocabulary, columns: d)
        // As ggml_rope_cache_init: θ = position, multiplied by base^(−2/headDim) pair after pair, in float.
        let half = c.headDimension / 2
        var cosTable = [Float](repeating: 0, count: c.contextLength * half)
        var sinTable = cosTable
        let scale = powf(c.ropeBase, -2 / Float(c.headDimension))
        for pos in 0..<c.contextLength {
            var theta = Float(pos)
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

/// One sequence's keys and values for every layer, as fp16 (as llama.cpp caches them): keys
/// [position × kvDimension], values transposed [kvDimension × stride] so a head's weighted sum
/// runs along positions. The stride is a multiple of 32 and unused entries stay 0, as in the
/// padded cache view ggml computes over; the cache grows as tokens arrive, up to `capacity`.
public final class KVCache: @unchecked Sendable {
    public let capacity: Int
    public private(set) var length = 0
    let kvDimension: Int
    private(set) var stride: Int
    var keys: [[UInt16]]
    var values: [[UInt16]]

    public init(config: LlamaConfig, capacity: Int) {
        self.capacity = min(capacity, config.contextLength)
        kvDimension = config.kvDimension
        stride = 0
        keys = Array(repeating: [], count: config.layers)
        values = keys
    }

    /// Room for `n` positions (rounded up to 32, at least doubling, so growing is amortised).
    func reserve(_ n: Int) {
        guard n > stride else { return }
        let newStride = max((n + 31) / 32 * 32, min(stride * 2, (capacity + 31) / 32 * 32))
        for l in keys.indices {
            keys[l] += [UInt16](repeating: 0, count: (newStride - stride) * kvDimension)
            var grown = [UInt16](repeating: 0, count: newStride * kvDimension)
            for j in 0..<kvDimension where stride > 0 {
                for t in 0..<stride { grown[j * newStride + t] = values[l][j * stride + t] }
            }
            values[l] = grown
        }
        stride = newStride
    }

    func advance(to n: Int) { length = n }

    /// Forgets everything.
    public func reset() {
        length = 0
        stride = 0
        for l in keys.indices { keys[l] = []; values[l] = [] }
    }
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
        for (s, cache) in caches.enumerated() { cache.reserve(next[s]) }
        // ggml multiplies attention with tinyBLAS when a sequence brings two or more tokens at
        // once (a prompt), with its plain dot product for one (a decoding step); the sums differ
        // in their order, so follow it per sequence.
        var rowsOf = [Int](repeating: 0, count: caches.count)
        for s in sequence { rowsOf[s] += 1 }

        var x = [Float](repeating: 0, count: n * d)          // [n × d] the residual stream
        let rowBytes = embeddings.byteCount / c.vocabulary
        let table = file.bytes(of: embeddings)
        for r in 0..<n {
            let row = try GGMLQuantization.dequantize(UnsafeRawBufferPointer(rebasing: table[(Int(tokens[r]) * rowBytes)..<((Int(tokens[r]) + 1) * rowBytes)]),
                                                      type: embeddings.type, count: d)
            x.replaceSubrange((r * d)..<((r + 1) * d), with: row)
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
                // Q, K and V share one rounding of h (ggml rounds it once per matmul, the same way).
                var rounded: RoundedInput?
                q.withUnsafeMutableBufferPointer { block.query.apply(hp.baseAddress!, n: n, into: $0.baseAddress!, rounded: &rounded) }
                k.withUnsafeMutableBufferPointer { block.key.apply(hp.baseAddress!, n: n, into: $0.baseAddress!, rounded: &rounded) }
                v.withUnsafeMutableBufferPointer { block.value.apply(hp.baseAddress!, n: n, into: $0.baseAddress!, rounded: &rounded) }
            }
            for r in 0..<n {
                rope(&q, offset: r * d, heads: c.heads, position: positions[r])
                rope(&k, offset: r * kv, heads: c.kvHeads, position: positions[r])
                let cache = caches[sequence[r]]
                let p = positions[r]
                k.withUnsafeBufferPointer { kp in
                    cache.keys[l].withUnsafeMutableBufferPointer { herd_fp32_to_fp16(kp.baseAddress! + r * kv, $0.baseAddress! + p * kv, Int64(kv)) }
                }
                var half = [UInt16](repeating: 0, count: kv)
                v.withUnsafeBufferPointer { vp in herd_fp32_to_fp16(vp.baseAddress! + r * kv, &half, Int64(kv)) }
                for j in 0..<kv { cache.values[l][j * cache.stride + p] = half[j] }
            }
            // Attention: every row and head attends to its sequence's positions 0...position, over
            // the cache padded to 32 with masked (zero-weight) entries, as ggml's padded view.
            q.withUnsafeBufferPointer { qp in
                attended.withUnsafeMutableBufferPointer { out in
                    let qBase = UnsafeSendable(qp.baseAddress!), oBase = UnsafeSendable(out.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: n * c.heads) { job in
                        let r = job / c.heads, head = job % c.heads
                        let cache = caches[sequence[r]]
                        let span = positions[r] + 1
                        let padded = (span + 31) / 32 * 32
                        let kvHead = head / group
                        var query = [UInt16](repeating: 0, count: hd)
                        herd_fp32_to_fp16(qBase.value + r * d + head * hd, &query, Int64(hd))
                        var scores = [Float](repeating: -.infinity, count: padded)
                        let dot = rowsOf[sequence[r]] > 1 ? herd_vec_dot_f16_tinyblas : herd_vec_dot_f16
                        cache.keys[l].withUnsafeBufferPointer { keys in
                            for t in 0..<span {
                                scores[t] = dot(Int64(hd), keys.baseAddress! + t * kv + kvHead * hd, query)
                            }
                        }
                        var weights = [Float](repeating: 0, count: padded)
                        herd_softmax_scaled(scores, &weights, Int64(padded), scale)
                        var weights16 = [UInt16](repeating: 0, count: padded)
                        herd_fp32_to_fp16(weights, &weights16, Int64(padded))
                        cache.values[l].withUnsafeBufferPointer { values in
                            for j in 0..<hd {
                                oBase.value[r * d + head * hd + j] = dot(
                                    Int64(padded), values.baseAddress! + (kvHead * hd + j) * cache.stride, weights16)
                            }
                        }
                    }
                }
            }
            attended.withUnsafeBufferPointer { a in projected.withUnsafeMutableBufferPointer { block.output.apply(a.baseAddress!, n: n, into: $0.baseAddress!) } }
            for i in 0..<(n * d) { x[i] += projected[i] }

            rmsNorm(x, weight: block.feedForwardNorm, rows: n, into: &h)
            h.withUnsafeBufferPointer { hp in
                var rounded: RoundedInput?
                gate.withUnsafeMutableBufferPointer { block.gate.apply(hp.baseAddress!, n: n, into: $0.baseAddress!, rounded: &rounded) }
                up.withUnsafeMutableBufferPointer { block.up.apply(hp.baseAddress!, n: n, into: $0.baseAddress!, rounded: &rounded) }
            }
            // SwiGLU: silu(gate) · up.
            var activated = [Float](repeating: 0, count: n * ff)
            herd_swiglu(gate, up, &activated, Int64(n * ff))
            activated.withUnsafeBufferPointer { g in projected.withUnsafeMutableBufferPointer { block.down.apply(g.baseAddress!, n: n, into: $0.baseAddress!) } }
            for i in 0..<(n * d) { x[i] += projected[i] }
        }
        for (s, cache) in caches.enumerated() { cache.advance(to: next[s]) }

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

    /// y = (x / √(mean(x²) + ε)) · w row by row, as ggml_rms_norm then ggml_mul.
    func rmsNorm(_ x: [Float], weight: [Float], rows: Int, into y: inout [Float]) {
        let d = config.dimension
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                for r in 0..<rows { herd_rms_norm(xp.baseAddress! + r * d, weight, yp.baseAddress! + r * d, Int64(d), config.normEpsilon) }
            }
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
                // As GCC compiles ggml's rope with FMA contraction: a·cos − (b·sin) fused, and a·sin + (b·cos).
                x[base + 2 * i] = fmaf(a, cosine, -(b * sine))
                x[base + 2 * i + 1] = fmaf(a, sine, b * cosine)
            }
        }
    }
}
