import Foundation
import Sampling
import Store

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
    /// The sample (`KeyedSample`: the same seed draws the same instructions, and a larger sample
    /// contains a smaller one), in corpus order.
    public static func select(_ candidates: [EmbeddingCandidate], sample: Int?, perSubset: Bool, seed: UInt64) -> [EmbeddingCandidate] {
        KeyedSample.select(ids: candidates.map(\.id), groups: perSubset ? candidates.map(\.subset) : nil, n: sample, seed: seed)
            .map { candidates[$0] }
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
            // The encoder reports from its worker threads: one at a time to the caller.
            let progressLock = NSLock()
            let vectors = encoder.embed(texts, batchSize: options.batchSize, threads: options.threads) { inChunk in
                progressLock.lock(); defer { progressLock.unlock() }
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
