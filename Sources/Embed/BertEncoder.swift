import CHerdShims
import COpenBLAS
import FastJSON
import Foundation

/// The numbers of a BERT or MPNet `config.json` the forward pass needs.
public struct BertConfig: Sendable, Equatable {
    /// BERT (all-MiniLM-L6-v2) or MPNet (all-mpnet-base-v2): the same layers, but MPNet has no
    /// token types, counts positions from padding_idx + 1, and adds a learned bias per head and
    /// relative-position bucket to every layer's attention scores.
    public enum Architecture: String, Sendable { case bert, mpnet }
    public var architecture = Architecture.bert
    public var hidden: Int
    public var heads: Int
    public var layers: Int
    public var intermediate: Int
    public var maxPositions: Int
    public var vocabulary: Int
    public var layerNormEps: Float
    /// Position embedding row of the first token: 0 for BERT, pad_token_id + 1 for MPNet (as
    /// RoBERTa-style models number positions).
    public var positionOffset = 0
    /// MPNet's relative_attention_num_buckets (0 for BERT).
    public var relativeBuckets = 0

    public static func load(path: String) throws -> BertConfig {
        let value: JSONValue
        do { value = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path)))) } catch {
            throw ModelFileError("\(path): \(error)")
        }
        func int(_ key: String) throws -> Int {
            guard let v = value[key]?.int64Value else { throw ModelFileError("\(path): expected an integer \"\(key)\"") }
            return Int(v)
        }
        if let act = value["hidden_act"]?.stringValue, act != "gelu" {
            throw ModelFileError("\(path): hidden_act \(act) is not supported (gelu, the exact erf form, is)")
        }
        var eps: Float = 1e-12
        if case let .number(text)? = value["layer_norm_eps"], let e = Float(text) { eps = e }
        var c = BertConfig(hidden: try int("hidden_size"), heads: try int("num_attention_heads"), layers: try int("num_hidden_layers"),
                           intermediate: try int("intermediate_size"), maxPositions: try int("max_position_embeddings"),
                           vocabulary: try int("vocab_size"), layerNormEps: eps)
        switch value["model_type"]?.stringValue ?? "bert" {
        case "bert": break
        case "mpnet":
            c.architecture = .mpnet
            c.positionOffset = Int(value["pad_token_id"]?.int64Value ?? 1) + 1
            c.relativeBuckets = Int(value["relative_attention_num_buckets"]?.int64Value ?? 32)
        case let other: throw ModelFileError("\(path): model_type \(other) is not supported (bert and mpnet are)")
        }
        guard c.heads > 0, c.hidden % c.heads == 0 else { throw ModelFileError("\(path): hidden_size must be a multiple of num_attention_heads") }
        return c
    }
}

/// A BERT encoder (all-MiniLM-L6-v2 and its kin) or MPNet (all-mpnet-base-v2) on OpenBLAS, with
/// sentence-transformers' mean pooling and optional L2 normalisation. Weights are F32 copies of the safetensors tensors;
/// linear weights stay [out × in] as stored, so every product is `X · Wᵀ`.
public final class BertEncoder: @unchecked Sendable {
    public let config: BertConfig
    public let normalize: Bool

    struct Layer {
        var qkv: [Float]      // [3H × H]: query, key, value weights stacked
        var qkvBias: [Float]  // [3H]
        var attnOut: [Float]  // [H × H]
        var attnOutBias: [Float]
        var ln1Gain: [Float], ln1Bias: [Float]
        var up: [Float]       // [I × H]
        var upBias: [Float]
        var down: [Float]     // [H × I]
        var downBias: [Float]
        var ln2Gain: [Float], ln2Bias: [Float]
    }

    let wordEmbeddings: [Float]      // [V × H]
    let positionEmbeddings: [Float]  // [P × H]
    let tokenType0: [Float]          // [H]: every token is segment 0
    let embedLNGain: [Float], embedLNBias: [Float]
    let layers: [Layer]
    /// MPNet: [buckets × heads], the attention bias of each relative-position bucket and head.
    let relativeBias: [Float]

    public init(config: BertConfig, weights: SafeTensorsFile, normalize: Bool) throws {
        self.config = config
        self.normalize = normalize
        let h = config.hidden, i = config.intermediate
        let mpnet = config.architecture == .mpnet
        // Some BERT exports prefix every name with "bert.".
        let prefix = mpnet || weights.tensors["embeddings.word_embeddings.weight"] != nil ? "" : "bert."
        func w(_ name: String, _ shape: [Int]) throws -> [Float] { try weights.floats(prefix + name, shape: shape) }
        wordEmbeddings = try w("embeddings.word_embeddings.weight", [config.vocabulary, h])
        positionEmbeddings = try w("embeddings.position_embeddings.weight", [config.maxPositions, h])
        embedLNGain = try w("embeddings.LayerNorm.weight", [h])
        embedLNBias = try w("embeddings.LayerNorm.bias", [h])
        if mpnet {
            tokenType0 = [Float](repeating: 0, count: h)
            relativeBias = try w("encoder.relative_attention_bias.weight", [config.relativeBuckets, config.heads])
        } else {
            let types = try weights.floats(prefix + "embeddings.token_type_embeddings.weight")
            guard types.count >= h else { throw ModelFileError("\(weights.path): token_type_embeddings is too small") }
            tokenType0 = Array(types[0..<h])
            relativeBias = []
        }
        // Where each layer's tensors are, under "encoder.layer.N.".
        let query = mpnet ? "attention.attn.q" : "attention.self.query", key = mpnet ? "attention.attn.k" : "attention.self.key"
        let value = mpnet ? "attention.attn.v" : "attention.self.value", output = mpnet ? "attention.attn.o" : "attention.output.dense"
        let attentionNorm = mpnet ? "attention.LayerNorm" : "attention.output.LayerNorm"
        layers = try (0..<config.layers).map { l in
            let p = "encoder.layer.\(l)."
            return Layer(
                qkv: try w(p + query + ".weight", [h, h]) + w(p + key + ".weight", [h, h]) + w(p + value + ".weight", [h, h]),
                qkvBias: try w(p + query + ".bias", [h]) + w(p + key + ".bias", [h]) + w(p + value + ".bias", [h]),
                attnOut: try w(p + output + ".weight", [h, h]),
                attnOutBias: try w(p + output + ".bias", [h]),
                ln1Gain: try w(p + attentionNorm + ".weight", [h]),
                ln1Bias: try w(p + attentionNorm + ".bias", [h]),
                up: try w(p + "intermediate.dense.weight", [i, h]),
                upBias: try w(p + "intermediate.dense.bias", [i]),
                down: try w(p + "output.dense.weight", [h, i]),
                downBias: try w(p + "output.dense.bias", [h]),
                ln2Gain: try w(p + "output.LayerNorm.weight", [h]),
                ln2Bias: try w(p + "output.LayerNorm.bias", [h]))
        }
    }

    /// Embeds a batch of token-id sequences (each with its [CLS] and [SEP], none longer than the
    /// position table): returns [B × H] sentence vectors, row by row.
    public func embed(_ batch: [[Int32]]) -> [Float] {
        let b = batch.count
        let h = config.hidden, heads = config.heads, d = h / heads, inter = config.intermediate
        let l = max(1, batch.map(\.count).max() ?? 1)
        let m = b * l
        // x: [B·L × H], the running hidden states; padded positions are computed and ignored.
        var x = [Float](repeating: 0, count: m * h)
        for (s, ids) in batch.enumerated() {
            for (t, id) in ids.enumerated() {
                let row = (s * l + t) * h
                let word = Int(id) * h, pos = (t + config.positionOffset) * h
                for j in 0..<h { x[row + j] = wordEmbeddings[word + j] + positionEmbeddings[pos + j] + tokenType0[j] }
            }
        }
        layerNorm(&x, rows: m, gain: embedLNGain, bias: embedLNBias)

        var qkv = [Float](repeating: 0, count: m * 3 * h)   // [B·L × 3H]
        var context = [Float](repeating: 0, count: m * h)   // [B·L × H]
        var projected = [Float](repeating: 0, count: m * h)
        var hidden = [Float](repeating: 0, count: m * inter) // [B·L × I]
        var scores = [Float](repeating: 0, count: l * l)
        let scale = 1 / Float(d).squareRoot()
        // MPNet: bias [heads × L × L], the same in every layer and sentence of the batch.
        let bias = relativeBias.isEmpty ? [] : relativeAttentionBias(length: l)
        for layer in layers {
            linear(x, rows: m, inputs: h, weight: layer.qkv, bias: layer.qkvBias, outputs: 3 * h, into: &qkv)
            qkv.withUnsafeBufferPointer { q in
                context.withUnsafeMutableBufferPointer { c in
                    scores.withUnsafeMutableBufferPointer { sc in
                        for s in 0..<b {
                            let length = batch[s].count
                            let base = s * l * 3 * h
                            for head in 0..<heads {
                                // scores [L × L] = Q_sh · K_shᵀ / √d (+ MPNet's bias); rows of Q and K are 3H apart.
                                if !bias.isEmpty { bias.withUnsafeBufferPointer { sc.baseAddress!.update(from: $0.baseAddress! + head * l * l, count: l * l) } }
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(l), Int32(l), Int32(d), scale,
                                            q.baseAddress! + base + head * d, Int32(3 * h),
                                            q.baseAddress! + base + h + head * d, Int32(3 * h), bias.isEmpty ? 0 : 1,
                                            sc.baseAddress, Int32(l))
                                // Softmax over the real keys only: padded keys get weight 0.
                                herd_softmax_prefix(sc.baseAddress, l, l, length)
                                // context_sh [L × d] = P · V_sh, written into its head's columns.
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(l), Int32(d), Int32(l), 1,
                                            sc.baseAddress, Int32(l), q.baseAddress! + base + 2 * h + head * d, Int32(3 * h),
                                            0, c.baseAddress! + s * l * h + head * d, Int32(h))
                            }
                        }
                    }
                }
            }
            linear(context, rows: m, inputs: h, weight: layer.attnOut, bias: layer.attnOutBias, outputs: h, into: &projected)
            for j in 0..<(m * h) { x[j] += projected[j] }
            layerNorm(&x, rows: m, gain: layer.ln1Gain, bias: layer.ln1Bias)
            linear(x, rows: m, inputs: h, weight: layer.up, bias: layer.upBias, outputs: inter, into: &hidden)
            hidden.withUnsafeMutableBufferPointer { herd_gelu_erf($0.baseAddress, m * inter) }
            linear(hidden, rows: m, inputs: inter, weight: layer.down, bias: layer.downBias, outputs: h, into: &projected)
            for j in 0..<(m * h) { x[j] += projected[j] }
            layerNorm(&x, rows: m, gain: layer.ln2Gain, bias: layer.ln2Bias)
        }

        // Mean over the real tokens ([CLS] and [SEP] included), then L2 normalisation.
        var out = [Float](repeating: 0, count: b * h)
        for s in 0..<b {
            let length = batch[s].count
            for t in 0..<length {
                let row = (s * l + t) * h
                for j in 0..<h { out[s * h + j] += x[row + j] }
            }
            let inv = 1 / Float(max(length, 1))
            var norm: Float = 0
            for j in 0..<h { out[s * h + j] *= inv; norm += out[s * h + j] * out[s * h + j] }
            if normalize {
                let scaleBy = 1 / max(norm.squareRoot(), 1e-12)
                for j in 0..<h { out[s * h + j] *= scaleBy }
            }
        }
        return out
    }

    /// MPNet's attention bias for sequences of `length`: [heads × L × L], entry (head, q, k) is
    /// the learned bias of head and bucket(k − q).
    func relativeAttentionBias(length l: Int) -> [Float] {
        let heads = config.heads
        var out = [Float](repeating: 0, count: heads * l * l)
        for q in 0..<l {
            for k in 0..<l {
                let bucket = Self.relativePositionBucket(k - q, buckets: config.relativeBuckets)
                for head in 0..<heads { out[(head * l + q) * l + k] = relativeBias[bucket * heads + head] }
            }
        }
        return out
    }

    /// transformers' MPNet relative_position_bucket (T5's, bidirectional, max_distance 128): half
    /// the buckets for keys after the query; in each half, distances below a quarter of the
    /// buckets exactly, then logarithmic bins up to max_distance. The logarithm is taken in float
    /// as torch does, which decides the bins at distances 16, 32 and 64.
    public static func relativePositionBucket(_ relativePosition: Int, buckets: Int = 32, maxDistance: Int = 128) -> Int {
        let half = buckets / 2
        let n = -relativePosition
        var bucket = n < 0 ? half : 0
        let distance = abs(n)
        let maxExact = half / 2
        if distance < maxExact { return bucket + distance }
        let ratio = Float(distance) / Float(maxExact)
        let large = maxExact + Int(logf(ratio) / Float(log(Double(maxDistance) / Double(maxExact))) * Float(half - maxExact))
        bucket += min(large, half - 1)
        return bucket
    }

    /// out [rows × outputs] = input [rows × inputs] · weightᵀ + bias; weight is [outputs × inputs].
    private func linear(_ input: [Float], rows: Int, inputs: Int, weight: [Float], bias: [Float], outputs: Int, into out: inout [Float]) {
        out.withUnsafeMutableBufferPointer { o in
            for r in 0..<rows { (o.baseAddress! + r * outputs).update(from: bias, count: outputs) }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1,
                        input, Int32(inputs), weight, Int32(inputs), 1, o.baseAddress, Int32(outputs))
        }
    }

    /// Row-wise LayerNorm in place over [rows × H], in float with a double accumulator.
    private func layerNorm(_ x: inout [Float], rows: Int, gain: [Float], bias: [Float]) {
        let h = config.hidden
        let eps = Double(config.layerNormEps)
        for r in 0..<rows {
            let base = r * h
            var mean = 0.0
            for j in 0..<h { mean += Double(x[base + j]) }
            mean /= Double(h)
            var variance = 0.0
            for j in 0..<h { let dv = Double(x[base + j]) - mean; variance += dv * dv }
            variance /= Double(h)
            let inv = Float(1 / (variance + eps).squareRoot())
            let meanF = Float(mean)
            for j in 0..<h { x[base + j] = (x[base + j] - meanF) * inv * gain[j] + bias[j] }
        }
    }
}
