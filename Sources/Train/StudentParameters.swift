import Foundation
import Llama
import Sampling

/// The shape of a Llama-architecture student.
public struct StudentShape: Codable, Equatable, Sendable {
    public var vocabulary: Int
    public var dimension: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var feedForward: Int
    public var contextLength: Int
    public var ropeBase: Float
    public var normEpsilon: Float
    /// The output head is the token embedding matrix (SmolLM2, LaMini's GPT-2 students).
    public var tiedEmbeddings: Bool

    public var headDimension: Int { dimension / heads }
    public var kvDimension: Int { kvHeads * headDimension }

    public init(vocabulary: Int, dimension: Int, layers: Int, heads: Int, kvHeads: Int, feedForward: Int,
                contextLength: Int, ropeBase: Float = 10000, normEpsilon: Float = 1e-5, tiedEmbeddings: Bool = true) {
        self.vocabulary = vocabulary; self.dimension = dimension; self.layers = layers; self.heads = heads
        self.kvHeads = kvHeads; self.feedForward = feedForward; self.contextLength = contextLength
        self.ropeBase = ropeBase; self.normEpsilon = normEpsilon; self.tiedEmbeddings = tiedEmbeddings
    }

    public func validate() throws {
        guard vocabulary > 0, dimension > 0, layers > 0, heads > 0, kvHeads > 0, feedForward > 0, contextLength > 0 else {
            throw TrainError("every size of the student must be positive")
        }
        guard dimension % heads == 0, heads % kvHeads == 0, headDimension % 2 == 0 else {
            throw TrainError("the width \(dimension) must split into \(heads) heads of an even size, and \(heads) heads into \(kvHeads) key-value groups")
        }
        // The built-in engine (herd serve, --teacher local) multiplies in blocks of 32.
        guard dimension % 32 == 0, feedForward % 32 == 0 else {
            throw TrainError("the width \(dimension) and feed-forward width \(feedForward) must be multiples of 32")
        }
    }
}

public struct TrainError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Where each tensor lives in one flat float32 buffer (parameters, gradients and both Adam
/// moments share the layout), in GGUF's tensor order.
public struct ParameterLayout: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var rows: Int
        public var columns: Int
        public var offset: Int
        public var count: Int { rows * columns }
        /// A matrix (or the embeddings): weight decay applies. Norm gains (one row) get none.
        public var isMatrix: Bool { rows > 1 }
        /// GGML's shape order: [columns] for a vector, [columns, rows] for a matrix.
        public var ggmlShape: [Int] { rows == 1 ? [columns] : [columns, rows] }
    }

    public let entries: [Entry]
    public let total: Int
    private let index: [String: Int]

    public init(shape s: StudentShape) {
        var entries: [Entry] = []
        var offset = 0
        func add(_ name: String, _ rows: Int, _ columns: Int) {
            entries.append(Entry(name: name, rows: rows, columns: columns, offset: offset))
            offset += rows * columns
        }
        add("token_embd.weight", s.vocabulary, s.dimension)
        for l in 0..<s.layers {
            let p = "blk.\(l)."
            add(p + "attn_norm.weight", 1, s.dimension)
            add(p + "attn_q.weight", s.dimension, s.dimension)
            add(p + "attn_k.weight", s.kvDimension, s.dimension)
            add(p + "attn_v.weight", s.kvDimension, s.dimension)
            add(p + "attn_output.weight", s.dimension, s.dimension)
            add(p + "ffn_norm.weight", 1, s.dimension)
            add(p + "ffn_gate.weight", s.feedForward, s.dimension)
            add(p + "ffn_up.weight", s.feedForward, s.dimension)
            add(p + "ffn_down.weight", s.dimension, s.feedForward)
        }
        add("output_norm.weight", 1, s.dimension)
        if !s.tiedEmbeddings { add("output.weight", s.vocabulary, s.dimension) }
        self.entries = entries
        total = offset
        index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    public func offset(_ name: String) -> Int { entries[index[name]!].offset }
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }
}

/// A student's weights as float32, with the tokenizer metadata that travels with them.
public struct StudentParameters: Sendable {
    public var shape: StudentShape
    public var layout: ParameterLayout
    public var values: [Float]
    /// `tokenizer.*` metadata copied into every GGUF written (so llama.cpp and Herd can tokenise).
    public var tokenizerMetadata: [(key: String, value: GGUFValue)]

    /// Loads any Llama GGUF that the built-in engine reads (F32, F16, Q8_0, Q4_0, Q4_1),
    /// dequantised to float32.
    public init(gguf: GGUFFile) throws {
        let c = try LlamaConfig(gguf: gguf)
        shape = StudentShape(vocabulary: c.vocabulary, dimension: c.dimension, layers: c.layers, heads: c.heads,
                             kvHeads: c.kvHeads, feedForward: c.feedForward, contextLength: c.contextLength,
                             ropeBase: c.ropeBase, normEpsilon: c.normEpsilon, tiedEmbeddings: gguf.tensor("output.weight") == nil)
        layout = ParameterLayout(shape: shape)
        var values = [Float](repeating: 0, count: layout.total)
        for e in layout.entries {
            guard let t = gguf.tensor(e.name) else { throw TrainError("\(gguf.path): no tensor \(e.name)") }
            guard t.shape == e.ggmlShape else { throw TrainError("\(gguf.path): tensor \(e.name) has shape \(t.shape); expected \(e.ggmlShape)") }
            let v = try gguf.floats(e.name)
            values.replaceSubrange(e.offset..<(e.offset + e.count), with: v)
        }
        self.values = values
        tokenizerMetadata = gguf.metadataKeys.filter { $0.hasPrefix("tokenizer.") }.map { ($0, gguf.metadata[$0]!) }
    }

    /// Fresh weights: matrices N(0, std²) from SplitMix64(seed) in layout order, norm gains 1.
    public init(shape: StudentShape, seed: UInt64, standardDeviation: Double = 0.02,
                tokenizerMetadata: [(key: String, value: GGUFValue)]) throws {
        try shape.validate()
        self.shape = shape
        layout = ParameterLayout(shape: shape)
        var rng = SplitMix64(seed: seed)
        var values = [Float](repeating: 1, count: layout.total)
        for e in layout.entries where e.isMatrix {
            for i in e.offset..<(e.offset + e.count) { values[i] = Float(rng.nextGaussian() * standardDeviation) }
        }
        self.values = values
        self.tokenizerMetadata = tokenizerMetadata
    }

    public func tensor(_ name: String) -> ArraySlice<Float> {
        let e = layout.entry(name)!
        return values[e.offset..<(e.offset + e.count)]
    }

    /// The student as a GGUF file llama.cpp, `herd serve` and `--teacher local` load: the llama
    /// metadata, the tokenizer's, and every tensor as F32 or (matrices) F16; norm gains stay F32
    /// as llama.cpp's converter keeps them.
    public func gguf(name: String, type: GGMLType) throws -> GGUFWriter {
        guard type == .f32 || type == .f16 else { throw TrainError("students are written as F32 or F16, not \(type)") }
        var w = GGUFWriter()
        let s = shape
        w.metadata = [
            ("general.architecture", .string("llama")),
            ("general.name", .string(name)),
            ("general.file_type", .uint32(type == .f32 ? 0 : 1)),
            ("llama.vocab_size", .uint32(UInt32(s.vocabulary))),
            ("llama.context_length", .uint32(UInt32(s.contextLength))),
            ("llama.embedding_length", .uint32(UInt32(s.dimension))),
            ("llama.block_count", .uint32(UInt32(s.layers))),
            ("llama.feed_forward_length", .uint32(UInt32(s.feedForward))),
            ("llama.rope.dimension_count", .uint32(UInt32(s.headDimension))),
            ("llama.attention.head_count", .uint32(UInt32(s.heads))),
            ("llama.attention.head_count_kv", .uint32(UInt32(s.kvHeads))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(s.normEpsilon)),
            ("llama.rope.freq_base", .float32(s.ropeBase)),
        ] + tokenizerMetadata
        w.tensors = layout.entries.map { e in
            GGUFWriter.Tensor(name: e.name, shape: e.ggmlShape, type: e.isMatrix ? type : .f32,
                              values: Array(values[e.offset..<(e.offset + e.count)]))
        }
        return w
    }
}
