import Checksums
import Foundation
import Sampling
import Store

/// How stored vectors are written.
public enum EmbeddingElementType: String, CaseIterable, Sendable {
    case float32, float16

    public var bytes: Int { self == .float32 ? 4 : 2 }

    /// Little-endian bytes of `values` (float16 rounds to nearest even, as NumPy's astype does).
    public func encode(_ values: ArraySlice<Float>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * bytes)
        out.withUnsafeMutableBytes { raw in
            switch self {
            case .float32:
                for (k, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * k, as: UInt32.self) }
            case .float16:
                for (k, v) in values.enumerated() { raw.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: 2 * k, as: UInt16.self) }
            }
        }
        return out
    }

    /// Floats from stored little-endian bytes.
    public func decode(_ raw: UnsafeRawBufferPointer) -> [Float] {
        switch self {
        case .float32:
            return (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        case .float16:
            return (0..<(raw.count / 2)).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
        }
    }
}

/// What `herd embed` into the store does.
public struct StoreEmbeddingOptions: Sendable {
    /// "instruction" (as exported: "instruction" or "instruction:input") or "response".
    public var field = "instruction"
    /// Embed a sample of this many (per subset with `perSubset`); nil embeds the whole corpus.
    public var sample: Int? = nil
    public var perSubset = false
    public var seed: UInt64 = 0
    public var elementType = EmbeddingElementType.float32
    public var batchSize = 32
    public var threads = 2
    /// Vectors per transaction: a kill loses at most this much work. The chunks are fixed slices
    /// of the selection, so a resumed run batches exactly as an unbroken one and writes the same
    /// bytes (a vector depends in its last bits on its batch: BLAS blocks products by the padded
    /// length), given the same batch size.
    public var chunkSize = 2048

    public init() {}
}

/// What a run did.
public struct StoreEmbeddingReport: Sendable {
    public var model: EmbeddingModelInfo
    /// Instructions selected (the sample, or the whole corpus).
    public var selected = 0
    /// Of those, already in the store with this model and field.
    public var alreadyEmbedded = 0
    /// Embedded by this run.
    public var embedded = 0
    public var seconds = 0.0
    /// Everything the store now holds, per model, field, subset and element type.
    public var counts: [EmbeddingCount] = []
}

/// Embeds the store's corpus (or a reproducible sample of it): select → skip what is stored →
/// embed in fixed chunks → write each chunk in one transaction.
public enum StoreEmbedder {
    /// The sample: per candidate a keyed hash of (seed, id); the `n` smallest (per subset with
    /// `perSubset`) are taken, returned in corpus order. The same seed draws the same sample
    /// whatever else the store holds, and a sample of n is part of every larger one with that
    /// seed, so growing a sample reuses the vectors already stored.
    public static func select(_ candidates: [EmbeddingCandidate], sample: Int?, perSubset: Bool, seed: UInt64) -> [EmbeddingCandidate] {
        guard let n = sample else { return candidates }
        func key(_ c: EmbeddingCandidate) -> UInt64 {
            var rng = SplitMix64(seed: seed ^ (UInt64(bitPattern: c.id) &* 0xD6E8_FEB8_6659_FD93))
            return rng.next()
        }
        let keyed = candidates.map { (key($0), $0) }
        var chosen: [EmbeddingCandidate] = []
        if perSubset {
            var groups: [String: [(UInt64, EmbeddingCandidate)]] = [:]
            for k in keyed { groups[k.1.subset, default: []].append(k) }
            for (_, group) in groups {
                chosen += group.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1.id < $1.1.id }.prefix(n).map(\.1)
            }
        } else {
            chosen = keyed.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1.id < $1.1.id }.prefix(n).map(\.1)
        }
        return chosen.sorted { $0.id < $1.id }
    }

    public static func run(store: Store, encoder: SentenceEncoder, options: StoreEmbeddingOptions,
                           progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> StoreEmbeddingReport {
        let start = Date()
        let model = try store.embeddingModel(name: encoder.name, sha256: try encoder.weightsSHA256(), dimension: encoder.dimension)
        var report = StoreEmbeddingReport(model: model)
        let selection = select(try store.embeddingCandidates(field: options.field), sample: options.sample,
                               perSubset: options.perSubset, seed: options.seed)
        report.selected = selection.count
        let stored = try store.embeddedIDs(modelID: model.id, field: options.field)
        report.alreadyEmbedded = selection.reduce(0) { $0 + (stored.contains($1.id) ? 1 : 0) }
        let total = selection.count - report.alreadyEmbedded
        let d = encoder.dimension
        for chunkStart in stride(from: 0, to: selection.count, by: max(1, options.chunkSize)) {
            let chunk = selection[chunkStart..<min(chunkStart + options.chunkSize, selection.count)]
            let ids = chunk.map(\.id).filter { !stored.contains($0) }
            guard !ids.isEmpty else { continue }
            let texts = try store.embeddingTexts(ids: ids, field: options.field)
            let done = report.embedded
            let vectors = encoder.embed(texts, batchSize: options.batchSize, threads: options.threads) { inChunk in
                progress?(done + inChunk, total)
            }
            let rows = ids.enumerated().map { k, id in
                NewEmbedding(instructionID: id, vector: options.elementType.encode(vectors[(k * d)..<((k + 1) * d)]))
            }
            try store.addEmbeddings(modelID: model.id, field: options.field, dtype: options.elementType.rawValue, rows)
            report.embedded += ids.count
            progress?(report.embedded, total)
        }
        report.seconds = Date().timeIntervalSince(start)
        report.counts = try store.embeddingCounts()
        return report
    }
}
